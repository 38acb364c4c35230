// Model loading (folder or random weights), backend choice, memory plan, and sessions.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "glmengine/model.h"
#include "io/model_weights.h"
#include "io/safetensors.h"
#include "model/glm_forward.h"
#include "model/random_weights.h"
#include "quant/quant_store.h"

namespace fs = std::filesystem;

namespace glm {

std::string_view engineVersion() { return GLMCHAT_VERSION; }

std::string_view backendName(BackendKind k) {
  switch (k) {
    case BackendKind::Auto: return "auto";
    case BackendKind::Cpu: return "cpu";
    case BackendKind::Cuda: return "cuda";
    case BackendKind::Vulkan: return "vulkan";
  }
  return "?";
}

BackendKind parseBackendKind(std::string_view name) {
  for (BackendKind k : {BackendKind::Auto, BackendKind::Cpu, BackendKind::Cuda, BackendKind::Vulkan})
    if (backendName(k) == name) return k;
  throw Error(fmt::format("unknown backend '{}': choose auto, cpu, cuda or vulkan", name));
}

int64_t weightBytes(const ModelConfig& c, WeightFormat weights) {
  const int64_t elem = int64_t(dtypeSize(c.dtype == DType::F32 ? DType::F32 : DType::BF16));
  if (weights == WeightFormat::Native) return parameterCount(c) * elem;
  const int64_t hidden = c.hiddenSize, ffn = c.ffnHiddenSize, vocab = c.vocabSize, qkvRows = c.qkvRows();
  const int64_t attnWidth = int64_t(c.numHeads) * c.headDim;
  const int64_t linears = quantizedBytes(weights, qkvRows, hidden) + quantizedBytes(weights, hidden, attnWidth) +
                          quantizedBytes(weights, 2 * ffn, hidden) + quantizedBytes(weights, hidden, ffn);
  const int64_t perLayerRest = ((c.postNorms ? 4 : 2) * hidden + (c.qkvBias ? qkvRows : 0)) * elem;
  return c.numLayers * (linears + perLayerRest) + hidden * elem + 2 * quantizedBytes(WeightFormat::Int8, vocab, hidden);
}

MemoryPlan planMemory(const ModelConfig& c, int64_t contextLength, DType kvCacheType, int prefillChunk,
                      WeightFormat weights) {
  MemoryPlan p;
  p.weightBytes = weightBytes(c, weights);
  p.kvCacheBytes = int64_t(c.numLayers) * contextLength * kvCacheBytesPerPosition(kvCacheType, c.numKvHeads, c.headDim);
  p.scratchBytes = GlmForward::scratchBytes(c, prefillChunk, 64);  // 64 = kMaxOutputsPerChunk
  // Quantized weights on a GPU: a prefill GEMM widens its layer's weight to bf16 first (the largest, gate/up).
  if (weights != WeightFormat::Native)
    p.scratchBytes += std::min<int64_t>(int64_t(2) * c.ffnHiddenSize * c.hiddenSize * 2, kMaxWidenedWeightBytes);
  // An 8-bit cache on a GPU: prefill attention reads one layer's cache prefix widened to bf16.
  if (kvCacheType == DType::I8) p.scratchBytes += int64_t(contextLength) * kvCacheBytesPerPosition(DType::BF16, c.numKvHeads, c.headDim);
  return p;
}

int fitPrefillChunk(const ModelConfig& config, int64_t contextLength, DType kvCacheType, int preferred,
                    const std::function<bool(const MemoryPlan&)>& fits, WeightFormat weights) {
  int chunk = preferred;
  while (!fits(planMemory(config, contextLength, kvCacheType, chunk, weights))) {
    if (chunk <= 256) return chunk;
    chunk = std::max(256, chunk / 2);
  }
  return chunk;
}

namespace {

constexpr int kMaxOutputsPerChunk = 64;

class GlmModel;

class GlmSession final : public Session {
 public:
  GlmSession(GlmModel& model, std::unique_ptr<KvCache> cache);
  PrefillStats prefill(std::span<const int32_t> tokens, const ProgressFn& progress) override;
  void append(int32_t token) override;
  std::span<const float> logits() const override;
  int32_t sample(Sampler& sampler) override;
  std::vector<float> logitsAt(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                              const ProgressFn& progress) override;
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  int64_t contextLength() const override { return cache_->capacity; }
  void reset() override {
    tokens_.clear();
    logitsValid_ = false;
    logitsOnDevice_ = false;
    aheadPos_ = -1;
  }

