// Causal attention for any head dim up to 256 and any GQA ratio: one block per (query row, head),
// keys in tiles of 128 with an online softmax in fp32. Simple and slow (every K row is read once per
// query head): it serves the tiny fixture models and shapes the tensor-core kernels do not cover.
#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kGenericThreads = 128;

__device__ float blockReduce(float v, float* scratch, bool isMax) {
  v = isMax ? warpMax(v) : warpSum(v);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = scratch[0];
  for (int w = 1; w < kGenericThreads / 32; ++w) r = isMax ? fmaxf(r, scratch[w]) : r + scratch[w];
  __syncthreads();
  return r;
}

__global__ void __launch_bounds__(kGenericThreads)
    attentionGenericKernel(const float* qkv, int64_t qkvStride, int nh, int nkv, int hd, Position pos,
                           const __nv_bfloat16* kCache, const __nv_bfloat16* vCache, int64_t capacity, float scale,
                           float* out, int64_t outStride) {
  __shared__ float q[256], p[kGenericThreads], scratch[kGenericThreads / 32];
  const int row = blockIdx.x, h = blockIdx.y, kvh = h / (nh / nkv);
  const int64_t len = readPosition(pos) + row + 1;
  for (int d = threadIdx.x; d < hd; d += kGenericThreads) q[d] = qkv[int64_t(row) * qkvStride + h * hd + d] * scale;
  __syncthreads();
  const __nv_bfloat16* K = kCache + int64_t(kvh) * capacity * hd;
  const __nv_bfloat16* V = vCache + int64_t(kvh) * capacity * hd;
  float m = -INFINITY, l = 0.0f, acc0 = 0.0f, acc1 = 0.0f;
  const int d0 = threadIdx.x, d1 = threadIdx.x + kGenericThreads;
  for (int64_t j0 = 0; j0 < len; j0 += kGenericThreads) {
    const int64_t j = j0 + threadIdx.x;
    float s = -INFINITY;
    if (j < len) {
      s = 0.0f;
      for (int d = 0; d < hd; ++d) s = fmaf(q[d], __bfloat162float(K[j * hd + d]), s);
    }
    const float mNew = fmaxf(m, blockReduce(s, scratch, true));
    const float alpha = expf(m - mNew);  // m = -inf on the first tile: 0
    const float e = j < len ? expf(s - mNew) : 0.0f;
    p[threadIdx.x] = e;
    l = l * alpha + blockReduce(e, scratch, false);  // also orders the p[] writes before the reads
    const int count = int(len - j0 < kGenericThreads ? len - j0 : kGenericThreads);
    acc0 *= alpha;
    acc1 *= alpha;
    for (int jj = 0; jj < count; ++jj) {
      const __nv_bfloat16* vr = V + (j0 + jj) * hd;
      if (d0 < hd) acc0 = fmaf(p[jj], __bfloat162float(vr[d0]), acc0);
      if (d1 < hd) acc1 = fmaf(p[jj], __bfloat162float(vr[d1]), acc1);
    }
    m = mNew;
    __syncthreads();
  }
  float* o = out + int64_t(row) * outStride + h * hd;
  if (d0 < hd) o[d0] = acc0 / l;
  if (d1 < hd) o[d1] = acc1 / l;
}

}  // namespace

void attentionGeneric(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads, int headDim,
                      Position pos, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity, float scale,
                      float* out, int64_t outStride, cudaStream_t stream) {
  if (rows <= 0) return;
  attentionGenericKernel<<<dim3(unsigned(rows), unsigned(numHeads)), kGenericThreads, 0, stream>>>(
      qkv, qkvStride, numHeads, numKvHeads, headDim, pos, reinterpret_cast<const __nv_bfloat16*>(kCache),
      reinterpret_cast<const __nv_bfloat16*>(vCache), capacity, scale, out, outStride);
}

}  // namespace glm::cuda
