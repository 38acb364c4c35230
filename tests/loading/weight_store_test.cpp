// WeightStore over a model folder (single file, sharded with an index, broken indexes, PyTorch-only
// folders) and with owned in-memory tensors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loading_test_util.h"

namespace glm {
namespace {

using test::expectError;
using test::ScratchDir;

const std::string kA = test::rawBytes<float>({1, 2, 3, 4, 5, 6});
const std::string kB = test::rawBytes<uint16_t>({0x3f80, 0x4000});
const std::string kC = test::rawBytes<uint16_t>({0x3c00, 0xbc00, 0x0001});

void writeIndex(const std::filesystem::path& dir, const nlohmann::json& weightMap) {
  nlohmann::json index = {{"metadata", {{"total_size", 22}}}, {"weight_map", weightMap}};
  test::writeFile(dir / "model.safetensors.index.json", index.dump(2));
}

// Two shards: a (F32 [2,3]) + b (BF16 [2]) in the first, c (F16 [3]) in the second.
void writeTwoShards(const std::filesystem::path& dir) {
  writeSafetensors(dir / "model-00001-of-00002.safetensors",
                   {test::viewOf("a", DType::F32, {2, 3}, kA), test::viewOf("b", DType::BF16, {2}, kB)});
  writeSafetensors(dir / "model-00002-of-00002.safetensors", {test::viewOf("c", DType::F16, {3}, kC)});
}

TEST(WeightStore, ShardedFolderWithIndex) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  writeIndex(dir.path(), {{"a", "model-00001-of-00002.safetensors"},
                          {"b", "model-00001-of-00002.safetensors"},
                          {"c", "model-00002-of-00002.safetensors"}});
  std::vector<std::pair<int64_t, int64_t>> calls;
  auto store = WeightStore::openDirectory(dir.path(), [&](int64_t done, int64_t total) {
    calls.emplace_back(done, total);
    return true;
  });
  EXPECT_EQ(store->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store->totalBytes(), 24u + 4u + 6u);
  EXPECT_EQ(store->sourceName(), dir.path().string());
  const TensorView& c = store->require("c");
  EXPECT_EQ(c.dtype, DType::F16);
  EXPECT_EQ(std::memcmp(c.data, kC.data(), kC.size()), 0);
  EXPECT_NE(c.file.find("model-00002-of-00002.safetensors"), std::string::npos);
  EXPECT_EQ(std::memcmp(store->require("a").data, kA.data(), kA.size()), 0);
  EXPECT_EQ(std::memcmp(store->require("b").data, kB.data(), kB.size()), 0);

  // Progress: 0 first, then once per shard, ending at the summed file sizes.
  const int64_t total = int64_t(std::filesystem::file_size(dir / "model-00001-of-00002.safetensors") +
                                std::filesystem::file_size(dir / "model-00002-of-00002.safetensors"));
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls.front(), std::make_pair(int64_t(0), total));
  EXPECT_EQ(calls.back(), std::make_pair(total, total));
  EXPECT_LT(calls[1].first, total);
}

TEST(WeightStore, WithoutIndexReadsEverySafetensorsFile) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  test::writeFile(dir / "config.json", "{}");
  auto store = WeightStore::openDirectory(dir.path());
  EXPECT_EQ(store->size(), 3u);
  EXPECT_NE(store->find("c"), nullptr);
  EXPECT_EQ(store->find("d"), nullptr);
  expectError([&] { store->require("d"); }, {"'d'", dir.path().string()});
}

TEST(WeightStore, ModelSafetensorsAloneIsTheModelWhenPresent) {
  ScratchDir dir;
  writeSafetensors(dir / "model.safetensors", {test::viewOf("a", DType::F32, {2, 3}, kA)});
  // Reference outputs beside the model (as in tests/data/fixtures) are not weights.
  writeSafetensors(dir / "expected.safetensors", {test::viewOf("a", DType::BF16, {2}, kB)});
  auto store = WeightStore::openDirectory(dir.path());
  EXPECT_EQ(store->names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(store->require("a").dtype, DType::F32);
}

TEST(WeightStore, ProgressCanCancel) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  int calls = 0;
  EXPECT_THROW(WeightStore::openDirectory(dir.path(), [&](int64_t, int64_t) { return ++calls < 2; }),
               Cancelled);
  EXPECT_EQ(calls, 2);
}

TEST(WeightStore, IndexNamingAMissingShard) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  writeIndex(dir.path(), {{"a", "model-00001-of-00002.safetensors"},
                          {"c", "model-00002-of-00002.safetensors"},
                          {"z", "model-00003-of-00003.safetensors"}});
  expectError([&] { WeightStore::openDirectory(dir.path()); },
              {"model.safetensors.index.json", "model-00003-of-00003.safetensors", "'z'", "not found"});
}

