#version 450
// Widens rows [row0, row0 + rows) of a quantized weight (quant/quant_format.h) to bf16 for the prefill GEMM
// (gemm.comp / gemm_cm.comp run on the result as on any bf16 weight): out[r, k] = bf16(q[row0 + r, k] *
// scale), rounded to nearest even, rows x K row-major from element 0. One invocation per 16-byte chunk of
// the packed weight (KIND 0 = int8: 16 weights, KIND 1 = int4: 32 weights in groups of GROUP_SIZE).
// Grid: ceil(rows · K / CHUNK / 256) workgroups, laid out (x, y) past 65535.
// Bytes: rows·K·(1 | 1/2) read (+ scales), rows·K·2 written.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint KIND = 0;
layout(constant_id = 1) const uint GROUP_SIZE = 32;
const uint CHUNK = KIND == 0 ? 16 : 32;

layout(std430, binding = 0) readonly buffer Q { uvec4 q4[]; };
layout(std430, binding = 1) readonly buffer RowScales { float rowScales[]; };      // int8
layout(std430, binding = 1) readonly buffer GroupScales { uint16_t groupScales[]; };  // int4
layout(std430, binding = 2) writeonly buffer Out { uvec4 out4[]; };
layout(push_constant) uniform PC { uint K; uint row0; uint rows; uint gridX; } pc;

uint bf16Pair(float a, float b) { return uint(floatToBf16(a)) | (uint(floatToBf16(b)) << 16); }

void main() {
  const uint c = (gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x) * 256 + gl_LocalInvocationID.x;
  const uint kc = pc.K / CHUNK;
  if (c >= pc.rows * kc) return;
  const uint r = c / kc, i = c % kc, m = pc.row0 + r;
  const uvec4 w = q4[m * kc + i];
  float s = 0.0;
  if (KIND == 0) s = rowScales[m];
  else s = unpackHalf2x16(uint(groupScales[m * (pc.K / GROUP_SIZE) + i * CHUNK / GROUP_SIZE])).x;
  uint words[16];  // bf16 pairs (CHUNK / 2 used)
  for (uint j = 0; j < 4; ++j) {
    const uint u = w[j];
    if (KIND == 0) {  // 4 int8, sign-extended: exact in fp32; each product q * s rounded to fp32, then to bf16
      const vec4 v = vec4(ivec4(int(u << 24), int(u << 16), int(u << 8), int(u)) >> 24) * s;
      words[2 * j] = bf16Pair(v.x, v.y);
      words[2 * j + 1] = bf16Pair(v.z, v.w);
    } else {  // 8 nibbles q + 8, columns in order
      for (uint p = 0; p < 4; ++p)
        words[4 * j + p] = bf16Pair(float(int((u >> (8 * p)) & 0xfu) - 8) * s, float(int((u >> (8 * p + 4)) & 0xfu) - 8) * s);
    }
  }
  for (uint v = 0; v < CHUNK / 8; ++v)
    out4[c * (CHUNK / 8) + v] = uvec4(words[4 * v], words[4 * v + 1], words[4 * v + 2], words[4 * v + 3]);
}
