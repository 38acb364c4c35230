// Chat prompt formats (GLM-4, ChatGLM3) and parsing of the model's replies, tool calls included.
// Special tokens (role tokens, [gMASK], <sop>) are inserted by id; message text is always encoded
// as plain text, so a user typing "<|user|>" cannot inject a role token.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "glmengine/config.h"
#include "glmengine/tokenizer.h"

namespace glm {

enum class Role { System, User, Assistant, Observation };
std::string_view roleName(Role r);  // "system", "user", "assistant", "observation"

// A tool offered to the model: OpenAI-style function description. parametersJson is a JSON Schema
// object as text; its key order is kept when it is rendered into the prompt.
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parametersJson = "{}";
};

struct ChatMessage {
  Role role = Role::User;
  std::string content;
  std::string metadata;  // GLM-4: text after the role token on the same line (e.g. a tool name)
};

struct ToolCall {
  std::string name;
  std::string argumentsJson;  // the JSON object as the model wrote it (validated, compact)
};

// What the model said in one assistant turn.
struct AssistantReply {
  std::string text;                 // the reply with GLM-4's leading "\n" stripped
  std::vector<ToolCall> toolCalls;  // non-empty when the model called tools
  std::string parseError;           // set when the reply looked like a call but was malformed
};

class ChatFormat {
 public:
  virtual ~ChatFormat() = default;
  virtual std::string_view name() const = 0;  // "glm-4" or "chatglm3"

  // The prompt's token ids: prefix ([gMASK]<sop>), the tools block (as a system turn) when tools
  // are given, each message, and the generation prompt (<|assistant|>) when addGenerationPrompt.
  virtual std::vector<int32_t> render(std::span<const ChatMessage> messages,
                                      std::span<const ToolSpec> tools = {},
                                      bool addGenerationPrompt = true) const = 0;

  // Ids that end the assistant's turn (from the model config's eos list and the role tokens).
  virtual std::vector<int32_t> stopTokens() const = 0;

  // Parses the text of one finished assistant turn. A reply of the form "name\n{json}" whose name is
  // one of the offered tools becomes a ToolCall (GLM-4); ChatGLM3's "name\n```python\ntool_call(...)```"
  // is parsed without ever evaluating it.
  virtual AssistantReply parseReply(std::string_view generated, std::span<const ToolSpec> tools) const = 0;

  // Picks the format of the model family and binds it to its tokenizer. Throws glm::Error when the
  // tokenizer lacks a special token the format needs (naming the token).
  static std::unique_ptr<ChatFormat> create(const ModelConfig& config, const Tokenizer& tokenizer);
};

}  // namespace glm
