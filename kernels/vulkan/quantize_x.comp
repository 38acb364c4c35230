#version 450
// The input rows of a quantized decode GEMV as int8, for gemv.comp's X_INT8 variants (packed 4x8-bit dot
// products): per block of 16 columns a = max |x|, s = a / 127, q = roundEven(x · (127 / a)) clamped to ±127
// (backend.h's quantizeKvVector rule; q = 0 and s = 0 where a = 0; s = NaN where the block holds a NaN or an
// infinity, so that the GEMV's result is NaN as the fp32 path's would be), and the block's sum of q (for int4's
// offset of 8). Quantizing is scale-invariant, so the unscaled normed row of gemv_add_norm is quantized as it
// is and gemv_normed scales the dot products as before.
// Layout of token row t (from word t · rowWords; K a multiple of 16, rowWords >= 5K/8 and a multiple of 4):
//   words [0, K/4)        q in column order, 4 per word, low byte first (what int8 weights meet);
//   words [K/4, K/2)      q in nibble order: per 8 columns a word of the even columns, then one of the odd
//                         columns (what int4 weights meet: low nibbles = even columns, high nibbles = odd);
//   words [K/2, K/2+K/8)  per block its scale (float bits) and its sum of q (int).
// One invocation per block and row; grid ceil(K / 16 / 64) x tokens. Bytes: 4·K read, 2.5·K written per row;
// ~6 operations per value.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer XQ { uint xq[]; };
layout(push_constant) uniform PC { uint xOff; uint xStride; uint K; uint rowWords; } pc;  // x: floats, 16-byte aligned

uint packBytes(int a, int b, int c, int d) {
  return uint(a & 0xff) | (uint(b & 0xff) << 8) | (uint(c & 0xff) << 16) | (uint(d & 0xff) << 24);
}

void main() {
  const uint block = gl_GlobalInvocationID.x, t = gl_GlobalInvocationID.y;
  if (block >= pc.K / 16) return;
  const uint xb = (pc.xOff + t * pc.xStride) / 4 + 4 * block;
  vec4 v[4];
  float a = 0.0;
  bool finite = true;
  for (uint i = 0; i < 4; ++i) {
    v[i] = x4[xb + i];
    a = max(a, max(max(abs(v[i].x), abs(v[i].y)), max(abs(v[i].z), abs(v[i].w))));
    finite = finite && !any(isnan(v[i])) && !any(isinf(v[i]));
  }
  const float inv = finite && a > 0.0 ? 127.0 / a : 0.0;
  ivec4 q[4];
  int sum = 0;
  for (uint i = 0; i < 4; ++i) {
    q[i] = finite ? ivec4(clamp(roundEven(v[i] * inv), -127.0, 127.0)) : ivec4(0);
    sum += q[i].x + q[i].y + q[i].z + q[i].w;
  }
  const uint row = t * pc.rowWords;
  for (uint i = 0; i < 4; ++i) xq[row + 4 * block + i] = packBytes(q[i].x, q[i].y, q[i].z, q[i].w);
  const uint nib = row + pc.K / 4 + 4 * block;  // columns 16·block + 8g + {0, 2, 4, 6}, then + {1, 3, 5, 7}
  xq[nib] = packBytes(q[0].x, q[0].z, q[1].x, q[1].z);
  xq[nib + 1] = packBytes(q[0].y, q[0].w, q[1].y, q[1].w);
  xq[nib + 2] = packBytes(q[2].x, q[2].z, q[3].x, q[3].z);
  xq[nib + 3] = packBytes(q[2].y, q[2].w, q[3].y, q[3].w);
  const uint pair = row + pc.K / 2 + 2 * block;
  xq[pair] = floatBitsToUint(!finite ? uintBitsToFloat(0x7fc00000u) : a > 0.0 ? a / 127.0 : 0.0);
  xq[pair + 1] = uint(sum);
}
