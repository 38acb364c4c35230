// glmchat-cuda-bench: the CUDA kernels alone, on random data, timed with events (median of repeats).
// Prints one JSON object per line:
//  - copy: device-to-device copy bandwidth (read + write), the memory ceiling;
//  - flash_attention_check: the Hopper kernel's output against the FA2 kernel's on the same inputs;
//  - flash_attention: causal prefill (each variant) at S tokens, 32 query / 2 KV heads, hd 128, in TFLOP/s counted
//    as FlashAttention does (4·S²·d·heads / 2), one chunk from position 0; and the last 2048-token
//    chunk at the end of a 128K context (what chunked prefill runs);
//  - decode_attention: one query row over len keys (KV bytes / time, GB/s);
//  - best_of_row: the 256 best of a 151,552-wide logits row and its softmax sum (sampling on the device);
//  - quant_gemm (`glmchat-cuda-bench gemm [KIND]` only): prefill GEMMs on quantized weights, packed tiles
//    against widening + cuBLAS and against cuBLAS on bf16 weights;
//  - gemv: the decode matrix shapes of GLM-4-9B per weight kind (weight + scale bytes / time, GB/s), and a
//    decode step's 160 GEMVs in one graph (`glmchat-cuda-bench gemv [KIND [SHAPE]]` runs only these).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "glm_kernels.h"
#include "quant/quant_format.h"

using namespace glm::cuda;

#define CHECK(x)                                                                                \
  do {                                                                                          \
    cudaError_t e_ = (x);                                                                       \
    if (e_ != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

__global__ void fillRandom(uint16_t* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    const float v = (float(h & 0xffffff) / float(0xffffff) * 2.0f - 1.0f) * scale;
    p[i] = uint16_t(__float_as_uint(v) >> 16);
  }
}
__global__ void fillRandomF(float* p, int64_t n, uint32_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2246822519u ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    p[i] = (float(h & 0xffffff) / float(0xffffff) * 2.0f - 1.0f) * scale;
  }
}

