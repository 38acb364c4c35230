// The public face of the engine: load a model, inspect it, open sessions that hold a KV cache.
//
//   auto model = glm::Model::load({.path = dir, .backend = glm::BackendKind::Auto}, onProgress);
//   auto ids = model->chatFormat().render(messages);
//   auto session = model->newSession();
//   session->prefill(ids, onProgress);              // reuses the longest common prefix already cached
//   glm::Sampler sampler(params);
//   for (;;) { int32_t t = session->sample(sampler); if (stop(t)) break; session->append(t); }
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "glmengine/chat_format.h"
#include "glmengine/config.h"
#include "glmengine/error.h"
#include "glmengine/sampling.h"
#include "glmengine/tokenizer.h"
#include "glmengine/types.h"

namespace glm {

enum class BackendKind { Auto, Cpu, Cuda, Vulkan };
std::string_view backendName(BackendKind k);          // "auto", "cpu", "cuda", "vulkan"
BackendKind parseBackendKind(std::string_view name);  // throws glm::Error listing the choices

struct LoadOptions {
  std::filesystem::path path;          // a model folder as downloaded (config.json, *.safetensors, tokenizer)
  std::string randomWeights;           // instead of path: a named real shape with random weights
  uint64_t randomSeed = 1;
  std::filesystem::path tokenizerPath; // optional: a tokenizer file to use instead of the folder's
  BackendKind backend = BackendKind::Auto;
  int64_t contextLength = 0;           // tokens the KV cache holds; 0 = min(model maximum, 8192)
  int threads = 0;                     // CPU threads; 0 = all cores
  DType kvCacheType = DType::F32;      // F32, BF16 or I8 (8-bit values, a scale per position and KV head)
  int prefillChunk = 256;              // tokens per forward pass while prefilling
  int gpuDevice = -1;                  // Vulkan device index (glmchat-cli devices); -1 = the best GPU
  // Linear layers as in the checkpoint, or quantized on load (int8 per row, int4 in groups; the result is
  // cached in the user's cache folder). With a quantized format the output layer (LM head) and the
  // embedding table are int8 per row.
  WeightFormat weights = WeightFormat::Native;
  // Told each long step of loading as it starts ("quantizing the weights to int4: no cache yet"), for a
  // progress label; progress then counts that step's units.
  std::function<void(const std::string&)> onStage;
};

// The Vulkan devices of this machine, as the Vulkan backend library sees them (LoadOptions::gpuDevice
// takes the index). Throws glm::Error with the reason when the library or Vulkan itself is missing.
struct VulkanDeviceInfo {
  int index = 0;
  std::string name, type, api;  // type: discrete, integrated, virtual, cpu, other
  int64_t memoryBytes = 0;
};
std::vector<VulkanDeviceInfo> listVulkanDevices();

// What a model needs in memory, planned before anything is allocated.
struct MemoryPlan {
  int64_t weightBytes = 0;   // as used by the backend (mmap'd on the CPU: counted, not copied)
  int64_t kvCacheBytes = 0;  // for the planned context length
  int64_t scratchBytes = 0;  // activations of one prefill chunk + logits
  int64_t total() const { return weightBytes + kvCacheBytes + scratchBytes; }
};
MemoryPlan planMemory(const ModelConfig& config, int64_t contextLength, DType kvCacheType, int prefillChunk,
                      WeightFormat weights = WeightFormat::Native);
// Bytes of the weights in a format: the linear layers in it, the output layer and the embedding int8 when
// it is quantized (else as stored), the norms as stored (F32 shapes: 4 bytes, else 2).
int64_t weightBytes(const ModelConfig& config, WeightFormat weights);
// The prefill chunk to plan with when GPU memory is short: `preferred` if its plan fits, else the largest
// of preferred/2, preferred/4, ... (not below 256 tokens) whose plan fits, else the smallest one tried.
int fitPrefillChunk(const ModelConfig& config, int64_t contextLength, DType kvCacheType, int preferred,
                    const std::function<bool(const MemoryPlan&)>& fits, WeightFormat weights = WeightFormat::Native);

struct ModelInfo {
  ModelConfig config;
  std::string source;          // folder path or "random:<shape>"
  std::string backend;         // the backend in use
  std::string backendReason;   // why this backend (and why not the others, when Auto or a fallback)
  std::string cpuIsa;          // vector path of the CPU kernels
  int threads = 0;
  int64_t parameterCount = 0;
  int64_t contextLength = 0;
  DType kvCacheType = DType::F32;
  WeightFormat weights = WeightFormat::Native;
  MemoryPlan memory;
  std::string tokenizerKind;   // "" when the model has no tokenizer (random weights)
  std::vector<std::string> notes;
};

class Session;

class Model {
 public:
  // Loads (or, with randomWeights, builds) a model. Throws glm::Error naming the file, tensor or field
  // at fault; glm::Cancelled when progress returned false.
  static std::unique_ptr<Model> load(const LoadOptions& options, const ProgressFn& progress = {});
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  const ModelConfig& config() const { return info().config; }
  virtual bool hasTokenizer() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;    // throws when there is none
  virtual const ChatFormat& chatFormat() const = 0;  // throws when there is no tokenizer
  virtual std::unique_ptr<Session> newSession() = 0;
};

struct PrefillStats {
  int64_t reusedTokens = 0;    // already in the KV cache (common prefix)
  int64_t computedTokens = 0;  // run through the model now
};

class Session {
 public:
  virtual ~Session() = default;

  // Makes the KV cache hold exactly `tokens`, keeping the longest common prefix of what it held, and
  // computes the logits of the last token. progress(done, total) counts tokens of this call; when it
  // returns false the prefill stops after the current chunk and throws glm::Cancelled (the cache then
  // holds the prefix computed so far). A prompt longer than the context throws glm::Error.
  virtual PrefillStats prefill(std::span<const int32_t> tokens, const ProgressFn& progress = {}) = 0;

  // Appends one token (a decode step); its logits become the current ones.
  virtual void append(int32_t token) = 0;

  // Logits of the last token in the cache (vocabSize values).
  virtual std::span<const float> logits() const = 0;

  // Samples the next token from the current logits (repetition penalty sees the cached tokens).
  virtual int32_t sample(Sampler& sampler) = 0;

  // Runs `tokens` from position 0 and returns the logits at each of `positions` (row-major,
  // positions.size() x vocab). Used by `glmchat-cli logits` and the parity tests. Leaves the cache
  // holding `tokens`.
  virtual std::vector<float> logitsAt(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                                      const ProgressFn& progress = {}) = 0;

  virtual const std::vector<int32_t>& tokens() const = 0;
  virtual int64_t contextLength() const = 0;
  virtual void reset() = 0;
};

std::string_view engineVersion();

}  // namespace glm
