// Shared helpers of the loading tests: a scratch folder per test, file writers, error checks.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "glmengine/error.h"
#include "io/safetensors.h"

namespace glm::test {

// A fresh folder under the system temp dir, removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "glm-loading-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void writeFile(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A safetensors file assembled by hand: 8-byte little-endian length, header text, data bytes.
// Independent of writeSafetensors, so the reader is checked against the format, not our writer.
inline std::string safetensorsBytes(const std::string& headerJson, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = headerJson.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + headerJson + data;
}

template <class T>
std::string rawBytes(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

// Runs f, expects a glm::Error whose message contains every one of `parts`; returns the message.
template <class F>
std::string expectError(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const glm::Cancelled&) {
    ADD_FAILURE() << "got glm::Cancelled, expected a glm::Error";
    return {};
  } catch (const glm::Error& e) {
    std::string message = e.what();
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "message lacks '" << part << "': " << message;
    return message;
  }
  ADD_FAILURE() << "no glm::Error thrown";
  return {};
}

// A view over caller-owned bytes, for writeSafetensors.
inline TensorView viewOf(std::string name, DType dtype, std::vector<int64_t> shape, const std::string& bytes) {
  TensorView v;
  v.name = std::move(name);
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.data = reinterpret_cast<const std::byte*>(bytes.data());
  v.bytes = bytes.size();
  return v;
}

}  // namespace glm::test
