// Tokenizer::loadFromModelDir / loadFile: picks the format of a tokenizer file by name and content.
#include <fmt/format.h>

#include "glmengine/error.h"
#include "glmengine/tokenizer.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tiktoken_tokenizer.h"

namespace glm {
namespace {

namespace fs = std::filesystem;
using namespace tokenizer_detail;

// tokenizer.model is tiktoken text (GLM-4) or a SentencePiece protobuf (ChatGLM2/3). Special
// token ids come from a tokenizer_config.json beside it, when it has added_tokens_decoder.
std::unique_ptr<Tokenizer> loadModelFile(const fs::path& file) {
  const std::string contents = readTokenizerFile(file);
  std::optional<std::vector<SpecialToken>> configured;
  const fs::path config = file.parent_path() / "tokenizer_config.json";
  std::error_code ignored;
  if (fs::is_regular_file(config, ignored)) configured = readAddedTokensDecoder(config);
  if (looksLikeTiktokenText(contents)) return std::make_unique<TiktokenTokenizer>(file, contents, configured);
  return std::make_unique<SentencePieceTokenizer>(file, contents, configured);
}

std::unique_ptr<Tokenizer> loadJsonFile(const fs::path& file) {
  return std::make_unique<HfTokenizer>(file, readTokenizerFile(file));
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::loadFromModelDir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: not a model folder (no such directory)", dir.string()));
  // tokenizer.json is preferred: where both exist (GLM-4-0414 ships both), it is the maintained one.
  if (fs::exists(dir / "tokenizer.json", ec)) return loadJsonFile(dir / "tokenizer.json");
  if (fs::exists(dir / "tokenizer.model", ec)) return loadModelFile(dir / "tokenizer.model");
  throw Error(fmt::format("{}: no tokenizer.json or tokenizer.model in the model folder", dir.string()));
}

std::unique_ptr<Tokenizer> Tokenizer::loadFile(const fs::path& file) {
  if (file.extension() == ".json") return loadJsonFile(file);
  return loadModelFile(file);
}

}  // namespace glm
