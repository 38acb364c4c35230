// GEMV for batch-1 decode: out[r] = W[r,:] . x + bias[r], x fp32, W row-major [m x k] in bf16 or quantized
// (int8 rows with fp32 row scales; int4 in groups of 32 or 128 with fp16 scales: engine/src/quant/quant_format.h).
// Bytes: the weight (2, 1 or 0.5 bytes per element + scales, streamed once, bypassing L1) + 4·k per block
// (x, from L1/L2) + 4·m. FLOPs: 2·m·k, negligible: this kernel is bound by HBM bandwidth. Each warp owns
// kRowsPerWarp rows; every lane loads 16 bytes (8, 16 or 32 weights) per row per step, and the unrolled
// loop keeps kRowsPerWarp x kUnroll independent 16-byte loads in flight per lane. Quantized weights are
// widened in registers without int->float conversions: a byte b becomes the float 2^23 + b by putting it
// under the exponent bits 0x4B (one byte permute) and subtracting 2^23 + the format's offset.
#include <algorithm>
#include <type_traits>

#include <cuda_fp16.h>

#include "common.cuh"

namespace glm::cuda {
namespace {

struct GemvTraits {
  static constexpr int kRowsPerWarp = 2;
  // One warp per block, 4 chunks per row in flight: the block scheduler then spreads the row pairs evenly
  // and a finished warp's slot is refilled at once. Measured on the H200 against 4 warps x 8 chunks (one
  // call, same build): the 40-layer GEMV chain 3.62 -> 3.97 TB/s, the 4096-row shapes +8-15%, decode
  // 162.3 -> 173.5 tokens/s at 1K and 150.3 -> 159.4 at 32K.
  static constexpr int kWarps = 1;
  static constexpr int kUnroll = 4;
};

__device__ __forceinline__ uint4 loadStreaming(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ float dot8(uint4 w, float4 a, float4 b) {
  float s = bf16Lo(w.x) * a.x;
  s = fmaf(bf16Hi(w.x), a.y, s);
  s = fmaf(bf16Lo(w.y), a.z, s);
  s = fmaf(bf16Hi(w.y), a.w, s);
  s = fmaf(bf16Lo(w.z), b.x, s);
  s = fmaf(bf16Hi(w.z), b.y, s);
  s = fmaf(bf16Lo(w.w), b.z, s);
  s = fmaf(bf16Hi(w.w), b.w, s);
  return s;
}

// Byte i of u as the float 2^23 + byte (0x4B is the exponent of 2^23).
__device__ __forceinline__ float byteAsFloat(uint32_t u, int i) {
  return __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | unsigned(i)));
}

// 16 int8 weights of two rows (two's complement; flipped to offset-128 first) against x[0..16): each x
// load serves both rows.
__device__ __forceinline__ void dot16i8Pair(uint4 wa, uint4 wb, const float4* x, float& accA, float& accB) {
  constexpr float kBias = 8388608.0f + 128.0f;
  const uint32_t a[4] = {wa.x ^ 0x80808080u, wa.y ^ 0x80808080u, wa.z ^ 0x80808080u, wa.w ^ 0x80808080u};
  const uint32_t b[4] = {wb.x ^ 0x80808080u, wb.y ^ 0x80808080u, wb.z ^ 0x80808080u, wb.w ^ 0x80808080u};
  float sa = 0.0f, sb = 0.0f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const float4 xv = __ldg(x + j);
    const float xs[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      sa = fmaf(byteAsFloat(a[j], i) - kBias, xs[i], sa);
      sb = fmaf(byteAsFloat(b[j], i) - kBias, xs[i], sb);
    }
  }
  accA += sa;
  accB += sb;
}

