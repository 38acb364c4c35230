// Split-KV decode attention (flash-decoding) for one query row, head dim 128.
// Bytes: the KV cache of the layer, 2·len·kvHeads·128·2 (each byte read once: the up to 16 query
// heads of a KV group are the M=16 rows of one mma tile), plus the partials (splits·16·130·4 per
// group, written and read once). FLOPs 4·len·heads·128: far below the tensor cores' rate.
//
// Grid: (maxSplits / kWarps, kvHeads · headGroups), two blocks per SM (decodeMaxSplits gives 8 warps
// per SM). Each warp owns one split of the keys and streams
// it through its own kStages-deep cp.async ring of 16-key K/V tiles; the split length is derived
// on the device from the position (read from device memory under graph replay), so one captured
// graph serves every step. The combine kernel merges the splits by their log-sum-exp.
#include "common.cuh"

namespace glm::cuda {
namespace {

struct DecodeTraits {
  static constexpr int kHeadDim = 128;
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kTileKeys = 16;
  static constexpr int kStages = 3;  // 2 tiles in flight per warp, 2 blocks (8 warps) per SM
  static constexpr int kTileElems = kTileKeys * kHeadDim;
  static constexpr int kMinSplitKeys = 64;
  static constexpr int kWarpSmemElems = kStages * 2 * kTileElems;
  static constexpr int kSmemBytes = (16 * kHeadDim + kWarps * kWarpSmemElems) * 2;  // 4 KB + 4 x 24 KB
  static constexpr int kMaxSplits = 1024;  // the combine kernel's limit
  static constexpr int kCombineThreads = 256;
  static constexpr int kCombineSlice = 32;  // dims per combine block
};
using D = DecodeTraits;

__device__ __forceinline__ int64_t splitLength(int64_t len, int maxSplits) {
  int64_t per = (len + maxSplits - 1) / maxSplits;
  per = (per + D::kTileKeys - 1) / D::kTileKeys * D::kTileKeys;
  return per < D::kMinSplitKeys ? D::kMinSplitKeys : per;
}

__global__ void __launch_bounds__(D::kThreads, 2)
    decodeAttentionKernel(const float* __restrict__ qkv, int nh, int nkv, Position pos,
                          const __nv_bfloat16* __restrict__ kCache, const __nv_bfloat16* __restrict__ vCache,
                          int64_t capacity, float scaleLog2, float* __restrict__ partials, int maxSplits) {
  extern __shared__ __align__(128) unsigned char smemRaw[];
  __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smemRaw);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int group = nh / nkv, headGroups = (group + 15) / 16;
  const int gy = blockIdx.y, kvh = gy / headGroups, hg = gy % headGroups;
  const int headsHere = min(16, group - hg * 16);
  const int h0 = kvh * group + hg * 16;
  const int64_t len = readPosition(pos) + 1;
  const int64_t splitLen = splitLength(len, maxSplits);
  const int split = blockIdx.x * D::kWarps + warp;
  const int64_t start = int64_t(split) * splitLen, end = min(start + splitLen, len);

  for (int i = tid; i < 16 * 16; i += D::kThreads) {
    const int r = i >> 4, c = i & 15;
    uint4 packed = make_uint4(0, 0, 0, 0);
    if (r < headsHere) {
      const float4* src = reinterpret_cast<const float4*>(qkv + (h0 + r) * D::kHeadDim + c * 8);
      const float4 a = src[0], b = src[1];
      packed = make_uint4(packBf16(a.x * scaleLog2, a.y * scaleLog2), packBf16(a.z * scaleLog2, a.w * scaleLog2),
                          packBf16(b.x * scaleLog2, b.y * scaleLog2), packBf16(b.z * scaleLog2, b.w * scaleLog2));
    }
    *reinterpret_cast<uint4*>(sQ + swizzle128(r, c)) = packed;
  }
  __syncthreads();

  const int64_t pidx = int64_t(gy) * maxSplits + split;
  float* partO = partials + pidx * 16 * D::kHeadDim;
  float* partML = partials + int64_t(gridDim.y) * maxSplits * 16 * D::kHeadDim + pidx * 16 * 2;
  if (start >= len) return;  // the combine kernel reads only the splits that hold keys

  uint32_t qa[8][4];
#pragma unroll
  for (int kk = 0; kk < 8; ++kk)
    ldmatrixX4(qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], smemAddress(sQ + swizzle128(lane & 15, kk * 2 + (lane >> 4))));

