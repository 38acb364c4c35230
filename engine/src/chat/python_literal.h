// ChatGLM3 writes tool calls as Python source: `tool_call(city='Beijing', days=[1, 2])`. The
// official demo eval()s that text, which runs whatever the model wrote. We parse only literals
// (numbers, strings, True/False/None, lists, tuples, dicts) and never evaluate anything.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace glm::chat {

// Parses `tool_call(name=literal, ...)` (surrounding whitespace allowed) into a JSON object whose
// keys keep the order written. Throws glm::Error saying where and what was expected.
nlohmann::ordered_json parsePythonToolCall(std::string_view source);

// Parses one Python literal expression into JSON (tuples become arrays). Throws glm::Error.
nlohmann::ordered_json parsePythonLiteral(std::string_view source);

// Writes JSON as a Python literal, the way Python's repr() would print it ('text', True, None,
// {'k': [1, 2]}), so that a tool call can be put back into a ChatGLM3 prompt.
std::string toPythonLiteral(const nlohmann::ordered_json& value);

}  // namespace glm::chat
