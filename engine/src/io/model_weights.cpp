#include "io/model_weights.h"

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {

namespace {

// Where each role's tensors live in a layout, and the shapes they must have. The single source of
// tensor names: expectedTensors and bindWeights both walk it.
struct LinearSpec {
  std::vector<std::string> weightNames;  // row blocks in order
  std::vector<std::string> biasNames;    // empty, or one per row block
  std::vector<int64_t> rows;             // rows of each block
  int64_t inFeatures = 0;
};

struct LayerSpec {
  std::string inputNorm;
  LinearSpec qkv, attnOut;
  std::string postAttnNorm;
  LinearSpec gateUp, down;
  std::string postSelfAttnNorm, postMlpNorm;  // empty unless the layout has sandwich norms
};

struct ModelSpec {
  std::string embedding;
  std::vector<LayerSpec> layers;
  std::string finalNorm;
  LinearSpec output;  // no weightNames when tied to the embedding
};

LinearSpec linear(std::vector<std::string> weights, std::vector<std::string> biases,
                  std::vector<int64_t> rows, int64_t inFeatures) {
  return LinearSpec{std::move(weights), std::move(biases), std::move(rows), inFeatures};
}

ModelSpec modelSpec(const ModelConfig& c) {
  const int64_t hidden = c.hiddenSize, ffn = c.ffnHiddenSize;
  const int64_t qRows = int64_t(c.numHeads) * c.headDim, kvRows = int64_t(c.numKvHeads) * c.headDim;
  ModelSpec spec;
  const bool chatglm = c.layout == ModelLayout::ChatGLM;
  spec.embedding = chatglm ? "transformer.embedding.word_embeddings.weight" : "model.embed_tokens.weight";
  spec.finalNorm = chatglm ? "transformer.encoder.final_layernorm.weight" : "model.norm.weight";
  if (!c.tieWordEmbeddings)
    spec.output = linear({chatglm ? "transformer.output_layer.weight" : "lm_head.weight"}, {},
                         {c.vocabSize}, hidden);

  for (int i = 0; i < c.numLayers; ++i) {
    LayerSpec l;
    if (chatglm) {
      const std::string p = fmt::format("transformer.encoder.layers.{}.", i);
      l.inputNorm = p + "input_layernorm.weight";
      // One fused [Q | K | V] block.
      l.qkv = linear({p + "self_attention.query_key_value.weight"},
                     c.qkvBias ? std::vector<std::string>{p + "self_attention.query_key_value.bias"}
                               : std::vector<std::string>{},
                     {c.qkvRows()}, hidden);
      l.attnOut = linear({p + "self_attention.dense.weight"}, {}, {hidden}, qRows);
      l.postAttnNorm = p + "post_attention_layernorm.weight";
      l.gateUp = linear({p + "mlp.dense_h_to_4h.weight"}, {}, {2 * ffn}, hidden);
      l.down = linear({p + "mlp.dense_4h_to_h.weight"}, {}, {hidden}, ffn);
    } else {
      const std::string p = fmt::format("model.layers.{}.", i);
      l.inputNorm = p + "input_layernorm.weight";
      std::vector<std::string> biases;
      if (c.qkvBias)
        biases = {p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias"};
      l.qkv = linear({p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                      p + "self_attn.v_proj.weight"},
                     std::move(biases), {qRows, kvRows, kvRows}, hidden);
      l.attnOut = linear({p + "self_attn.o_proj.weight"}, {}, {hidden}, qRows);
      l.postAttnNorm = p + "post_attention_layernorm.weight";
      l.gateUp = linear({p + "mlp.gate_up_proj.weight"}, {}, {2 * ffn}, hidden);
      l.down = linear({p + "mlp.down_proj.weight"}, {}, {hidden}, ffn);
      if (c.postNorms) {
        l.postSelfAttnNorm = p + "post_self_attn_layernorm.weight";
        l.postMlpNorm = p + "post_mlp_layernorm.weight";
      }
    }
    spec.layers.push_back(std::move(l));
  }
  return spec;
}

void appendLinear(const LinearSpec& spec, std::vector<ExpectedTensor>& out) {
  for (size_t i = 0; i < spec.weightNames.size(); ++i)
    out.push_back({spec.weightNames[i], {spec.rows[i], spec.inFeatures}});
  for (size_t i = 0; i < spec.biasNames.size(); ++i) out.push_back({spec.biasNames[i], {spec.rows[i]}});
}

class Binder {
 public:
  Binder(const ModelConfig& config, const WeightStore& store) : config_(config), store_(store) {}

  // Where a tensor came from, for messages: its file, or the store for in-memory tensors.
  std::string origin(const TensorView& t) const { return t.file == kOwnedTensorFile ? store_.sourceName() : t.file; }

  const TensorView* tensor(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorView* t = store_.find(name);
    if (!t)
      throw Error(fmt::format("{}: tensor '{}' not found (needed by the {} layout)", store_.sourceName(),
                              name, layoutName(config_.layout)));
    if (!dtypeIsFloatWeight(t->dtype))
      throw Error(fmt::format("{}: tensor '{}' has dtype {}; weights must be F32, F16 or BF16", origin(*t),
                              name, dtypeName(t->dtype)));
    if (t->shape != shape)
      throw Error(fmt::format("{}: tensor '{}': expected shape {}, found {}", origin(*t), name,
                              shapeToString(shape), shapeToString(t->shape)));
    return t;
  }

  LinearView linear(const LinearSpec& spec) const {
    LinearView v;
    v.inFeatures = spec.inFeatures;
    for (size_t i = 0; i < spec.weightNames.size(); ++i) {
      v.parts.push_back(tensor(spec.weightNames[i], {spec.rows[i], spec.inFeatures}));
      v.outFeatures += spec.rows[i];
    }
    for (size_t i = 0; i < spec.biasNames.size(); ++i)
      v.biasParts.push_back(tensor(spec.biasNames[i], {spec.rows[i]}));
    return v;
  }

  const TensorView* optionalNorm(const std::string& name) const {
    return name.empty() ? nullptr : tensor(name, {config_.hiddenSize});
  }

 private:
  const ModelConfig& config_;
  const WeightStore& store_;
};

}  // namespace

std::vector<ExpectedTensor> expectedTensors(const ModelConfig& config) {
  const ModelSpec spec = modelSpec(config);
  const int64_t hidden = config.hiddenSize;
  std::vector<ExpectedTensor> out;
  out.push_back({spec.embedding, {config.vocabSize, hidden}});
  for (const auto& l : spec.layers) {
    out.push_back({l.inputNorm, {hidden}});
    appendLinear(l.qkv, out);
    appendLinear(l.attnOut, out);
    if (!l.postSelfAttnNorm.empty()) out.push_back({l.postSelfAttnNorm, {hidden}});
    out.push_back({l.postAttnNorm, {hidden}});
    appendLinear(l.gateUp, out);
    appendLinear(l.down, out);
    if (!l.postMlpNorm.empty()) out.push_back({l.postMlpNorm, {hidden}});
  }
  out.push_back({spec.finalNorm, {hidden}});
  appendLinear(spec.output, out);
  return out;
}

ModelWeights bindWeights(const ModelConfig& config, const WeightStore& store) {
  const ModelSpec spec = modelSpec(config);
  const Binder bind(config, store);
  ModelWeights w;
  w.embedding = bind.tensor(spec.embedding, {config.vocabSize, config.hiddenSize});
  for (const auto& l : spec.layers) {
    LayerWeights lw;
    lw.inputNorm = bind.optionalNorm(l.inputNorm);
    lw.qkv = bind.linear(l.qkv);
    lw.attnOut = bind.linear(l.attnOut);
    lw.postSelfAttnNorm = bind.optionalNorm(l.postSelfAttnNorm);
    lw.postAttnNorm = bind.optionalNorm(l.postAttnNorm);
    lw.gateUp = bind.linear(l.gateUp);
    lw.down = bind.linear(l.down);
    lw.postMlpNorm = bind.optionalNorm(l.postMlpNorm);
    w.layers.push_back(std::move(lw));
  }
  w.finalNorm = bind.optionalNorm(spec.finalNorm);
  if (config.tieWordEmbeddings) {
    w.output.parts = {w.embedding};
    w.output.outFeatures = config.vocabSize;
    w.output.inFeatures = config.hiddenSize;
  } else {
    w.output = bind.linear(spec.output);
  }
  return w;
}

}  // namespace glm
