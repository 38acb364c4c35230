// GEMV for batch-1 decode: out[r] = W[r,:] . x + bias[r], x fp32, W row-major [m x k] in bf16 or quantized
// (int8 rows with fp32 row scales; int4 in groups of 32 or 128 with fp16 scales: engine/src/quant/quant_format.h).
// Bytes: the weight (2, 1 or 0.5 bytes per element + scales, streamed once, bypassing L1) + x per block
// (4·k, or 1.25·k quantized, from L1/L2) + 4·m. FLOPs: 2·m·k, negligible: this kernel is bound by HBM
// bandwidth. Each warp owns kRowsPerWarp rows; every lane loads 16 bytes (8, 16 or 32 weights) per row per
// step, and the unrolled loop keeps kRowsPerWarp x kUnroll independent 16-byte loads in flight per lane.
// Quantized weights meet a quantized x: x as int8 in blocks of 32 with an fp32 scale (and the block's sum of
// q, for int4's offset of 8) in the weight's xq scratch, written by x's producer (the residual-add GEMV,
// decode attention, SwiGLU) or else by quantizeXKernel before the GEMV, and
// the dot products run on dp4a (4 multiply-adds per instruction on int8 pairs, exact in int32), one fp32
// multiply-add per 32-block: ~0.6 instructions per int4 weight instead of ~3.3 with fp32 widening, which
// made the int4 GEMV instruction-bound (ncu: gate/up 66 us against 53.5 in bf16).
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

// Under a programmatic launch, where a GEMV lets the next kernel launch: bf16 once every warp has issued
// its last weight loads (its long rows keep the memory busy; dependents launched early crowd the SMs),
// the quantized kinds at the start. H200 decode at 1K in tokens/s, start / after the loads: bf16 185.9 /
// 205.2, int8 359.8 / 341.6; int4 ahead with the early trigger by 3 and 15% in two variants of the GEMV.
template <int kKind>
constexpr bool kLateTrigger = kKind == GemvWeight::Bf16;

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

// One warp per 32-block of x: s = max|x| / 127, q = rint(x * 127 / max|x|) (as the 8-bit KV cache), sum of q.
__global__ void quantizeXKernel(const float* __restrict__ x, int64_t k, void* xq) {
  pdlStart();
  const int64_t blocks = (k + 31) / 32;
  const int64_t b = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (b >= blocks) return;
  const int lane = threadIdx.x & 31;
  const int64_t i = b * 32 + lane;
  quantizeBlock32(i < k ? x[i] : 0.0f, k, b, lane, xq);
}

// Byte i of u as the float 2^23 + byte (0x4B is the exponent of 2^23).
__device__ __forceinline__ float byteAsFloat(uint32_t u, int i) {
  return __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | unsigned(i)));
}

