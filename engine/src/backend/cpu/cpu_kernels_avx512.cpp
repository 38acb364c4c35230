// AVX-512 path of the CPU kernels (avx512f/bw/vl + fma + f16c, 16 fp32 lanes). Only the innermost
// loops live here; blocking, threading and bias are in cpu_kernels.cpp. Every function carries the
// target attribute, so the file is built with generic x86-64 flags and is only entered where
// __builtin_cpu_supports says the CPU can run it.
//
// Matmul micro-tile (4 x-rows x 4 w-rows): per 16-wide k step, 4 x loads + 4 w loads (+ widening of
// bf16/f16) feed 16 FMAs = 512 FLOP, all 16 accumulators held in zmm registers. A 1 x 4 tile is the
// decode GEMV: 4 independent FMA chains, 128 bytes of bf16 weights per step.
// matmulQuantized's small-n tiles dequantize in registers, the same 128 FLOP per 16-weight step of a
// 1 x 4 tile from 64 bytes (int8: widen, convert, multiply) or 32 bytes + an fp16 scale per group
// (int4: shift + table lookup, 1 permute of x shared by the 4 rows, 1 table multiply per group). They
// are bound by ports 0 and 5 more than by memory: 4 (int8) and ~3.75 (int4 g32) vector uops per 16
// weights and row against bf16's 3 (measured from L1: int4 ~1.35x bf16's time, for 1/3.6 the bytes).
// The int8 tiles prefetch the rows' next k block with the T1 hint when they start: Zen 4, 4096 x 4096
// int8 GEMV, medians of alternated runs on a shared machine, cold 1.39 -> 1.37 ms on 1 core and
// 0.716 -> 0.692 ms on 2, hot unchanged (1.00-1.02, 0.49 ms); with T0 it was slower cold (1.48 ms one
// block ahead, 1.56 two). The int4 tiles do not: T1 made them faster cold (1.14 -> 1.11 ms, 0.563 ->
// 0.544 ms) but 2% slower hot (0.734 -> 0.746 ms, 0.369 -> 0.378), T0 slower both ways (1.23, 0.751 ms).
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

template <int DT>
GLM_AVX512 void convertRow(const void* src, int64_t count, float* dst) {
  int64_t t = 0;
  for (; t + 16 <= count; t += 16) _mm512_storeu_ps(dst + t, load16<DT>(src, t));
  if (t < count) {
    const __mmask16 m = tailMask(count - t);
    _mm512_mask_storeu_ps(dst + t, m, load16Masked<DT>(src, t, m));
  }
}

// ---- The matmul micro-kernel and its weight sources ----
// tileKernel reads weights through a source: load(c, b, t) = the 16 fp32 weights of row b at columns
// [t, t + 16) of the block (loadMasked: the lanes in m, the others +0, as a masked load of a tile gives),
// c = constantsOf(g0) the values that the columns of group [g0, g0 + kGroup) share (kGroup 0: the
// whole block shares them; only such a source has partial steps). The products of column t + l always
// go to accumulator lane l (kInterleavedLanes: a fixed other lane, x loaded in the same order and the
// accumulators put back in column order before the reduction), added in column order, and the lanes
// reduced by the same tree: for a given block, every source that yields the same weight values gives
// the same bits, which is what makes matmulQuantized's register path and its fp32 tile agree.

// Stored weights (F32/F16/BF16 of matmul, or matmulQuantized's dequantized fp32 tile).
template <int DT>
struct StoredWeights {
  static constexpr int64_t kGroup = 0;
  static constexpr bool kInterleavedLanes = false;
  struct Constants {};
  const void* w;
  int64_t ldw;

  GLM_AVX512 Constants constantsOf(int64_t) const { return {}; }
  GLM_AVX512 __m512 load(Constants, int b, int64_t t) const { return load16<DT>(w, b * ldw + t); }
  GLM_AVX512 __m512 loadMasked(Constants, int b, int64_t t, __mmask16 m) const {
    return load16Masked<DT>(w, b * ldw + t, m);
  }
};

