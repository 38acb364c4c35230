// The safetensors reader and writer: bit-exact round trips, the on-disk layout, and every kind of
// damaged file giving a glm::Error that names the file and the tensor or field at fault.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "loading_test_util.h"
#include "util/half.h"

namespace glm {
namespace {

using test::expectError;
using test::ScratchDir;
using test::safetensorsBytes;

template <class Word>
std::string randomWords(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(count * sizeof(Word), '\0');
  for (size_t i = 0; i < count; ++i) {
    Word w = Word(rng());
    std::memcpy(out.data() + i * sizeof(Word), &w, sizeof(Word));
  }
  return out;
}

TEST(Safetensors, RoundTripIsBitExactForAllFloatDtypes) {
  ScratchDir dir;
  // Random bit patterns cover NaNs, infinities and subnormals, which must survive untouched.
  const std::string f32 = randomWords<uint32_t>(3 * 5, 1);
  const std::string f16 = randomWords<uint16_t>(7, 2);
  const std::string bf16 = randomWords<uint16_t>(2 * 3 * 4, 3);
  const auto path = dir / "model.safetensors";
  writeSafetensors(path,
                   {test::viewOf("a.f32", DType::F32, {3, 5}, f32), test::viewOf("b.f16", DType::F16, {7}, f16),
                    test::viewOf("c.bf16", DType::BF16, {2, 3, 4}, bf16)},
                   {{"format", "pt"}});

  auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file->tensors().size(), 3u);
  struct Expect { const char* name; DType dtype; std::vector<int64_t> shape; const std::string* bytes; };
  for (const Expect& e : {Expect{"a.f32", DType::F32, {3, 5}, &f32}, Expect{"b.f16", DType::F16, {7}, &f16},
                          Expect{"c.bf16", DType::BF16, {2, 3, 4}, &bf16}}) {
    const TensorView* t = file->find(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->dtype, e.dtype);
    EXPECT_EQ(t->shape, e.shape);
    EXPECT_EQ(t->file, path.string());
    ASSERT_EQ(t->bytes, e.bytes->size());
    EXPECT_EQ(std::memcmp(t->data, e.bytes->data(), t->bytes), 0) << e.name;
  }
  EXPECT_EQ(file->find("absent"), nullptr);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  // tensors() lists file order (by offset), which is the order written.
  EXPECT_EQ(file->tensors()[0].name, "a.f32");
  EXPECT_EQ(file->tensors()[2].name, "c.bf16");
}

TEST(Safetensors, WriterProducesTheDocumentedLayout) {
  ScratchDir dir;
  const std::string a = test::rawBytes<float>({1.0f, 2.0f, 3.0f});
  const std::string b = test::rawBytes<uint16_t>({0x3f80});
  writeSafetensors(dir / "x.safetensors", {test::viewOf("a", DType::F32, {3}, a), test::viewOf("b", DType::BF16, {1}, b)});
  const std::string bytes = test::readFile(dir / "x.safetensors");
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);
  EXPECT_EQ(n % 8, 0u) << "header padded so the data section is 8-byte aligned";
  ASSERT_EQ(bytes.size(), 8 + n + 12 + 2);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["a"]["dtype"], "F32");
  EXPECT_EQ(header["a"]["shape"], nlohmann::json::array({3}));
  EXPECT_EQ(header["a"]["data_offsets"], nlohmann::json::array({0, 12}));
  EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json::array({12, 14}));
  EXPECT_FALSE(header.contains("__metadata__"));
  EXPECT_EQ(bytes.substr(8 + n), a + b);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.safetensors.tmp"));
}

