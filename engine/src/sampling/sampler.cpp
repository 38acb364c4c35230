// Host sampler. Order of the steps: repetition penalty -> greedy short-circuit -> temperature ->
// top-k -> softmax -> top-p -> min-p -> renormalize -> draw.
//
// Cost on a 151552-wide row: a copy, one exp per token (only k of them with top-k), a histogram
// pass for top-p, one filtering pass; nothing sorts the vocabulary. Every step keeps the candidates
// in a deterministic order (id order, or best first with ties broken by the lower id), and the draw
// uses only the raw 64-bit output of mt19937_64, whose sequence the C++ standard fixes; so a seed
// gives the same tokens with any standard library.
#include "glmengine/sampling.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {
namespace {

using Candidate = std::pair<float, int32_t>;

// Larger value first; equal values: lower id first. A strict total order, so the top-k heap and
// its sort give the same result with any standard library.
bool higherFirst(const Candidate& a, const Candidate& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

void validateParams(const SamplingParams& p) {
  if (!std::isfinite(p.temperature)) {
    throw Error(fmt::format("sampling: temperature must be finite, found {}", p.temperature));
  }
  if (p.topK < 0) throw Error(fmt::format("sampling: topK must be >= 0 (0 = off), found {}", p.topK));
  if (!(p.topP > 0.0f && p.topP <= 1.0f)) {
    throw Error(fmt::format("sampling: topP must be in (0, 1] (1 = off), found {}", p.topP));
  }
  if (!(p.minP >= 0.0f && p.minP <= 1.0f)) {
    throw Error(fmt::format("sampling: minP must be in [0, 1] (0 = off), found {}", p.minP));
  }
  if (!(p.repetitionPenalty > 0.0f) || !std::isfinite(p.repetitionPenalty)) {
    throw Error(fmt::format("sampling: repetitionPenalty must be a finite value > 0 (1 = off), found {}",
                            p.repetitionPenalty));
  }
  if (p.repetitionLastN < 0) {
    throw Error(fmt::format("sampling: repetitionLastN must be >= 0 (0 = all), found {}", p.repetitionLastN));
  }
}

// A uniform double in [0, 1) from the top 53 bits of one 64-bit draw.
double uniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The bit pattern of a positive float orders like its value.
uint32_t floatBits(float x) { return std::bit_cast<uint32_t>(x); }

// Top-p keeps the shortest prefix of the candidates sorted by weight (descending, ties by the lower
// id) whose mass reaches `needed`. That prefix is described by the weight of its last token and by
// how many tokens of exactly that weight it takes (the lowest ids), which is all a filter over the
// candidates in id order needs; so the vocabulary is never sorted.
struct TopPCutoff {
  float weight = 0.0f;  // keep w > weight ...
  size_t tiesKept = 0;  // ... and the first tiesKept tokens with w == weight
};

// Quickselect on mass over the weights of one histogram bucket (reordered freely): O(m) expected.
// `needed` is the mass still missing after all larger weights.
TopPCutoff cutoffWithin(std::vector<float>& w, double needed) {
  size_t lo = 0, hi = w.size();
  double above = 0.0;   // mass of the weights outside [lo, hi) that are larger than all inside; < needed
  TopPCutoff keepAbove;  // the smallest weight known to be kept, in case rounding empties the range
  while (hi - lo > 32) {
    const float a = w[lo], b = w[lo + (hi - lo) / 2], c = w[hi - 1];
    const float pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));  // median of three
    const auto first = w.begin() + static_cast<std::ptrdiff_t>(lo);
    const auto last = w.begin() + static_cast<std::ptrdiff_t>(hi);
    const auto equalBegin = std::partition(first, last, [&](float x) { return x > pivot; });
    const auto equalEnd = std::partition(equalBegin, last, [&](float x) { return x == pivot; });
    double greater = 0.0;
    for (auto it = first; it != equalBegin; ++it) greater += *it;
    const auto equalCount = static_cast<size_t>(equalEnd - equalBegin);
    if (above + greater >= needed) {  // the cutoff lies among the larger weights
      hi = static_cast<size_t>(equalBegin - w.begin());
      continue;
    }
    if (above + greater + static_cast<double>(equalCount) * pivot >= needed) {
      const double ties = std::ceil((needed - above - greater) / pivot);
      return {pivot, std::clamp<size_t>(static_cast<size_t>(ties), 1, equalCount)};
    }
    above += greater + static_cast<double>(equalCount) * pivot;
    keepAbove = {pivot, equalCount};
    lo = static_cast<size_t>(equalEnd - w.begin());
  }
  // Weights outside [lo, hi) differ from every weight inside, so ties are counted here in full.
  std::sort(w.begin() + static_cast<std::ptrdiff_t>(lo), w.begin() + static_cast<std::ptrdiff_t>(hi), std::greater<>());
  double cumulative = above;
  size_t ties = 0;
  for (size_t i = lo; i < hi; ++i) {
    ties = (i > lo && w[i] == w[i - 1]) ? ties + 1 : 1;
    cumulative += w[i];
    if (cumulative >= needed) return {w[i], ties};
  }
  // Rounding left the mass a hair short of `needed`: keep the whole range.
  return hi > lo ? TopPCutoff{w[hi - 1], ties} : keepAbove;
}

