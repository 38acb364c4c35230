// config.json parsing for the chatglm, glm and glm4 layouts, the named shapes, and parameter counts.
// Config texts are the published ones (GLM-REFERENCE §1.1, §1.5, §1.6), written out by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glmengine/config.h"
#include "loading_test_util.h"

namespace glm {
namespace {

using nlohmann::json;
using test::expectError;
using test::ScratchDir;

// THUDM/glm-4-9b-chat config.json (the fields that matter; auto_map etc. as published).
json glm4_9bChatConfig() {
  return json::parse(R"({
    "_name_or_path": "THUDM/glm-4-9b-chat",
    "model_type": "chatglm",
    "architectures": ["ChatGLMModel"],
    "auto_map": {"AutoConfig": "configuration_chatglm.ChatGLMConfig",
                 "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration",
                 "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration"},
    "add_bias_linear": false, "add_qkv_bias": true, "apply_query_key_layer_scaling": true,
    "apply_residual_connection_post_layernorm": false, "attention_dropout": 0.0,
    "attention_softmax_in_fp32": true, "attn_implementation": "sdpa", "bias_dropout_fusion": true,
    "ffn_hidden_size": 13696, "fp32_residual_connection": false, "hidden_dropout": 0.0,
    "hidden_size": 4096, "kv_channels": 128, "layernorm_epsilon": 1.5625e-07,
    "multi_query_attention": true, "multi_query_group_num": 2, "num_attention_heads": 32,
    "num_hidden_layers": 40, "num_layers": 40, "rope_ratio": 500, "original_rope": true,
    "padded_vocab_size": 151552, "post_layer_norm": true, "rmsnorm": true, "seq_length": 131072,
    "use_cache": true, "torch_dtype": "bfloat16", "transformers_version": "4.42.4",
    "tie_word_embeddings": false, "eos_token_id": [151329, 151336, 151338], "pad_token_id": 151329
  })");
}

// THUDM/chatglm3-6b config.json.
json chatglm3_6bConfig() {
  return json::parse(R"({
    "_name_or_path": "THUDM/chatglm3-6b",
    "model_type": "chatglm",
    "architectures": ["ChatGLMModel"],
    "auto_map": {"AutoConfig": "configuration_chatglm.ChatGLMConfig",
                 "AutoModel": "modeling_chatglm.ChatGLMForConditionalGeneration"},
    "add_bias_linear": false, "add_qkv_bias": true, "apply_query_key_layer_scaling": true,
    "apply_residual_connection_post_layernorm": false, "attention_dropout": 0.0,
    "attention_softmax_in_fp32": true, "bias_dropout_fusion": true, "ffn_hidden_size": 13696,
    "fp32_residual_connection": false, "hidden_dropout": 0.0, "hidden_size": 4096, "kv_channels": 128,
    "layernorm_epsilon": 1e-05, "multi_query_attention": true, "multi_query_group_num": 2,
    "num_attention_heads": 32, "num_layers": 28, "original_rope": true, "padded_vocab_size": 65024,
    "post_layer_norm": true, "rmsnorm": true, "seq_length": 8192, "use_cache": true,
    "torch_dtype": "float16", "transformers_version": "4.30.2", "tie_word_embeddings": false,
    "eos_token_id": 2, "pad_token_id": 0
  })");
}

// glm-4-9b-chat-hf as re-uploaded (GLM-REFERENCE §1.5), with the conversion script's rope_theta.
json glm4_9bChatHfConfig() {
  return json::parse(R"({
    "_name_or_path": "THUDM__glm-4-9b-chat-hf",
    "architectures": ["GlmForCausalLM"], "attention_bias": true, "attention_dropout": 0.0,
    "eos_token_id": [151329, 151336, 151338], "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 13696,
    "max_position_embeddings": 131072, "model_type": "glm", "num_attention_heads": 32,
    "num_hidden_layers": 40, "num_key_value_heads": 2, "pad_token_id": 151329,
    "partial_rotary_factor": 0.5, "rms_norm_eps": 1.5625e-07, "rope_theta": 10000.0,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.46.0",
    "use_cache": true, "vocab_size": 151552
  })");
}