// int8 -> fp32 (exact), then one multiply by the scale: the value of matmulQuantized's tile.
GLM_AVX512 inline __m512 dequant16(__m128i q16, __m512 scale) {
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q16)), scale);
}

// int8 rows with one fp32 scale each. Per 16 weights: widen (1 shuffle), convert, multiply.
template <int NW>
struct Int8Weights {
  static constexpr int64_t kGroup = 0;
  static constexpr bool kInterleavedLanes = false;
  struct Constants {
    __m512 scale[NW];
  };
  QuantizedRows rows;

  GLM_AVX512 Constants constantsOf(int64_t) const {
    Constants c;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) c.scale[b] = _mm512_set1_ps(static_cast<const float*>(rows.scales)[b * rows.scaleStride]);
    return c;
  }
  GLM_AVX512 __m512 load(const Constants& c, int b, int64_t t) const {
    return dequant16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows.data + b * rows.dataStride + t)), c.scale[b]);
  }
  GLM_AVX512 __m512 loadMasked(const Constants& c, int b, int64_t t, __mmask16 m) const {
    const __m128i q = _mm_maskz_loadu_epi8(m, rows.data + b * rows.dataStride + t);
    return _mm512_maskz_mul_ps(m, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), c.scale[b]);  // +0 outside m
  }
};

// int4 rows in groups of G columns with an fp16 scale each. A step's 16 nibbles are one 64-bit word
// (column t + i in bits 4i..4i+3). Broadcast to the 8 qwords and shifted right by 4q in qword q, dword
// lane 2q holds column t + q and lane 2q + 1 column t + q + 8 in its low 4 bits, the only bits vpermps
// reads: the weight is a lookup in the group's 16 values float(n - 8) * scale, made once per group with
// the tile's multiply (same bits). Per 16 weights: 1 shift and 1 permute, no masking, widening or
// conversion. Since lanes hold columns in that interleaved order, x is permuted the same way on load
// (once per 16 x values, shared by the NW rows) and the accumulators put back in column order per block.
template <int G, int NW>
struct Int4Weights {
  static_assert(G % 16 == 0, "a group is whole steps");
  static constexpr int64_t kGroup = G;
  static constexpr bool kInterleavedLanes = true;
  struct Constants {
    __m512 values[NW];  // lane n: float(n - 8) * scale
  };
  QuantizedRows rows;
  float scales[NW][16];  // the block's group scales, widened (exact): at most kKBlock / 32 = 16 groups

  GLM_AVX512 Int4Weights(const QuantizedRows& r, int64_t len) : rows(r) {
    static_assert(kKBlock / 32 == 16, "one vector of scales per row and block");
    const __mmask16 groups = tailMask(len / G);
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) {
      const __m256i half = _mm256_maskz_loadu_epi16(groups, static_cast<const uint16_t*>(r.scales) + b * r.scaleStride);
      _mm512_storeu_ps(scales[b], _mm512_cvtph_ps(half));
    }
  }
  GLM_AVX512 Constants constantsOf(int64_t g0) const {
    const __m512 nibbleMinus8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    Constants c;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) c.values[b] = _mm512_mul_ps(nibbleMinus8, _mm512_set1_ps(scales[b][g0 / G]));
    return c;
  }
  GLM_AVX512 __m512 load(const Constants& c, int b, int64_t t) const {
    uint64_t word;
    std::memcpy(&word, rows.data + b * rows.dataStride + t / 2, sizeof word);
    const __m512i nibbles =
        _mm512_srlv_epi64(_mm512_set1_epi64(int64_t(word)), _mm512_setr_epi64(0, 4, 8, 12, 16, 20, 24, 28));
    return _mm512_permutexvar_ps(nibbles, c.values[b]);
  }
};

// x in a source's lane order: lane 2q = column q, lane 2q + 1 = column q + 8 where interleaved.
template <bool Interleaved>
GLM_AVX512 inline __m512 loadX(const float* p) {
  const __m512 v = _mm512_loadu_ps(p);
  if constexpr (!Interleaved) return v;
  else return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15), v);
}

// An accumulator back in column order (lane l = the products of columns t + l).
template <bool Interleaved>
GLM_AVX512 inline __m512 inColumnOrder(__m512 acc) {
  if constexpr (!Interleaved) return acc;
  else return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15), acc);
}

