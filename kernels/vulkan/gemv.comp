#version 450
// Decode matmul: out[t, m] = W[m, :] . x[t, :] (+ bias[m]) for up to 4 token rows t; W [M x K] row-major,
// read once at bandwidth with 16-byte loads and widened in registers (X_INT8: met by integer dot products);
// fp32 accumulation. A workgroup owns ROWS_PER_WORKGROUP output features; its subgroups take them two at a
// time: the lanes stride along K with two rows and two K steps in flight per lane, then one subgroup
// reduction per (row, token) — no shared memory, no barrier, any subgroup size. Grid: ceil(M /
// ROWS_PER_WORKGROUP) workgroups, laid out (x, y) past 65535. Needs K % CHUNK == 0 and 16-byte aligned x rows.
//
// The weight kind (quant/quant_format.h), one 16-byte load = one CHUNK of a row:
//   bf16 (default): 8 weights.
//   WEIGHT_INT8 (*_int8): 16 int8 weights; the row's fp32 scale multiplies the row's dot product once.
//   WEIGHT_INT4 (*_int4): 32 weights as nibbles q + 8 (low nibble = even column); one fp16 scale per
//     GROUP_SIZE (32 or 128, a specialization constant) columns multiplies each chunk's dot product.
// The quantized values become floats without int->float conversions: a byte or nibble n placed under the
// exponent of 2^23 is the float 2^23 + n, and one subtraction of 2^23 + offset leaves q exactly.
// X_INT8 (*_int8_dot, *_int4_dot; devices with shaderIntegerDotProduct): x is not fp32 but its int8 copy in
//   blocks of 16 columns (int8_copy.glsl: q, an fp32 scale and the sum of q per block), and each 4 weights meet
//   4 q of x in one packed 4x8-bit dot product (OpSDot), exact in int32; one fp32 multiply-add per block and row
//   with the block's scale. int8: a chunk is one block, 4 dot products per row. int4: a chunk is two blocks; the
//   nibbles are masked into bytes (low nibbles = even columns, high = odd ones) and meet x's copy in the same
//   nibble order, 8 dot products per row; the +8 offset of the nibbles leaves 8 · (the block's sum of q) to
//   subtract. ~1 instruction per int4 weight and row (~0.6 int8) instead of ~3.3 (~3.1) with the fp32 widening
//   above, which made the int4 GEMV instruction-bound (slower than bf16 on an H200). x's offset and stride are
//   then in words of that copy.
// Bytes: M·K·(2 | 1 | 1/2) weights (+ scales) + (4 | 2.5)·K·tokens of x read (per workgroup, from cache),
// 4·M·tokens written; FLOPs 2·M·K·tokens.
#include "common.glsl"
#ifdef X_INT8
#extension GL_EXT_spirv_intrinsics : require
#endif
layout(local_size_x = 256) in;
const uint ROWS_PER_SUBGROUP = 2, ROWS_PER_WORKGROUP = 16;