template <typename F>
float medianMs(F&& f, int reps) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  f();
  f();
  CHECK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CHECK(cudaEventRecord(a));
    f();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CHECK(cudaGetLastError());
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The decode GEMVs of GLM-4-9B for each weight kind, over a 2 GB pool rotated so the weight is never in L2:
// each shape alone (weight + scale bytes / time), then a decode step's four GEMVs of 40 layers back to back
// in one CUDA graph with programmatic dependent launch, as the model records them. Quantized kinds read an
// input row quantized once before timing (xqReady), so the figures are the GEMV's alone.
void benchGemv(const std::string& onlyKind, const std::string& onlyShape) {
  const int64_t poolBytes = int64_t(2) << 30;
  unsigned char* pool;
  float *x, *y;
  void* xq;
  CHECK(cudaMalloc(&pool, size_t(poolBytes)));
  CHECK(cudaMalloc(&x, 16384 * 4));
  CHECK(cudaMalloc(&y, 160000 * 4));
  CHECK(cudaMalloc(&xq, size_t(gemvInputScratchBytes(16384))));
  fillRandom<<<4096, 256>>>(reinterpret_cast<uint16_t*>(pool), poolBytes / 2, 4, 0.02f);
  fillRandomF<<<64, 256>>>(x, 16384, 5, 1.0f);
  struct Shape { const char* name; int64_t m, k; };
  struct Kind { const char* name; GemvWeight::Kind kind; glm::WeightFormat format; };
  // Bytes of an m x k weight (data + scales, quant_format.h's layouts) and its slot in the pool (256-aligned).
  auto bytesOf = [](const Kind& kd, int64_t m, int64_t k) { return glm::quantizedBytes(kd.format, m, k); };
  auto slotOf = [&](const Kind& kd, int64_t m, int64_t k) { return (bytesOf(kd, m, k) + 255) / 256 * 256; };
  const Shape layer[4] = {{"qkv", 4608, 4096}, {"o", 4096, 4096}, {"gate_up", 27392, 4096}, {"down", 4096, 13696}};
  for (Kind kd : {Kind{"bf16", GemvWeight::Bf16, glm::WeightFormat::Native},
                  Kind{"int8", GemvWeight::Int8, glm::WeightFormat::Int8},
                  Kind{"int4", GemvWeight::Int4G32, glm::WeightFormat::Int4G32},
                  Kind{"int4-g128", GemvWeight::Int4G128, glm::WeightFormat::Int4G128}}) {
    if (!onlyKind.empty() && onlyKind != kd.name) continue;
    auto weightAt = [&](int64_t off, int64_t m, int64_t k) {
      const int64_t data =
          kd.format == glm::WeightFormat::Native ? bytesOf(kd, m, k) : glm::quantizedDataBytes(kd.format, m, k);
      return GemvWeight{kd.kind, pool + off, pool + off + data, xq, false};
    };
    for (Shape s : {layer[0], layer[1], layer[2], layer[3], Shape{"lm_head", 151552, 4096}}) {
      if (!onlyShape.empty() && onlyShape != s.name) continue;
      const int64_t bytes = slotOf(kd, s.m, s.k), copies = std::max<int64_t>(1, poolBytes / bytes);
      GemvWeight w = weightAt(0, s.m, s.k);
      gemv(w, s.m, s.k, x, nullptr, y, nullptr);  // quantizes x into xq (quantized kinds)
      int64_t i = 0;
      const float ms = medianMs(
          [&] {
            GemvWeight wi = weightAt((i++ % copies) * bytes, s.m, s.k);
            wi.xqReady = true;
            gemv(wi, s.m, s.k, x, nullptr, y, nullptr);
          },
          50);
      std::printf("{\"kernel\": \"gemv\", \"weights\": \"%s\", \"shape\": \"%s\", \"m\": %lld, \"k\": %lld, "
                  "\"us\": %.2f, \"GBps\": %.1f}\n",
                  kd.name, s.name, (long long)s.m, (long long)s.k, ms * 1e3, bytesOf(kd, s.m, s.k) / ms / 1e6);
    }
    if (!onlyShape.empty()) continue;
    // The four GEMVs of 40 layers (5 distinct layers of weights in the pool, 8 times) in one graph.
    cudaStream_t st;
    CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    int64_t layerBytes = 0;
    for (const Shape& s : layer) layerBytes += slotOf(kd, s.m, s.k);
    const int64_t distinct = std::min<int64_t>(5, poolBytes / layerBytes);
    CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeRelaxed));
    setProgrammaticLaunch(true);
    for (int l = 0; l < 40; ++l) {
      int64_t off = (l % distinct) * layerBytes;
      for (const Shape& s : layer) {
        GemvWeight w = weightAt(off, s.m, s.k);
        w.xqReady = true;
        gemv(w, s.m, s.k, x, nullptr, y, st);
        off += slotOf(kd, s.m, s.k);
      }
    }
    setProgrammaticLaunch(false);
    cudaGraph_t g;
    cudaGraphExec_t ge;
    CHECK(cudaStreamEndCapture(st, &g));
    CHECK(cudaGraphInstantiate(&ge, g, 0));
    const float ms = medianMs([&] { cudaGraphLaunch(ge, 0); }, 10);
    std::printf("{\"kernel\": \"gemv_chain40\", \"weights\": \"%s\", \"us\": %.1f, \"GBps\": %.1f}\n", kd.name,
                ms * 1e3, 40.0 * layerBytes / ms / 1e6);
    CHECK(cudaGraphExecDestroy(ge));
    CHECK(cudaGraphDestroy(g));
    CHECK(cudaStreamDestroy(st));
  }
  CHECK(cudaFree(pool));
  CHECK(cudaFree(x));
  CHECK(cudaFree(y));
  CHECK(cudaFree(xq));
}

