#version 450
// Prefill matmul, portable path: out[r, m] = x[r, :] . W[m, :] (+ bias[biasOff + m]); x fp32 [rows x K],
// W [M x K] as stored (WKIND 0: bf16; 1: int8, fp32 row scales; 2: int4 in groups of GROUP_SIZE, fp16 scales;
// quant_format.h) widened to fp32 in shared memory (q * scale), fp32 everywhere. 64 x 64 output tile per
// workgroup, 16-deep K steps, each invocation a 4 x 4 block. Any K, M, rows. Grid: (ceil(M / 64), ceil(rows / 64)).
// FLOPs 2·rows·M·K; bytes from memory ~ (rows·K·4)·M/64 + (M·K·2)·rows/64.
#include "common.glsl"
layout(local_size_x = 256) in;
const uint BM = 64, BN = 64, BK = 16;
layout(constant_id = 0) const uint WKIND = 0;
layout(constant_id = 1) const uint GROUP_SIZE = 32;

layout(std430, binding = 0) readonly buffer X { float xv[]; };
layout(std430, binding = 1) readonly buffer W { uint16_t wv[]; };
layout(std430, binding = 1) readonly buffer WQ { uint wq[]; };  // int8: 4 weights per word, int4: 8
layout(std430, binding = 4) readonly buffer RowScales { float rowScales[]; };     // int8
layout(std430, binding = 4) readonly buffer GroupScales { uint16_t groupScales[]; };  // int4
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint rows; uint K; uint M; uint outOff; uint outStride; uint hasBias;
  uint biasOff;  // bias of output feature m: bias[biasOff + m] (a slice of a larger weight's rows)
} pc;

// W[m, k] in fp32.
float weightAt(uint m, uint k) {
  const uint e = m * pc.K + k;
  if (WKIND == 0) return bf16ToFloat(wv[e]);
  if (WKIND == 1) return float(int(wq[e >> 2] << (24 - 8 * (e & 3))) >> 24) * rowScales[m];
  const float s = unpackHalf2x16(uint(groupScales[m * (pc.K / GROUP_SIZE) + k / GROUP_SIZE])).x;
  return float(int((wq[e >> 3] >> (4 * (e & 7))) & 0xf) - 8) * s;
}

shared float xs[BK][BN + 1];
shared float ws[BK][BM + 1];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint mBase = gl_WorkGroupID.x * BM, nBase = gl_WorkGroupID.y * BN;
  const uint tm = (t % 16) * 4, tn = (t / 16) * 4;  // this invocation's 4 x 4 block
  float acc[4][4];
  for (uint i = 0; i < 4; ++i)
    for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < pc.K; k0 += BK) {
    // 64 x 16 of x and of W: 1024 values each, 4 per invocation.
    for (uint e = t; e < BN * BK; e += 256) {
      const uint n = e / BK, k = e % BK;
      const uint gn = nBase + n, gk = k0 + k;
      xs[k][n] = gn < pc.rows && gk < pc.K ? xv[pc.xOff + gn * pc.xStride + gk] : 0.0;
      const uint gm = mBase + n;
      ws[k][n] = gm < pc.M && gk < pc.K ? weightAt(gm, gk) : 0.0;
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      float a[4], b[4];
      for (uint i = 0; i < 4; ++i) a[i] = xs[k][tn + i];
      for (uint j = 0; j < 4; ++j) b[j] = ws[k][tm + j];
      for (uint i = 0; i < 4; ++i)
        for (uint j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    barrier();
  }
  for (uint i = 0; i < 4; ++i) {
    const uint n = nBase + tn + i;
    if (n >= pc.rows) continue;
    for (uint j = 0; j < 4; ++j) {
      const uint m = mBase + tm + j;
      if (m < pc.M) outv[pc.outOff + n * pc.outStride + m] = acc[i][j] + (pc.hasBias != 0 ? bias[pc.biasOff + m] : 0.0);
    }
  }
}