// Radix select: one pass builds a histogram of mass over the top 12 bits of each weight (value
// ranges of 1/8 octave, no sorting, no unpredictable branches), the walk down the buckets finds the
// one where the cumulative mass crosses `needed`, and only that bucket's weights are searched.
TopPCutoff findTopPCutoff(std::span<const float> weights, double needed) {
  constexpr int kShift = 20;
  constexpr size_t kBuckets = size_t{1} << (31 - kShift);  // positive floats: the sign bit is 0
  std::array<double, kBuckets> mass{};
  for (const float w : weights) mass[floatBits(w) >> kShift] += w;
  double above = 0.0;
  for (size_t b = kBuckets; b-- > 0;) {
    if (above + mass[b] < needed) {
      above += mass[b];
      continue;
    }
    std::vector<float> inBucket;
    for (const float w : weights) {
      if ((floatBits(w) >> kShift) == b) inBucket.push_back(w);
    }
    return cutoffWithin(inBucket, needed - above);
  }
  return {};  // rounding: the whole mass fell a hair short of `needed`; keep everything
}

// The weighted draw over the survivors (weight, id), in their given order: the first whose cumulative
// weight exceeds u * their total.
int32_t drawWeighted(std::span<const Candidate> survivors, std::mt19937_64& rng) {
  double total = 0.0;
  for (const Candidate& c : survivors) total += c.first;
  const double target = uniformUnit(rng) * total;
  double cumulative = 0.0;
  for (const Candidate& c : survivors) {
    cumulative += c.first;
    if (cumulative > target) return c.second;
  }
  return survivors.back().second;  // target rounded up to the total
}

// The k best candidates (higherFirst order), best first, by one scan with a heap of the k best so
// far: most tokens lose a single comparison against the heap's worst, so this is about one pass.
void selectTopK(std::span<const float> values, size_t k, std::vector<Candidate>& out) {
  out.clear();
  out.reserve(k);
  // With higherFirst as "less", the heap's front is the worst candidate kept.
  for (size_t i = 0; i < values.size(); ++i) {
    const Candidate c{values[i], static_cast<int32_t>(i)};
    if (out.size() < k) {
      out.push_back(c);
      std::push_heap(out.begin(), out.end(), higherFirst);
    } else if (higherFirst(c, out.front())) {
      std::pop_heap(out.begin(), out.end(), higherFirst);
      out.back() = c;
      std::push_heap(out.begin(), out.end(), higherFirst);
    }
  }
  std::sort_heap(out.begin(), out.end(), higherFirst);
}

// The largest value, with eight independent running maxima so the loop is not one long
// dependency chain.
float maxOf(std::span<const float> values) {
  std::array<float, 8> lanes;
  lanes.fill(-INFINITY);
  size_t i = 0;
  for (; i + lanes.size() <= values.size(); i += lanes.size()) {
    for (size_t k = 0; k < lanes.size(); ++k) lanes[k] = std::max(lanes[k], values[i + k]);
  }
  for (; i < values.size(); ++i) lanes[0] = std::max(lanes[0], values[i]);
  return *std::max_element(lanes.begin(), lanes.end());
}