TEST(Safetensors, ReadsAHandBuiltFileWithKnownValues) {
  ScratchDir dir;
  // 1.5 and -2 in each float format: F32 0x3fc00000 / 0xc0000000, F16 0x3e00 / 0xc000,
  // BF16 0x3fc0 / 0xc000. The header is deliberately not padded (length 7 mod 8).
  const std::string data = test::rawBytes<float>({1.5f, -2.0f}) + test::rawBytes<uint16_t>({0x3e00, 0xc000}) +
                           test::rawBytes<uint16_t>({0x3fc0, 0xc000}) + test::rawBytes<int32_t>({-7});
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w32":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("w16":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},)"
      R"("wbf":{"dtype":"BF16","shape":[2,1],"data_offsets":[12,16]},)"
      R"("ids":{"dtype":"I32","shape":[],"data_offsets":[16,20]}})";
  test::writeFile(dir / "h.safetensors", safetensorsBytes(header, data));
  auto file = SafetensorsFile::open(dir / "h.safetensors");
  ASSERT_EQ(file->tensors().size(), 4u);

  auto f32At = [](const TensorView* t, int i) { float v; std::memcpy(&v, t->data + 4 * i, 4); return v; };
  auto u16At = [](const TensorView* t, int i) { uint16_t v; std::memcpy(&v, t->data + 2 * i, 2); return v; };
  const TensorView* w32 = file->find("w32");
  EXPECT_EQ(f32At(w32, 0), 1.5f);
  EXPECT_EQ(f32At(w32, 1), -2.0f);
  const TensorView* w16 = file->find("w16");
  EXPECT_EQ(f16ToFloat(u16At(w16, 0)), 1.5f);
  EXPECT_EQ(f16ToFloat(u16At(w16, 1)), -2.0f);
  const TensorView* wbf = file->find("wbf");
  EXPECT_EQ(wbf->shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(bf16ToFloat(u16At(wbf, 0)), 1.5f);
  EXPECT_EQ(bf16ToFloat(u16At(wbf, 1)), -2.0f);
  const TensorView* ids = file->find("ids");
  EXPECT_EQ(ids->dtype, DType::I32);
  EXPECT_TRUE(ids->shape.empty());
  EXPECT_EQ(ids->numel(), 1);
  int32_t id;
  std::memcpy(&id, ids->data, 4);
  EXPECT_EQ(id, -7);
  EXPECT_EQ(file->metadata().at("k"), "v");
}

TEST(Safetensors, KnowsEveryDtypeSpelling) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, DType>> all = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I32", DType::I32},
      {"I64", DType::I64}, {"I8", DType::I8}, {"U8", DType::U8}, {"F64", DType::F64},
      {"F8_E4M3", DType::F8_E4M3}, {"F8_E5M2", DType::F8_E5M2}, {"BOOL", DType::BOOL},
      {"I16", DType::I16}, {"U16", DType::U16}, {"U32", DType::U32}, {"U64", DType::U64}};
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  // Sizes from the safetensors spec, written out here rather than taken from dtypeSize().
  const std::map<std::string, size_t> sizes = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"I64", 8},
                                               {"I8", 1}, {"U8", 1}, {"F64", 8}, {"F8_E4M3", 1},
                                               {"F8_E5M2", 1}, {"BOOL", 1}, {"I16", 2}, {"U16", 2},
                                               {"U32", 4}, {"U64", 8}};
  for (const auto& [name, dtype] : all) {
    size_t bytes = 3 * sizes.at(name);
    header["t_" + name] = {{"dtype", name}, {"shape", {3}}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  test::writeFile(dir / "all.safetensors", safetensorsBytes(header.dump(), std::string(offset, '\x01')));
  auto file = SafetensorsFile::open(dir / "all.safetensors");
  for (const auto& [name, dtype] : all) {
    const TensorView* t = file->find("t_" + name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dtype, dtype) << name;
    EXPECT_EQ(dtypeName(t->dtype), name);
  }
}

// ---- damaged files ----

struct Damaged : ::testing::Test {
  ScratchDir dir;
  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    test::writeFile(dir / name, bytes);
    return dir / name;
  }
};

TEST_F(Damaged, TruncatedFileNamesFileAndTensor) {
  const std::string a = test::rawBytes<float>({1, 2, 3, 4});
  const std::string b = test::rawBytes<float>({5, 6, 7, 8});
  const auto path = dir / "cut.safetensors";
  writeSafetensors(path, {test::viewOf("first", DType::F32, {4}, a), test::viewOf("second", DType::F32, {2, 2}, b)});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 5);
  expectError([&] { SafetensorsFile::open(path); }, {"cut.safetensors", "'second'", "truncated"});
}

TEST_F(Damaged, HeaderLengthLargerThanFile) {
  auto path = write("long.safetensors", safetensorsBytes("{}", "") );
  // Patch the length field to claim 1 MiB of header in a 10-byte file.
  std::string bytes = test::readFile(path);
  bytes[2] = 0x10;
  test::writeFile(path, bytes);
  expectError([&] { SafetensorsFile::open(path); }, {"long.safetensors", "header length 1048578"});
}

TEST_F(Damaged, FileShorterThanTheLengthField) {
  auto path = write("tiny.safetensors", "abc");
  expectError([&] { SafetensorsFile::open(path); }, {"tiny.safetensors", "3 bytes"});
}

TEST_F(Damaged, EmptyFileAndMissingFile) {
  auto path = write("empty.safetensors", "");
  expectError([&] { SafetensorsFile::open(path); }, {"empty.safetensors", "0 bytes"});
  expectError([&] { SafetensorsFile::open(dir / "nope.safetensors"); }, {"nope.safetensors", "cannot open"});
}

