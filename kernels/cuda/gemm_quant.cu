// Prefill GEMM on quantized weights without widening them first: out[i, r] = sum_c x[i, c] W[r, c] (+ bias[r])
// for n rows of x, with W int8 (per-row fp32 scale) or int4 (groups of 32 or 128 columns, fp16 scales) as the
// decode GEMV reads it (quant_format.h, int4 repacked by repackInt4). Each block streams tiles of W and of x
// into shared memory (cp.async, kStages deep); each warp turns its share of the W tile into bf16 fragments of
// mma.sync m16n8k16 in registers and multiplies them with x's fragments (ldmatrix) into fp32 accumulators. So
// the weight is read once per block column at its packed size, never written out widened (the other path,
// dequantizeToBf16 + cuBLAS, writes and reads 2 bytes per weight for every prefill chunk).
//
// The dequantization needs no byte shuffles because the k index of the mma is permuted: within every 16
// columns, the mma's k positions 0..7 take the even columns and 8..15 the odd ones (qgColumn). A lane then
// finds all four columns it needs for one k step (4t .. 4t + 3 of the 16) in one 32-bit word of the row:
//  - int8: the word's bytes 0, 2 are the fragment register of k positions (2t, 2t + 1) and bytes 1, 3 that of
//    (2t + 8, 2t + 9); each byte becomes a float (2^23 + byte, minus 2^23 + 128 after the sign flip), exact,
//    then bf16 (|q| <= 127 is exact in bf16); the row scale is applied to the fp32 sum in the epilogue;
//  - int4 (byte j of a word holds columns j and j + 4 of its 8): the word shifted by 4 (t & 1) holds the four
//    columns in its bytes' low nibbles; (v & 0x000F000F) | 0x43004300 is the bf16 pair 128 + n for columns
//    0 and 2, (v >> 8) likewise for 1 and 3; minus 136 (exact) times the group's scale (as bf16) gives
//    (n - 8) * scale rounded once to bf16, as the widened weight holds it up to the scale's bf16 rounding.
// x is staged once per GEMM in bf16 with that column order (stageQuantGemmInput), so ldmatrix reads it as is.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "common.cuh"