// Throws on the first NaN or +inf (-inf is a legitimate mask; NaN and +inf mean the forward pass
// went wrong). The common all-good case is one branch-free pass.
void checkLogits(std::span<const float> logits) {
  bool allBelowInfinity = true;
  for (const float l : logits) allBelowInfinity &= l < INFINITY;  // false for NaN too
  if (allBelowInfinity) return;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (!(logits[i] < INFINITY)) {
      throw Error(fmt::format("sampling: logit of token {} (of {}) is {}", i, logits.size(),
                              std::isnan(logits[i]) ? "NaN" : "+inf"));
    }
  }
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { validateParams(params_); }

void Sampler::reseed(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const size_t vocab = logits.size();
  if (vocab == 0) throw Error("sampling: the logits row is empty");
  checkLogits(logits);
  std::vector<float> values(logits.begin(), logits.end());

  // Repetition penalty (CTRL): each distinct token of the window once, whatever its count.
  if (params_.repetitionPenalty != 1.0f && !history.empty()) {
    const size_t window = params_.repetitionLastN == 0
                              ? history.size()
                              : std::min(history.size(), static_cast<size_t>(params_.repetitionLastN));
    std::vector<int32_t> recent(history.end() - static_cast<std::ptrdiff_t>(window), history.end());
    std::sort(recent.begin(), recent.end());
    recent.erase(std::unique(recent.begin(), recent.end()), recent.end());
    for (const int32_t id : recent) {
      if (id < 0 || static_cast<size_t>(id) >= vocab) {
        throw Error(fmt::format("sampling: history token id {} is outside the vocabulary [0, {})", id, vocab));
      }
      float& l = values[static_cast<size_t>(id)];
      l = l > 0.0f ? l / params_.repetitionPenalty : l * params_.repetitionPenalty;
    }
  }

  const float maxValue = maxOf(values);
  if (maxValue == -INFINITY) throw Error(fmt::format("sampling: all {} logits are -inf", vocab));
  if (params_.greedy()) {  // the first maximum: the lowest id among ties
    return static_cast<int32_t>(std::find(values.begin(), values.end(), maxValue) - values.begin());
  }

  // From here on values[j] belongs to token idOf(j): j itself, or after top-k scratch_[j].second
  // (the k best, best first).
  const bool topK = params_.topK > 0 && static_cast<size_t>(params_.topK) < vocab;
  if (topK) {
    selectTopK(values, static_cast<size_t>(params_.topK), scratch_);
    values.resize(scratch_.size());
    for (size_t j = 0; j < scratch_.size(); ++j) values[j] = scratch_[j].first;
  } else {
    scratch_.resize(vocab);
  }
  return draw(values, maxValue, topK);
}

