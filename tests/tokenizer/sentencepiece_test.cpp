// SentencePiece (ChatGLM2/3) against the spm_encode / spm_decode tools, on models trained here.
#include <gtest/gtest.h>

#include <sentencepiece_processor.h>

#include <sstream>

#include "glmengine/tokenizer.h"
#include "test_support.h"

namespace glm {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kLines = {
    "Hello world, this is a test of the tokenizer.",
    "I'll say it's fine; DON'T worry about 12345 or 3.14159.",
    "今天天气很好，我们一起去公园散步吧。",
    "人工智能助手可以回答问题、写代码、翻译文章。",
    "Emoji 😀👍🏽🇨🇳 and a rare character: 龘",
    "  leading spaces, and   runs   of   spaces  ",
    "mixed 中文 and English 混合 text 123",
    "def f(x):\treturn x * 2  # tab inside",
    "<|user|> hi <|assistant|> [gMASK] sop",
};

std::vector<int32_t> parseIds(const std::string& line) {
  std::istringstream in(line);
  std::vector<int32_t> ids;
  int32_t id = 0;
  while (in >> id) ids.push_back(id);
  return ids;
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

class SentencePieceModels : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    // Training text: the mixed corpus, one sentence per line (SentencePiece reads lines).
    std::string corpus = test::buildMixedCorpus(300 * 1024, 3);
    for (char& c : corpus) {
      if (c == '\r') c = '\n';
    }
    test::writeFile(*dir_ / "corpus.txt", corpus);
    for (const char* type : {"unigram", "bpe"}) {
      const std::string command = "spm_train --input=" + test::shellQuote((*dir_ / "corpus.txt").string()) +
                                  " --model_prefix=" + test::shellQuote((*dir_ / type).string()) +
                                  " --model_type=" + type +
                                  " --vocab_size=800 --byte_fallback=true --hard_vocab_limit=false"
                                  " --character_coverage=0.9995 --minloglevel=2";
      std::string output;
      trainStatus_ += test::runCommand(command, output) == 0 ? "" : command + "\n" + output;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(trainStatus_.empty()) << "spm_train failed: " << trainStatus_; }
  fs::path modelFile() const { return *dir_ / (std::string(GetParam()) + ".model"); }

  static inline test::TempDir* dir_ = nullptr;
  static inline std::string trainStatus_;
};

TEST_P(SentencePieceModels, EncodeMatchesSpmEncode) {
  test::writeFile(*dir_ / "lines.txt", [] {
    std::string s;
    for (const auto& line : kLines) s += line + "\n";
    return s;
  }());
  std::string output;
  ASSERT_EQ(test::runCommand("spm_encode --model=" + test::shellQuote(modelFile().string()) +
                                 " --output_format=id < " + test::shellQuote((*dir_ / "lines.txt").string()),
                             output),
            0)
      << output;
  const std::vector<std::string> expected = splitLines(output);
  ASSERT_EQ(expected.size(), kLines.size()) << output;
  const auto tokenizer = Tokenizer::loadFile(modelFile());
  ASSERT_EQ(tokenizer->kind(), "sentencepiece");
  size_t compared = 0;
  for (size_t i = 0; i < kLines.size(); ++i) {
    const std::vector<int32_t> reference = parseIds(expected[i]);
    EXPECT_FALSE(reference.empty());
    EXPECT_EQ(tokenizer->encode(kLines[i]), reference) << kLines[i];
    compared += reference.size();
  }
  std::cout << "  " << GetParam() << ": " << tokenizer->size() << " ids (with specials), " << kLines.size()
            << " lines, " << compared << " ids equal to spm_encode\n";
}

TEST_P(SentencePieceModels, DecodeMatchesSpmDecode) {
  const auto tokenizer = Tokenizer::loadFile(modelFile());
  std::string idLines;
  std::vector<std::vector<int32_t>> encoded;
  for (const auto& line : kLines) {
    encoded.push_back(tokenizer->encode(line));
    for (const int32_t id : encoded.back()) idLines += std::to_string(id) + " ";
    idLines += "\n";
  }
  test::writeFile(*dir_ / "ids.txt", idLines);
  std::string output;
  ASSERT_EQ(test::runCommand("spm_decode --model=" + test::shellQuote(modelFile().string()) +
                                 " --input_format=id < " + test::shellQuote((*dir_ / "ids.txt").string()),
                             output),
            0)
      << output;
  const std::vector<std::string> expected = splitLines(output);
  ASSERT_EQ(expected.size(), kLines.size()) << output;
  for (size_t i = 0; i < kLines.size(); ++i) EXPECT_EQ(tokenizer->decode(encoded[i]), expected[i]);
  // Byte fallback restores characters the model never saw.
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("😀龘")), "😀龘");
}

