// Causal flash attention for prefill on Hopper (sm_90a): the same contract as flash_attention_prefill.cu
// (head dim 128, GQA, bf16 KV cache, fp32 Q and O, scores and softmax in fp32) on warpgroup MMA.
//
// One CTA = 128 query rows of one head = two warpgroups of 64 rows. Per key tile of kBN = 128 keys:
//   S = Q K^T   wgmma m64 n128 k16, Q and K from shared memory (both K-major: head dim contiguous);
//   online softmax on S in registers (log2 domain, Q pre-scaled by softmax_scale·log2 e);
//   O += P V    wgmma m64 n128 k16, P from registers (the accumulator layout of S is the A-operand
//               layout), V from shared memory as stored ([key][dim], read transposed: MN-major).
// Tiles are [2 halves of 64 dims][rows][64] bf16 with the 128-byte swizzle (16-byte chunk c of row r at
// c ^ (r & 7)) that the wgmma descriptors name and the bulk tensor copies (TMA) produce, in 1024-byte
// aligned atoms. K/V tiles stream through a three-stage ring of TMA copies completing on mbarriers.
// Within a warpgroup the MMAs of tile j (S_j, and P_{j-1} V_{j-1}) overlap the softmax of tile j; between
// the two warpgroups no CTA-wide barrier runs in the loop and they take turns to issue MMAs (ping-pong),
// so one's MMAs overlap the other's softmax. Only tiles that cross the diagonal or the end are masked.
// Grid as the FA2 kernel: heads fastest (the 16 heads of a KV head read its tiles from L2), the
// heaviest query tiles first. 186 registers, 225 KB of shared memory: one CTA (8 warps) per SM.
//
// Built for sm_90a only (kernels/CMakeLists.txt); flashAttentionHopperUsable() says whether the
// running device has this code.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <cstdlib>
#include <string_view>

#include "common.cuh"

namespace glm::cuda {
namespace {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GLM_HOPPER_WGMMA 1
#endif

constexpr int kHd = 128;
constexpr int kBM = 128;       // query rows per CTA (2 warpgroups)
constexpr int kThreads = 256;  // 2 warpgroups

constexpr int kBN = 128;        // keys per tile (the score MMA is m64n128k16)

struct HopperTile {
  static constexpr int kStages = 3;
  static constexpr int kQBytes = kBM * kHd * 2;
  static constexpr int kKvBytes = kBN * kHd * 2;                                // one K or V tile
  static constexpr int kSmemBytes = kQBytes + kStages * 2 * kKvBytes + 1024;  // +1024 to align
};

// Element offset of 16-byte chunk `chunk` (0..15 over the 128 dims) of row r in a [2][rows][64] tile.
__device__ __forceinline__ int hopperSwizzle(int rows, int r, int chunk) {
  return (chunk >> 3) * rows * 64 + r * 64 + (((chunk & 7) ^ (r & 7)) << 3);
}

// wgmma shared-memory matrix descriptor, 128-byte swizzle. Offsets in bytes.
__device__ __forceinline__ uint64_t gmmaDesc(uint32_t addr, uint32_t leadingBytes, uint32_t strideBytes) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((leadingBytes >> 4) & 0x3FFF) << 16) |
         (uint64_t((strideBytes >> 4) & 0x3FFF) << 32) | (uint64_t(1) << 62);
}

