#include "model/glm_forward.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "glmengine/error.h"
#include "model/rope.h"

namespace glm {

ForwardWeights uploadWeights(Backend& backend, const ModelWeights& weights, const ProgressFn& progress,
                             const QuantizedStore* quant) {
  ForwardWeights f;
  // A linear layer as stored, or its quantized form (the layers in the store's format, the output int8).
  auto linear = [&](const LinearView& v, WeightFormat format) {
    if (!quant) return backend.uploadLinear(v, WeightFormat::Native);
    const QuantizedView* q = quant->find(quantKey(v, format));
    if (!q) throw Error(fmt::format("weight {}: missing from the quantized weights", quantKey(v, format)));
    return backend.uploadQuantized(*q, v);
  };
  const WeightFormat layerFormat = quant ? quant->format() : WeightFormat::Native;
  if (quant) {  // int8 per row, like the output layer (docs/QUANTIZATION.md says why)
    const LinearView e = embeddingAsLinear(weights);
    const QuantizedView* q = quant->find(quantKey(e, WeightFormat::Int8));
    if (!q) throw Error(fmt::format("weight {}: missing from the quantized weights", quantKey(e, WeightFormat::Int8)));
    f.embedding = backend.uploadQuantizedEmbedding(*q);
  } else {
    f.embedding = backend.uploadEmbedding(*weights.embedding);
  }
  const int64_t total = int64_t(weights.layers.size()) + 1;
  for (size_t i = 0; i < weights.layers.size(); ++i) {
    const LayerWeights& l = weights.layers[i];
    LayerHandles h;
    h.inputNorm = backend.uploadVector(*l.inputNorm);
    h.qkv = linear(l.qkv, layerFormat);
    h.attnOut = linear(l.attnOut, layerFormat);
    h.postAttnNorm = backend.uploadVector(*l.postAttnNorm);
    h.gateUp = linear(l.gateUp, layerFormat);
    h.down = linear(l.down, layerFormat);
    if (l.postSelfAttnNorm) h.postSelfAttnNorm = backend.uploadVector(*l.postSelfAttnNorm);
    if (l.postMlpNorm) h.postMlpNorm = backend.uploadVector(*l.postMlpNorm);
    for (WeightHandle w : {h.inputNorm, h.qkv, h.attnOut, h.postAttnNorm, h.gateUp, h.down, h.postSelfAttnNorm,
                           h.postMlpNorm})
      if (w) f.bytes += w->bytes;
    f.layers.push_back(h);
    if (progress && !progress(int64_t(i) + 1, total)) throw Cancelled();
  }
  f.finalNorm = backend.uploadVector(*weights.finalNorm);
  f.output = linear(weights.output, WeightFormat::Int8);
  f.bytes += f.embedding->bytes + f.finalNorm->bytes + f.output->bytes;
  if (progress) progress(total, total);
  return f;
}

int64_t GlmForward::scratchBytes(const ModelConfig& c, int chunk, int outputs) {
  const int64_t perRow = 2 * int64_t(c.hiddenSize) + c.qkvRows() + int64_t(c.numHeads) * c.headDim +
                         c.hiddenSize + 3 * int64_t(c.ffnHiddenSize);
  return 4 * (perRow * chunk + int64_t(outputs) * (2 * int64_t(c.hiddenSize) + c.vocabSize));
}

GlmForward::GlmForward(Backend& backend, const ModelConfig& config, ForwardWeights weights, int chunkCapacity,
                       int maxOutputs)
    : backend_(backend), config_(config), w_(std::move(weights)), rope_(computeRopeParams(config)),
      chunkCapacity_(chunkCapacity), maxOutputs_(maxOutputs) {
  shape_.numHeads = config.numHeads;
  shape_.numKvHeads = config.numKvHeads;
  shape_.headDim = config.headDim;
  shape_.scale = float(1.0 / std::sqrt(double(config.headDim)));
  const int64_t n = chunkCapacity;
  residual_ = backend.allocate(n, config.hiddenSize);
  normed_ = backend.allocate(n, config.hiddenSize);
  qkv_ = backend.allocate(n, config.qkvRows());
  attn_ = backend.allocate(n, int64_t(config.numHeads) * config.headDim);
  proj_ = backend.allocate(n, config.hiddenSize);
  gateUp_ = backend.allocate(n, 2 * int64_t(config.ffnHiddenSize));
  ffn_ = backend.allocate(n, config.ffnHiddenSize);
  selected_ = backend.allocate(maxOutputs, config.hiddenSize);
  selectedNormed_ = backend.allocate(maxOutputs, config.hiddenSize);
  logits_ = backend.allocate(maxOutputs, config.vocabSize);
  if (const char* ahead = std::getenv("GLMCHAT_STEP_AHEAD")) {
    const std::string v(ahead);
    stepAhead_ = v == "0" ? StepAhead::Off : v == "always" ? StepAhead::Always : StepAhead::Backend;
  }
}

void GlmForward::run(std::span<const int32_t> ids, int64_t pos0, KvCache& cache, std::span<const int64_t> outputRows,
                     float* logitsOut) {
  const int64_t n = int64_t(ids.size());
  if (n == 0) return;
  if (n > chunkCapacity_)
    throw Error(fmt::format("forward: {} tokens in one chunk, capacity {}", n, chunkCapacity_));
  if (int64_t(outputRows.size()) > maxOutputs_)
    throw Error(fmt::format("forward: {} logit rows asked, capacity {}", outputRows.size(), maxOutputs_));
  for (int64_t r : outputRows)
    if (r < 0 || r >= n) throw Error(fmt::format("forward: logit row {} outside the chunk of {}", r, n));
  layers(ids, pos0, cache);
  if (outputRows.empty()) return;
  head(outputRows);
  if (logitsOut) backend_.download(logits_.rowSlice(0, int64_t(outputRows.size())), logitsOut);
}

void GlmForward::step(int32_t token, int64_t pos, KvCache& cache, float* logitsOut) {
  const std::span<const int32_t> ids(&token, 1);
  const int64_t row = 0;
  if (!backend_.supportsStepCapture()) {
    run(ids, pos, cache, std::span<const int64_t>(&row, 1), logitsOut);
    return;
  }
  if (pos + 1 > cache.capacity)
    throw Error(fmt::format("KV cache overflow: position {} but the context holds {} tokens", pos, cache.capacity));
  backend_.setStepInputs(ids, pos);
  if (!backend_.replayStep(cache)) {
    backend_.beginStepCapture();
    try {
      layers(ids, pos, cache);
      head(std::span<const int64_t>(&row, 1));
    } catch (...) {
      backend_.abortStepCapture();
      throw;
    }
    backend_.endStepCapture(cache);
  }
  if (logitsOut) backend_.download(logits_.rowSlice(0, 1), logitsOut);
}

int32_t GlmForward::greedyToken(int64_t vocabLimit) {
  return backend_.argmaxRow(logits_.rowSlice(0, 1).colSlice(0, std::min<int64_t>(vocabLimit, logits_.cols)));
}

int32_t GlmForward::greedyTokenThenStep(int64_t vocabLimit, KvCache& cache, int64_t pos, bool& launched) {
  launched = false;
  if (stepAhead_ == StepAhead::Off || pos < 0 || pos + 1 > cache.capacity) return greedyToken(vocabLimit);
  const Tensor row = logits_.rowSlice(0, 1).colSlice(0, std::min<int64_t>(vocabLimit, logits_.cols));
  const int32_t token = backend_.argmaxRowThenStep(row, cache, pos, launched);
  if (!launched && stepAhead_ == StepAhead::Always) {
    step(token, pos, cache, nullptr);
    launched = true;
  }
  return token;
}

bool GlmForward::bestOfLogits(int64_t vocabLimit, int count, float invTemperature,
                              std::vector<std::pair<float, int32_t>>& best, double& total) {
  return backend_.bestOfRow(logits_.rowSlice(0, 1).colSlice(0, std::min<int64_t>(vocabLimit, logits_.cols)), count,
                            invTemperature, best, total);
}

void GlmForward::layers(std::span<const int32_t> ids, int64_t pos0, KvCache& cache) {
  const int64_t n = int64_t(ids.size());
  const float eps = config_.normEps;
  Tensor x = residual_.rowSlice(0, n), h = normed_.rowSlice(0, n), qkv = qkv_.rowSlice(0, n);
  Tensor attn = attn_.rowSlice(0, n), proj = proj_.rowSlice(0, n);
  Tensor gateUp = gateUp_.rowSlice(0, n), ffn = ffn_.rowSlice(0, n);

  backend_.embed(w_.embedding, ids, x);
  backend_.rmsNorm(x, w_.layers[0].inputNorm, eps, h);
  for (size_t li = 0; li < w_.layers.size(); ++li) {
    const LayerHandles& L = w_.layers[li];
    const int layer = int(li);
    // Attention block: h = norm(x) is ready.
    backend_.matmulRopeAppend(h, L.qkv, qkv, shape_, rope_, cache, layer, pos0);  // [Q | K | V] with bias
    backend_.attention(qkv, shape_, cache, layer, pos0, attn);
    if (L.postSelfAttnNorm) {  // GLM-4-0414: the projection is normed before the residual add
      backend_.matmul(attn, L.attnOut, proj);
      backend_.rmsNorm(proj, L.postSelfAttnNorm, eps, proj);
      backend_.addRmsNorm(x, proj, L.postAttnNorm, eps, h);
    } else {
      backend_.matmulAddNorm(attn, L.attnOut, x, L.postAttnNorm, eps, h, proj);  // x += attn Wo; h = norm(x)
    }
    // MLP block.
    backend_.matmulSwiGlu(h, L.gateUp, gateUp, ffn);
    const bool last = li + 1 == w_.layers.size();
    if (!last && !L.postMlpNorm) {
      backend_.matmulAddNorm(ffn, L.down, x, w_.layers[li + 1].inputNorm, eps, h, proj);  // next layer's input norm
      continue;
    }
    backend_.matmul(ffn, L.down, proj);
    if (L.postMlpNorm) backend_.rmsNorm(proj, L.postMlpNorm, eps, proj);
    if (!last)
      backend_.addRmsNorm(x, proj, w_.layers[li + 1].inputNorm, eps, h);
    else
      backend_.add(x, proj);
  }
}

void GlmForward::head(std::span<const int64_t> outputRows) {
  const int64_t m = int64_t(outputRows.size());
  Tensor sel = selected_.rowSlice(0, m), selNorm = selectedNormed_.rowSlice(0, m), logits = logits_.rowSlice(0, m);
  backend_.gatherRows(residual_, outputRows, sel);
  backend_.rmsNorm(sel, w_.finalNorm, config_.normEps, selNorm);
  backend_.matmul(selNorm, w_.output, logits);
}

}  // namespace glm
