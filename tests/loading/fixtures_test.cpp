// The transformers-written fixtures (tests/data/fixtures, see its README): real safetensors files from
// the safetensors library, configs as transformers 5.17 writes them, and transformers' own record of
// how it read each config (expected.json). Everything compared here comes from that independent side.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "glmengine/config.h"
#include "io/model_weights.h"
#include "loading_test_util.h"
#include "util/half.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(GLM_TEST_DATA) / "fixtures";
const char* const kFixtureNames[] = {"glm-bf16", "chatglm-f16", "glm4-f32-sharded", "glm4-yarn-bf16",
                                     "glm-llama3-bf16"};

json readJson(const fs::path& path) { return json::parse(test::readFile(path)); }

#define REQUIRE_FIXTURE(name)                                                         \
  if (!fs::exists(kFixtures / (name) / "expected.json")) GTEST_SKIP() << "fixture " << (name) << " not generated"

float elementAsFloat(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DType::F32: { float v; std::memcpy(&v, t.data + 4 * i, 4); return v; }
    case DType::F16: { uint16_t v; std::memcpy(&v, t.data + 2 * i, 2); return f16ToFloat(v); }
    case DType::BF16: { uint16_t v; std::memcpy(&v, t.data + 2 * i, 2); return bf16ToFloat(v); }
    default: ADD_FAILURE() << t.name << " is not a float weight"; return NAN;
  }
}

class Fixture : public ::testing::TestWithParam<const char*> {};

TEST_P(Fixture, ConfigParsesAsTransformersReadIt) {
  REQUIRE_FIXTURE(GetParam());
  const fs::path dir = kFixtures / GetParam();
  const json expected = readJson(dir / "expected.json");
  const ModelConfig c = parseConfigFile(dir / "config.json");

  // expected.json spells layouts "chatglm", "hf-glm", "hf-glm4", "hf-glm4-sharded".
  const std::string layout = expected["layout"];
  const ModelLayout expectedLayout = layout.rfind("hf-glm4", 0) == 0  ? ModelLayout::Glm4
                                     : layout.rfind("hf-glm", 0) == 0 ? ModelLayout::Glm
                                                                      : ModelLayout::ChatGLM;
  EXPECT_EQ(layoutName(c.layout), layoutName(expectedLayout)) << layout;
  const json& rope = expected["rope_config_as_loaded"];
  EXPECT_EQ(c.rope.theta, rope["rope_theta"].get<double>());
  EXPECT_EQ(c.rope.rotaryDim, int(c.headDim * expected["partial_rotary_factor_as_loaded"].get<double>()));
  const std::string type = rope["rope_type"];
  const RopeScaling scaling = type == "yarn" ? RopeScaling::Yarn
                              : type == "llama3" ? RopeScaling::Llama3
                              : type == "linear" ? RopeScaling::Linear
                                                 : RopeScaling::None;
  EXPECT_EQ(c.rope.scaling, scaling) << type;
  if (rope.contains("factor")) EXPECT_EQ(c.rope.factor, rope["factor"].get<double>());
  if (rope.contains("original_max_position_embeddings"))
    EXPECT_EQ(c.rope.originalMaxPositions, rope["original_max_position_embeddings"].get<int64_t>());
  if (rope.contains("low_freq_factor")) EXPECT_EQ(c.rope.lowFreqFactor, rope["low_freq_factor"].get<double>());
  if (rope.contains("high_freq_factor")) EXPECT_EQ(c.rope.highFreqFactor, rope["high_freq_factor"].get<double>());

  const std::string dtype = expected["weights_dtype"];
  EXPECT_EQ(c.dtype, dtype == "bfloat16" ? DType::BF16 : dtype == "float16" ? DType::F16 : DType::F32);
  // The README's common shape.
  EXPECT_EQ(c.numLayers, 2);
  EXPECT_EQ(c.hiddenSize, 128);
  EXPECT_EQ(c.ffnHiddenSize, 256);
  EXPECT_EQ(c.numHeads, 4);
  EXPECT_EQ(c.headDim, 32);
  EXPECT_EQ(c.vocabSize, 1024);
  EXPECT_EQ(c.maxPositions, 4096);
  EXPECT_EQ(c.normEps, 1.5625e-07f);
  EXPECT_TRUE(c.qkvBias);
  EXPECT_FALSE(c.tieWordEmbeddings);
  EXPECT_EQ(c.eosTokenIds, (std::vector<int32_t>{1000, 1007, 1009}));
  EXPECT_EQ(c.padTokenId, 1000);
}

