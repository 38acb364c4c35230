// Special tokens of the GLM family and the tokenizer_config.json that may name them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace glm::tokenizer_detail {

// GLM-4 appends these right after its ranks, in this order (ids N..N+13; N = 151329 for GLM-4).
inline constexpr std::string_view kGlm4SpecialTokens[] = {
    "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
    "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
    "<|begin_of_video|>", "<|end_of_video|>"};

// ChatGLM3 appends these after the SentencePiece pieces (ChatGLM2 only the first five).
inline constexpr std::string_view kChatGlm3SpecialTokens[] = {
    "[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>", "<|assistant|>",
    "<|observation|>"};

struct SpecialToken {
  int32_t id;
  std::string text;
};

// Special tokens by text and by id.
class SpecialTokenTable {
 public:
  void add(int32_t id, std::string text);
  // Like add, but first drops whatever the table had for this id or this text.
  void replace(int32_t id, std::string text);
  int32_t idOf(std::string_view text) const;              // -1 if absent
  const std::string* textOf(int32_t id) const;            // nullptr if absent
  int32_t maxId() const;                                  // -1 if empty
  size_t count() const { return byId_.size(); }

 private:
  std::unordered_map<std::string, int32_t> byText_;
  std::unordered_map<int32_t, std::string> byId_;
};

// The `added_tokens_decoder` ({"id": {"content": ...}}) of a tokenizer_config.json, sorted by id;
// nullopt if the file has no such field. Its entries override the family's default specials; a
// config that names only some tokens (e.g. just the stop tokens) leaves the others at their defaults. Throws glm::Error naming the file and field at fault.
std::optional<std::vector<SpecialToken>> readAddedTokensDecoder(const std::filesystem::path& configFile);

// The whole file; throws glm::Error naming it if it is missing, unreadable or empty.
std::string readTokenizerFile(const std::filesystem::path& file);

}  // namespace glm::tokenizer_detail
