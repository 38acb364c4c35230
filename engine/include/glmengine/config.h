// The model's configuration, read from a Hugging Face config.json in any of the supported layouts,
// or made from a named real shape for --random-weights.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "glmengine/types.h"

namespace glm {

// How the checkpoint names and arranges its tensors.
enum class ModelLayout {
  ChatGLM,  // THUDM "chatglm": glm-4-9b-chat(-1m), chatglm2/3-6b. Fused query_key_value, dense_h_to_4h.
  Glm,      // transformers "glm": glm-4-9b-chat-hf. Separate q/k/v_proj with bias, fused gate_up_proj.
  Glm4,     // transformers "glm4": GLM-4-0414. As Glm plus post_self_attn_layernorm / post_mlp_layernorm.
};
std::string_view layoutName(ModelLayout l);  // "chatglm", "glm", "glm4"

// Chat/tokenizer family, decided from the config (and later confirmed by the tokenizer files).
enum class ModelFamily { Glm4, ChatGLM3, ChatGLM2 };
std::string_view familyName(ModelFamily f);  // "glm-4", "chatglm3", "chatglm2"

enum class RopeScaling {
  None,     // plain base
  Linear,   // position interpolation: position / factor (chatglm2-6b-32k's rope_ratio)
  Llama3,   // transformers "llama3" frequency scaling
  Yarn,     // transformers "yarn"
};

// Everything needed to compute the rotary frequencies. RoPE rotates the first rotaryDim dims of each
// head in adjacent (interleaved) pairs; the rest pass through.
struct RopeConfig {
  double theta = 10000.0;  // the base, already multiplied by rope_ratio for the chatglm layout
  int rotaryDim = 0;       // head_dim * partial_rotary_factor (GLM: head_dim / 2)
  RopeScaling scaling = RopeScaling::None;
  double factor = 1.0;                      // Linear, Llama3, Yarn
  double lowFreqFactor = 1.0;               // Llama3
  double highFreqFactor = 4.0;              // Llama3
  int64_t originalMaxPositions = 0;         // Llama3, Yarn (0: use maxPositions)
  double betaFast = 32.0, betaSlow = 1.0;   // Yarn
  double attentionFactor = 0.0;             // Yarn: 0 = derive from factor (and mscale values)
  double mscale = 0.0, mscaleAllDim = 0.0;  // Yarn (DeepSeek-style), 0 = absent
  bool truncate = true;                     // Yarn: floor/ceil the correction range
};

struct ModelConfig {
  ModelLayout layout = ModelLayout::ChatGLM;
  ModelFamily family = ModelFamily::Glm4;
  std::string modelType;       // config.json's model_type ("chatglm", "glm", "glm4") or the shape name
  int numLayers = 0;
  int hiddenSize = 0;
  int ffnHiddenSize = 0;       // intermediate size; the fused gate/up projection has 2x this many rows
  int numHeads = 0;
  int numKvHeads = 0;          // multi_query_group_num / num_key_value_heads
  int headDim = 0;             // kv_channels / head_dim
  int vocabSize = 0;           // padded_vocab_size / vocab_size (rows of embedding and output layer)
  int64_t maxPositions = 0;    // seq_length / max_position_embeddings
  float normEps = 1e-5f;       // layernorm_epsilon / rms_norm_eps
  bool qkvBias = true;         // add_qkv_bias / attention_bias
  bool postNorms = false;      // GLM-4-0414 sandwich norms (post_self_attn / post_mlp layernorm)
  bool tieWordEmbeddings = false;
  RopeConfig rope;
  std::vector<int32_t> eosTokenIds;
  int32_t padTokenId = -1;
  DType dtype = DType::BF16;   // torch_dtype / dtype of the checkpoint
  std::vector<std::string> notes;  // things the parser decided that a user should see (e.g. a rope fix-up)

  int qkvRows() const { return (numHeads + 2 * numKvHeads) * headDim; }
};

// Reads config.json (THUDM chatglm, transformers glm or glm4). Throws glm::Error naming the file
// and the missing or invalid field. Refuses what the engine cannot run (original_rope=false, ...).
ModelConfig parseConfigFile(const std::filesystem::path& configJson);
ModelConfig parseConfigJson(const std::string& jsonText, const std::string& sourceName);

// Real shapes for --random-weights: "glm-4-9b", "glm-4-9b-chat-1m", "chatglm3-6b", "tiny".
ModelConfig shapeConfig(const std::string& shapeName);
std::vector<std::string> knownShapes();

// Parameter count implied by the config (embedding + layers + final norm + output layer).
int64_t parameterCount(const ModelConfig& c);

}  // namespace glm
