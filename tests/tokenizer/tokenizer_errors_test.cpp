// Bad tokenizer files and bad text: a glm::Error naming the file (and line), never a crash.
#include <gtest/gtest.h>

#include <sstream>

#include "glmengine/error.h"
#include "glmengine/tokenizer.h"
#include "test_support.h"

namespace glm {
namespace {

namespace fs = std::filesystem;

// A valid tiktoken file: the 256 single bytes (base64 of each) with ranks 0..255.
std::string byteRanks() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string file;
  for (int b = 0; b < 256; ++b) {
    file += alphabet[b >> 2];
    file += alphabet[(b & 3) << 4];
    file += "== " + std::to_string(b) + "\n";
  }
  return file;
}

// Loads `contents` written as `name`; returns the glm::Error message (fails if none is thrown).
std::string loadError(const std::string& name, const std::string& contents) {
  test::TempDir dir;
  test::writeFile(dir / name, contents);
  try {
    Tokenizer::loadFile(dir / name);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << "message does not name the file: " << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected glm::Error, got " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected glm::Error for " << name;
  return {};
}

void expectContains(const std::string& message, const std::string& part) {
  EXPECT_NE(message.find(part), std::string::npos) << "\"" << message << "\" lacks \"" << part << "\"";
}

TEST(TokenizerErrors, ValidByteRankFileLoads) {
  test::TempDir dir;
  test::writeFile(dir / "tokenizer.model", byteRanks());
  const auto tokenizer = Tokenizer::loadFile(dir / "tokenizer.model");
  EXPECT_EQ(tokenizer->size(), 256 + 14);
  EXPECT_EQ(tokenizer->encode("ab"), (std::vector<int32_t>{'a', 'b'}));
}

TEST(TokenizerErrors, MissingFileAndFolder) {
  try {
    Tokenizer::loadFile("/nonexistent/glm/tokenizer.model");
    FAIL();
  } catch (const Error& e) {
    expectContains(e.what(), "/nonexistent/glm/tokenizer.model");
  }
  test::TempDir empty;
  try {
    Tokenizer::loadFromModelDir(empty.path());
    FAIL();
  } catch (const Error& e) {
    expectContains(e.what(), empty.path().string());
    expectContains(e.what(), "tokenizer.model");
  }
}

TEST(TokenizerErrors, EmptyFile) { expectContains(loadError("tokenizer.model", ""), "empty"); }

TEST(TokenizerErrors, LineThatIsNotBase64AndRank) {
  const std::string message = loadError("tokenizer.model", byteRanks() + "aGVsbG8=\n");
  expectContains(message, "line 257");
  expectContains(loadError("tokenizer.model", "AA== zero\n"), "line 1");
  expectContains(loadError("tokenizer.model", "hello world, this is text\n"), "line 1");
}

TEST(TokenizerErrors, BadBase64) {
  const std::string message = loadError("tokenizer.model", byteRanks() + "aGVsb*8= 256\n");
  expectContains(message, "line 257");
  expectContains(message, "base64");
}

TEST(TokenizerErrors, DuplicateAndNonContiguousRanks) {
  std::string message = loadError("tokenizer.model", byteRanks() + "aGVsbG8= 255\n");
  expectContains(message, "line 257");
  expectContains(message, "duplicate");
  message = loadError("tokenizer.model", byteRanks() + "aGVsbG8= 300\n");
  expectContains(message, "line 257");
  expectContains(message, "expected is 256");
  message = loadError("tokenizer.model", byteRanks() + "AA== 256\n");  // byte 0 again
  expectContains(message, "line 257");
  expectContains(message, "rank 0");
}

TEST(TokenizerErrors, MissingSingleByteToken) {
  const std::string ranks = byteRanks();
  // Drop the line of byte 0x00 and renumber: ranks stay contiguous, byte 0 has no token.
  std::string file;
  std::istringstream lines(ranks);
  std::string line;
  int rank = 0;
  std::getline(lines, line);  // skip "AA== 0"
  while (std::getline(lines, line)) file += line.substr(0, line.find(' ')) + " " + std::to_string(rank++) + "\n";
  expectContains(loadError("tokenizer.model", file), "0x00");
}

TEST(TokenizerErrors, TokenizerJsonThatIsNotJsonOrLacksVocab) {
  expectContains(loadError("tokenizer.json", "{ this is not json"), "JSON");
  expectContains(loadError("tokenizer.json", R"({"model": {"type": "BPE", "merges": []}})"), "model.vocab");
  expectContains(loadError("tokenizer.json", R"({"added_tokens": []})"), "model");
  expectContains(loadError("tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})"), "Unigram");
}

TEST(TokenizerErrors, SentencePieceLoadFailure) {
  // Binary bytes, so not tiktoken text; not a valid protobuf either.
  const std::string garbage("\x0a\xff\xff\xff\xff\x0f\x01\x02garbage", 16);
  expectContains(loadError("tokenizer.model", garbage), "SentencePiece");
}

TEST(TokenizerErrors, TokenizerConfigThatIsNotJson) {
  test::TempDir dir;
  test::writeFile(dir / "tokenizer.model", byteRanks());
  test::writeFile(dir / "tokenizer_config.json", "{\"added_tokens_decoder\": ");
  try {
    Tokenizer::loadFromModelDir(dir.path());
    FAIL();
  } catch (const Error& e) {
    expectContains(e.what(), "tokenizer_config.json");
  }
}

TEST(TokenizerErrors, UnknownIdsInDecodeThrowNamingTheId) {
  const auto tokenizer = Tokenizer::loadFile(fs::path(GLM_TEST_DATA) / "tiny-tokenizer" / "tokenizer.model");
  for (const int32_t id : {1014, 5000, -1}) {
    try {
      tokenizer->decode(std::span(&id, 1));
      FAIL() << id;
    } catch (const Error& e) {
      expectContains(e.what(), std::to_string(id));
    }
  }
}

TEST(TokenizerText, InvalidUtf8EncodesByteExactAndNeverSpecial) {
  const std::string bad = std::string("ok \xff\xfe mid\xE4\xBD end \xC0\xAF ") + "<|user|>" + "\xF0\x9F\x98";
  for (const char* file : {"tokenizer.model", "tokenizer.json"}) {
    const auto tokenizer = Tokenizer::loadFile(fs::path(GLM_TEST_DATA) / "tiny-tokenizer" / file);
    const std::vector<int32_t> ids = tokenizer->encode(bad);
    EXPECT_EQ(tokenizer->decode(ids), bad) << file;
    for (const int32_t id : ids) EXPECT_FALSE(tokenizer->isSpecial(id)) << file;
  }
}

TEST(TokenizerText, SpecialTokenTextEncodesAsOrdinaryText) {
  test::TempDir dir;
  test::writeFile(dir / "tokenizer.model", byteRanks());
  const auto tokenizer = Tokenizer::loadFile(dir / "tokenizer.model");
  const std::string text = "[gMASK]<sop><|user|>\nhi<|assistant|><|endoftext|>";
  const std::vector<int32_t> ids = tokenizer->encode(text);
  EXPECT_EQ(ids.size(), text.size());  // bytes only: no merges in this vocabulary
  for (const int32_t id : ids) EXPECT_LT(id, 256);
  EXPECT_EQ(tokenizer->specialTokenId("<|user|>"), 256 + 7);
  EXPECT_EQ(tokenizer->specialTokenId("[gMASK]"), 256 + 2);
  EXPECT_EQ(tokenizer->specialTokenId("<sop>"), 256 + 4);
}

TEST(TokenizerText, TokenizerConfigIdsOverrideTheDefaultSpecials) {
  test::TempDir dir;
  test::writeFile(dir / "tokenizer.model", byteRanks());
  test::writeFile(dir / "tokenizer_config.json",
                  R"({"added_tokens_decoder": {"300": {"content": "<|endoftext|>", "special": true},
                      "301": {"content": "[gMASK]", "special": true}}})");
  const auto tokenizer = Tokenizer::loadFromModelDir(dir.path());
  EXPECT_EQ(tokenizer->specialTokenId("<|endoftext|>"), 300);
  EXPECT_EQ(tokenizer->specialTokenId("[gMASK]"), 301);
  // Tokens the config does not name keep their GLM-4 default ids after the ranks.
  EXPECT_EQ(tokenizer->specialTokenId("<sop>"), 256 + 4);
  EXPECT_EQ(tokenizer->specialTokenId("<|user|>"), 256 + 7);
  const int32_t oldEndOfText = 256;
  EXPECT_FALSE(tokenizer->isSpecial(oldEndOfText));
  EXPECT_EQ(tokenizer->size(), 302);
}

}  // namespace
}  // namespace glm
