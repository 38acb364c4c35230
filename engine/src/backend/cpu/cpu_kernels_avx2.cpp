// AVX2 path of the CPU kernels (avx2 + fma + f16c, 8 fp32 lanes), for CPUs without AVX-512. Only
// the innermost loops live here; blocking, threading and bias are in cpu_kernels.cpp. Every function
// carries the target attribute; the file is built with generic x86-64 flags.
//
// Matmul micro-tiles (setTileShapes; 16 ymm registers hold the accumulators, weights and x):
//  - n = 1 (every decoded token) and n >= 8 (prefill): 2 x-rows x 4 w-rows, 8 accumulators + 4 w + 1 x;
//    per 8-wide k step, 2 x loads + 4 w loads feed 8 FMAs = 128 FLOP. 4 w-rows rather than 4 x-rows:
//    at n = 1 the tile is 4 independent FMA chains instead of 2 (see below), and the prefill GEMM
//    (128 x 4096 x 4096) also ran faster, 51 -> 60 GFLOP/s on one Zen 4 core.
//  - n = 2..7: up to 4 x-rows per tile, so a weight is widened or dequantized once per up to 4 x rows
//    (with 2 x 4 it was once per 2); bf16 and int8 with 3 w-rows beyond 2 x-rows (4 x 3: 12 accumulators
//    + 3 w + 1 x), int4 with 2 (its tiles also hold a scale and an offset per row). One Zen 4 core,
//    4096 x 4096, hot, against 2 x 4 for every n: int4-g32 0.67-0.76x the time at n = 3..7 (n = 4:
//    3.87 -> 2.95 ms) and 0.88x at n = 2, int8 0.74-0.89x from n = 3, bf16 0.88x at n = 7 and 0.96x at
//    n = 4, a tie elsewhere (a bf16 weight costs 2 uops to widen, an int4 one 4-5).
// Tails shorter than 8 are read through a zero-padded copy (AVX2 has no 16-bit masked load).
// matmulQuantized's small-n tiles dequantize in registers: per 8 weights of a row, 8 bytes (int8:
// widen, convert, multiply) or 4 bytes (int4: broadcast, then shuffle, mask, or, FMA where the block's
// scales are all positive and finite, else shift, mask, subtract 8, convert, multiply; AVX2's 8-entry
// vpermps cannot take the 16-value table of the AVX-512 path) for 16 FLOP. The int4 tiles prefetch the
// rows' next k block. At n = 1 a tile's 4 rows are 4 chains of dependent FMAs (the order of additions
// is fixed): 4 cycles of FMA latency per 8-column step of a chain put a floor of ~0.55 ms under the
// 4096 x 4096 int4 GEMV at 3.7 GHz (measured 1.27-1.29 ms hot on one Zen 4 core; 1.43-1.66 ms with
// the 2 chains of a 2-row tile). The 4-row int4 tile (n = 1) holds 8 scale/offset vectors besides its
// accumulators and weights, so GCC keeps some of them on the stack as FMA memory operands (L1 loads).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "backend/cpu/cpu_kernels.h"

