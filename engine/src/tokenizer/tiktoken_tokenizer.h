// GLM-4's tokenizer.model: tiktoken's text format, one line per token "<base64 bytes> <rank>".
#pragma once
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "glmengine/tokenizer.h"
#include "tokenizer/byte_level_bpe.h"
#include "tokenizer/regex_splitter.h"
#include "tokenizer/special_tokens.h"

namespace glm::tokenizer_detail {

// Whether `contents` looks like a tiktoken rank file rather than a binary SentencePiece protobuf:
// its start is plain ASCII text (a protobuf has control bytes in its first few bytes).
bool looksLikeTiktokenText(std::string_view contents);

class TiktokenTokenizer final : public Tokenizer {
 public:
  // `file` names the source in errors. Specials: the 14 GLM-4 specials right after the ranks,
  // overridden by `configured` (tokenizer_config.json) where given. Throws glm::Error naming the file
  // and line at fault.
  TiktokenTokenizer(const std::filesystem::path& file, std::string_view contents,
                    const std::optional<std::vector<SpecialToken>>& configured);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t specialTokenId(std::string_view text) const override { return specials_.idOf(text); }
  bool isSpecial(int32_t id) const override;
  int32_t size() const override { return size_; }
  std::string_view kind() const override { return "tiktoken"; }
  bool decodesPerToken() const override { return true; }

  int32_t rankCount() const { return rankCount_; }

 private:
  ByteLevelVocabulary vocabulary_;  // id == rank
  int32_t rankCount_ = 0;
  SpecialTokenTable specials_;
  int32_t size_ = 0;
  std::vector<RegexSplitter> splitters_;
};

}  // namespace glm::tokenizer_detail