// c + the dot product of a's four unsigned bytes with b's four signed bytes (exact in int32).
__device__ __forceinline__ int dp4aUS(uint32_t a, int b, int c) {
  int d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
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

// Chunk c of both rows against x, added to acc0 / acc1 (int4: times each row's group scale, g0 and g1;
// int8: unscaled, the row scale is applied after the loop).
template <int kKind>
__device__ __forceinline__ void pairDot(uint4 a, uint4 b, const float* __restrict__ x, const XQ& xq, int64_t c,
                                        __half g0, __half g1, float& acc0, float& acc1) {
  if constexpr (kKind == GemvWeight::Bf16) {
    const float4* xc = reinterpret_cast<const float4*>(x) + c * (Chunk<kKind>::kWeights / 4);
    const float4 xa = __ldg(xc), xb = __ldg(xc + 1);
    acc0 += dot8(a, xa, xb);
    acc1 += dot8(b, xa, xb);
  } else if constexpr (kKind == GemvWeight::Int8) {  // columns 16c .. 16c + 15: half of x block c / 2
    const int4 xv = __ldg(reinterpret_cast<const int4*>(xq.q) + c);
    const float sx = __ldg(xq.s + (c >> 1));
    int i0 = __dp4a(int(a.x), xv.x, 0), i1 = __dp4a(int(b.x), xv.x, 0);
    i0 = __dp4a(int(a.y), xv.y, i0);
    i1 = __dp4a(int(b.y), xv.y, i1);
    i0 = __dp4a(int(a.z), xv.z, i0);
    i1 = __dp4a(int(b.z), xv.z, i1);
    i0 = __dp4a(int(a.w), xv.w, i0);
    i1 = __dp4a(int(b.w), xv.w, i1);
    acc0 = fmaf(float(i0), sx, acc0);
    acc1 = fmaf(float(i1), sx, acc1);
  } else {  // columns 32c .. 32c + 31 = x block c, in the repacked nibble order (repackInt4); nibbles are q + 8:
            // sum (n - 8) qx = sum n qx - 8 sum qx
    const int4* xp = reinterpret_cast<const int4*>(xq.q) + 2 * c;
    const int4 x0 = __ldg(xp), x1 = __ldg(xp + 1);
    const float sx = __ldg(xq.s + c);
    const int off = 8 * __ldg(xq.sum + c);
    const int X[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    const uint32_t wa[4] = {a.x, a.y, a.z, a.w}, wb[4] = {b.x, b.y, b.z, b.w};
    // Word j holds columns 8j .. 8j + 3 in its low nibbles (against x word 2j) and 8j + 4 .. 8j + 7 in its
    // high nibbles, which are summed as 16 x the nibble (no shift) and divided out exactly at the end.
    int lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      lo0 = dp4aUS(wa[j] & 0x0F0F0F0Fu, X[2 * j], lo0);
      hi0 = dp4aUS(wa[j] & 0xF0F0F0F0u, X[2 * j + 1], hi0);
      lo1 = dp4aUS(wb[j] & 0x0F0F0F0Fu, X[2 * j], lo1);
      hi1 = dp4aUS(wb[j] & 0xF0F0F0F0u, X[2 * j + 1], hi1);
    }
    acc0 = fmaf(float(lo0 + (hi0 >> 4) - off), __half2float(g0) * sx, acc0);
    acc1 = fmaf(float(lo1 + (hi1 >> 4) - off), __half2float(g1) * sx, acc1);
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
// The first U chunks of both rows are requested before pdlWait (weights are no kernel's output), so under a
// programmatic launch their memory latency overlaps the previous kernel's tail; afterWait() runs right
// after pdlWait (the epilogue's loads of other kernels' outputs).
template <bool kNormedIn, int kKind, class AfterWait>
__device__ __forceinline__ void rowPairDot(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                                           int64_t row0, int lane, NormIn nin, float& acc0, float& acc1,
                                           AfterWait&& afterWait) {
  constexpr int U = Chunk<kKind>::kUnroll, WPC = Chunk<kKind>::kWeights;
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
  XQ xq{};
  if constexpr (kKind != GemvWeight::Bf16) xq = xqLayout(w.xq, k);
  int64_t c = lane;
  uint4 a[U], b[U];
  // int4: each chunk's two group scales are requested together with the chunk, not when it is multiplied
  // (H200, one call: the int4 GEMV chain 1564 -> 1527-1534 us; decode at 1K +0.5% with only gate/up changed).
  constexpr bool kGroups = kKind == GemvWeight::Int4G32 || kKind == GemvWeight::Int4G128;
  __half g0[U], g1[U];
  auto loadScales = [&](int64_t chunk, __half& h0, __half& h1) {
    if constexpr (kGroups) {
      const int64_t g = chunk * 32 / Chunk<kKind>::kGroup;
      h0 = __ldg(s0 + g);
      h1 = __ldg(s1 + g);
    }
  };
  auto load = [&] {  // U chunks per row in flight
#pragma unroll
    for (int u = 0; u < U; ++u) {
      a[u] = loadStreaming(w0 + c + 32 * u);
      b[u] = loadStreaming(w1 + c + 32 * u);
      loadScales(c + 32 * u, g0[u], g1[u]);
    }
  };
  bool full = c + 32 * (U - 1) < chunks;
  if (full) load();
  pdlWait();
  afterWait();
  double ss = 0.0;
  if constexpr (kNormedIn) ss = __ldcg(nin.sums + lane);  // used after the loop
  while (full) {
#pragma unroll
    for (int u = 0; u < U; ++u) pairDot<kKind>(a[u], b[u], x, xq, c + 32 * u, g0[u], g1[u], acc0, acc1);
    c += 32 * U;
    full = c + 32 * (U - 1) < chunks;
    if (full) load();
  }
  for (; c < chunks; c += 32) {
    __half h0 = __half(), h1 = __half();
    loadScales(c, h0, h1);
    pairDot<kKind>(loadStreaming(w0 + c), loadStreaming(w1 + c), x, xq, c, h0, h1, acc0, acc1);
  }
  if constexpr (kLateTrigger<kKind>) pdlTrigger();
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
  if constexpr (!kLateTrigger<kKind>) pdlTrigger();
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const bool two = row0 + 1 < m;
  float b0 = 0.0f, b1 = 0.0f;
  if (lane == 0) loadBias(bias, row0, two, b0, b1);
  float acc0, acc1;
  rowPairDot<kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc0, acc1, [] {});
  if (lane != 0) return;
  out[row0] = acc0 + b0;
  if (two) out[row0 + 1] = acc1 + b1;
}

// kQuantOut: the block is 16 warps, 32 rows, one 32-block of the normed row, which it also writes quantized
// into xqOut (as quantizeXKernel would from the stored row) for the next GEMV; a __syncthreads is all the
// handshake that needs, where a separate quantizeX kernel cost a launch and a grid-wide wait (two per layer).
// Per-warp global counters instead cost more than they saved (docs/QUANTIZATION.md).
constexpr int kQuantOutWarps = 16;
template <int kKind, bool kQuantOut>
__global__ void __launch_bounds__(kQuantOut ? kQuantOutWarps * 32 : GemvTraits::kWarps * 32, 1)
    gemvAddNormKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                      const float* __restrict__ bias, AddNormOut an, void* xqOut) {
  static_assert(!kQuantOut || kQuantOutWarps * GemvTraits::kRowsPerWarp == 32, "a block is one 32-block of rows");
  if constexpr (!kLateTrigger<kKind>) pdlTrigger();
  constexpr int kWarps = kQuantOut ? kQuantOutWarps : GemvTraits::kWarps;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row0 = (int64_t(blockIdx.x) * kWarps + warp) * 2;
  const bool active = row0 < m, two = row0 + 1 < m;
  float n0 = 0.0f, n1 = 0.0f;  // the normed pair (unscaled), 0 past m
  double sq = 0.0;             // and its squares
  if (active) {
    float b0 = 0.0f, b1 = 0.0f, res0 = 0.0f, res1 = 0.0f, nw0 = 0.0f, nw1 = 0.0f;
    if (lane == 0) {
      loadBias(bias, row0, two, b0, b1);
      nw0 = __ldg(an.normW + row0);
      if (two) nw1 = __ldg(an.normW + row0 + 1);
    }
    float acc0, acc1;
    rowPairDot<false, kKind>(w, m, k, x, row0, lane, NormIn{}, acc0, acc1, [&] {
      if (lane != 0) return;  // the residual is an earlier kernel's output
      res0 = an.residual[row0];
      if (two) res1 = an.residual[row0 + 1];
    });
    if (lane == 0) {
      const float r0 = res0 + acc0 + b0, r1 = two ? res1 + acc1 + b1 : 0.0f;
      n0 = r0 * nw0;
      n1 = r1 * nw1;
      an.residual[row0] = r0;
      an.normed[row0] = n0;
      if (two) {
        an.residual[row0 + 1] = r1;
        an.normed[row0 + 1] = n1;
      }
      sq = double(r0) * r0 + double(r1) * r1;
      if constexpr (!kQuantOut) atomicAdd(an.sums + (blockIdx.x % kNormSums), sq);
    }
  }
  if constexpr (kQuantOut) {  // the block's 32 normed values quantized by warp 0, its squares in one atomic
    __shared__ float block[32];
    __shared__ double squares[kQuantOutWarps];
    if (lane == 0) {
      block[2 * warp] = n0;
      block[2 * warp + 1] = n1;
      squares[warp] = sq;
    }
    __syncthreads();
    if (warp != 0) return;
    quantizeBlock32(block[lane], m, blockIdx.x, lane, xqOut);
    double total = lane < kQuantOutWarps ? squares[lane] : 0.0;
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffffu, total, o);
    if (lane == 0) atomicAdd(an.sums + (blockIdx.x % kNormSums), total);
  }
}

