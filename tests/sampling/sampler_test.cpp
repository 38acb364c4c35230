// Sampler behaviour: greedy, reproducibility, the allowed sets of top-k / top-p / min-p,
// agreement with softmax probabilities (chi-square), temperature, repetition penalty, bad input,
// and the cost of one 151552-wide row.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "glmengine/error.h"
#include "glmengine/sampling.h"

namespace glm {
namespace {

SamplingParams plainParams(float temperature = 1.0f, uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = temperature;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  p.repetitionPenalty = 1.0f;
  p.seed = seed;
  return p;
}

std::vector<float> randomLogits(size_t n, uint32_t seed, float scale = 2.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> logits(n);
  for (float& l : logits) l = normal(gen);
  return logits;
}

std::vector<float> logOf(const std::vector<double>& probabilities) {
  std::vector<float> logits;
  for (const double p : probabilities) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Draws `draws` tokens and returns how often each id came up.
std::vector<int> histogram(Sampler& sampler, const std::vector<float>& logits, int draws) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const int32_t id = sampler.sample(logits, {});
    EXPECT_GE(id, 0);
    EXPECT_LT(static_cast<size_t>(id), logits.size());
    ++counts[static_cast<size_t>(id)];
  }
  return counts;
}

std::set<int32_t> drawnSet(const std::vector<int>& counts) {
  std::set<int32_t> ids;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) ids.insert(static_cast<int32_t>(i));
  }
  return ids;
}

// Pearson's statistic of observed counts against expected probabilities (which sum to 1).
double chiSquare(const std::vector<int>& counts, const std::vector<double>& expected, int draws) {
  double statistic = 0.0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double e = expected[i] * draws;
    if (e == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0";
      continue;
    }
    statistic += (counts[i] - e) * (counts[i] - e) / e;
  }
  return statistic;
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  const double maxLogit = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  for (const float l : logits) p.push_back(std::exp((l - maxLogit) / temperature));
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= sum;
  return p;
}

TEST(Sampler, GreedyPicksTheArgmaxAndTheLowestIdOnTies) {
  Sampler sampler(plainParams(0.0f));
  EXPECT_EQ(sampler.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}, {}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{-5.0f, 7.0f, 7.0f, 7.0f}, {}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{-INFINITY, -3.0f}, {}), 1);
  const std::vector<float> logits = randomLogits(151552, 7);
  const auto argmax = std::max_element(logits.begin(), logits.end()) - logits.begin();
  EXPECT_EQ(sampler.sample(logits, {}), argmax);
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDifferentSequence) {
  const std::vector<float> logits = randomLogits(1000, 3, 1.0f);
  auto run = [&](uint64_t seed) {
    SamplingParams params;  // defaults: T 0.8, top-p 0.8
    params.seed = seed;
    params.repetitionPenalty = 1.1f;
    Sampler sampler(params);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 200; ++i) tokens.push_back(sampler.sample(logits, tokens));
    return tokens;
  };
  const auto first = run(42);
  EXPECT_EQ(first, run(42));
  EXPECT_NE(first, run(43));
  EXPECT_GT(std::set<int32_t>(first.begin(), first.end()).size(), 20u) << "the draws should vary";

  SamplingParams params;
  params.seed = 42;
  params.repetitionPenalty = 1.1f;
  Sampler sampler(params);
  sampler.sample(logits, {});
  sampler.reseed(42);
  std::vector<int32_t> again;
  for (int i = 0; i < 200; ++i) again.push_back(sampler.sample(logits, again));
  EXPECT_EQ(first, again);
}

TEST(Sampler, TopKOneEqualsGreedy) {
  SamplingParams params = plainParams(1.5f, 9);
  params.topK = 1;
  Sampler topOne(params);
  Sampler greedy(plainParams(0.0f));
  for (uint32_t row = 0; row < 50; ++row) {
    const std::vector<float> logits = randomLogits(500, row);
    EXPECT_EQ(topOne.sample(logits, {}), greedy.sample(logits, {}));
  }
}

