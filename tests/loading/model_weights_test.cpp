// Binding checkpoint tensors to layer roles, for the chatglm, glm and glm4 layouts: names, shapes,
// dtypes, and the errors for missing / misshapen / non-float tensors.
#include <gtest/gtest.h>

#include <set>

#include "glmengine/config.h"
#include "io/model_weights.h"
#include "loading_test_util.h"

namespace glm {
namespace {

using test::expectError;
using test::ScratchDir;

ModelConfig tinyConfig(ModelLayout layout, bool tied = false) {
  ModelConfig c = shapeConfig("tiny");  // hidden 128, 4 heads, 2 kv heads x 32, ffn 256, vocab 1024
  c.layout = layout;
  c.postNorms = layout == ModelLayout::Glm4;
  c.tieWordEmbeddings = tied;
  return c;
}

// Writes every expected tensor to one .safetensors file in `dir`, cycling through the three float
// dtypes so one model mixes them, each filled with a byte pattern unique to the tensor.
void writeModel(const ModelConfig& c, const std::filesystem::path& dir,
                const std::vector<TensorView>& extra = {}) {
  const DType dtypes[] = {DType::BF16, DType::F16, DType::F32};
  WeightStore store;
  int i = 0;
  for (const auto& t : expectedTensors(c)) {
    const TensorView& v = store.addOwned(t.name, dtypes[i % 3], t.shape);
    std::memset(store.mutableData(t.name), i + 1, v.bytes);
    ++i;
  }
  std::vector<TensorView> views;
  for (const auto& name : store.names()) views.push_back(store.require(name));
  views.insert(views.end(), extra.begin(), extra.end());
  writeSafetensors(dir / "model.safetensors", views);
}

std::map<std::string, std::vector<int64_t>> asMap(const std::vector<ExpectedTensor>& list) {
  std::map<std::string, std::vector<int64_t>> m;
  for (const auto& t : list) EXPECT_TRUE(m.emplace(t.name, t.shape).second) << "listed twice: " << t.name;
  return m;
}

using Shape = std::vector<int64_t>;

TEST(ExpectedTensors, ChatglmNamesAndShapes) {
  const auto m = asMap(expectedTensors(tinyConfig(ModelLayout::ChatGLM)));
  // embedding + final norm + output + 7 per layer (norm, qkv weight + bias, dense, norm, h_to_4h,
  // 4h_to_h)
  EXPECT_EQ(m.size(), 3u + 2u * 7u);
  EXPECT_EQ(m.at("transformer.embedding.word_embeddings.weight"), (Shape{1024, 128}));
  EXPECT_EQ(m.at("transformer.encoder.layers.1.input_layernorm.weight"), (Shape{128}));
  // (4 + 2*2) heads x 32 = 256 rows of [Q | K | V]
  EXPECT_EQ(m.at("transformer.encoder.layers.1.self_attention.query_key_value.weight"), (Shape{256, 128}));
  EXPECT_EQ(m.at("transformer.encoder.layers.1.self_attention.query_key_value.bias"), (Shape{256}));
  EXPECT_EQ(m.at("transformer.encoder.layers.0.self_attention.dense.weight"), (Shape{128, 128}));
  EXPECT_EQ(m.at("transformer.encoder.layers.0.post_attention_layernorm.weight"), (Shape{128}));
  EXPECT_EQ(m.at("transformer.encoder.layers.0.mlp.dense_h_to_4h.weight"), (Shape{512, 128}));
  EXPECT_EQ(m.at("transformer.encoder.layers.0.mlp.dense_4h_to_h.weight"), (Shape{128, 256}));
  EXPECT_EQ(m.at("transformer.encoder.final_layernorm.weight"), (Shape{128}));
  EXPECT_EQ(m.at("transformer.output_layer.weight"), (Shape{1024, 128}));
}

TEST(ExpectedTensors, GlmAndGlm4NamesAndShapes) {
  const auto glm = asMap(expectedTensors(tinyConfig(ModelLayout::Glm)));
  // embedding + final norm + lm_head + 11 per layer (norm, q/k/v weights, q/k/v biases, o_proj,
  // norm, gate_up, down)
  EXPECT_EQ(glm.size(), 3u + 2u * 11u);
  EXPECT_EQ(glm.at("model.embed_tokens.weight"), (Shape{1024, 128}));
  EXPECT_EQ(glm.at("model.layers.0.self_attn.q_proj.weight"), (Shape{128, 128}));
  EXPECT_EQ(glm.at("model.layers.0.self_attn.k_proj.weight"), (Shape{64, 128}));
  EXPECT_EQ(glm.at("model.layers.0.self_attn.v_proj.weight"), (Shape{64, 128}));
  EXPECT_EQ(glm.at("model.layers.1.self_attn.q_proj.bias"), (Shape{128}));
  EXPECT_EQ(glm.at("model.layers.1.self_attn.v_proj.bias"), (Shape{64}));
  EXPECT_EQ(glm.at("model.layers.1.self_attn.o_proj.weight"), (Shape{128, 128}));
  EXPECT_EQ(glm.at("model.layers.1.post_attention_layernorm.weight"), (Shape{128}));
  EXPECT_EQ(glm.at("model.layers.1.mlp.gate_up_proj.weight"), (Shape{512, 128}));
  EXPECT_EQ(glm.at("model.layers.1.mlp.down_proj.weight"), (Shape{128, 256}));
  EXPECT_EQ(glm.at("model.norm.weight"), (Shape{128}));
  EXPECT_EQ(glm.at("lm_head.weight"), (Shape{1024, 128}));
  EXPECT_EQ(glm.count("model.layers.0.post_self_attn_layernorm.weight"), 0u);

  const auto glm4 = asMap(expectedTensors(tinyConfig(ModelLayout::Glm4, /*tied=*/true)));
  EXPECT_EQ(glm4.size(), 25u + 4u - 1u);  // two sandwich norms per layer, no lm_head
  EXPECT_EQ(glm4.at("model.layers.1.post_self_attn_layernorm.weight"), (Shape{128}));
  EXPECT_EQ(glm4.at("model.layers.1.post_mlp_layernorm.weight"), (Shape{128}));
  EXPECT_EQ(glm4.count("lm_head.weight"), 0u);

  ModelConfig noBias = tinyConfig(ModelLayout::Glm);
  noBias.qkvBias = false;
  EXPECT_EQ(expectedTensors(noBias).size(), 25u - 6u);
}

TEST(ExpectedTensors, ElementCountMatchesParameterCount) {
  for (const auto& shape : knownShapes()) {
    for (auto layout : {ModelLayout::ChatGLM, ModelLayout::Glm, ModelLayout::Glm4}) {
      ModelConfig c = shapeConfig(shape);
      c.layout = layout;
      c.postNorms = layout == ModelLayout::Glm4;
      int64_t sum = 0;
      for (const auto& t : expectedTensors(c)) {
        int64_t n = 1;
        for (int64_t d : t.shape) n *= d;
        sum += n;
      }
      EXPECT_EQ(sum, parameterCount(c)) << shape << " " << layoutName(layout);
    }
  }
}

TEST(BindWeights, ChatglmFromAFolder) {
  ScratchDir dir;
  const ModelConfig c = tinyConfig(ModelLayout::ChatGLM);
  // Extra tensors the engine does not use are ignored.
  const std::string invFreq(16 * 4, '\0');
  writeModel(c, dir.path(), {test::viewOf("transformer.rotary_pos_emb.inv_freq", DType::F32, {16}, invFreq)});
  auto store = WeightStore::openDirectory(dir.path());
  const ModelWeights w = bindWeights(c, *store);

  EXPECT_EQ(w.embedding->name, "transformer.embedding.word_embeddings.weight");
  ASSERT_EQ(w.layers.size(), 2u);
  const LayerWeights& l1 = w.layers[1];
  EXPECT_EQ(l1.inputNorm->name, "transformer.encoder.layers.1.input_layernorm.weight");
  ASSERT_EQ(l1.qkv.parts.size(), 1u);
  EXPECT_EQ(l1.qkv.parts[0]->name, "transformer.encoder.layers.1.self_attention.query_key_value.weight");
  ASSERT_EQ(l1.qkv.biasParts.size(), 1u);
  EXPECT_EQ(l1.qkv.biasParts[0]->name, "transformer.encoder.layers.1.self_attention.query_key_value.bias");
  EXPECT_EQ(l1.qkv.outFeatures, 256);
  EXPECT_EQ(l1.qkv.inFeatures, 128);
  EXPECT_EQ(l1.attnOut.parts[0]->name, "transformer.encoder.layers.1.self_attention.dense.weight");
  EXPECT_FALSE(l1.attnOut.hasBias());
  EXPECT_EQ(l1.postAttnNorm->name, "transformer.encoder.layers.1.post_attention_layernorm.weight");
  EXPECT_EQ(l1.gateUp.parts[0]->name, "transformer.encoder.layers.1.mlp.dense_h_to_4h.weight");
  EXPECT_EQ(l1.gateUp.outFeatures, 512);
  EXPECT_EQ(l1.down.parts[0]->name, "transformer.encoder.layers.1.mlp.dense_4h_to_h.weight");
  EXPECT_EQ(l1.down.outFeatures, 128);
  EXPECT_EQ(l1.down.inFeatures, 256);
  EXPECT_EQ(l1.postSelfAttnNorm, nullptr);
  EXPECT_EQ(l1.postMlpNorm, nullptr);
  EXPECT_EQ(w.finalNorm->name, "transformer.encoder.final_layernorm.weight");
  ASSERT_EQ(w.output.parts.size(), 1u);
  EXPECT_EQ(w.output.parts[0]->name, "transformer.output_layer.weight");
  EXPECT_EQ(w.output.outFeatures, 1024);

  // The bound views are the mapped file's bytes.
  std::set<DType> dtypes;
  for (const auto& name : store->names()) dtypes.insert(store->require(name).dtype);
  EXPECT_EQ(dtypes.size(), 3u) << "the model mixes F32, F16 and BF16";
  EXPECT_EQ(w.embedding, store->find("transformer.embedding.word_embeddings.weight"));
}

TEST(BindWeights, GlmSplitsQkvIntoThreeRowBlocks) {
  WeightStore store;
  const ModelConfig c = tinyConfig(ModelLayout::Glm);
  for (const auto& t : expectedTensors(c)) store.addOwned(t.name, DType::BF16, t.shape);
  const ModelWeights w = bindWeights(c, store);
  const LinearView& qkv = w.layers[0].qkv;
  ASSERT_EQ(qkv.parts.size(), 3u);
  EXPECT_EQ(qkv.parts[0]->name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(qkv.parts[1]->name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(qkv.parts[2]->name, "model.layers.0.self_attn.v_proj.weight");
  ASSERT_EQ(qkv.biasParts.size(), 3u);
  EXPECT_EQ(qkv.biasParts[2]->name, "model.layers.0.self_attn.v_proj.bias");
  EXPECT_EQ(qkv.outFeatures, 128 + 64 + 64);
  EXPECT_EQ(w.layers[0].attnOut.parts[0]->name, "model.layers.0.self_attn.o_proj.weight");
  EXPECT_EQ(w.layers[0].gateUp.parts[0]->name, "model.layers.0.mlp.gate_up_proj.weight");
  EXPECT_EQ(w.layers[0].down.parts[0]->name, "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(w.layers[0].postSelfAttnNorm, nullptr);
  EXPECT_EQ(w.finalNorm->name, "model.norm.weight");
  EXPECT_EQ(w.output.parts[0]->name, "lm_head.weight");
}

TEST(BindWeights, Glm4SandwichNormsAndTiedOutput) {
  WeightStore store;
  const ModelConfig c = tinyConfig(ModelLayout::Glm4, /*tied=*/true);
  for (const auto& t : expectedTensors(c)) store.addOwned(t.name, DType::F32, t.shape);
  const ModelWeights w = bindWeights(c, store);
  EXPECT_EQ(w.layers[1].postSelfAttnNorm->name, "model.layers.1.post_self_attn_layernorm.weight");
  EXPECT_EQ(w.layers[1].postMlpNorm->name, "model.layers.1.post_mlp_layernorm.weight");
  ASSERT_EQ(w.output.parts.size(), 1u);
  EXPECT_EQ(w.output.parts[0], w.embedding);
  EXPECT_EQ(w.output.outFeatures, 1024);
  EXPECT_EQ(w.output.inFeatures, 128);
  EXPECT_FALSE(w.output.hasBias());
}

TEST(BindWeights, MissingTensorNamesTensorLayoutAndFolder) {
  ScratchDir dir;
  ModelConfig c = tinyConfig(ModelLayout::Glm);
  writeModel(c, dir.path());
  auto store = WeightStore::openDirectory(dir.path());
  ModelConfig threeLayers = c;
  threeLayers.numLayers = 3;
  expectError([&] { bindWeights(threeLayers, *store); },
              {"model.layers.2.input_layernorm.weight", "glm layout", dir.path().string()});
  // A chatglm config against glm tensors: the first chatglm name is missing.
  expectError([&] { bindWeights(tinyConfig(ModelLayout::ChatGLM), *store); },
              {"transformer.embedding.word_embeddings.weight", "chatglm layout"});
}

TEST(BindWeights, WrongShapeNamesTensorExpectedAndFound) {
  WeightStore store;
  const ModelConfig c = tinyConfig(ModelLayout::ChatGLM);
  for (const auto& t : expectedTensors(c)) {
    Shape shape = t.shape;
    if (t.name == "transformer.encoder.layers.1.mlp.dense_4h_to_h.weight") shape = {256, 128};  // transposed
    store.addOwned(t.name, DType::BF16, shape);
  }
  expectError([&] { bindWeights(c, store); },
              {"in-memory weights", "transformer.encoder.layers.1.mlp.dense_4h_to_h.weight",
               "expected shape [128, 256]", "found [256, 128]"});
}

TEST(BindWeights, IntegerWeightIsRefused) {
  ScratchDir dir;
  const ModelConfig c = tinyConfig(ModelLayout::ChatGLM);
  std::vector<std::string> buffers;
  std::vector<TensorView> views;
  buffers.reserve(64);
  for (const auto& t : expectedTensors(c)) {
    const bool integer = t.name == "transformer.encoder.layers.0.self_attention.dense.weight";
    const DType dtype = integer ? DType::I32 : DType::F16;
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    buffers.emplace_back(size_t(n) * dtypeSize(dtype), '\0');
    views.push_back(test::viewOf(t.name, dtype, t.shape, buffers.back()));
  }
  writeSafetensors(dir / "model.safetensors", views);
  auto store = WeightStore::openDirectory(dir.path());
  expectError([&] { bindWeights(c, *store); },
              {"model.safetensors", "transformer.encoder.layers.0.self_attention.dense.weight", "I32"});
}

}  // namespace
}  // namespace glm