TEST(WeightStore, IndexPlacingATensorInTheWrongShard) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  writeIndex(dir.path(), {{"a", "model-00002-of-00002.safetensors"}, {"c", "model-00001-of-00002.safetensors"}});
  expectError([&] { WeightStore::openDirectory(dir.path()); },
              {"model.safetensors.index.json", "'a'", "model-00002-of-00002.safetensors"});
}

TEST(WeightStore, IndexListingATensorNoShardHolds) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  writeIndex(dir.path(), {{"a", "model-00001-of-00002.safetensors"}, {"ghost", "model-00002-of-00002.safetensors"}});
  expectError([&] { WeightStore::openDirectory(dir.path()); },
              {"model.safetensors.index.json", "'ghost'", "does not contain"});
}

TEST(WeightStore, BrokenIndexFiles) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  test::writeFile(dir / "model.safetensors.index.json", "{\"weight_map\": {\"a\": ");
  expectError([&] { WeightStore::openDirectory(dir.path()); }, {"model.safetensors.index.json", "invalid JSON"});
  test::writeFile(dir / "model.safetensors.index.json", "{\"metadata\": {}}");
  expectError([&] { WeightStore::openDirectory(dir.path()); }, {"model.safetensors.index.json", "weight_map"});
  writeIndex(dir.path(), {{"a", "../elsewhere.safetensors"}});
  expectError([&] { WeightStore::openDirectory(dir.path()); }, {"model.safetensors.index.json", "'a'", "../elsewhere"});
}

TEST(WeightStore, TensorInTwoShards) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  writeSafetensors(dir / "model-extra.safetensors", {test::viewOf("b", DType::BF16, {2}, kB)});
  expectError([&] { WeightStore::openDirectory(dir.path()); },
              {dir.path().string(), "'b'", "model-00001-of-00002.safetensors", "model-extra.safetensors"});
}

TEST(WeightStore, OnlyPytorchPicklesAreRefusedUnread) {
  ScratchDir dir;
  // Random bytes: if anything tried to parse this as a pickle it would fail differently or crash.
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += char((i * 7919 + 13) % 251);
  test::writeFile(dir / "pytorch_model.bin", junk);
  test::writeFile(dir / "config.json", "{}");
  const std::string message = expectError([&] { WeightStore::openDirectory(dir.path()); },
                                          {dir.path().string(), "only PyTorch pickle weights", "pytorch_model.bin",
                                           ".safetensors", "convert"});
  EXPECT_EQ(message.find(junk.substr(0, 16)), std::string::npos);
}

TEST(WeightStore, FolderWithoutWeights) {
  ScratchDir dir;
  test::writeFile(dir / "config.json", "{}");
  expectError([&] { WeightStore::openDirectory(dir.path()); }, {dir.path().string(), "no weights"});
  expectError([&] { WeightStore::openDirectory(dir / "missing"); }, {"missing", "not found"});
}

TEST(WeightStore, OwnedTensorsAreZeroFilledAndWritable) {
  WeightStore store;
  const TensorView& v = store.addOwned("w", DType::BF16, {3, 1000});
  EXPECT_EQ(v.bytes, 6000u);
  EXPECT_EQ(v.numel(), 3000);
  EXPECT_EQ(v.file, "<owned>");
  for (size_t i = 0; i < v.bytes; ++i) ASSERT_EQ(v.data[i], std::byte{0}) << i;
  std::byte* out = store.mutableData("w");
  ASSERT_EQ(out, v.data);
  out[5999] = std::byte{0x7f};
  EXPECT_EQ(store.require("w").data[5999], std::byte{0x7f});
  EXPECT_EQ(store.mutableData("nope"), nullptr);
  expectError([&] { store.addOwned("w", DType::F32, {1}); }, {"'w'", "twice"});
  expectError([&] { store.addOwned("neg", DType::F32, {-1}); }, {"'neg'", "[-1]"});

  // Owned tensors written out and read back through a folder are unchanged.
  ScratchDir dir;
  writeSafetensors(dir / "model.safetensors", {store.require("w")});
  auto reread = WeightStore::openDirectory(dir.path());
  EXPECT_EQ(std::memcmp(reread->require("w").data, v.data, v.bytes), 0);
}

TEST(WeightStore, MappedTensorsAreNotWritable) {
  ScratchDir dir;
  writeTwoShards(dir.path());
  auto store = WeightStore::openDirectory(dir.path());
  EXPECT_EQ(store->mutableData("a"), nullptr);
}

}  // namespace
}  // namespace glm
