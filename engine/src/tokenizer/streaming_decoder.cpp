#include <algorithm>

#include "glmengine/tokenizer.h"
#include "tokenizer/utf8.h"

namespace glm {

using tokenizer_detail::incompleteUtf8TailLength;
using tokenizer_detail::replaceInvalidUtf8;
using tokenizer_detail::trailingReplacementCharacters;

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

std::string StreamingDecoder::push(int32_t id) {
  if (tokenizer_.decodesPerToken()) {
    // Byte-level BPE: a token's bytes never change, so append them and release all but an
    // unfinished character at the end. Bytes that can never form a character become U+FFFD.
    pending_ += tokenizer_.decode(std::span(&id, 1));
    const size_t held = incompleteUtf8TailLength(pending_);
    std::string ready = replaceInvalidUtf8(std::string_view(pending_).substr(0, pending_.size() - held));
    pending_.erase(0, pending_.size() - held);
    return ready;
  }
  // SentencePiece: a piece's text depends on its neighbours ('▁' at the start, byte-fallback
  // pieces that only form a character together, shown as U+FFFD until complete), so decode all ids
  // and release the new suffix, holding back trailing U+FFFD that a later byte may complete.
  ids_.push_back(id);
  const std::string text = tokenizer_.decode(ids_);
  size_t stableLength = text.size() - 3 * trailingReplacementCharacters(text);
  stableLength -= incompleteUtf8TailLength(std::string_view(text).substr(0, stableLength));
  if (stableLength <= emitted_.size()) return {};
  // Earlier text never changes when ids are appended, except for the held-back characters above.
  std::string ready = text.substr(emitted_.size(), stableLength - emitted_.size());
  emitted_ = text.substr(0, stableLength);
  return replaceInvalidUtf8(ready);
}

std::string StreamingDecoder::flush() {
  std::string rest;
  if (tokenizer_.decodesPerToken()) {
    rest = replaceInvalidUtf8(pending_);
  } else if (!ids_.empty()) {
    const std::string text = tokenizer_.decode(ids_);
    if (text.size() > emitted_.size()) rest = replaceInvalidUtf8(std::string_view(text).substr(emitted_.size()));
  }
  reset();
  return rest;
}

void StreamingDecoder::reset() {
  ids_.clear();
  emitted_.clear();
  pending_.clear();
}

}  // namespace glm
