// Memory-bound row kernels: embedding gather, RMSNorm (with the fused residual add), residual add,
// SwiGLU, fp32 -> bf16 (the GEMM input), bias add, argmax.
// Bytes: each reads its inputs once and writes its outputs once (RMSNorm reads x twice, the second
// time from L1/L2: a 4096-float row is 16 KB).
#include "common.cuh"

namespace glm::cuda {
namespace {

template <typename T>
__device__ __forceinline__ float loadAsFloat(const T* p, int64_t i);
template <>
__device__ __forceinline__ float loadAsFloat<float>(const float* p, int64_t i) { return p[i]; }
template <>
__device__ __forceinline__ float loadAsFloat<__half>(const __half* p, int64_t i) { return __half2float(p[i]); }
template <>
__device__ __forceinline__ float loadAsFloat<__nv_bfloat16>(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}

template <typename T>
__global__ void embedKernel(const T* table, int64_t cols, const int32_t* ids, float* out, int64_t outStride) {
  const int64_t row = ids[blockIdx.x];
  float* o = out + int64_t(blockIdx.x) * outStride;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] = loadAsFloat(table, row * cols + c);
}

__device__ float blockSum(float v, float* scratch) {
  v = warpSum(v);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  v = lane < warps ? scratch[lane] : 0.0f;
  v = warpSum(v);
  __syncthreads();
  return v;
}

__global__ void rmsNormKernel(const float* x, int64_t xStride, float* residual, int64_t rStride, const float* w,
                              float eps, int cols, float* out, int64_t oStride) {
  __shared__ float scratch[32];
  const float* xr = x + int64_t(blockIdx.x) * xStride;
  float* rr = residual ? residual + int64_t(blockIdx.x) * rStride : nullptr;
  float* orow = out + int64_t(blockIdx.x) * oStride;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float v = xr[c];
    if (rr) {
      v += rr[c];
      rr[c] = v;
    }
    ss += v * v;
  }
  ss = blockSum(ss, scratch);
  const float inv = rsqrtf(ss / float(cols) + eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) orow[c] = (rr ? rr[c] : xr[c]) * inv * w[c];
}

__global__ void addKernel(float* r, int64_t rs, const float* x, int64_t xs, int cols) {
  float* rr = r + int64_t(blockIdx.y) * rs;
  const float* xr = x + int64_t(blockIdx.y) * xs;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) rr[c] += xr[c];
}

__global__ void swiGluKernel(const float* g, int64_t gs, int ffn, float* out, int64_t os) {
  const float* gr = g + int64_t(blockIdx.y) * gs;
  float* orow = out + int64_t(blockIdx.y) * os;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < ffn; c += gridDim.x * blockDim.x) {
    const float a = gr[c], u = gr[ffn + c];
    orow[c] = a / (1.0f + expf(-a)) * u;
  }
}

__global__ void toBf16Kernel(const float* x, int64_t xs, int cols, __nv_bfloat16* out) {
  const float* xr = x + int64_t(blockIdx.y) * xs;
  __nv_bfloat16* orow = out + int64_t(blockIdx.y) * cols;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x)
    orow[c] = __float2bfloat16_rn(xr[c]);
}

__global__ void addBiasKernel(float* out, int64_t os, int cols, const float* bias) {
  float* orow = out + int64_t(blockIdx.y) * os;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) orow[c] += bias[c];
}

// One block: the largest value and its index (lowest index on ties).
__global__ void argmaxKernel(const float* x, int64_t n, int32_t* result) {
  __shared__ float bestV[32];
  __shared__ int64_t bestI[32];
  float v = -INFINITY;
  int64_t idx = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (x[i] > v) {
      v = x[i];
      idx = i;
    }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > v || (ov == v && oi < idx)) {
      v = ov;
      idx = oi;
    }
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) {
    bestV[warp] = v;
    bestI[warp] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x >> 5); ++w)
      if (bestV[w] > v || (bestV[w] == v && bestI[w] < idx)) {
        v = bestV[w];
        idx = bestI[w];
      }
    *result = int32_t(idx);
  }
}

dim3 rowGrid(int rows, int cols, int threads) {
  return dim3(unsigned(std::min((cols + threads - 1) / threads, 64)), unsigned(rows));
}

}  // namespace

void embedRows(const void* table, TableType type, int64_t cols, const int32_t* ids, int n, float* out,
               int64_t outStride, cudaStream_t stream) {
  if (n <= 0) return;
  switch (type) {
    case TableType::F32:
      embedKernel<<<n, 256, 0, stream>>>(static_cast<const float*>(table), cols, ids, out, outStride);
      break;
    case TableType::F16:
      embedKernel<<<n, 256, 0, stream>>>(static_cast<const __half*>(table), cols, ids, out, outStride);
      break;
    case TableType::BF16:
      embedKernel<<<n, 256, 0, stream>>>(static_cast<const __nv_bfloat16*>(table), cols, ids, out, outStride);
      break;
  }
}

void rmsNorm(const float* x, int64_t xStride, float* residual, int64_t residualStride, const float* w, float eps,
             int rows, int cols, float* out, int64_t outStride, cudaStream_t stream) {
  if (rows <= 0) return;
  rmsNormKernel<<<rows, 512, 0, stream>>>(x, xStride, residual, residualStride, w, eps, cols, out, outStride);
}

void addRows(float* residual, int64_t residualStride, const float* x, int64_t xStride, int rows, int cols,
             cudaStream_t stream) {
  if (rows <= 0) return;
  addKernel<<<rowGrid(rows, cols, 256), 256, 0, stream>>>(residual, residualStride, x, xStride, cols);
}

void swiGlu(const float* gateUp, int64_t gateUpStride, int rows, int ffn, float* out, int64_t outStride,
            cudaStream_t stream) {
  if (rows <= 0) return;
  swiGluKernel<<<rowGrid(rows, ffn, 256), 256, 0, stream>>>(gateUp, gateUpStride, ffn, out, outStride);
}

void toBf16(const float* x, int64_t xStride, int rows, int cols, uint16_t* out, cudaStream_t stream) {
  if (rows <= 0) return;
  toBf16Kernel<<<rowGrid(rows, cols, 256), 256, 0, stream>>>(x, xStride, cols, reinterpret_cast<__nv_bfloat16*>(out));
}

void addBias(float* out, int64_t outStride, int rows, int cols, const float* bias, cudaStream_t stream) {
  if (rows <= 0) return;
  addBiasKernel<<<rowGrid(rows, cols, 256), 256, 0, stream>>>(out, outStride, cols, bias);
}

void argmax(const float* x, int64_t n, int32_t* result, cudaStream_t stream) {
  argmaxKernel<<<1, 1024, 0, stream>>>(x, n, result);
}

}  // namespace glm::cuda