int32_t Sampler::draw(std::vector<float>& values, float maxValue, bool topK) {
  const auto idOf = [&](size_t j) { return topK ? scratch_[j].second : static_cast<int32_t>(j); };

  // Softmax with temperature: w = exp((l - l_max) / T), in float (expf is several times faster than
  // exp, and the sums are kept in double). Subtracting the max before scaling keeps a tiny T from
  // overflowing: the exponent is <= 0 and the argmax gets exp(0) == 1 exactly, so w_max == 1 below.
  // 1/T is capped (SamplingParams::invTemperature).
  const float invTemperature = params_.invTemperature();
  double total = 0.0;
  for (float& v : values) {
    v = std::exp((v - maxValue) * invTemperature);
    total += v;
  }

  const TopPCutoff cutoff =
      params_.topP < 1.0f ? findTopPCutoff(values, static_cast<double>(params_.topP) * total) : TopPCutoff{};
  // Min-p: keep w >= minP * w_max = minP. Tokens whose weight underflowed to 0 go too: they could
  // never be drawn.
  const float minWeight = params_.minP;

  // The survivors, compacted into scratch_ in the order above (id order, or best first after
  // top-k), so which tied tokens stay and the draw itself are deterministic. Writing scratch_[kept]
  // with kept <= j never overwrites an id still to be read.
  // The pass is branch-free (survivors are scattered at random through a flat row, so branches would
  // mispredict): every candidate is written, and `kept` advances only past survivors.
  size_t kept = 0, tiesSeen = 0;
  for (size_t j = 0; j < values.size(); ++j) {
    const float w = values[j];
    const int32_t id = idOf(j);
    const bool atCutoff = w == cutoff.weight;
    const bool inNucleus = (w > cutoff.weight) | (atCutoff & (tiesSeen < cutoff.tiesKept));
    const bool survives = (w > 0.0f) & (w >= minWeight) & inNucleus;
    tiesSeen += atCutoff;
    scratch_[kept] = {w, id};
    kept += survives;
  }
  if (kept == 0) throw Error("sampling: no candidate token is left after top-p / min-p");  // w_max == 1 survives

  // Renormalize over the survivors and draw.
  return drawWeighted(std::span<const Candidate>(scratch_).first(kept), rng_);
}

int32_t Sampler::sampleFromBest(std::span<const std::pair<float, int32_t>> best, double total, size_t vocab) {
  if (best.empty() || best.size() > vocab || params_.repetitionPenalty != 1.0f) return -1;
  const float maxValue = best[0].first;
  if (!(maxValue < INFINITY) || maxValue == -INFINITY) return -1;  // the whole row says what is wrong
  if (params_.greedy()) return best[0].second;
  const bool complete = best.size() == vocab;
  const bool topK = params_.topK > 0 && static_cast<size_t>(params_.topK) < vocab;
  std::vector<float> values;
  if (topK) {  // the k best are the first k candidates: from here on exactly sample()'s arithmetic
    if (static_cast<size_t>(params_.topK) > best.size()) return -1;
    scratch_.assign(best.begin(), best.begin() + params_.topK);
    values.resize(scratch_.size());
    for (size_t j = 0; j < scratch_.size(); ++j) values[j] = scratch_[j].first;
    return draw(values, maxValue, true);
  }
  // The whole row: the candidates' weights as sample() computes them, `total` from the device.
  const float invTemperature = params_.invTemperature();
  values.resize(best.size());
  for (size_t j = 0; j < best.size(); ++j) values[j] = std::exp((best[j].first - maxValue) * invTemperature);
  const float wLast = values.back();
  // Top-p: the nucleus is the best-first prefix whose mass reaches topP * total; it lies among the
  // candidates when it ends on a weight larger than every weight past them (< wLast is all there is).
  size_t nucleusEnd = best.size();  // candidates [0, nucleusEnd) are in the nucleus
  bool nucleusInside = false;
  if (params_.topP < 1.0f) {
    const double needed = static_cast<double>(params_.topP) * total;
    double cumulative = 0.0;
    for (size_t j = 0; j < values.size(); ++j) {
      cumulative += values[j];
      if (cumulative >= needed) {
        // Ties at the cutoff weight: best-first order keeps the lower ids, as sample() does.
        nucleusEnd = j + 1;
        nucleusInside = complete || values[j] > wLast;
        break;
      }
    }
  }
  const float minWeight = params_.minP;
  const bool minPInside = complete || (params_.minP > 0.0f && wLast < minWeight);
  const bool zeroInside = complete || wLast == 0.0f;  // weights past the candidates underflowed to 0
  if (!nucleusInside && !minPInside && !zeroInside) return -1;
  std::vector<Candidate> kept;  // survivors (weight, id), then in id order as sample() draws them
  for (size_t j = 0; j < nucleusEnd; ++j)
    if (values[j] > 0.0f && values[j] >= minWeight) kept.emplace_back(values[j], best[j].second);
  if (kept.empty()) return -1;
  std::sort(kept.begin(), kept.end(), [](const Candidate& a, const Candidate& b) { return a.second < b.second; });
  return drawWeighted(kept, rng_);
}

}  // namespace glm