#define GLM_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace glm::cpu::detail {
namespace {


template <int DT>
GLM_AVX2 inline __m256 load8(const void* p, int64_t off) {
  if constexpr (DT == kF32) {
    return _mm256_loadu_ps(static_cast<const float*>(p) + off);
  } else {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + off));
    if constexpr (DT == kF16) return _mm256_cvtph_ps(h);
    // bf16 is the top half of an fp32: widen to 32 bits and shift, exact.
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

// Lanes [0, count) of a row at `off`, count < 8, the rest 0.
template <int DT>
GLM_AVX2 inline __m256 load8Partial(const void* p, int64_t off, int64_t count) {
  constexpr size_t kSize = DT == kF32 ? 4 : 2;
  alignas(32) unsigned char buf[8 * kSize] = {};
  std::memcpy(buf, static_cast<const unsigned char*>(p) + off * int64_t(kSize), size_t(count) * kSize);
  return load8<DT>(buf, 0);
}

GLM_AVX2 inline void store8Partial(float* p, __m256 v, int64_t count) {
  alignas(32) float buf[8];
  _mm256_store_ps(buf, v);
  std::memcpy(p, buf, size_t(count) * sizeof(float));
}

// Sum of the 8 lanes by halving: (l, l+4), (l, l+2), (l, l+1).
GLM_AVX2 inline float horizontalSum(__m256 v) {
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

template <int DT>
GLM_AVX2 void convertRow(const void* src, int64_t count, float* dst) {
  int64_t t = 0;
  for (; t + 8 <= count; t += 8) _mm256_storeu_ps(dst + t, load8<DT>(src, t));
  if (t < count) store8Partial(dst + t, load8Partial<DT>(src, t, count - t), count - t);
}

// ---- The matmul micro-kernel and its weight sources ----
// As on the AVX-512 path: tileKernel reads weights through a source, load(c, b, t) = the 8 fp32 weights
// of row b at columns [t, t + 8) of the block (loadPartial: the first count lanes, the others +0, as the
// zero-padded read of a tile gives), c = constantsOf(g0) what the columns of group [g0, g0 + kGroup)
// share (kGroup 0: the whole block; only such a source has partial steps). Column t + l always goes to
// lane l, added in column order and reduced by one tree, so sources that yield the same weight values
// give the same bits (matmulQuantized's register path and its fp32 tile).

// Stored weights (F32/F16/BF16 of matmul, or matmulQuantized's dequantized fp32 tile).
template <int DT>
struct StoredWeights {
  static constexpr int64_t kGroup = 0;
  struct Constants {};
  const void* w;
  int64_t ldw;

  GLM_AVX2 Constants constantsOf(int64_t) const { return {}; }
  GLM_AVX2 __m256 load(Constants, int b, int64_t t) const { return load8<DT>(w, b * ldw + t); }
  GLM_AVX2 __m256 loadPartial(Constants, int b, int64_t t, int64_t count) const {
    return load8Partial<DT>(w, b * ldw + t, count);
  }
};

// int8 -> fp32 (exact), then one multiply by the scale: the value of matmulQuantized's tile.
GLM_AVX2 inline __m256 dequant8(__m128i q8, __m256 scale) {
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), scale);
}

// Nibbles n (int32 lanes, 0..15) -> float(n - 8) * scale (exact conversion, one multiply): the tile's value.
GLM_AVX2 inline __m256 dequantNibbles(__m256i n, __m256 scale) {
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(n, _mm256_set1_epi32(8))), scale);
}

// int8 rows with one fp32 scale each.
template <int NW>
struct Int8Weights {
  static constexpr int64_t kGroup = 0;
  struct Constants {
    __m256 scale[NW];
  };
  QuantizedRows rows;

  GLM_AVX2 Constants constantsOf(int64_t) const {
    Constants c;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) c.scale[b] = _mm256_set1_ps(static_cast<const float*>(rows.scales)[b * rows.scaleStride]);
    return c;
  }
  GLM_AVX2 __m256 load(const Constants& c, int b, int64_t t) const {
    return dequant8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(rows.data + b * rows.dataStride + t)), c.scale[b]);
  }
  GLM_AVX2 __m256 loadPartial(const Constants& c, int b, int64_t t, int64_t count) const {
    alignas(16) int8_t buf[16] = {};
    std::memcpy(buf, rows.data + b * rows.dataStride + t, size_t(count));
    const __m256i firstLanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    // The padding's 0 * scale is -0 for a negative scale; the tile reads +0 there.
    return _mm256_and_ps(dequant8(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)), c.scale[b]),
                         _mm256_castsi256_ps(firstLanes));
  }
};

// The fp16 group scales of NW int4 rows over one k block, widened (exact), shared by both int4 weight
// sources, and checked once: Int4FmaWeights may read the block only if every scale is in (0, 65504].
// Scales are read at their exact size: 8 as 16 bytes, the 4 of a full G = 128 block as 8 bytes, other
// counts (a short last block) through a zero-padded copy.
template <int G, int NW>
struct Int4Block {
  static constexpr int kGroups = int(kKBlock / G);  // in a full block: 16 (G = 32) or 4 (G = 128)
  float scales[NW][kGroups < 8 ? 8 : kGroups];      // whole vectors
  bool fmaExact = true;

