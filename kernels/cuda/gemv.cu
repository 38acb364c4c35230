// GEMV for batch-1 decode: out[r] = W[r,:] . x + bias[r], x fp32, W row-major [m x k] in bf16 or quantized
// (int8 rows with fp32 row scales; int4 in groups of 32 or 128 with fp16 scales: engine/src/quant/quant_format.h).
// Bytes: the weight (2, 1 or 0.5 bytes per element + scales, streamed once, bypassing L1) + x per block
// (4·k, or 1.25·k quantized, from L1/L2) + 4·m. FLOPs: 2·m·k, negligible: this kernel is bound by HBM
// bandwidth. Each warp owns kRows rows; every lane loads 16 bytes (8, 16 or 32 weights) per row per
// step, and the unrolled loop keeps kRows x kUnroll independent 16-byte loads in flight per lane.
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

// Chunk c of x as every row's dot product reads it (loaded once, shared by the warp's rows); each kind fills
// its own fields.
struct XPart {
  float4 f0, f1;   // bf16: x's 8 floats
  int4 q0, q1;     // int8: q0 = x's 16 int8 values; int4: q0, q1 = x's 32
  float s = 0.0f;  // quantized: the 32-block's scale
  int off = 0;     // int4: 8 x the block's sum of q (the nibbles are q + 8)
};

template <int kKind>
__device__ __forceinline__ XPart loadX(const float* __restrict__ x, const XQ& xq, int64_t c) {
  XPart p;
  if constexpr (kKind == GemvWeight::Bf16) {
    const float4* xc = reinterpret_cast<const float4*>(x) + c * (Chunk<kKind>::kWeights / 4);
    p.f0 = __ldg(xc);
    p.f1 = __ldg(xc + 1);
  } else if constexpr (kKind == GemvWeight::Int8) {  // columns 16c .. 16c + 15: half of x block c / 2
    p.q0 = __ldg(reinterpret_cast<const int4*>(xq.q) + c);
    p.s = __ldg(xq.s + (c >> 1));
  } else {  // columns 32c .. 32c + 31 = x block c
    const int4* xp = reinterpret_cast<const int4*>(xq.q) + 2 * c;
    p.q0 = __ldg(xp);
    p.q1 = __ldg(xp + 1);
    p.s = __ldg(xq.s + c);
    p.off = 8 * __ldg(xq.sum + c);
  }
  return p;
}

