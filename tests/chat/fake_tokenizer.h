// A tokenizer for chat-format tests that needs no files: every UTF-8 byte is its own id (0..255)
// and the special tokens follow from 256 in the order given. It records each encode() input, so a
// test can check how a format splits its text into encode calls.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "glmengine/tokenizer.h"

namespace glm::test {

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kFirstSpecial = 256;

  explicit ByteTokenizer(std::vector<std::string> specials) : specials_(std::move(specials)) {}

  // GLM-4's specials in their real order: <|endoftext|>=256, [MASK]=257, [gMASK]=258, [sMASK]=259,
  // <sop>=260, <eop>=261, <|system|>=262, <|user|>=263, <|assistant|>=264, <|observation|>=265.
  static ByteTokenizer glm4() {
    return ByteTokenizer({"<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                          "<|assistant|>", "<|observation|>"});
  }
  // ChatGLM3's: [MASK]=256, [gMASK]=257, [sMASK]=258, sop=259, eop=260, <|system|>=261,
  // <|user|>=262, <|assistant|>=263, <|observation|>=264.
  static ByteTokenizer chatglm3() {
    return ByteTokenizer({"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>", "<|assistant|>",
                          "<|observation|>"});
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    encodeCalls.emplace_back(text);
    std::vector<int32_t> ids;
    for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
    return ids;
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::string text;
    for (const int32_t id : ids) {
      if (id < kFirstSpecial) {
        text += static_cast<char>(id);
      } else {
        text += specials_.at(static_cast<size_t>(id - kFirstSpecial));
      }
    }
    return text;
  }

  int32_t specialTokenId(std::string_view text) const override {
    for (size_t i = 0; i < specials_.size(); ++i) {
      if (specials_[i] == text) return kFirstSpecial + static_cast<int32_t>(i);
    }
    return -1;
  }
  bool isSpecial(int32_t id) const override { return id >= kFirstSpecial; }
  int32_t size() const override { return kFirstSpecial + static_cast<int32_t>(specials_.size()); }
  std::string_view kind() const override { return "byte-test"; }
  bool decodesPerToken() const override { return true; }

  mutable std::vector<std::string> encodeCalls;

 private:
  std::vector<std::string> specials_;
};

// The ids of `text` under ByteTokenizer: one id per byte.
inline std::vector<int32_t> bytes(std::string_view text) {
  std::vector<int32_t> ids;
  for (const char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

// Concatenation helper for building expected id sequences by hand.
inline std::vector<int32_t>& operator<<(std::vector<int32_t>& ids, const std::vector<int32_t>& more) {
  ids.insert(ids.end(), more.begin(), more.end());
  return ids;
}
inline std::vector<int32_t>& operator<<(std::vector<int32_t>& ids, int32_t id) {
  ids.push_back(id);
  return ids;
}

}  // namespace glm::test
