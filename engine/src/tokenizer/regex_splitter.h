// Pre-tokenization by regular expression (PCRE2, JIT, UTF + UCP), in Hugging Face's "Isolated"
// behaviour: every match is a piece, and so is every stretch of text between matches.
//
// Invalid UTF-8 in the text is matched with PCRE2_MATCH_INVALID_UTF: no pattern item can match an
// invalid byte, so such bytes land in the between-match stretches and become pieces of their own.
// Encoding therefore never fails on bad text and stays byte-exact (decode(encode(x)) == x). With
// the GLM-4 / cl100k / GPT-2 patterns every valid character is matched by some alternative, so
// for valid UTF-8 the stretches are always empty and the split equals tiktoken's.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace glm::tokenizer_detail {

// The GLM-4 pre-tokenizer (the cl100k_base pattern with \p{N}{1,3}).
inline constexpr std::string_view kGlm4Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// GPT-2's pattern, used by a tokenizer.json ByteLevel pre-tokenizer with use_regex true.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class RegexSplitter {
 public:
  // Throws glm::Error naming `origin` (the file that supplied the pattern) if it does not compile.
  RegexSplitter(std::string_view pattern, std::string_view origin);
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&&) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) noexcept;

  // Appends the pieces of `text` (views into it, none empty) to `pieces`. Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace glm::tokenizer_detail
