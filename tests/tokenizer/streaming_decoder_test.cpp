// StreamingDecoder on byte-level BPE: characters split across tokens are never emitted in halves.
#include <gtest/gtest.h>

#include "glmengine/tokenizer.h"
#include "test_support.h"

namespace glm {
namespace {

const std::filesystem::path kTinyModel = std::filesystem::path(GLM_TEST_DATA) / "tiny-tokenizer" / "tokenizer.model";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

TEST(StreamingDecoder, EmojiAndCjkSplitAcrossTokensStreamWhole) {
  const auto tokenizer = Tokenizer::loadFile(kTinyModel);
  const std::string text = "你好，世界！😀👍🏽👨‍👩‍👧 naïve 🇨🇳 龘 done";
  const std::vector<int32_t> ids = tokenizer->encode(text);
  StreamingDecoder decoder(*tokenizer);
  std::string streamed;
  size_t heldBack = 0;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(test::isValidUtf8(piece)) << "token " << id << " emitted a broken character";
    EXPECT_EQ(piece.find(kReplacement), std::string::npos);
    heldBack += piece.empty();
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, tokenizer->decode(ids));
  EXPECT_EQ(streamed, text);
  // The tiny vocabulary has no emoji tokens, so some tokens must have been single bytes held back.
  EXPECT_GT(heldBack, 0u);
}

TEST(StreamingDecoder, FlushTurnsAnUnfinishedCharacterIntoReplacement) {
  const auto tokenizer = Tokenizer::loadFile(kTinyModel);
  StreamingDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push('a'), "a");
  EXPECT_EQ(decoder.push(0xE4), "");  // first byte of a 3-byte character
  EXPECT_EQ(decoder.push(0xBD), "");
  EXPECT_EQ(decoder.flush(), kReplacement);
  // After flush the decoder starts clean.
  EXPECT_EQ(decoder.push('b'), "b");
}

TEST(StreamingDecoder, BytesThatCanNeverFormACharacterAreReplacedAtOnce) {
  const auto tokenizer = Tokenizer::loadFile(kTinyModel);
  StreamingDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push(0xFF), kReplacement);             // never valid in UTF-8
  EXPECT_EQ(decoder.push(0xE4), "");                        // may start a character...
  EXPECT_EQ(decoder.push('x'), std::string(kReplacement) + "x");  // ...but 'x' breaks it
  decoder.reset();
  EXPECT_EQ(decoder.flush(), "");
}

TEST(StreamingDecoder, SpecialTokensStreamAsText) {
  const auto tokenizer = Tokenizer::loadFile(kTinyModel);
  StreamingDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push(tokenizer->specialTokenId("<|assistant|>")), "<|assistant|>");
}

}  // namespace
}  // namespace glm
