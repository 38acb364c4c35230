// Memory-bound row kernels: embedding gather, RMSNorm (with the fused residual add), residual add,
// SwiGLU, fp32 -> bf16 (the GEMM input), bias add, argmax. The decode step runs each on one row, so
// their time there is latency: they issue all their loads before waiting on any.
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

// Grid (column blocks, rows): one element per thread, so a single decode row is one load round trip.
template <typename T>
__global__ void embedKernel(const T* __restrict__ table, int64_t cols, const int32_t* __restrict__ ids,
                            float* __restrict__ out, int64_t outStride) {
  pdlStart();
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const int64_t row = ids[blockIdx.y];
  out[int64_t(blockIdx.y) * outStride + c] = loadAsFloat(table, row * cols + c);
}

// int8 rows (possibly in mapped host memory: 4 bytes per thread, so a warp reads 128 contiguous bytes)
// times the row's scale.
__global__ void embedInt8Kernel(const int8_t* __restrict__ table, const float* __restrict__ scales, int64_t cols,
                                const int32_t* __restrict__ ids, float* __restrict__ out, int64_t outStride) {
  pdlStart();
  const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
  if (c >= cols) return;
  const int64_t row = ids[blockIdx.y];
  const float s = scales[row];
  float* o = out + int64_t(blockIdx.y) * outStride + c;
  const int8_t* src = table + row * cols + c;
  if (c + 4 <= cols && (cols & 3) == 0) {
    const char4 q = *reinterpret_cast<const char4*>(src);
    o[0] = float(q.x) * s;
    o[1] = float(q.y) * s;
    o[2] = float(q.z) * s;
    o[3] = float(q.w) * s;
  } else {
    for (int64_t j = 0; j < 4 && c + j < cols; ++j) o[j] = float(src[j]) * s;
  }
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
  pdlStart();
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

// The same with the row in registers (kNormVec float4 per thread): every load of x, the residual and w is
// issued before anything is stored, so a row costs one memory round trip, a block reduction and the
// stores (the loop above waits for its loads once per step: ~6.5 us for one 4096-float decode row on an
// H200 under ncu). x and out may be the same row (in-place norm): all loads precede the reduction's
// barrier, all stores follow it.
constexpr int kNormVec = 4;
__global__ void __launch_bounds__(1024)
    rmsNormRegKernel(const float* x, int64_t xStride, float* residual, int64_t rStride, const float* __restrict__ w,
                     float eps, int cols, float* out, int64_t oStride) {
  pdlStart();
  __shared__ float scratch[32];
  const int n4 = cols / 4;
  const float4* xr = reinterpret_cast<const float4*>(x + int64_t(blockIdx.x) * xStride);
  float4* rr = residual ? reinterpret_cast<float4*>(residual + int64_t(blockIdx.x) * rStride) : nullptr;
  float4* orow = reinterpret_cast<float4*>(out + int64_t(blockIdx.x) * oStride);
  const float4* w4 = reinterpret_cast<const float4*>(w);
  float4 v[kNormVec], r[kNormVec], wv[kNormVec];
#pragma unroll
  for (int j = 0; j < kNormVec; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    v[j] = r[j] = wv[j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (i < n4) {
      v[j] = xr[i];
      if (rr) r[j] = rr[i];
      wv[j] = __ldg(w4 + i);
    }
  }
  float ss = 0.0f;
#pragma unroll
  for (int j = 0; j < kNormVec; ++j) {
    v[j] = make_float4(v[j].x + r[j].x, v[j].y + r[j].y, v[j].z + r[j].z, v[j].w + r[j].w);
    ss += v[j].x * v[j].x + v[j].y * v[j].y + v[j].z * v[j].z + v[j].w * v[j].w;
  }
  ss = blockSum(ss, scratch);  // its barriers order every thread's loads before any store below
  const float inv = rsqrtf(ss / float(cols) + eps);
#pragma unroll
  for (int j = 0; j < kNormVec; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < n4) {
      if (rr) rr[i] = v[j];
      orow[i] = make_float4(v[j].x * inv * wv[j].x, v[j].y * inv * wv[j].y, v[j].z * inv * wv[j].z,
                            v[j].w * inv * wv[j].w);
    }
  }
}

__global__ void addKernel(float* r, int64_t rs, const float* x, int64_t xs, int cols) {
  pdlStart();
  float* rr = r + int64_t(blockIdx.y) * rs;
  const float* xr = x + int64_t(blockIdx.y) * xs;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) rr[c] += xr[c];
}

