// Token sampling on the host: greedy, temperature, top-k, top-p, min-p, repetition penalty, seeded.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace glm {

struct SamplingParams {
  float temperature = 0.8f;         // <= 0 means greedy
  int topK = 0;                     // 0 = off
  float topP = 0.8f;                // 1 = off
  float minP = 0.0f;                // 0 = off; keeps tokens with p >= minP * p(max)
  float repetitionPenalty = 1.0f;   // 1 = off; CTRL-style: logit/penalty if > 0 else logit*penalty
  int repetitionLastN = 64;         // how many recent tokens the penalty looks at (0 = all given)
  uint64_t seed = 0;                // same seed + same logits = same tokens
  bool greedy() const { return temperature <= 0.0f || topK == 1; }
  // 1/T of the softmax, capped at FLT_MAX so that the argmax's 0 * (1/T) stays 0 for any positive T: the
  // one value the host sampler and the device's candidate search (Session::sample) both use.
  float invTemperature() const { return std::min(1.0f / temperature, FLT_MAX); }
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  const SamplingParams& params() const { return params_; }
  // Picks the next token from one row of logits; history = tokens so far (for the penalty).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  // The same draw from the best candidates of a row, as a GPU finds them without sending the row: `best`
  // is a prefix of the row's ranking (larger value first, ties by the lower id), `total` the sum over
  // the whole row of exp((l - max) / temperature) and `vocab` the row's length. Returns -1 when the
  // answer needs more than the candidates (the tokens that may be drawn reach past them, a repetition
  // penalty is set, or the best value is not finite): then call sample() with the whole row. With top-k
  // (k <= candidates) the arithmetic is sample()'s; without, `total` comes from the device, so a token
  // can differ from sample()'s only where that sum's rounding moves the top-p cutoff or the draw.
  int32_t sampleFromBest(std::span<const std::pair<float, int32_t>> best, double total, size_t vocab);
  void reseed(uint64_t seed);

 private:
  // sample() after top-k: softmax, top-p, min-p, renormalise, draw (values as sample() documents).
  int32_t draw(std::vector<float>& values, float maxValue, bool topK);
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> scratch_;
};

}  // namespace glm
