// Bad input through the CLI: a clear message naming the file or field, exit code 1, never a crash.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fs = std::filesystem;
using namespace glmtest;

namespace {

ProcessResult cli(const std::string& args) { return runCommand(quote(GLM_CLI_PATH) + " " + args); }

fs::path copyFixture(const std::string& name, const std::string& tag) {
  const fs::path dst = makeTempDir(tag) / name;
  fs::copy(fixturesDir() / name, dst, fs::copy_options::recursive);
  return dst;
}

void expectError(const ProcessResult& r, const std::string& mustContain) {
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(mustContain), std::string::npos) << "expected '" << mustContain << "' in: " << r.output;
}

}  // namespace

TEST(CliErrors, MissingConfig) {
  const fs::path dir = copyFixture("glm-bf16", "noconfig");
  fs::remove(dir / "config.json");
  expectError(cli("info -m " + quote(dir.string())), "config.json");
  expectError(cli("logits -q -m " + quote(dir.string()) + " -i /dev/null"), "");
  fs::remove_all(dir.parent_path());
}

TEST(CliErrors, TruncatedSafetensorsNamesTheFile) {
  const fs::path dir = copyFixture("glm-bf16", "trunc");
  fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") / 2);
  const fs::path ids = dir / "ids.txt";
  std::ofstream(ids) << "1 2 3\n";
  expectError(cli("logits -q -m " + quote(dir.string()) + " -i " + quote(ids.string())), "model.safetensors");
  fs::remove_all(dir.parent_path());
}

TEST(CliErrors, PickleOnlyModelIsRefused) {
  const fs::path dir = copyFixture("glm-bf16", "pickle");
  fs::remove(dir / "model.safetensors");
  fs::remove(dir / "expected.safetensors");
  std::ofstream(dir / "pytorch_model.bin") << "\x80\x02not really a pickle";
  const fs::path ids = dir / "ids.txt";
  std::ofstream(ids) << "1 2 3\n";
  expectError(cli("logits -q -m " + quote(dir.string()) + " -i " + quote(ids.string())), "pytorch_model.bin");
  fs::remove_all(dir.parent_path());
}

TEST(CliErrors, BadIdsFileAndPositions) {
  const fs::path dir = makeTempDir("ids");
  std::ofstream(dir / "ids.txt") << "1 2 x3\n";
  expectError(cli("logits -q -m " + quote((fixturesDir() / "glm-bf16").string()) + " -i " + quote((dir / "ids.txt").string())),
              "ids.txt");
  std::ofstream(dir / "ok.txt") << "1 2 3\n";
  expectError(cli("logits -q -m " + quote((fixturesDir() / "glm-bf16").string()) + " -i " +
                  quote((dir / "ok.txt").string()) + " --positions 7"),
              "--positions");
  fs::remove_all(dir);
}

TEST(CliErrors, UnknownShapeAndBackend) {
  expectError(cli("info --random-weights glm-5-huge"), "glm-5-huge");
  expectError(cli("bench -q --random-weights tiny --backend tpu"), "tpu");
}

TEST(Cli, InfoReportsGlm4Shape) {
  const auto r = cli("info --random-weights glm-4-9b --ctx 131072 --kv-cache bf16 --json");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("\"parameters\": 9399951360"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"kv_cache_bytes\": 5368709120"), std::string::npos) << r.output;
}

TEST(Cli, BenchWritesJson) {
  const auto r = cli("bench -q --random-weights tiny --contexts 16,64 -g 4");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("\"decode_tokens_per_s\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"context\": 64"), std::string::npos) << r.output;
}

TEST(Cli, BenchWarmsUpBeforeTiming) {
  const auto r = cli("bench -q --random-weights tiny --contexts 16 -g 3 --warmup-tokens 5");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("\"decode_warmup_tokens\": 5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"decode_tokens\": 3"), std::string::npos) << r.output;
  // Prompt + warm-up + timed tokens must fit the context given.
  expectError(cli("bench -q --random-weights tiny --contexts 16 -g 3 --warmup-tokens 5 --ctx 23"),
              "context 16 + 5 warm-up + 3 timed tokens do not fit --ctx 23");
  EXPECT_EQ(cli("bench -q --random-weights tiny --contexts 16 -g 3 --warmup-tokens 5 --ctx 24").exitCode, 0);
}

TEST(Cli, WeightsOptionAndInfoByFormat) {
  expectError(cli("bench -q --random-weights tiny --weights int3 --contexts 8 -g 1"),
              "weights 'int3': choose bf16, int8, int4 (groups of 32) or int4-g128");
  const auto r = cli("bench -q --random-weights tiny --weights int4-g128 --contexts 8 -g 2");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  // info: the memory of every format for the context asked; GLM-4-9B int4 with 128K of bf16 KV in 12 GiB.
  const auto i = cli("info --random-weights glm-4-9b --ctx 131072 --kv-cache bf16 --weights int4 --json");
  ASSERT_EQ(i.exitCode, 0) << i.output;
  const auto j = nlohmann::json::parse(i.output);
  EXPECT_EQ(j["weights"], "int4");
  EXPECT_LT(j["memory"]["total_bytes"].get<int64_t>(), int64_t(12) << 30);
  for (const char* f : {"bf16", "int8", "int4", "int4-g128"})
    EXPECT_TRUE(j["memory_by_weights"].contains(f)) << f;
  EXPECT_GT(j["memory_by_weights"]["bf16"]["weights_bytes"].get<int64_t>(),
            j["memory_by_weights"]["int8"]["weights_bytes"].get<int64_t>());
  EXPECT_GT(j["memory_by_weights"]["int8"]["weights_bytes"].get<int64_t>(),
            j["memory_by_weights"]["int4"]["weights_bytes"].get<int64_t>());
}

TEST(Cli, KvCacheInt8OptionAndInfo) {
  expectError(cli("bench -q --random-weights tiny --kv-cache int4 --contexts 8 -g 1"),
              "KV cache type 'int4': choose f32, bf16 or int8");
  const auto r = cli("bench -q --random-weights tiny --kv-cache int8 --weights int4 --contexts 8 -g 2");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("\"kv_cache_type\": \"int8\""), std::string::npos) << r.output;
  // GLM-4-9B at 128K: the 8-bit cache is (128 + 4) / 256 of the bf16 one; with int4 weights in 9 GiB.
  const auto i = cli("info --random-weights glm-4-9b --ctx 131072 --kv-cache int8 --weights int4 --json");
  ASSERT_EQ(i.exitCode, 0) << i.output;
  const auto j = nlohmann::json::parse(i.output);
  EXPECT_EQ(j["kv_cache_type"], "int8");
  const int64_t bf16Kv = j["memory_by_kv_cache"]["bf16"]["kv_cache_bytes"].get<int64_t>();
  const int64_t int8Kv = j["memory_by_kv_cache"]["int8"]["kv_cache_bytes"].get<int64_t>();
  EXPECT_EQ(bf16Kv, int64_t(40) * 131072 * 2 * 2 * 128 * 2);
  EXPECT_EQ(int8Kv, int64_t(40) * 131072 * 2 * 2 * (128 + 4));
  EXPECT_EQ(j["memory"]["kv_cache_bytes"].get<int64_t>(), int8Kv);
  EXPECT_LT(j["memory"]["total_bytes"].get<int64_t>(), int64_t(9) << 30);
}

TEST(Cli, SelftestPassesOnCpu) {
  const auto r = cli("selftest -b cpu --fixtures " + quote(fixturesDir().string()));
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("past 64K"), std::string::npos) << r.output;
}