  GLM_AVX2 Int4Block(const QuantizedRows& r, int64_t len) {
    const int64_t groups = len / G;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) {
      const uint16_t* src = static_cast<const uint16_t*>(r.scales) + b * r.scaleStride;
      for (int64_t g = 0; g < groups; g += 8) {
        const int64_t count = std::min<int64_t>(8, groups - g);
        __m256 s;
        if (count == 8)
          s = load8<kF16>(src, g);
        else if (kGroups == 4 && count == 4)
          s = _mm256_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
        else
          s = load8Partial<kF16>(src, g, count);
        _mm256_storeu_ps(scales[b] + g, s);
        // NaN fails both ordered compares; lanes past count (zero padding) are not looked at.
        const int ok = _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_GT_OQ),
                                                        _mm256_cmp_ps(s, _mm256_set1_ps(65504.0f), _CMP_LE_OQ)));
        const int lanes = (1 << count) - 1;
        fmaExact &= (ok & lanes) == lanes;
      }
    }
  }
};

// int4 rows in groups of G columns with an fp16 scale each, any scale. A step's 8 nibbles are one 32-bit
// word (column t + i in bits 4i..4i+3), broadcast and shifted right by 4i in lane i, masked to 4 bits:
// per 8 weights 5 uops (shift, mask, subtract 8, convert, multiply).
template <int G, int NW>
struct Int4Weights {
  static_assert(G % 8 == 0, "a group is whole steps");
  static constexpr int64_t kGroup = G;
  struct Constants {
    __m256 scale[NW];
  };
  QuantizedRows rows;
  const Int4Block<G, NW>& block;

  GLM_AVX2 Constants constantsOf(int64_t g0) const {
    Constants c;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) c.scale[b] = _mm256_set1_ps(block.scales[b][g0 / G]);
    return c;
  }
  GLM_AVX2 __m256 load(const Constants& c, int b, int64_t t) const {
    uint32_t word;
    std::memcpy(&word, rows.data + b * rows.dataStride + t / 2, sizeof word);
    const __m256i shifted = _mm256_srlv_epi32(_mm256_set1_epi32(int(word)), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
    return dequantNibbles(_mm256_and_si256(shifted, _mm256_set1_epi32(0x0f)), c.scale[b]);
  }
};

// int4 rows whose block scales are all in (0, 65504] (Int4Block::fmaExact): 4 uops per 8 weights. vpshufb
// puts byte i / 2 of the broadcast word in byte 1 of lane i, a mask keeps its nibble n (even lane: bits
// 8..11; odd lane: bits 12..15) and an exponent makes the lane the float K + n, K = 2^15 (even) or 2^11
// (odd; the nibble sits 4 bits higher, so the exponent is 4 lower for the same unit 1). Then
// w = fma(K + n, s, -(K + 8) * s) = (n - 8) * s, Int4Weights' bits:
//  - (K + 8) * s is exact: K + 8 = 8 * 4097 or 8 * 257 (13 or 9 significant bits) times s's 11 bits
//    fits in 24, with no overflow (s <= 65504) or underflow (s >= 2^-24, fp16's smallest subnormal).
//  - The fma rounds the exact (n - 8) * s once, like the multiply of Int4Weights; both are exact, as
//    the product has at most 4 + 11 significant bits.
//  - n = 8 gives an exact zero sum, +0 in round-to-nearest; Int4Weights gives 0 * s, +0 only for s > 0.
//    So zero and negative scales (and inf, NaN) stay on Int4Weights.
template <int G, int NW>
struct Int4FmaWeights {
  static_assert(G % 8 == 0, "a group is whole steps");
  static constexpr int64_t kGroup = G;
  struct Constants {
    __m256 scale[NW], offset[NW];  // s and -(K + 8) * s
  };
  QuantizedRows rows;
  const Int4Block<G, NW>& block;