// A GLM-4-0414 style config as transformers 5 writes it: dtype (not torch_dtype), rope_parameters,
// and the YaRN extension THUDM recommends beyond 32K.
json glm4_0414YarnConfig() {
  return json::parse(R"({
    "architectures": ["Glm4ForCausalLM"], "attention_bias": true, "attention_dropout": 0.0,
    "dtype": "bfloat16", "eos_token_id": [151329, 151336, 151338], "head_dim": 128,
    "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 13696,
    "max_position_embeddings": 131072, "model_type": "glm4", "num_attention_heads": 32,
    "num_hidden_layers": 40, "num_key_value_heads": 2, "pad_token_id": 151329, "rms_norm_eps": 1e-05,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                        "original_max_position_embeddings": 32768, "partial_rotary_factor": 0.5},
    "tie_word_embeddings": false, "transformers_version": "5.0.0", "use_cache": true, "vocab_size": 151552
  })");
}

ModelConfig parse(const json& j) { return parseConfigJson(j.dump(), "model/config.json"); }

bool hasNoteContaining(const ModelConfig& c, const std::string& text) {
  for (const auto& n : c.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

TEST(ConfigParse, Glm4_9bChatEveryField) {
  ScratchDir dir;
  test::writeFile(dir / "config.json", glm4_9bChatConfig().dump(2));
  const ModelConfig c = parseConfigFile(dir / "config.json");
  EXPECT_EQ(c.layout, ModelLayout::ChatGLM);
  EXPECT_EQ(c.family, ModelFamily::Glm4);
  EXPECT_EQ(c.modelType, "chatglm");
  EXPECT_EQ(c.numLayers, 40);
  EXPECT_EQ(c.hiddenSize, 4096);
  EXPECT_EQ(c.ffnHiddenSize, 13696);
  EXPECT_EQ(c.numHeads, 32);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.vocabSize, 151552);
  EXPECT_EQ(c.maxPositions, 131072);
  EXPECT_EQ(c.normEps, 1.5625e-07f);
  EXPECT_TRUE(c.qkvBias);
  EXPECT_FALSE(c.postNorms);
  EXPECT_FALSE(c.tieWordEmbeddings);
  EXPECT_EQ(c.rope.theta, 5e6);
  EXPECT_EQ(c.rope.rotaryDim, 64);
  EXPECT_EQ(c.rope.scaling, RopeScaling::None);
  EXPECT_EQ(c.eosTokenIds, (std::vector<int32_t>{151329, 151336, 151338}));
  EXPECT_EQ(c.padTokenId, 151329);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.qkvRows(), 4608);
  EXPECT_TRUE(c.notes.empty());
  // A folder works as well as the file itself.
  EXPECT_EQ(parseConfigFile(dir.path()).numLayers, 40);
}

TEST(ConfigParse, Glm4_9bChat1mHasFourKvHeadsAndBase1e8) {
  json j = glm4_9bChatConfig();
  j["multi_query_group_num"] = 4;
  j["rope_ratio"] = 10000;
  j["seq_length"] = 1048576;
  const ModelConfig c = parse(j);
  EXPECT_EQ(c.numKvHeads, 4);
  EXPECT_EQ(c.qkvRows(), 5120);
  EXPECT_EQ(c.rope.theta, 1e8);
  EXPECT_EQ(c.maxPositions, 1048576);
}