// 32 int4 weights of two rows (byte b of a row: column 2b in the low nibble, 2b + 1 in the high, each
// q + 8) against x[0..32), each row times its group scale.
__device__ __forceinline__ void dot32i4Pair(uint4 wa, uint4 wb, const float4* x, float scaleA, float scaleB,
                                            float& accA, float& accB) {
  constexpr float kBias = 8388608.0f + 8.0f;
  const uint32_t a[4] = {wa.x, wa.y, wa.z, wa.w}, b[4] = {wb.x, wb.y, wb.z, wb.w};
  float sa = 0.0f, sb = 0.0f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {  // word j: columns 8j .. 8j + 7
    const float4 x0 = __ldg(x + 2 * j), x1 = __ldg(x + 2 * j + 1);
    const float xs[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    const uint32_t aLo = a[j] & 0x0F0F0F0Fu, aHi = (a[j] >> 4) & 0x0F0F0F0Fu;
    const uint32_t bLo = b[j] & 0x0F0F0F0Fu, bHi = (b[j] >> 4) & 0x0F0F0F0Fu;
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // byte i: columns 8j + 2i (low nibble) and 8j + 2i + 1 (high)
      sa = fmaf(byteAsFloat(aLo, i) - kBias, xs[2 * i], sa);
      sa = fmaf(byteAsFloat(aHi, i) - kBias, xs[2 * i + 1], sa);
      sb = fmaf(byteAsFloat(bLo, i) - kBias, xs[2 * i], sb);
      sb = fmaf(byteAsFloat(bHi, i) - kBias, xs[2 * i + 1], sb);
    }
  }
  accA = fmaf(scaleA, sa, accA);
  accB = fmaf(scaleB, sb, accB);
}

// What a 16-byte chunk of a row holds, per weight kind.
template <int kKind>
struct Chunk;
template <>
struct Chunk<GemvWeight::Bf16> {
  static constexpr int kWeights = 8, kUnroll = GemvTraits::kUnroll;
};
template <>
struct Chunk<GemvWeight::Int8> {
  static constexpr int kWeights = 16, kUnroll = 4;
};
template <>
struct Chunk<GemvWeight::Int4G32> {
  static constexpr int kWeights = 32, kUnroll = 2, kGroup = 32;
};
template <>
struct Chunk<GemvWeight::Int4G128> {
  static constexpr int kWeights = 32, kUnroll = 2, kGroup = 128;
};

// Chunk c of both rows against x, added to acc0 / acc1 (int4: times each row's group scale; int8: unscaled,
// the row scale is applied after the loop).
template <int kKind>
__device__ __forceinline__ void pairDot(uint4 a, uint4 b, const float* __restrict__ x, int64_t c,
                                        const __half* s0, const __half* s1, float& acc0, float& acc1) {
  const float4* xc = reinterpret_cast<const float4*>(x) + c * (Chunk<kKind>::kWeights / 4);
  if constexpr (kKind == GemvWeight::Bf16) {
    const float4 xa = __ldg(xc), xb = __ldg(xc + 1);
    acc0 += dot8(a, xa, xb);
    acc1 += dot8(b, xa, xb);
  } else if constexpr (kKind == GemvWeight::Int8) {
    dot16i8Pair(a, b, xc, acc0, acc1);
  } else {
    const int64_t g = c * 32 / Chunk<kKind>::kGroup;
    dot32i4Pair(a, b, xc, __half2float(__ldg(s0 + g)), __half2float(__ldg(s1 + g)), acc0, acc1);
  }
}

// The decode step's fused RMSNorm (gemvAddNorm / gemvNormed) and RoPE/KV append (gemvRopeAppend).
constexpr int kNormSums = 32;  // the sums' slots: the row pairs' atomics spread over 32 addresses
static_assert(kNormSums == 32, "normScale reads one slot per lane of a warp");
struct NormIn {                // the input row is gemvAddNorm's unscaled normed row
  const double* sums = nullptr;
  int64_t n = 0;
  float eps = 0.0f;
};
struct AddNormOut {            // residual += W·x + bias; normed = residual ⊙ normW; sums += residual²
  float* residual = nullptr;
  const float* normW = nullptr;
  float* normed = nullptr;
  double* sums = nullptr;
};
struct RopeOut {               // out = [Q | K | V] rotated as ropeAppendKv does; K and V into the cache
  RopeArgs rope;
  Position pos;
  int nh = 0, nkv = 0, hd = 0;
  __nv_bfloat16* kCache = nullptr;
  __nv_bfloat16* vCache = nullptr;
  int64_t capacity = 0;
};

// rsqrt(sum / n + eps) of the fused norm, the sum being the 32 slots of gemvAddNorm, one per lane of a warp.
__device__ __forceinline__ float normScale(double laneSlot, int64_t n, float eps) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) laneSlot += __shfl_xor_sync(0xffffffffu, laneSlot, o);
  return rsqrtf(float(laneSlot / double(n)) + eps);
}