// The QKV projection with ropeAppendKv in its epilogue: a row pair (2i, 2i+1) of a head is exactly one
// rotary pair (GLM's interleaved half-rotary), so lane 0 rotates it (the position is read before the
// loop, the angle as ropeAppendKv computes it) and writes K and V to the cache as bf16.
template <bool kNormedIn, int kKind>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvRopeKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
                   const float* __restrict__ bias, float* __restrict__ out, NormIn nin, RopeOut ro) {
  if constexpr (!kLateTrigger<kKind>) pdlTrigger();
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
  rowPairDot<kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc0, acc1, [] {});
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
  pdlStart();
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

// Quantized kinds: x into w.xq first (the GEMV kernels read it from there).
void quantizeX(const GemvWeight& w, int64_t k, const float* x, cudaStream_t stream) {
  if (w.kind == GemvWeight::Bf16 || w.xqReady) return;
  const int64_t blocks = (k + 31) / 32;
  launchKernel(quantizeXKernel, unsigned((blocks + 7) / 8), 256, 0, stream, x, k, w.xq);
}

int64_t gemvInputScratchBytes(int64_t k) { return xqScaleOffset(k) + (k + 31) / 32 * 8; }

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

constexpr unsigned kGemvThreads = GemvTraits::kWarps * 32;