// Prefill GEMMs of GLM-4-9B's layer shapes on quantized weights, per kind and x rows n: the packed-tile
// GEMM (stageQuantGemmInput + quantGemm) against widening the weight and cuBLAS (dequantizeToBf16 +
// cublasGemmEx, the other path) and against cuBLAS on a bf16 weight of the shape (what the bf16 model runs),
// each from an fp32 x as the backend has it (bf16 staging counted). First the packed-tile result against the
// widened one (max |difference| / max |value|). TFLOP/s = 2 n m k / time.
void benchQuantGemm(const std::string& onlyKind) {
  cublasHandle_t blas;
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "cublasCreate failed\n");
    std::exit(1);
  }
  const int64_t maxN = 2048, maxK = 13696, maxM = 27392;
  unsigned char *wq, *wide;
  float *x, *y, *y2, *parts;
  uint16_t *xs, *wbf;
  const int64_t partFloats = int64_t(64) << 20;
  CHECK(cudaMalloc(&parts, size_t(partFloats * 4)));
  CHECK(cudaMalloc(&wq, size_t(maxM * maxK + maxM * maxK / 16 + 4096)));
  CHECK(cudaMalloc(&wide, size_t(maxM * maxK * 2)));
  CHECK(cudaMalloc(&wbf, size_t(maxM * maxK * 2)));
  CHECK(cudaMalloc(&x, size_t(maxN * maxK * 4)));
  CHECK(cudaMalloc(&xs, size_t(maxN * maxK * 2)));
  CHECK(cudaMalloc(&y, size_t(maxN * maxM * 4)));
  CHECK(cudaMalloc(&y2, size_t(maxN * maxM * 4)));
  fillRandom<<<4096, 256>>>(reinterpret_cast<uint16_t*>(wq), (maxM * maxK + maxM * maxK / 16) / 2, 7, 0.02f);
  fillRandom<<<4096, 256>>>(wbf, maxM * maxK, 8, 0.02f);
  fillRandomF<<<1024, 256>>>(x, maxN * maxK, 9, 1.0f);
  struct Shape { const char* name; int64_t m, k; };
  struct Kind { const char* name; GemvWeight::Kind kind; glm::WeightFormat format; };
  auto gemmBf16 = [&](const void* w, int64_t m, int64_t k, int64_t n, float* out) {
    const float alpha = 1.0f, beta = 0.0f;
    cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, int(m), int(n), int(k), &alpha, w, CUDA_R_16BF, int(k), xs,
                 CUDA_R_16BF, int(k), &beta, out, CUDA_R_32F, int(m), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  for (Kind kd : {Kind{"int8", GemvWeight::Int8, glm::WeightFormat::Int8},
                  Kind{"int4", GemvWeight::Int4G32, glm::WeightFormat::Int4G32},
                  Kind{"int4-g128", GemvWeight::Int4G128, glm::WeightFormat::Int4G128}}) {
    if (!onlyKind.empty() && onlyKind != kd.name) continue;
    for (Shape s : {Shape{"qkv", 4608, 4096}, Shape{"o", 4096, 4096}, Shape{"gate_up", 27392, 4096},
                    Shape{"down", 4096, 13696}}) {
      // int8 scales must be finite and moderate: positive fp32 values; int4 fp16 scales likewise.
      const int64_t dataBytes = glm::quantizedDataBytes(kd.format, s.m, s.k);
      const int64_t scaleOff = (dataBytes + 255) / 256 * 256;
      if (kd.kind == GemvWeight::Int8) {
        std::vector<float> sc(size_t(s.m), 0.01f);
        CHECK(cudaMemcpy(wq + scaleOff, sc.data(), sc.size() * 4, cudaMemcpyHostToDevice));
      } else {
        std::vector<uint16_t> sc(size_t(s.m * (s.k / (kd.kind == GemvWeight::Int4G32 ? 32 : 128))), 0x2000);
        CHECK(cudaMemcpy(wq + scaleOff, sc.data(), sc.size() * 2, cudaMemcpyHostToDevice));
      }
      const GemvWeight w{kd.kind, wq, wq + scaleOff, nullptr, false};
      for (int64_t n : {16, 64, 128, 256, 512, 1024, 2048}) {
        if (quantGemmPartialFloats(w, s.m, s.k, n) > partFloats) {
          std::fprintf(stderr, "quant_gemm: partial sums exceed the bench's buffer\n");
          std::exit(1);
        }
        if (n == 128 && s.m == 4096 && s.k == 4096) {  // the two paths' results, once per kind
          stageQuantGemmInput(x, s.k, n, s.k, xs, nullptr);
          quantGemm(w, s.m, s.k, xs, n, nullptr, y, s.m, parts, nullptr);
          toBf16(x, s.k, int(n), int(s.k), xs, nullptr);
          dequantizeToBf16(w, s.m, s.k, reinterpret_cast<uint16_t*>(wide), nullptr);
          gemmBf16(wide, s.m, s.k, n, y2);
          CHECK(cudaDeviceSynchronize());
          std::vector<float> a(size_t(n * s.m)), b(a.size());
          CHECK(cudaMemcpy(a.data(), y, a.size() * 4, cudaMemcpyDeviceToHost));
          CHECK(cudaMemcpy(b.data(), y2, b.size() * 4, cudaMemcpyDeviceToHost));
          double maxAbs = 0, maxDiff = 0;
          for (size_t i = 0; i < a.size(); ++i) {
            maxAbs = std::max(maxAbs, double(std::fabs(b[i])));
            maxDiff = std::max(maxDiff, double(std::fabs(a[i] - b[i])));
          }
          std::printf("{\"kernel\": \"quant_gemm_check\", \"weights\": \"%s\", \"n\": %lld, \"max_rel_diff\": %.3e}\n",
                      kd.name, (long long)n, maxDiff / std::max(maxAbs, 1e-30));
        }
        const int reps = n >= 1024 ? 10 : 30;
        const float fused = medianMs(
            [&] {
              stageQuantGemmInput(x, s.k, n, s.k, xs, nullptr);
              quantGemm(w, s.m, s.k, xs, n, nullptr, y, s.m, parts, nullptr);
            },
            reps);
        const float widened = medianMs(
            [&] {
              toBf16(x, s.k, int(n), int(s.k), xs, nullptr);
              dequantizeToBf16(w, s.m, s.k, reinterpret_cast<uint16_t*>(wide), nullptr);
              gemmBf16(wide, s.m, s.k, n, y);
            },
            reps);
        const float bf16 = medianMs(
            [&] {
              toBf16(x, s.k, int(n), int(s.k), xs, nullptr);
              gemmBf16(wbf, s.m, s.k, n, y);
            },
            reps);
        const double flop = 2.0 * double(n) * s.m * s.k;
        std::printf("{\"kernel\": \"quant_gemm\", \"weights\": \"%s\", \"shape\": \"%s\", \"n\": %lld, "
                    "\"fused_us\": %.1f, \"widened_us\": %.1f, \"bf16_us\": %.1f, \"fused_TFLOPs\": %.1f, "
                    "\"bf16_TFLOPs\": %.1f, \"fused_GBps\": %.1f, \"widened_over_fused\": %.2f, "
                    "\"bf16_over_fused\": %.2f}\n",
                    kd.name, s.name, (long long)n, fused * 1e3, widened * 1e3, bf16 * 1e3, flop / fused / 1e9,
                    flop / bf16 / 1e9, glm::quantizedBytes(kd.format, s.m, s.k) / fused / 1e6, widened / fused,
                    bf16 / fused);
      }
    }
  }
  cublasDestroy(blas);
  for (void* p : {(void*)wq, (void*)wide, (void*)wbf, (void*)x, (void*)xs, (void*)y, (void*)y2, (void*)parts})
    CHECK(cudaFree(p));
}

