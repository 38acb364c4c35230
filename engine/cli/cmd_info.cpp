// glmchat-cli info: a model's config, parameter count and the memory it needs for a context length.
// Reads only config.json (no weights are loaded), so it answers at once even for a 9B model.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/config.h"
#include "glmengine/error.h"

namespace glmcli {

void addInfoCommand(CLI::App& app) {
  struct Opts {
    std::string model, shape;
    int64_t context = 0;
    std::string kvCache = "f32";
    std::string weights = "bf16";
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("info", "Show a model's config, parameter count and memory estimate");
  cmd->add_option("-m,--model", o->model, "Model folder");
  cmd->add_option("--random-weights", o->shape, "A named shape instead (glm-4-9b, glm-4-9b-chat-1m, chatglm3-6b, tiny)");
  cmd->add_option("-c,--ctx", o->context, "Context length for the memory estimate (0 = model maximum)");
  cmd->add_option("--kv-cache", o->kvCache, "KV cache type for the estimate: f32, bf16 or int8 (every type is "
                 "listed as well)")->capture_default_str();
  cmd->add_option("--weights", o->weights, "Weight format for the estimate: bf16, int8, int4, int4-g128 (every "
                 "format is listed as well)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] {
    if (o->model.empty() == o->shape.empty()) throw glm::Error("give exactly one of --model or --random-weights");
    const glm::ModelConfig c =
        o->model.empty() ? glm::shapeConfig(o->shape) : glm::parseConfigFile(std::filesystem::path(o->model) / "config.json");
    const glm::DType kv = glm::parseKvCacheType(o->kvCache);
    const int64_t ctx = o->context > 0 ? o->context : c.maxPositions;
    const glm::WeightFormat weights = glm::parseWeightFormat(o->weights);
    const auto plan = glm::planMemory(c, ctx, kv, 256, weights);
    const int64_t params = glm::parameterCount(c);
    nlohmann::json j;
    j["source"] = o->model.empty() ? "random:" + o->shape : o->model;
    j["layout"] = glm::layoutName(c.layout);
    j["family"] = glm::familyName(c.family);
    j["model_type"] = c.modelType;
    j["layers"] = c.numLayers;
    j["hidden_size"] = c.hiddenSize;
    j["ffn_hidden_size"] = c.ffnHiddenSize;
    j["heads"] = c.numHeads;
    j["kv_heads"] = c.numKvHeads;
    j["head_dim"] = c.headDim;
    j["vocab_size"] = c.vocabSize;
    j["max_positions"] = c.maxPositions;
    j["norm_eps"] = c.normEps;
    j["rope_theta"] = c.rope.theta;
    j["rotary_dim"] = c.rope.rotaryDim;
    j["post_norms"] = c.postNorms;
    j["dtype"] = glm::dtypeName(c.dtype);
    j["eos_token_ids"] = c.eosTokenIds;
    j["parameters"] = params;
    j["context"] = ctx;
    j["kv_cache_type"] = glm::kvCacheName(kv);
    j["weights"] = glm::weightFormatName(weights);
    j["memory"] = {{"weights_bytes", plan.weightBytes}, {"kv_cache_bytes", plan.kvCacheBytes},
                   {"scratch_bytes", plan.scratchBytes}, {"total_bytes", plan.total()}};
    // Every weight format at this context, so the choice can be made from one call.
    std::string byFormat;
    for (auto f : {glm::WeightFormat::Native, glm::WeightFormat::Int8, glm::WeightFormat::Int4G32,
                   glm::WeightFormat::Int4G128}) {
      const auto p = glm::planMemory(c, ctx, kv, 256, f);
      j["memory_by_weights"][std::string(glm::weightFormatName(f))] = {{"weights_bytes", p.weightBytes},
                                                                       {"total_bytes", p.total()}};
      byFormat += fmt::format("{}{} {} (weights {})", byFormat.empty() ? "" : ", ", glm::weightFormatName(f),
                              humanBytes(p.total()), humanBytes(p.weightBytes));
    }
    // ... and every KV cache type with the chosen weights.
    std::string byKv;
    for (auto t : {glm::DType::F32, glm::DType::BF16, glm::DType::I8}) {
      const auto p = glm::planMemory(c, ctx, t, 256, weights);
      j["memory_by_kv_cache"][std::string(glm::kvCacheName(t))] = {{"kv_cache_bytes", p.kvCacheBytes},
                                                                  {"total_bytes", p.total()}};
      byKv += fmt::format("{}{} {} (KV {})", byKv.empty() ? "" : ", ", glm::kvCacheName(t), humanBytes(p.total()),
                          humanBytes(p.kvCacheBytes));
    }
    // The smallest plan: int4 weights and the 8-bit cache.
    const auto smallest = glm::planMemory(c, ctx, glm::DType::I8, 256, glm::WeightFormat::Int4G128);
    j["notes"] = c.notes;
    if (o->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << fmt::format(
        "model       {}\nlayout      {} ({} family, model_type {})\nshape       {} layers, hidden {}, ffn {}, "
        "{} heads / {} KV heads x {}, vocab {}\nrope        base {:g}, rotary dims {} of {}\nmax context {} "
        "tokens\nparameters  {} ({:.2f} B)\nmemory      weights {} ({}) + KV cache {} ({} tokens, {}) + scratch {} "
        "= {}\nby weights  {}\nby KV cache {}\nsmallest    {} (int4-g128 weights, int8 KV cache)\n",
        j["source"].get<std::string>(), glm::layoutName(c.layout), glm::familyName(c.family), c.modelType,
        c.numLayers, c.hiddenSize, c.ffnHiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize, c.rope.theta,
        c.rope.rotaryDim, c.headDim, c.maxPositions, params, double(params) / 1e9, humanBytes(plan.weightBytes),
        weights == glm::WeightFormat::Native ? std::string(glm::dtypeName(c.dtype))
                                             : std::string(glm::weightFormatName(weights)),
        humanBytes(plan.kvCacheBytes), ctx, glm::kvCacheName(kv), humanBytes(plan.scratchBytes),
        humanBytes(plan.total()), byFormat, byKv, humanBytes(smallest.total()));
    for (const auto& n : c.notes) std::cout << "note        " << n << "\n";
  });
}

}  // namespace glmcli
