#include "model/random_weights.h"

#include <cmath>

#include "glmengine/error.h"
#include "io/model_weights.h"
#include "util/half.h"

namespace glm {
namespace {

// splitmix64: a counter-based generator, so element i of tensor t gets the same value on any thread.
inline uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [-1, 1).
inline float uniform(uint64_t key) { return float(double(mix(key) >> 11) * 0x1.0p-52 - 1.0); }

}  // namespace

std::unique_ptr<WeightStore> makeRandomWeights(const ModelConfig& config, uint64_t seed, DType dtype,
                                               const ProgressFn& progress) {
  auto store = std::make_unique<WeightStore>();
  const auto expected = expectedTensors(config);
  int64_t totalElements = 0;
  for (const auto& e : expected) {
    int64_t n = 1;
    for (int64_t d : e.shape) n *= d;
    totalElements += n;
  }
  int64_t done = 0;
  uint64_t tensorIndex = 0;
  for (const auto& e : expected) {
    const TensorView& t = store->addOwned(e.name, dtype, e.shape);
    const int64_t n = t.numel();
    // Scales that keep activations of a deep random stack finite and O(1): norms ~1, linear weights
    // ~U(-1,1)/sqrt(in) (unit gain), biases and embeddings small.
    const bool isVector = e.shape.size() == 1;
    const bool isNorm = isVector && e.name.find("norm") != std::string::npos;
    const bool isEmbedding = e.name.find("embed") != std::string::npos;
    const float amplitude = isNorm ? 0.1f
                            : isVector ? 0.02f
                            : isEmbedding ? 1.0f
                                          : float(std::sqrt(3.0 / double(e.shape.back())));
    const float center = isNorm ? 1.0f : 0.0f;
    const uint64_t key0 = mix(seed ^ mix(++tensorIndex));
    std::byte* out = store->mutableData(e.name);
#pragma omp parallel for schedule(static, 65536)
    for (int64_t i = 0; i < n; ++i) {
      const float v = center + amplitude * uniform(key0 + uint64_t(i));
      switch (dtype) {
        case DType::BF16: reinterpret_cast<uint16_t*>(out)[i] = floatToBf16(v); break;
        case DType::F16: reinterpret_cast<uint16_t*>(out)[i] = floatToF16(v); break;
        default: reinterpret_cast<float*>(out)[i] = v; break;
      }
    }
    done += n;
    if (progress && !progress(done, totalElements)) throw Cancelled();
  }
  return store;
}

}  // namespace glm
