// RoPE fused with the KV-cache append. Rotates the rotaryDim/2 adjacent
// pairs (GLM's interleaved half-rotary: pair (2i, 2i+1)) of every Q and K head in place, then writes
// K and V as bf16 into the cache layer [kvHeads][capacity][headDim].
// The rotation is ropeRotatePair (common.cuh).
// Bytes per row: 4·(heads + 2 kvHeads)·headDim read + as much written + 4·kvHeads·headDim to the cache.
#include <algorithm>

#include "common.cuh"

namespace glm::cuda {
namespace {

// Grid (rows, heads + kvHeads): one block per head of a row, one thread per adjacent pair (2i, 2i+1), so
// a decode row is a single load and store round trip (it was one block looping over every head: ~4 us).
// Each thread computes its own angle; blocks of K heads also write K and V to the cache.
__global__ void ropeAppendKernel(float* __restrict__ qkv, int64_t stride, int nh, int nkv, int hd, RopeArgs rope,
                                 Position pos, __nv_bfloat16* __restrict__ kCache, __nv_bfloat16* __restrict__ vCache,
                                 int64_t capacity) {
  pdlStart();
  const int i = threadIdx.x, slot = blockIdx.y;
  if (2 * i >= hd) return;
  const int64_t p = readPosition(pos) + blockIdx.x;
  float a, b, va, vb;
  ropeRowPair(qkv + int64_t(blockIdx.x) * stride, slot, nh, nkv, hd, i, p, rope, a, b, va, vb);
  if (slot >= nh) {
    const int64_t off = (int64_t(slot - nh) * capacity + p) * hd + 2 * i;
    *reinterpret_cast<__nv_bfloat162*>(kCache + off) = __floats2bfloat162_rn(a, b);
    *reinterpret_cast<__nv_bfloat162*>(vCache + off) = __floats2bfloat162_rn(va, vb);
  }
}

}  // namespace

void ropeAppendKv(float* qkv, int64_t stride, int rows, int numHeads, int numKvHeads, int headDim,
                  const RopeArgs& rope, Position pos, uint16_t* kCache, uint16_t* vCache, int64_t capacity,
                  cudaStream_t stream) {
  if (rows <= 0) return;
  const int threads = std::max(32, (headDim / 2 + 31) / 32 * 32);
  launchKernel(ropeAppendKernel, dim3(unsigned(rows), unsigned(numHeads + numKvHeads)), threads, 0, stream,
      qkv, stride, numHeads, numKvHeads, headDim, rope, pos, reinterpret_cast<__nv_bfloat16*>(kCache),
      reinterpret_cast<__nv_bfloat16*>(vCache), capacity);
}

}  // namespace glm::cuda