TEST(ConfigParse, Chatglm3_6bEveryField) {
  const ModelConfig c = parse(chatglm3_6bConfig());
  EXPECT_EQ(c.layout, ModelLayout::ChatGLM);
  EXPECT_EQ(c.family, ModelFamily::ChatGLM3);
  EXPECT_EQ(c.numLayers, 28);
  EXPECT_EQ(c.hiddenSize, 4096);
  EXPECT_EQ(c.ffnHiddenSize, 13696);
  EXPECT_EQ(c.numHeads, 32);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.vocabSize, 65024);
  EXPECT_EQ(c.maxPositions, 8192);
  EXPECT_EQ(c.normEps, 1e-5f);
  EXPECT_TRUE(c.qkvBias);
  EXPECT_EQ(c.rope.theta, 10000.0);
  EXPECT_EQ(c.rope.rotaryDim, 64);
  EXPECT_EQ(c.rope.scaling, RopeScaling::None);
  EXPECT_EQ(c.eosTokenIds, (std::vector<int32_t>{2}));
  EXPECT_EQ(c.padTokenId, 0);
  EXPECT_EQ(c.dtype, DType::F16);
  EXPECT_TRUE(hasNoteContaining(c, "ChatGLM3 assumed"));
}

TEST(ConfigParse, Chatglm3_32kScalesTheBase) {
  json j = chatglm3_6bConfig();
  j["_name_or_path"] = "THUDM/chatglm3-6b-32k";
  j["rope_ratio"] = 50;
  j["seq_length"] = 32768;
  const ModelConfig c = parse(j);
  EXPECT_EQ(c.family, ModelFamily::ChatGLM3);
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.scaling, RopeScaling::None);
  EXPECT_TRUE(hasNoteContaining(c, "rope_ratio 50"));
}

TEST(ConfigParse, Chatglm2_32kInterpolatesPositions) {
  json j = chatglm3_6bConfig();
  j["_name_or_path"] = "THUDM/chatglm2-6b-32k";
  j["rope_ratio"] = 16;
  j["seq_length"] = 32768;
  ModelConfig c = parse(j);
  EXPECT_EQ(c.family, ModelFamily::ChatGLM2);
  EXPECT_EQ(c.rope.theta, 10000.0);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Linear);
  EXPECT_EQ(c.rope.factor, 16.0);
  EXPECT_TRUE(hasNoteContaining(c, "position interpolation"));

  // The name may only be in auto_map (a local copy keeps no _name_or_path).
  j.erase("_name_or_path");
  j["auto_map"]["AutoModel"] = "THUDM/chatglm2-6b-32k--modeling_chatglm.ChatGLMForConditionalGeneration";
  c = parse(j);
  EXPECT_EQ(c.family, ModelFamily::ChatGLM2);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Linear);
}

TEST(ConfigParse, WithoutMultiQueryEveryHeadHasItsOwnKv) {
  json j = chatglm3_6bConfig();
  j["multi_query_attention"] = false;
  EXPECT_EQ(parse(j).numKvHeads, 32);
}

TEST(ConfigParse, Glm4_9bChatHfRopeThetaIsCorrectedWithANote) {
  const ModelConfig c = parse(glm4_9bChatHfConfig());
  EXPECT_EQ(c.layout, ModelLayout::Glm);
  EXPECT_EQ(c.family, ModelFamily::Glm4);
  EXPECT_EQ(c.modelType, "glm");
  EXPECT_EQ(c.numLayers, 40);
  EXPECT_EQ(c.hiddenSize, 4096);
  EXPECT_EQ(c.ffnHiddenSize, 13696);
  EXPECT_EQ(c.numHeads, 32);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.vocabSize, 151552);
  EXPECT_EQ(c.maxPositions, 131072);
  EXPECT_EQ(c.normEps, 1.5625e-07f);
  EXPECT_TRUE(c.qkvBias);
  EXPECT_FALSE(c.postNorms);
  EXPECT_FALSE(c.tieWordEmbeddings);
  EXPECT_EQ(c.rope.theta, 5e6);
  EXPECT_EQ(c.rope.rotaryDim, 64);
  EXPECT_EQ(c.rope.scaling, RopeScaling::None);
  EXPECT_EQ(c.eosTokenIds, (std::vector<int32_t>{151329, 151336, 151338}));
  EXPECT_EQ(c.padTokenId, 151329);
  EXPECT_EQ(c.dtype, DType::BF16);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("5000000"), std::string::npos) << c.notes[0];

  // A config that already says 5e6 is taken as is; so is any other model with theta 10000.
  json fixed = glm4_9bChatHfConfig();
  fixed["rope_theta"] = 5000000.0;
  EXPECT_TRUE(parse(fixed).notes.empty());
  json smaller = glm4_9bChatHfConfig();
  smaller["num_hidden_layers"] = 2;
  EXPECT_EQ(parse(smaller).rope.theta, 10000.0);
}

