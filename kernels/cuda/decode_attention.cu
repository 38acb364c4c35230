// Split-KV decode attention (flash-decoding) for one query row, head dim 128.
// Bytes: the KV cache of the layer, 2·len·kvHeads·128·2 (each byte read once: the up to 16 query
// heads of a KV group are the M=16 rows of one mma tile), plus the partials (blocks·16·130·4 per
// group, written and read once). FLOPs 4·len·heads·128: far below the tensor cores' rate.
//
// Grid: (kvHeads · headGroups, maxSplits / kWarps), two blocks per SM (decodeMaxSplits gives 8 warps
// per SM). Each warp owns one split of the keys and streams
// it through its own kStages-deep (8-bit cache: kStages8) cp.async ring of 16-key K/V tiles; the split length is derived
// on the device from the position (read from device memory under graph replay), so one captured
// graph serves every step. The block's warps merge their splits in shared memory into one partial;
// the combine kernel merges the blocks' partials by their log-sum-exp.
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
  // One tile per warp at short contexts: a split's tiles are a chain of memory round trips (it was 64 keys;
  // H200 decode at 1K: int4 weights +1 to +4% in two runs, bf16 +0.9%).
  static constexpr int kMinSplitKeys = 16;
  static constexpr int kWarpSmemElems = kStages * 2 * kTileElems;
  static constexpr int kSmemBytes = (16 * kHeadDim + kWarps * kWarpSmemElems) * 2;  // 4 KB + 4 x 24 KB
  static constexpr int kMaxSplits = 1024;
  static constexpr int kMergeStride = kHeadDim + 8;      // fp32 row of the merge buffer, padded against bank conflicts
  static_assert(2 * kWarps * 16 + kWarps * 16 * kMergeStride <= kWarps * kWarpSmemElems / 2,
                "the merge buffer (fp32) fits in the rings (bf16 elements)");
  // The 8-bit cache: per warp, kStages8 staging buffers of int8 K and V tiles with their scales, then one
  // fp16 K and V tile widened from them (same smem footprint as the bf16 rings).
  // An int8 tile is half the bytes of a bf16 one: one stage more keeps more bytes in flight per warp (3
  // tiles, 12 KB, against the bf16 kernel's 2 tiles of 16 KB), and the block grows to 102 KB (still two
  // blocks per SM).
  static constexpr int kStages8 = 4;
  static constexpr int kStageBytes8 = 2 * kTileKeys * kHeadDim + 2 * kTileKeys * 4;
  static constexpr int kWidenedOffset8 = (kStages8 * kStageBytes8 + 127) / 128 * 128;
  static constexpr int kWarpSmemElems8 = (kWidenedOffset8 + 2 * kTileElems * 2) / 2;
  static constexpr int kSmemBytes8 = (16 * kHeadDim + kWarps * kWarpSmemElems8) * 2;
  static_assert(kWarpSmemElems8 >= kWarpSmemElems && 2 * (kSmemBytes8 + 1024) <= 227 * 1024,
                "the int8 rings hold the merge buffer and two blocks fit an SM");
  static constexpr int kCombineThreads = 256;
  static constexpr int kCombineSlice = 32;  // dims per combine block
};
using D = DecodeTraits;

__device__ __forceinline__ int64_t splitLength(int64_t len, int maxSplits) {
  int64_t per = (len + maxSplits - 1) / maxSplits;
  per = (per + D::kTileKeys - 1) / D::kTileKeys * D::kTileKeys;
  return per < D::kMinSplitKeys ? D::kMinSplitKeys : per;
}

// Four int8 values (one word) times s as two fp16 pairs, exactly q then one rounding of q * s: the bytes
// offset by 128 become the low mantissa byte of fp16 1024 + (q + 128), minus 1152.
__device__ __forceinline__ void widenInt8x4(uint32_t w, __half2 s, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = w ^ 0x80808080u;
  uint32_t a = __byte_perm(u, 0x64646464u, 0x4140), b = __byte_perm(u, 0x64646464u, 0x4342);
  const __half2 bias = __halves2half2(__ushort_as_half(0x6480), __ushort_as_half(0x6480));  // 1152
  __half2 ha = __hmul2(__hsub2(*reinterpret_cast<__half2*>(&a), bias), s);
  __half2 hb = __hmul2(__hsub2(*reinterpret_cast<__half2*>(&b), bias), s);
  lo = *reinterpret_cast<uint32_t*>(&ha);
  hi = *reinterpret_cast<uint32_t*>(&hb);
}

