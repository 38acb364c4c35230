// Named real shapes for --random-weights, the parameter count, and the enum names.
#include <fmt/format.h>

#include "glmengine/config.h"
#include "glmengine/error.h"

namespace glm {

std::string_view layoutName(ModelLayout l) {
  switch (l) {
    case ModelLayout::ChatGLM: return "chatglm";
    case ModelLayout::Glm: return "glm";
    case ModelLayout::Glm4: return "glm4";
  }
  return "?";
}

std::string_view familyName(ModelFamily f) {
  switch (f) {
    case ModelFamily::Glm4: return "glm-4";
    case ModelFamily::ChatGLM3: return "chatglm3";
    case ModelFamily::ChatGLM2: return "chatglm2";
  }
  return "?";
}

namespace {

// glm-4-9b-chat's config.json (GLM-REFERENCE §1.1); the other shapes are variations of it.
ModelConfig glm4_9bChat() {
  ModelConfig c;
  c.layout = ModelLayout::ChatGLM;
  c.family = ModelFamily::Glm4;
  c.numLayers = 40;
  c.hiddenSize = 4096;
  c.ffnHiddenSize = 13696;
  c.numHeads = 32;
  c.numKvHeads = 2;
  c.headDim = 128;
  c.vocabSize = 151552;
  c.maxPositions = 131072;
  c.normEps = 1.5625e-07f;
  c.qkvBias = true;
  c.postNorms = false;
  c.tieWordEmbeddings = false;
  c.rope.theta = 10000.0 * 500;  // rope_ratio 500
  c.rope.rotaryDim = 64;
  c.eosTokenIds = {151329, 151336, 151338};
  c.padTokenId = 151329;
  c.dtype = DType::BF16;
  return c;
}

}  // namespace

std::vector<std::string> knownShapes() { return {"glm-4-9b", "glm-4-9b-chat-1m", "chatglm3-6b", "tiny"}; }

ModelConfig shapeConfig(const std::string& shapeName) {
  ModelConfig c = glm4_9bChat();
  c.modelType = shapeName;
  if (shapeName == "glm-4-9b") return c;
  if (shapeName == "glm-4-9b-chat-1m") {
    c.numKvHeads = 4;
    c.rope.theta = 10000.0 * 10000;  // rope_ratio 10000
    c.maxPositions = 1048576;
    return c;
  }
  if (shapeName == "chatglm3-6b") {
    c.family = ModelFamily::ChatGLM3;
    c.numLayers = 28;
    c.vocabSize = 65024;
    c.normEps = 1e-5f;
    c.rope.theta = 10000.0;
    c.maxPositions = 8192;
    c.eosTokenIds = {2};
    c.padTokenId = 0;
    c.dtype = DType::F16;
    return c;
  }
  if (shapeName == "tiny") {
    // Matches tests/data/tiny-tokenizer: 1000 byte-level ranks, specials from id 1000.
    c.numLayers = 2;
    c.hiddenSize = 128;
    c.ffnHiddenSize = 256;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 32;
    c.vocabSize = 1024;
    c.maxPositions = 4096;
    c.rope.rotaryDim = 16;
    c.eosTokenIds = {1000, 1007, 1009};
    c.padTokenId = 1000;
    return c;
  }
  throw Error(fmt::format("unknown model shape '{}' (known: {})", shapeName, fmt::join(knownShapes(), ", ")));
}

int64_t parameterCount(const ModelConfig& c) {
  const int64_t hidden = c.hiddenSize, ffn = c.ffnHiddenSize, vocab = c.vocabSize;
  const int64_t qkvRows = c.qkvRows(), attnWidth = int64_t(c.numHeads) * c.headDim;
  const int64_t norms = (c.postNorms ? 4 : 2) * hidden;
  const int64_t attention = qkvRows * hidden + (c.qkvBias ? qkvRows : 0) + hidden * attnWidth;
  const int64_t mlp = 2 * ffn * hidden + hidden * ffn;  // gate_up [2 ffn x hidden], down [hidden x ffn]
  const int64_t perLayer = norms + attention + mlp;
  const int64_t embedding = vocab * hidden;
  const int64_t output = c.tieWordEmbeddings ? 0 : vocab * hidden;
  return embedding + c.numLayers * perLayer + hidden + output;
}

}  // namespace glm