namespace glm::cuda {
namespace {

constexpr int kQgBK = 64;  // columns of a stage: four k steps of 16

// Position q (0..15) of a 16-column block of the staged x holds column qgColumn(q): the even columns, then the
// odd ones.
__host__ __device__ constexpr int qgColumn(int q) { return q < 8 ? 2 * q : 2 * (q - 8) + 1; }

// Bytes of one row of the W tile per stage, and of a row's scales per stage: int4 in groups of 32 has two fp16
// scales per row in a stage, 4-byte aligned in the weight's scales (k % 64 == 0), copied with the tile. int4 in
// groups of 128 keeps the block's whole panel of scales (its rows x its k range's groups) in shared memory, read
// at the start (a row's two bytes per stage cannot be copied asynchronously, and a row of GLM-4's down
// projection has 107 groups: 214 bytes, not 4-aligned); int8 applies its row scales in the epilogue.
template <int kKind>
constexpr int wRowBytes() { return kKind == GemvWeight::Int8 ? kQgBK : kQgBK / 2; }
template <int kKind>
constexpr int scaleRowBytes() { return kKind == GemvWeight::Int4G32 ? 4 : 0; }
constexpr int kMaxPanelBytes = 32 << 10;  // int4-g128: 128 rows x up to 127 groups x 2 bytes

// A block: kWM x kWN x kWK warps, kStages stages deep. Warp (wm, wn, wk) owns weight rows [wm * kMI * 16,
// + kMI * 16) and x rows [wn * kNT * 8, + kNT * 8) of the block's tile (kNT mma tiles of 8), and the k steps s
// of each stage with s % kWK == wk (kWK = 2: two warps share a tile's k steps and add their sums at the end,
// for more warps on a narrow tile).
template <int kKind, int kMI, int kWM, int kWN, int kWK, int kNT, int kStages>
struct QgShape {
  static constexpr int kThreads = 32 * kWM * kWN * kWK;
  static constexpr int BM = kWM * kMI * 16;  // weight rows of a block
  static constexpr int BN = kWN * kNT * 8;   // x rows of a block
  static constexpr int kXStage = BN * kQgBK * 2;
  static constexpr int kWStage = BM * wRowBytes<kKind>();
  static constexpr int kSStage = BM * scaleRowBytes<kKind>();
  static constexpr int kStage = kXStage + kWStage + kSStage;
  static constexpr int kSmem = kStages * kStage;  // int4-g128 adds its panel of scales
  static_assert(kThreads >= BM, "a thread per weight row fetches the scales");
  static_assert(4 % kWK == 0, "the k steps of a stage split evenly");
  static_assert(kWK == 1 || kMI * kNT * 4 * 4 * kThreads / kWK <= kSmem, "the k halves' sums fit the stages' memory");
  static_assert(kNT % 2 == 0 && kStages >= 3, "pairs of x tiles per ldmatrix; scales stored a stage late");
};

// The byte offset of row r's 16-byte chunk c in a stage's W tile: chunks are swizzled so that the eight rows
// a warp's lanes read at one k step (rows 8 apart do not meet) fall into distinct banks.
template <int kKind>
__device__ __forceinline__ int wChunkOffset(int r, int c) {
  if constexpr (kKind == GemvWeight::Int8) return r * 64 + ((c ^ ((r >> 1) & 3)) << 4);  // 4 chunks: one per k step
  else return r * 32 + ((c ^ ((r >> 2) & 1)) << 4);                                     // 2 chunks: two k steps each
}

// The bf16 pair of k positions (2t, 2t+1) [lo] and (2t+8, 2t+9) [hi] of one row at one k step, from the row's
// word of that step.
__device__ __forceinline__ void int8Pairs(uint32_t word, uint32_t& lo, uint32_t& hi) {
  const uint32_t u = word ^ 0x80808080u;
  auto f = [&](int i) { return byteAsFloat(u, i) - (8388608.0f + 128.0f); };
  lo = packBf16(f(0), f(2));
  hi = packBf16(f(1), f(3));
}
__device__ __forceinline__ void int4Pairs(uint32_t word, int shift, __nv_bfloat162 scale, uint32_t& lo,
                                          uint32_t& hi) {
  const uint32_t v = word >> shift;
  const uint32_t a = (v & 0x000F000Fu) | 0x43004300u, b = ((v >> 8) & 0x000F000Fu) | 0x43004300u;
  const __nv_bfloat162 off = __floats2bfloat162_rn(136.0f, 136.0f);
  __nv_bfloat162 ra = __hmul2(__hsub2(*reinterpret_cast<const __nv_bfloat162*>(&a), off), scale);
  __nv_bfloat162 rb = __hmul2(__hsub2(*reinterpret_cast<const __nv_bfloat162*>(&b), off), scale);
  lo = *reinterpret_cast<uint32_t*>(&ra);
  hi = *reinterpret_cast<uint32_t*>(&rb);
}

// Grid: (weight row tiles, x row tiles, k splits). With one split the block writes out (scaled, plus bias);
// with several, split z writes its scaled partial sums to partials + z * n * m ([n][m]) and
// reduceSplitsKernel adds them in order.
template <int kKind, int kMI, int kWM, int kWN, int kWK, int kNT, int kStages>
__global__ void __launch_bounds__(QgShape<kKind, kMI, kWM, kWN, kWK, kNT, kStages>::kThreads, kNT == 4 ? 3 : 2)
    gemmQuantKernel(const uint8_t* __restrict__ wData, const void* __restrict__ wScales, const float* __restrict__ bias,
                    const __nv_bfloat16* __restrict__ x, int n, int m, int k, float* __restrict__ out, int64_t ldo,
                    float* __restrict__ partials, int tilesPerSplit) {
  using S = QgShape<kKind, kMI, kWM, kWN, kWK, kNT, kStages>;
  constexpr bool kInt4 = kKind != GemvWeight::Int8;
  constexpr int kGroup = kKind == GemvWeight::Int4G32 ? 32 : 128;
  constexpr int kWRow = wRowBytes<kKind>();
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int wm = warp % kWM, wn = (warp / kWM) % kWN, wk = warp / (kWM * kWN);
  const int64_t row0 = int64_t(blockIdx.x) * S::BM, tok0 = int64_t(blockIdx.y) * S::BN;
  const int tile0 = int(blockIdx.z) * tilesPerSplit;
  const int tiles = min(k / kQgBK - tile0, tilesPerSplit);
  const int64_t rowBytes = kInt4 ? k / 2 : k;

  auto xStage = [&](int buf) { return reinterpret_cast<__nv_bfloat16*>(smem + buf * S::kStage); };
  auto wStage = [&](int buf) { return smem + buf * S::kStage + S::kXStage; };
  auto sStage = [&](int buf) { return reinterpret_cast<uint32_t*>(smem + buf * S::kStage + S::kXStage + S::kWStage); };
  // int4-g128: the panel of scales, groups [grp0, grp0 + groups) of the block's rows.
  __half* panel = reinterpret_cast<__half*>(smem + S::kSmem);
  const int grp0 = tile0 * kQgBK / kGroup, groups = ((tile0 + tiles) * kQgBK + kGroup - 1) / kGroup - grp0;

  auto load = [&](int kt, int buf) {
    const int64_t col0 = int64_t(tile0 + kt) * kQgBK;
    __nv_bfloat16* xs = xStage(buf);
    // Fixed trip counts (a loop from tid with a runtime bound compiles to a generic loop with remainder
    // handling at every stage: ncu showed the narrow blocks issue-bound at 16 rows).
    constexpr int kXChunks = S::BN * 8, kXPer = (kXChunks + S::kThreads - 1) / S::kThreads;
#pragma unroll
    for (int i = 0; i < kXPer; ++i) {
      const int c = tid + i * S::kThreads;
      if (kXChunks % S::kThreads != 0 && c >= kXChunks) break;
      const int r = c >> 3, ch = c & 7;
      const bool ok = tok0 + r < n;
      const __nv_bfloat16* src = x + (ok ? (tok0 + r) * k + col0 + ch * 8 : 0);
      cpAsync16(xs + r * kQgBK + ((ch ^ (r & 7)) << 3), src, ok);
    }
    unsigned char* ws = wStage(buf);
    constexpr int kChunks = kWRow / 16, kWChunks = S::BM * kChunks, kWPer = (kWChunks + S::kThreads - 1) / S::kThreads;
#pragma unroll
    for (int i = 0; i < kWPer; ++i) {
      const int c = tid + i * S::kThreads;
      if (kWChunks % S::kThreads != 0 && c >= kWChunks) break;
      const int r = c / kChunks, ch = c % kChunks;
      const bool ok = row0 + r < m;
      const uint8_t* src = wData + (ok ? (row0 + r) * rowBytes + col0 / (kInt4 ? 2 : 1) + ch * 16 : 0);
      cpAsync16(ws + wChunkOffset<kKind>(r, ch), src, ok);
    }
    if constexpr (kKind == GemvWeight::Int4G32) {  // row r's two scales of the stage
      if (const int r = tid; r < S::BM) {  // kThreads >= BM
        const bool ok = row0 + r < m;
        const __half* src = static_cast<const __half*>(wScales) + (ok ? (row0 + r) * (k / 32) + col0 / 32 : 0);
        cpAsync4(sStage(buf) + r, src, ok);
      }
    }
  };
  if constexpr (kKind == GemvWeight::Int4G128) {  // read before the first stage is used (the loop's barrier)
    const __half* sc = static_cast<const __half*>(wScales);
    for (int u = tid; u < S::BM * groups; u += S::kThreads) {
      const int r = u / groups, gi = u % groups;
      panel[u] = row0 + r < m ? sc[(row0 + r) * (k / kGroup) + grp0 + gi] : __float2half(0.0f);
    }
  }
  // The bf16 pair (scale, scale) of block row r at k step s of stage kt (int4).
  auto scaleOf = [&](const uint32_t* ss, int kt, int r, int s) -> __nv_bfloat162 {
    float f = 0.0f;
    if constexpr (kKind == GemvWeight::Int4G32) {
      const uint32_t two = ss[r];
      f = __half2float(__ushort_as_half((unsigned short)(s >= 2 ? two >> 16 : two & 0xffffu)));
    } else if constexpr (kKind == GemvWeight::Int4G128) {
      f = __half2float(panel[r * groups + (tile0 + kt) * kQgBK / kGroup - grp0]);
    }
    return __floats2bfloat162_rn(f, f);
  };
  float acc[kMI][kNT][4];
#pragma unroll
  for (int i = 0; i < kMI; ++i)
#pragma unroll
    for (int j = 0; j < kNT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < tiles) {
      load(st, st);
    }
    cpAsyncCommit();
  }

