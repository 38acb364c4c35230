// glmchat-cli bench: prefill and decode speed at chosen context lengths, as JSON.
// Counted as llama-bench counts: prefill of L tokens computes logits for the last position only;
// decode time covers the forward passes of the generated tokens after a prefill of L tokens, each
// followed by greedy sampling as the app does it (on the backend), or with --host-logits by a download
// of the logits row and an argmax on the host. Before the timed tokens, a few are decoded untimed
// (--warmup-tokens): the first step records the decode graph / command buffer, and a GPU that idled
// while the weights loaded needs a moment of load to reach its clocks (an H200 under Vulkan sat at
// 345 MHz after loading; without the warm-up its decode figures varied by 2x between runs).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/error.h"

namespace glmcli {

void addBenchCommand(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    std::vector<int64_t> contexts{128};
    int generate = 16;
    int repeats = 1;
    int warmup = 16;
    std::string output;
    bool hostLogits = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode tokens/s at chosen context lengths (JSON)");
  o->model.add(*cmd);
  cmd->add_option("--contexts", o->contexts, "Context lengths (prompt tokens) to measure at")->delimiter(',')->capture_default_str();
  cmd->add_option("-g,--generate", o->generate, "Tokens to decode after each prefill")->capture_default_str();
  cmd->add_option("-r,--repeats", o->repeats, "Repeats per context (the median is reported)")->capture_default_str();
  cmd->add_option("--warmup-tokens", o->warmup,
                 "Tokens decoded untimed after each prefill, before the timed ones (they also take positions "
                 "in the context: the timed tokens start at L + this)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  cmd->add_option("-o,--output", o->output, "Also write the JSON to this file");
  cmd->add_flag("--host-logits", o->hostLogits,
                "Decode by downloading each step's logits and taking the argmax on the host (default: greedy "
                "sampling as the app does it, on the backend; only the token crosses to the host)");
  cmd->callback([o] {
    int64_t maxCtx = 0;
    for (int64_t c : o->contexts) {
      if (c < 1) throw glm::Error(fmt::format("--contexts: {} is not a positive length", c));
      maxCtx = std::max(maxCtx, c);
    }
    auto opts = o->model;
    if (opts.context == 0) opts.context = maxCtx + o->warmup + o->generate + 1;
    if (opts.context != 0 && maxCtx + o->warmup + o->generate > opts.context)
      throw glm::Error(fmt::format("bench: context {} + {} warm-up + {} timed tokens do not fit --ctx {}", maxCtx,
                                   o->warmup, o->generate, opts.context));
    auto model = opts.load();
    const auto& info = model->info();
    const int vocabLimit = model->hasTokenizer() ? model->tokenizer().size() : info.config.vocabSize;
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(0, std::min(vocabLimit, info.config.vocabSize) - 1);
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    glm::SamplingParams greedyParams;
    greedyParams.temperature = 0.0f;
    glm::Sampler greedy(greedyParams);
    nlohmann::json results = nlohmann::json::array();
    for (int64_t ctx : o->contexts) {
      std::vector<double> prefillTimes, decodeTimes;
      for (int rep = 0; rep < std::max(1, o->repeats); ++rep) {
        std::vector<int32_t> prompt(static_cast<size_t>(ctx));
        for (auto& t : prompt) t = pick(rng);
        auto session = model->newSession();
        auto t0 = std::chrono::steady_clock::now();
        session->prefill(prompt);
        prefillTimes.push_back(secondsSince(t0));
        auto decode = [&](int tokens) {
          for (int i = 0; i < tokens; ++i) {
            int32_t next;
            if (o->hostLogits) {
              const auto logits = session->logits();
              next = int32_t(std::max_element(logits.begin(), logits.begin() + vocabLimit) - logits.begin());
            } else {
              next = session->sample(greedy);  // the product's greedy path: the argmax runs on the backend
            }
            session->append(next);
          }
        };
        decode(o->warmup);
        t0 = std::chrono::steady_clock::now();
        decode(o->generate);
        decodeTimes.push_back(secondsSince(t0));
      }
      const double p = median(prefillTimes), d = median(decodeTimes);
      nlohmann::json r = {{"context", ctx},
                          {"prefill_tokens", ctx},
                          {"prefill_seconds", p},
                          {"prefill_tokens_per_s", double(ctx) / p},
                          {"decode_tokens", o->generate},
                          {"decode_warmup_tokens", o->warmup},
                          {"decode_seconds", d},
                          {"decode_tokens_per_s", o->generate > 0 ? double(o->generate) / d : 0.0},
                          {"decode_sampling", o->hostLogits ? "host argmax of downloaded logits" : "greedy on the backend"}};
      results.push_back(r);
      if (!opts.quiet)
        std::fprintf(stderr, "context %lld: prefill %.1f tokens/s, decode %.2f tokens/s\n", (long long)ctx,
                     double(ctx) / p, o->generate > 0 ? double(o->generate) / d : 0.0);
    }
    nlohmann::json j = {{"engine", std::string(glm::engineVersion())},
                        {"model", info.source},
                        {"layout", glm::layoutName(info.config.layout)},
                        {"parameters", info.parameterCount},
                        {"weights_bytes", info.memory.weightBytes},
                        {"weight_dtype", glm::dtypeName(info.config.dtype)},
                        {"kv_cache_type", glm::kvCacheName(info.kvCacheType)},
                        {"backend", info.backend},
                        {"cpu_isa", info.cpuIsa},
                        {"threads", info.threads},
                        {"prefill_chunk", opts.chunk},
                        {"results", results}};
    const std::string out = j.dump(2);
    std::cout << out << "\n";
    if (!o->output.empty()) {
      std::ofstream f(o->output);
      if (!f) throw glm::Error(fmt::format("{}: cannot write", o->output));
      f << out << "\n";
    }
  });
}

}  // namespace glmcli