#ifdef GLM_HOPPER_WGMMA
__device__ __forceinline__ void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Keeps the compiler from moving reads or writes of accumulator registers across the asynchronous MMA.
template <int N>
__device__ __forceinline__ void fenceRegisters(float* r) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void fenceRegisters(uint32_t* r) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
__device__ __forceinline__ void fenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// mbarrier + bulk tensor copy (TMA): one thread announces the bytes and issues the copies; every
// thread waits on the barrier's phase.
__device__ __forceinline__ void mbarInit(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarWait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void tmaLoad3d(uint32_t dst, const CUtensorMap* map, uint32_t bar, int c0, int c1, int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];\n" ::
          "r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(bar), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}

// The 64 fp32 accumulators of an m64n128 warpgroup MMA: operands %0..%63 of the asm statements below.
#define GLM_WGMMA_ACC_REGS \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define GLM_WGMMA_ACC_OPERANDS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
  "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
  "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
  "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
  "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])

// D (64x128 fp32) = A (smem, K-major) * B (smem, K-major) [+ D]
__device__ __forceinline__ void wgmmaSS128(float* d, uint64_t a, uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {" GLM_WGMMA_ACC_REGS "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : GLM_WGMMA_ACC_OPERANDS(d)
      : "l"(a), "l"(b), "r"(accumulate));
}

// D (64x128 fp32) += A (registers, 4 x bf16x2 per thread) * B (smem, MN-major: transposed)
__device__ __forceinline__ void wgmmaRS128(float* d, const uint32_t* a, uint64_t b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {" GLM_WGMMA_ACC_REGS
      "}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : GLM_WGMMA_ACC_OPERANDS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

__device__ __forceinline__ void mbarArrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
#endif

// Stages: "full" mbarriers (the TMA bytes of tile j landed) and "empty" ones (all 256 threads are done
// with the tile: their MMAs on it completed). Thread 0 fetches tile j + 1 during its iteration j once
// both warpgroups have released tile j - 2, whose stage it reuses; the warpgroups may drift apart by
// about one tile.
__global__ void __launch_bounds__(kThreads, 1)
    flashAttentionHopperKernel(const float* __restrict__ qkv, int64_t qkvStride, int rows, int nh, int nkv,
                               int64_t pos0, float scaleLog2, float* __restrict__ out, int64_t outStride,
                               const __grid_constant__ CUtensorMap kMap, const __grid_constant__ CUtensorMap vMap) {
#ifdef GLM_HOPPER_WGMMA
  using L = HopperTile;
  extern __shared__ unsigned char smemRaw[];
  unsigned char* smem = smemRaw + ((1024u - (smemAddress(smemRaw) & 1023u)) & 1023u);
  __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smem);
  __nv_bfloat16* sKV = reinterpret_cast<__nv_bfloat16*>(smem + L::kQBytes);  // [stage][K | V]
  constexpr int kTileElems = kBN * kHd;
  __shared__ uint64_t fullBar[3], emptyBar[3];

  const int h = blockIdx.x;
  const int m0 = (gridDim.y - 1 - blockIdx.y) * kBM;  // heaviest (latest) query tiles first
  const int kvh = h / (nh / nkv);
  const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31;
  const int64_t kvLen = pos0 + rows;
  const int64_t kvEnd = (pos0 + m0 + kBM < kvLen ? pos0 + m0 + kBM : kvLen);
  const int numTiles = int((kvEnd + kBN - 1) / kBN);
  auto stageOf = [&](int j) { return sKV + (j % 3) * 2 * kTileElems; };
  auto issueTile = [&](int j) {  // thread 0 only
    const uint32_t bar = smemAddress(&fullBar[j % 3]);
    mbarExpectTx(bar, 2 * kTileElems * 2);
    const uint32_t d = smemAddress(stageOf(j));
    const int key0 = j * kBN;
    tmaLoad3d(d, &kMap, bar, 0, key0, kvh);
    tmaLoad3d(d + kBN * 128, &kMap, bar, 64, key0, kvh);
    tmaLoad3d(d + kTileElems * 2, &vMap, bar, 0, key0, kvh);
    tmaLoad3d(d + kTileElems * 2 + kBN * 128, &vMap, bar, 64, key0, kvh);
  };

  if (tid == 0) {
    for (int i = 0; i < 3; ++i) {
      mbarInit(smemAddress(&fullBar[i]), 1);
      mbarInit(smemAddress(&emptyBar[i]), kThreads);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    issueTile(0);
    if (numTiles > 1) issueTile(1);
  }

  // Q: fp32 -> scaled bf16 into the swizzled tile (rows past the chunk are zeros).
  for (int i = tid; i < kBM * 16; i += kThreads) {
    const int r = i >> 4, c = i & 15;
    uint4 packed = make_uint4(0, 0, 0, 0);
    if (m0 + r < rows) {
      const float4* src = reinterpret_cast<const float4*>(qkv + int64_t(m0 + r) * qkvStride + h * kHd + c * 8);
      const float4 a = src[0], b = src[1];
      packed = make_uint4(packBf16(a.x * scaleLog2, a.y * scaleLog2), packBf16(a.z * scaleLog2, a.w * scaleLog2),
                          packBf16(b.x * scaleLog2, b.y * scaleLog2), packBf16(b.z * scaleLog2, b.w * scaleLog2));
    }
    *reinterpret_cast<uint4*>(sQ + hopperSwizzle(kBM, r, c)) = packed;
  }
  fenceProxyAsync();
  __syncthreads();  // Q complete; the barriers initialised

  float o[16][4];
#pragma unroll
  for (int i = 0; i < 16; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};
  const int g = lane >> 2, t = lane & 3;
  const int64_t wgFirstPos = pos0 + m0 + wg * 64;
  const int64_t qPos0 = wgFirstPos + warp * 16 + g;
  const uint32_t qAddr = smemAddress(sQ) + wg * 64 * 128;

  uint32_t p[kBN / 16][4];
  float s[kBN / 8][4];
  float alpha[2];
  auto waitFull = [&](int j) { mbarWait(smemAddress(&fullBar[j % 3]), uint32_t(j / 3) & 1u); };
  auto issueScores = [&](int j) {
    const uint32_t kAddr = smemAddress(stageOf(j));
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
      const uint32_t step = (kk & 3) * 32;
      const uint64_t a = gmmaDesc(qAddr + (kk >> 2) * (kBM * 128) + step, 16, 1024);
      const uint64_t b = gmmaDesc(kAddr + (kk >> 2) * (kBN * 128) + step, 16, 1024);
      wgmmaSS128(&s[0][0], a, b, kk > 0);
    }
    wgmmaCommit();
  };
  auto issuePV = [&](int j) {
    const uint32_t vAddr = smemAddress(stageOf(j) + kTileElems);
#pragma unroll
    for (int ks = 0; ks < kBN / 16; ++ks)
      wgmmaRS128(&o[0][0], p[ks], gmmaDesc(vAddr + ks * 16 * 128, kBN * 128, 1024));
    wgmmaCommit();
  };
  auto softmaxOf = [&](int j) {
    fenceRegisters<kBN / 2>(&s[0][0]);
    const int64_t kv0 = int64_t(j) * kBN;
    if (kv0 + kBN - 1 > wgFirstPos || kv0 + kBN > kvLen) {
#pragma unroll
      for (int nt = 0; nt < kBN / 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t key = kv0 + nt * 8 + 2 * t + (e & 1);
          const int64_t qp = qPos0 + (e >> 1) * 8;
          if (key > qp || key >= kvLen) s[nt][e] = -INFINITY;
        }
    }
    softmaxTile<kBN / 8>(s, rowMax, rowSum, alpha);
  };
  auto packP = [&] {
#pragma unroll
    for (int ks = 0; ks < kBN / 16; ++ks) {
      p[ks][0] = packBf16(s[2 * ks][0], s[2 * ks][1]);
      p[ks][1] = packBf16(s[2 * ks][2], s[2 * ks][3]);
      p[ks][2] = packBf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
      p[ks][3] = packBf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
    }
  };

  // Ping-pong: the warpgroups take turns to issue their MMAs (named barriers 2 and 3), so one's MMAs
  // run while the other computes its softmax.
  auto myTurn = [&] {
    asm volatile("bar.sync %0, 256;\n" ::"r"(2 + wg) : "memory");
  };
  auto yourTurn = [&](bool last) {
    if (!(last && wg == 1)) asm volatile("bar.arrive %0, 256;\n" ::"r"(3 - wg) : "memory");
  };
  if (wg == 1) asm volatile("bar.arrive 2, 256;\n" ::: "memory");

  waitFull(0);
  myTurn();
  wgmmaFence();
  issueScores(0);
  yourTurn(false);
  wgmmaWait<0>();
  softmaxOf(0);
  packP();
  for (int j = 1; j < numTiles; ++j) {
    waitFull(j);
    myTurn();
    wgmmaFence();
    issueScores(j);
    issuePV(j - 1);
    yourTurn(false);
    if (tid == 0 && j + 1 < numTiles) {  // tile j + 1 into the stage of tile j - 2, once both released it
      if (j >= 2) mbarWait(smemAddress(&emptyBar[(j - 2) % 3]), uint32_t((j - 2) / 3) & 1u);
      issueTile(j + 1);
    }
    wgmmaWait<1>();
    softmaxOf(j);
    wgmmaWait<0>();
    fenceRegisters<64>(&o[0][0]);
    fenceRegisters<kBN / 4>(&p[0][0]);
    mbarArrive(smemAddress(&emptyBar[(j - 1) % 3]));  // tile j - 1 no longer read
    rescaleRows(o, alpha);
    packP();
  }
  myTurn();
  wgmmaFence();
  issuePV(numTiles - 1);
  yourTurn(true);
  wgmmaWait<0>();
  fenceRegisters<64>(&o[0][0]);

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = rowSum[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int row = m0 + wg * 64 + warp * 16 + g + r * 8;
    if (row < rows) {
      const float inv = 1.0f / l;
      float* dst = out + int64_t(row) * outStride + h * kHd + 2 * t;
#pragma unroll
      for (int dt = 0; dt < 16; ++dt)
        *reinterpret_cast<float2*>(dst + dt * 8) = make_float2(o[dt][2 * r] * inv, o[dt][2 * r + 1] * inv);
    }
  }
#endif
}

PFN_cuTensorMapEncodeTiled_v12000 tensorMapEncoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return PFN_cuTensorMapEncodeTiled_v12000(nullptr);
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

// [kvHeads][capacity][128] bf16 cache, keys past `length` read as zeros; box = 64 dims x kBN keys, 128-byte
// swizzle (the layout hopperSwizzle describes).
bool encodeCacheMap(CUtensorMap* map, const uint16_t* cache, int64_t length, int64_t capacity, int kvHeads) {
  const auto encode = tensorMapEncoder();
  if (!encode) return false;
  const cuuint64_t dims[3] = {cuuint64_t(kHd), cuuint64_t(length), cuuint64_t(kvHeads)};
  const cuuint64_t strides[2] = {cuuint64_t(kHd) * 2, cuuint64_t(capacity) * kHd * 2};
  const cuuint32_t box[3] = {64, cuuint32_t(kBN), 1};
  const cuuint32_t elementStrides[3] = {1, 1, 1};
  return encode(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<uint16_t*>(cache), dims, strides, box,
                elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}



}  // namespace

bool flashAttentionHopperUsable() {
  static const bool usable = [] {
    if (const char* e = std::getenv("GLMCHAT_CUDA_FLASH"); e && std::string_view(e) == "fa2") return false;
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
    if (major != 9 || minor != 0 || !tensorMapEncoder()) return false;
    cudaFuncAttributes attr{};
    if (cudaFuncGetAttributes(&attr, flashAttentionHopperKernel) != cudaSuccess) {
      cudaGetLastError();  // no sm_90a code in this build for this device
      return false;
    }
    return true;
  }();
  return usable;
}

void configureFlashAttentionHopper() {
  if (!flashAttentionHopperUsable()) return;
  cudaFuncSetAttribute(flashAttentionHopperKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                       HopperTile::kSmemBytes);
}

void flashAttentionPrefillHopper(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads,
                                 int64_t pos0, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity,
                                 float scale, float* out, int64_t outStride, cudaStream_t stream) {
  if (rows <= 0) return;
  const dim3 grid(unsigned(numHeads), unsigned((rows + kBM - 1) / kBM));
  CUtensorMap kMap{}, vMap{};
  if (!encodeCacheMap(&kMap, kCache, pos0 + rows, capacity, numKvHeads) ||
      !encodeCacheMap(&vMap, vCache, pos0 + rows, capacity, numKvHeads)) {
    flashAttentionPrefillFa2(qkv, qkvStride, rows, numHeads, numKvHeads, pos0, kCache, vCache, capacity, scale, out,
                             outStride, stream);
    return;
  }
  flashAttentionHopperKernel<<<grid, kThreads, HopperTile::kSmemBytes, stream>>>(
      qkv, qkvStride, rows, numHeads, numKvHeads, pos0, scale * kLog2e, out, outStride, kMap, vMap);
}

}  // namespace glm::cuda