// One row's chunk against x's, added to acc (int4: times the row's group scale g; int8: unscaled, the row
// scale is applied after the loop).
template <int kKind>
__device__ __forceinline__ void rowDot(uint4 w, const XPart& p, __half g, float& acc) {
  if constexpr (kKind == GemvWeight::Bf16) {
    acc += dot8(w, p.f0, p.f1);
  } else if constexpr (kKind == GemvWeight::Int8) {
    int i = __dp4a(int(w.x), p.q0.x, 0);
    i = __dp4a(int(w.y), p.q0.y, i);
    i = __dp4a(int(w.z), p.q0.z, i);
    i = __dp4a(int(w.w), p.q0.w, i);
    acc = fmaf(float(i), p.s, acc);
  } else {  // the repacked nibble order (repackInt4): sum (n - 8) qx = sum n qx - 8 sum qx
    const int X[8] = {p.q0.x, p.q0.y, p.q0.z, p.q0.w, p.q1.x, p.q1.y, p.q1.z, p.q1.w};
    const uint32_t wv[4] = {w.x, w.y, w.z, w.w};
    // Word j holds columns 8j .. 8j + 3 in its low nibbles (against x word 2j) and 8j + 4 .. 8j + 7 in its
    // high nibbles, which are summed as 16 x the nibble (no shift) and divided out exactly at the end.
    int lo = 0, hi = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      lo = dp4aUS(wv[j] & 0x0F0F0F0Fu, X[2 * j], lo);
      hi = dp4aUS(wv[j] & 0xF0F0F0F0u, X[2 * j + 1], hi);
    }
    acc = fmaf(float(lo + (hi >> 4) - p.off), __half2float(g) * p.s, acc);
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

// Rows per warp of the plain GEMV (gate/up under the fused norm; the output layer is int8 under every
// quantized format, so two rows there): four for int4, where a warp's two rows at
// k = 4096 are only 4 KB (two load rounds, then the reduction): four rows keep 128 bytes per lane in flight
// and share x's loads. H200, A/B in one call: gate/up alone 23.2-23.6 -> 21.8-22.8 us; decode at 1K
// 506-509 -> 508-514 tokens/s. Two rows elsewhere: int8 with four rows (and half the chunks in flight)
// made its 40-layer chain 2.04 -> 2.26 ms; four rows in the residual-add GEMVs (8-warp blocks) or the QKV
// GEMV, or twice the chunks in flight in any of them, were level or slower (docs/QUANTIZATION.md).
template <int kKind>
constexpr int kPlainRows = kKind == GemvWeight::Int4G32 || kKind == GemvWeight::Int4G128 ? 4 : 2;

// The warp's kRows rows' dot products, summed over the warp (every lane gets them), scaled by the norm's
// rsqrt(sum / n + eps) when the input is an unscaled normed row. x's share of each chunk is loaded once for
// all the rows. Rows past m repeat the last row (their results are not stored).
// The first U chunks of the rows are requested before pdlWait (weights are no kernel's output), so under a
// programmatic launch their memory latency overlaps the previous kernel's tail; afterWait() runs right
// after pdlWait (the epilogue's loads of other kernels' outputs).
template <int kRows, bool kNormedIn, int kKind, class AfterWait>
__device__ __forceinline__ void rowsDot(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x, int64_t row0,
                                        int lane, NormIn nin, float (&acc)[kRows], AfterWait&& afterWait) {
  constexpr int U = Chunk<kKind>::kUnroll, WPC = Chunk<kKind>::kWeights;
  const int64_t chunks = k / WPC;
  const uint4* base = static_cast<const uint4*>(w.data);
  const uint4* rows[kRows];
  const __half* scales[kRows];
  float rowScale[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t row = row0 + r < m ? row0 + r : m - 1;
    rows[r] = base + row * chunks;
    rowScale[r] = 1.0f;
    scales[r] = nullptr;
    if constexpr (kKind == GemvWeight::Int8)
      rowScale[r] = __ldg(static_cast<const float*>(w.scales) + row);
    else if constexpr (kKind != GemvWeight::Bf16)
      scales[r] = static_cast<const __half*>(w.scales) + row * (k / Chunk<kKind>::kGroup);
    acc[r] = 0.0f;
  }
  XQ xq{};
  if constexpr (kKind != GemvWeight::Bf16) xq = xqLayout(w.xq, k);
  int64_t c = lane;
  uint4 wv[kRows][U];
  // int4: each chunk's group scales are requested together with the chunk, not when it is multiplied
  // (H200, one call: the int4 GEMV chain 1564 -> 1527-1534 us; decode at 1K +0.5% with only gate/up changed).
  constexpr bool kGroups = kKind == GemvWeight::Int4G32 || kKind == GemvWeight::Int4G128;
  __half g[kRows][U];
  auto load = [&] {  // U chunks per row in flight
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        wv[r][u] = loadStreaming(rows[r] + c + 32 * u);
        if constexpr (kGroups) g[r][u] = __ldg(scales[r] + (c + 32 * u) * 32 / Chunk<kKind>::kGroup);
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
    for (int u = 0; u < U; ++u) {
      const XPart xp = loadX<kKind>(x, xq, c + 32 * u);
#pragma unroll
      for (int r = 0; r < kRows; ++r) rowDot<kKind>(wv[r][u], xp, g[r][u], acc[r]);
    }
    c += 32 * U;
    full = c + 32 * (U - 1) < chunks;
    if (full) load();
  }
  for (; c < chunks; c += 32) {
    const XPart xp = loadX<kKind>(x, xq, c);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      __half h = __half();
      if constexpr (kGroups) h = __ldg(scales[r] + c * 32 / Chunk<kKind>::kGroup);
      rowDot<kKind>(loadStreaming(rows[r] + c), xp, h, acc[r]);
    }
  }
  if constexpr (kLateTrigger<kKind>) pdlTrigger();
  float inv = 1.0f;
  if constexpr (kNormedIn) inv = normScale(ss, nin.n, nin.eps);
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = warpSum(acc[r]) * rowScale[r] * inv;
}

// The epilogue's inputs (bias and, per kernel, residual/norm weights or the rotation) are loaded by lane 0
// before the loop, so that the warp's tail does not wait on them (the AddNorm GEMV's residual loads there
// cost ~1.5 us per 4096-row GEMV on an H200). n: the warp's rows below m.
template <int kRows>
__device__ __forceinline__ void loadRows(const float* v, int64_t row0, int n, float (&out)[kRows]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r) out[r] = v && r < n ? __ldg(v + row0 + r) : 0.0f;
}