TEST_F(Damaged, HeaderIsNotJson) {
  auto path = write("json.safetensors", safetensorsBytes(R"({"w": {"dtype": "F32", )", ""));
  expectError([&] { SafetensorsFile::open(path); }, {"json.safetensors", "not valid JSON"});
  auto arrayHeader = write("array.safetensors", safetensorsBytes("[1,2]", ""));
  expectError([&] { SafetensorsFile::open(arrayHeader); }, {"array.safetensors", "object"});
}

TEST_F(Damaged, DataOffsetsOutOfRange) {
  auto path = write("range.safetensors",
                    safetensorsBytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", std::string(16, '\0')));
  expectError([&] { SafetensorsFile::open(path); }, {"range.safetensors", "'w'", "[8, 24]", "16 bytes"});
  auto reversed = write("rev.safetensors",
                        safetensorsBytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(16, '\0')));
  expectError([&] { SafetensorsFile::open(reversed); }, {"rev.safetensors", "'w'", "[8, 4]"});
  auto negative = write("neg.safetensors",
                        safetensorsBytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::string(16, '\0')));
  expectError([&] { SafetensorsFile::open(negative); }, {"neg.safetensors", "'w'", "non-negative"});
}

TEST_F(Damaged, SizeDoesNotMatchShapeAndDtype) {
  auto path = write("size.safetensors",
                    safetensorsBytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  expectError([&] { SafetensorsFile::open(path); }, {"size.safetensors", "'w'", "8 bytes", "needs 12"});
}

TEST_F(Damaged, UnknownDtype) {
  auto path = write("dtype.safetensors",
                    safetensorsBytes(R"({"w":{"dtype":"F7","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0')));
  expectError([&] { SafetensorsFile::open(path); }, {"dtype.safetensors", "'w'", "unknown dtype 'F7'"});
}

TEST_F(Damaged, MissingOrMistypedEntryFields) {
  auto noShape = write("a.safetensors", safetensorsBytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "1234"));
  expectError([&] { SafetensorsFile::open(noShape); }, {"a.safetensors", "'w'", "missing field 'shape'"});
  auto badShape = write("b.safetensors", safetensorsBytes(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "1234"));
  expectError([&] { SafetensorsFile::open(badShape); }, {"b.safetensors", "'w'", "shape entry"});
  auto badMeta = write("c.safetensors", safetensorsBytes(R"({"__metadata__":{"n":3}})", ""));
  expectError([&] { SafetensorsFile::open(badMeta); }, {"c.safetensors", "__metadata__", "'n'"});
  // A shape whose byte count overflows 64 bits must not wrap around to a small size.
  auto huge = write("d.safetensors",
                    safetensorsBytes(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", ""));
  expectError([&] { SafetensorsFile::open(huge); }, {"d.safetensors", "'w'", "too large"});
}

// Random damage to a valid file: every outcome must be a clean open or a glm::Error, never another
// exception type (e.g. a JSON library error escaping) or a crash.
TEST_F(Damaged, RandomCorruptionGivesOnlyGlmErrors) {
  const std::string a = test::rawBytes<float>({1, 2, 3, 4});
  const std::string b = test::rawBytes<uint16_t>({1, 2, 3});
  writeSafetensors(dir / "good.safetensors",
                   {test::viewOf("first.weight", DType::F32, {2, 2}, a), test::viewOf("second", DType::BF16, {3}, b)},
                   {{"format", "pt"}});
  const std::string good = test::readFile(dir / "good.safetensors");
  std::mt19937 rng(42);
  int errors = 0, opened = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    if (trial % 4 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      for (int k = 0; k < 1 + trial % 3; ++k) bytes[rng() % bytes.size()] = char(rng());
    }
    auto path = write("mutated.safetensors", bytes);
    try {
      auto file = SafetensorsFile::open(path);
      for (const auto& t : file->tensors()) ASSERT_EQ(size_t(t.numel()) * dtypeSize(t.dtype), t.bytes);
      ++opened;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("mutated.safetensors"), std::string::npos) << e.what();
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": non-glm exception: " << e.what();
    }
  }
  EXPECT_GT(errors, 100);
  EXPECT_GT(opened, 10);  // flips inside the data section leave a valid file
}

TEST(SafetensorsWriter, RefusesAViewWhoseBytesDoNotMatchItsShape) {
  ScratchDir dir;
  const std::string three = test::rawBytes<float>({1, 2, 3});
  expectError([&] { writeSafetensors(dir / "w.safetensors", {test::viewOf("w", DType::F32, {4}, three)}); },
              {"w.safetensors", "'w'", "needs 16"});
  expectError([&] {
    writeSafetensors(dir / "w.safetensors", {test::viewOf("w", DType::F32, {3}, three), test::viewOf("w", DType::F32, {3}, three)});
  }, {"'w'", "duplicate"});
  EXPECT_FALSE(std::filesystem::exists(dir / "w.safetensors"));
}

}  // namespace
}  // namespace glm
