// Shared by the CPU kernel tests: random inputs, the poison value of untouched outputs, and the fixture
// base that runs a test once per code path (avx512, avx2, scalar; skipped where the CPU lacks it).
#pragma once
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_kernels.h"

namespace glm::cpu {

inline std::vector<float> randomFloats(int64_t count, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(rng);
  return v;
}

// Written where a kernel must not write; found again bit for bit afterwards.
constexpr float kPoison = -7.25e30f;
inline bool isPoison(float v) { return std::bit_cast<uint32_t>(v) == std::bit_cast<uint32_t>(kPoison); }

class PerIsaTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!forceIsa(GetParam())) GTEST_SKIP() << "this CPU cannot run the " << GetParam() << " path";
    ASSERT_STREQ(isaName(), GetParam());
  }
  void TearDown() override { forceIsa(kDefaultIsa.c_str()); }
  // The automatically chosen path, captured at start-up before any test forces one.
  static inline const std::string kDefaultIsa = isaName();
};

}  // namespace glm::cpu
