#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm::tokenizer_detail {

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& file, std::string_view contents,
                                               const std::optional<std::vector<SpecialToken>>& configured)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->LoadFromSerializedProto(contents);
  if (!status.ok()) {
    throw Error(fmt::format("{}: not a tiktoken rank file, and SentencePiece cannot load it: {}", file.string(),
                            status.ToString()));
  }
  pieceCount_ = processor_->GetPieceSize();
  for (const std::string_view piece : {"<unk>", "<s>", "</s>"}) {
    const int id = processor_->PieceToId(piece);
    // PieceToId answers unk_id for unknown pieces, so only accept a real match.
    if (id >= 0 && processor_->IdToPiece(id) == piece) specials_.add(id, std::string(piece));
  }
  int32_t id = pieceCount_;
  for (const std::string_view text : kChatGlm3SpecialTokens) specials_.add(id++, std::string(text));
  if (configured) {
    for (const SpecialToken& token : *configured) specials_.replace(token.id, token.text);
  }
  size_ = std::max(pieceCount_, specials_.maxId() + 1);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

bool SentencePieceTokenizer::isSpecial(int32_t id) const {
  if (id >= 0 && id < pieceCount_) return processor_->IsControl(id);
  return specials_.textOf(id) != nullptr;
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  // SentencePiece never emits control pieces for text, and the appended specials are beyond its
  // pieces, so user text cannot produce a special token. Invalid UTF-8 is normalized by the
  // library (to U+FFFD pieces or byte fallback), not rejected.
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  if (!status.ok()) throw Error(fmt::format("sentencepiece tokenizer: encode failed: {}", status.ToString()));
  return {ids.begin(), ids.end()};
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids) const {
  // Runs of ordinary pieces decode through SentencePiece (which owns the '▁' and byte-fallback
  // rules); specials and control pieces render as their text between runs.
  std::string text;
  std::vector<int> run;
  const auto flushRun = [&] {
    if (run.empty()) return;
    std::string piece;
    const auto status = processor_->Decode(run, &piece);
    if (!status.ok()) throw Error(fmt::format("sentencepiece tokenizer: decode failed: {}", status.ToString()));
    text += piece;
    run.clear();
  };
  for (const int32_t id : ids) {
    if (id >= 0 && id < pieceCount_ && !processor_->IsControl(id)) {
      run.push_back(id);
      continue;
    }
    flushRun();
    if (id >= 0 && id < pieceCount_) {
      text += processor_->IdToPiece(id);
    } else if (const std::string* special = specials_.textOf(id)) {
      text += *special;
    } else {
      throw Error(fmt::format("sentencepiece tokenizer: cannot decode token id {}: not a token of this tokenizer "
                              "(ids 0..{})", id, size_ - 1));
    }
  }
  flushRun();
  return text;
}

}  // namespace glm::tokenizer_detail