  const int shift = 4 * (t & 1);
  for (int kt = 0; kt < tiles; ++kt) {
    cpAsyncWait<kStages - 2>();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < tiles) {
      load(next, next % kStages);
    }
    cpAsyncCommit();

    const int buf = kt % kStages;
    const __nv_bfloat16* xs = xStage(buf);
    const unsigned char* ws = wStage(buf);
    const uint32_t* ss = sStage(buf);
#pragma unroll 2
    for (int s2 = 0; s2 < 4 / kWK; ++s2) {
      const int s = s2 * kWK + wk;
      uint32_t b[kNT][2];
#pragma unroll
      for (int j = 0; j < kNT / 2; ++j) {  // tiles 2j and 2j + 1 of the warp's x rows
        const int mi = lane >> 3;
        const int r = wn * kNT * 8 + j * 16 + (mi >> 1) * 8 + (lane & 7);
        const int ch = 2 * s + (mi & 1);
        ldmatrixX4(b[2 * j][0], b[2 * j][1], b[2 * j + 1][0], b[2 * j + 1][1],
                   smemAddress(xs + r * kQgBK + ((ch ^ (r & 7)) << 3)));
      }
#pragma unroll
      for (int i = 0; i < kMI; ++i) {
        const int rA = (wm * kMI + i) * 16 + g, rB = rA + 8;
        uint32_t a0, a1, a2, a3;
        if constexpr (kInt4) {
          // k step s: words 2s, 2s + 1 of the row's stage, in chunk s / 2; lane t reads word 2s + t / 2.
          const int inChunk = (2 * (s & 1) + (t >> 1)) * 4;
          const uint32_t wA = *reinterpret_cast<const uint32_t*>(ws + wChunkOffset<kKind>(rA, s >> 1) + inChunk);
          const uint32_t wB = *reinterpret_cast<const uint32_t*>(ws + wChunkOffset<kKind>(rB, s >> 1) + inChunk);
          int4Pairs(wA, shift, scaleOf(ss, kt, rA, s), a0, a2);
          int4Pairs(wB, shift, scaleOf(ss, kt, rB, s), a1, a3);
        } else {  // k step s: word s * 4 + t of the row's stage, in chunk s
          const uint32_t wA = *reinterpret_cast<const uint32_t*>(ws + wChunkOffset<kKind>(rA, s) + 4 * t);
          const uint32_t wB = *reinterpret_cast<const uint32_t*>(ws + wChunkOffset<kKind>(rB, s) + 4 * t);
          int8Pairs(wA, a0, a2);
          int8Pairs(wB, a1, a3);
        }
#pragma unroll
        for (int j = 0; j < kNT; ++j) mmaBf16(acc[i][j], a0, a1, a2, a3, b[j][0], b[j][1]);
      }
    }
  }
  cpAsyncWait<0>();

