#include "tokenizer/special_tokens.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {

void SpecialTokenTable::add(int32_t id, std::string text) {
  byId_[id] = text;
  byText_.emplace(std::move(text), id);  // the first id given for a text wins
}

void SpecialTokenTable::replace(int32_t id, std::string text) {
  if (const auto old = byText_.find(text); old != byText_.end()) {
    byId_.erase(old->second);
    byText_.erase(old);
  }
  if (const auto old = byId_.find(id); old != byId_.end()) {
    byText_.erase(old->second);
    byId_.erase(old);
  }
  add(id, std::move(text));
}

int32_t SpecialTokenTable::maxId() const {
  int32_t maxId = -1;
  for (const auto& [id, text] : byId_) maxId = std::max(maxId, id);
  return maxId;
}

int32_t SpecialTokenTable::idOf(std::string_view text) const {
  const auto it = byText_.find(std::string(text));
  return it == byText_.end() ? -1 : it->second;
}

const std::string* SpecialTokenTable::textOf(int32_t id) const {
  const auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : &it->second;
}

std::string readTokenizerFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("{}: cannot open tokenizer file: {}", file.string(), std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: read error", file.string()));
  std::string bytes = std::move(contents).str();
  if (bytes.empty()) throw Error(fmt::format("{}: empty file, expected a tokenizer", file.string()));
  return bytes;
}

std::optional<std::vector<SpecialToken>> readAddedTokensDecoder(const std::filesystem::path& configFile) {
  const std::string text = readTokenizerFile(configFile);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", configFile.string(), e.what()));
  }
  if (!config.is_object() || !config.contains("added_tokens_decoder")) return std::nullopt;
  const auto& decoder = config["added_tokens_decoder"];
  if (!decoder.is_object()) {
    throw Error(fmt::format("{}: added_tokens_decoder: expected an object, found {}", configFile.string(),
                            decoder.type_name()));
  }
  std::vector<SpecialToken> tokens;
  for (const auto& [key, entry] : decoder.items()) {
    int32_t id = -1;
    try {
      size_t used = 0;
      const long value = std::stol(key, &used);
      if (used != key.size() || value < 0 || value > INT32_MAX) throw std::out_of_range(key);
      id = static_cast<int32_t>(value);
    } catch (const std::exception&) {
      throw Error(fmt::format("{}: added_tokens_decoder: key \"{}\" is not a token id", configFile.string(), key));
    }
    if (!entry.is_object() || !entry.contains("content") || !entry["content"].is_string()) {
      throw Error(fmt::format("{}: added_tokens_decoder[\"{}\"]: expected {{\"content\": string}}",
                              configFile.string(), key));
    }
    tokens.push_back({id, entry["content"].get<std::string>()});
  }
  std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return tokens;
}

}  // namespace glm::tokenizer_detail