template <int kRows, bool kNormedIn, int kKind>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvKernel(GemvWeight w, int64_t m, int64_t k, const float* __restrict__ x,
               const float* __restrict__ bias, float* __restrict__ out, NormIn nin) {
  if constexpr (!kLateTrigger<kKind>) pdlTrigger();
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * kRows;
  if (row0 >= m) return;
  const int n = int(m - row0 < kRows ? m - row0 : kRows);
  float b[kRows] = {};
  if (lane == 0) loadRows(bias, row0, n, b);
  float acc[kRows];
  rowsDot<kRows, kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc, [] {});
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < kRows; ++r)
    if (r < n) out[row0 + r] = acc[r] + b[r];
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
  constexpr int kRows = 2;
  static_assert(!kQuantOut || kQuantOutWarps * kRows == 32, "a block is one 32-block of rows");
  if constexpr (!kLateTrigger<kKind>) pdlTrigger();
  constexpr int kWarps = kQuantOut ? kQuantOutWarps : GemvTraits::kWarps;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row0 = (int64_t(blockIdx.x) * kWarps + warp) * kRows;
  const int n = row0 >= m ? 0 : int(m - row0 < kRows ? m - row0 : kRows);
  float normed[kRows] = {};  // the normed rows (unscaled), 0 past m
  double sq = 0.0;           // and their squares
  if (n > 0) {
    float b[kRows] = {}, res[kRows] = {}, nw[kRows] = {};
    if (lane == 0) {
      loadRows(bias, row0, n, b);
      loadRows(an.normW, row0, n, nw);
    }
    float acc[kRows];
    rowsDot<kRows, false, kKind>(w, m, k, x, row0, lane, NormIn{}, acc, [&] {
      if (lane != 0) return;  // the residual is an earlier kernel's output
#pragma unroll
      for (int r = 0; r < kRows; ++r)
        if (r < n) res[r] = an.residual[row0 + r];
    });
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (r >= n) continue;
        const float v = res[r] + acc[r] + b[r];
        normed[r] = v * nw[r];
        an.residual[row0 + r] = v;
        an.normed[row0 + r] = normed[r];
        sq += double(v) * v;
      }
      if constexpr (!kQuantOut) atomicAdd(an.sums + (blockIdx.x % kNormSums), sq);
    }
  }
  if constexpr (kQuantOut) {  // the block's 32 normed values quantized by warp 0, its squares in one atomic
    __shared__ float block[32];
    __shared__ double squares[kWarps];
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < kRows; ++r) block[kRows * warp + r] = normed[r];
      squares[warp] = sq;
    }
    __syncthreads();
    if (warp != 0) return;
    quantizeBlock32(block[lane], m, blockIdx.x, lane, xqOut);
    double total = lane < kWarps ? squares[lane] : 0.0;
#pragma unroll
    for (int o = kWarps / 2; o > 0; o >>= 1) total += __shfl_xor_sync(0xffffffffu, total, o);
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
  float b[2] = {};
  int64_t p = 0;
  if (lane == 0) {
    loadRows(bias, row0, 2, b);
    p = readPosition(ro.pos);  // the angle is computed after the loop: waiting for p here would hold the loads
  }
  float acc[2];
  rowsDot<2, kNormedIn, kKind>(w, m, k, x, row0, lane, nin, acc, [] {});
  if (lane != 0) return;
  float a = acc[0] + b[0], c = acc[1] + b[1];
  if (rotate) ropeRotatePair(a, c, p, ro.rope, pair);
  out[row0] = a;
  out[row0 + 1] = c;
  if (head >= ro.nh) {
    const bool isK = head < ro.nh + ro.nkv;
    const int kvh = isK ? head - ro.nh : head - ro.nh - ro.nkv;
    __nv_bfloat16* cache = isK ? ro.kCache : ro.vCache;
    *reinterpret_cast<__nv_bfloat162*>(cache + (int64_t(kvh) * ro.capacity + p) * ro.hd + d) = __floats2bfloat162_rn(a, c);
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

unsigned gemvBlocks(int64_t m, int rows) {
  const int64_t rowsPerBlock = GemvTraits::kWarps * rows;
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
    constexpr int K = decltype(kind)::value, R = kPlainRows<K>;
    launchKernel(gemvKernel<R, false, K>, gemvBlocks(m, R), kGemvThreads, 0, stream, w, m, k, x, bias, out, NormIn{});
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
      launchKernel(gemvAddNormKernel<K, false>, gemvBlocks(m, 2), kGemvThreads, 0, stream, w, m, k, x, bias, an, xqOut);
  });
}

void gemvNormed(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream) {
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    constexpr int K = decltype(kind)::value, R = kPlainRows<K>;
    launchKernel(gemvKernel<R, true, K>, gemvBlocks(m, R), kGemvThreads, 0, stream, w, m, k, x, bias, out,
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
  quantizeX(w, k, x, stream);
  byKind(w, [&](auto kind) {
    constexpr int K = decltype(kind)::value;
    if (sums)
      launchKernel(gemvRopeKernel<true, K>, gemvBlocks(m, 2), kGemvThreads, 0, stream, w, m, k, x, bias, out,
                   NormIn{sums, n, eps}, ro);
    else
      launchKernel(gemvRopeKernel<false, K>, gemvBlocks(m, 2), kGemvThreads, 0, stream, w, m, k, x, bias, out,
                   NormIn{}, ro);
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

void configureGemv(int carveoutPercent) {
  const auto set = [carveoutPercent](auto kernel) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, carveoutPercent);
  };
  for (int kind : {GemvWeight::Bf16, GemvWeight::Int8, GemvWeight::Int4G32, GemvWeight::Int4G128})
    byKind(GemvWeight{GemvWeight::Kind(kind)}, [&](auto k) {
      constexpr int K = decltype(k)::value, R = kPlainRows<K>;
      set(gemvKernel<R, false, K>);
      set(gemvKernel<R, true, K>);
      set(gemvAddNormKernel<K, true>);
      set(gemvAddNormKernel<K, false>);
      set(gemvRopeKernel<true, K>);
      set(gemvRopeKernel<false, K>);
    });
  set(quantizeXKernel);
  set(scaleNormedKernel);
}

}  // namespace glm::cuda