 private:
  void checkFits(size_t count) const;
  // The step that sample() launched ahead (greedy) is not taken, so the device's logits are no longer those
  // of tokens_.back(): dropAhead marks them missing, restoreAhead computes them again (the last token's step
  // once more, which writes its KV entry again). The cache entry the step ahead wrote lies past tokens_ and
  // is overwritten by whatever comes next there.
  void dropAhead();
  void restoreAhead() const;
  GlmModel& model_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> tokens_;  // what the KV cache holds, in order
  mutable std::vector<float> logits_;  // logits of tokens_.back() when logitsValid_
  std::vector<std::pair<float, int32_t>> best_;  // sample(): the device's best candidates
  bool logitsValid_ = false;
  mutable bool logitsOnDevice_ = false;  // after a decode step: still in the backend until asked for
  // Greedy sample() may start the step of the token it returns before returning it
  // (GlmForward::greedyTokenThenStep): at position aheadPos_ (-1: none), for aheadToken_; append() of that token
  // then takes it instead of running it.
  mutable int64_t aheadPos_ = -1;
  int32_t aheadToken_ = 0;
};

class GlmModel final : public Model {
 public:
  ModelInfo info_;
  std::unique_ptr<WeightStore> store_;
  std::unique_ptr<QuantizedStore> quant_;  // --weights int8/int4 (outlives the backend: used in place)
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<GlmForward> forward_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ChatFormat> chatFormat_;