// kInt8: kCache/vCache are int8 (kScales/vScales their scales); else bf16 and the scales unused.
template <bool kInt8>
__global__ void __launch_bounds__(D::kThreads, 2)
    decodeAttentionKernel(const float* __restrict__ qkv, int nh, int nkv, Position pos,
                          const void* __restrict__ kCacheRaw, const void* __restrict__ vCacheRaw,
                          const float* __restrict__ kScales, const float* __restrict__ vScales, int64_t scaleStride,
                          int64_t capacity, float scaleLog2, float* __restrict__ partials, int maxSplits) {
  pdlTrigger();
  const auto* kCache = static_cast<const __nv_bfloat16*>(kCacheRaw);
  const auto* vCache = static_cast<const __nv_bfloat16*>(vCacheRaw);
  extern __shared__ __align__(128) unsigned char smemRaw[];
  __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smemRaw);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int group = nh / nkv, headGroups = (group + 15) / 16;
  // Grid (groups, split blocks): the blocks that hold keys (the first few split blocks of every group at short
  // contexts) come first in launch order, ahead of those that find none and exit.
  const int gy = blockIdx.x, sb = blockIdx.y, kvh = gy / headGroups, hg = gy % headGroups;
  const int headsHere = min(16, group - hg * 16);
  const int h0 = kvh * group + hg * 16;
  const int64_t len = readPosition(pos) + 1;
  const int64_t splitLen = splitLength(len, maxSplits);
  if (int64_t(sb) * D::kWarps * splitLen >= len) return;  // the combine reads only blocks with keys
  const int split = sb * D::kWarps + warp;
  const int64_t start = int64_t(split) * splitLen, end = min(start + splitLen, len);  // empty: start >= end

  constexpr int kSt = kInt8 ? D::kStages8 : D::kStages;
  constexpr int kWarpElems = kInt8 ? D::kWarpSmemElems8 : D::kWarpSmemElems;
  __nv_bfloat16* ring = sQ + 16 * D::kHeadDim + warp * kWarpElems;
  const __nv_bfloat16* K = kCache + int64_t(kvh) * capacity * D::kHeadDim;
  const __nv_bfloat16* V = vCache + int64_t(kvh) * capacity * D::kHeadDim;
  const int8_t* K8 = static_cast<const int8_t*>(kCacheRaw) + int64_t(kvh) * capacity * D::kHeadDim;
  const int8_t* V8 = static_cast<const int8_t*>(vCacheRaw) + int64_t(kvh) * capacity * D::kHeadDim;
  const float* KS = kScales + int64_t(kvh) * scaleStride;
  const float* VS = vScales + int64_t(kvh) * scaleStride;
  unsigned char* ring8 = reinterpret_cast<unsigned char*>(ring);
  const int numTiles = end > start ? int((end - start + D::kTileKeys - 1) / D::kTileKeys) : 0;
  auto loadTile = [&](int tile) {
    if constexpr (kInt8) {  // [K 16x128][V 16x128] int8, then 16 K scales and 16 V scales
      unsigned char* st = ring8 + (tile % kSt) * D::kStageBytes8;
      const int64_t k0 = start + int64_t(tile) * D::kTileKeys;
#pragma unroll
      for (int i = lane; i < D::kTileKeys * 8; i += 32) {
        const int r = i >> 3, c = i & 7;
        const bool ok = k0 + r < end;
        const int64_t off = (ok ? k0 + r : 0) * D::kHeadDim + c * 16;
        cpAsync16(st + r * D::kHeadDim + c * 16, K8 + off, ok);
        cpAsync16(st + D::kTileKeys * D::kHeadDim + r * D::kHeadDim + c * 16, V8 + off, ok);
      }
      if (lane < 8) {  // 4 scales per lane: lanes 0-3 K, 4-7 V (scaleStride keeps the run aligned)
        const int j = (lane & 3) * 4;
        const bool ok = k0 + j < end;
        cpAsync16(st + 2 * D::kTileKeys * D::kHeadDim + (lane >> 2) * 64 + j * 4, (lane < 4 ? KS : VS) + (ok ? k0 + j : 0), ok);
      }
      return;
    }
    __nv_bfloat16* sK = ring + (tile % kSt) * 2 * D::kTileElems;
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
  auto loadFirstTiles = [&] {
#pragma unroll
    for (int s = 0; s < kSt - 1; ++s) {
      if (s < numTiles) loadTile(s);
      cpAsyncCommit();
    }
  };
  // Under a programmatic launch the first tiles load before pdlWait when they hold only older keys: the
  // newest one (position len - 1) is the previous kernel's output.
  const bool olderKeysOnly = min(end, start + int64_t(kSt - 1) * D::kTileKeys) < len;
  if (olderKeysOnly) loadFirstTiles();
  pdlWait();
  if (!olderKeysOnly) loadFirstTiles();

  // The queries (fp32 -> bf16, pre-scaled by log2(e)/sqrt(d)) while the first K/V tiles are in flight; both of a
  // thread's rows requested at once (they are the previous kernel's output: one memory round trip, not two).
  static_assert(16 * 16 % D::kThreads == 0, "whole rounds of the queries' chunks");
#pragma unroll
  for (int round = 0; round < 16 * 16 / D::kThreads; ++round) {
    const int i = tid + round * D::kThreads, r = i >> 4, c = i & 15;
    uint4 packed = make_uint4(0, 0, 0, 0);
    if (r < headsHere) {
      const float4* src = reinterpret_cast<const float4*>(qkv + (h0 + r) * D::kHeadDim + c * 8);
      const float4 a = src[0], b = src[1];
      if constexpr (kInt8)
        packed = make_uint4(packHalf(a.x * scaleLog2, a.y * scaleLog2), packHalf(a.z * scaleLog2, a.w * scaleLog2),
                            packHalf(b.x * scaleLog2, b.y * scaleLog2), packHalf(b.z * scaleLog2, b.w * scaleLog2));
      else
        packed = make_uint4(packBf16(a.x * scaleLog2, a.y * scaleLog2), packBf16(a.z * scaleLog2, a.w * scaleLog2),
                            packBf16(b.x * scaleLog2, b.y * scaleLog2), packBf16(b.z * scaleLog2, b.w * scaleLog2));
    }
    *reinterpret_cast<uint4*>(sQ + swizzle128(r, c)) = packed;
  }
  __syncthreads();

  uint32_t qa[8][4];
#pragma unroll
  for (int kk = 0; kk < 8; ++kk)
    ldmatrixX4(qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], smemAddress(sQ + swizzle128(lane & 15, kk * 2 + (lane >> 4))));

  float o[16][4];