TEST(Sampler, TopKNeverLeavesTheKLargest) {
  // The three largest are ids 4 (3.0), 6 (2.9) and 1 (2.0).
  const std::vector<float> logits{0.1f, 2.0f, 1.5f, -1.0f, 3.0f, 0.5f, 2.9f, 1.9f};
  SamplingParams params = plainParams(2.0f, 5);
  params.topK = 3;
  Sampler sampler(params);
  EXPECT_EQ(drawnSet(histogram(sampler, logits, 20000)), (std::set<int32_t>{1, 4, 6}));
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const std::vector<float> logits = logOf({0.05, 0.5, 0.1, 0.2, 0.15});
  SamplingParams params = plainParams(1.0f, 11);
  params.topP = 0.8f;  // 0.5 + 0.2 = 0.7 < 0.8 <= 0.85 = 0.5 + 0.2 + 0.15
  Sampler sampler(params);
  EXPECT_EQ(drawnSet(histogram(sampler, logits, 20000)), (std::set<int32_t>{1, 3, 4}));

  params.topP = 0.4f;  // 0.5 alone reaches it
  Sampler narrow(params);
  EXPECT_EQ(drawnSet(histogram(narrow, logits, 2000)), (std::set<int32_t>{1}));
}

TEST(Sampler, TopPOnTiesKeepsTheLowestIds) {
  // 1000 equal tokens, p = 0.25 (exact in float): the first 250 ids in the descending order with
  // ties broken by id.
  const std::vector<float> logits(1000, 0.5f);
  SamplingParams params = plainParams(1.0f, 2);
  params.topP = 0.25f;
  Sampler sampler(params);
  const auto counts = histogram(sampler, logits, 20000);
  std::set<int32_t> expected;
  for (int32_t i = 0; i < 250; ++i) expected.insert(i);
  EXPECT_EQ(drawnSet(counts), expected);
}

TEST(Sampler, TopPOnALargeRowMatchesAFullSortReference) {
  // 20000 tokens: 40 likely ones (logits 5.00, 5.01, ... at scattered ids) hold ~98% of the mass,
  // the rest is noise around -5. With p = 0.6 the nucleus is a few dozen of the likely ones, each
  // likely enough to come up in the draws, so the drawn set must equal the reference exactly.
  std::vector<float> logits = randomLogits(20000, 17, 0.5f);
  for (float& l : logits) l -= 5.0f;
  for (int i = 0; i < 40; ++i) logits[static_cast<size_t>(i) * 487 + 13] = 5.0f + 0.01f * static_cast<float>(i);
  const float topP = 0.6f;

  // Reference: sort every probability descending, take the prefix whose sum reaches p.
  const std::vector<double> p = softmax(logits, 1.0);
  std::vector<int32_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
  std::set<int32_t> nucleus;
  double cumulative = 0.0;
  for (const int32_t id : order) {
    nucleus.insert(id);
    cumulative += p[id];
    if (cumulative >= topP) break;
  }
  ASSERT_GT(nucleus.size(), 15u);
  ASSERT_LT(nucleus.size(), 40u);

  SamplingParams params = plainParams(1.0f, 23);
  params.topP = topP;
  Sampler sampler(params);
  EXPECT_EQ(drawnSet(histogram(sampler, logits, 5000)), nucleus);
}

TEST(Sampler, MinPDropsTokensBelowTheFractionOfTheMax) {
  const std::vector<float> logits = logOf({0.5, 0.3, 0.1, 0.06, 0.04});
  SamplingParams params = plainParams(1.0f, 13);
  params.minP = 0.15f;  // keeps p >= 0.075
  Sampler sampler(params);
  EXPECT_EQ(drawnSet(histogram(sampler, logits, 20000)), (std::set<int32_t>{0, 1, 2}));
}

TEST(Sampler, FrequenciesMatchSoftmaxAtTemperatureOne) {
  const std::vector<float> logits = randomLogits(20, 5, 1.0f);
  constexpr int kDraws = 100000;
  Sampler sampler(plainParams(1.0f, 1234));
  const auto counts = histogram(sampler, logits, kDraws);
  // 19 degrees of freedom: P(chi2 > 43.82) = 0.001.
  const double statistic = chiSquare(counts, softmax(logits, 1.0), kDraws);
  // The statistic is able to fail: against the distribution at another temperature it is huge.
  const double againstWrong = chiSquare(counts, softmax(logits, 1.3), kDraws);
  std::printf("chi-square of %d draws, 19 dof: %.2f (bound 43.82); against T=1.3: %.1f\n", kDraws, statistic,
              againstWrong);
  EXPECT_LT(statistic, 43.82);
  EXPECT_GT(againstWrong, 500.0);
}