  const ModelInfo& info() const override { return info_; }
  bool hasTokenizer() const override { return tokenizer_ != nullptr; }
  const Tokenizer& tokenizer() const override {
    if (!tokenizer_)
      throw Error(fmt::format("{}: this model has no tokenizer (give one with --tokenizer)", info_.source));
    return *tokenizer_;
  }
  const ChatFormat& chatFormat() const override {
    if (!chatFormat_)
      throw Error(fmt::format("{}: this model has no tokenizer, so no chat format", info_.source));
    return *chatFormat_;
  }
  std::unique_ptr<Session> newSession() override {
    auto cache = backend_->createKvCache(info_.config.numLayers, info_.config.numKvHeads, info_.config.headDim,
                                         info_.contextLength, info_.kvCacheType);
    return std::make_unique<GlmSession>(*this, std::move(cache));
  }
  GlmForward& forward() { return *forward_; }
};

GlmSession::GlmSession(GlmModel& model, std::unique_ptr<KvCache> cache)
    : model_(model), cache_(std::move(cache)), logits_(size_t(model.info_.config.vocabSize)) {}

void GlmSession::checkFits(size_t count) const {
  if (int64_t(count) > cache_->capacity)
    throw Error(fmt::format("{} tokens do not fit in the context of {} tokens (choose a larger context length)",
                            count, cache_->capacity));
}

void GlmSession::dropAhead() {
  if (aheadPos_ < 0) return;
  aheadPos_ = -1;
  logitsValid_ = false;
  logitsOnDevice_ = false;
}

void GlmSession::restoreAhead() const {
  if (aheadPos_ < 0) return;
  aheadPos_ = -1;
  model_.forward().step(tokens_.back(), int64_t(tokens_.size()) - 1, *cache_, nullptr);  // logitsValid_ holds
  logitsOnDevice_ = true;
}

PrefillStats GlmSession::prefill(std::span<const int32_t> tokens, const ProgressFn& progress) {
  if (tokens.empty()) throw Error("prefill: the prompt has no tokens");
  dropAhead();
  checkFits(tokens.size());
  size_t common = 0;
  while (common < tokens.size() && common < tokens_.size() && tokens[common] == tokens_[common]) ++common;
  if (common == tokens.size() && tokens_.size() == tokens.size() && logitsValid_)
    return {int64_t(common), 0};
  if (common == tokens.size()) --common;  // the last token must run again to give its logits
  tokens_.resize(common);
  logitsValid_ = false;
  logitsOnDevice_ = false;

  GlmForward& fwd = model_.forward();
  const int64_t total = int64_t(tokens.size() - common);
  int64_t done = 0;
  if (progress && !progress(0, total)) throw Cancelled();
  for (size_t start = common; start < tokens.size();) {
    const size_t n = std::min(tokens.size() - start, size_t(fwd.chunkCapacity()));
    const bool last = start + n == tokens.size();
    const int64_t lastRow = int64_t(n) - 1;
    fwd.run(tokens.subspan(start, n), int64_t(start), *cache_,
            last ? std::span<const int64_t>(&lastRow, 1) : std::span<const int64_t>(), logits_.data());
    tokens_.insert(tokens_.end(), tokens.begin() + std::ptrdiff_t(start), tokens.begin() + std::ptrdiff_t(start + n));
    start += n;
    done += int64_t(n);
    if (last) logitsValid_ = true;
    if (progress && !progress(done, total) && !last) throw Cancelled();
  }
  return {int64_t(common), total};
}

void GlmSession::append(int32_t token) {
  checkFits(tokens_.size() + 1);
  if (aheadPos_ >= 0 && aheadToken_ == token && aheadPos_ == int64_t(tokens_.size())) {
    aheadPos_ = -1;  // that step is already under way (or done): its logits are the current ones
    tokens_.push_back(token);
    logitsValid_ = true;
    logitsOnDevice_ = true;
    return;
  }
  dropAhead();
  logitsValid_ = false;
  logitsOnDevice_ = false;
  // The step leaves the logits in the backend: greedy sampling takes only the token from there.
  model_.forward().step(token, int64_t(tokens_.size()), *cache_, nullptr);
  tokens_.push_back(token);
  logitsValid_ = true;
  logitsOnDevice_ = true;
}

std::span<const float> GlmSession::logits() const {
  restoreAhead();
  if (!logitsValid_) throw Error("session: no logits yet (prefill or append first)");
  if (logitsOnDevice_) {
    model_.forward().downloadLogits(logits_.data());
    logitsOnDevice_ = false;
  }
  return logits_;
}

int32_t GlmSession::sample(Sampler& sampler) {
  restoreAhead();  // sampled before and not appended: the logits of tokens_.back() again
  const SamplingParams& p = sampler.params();
  // Rows past the tokenizer's last id are padding of the embedding/output matrices (GLM-4: 151343..151551):
  // never sample them, whatever their logits.
  const int64_t vocab = model_.info_.config.vocabSize;
  const int64_t usable = model_.hasTokenizer() ? std::min<int64_t>(model_.tokenizer().size(), vocab) : vocab;
  if (logitsValid_ && logitsOnDevice_ && p.greedy() && p.repetitionPenalty == 1.0f) {
    // The token's own step starts on the device before the token reaches us: nearly always the caller
    // appends it next (else append, prefill or logits set things right).
    bool launched = false;
    const int64_t next = int64_t(tokens_.size());
    const int32_t token = model_.forward().greedyTokenThenStep(usable, *cache_, next, launched);
    if (launched) {
      aheadPos_ = next;
      aheadToken_ = token;
    }
    return token;
  }
  if (logitsValid_ && logitsOnDevice_ && p.repetitionPenalty == 1.0f) {
    // The device finds the best candidates and the softmax sum; the row crosses to the host only when
    // the tokens that may be drawn reach past them (a flat distribution, a large top-k).
    const int count = std::clamp(p.topK > 0 ? p.topK : 256, 256, 1024);
    double total = 0.0;
    if (model_.forward().bestOfLogits(usable, count, p.invTemperature(), best_, total)) {
      const int32_t token = sampler.sampleFromBest(best_, total, size_t(usable));
      if (token >= 0) return token;
    }
  }
  return sampler.sample(logits().first(size_t(usable)), tokens_);
}

std::vector<float> GlmSession::logitsAt(std::span<const int32_t> tokens, std::span<const int64_t> positions,
                                        const ProgressFn& progress) {
  if (tokens.empty()) throw Error("logits: no tokens given");
  checkFits(tokens.size());
  for (int64_t p : positions)
    if (p < 0 || p >= int64_t(tokens.size()))
      throw Error(fmt::format("logits: position {} is outside the {} tokens given", p, tokens.size()));
  reset();
  const size_t vocab = size_t(model_.info_.config.vocabSize);
  std::vector<float> out(positions.size() * vocab);
  GlmForward& fwd = model_.forward();
  std::vector<float> chunkLogits(size_t(fwd.maxOutputs()) * vocab);
  const int64_t total = int64_t(tokens.size());
  for (size_t start = 0; start < tokens.size();) {
    size_t n = std::min(tokens.size() - start, size_t(fwd.chunkCapacity()));
    // Rows of this chunk that were asked for (a position may be asked for more than once).
    std::vector<int64_t> rows;
    std::vector<size_t> slots;
    for (size_t i = 0; i < positions.size(); ++i) {
      const int64_t p = positions[i];
      if (p >= int64_t(start) && p < int64_t(start + n)) {
        rows.push_back(p - int64_t(start));
        slots.push_back(i);
      }
    }
    if (int64_t(rows.size()) > fwd.maxOutputs()) {  // too many outputs in one chunk: shorten the chunk
      n = size_t(rows[size_t(fwd.maxOutputs())]);
      rows.resize(size_t(fwd.maxOutputs()));
      slots.resize(rows.size());
      while (!rows.empty() && rows.back() >= int64_t(n)) { rows.pop_back(); slots.pop_back(); }
      if (n == 0) n = 1;
    }
    fwd.run(tokens.subspan(start, n), int64_t(start), *cache_, rows, chunkLogits.data());
    for (size_t i = 0; i < slots.size(); ++i)
      std::copy_n(chunkLogits.begin() + std::ptrdiff_t(i * vocab), vocab, out.begin() + std::ptrdiff_t(slots[i] * vocab));
    tokens_.insert(tokens_.end(), tokens.begin() + std::ptrdiff_t(start), tokens.begin() + std::ptrdiff_t(start + n));
    start += n;
    if (progress && !progress(int64_t(start), total)) throw Cancelled();
  }
  return out;
}

// Picks the backend. Auto takes CUDA when its library loads and finds a device, else Vulkan on a real
// GPU (a software Vulkan device such as lavapipe is slower than our CPU kernels), else the CPU, and
// says why; an explicit choice that cannot be met is an error with the reason.
std::unique_ptr<Backend> chooseBackend(const LoadOptions& o, std::string& reason) {
  switch (o.backend) {
    case BackendKind::Cpu:
      reason = "CPU backend chosen";
      return createCpuBackend(o.threads);
    case BackendKind::Auto: {
      std::string why;
      if (auto cuda = loadCudaBackend(why)) {
        reason = fmt::format("auto: {} ({})", cuda->describe(), why);
        return cuda;
      }
      std::string vwhy;
      if (auto vk = loadVulkanBackend(o.gpuDevice, vwhy)) {
        const std::string desc = vk->describe();
        if (desc.find("(cpu,") == std::string::npos) {
          reason = fmt::format("auto: CUDA not used: {}; {} ({})", why, desc, vwhy);
          return vk;
        }
        vwhy = fmt::format("only a software device ({}), slower than the CPU backend", desc);
      }
      reason = fmt::format("auto: CUDA not used: {}; Vulkan not used: {}; using the CPU", why, vwhy);
      return createCpuBackend(o.threads);
    }
    case BackendKind::Cuda: {
      std::string why;
      if (auto cuda = loadCudaBackend(why)) {
        reason = fmt::format("CUDA backend chosen: {} ({})", cuda->describe(), why);
        return cuda;
      }
      throw Error(fmt::format("backend 'cuda' is not available: {}", why));
    }
    case BackendKind::Vulkan: {
      std::string why;
      if (auto vk = loadVulkanBackend(o.gpuDevice, why)) {
        reason = fmt::format("Vulkan backend chosen: {} ({})", vk->describe(), why);
        return vk;
      }
      throw Error(fmt::format("backend 'vulkan' is not available: {}", why));
    }
  }
  throw Error("unknown backend");
}

bool hasTokenizerFiles(const fs::path& dir) {
  return fs::exists(dir / "tokenizer.json") || fs::exists(dir / "tokenizer.model");
}

// The linear layers quantized as LoadOptions::weights asks (the output layer int8): from the cache file
// when it is valid, else quantized now on all cores and written to the cache (random weights are not
// cached: they are made anew each time).
std::unique_ptr<QuantizedStore> quantizedWeights(const LoadOptions& o, const ModelWeights& w, ModelInfo& info,
                                                 const ProgressFn& progress) {
  const std::string name(weightFormatName(o.weights));
  std::string identity, why = "random weights are not cached";
  fs::path file;
  if (o.randomWeights.empty()) {
    identity = sourceIdentity(o.path);
    fs::path dir = fs::absolute(o.path).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();
    file = quantCacheDir() / fmt::format("{}-{:016x}-{}.glmq", dir.filename().string(),
                                         std::hash<std::string>{}(dir.string() + "\n" + identity), name);
    if (auto cached = QuantizedStore::open(file, identity, o.weights, why)) {
      info.notes.push_back(fmt::format("{} weights from the cache {}", name, file.string()));
      return cached;
    }
  }
  if (o.onStage)
    o.onStage(fmt::format("quantizing the weights to {} on {} threads ({})", name, omp_get_max_threads(), why));
  const auto t0 = std::chrono::steady_clock::now();
  auto store = quantizeModel(w, o.weights, progress);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (file.empty()) {
    info.notes.push_back(fmt::format("quantized to {} in {:.1f} s ({})", name, seconds, why));
  } else {
    try {
      store->write(file, identity);
      info.notes.push_back(fmt::format("quantized to {} in {:.1f} s ({}); cached in {}", name, seconds, why, file.string()));
    } catch (const Error& e) {
      info.notes.push_back(fmt::format("quantized to {} in {:.1f} s; not cached: {}", name, seconds, e.what()));
    }
  }
  return store;
}

}  // namespace

std::unique_ptr<Model> Model::load(const LoadOptions& o, const ProgressFn& progress) {
  auto model = std::make_unique<GlmModel>();
  ModelInfo& info = model->info_;
  // Weights and config.
  if (!o.randomWeights.empty()) {
    info.config = shapeConfig(o.randomWeights);
    info.source = "random:" + o.randomWeights;
    // Random weights are made in bf16 (the dtype GLM-4 ships in; F32 shapes stay F32).
    if (info.config.dtype != DType::F32) info.config.dtype = DType::BF16;
    model->store_ = makeRandomWeights(info.config, o.randomSeed, info.config.dtype, progress);
  } else {
    if (o.path.empty()) throw Error("no model given: pass a model folder (or random weights of a named shape)");
    if (!fs::is_directory(o.path)) throw Error(fmt::format("{}: not a folder", o.path.string()));
    info.source = o.path.string();
    info.config = parseConfigFile(o.path / "config.json");
    model->store_ = WeightStore::openDirectory(o.path, progress);
  }
  const ModelWeights bound = bindWeights(info.config, *model->store_);

  // Tokenizer and chat format.
  if (!o.tokenizerPath.empty()) {
    model->tokenizer_ = Tokenizer::loadFile(o.tokenizerPath);
  } else if (o.randomWeights.empty() && hasTokenizerFiles(o.path)) {
    model->tokenizer_ = Tokenizer::loadFromModelDir(o.path);
  } else if (o.randomWeights.empty()) {
    info.notes.push_back(fmt::format("{}: no tokenizer.json or tokenizer.model; chat is unavailable", o.path.string()));
  }
  if (model->tokenizer_) {
    info.tokenizerKind = std::string(model->tokenizer_->kind());
    if (model->tokenizer_->size() > info.config.vocabSize)
      throw Error(fmt::format("tokenizer has {} tokens but the model's vocabulary has only {} rows",
                              model->tokenizer_->size(), info.config.vocabSize));
    // The tokenizer tells the family apart better than config.json can: GLM-4's tokenizers are
    // byte-level BPE (tiktoken or tokenizer.json), ChatGLM2/3's are SentencePiece, and only ChatGLM3's
    // has role tokens.
    const Tokenizer& tok = *model->tokenizer_;
    const ModelFamily byTokenizer = tok.kind() != "sentencepiece" ? ModelFamily::Glm4
                                    : tok.specialTokenId("<|user|>") >= 0 ? ModelFamily::ChatGLM3
                                                                          : ModelFamily::ChatGLM2;
    if (byTokenizer != info.config.family) {
      info.notes.push_back(fmt::format("chat format: {} (from the {} tokenizer; config.json suggested {})",
                                       familyName(byTokenizer), tok.kind(), familyName(info.config.family)));
      info.config.family = byTokenizer;
    }
    model->chatFormat_ = ChatFormat::create(info.config, tok);
  }

  // Context and memory plan.
  const int64_t maxCtx = info.config.maxPositions > 0 ? info.config.maxPositions : 8192;
  info.contextLength = o.contextLength > 0 ? o.contextLength : std::min<int64_t>(maxCtx, 8192);
  if (info.contextLength > maxCtx)
    throw Error(fmt::format("context length {} exceeds the model's maximum of {} positions", info.contextLength, maxCtx));
  if (o.kvCacheType != DType::F32 && o.kvCacheType != DType::BF16 && o.kvCacheType != DType::I8)
    throw Error(fmt::format("KV cache type {} is not supported (f32, bf16 or int8)", dtypeName(o.kvCacheType)));

  // Backend, then the memory plan checked against it, then the weights on it.
  model->backend_ = chooseBackend(o, info.backendReason);
  info.backend = model->backend_->name();
  info.kvCacheType = model->backend_->kvCacheType(o.kvCacheType);
  if (info.kvCacheType != o.kvCacheType)
    info.notes.push_back(fmt::format("KV cache {} (the {} backend stores K/V as {})", kvCacheName(info.kvCacheType),
                                     info.backend, kvCacheName(info.kvCacheType)));
  info.weights = o.weights;
  if (!model->backend_->supportsWeights(o.weights))
    throw Error(fmt::format("the {} backend has no kernels for {} weights yet: use --weights bf16 or the CPU backend",
                            info.backend, weightFormatName(o.weights)));
  const bool chunkGiven = o.prefillChunk != LoadOptions{}.prefillChunk;
  int chunk = std::clamp(chunkGiven ? o.prefillChunk : model->backend_->preferredPrefillChunk(), 1, 4096);
  if (!chunkGiven) {  // a GPU a little short of memory: a smaller prefill chunk (less scratch) before giving up
    const int preferred = chunk;
    chunk = fitPrefillChunk(info.config, info.contextLength, info.kvCacheType, preferred, [&](const MemoryPlan& p) {
      try {
        model->backend_->checkMemory(p, info.contextLength);
        return true;
      } catch (const Error&) {
        return false;
      }
    }, o.weights);
    if (chunk != preferred)
      info.notes.push_back(fmt::format("prefill chunk {} tokens instead of {}, to fit the GPU memory", chunk, preferred));
  }
  info.memory = planMemory(info.config, info.contextLength, info.kvCacheType, chunk, o.weights);
  info.parameterCount = parameterCount(info.config);
  for (const auto& n : info.config.notes) info.notes.push_back(n);
  model->backend_->checkMemory(info.memory, info.contextLength);
  info.cpuIsa = cpu::isaName();
  info.threads = omp_get_max_threads();
  if (o.weights != WeightFormat::Native) model->quant_ = quantizedWeights(o, bound, info, progress);
  ForwardWeights fw = uploadWeights(*model->backend_, bound, {}, model->quant_.get());
  info.memory.weightBytes = fw.bytes;
  model->forward_ = std::make_unique<GlmForward>(*model->backend_, info.config, std::move(fw), chunk, kMaxOutputsPerChunk);
  return model;
}

}  // namespace glm