__global__ void swiGluKernel(const float* g, int64_t gs, int ffn, float* out, int64_t os) {
  pdlStart();
  const float* gr = g + int64_t(blockIdx.y) * gs;
  float* orow = out + int64_t(blockIdx.y) * os;
  for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < ffn; c += gridDim.x * blockDim.x) {
    const float a = gr[c], u = gr[ffn + c];
    orow[c] = a / (1.0f + expf(-a)) * u;
  }
}

// One row, one warp per 32 outputs: the SwiGLU row and its quantized copy (quantizeBlock32).
__global__ void swiGluQuantKernel(const float* g, int ffn, float* out, void* xq) {
  pdlStart();
  const int64_t b = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (b * 32 >= ffn) return;
  const int lane = threadIdx.x & 31;
  const int64_t c = b * 32 + lane;
  float v = 0.0f;
  if (c < ffn) {
    const float a = g[c], u = g[ffn + c];
    v = a / (1.0f + expf(-a)) * u;
    out[c] = v;
  }
  quantizeBlock32(v, ffn, b, lane, xq);
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

// The largest value and its index (lowest index on ties) in one launch: kArgmaxBlocks blocks each reduce
// a grid-strided share and leave (value, index) in the scratch; the last block to finish (a ticket
// counter, reset by that block) reduces those and writes the index. One block over the 151,552 logits
// took 36 us on an H200 (ncu); the row is 0.6 MB, a few microseconds at the bus rate.
constexpr int kArgmaxBlocks = 64, kArgmaxThreads = 512;
struct ArgmaxScratch {
  int32_t result;
  unsigned ticket;
  float value[kArgmaxBlocks];
  int32_t index[kArgmaxBlocks];
};

__device__ __forceinline__ void argmaxMerge(float& v, int64_t& idx, float ov, int64_t oi) {
  if (ov > v || (ov == v && oi < idx)) {
    v = ov;
    idx = oi;
  }
}

// (v, idx) of the whole block into thread 0.
__device__ void blockArgmax(float& v, int64_t& idx) {
  __shared__ float bestV[32];
  __shared__ int64_t bestI[32];
  for (int o = 16; o > 0; o >>= 1) argmaxMerge(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) {
    bestV[warp] = v;
    bestI[warp] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < int(blockDim.x >> 5); ++w) argmaxMerge(v, idx, bestV[w], bestI[w]);
}

// StepOut: where argmaxToStep also writes the index (nothing where stepId is null).
struct StepOut {
  int32_t* stepId = nullptr;
  int64_t* stepPos = nullptr;
  int64_t pos = 0;
  int32_t* hostToken = nullptr;
};

__global__ void __launch_bounds__(kArgmaxThreads) argmaxKernel(const float* __restrict__ x, int64_t n,
                                                               ArgmaxScratch* s, StepOut step) {
  __shared__ bool last;
  float v = -INFINITY;
  int64_t idx = n;  // "none yet": loses every tie against a real index
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    if (x[i] > v || (idx == n && x[i] == v)) {  // a NaN is never taken; -inf only while nothing else is
      v = x[i];
      idx = i;
    }
  blockArgmax(v, idx);
  if (threadIdx.x == 0) {
    s->value[blockIdx.x] = v;
    s->index[blockIdx.x] = int32_t(idx);
    __threadfence();
    last = atomicAdd(&s->ticket, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  v = -INFINITY;
  idx = n;
  if (threadIdx.x < gridDim.x) {
    v = __ldcg(&s->value[threadIdx.x]);
    idx = __ldcg(&s->index[threadIdx.x]);
  }
  blockArgmax(v, idx);
  if (threadIdx.x == 0) {
    const int32_t token = int32_t(idx < n ? idx : 0);
    s->result = token;
    s->ticket = 0;
    if (step.stepId) {
      *step.stepId = token;
      *step.stepPos = step.pos;
      *step.hostToken = token;
    }
  }
}

dim3 rowGrid(int rows, int cols, int threads) {
  return dim3(unsigned(std::min((cols + threads - 1) / threads, 64)), unsigned(rows));
}

}  // namespace

void embedRows(const void* table, TableType type, int64_t cols, const int32_t* ids, int n, float* out,
               int64_t outStride, cudaStream_t stream, const float* rowScales) {
  if (n <= 0) return;
  const dim3 grid(unsigned((cols + 255) / 256), unsigned(n));
  switch (type) {
    case TableType::F32:
      launchKernel(embedKernel<float>, grid, 256, 0, stream, static_cast<const float*>(table), cols, ids, out, outStride);
      break;
    case TableType::F16:
      launchKernel(embedKernel<__half>, grid, 256, 0, stream, static_cast<const __half*>(table), cols, ids, out, outStride);
      break;
    case TableType::BF16:
      launchKernel(embedKernel<__nv_bfloat16>, grid, 256, 0, stream, static_cast<const __nv_bfloat16*>(table), cols, ids, out, outStride);
      break;
    case TableType::Int8:
      launchKernel(embedInt8Kernel, dim3(unsigned((cols + 1023) / 1024), unsigned(n)), 256, 0, stream, static_cast<const int8_t*>(table), rowScales, cols, ids, out, outStride);
      break;
  }
}

void rmsNorm(const float* x, int64_t xStride, float* residual, int64_t residualStride, const float* w, float eps,
             int rows, int cols, float* out, int64_t outStride, cudaStream_t stream) {
  if (rows <= 0) return;
  auto aligned = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; };
  const bool vec = cols % 4 == 0 && cols <= 4 * kNormVec * 1024 && aligned(x) && aligned(w) && aligned(out) &&
                   xStride % 4 == 0 && outStride % 4 == 0 && (!residual || (aligned(residual) && residualStride % 4 == 0));
  if (vec) {
    const int threads = ((cols / 4 + kNormVec - 1) / kNormVec + 31) / 32 * 32;
    launchKernel(rmsNormRegKernel, rows, threads, 0, stream, x, xStride, residual, residualStride, w, eps, cols, out, outStride);
    return;
  }
  launchKernel(rmsNormKernel, rows, 512, 0, stream, x, xStride, residual, residualStride, w, eps, cols, out, outStride);
}

void addRows(float* residual, int64_t residualStride, const float* x, int64_t xStride, int rows, int cols,
             cudaStream_t stream) {
  if (rows <= 0) return;
  launchKernel(addKernel, rowGrid(rows, cols, 256), 256, 0, stream, residual, residualStride, x, xStride, cols);
}

void swiGlu(const float* gateUp, int64_t gateUpStride, int rows, int ffn, float* out, int64_t outStride,
            cudaStream_t stream, void* xq) {
  if (rows <= 0) return;
  if (xq && rows == 1) {
    const int blocks = (ffn + 31) / 32;
    launchKernel(swiGluQuantKernel, unsigned((blocks + 7) / 8), 256, 0, stream, gateUp, ffn, out, xq);
    return;
  }
  launchKernel(swiGluKernel, rowGrid(rows, ffn, 256), 256, 0, stream, gateUp, gateUpStride, ffn, out, outStride);
}

void toBf16(const float* x, int64_t xStride, int rows, int cols, uint16_t* out, cudaStream_t stream) {
  if (rows <= 0) return;
  toBf16Kernel<<<rowGrid(rows, cols, 256), 256, 0, stream>>>(x, xStride, cols, reinterpret_cast<__nv_bfloat16*>(out));
}

void addBias(float* out, int64_t outStride, int rows, int cols, const float* bias, cudaStream_t stream) {
  if (rows <= 0) return;
  addBiasKernel<<<rowGrid(rows, cols, 256), 256, 0, stream>>>(out, outStride, cols, bias);
}

int64_t argmaxScratchBytes() { return int64_t(sizeof(ArgmaxScratch)); }

void argmax(const float* x, int64_t n, void* scratch, cudaStream_t stream) {
  argmaxToStep(x, n, scratch, nullptr, nullptr, 0, nullptr, stream);
}

void argmaxToStep(const float* x, int64_t n, void* scratch, int32_t* stepId, int64_t* stepPos, int64_t pos,
                  int32_t* hostToken, cudaStream_t stream) {
  const int64_t perBlock = int64_t(kArgmaxThreads) * 4;  // at least 4 values per thread, at most kArgmaxBlocks
  const int blocks = int(std::min<int64_t>(kArgmaxBlocks, std::max<int64_t>(1, (n + perBlock - 1) / perBlock)));
  argmaxKernel<<<blocks, kArgmaxThreads, 0, stream>>>(x, n, static_cast<ArgmaxScratch*>(scratch),
                                                      StepOut{stepId, stepPos, pos, hostToken});
}

void configureElementwise(int carveoutPercent) {
  cudaFuncSetAttribute(swiGluQuantKernel, cudaFuncAttributePreferredSharedMemoryCarveout, carveoutPercent);
}

}  // namespace glm::cuda
