// glmchat-cli logits: the logits at chosen positions for token ids from a file, as JSON. The fixture
// tests and the parity checks against transformers use it.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "glmengine/error.h"

namespace glmcli {
namespace {

std::vector<int64_t> parsePositions(const std::string& spec, int64_t n) {
  std::vector<int64_t> out;
  if (spec == "all") {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  if (spec == "last") return {n - 1};
  size_t i = 0;
  while (i <= spec.size()) {
    size_t j = spec.find(',', i);
    if (j == std::string::npos) j = spec.size();
    const std::string item = spec.substr(i, j - i);
    if (!item.empty()) {
      int64_t p;
      try {
        size_t used = 0;
        p = std::stoll(item, &used);
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw glm::Error(fmt::format("--positions: '{}' is not an integer (use e.g. 0,5,-1, 'last' or 'all')", item));
      }
      if (p < 0) p += n;  // negative: from the end
      if (p < 0 || p >= n) throw glm::Error(fmt::format("--positions: {} is outside the {} tokens", item, n));
      out.push_back(p);
    }
    i = j + 1;
  }
  if (out.empty()) throw glm::Error("--positions: no positions given");
  return out;
}

}  // namespace

void addLogitsCommand(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    std::string idsFile, positions = "last", output;
    int top = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("logits", "Logits at chosen positions for token ids from a file, as JSON");
  o->model.add(*cmd);
  cmd->add_option("-i,--ids", o->idsFile, "File of token ids (spaces/commas/newlines or a JSON array; '-' = stdin)")->required();
  cmd->add_option("--positions", o->positions, "Positions: 'last', 'all' or a list like 0,10,-1")->capture_default_str();
  cmd->add_option("--top", o->top, "Print only the top N logits per position (with their ids)");
  cmd->add_option("-o,--output", o->output, "Write the JSON to this file instead of standard output");
  cmd->callback([o] {
    const std::string text =
        o->idsFile == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : readTextFile(o->idsFile);
    const auto ids = parseIds(text, o->idsFile);
    if (ids.empty()) throw glm::Error(fmt::format("{}: no token ids", o->idsFile));
    auto opts = o->model;
    if (opts.context == 0) opts.context = int64_t(ids.size());
    auto model = opts.load();
    const auto positions = parsePositions(o->positions, int64_t(ids.size()));
    auto session = model->newSession();
    const auto t0 = std::chrono::steady_clock::now();
    const auto logits = session->logitsAt(ids, positions);
    const double seconds = secondsSince(t0);
    const size_t vocab = size_t(model->config().vocabSize);
    nlohmann::json j;
    j["model"] = model->info().source;
    j["backend"] = model->info().backend;
    j["tokens"] = ids.size();
    j["vocab"] = vocab;
    j["seconds"] = seconds;
    j["positions"] = positions;
    nlohmann::json rows = nlohmann::json::array();
    for (size_t r = 0; r < positions.size(); ++r) {
      const float* row = logits.data() + r * vocab;
      if (o->top > 0) {
        std::vector<int32_t> idx(vocab);
        for (size_t i = 0; i < vocab; ++i) idx[i] = int32_t(i);
        const size_t k = std::min(vocab, size_t(o->top));
        std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(),
                          [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        nlohmann::json top = nlohmann::json::array();
        for (size_t i = 0; i < k; ++i) top.push_back({{"id", idx[i]}, {"logit", row[idx[i]]}});
        rows.push_back(top);
      } else {
        rows.push_back(std::vector<float>(row, row + vocab));
      }
    }
    j[o->top > 0 ? "top" : "logits"] = rows;
    const std::string out = j.dump();
    if (o->output.empty()) {
      std::cout << out << "\n";
    } else {
      FILE* f = std::fopen(o->output.c_str(), "wb");
      if (!f) throw glm::Error(fmt::format("{}: cannot write", o->output));
      std::fwrite(out.data(), 1, out.size(), f);
      std::fclose(f);
    }
  });
}

}  // namespace glmcli
