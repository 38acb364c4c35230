// Parity with the official tiktoken (npm) on cl100k_base, whose pattern is GLM-4's, over a mixed
// corpus of more than 1 MB; and the same vocabulary as a tokenizer.json.
#include <gtest/gtest.h>

#include <chrono>

#include "glmengine/tokenizer.h"
#include "test_support.h"

namespace glm {
namespace {

namespace fs = std::filesystem;

size_t countMismatches(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t mismatches = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) mismatches += a[i] != b[i];
  return mismatches;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class Cl100kParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    missing_ = test::checkNodeTiktoken();
    if (!missing_.empty()) return;
    dir_ = new test::TempDir;
    test::writeFile(*dir_ / "cl100k_base.tiktoken", test::rebuildCl100kRankFile());
    corpus_ = test::buildMixedCorpus(1100 * 1024);
    expected_ = test::tiktokenReferenceEncode("--encoding cl100k_base", corpus_, *dir_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(missing_.empty()) << missing_; }

  static inline std::string missing_;
  static inline test::TempDir* dir_ = nullptr;
  static inline std::string corpus_;
  static inline std::vector<int32_t> expected_;
};

TEST_F(Cl100kParity, RebuiltRankFileIsTheOfficialOne) {
  EXPECT_EQ(test::sha256OfFile(*dir_ / "cl100k_base.tiktoken"),
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7");
  const auto tokenizer = Tokenizer::loadFile(*dir_ / "cl100k_base.tiktoken");
  EXPECT_EQ(tokenizer->size(), 100256 + 14);  // GLM-4's 14 specials follow the ranks
  EXPECT_EQ(tokenizer->encode("hello world 你好"), (std::vector<int32_t>{15339, 1917, 220, 57668, 53901}));
}

TEST_F(Cl100kParity, TiktokenFileMatchesOfficialTiktokenOnMixedCorpus) {
  ASSERT_GE(corpus_.size(), 1024u * 1024u);
  ASSERT_FALSE(expected_.empty());
  const auto tokenizer = Tokenizer::loadFile(*dir_ / "cl100k_base.tiktoken");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer->encode(corpus_);
  const double seconds = secondsSince(start);
  const size_t mismatches = countMismatches(ids, expected_);
  std::cout << "  cl100k parity (tiktoken format): " << corpus_.size() << " bytes, " << ids.size()
            << " tokens (tiktoken " << expected_.size() << "), " << mismatches << " mismatches, encode "
            << seconds << " s\n";
  EXPECT_TRUE(test::sameIds(ids, expected_));
  EXPECT_LT(seconds, 5.0);
  const auto decodeStart = std::chrono::steady_clock::now();
  EXPECT_TRUE(tokenizer->decode(ids) == corpus_) << "decode(encode(corpus)) differs from the corpus";
  std::cout << "  decode " << secondsSince(decodeStart) << " s\n";
}

TEST_F(Cl100kParity, DerivedTokenizerJsonMatchesOfficialTiktoken) {
  const std::vector<std::string> specials = {"<|endoftext|>", "[MASK]", "[gMASK]"};
  for (const bool ignoreMerges : {true, false}) {
    SCOPED_TRACE(ignoreMerges ? "ignore_merges true" : "ignore_merges false");
    const fs::path json = *dir_ / (ignoreMerges ? "ignore.json" : "merges.json");
    test::writeFile(json, test::tokenizerJsonFromRankFile(test::readFile(*dir_ / "cl100k_base.tiktoken"),
                                                          test::kCl100kPattern, specials, ignoreMerges));
    auto start = std::chrono::steady_clock::now();
    const auto tokenizer = Tokenizer::loadFile(json);
    const double loadSeconds = secondsSince(start);
    EXPECT_EQ(tokenizer->specialTokenId("[gMASK]"), 100258);
    start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tokenizer->encode(corpus_);
    const double seconds = secondsSince(start);
    const size_t mismatches = countMismatches(ids, expected_);
    std::cout << "  cl100k parity (tokenizer.json, ignore_merges " << ignoreMerges << "): " << corpus_.size()
              << " bytes, " << ids.size() << " tokens, " << mismatches << " mismatches, load " << loadSeconds
              << " s, encode " << seconds << " s\n";
    EXPECT_TRUE(test::sameIds(ids, expected_));
    EXPECT_TRUE(tokenizer->decode(ids) == corpus_);
  }
}

}  // namespace
}  // namespace glm
