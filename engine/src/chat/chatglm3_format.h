// ChatGLM3 chat format (chatglm3-6b, and chatglm2 checkpoints whose tokenizer has the role tokens):
// [gMASK] sop, <|role|> + encode(metadata + "\n") + encode(content), tools as a system turn holding
// a JSON list, and tool calls written as a fenced `tool_call(...)` Python expression
// (GLM-REFERENCE.md §2.5).
#pragma once
#include "glmengine/chat_format.h"

namespace glm::chat {

class ChatGlm3ChatFormat final : public ChatFormat {
 public:
  ChatGlm3ChatFormat(const ModelConfig& config, const Tokenizer& tokenizer);

  std::string_view name() const override { return "chatglm3"; }

  // Every message is rendered, empty or not, as ChatGLM3's build_chat_input does. An assistant
  // message with metadata (a tool name) whose content is a JSON object is the app's record of a
  // tool call; it is written back the way the model wrote it: "```python\ntool_call(k=v)\n```".
  std::vector<int32_t> render(std::span<const ChatMessage> messages, std::span<const ToolSpec> tools = {},
                              bool addGenerationPrompt = true) const override;

  // The config's eos ids plus <|user|> and <|observation|> (the official demo's list).
  std::vector<int32_t> stopTokens() const override { return stopTokens_; }

  // "name\n```python\ntool_call(a=1, b='x')\n```" with an offered name becomes a ToolCall; the
  // arguments are read by a literal-only parser and never evaluated. A first line naming an offered
  // tool followed by anything else sets parseError. Plain text is returned trimmed (SentencePiece
  // decoding leaves a space before the text).
  AssistantReply parseReply(std::string_view generated, std::span<const ToolSpec> tools) const override;

  static constexpr std::string_view kToolsPreamble =
      "Answer the following questions as best as you can. You have access to the following tools:\n";

 private:
  int32_t roleTokenId(Role role) const;
  void appendMessage(std::vector<int32_t>& ids, Role role, const std::string& metadata,
                     const std::string& content) const;

  const Tokenizer& tokenizer_;
  int32_t gmaskId_, sopId_, systemId_, userId_, assistantId_, observationId_;
  std::vector<int32_t> stopTokens_;
};

}  // namespace glm::chat