  GLM_AVX2 Constants constantsOf(int64_t g0) const {
    const __m256 minusKPlus8 = _mm256_setr_ps(-32776, -2056, -32776, -2056, -32776, -2056, -32776, -2056);
    Constants c;
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) {
      c.scale[b] = _mm256_set1_ps(block.scales[b][g0 / G]);
      c.offset[b] = _mm256_mul_ps(c.scale[b], minusKPlus8);
    }
    return c;
  }
  GLM_AVX2 __m256 load(const Constants& c, int b, int64_t t) const {
    // Byte 1 of lane i <- byte i / 2 of the word (vpshufb indexes each 128-bit half, which holds the
    // word 4 times); control bytes 0x80 write 0.
    const __m256i spread = _mm256_setr_epi32(0x80800080, 0x80800080, 0x80800180, 0x80800180, 0x80800280,
                                             0x80800280, 0x80800380, 0x80800380);
    const __m256i nibble = _mm256_setr_epi32(0x0f00, 0xf000, 0x0f00, 0xf000, 0x0f00, 0xf000, 0x0f00, 0xf000);
    const __m256i exponent = _mm256_setr_epi32(0x47000000, 0x45000000, 0x47000000, 0x45000000, 0x47000000,
                                               0x45000000, 0x47000000, 0x45000000);  // 2^15, 2^11
    uint32_t word;
    std::memcpy(&word, rows.data + b * rows.dataStride + t / 2, sizeof word);
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int(word)), spread);
    const __m256 kPlusN = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bytes, nibble), exponent));
    return _mm256_fmadd_ps(kPlusN, c.scale[b], c.offset[b]);
  }
};

// acc[a][b] += x row a * wv[b] at columns [t, t + 8), lane-wise.
template <int NX, int NW>
GLM_AVX2 inline void fmaStep(__m256 (&acc)[NX][NW], const float* x, int64_t ldx, int64_t t, const __m256 (&wv)[NW]) {
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a) {
    const __m256 xv = _mm256_loadu_ps(x + a * ldx + t);
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) acc[a][b] = _mm256_fmadd_ps(xv, wv[b], acc[a][b]);
  }
}

// One 8-column step at column t: the NW weight vectors, then the NX * NW FMAs.
template <int NX, int NW, class Weights>
GLM_AVX2 inline void weightStep(__m256 (&acc)[NX][NW], const float* x, int64_t ldx, const Weights& w,
                                const typename Weights::Constants& c, int64_t t) {
  __m256 wv[NW];
#pragma GCC unroll 4
  for (int b = 0; b < NW; ++b) wv[b] = w.load(c, b, t);
  fmaStep<NX, NW>(acc, x, ldx, t, wv);
}

// Steps t, t + 8, ... written out: GCC keeps a loop over a group's steps, whose counter and index
// arithmetic (5 instructions per step) rival the 4-uop dequantization of a row.
template <int NX, int NW, class Weights, int64_t... S>
GLM_AVX2 inline void weightSteps(__m256 (&acc)[NX][NW], const float* x, int64_t ldx, const Weights& w,
                                 const typename Weights::Constants& c, int64_t t,
                                 std::integer_sequence<int64_t, S...>) {
  (weightStep<NX, NW>(acc, x, ldx, w, c, t + 8 * S), ...);
}

template <int NX, int NW, class Weights>
GLM_AVX2 inline void tileKernel(const float* x, int64_t ldx, const Weights& w, int64_t len, float* sums) {
  __m256 acc[NX][NW];
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) acc[a][b] = _mm256_setzero_ps();

  if constexpr (Weights::kGroup == 0) {
    const typename Weights::Constants c = w.constantsOf(0);
    int64_t t = 0;
    for (; t + 8 <= len; t += 8) weightStep<NX, NW>(acc, x, ldx, w, c, t);
    if (t < len) {
      const int64_t rest = len - t;
      __m256 wv[NW];
#pragma GCC unroll 4
      for (int b = 0; b < NW; ++b) wv[b] = w.loadPartial(c, b, t, rest);
#pragma GCC unroll 4
      for (int a = 0; a < NX; ++a) {
        const __m256 xv = load8Partial<kF32>(x, a * ldx + t, rest);
#pragma GCC unroll 4
        for (int b = 0; b < NW; ++b) acc[a][b] = _mm256_fmadd_ps(xv, wv[b], acc[a][b]);
      }
    }
  } else {
    // 4 steps written out per iteration: G = 32 is one group, G = 128 a loop of 4 (all 16 would add
    // 36 KB of code, 20% of the object).
    constexpr int64_t kUnrolled = std::min<int64_t>(Weights::kGroup, 32);
    for (int64_t g0 = 0; g0 < len; g0 += Weights::kGroup) {  // len is whole groups
      const typename Weights::Constants c = w.constantsOf(g0);
      for (int64_t t = g0; t < g0 + Weights::kGroup; t += kUnrolled)
        weightSteps<NX, NW>(acc, x, ldx, w, c, t, std::make_integer_sequence<int64_t, kUnrolled / 8>{});
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < NX; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < NW; ++b) sums[a * NW + b] = horizontalSum(acc[a][b]);
}