// The two rows' dot products, summed over the warp (every lane gets them), scaled by the norm's
// rsqrt(sum / n + eps) when the input is an unscaled normed row.
template <bool kNormedIn, int kKind>
__device__ __forceinline__ void rowPairDot(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                                           int64_t row0, int lane, NormIn nin, float& acc0, float& acc1) {
  constexpr int U = Chunk<kKind>::kUnroll, WPC = Chunk<kKind>::kWeights;
  double ss = 0.0;
  if constexpr (kNormedIn) ss = __ldcg(nin.sums + lane);  // used after the loop
  const int64_t chunks = k / WPC, row1 = row0 + 1 < m ? row0 + 1 : row0;
  const uint4* base = static_cast<const uint4*>(w.data);
  const uint4* w0 = base + row0 * chunks;
  const uint4* w1 = base + row1 * chunks;
  const __half* s0 = nullptr;
  const __half* s1 = nullptr;
  float rowScale0 = 1.0f, rowScale1 = 1.0f;
  if constexpr (kKind == GemvWeight::Int8) {
    rowScale0 = __ldg(static_cast<const float*>(w.scales) + row0);
    rowScale1 = __ldg(static_cast<const float*>(w.scales) + row1);
  } else if constexpr (kKind != GemvWeight::Bf16) {
    s0 = static_cast<const __half*>(w.scales) + row0 * (k / Chunk<kKind>::kGroup);
    s1 = static_cast<const __half*>(w.scales) + row1 * (k / Chunk<kKind>::kGroup);
  }
  acc0 = acc1 = 0.0f;
  int64_t c = lane;
  for (; c + 32 * (U - 1) < chunks; c += 32 * U) {  // U chunks per row in flight
    uint4 a[U], b[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      a[u] = loadStreaming(w0 + c + 32 * u);
      b[u] = loadStreaming(w1 + c + 32 * u);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) pairDot<kKind>(a[u], b[u], x, c + 32 * u, s0, s1, acc0, acc1);
  }
  for (; c < chunks; c += 32) pairDot<kKind>(loadStreaming(w0 + c), loadStreaming(w1 + c), x, c, s0, s1, acc0, acc1);
  acc0 = warpSum(acc0) * rowScale0;
  acc1 = warpSum(acc1) * rowScale1;
  if constexpr (kNormedIn) {
    const float inv = normScale(ss, nin.n, nin.eps);
    acc0 *= inv;
    acc1 *= inv;
  }
}

// The epilogue's inputs (bias and, per kernel, residual/norm weights or the rotation) are loaded by lane 0
// before the loop, so that the warp's tail does not wait on them (the AddNorm GEMV's residual loads there
// cost ~1.5 us per 4096-row GEMV on an H200).
__device__ __forceinline__ void loadBias(const float* bias, int64_t row0, bool two, float& b0, float& b1) {
  b0 = bias ? __ldg(bias + row0) : 0.0f;
  b1 = bias && two ? __ldg(bias + row0 + 1) : 0.0f;
}

template <bool kNormedIn, int kKind>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
               const float* __restrict__ bias, float* __restrict__ out, NormIn nin) {
  static_assert(GemvTraits::kRowsPerWarp == 2, "the kernels here are written for two rows per warp");
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const bool two = row0 + 1 < m;
  float b0 = 0.0f, b1 = 0.0f;
  if (lane == 0) loadBias(bias, row0, two, b0, b1);
  float acc0, acc1;
  rowPairDot<kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc0, acc1);
  if (lane != 0) return;
  out[row0] = acc0 + b0;
  if (two) out[row0 + 1] = acc1 + b1;
}

