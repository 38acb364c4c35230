#include "tokenizer/tiktoken_tokenizer.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {
namespace {

// Standard base64 (RFC 4648 alphabet, '=' padding required); nullopt if `text` is not that.
std::optional<std::string> decodeBase64(std::string_view text) {
  static const std::array<int8_t, 256> kValue = [] {
    std::array<int8_t, 256> v;
    v.fill(-1);
    const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < alphabet.size(); ++i) v[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return v;
  }();
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  if (text.ends_with("==")) padding = 2;
  else if (text.ends_with('=')) padding = 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const size_t pos = i + j;
      int8_t value = 0;
      if (pos >= text.size() - padding) {
        if (text[pos] != '=') return std::nullopt;
      } else {
        value = kValue[static_cast<unsigned char>(text[pos])];
        if (value < 0) return std::nullopt;
      }
      group = group << 6 | static_cast<uint32_t>(value);
    }
    out.push_back(static_cast<char>(group >> 16));
    out.push_back(static_cast<char>(group >> 8 & 0xFF));
    out.push_back(static_cast<char>(group & 0xFF));
  }
  out.resize(out.size() - padding);
  return out;
}

std::string_view shortened(std::string_view line) {
  return line.size() > 60 ? line.substr(0, 60) : line;
}

}  // namespace

bool looksLikeTiktokenText(std::string_view contents) {
  const std::string_view head = contents.substr(0, 4096);
  for (const char c : head) {
    const auto b = static_cast<unsigned char>(c);
    if (!(b == '\n' || b == '\r' || b == '\t' || (b >= 0x20 && b < 0x7F))) return false;
  }
  return true;
}

TiktokenTokenizer::TiktokenTokenizer(const std::filesystem::path& file, std::string_view contents,
                                     const std::optional<std::vector<SpecialToken>>& configured) {
  const std::string name = file.string();
  size_t lineNumber = 0;
  size_t pos = 0;
  while (pos < contents.size()) {
    size_t end = contents.find('\n', pos);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(pos, end - pos);
    pos = end + 1;
    ++lineNumber;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;  // tiktoken skips blank lines (a trailing newline makes one)

    const size_t space = line.find(' ');
    const std::string_view base64 = line.substr(0, space);
    const std::string_view rankText = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    int64_t rank = -1;
    const auto [rankEnd, rankError] = std::from_chars(rankText.data(), rankText.data() + rankText.size(), rank);
    if (space == std::string_view::npos || rankText.empty() || rankError != std::errc{} ||
        rankEnd != rankText.data() + rankText.size() || rank < 0 || rank > INT32_MAX) {
      throw Error(fmt::format("{}: line {}: expected \"<base64 bytes> <rank>\", found \"{}\"", name, lineNumber,
                              shortened(line)));
    }
    std::optional<std::string> bytes = decodeBase64(base64);
    if (!bytes) {
      throw Error(fmt::format("{}: line {}: \"{}\" is not valid base64", name, lineNumber, shortened(base64)));
    }
    if (rank != rankCount_) {
      throw Error(fmt::format("{}: line {}: {} rank {}: ranks must run 0,1,2,... and the next expected is {}",
                              name, lineNumber, rank < rankCount_ ? "duplicate" : "non-contiguous", rank,
                              rankCount_));
    }
    const int32_t existing = vocabulary_.find(*bytes);
    if (!vocabulary_.add(rankCount_, std::move(*bytes))) {
      throw Error(fmt::format("{}: line {}: token \"{}\" (rank {}) repeats the bytes of rank {}", name, lineNumber,
                              base64, rank, existing));
    }
    ++rankCount_;
  }
  if (rankCount_ == 0) throw Error(fmt::format("{}: no tokens: expected lines \"<base64 bytes> <rank>\"", name));
  // Byte-level BPE starts from single bytes, so every byte needs a token or some text can't encode.
  if (const int missing = vocabulary_.firstMissingByte(); missing >= 0) {
    throw Error(fmt::format("{}: byte 0x{:02X} has no token; a tiktoken vocabulary needs all 256 single bytes",
                            name, missing));
  }

  int32_t id = rankCount_;
  for (const std::string_view text : kGlm4SpecialTokens) specials_.add(id++, std::string(text));
  if (configured) {
    for (const SpecialToken& token : *configured) specials_.replace(token.id, token.text);
  }
  size_ = std::max(rankCount_, specials_.maxId() + 1);
  splitters_.emplace_back(kGlm4Pattern, name);
}

bool TiktokenTokenizer::isSpecial(int32_t id) const {
  return id >= rankCount_ && specials_.textOf(id) != nullptr;
}

std::vector<int32_t> TiktokenTokenizer::encode(std::string_view text) const {
  // tiktoken's rule: a pair merges with the rank of its concatenated bytes, lowest rank first.
  return encodeByBytePairs(splitters_, vocabulary_, text, true,
                           [&](std::string_view piece, const BpeSymbol& left, const BpeSymbol& right) -> std::optional<BpeMerge> {
                             const int32_t rank = vocabulary_.find(piece.substr(left.start, left.length + right.length));
                             if (rank < 0) return std::nullopt;
                             return BpeMerge{static_cast<uint32_t>(rank), rank};
                           });
}

std::string TiktokenTokenizer::decode(std::span<const int32_t> ids) const {
  return decodeByteLevel(vocabulary_, specials_, ids, kind(), size_);
}

}  // namespace glm::tokenizer_detail
