// Hugging Face tokenizer.json with a byte-level BPE model (glm-4-9b-chat-hf, GLM-4-0414): vocab
// strings in GPT-2's byte-to-unicode alphabet, merges ranked by position, added_tokens.
#pragma once
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "glmengine/tokenizer.h"
#include "tokenizer/byte_level_bpe.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/special_tokens.h"

namespace glm::tokenizer_detail {

// GPT-2's reversible byte <-> printable-character map used by byte-level vocab strings.
// Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves (as code points); the other 68
// bytes take code points 256, 257, ... in byte order (so ' ' is U+0120 'Ġ').
char32_t byteToUnicode(unsigned char b);
// The byte a byte-level character stands for, or -1 if the code point is not in the alphabet.
int unicodeToByte(char32_t codePoint);

class HfTokenizer final : public Tokenizer {
 public:
  // Parses a tokenizer.json (`contents`); throws glm::Error naming `file` and the field at fault.
  HfTokenizer(const std::filesystem::path& file, std::string_view contents);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t specialTokenId(std::string_view text) const override { return specials_.idOf(text); }
  bool isSpecial(int32_t id) const override { return specials_.textOf(id) != nullptr; }
  int32_t size() const override { return size_; }
  std::string_view kind() const override { return "tokenizer.json"; }
  bool decodesPerToken() const override { return true; }

 private:
  struct MergeRule {
    uint32_t rank;
    int32_t merged;
  };
  static uint64_t pairKey(int32_t left, int32_t right) {
    return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
  }

  ByteLevelVocabulary vocabulary_;
  std::unordered_map<uint64_t, MergeRule> merges_;
  bool ignoreMerges_ = false;    // a piece that is itself a token is taken whole (tiktoken's rule)
  bool addPrefixSpace_ = false;  // ByteLevel add_prefix_space: text not starting with ' ' gets one
  std::vector<RegexSplitter> splitters_;
  SpecialTokenTable specials_;     // added tokens with "special": true
  SpecialTokenTable addedPlain_;   // other added tokens: decoded, not matched in text
  int32_t size_ = 0;
};

}  // namespace glm::tokenizer_detail
