// Tokenizers of the GLM family: GLM-4's tiktoken-format tokenizer.model, Hugging Face tokenizer.json
// (byte-level BPE), and SentencePiece tokenizer.model (ChatGLM2/3, through libsentencepiece).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes plain text. Never produces special-token ids: "<|user|>" in the text is ordinary text.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Decodes ids to UTF-8 text; special tokens render as their literal text (e.g. "<|user|>").
  // Invalid UTF-8 produced by a split multi-byte character is kept as bytes (decode is exact).
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  // The id of a special token by its text ("[gMASK]", "<sop>", "<|user|>", "sop" for ChatGLM3...),
  // or -1 if this tokenizer has no such token.
  virtual int32_t specialTokenId(std::string_view text) const = 0;
  virtual bool isSpecial(int32_t id) const = 0;

  // Number of ids the tokenizer can produce (ranks + specials); may be below the model's vocab.
  virtual int32_t size() const = 0;

  // "tiktoken", "tokenizer.json" or "sentencepiece".
  virtual std::string_view kind() const = 0;

  // True if decode(a ++ b) == decode(a) + decode(b) for all id sequences (byte-level BPE);
  // false for SentencePiece (leading-space handling), which the streaming decoder must know.
  virtual bool decodesPerToken() const = 0;

  // Loads the tokenizer of a model folder: tokenizer.json if present, else tokenizer.model
  // (tiktoken text or SentencePiece protobuf, detected by content). tokenizer_config.json, where
  // present, names the special tokens and their ids. Throws glm::Error naming the file at fault.
  static std::unique_ptr<Tokenizer> loadFromModelDir(const std::filesystem::path& dir);
  // Loads one tokenizer file given alone (tokenizer.model or tokenizer.json).
  static std::unique_ptr<Tokenizer> loadFile(const std::filesystem::path& file);
};

// Turns a stream of ids into text pieces that never split a UTF-8 character: bytes of an
// incomplete character are held back until the character is complete (or flush() is called).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer);
  std::string push(int32_t id);  // text that became final with this id (may be empty)
  std::string flush();           // whatever is held back (invalid bytes become U+FFFD)
  void reset();

 private:
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;   // used when the tokenizer does not decode per token
  std::string emitted_;        // text already returned (non-per-token tokenizers)
  std::string pending_;        // bytes of an incomplete UTF-8 sequence
};

}  // namespace glm
