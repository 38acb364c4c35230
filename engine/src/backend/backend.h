// The Backend interface: the handful of operations the GLM forward pass is written in. Backends own
// their memory; activations cross this interface as Tensor handles, weights as WeightHandles that know
// their storage format (so 8-bit and 4-bit formats can be added without touching the model code).
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "glmengine/error.h"
#include "glmengine/model.h"
#include "glmengine/types.h"
#include "io/model_weights.h"
#include "quant/quant_format.h"

namespace glm {

// A 2-D activation tensor in backend memory: rows x cols, row stride in elements.
struct Tensor {
  void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0, stride = 0;

  Tensor rowSlice(int64_t r0, int64_t n) const {
    Tensor t = *this;
    t.data = static_cast<char*>(data) + r0 * stride * int64_t(dtypeSize(dtype));
    t.rows = n;
    return t;
  }
  Tensor colSlice(int64_t c0, int64_t n) const {
    Tensor t = *this;
    t.data = static_cast<char*>(data) + c0 * int64_t(dtypeSize(dtype));
    t.cols = n;
    return t;
  }
  float* f32() const { return static_cast<float*>(data); }
};


// Backend-specific storage of one weight (a linear layer, a norm vector, the embedding table).
struct Weight {
  virtual ~Weight() = default;
  WeightFormat format = WeightFormat::Native;
  int64_t rows = 0, cols = 0;  // a vector is 1 x cols
  int64_t bytes = 0;           // device/host bytes this weight occupies
};
using WeightHandle = const Weight*;

// Rotary embedding parameters, distilled from RopeConfig: the frequencies of the rotaryDim/2 adjacent
// pairs and the factor YaRN applies to cos/sin. angle(pos, i) = float(pos) * invFreq[i] in fp32, as the
// reference implementations compute it.
struct RopeParams {
  std::vector<float> invFreq;
  float attentionScaling = 1.0f;
  int rotaryDim = 0;
};

// The KV cache of one session: per layer, K and V for `capacity` positions x kvHeads x headDim.
struct KvCache {
  virtual ~KvCache() = default;
  void setShape(int layers, int kvHeads, int dim, int64_t positions, DType type) {
    numLayers = layers;
    numKvHeads = kvHeads;
    headDim = dim;
    capacity = positions;
    dtype = type;
  }
  int numLayers = 0, numKvHeads = 0, headDim = 0;
  int64_t capacity = 0;
  DType dtype = DType::F32;
  int64_t bytes = 0;
};

struct AttentionShape {
  int numHeads = 0, numKvHeads = 0, headDim = 0;
  float scale = 0.0f;  // 1/sqrt(headDim)
};

// The 8-bit KV cache's rule (createKvCache with DType::I8) for one vector of n values: writes q, returns s.
inline float quantizeKvVector(const float* x, int n, int8_t* q) {
  float a = 0.0f;
  for (int i = 0; i < n; ++i) a = std::fmax(a, std::fabs(x[i]));
  if (!(a > 0.0f)) {  // all zero (or NaN: stored as zero rather than poisoning every later score)
    for (int i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  const float inv = 127.0f / a;
  for (int i = 0; i < n; ++i) q[i] = int8_t(std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(x[i] * inv))));
  return a / 127.0f;
}

// Checks every backend makes before an op, with one message each (inline: the GPU backend modules do not
// link the engine's libraries).
// Every id must index a row of the embedding table.
inline void checkTokenIds(std::span<const int32_t> ids, int64_t vocabRows) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocabRows)
      throw Error(fmt::format("token id {} at position {} is outside the vocabulary (0..{})", ids[i], i, vocabRows - 1));
}
// Positions pos0 .. pos0 + rows - 1 must fit the cache.
inline void checkKvCapacity(const KvCache& cache, int64_t pos0, int64_t rows) {
  if (pos0 + rows > cache.capacity)
    throw Error(fmt::format("KV cache overflow: positions up to {} but the context holds {} tokens", pos0 + rows,
                            cache.capacity));
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string describe() const = 0;  // device name, ISA, threads

  // Weights. A LinearView may be several row blocks (q/k/v) that act as one matrix.
  virtual WeightHandle uploadLinear(const LinearView& view, WeightFormat format) = 0;
  // A quantized linear layer (int8 per row or int4 in groups: quant/quant_format.h). `view` gives the
  // bias and the shape; its weight parts are not read. q's memory outlives the model (the engine's
  // quantized store), so a backend may use it in place. matmul and the fused calls take the handle
  // like any other. A backend without kernels for the format says so (the default).
  virtual bool supportsWeights(WeightFormat format) const { return format == WeightFormat::Native; }
  virtual WeightHandle uploadQuantized(const QuantizedView& q, const LinearView& view) {
    throw Error(fmt::format("the {} backend has no kernels for {} weights yet (use --weights bf16)", name(),
                            weightFormatName(q.format)));
  }
  virtual WeightHandle uploadVector(const TensorView& view) = 0;     // norm weights
  virtual WeightHandle uploadEmbedding(const TensorView& view) = 0;  // [vocab x hidden] table
  // The embedding table in int8 per row (q.format Int8, rows = vocabulary: quant_format.h's int8 layout),
  // kept where the linear layers are quantized. embed() takes the handle like the other.
  virtual WeightHandle uploadQuantizedEmbedding(const QuantizedView& q) {
    throw Error(fmt::format("the {} backend has no kernels for an int8 embedding table yet", name()));
  }

  virtual Tensor allocate(int64_t rows, int64_t cols) = 0;           // F32 activations
  // dtype F32, BF16 or I8. I8 is the 8-bit cache (--kv-cache int8): every (layer, position, KV head)
  // vector of K (after RoPE) and of V is stored as headDim int8 values q and one fp32 scale s:
  // a = max |x|, s = a / 127, q = round-to-nearest-even(x * (127 / a)) (all q = 0 and s = 0 where a = 0);
  // x is read back as q * s. How a backend lays out q and s is its own.
  virtual std::unique_ptr<KvCache> createKvCache(int numLayers, int numKvHeads, int headDim,
                                                 int64_t capacity, DType dtype) = 0;

  // out[i] = table[ids[i]]
  virtual void embed(WeightHandle table, std::span<const int32_t> ids, Tensor out) = 0;
  // out = rmsNorm(x) * w
  virtual void rmsNorm(Tensor x, WeightHandle w, float eps, Tensor out) = 0;
  // residual += x; out = rmsNorm(residual) * w   (the fused residual add of every layer step)
  virtual void addRmsNorm(Tensor residual, Tensor x, WeightHandle w, float eps, Tensor out) = 0;
  // residual += x
  virtual void add(Tensor residual, Tensor x) = 0;
  // out = x * W^T (+ bias)
  virtual void matmul(Tensor x, WeightHandle w, Tensor out) = 0;
  // scratch = x * W^T (+ bias); residual += scratch; normed = rmsNorm(residual) * norm: a layer's output
  // projection, residual add and the next norm in one call, so that a backend may fuse them (CUDA, in a
  // recorded decode step: the GEMV's epilogue adds and leaves `normed` unscaled, the GEMV reading it
  // applies the scale). scratch is a workspace: what it holds afterwards is unspecified.
  virtual void matmulAddNorm(Tensor x, WeightHandle w, Tensor residual, WeightHandle norm, float eps, Tensor normed,
                             Tensor scratch) {
    matmul(x, w, scratch);
    addRmsNorm(residual, scratch, norm, eps, normed);
  }
  // Rotates the Q and K parts of qkv (rows = positions pos0..pos0+rows-1) in place and writes K and
  // V of those positions into the cache of `layer`.
  virtual void ropeAppendKv(Tensor qkv, const AttentionShape& shape, const RopeParams& rope,
                            KvCache& cache, int layer, int64_t pos0) = 0;
  // qkv = x * W^T (+ bias), then ropeAppendKv(qkv, ...): the QKV projection and the rotary/KV append in
  // one call, so that a backend may fuse them (CUDA, in a recorded decode step: in the GEMV's epilogue).
  virtual void matmulRopeAppend(Tensor x, WeightHandle w, Tensor qkv, const AttentionShape& shape,
                                const RopeParams& rope, KvCache& cache, int layer, int64_t pos0) {
    matmul(x, w, qkv);
    ropeAppendKv(qkv, shape, rope, cache, layer, pos0);
  }
  // Causal attention of the Q part of qkv (positions pos0..) over the cache [0, pos0 + rows); out is
  // rows x numHeads*headDim.
  virtual void attention(Tensor qkv, const AttentionShape& shape, const KvCache& cache, int layer,
                         int64_t pos0, Tensor out) = 0;
  // out = silu(gateUp[:, :ffn]) * gateUp[:, ffn:]
  virtual void swiGlu(Tensor gateUp, Tensor out) = 0;
  // gateUp = x * W^T (+ bias), then swiGlu(gateUp, out): the MLP's gate/up projection and SwiGLU in one
  // call, so that a backend may fuse them (Vulkan, for one row: the GEMV pairs gate row i with up row i
  // and writes only out). gateUp is a workspace: what it holds afterwards is unspecified.
  virtual void matmulSwiGlu(Tensor x, WeightHandle w, Tensor gateUp, Tensor out) {
    matmul(x, w, gateUp);
    swiGlu(gateUp, out);
  }
  // dst row i = src row rows[i]
  virtual void gatherRows(Tensor src, std::span<const int64_t> rows, Tensor dst) = 0;
  // Copies host floats (rows x cols, dense) into a tensor, and a tensor back to host floats.
  virtual void upload(const float* host, Tensor t) = 0;
  virtual void download(Tensor t, float* host) = 0;
  virtual void synchronize() = 0;

  // --- Planning (defaults suit a host backend) ---
  // The KV cache dtype this backend stores for a requested one (the CUDA backend keeps bf16).
  virtual DType kvCacheType(DType requested) const { return requested; }
  // Prefill chunk used when the caller kept the default.
  virtual int preferredPrefillChunk() const { return 256; }
  // Checks the memory plan against what the device has free; throws glm::Error with the numbers.
  virtual void checkMemory(const MemoryPlan& plan, int64_t contextLength) {}

  // --- Recorded decode steps (CUDA graphs) ---
  // A backend that can record one decode step (one token through every layer and the LM head) and
  // replay it returns true here. The forward pass then calls setStepInputs() before each step and
  // either replayStep() or, when that returns false, beginStepCapture(), the ops of the step and
  // endStepCapture(). Between begin and end the ops read the token and its position from the device
  // copies setStepInputs() made, not from their host arguments, so the recording serves every later
  // position. A recording belongs to one KV cache (replayStep returns false for another).
  virtual bool supportsStepCapture() const { return false; }
  virtual void setStepInputs(std::span<const int32_t> ids, int64_t pos0) {}
  virtual bool replayStep(const KvCache& cache) { return false; }
  virtual void beginStepCapture() {}
  virtual void endStepCapture(const KvCache& cache) {}
  virtual void abortStepCapture() {}  // an op failed while recording: drop the recording

  // Sampling where the logits live (Sampler::sampleFromBest): the best entries of row 0 of t, larger value
  // first and ties by the lower index (a prefix of the row's ranking: at least `count` <= 1024 of those
  // whose weight exp((x - max) * invTemperature) is above e^-32, a few more where values share the cut,
  // fewer only where more than 1024 do), and the sum of those weights over the row. Returns false where
  // the backend has no such operation, finds no candidate, or the row holds a NaN or +inf: then the caller
  // downloads the row.
  virtual bool bestOfRow(Tensor t, int count, float invTemperature, std::vector<std::pair<float, int32_t>>& best,
                         double& total) {
    (void)t, (void)count, (void)invTemperature, (void)best, (void)total;
    return false;
  }
  // The index of the largest value of row 0 of t (greedy sampling where the data lives: only the
  // token crosses to the host).
  virtual int32_t argmaxRow(Tensor t) {
    std::vector<float> row(size_t(t.cols));
    download(t.rowSlice(0, 1), row.data());
    int32_t best = 0;
    for (int64_t i = 1; i < t.cols; ++i)
      if (row[size_t(i)] > row[size_t(best)]) best = int32_t(i);
    return best;
  }
  // Greedy decoding one step ahead of the host: argmaxRow(t), where the token also becomes, on the device, the
  // input of the recorded step at position `pos` (as setStepInputs({token}, pos) makes it), and that step is
  // launched before the token reaches the host when the recording serves it (as replayStep would). Sets
  // `launched` when it was: the step's work then follows as if step(token, pos) had been called. The
  // default launches nothing.
  virtual int32_t argmaxRowThenStep(Tensor t, const KvCache& cache, int64_t pos, bool& launched) {
    (void)cache, (void)pos;
    launched = false;
    return argmaxRow(t);
  }
};

// The CPU backend (the reference). threads = 0: all cores.
std::unique_ptr<Backend> createCpuBackend(int threads);

// The CUDA backend, loaded at run time from libglmchat-backend-cuda.so (searched in $GLMCHAT_BACKEND_DIR,
// the running executable's folder and its ../lib/glmchat/). Returns nullptr and sets `reason` when the
// library is missing, cannot be loaded, or finds no CUDA device.
std::unique_ptr<Backend> loadCudaBackend(std::string& reason);

// The Vulkan backend, loaded at run time from libglmchat-backend-vulkan.so (same search as CUDA).
// device < 0 picks the first discrete GPU, else integrated, else any (a software device last).
std::unique_ptr<Backend> loadVulkanBackend(int device, std::string& reason);

// The interface version a backend library must be built against (checked when it is loaded).
inline constexpr int kBackendAbiVersion = 6;

}  // namespace glm
