// GLM-4 chat format (glm-4-9b-chat, -1m): the official tokenizer_config.json chat template at the
// token level, and its "name\n{json}" tool-call protocol (GLM-REFERENCE.md §2.2-2.3).
#pragma once
#include "glmengine/chat_format.h"

namespace glm::chat {

class Glm4ChatFormat final : public ChatFormat {
 public:
  Glm4ChatFormat(const ModelConfig& config, const Tokenizer& tokenizer);

  std::string_view name() const override { return "glm-4"; }

  // [gMASK] <sop>, then the tools block as a <|system|> turn, then <|role|>{metadata}\n{content}
  // for every message with non-empty content (the template skips empty ones), then <|assistant|>
  // with no trailing newline (the model writes the "\n" itself). Metadata and content are encoded
  // in one call, so the tokens match what the Jinja template's text would tokenize to.
  std::vector<int32_t> render(std::span<const ChatMessage> messages, std::span<const ToolSpec> tools = {},
                              bool addGenerationPrompt = true) const override;

  // The config's eos ids plus <|user|>, <|observation|> and <|endoftext|> (the official server's list).
  std::vector<int32_t> stopTokens() const override { return stopTokens_; }

  // One call per reply: after "name\n{json}" the model emits <|observation|>, which is a stop token,
  // so a finished turn holds at most one call. A first line naming an offered tool followed by
  // anything but a JSON object is reported in parseError (the app answers with an error observation).
  AssistantReply parseReply(std::string_view generated, std::span<const ToolSpec> tools) const override;

  // The tools block text that follows <|system|> (starts with the metadata newline).
  static std::string toolsSystemText(std::span<const ToolSpec> tools);

 private:
  int32_t roleTokenId(Role role) const;

  const Tokenizer& tokenizer_;
  int32_t gmaskId_, sopId_, systemId_, userId_, assistantId_, observationId_, endOfTextId_;
  std::vector<int32_t> stopTokens_;
};

}  // namespace glm::chat
