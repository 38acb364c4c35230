// config.json parsing for the three layouts (GLM-REFERENCE §1.1, §1.5, §1.6).
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/json_fields.h"
#include "glmengine/config.h"
#include "glmengine/error.h"

namespace glm {

namespace {

constexpr const char* kSupportedModelTypes = "chatglm, glm, glm4";

DType parseTorchDType(const JsonFields& f, const std::string& key) {
  const std::string name = f.string(key);
  std::string bare = name.rfind("torch.", 0) == 0 ? name.substr(6) : name;
  if (bare == "bfloat16") return DType::BF16;
  if (bare == "float16" || bare == "half") return DType::F16;
  if (bare == "float32" || bare == "float") return DType::F32;
  f.fail(key, "bfloat16, float16 or float32", name);
}

void readCheckpointDType(const JsonFields& f, ModelConfig& c) {
  // transformers 5 renamed torch_dtype to dtype.
  if (f.has("torch_dtype")) {
    c.dtype = parseTorchDType(f, "torch_dtype");
  } else if (f.has("dtype")) {
    c.dtype = parseTorchDType(f, "dtype");
  } else {
    c.dtype = DType::BF16;
    c.notes.push_back("config.json names no torch_dtype; assuming bfloat16 (the tensors decide)");
  }
}

void readSpecialTokens(const JsonFields& f, ModelConfig& c) {
  c.eosTokenIds = f.tokenIds("eos_token_id");
  std::vector<int32_t> pad = f.tokenIds("pad_token_id");
  if (pad.size() > 1) f.fail("pad_token_id", "a single token id", f.raw("pad_token_id"));
  c.padTokenId = pad.empty() ? -1 : pad[0];
}

// A THUDM flag whose other value selects an architecture the engine does not implement.
void requireFlag(const JsonFields& f, const std::string& key, bool fallback, bool required,
                 const char* whyOtherValueIsRefused) {
  if (f.booleanOr(key, fallback) != required)
    throw Error(fmt::format("{}: field '{}' is {}: {}; expected {}", f.source(), key, !required,
                            whyOtherValueIsRefused, required));
}

ModelConfig parseChatglm(const JsonFields& f) {
  ModelConfig c;
  c.layout = ModelLayout::ChatGLM;
  c.modelType = "chatglm";
  c.numLayers = f.positiveInt("num_layers");
  c.hiddenSize = f.positiveInt("hidden_size");
  c.ffnHiddenSize = f.positiveInt("ffn_hidden_size");
  c.numHeads = f.positiveInt("num_attention_heads");
  c.headDim = f.positiveInt("kv_channels");
  // Without multi-query attention every query head has its own K/V head (ChatGLMConfig defaults).
  c.numKvHeads = f.booleanOr("multi_query_attention", false) ? f.positiveIntOr("multi_query_group_num", 1)
                                                              : c.numHeads;
  c.vocabSize = f.positiveInt("padded_vocab_size");
  c.maxPositions = f.positiveInt64("seq_length");
  c.normEps = float(f.positiveNumberOr("layernorm_epsilon", 1e-5));
  c.qkvBias = f.booleanOr("add_qkv_bias", false);
  c.tieWordEmbeddings = f.booleanOr("tie_word_embeddings", false);
  c.postNorms = false;

  requireFlag(f, "rmsnorm", true, true, "LayerNorm variants are not supported");
  requireFlag(f, "add_bias_linear", false, false, "biases on dense/MLP layers are not supported");
  requireFlag(f, "apply_residual_connection_post_layernorm", false, false,
              "post-norm residuals are not supported");
  requireFlag(f, "post_layer_norm", true, true, "a model without final layernorm is not supported");
  requireFlag(f, "original_rope", true, true,
              "NeoX-style half-split RoPE (e.g. cogagent-9b) is not supported; GLM rotates adjacent pairs");
  if (f.has("quantization_bit") && f.raw("quantization_bit") != 0)
    throw Error(fmt::format("{}: field 'quantization_bit' is {}: THUDM quantized checkpoints are not "
                            "supported; use the bf16/fp16 weights",
                            f.source(), f.raw("quantization_bit").dump()));

  // GLM-REFERENCE §1.3: rotary_dim = kv_channels, but the module rotates only half of it.
  c.rope.rotaryDim = c.headDim / 2;
  const double ropeRatio = f.positiveNumberOr("rope_ratio", 1.0);
  c.rope.theta = 10000.0 * ropeRatio;
  c.rope.scaling = RopeScaling::None;

  if (c.vocabSize > 100000) {
    c.family = ModelFamily::Glm4;
  } else {
    // ChatGLM2 and ChatGLM3 share the 65024-token vocabulary and the config keys. Only the
    // model's name tells them apart here; the tokenizer files settle the family later.
    std::string identity = f.stringOr("_name_or_path", "");
    if (f.has("auto_map")) identity += " " + f.raw("auto_map").dump();
    const bool namesChatglm2 = identity.find("chatglm2") != std::string::npos;
    if (namesChatglm2) {
      c.family = ModelFamily::ChatGLM2;
      c.notes.push_back(fmt::format("{}-token vocabulary and a name mentioning chatglm2: ChatGLM2 family",
                                    c.vocabSize));
      if (ropeRatio != 1.0) {
        // chatglm2-6b-32k divides positions by rope_ratio with base 10000 (GLM-REFERENCE §1.3).
        c.rope.theta = 10000.0;
        c.rope.scaling = RopeScaling::Linear;
        c.rope.factor = ropeRatio;
        c.notes.push_back(fmt::format("ChatGLM2 rope_ratio {}: position interpolation (positions / {}), "
                                      "base 10000",
                                      ropeRatio, ropeRatio));
      }
    } else {
      c.family = ModelFamily::ChatGLM3;
      c.notes.push_back(fmt::format("{}-token vocabulary: ChatGLM3 assumed (ChatGLM2 uses the same config "
                                    "keys; the tokenizer decides)",
                                    c.vocabSize));
      if (ropeRatio != 1.0)
        c.notes.push_back(fmt::format("rope_ratio {} scales the RoPE base to {} (ChatGLM3 behaviour; "
                                      "chatglm2-6b-32k would interpolate positions instead)",
                                      ropeRatio, c.rope.theta));
    }
  }
  readSpecialTokens(f, c);
  readCheckpointDType(f, c);
  return c;
}

// rope_scaling (legacy) or rope_parameters (transformers 5) -> RopeConfig.scaling and its parameters.
void readRopeScaling(const JsonFields& r, RopeConfig& rope) {
  std::string typeKey = r.has("rope_type") ? "rope_type" : "type";
  const std::string type = r.stringOr(typeKey, "default");
  if (type == "default") {
    rope.scaling = RopeScaling::None;
    return;
  }
  if (type == "linear") {
    rope.scaling = RopeScaling::Linear;
  } else if (type == "llama3") {
    rope.scaling = RopeScaling::Llama3;
    // transformers requires all three for llama3.
    for (const char* key : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!r.has(key)) throw Error(fmt::format("{}: missing field '{}' (needed by llama3 RoPE scaling)",
                                               r.source(), r.fieldName(key)));
    rope.lowFreqFactor = r.positiveNumberOr("low_freq_factor", 1.0);
    rope.highFreqFactor = r.positiveNumberOr("high_freq_factor", 4.0);
    if (rope.highFreqFactor <= rope.lowFreqFactor)
      r.fail("high_freq_factor", fmt::format("greater than low_freq_factor {}", rope.lowFreqFactor),
             r.raw("high_freq_factor"));
  } else if (type == "yarn") {
    rope.scaling = RopeScaling::Yarn;
    rope.betaFast = r.positiveNumberOr("beta_fast", 32.0);
    rope.betaSlow = r.positiveNumberOr("beta_slow", 1.0);
    rope.attentionFactor = r.positiveNumberOr("attention_factor", 0.0);
    rope.mscale = r.positiveNumberOr("mscale", 0.0);
    rope.mscaleAllDim = r.positiveNumberOr("mscale_all_dim", 0.0);
    rope.truncate = r.booleanOr("truncate", true);
  } else {
    r.fail(typeKey, "one of default, linear, llama3, yarn (others are not supported)", type);
  }
  if (!r.has("factor"))
    throw Error(fmt::format("{}: missing field '{}' (needed by {} RoPE scaling)", r.source(),
                            r.fieldName("factor"), type));
  rope.factor = r.positiveNumberOr("factor", 1.0);
  rope.originalMaxPositions = r.positiveInt64Or("original_max_position_embeddings", 0);
}

ModelConfig parseTransformersGlm(const JsonFields& f, const std::string& modelType) {
  ModelConfig c;
  c.layout = modelType == "glm4" ? ModelLayout::Glm4 : ModelLayout::Glm;
  c.family = ModelFamily::Glm4;
  c.modelType = modelType;
  c.numLayers = f.positiveInt("num_hidden_layers");
  c.hiddenSize = f.positiveInt("hidden_size");
  c.ffnHiddenSize = f.positiveInt("intermediate_size");
  c.numHeads = f.positiveInt("num_attention_heads");
  c.numKvHeads = f.positiveIntOr("num_key_value_heads", c.numHeads);
  if (c.hiddenSize % c.numHeads != 0 && !f.has("head_dim"))
    throw Error(fmt::format("{}: missing field 'head_dim' (hidden_size {} is not a multiple of "
                            "num_attention_heads {})",
                            f.source(), c.hiddenSize, c.numHeads));
  c.headDim = f.positiveIntOr("head_dim", c.hiddenSize / c.numHeads);
  c.vocabSize = f.positiveInt("vocab_size");
  c.maxPositions = f.positiveInt64("max_position_embeddings");
  c.normEps = float(f.positiveNumberOr("rms_norm_eps", 1.5625e-07));  // GlmConfig's default
  c.qkvBias = f.booleanOr("attention_bias", true);
  c.tieWordEmbeddings = f.booleanOr("tie_word_embeddings", false);
  c.postNorms = c.layout == ModelLayout::Glm4;

  double partialRotaryFactor = f.positiveNumberOr("partial_rotary_factor", 0.5);
  if (f.has("rope_parameters")) {
    const auto& params = f.raw("rope_parameters");
    if (!params.is_object()) f.fail("rope_parameters", "an object", params);
    JsonFields r(params, f.source(), "rope_parameters.");
    c.rope.theta = r.positiveNumberOr("rope_theta", f.positiveNumberOr("rope_theta", 10000.0));
    partialRotaryFactor = r.positiveNumberOr("partial_rotary_factor", partialRotaryFactor);
    readRopeScaling(r, c.rope);
  } else {
    c.rope.theta = f.positiveNumberOr("rope_theta", 10000.0);
    if (f.has("rope_scaling")) {
      const auto& params = f.raw("rope_scaling");
      if (!params.is_object()) f.fail("rope_scaling", "an object or null", params);
      readRopeScaling(JsonFields(params, f.source(), "rope_scaling."), c.rope);
    }
  }
  if (partialRotaryFactor > 1.0) f.fail("partial_rotary_factor", "at most 1", partialRotaryFactor);
  const double rotary = c.headDim * partialRotaryFactor;
  if (rotary != std::floor(rotary))
    throw Error(fmt::format("{}: head_dim {} x partial_rotary_factor {} is not a whole number of dims",
                            f.source(), c.headDim, partialRotaryFactor));
  c.rope.rotaryDim = int(rotary);

  // GLM-REFERENCE §1.5: the transformers conversion script lost rope_ratio 500, so
  // glm-4-9b-chat-hf configs say 10000 where the model was trained with 5e6.
  const bool looksLikeGlm4_9bChatHf = c.layout == ModelLayout::Glm && c.vocabSize == 151552 &&
                                      c.hiddenSize == 4096 && c.numLayers == 40 &&
                                      c.maxPositions == 131072;
  if (looksLikeGlm4_9bChatHf && c.rope.theta == 10000.0) {
    c.rope.theta = 5e6;
    c.notes.push_back("rope_theta 10000 in a glm-4-9b-chat-hf config is a known conversion bug "
                      "(rope_ratio 500 was dropped); using 5000000 as the original model does");
  }
  readSpecialTokens(f, c);
  readCheckpointDType(f, c);
  return c;
}

void validate(const ModelConfig& c, const std::string& source) {
  if (c.numHeads % c.numKvHeads != 0)
    throw Error(fmt::format("{}: num_attention_heads {} is not a multiple of the KV head count {}",
                            source, c.numHeads, c.numKvHeads));
  if (c.rope.rotaryDim <= 0 || c.rope.rotaryDim % 2 != 0 || c.rope.rotaryDim > c.headDim)
    throw Error(fmt::format("{}: rotary dimension {} must be even, positive and at most the head "
                            "dimension {}",
                            source, c.rope.rotaryDim, c.headDim));
  for (int32_t id : c.eosTokenIds)
    if (id >= c.vocabSize)
      throw Error(fmt::format("{}: eos_token_id {} is outside the vocabulary of {}", source, id,
                              c.vocabSize));
  if (c.padTokenId >= c.vocabSize)
    throw Error(fmt::format("{}: pad_token_id {} is outside the vocabulary of {}", source, c.padTokenId,
                            c.vocabSize));
}

}  // namespace

ModelConfig parseConfigJson(const std::string& jsonText, const std::string& sourceName) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(jsonText);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: invalid JSON: {}", sourceName, e.what()));
  }
  if (!j.is_object())
    throw Error(fmt::format("{}: expected a JSON object, found {}", sourceName, j.type_name()));
  JsonFields f(j, sourceName);
  const std::string modelType = f.string("model_type");
  ModelConfig c;
  if (modelType == "chatglm") {
    c = parseChatglm(f);
  } else if (modelType == "glm" || modelType == "glm4") {
    c = parseTransformersGlm(f, modelType);
  } else {
    throw Error(fmt::format("{}: unsupported model_type '{}' (supported: {})", sourceName, modelType,
                            kSupportedModelTypes));
  }
  validate(c, sourceName);
  return c;
}

ModelConfig parseConfigFile(const std::filesystem::path& configJson) {
  std::filesystem::path path = configJson;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= "config.json";
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("{}: not found", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parseConfigJson(text.str(), path.string());
}

}  // namespace glm
