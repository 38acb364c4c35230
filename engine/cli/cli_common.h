// Pieces shared by the glmchat-cli commands: model options, file reading, JSON output, timing.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "glmengine/model.h"

namespace glmcli {

struct ModelOptions {
  std::string model;          // folder
  std::string randomWeights;  // shape
  uint64_t randomSeed = 1;
  std::string tokenizer;
  std::string backend = "auto";
  int64_t context = 0;
  int threads = 0;
  std::string kvCache = "f32";
  std::string weights = "bf16";
  int chunk = 256;
  int device = -1;
  bool quiet = false;

  void add(CLI::App& cmd, bool allowRandom = true);
  glm::LoadOptions toLoadOptions() const;
  // Loads with a progress line on stderr (unless quiet).
  std::unique_ptr<glm::Model> load() const;
};

struct SamplingOptions {
  float temperature = 0.8f;
  int topK = 0;
  float topP = 0.8f;
  float minP = 0.0f;
  float repeatPenalty = 1.0f;
  int repeatLastN = 64;
  uint64_t seed = 0;
  bool seedGiven = false;
  bool greedy = false;
  void add(CLI::App& cmd);
  glm::SamplingParams toParams() const;
};

std::string readTextFile(const std::filesystem::path& path);
// Token ids from text: integers separated by spaces, commas or newlines, or a JSON array.
std::vector<int32_t> parseIds(const std::string& text, const std::string& source);

double secondsSince(std::chrono::steady_clock::time_point t0);
std::string humanBytes(int64_t bytes);

// Command registrations (each file adds one subcommand and its handler).
void addTokenizeCommand(CLI::App& app);
void addLogitsCommand(CLI::App& app);
void addRunCommand(CLI::App& app);
void addChatCommand(CLI::App& app);
void addInfoCommand(CLI::App& app);
void addBenchCommand(CLI::App& app);
void addSelftestCommand(CLI::App& app);
void addDevicesCommand(CLI::App& app);
void addBenchOpsCommand(CLI::App& app);

}  // namespace glmcli