TEST_P(Fixture, WeightsOpenAndBind) {
  REQUIRE_FIXTURE(GetParam());
  const fs::path dir = kFixtures / GetParam();
  const ModelConfig c = parseConfigFile(dir / "config.json");
  auto store = WeightStore::openDirectory(dir);
  const ModelWeights w = bindWeights(c, *store);
  ASSERT_EQ(int(w.layers.size()), c.numLayers);
  EXPECT_EQ(w.layers[0].qkv.outFeatures, c.qkvRows());
  EXPECT_EQ(w.output.outFeatures, c.vocabSize);
  EXPECT_EQ(w.layers[1].postMlpNorm != nullptr, c.layout == ModelLayout::Glm4);
  // Every tensor in the folder is one the layout expects (plus chatglm's unused inv_freq buffer).
  size_t expectedCount = expectedTensors(c).size() + (c.layout == ModelLayout::ChatGLM ? 1 : 0);
  EXPECT_EQ(store->size(), expectedCount);
  for (const auto& name : store->names()) {
    const TensorView& t = store->require(name);
    if (name == "transformer.rotary_pos_emb.inv_freq") continue;
    EXPECT_EQ(t.dtype, c.dtype) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Loading, Fixture, ::testing::ValuesIn(kFixtureNames),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Fixtures, ShardIndexTotalsMatchTransformers) {
  REQUIRE_FIXTURE("glm4-f32-sharded");
  const fs::path dir = kFixtures / "glm4-f32-sharded";
  const json index = readJson(dir / "model.safetensors.index.json");
  const ModelConfig c = parseConfigFile(dir / "config.json");
  auto store = WeightStore::openDirectory(dir);
  EXPECT_EQ(int64_t(store->totalBytes()), index["metadata"]["total_size"].get<int64_t>());
  EXPECT_EQ(parameterCount(c), index["metadata"]["total_parameters"].get<int64_t>());
  EXPECT_EQ(store->size(), index["weight_map"].size());
}

// chatglm-f16 holds glm-bf16's weights converted to f16, with q/k/v fused into query_key_value.
// Binding both and comparing role by role checks that the row blocks line up as [Q | K | V].
TEST(Fixtures, ChatglmAndGlmLayoutsBindTheSameWeights) {
  REQUIRE_FIXTURE("chatglm-f16");
  REQUIRE_FIXTURE("glm-bf16");
  const ModelConfig cc = parseConfigFile(kFixtures / "chatglm-f16" / "config.json");
  const ModelConfig gc = parseConfigFile(kFixtures / "glm-bf16" / "config.json");
  auto cs = WeightStore::openDirectory(kFixtures / "chatglm-f16");
  auto gs = WeightStore::openDirectory(kFixtures / "glm-bf16");
  const ModelWeights cw = bindWeights(cc, *cs);
  const ModelWeights gw = bindWeights(gc, *gs);

  // The README bounds the bf16 -> f16 change by 3.0e-8 (tiny values that are subnormal in f16).
  constexpr float kTolerance = 3.1e-8f;
  auto expectSameRows = [&](const std::vector<const TensorView*>& a, const std::vector<const TensorView*>& b,
                            const std::string& what) {
    std::vector<float> fa, fb;
    for (const auto* t : a) for (int64_t i = 0; i < t->numel(); ++i) fa.push_back(elementAsFloat(*t, i));
    for (const auto* t : b) for (int64_t i = 0; i < t->numel(); ++i) fb.push_back(elementAsFloat(*t, i));
    ASSERT_EQ(fa.size(), fb.size()) << what;
    float maxDiff = 0;
    for (size_t i = 0; i < fa.size(); ++i) maxDiff = std::max(maxDiff, std::fabs(fa[i] - fb[i]));
    EXPECT_LE(maxDiff, kTolerance) << what;
  };
  expectSameRows({cw.embedding}, {gw.embedding}, "embedding");
  expectSameRows({cw.finalNorm}, {gw.finalNorm}, "final norm");
  expectSameRows(cw.output.parts, gw.output.parts, "output");
  for (size_t l = 0; l < cw.layers.size(); ++l) {
    const auto& a = cw.layers[l];
    const auto& b = gw.layers[l];
    const std::string at = " of layer " + std::to_string(l);
    expectSameRows({a.inputNorm}, {b.inputNorm}, "input norm" + at);
    expectSameRows(a.qkv.parts, b.qkv.parts, "qkv" + at);
    expectSameRows(a.qkv.biasParts, b.qkv.biasParts, "qkv bias" + at);
    expectSameRows(a.attnOut.parts, b.attnOut.parts, "attention output" + at);
    expectSameRows({a.postAttnNorm}, {b.postAttnNorm}, "post-attention norm" + at);
    expectSameRows(a.gateUp.parts, b.gateUp.parts, "gate/up" + at);
    expectSameRows(a.down.parts, b.down.parts, "down" + at);
  }
}

// expected.safetensors was written by the safetensors library: F64, I32 and F32 tensors whose values
// expected.json records separately.
TEST(Fixtures, ReadsTheSafetensorsLibrarysFiles) {
  REQUIRE_FIXTURE("glm4-yarn-bf16");
  const fs::path dir = kFixtures / "glm4-yarn-bf16";
  const json expected = readJson(dir / "expected.json");
  auto file = SafetensorsFile::open(dir / "expected.safetensors");
  EXPECT_EQ(file->metadata().at("format"), "pt");

  const TensorView* invFreq = file->find("rope.inv_freq");
  ASSERT_NE(invFreq, nullptr);
  EXPECT_EQ(invFreq->dtype, DType::F64);
  ASSERT_EQ(invFreq->shape, (std::vector<int64_t>{8}));
  for (int i = 0; i < 8; ++i) {
    double v;
    std::memcpy(&v, invFreq->data + 8 * i, 8);
    EXPECT_EQ(v, expected["inv_freq"][i].get<double>()) << i;
  }
  const TensorView* scaling = file->find("rope.attention_scaling");
  ASSERT_NE(scaling, nullptr);
  double s;
  std::memcpy(&s, scaling->data, 8);
  EXPECT_EQ(s, expected["attention_scaling"].get<double>());

  for (size_t i = 0; i < expected["cases"].size(); ++i) {
    const json& kase = expected["cases"][i];
    const std::string prefix = "case" + std::to_string(i) + ".";
    const TensorView* ids = file->find(prefix + "ids");
    const TensorView* positions = file->find(prefix + "positions");
    const TensorView* logits = file->find(prefix + "logits");
    ASSERT_TRUE(ids && positions && logits) << prefix;
    EXPECT_EQ(ids->dtype, DType::I32);
    EXPECT_EQ(ids->numel(), kase["n"].get<int64_t>());
    ASSERT_EQ(positions->numel(), int64_t(kase["positions"].size()));
    for (int64_t p = 0; p < positions->numel(); ++p) {
      int32_t v;
      std::memcpy(&v, positions->data + 4 * p, 4);
      EXPECT_EQ(v, kase["positions"][p].get<int32_t>());
    }
    // Token ids come from randint(0, 1014).
    for (int64_t k = 0; k < ids->numel(); ++k) {
      int32_t v;
      std::memcpy(&v, ids->data + 4 * k, 4);
      ASSERT_TRUE(v >= 0 && v < 1014) << prefix << k << " = " << v;
    }
    EXPECT_EQ(logits->dtype, DType::F32);
    EXPECT_EQ(logits->shape, (std::vector<int64_t>{positions->numel(), 1024}));
    // The recorded L2 norm was taken over the float64 logits; the stored f32 rounding is far below 1e-6.
    double sumSquares = 0;
    for (int64_t k = 0; k < logits->numel(); ++k) {
      float v;
      std::memcpy(&v, logits->data + 4 * k, 4);
      sumSquares += double(v) * v;
    }
    EXPECT_NEAR(std::sqrt(sumSquares) / kase["logits_l2_fp64"].get<double>(), 1.0, 1e-6) << prefix;
  }
}

}  // namespace
}  // namespace glm