template <int kKind>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvAddNormKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                      const float* __restrict__ bias, AddNormOut an) {
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const bool two = row0 + 1 < m;
  float b0 = 0.0f, b1 = 0.0f, res0 = 0.0f, res1 = 0.0f, nw0 = 0.0f, nw1 = 0.0f;
  if (lane == 0) {
    loadBias(bias, row0, two, b0, b1);
    res0 = an.residual[row0];
    nw0 = __ldg(an.normW + row0);
    if (two) {
      res1 = an.residual[row0 + 1];
      nw1 = __ldg(an.normW + row0 + 1);
    }
  }
  float acc0, acc1;
  rowPairDot<false, kKind>(w, m, k, x, row0, lane, NormIn{}, acc0, acc1);
  if (lane != 0) return;
  const float r0 = res0 + acc0 + b0, r1 = two ? res1 + acc1 + b1 : 0.0f;
  an.residual[row0] = r0;
  an.normed[row0] = r0 * nw0;
  if (two) {
    an.residual[row0 + 1] = r1;
    an.normed[row0 + 1] = r1 * nw1;
  }
  atomicAdd(an.sums + (blockIdx.x % kNormSums), double(r0) * r0 + double(r1) * r1);
}

// The QKV projection with ropeAppendKv in its epilogue: a row pair (2i, 2i+1) of a head is exactly one
// rotary pair (GLM's interleaved half-rotary), so lane 0 rotates it (the position is read before the
// loop, the angle as ropeAppendKv computes it) and writes K and V to the cache as bf16.
template <bool kNormedIn, int kKind>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvRopeKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                   const float* __restrict__ bias, float* __restrict__ out, NormIn nin, RopeOut ro) {
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const int head = int(row0 / ro.hd), d = int(row0 % ro.hd), pair = d / 2;
  const bool rotate = head < ro.nh + ro.nkv && pair < ro.rope.pairs;
  float b0 = 0.0f, b1 = 0.0f;
  int64_t p = 0;
  if (lane == 0) {
    loadBias(bias, row0, true, b0, b1);
    p = readPosition(ro.pos);  // the angle is computed after the loop: waiting for p here would hold the loads
  }
  float acc0, acc1;
  rowPairDot<kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc0, acc1);
  if (lane != 0) return;
  float a = acc0 + b0, b = acc1 + b1;
  if (rotate) ropeRotatePair(a, b, p, ro.rope, pair);
  out[row0] = a;
  out[row0 + 1] = b;
  if (head >= ro.nh) {
    const bool isK = head < ro.nh + ro.nkv;
    const int kvh = isK ? head - ro.nh : head - ro.nh - ro.nkv;
    __nv_bfloat16* cache = isK ? ro.kCache : ro.vCache;
    *reinterpret_cast<__nv_bfloat162*>(cache + (int64_t(kvh) * ro.capacity + p) * ro.hd + d) = __floats2bfloat162_rn(a, b);
  }
}

// x *= rsqrt(sum(sums) / n + eps): a normed row left unscaled by gemvAddNorm, made whole for a reader
// that is not gemvNormed.
__global__ void scaleNormedKernel(float* x, int64_t n, const double* sums, float eps) {
  __shared__ float inv;
  if (threadIdx.x < 32) {
    const float s = normScale(__ldcg(sums + threadIdx.x), n, eps);
    if (threadIdx.x == 0) inv = s;
  }
  __syncthreads();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) x[i] *= inv;
}

unsigned gemvBlocks(int64_t m) {
  const int64_t rowsPerBlock = GemvTraits::kWarps * GemvTraits::kRowsPerWarp;
  return unsigned((m + rowsPerBlock - 1) / rowsPerBlock);
}

}  // namespace

// Calls f(std::integral_constant<int, kind>) for w's kind.
template <class F>
void byKind(const GemvWeight& w, F&& f) {
  switch (w.kind) {
    case GemvWeight::Bf16: f(std::integral_constant<int, GemvWeight::Bf16>{}); break;
    case GemvWeight::Int8: f(std::integral_constant<int, GemvWeight::Int8>{}); break;
    case GemvWeight::Int4G32: f(std::integral_constant<int, GemvWeight::Int4G32>{}); break;
    case GemvWeight::Int4G128: f(std::integral_constant<int, GemvWeight::Int4G128>{}); break;
  }
}

void gemv(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
          cudaStream_t stream) {
  byKind(w, [&](auto kind) {
    gemvKernel<false, decltype(kind)::value><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormIn{});
  });
}

void gemvBf16(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
              cudaStream_t stream) {
  gemv(GemvWeight{GemvWeight::Bf16, w, nullptr}, m, k, x, bias, out, stream);
}

