// UTF-8 helpers for streaming decode and for reading tokenizer files.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace glm::tokenizer_detail {

// Length of the trailing bytes of `bytes` that begin a UTF-8 character but do not finish it yet
// (0..3). Such a tail may still become valid when more bytes arrive; anything else cannot.
size_t incompleteUtf8TailLength(std::string_view bytes);

// `bytes` with every byte that is not part of a well-formed UTF-8 character replaced by U+FFFD.
std::string replaceInvalidUtf8(std::string_view bytes);

// Number of trailing U+FFFD characters (3 bytes each) at the end of `text`.
size_t trailingReplacementCharacters(std::string_view text);

}  // namespace glm::tokenizer_detail
