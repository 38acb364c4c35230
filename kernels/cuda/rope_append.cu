// RoPE fused with the KV-cache append. One block per token row: rotates the rotaryDim/2 adjacent
// pairs (GLM's interleaved half-rotary: pair (2i, 2i+1)) of every Q and K head in place, then writes
// K and V as bf16 into the cache layer [kvHeads][capacity][headDim].
// The angle is float(position) * invFreq[i] in fp32, as the references compute it; cos/sin use the
// accurate cosf/sinf (angles reach 1e5+ radians at long context) times the YaRN attention factor.
// Bytes per row: 4·(heads + 2 kvHeads)·headDim read + as much written + 4·kvHeads·headDim to the cache.
#include "common.cuh"

namespace glm::cuda {
namespace {

__global__ void ropeAppendKernel(float* qkv, int64_t stride, int nh, int nkv, int hd, RopeArgs rope, Position pos,
                                 __nv_bfloat16* kCache, __nv_bfloat16* vCache, int64_t capacity) {
  __shared__ float cs[128], sn[128];
  const int64_t p = readPosition(pos) + blockIdx.x;
  for (int i = threadIdx.x; i < rope.pairs; i += blockDim.x) {
    const float angle = float(p) * rope.invFreq[i];
    cs[i] = cosf(angle) * rope.scaling;
    sn[i] = sinf(angle) * rope.scaling;
  }
  __syncthreads();
  float* row = qkv + int64_t(blockIdx.x) * stride;
  const int half = hd / 2;
  for (int idx = threadIdx.x; idx < nh * rope.pairs; idx += blockDim.x) {
    const int h = idx / rope.pairs, i = idx % rope.pairs;
    float2* q = reinterpret_cast<float2*>(row + h * hd) + i;
    const float2 v = *q;
    *q = make_float2(v.x * cs[i] - v.y * sn[i], v.y * cs[i] + v.x * sn[i]);
  }
  float* k = row + nh * hd;
  const float* v = k + nkv * hd;
  for (int idx = threadIdx.x; idx < nkv * half; idx += blockDim.x) {
    const int h = idx / half, i = idx % half;
    float a = k[h * hd + 2 * i], b = k[h * hd + 2 * i + 1];
    if (i < rope.pairs) {
      const float ra = a * cs[i] - b * sn[i], rb = b * cs[i] + a * sn[i];
      a = ra;
      b = rb;
      k[h * hd + 2 * i] = a;
      k[h * hd + 2 * i + 1] = b;
    }
    const int64_t off = (int64_t(h) * capacity + p) * hd + 2 * i;
    *reinterpret_cast<__nv_bfloat162*>(kCache + off) = __floats2bfloat162_rn(a, b);
    *reinterpret_cast<__nv_bfloat162*>(vCache + off) = __floats2bfloat162_rn(v[h * hd + 2 * i], v[h * hd + 2 * i + 1]);
  }
}

}  // namespace

void ropeAppendKv(float* qkv, int64_t stride, int rows, int numHeads, int numKvHeads, int headDim,
                  const RopeArgs& rope, Position pos, uint16_t* kCache, uint16_t* vCache, int64_t capacity,
                  cudaStream_t stream) {
  if (rows <= 0) return;
  ropeAppendKernel<<<rows, 256, 0, stream>>>(qkv, stride, numHeads, numKvHeads, headDim, rope, pos,
                                             reinterpret_cast<__nv_bfloat16*>(kCache),
                                             reinterpret_cast<__nv_bfloat16*>(vCache), capacity);
}

}  // namespace glm::cuda