#pragma unroll
  for (int i = 0; i < 16; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};
  const int t = lane & 3;

  for (int tile = 0; tile < numTiles; ++tile) {
    if (tile + kSt - 1 < numTiles) loadTile(tile + kSt - 1);
    cpAsyncCommit();
    cpAsyncWait<kSt - 1>();
    __syncwarp();
    const __nv_bfloat16* sK = ring + (tile % kSt) * 2 * D::kTileElems;
    const __nv_bfloat16* sV = sK + D::kTileElems;
    const int64_t k0 = start + int64_t(tile) * D::kTileKeys;
    if constexpr (kInt8) {  // widen the staged int8 tile into the warp's fp16 K and V tiles (swizzled as bf16's)
      const unsigned char* st = ring8 + (tile % kSt) * D::kStageBytes8;
      const float* sc = reinterpret_cast<const float*>(st + 2 * D::kTileKeys * D::kHeadDim);
      __nv_bfloat16* wK = reinterpret_cast<__nv_bfloat16*>(ring8 + D::kWidenedOffset8);
      __nv_bfloat16* wV = wK + D::kTileElems;
#pragma unroll
      for (int i = lane; i < 2 * D::kTileKeys * 8; i += 32) {
        const int isV = i >= D::kTileKeys * 8, r = (i >> 3) & 15, c = i & 7;
        const uint4 q = *reinterpret_cast<const uint4*>(st + isV * D::kTileKeys * D::kHeadDim + r * D::kHeadDim + c * 16);
        const __half2 s2 = __float2half2_rn(sc[isV * 16 + r]);
        uint4 o0, o1;
        widenInt8x4(q.x, s2, o0.x, o0.y);
        widenInt8x4(q.y, s2, o0.z, o0.w);
        widenInt8x4(q.z, s2, o1.x, o1.y);
        widenInt8x4(q.w, s2, o1.z, o1.w);
        __nv_bfloat16* dst = isV ? wV : wK;
        *reinterpret_cast<uint4*>(dst + swizzle128(r, 2 * c)) = o0;
        *reinterpret_cast<uint4*>(dst + swizzle128(r, 2 * c + 1)) = o1;
      }
      __syncwarp();
      sK = wK;
      sV = wV;
    }

    float s[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      uint32_t b0, b1, b2, b3;
      const int key = (lane & 7) + ((lane >> 4) << 3);
      ldmatrixX4(b0, b1, b2, b3, smemAddress(sK + swizzle128(key, kk * 2 + ((lane >> 3) & 1))));
      if constexpr (kInt8) {
        mmaF16(s[0], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b0, b1);
        mmaF16(s[1], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b2, b3);
      } else {
        mmaBf16(s[0], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b0, b1);
        mmaBf16(s[1], qa[kk][0], qa[kk][1], qa[kk][2], qa[kk][3], b2, b3);
      }
    }
    if (k0 + D::kTileKeys > end) {
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (k0 + nt * 8 + 2 * t + (e & 1) >= end) s[nt][e] = -INFINITY;
    }
    onlineSoftmaxStep<2>(s, rowMax, rowSum, o);
    uint32_t a0, a1, a2, a3;
    if constexpr (kInt8) {
      a0 = packHalf(s[0][0], s[0][1]), a1 = packHalf(s[0][2], s[0][3]);
      a2 = packHalf(s[1][0], s[1][1]), a3 = packHalf(s[1][2], s[1][3]);
    } else {
      a0 = packBf16(s[0][0], s[0][1]), a1 = packBf16(s[0][2], s[0][3]);
      a2 = packBf16(s[1][0], s[1][1]), a3 = packBf16(s[1][2], s[1][3]);
    }
#pragma unroll
    for (int dp = 0; dp < 8; ++dp) {
      uint32_t b0, b1, b2, b3;
      const int key = (lane & 7) + (((lane >> 3) & 1) << 3);
      ldmatrixX4Trans(b0, b1, b2, b3, smemAddress(sV + swizzle128(key, dp * 2 + (lane >> 4))));
      if constexpr (kInt8) {
        mmaF16(o[2 * dp], a0, a1, a2, a3, b0, b1);
        mmaF16(o[2 * dp + 1], a0, a1, a2, a3, b2, b3);
      } else {
        mmaBf16(o[2 * dp], a0, a1, a2, a3, b0, b1);
        mmaBf16(o[2 * dp + 1], a0, a1, a2, a3, b2, b3);
      }
    }
    __syncwarp();  // this stage is refilled by a later iteration
  }
  cpAsyncWait<0>();

  // The block's warps merge their splits in shared memory (the rings are free now), so one partial per
  // block goes out: a quarter of the partial bytes, and of the combine's reading, of one per warp.
  const int g = lane >> 2;
  float* sML = reinterpret_cast<float*>(ring - warp * kWarpElems);  // [kWarps][16] max, then [kWarps][16] sum
  float* sO = sML + 2 * D::kWarps * 16;                                     // [kWarps][16][kMergeStride]
  __syncthreads();
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = rowSum[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    if (t == 0) {
      sML[warp * 16 + g + r * 8] = rowMax[r];
      sML[(D::kWarps + warp) * 16 + g + r * 8] = l;
    }
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = g + r * 8;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < D::kWarps; ++w) m = fmaxf(m, sML[w * 16 + row]);
    const float f = rowMax[r] == -INFINITY ? 0.0f : exp2f(rowMax[r] - m);  // an empty split weighs nothing
    float* dst = sO + (warp * 16 + row) * D::kMergeStride + 2 * t;