GLM_AVX2 void toFloatAvx2(const void* src, int dtypeIndex, int64_t count, float* dst) {
  switch (dtypeIndex) {
    case kF32: convertRow<kF32>(src, count, dst); break;
    case kF16: convertRow<kF16>(src, count, dst); break;
    default: convertRow<kBf16>(src, count, dst); break;
  }
}

// Sum of squares in fp64: 4 floats widened per vector, two chains.
GLM_AVX2 double sumSquaresAvx2(const float* x, int64_t len) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  int64_t t = 0;
  for (; t + 8 <= len; t += 8) {
    __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(x + t));
    __m256d v1 = _mm256_cvtps_pd(_mm_loadu_ps(x + t + 4));
    acc0 = _mm256_fmadd_pd(v0, v0, acc0);
    acc1 = _mm256_fmadd_pd(v1, v1, acc1);
  }
  __m256d acc = _mm256_add_pd(acc0, acc1);
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, acc);
  double s = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
  for (; t < len; ++t) s += double(x[t]) * double(x[t]);
  return s;
}

template <int DT>
GLM_AVX2 void scaleByWeightT(const float* x, float r, const void* weight, int64_t len, float* y) {
  const __m256 rv = _mm256_set1_ps(r);
  int64_t t = 0;
  for (; t + 8 <= len; t += 8)
    _mm256_storeu_ps(y + t, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + t), rv), load8<DT>(weight, t)));
  if (t < len) {
    const int64_t rest = len - t;
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(load8Partial<kF32>(x, t, rest), rv), load8Partial<DT>(weight, t, rest));
    store8Partial(y + t, v, rest);
  }
}

GLM_AVX2 void scaleByWeightAvx2(const float* x, float r, const void* weight, int dtypeIndex, int64_t len, float* y) {
  switch (dtypeIndex) {
    case kF32: scaleByWeightT<kF32>(x, r, weight, len, y); break;
    case kF16: scaleByWeightT<kF16>(x, r, weight, len, y); break;
    default: scaleByWeightT<kBf16>(x, r, weight, len, y); break;
  }
}

// exp(v), same algorithm as the AVX-512 path (Cody-Waite reduction, degree-7 Taylor polynomial);
// without vscalefps, 2^n is applied as two exact power-of-two factors 2^(n>>1) * 2^(n - (n>>1)), each
// a normal float for n in [-150, 128], so the single rounding happens in the last product (correct
// in the subnormal range, inf on overflow), giving the same bits as vscalefps.
GLM_AVX2 inline __m256 expAvx2(__m256 v) {
  // Clamp with v as the second operand: min/max return it when it is NaN, so NaN propagates.
  v = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), v));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), v);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // NaN input: n is NaN and its integer conversion garbage, but p is NaN, so the product stays NaN.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

