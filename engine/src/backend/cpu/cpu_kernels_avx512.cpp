// AVX-512 path of the CPU kernels (avx512f/bw/vl + fma + f16c, 16 fp32 lanes). Only the innermost
// loops live here; blocking, threading and bias are in cpu_kernels.cpp. Every function carries the
// target attribute, so the file is built with generic x86-64 flags and is only entered where
// __builtin_cpu_supports says the CPU can run it.
//
// Matmul micro-tile (4 x-rows x 4 w-rows): per 16-wide k step, 4 x loads + 4 w loads (+ widening of
// bf16/f16) feed 16 FMAs = 512 FLOP, all 16 accumulators held in zmm registers. A 1 x 4 tile is the
// decode GEMV: 4 independent FMA chains, 128 bytes of bf16 weights per step.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_kernels.h"

// GCC 12 reports the deliberately undefined upper lanes of _mm512_undefined_* inside its own
// intrinsic headers (e.g. under _mm512_cvtepu16_epi32) as uninitialized; they are not read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define GLM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))

namespace glm::cpu::detail {
namespace {


// Lanes [0, 16) of element offset `off` of a row of dtype DT, widened to fp32; masked variant
// reads only the lanes in m (the others are 0).
template <int DT>
GLM_AVX512 inline __m512 load16(const void* p, int64_t off) {
  if constexpr (DT == kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(p) + off);
  } else {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(p) + off));
    if constexpr (DT == kF16) return _mm512_cvtph_ps(h);
    // bf16 is the top half of an fp32: widen to 32 bits and shift, exact.
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <int DT>
GLM_AVX512 inline __m512 load16Masked(const void* p, int64_t off, __mmask16 m) {
  if constexpr (DT == kF32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + off);
  } else {
    __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(p) + off);
    if constexpr (DT == kF16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

GLM_AVX512 inline __mmask16 tailMask(int64_t count) { return __mmask16((1u << count) - 1u); }

// Sum of the 16 lanes by halving: (l, l+8), then (l, l+4), (l, l+2), (l, l+1).
GLM_AVX512 inline float horizontalSum(__m512 v) {
  __m256 lo = _mm512_castps512_ps256(v);
  __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  __m256 s8 = _mm256_add_ps(lo, hi);
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// The four lane sums of a, b, c, d in one pass, each with exactly the additions of horizontalSum
// (so a row's result does not depend on whether it was reduced alone or in a group of four): 9
// shuffles + 5 adds instead of 4 x (4 + 4).
GLM_AVX512 inline void horizontalSum4(__m512 a, __m512 b, __m512 c, __m512 d, float* out) {
  // 128-bit quarters: a = [a0 a1 a2 a3]. Step (l, l+8): [a0 a1 b0 b1] + [a2 a3 b2 b3].
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
  // Step (l, l+4): [A0 B0 C0 D0] + [A1 B1 C1 D1].
  const __m512 q = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
  // Steps (l, l+2) and (l, l+1) inside each quarter; lane 0 of quarter i is the sum of vector i.
  const __m512 h2 = _mm512_add_ps(q, _mm512_permute_ps(q, 0x4e));
  const __m512 h1 = _mm512_add_ps(h2, _mm512_permute_ps(h2, 0xb1));
  const __m512i firstLanes = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm_storeu_ps(out, _mm512_castps512_ps128(_mm512_permutexvar_ps(firstLanes, h1)));
}

template <int DT, int NX, int NW>
GLM_AVX512 void tileKernel(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums) {
  __m512 acc[NX][NW];
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_setzero_ps();

  int64_t t = 0;
  for (; t + 16 <= len; t += 16) {
    __m512 wv[NW];
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) wv[b] = load16<DT>(w, b * ldw + t);
#pragma GCC unroll 4
    for (int a = 0; a < NX; ++a) {
      __m512 xv = _mm512_loadu_ps(x + a * ldx + t);
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
    }
  }
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    __m512 wv[NW];
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) wv[b] = load16Masked<DT>(w, b * ldw + t, m);
#pragma GCC unroll 4
    for (int a = 0; a < NX; ++a) {
      __m512 xv = _mm512_maskz_loadu_ps(m, x + a * ldx + t);
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a) {
    if constexpr (NW == 4) {
      horizontalSum4(acc[a][0], acc[a][1], acc[a][2], acc[a][3], sums + a * NW);
    } else {
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) sums[a * NW + b] = horizontalSum(acc[a][b]);
    }
  }
}

template <int DT>
GLM_AVX512 void convertRow(const void* src, int64_t count, float* dst) {
  int64_t t = 0;
  for (; t + 16 <= count; t += 16) _mm512_storeu_ps(dst + t, load16<DT>(src, t));
  if (t < count) {
    const __mmask16 m = tailMask(count - t);
    _mm512_mask_storeu_ps(dst + t, m, load16Masked<DT>(src, t, m));
  }
}

