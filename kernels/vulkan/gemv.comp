#version 450
// Decode matmul: out[t, m] = W[m, :] . x[t, :] (+ bias[m]) for up to 4 token rows t, W bf16 [M x K]
// row-major, read once at bandwidth with 16-byte loads (8 weights) and widened in registers; fp32
// accumulation. Each workgroup owns ROWS output features. Needs K % 8 == 0 and x rows 16-byte aligned.
// Grid: ceil(M / ROWS) workgroups, laid out as (x, y) when more than 65535.
// Bytes: 2·M·K weights + 4·K·tokens read, 4·M·tokens written; FLOPs 2·M·K·tokens.
#include "common.glsl"
layout(local_size_x = 256) in;
const uint ROWS = 4;

layout(std430, binding = 0) readonly buffer W { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint tokens; uint K; uint M; uint outOff; uint outStride; uint hasBias; uint gridX;
} pc;

shared float partial[ROWS * 4][32];

float dot8(uvec4 w, vec4 a, vec4 b) {
  return bf16Lo(w.x) * a.x + bf16Hi(w.x) * a.y + bf16Lo(w.y) * a.z + bf16Hi(w.y) * a.w +
         bf16Lo(w.z) * b.x + bf16Hi(w.z) * b.y + bf16Lo(w.w) * b.z + bf16Hi(w.w) * b.w;
}

void main() {
  const uint m0 = (gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x) * ROWS;
  if (m0 >= pc.M) return;
  const uint t = gl_LocalInvocationID.x;
  const uint k8 = pc.K / 8;  // uvec4 per weight row
  float acc[ROWS][4];
  for (uint r = 0; r < ROWS; ++r)
    for (uint j = 0; j < 4; ++j) acc[r][j] = 0.0;
  for (uint i = t; i < k8; i += 256) {
    uvec4 wv[ROWS];
    for (uint r = 0; r < ROWS; ++r) wv[r] = m0 + r < pc.M ? w4[(m0 + r) * k8 + i] : uvec4(0);
    for (uint j = 0; j < 4; ++j) {
      if (j >= pc.tokens) break;
      const uint xb = (pc.xOff + j * pc.xStride) / 4 + 2 * i;
      const vec4 a = x4[xb], b = x4[xb + 1];
      for (uint r = 0; r < ROWS; ++r) acc[r][j] += dot8(wv[r], a, b);
    }
  }
  for (uint r = 0; r < ROWS; ++r)
    for (uint j = 0; j < 4; ++j) {
      const float s = subgroupAdd(acc[r][j]);
      if (subgroupElect()) partial[r * 4 + j][gl_SubgroupID] = s;
    }
  barrier();
  if (t < ROWS * 4) {
    const uint r = t / 4, j = t % 4;
    if (m0 + r < pc.M && j < pc.tokens) {
      float s = 0.0;
      for (uint g = 0; g < gl_NumSubgroups; ++g) s += partial[t][g];
      if (pc.hasBias != 0) s += bias[m0 + r];
      outv[pc.outOff + j * pc.outStride + m0 + r] = s;
    }
  }
}