int main(int argc, char** argv) {
  configureKernels();
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("{\"device\": \"%s\", \"sms\": %d}\n", prop.name, prop.multiProcessorCount);
  if (argc > 1 && std::string(argv[1]) == "gemm") {  // the quantized prefill GEMMs alone: gemm [KIND]
    benchQuantGemm(argc > 2 ? argv[2] : "");
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "gemv") {  // the GEMVs alone: gemv [KIND [SHAPE]]
    benchGemv(argc > 2 ? argv[2] : "", argc > 3 ? argv[3] : "");
    return 0;
  }
  const int nh = 32, nkv = 2, hd = 128, cols = (nh + 2 * nkv) * hd;
  const float scale = 1.0f / sqrtf(128.0f);

  {  // copy ceiling
    const size_t bytes = size_t(2) << 30;
    void *a, *b;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&b, bytes));
    CHECK(cudaMemset(a, 1, bytes));
    const float ms = medianMs([&] { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice); }, 10);
    std::printf("{\"kernel\": \"copy\", \"bytes\": %zu, \"ms\": %.4f, \"GBps\": %.1f}\n", bytes, ms, 2.0 * bytes / ms / 1e6);
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
  }

  const int64_t capacity = 131072 + 64;
  uint16_t *kc, *vc;
  CHECK(cudaMalloc(&kc, size_t(nkv) * capacity * hd * 2));
  CHECK(cudaMalloc(&vc, size_t(nkv) * capacity * hd * 2));
  fillRandom<<<1024, 256>>>(kc, int64_t(nkv) * capacity * hd, 1, 2.0f);
  fillRandom<<<1024, 256>>>(vc, int64_t(nkv) * capacity * hd, 2, 1.0f);
  const int maxRows = 32768;
  float *qkv, *out, *partials;
  CHECK(cudaMalloc(&qkv, size_t(maxRows) * cols * 4));
  CHECK(cudaMalloc(&out, size_t(maxRows) * nh * hd * 4));
  fillRandomF<<<1024, 256>>>(qkv, int64_t(maxRows) * cols, 3, 2.0f);
  CHECK(cudaDeviceSynchronize());

  // Prefill attention: the mma.sync FA2 kernel and (on sm_90) the wgmma Hopper kernel, timed side by side;
  // first their outputs compared on the same inputs (max |difference| / max |value|).
  using FlashFn = void (*)(const float*, int64_t, int, int, int, int64_t, const uint16_t*, const uint16_t*, int64_t,
                           float, float*, int64_t, cudaStream_t);
  struct Variant { const char* name; FlashFn fn; };
  std::vector<Variant> variants{{"fa2", flashAttentionPrefillFa2}};
  if (flashAttentionHopperUsable()) variants.push_back({"hopper", flashAttentionPrefillHopper});
  if (variants.size() > 1) {
    float* out2;
    CHECK(cudaMalloc(&out2, size_t(maxRows) * nh * hd * 4));
    struct Case { int rows; int64_t pos0; };
    for (Case c : {Case{4096, 0}, Case{131, 777}, Case{259, 65531}, Case{1, 4095}, Case{2048, 131072 - 2048}}) {
      const size_t n = size_t(c.rows) * nh * hd;
      CHECK(cudaMemset(out, 0, n * 4));
      CHECK(cudaMemset(out2, 0, n * 4));
      flashAttentionPrefillFa2(qkv, cols, c.rows, nh, nkv, c.pos0, kc, vc, capacity, scale, out, nh * hd, nullptr);
      flashAttentionPrefillHopper(qkv, cols, c.rows, nh, nkv, c.pos0, kc, vc, capacity, scale, out2, nh * hd, nullptr);
      CHECK(cudaDeviceSynchronize());
      std::vector<float> a(n), b(n);
      CHECK(cudaMemcpy(a.data(), out, n * 4, cudaMemcpyDeviceToHost));
      CHECK(cudaMemcpy(b.data(), out2, n * 4, cudaMemcpyDeviceToHost));
      double maxAbs = 0, maxDiff = 0;
      bool finite = true;
      for (size_t i = 0; i < n; ++i) {
        finite = finite && std::isfinite(b[i]);
        maxAbs = std::max(maxAbs, double(std::fabs(a[i])));
        maxDiff = std::max(maxDiff, double(std::fabs(a[i] - b[i])));
      }
      std::printf("{\"kernel\": \"flash_attention_check\", \"rows\": %d, \"pos0\": %lld, \"max_rel_diff\": %.3e, "
                  "\"finite\": %s}\n",
                  c.rows, (long long)c.pos0, maxDiff / std::max(maxAbs, 1e-30), finite ? "true" : "false");
    }
    CHECK(cudaFree(out2));
  }
  for (const Variant& v : variants) {
    for (int S : {4096, 16384, 32768}) {
      const float ms = medianMs(
          [&] { v.fn(qkv, cols, S, nh, nkv, 0, kc, vc, capacity, scale, out, nh * hd, nullptr); }, S >= 16384 ? 10 : 30);
      const double flops = 4.0 * double(S) * S * hd * nh / 2;
      std::printf("{\"kernel\": \"flash_attention\", \"variant\": \"%s\", \"seqlen\": %d, \"causal\": true, \"ms\": %.4f, "
                  "\"TFLOPs\": %.1f}\n",
                  v.name, S, ms, flops / ms / 1e9);
    }
    {  // the last 2048-token chunk of a 128K prefill
      const int n = 2048;
      const int64_t pos0 = 131072 - n;
      const float ms = medianMs(
          [&] { v.fn(qkv, cols, n, nh, nkv, pos0, kc, vc, capacity, scale, out, nh * hd, nullptr); }, 10);
      const double flops = 4.0 * double(n) * (double(pos0) + n / 2.0) * hd * nh;
      std::printf("{\"kernel\": \"flash_attention_chunk\", \"variant\": \"%s\", \"pos0\": %lld, \"rows\": %d, "
                  "\"ms\": %.4f, \"TFLOPs\": %.1f}\n",
                  v.name, (long long)pos0, n, ms, flops / ms / 1e9);
    }
  }

  const int maxSplits = decodeMaxSplits(prop.multiProcessorCount, nkv);
  CHECK(cudaMalloc(&partials, size_t(decodePartialFloats(nh, nkv, maxSplits)) * 4));
  for (int len : {1024, 32768, 131072}) {
    Position p;
    p.host = len - 1;
    const float ms = medianMs(
        [&] { decodeAttention(qkv, nh, nkv, p, kc, vc, capacity, scale, partials, maxSplits, out, nullptr); }, 50);
    const double bytes = 2.0 * len * nkv * hd * 2;
    std::printf("{\"kernel\": \"decode_attention\", \"len\": %d, \"us\": %.2f, \"GBps\": %.1f}\n", len, ms * 1e3,
                bytes / ms / 1e6);
  }

  {  // sampling on the device: the best 256 of a GLM-4-sized logits row and its softmax sum
    const int64_t vocab = 151552;
    float* row;
    void *scratch, *result, *host;
    CHECK(cudaMalloc(&row, size_t(vocab) * 4));
    CHECK(cudaMalloc(&scratch, size_t(bestOfRowScratchBytes())));
    CHECK(cudaMemset(scratch, 0, size_t(bestOfRowScratchBytes())));
    CHECK(cudaMalloc(&result, size_t(bestOfRowResultBytes())));
    CHECK(cudaHostAlloc(&host, size_t(bestOfRowResultBytes()), cudaHostAllocMapped));
    fillRandomF<<<64, 256>>>(row, vocab, 9, 8.0f);
    const float ms = medianMs([&] { bestOfRow(row, vocab, 256, 1.25f, scratch, result, nullptr); }, 50);
    std::printf("{\"kernel\": \"best_of_row\", \"n\": %lld, \"count\": 256, \"us\": %.2f}\n", (long long)vocab,
                ms * 1e3);
    // What a sampled token costs beyond the step, as the backend does it: the search writing its result into
    // mapped host memory, and the wait for it.
    void* hostOnDevice;
    CHECK(cudaHostGetDevicePointer(&hostOnDevice, host, 0));
    const float callMs = medianMs(
        [&] {
          bestOfRow(row, vocab, 256, 1.25f, scratch, hostOnDevice, nullptr);
          cudaStreamSynchronize(nullptr);
        },
        50);
    std::printf("{\"kernel\": \"best_of_row_call\", \"n\": %lld, \"count\": 256, \"us\": %.2f}\n",
                (long long)vocab, callMs * 1e3);
    CHECK(cudaFreeHost(host));
    CHECK(cudaFree(result));
    CHECK(cudaFree(row));
    CHECK(cudaFree(scratch));
  }

  benchGemv("", "");
  CHECK(cudaDeviceSynchronize());
  return 0;
}
