#version 450
// Decode matmul: out[t, m] = W[m, :] . x[t, :] (+ bias[m]) for up to 4 token rows t; W bf16 [M x K]
// row-major, read once at bandwidth with 16-byte loads (8 weights) and widened in registers; fp32
// accumulation. A workgroup owns ROWS_PER_WORKGROUP output features; its subgroups take them two at a
// time: the lanes stride along K with two rows and two K steps in flight per lane, then one subgroup
// reduction per (row, token) — no shared memory, no barrier, any subgroup size. Grid:
// ceil(M / ROWS_PER_WORKGROUP) workgroups, laid out (x, y) past 65535.
// Needs K % 8 == 0 and 16-byte aligned x rows.
// Bytes: 2·M·K weights + 4·K·tokens read, 4·M·tokens written; FLOPs 2·M·K·tokens.
#include "common.glsl"
layout(local_size_x = 256) in;
const uint ROWS_PER_SUBGROUP = 2, ROWS_PER_WORKGROUP = 16;

layout(std430, binding = 0) readonly buffer W { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint tokens; uint K; uint M; uint outOff; uint outStride; uint hasBias; uint gridX;
} pc;

float dot8(uvec4 w, vec4 a, vec4 b) {
  return bf16Lo(w.x) * a.x + bf16Hi(w.x) * a.y + bf16Lo(w.y) * a.z + bf16Hi(w.y) * a.w +
         bf16Lo(w.z) * b.x + bf16Hi(w.z) * b.y + bf16Lo(w.w) * b.z + bf16Hi(w.w) * b.w;
}

void rowPair(uint m0) {
  if (m0 >= pc.M) return;  // uniform in the subgroup
  const uint lane = gl_SubgroupInvocationID, width = gl_SubgroupSize;
  const uint k8 = pc.K / 8;  // uvec4 per weight row
  const uint r1 = min(m0 + 1, pc.M - 1);  // a last odd row is computed twice and written once
  const uint base0 = m0 * k8, base1 = r1 * k8;
  float acc[ROWS_PER_SUBGROUP][4];
  for (uint r = 0; r < ROWS_PER_SUBGROUP; ++r)
    for (uint j = 0; j < 4; ++j) acc[r][j] = 0.0;
  uint i = lane;
  for (; i + width < k8; i += 2 * width) {  // two K steps per iteration: four 16-byte loads in flight
    const uvec4 a0 = w4[base0 + i], a1 = w4[base1 + i], b0 = w4[base0 + i + width], b1 = w4[base1 + i + width];
    for (uint j = 0; j < pc.tokens; ++j) {
      const uint xb = (pc.xOff + j * pc.xStride) / 4;
      const vec4 xa = x4[xb + 2 * i], xb2 = x4[xb + 2 * i + 1];
      const vec4 ya = x4[xb + 2 * (i + width)], yb = x4[xb + 2 * (i + width) + 1];
      acc[0][j] += dot8(a0, xa, xb2) + dot8(b0, ya, yb);
      acc[1][j] += dot8(a1, xa, xb2) + dot8(b1, ya, yb);
    }
  }
  if (i < k8) {
    const uvec4 a0 = w4[base0 + i], a1 = w4[base1 + i];
    for (uint j = 0; j < pc.tokens; ++j) {
      const uint xb = (pc.xOff + j * pc.xStride) / 4;
      const vec4 xa = x4[xb + 2 * i], xb2 = x4[xb + 2 * i + 1];
      acc[0][j] += dot8(a0, xa, xb2);
      acc[1][j] += dot8(a1, xa, xb2);
    }
  }
  for (uint j = 0; j < pc.tokens; ++j) {
    const float s0 = subgroupAdd(acc[0][j]), s1 = subgroupAdd(acc[1][j]);
    if (lane == 0) {
      outv[pc.outOff + j * pc.outStride + m0] = s0 + (pc.hasBias != 0 ? bias[m0] : 0.0);
      if (m0 + 1 < pc.M) outv[pc.outOff + j * pc.outStride + m0 + 1] = s1 + (pc.hasBias != 0 ? bias[m0 + 1] : 0.0);
    }
  }
}

void main() {
  const uint wg = gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x;
  for (uint r0 = gl_SubgroupID * ROWS_PER_SUBGROUP; r0 < ROWS_PER_WORKGROUP; r0 += gl_NumSubgroups * ROWS_PER_SUBGROUP)
    rowPair(wg * ROWS_PER_WORKGROUP + r0);
}
