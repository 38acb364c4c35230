// Sessions over the CPU backend: chunked prefill, prefix reuse, cancel, decode, KV cache types,
// random weights, and the errors a user can run into.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "glmengine/model.h"
#include "test_util.h"

using namespace glmtest;

namespace {

std::vector<int32_t> randomIds(size_t n, uint32_t seed, int32_t vocab = 1000) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = pick(rng);
  return v;
}

std::unique_ptr<glm::Model> loadFixture(const char* name, int chunk = 256, glm::DType kv = glm::DType::F32,
                                        int64_t ctx = 4096) {
  glm::LoadOptions o;
  o.path = fixturesDir() / name;
  o.backend = glm::BackendKind::Cpu;
  o.prefillChunk = chunk;
  o.kvCacheType = kv;
  o.contextLength = ctx;
  return glm::Model::load(o);
}

std::vector<float> lastLogits(glm::Session& s) {
  auto l = s.logits();
  return {l.begin(), l.end()};
}

}  // namespace

TEST(Session, ChunkSizeDoesNotChangeLogits) {
  const auto ids = randomIds(301, 1);
  std::vector<std::vector<float>> results;
  for (int chunk : {1, 7, 64, 512}) {
    auto model = loadFixture("glm4-f32-sharded", chunk);
    auto s = model->newSession();
    s->prefill(ids);
    results.push_back(lastLogits(*s));
  }
  for (size_t i = 1; i < results.size(); ++i) EXPECT_LT(relativeError(results[i], results[0]), 1e-5) << i;
}

TEST(Session, PrefixIsReusedAndGivesTheSameLogits) {
  auto model = loadFixture("glm-bf16", 32);
  const auto all = randomIds(200, 2);
  const std::vector<int32_t> first(all.begin(), all.begin() + 150);
  auto s = model->newSession();
  auto st = s->prefill(first);
  EXPECT_EQ(st.reusedTokens, 0);
  EXPECT_EQ(st.computedTokens, 150);
  st = s->prefill(all);
  EXPECT_EQ(st.reusedTokens, 150);
  EXPECT_EQ(st.computedTokens, 50);
  auto fresh = model->newSession();
  fresh->prefill(all);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*fresh)), 1e-6);
  // The same prompt again costs nothing; a diverging one recomputes from the first difference.
  st = s->prefill(all);
  EXPECT_EQ(st.computedTokens, 0);
  auto diverged = all;
  diverged[120] = (diverged[120] + 1) % 1000;
  st = s->prefill(diverged);
  EXPECT_EQ(st.reusedTokens, 120);
  EXPECT_EQ(st.computedTokens, 80);
  // A prompt that is a prefix of the cache recomputes only its last token.
  st = s->prefill(all);
  EXPECT_EQ(st.reusedTokens, 120);
  st = s->prefill(first);
  EXPECT_EQ(st.reusedTokens, 149);
  EXPECT_EQ(st.computedTokens, 1);
  auto freshFirst = model->newSession();
  freshFirst->prefill(first);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*freshFirst)), 1e-6);
}

TEST(Session, DecodeStepEqualsPrefillOfTheLongerSequence) {
  auto model = loadFixture("chatglm-f16", 16);
  const auto ids = randomIds(40, 3);
  auto s = model->newSession();
  s->prefill(std::span<const int32_t>(ids).first(37));
  for (size_t i = 37; i < 40; ++i) s->append(ids[i]);
  auto whole = model->newSession();
  const int64_t last = 39;
  const auto want = whole->logitsAt(ids, std::span<const int64_t>(&last, 1));
  EXPECT_LT(relativeError(lastLogits(*s), want), 1e-5);
  EXPECT_EQ(s->tokens(), ids);
}

TEST(Session, CancelStopsAfterAChunkAndKeepsTheCacheConsistent) {
  auto model = loadFixture("glm-bf16", 50);
  const auto ids = randomIds(230, 4);
  auto s = model->newSession();
  int calls = 0;
  EXPECT_THROW(s->prefill(ids,
                          [&](int64_t done, int64_t total) {
                            EXPECT_EQ(total, 230);
                            return ++calls < 3;  // 0, 50, then refuse at 100
                          }),
               glm::Cancelled);
  EXPECT_EQ(s->tokens().size(), 100u);
  EXPECT_THROW(s->logits(), glm::Error);
  const auto st = s->prefill(ids);
  EXPECT_EQ(st.reusedTokens, 100);
  auto fresh = model->newSession();
  fresh->prefill(ids);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*fresh)), 1e-6);
}