TEST(Sampler, FrequenciesMatchRenormalizedTopKAtTemperature) {
  const std::vector<float> logits = randomLogits(30, 8, 1.0f);
  constexpr int kDraws = 100000;
  constexpr size_t kTopK = 6;
  SamplingParams params = plainParams(0.7f, 99);
  params.topK = kTopK;
  Sampler sampler(params);
  const auto counts = histogram(sampler, logits, kDraws);

  std::vector<float> sorted = logits;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  std::vector<float> masked = logits;
  for (float& l : masked) {
    if (l < sorted[kTopK - 1]) l = -INFINITY;
  }
  // 5 degrees of freedom: P(chi2 > 20.52) = 0.001.
  const double statistic = chiSquare(counts, softmax(masked, 0.7), kDraws);
  std::printf("chi-square of %d draws, top-k 6 at T=0.7, 5 dof: %.2f (bound 20.52)\n", kDraws, statistic);
  EXPECT_LT(statistic, 20.52);
}

TEST(Sampler, TinyTemperatureConcentratesOnTheArgmax) {
  const std::vector<float> logits{1.0f, 1.1f, 0.9f, 1.05f};
  for (const float temperature : {1e-3f, 1e-30f}) {
    Sampler sampler(plainParams(temperature, 3));
    const auto counts = histogram(sampler, logits, 2000);
    EXPECT_EQ(counts[1], 2000) << "temperature " << temperature;
  }
}

TEST(Sampler, RepetitionPenaltyLowersRepeatedTokensOfBothSigns) {
  SamplingParams params = plainParams(0.0f);
  params.repetitionPenalty = 1.5f;
  Sampler greedy(params);
  // Positive logit: 2.0 / 1.5 = 1.33 < 1.9.
  EXPECT_EQ(greedy.sample(std::vector<float>{2.0f, 1.9f}, std::vector<int32_t>{0}), 1);
  // Negative logit: -1.0 * 1.5 = -1.5 < -1.2 (dividing would have raised it).
  EXPECT_EQ(greedy.sample(std::vector<float>{-1.0f, -1.2f}, std::vector<int32_t>{0}), 1);
  // Each distinct token once: with 1.2, 2.0 -> 1.67 still beats 1.5 however often 0 repeats.
  params.repetitionPenalty = 1.2f;
  Sampler once(params);
  EXPECT_EQ(once.sample(std::vector<float>{2.0f, 1.5f}, std::vector<int32_t>{0, 0, 0, 0}), 0);
  // Only the last N tokens count.
  params.repetitionPenalty = 1.5f;
  params.repetitionLastN = 2;
  Sampler windowed(params);
  EXPECT_EQ(windowed.sample(std::vector<float>{2.0f, 1.9f, 0.0f, 0.0f}, std::vector<int32_t>{0, 2, 3}), 0);
  EXPECT_EQ(windowed.sample(std::vector<float>{2.0f, 1.9f, 0.0f, 0.0f}, std::vector<int32_t>{2, 3, 0}), 1);

  // Sampled: the penalized token's frequency drops from its softmax share.
  const std::vector<float> logits{1.0f, 1.0f, -0.5f, -0.5f};
  SamplingParams sampled = plainParams(1.0f, 77);
  sampled.repetitionPenalty = 2.0f;
  Sampler sampler(sampled);
  std::vector<int> counts(4, 0);
  const std::vector<int32_t> history{0, 2};
  for (int i = 0; i < 20000; ++i) ++counts[sampler.sample(logits, history)];
  EXPECT_LT(counts[0], counts[1] * 0.75);  // expected ratio e^0.5 / e^1 = 0.61
  EXPECT_LT(counts[2], counts[3] * 0.75);  // expected ratio e^-1 / e^-0.5 = 0.61
}