GLM_AVX512 void toFloatAvx512(const void* src, int dtypeIndex, int64_t count, float* dst) {
  switch (dtypeIndex) {
    case kF32: convertRow<kF32>(src, count, dst); break;
    case kF16: convertRow<kF16>(src, count, dst); break;
    default: convertRow<kBf16>(src, count, dst); break;
  }
}

// Sum of squares in fp64: 8 floats widened per step, two chains.
GLM_AVX512 double sumSquaresAvx512(const float* x, int64_t len) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  int64_t t = 0;
  for (; t + 16 <= len; t += 16) {
    __m512d v0 = _mm512_cvtps_pd(_mm256_loadu_ps(x + t));
    __m512d v1 = _mm512_cvtps_pd(_mm256_loadu_ps(x + t + 8));
    acc0 = _mm512_fmadd_pd(v0, v0, acc0);
    acc1 = _mm512_fmadd_pd(v1, v1, acc1);
  }
  for (; t < len; t += 8) {
    const __mmask8 m = __mmask8((1u << (len - t < 8 ? len - t : 8)) - 1u);
    __m512d v = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + t));
    acc0 = _mm512_fmadd_pd(v, v, acc0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

template <int DT>
GLM_AVX512 void scaleByWeightT(const float* x, float r, const void* weight, int64_t len, float* y) {
  const __m512 rv = _mm512_set1_ps(r);
  int64_t t = 0;
  for (; t + 16 <= len; t += 16)
    _mm512_storeu_ps(y + t, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + t), rv), load16<DT>(weight, t)));
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + t), rv), load16Masked<DT>(weight, t, m));
    _mm512_mask_storeu_ps(y + t, m, v);
  }
}

GLM_AVX512 void scaleByWeightAvx512(const float* x, float r, const void* weight, int dtypeIndex, int64_t len,
                                    float* y) {
  switch (dtypeIndex) {
    case kF32: scaleByWeightT<kF32>(x, r, weight, len, y); break;
    case kF16: scaleByWeightT<kF16>(x, r, weight, len, y); break;
    default: scaleByWeightT<kBf16>(x, r, weight, len, y); break;
  }
}

// exp(v): v = n ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in a 16-bit-exact high part and a
// low part), e^r by its degree-7 Taylor polynomial (truncation < 6e-9 relative), then scaled by 2^n
// with vscalefps, which rounds correctly into the subnormal range and overflows to inf. The clamp
// only keeps n finite; results at both ends are already 0 or inf. NaN propagates.
GLM_AVX512 inline __m512 expAvx512(__m512 v) {
  // Clamp with v as the second operand: min/max return it when it is NaN, so NaN propagates.
  v = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), v));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), v);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// silu(g) * u = g / (1 + exp(-g)) * u.
GLM_AVX512 inline __m512 swiGluVec(__m512 g, __m512 u) {
  const __m512 e = expAvx512(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

GLM_AVX512 void swiGluRowAvx512(const float* gate, const float* up, int64_t len, float* out) {
  int64_t t = 0;
  for (; t + 16 <= len; t += 16)
    _mm512_storeu_ps(out + t, swiGluVec(_mm512_loadu_ps(gate + t), _mm512_loadu_ps(up + t)));
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    _mm512_mask_storeu_ps(out + t, m, swiGluVec(_mm512_maskz_loadu_ps(m, gate + t), _mm512_maskz_loadu_ps(m, up + t)));
  }
}

// dot with four independent chains (FMA latency 4) over 64 elements per step.
template <int DT>
GLM_AVX512 float dotT(const float* a, const void* b, int64_t len) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(),
         acc3 = _mm512_setzero_ps();
  int64_t t = 0;
  for (; t + 64 <= len; t += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + t), load16<DT>(b, t), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + t + 16), load16<DT>(b, t + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + t + 32), load16<DT>(b, t + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + t + 48), load16<DT>(b, t + 48), acc3);
  }
  for (; t + 16 <= len; t += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + t), load16<DT>(b, t), acc0);
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + t), load16Masked<DT>(b, t, m), acc1);
  }
  return horizontalSum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

template <int DT>
GLM_AVX512 void axpyT(float alpha, const void* x, float* y, int64_t len) {
  const __m512 av = _mm512_set1_ps(alpha);
  int64_t t = 0;
  for (; t + 16 <= len; t += 16)
    _mm512_storeu_ps(y + t, _mm512_fmadd_ps(av, load16<DT>(x, t), _mm512_loadu_ps(y + t)));
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    _mm512_mask_storeu_ps(y + t, m, _mm512_fmadd_ps(av, load16Masked<DT>(x, t, m), _mm512_maskz_loadu_ps(m, y + t)));
  }
}

