#include "chat/chatglm3_format.h"

#include <fmt/format.h>

#include "chat/format_common.h"
#include "chat/python_literal.h"
#include "glmengine/error.h"

namespace glm::chat {
namespace {

constexpr std::string_view kFormatName = "chatglm3";

bool isPythonIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    static_cast<unsigned char>(c) >= 0x80;
    if (!ok) return false;
  }
  return true;
}

// A recorded call's arguments (a JSON object) spelled the way the model writes a call:
// "```python\ntool_call(city='北京', days=[1, 2])\n```". Empty when the text is not a JSON object
// or a key is not a Python identifier; the content is then rendered as given.
std::string toolCallBlock(const std::string& argumentsJson) {
  nlohmann::ordered_json args;
  try {
    args = nlohmann::ordered_json::parse(argumentsJson);
  } catch (const nlohmann::json::exception&) {
    return {};
  }
  if (!args.is_object()) return {};
  std::string call = "tool_call(";
  bool first = true;
  for (const auto& [key, value] : args.items()) {
    if (!isPythonIdentifier(key)) return {};
    if (!first) call += ", ";
    first = false;
    call += key + "=" + toPythonLiteral(value);
  }
  return "```python\n" + call + ")\n```";
}

// The text between a ```python (or bare ```) opening line and the closing ```.
std::string_view fencedBody(std::string_view block, std::string& error) {
  block = trimWhitespace(block);
  constexpr std::string_view kFence = "```";
  if (!block.starts_with(kFence) || block.size() < 2 * kFence.size() || !block.ends_with(kFence)) {
    error = "expected a ```python code block holding tool_call(...)";
    return {};
  }
  std::string_view inner = block.substr(kFence.size(), block.size() - 2 * kFence.size());
  const size_t lineEnd = inner.find('\n');
  const std::string_view language = trimWhitespace(inner.substr(0, lineEnd));
  if (lineEnd == std::string_view::npos || (!language.empty() && language != "python")) {
    error = fmt::format("expected a ```python code block, found a block opened with '```{}'", language);
    return {};
  }
  return inner.substr(lineEnd + 1);
}

}  // namespace

ChatGlm3ChatFormat::ChatGlm3ChatFormat(const ModelConfig& config, const Tokenizer& tokenizer)
    : tokenizer_(tokenizer),
      gmaskId_(requireSpecialToken(tokenizer, "[gMASK]", kFormatName)),
      sopId_(requireSpecialToken(tokenizer, "sop", kFormatName)),
      systemId_(requireSpecialToken(tokenizer, "<|system|>", kFormatName)),
      userId_(requireSpecialToken(tokenizer, "<|user|>", kFormatName)),
      assistantId_(requireSpecialToken(tokenizer, "<|assistant|>", kFormatName)),
      observationId_(requireSpecialToken(tokenizer, "<|observation|>", kFormatName)),
      stopTokens_(uniqueIds(config.eosTokenIds, {userId_, observationId_})) {}

int32_t ChatGlm3ChatFormat::roleTokenId(Role role) const {
  switch (role) {
    case Role::System: return systemId_;
    case Role::User: return userId_;
    case Role::Assistant: return assistantId_;
    case Role::Observation: return observationId_;
  }
  throw Error(fmt::format("chat format chatglm3: unknown message role {}", static_cast<int>(role)));
}

void ChatGlm3ChatFormat::appendMessage(std::vector<int32_t>& ids, Role role, const std::string& metadata,
                                       const std::string& content) const {
  // Two encode calls, as ChatGLM3's build_single_message does: with SentencePiece each call adds
  // its own dummy-prefix space, so joining the strings first would give different ids.
  ids.push_back(roleTokenId(role));
  append(ids, tokenizer_.encode(metadata + "\n"));
  append(ids, tokenizer_.encode(content));
}

std::vector<int32_t> ChatGlm3ChatFormat::render(std::span<const ChatMessage> messages,
                                                std::span<const ToolSpec> tools, bool addGenerationPrompt) const {
  std::vector<int32_t> ids{gmaskId_, sopId_};
  if (!tools.empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ToolSpec& tool : tools) list.push_back(functionObject(tool));
    appendMessage(ids, Role::System, "", std::string(kToolsPreamble) + dumpIndented(list, "tools list"));
  }
  for (const ChatMessage& message : messages) {
    if (message.role == Role::Assistant && !message.metadata.empty()) {
      const std::string block = toolCallBlock(message.content);
      if (!block.empty()) {
        appendMessage(ids, message.role, message.metadata, block);
        continue;
      }
    }
    appendMessage(ids, message.role, message.metadata, message.content);
  }
  if (addGenerationPrompt) ids.push_back(assistantId_);
  return ids;
}

AssistantReply ChatGlm3ChatFormat::parseReply(std::string_view generated, std::span<const ToolSpec> tools) const {
  AssistantReply reply;
  reply.text = std::string(trimWhitespace(generated));

  const size_t lineEnd = generated.find('\n');
  if (lineEnd == std::string_view::npos) return reply;
  const ToolSpec* tool = findTool(tools, trimWhitespace(generated.substr(0, lineEnd)));
  if (tool == nullptr) return reply;

  std::string error;
  const std::string_view source = fencedBody(generated.substr(lineEnd + 1), error);
  if (!error.empty()) {
    reply.parseError = fmt::format("tool call '{}': {}", tool->name, error);
    return reply;
  }
  try {
    const auto arguments = parsePythonToolCall(source);
    reply.toolCalls.push_back({tool->name, arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)});
  } catch (const Error& e) {
    reply.parseError = fmt::format("tool call '{}': {}", tool->name, e.what());
  } catch (const nlohmann::json::exception& e) {
    reply.parseError =
        fmt::format("tool call '{}': the arguments cannot be written as JSON ({})", tool->name, e.what());
  }
  return reply;
}

}  // namespace glm::chat