  if constexpr (kWK == 2) {  // the second k half's sums, added to the first's through shared memory
    __syncthreads();
    float* red = reinterpret_cast<float*>(smem);
    const int slot = warp % (kWM * kWN);
    auto at = [&](int i, int j, int e) { return ((slot * kMI + i) * kNT * 4 + j * 4 + e) * 32 + lane; };
    if (wk == 1) {
#pragma unroll
      for (int i = 0; i < kMI; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) red[at(i, j, e)] = acc[i][j][e];
    }
    __syncthreads();
    if (wk == 1) return;
#pragma unroll
    for (int i = 0; i < kMI; ++i)
#pragma unroll
      for (int j = 0; j < kNT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] += red[at(i, j, e)];
  }

  // acc[i][j]: rows (wm * kMI + i) * 16 + g (+ 8) of the block's weight rows, x rows wn * kNT * 8 + 8 j + 2t (+ 1).
  float* dst = partials ? partials + int64_t(blockIdx.z) * n * m : out;
  const int64_t ld = partials ? m : ldo;
#pragma unroll
  for (int i = 0; i < kMI; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t r = row0 + (wm * kMI + i) * 16 + g + 8 * h;
      if (r >= m) continue;
      float scale = 1.0f;
      if constexpr (!kInt4) scale = __ldg(static_cast<const float*>(wScales) + r);
      const float add = bias && !partials ? __ldg(bias + r) : 0.0f;
#pragma unroll
      for (int j = 0; j < kNT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t tok = tok0 + wn * kNT * 8 + 8 * j + 2 * t + e;
          if (tok < n) dst[tok * ld + r] = acc[i][j][2 * h + e] * scale + add;
        }
    }
  }
}

