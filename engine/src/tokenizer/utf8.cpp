#include "tokenizer/utf8.h"

namespace glm::tokenizer_detail {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

bool isContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Bytes of a character starting with `lead`, or 0 if `lead` cannot start one (RFC 3629).
size_t sequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `second` may follow `lead`: excludes overlong forms, surrogates and code points > U+10FFFF.
bool validSecondByte(unsigned char lead, unsigned char second) {
  if (!isContinuation(second)) return false;
  if (lead == 0xE0) return second >= 0xA0;
  if (lead == 0xED) return second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90;
  if (lead == 0xF4) return second <= 0x8F;
  return true;
}

// Length of the valid prefix of the character starting at bytes[pos] (may be shorter than needed
// only at the end of the input), or 0 if bytes[pos] starts no valid character.
size_t validPrefixLength(std::string_view bytes, size_t pos, size_t& needed) {
  const auto lead = static_cast<unsigned char>(bytes[pos]);
  needed = sequenceLength(lead);
  if (needed == 0) return 0;
  size_t length = 1;
  while (length < needed && pos + length < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[pos + length]);
    const bool ok = length == 1 ? validSecondByte(lead, b) : isContinuation(b);
    if (!ok) return 0;
    ++length;
  }
  return length;
}

}  // namespace

size_t incompleteUtf8TailLength(std::string_view bytes) {
  // A character is at most 4 bytes, so only the last 3 bytes can start an unfinished one.
  const size_t first = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t pos = first; pos < bytes.size(); ++pos) {
    size_t needed = 0;
    const size_t length = validPrefixLength(bytes, pos, needed);
    if (length > 0 && length < needed && pos + length == bytes.size()) return length;
  }
  return 0;
}

std::string replaceInvalidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t needed = 0;
    const size_t length = validPrefixLength(bytes, pos, needed);
    if (length > 0 && length == needed) {
      out.append(bytes.substr(pos, length));
      pos += length;
    } else {
      out.append(kReplacementCharacter);
      pos += length > 0 ? length : 1;  // a broken sequence's valid prefix becomes one U+FFFD
    }
  }
  return out;
}

size_t trailingReplacementCharacters(std::string_view text) {
  size_t count = 0;
  while (text.size() >= kReplacementCharacter.size() && text.ends_with(kReplacementCharacter)) {
    text.remove_suffix(kReplacementCharacter.size());
    ++count;
  }
  return count;
}

}  // namespace glm::tokenizer_detail
