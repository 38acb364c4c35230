#include "chat/format_common.h"

#include <algorithm>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::chat {

int32_t requireSpecialToken(const Tokenizer& tokenizer, std::string_view token, std::string_view formatName) {
  const int32_t id = tokenizer.specialTokenId(token);
  if (id < 0) {
    throw Error(fmt::format("chat format {}: the {} tokenizer has no special token '{}' (the format inserts it by id)",
                            formatName, tokenizer.kind(), token));
  }
  return id;
}

nlohmann::ordered_json functionObject(const ToolSpec& tool) {
  if (tool.name.empty()) throw Error("tool: the name is empty (the model calls a tool by its name)");
  // The reply parser reads the tool name as the first line of the reply.
  if (tool.name.find_first_of("\r\n") != std::string::npos) {
    throw Error(fmt::format("tool '{}': the name contains a line break", tool.name));
  }
  nlohmann::ordered_json parameters;
  try {
    parameters = nlohmann::ordered_json::parse(tool.parametersJson);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("tool '{}': parametersJson is not valid JSON ({})", tool.name, e.what()));
  }
  if (!parameters.is_object()) {
    throw Error(fmt::format("tool '{}': parametersJson must be a JSON Schema object, found a JSON {}", tool.name,
                            parameters.type_name()));
  }
  nlohmann::ordered_json function = nlohmann::ordered_json::object();
  function["name"] = tool.name;
  function["description"] = tool.description;
  function["parameters"] = std::move(parameters);
  return function;
}

std::string dumpIndented(const nlohmann::ordered_json& value, std::string_view what) {
  try {
    return value.dump(4, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: cannot be written as JSON ({})", what, e.what()));
  }
}

std::vector<int32_t> uniqueIds(std::span<const int32_t> first, std::initializer_list<int32_t> more) {
  std::vector<int32_t> ids;
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (const int32_t id : first) add(id);
  for (const int32_t id : more) add(id);
  return ids;
}

const ToolSpec* findTool(std::span<const ToolSpec> tools, std::string_view name) {
  for (const ToolSpec& tool : tools) {
    if (tool.name == name) return &tool;
  }
  return nullptr;
}

std::string_view trimWhitespace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

}  // namespace glm::chat
