// Binds a model's tensors (by layout-specific name) to the roles the forward pass needs, after checking
// every one: present, exactly the expected shape, a float weight dtype (F32, F16 or BF16; one model may
// mix them). Extra tensors (e.g. transformer.rotary_pos_emb.inv_freq) are ignored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glmengine/config.h"
#include "io/safetensors.h"

namespace glm {

// A linear layer's weight [outFeatures x inFeatures] (y = x W^T + b), possibly stored as several row
// blocks that are concatenated in order: the glm/glm4 layouts keep q_proj, k_proj, v_proj apart while
// the chatglm layout has one fused query_key_value. Either way the rows are [Q | K | V].
struct LinearView {
  std::vector<const TensorView*> parts;      // row blocks, each [rows_i x inFeatures]
  std::vector<const TensorView*> biasParts;  // empty when no bias; else one [rows_i] per part
  int64_t outFeatures = 0, inFeatures = 0;   // outFeatures = sum of rows_i

  bool hasBias() const { return !biasParts.empty(); }
};

struct LayerWeights {
  const TensorView* inputNorm = nullptr;     // [hidden]
  LinearView qkv;                            // [(heads + 2 kvHeads) * headDim x hidden], with bias if qkvBias
  LinearView attnOut;                        // [hidden x heads * headDim], no bias
  const TensorView* postAttnNorm = nullptr;  // [hidden], the pre-MLP norm ("post_attention_layernorm")
  LinearView gateUp;                         // [2 ffn x hidden]: rows 0..ffn-1 gate (SiLU), then up
  LinearView down;                           // [hidden x ffn]
  const TensorView* postSelfAttnNorm = nullptr;  // glm4 only: norm of the attention output
  const TensorView* postMlpNorm = nullptr;       // glm4 only: norm of the MLP output
};

struct ModelWeights {
  const TensorView* embedding = nullptr;  // [vocab x hidden]
  std::vector<LayerWeights> layers;
  const TensorView* finalNorm = nullptr;  // [hidden]
  LinearView output;                      // [vocab x hidden]; parts = {embedding} when tied
};

// The name and shape of every tensor the config's layout needs, in load order (embedding, layers,
// final norm, output layer unless tied). Used by bindWeights, the random-weights filler and tools.
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<ExpectedTensor> expectedTensors(const ModelConfig& config);

// Throws glm::Error: a missing tensor (names tensor, layout, folder), a wrong shape (tensor, expected
// [a, b], found [c, d], file), a non-float dtype (tensor, dtype, file).
ModelWeights bindWeights(const ModelConfig& config, const WeightStore& store);

}  // namespace glm