  __nv_bfloat16* ring = sQ + 16 * D::kHeadDim + warp * D::kWarpSmemElems;
  const __nv_bfloat16* K = kCache + int64_t(kvh) * capacity * D::kHeadDim;
  const __nv_bfloat16* V = vCache + int64_t(kvh) * capacity * D::kHeadDim;
  const int numTiles = int((end - start + D::kTileKeys - 1) / D::kTileKeys);
  auto loadTile = [&](int tile) {
    __nv_bfloat16* sK = ring + (tile % D::kStages) * 2 * D::kTileElems;
    __nv_bfloat16* sV = sK + D::kTileElems;
    const int64_t k0 = start + int64_t(tile) * D::kTileKeys;
#pragma unroll
    for (int i = lane; i < D::kTileKeys * 16; i += 32) {
      const int r = i >> 4, c = i & 15;
      const bool ok = k0 + r < end;
      const int64_t off = (ok ? k0 + r : 0) * D::kHeadDim + c * 8;
      cpAsync16(sK + swizzle128(r, c), K + off, ok);
      cpAsync16(sV + swizzle128(r, c), V + off, ok);
    }
  };
#pragma unroll
  for (int s = 0; s < D::kStages - 1; ++s) {
    if (s < numTiles) loadTile(s);
    cpAsyncCommit();
  }

  float o[16][4];
#pragma unroll
  for (int i = 0; i < 16; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};
  const int t = lane & 3;

  for (int tile = 0; tile < numTiles; ++tile) {
    if (tile + D::kStages - 1 < numTiles) loadTile(tile + D::kStages - 1);
    cpAsyncCommit();
    cpAsyncWait<D::kStages - 1>();
    __syncwarp();
    const __nv_bfloat16* sK = ring + (tile % D::kStages) * 2 * D::kTileElems;
    const __nv_bfloat16* sV = sK + D::kTileElems;
    const int64_t k0 = start + int64_t(tile) * D::kTileKeys;

    float s[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      uint32_t b0, b1, b2, b3;
      const int key = (lane & 7) + ((lane >> 4) << 3);
      ldmatrixX4(b0, b1, b2, b3, smemAddress(sK + swizzle128(key, kk * 2 + ((lane >> 3) & 1))));
      mmaBf16(s[0], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b0, b1);
      mmaBf16(s[1], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b2, b3);
    }
    if (k0 + D::kTileKeys > end) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (k0 + nt * 8 + 2 * t + (e & 1) >= end) s[nt][e] = -INFINITY;
    }
    onlineSoftmaxStep<2>(s, rowMax, rowSum, o);
    const uint32_t a0 = packBf16(s[0][0], s[0][1]), a1 = packBf16(s[0][2], s[0][3]);
    const uint32_t a2 = packBf16(s[1][0], s[1][1]), a3 = packBf16(s[1][2], s[1][3]);
#pragma unroll
    for (int dp = 0; dp < 8; ++dp) {
      uint32_t b0, b1, b2, b3;
      const int key = (lane & 7) + (((lane >> 3) & 1) << 3);
      ldmatrixX4Trans(b0, b1, b2, b3, smemAddress(sV + swizzle128(key, dp * 2 + (lane >> 4))));
      mmaBf16(o[2 * dp], a0, a1, a2, a3, b0, b1);
      mmaBf16(o[2 * dp + 1], a0, a1, a2, a3, b2, b3);
    }
    __syncwarp();  // this stage is refilled by a later iteration
  }
  cpAsyncWait<0>();

  const int g = lane >> 2;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = rowSum[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int row = g + r * 8;
    if (row < headsHere) {
      float* dst = partO + row * D::kHeadDim + 2 * t;
#pragma unroll
      for (int dt = 0; dt < 16; ++dt) *reinterpret_cast<float2*>(dst + dt * 8) = make_float2(o[dt][2 * r], o[dt][2 * r + 1]);
      if (t == 0) {
        partML[row * 2] = rowMax[r];
        partML[row * 2 + 1] = l;
      }
    }
  }
}