TEST(Sampler, BadLogitsThrowNamingThePosition) {
  Sampler sampler(plainParams(1.0f));
  std::vector<float> logits(10, 0.0f);
  logits[7] = NAN;
  try {
    sampler.sample(logits, {});
    FAIL() << "expected glm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  Sampler greedy(plainParams(0.0f));
  EXPECT_THROW(greedy.sample(logits, {}), Error);
  logits[7] = INFINITY;
  EXPECT_THROW(sampler.sample(logits, {}), Error);
  EXPECT_THROW(sampler.sample(std::vector<float>(4, -INFINITY), {}), Error);
  EXPECT_THROW(greedy.sample(std::vector<float>(4, -INFINITY), {}), Error);
  EXPECT_THROW(sampler.sample(std::vector<float>{}, {}), Error);

  SamplingParams penalized = plainParams(1.0f);
  penalized.repetitionPenalty = 1.3f;
  Sampler withPenalty(penalized);
  EXPECT_THROW(withPenalty.sample(std::vector<float>(4, 0.0f), std::vector<int32_t>{9}), Error);
  EXPECT_THROW(withPenalty.sample(std::vector<float>(4, 0.0f), std::vector<int32_t>{-1}), Error);
}

TEST(Sampler, InvalidParamsAreRejected) {
  auto withParam = [](auto change) {
    SamplingParams p;
    change(p);
    return p;
  };
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.topP = 0.0f; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.topP = 1.5f; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.minP = -0.1f; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.topK = -1; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.repetitionPenalty = 0.0f; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.repetitionLastN = -5; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.temperature = NAN; })), Error);
  EXPECT_THROW(Sampler(withParam([](SamplingParams& p) { p.temperature = INFINITY; })), Error);
  EXPECT_NO_THROW(Sampler(SamplingParams{}));
}

// This thread's CPU time: other jobs on a busy build machine do not inflate it.
double threadCpuMillis() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// Median CPU milliseconds of one sample() on a 151552-wide row.
double medianMillis(const SamplingParams& params, const std::vector<float>& logits) {
  Sampler sampler(params);
  std::vector<int32_t> history(64);
  std::iota(history.begin(), history.end(), 1000);
  std::vector<double> times;
  for (int i = 0; i < 31; ++i) {
    const double start = threadCpuMillis();
    const int32_t id = sampler.sample(logits, history);
    times.push_back(threadCpuMillis() - start);
    EXPECT_GE(id, 0);
  }
  std::nth_element(times.begin(), times.begin() + 15, times.end());
  return times[15];
}

TEST(Sampler, OneFullVocabularyRowIsFast) {
  constexpr size_t kVocab = 151552;
  const std::vector<float> peaked = randomLogits(kVocab, 1, 3.0f);
  const std::vector<float> flat = randomLogits(kVocab, 2, 0.3f);  // top-p must keep most of the row
  SamplingParams defaults;  // T 0.8, top-p 0.8
  defaults.repetitionPenalty = 1.1f;
  SamplingParams topK = defaults;
  topK.topK = 40;
  SamplingParams minP = plainParams(0.8f);
  minP.minP = 0.05f;
  const struct {
    const char* name;
    SamplingParams params;
    const std::vector<float>& logits;
  } cases[] = {{"top-p 0.8, peaked row", defaults, peaked},
               {"top-p 0.8, flat row", defaults, flat},
               {"top-k 40 + top-p", topK, peaked},
               {"min-p 0.05", minP, peaked},
               {"greedy", plainParams(0.0f), peaked}};
  for (const auto& c : cases) {
    const double ms = medianMillis(c.params, c.logits);
    std::printf("sample() on %zu logits, %s: %.3f ms (median CPU time of 31)\n", kVocab, c.name, ms);
#ifdef NDEBUG
    EXPECT_LT(ms, 5.0) << c.name;
#endif
  }
}

