// tokenizer.json specifics on small hand-made files whose expected ids are worked out by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glmengine/error.h"
#include "glmengine/tokenizer.h"
#include "test_support.h"

namespace glm {
namespace {

using nlohmann::json;

// Ids 0..255: the single bytes in byte order; then `extra` tokens (raw bytes) from 256 on.
struct SmallVocab {
  std::vector<std::string> extra;
  int32_t id(std::string_view bytes) const {
    if (bytes.size() == 1) return static_cast<unsigned char>(bytes[0]);
    for (size_t i = 0; i < extra.size(); ++i) {
      if (extra[i] == bytes) return static_cast<int32_t>(256 + i);
    }
    return -1;
  }
};

json vocabJson(const SmallVocab& v) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[test::gpt2ByteLevel(std::string(1, static_cast<char>(b)))] = b;
  for (size_t i = 0; i < v.extra.size(); ++i) vocab[test::gpt2ByteLevel(v.extra[i])] = 256 + i;
  return vocab;
}

json byteLevelOnly() { return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}; }

std::unique_ptr<Tokenizer> load(const test::TempDir& dir, const json& doc, const char* name = "tokenizer.json") {
  test::writeFile(dir / name, doc.dump());
  return Tokenizer::loadFile(dir / name);
}

json document(const SmallVocab& v, json merges, bool ignoreMerges, json preTokenizer = byteLevelOnly()) {
  return {{"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", preTokenizer},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"ignore_merges", ignoreMerges}, {"vocab", vocabJson(v)}, {"merges", merges}}}};
}

TEST(HfTokenizer, MergePriorityFollowsMergeOrder) {
  test::TempDir dir;
  const SmallVocab v{{"lo", "ll"}};
  // "llo": the pairs are (l,l) and (l,o); whichever merge is listed first wins.
  const auto loFirst = load(dir, document(v, json::array({"l o", "l l"}), false));
  EXPECT_EQ(loFirst->encode("llo"), (std::vector<int32_t>{'l', v.id("lo")}));
  const auto llFirst = load(dir, document(v, json::array({"l l", "l o"}), false));
  EXPECT_EQ(llFirst->encode("llo"), (std::vector<int32_t>{v.id("ll"), 'o'}));
}

TEST(HfTokenizer, StringAndPairMergeSyntaxesAreEquivalent) {
  test::TempDir dir;
  const SmallVocab v{{"he", "ll", "hell", "hello", " w", " wo"}};
  const auto asStrings = load(dir, document(v, json::array({"h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"}), false));
  const auto asPairs = load(dir, document(v, json::array({json::array({"h", "e"}), json::array({"l", "l"}),
                                                          json::array({"he", "ll"}), json::array({"hell", "o"}),
                                                          json::array({"Ġ", "w"}), json::array({"Ġw", "o"})}),
                                          false));
  // "hello world" splits (GPT-2 pattern) into "hello" and " world"; " world" = Ġwo r l d.
  const std::vector<int32_t> expected = {v.id("hello"), v.id(" wo"), 'r', 'l', 'd'};
  EXPECT_EQ(asStrings->encode("hello world"), expected);
  EXPECT_EQ(asPairs->encode("hello world"), expected);
  EXPECT_EQ(asPairs->decode(expected), "hello world");
}

TEST(HfTokenizer, IgnoreMergesTakesWholePieceFromVocab) {
  test::TempDir dir;
  // "abc" is in the vocab but no merge builds it from "ab" + "c".
  const SmallVocab v{{"ab", "abc"}};
  EXPECT_EQ(load(dir, document(v, json::array({"a b"}), true))->encode("abc"), (std::vector<int32_t>{v.id("abc")}));
  EXPECT_EQ(load(dir, document(v, json::array({"a b"}), false))->encode("abc"),
            (std::vector<int32_t>{v.id("ab"), 'c'}));
}

TEST(HfTokenizer, SplitRegexIsolatesPiecesBeforeBpe) {
  test::TempDir dir;
  const SmallVocab v{{"12", "123", "23"}};
  const json merges = json::array({"1 2", "12 3", "2 3"});
  const json split = {{"type", "Sequence"},
                      {"pretokenizers",
                       {{{"type", "Split"}, {"pattern", {{"Regex", test::kCl100kPattern}}}, {"behavior", "Isolated"}},
                        {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  // GLM-4's \p{N}{1,3} cuts "1223" into "122" + "3", so "23" cannot form; GPT-2's \p{N}+ keeps it whole.
  EXPECT_EQ(load(dir, document(v, merges, false, split))->encode("1223"),
            (std::vector<int32_t>{v.id("12"), '2', '3'}));
  EXPECT_EQ(load(dir, document(v, merges, false))->encode("1223"), (std::vector<int32_t>{v.id("12"), v.id("23")}));
}

TEST(HfTokenizer, AddedTokensAreNamedButNeverMatchedInText) {
  test::TempDir dir;
  json doc = document(SmallVocab{}, json::array(), false);
  doc["added_tokens"] = json::array({{{"id", 256}, {"content", "<|user|>"}, {"special", true}},
                                     {{"id", 257}, {"content", "<tool>"}, {"special", false}}});
  const auto tokenizer = load(dir, doc);
  EXPECT_EQ(tokenizer->size(), 258);
  EXPECT_EQ(tokenizer->specialTokenId("<|user|>"), 256);
  EXPECT_TRUE(tokenizer->isSpecial(256));
  EXPECT_FALSE(tokenizer->isSpecial(257));
  const std::vector<int32_t> ids = tokenizer->encode("<|user|><tool>");
  EXPECT_EQ(ids.size(), 14u);  // every byte on its own: there are no merges
  for (const int32_t id : ids) EXPECT_LT(id, 256);
  const std::vector<int32_t> added = {256, 257};
  EXPECT_EQ(tokenizer->decode(added), "<|user|><tool>");
}

TEST(HfTokenizer, UnsupportedPreTokenizerIsAnErrorNamingTheField) {
  test::TempDir dir;
  const json doc = document(SmallVocab{}, json::array(), false, {{"type", "Whitespace"}});
  try {
    load(dir, doc);
    FAIL() << "expected glm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Whitespace"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace glm
