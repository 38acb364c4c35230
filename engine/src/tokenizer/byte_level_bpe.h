// The part shared by the tiktoken and tokenizer.json tokenizers: a byte-level BPE vocabulary
// (token id <-> bytes) and the encode loop "split with regexes, then merge each piece".
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/byte_pair_merge.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/special_tokens.h"

namespace glm::tokenizer_detail {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using BytesToId = std::unordered_map<std::string, int32_t, TransparentStringHash, std::equal_to<>>;

class ByteLevelVocabulary {
 public:
  // Registers token `id` with raw `bytes`; returns false if the bytes were already registered.
  bool add(int32_t id, std::string bytes);
  // The id whose bytes are exactly `bytes`, or -1.
  int32_t find(std::string_view bytes) const;
  const std::string* bytesOf(int32_t id) const;
  int32_t byteId(unsigned char b) const { return byteIds_[b]; }
  // The first byte value without a single-byte token, or -1 when all 256 have one.
  int firstMissingByte() const;
  int32_t idLimit() const { return static_cast<int32_t>(bytesById_.size()); }

 private:
  BytesToId idByBytes_;
  std::vector<std::optional<std::string>> bytesById_;
  std::array<int32_t, 256> byteIds_ = [] { std::array<int32_t, 256> a; a.fill(-1); return a; }();
};

// Splits `text` with each splitter in turn (each refines the pieces of the previous one).
void splitWithAll(const std::vector<RegexSplitter>& splitters, std::string_view text,
                  std::vector<std::string_view>& pieces);

// Decodes ids with a byte-level vocabulary and specials; throws glm::Error naming `kind` for an
// id that is neither.
std::string decodeByteLevel(const ByteLevelVocabulary& vocabulary, const SpecialTokenTable& specials,
                            std::span<const int32_t> ids, std::string_view kind, int32_t size);

}  // namespace glm::tokenizer_detail
