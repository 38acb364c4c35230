// Pieces both chat formats share: special-token lookup, the OpenAI function object of a tool,
// stop-token lists, and small text helpers for reply parsing.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glmengine/chat_format.h"

namespace glm::chat {

// The id of a special token the format cannot work without; throws glm::Error naming the token
// and the format when the tokenizer lacks it.
int32_t requireSpecialToken(const Tokenizer& tokenizer, std::string_view token, std::string_view formatName);

// {"name", "description", "parameters"} with the schema's key order kept. Throws glm::Error naming
// the tool when its name is unusable or its parametersJson is not a JSON object.
nlohmann::ordered_json functionObject(const ToolSpec& tool);

// Python json.dumps(value, ensure_ascii=False, indent=4): ",\n" between items, ": " after keys,
// non-ASCII text kept as UTF-8. Throws glm::Error naming `what` on invalid UTF-8.
std::string dumpIndented(const nlohmann::ordered_json& value, std::string_view what);

// `first` followed by `more`, each id once, in first-seen order; negative ids are dropped.
std::vector<int32_t> uniqueIds(std::span<const int32_t> first, std::initializer_list<int32_t> more);

// The offered tool with this exact name, or nullptr.
const ToolSpec* findTool(std::span<const ToolSpec> tools, std::string_view name);

std::string_view trimWhitespace(std::string_view s);

// Appends src to dst.
inline void append(std::vector<int32_t>& dst, const std::vector<int32_t>& src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

}  // namespace glm::chat