TEST(ConfigParse, Transformers5Glm4WithYarnRopeParameters) {
  const ModelConfig c = parse(glm4_0414YarnConfig());
  EXPECT_EQ(c.layout, ModelLayout::Glm4);
  EXPECT_EQ(c.modelType, "glm4");
  EXPECT_TRUE(c.postNorms);
  EXPECT_EQ(c.numLayers, 40);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.headDim, 128);
  EXPECT_EQ(c.normEps, 1e-5f);
  EXPECT_EQ(c.maxPositions, 131072);
  EXPECT_EQ(c.dtype, DType::BF16);
  EXPECT_EQ(c.rope.theta, 10000.0);  // no glm-4-9b-chat-hf correction for glm4
  EXPECT_EQ(c.rope.rotaryDim, 64);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Yarn);
  EXPECT_EQ(c.rope.factor, 4.0);
  EXPECT_EQ(c.rope.originalMaxPositions, 32768);
  EXPECT_EQ(c.rope.betaFast, 32.0);
  EXPECT_EQ(c.rope.betaSlow, 1.0);
  EXPECT_EQ(c.rope.attentionFactor, 0.0);
  EXPECT_TRUE(c.rope.truncate);
  EXPECT_TRUE(c.notes.empty());

  json custom = glm4_0414YarnConfig();
  custom["rope_parameters"].update(json{{"beta_fast", 16}, {"beta_slow", 2}, {"attention_factor", 1.25},
                                        {"truncate", false}, {"partial_rotary_factor", 0.25}});
  const ModelConfig d = parse(custom);
  EXPECT_EQ(d.rope.betaFast, 16.0);
  EXPECT_EQ(d.rope.betaSlow, 2.0);
  EXPECT_EQ(d.rope.attentionFactor, 1.25);
  EXPECT_FALSE(d.rope.truncate);
  EXPECT_EQ(d.rope.rotaryDim, 32);
}

TEST(ConfigParse, LegacyRopeScalingKinds) {
  json j = glm4_9bChatHfConfig();
  j["rope_theta"] = 5e6;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  ModelConfig c = parse(j);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Linear);
  EXPECT_EQ(c.rope.factor, 2.0);

  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  c = parse(j);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Llama3);
  EXPECT_EQ(c.rope.factor, 8.0);
  EXPECT_EQ(c.rope.lowFreqFactor, 1.0);
  EXPECT_EQ(c.rope.highFreqFactor, 4.0);
  EXPECT_EQ(c.rope.originalMaxPositions, 8192);

  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"mscale", 0.707}, {"mscale_all_dim", 0.707}};
  c = parse(j);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Yarn);
  EXPECT_EQ(c.rope.mscale, 0.707);
  EXPECT_EQ(c.rope.mscaleAllDim, 0.707);
  EXPECT_EQ(c.rope.originalMaxPositions, 0);

  j["rope_scaling"] = nullptr;
  EXPECT_EQ(parse(j).rope.scaling, RopeScaling::None);
  j["rope_scaling"] = {{"type", "default"}};
  EXPECT_EQ(parse(j).rope.scaling, RopeScaling::None);
}