// Grid (query heads, 128 / kCombineSlice dim slices), 256 threads. The split weights exp2(m_s - M) go
// to shared memory once; then each thread sums one float4 of the slice over every 32nd split
// (independent, coalesced loads), and the 32 split groups are added in shared memory.
__global__ void __launch_bounds__(D::kCombineThreads)
    decodeCombineKernel(int nh, int nkv, Position pos, const float* __restrict__ partials, int maxSplits,
                        int groupsTotal, float* __restrict__ out) {
  constexpr int kWarpsC = D::kCombineThreads / 32, kVec = D::kCombineSlice / 4, kGroups = D::kCombineThreads / kVec;
  __shared__ float weight[D::kMaxSplits], scratch[kWarpsC];
  __shared__ float4 red[kGroups][kVec + 1];
  const int h = blockIdx.x, tid = threadIdx.x, lane = tid & 31, wid = tid >> 5;
  const int group = nh / nkv, headGroups = (group + 15) / 16;
  const int kvh = h / group, i = h % group, hg = i / 16, row = i % 16;
  const int gy = kvh * headGroups + hg;
  const int64_t len = readPosition(pos) + 1;
  const int64_t splitLen = splitLength(len, maxSplits);
  const int used = int((len + splitLen - 1) / splitLen);
  const float* ml = partials + int64_t(groupsTotal) * maxSplits * 16 * D::kHeadDim;
  float m = -INFINITY;
  for (int s = tid; s < used; s += D::kCombineThreads) m = fmaxf(m, ml[((int64_t(gy) * maxSplits + s) * 16 + row) * 2]);
  m = warpMax(m);
  if (lane == 0) scratch[wid] = m;
  __syncthreads();
  m = scratch[0];
#pragma unroll
  for (int w = 1; w < kWarpsC; ++w) m = fmaxf(m, scratch[w]);
  __syncthreads();
  float l = 0.0f;
  for (int s = tid; s < used; s += D::kCombineThreads) {
    const int64_t p = (int64_t(gy) * maxSplits + s) * 16 + row;
    const float w = exp2f(ml[p * 2] - m);
    weight[s] = w;
    l += ml[p * 2 + 1] * w;
  }
  l = warpSum(l);
  if (lane == 0) scratch[wid] = l;
  __syncthreads();
  l = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarpsC; ++w) l += scratch[w];
  const int vec = tid % kVec, sg = tid / kVec;
  const float* o = partials + (int64_t(gy) * maxSplits * 16 + row) * D::kHeadDim + blockIdx.y * D::kCombineSlice + vec * 4;
  float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
  for (int s = sg; s < used; s += kGroups) {
    const float4 v = *reinterpret_cast<const float4*>(o + int64_t(s) * 16 * D::kHeadDim);
    const float w = weight[s];
    acc.x = fmaf(v.x, w, acc.x);
    acc.y = fmaf(v.y, w, acc.y);
    acc.z = fmaf(v.z, w, acc.z);
    acc.w = fmaf(v.w, w, acc.w);
  }
  red[sg][vec] = acc;
  __syncthreads();
  if (tid < D::kCombineSlice) {
    const int v = tid / 4, e = tid % 4;
    float sum = 0.0f;
    for (int g = 0; g < kGroups; ++g) sum += reinterpret_cast<const float*>(&red[g][v])[e];
    out[h * D::kHeadDim + blockIdx.y * D::kCombineSlice + tid] = sum / l;
  }
}

}  // namespace

void configureDecodeAttention() {
  cudaFuncSetAttribute(decodeAttentionKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, D::kSmemBytes);
  cudaFuncSetAttribute(decodeAttentionKernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                       int(cudaSharedmemCarveoutMaxShared));  // two 100 KB blocks per SM
}

int decodeMaxSplits(int sms, int numKvHeads) {
  // 8 warps (2 blocks) per SM, one split each, over the KV heads; a multiple of the block's warps.
  const int per = sms * 2 * D::kWarps / (numKvHeads > 0 ? numKvHeads : 1) / D::kWarps * D::kWarps;
  return per < 16 ? 16 : (per > D::kMaxSplits ? D::kMaxSplits : per);
}

int64_t decodePartialFloats(int numHeads, int numKvHeads, int maxSplits) {
  const int group = numHeads / numKvHeads, headGroups = (group + 15) / 16;
  return int64_t(numKvHeads) * headGroups * maxSplits * 16 * (D::kHeadDim + 2);
}

void decodeAttention(const float* qkv, int numHeads, int numKvHeads, Position pos, const uint16_t* kCache,
                     const uint16_t* vCache, int64_t capacity, float scale, float* partials, int maxSplits,
                     float* out, cudaStream_t stream) {
  const int group = numHeads / numKvHeads, headGroups = (group + 15) / 16;
  const int groupsTotal = numKvHeads * headGroups;
  const dim3 grid(unsigned(maxSplits / D::kWarps), unsigned(groupsTotal));
  decodeAttentionKernel<<<grid, D::kThreads, D::kSmemBytes, stream>>>(
      qkv, numHeads, numKvHeads, pos, reinterpret_cast<const __nv_bfloat16*>(kCache),
      reinterpret_cast<const __nv_bfloat16*>(vCache), capacity, scale * kLog2e, partials, maxSplits);
  decodeCombineKernel<<<dim3(unsigned(numHeads), unsigned(D::kHeadDim / D::kCombineSlice)), D::kCombineThreads, 0,
                        stream>>>(numHeads, numKvHeads, pos, partials, maxSplits, groupsTotal, out);
}

}  // namespace glm::cuda
