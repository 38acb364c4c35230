// The int8 copy of a quantized decode GEMV's input row, which gemv.comp's X_INT8 variants (packed 4x8-bit dot
// products) read instead of the fp32 row. Written by quantize_x.comp (a dispatch of its own before the GEMV) and by
// the producers of a recorded decode step's rows, which write their output row's copy besides the row itself:
// gemv_add_norm (its normed row, one block per workgroup) and attention_combine (the attention output, a head's
// HEAD_DIM / 16 blocks per workgroup). All of them call writeInt8Block on the same 16 fp32 values the row holds,
// so the copy is bit for bit the same whoever wrote it and a GEMV's result does not depend on it.
//
// Per block of 16 columns: a = max |x|, s = a / 127, q = roundEven(x · (127 / a)) clamped to ±127 (backend.h's
// quantizeKvVector rule; q = 0 and s = 0 where a = 0; s = NaN where the block holds a NaN or an infinity, so that
// the GEMV's result is NaN as the fp32 path's would be), and the block's sum of q (for int4's offset of 8).
// Quantizing is scale-invariant, so gemv_add_norm's unscaled normed row is quantized as it is and gemv_normed
// scales the dot products as before.
// Layout of one row of K columns (K a multiple of 16), from its first word:
//   words [0, K/4)        q in column order, 4 per word, low byte first (what int8 weights meet);
//   words [K/4, K/2)      q in nibble order: per 8 columns a word of the even columns, then one of the odd
//                         columns (what int4 weights meet: low nibbles = even columns, high nibbles = odd);
//   words [K/2, K/2+K/8)  per block its scale (float bits) and its sum of q (int).
// ~6 operations per value; 10 words written per block.
//
// The includer declares the buffer it writes: `uint int8Copy[]`.

uint packBytes(int a, int b, int c, int d) {
  return uint(a & 0xff) | (uint(b & 0xff) << 8) | (uint(c & 0xff) << 16) | (uint(d & 0xff) << 24);
}

// Block `block` (columns 16·block ..) of the copy of a row of K columns that starts at word `row`; v its values.
void writeInt8Block(uint row, uint K, uint block, vec4 v[4]) {
  float a = 0.0;
  bool finite = true;
  for (uint i = 0; i < 4; ++i) {
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
  for (uint i = 0; i < 4; ++i) int8Copy[row + 4 * block + i] = packBytes(q[i].x, q[i].y, q[i].z, q[i].w);
  const uint nib = row + K / 4 + 4 * block;  // columns 16·block + 8g + {0, 2, 4, 6}, then + {1, 3, 5, 7}
  int8Copy[nib] = packBytes(q[0].x, q[0].z, q[1].x, q[1].z);
  int8Copy[nib + 1] = packBytes(q[0].y, q[0].w, q[1].y, q[1].w);
  int8Copy[nib + 2] = packBytes(q[2].x, q[2].z, q[3].x, q[3].z);
  int8Copy[nib + 3] = packBytes(q[2].y, q[2].w, q[3].y, q[3].w);
  const uint pair = row + K / 2 + 2 * block;
  int8Copy[pair] = floatBitsToUint(!finite ? uintBitsToFloat(0x7fc00000u) : a > 0.0 ? a / 127.0 : 0.0);
  int8Copy[pair + 1] = uint(sum);
}