// silu(g) * u = g / (1 + exp(-g)) * u.
GLM_AVX2 inline __m256 swiGluVec(__m256 g, __m256 u) {
  const __m256 e = expAvx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

GLM_AVX2 void swiGluRowAvx2(const float* gate, const float* up, int64_t len, float* out) {
  int64_t t = 0;
  for (; t + 8 <= len; t += 8)
    _mm256_storeu_ps(out + t, swiGluVec(_mm256_loadu_ps(gate + t), _mm256_loadu_ps(up + t)));
  if (t < len) {
    const int64_t rest = len - t;
    store8Partial(out + t, swiGluVec(load8Partial<kF32>(gate, t, rest), load8Partial<kF32>(up, t, rest)), rest);
  }
}

// dot with four independent chains (FMA latency 4) over 32 elements per step.
template <int DT>
GLM_AVX2 float dotT(const float* a, const void* b, int64_t len) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
         acc3 = _mm256_setzero_ps();
  int64_t t = 0;
  for (; t + 32 <= len; t += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + t), load8<DT>(b, t), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + t + 8), load8<DT>(b, t + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + t + 16), load8<DT>(b, t + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + t + 24), load8<DT>(b, t + 24), acc3);
  }
  for (; t + 8 <= len; t += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + t), load8<DT>(b, t), acc0);
  if (t < len) acc1 = _mm256_fmadd_ps(load8Partial<kF32>(a, t, len - t), load8Partial<DT>(b, t, len - t), acc1);
  return horizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

template <int DT>
GLM_AVX2 void axpyT(float alpha, const void* x, float* y, int64_t len) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t t = 0;
  for (; t + 8 <= len; t += 8)
    _mm256_storeu_ps(y + t, _mm256_fmadd_ps(av, load8<DT>(x, t), _mm256_loadu_ps(y + t)));
  if (t < len) {
    const int64_t rest = len - t;
    store8Partial(y + t, _mm256_fmadd_ps(av, load8Partial<DT>(x, t, rest), load8Partial<kF32>(y, t, rest)), rest);
  }
}

GLM_AVX2 float dotAvx2(const float* a, const float* b, int64_t len) { return dotT<kF32>(a, b, len); }
GLM_AVX2 float dotBf16Avx2(const float* a, const uint16_t* b, int64_t len) { return dotT<kBf16>(a, b, len); }
GLM_AVX2 void axpyAvx2(float alpha, const float* x, float* y, int64_t len) { axpyT<kF32>(alpha, x, y, len); }
GLM_AVX2 void axpyBf16Avx2(float alpha, const uint16_t* x, float* y, int64_t len) { axpyT<kBf16>(alpha, x, y, len); }

GLM_AVX2 void scaleAvx2(float alpha, float* y, int64_t len) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t t = 0;
  for (; t + 8 <= len; t += 8) _mm256_storeu_ps(y + t, _mm256_mul_ps(av, _mm256_loadu_ps(y + t)));
  for (; t < len; ++t) y[t] *= alpha;
}

// The fp32 tile of matmulQuantized for n >= 8, with dequant8 and dequantNibbles as Int8Weights and
// Int4Weights. Tails through a zero-padded copy.
GLM_AVX2 void dequantInt8Avx2(const int8_t* q, float scale, int64_t len, float* dst) {
  const __m256 sv = _mm256_set1_ps(scale);
  int64_t c = 0;
  for (; c + 8 <= len; c += 8)
    _mm256_storeu_ps(dst + c, dequant8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + c)), sv));
  if (c < len) {
    alignas(16) int8_t buf[16] = {};
    std::memcpy(buf, q + c, size_t(len - c));
    store8Partial(dst + c, dequant8(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)), sv), len - c);
  }
}

// 16 bytes -> 32 values: the nibbles interleaved back into column order (low, high) by unpacking
// bytes, 8 of them at a time widened to int32, minus 8, converted (exact) and multiplied by the scale.
GLM_AVX2 inline void dequantInt4x16(__m128i bytes, __m256 scale, float* dst) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(bytes, mask), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
  const __m128i cols0 = _mm_unpacklo_epi8(lo, hi), cols16 = _mm_unpackhi_epi8(lo, hi);  // columns 0-15, 16-31
  const __m128i parts[4] = {cols0, _mm_unpackhi_epi64(cols0, cols0), cols16, _mm_unpackhi_epi64(cols16, cols16)};
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) _mm256_storeu_ps(dst + 8 * p, dequantNibbles(_mm256_cvtepu8_epi32(parts[p]), scale));
}

