// The 8-bit KV cache (--kv-cache int8): RoPE + append that quantizes each (position, KV head) vector of K
// and V to int8 with one fp32 scale (backend.h has the rule: s = max|x| / 127, q = rint(x * 127 / max|x|)),
// and the widening of a layer's cache prefix back to bf16 for the prefill attention kernels.
// Layout per layer: q [kvHead][capacity][headDim] int8, s [kvHead][scaleStride] fp32 (scaleStride =
// capacity rounded up to 16, so a 16-key tile's scales are one aligned 64-byte run for cp.async).
#include <algorithm>

#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kMaxRopeThreads = 128;  // head dim <= 256: one thread per pair

// Grid (rows, heads + kvHeads), one thread per adjacent pair as ropeAppendKernel; blocks of K heads also
// quantize that head's K and V (block max) and write them with their scales.
__global__ void __launch_bounds__(kMaxRopeThreads)
    ropeAppendInt8Kernel(float* __restrict__ qkv, int64_t stride, int nh, int nkv, int hd, RopeArgs rope,
                         Position pos, int8_t* __restrict__ kCache, int8_t* __restrict__ vCache,
                         float* __restrict__ kScales, float* __restrict__ vScales, int64_t capacity,
                         int64_t scaleStride) {
  pdlStart();
  __shared__ float red[2][kMaxRopeThreads / 32];
  const int i = threadIdx.x, slot = blockIdx.y;
  const bool active = 2 * i < hd;
  const int64_t p = readPosition(pos) + blockIdx.x;
  const bool isK = slot >= nh;
  float a = 0.0f, b = 0.0f, va = 0.0f, vb = 0.0f;
  if (active) ropeRowPair(qkv + int64_t(blockIdx.x) * stride, slot, nh, nkv, hd, i, p, rope, a, b, va, vb);
  if (!isK) return;  // uniform per block
  float mk = warpMax(fmaxf(fabsf(a), fabsf(b))), mv = warpMax(fmaxf(fabsf(va), fabsf(vb)));
  const int warp = i >> 5, lane = i & 31, warps = (blockDim.x + 31) >> 5;
  if (lane == 0) {
    red[0][warp] = mk;
    red[1][warp] = mv;
  }
  __syncthreads();
  mk = red[0][0];
  mv = red[1][0];
  for (int w = 1; w < warps; ++w) {
    mk = fmaxf(mk, red[0][w]);
    mv = fmaxf(mv, red[1][w]);
  }
  const int kvh = slot - nh;
  const float ik = mk > 0.0f ? 127.0f / mk : 0.0f, iv = mv > 0.0f ? 127.0f / mv : 0.0f;
  if (active) {
    const int64_t off = (int64_t(kvh) * capacity + p) * hd + 2 * i;
    *reinterpret_cast<char2*>(kCache + off) = make_char2(quantizeToInt8(a, ik), quantizeToInt8(b, ik));
    *reinterpret_cast<char2*>(vCache + off) = make_char2(quantizeToInt8(va, iv), quantizeToInt8(vb, iv));
  }
  if (i == 0) {
    kScales[int64_t(kvh) * scaleStride + p] = mk > 0.0f ? mk / 127.0f : 0.0f;
    vScales[int64_t(kvh) * scaleStride + p] = mv > 0.0f ? mv / 127.0f : 0.0f;
  }
}

// Grid (position blocks, kvHeads): each thread widens 8 values (one 8-byte load per K and V).
__global__ void widenKvKernel(const int8_t* __restrict__ k8, const int8_t* __restrict__ v8,
                              const float* __restrict__ ks, const float* __restrict__ vs, int hd, int64_t capacity,
                              int64_t scaleStride, Position pos, int rowsAfter, __nv_bfloat16* __restrict__ kOut,
                              __nv_bfloat16* __restrict__ vOut, int64_t outCapacity) {
  const int kvh = blockIdx.y;
  const int per = hd / 8;  // threads per position
  const int64_t len = readPosition(pos) + rowsAfter;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t p = idx / per;
  if (p >= len) return;
  const int c = int(idx % per) * 8;
  const int64_t src = (int64_t(kvh) * capacity + p) * hd + c, dst = (int64_t(kvh) * outCapacity + p) * hd + c;
  const float sk = ks[int64_t(kvh) * scaleStride + p], sv = vs[int64_t(kvh) * scaleStride + p];
  const int2 qk = *reinterpret_cast<const int2*>(k8 + src), qv = *reinterpret_cast<const int2*>(v8 + src);
  const int8_t* bk = reinterpret_cast<const int8_t*>(&qk);
  const int8_t* bv = reinterpret_cast<const int8_t*>(&qv);
  uint4 ok, ov;
  uint32_t* wk = reinterpret_cast<uint32_t*>(&ok);
  uint32_t* wv = reinterpret_cast<uint32_t*>(&ov);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    wk[j] = packBf16(float(bk[2 * j]) * sk, float(bk[2 * j + 1]) * sk);
    wv[j] = packBf16(float(bv[2 * j]) * sv, float(bv[2 * j + 1]) * sv);
  }
  *reinterpret_cast<uint4*>(kOut + dst) = ok;
  *reinterpret_cast<uint4*>(vOut + dst) = ov;
}

}  // namespace

int64_t kvScaleStride(int64_t capacity) { return (capacity + 15) / 16 * 16; }

void ropeAppendKvInt8(float* qkv, int64_t stride, int rows, int numHeads, int numKvHeads, int headDim,
                      const RopeArgs& rope, Position pos, int8_t* kCache, int8_t* vCache, float* kScales,
                      float* vScales, int64_t capacity, cudaStream_t stream) {
  if (rows <= 0) return;
  const int threads = std::max(32, (headDim / 2 + 31) / 32 * 32);
  launchKernel(ropeAppendInt8Kernel, dim3(unsigned(rows), unsigned(numHeads + numKvHeads)), threads, 0, stream,
      qkv, stride, numHeads, numKvHeads, headDim, rope, pos, kCache, vCache, kScales, vScales, capacity,
      kvScaleStride(capacity));
}

void widenKvInt8(const int8_t* kCache, const int8_t* vCache, const float* kScales, const float* vScales,
                 int numKvHeads, int headDim, int64_t capacity, Position pos, int rowsAfter, int64_t maxLen,
                 uint16_t* kOut, uint16_t* vOut, int64_t outCapacity, cudaStream_t stream) {
  if (maxLen <= 0) return;
  const int64_t threads = maxLen * (headDim / 8);
  widenKvKernel<<<dim3(unsigned((threads + 255) / 256), unsigned(numKvHeads)), 256, 0, stream>>>(
      kCache, vCache, kScales, vScales, headDim, capacity, kvScaleStride(capacity), pos, rowsAfter,
      reinterpret_cast<__nv_bfloat16*>(kOut), reinterpret_cast<__nv_bfloat16*>(vOut), outCapacity);
}

}  // namespace glm::cuda
