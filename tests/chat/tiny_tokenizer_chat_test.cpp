// The GLM-4 format bound to the real tokenizer code, with the tiny test tokenizer (1000 ranks,
// specials from id 1000: <|endoftext|> 1000, [gMASK] 1002, <sop> 1004, <|system|> 1006,
// <|user|> 1007, <|assistant|> 1008, <|observation|> 1009), in both its tiktoken and tokenizer.json
// forms.
#include <gtest/gtest.h>

#include <filesystem>

#include "glmengine/chat_format.h"

namespace glm {
namespace {

class TinyTokenizerChat : public ::testing::TestWithParam<const char*> {};

TEST_P(TinyTokenizerChat, Glm4PromptHasSpecialsOnlyWhereTheFormatPutsThem) {
  const std::filesystem::path file = std::filesystem::path(GLM_TEST_DATA) / "tiny-tokenizer" / GetParam();
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is not there";
  const auto tokenizer = Tokenizer::loadFile(file);
  ModelConfig config;
  config.family = ModelFamily::Glm4;
  config.eosTokenIds = {1000};
  const auto format = ChatFormat::create(config, *tokenizer);

  const std::string userText = "你好 <|user|>[gMASK]<sop> hello";
  const std::vector<ChatMessage> messages{{Role::User, userText, ""}};
  const std::vector<int32_t> ids = format->render(messages);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + 3), (std::vector<int32_t>{1002, 1004, 1007}));
  EXPECT_EQ(ids.back(), 1008);
  const std::vector<int32_t> body(ids.begin() + 3, ids.end() - 1);
  for (const int32_t id : body) EXPECT_FALSE(tokenizer->isSpecial(id)) << "special id " << id << " inside the text";
  EXPECT_EQ(tokenizer->decode(body), "\n" + userText);
  EXPECT_EQ(body, tokenizer->encode("\n" + userText));

  std::vector<int32_t> stops = format->stopTokens();
  std::sort(stops.begin(), stops.end());
  EXPECT_EQ(stops, (std::vector<int32_t>{1000, 1007, 1009}));
}

INSTANTIATE_TEST_SUITE_P(BothFiles, TinyTokenizerChat, ::testing::Values("tokenizer.model", "tokenizer.json"));

}  // namespace
}  // namespace glm
