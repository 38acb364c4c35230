// Helpers shared by the tokenizer tests: temporary folders, running reference tools (node +
// tiktoken, spm_train/spm_encode), a deterministic mixed-language corpus, and rank-file builders.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace glm::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::filesystem::path& file);
void writeFile(const std::filesystem::path& file, std::string_view contents);

// Runs a shell command; returns its exit status, with stdout+stderr in `output`.
int runCommand(const std::string& command, std::string& output);
std::string shellQuote(const std::string& text);

// The GLM-4 / cl100k pre-tokenizer pattern, written out here independently of the engine.
extern const char* const kCl100kPattern;

// Empty if node and tests/node_modules/tiktoken are usable, else what is missing and how to fix it.
std::string checkNodeTiktoken();
// Encodes `text` with the tiktoken npm package (tiktoken_reference.js); `referenceArgs` selects the
// encoding ("--encoding cl100k_base" or "--ranks F --pattern-file P"). Fails the test on error.
std::vector<int32_t> tiktokenReferenceEncode(const std::string& referenceArgs, std::string_view text,
                                             const TempDir& dir);

// A deterministic corpus of at least `minBytes`: English, Chinese, code, emoji, whitespace runs,
// digits, odd-case contractions, CRLF, tabs and special-token look-alikes. Valid UTF-8.
std::string buildMixedCorpus(size_t minBytes, uint64_t seed = 1);

// cl100k_base's rank file ("<base64> <rank>" lines) rebuilt from tiktoken's encoders JSON.
std::string rebuildCl100kRankFile();

// A Hugging Face tokenizer.json with the same vocabulary as a tiktoken rank file: vocab strings in
// GPT-2's byte-to-unicode alphabet; for each multi-byte token, the pair that tiktoken's merge loop,
// limited to lower ranks, leaves (merges ordered by the token's rank); Split(pattern) + ByteLevel.
std::string tokenizerJsonFromRankFile(std::string_view rankFile, std::string_view pattern,
                                      const std::vector<std::string>& specials, bool ignoreMerges);

// `bytes` in GPT-2's byte-to-unicode alphabet (the spelling of byte-level vocab strings).
std::string gpt2ByteLevel(std::string_view bytes);

// sha256 of a file, through the sha256sum tool (independent of our code).
std::string sha256OfFile(const std::filesystem::path& file);

bool isValidUtf8(std::string_view text);

// Equality of two long id lists that, on failure, names the first differing position and shows
// a few ids around it instead of printing every id.
::testing::AssertionResult sameIds(const std::vector<int32_t>& actual, const std::vector<int32_t>& expected);

}  // namespace glm::test
