// The tiny tokenizer fixture (tests/data/tiny-tokenizer) other tests and tiny models rely on.
#include <gtest/gtest.h>

#include <chrono>

#include "glmengine/tokenizer.h"
#include "test_support.h"
#include "tokenizer/tiktoken_tokenizer.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
const fs::path kTinyDir = fs::path(GLM_TEST_DATA) / "tiny-tokenizer";

TEST(TinyTokenizer, HasExactlyThousandRanksWithBytesFirstAndGlm4SpecialIds) {
  const auto tokenizer = Tokenizer::loadFile(kTinyDir / "tokenizer.model");
  ASSERT_EQ(tokenizer->kind(), "tiktoken");
  EXPECT_EQ(dynamic_cast<const tokenizer_detail::TiktokenTokenizer&>(*tokenizer).rankCount(), 1000);
  EXPECT_EQ(tokenizer->size(), 1014);
  for (int b = 0; b < 256; ++b) {
    const int32_t id = b;
    EXPECT_EQ(tokenizer->decode(std::span(&id, 1)), std::string(1, static_cast<char>(b)));
  }
  const std::pair<const char*, int32_t> expected[] = {
      {"<|endoftext|>", 1000}, {"[MASK]", 1001}, {"[gMASK]", 1002}, {"[sMASK]", 1003}, {"<sop>", 1004},
      {"<eop>", 1005}, {"<|system|>", 1006}, {"<|user|>", 1007}, {"<|assistant|>", 1008},
      {"<|observation|>", 1009}, {"<|begin_of_image|>", 1010}, {"<|end_of_image|>", 1011},
      {"<|begin_of_video|>", 1012}, {"<|end_of_video|>", 1013}};
  for (const auto& [text, id] : expected) {
    EXPECT_EQ(tokenizer->specialTokenId(text), id) << text;
    EXPECT_TRUE(tokenizer->isSpecial(id)) << text;
    EXPECT_EQ(tokenizer->decode(std::span(&id, 1)), text);
  }
  EXPECT_EQ(tokenizer->specialTokenId("<|nonexistent|>"), -1);
  EXPECT_FALSE(tokenizer->isSpecial(999));
}

TEST(TinyTokenizer, FilesStaySmall) {
  EXPECT_LT(fs::file_size(kTinyDir / "tokenizer.model"), 100 * 1024);
  EXPECT_LT(fs::file_size(kTinyDir / "tokenizer.json"), 100 * 1024);
}

TEST(TinyTokenizer, JsonAndModelGiveIdenticalIds) {
  const auto model = Tokenizer::loadFile(kTinyDir / "tokenizer.model");
  const auto json = Tokenizer::loadFile(kTinyDir / "tokenizer.json");
  ASSERT_EQ(json->kind(), "tokenizer.json");
  EXPECT_EQ(json->size(), 1014);
  EXPECT_EQ(json->specialTokenId("[gMASK]"), 1002);
  EXPECT_EQ(json->specialTokenId("<|observation|>"), 1009);
  const std::string corpus = test::buildMixedCorpus(200 * 1024, 7);
  const std::vector<int32_t> fromModel = model->encode(corpus);
  EXPECT_TRUE(test::sameIds(json->encode(corpus), fromModel));
  EXPECT_TRUE(model->decode(fromModel) == corpus);
  EXPECT_TRUE(json->decode(fromModel) == corpus);
  std::cout << "  tiny tokenizer: " << corpus.size() << " bytes -> " << fromModel.size() << " tokens\n";
}

TEST(TinyTokenizer, VeryLongPiecesEncodeInNearLinearTime) {
  // One 1 MB piece each (a letter run, a whitespace run, a punctuation run): tiktoken's O(n^2)
  // merge loop would take minutes here.
  for (const char* file : {"tokenizer.model", "tokenizer.json"}) {
    const auto tokenizer = Tokenizer::loadFile(kTinyDir / file);
    for (const char c : {'a', ' ', '*'}) {
      const std::string text(1 << 20, c);
      const auto start = std::chrono::steady_clock::now();
      const std::vector<int32_t> ids = tokenizer->encode(text);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      EXPECT_LT(seconds, 10.0) << file << " '" << c << "'";
      EXPECT_TRUE(tokenizer->decode(ids) == text);
      std::cout << "  " << file << ": 1 MiB of '" << c << "' -> " << ids.size() << " tokens in " << seconds << " s\n";
    }
  }
}

TEST(TinyTokenizer, ModelDirPrefersTokenizerJson) {
  EXPECT_EQ(Tokenizer::loadFromModelDir(kTinyDir)->kind(), "tokenizer.json");
}

TEST(TinyTokenizer, MatchesOfficialTiktokenOnItsRanks) {
  // tiktoken itself (npm) runs BPE over the fixture's rank file with the GLM-4 pattern.
  const std::string missing = test::checkNodeTiktoken();
  ASSERT_TRUE(missing.empty()) << missing;
  test::TempDir dir;
  test::writeFile(dir / "pattern.txt", test::kCl100kPattern);
  const std::string corpus = test::buildMixedCorpus(100 * 1024, 11);
  const auto expected = test::tiktokenReferenceEncode(
      "--ranks " + test::shellQuote((kTinyDir / "tokenizer.model").string()) + " --pattern-file " +
          test::shellQuote((dir / "pattern.txt").string()),
      corpus, dir);
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(test::sameIds(Tokenizer::loadFile(kTinyDir / "tokenizer.model")->encode(corpus), expected));
}

}  // namespace
}  // namespace glm
