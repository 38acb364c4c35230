// Rotary frequencies from the model's RopeConfig, computed as transformers computes them (fp32
// inv_freq), including the Llama-3 and YaRN scaling variants.
#pragma once
#include "backend/backend.h"
#include "glmengine/config.h"

namespace glm {

RopeParams computeRopeParams(const ModelConfig& config);

}  // namespace glm