GLM_AVX512 float dotAvx512(const float* a, const float* b, int64_t len) { return dotT<kF32>(a, b, len); }
GLM_AVX512 float dotBf16Avx512(const float* a, const uint16_t* b, int64_t len) { return dotT<kBf16>(a, b, len); }
GLM_AVX512 void axpyAvx512(float alpha, const float* x, float* y, int64_t len) { axpyT<kF32>(alpha, x, y, len); }
GLM_AVX512 void axpyBf16Avx512(float alpha, const uint16_t* x, float* y, int64_t len) {
  axpyT<kBf16>(alpha, x, y, len);
}

GLM_AVX512 void scaleAvx512(float alpha, float* y, int64_t len) {
  const __m512 av = _mm512_set1_ps(alpha);
  int64_t t = 0;
  for (; t + 16 <= len; t += 16) _mm512_storeu_ps(y + t, _mm512_mul_ps(av, _mm512_loadu_ps(y + t)));
  if (t < len) {
    const __mmask16 m = tailMask(len - t);
    _mm512_mask_storeu_ps(y + t, m, _mm512_mul_ps(av, _mm512_maskz_loadu_ps(m, y + t)));
  }
}

// int8 -> fp32 (exact), then one multiply by the scale; masked tail.
GLM_AVX512 inline __m512 dequant16(__m128i q16, __m512 scale) {
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q16)), scale);
}

GLM_AVX512 void dequantInt8Avx512(const int8_t* q, float scale, int64_t len, float* dst) {
  const __m512 sv = _mm512_set1_ps(scale);
  int64_t c = 0;
  for (; c + 16 <= len; c += 16)
    _mm512_storeu_ps(dst + c, dequant16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + c)), sv));
  if (c < len) {
    const __mmask16 m = tailMask(len - c);
    _mm512_mask_storeu_ps(dst + c, m, dequant16(_mm_maskz_loadu_epi8(m, q + c), sv));
  }
}

// 16 bytes -> 32 values: the nibbles interleaved back into column order (low, high) by unpacking
// bytes, each 16 widened to int32, minus 8, converted (exact) and multiplied by the scale. store0 and
// store1 select the lanes written of columns 0-15 and 16-31.
GLM_AVX512 inline void dequantInt4x16(__m128i bytes, __m512 scale, float* dst, __mmask16 store0, __mmask16 store1) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(bytes, mask), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
  const __m512i eight = _mm512_set1_epi32(8);
  const __m512i cols0 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi)), eight);
  const __m512i cols16 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_unpackhi_epi8(lo, hi)), eight);
  _mm512_mask_storeu_ps(dst, store0, _mm512_mul_ps(_mm512_cvtepi32_ps(cols0), scale));
  _mm512_mask_storeu_ps(dst + 16, store1, _mm512_mul_ps(_mm512_cvtepi32_ps(cols16), scale));
}

GLM_AVX512 inline void dequantInt4GroupAvx512(const uint8_t* bytes, float scale, int64_t pairs, float* dst) {
  const __m512 sv = _mm512_set1_ps(scale);
  int64_t b = 0;
  for (; b + 16 <= pairs; b += 16)
    dequantInt4x16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + b)), sv, dst + 2 * b, 0xffff, 0xffff);
  if (b < pairs) {
    const int64_t rest = pairs - b;  // < 16 bytes, 2 * rest < 32 values
    dequantInt4x16(_mm_maskz_loadu_epi8(tailMask(rest), bytes + b), sv, dst + 2 * b,
                   tailMask(std::min<int64_t>(2 * rest, 16)), tailMask(std::max<int64_t>(2 * rest - 16, 0)));
  }
}

// A row's groups in one call (an indirect call per 32-weight group cost as much as the work).
GLM_AVX512 void dequantInt4Avx512(const uint8_t* bytes, const float* groupScales, int64_t group, int64_t len,
                                  float* dst) {
  for (int64_t c = 0, g = 0; c < len; c += group, ++g)
    dequantInt4GroupAvx512(bytes + c / 2, groupScales[g], std::min(group, len - c) / 2, dst + c);
}

template <int DT, int NX, int NW>
struct Tile {
  static constexpr TileFn fn = &tileKernel<DT, NX, NW>;
};

KernelTable makeTable() {
  KernelTable t{};
  t.name = "avx512";
  t.tileX = 4;
  t.tileW = 4;
  fillTileTable<Tile>(t.tile);
  t.toFloat = &toFloatAvx512;
  t.sumSquares = &sumSquaresAvx512;
  t.scaleByWeight = &scaleByWeightAvx512;
  t.swiGluRow = &swiGluRowAvx512;
  t.dot = &dotAvx512;
  t.axpy = &axpyAvx512;
  t.scale = &scaleAvx512;
  t.dotBf16 = &dotBf16Avx512;
  t.axpyBf16 = &axpyBf16Avx512;
  t.dequantInt8 = &dequantInt8Avx512;
  t.dequantInt4 = &dequantInt4Avx512;
  return t;
}

}  // namespace

const KernelTable& avx512Kernels() {
  static const KernelTable table = makeTable();
  return table;
}

}  // namespace glm::cpu::detail