// Variants for the recorded decode step's fused RMSNorm (one token row; VulkanBackend::matmulAddNorm):
// ADD_NORM (gemv_add_norm): residual += W·x + bias; normed = residual * normW, left unscaled; each workgroup
//   writes the sum of its rows' new residual squares to partials[pOff + workgroup]. With X_INT8 also the normed
//   row's int8 copy for the next GEMV (int8_copy.glsl) where copyOff says where: a workgroup's 16 rows are one
//   16-block of that row, quantized by one invocation after the barrier the partial sum needs, from the values
//   it stored (the same bits quantize_x would read). It goes into the other slot of the buffer x's copy is
//   read from (the host picks copyOff so), never over the copy this GEMV reads.
// NORMED_IN (gemv_normed): x is such an unscaled row; the dot products are scaled by
//   inversesqrt(sum of partials[pOff .. pOff + pCount) / n + eps). Sums in a fixed order: deterministic.
// SWIGLU (gemv_swiglu, gemv_normed_swiglu; VulkanBackend::matmulSwiGlu, one token row): W is [gate; up]
//   with 2·M rows; a subgroup pairs gate row i with up row i and writes only out[i] = silu(g) * u.
layout(std430, binding = 0) readonly buffer W { uvec4 w4[]; };
#ifdef X_INT8
// x's int8 copy (int8_copy.glsl): words [0, K/4) q in column order, [K/4, K/2) q in nibble order, then per
// 16-block (scale bits, sum of q); row t from word xOff + t·xStride.
layout(std430, binding = 1) readonly buffer XQ { uvec4 xq4[]; };
layout(std430, binding = 1) readonly buffer XQWords { uint xqWords[]; };
#ifdef ADD_NORM
#define WRITES_INT8_COPY
layout(std430, binding = 1) writeonly buffer Int8Copy { uint int8Copy[]; };  // the other slot (copyOff)
#endif
#else
layout(std430, binding = 1) readonly buffer X { vec4 x4[]; };
#endif
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
#ifdef ADD_NORM
layout(std430, binding = 3) buffer Residual { float outv[]; };  // out = the residual, updated in place
layout(std430, binding = 4) readonly buffer NormW { float normW[]; };
layout(std430, binding = 5) writeonly buffer Normed { float normed[]; };
layout(std430, binding = 6) writeonly buffer Partials { float partials[]; };
#define SCALES_BINDING 7
#else
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
#define SCALES_BINDING 4
#endif
#ifdef NORMED_IN
layout(std430, binding = 4) readonly buffer Partials { float partials[]; };
#undef SCALES_BINDING
#define SCALES_BINDING 5
#endif
// The scales of a quantized weight follow the variant's other bindings.
#if defined(WEIGHT_INT8)
const uint CHUNK = 16;
layout(std430, binding = SCALES_BINDING) readonly buffer Scales { float rowScales[]; };
#elif defined(WEIGHT_INT4)
const uint CHUNK = 32;
layout(constant_id = 0) const uint GROUP_SIZE = 32;
layout(std430, binding = SCALES_BINDING) readonly buffer Scales { uint16_t groupScales[]; };
#else
const uint CHUNK = 8;
#endif
const uint XV = CHUNK / 4;  // vec4s of x per chunk
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint tokens; uint K; uint M; uint outOff; uint outStride; uint hasBias; uint gridX;
#if defined(ADD_NORM) || defined(NORMED_IN)
  uint pOff; uint pCount; uint n; float eps; uint normedOff;
  uint copyOff;  // ADD_NORM with X_INT8: the word where the normed row's int8 copy goes, or NO_COPY
#endif
} pc;
const uint NO_COPY = 0xffffffffu;
#ifdef WRITES_INT8_COPY
#include "int8_copy.glsl"
// The normed values of the workgroup's rows (ROWS_PER_WORKGROUP = 16: one block of the copy).
shared float wgNormed[ROWS_PER_WORKGROUP];
#endif

#if defined(X_INT8)
// OpSDot with PackedVectorFormat4x8Bit: the sum of the products of the four signed bytes of a and b. Debian 12's
// glslc has no GL_EXT_integer_dot_product, so it is declared through GL_EXT_spirv_intrinsics (capabilities 6019
// DotProduct and 6018 DotProductInput4x8BitPacked of SPV_KHR_integer_dot_product, core in SPIR-V 1.6).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4x8Packed(uint a, uint b, spirv_literal int packedVectorFormat4x8Bit);
int dot4(uint a, uint b) { return sdot4x8Packed(a, b, 0); }

