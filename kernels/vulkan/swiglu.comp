#version 450
// out[r, i] = silu(gateUp[r, i]) * gateUp[r, ffn + i]. Grid: (ceil(ffn / 256), rows).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC { uint gOff; uint gStride; uint outOff; uint outStride; uint ffn; } pc;
void main() {
  const uint i = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y;
  if (i >= pc.ffn) return;
  const uint base = pc.gOff + r * pc.gStride;
  const float a = g[base + i], b = g[base + pc.ffn + i];
  outv[pc.outOff + r * pc.outStride + i] = siluMul(a, b);
}