int normSumSlots() { return kNormSums; }

void gemvAddNorm(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* residual,
                 const float* normW, float* normed, double* sums, cudaStream_t stream) {
  AddNormOut an;
  an.residual = residual;
  an.normW = normW;
  an.normed = normed;
  an.sums = sums;
  byKind(w, [&](auto kind) {
    gemvAddNormKernel<decltype(kind)::value><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, an);
  });
}

void gemvNormed(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream) {
  byKind(w, [&](auto kind) {
    gemvKernel<true, decltype(kind)::value><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out,
                                                                                    NormIn{sums, n, eps});
  });
}

void gemvRopeAppend(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                    int64_t n, float eps, float* out, int numHeads, int numKvHeads, int headDim, const RopeArgs& rope,
                    Position pos, uint16_t* kCache, uint16_t* vCache, int64_t capacity, cudaStream_t stream) {
  RopeOut ro;
  ro.rope = rope;
  ro.pos = pos;
  ro.nh = numHeads;
  ro.nkv = numKvHeads;
  ro.hd = headDim;
  ro.kCache = reinterpret_cast<__nv_bfloat16*>(kCache);
  ro.vCache = reinterpret_cast<__nv_bfloat16*>(vCache);
  ro.capacity = capacity;
  byKind(w, [&](auto kind) {
    if (sums)
      gemvRopeKernel<true, decltype(kind)::value><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out,
                                                                                         NormIn{sums, n, eps}, ro);
    else
      gemvRopeKernel<false, decltype(kind)::value><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out,
                                                                                          NormIn{}, ro);
  });
}

namespace {

// Widens chunk i (16 bytes) of a quantized weight into its 16 or 32 bf16 values.
template <int kKind>
__global__ void dequantKernel(GemvWeight w, int64_t m, int64_t k, __nv_bfloat16* __restrict__ out) {
  constexpr int WPC = Chunk<kKind>::kWeights;
  const int64_t chunksPerRow = k / WPC, i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= m * chunksPerRow) return;
  const int64_t row = i / chunksPerRow, c = i % chunksPerRow;
  const uint4 v = loadStreaming(static_cast<const uint4*>(w.data) + i);
  const uint32_t words[4] = {v.x, v.y, v.z, v.w};
  float vals[WPC];
  if constexpr (kKind == GemvWeight::Int8) {
    const float scale = __ldg(static_cast<const float*>(w.scales) + row);
#pragma unroll
    for (int j = 0; j < 16; ++j) vals[j] = (byteAsFloat(words[j / 4] ^ 0x80808080u, j % 4) - (8388608.0f + 128.0f)) * scale;
  } else {
    const float scale = __half2float(
        __ldg(static_cast<const __half*>(w.scales) + row * (k / Chunk<kKind>::kGroup) + c * 32 / Chunk<kKind>::kGroup));
#pragma unroll
    for (int j = 0; j < 32; ++j) {
      const uint32_t nib = (words[j / 8] >> (4 * (j % 8))) & 15u;
      vals[j] = (float(nib) - 8.0f) * scale;
    }
  }
  __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(out + row * k + c * WPC);
#pragma unroll
  for (int j = 0; j < WPC / 2; ++j) o[j] = __floats2bfloat162_rn(vals[2 * j], vals[2 * j + 1]);
}

}  // namespace

void dequantizeToBf16(const GemvWeight& w, int64_t m, int64_t k, uint16_t* out, cudaStream_t stream) {
  if (w.kind == GemvWeight::Bf16) return;
  byKind(w, [&](auto kind) {
    if constexpr (decltype(kind)::value != GemvWeight::Bf16) {
      const int64_t chunks = m * (k / Chunk<decltype(kind)::value>::kWeights);
      dequantKernel<decltype(kind)::value><<<unsigned((chunks + 255) / 256), 256, 0, stream>>>(
          w, m, k, reinterpret_cast<__nv_bfloat16*>(out));
    }
  });
}

void scaleNormed(float* x, int64_t n, const double* sums, float eps, cudaStream_t stream) {
  scaleNormedKernel<<<unsigned(std::min<int64_t>(64, (n + 255) / 256)), 256, 0, stream>>>(x, n, sums, eps);
}

}  // namespace glm::cuda
