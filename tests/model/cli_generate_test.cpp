// `run` and `chat` on the tiny fixture model with its tiktoken tokenizer: streaming output, the KV
// cache reused across chat turns, reproducible seeds, padding ids never sampled.
#include <gtest/gtest.h>

#include <regex>

#include "test_util.h"

using namespace glmtest;

namespace {

std::string tinyModel() { return quote((fixturesDir() / "chatglm-f16").string()); }

}  // namespace

TEST(CliGenerate, ChatReusesTheKvCacheOnTheSecondTurn) {
  const auto r = runCommand("printf 'Hello there\\nAnd again\\n/exit\\n' | " + quote(GLM_CLI_PATH) + " chat -q -m " +
                            tinyModel() + " --greedy -n 6 --stats");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  std::regex stats(R"(\[prefill (\d+) tokens \((\d+) reused\))");
  std::vector<std::pair<int, int>> turns;
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), stats); it != std::sregex_iterator(); ++it)
    turns.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
  ASSERT_EQ(turns.size(), 2u) << r.output;
  EXPECT_EQ(turns[0].second, 0);
  // The second prompt starts with the first one, so at least all of it comes from the cache (with a
  // real model the reply's tokens usually match too; a random model's reply may re-tokenize differently).
  EXPECT_GE(turns[1].second, turns[0].first) << r.output;
  EXPECT_GT(turns[1].first, 0) << r.output;
}

TEST(CliGenerate, SameSeedSameReply) {
  const std::string cmd = quote(GLM_CLI_PATH) + " run -q -m " + tinyModel() + " -p '你好, who are you?' -n 24 --temp 1 --seed 7";
  const auto a = runCommand(cmd), b = runCommand(cmd);
  ASSERT_EQ(a.exitCode, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_FALSE(a.output.empty());
  const auto c = runCommand(quote(GLM_CLI_PATH) + " run -q -m " + tinyModel() + " -p '你好, who are you?' -n 24 --temp 1 --seed 8");
  EXPECT_NE(a.output, c.output);
}

TEST(CliGenerate, HotSamplingNeverPicksPaddingIds) {
  // The tiny tokenizer has 1014 ids, the model 1024 rows: ids 1014..1023 are padding that the tokenizer
  // cannot decode. At this temperature the distribution is nearly flat: each run would pick one of the
  // 10 padding ids before one of the 3 stop ids with probability ~10/13 if padding were allowed.
  for (int seed = 1; seed <= 10; ++seed) {
    const auto r = runCommand(quote(GLM_CLI_PATH) + " run -q -m " + tinyModel() +
                              " -p 'x' -n 300 --temp 50 --top-p 1 --seed " + std::to_string(seed));
    EXPECT_EQ(r.exitCode, 0) << r.output;
  }
}

TEST(CliGenerate, RunWithoutTokenizerSaysSo) {
  const auto r = runCommand(quote(GLM_CLI_PATH) + " run -q -m " + quote((fixturesDir() / "glm4-f32-sharded").string()) + " -p hi");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.output.find("no tokenizer"), std::string::npos) << r.output;
}

TEST(CliTokenize, JsonIdsOfTinyTokenizerKeepSpecialTextPlain) {
  const auto r = runCommand(quote(GLM_CLI_PATH) + " tokenize --tokenizer " +
                            quote((std::filesystem::path(GLM_TEST_DATA) / "tiny-tokenizer/tokenizer.model").string()) +
                            " -p '<|user|>' --json");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_EQ(r.output.find("1007"), std::string::npos) << r.output;  // <|user|>'s special id
  EXPECT_NE(r.output.find("\"ids\""), std::string::npos) << r.output;
}