TEST(Session, Bf16KvCacheStaysCloseToF32) {
  const auto ids = randomIds(500, 5);
  auto a = loadFixture("glm-llama3-bf16", 128, glm::DType::F32);
  auto b = loadFixture("glm-llama3-bf16", 128, glm::DType::BF16);
  auto sa = a->newSession(), sb = b->newSession();
  sa->prefill(ids);
  sb->prefill(ids);
  const double err = relativeError(lastLogits(*sb), lastLogits(*sa));
  EXPECT_GT(err, 0.0);  // it really is a different cache
  EXPECT_LT(err, 2e-2);
}

TEST(Session, SamplingIsReproducibleWithASeed) {
  auto model = loadFixture("glm-bf16");
  auto generate = [&](uint64_t seed) {
    glm::SamplingParams p;
    p.temperature = 1.0f;
    p.topP = 0.95f;
    p.seed = seed;
    glm::Sampler sampler(p);
    auto s = model->newSession();
    s->prefill(randomIds(20, 6));
    std::vector<int32_t> out;
    for (int i = 0; i < 24; ++i) {
      const int32_t t = s->sample(sampler);
      out.push_back(t);
      s->append(t);
    }
    return out;
  };
  EXPECT_EQ(generate(42), generate(42));
  EXPECT_NE(generate(42), generate(43));
}

// Greedy sample() may start the sampled token's step before returning it (GlmForward::greedyTokenThenStep; the
// CPU backend has no step of its own to start, so GLMCHAT_STEP_AHEAD=always runs it there): the tokens and the
// logits must be those of a session without it, whether the caller appends that token, another one, asks for
// the logits first, or prefills.
TEST(Session, GreedyStepAheadChangesNoTokenOrLogit) {
  auto load = [](const char* mode) {
    setenv("GLMCHAT_STEP_AHEAD", mode, 1);
    auto m = loadFixture("glm-bf16", 64);
    unsetenv("GLMCHAT_STEP_AHEAD");
    return m;
  };
  auto aheadModel = load("always"), plainModel = load("0");
  auto s = aheadModel->newSession(), r = plainModel->newSession();
  glm::SamplingParams p;
  p.temperature = 0.0f;
  glm::Sampler greedy(p);
  const auto prompt = randomIds(20, 8);
  s->prefill(prompt);
  r->prefill(prompt);
  for (int i = 0; i < 10; ++i) {
    const int32_t a = s->sample(greedy), b = r->sample(greedy);
    ASSERT_EQ(a, b) << "step " << i;
    s->append(a);
    r->append(b);
  }
  EXPECT_EQ(s->tokens(), r->tokens());

  // (Asking for the logits takes them to the host, after which sample() does not start a step: each case
  // below samples right after a step.) Another token appended instead of the sampled one.
  const int32_t other = (s->sample(greedy) + 1) % 1000;
  s->append(other);
  r->append(other);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*r)), 1e-6);
  // Sampled, not appended: the logits asked for are still the last token's, and sampling again gives the same.
  s->append(3);
  r->append(3);
  const int32_t t = s->sample(greedy);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*r)), 1e-6);
  EXPECT_EQ(s->sample(greedy), t);
  s->append(t);
  r->append(t);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*r)), 1e-6);
  // Sampled (a stop token, say), then the next turn prefilled: the step ahead left nothing behind.
  EXPECT_EQ(s->sample(greedy), r->sample(greedy));
  auto next = s->tokens();
  for (int32_t id : randomIds(5, 9)) next.push_back(id);
  EXPECT_EQ(s->prefill(next).reusedTokens, int64_t(r->tokens().size()));
  r->prefill(next);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*r)), 1e-6);
  // Sampled after a step, then the same tokens prefilled again: the last token's logits computed anew.
  s->append(7);
  r->append(7);
  s->sample(greedy);
  const std::vector<int32_t> held = s->tokens();
  EXPECT_EQ(s->prefill(held).computedTokens, 1);
  EXPECT_LT(relativeError(lastLogits(*s), lastLogits(*r)), 1e-6);
  EXPECT_EQ(s->tokens(), r->tokens());
}

