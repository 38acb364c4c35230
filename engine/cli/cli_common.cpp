#include "cli_common.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "glmengine/error.h"

namespace glmcli {

void ModelOptions::add(CLI::App& cmd, bool allowRandom) {
  cmd.add_option("-m,--model", model, "Model folder as downloaded (config.json, *.safetensors, tokenizer)");
  if (allowRandom) {
    cmd.add_option("--random-weights", randomWeights,
                   "Build a model of a named real shape with random weights instead (glm-4-9b, "
                   "glm-4-9b-chat-1m, chatglm3-6b, tiny)");
    cmd.add_option("--random-seed", randomSeed, "Seed of the random weights");
  }
  cmd.add_option("--tokenizer", tokenizer, "Tokenizer file to use instead of the model folder's");
  cmd.add_option("-b,--backend", backend, "Backend: auto, cpu, cuda, vulkan")->capture_default_str();
  cmd.add_option("--device", device, "Vulkan device index (see `glmchat-cli devices`; -1 = the best GPU)")
      ->capture_default_str();
  cmd.add_option("-c,--ctx", context, "Context length in tokens (0 = model maximum, at most 8192)");
  cmd.add_option("-t,--threads", threads, "CPU threads (0 = all cores)");
  cmd.add_option("--kv-cache", kvCache,
                 "KV cache type: f32, bf16 or int8 (8 bits per value and a scale per position and KV head: about "
                 "half of bf16's memory; GPU backends store f32 as bf16)")
      ->capture_default_str();
  cmd.add_option("--weights", weights,
                 "Linear layers as stored (bf16) or quantized on load: int8 (per row), int4 (groups of 32), "
                 "int4-g128; the output layer is then int8. Cached in ~/.cache/glmchat/quantized")
      ->capture_default_str();
  cmd.add_option("--chunk", chunk, "Prefill chunk size in tokens")->capture_default_str();
  cmd.add_flag("-q,--quiet", quiet, "No progress output on stderr");
}

glm::LoadOptions ModelOptions::toLoadOptions() const {
  if (model.empty() == randomWeights.empty())
    throw glm::Error("give exactly one of --model FOLDER or --random-weights SHAPE");
  glm::LoadOptions o;
  o.path = model;
  o.randomWeights = randomWeights;
  o.randomSeed = randomSeed;
  o.tokenizerPath = tokenizer;
  o.backend = glm::parseBackendKind(backend);
  o.contextLength = context;
  o.threads = threads;
  o.kvCacheType = glm::parseKvCacheType(kvCache);
  o.prefillChunk = chunk;
  o.gpuDevice = device;
  o.weights = glm::parseWeightFormat(weights);
  return o;
}

std::unique_ptr<glm::Model> ModelOptions::load() const {
  const auto t0 = std::chrono::steady_clock::now();
  glm::ProgressFn progress;
  auto label = std::make_shared<std::string>("loading");  // "quantizing" once that stage starts
  if (!quiet) {
    progress = [label](int64_t done, int64_t total) {
      std::fprintf(stderr, "\r%s %3d%%", label->c_str(), total > 0 ? int(100 * done / total) : 100);
      return true;
    };
  }
  auto options = toLoadOptions();
  if (!quiet)
    options.onStage = [label](const std::string& stage) {
      std::fprintf(stderr, "\r%s\n", stage.c_str());
      *label = stage.rfind("quantizing", 0) == 0 ? "quantizing" : "loading";
    };
  auto m = glm::Model::load(options, progress);
  if (!quiet) {
    const auto& i = m->info();
    std::fprintf(stderr, "\rloaded %s (%s, %s) in %.2f s on %s\n", i.source.c_str(),
                 std::string(glm::layoutName(i.config.layout)).c_str(), humanBytes(i.memory.weightBytes).c_str(),
                 secondsSince(t0), i.backend.c_str());
    std::fprintf(stderr, "backend: %s\n", i.backendReason.c_str());
    for (const auto& n : i.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  }
  return m;
}

void SamplingOptions::add(CLI::App& cmd) {
  cmd.add_option("--temp", temperature, "Temperature (0 = greedy)")->capture_default_str();
  cmd.add_option("--top-k", topK, "Top-k (0 = off)")->capture_default_str();
  cmd.add_option("--top-p", topP, "Top-p (1 = off)")->capture_default_str();
  cmd.add_option("--min-p", minP, "Min-p (0 = off)")->capture_default_str();
  cmd.add_option("--repeat-penalty", repeatPenalty, "Repetition penalty (1 = off)")->capture_default_str();
  cmd.add_option("--repeat-last-n", repeatLastN, "Tokens the repetition penalty looks back over")->capture_default_str();
  cmd.add_option("--seed", seed, "Random seed (same seed, same reply)")->each([this](const std::string&) { seedGiven = true; });
  cmd.add_flag("--greedy", greedy, "Always pick the most likely token");
}

glm::SamplingParams SamplingOptions::toParams() const {
  glm::SamplingParams p;
  p.temperature = greedy ? 0.0f : temperature;
  p.topK = topK;
  p.topP = topP;
  p.minP = minP;
  p.repetitionPenalty = repeatPenalty;
  p.repetitionLastN = repeatLastN;
  p.seed = seedGiven ? seed : uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return p;
}

std::string readTextFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw glm::Error(fmt::format("{}: cannot open", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int32_t> parseIds(const std::string& text, const std::string& source) {
  std::vector<int32_t> ids;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      throw glm::Error(fmt::format("{}: not a JSON array of token ids: {}", source, e.what()));
    }
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number_integer()) throw glm::Error(fmt::format("{}: element {} is not an integer", source, i));
      ids.push_back(j[i].get<int32_t>());
    }
    return ids;
  }
  size_t i = 0, index = 0;
  while (i < text.size()) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    if (text[j] == '-') ++j;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || (j == i + 1 && text[i] == '-'))
      throw glm::Error(fmt::format("{}: item {} is not an integer token id near '{}'", source, index,
                                   text.substr(i, std::min<size_t>(16, text.size() - i))));
    ids.push_back(int32_t(std::stol(text.substr(i, j - i))));
    ++index;
    i = j;
  }
  return ids;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string humanBytes(int64_t bytes) {
  const double b = double(bytes);
  if (b >= double(1ll << 30)) return fmt::format("{:.2f} GiB", b / double(1ll << 30));
  if (b >= double(1ll << 20)) return fmt::format("{:.1f} MiB", b / double(1ll << 20));
  if (b >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", bytes);
}

}  // namespace glmcli