#pragma unroll
    for (int dt = 0; dt < 16; ++dt) *reinterpret_cast<float2*>(dst + dt * 8) = make_float2(o[dt][2 * r] * f, o[dt][2 * r + 1] * f);
  }
  __syncthreads();
  const int64_t pidx = int64_t(gy) * (maxSplits / D::kWarps) + sb;
  float* partO = partials + pidx * 16 * D::kHeadDim;
  float* partML = partials + int64_t(gridDim.x) * (maxSplits / D::kWarps) * 16 * D::kHeadDim + pidx * 16 * 2;
  for (int i = tid; i < 16 * D::kHeadDim / 4; i += D::kThreads) {
    const int row = i / (D::kHeadDim / 4), c = (i % (D::kHeadDim / 4)) * 4;
    if (row >= headsHere) continue;
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int w = 0; w < D::kWarps; ++w) {
      const float4 v = *reinterpret_cast<const float4*>(sO + (w * 16 + row) * D::kMergeStride + c);
      acc.x += v.x;
      acc.y += v.y;
      acc.z += v.z;
      acc.w += v.w;
    }
    *reinterpret_cast<float4*>(partO + row * D::kHeadDim + c) = acc;
  }
  if (tid < headsHere) {
    float m = -INFINITY, l = 0.0f;
#pragma unroll
    for (int w = 0; w < D::kWarps; ++w) m = fmaxf(m, sML[w * 16 + tid]);
#pragma unroll
    for (int w = 0; w < D::kWarps; ++w) {
      const float mw = sML[w * 16 + tid];
      if (mw != -INFINITY) l += sML[(D::kWarps + w) * 16 + tid] * exp2f(mw - m);
    }
    partML[tid * 2] = m;
    partML[tid * 2 + 1] = l;
  }
}