// acc[a][b] += x row a * wv[b] at columns [t, t + 16), lane-wise.
template <int NX, int NW, bool Interleaved>
GLM_AVX512 inline void fmaStep(__m512 (&acc)[NX][NW], const float* x, int64_t ldx, int64_t t, const __m512 (&wv)[NW]) {
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a) {
    const __m512 xv = loadX<Interleaved>(x + a * ldx + t);
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
  }
}

template <int NX, int NW, class Weights>
GLM_AVX512 inline void tileKernel(const float* x, int64_t ldx, const Weights& w, int64_t len, float* sums) {
  constexpr bool kInterleaved = Weights::kInterleavedLanes;
  __m512 acc[NX][NW];
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_setzero_ps();

  __m512 wv[NW];
  if constexpr (Weights::kGroup == 0) {
    const typename Weights::Constants c = w.constantsOf(0);
    int64_t t = 0;
    for (; t + 16 <= len; t += 16) {
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) wv[b] = w.load(c, b, t);
      fmaStep<NX, NW, kInterleaved>(acc, x, ldx, t, wv);
    }
    if (t < len) {
      static_assert(!kInterleaved, "a partial step is only loaded in column order");
      const __mmask16 m = tailMask(len - t);
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) wv[b] = w.loadMasked(c, b, t, m);
#pragma GCC unroll 4
      for (int a = 0; a < NX; ++a) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, x + a * ldx + t);
#pragma GCC unroll 4
        for (int b = 0; b < NW; ++b) acc[a][b] = _mm512_fmadd_ps(xv, wv[b], acc[a][b]);
      }
    }
  } else {
    for (int64_t g0 = 0; g0 < len; g0 += Weights::kGroup) {  // len is whole groups
      const typename Weights::Constants c = w.constantsOf(g0);
#pragma GCC unroll 8
      for (int step = 0; step < Weights::kGroup / 16; ++step) {
        const int64_t t = g0 + 16 * step;
#pragma GCC unroll 4
        for (int b = 0; b < NW; ++b) wv[b] = w.load(c, b, t);
        fmaStep<NX, NW, kInterleaved>(acc, x, ldx, t, wv);
      }
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a) {
    if constexpr (NW == 4) {
      horizontalSum4(inColumnOrder<kInterleaved>(acc[a][0]), inColumnOrder<kInterleaved>(acc[a][1]),
                     inColumnOrder<kInterleaved>(acc[a][2]), inColumnOrder<kInterleaved>(acc[a][3]), sums + a * NW);
    } else {
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) sums[a * NW + b] = horizontalSum(inColumnOrder<kInterleaved>(acc[a][b]));
    }
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

// The fp32 tile of matmulQuantized for n >= 8, with dequant16 as Int8Weights; masked tail.
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
GLM_AVX512 void storedTile(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums) {
  tileKernel<NX, NW>(x, ldx, StoredWeights<DT>{w, ldw}, len, sums);
}

template <int Format, int NX, int NW>
GLM_AVX512 void quantizedTile(const float* x, int64_t ldx, const QuantizedRows& w, int64_t len, float* sums) {
  if constexpr (Format == kQuantInt8) {
    prefetchNextBlock<NW, 2>(w, len);  // into L2 (T1: see the top)
    tileKernel<NX, NW>(x, ldx, Int8Weights<NW>{w}, len, sums);
  } else {
    tileKernel<NX, NW>(x, ldx, Int4Weights<Format == kQuantInt4G32 ? 32 : 128, NW>(w, len), len, sums);
  }
}

template <int DT, int NX, int NW>
struct Tile {
  static constexpr TileFn fn = &storedTile<DT, NX, NW>;
};

template <int Format, int NX, int NW>
struct QuantTile {
  static constexpr QuantTileFn fn = &quantizedTile<Format, NX, NW>;
};

KernelTable makeTable() {
  KernelTable t{};
  t.name = "avx512";
  setOneTileShape(t, {4, 4});
  fillTileTable<Tile>(t.tile);
  fillTileTable<QuantTile>(t.quantTile);
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