// x's share of one chunk: its q (column order for int8, nibble order for int4), the blocks' scales and sums of q.
struct XChunk {
  uvec4 q[CHUNK / 16];
  vec2 scale;
  ivec2 sum;
};
uint xRow(uint j) { return pc.xOff + j * pc.xStride; }
void loadX(uint xb, uint c, out XChunk x) {
  const uint pairs = xb + pc.K / 2;  // (scale, sum) of each 16-block
#if defined(WEIGHT_INT8)
  x.q[0] = xq4[xb / 4 + c];
  x.scale = vec2(uintBitsToFloat(xqWords[pairs + 2 * c]), 0.0);  // int8 weights have no offset: no sum
#else
  const uint nib = xb / 4 + pc.K / 16;  // the nibble-order copy, in uvec4s
  x.q[0] = xq4[nib + 2 * c];
  x.q[1] = xq4[nib + 2 * c + 1];
  const uvec4 p = xq4[pairs / 4 + c];  // blocks 2c and 2c + 1
  x.scale = uintBitsToFloat(p.xz);
  x.sum = ivec2(p.yw);
#endif
}
#if defined(WEIGHT_INT8)
// 16 int8 weights against block c of x.
float chunkDot(uvec4 w, XChunk x) {
  const uvec4 q = x.q[0];
  return float(dot4(w.x, q.x) + dot4(w.y, q.y) + dot4(w.z, q.z) + dot4(w.w, q.w)) * x.scale.x;
}
#else
// 32 nibbles (q + 8, columns in order: the low nibbles of a word's bytes are its even columns) against blocks
// 2c, 2c + 1 of x, whose q come in the same order: per 8 columns the even columns' word, then the odd ones'.
int nibblesDot(uint w, uint evenX, uint oddX) {
  return dot4(w & 0x0f0f0f0fu, evenX) + dot4((w >> 4) & 0x0f0f0f0fu, oddX);
}
float chunkDot(uvec4 w, XChunk x) {
  const int lo = nibblesDot(w.x, x.q[0].x, x.q[0].y) + nibblesDot(w.y, x.q[0].z, x.q[0].w);
  const int hi = nibblesDot(w.z, x.q[1].x, x.q[1].y) + nibblesDot(w.w, x.q[1].z, x.q[1].w);
  return float(lo - 8 * x.sum.x) * x.scale.x + float(hi - 8 * x.sum.y) * x.scale.y;
}
#endif
#else  // x in fp32
struct XChunk {
  vec4 v[XV];
};
uint xRow(uint j) { return (pc.xOff + j * pc.xStride) / 4; }
void loadX(uint xb, uint c, out XChunk x) {
  for (uint v = 0; v < XV; ++v) x.v[v] = x4[xb + XV * c + v];
}
#if defined(WEIGHT_INT8) || defined(WEIGHT_INT4)
// The four bytes of u (each < 256) as floats 2^23 + byte: each byte put under the exponent of 2^23.
vec4 bytesUnderExponent(uint u) {
  return uintBitsToFloat(uvec4(u & 0xffu, (u >> 8) & 0xffu, (u >> 16) & 0xffu, u >> 24) | 0x4b000000u);
}
#endif
#if defined(WEIGHT_INT8)
// 16 int8: q + 128 = q XOR 0x80 per byte, so 2^23 + 128 + q less (2^23 + 128) is q.
float chunkDot(uvec4 w, XChunk xc) {
  const uvec4 u = w ^ 0x80808080u;
  const float c = 8388736.0;
  return dot(bytesUnderExponent(u.x) - c, xc.v[0]) + dot(bytesUnderExponent(u.y) - c, xc.v[1]) +
         dot(bytesUnderExponent(u.z) - c, xc.v[2]) + dot(bytesUnderExponent(u.w) - c, xc.v[3]);
}
#elif defined(WEIGHT_INT4)
// 8 nibbles of one word (columns in order) against x columns a, b: the low nibbles of the 4 bytes are the
// even columns, the high nibbles the odd ones; each masked to bytes, 2^23 + q + 8 less (2^23 + 8) is q.
float nibblesDot(uint w, vec4 a, vec4 b) {
  const float c = 8388616.0;
  const vec4 even = bytesUnderExponent(w & 0x0f0f0f0fu) - c, odd = bytesUnderExponent((w >> 4) & 0x0f0f0f0fu) - c;
  return dot(even, vec4(a.xz, b.xz)) + dot(odd, vec4(a.yw, b.yw));
}
float chunkDot(uvec4 w, XChunk x) {
  return nibblesDot(w.x, x.v[0], x.v[1]) + nibblesDot(w.y, x.v[2], x.v[3]) + nibblesDot(w.z, x.v[4], x.v[5]) +
         nibblesDot(w.w, x.v[6], x.v[7]);
}
#else
float chunkDot(uvec4 w, XChunk x) {
  const vec4 a = x.v[0], b = x.v[1];
  return bf16Lo(w.x) * a.x + bf16Hi(w.x) * a.y + bf16Lo(w.y) * a.z + bf16Hi(w.y) * a.w +
         bf16Lo(w.z) * b.x + bf16Hi(w.z) * b.y + bf16Lo(w.w) * b.z + bf16Hi(w.w) * b.w;
}
#endif
#endif

// The factor of chunk c of row m's dot product (int4: its group's scale; otherwise 1, folded away).
float chunkScale(uint m, uint c) {
#if defined(WEIGHT_INT4)
  return unpackHalf2x16(uint(groupScales[m * (pc.K / GROUP_SIZE) + c * CHUNK / GROUP_SIZE])).x;
#else
  return 1.0;
#endif
}

// The factor of row m's whole dot product (int8: the row's scale).
float rowScale(uint m) {
#if defined(WEIGHT_INT8)
  return rowScales[m];
#else
  return 1.0;
#endif
}

