#version 450
// Greedy sampling where the logits live (only the token crosses to the host), in two dispatches:
// argmax (this file): workgroup w reduces its grid-strided share of x[0..n) to (largest value, its index;
// the smallest index on ties) in partials[w]; argmax_final (FROM_PARTIALS): one workgroup reduces the
// partials and writes the index to result[0]. One workgroup over 151,552 logits took 71 us on an H200.
#include "common.glsl"
layout(local_size_x = 256) in;
struct Best { float v; uint i; };
#ifdef FROM_PARTIALS
layout(std430, binding = 0) readonly buffer Partials { Best partials[]; };
layout(std430, binding = 1) writeonly buffer Result { int result[]; };
layout(push_constant) uniform PC { uint count; } pc;
#else
layout(std430, binding = 0) readonly buffer X { float xv[]; };
layout(std430, binding = 1) writeonly buffer Partials { Best partials[]; };
layout(push_constant) uniform PC { uint xOff; uint n; } pc;
#endif
shared float bestV[256];
shared uint bestI[256];
const uint NONE = 0xffffffffu;

// (v, i) beats (bv, bi): a larger value, or the same with a smaller index; NONE loses to anything.
bool beats(float v, uint i, float bv, uint bi) {
  return i != NONE && (bi == NONE || v > bv || (v == bv && i < bi));
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  float bv = -1.0 / 0.0;
  uint bi = NONE;
#ifdef FROM_PARTIALS
  for (uint k = t; k < pc.count; k += 256)
    if (beats(partials[k].v, partials[k].i, bv, bi)) { bv = partials[k].v; bi = partials[k].i; }
#else
  const uint stride = gl_NumWorkGroups.x * 256;
  for (uint i = gl_WorkGroupID.x * 256 + t; i < pc.n; i += stride) {
    const float v = xv[pc.xOff + i];
    if (v > bv || bi == NONE) { bv = v; bi = i; }  // ascending i: the first maximum of this share
  }
#endif
  bestV[t] = bv;
  bestI[t] = bi;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s && beats(bestV[t + s], bestI[t + s], bestV[t], bestI[t])) {
      bestV[t] = bestV[t + s];
      bestI[t] = bestI[t + s];
    }
    barrier();
  }
  if (t == 0) {
#ifdef FROM_PARTIALS
    result[0] = int(bestI[0]);
#else
    partials[gl_WorkGroupID.x] = Best(bestV[0], bestI[0]);
#endif
  }
}
