#include "chat/glm4_format.h"

#include <fmt/format.h>

#include "chat/format_common.h"
#include "glmengine/error.h"

namespace glm::chat {
namespace {

constexpr std::string_view kFormatName = "glm-4";

// The system text of the official template (HF THUDM/glm-4-9b-chat tokenizer_config.json, after
// revision eb00b28 renamed the assistant from "GLM-4" to "ChatGLM").
constexpr std::string_view kToolPreamble =
    "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，"
    "你的任务是针对用户的问题和要求提供适当的答复和支持。";
constexpr std::string_view kToolsHeader = "\n\n# 可用工具";
constexpr std::string_view kToolFooter = "\n在调用上述函数时，请使用 Json 格式表示调用的参数。";

}  // namespace

Glm4ChatFormat::Glm4ChatFormat(const ModelConfig& config, const Tokenizer& tokenizer)
    : tokenizer_(tokenizer),
      gmaskId_(requireSpecialToken(tokenizer, "[gMASK]", kFormatName)),
      sopId_(requireSpecialToken(tokenizer, "<sop>", kFormatName)),
      systemId_(requireSpecialToken(tokenizer, "<|system|>", kFormatName)),
      userId_(requireSpecialToken(tokenizer, "<|user|>", kFormatName)),
      assistantId_(requireSpecialToken(tokenizer, "<|assistant|>", kFormatName)),
      observationId_(requireSpecialToken(tokenizer, "<|observation|>", kFormatName)),
      endOfTextId_(requireSpecialToken(tokenizer, "<|endoftext|>", kFormatName)),
      stopTokens_(uniqueIds(config.eosTokenIds, {userId_, observationId_, endOfTextId_})) {}

int32_t Glm4ChatFormat::roleTokenId(Role role) const {
  switch (role) {
    case Role::System: return systemId_;
    case Role::User: return userId_;
    case Role::Assistant: return assistantId_;
    case Role::Observation: return observationId_;
  }
  throw Error(fmt::format("chat format glm-4: unknown message role {}", static_cast<int>(role)));
}

std::string Glm4ChatFormat::toolsSystemText(std::span<const ToolSpec> tools) {
  std::string text = "\n";
  text += kToolPreamble;
  text += kToolsHeader;
  for (const ToolSpec& tool : tools) {
    text += fmt::format("\n\n## {}\n\n", tool.name);
    text += dumpIndented(functionObject(tool), fmt::format("tool '{}'", tool.name));
    text += kToolFooter;
  }
  return text;
}

std::vector<int32_t> Glm4ChatFormat::render(std::span<const ChatMessage> messages, std::span<const ToolSpec> tools,
                                            bool addGenerationPrompt) const {
  std::vector<int32_t> ids{gmaskId_, sopId_};
  if (!tools.empty()) {
    ids.push_back(systemId_);
    append(ids, tokenizer_.encode(toolsSystemText(tools)));
  }
  for (const ChatMessage& message : messages) {
    if (message.content.empty()) continue;
    ids.push_back(roleTokenId(message.role));
    append(ids, tokenizer_.encode(message.metadata + "\n" + message.content));
  }
  if (addGenerationPrompt) ids.push_back(assistantId_);
  return ids;
}

AssistantReply Glm4ChatFormat::parseReply(std::string_view generated, std::span<const ToolSpec> tools) const {
  std::string_view body = generated;
  if (body.starts_with('\n')) body.remove_prefix(1);

  AssistantReply reply;
  reply.text = std::string(body);
  const size_t lineEnd = body.find('\n');
  const std::string_view firstLine = body.substr(0, lineEnd);
  const ToolSpec* tool = findTool(tools, firstLine);
  if (tool == nullptr) return reply;

  const std::string_view arguments = lineEnd == std::string_view::npos ? std::string_view{} : body.substr(lineEnd + 1);
  try {
    const auto parsed = nlohmann::ordered_json::parse(arguments);
    if (!parsed.is_object()) {
      reply.parseError = fmt::format("tool call '{}': the arguments must be a JSON object, found a JSON {}",
                                     tool->name, parsed.type_name());
      return reply;
    }
    reply.toolCalls.push_back({tool->name, parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict)});
  } catch (const nlohmann::json::exception& e) {
    reply.parseError = fmt::format("tool call '{}': the arguments are not valid JSON ({})", tool->name, e.what());
  }
  return reply;
}

}  // namespace glm::chat
