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

// Variants for the recorded decode step's fused RMSNorm (one token row; VulkanBackend::matmulAddNorm):
// ADD_NORM (gemv_add_norm): residual += W·x + bias; normed = residual * normW, left unscaled; each workgroup
//   writes the sum of its rows' new residual squares to partials[pOff + workgroup].
// NORMED_IN (gemv_normed): x is such an unscaled row; the dot products are scaled by
//   inversesqrt(sum of partials[pOff .. pOff + pCount) / n + eps). Sums in a fixed order: deterministic.
// SWIGLU (gemv_swiglu, gemv_normed_swiglu; VulkanBackend::matmulSwiGlu, one token row): W is [gate; up]
//   with 2·M rows; a subgroup pairs gate row i with up row i and writes only out[i] = silu(g) * u.
layout(std430, binding = 0) readonly buffer W { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
#ifdef ADD_NORM
layout(std430, binding = 3) buffer Residual { float outv[]; };  // out = the residual, updated in place
layout(std430, binding = 4) readonly buffer NormW { float normW[]; };
layout(std430, binding = 5) writeonly buffer Normed { float normed[]; };
layout(std430, binding = 6) writeonly buffer Partials { float partials[]; };
#else
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
#endif
#ifdef NORMED_IN
layout(std430, binding = 4) readonly buffer Partials { float partials[]; };
#endif
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint tokens; uint K; uint M; uint outOff; uint outStride; uint hasBias; uint gridX;
#if defined(ADD_NORM) || defined(NORMED_IN)
  uint pOff; uint pCount; uint n; float eps; uint normedOff;
#endif
} pc;

float dot8(uvec4 w, vec4 a, vec4 b) {
  return bf16Lo(w.x) * a.x + bf16Hi(w.x) * a.y + bf16Lo(w.y) * a.z + bf16Hi(w.y) * a.w +
         bf16Lo(w.z) * b.x + bf16Hi(w.z) * b.y + bf16Lo(w.w) * b.z + bf16Hi(w.w) * b.w;
}

// Rows m0 and r1 of W against x (the caller checks m0 < M). Returns (lane 0) the sum of squares of the
// rows' new residual values under ADD_NORM, else 0.
float rowPair(uint m0, uint r1, float scale) {
  const uint lane = gl_SubgroupInvocationID, width = gl_SubgroupSize;
  const uint k8 = pc.K / 8;  // uvec4 per weight row
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
  float squares = 0.0;
  for (uint j = 0; j < pc.tokens; ++j) {
    const float s0 = subgroupAdd(acc[0][j]) * scale, s1 = subgroupAdd(acc[1][j]) * scale;
    if (lane == 0) {
      const uint o = pc.outOff + j * pc.outStride;
#ifdef SWIGLU
      outv[o + m0] = siluMul(s0 + (pc.hasBias != 0 ? bias[m0] : 0.0), s1 + (pc.hasBias != 0 ? bias[r1] : 0.0));
#else
      const float v0 = s0 + (pc.hasBias != 0 ? bias[m0] : 0.0);
      const float v1 = s1 + (pc.hasBias != 0 && m0 + 1 < pc.M ? bias[m0 + 1] : 0.0);
#ifdef ADD_NORM
      const float r0 = outv[o + m0] + v0;
      outv[o + m0] = r0;
      normed[pc.normedOff + m0] = r0 * normW[m0];
      squares += r0 * r0;
      if (m0 + 1 < pc.M) {
        const float r1 = outv[o + m0 + 1] + v1;
        outv[o + m0 + 1] = r1;
        normed[pc.normedOff + m0 + 1] = r1 * normW[m0 + 1];
        squares += r1 * r1;
      }
#else
      outv[o + m0] = v0;
      if (m0 + 1 < pc.M) outv[o + m0 + 1] = v1;
#endif
#endif
    }
  }
  return squares;
}

#ifdef ADD_NORM
shared float wgSquares[ROWS_PER_WORKGROUP / ROWS_PER_SUBGROUP];
#endif

void main() {
  const uint wg = gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x;
  float scale = 1.0;
#ifdef NORMED_IN
  float ss = 0.0;
  for (uint i = gl_SubgroupInvocationID; i < pc.pCount; i += gl_SubgroupSize) ss += partials[pc.pOff + i];
  scale = inversesqrt(subgroupAdd(ss) / float(pc.n) + pc.eps);
#endif
  float squares = 0.0;
#ifdef SWIGLU
  // ROWS_PER_WORKGROUP weight rows: half as many outputs, each a (gate, up) row pair.
  for (uint i = gl_SubgroupID; i < ROWS_PER_WORKGROUP / 2; i += gl_NumSubgroups) {
    const uint m0 = wg * (ROWS_PER_WORKGROUP / 2) + i;
    if (m0 < pc.M) rowPair(m0, m0 + pc.M, scale);  // uniform in the subgroup
  }
#else
  for (uint r0 = gl_SubgroupID * ROWS_PER_SUBGROUP; r0 < ROWS_PER_WORKGROUP; r0 += gl_NumSubgroups * ROWS_PER_SUBGROUP) {
    const uint m0 = wg * ROWS_PER_WORKGROUP + r0;
    // A last odd row is computed twice and written once.
    if (m0 < pc.M) squares += rowPair(m0, min(m0 + 1, pc.M - 1), scale);  // uniform in the subgroup
  }
#endif
#ifdef ADD_NORM
  const uint slots = ROWS_PER_WORKGROUP / ROWS_PER_SUBGROUP;
  if (gl_SubgroupInvocationID == 0 && gl_SubgroupID < slots) wgSquares[gl_SubgroupID] = squares;
  barrier();
  if (gl_LocalInvocationID.x == 0) {
    float total = 0.0;
    for (uint i = 0; i < min(slots, gl_NumSubgroups); ++i) total += wgSquares[i];
    partials[pc.pOff + wg] = total;
  }
#endif
}