void gemv(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
          cudaStream_t stream) {
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    launchKernel(gemvKernel<false, decltype(kind)::value>, gemvBlocks(m), kGemvThreads, 0, stream, w, m, k, x, bias,
                 out, NormIn{});
  });
}

void gemvBf16(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
              cudaStream_t stream) {
  gemv(GemvWeight{GemvWeight::Bf16, w, nullptr}, m, k, x, bias, out, stream);
}

int normSumSlots() { return kNormSums; }

void gemvAddNorm(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* residual,
                 const float* normW, float* normed, double* sums, void* xqOut, cudaStream_t stream) {
  AddNormOut an;
  an.residual = residual;
  an.normW = normW;
  an.normed = normed;
  an.sums = sums;
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    constexpr int K = decltype(kind)::value;
    if (xqOut)
      launchKernel(gemvAddNormKernel<K, true>, unsigned((m + 31) / 32), kQuantOutWarps * 32, 0, stream, w, m, k, x,
                   bias, an, xqOut);
    else
      launchKernel(gemvAddNormKernel<K, false>, gemvBlocks(m), kGemvThreads, 0, stream, w, m, k, x, bias, an, xqOut);
  });
}

void gemvNormed(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream) {
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    launchKernel(gemvKernel<true, decltype(kind)::value>, gemvBlocks(m), kGemvThreads, 0, stream, w, m, k, x, bias,
                 out, NormIn{sums, n, eps});
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
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    if (sums)
      launchKernel(gemvRopeKernel<true, decltype(kind)::value>, gemvBlocks(m), kGemvThreads, 0, stream, w, m, k, x,
                   bias, out, NormIn{sums, n, eps}, ro);
    else
      launchKernel(gemvRopeKernel<false, decltype(kind)::value>, gemvBlocks(m), kGemvThreads, 0, stream, w, m, k, x,
                   bias, out, NormIn{}, ro);
  });
}