TEST_P(SentencePieceModels, SpecialsFollowThePiecesAndNeverComeFromText) {
  sentencepiece::SentencePieceProcessor processor;
  ASSERT_TRUE(processor.Load(modelFile().string()).ok());
  const int32_t pieces = processor.GetPieceSize();
  const auto tokenizer = Tokenizer::loadFile(modelFile());
  const char* chatGlm3[] = {"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>",
                            "<|assistant|>", "<|observation|>"};
  for (int32_t i = 0; i < 9; ++i) {
    EXPECT_EQ(tokenizer->specialTokenId(chatGlm3[i]), pieces + i) << chatGlm3[i];
    EXPECT_TRUE(tokenizer->isSpecial(pieces + i));
  }
  EXPECT_EQ(tokenizer->size(), pieces + 9);
  EXPECT_EQ(tokenizer->specialTokenId("<unk>"), processor.unk_id());
  EXPECT_EQ(tokenizer->specialTokenId("<s>"), processor.bos_id());
  EXPECT_EQ(tokenizer->specialTokenId("</s>"), processor.eos_id());
  EXPECT_FALSE(tokenizer->decodesPerToken());
  for (const int32_t id : tokenizer->encode("<|user|>[gMASK]sop</s><s>")) {
    EXPECT_LT(id, pieces);
    EXPECT_FALSE(tokenizer->isSpecial(id)) << id;
  }
  const std::vector<int32_t> prompt = {pieces + 1, pieces + 3, pieces + 6};
  EXPECT_EQ(tokenizer->decode(prompt), "[gMASK]sop<|user|>");
}

TEST_P(SentencePieceModels, StreamingMatchesWholeDecode) {
  const auto tokenizer = Tokenizer::loadFile(modelFile());
  const std::string text = "Hello 世界! 😀👍🏽 spaces   here 龘 end";
  const std::vector<int32_t> ids = tokenizer->encode(text);
  StreamingDecoder decoder(*tokenizer);
  std::string streamed;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(test::isValidUtf8(piece));
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "a byte-fallback character leaked as U+FFFD";
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, tokenizer->decode(ids));
  EXPECT_NE(streamed.find("😀👍🏽"), std::string::npos) << streamed;
}

TEST_P(SentencePieceModels, ConfigBesideTheModelNamesTheSpecials) {
  test::TempDir dir;
  fs::copy_file(modelFile(), dir / "tokenizer.model");
  test::writeFile(dir / "tokenizer_config.json",
                  R"({"added_tokens_decoder": {"2": {"content": "</s>"}, "900": {"content": "[gMASK]"},
                      "901": {"content": "sop"}}})");
  const auto tokenizer = Tokenizer::loadFromModelDir(dir.path());
  EXPECT_EQ(tokenizer->specialTokenId("[gMASK]"), 900);
  EXPECT_EQ(tokenizer->specialTokenId("sop"), 901);
  EXPECT_EQ(tokenizer->specialTokenId("</s>"), 2);
  // Not named by the config: stays at its ChatGLM3 place after the pieces.
  sentencepiece::SentencePieceProcessor processor;
  ASSERT_TRUE(processor.Load(modelFile().string()).ok());
  EXPECT_EQ(tokenizer->specialTokenId("<|user|>"), processor.GetPieceSize() + 6);
  EXPECT_EQ(tokenizer->size(), 902);
}

TEST_P(SentencePieceModels, InvalidUtf8DoesNotCrash) {
  const auto tokenizer = Tokenizer::loadFile(modelFile());
  const std::vector<int32_t> ids = tokenizer->encode("ok \xff\xfe mid\xE4\xBD end \xC0\xAF");
  EXPECT_FALSE(ids.empty());
  for (const int32_t id : ids) EXPECT_FALSE(tokenizer->isSpecial(id));
  EXPECT_NE(tokenizer->decode(ids).find("end"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Trained, SentencePieceModels, ::testing::Values("unigram", "bpe"));

}  // namespace
}  // namespace glm
