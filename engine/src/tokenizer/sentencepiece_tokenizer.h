// ChatGLM2/3's tokenizer.model: a SentencePiece model, through libsentencepiece. GLM's special
// tokens follow the pieces (ids GetPieceSize() + i).
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "glmengine/tokenizer.h"
#include "tokenizer/special_tokens.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace glm::tokenizer_detail {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `contents`: the serialized model. Specials: ChatGLM3's nine after the pieces, overridden
  // by `configured` (tokenizer_config.json) where given. Throws glm::Error naming `file` if SentencePiece
  // rejects the model.
  SentencePieceTokenizer(const std::filesystem::path& file, std::string_view contents,
                         const std::optional<std::vector<SpecialToken>>& configured);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids) const override;
  int32_t specialTokenId(std::string_view text) const override { return specials_.idOf(text); }
  bool isSpecial(int32_t id) const override;
  int32_t size() const override { return size_; }
  std::string_view kind() const override { return "sentencepiece"; }
  bool decodesPerToken() const override { return false; }

  int32_t pieceCount() const { return pieceCount_; }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  int32_t pieceCount_ = 0;
  SpecialTokenTable specials_;  // appended specials, and aliases such as "</s>" for SPM pieces
  int32_t size_ = 0;
};

}  // namespace glm::tokenizer_detail
