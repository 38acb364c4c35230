// bf16 GEMV for batch-1 decode: out[r] = W[r,:] . x + bias[r], W bf16 [m x k] row-major, x fp32.
// Bytes: 2·m·k (the weight, streamed once, bypassing L1) + 4·k per block (x, from L1/L2) + 4·m.
// FLOPs: 2·m·k, negligible: this kernel is bound by HBM bandwidth. Each warp owns kRowsPerWarp rows;
// every lane loads 16 bytes (8 weights) per row per step, and the unrolled loop keeps
// kRowsPerWarp x kUnroll independent 16-byte loads in flight per lane.
#include <algorithm>

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
template <bool kNormedIn>
__device__ __forceinline__ void rowPairDot(const uint16_t* __restrict__ w, int64_t m, int64_t k,
                                           const float* __restrict__ x, int64_t row0, int lane, NormIn nin,
                                           float& acc0, float& acc1) {
  constexpr int U = GemvTraits::kUnroll;
  double ss = 0.0;
  if constexpr (kNormedIn) ss = __ldcg(nin.sums + lane);  // used after the loop
  const int64_t chunks = k / 8;
  const uint4* w0 = reinterpret_cast<const uint4*>(w + row0 * k);
  const uint4* w1 = reinterpret_cast<const uint4*>(w + (row0 + 1 < m ? row0 + 1 : row0) * k);
  const float4* x4 = reinterpret_cast<const float4*>(x);
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
    for (int u = 0; u < U; ++u) {
      const float4 xa = __ldg(x4 + 2 * (c + 32 * u)), xb = __ldg(x4 + 2 * (c + 32 * u) + 1);
      acc0 += dot8(a[u], xa, xb);
      acc1 += dot8(b[u], xa, xb);
    }
  }
  for (; c < chunks; c += 32) {
    const uint4 a = loadStreaming(w0 + c), b = loadStreaming(w1 + c);
    const float4 xa = __ldg(x4 + 2 * c), xb = __ldg(x4 + 2 * c + 1);
    acc0 += dot8(a, xa, xb);
    acc1 += dot8(b, xa, xb);
  }
  acc0 = warpSum(acc0);
  acc1 = warpSum(acc1);
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

template <bool kNormedIn>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvKernel(const uint16_t* __restrict__ w, int64_t m, int64_t k, const float* __restrict__ x,
               const float* __restrict__ bias, float* __restrict__ out, NormIn nin) {
  static_assert(GemvTraits::kRowsPerWarp == 2, "the kernels here are written for two rows per warp");
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const bool two = row0 + 1 < m;
  float b0 = 0.0f, b1 = 0.0f;
  if (lane == 0) loadBias(bias, row0, two, b0, b1);
  float acc0, acc1;
  rowPairDot<kNormedIn>(w, m, k, x, row0, lane, nin, acc0, acc1);
  if (lane != 0) return;
  out[row0] = acc0 + b0;
  if (two) out[row0 + 1] = acc1 + b1;
}

__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvAddNormKernel(const uint16_t* __restrict__ w, int64_t m, int64_t k, const float* __restrict__ x,
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
  rowPairDot<false>(w, m, k, x, row0, lane, NormIn{}, acc0, acc1);
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
template <bool kNormedIn>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvRopeKernel(const uint16_t* __restrict__ w, int64_t m, int64_t k, const float* __restrict__ x,
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
  rowPairDot<kNormedIn>(w, m, k, x, row0, lane, nin, acc0, acc1);
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

void gemvBf16(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
              cudaStream_t stream) {
  gemvKernel<false><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormIn{});
}

int normSumSlots() { return kNormSums; }

void gemvAddNorm(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* residual,
                 const float* normW, float* normed, double* sums, cudaStream_t stream) {
  AddNormOut an;
  an.residual = residual;
  an.normW = normW;
  an.normed = normed;
  an.sums = sums;
  gemvAddNormKernel<<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, an);
}

void gemvNormed(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream) {
  gemvKernel<true><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormIn{sums, n, eps});
}

void gemvRopeAppend(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
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
  if (sums)
    gemvRopeKernel<true><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormIn{sums, n, eps}, ro);
  else
    gemvRopeKernel<false><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormIn{}, ro);
}

void scaleNormed(float* x, int64_t n, const double* sums, float eps, cudaStream_t stream) {
  scaleNormedKernel<<<unsigned(std::min<int64_t>(64, (n + 255) / 256)), 256, 0, stream>>>(x, n, sums, eps);
}

}  // namespace glm::cuda