// Grid (query heads, 128 / kCombineSlice dim slices), 256 threads = 32 groups x 8 float4 of the slice.
// Group g merges partials g, g + 32, ... by a running log-sum-exp (its loads do not wait on one another:
// up to 32 partials, as at short contexts, cost one memory round trip), then the 32 groups merge
// in shared memory.
__global__ void __launch_bounds__(D::kCombineThreads)
    decodeCombineKernel(int nh, int nkv, Position pos, const float* __restrict__ partials, int maxSplits,
                        int groupsTotal, float* __restrict__ out, void* xq) {
  pdlTrigger();
  constexpr int kVec = D::kCombineSlice / 4, kGroups = D::kCombineThreads / kVec;
  __shared__ float4 red[kGroups][kVec + 1];
  __shared__ float redM[kGroups], redL[kGroups];
  const int h = blockIdx.x, tid = threadIdx.x;
  const int group = nh / nkv, headGroups = (group + 15) / 16;
  const int kvh = h / group, i = h % group, hg = i / 16, row = i % 16;
  const int gy = kvh * headGroups + hg;
  // The position is a step input (copied before the graph starts): read before pdlWait, its memory round trip
  // overlaps the attention's tail instead of preceding the partials' loads.
  const int64_t len = readPosition(pos) + 1;
  pdlWait();
  const int64_t splitLen = splitLength(len, maxSplits);
  const int usedSplits = int((len + splitLen - 1) / splitLen);
  const int used = (usedSplits + D::kWarps - 1) / D::kWarps;  // blocks with keys: one partial each
  const int maxBlocks = maxSplits / D::kWarps;
  const float* ml = partials + int64_t(groupsTotal) * maxBlocks * 16 * D::kHeadDim;
  const int vec = tid % kVec, sg = tid / kVec;
  const float* o = partials + (int64_t(gy) * maxBlocks * 16 + row) * D::kHeadDim + blockIdx.y * D::kCombineSlice + vec * 4;
  float m = -INFINITY, l = 0.0f;
  float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
  for (int s = sg; s < used; s += kGroups) {
    const int64_t p = (int64_t(gy) * maxBlocks + s) * 16 + row;
    const float ms = ml[p * 2], ls = ml[p * 2 + 1];
    const float4 v = *reinterpret_cast<const float4*>(o + int64_t(s) * 16 * D::kHeadDim);
    const float mNew = fmaxf(m, ms);
    const float a = exp2f(m - mNew), b = exp2f(ms - mNew);  // m = -inf at first: a = 0
    l = l * a + ls * b;
    acc = make_float4(acc.x * a + v.x * b, acc.y * a + v.y * b, acc.z * a + v.z * b, acc.w * a + v.w * b);
    m = mNew;
  }
  red[sg][vec] = acc;
  if (vec == 0) {
    redM[sg] = m;
    redL[sg] = l;
  }
  __syncthreads();
  static_assert(kGroups == 32, "lane g of warp 0 holds group g's factor");
  if (tid < D::kCombineSlice) {
    const int v = tid / 4, e = tid % 4;
    // Lane g: group g's weight, computed once and passed along by shuffles; the groups' terms are added in
    // order, every one unconditionally (a group without partials has zero sums and weight 0): the same sums
    // as a loop that skips such groups, without its serial chain of a branch, two shared loads and an exp2f
    // per group. H200 at 1K, in one call against that loop: int4 530 -> 537, int8 390 -> 393 tokens/s.
    const float mg = redM[tid];
    const float mAll = warpMax(mg);
    const float fg = mg == -INFINITY ? 0.0f : exp2f(mg - mAll);
    float sum = 0.0f, lAll = 0.0f;
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
      const float f = __shfl_sync(0xffffffffu, fg, g);
      sum += reinterpret_cast<const float*>(&red[g][v])[e] * f;
      lAll += redL[g] * f;
    }
    const float result = sum / lAll;
    out[h * D::kHeadDim + blockIdx.y * D::kCombineSlice + tid] = result;
    // The slice is one 32-block of the row: quantized here for the quantized o-projection GEMV.
    static_assert(D::kCombineSlice == 32, "one warp quantizes one 32-block");
    if (xq) quantizeBlock32(result, int64_t(nh) * D::kHeadDim, int64_t(h) * (D::kHeadDim / 32) + blockIdx.y, tid, xq);
  }
}

