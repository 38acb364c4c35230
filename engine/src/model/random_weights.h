// Weights of a named real shape filled with random values, for benchmarks and tests that need no
// download. Deterministic for a seed, whatever the thread count.
#pragma once
#include <memory>

#include "glmengine/config.h"
#include "glmengine/types.h"
#include "io/safetensors.h"

namespace glm {

std::unique_ptr<WeightStore> makeRandomWeights(const ModelConfig& config, uint64_t seed, DType dtype,
                                               const ProgressFn& progress);

}  // namespace glm