GLM_AVX2 inline void dequantInt4GroupAvx2(const uint8_t* bytes, float scale, int64_t pairs, float* dst) {
  const __m256 sv = _mm256_set1_ps(scale);
  int64_t b = 0;
  for (; b + 16 <= pairs; b += 16)
    dequantInt4x16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + b)), sv, dst + 2 * b);
  if (b < pairs) {
    alignas(16) uint8_t buf[16] = {};
    alignas(32) float out[32];
    std::memcpy(buf, bytes + b, size_t(pairs - b));
    dequantInt4x16(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)), sv, out);
    std::memcpy(dst + 2 * b, out, size_t(2 * (pairs - b)) * sizeof(float));
  }
}

// A row's groups in one call (an indirect call per 32-weight group cost as much as the work).
GLM_AVX2 void dequantInt4Avx2(const uint8_t* bytes, const float* groupScales, int64_t group, int64_t len, float* dst) {
  for (int64_t c = 0, g = 0; c < len; c += group, ++g)
    dequantInt4GroupAvx2(bytes + c / 2, groupScales[g], std::min(group, len - c) / 2, dst + c);
}

template <int DT, int NX, int NW>
GLM_AVX2 void storedTile(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums) {
  tileKernel<NX, NW>(x, ldx, StoredWeights<DT>{w, ldw}, len, sums);
}

template <int Format, int NX, int NW>
GLM_AVX2 void quantizedTile(const float* x, int64_t ldx, const QuantizedRows& w, int64_t len, float* sums) {
  if constexpr (Format == kQuantInt8) {
    tileKernel<NX, NW>(x, ldx, Int8Weights<NW>{w}, len, sums);
  } else {
    constexpr int G = Format == kQuantInt4G32 ? 32 : 128;
    prefetchNextBlock<NW, 3>(w, len / 2);  // into L1 (T0)
    const Int4Block<G, NW> block(w, len);
    if (block.fmaExact)
      tileKernel<NX, NW>(x, ldx, Int4FmaWeights<G, NW>{w, block}, len, sums);
    else
      tileKernel<NX, NW>(x, ldx, Int4Weights<G, NW>{w, block}, len, sums);
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

// The tile shapes measured best (the comment at the top). n x rows are cut into ceil(n / 4) tiles of
// nearly equal size (5 = 3 + 2, 6 = 3 + 3, 7 = 4 + 3): a weight is widened or dequantized once per tile.
// Weight rows per tile: for bf16 (and f32, f16) and int8 the most (up to kTileW) that fit 16 ymm with
// x * w accumulators, w weight vectors and 1 x vector; int4 keeps a scale and an offset vector per row
// besides, so 2 rows (the n = 1 tile keeps 4: four FMA chains for one x row).
void setTileShapes(KernelTable& t) {
  t.packedTile = {2, 4};
  for (int n = 1; n < kPackMinRows; ++n) {
    const int tiles = (n + kTileX - 1) / kTileX, x = (n + tiles - 1) / tiles;
    const TileShape widest{x, x <= 2 ? 4 : 3}, int4{x, n == 1 ? 4 : 2};
    t.streamedTile[n - 1] = widest;
    t.quantStreamedTile[kQuantInt8][n - 1] = widest;
    t.quantStreamedTile[kQuantInt4G32][n - 1] = int4;
    t.quantStreamedTile[kQuantInt4G128][n - 1] = int4;
  }
}

KernelTable makeTable() {
  KernelTable t{};
  t.name = "avx2";
  setTileShapes(t);
  fillTileTable<Tile>(t.tile);
  fillTileTable<QuantTile>(t.quantTile);
  t.toFloat = &toFloatAvx2;
  t.sumSquares = &sumSquaresAvx2;
  t.scaleByWeight = &scaleByWeightAvx2;
  t.swiGluRow = &swiGluRowAvx2;
  t.dot = &dotAvx2;
  t.axpy = &axpyAvx2;
  t.scale = &scaleAvx2;
  t.dotBf16 = &dotBf16Avx2;
  t.axpyBf16 = &axpyBf16Avx2;
  t.dequantInt8 = &dequantInt8Avx2;
  t.dequantInt4 = &dequantInt4Avx2;
  return t;
}

}  // namespace

const KernelTable& avx2Kernels() {
  static const KernelTable table = makeTable();
  return table;
}

}  // namespace glm::cpu::detail