// Rows m0 and r1 of W against x (the caller checks m0 < M). Returns (lane 0) the sum of squares of the
// rows' new residual values under ADD_NORM, else 0.
float rowPair(uint m0, uint r1, float scale) {
  const uint lane = gl_SubgroupInvocationID, width = gl_SubgroupSize;
  const uint kc = pc.K / CHUNK;  // 16-byte chunks per weight row
  const uint base0 = m0 * kc, base1 = r1 * kc;
  float acc[ROWS_PER_SUBGROUP][4];
  for (uint r = 0; r < ROWS_PER_SUBGROUP; ++r)
    for (uint j = 0; j < 4; ++j) acc[r][j] = 0.0;
  uint i = lane;
  for (; i + width < kc; i += 2 * width) {  // two K steps per iteration: four 16-byte loads in flight
    const uvec4 a0 = w4[base0 + i], a1 = w4[base1 + i], b0 = w4[base0 + i + width], b1 = w4[base1 + i + width];
    const float sa0 = chunkScale(m0, i), sa1 = chunkScale(r1, i);
    const float sb0 = chunkScale(m0, i + width), sb1 = chunkScale(r1, i + width);
    for (uint j = 0; j < pc.tokens; ++j) {
      const uint xb = xRow(j);
      XChunk xa, xc;
      loadX(xb, i, xa);
      loadX(xb, i + width, xc);
      acc[0][j] += sa0 * chunkDot(a0, xa) + sb0 * chunkDot(b0, xc);
      acc[1][j] += sa1 * chunkDot(a1, xa) + sb1 * chunkDot(b1, xc);
    }
  }
  if (i < kc) {
    const uvec4 a0 = w4[base0 + i], a1 = w4[base1 + i];
    const float sa0 = chunkScale(m0, i), sa1 = chunkScale(r1, i);
    for (uint j = 0; j < pc.tokens; ++j) {
      XChunk xa;
      loadX(xRow(j), i, xa);
      acc[0][j] += sa0 * chunkDot(a0, xa);
      acc[1][j] += sa1 * chunkDot(a1, xa);
    }
  }
  const float f0 = rowScale(m0), f1 = rowScale(r1);
  float squares = 0.0;
  for (uint j = 0; j < pc.tokens; ++j) {
    const float s0 = subgroupAdd(acc[0][j]) * scale * f0, s1 = subgroupAdd(acc[1][j]) * scale * f1;
    if (lane == 0) {
      const uint o = pc.outOff + j * pc.outStride;
#ifdef SWIGLU
      outv[o + m0] = siluMul(s0 + (pc.hasBias != 0 ? bias[m0] : 0.0), s1 + (pc.hasBias != 0 ? bias[r1] : 0.0));
#else
      const float v0 = s0 + (pc.hasBias != 0 ? bias[m0] : 0.0);
      const float v1 = s1 + (pc.hasBias != 0 && m0 + 1 < pc.M ? bias[m0 + 1] : 0.0);
#ifdef ADD_NORM
      const float r0 = outv[o + m0] + v0, n0 = r0 * normW[m0];
      outv[o + m0] = r0;
      normed[pc.normedOff + m0] = n0;
      squares += r0 * r0;
#ifdef WRITES_INT8_COPY
      wgNormed[m0 % ROWS_PER_WORKGROUP] = n0;
#endif
      if (m0 + 1 < pc.M) {
        const float r1 = outv[o + m0 + 1] + v1, n1 = r1 * normW[m0 + 1];
        outv[o + m0 + 1] = r1;
        normed[pc.normedOff + m0 + 1] = n1;
        squares += r1 * r1;
#ifdef WRITES_INT8_COPY
        wgNormed[(m0 + 1) % ROWS_PER_WORKGROUP] = n1;
#endif
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
#ifdef WRITES_INT8_COPY
  // The block of the normed row's copy that is this workgroup's rows, where all 16 are rows (the host asks for a
  // copy only where M is a multiple of 16; workgroups past M write nothing). The last invocation: another
  // subgroup than the partial sum's.
  if (gl_LocalInvocationID.x == gl_WorkGroupSize.x - 1 && pc.copyOff != NO_COPY &&
      (wg + 1) * ROWS_PER_WORKGROUP <= pc.M) {
    vec4 v[4];
    for (uint i = 0; i < 4; ++i)
      v[i] = vec4(wgNormed[4 * i], wgNormed[4 * i + 1], wgNormed[4 * i + 2], wgNormed[4 * i + 3]);
    writeInt8Block(pc.copyOff, pc.M, wg, v);
  }
#endif
#endif
}