TEST(Session, ContextOverflowAndBadIdsAreClearErrors) {
  auto model = loadFixture("glm-bf16", 64, glm::DType::F32, 100);
  auto s = model->newSession();
  try {
    s->prefill(randomIds(101, 7));
    FAIL() << "expected an error";
  } catch (const glm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("context of 100"), std::string::npos) << e.what();
  }
  std::vector<int32_t> bad = {1, 2, 5000};
  try {
    s->prefill(bad);
    FAIL() << "expected an error";
  } catch (const glm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("5000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s->prefill(std::vector<int32_t>{}), glm::Error);
}

TEST(Model, RandomWeightsAreDeterministicAndFinite) {
  auto load = [](uint64_t seed) {
    glm::LoadOptions o;
    o.randomWeights = "tiny";
    o.randomSeed = seed;
    o.backend = glm::BackendKind::Cpu;
    return glm::Model::load(o);
  };
  auto a = load(9), b = load(9), c = load(10);
  const auto ids = randomIds(33, 8);
  auto run = [&](glm::Model& m) {
    auto s = m.newSession();
    s->prefill(ids);
    return lastLogits(*s);
  };
  const auto la = run(*a), lb = run(*b), lc = run(*c);
  EXPECT_EQ(la, lb);
  EXPECT_NE(la, lc);
  for (float v : la) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(a->info().parameterCount, glm::parameterCount(glm::shapeConfig("tiny")));
  EXPECT_FALSE(a->hasTokenizer());
  EXPECT_THROW(a->chatFormat(), glm::Error);
}

TEST(Model, UnavailableBackendSaysWhy) {
  glm::LoadOptions o;
  o.randomWeights = "tiny";
  o.backend = glm::BackendKind::Cuda;
  try {
    glm::Model::load(o);
    FAIL() << "expected an error";
  } catch (const glm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
  o.backend = glm::BackendKind::Auto;
  auto m = glm::Model::load(o);
  EXPECT_EQ(m->info().backend, "cpu");
  EXPECT_FALSE(m->info().backendReason.empty());
  EXPECT_THROW(glm::parseBackendKind("tpu"), glm::Error);
}

TEST(Model, PrefillChunkShrinksToFitMemory) {
  const auto cfg = glm::shapeConfig("glm-4-9b");
  const auto plan = [&](int chunk) { return glm::planMemory(cfg, 131072, glm::DType::BF16, chunk); };
  // Scratch grows with the chunk, so a budget between the 512- and 1024-token plans picks 512.
  ASSERT_LT(plan(512).total(), plan(1024).total());
  const int64_t budget = (plan(512).total() + plan(1024).total()) / 2;
  std::vector<int> asked;
  const auto fits = [&](const glm::MemoryPlan& p) {
    asked.push_back(int(p.scratchBytes == plan(2048).scratchBytes   ? 2048
                        : p.scratchBytes == plan(1024).scratchBytes ? 1024
                        : p.scratchBytes == plan(512).scratchBytes  ? 512
                                                                    : -1));
    return p.total() <= budget;
  };
  EXPECT_EQ(glm::fitPrefillChunk(cfg, 131072, glm::DType::BF16, 2048, fits), 512);
  EXPECT_EQ(asked, (std::vector<int>{2048, 1024, 512}));
  // Enough memory: the preferred chunk stays; none enough: the smallest tried (the caller reports its plan).
  EXPECT_EQ(glm::fitPrefillChunk(cfg, 131072, glm::DType::BF16, 2048, [](const glm::MemoryPlan&) { return true; }),
            2048);
  EXPECT_EQ(glm::fitPrefillChunk(cfg, 131072, glm::DType::BF16, 2048, [](const glm::MemoryPlan&) { return false; }),
            256);
  EXPECT_EQ(glm::fitPrefillChunk(cfg, 131072, glm::DType::BF16, 100, [](const glm::MemoryPlan&) { return false; }),
            100);
}

TEST(Model, MemoryPlanOfGlm4At128K) {
  // GLM-4-9B: 40 layers x 2 (K,V) x 2 KV heads x 128 dims x 2 bytes = 40 KiB per token in bf16.
  const auto plan = glm::planMemory(glm::shapeConfig("glm-4-9b"), 131072, glm::DType::BF16, 256);
  EXPECT_EQ(plan.kvCacheBytes, int64_t(131072) * 40 * 1024);
  EXPECT_EQ(plan.weightBytes, glm::parameterCount(glm::shapeConfig("glm-4-9b")) * 2);
}
