// Host-side entry points of the CUDA kernels (kernels/cuda/*.cu). Plain C++: the backend
// (engine/src/backend/cuda/) includes this without CUDA headers beyond cudaStream_t. bf16 data is
// passed as uint16_t. Every launcher returns after queuing work on `stream`; errors surface through
// cudaGetLastError, which the backend checks after each call.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

namespace glm::cuda {

// Element types of a gathered table (the embedding keeps the checkpoint's dtype, or is int8 per row).
enum class TableType { F32 = 0, F16 = 1, BF16 = 2, Int8 = 3 };

// Rotary parameters by value (kernel argument), so a captured graph needs no device copy.
struct RopeArgs {
  float invFreq[128];
  int pairs = 0;          // rotaryDim / 2
  float scaling = 1.0f;   // YaRN attention factor on cos and sin
};

// Where a position comes from: the host value, or (graph replay) a device int64 written before launch.
struct Position {
  int64_t host = 0;
  const int64_t* device = nullptr;
};

// Int8: rowScales[r] (fp32) times the row's int8 values.
void embedRows(const void* table, TableType type, int64_t cols, const int32_t* ids, int n, float* out,
               int64_t outStride, cudaStream_t stream, const float* rowScales = nullptr);
// residual == nullptr: out = rmsNorm(x) * w. Else residual += x; out = rmsNorm(residual) * w.
void rmsNorm(const float* x, int64_t xStride, float* residual, int64_t residualStride, const float* w, float eps,
             int rows, int cols, float* out, int64_t outStride, cudaStream_t stream);
void addRows(float* residual, int64_t residualStride, const float* x, int64_t xStride, int rows, int cols,
             cudaStream_t stream);
// xq != nullptr (one row): also writes the row quantized as a quantized GEMV reads its input (GemvWeight::xq).
void swiGlu(const float* gateUp, int64_t gateUpStride, int rows, int ffn, float* out, int64_t outStride,
            cudaStream_t stream, void* xq = nullptr);
void toBf16(const float* x, int64_t xStride, int rows, int cols, uint16_t* out, cudaStream_t stream);
void addBias(float* out, int64_t outStride, int rows, int cols, const float* bias, cudaStream_t stream);
// A decode GEMV's weight [m x k]: bf16, or quantized as engine/src/quant/quant_format.h lays it out (int8
// rows with fp32 row scales; int4 in groups of 32 or 128 with fp16 scales). k % 8 == 0 (bf16), % 16
// (int8), % 32 (int4); data 16-byte aligned.
// Quantized kinds quantize x first (int8 in blocks of 32, fp32 scales) into xq, a scratch of
// gemvInputScratchBytes(k) bytes, and multiply on dp4a.
struct GemvWeight {
  enum Kind { Bf16, Int8, Int4G32, Int4G128 };
  Kind kind = Bf16;
  const void* data = nullptr;
  const void* scales = nullptr;
  void* xq = nullptr;
  bool xqReady = false;  // xq already holds x quantized (its producer wrote it: swiGlu, decodeAttention, gemvAddNorm)
};
int64_t gemvInputScratchBytes(int64_t k);
// out[r] = W[r] . x + bias[r] for one fp32 row x (16-byte aligned).
void gemv(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
          cudaStream_t stream);
void gemvBf16(const uint16_t* w, int64_t m, int64_t k, const float* x, const float* bias, float* out,
              cudaStream_t stream);
// int4 weights (in place, once after upload) into the nibble order the GEMV and dequantizeToBf16 read: byte j
// of each 32-bit word holds column j (low nibble) and j + 4 (high) of the word's 8, instead of 2j and 2j + 1.
void repackInt4(void* data, int64_t bytes, cudaStream_t stream);
// A quantized weight widened to bf16 [m x k] (prefill: the GEMM then runs on it with cuBLAS).
void dequantizeToBf16(const GemvWeight& w, int64_t m, int64_t k, uint16_t* out, cudaStream_t stream);
// Prefill GEMM on the quantized weight itself (gemm_quant.cu: tiles dequantized in registers into mma.sync):
// out[i * ldo + r] = sum_c x[i, c] W[r, c] + bias[r] (bias may be null) for n rows of x, fp32 out. x is first
// staged by stageQuantGemmInput into n * k bf16 (a column order the kernel's fragments need; x rows 16-byte
// aligned). quantGemmSupported: int8 / int4 weights with k % 64 == 0 and 16-byte aligned data. Where its tiles
// are too few for the GPU, the GEMM splits k over blocks and adds the parts in a fixed order: `partials` must
// then hold quantGemmPartialFloats(w, m, k, n) floats (0: not needed; null: no split).
bool quantGemmSupported(const GemvWeight& w, int64_t k);
int64_t quantGemmPartialFloats(const GemvWeight& w, int64_t m, int64_t k, int64_t n);
void stageQuantGemmInput(const float* x, int64_t xStride, int64_t n, int64_t k, uint16_t* out, cudaStream_t stream);
void quantGemm(const GemvWeight& w, int64_t m, int64_t k, const uint16_t* xStaged, int64_t n, const float* bias,
               float* out, int64_t ldo, float* partials, cudaStream_t stream);
// The decode step's RMSNorm fused into its GEMVs (CudaBackend::matmulAddNorm). gemvAddNorm: v = W·x + bias;
// residual += v; normed = residual ⊙ normW, left unscaled; the new residual's sum of squares is added
// (fp64 atomics) into sums[0 .. normSumSlots()), which must be zero before. gemvNormed: out = W·x · s + bias
// with s = rsqrt(sum(sums) / n + eps), x being such an unscaled normed row of width n (= k).
// scaleNormed: x *= s in place, for a reader of the normed row that is not gemvNormed.
// xqOut != nullptr (a quantized next GEMV): gemvAddNorm also writes the unscaled normed row quantized there
// (GemvWeight::xq's layout; it must not be w.xq, which the GEMV reads meanwhile).
int normSumSlots();
void gemvAddNorm(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, float* residual,
                 const float* normW, float* normed, double* sums, void* xqOut, cudaStream_t stream);
void gemvNormed(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                int64_t n, float eps, float* out, cudaStream_t stream);
void scaleNormed(float* x, int64_t n, const double* sums, float eps, cudaStream_t stream);
// The QKV GEMV of one decode row with ropeAppendKv done in its epilogue (out = [Q | K | V], W has
// (numHeads + 2 numKvHeads) · headDim rows, headDim even): Q and K rotated in out, K and V written to
// the cache layer at the position. sums != nullptr: x is gemvAddNorm's unscaled normed row (as gemvNormed).
void gemvRopeAppend(const GemvWeight& w, int64_t m, int64_t k, const float* x, const float* bias, const double* sums,
                    int64_t n, float eps, float* out, int numHeads, int numKvHeads, int headDim, const RopeArgs& rope,
                    Position pos, uint16_t* kCache, uint16_t* vCache, int64_t capacity, cudaStream_t stream);
// Rotates Q and K of `rows` rows (positions pos, pos+1, ...) in place and writes K, V (bf16) into the
// cache layer [kvHeads][capacity][headDim].
void ropeAppendKv(float* qkv, int64_t stride, int rows, int numHeads, int numKvHeads, int headDim,
                  const RopeArgs& rope, Position pos, uint16_t* kCache, uint16_t* vCache, int64_t capacity,
                  cudaStream_t stream);
// The 8-bit KV cache (kv_int8.cu): per layer q [kvHeads][capacity][headDim] int8 and scales
// [kvHeads][kvScaleStride(capacity)] fp32 (zeroed on allocation). ropeAppendKvInt8 is ropeAppendKv
// quantizing each K and V vector (backend.h's rule; headDim even, <= 256). widenKvInt8 writes positions
// [0, pos + rowsAfter) of a layer as bf16 [kvHeads][outCapacity][headDim] (headDim % 8 == 0) for the
// prefill kernels; maxLen >= pos + rowsAfter bounds the grid (a recorded step passes the capacity).
int64_t kvScaleStride(int64_t capacity);
void ropeAppendKvInt8(float* qkv, int64_t stride, int rows, int numHeads, int numKvHeads, int headDim,
                      const RopeArgs& rope, Position pos, int8_t* kCache, int8_t* vCache, float* kScales,
                      float* vScales, int64_t capacity, cudaStream_t stream);
void widenKvInt8(const int8_t* kCache, const int8_t* vCache, const float* kScales, const float* vScales,
                 int numKvHeads, int headDim, int64_t capacity, Position pos, int rowsAfter, int64_t maxLen,
                 uint16_t* kOut, uint16_t* vOut, int64_t outCapacity, cudaStream_t stream);
// decodeAttention over an 8-bit cache (head dim 128): K and V widened to fp16 in shared memory with
// their scales, fp16 tensor-core tiles.
void decodeAttentionInt8(const float* qkv, int numHeads, int numKvHeads, Position pos, const int8_t* kCache,
                         const int8_t* vCache, const float* kScales, const float* vScales, int64_t capacity,
                         float scale, float* partials, int maxSplits, float* out, cudaStream_t stream,
                         void* xq = nullptr);
// Causal prefill attention, head dim 128 (tensor cores). Query rows at positions pos0.. over keys
// [0, pos0 + rows). Q is read from qkv (already rotated). Runs the Hopper kernel (warpgroup MMA,
// flash_attention_hopper.cu) where flashAttentionHopperUsable(), else the mma.sync FA2 kernel; both
// are callable directly (benchmarks, A/B).
void flashAttentionPrefill(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads,
                           int64_t pos0, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity,
                           float scale, float* out, int64_t outStride, cudaStream_t stream);
void flashAttentionPrefillFa2(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads,
                              int64_t pos0, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity,
                              float scale, float* out, int64_t outStride, cudaStream_t stream);
void flashAttentionPrefillHopper(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads,
                                 int64_t pos0, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity,
                                 float scale, float* out, int64_t outStride, cudaStream_t stream);
// True on a compute capability 9.0 device when this build has the sm_90a code and the environment
// variable GLMCHAT_CUDA_FLASH is not "fa2" (decided once per process).
bool flashAttentionHopperUsable();
// Split-KV decode attention of one query row (head dim 128): all query heads of a KV group in one warp's
// m16 tile, `maxSplits` splits per (KV head, 16-head group), then the combine kernel.
// partials: decodePartialFloats(...) floats of scratch.
int64_t decodePartialFloats(int numHeads, int numKvHeads, int maxSplits);
// xq != nullptr: the output row also quantized for a quantized GEMV (GemvWeight::xq).
void decodeAttention(const float* qkv, int numHeads, int numKvHeads, Position pos, const uint16_t* kCache,
                     const uint16_t* vCache, int64_t capacity, float scale, float* partials, int maxSplits,
                     float* out, cudaStream_t stream, void* xq = nullptr);
// Any head dim up to 256, any rows: simple and slow (the tiny fixture models and odd shapes).
void attentionGeneric(const float* qkv, int64_t qkvStride, int rows, int numHeads, int numKvHeads, int headDim,
                      Position pos, const uint16_t* kCache, const uint16_t* vCache, int64_t capacity, float scale,
                      float* out, int64_t outStride, cudaStream_t stream);
// Index of the largest value of x[0..n) (lowest index on ties; NaN never chosen) into the int32 at the
// start of scratch, which holds argmaxScratchBytes() bytes, zeroed once before the first call and not
// shared between streams (the greedy token, on the device).
int64_t argmaxScratchBytes();
void argmax(const float* x, int64_t n, void* scratch, cudaStream_t stream);
// argmax, whose index also goes to stepId (device memory: a recorded step's token) with `pos` to stepPos (its
// position), and to hostToken (pinned host memory mapped for the device: read once the kernel is done);
// nothing of these where stepId is null.
void argmaxToStep(const float* x, int64_t n, void* scratch, int32_t* stepId, int64_t* stepPos, int64_t pos,
                  int32_t* hostToken, cudaStream_t stream);
// Sampling where the logits live (sampling.cu): the best entries of x[0..n) (larger value first, ties by
// the lower index; as Backend::bestOfRow describes, at most kBestOfRowMax) and the row's sum of
// exp((x - max) * invTemperature), into result (bestOfRowResultBytes(): device memory, or mapped pinned host
// memory that the host reads once the stream has synchronised). scratch: bestOfRowScratchBytes() of device
// memory, zeroed once before the first call and not shared between streams. bestOfRowRead takes a host copy
// of the result into best (value, index), best first: returns how many, or -1 when the row holds a NaN or
// +inf (best is then empty).
constexpr int kBestOfRowMax = 1024;
int64_t bestOfRowScratchBytes();
int64_t bestOfRowResultBytes();
void bestOfRow(const float* x, int64_t n, int count, float invTemperature, void* scratch, void* result,
               cudaStream_t stream);
int bestOfRowRead(const void* hostResult, std::vector<std::pair<float, int32_t>>& best, double* total);
// Programmatic dependent launch for the decode step's kernels (common.cuh: launchKernel). While on, each
// launch of those kernels lets it start before the previous kernel has finished (it waits for it inside);
// the first launch after setProgrammaticLaunch(true) or programmaticBarrier() is a plain one, for a
// kernel that follows a memset or copy. Per host thread; off by default.
void setProgrammaticLaunch(bool on);
void programmaticBarrier();
bool takeProgrammaticLaunch();
// Sets the kernels' shared-memory limits; call once per device before launching.
void configureKernels();
// Splits per (KV head, 16-head group) for decodeAttention on a device with `sms` multiprocessors.
int decodeMaxSplits(int sms, int numKvHeads);

}  // namespace glm::cuda