namespace {

// Widens a quantized weight to bf16 for the prefill GEMM, without int->float conversions: a byte b becomes
// the float 2^23 + b under the exponent bits 0x4B (byteAsFloat, one byte permute), then 2^23 + the format's
// offset is subtracted. Each thread takes units of 8 consecutive weights
// of a row (int4: one 4-byte word, int8: 8 bytes) and writes them as one 16-byte store, so a warp reads
// 128 or 256 contiguous bytes and writes 512 (it was one 16-byte chunk of 16 or 32 weights per thread with
// 4-byte stores).
template <int kKind>
__global__ void __launch_bounds__(256) dequantKernel(GemvWeight w, int64_t m, int64_t k, __nv_bfloat16* __restrict__ out) {
  const int64_t unitsPerRow = k / 8, units = m * unitsPerRow;
  for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < units; u += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = u / unitsPerRow, col = (u % unitsPerRow) * 8;
    float v[8];
    if constexpr (kKind == GemvWeight::Int8) {
      const uint2 q = __ldg(reinterpret_cast<const uint2*>(static_cast<const uint8_t*>(w.data) + row * k + col));
      const float scale = __ldg(static_cast<const float*>(w.scales) + row);
      const uint32_t a = q.x ^ 0x80808080u, b = q.y ^ 0x80808080u;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        v[j] = (byteAsFloat(a, j) - (8388608.0f + 128.0f)) * scale;
        v[4 + j] = (byteAsFloat(b, j) - (8388608.0f + 128.0f)) * scale;
      }
    } else {
      const uint32_t q = __ldg(reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(w.data) + (row * k + col) / 2));
      const float scale =
          __half2float(__ldg(static_cast<const __half*>(w.scales) + row * (k / Chunk<kKind>::kGroup) + col / Chunk<kKind>::kGroup));
      const uint32_t lo = q & 0x0F0F0F0Fu, hi = (q >> 4) & 0x0F0F0F0Fu;
#pragma unroll
      for (int j = 0; j < 4; ++j) {  // byte j: columns j (low nibble) and j + 4 (high), as repackInt4 left them
        v[j] = (byteAsFloat(lo, j) - (8388608.0f + 8.0f)) * scale;
        v[j + 4] = (byteAsFloat(hi, j) - (8388608.0f + 8.0f)) * scale;
      }
    }
    *reinterpret_cast<uint4*>(out + row * k + col) =
        make_uint4(packBf16(v[0], v[1]), packBf16(v[2], v[3]), packBf16(v[4], v[5]), packBf16(v[6], v[7]));
  }
}

// Nibble i of a word (bits 4i .. 4i + 3) is column i of its 8 (quant_format.h); after this, byte j holds
// column j in its low nibble and column j + 4 in its high one, so the GEMV masks a word into two dp4a
// operands that line up with x's natural byte order (no byte permutes, no shifts).
__global__ void repackInt4Kernel(uint32_t* words, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t u = words[i];
    uint32_t r = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) r |= (((u >> (4 * j)) & 0xFu) | (((u >> (4 * (j + 4))) & 0xFu) << 4)) << (8 * j);
    words[i] = r;
  }
}

}  // namespace

void repackInt4(void* data, int64_t bytes, cudaStream_t stream) {
  const int64_t n = bytes / 4;
  const unsigned blocks = unsigned(std::min<int64_t>((n + 255) / 256, 132 * 16));
  repackInt4Kernel<<<blocks, 256, 0, stream>>>(static_cast<uint32_t*>(data), n);
}

void dequantizeToBf16(const GemvWeight& w, int64_t m, int64_t k, uint16_t* out, cudaStream_t stream) {
  if (w.kind == GemvWeight::Bf16) return;
  byKind(w, [&](auto kind) {
    if constexpr (decltype(kind)::value != GemvWeight::Bf16) {
      const int64_t units = m * (k / 8);
      const unsigned blocks = unsigned(std::min<int64_t>((units + 255) / 256, 132 * 16));
      dequantKernel<decltype(kind)::value><<<blocks, 256, 0, stream>>>(w, m, k, reinterpret_cast<__nv_bfloat16*>(out));
    }
  });
}

void scaleNormed(float* x, int64_t n, const double* sums, float eps, cudaStream_t stream) {
  launchKernel(scaleNormedKernel, unsigned(std::min<int64_t>(64, (n + 255) / 256)), 256, 0, stream, x, n, sums, eps);
}

}  // namespace glm::cuda
