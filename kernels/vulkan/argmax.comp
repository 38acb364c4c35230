#version 450
// result[0] = index of the largest of x[0..n) (the smallest such index on ties): greedy sampling
// where the logits live, so only the token crosses to the host. One workgroup.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float xv[]; };
layout(std430, binding = 1) writeonly buffer Result { int result[]; };
layout(push_constant) uniform PC { uint xOff; uint n; } pc;
shared float bestV[256];
shared uint bestI[256];
void main() {
  const uint t = gl_LocalInvocationID.x;
  float bv = -1.0 / 0.0;
  uint bi = 0xffffffffu;
  for (uint i = t; i < pc.n; i += 256) {
    const float v = xv[pc.xOff + i];
    if (v > bv || bi == 0xffffffffu) { bv = v; bi = i; }
  }
  bestV[t] = bv;
  bestI[t] = bi;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) {
      const float ov = bestV[t + s];
      const uint oi = bestI[t + s];
      if (oi != 0xffffffffu && (bestI[t] == 0xffffffffu || ov > bestV[t] || (ov == bestV[t] && oi < bestI[t]))) {
        bestV[t] = ov;
        bestI[t] = oi;
      }
    }
    barrier();
  }
  if (t == 0) result[0] = int(bestI[0]);
}