// out[i * ldo + r] = sum over z of partials[z][i][r] (in order) + bias[r].
__global__ void reduceSplitsKernel(const float* __restrict__ partials, int splits, int64_t n, int64_t m,
                                   const float* __restrict__ bias, float* __restrict__ out, int64_t ldo) {
  for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < n * m; u += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = u / m, r = u % m;
    float v = partials[u];
    for (int z = 1; z < splits; ++z) v += partials[int64_t(z) * n * m + u];
    out[i * ldo + r] = v + (bias ? __ldg(bias + r) : 0.0f);
  }
}

// out[i][16b + q] = bf16(x[i][16b + qgColumn(q)]): one thread per 16 columns.
__global__ void stageQuantGemmInputKernel(const float* __restrict__ x, int64_t xStride, int n, int k,
                                          __nv_bfloat16* __restrict__ out) {
  const int64_t blocks = int64_t(n) * (k / 16);
  for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < blocks; u += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = u / (k / 16), c = (u % (k / 16)) * 16;
    const float* src = x + i * xStride + c;
    float v[16];
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const float4 f = *reinterpret_cast<const float4*>(src + 4 * q);
      v[4 * q] = f.x;
      v[4 * q + 1] = f.y;
      v[4 * q + 2] = f.z;
      v[4 * q + 3] = f.w;
    }
    uint32_t p[8];
#pragma unroll
    for (int q = 0; q < 8; ++q) p[q] = packBf16(v[qgColumn(2 * q)], v[qgColumn(2 * q + 1)]);
    uint4* dst = reinterpret_cast<uint4*>(out + i * k + c);
    dst[0] = make_uint4(p[0], p[1], p[2], p[3]);
    dst[1] = make_uint4(p[4], p[5], p[6], p[7]);
  }
}

int smCount() {
  static const int sms = [] {
    int device = 0, count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 132;
  }();
  return sms;
}

// The block shapes (kMI, kWM, kWN, kWK, kNT, kStages). Few rows of x: a stream of the weight, 128 rows a
// block, 8 warps (4 over the rows, each pair of warps taking alternate k steps) and 6 stages so that enough of
// the weight is in flight; x rows in tiles of 32 (up to 32 rows) or 64. More rows: 128 x 128 tiles, 8 warps of
// 32 x 64.
template <int kKind>
struct QgConfig {
  using Narrow32 = QgShape<kKind, 2, 4, 1, 2, 4, 6>;
  using Narrow64 = QgShape<kKind, 2, 4, 1, 2, 8, 6>;
  using Wide = QgShape<kKind, 2, 4, 2, 1, 8, 4>;
};

// k splits for a grid of `blocks` tiles: enough blocks for about four per SM where the tiles are few, each
// split at least 8 stages long.
int splitsFor(int64_t blocks, int64_t k) {
  const int64_t want = 4 * int64_t(smCount());
  if (blocks >= want / 2) return 1;
  const int64_t byTiles = std::max<int64_t>(1, (k / kQgBK) / 8);
  return int(std::min<int64_t>(std::min<int64_t>((want + blocks - 1) / blocks, byTiles), 16));
}

template <int kKind, int kMI, int kWM, int kWN, int kWK, int kNT, int kStages>
void launchQuantGemm(QgShape<kKind, kMI, kWM, kWN, kWK, kNT, kStages>, const GemvWeight& w, int64_t m, int64_t k,
                     const uint16_t* xStaged, int64_t n, const float* bias, float* out, int64_t ldo, float* partials,
                     cudaStream_t stream) {
  using S = QgShape<kKind, kMI, kWM, kWN, kWK, kNT, kStages>;
  auto kernel = gemmQuantKernel<kKind, kMI, kWM, kWN, kWK, kNT, kStages>;
  constexpr int kPanelMax = kKind == GemvWeight::Int4G128 ? kMaxPanelBytes : 0;
  static const bool configured = [&] {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kSmem + kPanelMax);
    return true;
  }();
  (void)configured;
  const int64_t rowTiles = (m + S::BM - 1) / S::BM, xTiles = (n + S::BN - 1) / S::BN;
  const int splits = partials ? splitsFor(rowTiles * xTiles, k) : 1;
  const int kTiles = int(k / kQgBK), perSplit = (kTiles + splits - 1) / splits;
  const int used = (kTiles + perSplit - 1) / perSplit;  // splits that get stages
  const dim3 grid{unsigned(rowTiles), unsigned(xTiles), unsigned(used)};
  // The panel: the groups a split's columns touch (a split may start and end inside a group).
  const int panel = kPanelMax ? S::BM * ((perSplit * kQgBK + 127) / 128 + 1) * 2 : 0;
  kernel<<<grid, S::kThreads, S::kSmem + panel, stream>>>(static_cast<const uint8_t*>(w.data), w.scales, bias,
                                                  reinterpret_cast<const __nv_bfloat16*>(xStaged), int(n), int(m),
                                                  int(k), out, ldo, used > 1 ? partials : nullptr, perSplit);
  if (used > 1) {
    const int64_t total = n * m;
    const unsigned blocks = unsigned(std::min<int64_t>((total + 255) / 256, int64_t(smCount()) * 8));
    reduceSplitsKernel<<<blocks, 256, 0, stream>>>(partials, used, n, m, bias, out, ldo);
  }
}