constexpr int smemBytes(bool int8) { return int8 ? D::kSmemBytes8 : D::kSmemBytes; }

// The split kernel over the cache as stored (kInt8: int8 with scales; else bf16, scales unused), then the
// combine.
template <bool kInt8>
void launchDecode(const float* qkv, int numHeads, int numKvHeads, Position pos, const void* kCache,
                  const void* vCache, const float* kScales, const float* vScales, int64_t capacity, float scale,
                  float* partials, int maxSplits, float* out, cudaStream_t stream, void* xq) {
  const int group = numHeads / numKvHeads, headGroups = (group + 15) / 16;
  const int groupsTotal = numKvHeads * headGroups;
  const dim3 grid(unsigned(groupsTotal), unsigned(maxSplits / D::kWarps));
  launchKernel(decodeAttentionKernel<kInt8>, grid, D::kThreads, smemBytes(kInt8), stream, qkv, numHeads, numKvHeads,
               pos, kCache, vCache, kScales, vScales, kInt8 ? kvScaleStride(capacity) : 0, capacity, scale * kLog2e,
               partials, maxSplits);
  launchKernel(decodeCombineKernel, dim3(unsigned(numHeads), unsigned(D::kHeadDim / D::kCombineSlice)),
               D::kCombineThreads, 0, stream, numHeads, numKvHeads, pos, partials, maxSplits, groupsTotal, out, xq);
}

}  // namespace

void configureDecodeAttention(int carveoutPercent) {
  cudaFuncSetAttribute(decodeCombineKernel, cudaFuncAttributePreferredSharedMemoryCarveout, carveoutPercent);
  for (auto kernel : {decodeAttentionKernel<false>, decodeAttentionKernel<true>}) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         smemBytes(kernel == decodeAttentionKernel<true>));
    cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                         int(cudaSharedmemCarveoutMaxShared));  // two 100 KB blocks per SM
  }
}

int decodeMaxSplits(int sms, int numKvHeads) {
  // 8 warps (2 blocks) per SM, one split each, over the KV heads; a multiple of the block's warps.
  const int per = sms * 2 * D::kWarps / (numKvHeads > 0 ? numKvHeads : 1) / D::kWarps * D::kWarps;
  return per < 16 ? 16 : (per > D::kMaxSplits ? D::kMaxSplits : per);
}

int64_t decodePartialFloats(int numHeads, int numKvHeads, int maxSplits) {
  const int group = numHeads / numKvHeads, headGroups = (group + 15) / 16;
  return int64_t(numKvHeads) * headGroups * (maxSplits / D::kWarps) * 16 * (D::kHeadDim + 2);
}

void decodeAttention(const float* qkv, int numHeads, int numKvHeads, Position pos, const uint16_t* kCache,
                     const uint16_t* vCache, int64_t capacity, float scale, float* partials, int maxSplits,
                     float* out, cudaStream_t stream, void* xq) {
  launchDecode<false>(qkv, numHeads, numKvHeads, pos, kCache, vCache, nullptr, nullptr, capacity, scale, partials,
                      maxSplits, out, stream, xq);
}

void decodeAttentionInt8(const float* qkv, int numHeads, int numKvHeads, Position pos, const int8_t* kCache,
                         const int8_t* vCache, const float* kScales, const float* vScales, int64_t capacity,
                         float scale, float* partials, int maxSplits, float* out, cudaStream_t stream, void* xq) {
  launchDecode<true>(qkv, numHeads, numKvHeads, pos, kCache, vCache, kScales, vScales, capacity, scale, partials,
                     maxSplits, out, stream, xq);
}

}  // namespace glm::cuda
