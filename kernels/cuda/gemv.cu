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

// What a GEMV does around its dot products (the decode step's fused RMSNorm, see gemvAddNorm/gemvNormed).
enum class GemvMode { Plain, AddNorm, Normed };
struct NormArgs {
  float* residual = nullptr;       // AddNorm: residual += W·x + bias
  const float* normW = nullptr;    // AddNorm: normed = residual ⊙ normW
  float* normed = nullptr;
  double* sums = nullptr;          // kNormSums partial sums of squares of the residual
  int64_t n = 0;                   // Normed: the row width the sums were taken over
  float eps = 0.0f;
};
constexpr int kNormSums = 32;  // the sums' slots: the row pairs' atomics spread over 32 addresses

template <GemvMode kMode>
__global__ void __launch_bounds__(GemvTraits::kWarps * 32)
    gemvKernel(const uint16_t* __restrict__ w, int64_t m, int64_t k, const float* __restrict__ x,
               const float* __restrict__ bias, float* __restrict__ out, NormArgs norm) {
  static_assert(GemvTraits::kRowsPerWarp == 2, "the loop below is written for two rows per warp");
  constexpr int U = GemvTraits::kUnroll;
  const int lane = threadIdx.x & 31;
  const int64_t row0 = (int64_t(blockIdx.x) * GemvTraits::kWarps + (threadIdx.x >> 5)) * 2;
  if (row0 >= m) return;
  const bool two = row0 + 1 < m;
  double ss = 0.0;
  if constexpr (kMode == GemvMode::Normed) ss = __ldcg(norm.sums + lane);  // used after the loop
  // The epilogue's bias, residual and norm weights, loaded now so that the warp's tail does not wait on
  // them (the AddNorm GEMV's residual loads there cost ~1.5 us per 4096-row GEMV on an H200).
  float b0 = 0.0f, b1 = 0.0f, res0 = 0.0f, res1 = 0.0f, nw0 = 0.0f, nw1 = 0.0f;
  if (lane == 0) {
    if (bias) {
      b0 = __ldg(bias + row0);
      if (two) b1 = __ldg(bias + row0 + 1);
    }
    if constexpr (kMode == GemvMode::AddNorm) {
      res0 = norm.residual[row0];
      nw0 = __ldg(norm.normW + row0);
      if (two) {
        res1 = norm.residual[row0 + 1];
        nw1 = __ldg(norm.normW + row0 + 1);
      }
    }
  }
  const int64_t chunks = k / 8;
  const uint4* w0 = reinterpret_cast<const uint4*>(w + row0 * k);
  const uint4* w1 = reinterpret_cast<const uint4*>(w + (row0 + 1 < m ? row0 + 1 : row0) * k);
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float acc0 = 0.0f, acc1 = 0.0f;
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
  if constexpr (kMode == GemvMode::Normed) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float inv = rsqrtf(float(ss / double(norm.n)) + norm.eps);
    acc0 *= inv;
    acc1 *= inv;
  }
  if (lane != 0) return;
  const float v0 = acc0 + b0, v1 = two ? acc1 + b1 : 0.0f;
  if constexpr (kMode == GemvMode::AddNorm) {
    const float r0 = res0 + v0, r1 = two ? res1 + v1 : 0.0f;
    norm.residual[row0] = r0;
    norm.normed[row0] = r0 * nw0;
    if (two) {
      norm.residual[row0 + 1] = r1;
      norm.normed[row0 + 1] = r1 * nw1;
    }
    atomicAdd(norm.sums + (blockIdx.x % kNormSums), double(r0) * r0 + double(r1) * r1);
  } else {
    out[row0] = v0;
    if (two) out[row0 + 1] = v1;
  }
}

// x *= rsqrt(sum(sums) / n + eps): a normed row left unscaled by gemvAddNorm, made whole for a reader
// that is not gemvNormed.
__global__ void scaleNormedKernel(float* x, int64_t n, const double* sums, float eps) {
  __shared__ float inv;
  if (threadIdx.x < 32) {
    double ss = __ldcg(sums + threadIdx.x);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (threadIdx.x == 0) inv = rsqrtf(float(ss / double(n)) + eps);
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
  gemvKernel<GemvMode::Plain><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, NormArgs{});
}

int normSumSlots() { return kNormSums; }

void gemvAddNorm(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* residual,
                 const float* normW, float* normed, double* sums, cudaStream_t stream) {
  NormArgs norm;
  norm.residual = residual;
  norm.normW = normW;
  norm.normed = normed;
  norm.sums = sums;
  gemvKernel<GemvMode::AddNorm><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, nullptr, norm);
}

void gemvNormed(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream) {
  NormArgs norm;
  norm.sums = const_cast<double*>(sums);
  norm.n = n;
  norm.eps = eps;
  gemvKernel<GemvMode::Normed><<<gemvBlocks(m), GemvTraits::kWarps * 32, 0, stream>>>(w, m, k, x, bias, out, norm);
}

void scaleNormed(float* x, int64_t n, const double* sums, float eps, cudaStream_t stream) {
  scaleNormedKernel<<<unsigned(std::min<int64_t>(64, (n + 255) / 256)), 256, 0, stream>>>(x, n, sums, eps);
}

}  // namespace glm::cuda
