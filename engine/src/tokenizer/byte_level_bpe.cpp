#include "tokenizer/byte_level_bpe.h"

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {

bool ByteLevelVocabulary::add(int32_t id, std::string bytes) {
  if (!idByBytes_.emplace(bytes, id).second) return false;
  if (bytes.size() == 1) byteIds_[static_cast<unsigned char>(bytes[0])] = id;
  if (static_cast<size_t>(id) >= bytesById_.size()) bytesById_.resize(static_cast<size_t>(id) + 1);
  bytesById_[static_cast<size_t>(id)] = std::move(bytes);
  return true;
}

int32_t ByteLevelVocabulary::find(std::string_view bytes) const {
  const auto it = idByBytes_.find(bytes);
  return it == idByBytes_.end() ? -1 : it->second;
}

const std::string* ByteLevelVocabulary::bytesOf(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= bytesById_.size() || !bytesById_[static_cast<size_t>(id)]) return nullptr;
  return &*bytesById_[static_cast<size_t>(id)];
}

int ByteLevelVocabulary::firstMissingByte() const {
  for (int b = 0; b < 256; ++b) {
    if (byteIds_[static_cast<size_t>(b)] < 0) return b;
  }
  return -1;
}

void splitWithAll(const std::vector<RegexSplitter>& splitters, std::string_view text,
                  std::vector<std::string_view>& pieces) {
  pieces.clear();
  if (text.empty()) return;
  pieces.push_back(text);
  std::vector<std::string_view> refined;
  for (const RegexSplitter& splitter : splitters) {
    refined.clear();
    for (std::string_view piece : pieces) splitter.split(piece, refined);
    pieces.swap(refined);
  }
}

std::string decodeByteLevel(const ByteLevelVocabulary& vocabulary, const SpecialTokenTable& specials,
                            std::span<const int32_t> ids, std::string_view kind, int32_t size) {
  std::string text;
  for (const int32_t id : ids) {
    if (const std::string* bytes = vocabulary.bytesOf(id)) {
      text += *bytes;
    } else if (const std::string* special = specials.textOf(id)) {
      text += *special;
    } else {
      throw Error(fmt::format("{} tokenizer: cannot decode token id {}: not a token of this tokenizer "
                              "(ids 0..{})", kind, id, size - 1));
    }
  }
  return text;
}

}  // namespace glm::tokenizer_detail
