// The GLM decoder forward pass (GLM-4, ChatGLM2/3, GLM-4-0414), written once over the Backend
// interface. One call runs a chunk of consecutive tokens, appends their K/V to the cache and, for the
// rows asked for, produces logits.
#pragma once
#include <span>
#include <vector>

#include "backend/backend.h"
#include "quant/quant_store.h"
#include "glmengine/config.h"
#include "glmengine/types.h"
#include "io/model_weights.h"

namespace glm {

struct LayerHandles {
  WeightHandle inputNorm = nullptr, qkv = nullptr, attnOut = nullptr, postAttnNorm = nullptr;
  WeightHandle gateUp = nullptr, down = nullptr;
  WeightHandle postSelfAttnNorm = nullptr, postMlpNorm = nullptr;  // GLM-4-0414 only
};

struct ForwardWeights {
  WeightHandle embedding = nullptr;
  std::vector<LayerHandles> layers;
  WeightHandle finalNorm = nullptr, output = nullptr;
  int64_t bytes = 0;
};

// Hands every weight to the backend. progress counts layers. With `quant`, the linear layers are taken
// from it (the layers in its format, the output layer int8; see Model::load).
ForwardWeights uploadWeights(Backend& backend, const ModelWeights& weights, const ProgressFn& progress,
                             const QuantizedStore* quant = nullptr);

class GlmForward {
 public:
  // chunkCapacity: most tokens per run(); maxOutputs: most logit rows per run().
  GlmForward(Backend& backend, const ModelConfig& config, ForwardWeights weights, int chunkCapacity,
             int maxOutputs);

  // ids are at positions pos0 .. pos0 + ids.size() - 1. For each index r in outputRows (into ids), the
  // logits of that position are written to logitsOut (outputRows.size() x vocabSize, row-major).
  void run(std::span<const int32_t> ids, int64_t pos0, KvCache& cache, std::span<const int64_t> outputRows,
           float* logitsOut);

  // One decode step: `token` at position `pos`; its logits go to logitsOut (vocabSize floats) unless
  // logitsOut is null (then they stay in the backend for greedyToken()). Replays the backend's recorded
  // step (a CUDA graph) where it has one, records it on first use.
  void step(int32_t token, int64_t pos, KvCache& cache, float* logitsOut);
  // The argmax of the last logits row computed (run's first output row or step's), found by the backend.
  int32_t greedyToken(int64_t vocabLimit);  // argmax over ids < vocabLimit
  // greedyToken, then the step of that token at `pos` already under way where the backend can start it
  // before the token reaches the host (Backend::argmaxRowThenStep): `launched` says so, and the logits are
  // then that step's. GLMCHAT_STEP_AHEAD=0 turns it off; =always also runs the step here (synchronously)
  // on backends without it, which tests the callers' bookkeeping (GlmSession) on the CPU backend.
  int32_t greedyTokenThenStep(int64_t vocabLimit, KvCache& cache, int64_t pos, bool& launched);
  // The best candidates of the last logits row (ids < vocabLimit) and its softmax sum, found by the
  // backend (Backend::bestOfRow); false where it cannot (then download the row).
  bool bestOfLogits(int64_t vocabLimit, int count, float invTemperature, std::vector<std::pair<float, int32_t>>& best,
                    double& total);
  // Copies the logits of the last step (vocabSize floats) to the host.
  void downloadLogits(float* out) { backend_.download(logits_.rowSlice(0, 1), out); }

  int chunkCapacity() const { return chunkCapacity_; }
  int maxOutputs() const { return maxOutputs_; }
  const RopeParams& rope() const { return rope_; }
  static int64_t scratchBytes(const ModelConfig& config, int chunkCapacity, int maxOutputs);

 private:
  // Embedding, every layer and the residual stream of n tokens (x holds the final residual).
  void layers(std::span<const int32_t> ids, int64_t pos0, KvCache& cache);
  // Final norm and LM head of the chosen rows into logits_.
  void head(std::span<const int64_t> outputRows);

  Backend& backend_;
  const ModelConfig config_;
  ForwardWeights w_;
  RopeParams rope_;
  AttentionShape shape_;
  int chunkCapacity_, maxOutputs_;
  enum class StepAhead { Off, Backend, Always } stepAhead_ = StepAhead::Backend;  // GLMCHAT_STEP_AHEAD
  // Activations of one chunk (rows = tokens): residual stream, normed input, fused QKV, attention
  // output, projections, gate/up and the SwiGLU product; then the rows that produce logits.
  Tensor residual_, normed_, qkv_, attn_, proj_, gateUp_, ffn_, selected_, selectedNormed_, logits_;
};

}  // namespace glm