// The shape for n rows of x, passed to f.
template <int kKind, class F>
void withShape(int64_t n, F&& f) {
  if (n <= 32) f(typename QgConfig<kKind>::Narrow32{});
  else if (n <= 128) f(typename QgConfig<kKind>::Narrow64{});
  else f(typename QgConfig<kKind>::Wide{});
}

template <int kKind>
int64_t partialFloatsOf(int64_t m, int64_t n, int64_t k) {
  int64_t floats = 0;
  withShape<kKind>(n, [&](auto shape) {
    using S = decltype(shape);
    const int splits = splitsFor(((m + S::BM - 1) / S::BM) * ((n + S::BN - 1) / S::BN), k);
    floats = splits > 1 ? int64_t(splits) * n * m : 0;
  });
  return floats;
}

template <int kKind>
void quantGemmOf(const GemvWeight& w, int64_t m, int64_t k, const uint16_t* xStaged, int64_t n, const float* bias,
                 float* out, int64_t ldo, float* partials, cudaStream_t stream) {
  withShape<kKind>(n, [&](auto shape) {
    launchQuantGemm(shape, w, m, k, xStaged, n, bias, out, ldo, partials, stream);
  });
}

}  // namespace

bool quantGemmSupported(const GemvWeight& w, int64_t k) {
  // int4-g128: the panel of scales of a block with no k split (128 rows x (k / 128 + 1) groups) fits its 32 KB.
  return w.kind != GemvWeight::Bf16 && k % kQgBK == 0 && (reinterpret_cast<uintptr_t>(w.data) & 15) == 0 &&
         (reinterpret_cast<uintptr_t>(w.scales) & 3) == 0 &&
         (w.kind != GemvWeight::Int4G128 || 128 * (k / 128 + 1) * 2 <= kMaxPanelBytes);
}

int64_t quantGemmPartialFloats(const GemvWeight& w, int64_t m, int64_t k, int64_t n) {
  switch (w.kind) {
    case GemvWeight::Int8: return partialFloatsOf<GemvWeight::Int8>(m, n, k);
    case GemvWeight::Int4G32: return partialFloatsOf<GemvWeight::Int4G32>(m, n, k);
    case GemvWeight::Int4G128: return partialFloatsOf<GemvWeight::Int4G128>(m, n, k);
    default: return 0;
  }
}

void stageQuantGemmInput(const float* x, int64_t xStride, int64_t n, int64_t k, uint16_t* out, cudaStream_t stream) {
  const int64_t units = n * (k / 16);
  const unsigned blocks = unsigned(std::min<int64_t>((units + 255) / 256, int64_t(smCount()) * 16));
  stageQuantGemmInputKernel<<<blocks, 256, 0, stream>>>(x, xStride, int(n), int(k),
                                                        reinterpret_cast<__nv_bfloat16*>(out));
}

void quantGemm(const GemvWeight& w, int64_t m, int64_t k, const uint16_t* xStaged, int64_t n, const float* bias,
               float* out, int64_t ldo, float* partials, cudaStream_t stream) {
  switch (w.kind) {
    case GemvWeight::Int8: quantGemmOf<GemvWeight::Int8>(w, m, k, xStaged, n, bias, out, ldo, partials, stream); break;
    case GemvWeight::Int4G32:
      quantGemmOf<GemvWeight::Int4G32>(w, m, k, xStaged, n, bias, out, ldo, partials, stream);
      break;
    case GemvWeight::Int4G128:
      quantGemmOf<GemvWeight::Int4G128>(w, m, k, xStaged, n, bias, out, ldo, partials, stream);
      break;
    default: break;
  }
}

}  // namespace glm::cuda
