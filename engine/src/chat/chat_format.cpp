#include "glmengine/chat_format.h"

#include <fmt/format.h>

#include "chat/chatglm3_format.h"
#include "chat/glm4_format.h"
#include "glmengine/error.h"

namespace glm {

std::string_view roleName(Role r) {
  switch (r) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
    case Role::Observation: return "observation";
  }
  return "unknown";
}

std::unique_ptr<ChatFormat> ChatFormat::create(const ModelConfig& config, const Tokenizer& tokenizer) {
  switch (config.family) {
    case ModelFamily::Glm4:
      return std::make_unique<chat::Glm4ChatFormat>(config, tokenizer);
    case ModelFamily::ChatGLM3:
      return std::make_unique<chat::ChatGlm3ChatFormat>(config, tokenizer);
    case ModelFamily::ChatGLM2:
      // ChatGLM2's own prompt is "[Round N]\n\n问：...\n\n答：" without role tokens; we only run
      // chatglm2 checkpoints whose tokenizer carries ChatGLM3's role tokens.
      if (tokenizer.specialTokenId("<|user|>") < 0) {
        throw Error(fmt::format(
            "chat format for chatglm2: the {} tokenizer has no role token '<|user|>'; ChatGLM2's "
            "'[Round N] 问/答' prompt is not supported, only the ChatGLM3 role-token format",
            tokenizer.kind()));
      }
      return std::make_unique<chat::ChatGlm3ChatFormat>(config, tokenizer);
  }
  throw Error(fmt::format("chat format: unknown model family {}", static_cast<int>(config.family)));
}

}  // namespace glm