// What a GPU hands over instead of the row: the `count` best (value desc, then lower id) and the
// softmax sum of the whole row in the order and precision sample() uses.
struct BestOfRow {
  std::vector<std::pair<float, int32_t>> best;
  double total = 0.0;
};
BestOfRow bestOfRow(const std::vector<float>& logits, size_t count, float temperature) {
  BestOfRow b;
  for (size_t i = 0; i < logits.size(); ++i) b.best.emplace_back(logits[i], static_cast<int32_t>(i));
  std::sort(b.best.begin(), b.best.end(),
            [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
  b.best.resize(std::min(count, b.best.size()));
  const float maxValue = b.best[0].first, invT = 1.0f / temperature;
  for (const float l : logits) b.total += std::exp((l - maxValue) * invT);
  return b;
}

// sampleFromBest answers as sample() does (the same token for every draw of a seeded sequence), or -1,
// after which the caller samples the whole row: the two samplers stay in step.
TEST(Sampler, BestCandidatesGiveTheTokensOfTheWholeRow) {
  constexpr size_t kVocab = 20000, kCandidates = 256;
  struct Case {
    const char* name;
    float temperature;
    int topK;
    float topP, minP;
    float logitScale;
    double minAnswered;  // share of draws sampleFromBest must answer itself
  };
  const Case cases[] = {{"top-k 40", 0.8f, 40, 1.0f, 0.0f, 2.0f, 1.0},
                        {"top-k 40 + top-p 0.8", 0.8f, 40, 0.8f, 0.0f, 2.0f, 1.0},
                        {"top-k 256 + min-p", 1.0f, 256, 1.0f, 0.05f, 0.5f, 1.0},
                        {"top-p 0.8, peaked", 0.8f, 0, 0.8f, 0.0f, 4.0f, 0.99},
                        {"top-p 0.95 + min-p 0.02, peaked", 0.7f, 0, 0.95f, 0.02f, 4.0f, 0.99},
                        {"min-p 0.1", 1.0f, 0, 1.0f, 0.1f, 3.0f, 0.99},
                        {"top-p 0.9, flat", 1.0f, 0, 0.9f, 0.0f, 0.1f, 0.0},
                        {"temperature only", 1.0f, 0, 1.0f, 0.0f, 3.0f, 0.0}};
  for (const Case& c : cases) {
    SamplingParams p = plainParams(c.temperature, 77);
    p.topK = c.topK;
    p.topP = c.topP;
    p.minP = c.minP;
    Sampler whole(p), fromBest(p);
    int answered = 0;
    constexpr int kDraws = 200;
    for (int d = 0; d < kDraws; ++d) {
      const std::vector<float> logits = randomLogits(kVocab, 1000 + uint32_t(d), c.logitScale);
      const BestOfRow b = bestOfRow(logits, kCandidates, c.temperature);
      const int32_t expected = whole.sample(logits, {});
      int32_t got = fromBest.sampleFromBest(b.best, b.total, kVocab);
      if (got >= 0) {
        ++answered;
      } else {
        got = fromBest.sample(logits, {});
      }
      ASSERT_EQ(got, expected) << c.name << ", draw " << d;
    }
    EXPECT_GE(answered, int(c.minAnswered * kDraws)) << c.name;
    if (c.minAnswered == 0.0) EXPECT_LT(answered, kDraws) << c.name << ": the candidates cannot decide every draw";
  }
}

TEST(Sampler, BestCandidatesDeclineWhatTheyCannotDecide) {
  const std::vector<float> logits = randomLogits(5000, 3, 2.0f);
  const BestOfRow b = bestOfRow(logits, 64, 1.0f);
  SamplingParams p = plainParams(1.0f);
  p.topK = 100;  // more than the candidates
  EXPECT_EQ(Sampler(p).sampleFromBest(b.best, b.total, logits.size()), -1);
  p = plainParams(1.0f);
  p.repetitionPenalty = 1.1f;  // the penalty needs the history's logits
  EXPECT_EQ(Sampler(p).sampleFromBest(b.best, b.total, logits.size()), -1);
  Sampler greedy(plainParams(0.0f));
  EXPECT_EQ(greedy.sampleFromBest(b.best, b.total, logits.size()), b.best[0].second);
  std::vector<std::pair<float, int32_t>> nan = b.best;
  nan[0].first = NAN;
  EXPECT_EQ(Sampler(plainParams(1.0f)).sampleFromBest(nan, b.total, logits.size()), -1);
  // Every token a candidate: always decided, whatever the parameters.
  const std::vector<float> small = randomLogits(50, 4, 0.1f);
  const BestOfRow all = bestOfRow(small, 50, 1.0f);
  Sampler whole(plainParams(1.0f, 5)), fromBest(plainParams(1.0f, 5));
  for (int d = 0; d < 20; ++d) EXPECT_EQ(fromBest.sampleFromBest(all.best, all.total, 50), whole.sample(small, {}));
}

}  // namespace
}  // namespace glm
