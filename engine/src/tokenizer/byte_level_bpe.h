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

// The byte-level BPE encoding shared by tokenizer.model (tiktoken) and tokenizer.json: split `text`
// with the splitters; per piece, take the whole piece when it is a token (if wholePieceFirst), else start
// from its single bytes and merge adjacent pairs as pairMerge(piece, left, right) says, lowest rank first.
template <typename PairMerge>
std::vector<int32_t> encodeByBytePairs(const std::vector<RegexSplitter>& splitters,
                                       const ByteLevelVocabulary& vocabulary, std::string_view text,
                                       bool wholePieceFirst, PairMerge&& pairMerge) {
  std::vector<std::string_view> pieces;
  splitWithAll(splitters, text, pieces);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3);
  BytePairMerger merger;
  std::vector<BpeSymbol> symbols;
  for (const std::string_view piece : pieces) {
    if (wholePieceFirst) {
      if (const int32_t whole = vocabulary.find(piece); whole >= 0) {
        ids.push_back(whole);
        continue;
      }
    }
    symbols.clear();
    for (uint32_t i = 0; i < piece.size(); ++i) {
      symbols.push_back({i, 1, vocabulary.byteId(static_cast<unsigned char>(piece[i]))});
    }
    merger.merge(symbols, [&](const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge> {
      return pairMerge(piece, left, right);
    });
    for (const BpeSymbol& s : symbols) ids.push_back(s.id);
  }
  return ids;
}

// Decodes ids with a byte-level vocabulary and specials; throws glm::Error naming `kind` for an
// id that is neither.
std::string decodeByteLevel(const ByteLevelVocabulary& vocabulary, const SpecialTokenTable& specials,
                            std::span<const int32_t> ids, std::string_view kind, int32_t size);

}  // namespace glm::tokenizer_detail