TEST(ConfigParse, UnsupportedRopeScalingNamesTheField) {
  json j = glm4_9bChatHfConfig();
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  expectError([&] { parse(j); }, {"model/config.json", "rope_scaling.type", "dynamic"});
  json k = glm4_0414YarnConfig();
  k["rope_parameters"]["rope_type"] = "longrope";
  expectError([&] { parse(k); }, {"model/config.json", "rope_parameters.rope_type", "longrope"});
  k["rope_parameters"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  expectError([&] { parse(k); }, {"model/config.json", "rope_parameters.low_freq_factor"});
  k["rope_parameters"] = {{"rope_type", "linear"}};
  expectError([&] { parse(k); }, {"model/config.json", "rope_parameters.factor"});
}

// ---- errors ----

TEST(ConfigErrors, MissingFile) {
  ScratchDir dir;
  expectError([&] { parseConfigFile(dir / "config.json"); }, {(dir / "config.json").string() + ": not found"});
  expectError([&] { parseConfigFile(dir.path()); }, {(dir / "config.json").string() + ": not found"});
}

TEST(ConfigErrors, InvalidJsonNamesFileAndPosition) {
  ScratchDir dir;
  test::writeFile(dir / "config.json", "{\n  \"model_type\": \"chatglm\",\n  \"num_layers\": 40,,\n}");
  expectError([&] { parseConfigFile(dir / "config.json"); }, {(dir / "config.json").string(), "invalid JSON", "line 3"});
}

TEST(ConfigErrors, MissingField) {
  json j = glm4_9bChatConfig();
  j.erase("num_layers");
  expectError([&] { parse(j); }, {"model/config.json: missing field 'num_layers'"});
  json h = glm4_9bChatHfConfig();
  h.erase("vocab_size");
  expectError([&] { parse(h); }, {"model/config.json: missing field 'vocab_size'"});
  json t = glm4_9bChatConfig();
  t.erase("model_type");
  expectError([&] { parse(t); }, {"model/config.json: missing field 'model_type'"});
}

TEST(ConfigErrors, UnknownModelTypeListsSupported) {
  json j = glm4_9bChatConfig();
  j["model_type"] = "llama";
  expectError([&] { parse(j); }, {"model/config.json", "'llama'", "chatglm", "glm", "glm4"});
}

TEST(ConfigErrors, RefusedArchitectureFlags) {
  for (auto [key, value] : std::vector<std::pair<std::string, bool>>{{"original_rope", false},
                                                                     {"rmsnorm", false},
                                                                     {"add_bias_linear", true},
                                                                     {"post_layer_norm", false},
                                                                     {"apply_residual_connection_post_layernorm", true}}) {
    json j = glm4_9bChatConfig();
    j[key] = value;
    expectError([&] { parse(j); }, {"model/config.json", "'" + key + "'"});
  }
  json j = glm4_9bChatConfig();
  j["original_rope"] = false;
  expectError([&] { parse(j); }, {"'original_rope'", "NeoX"});
  json q = chatglm3_6bConfig();
  q["quantization_bit"] = 4;
  expectError([&] { parse(q); }, {"'quantization_bit'", "4"});
}

TEST(ConfigErrors, WrongTypesAndNonPositiveSizes) {
  json j = glm4_9bChatConfig();
  j["hidden_size"] = -4096;
  expectError([&] { parse(j); }, {"model/config.json", "'hidden_size'", "-4096"});
  j = glm4_9bChatConfig();
  j["hidden_size"] = 0;
  expectError([&] { parse(j); }, {"'hidden_size'", "found 0"});
  j = glm4_9bChatConfig();
  j["num_layers"] = "40";
  expectError([&] { parse(j); }, {"'num_layers'", "\"40\""});
  j = glm4_9bChatConfig();
  j["rmsnorm"] = 1;
  expectError([&] { parse(j); }, {"'rmsnorm'", "true or false"});
  j = glm4_9bChatConfig();
  j["rope_ratio"] = -1;
  expectError([&] { parse(j); }, {"'rope_ratio'", "-1"});
  j = glm4_9bChatConfig();
  j["eos_token_id"] = json::array({151329, "x"});
  expectError([&] { parse(j); }, {"'eos_token_id'"});
  j = glm4_9bChatConfig();
  j["torch_dtype"] = "int8";
  expectError([&] { parse(j); }, {"'torch_dtype'", "int8"});
  expectError([&] { parseConfigJson("[1]", "x/config.json"); }, {"x/config.json", "object"});
}

TEST(ConfigErrors, InconsistentShapes) {
  json j = glm4_9bChatConfig();
  j["multi_query_group_num"] = 3;
  expectError([&] { parse(j); }, {"model/config.json", "32", "3"});
  json h = glm4_9bChatHfConfig();
  h["partial_rotary_factor"] = 0.3;  // 128 * 0.3 = 38.4 dims
  expectError([&] { parse(h); }, {"model/config.json", "partial_rotary_factor"});
  h["partial_rotary_factor"] = 0.5;
  h["head_dim"] = 6;  // rotary 3: odd
  expectError([&] { parse(h); }, {"model/config.json", "rotary dimension 3"});
  json e = glm4_9bChatConfig();
  e["eos_token_id"] = 200000;
  expectError([&] { parse(e); }, {"eos_token_id 200000", "151552"});
}

// ---- named shapes and parameter counts ----

TEST(Shapes, Glm4_9bMatchesTheParsedConfig) {
  const ModelConfig s = shapeConfig("glm-4-9b");
  const ModelConfig c = parse(glm4_9bChatConfig());
  EXPECT_EQ(s.modelType, "glm-4-9b");
  EXPECT_EQ(s.layout, c.layout);
  EXPECT_EQ(s.family, c.family);
  EXPECT_EQ(s.numLayers, c.numLayers);
  EXPECT_EQ(s.hiddenSize, c.hiddenSize);
  EXPECT_EQ(s.ffnHiddenSize, c.ffnHiddenSize);
  EXPECT_EQ(s.numHeads, c.numHeads);
  EXPECT_EQ(s.numKvHeads, c.numKvHeads);
  EXPECT_EQ(s.headDim, c.headDim);
  EXPECT_EQ(s.vocabSize, c.vocabSize);
  EXPECT_EQ(s.maxPositions, c.maxPositions);
  EXPECT_EQ(s.normEps, c.normEps);
  EXPECT_EQ(s.qkvBias, c.qkvBias);
  EXPECT_EQ(s.rope.theta, c.rope.theta);
  EXPECT_EQ(s.rope.rotaryDim, c.rope.rotaryDim);
  EXPECT_EQ(s.eosTokenIds, c.eosTokenIds);
  EXPECT_EQ(s.padTokenId, c.padTokenId);
  EXPECT_EQ(s.dtype, c.dtype);
}

TEST(Shapes, OtherShapes) {
  const ModelConfig m = shapeConfig("glm-4-9b-chat-1m");
  EXPECT_EQ(m.numKvHeads, 4);
  EXPECT_EQ(m.rope.theta, 1e8);
  EXPECT_EQ(m.maxPositions, 1048576);

  const ModelConfig g3 = shapeConfig("chatglm3-6b");
  const ModelConfig p3 = parse(chatglm3_6bConfig());
  EXPECT_EQ(g3.family, ModelFamily::ChatGLM3);
  EXPECT_EQ(g3.numLayers, p3.numLayers);
  EXPECT_EQ(g3.vocabSize, p3.vocabSize);
  EXPECT_EQ(g3.normEps, p3.normEps);
  EXPECT_EQ(g3.rope.theta, p3.rope.theta);
  EXPECT_EQ(g3.maxPositions, p3.maxPositions);
  EXPECT_EQ(g3.eosTokenIds, p3.eosTokenIds);

  const ModelConfig t = shapeConfig("tiny");
  EXPECT_EQ(t.numLayers, 2);
  EXPECT_EQ(t.hiddenSize, 128);
  EXPECT_EQ(t.numHeads, 4);
  EXPECT_EQ(t.numKvHeads, 2);
  EXPECT_EQ(t.headDim, 32);
  EXPECT_EQ(t.ffnHiddenSize, 256);
  EXPECT_EQ(t.vocabSize, 1024);
  EXPECT_EQ(t.rope.theta, 5e6);
  EXPECT_EQ(t.rope.rotaryDim, 16);
  EXPECT_EQ(t.normEps, 1.5625e-07f);
  EXPECT_EQ(t.maxPositions, 4096);
  EXPECT_EQ(t.eosTokenIds, (std::vector<int32_t>{1000, 1007, 1009}));
  EXPECT_EQ(t.padTokenId, 1000);

  EXPECT_EQ(knownShapes(), (std::vector<std::string>{"glm-4-9b", "glm-4-9b-chat-1m", "chatglm3-6b", "tiny"}));
  expectError([&] { shapeConfig("glm-5"); }, {"'glm-5'", "glm-4-9b", "glm-4-9b-chat-1m", "chatglm3-6b", "tiny"});
}

TEST(Shapes, ParameterCountsComputedByHand) {
  // glm-4-9b, from the tensor shapes of GLM-REFERENCE §1.4:
  //   embedding and output 151552*4096 = 620,756,992 each
  //   per layer: qkv 4608*4096 + 4608 = 18,878,976; dense 4096*4096 = 16,777,216;
  //              h_to_4h 27392*4096 = 112,197,632; 4h_to_h 4096*13696 = 56,098,816; norms 2*4096
  //              = 203,960,832; x 40 layers = 8,158,433,280
  //   final norm 4096
  //   total 2*620,756,992 + 8,158,433,280 + 4096 = 9,399,951,360 (GLM-REFERENCE §1.2: 9.40 B)
  EXPECT_EQ(parameterCount(shapeConfig("glm-4-9b")), 9'399'951'360);
  // -1m: qkv grows to 5120 rows: +512*4096 + 512 = 2,097,664 per layer -> 9,483,857,920 (9.48 B).
  EXPECT_EQ(parameterCount(shapeConfig("glm-4-9b-chat-1m")), 9'483'857'920);
  // chatglm3-6b: 2*65024*4096 + 28*203,960,832 + 4096 = 6,243,584,000 (6.24 B).
  EXPECT_EQ(parameterCount(shapeConfig("chatglm3-6b")), 6'243'584'000);
  // Tied output and sandwich norms: tiny as glm4 (4 norms of 128 per layer) without lm_head.
  //   embedding 1024*128 = 131,072; per layer qkv (4+4)*32=256 rows: 256*128 + 256 = 33,024;
  //   o_proj 128*128 = 16,384; gate_up 512*128 = 65,536; down 128*256 = 32,768; norms 512
  //   = 148,224 x 2 = 296,448; final norm 128 -> 427,648.
  ModelConfig t = shapeConfig("tiny");
  t.layout = ModelLayout::Glm4;
  t.postNorms = true;
  t.tieWordEmbeddings = true;
  EXPECT_EQ(parameterCount(t), 427'648);
}

TEST(Shapes, Names) {
  EXPECT_EQ(layoutName(ModelLayout::ChatGLM), "chatglm");
  EXPECT_EQ(layoutName(ModelLayout::Glm), "glm");
  EXPECT_EQ(layoutName(ModelLayout::Glm4), "glm4");
  EXPECT_EQ(familyName(ModelFamily::Glm4), "glm-4");
  EXPECT_EQ(familyName(ModelFamily::ChatGLM3), "chatglm3");
  EXPECT_EQ(familyName(ModelFamily::ChatGLM2), "chatglm2");
}

}  // namespace
}  // namespace glm
