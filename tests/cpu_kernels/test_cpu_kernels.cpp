// The CPU kernels against fp64 references computed here, once per code path (avx512, avx2, scalar;
// a path this CPU cannot run is skipped). Weights are drawn as floats, stored in their dtype, and the
// reference uses the stored values decoded by this file's own bit-level decoders.
//
// Error bound of matmul: ||out - ref|| / ||ref|| < 1e-6 over the whole output. fp32 accumulation of a
// k = 4096 dot product in lanes (16 or 8 interleaved partial sums over 512-element k blocks, then the
// block sums in order) leaves a relative error of roughly 2^-24 * sqrt(k / lanes) ~ 1e-7..2e-7 for
// random data (measured at k = 4096: 1.3e-7 avx512, 1.6e-7 avx2 and scalar), so 1e-6 keeps a margin
// of 6x while still catching a lost block, a wrong tail or a bf16 rounding of the activations (~3e-3).
#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_kernels.h"
#include "kernel_test_util.h"

namespace glm::cpu {
namespace {

// ---- Bit-level decoders and encoders, independent of util/half.h. ----
double decodeBf16(uint16_t v) { return double(std::bit_cast<float>(uint32_t(v) << 16)); }

double decodeF16(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(double(mantissa), -24);  // subnormal: m * 2^-24
  if (exponent == 31) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  return sign * std::ldexp(double(1024 + mantissa), exponent - 25);
}

// Round to nearest even (values here are finite and within range).
uint16_t encodeBf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
uint16_t encodeF16(float f) { return std::bit_cast<uint16_t>(static_cast<_Float16>(f)); }

// A row-major array in one of the weight dtypes, with the decoded values for the reference.
struct StoredArray {
  DType dtype;
  std::vector<unsigned char> bytes;
  std::vector<double> values;
  const void* data() const { return bytes.data(); }
};

StoredArray makeStored(DType dt, int64_t count, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  StoredArray a{dt, {}, {}};
  a.values.resize(size_t(count));
  a.bytes.resize(size_t(count) * (dt == DType::F32 ? 4 : 2));
  for (int64_t i = 0; i < count; ++i) {
    const float f = dist(rng);
    if (dt == DType::F32) {
      std::memcpy(&a.bytes[size_t(i) * 4], &f, 4);
      a.values[size_t(i)] = f;
    } else {
      const uint16_t h = dt == DType::BF16 ? encodeBf16(f) : encodeF16(f);
      std::memcpy(&a.bytes[size_t(i) * 2], &h, 2);
      a.values[size_t(i)] = dt == DType::BF16 ? decodeBf16(h) : decodeF16(h);
    }
  }
  return a;
}

double relativeError(const std::vector<double>& ref, const std::vector<double>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}


// ---- Fixture: one instance per code path. ----
class CpuKernels : public PerIsaTest {};

struct MatmulCase {
  int64_t n, k, m, ldxExtra, ldoExtra;
  DType wdt;
  bool hasBias;
  DType biasDt;
};

std::string caseName(const MatmulCase& c) {
  return "n" + std::to_string(c.n) + " k" + std::to_string(c.k) + " m" + std::to_string(c.m) + " w" +
         std::string(dtypeName(c.wdt)) + (c.hasBias ? " bias " + std::string(dtypeName(c.biasDt)) : " no bias") +
         " ldx+" + std::to_string(c.ldxExtra) + " ldo+" + std::to_string(c.ldoExtra);
}

// Runs one matmul case; returns the relative error and checks the poisoned columns stay untouched.
double runMatmulCase(const MatmulCase& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t ldx = c.k + c.ldxExtra, ldo = c.m + c.ldoExtra;
  const std::vector<float> x = randomFloats(c.n * ldx, rng);
  const StoredArray w = makeStored(c.wdt, c.m * c.k, rng);
  const StoredArray bias = makeStored(c.biasDt, c.m, rng, -2.0f, 2.0f);
  std::vector<float> out(size_t(c.n * ldo), kPoison);

  matmul(x.data(), c.n, c.k, ldx, w.data(), c.wdt, c.m, c.hasBias ? bias.data() : nullptr, c.biasDt, out.data(),
         ldo);

  std::vector<double> ref, got;
  for (int64_t i = 0; i < c.n; ++i) {
    for (int64_t j = 0; j < c.m; ++j) {
      double s = c.hasBias ? bias.values[size_t(j)] : 0.0;
      for (int64_t t = 0; t < c.k; ++t) s += double(x[size_t(i * ldx + t)]) * w.values[size_t(j * c.k + t)];
      ref.push_back(s);
      got.push_back(out[size_t(i * ldo + j)]);
    }
    for (int64_t j = c.m; j < ldo; ++j)
      EXPECT_TRUE(isPoison(out[size_t(i * ldo + j)])) << caseName(c) << ": wrote out[" << i << ", " << j << "]";
  }
  return relativeError(ref, got);
}

TEST_P(CpuKernels, MatmulMatchesFp64ReferenceOnAllShapesAndDtypes) {
  const MatmulCase cases[] = {
      {1, 4096, 4608, 0, 0, DType::BF16, false, DType::F32},   // decode GEMV
      {1, 4096, 37, 3, 5, DType::F16, true, DType::BF16},
      {3, 33, 5, 7, 4, DType::F16, true, DType::F32},          // k and m tails, streamed path
      {5, 4096, 300, 0, 1, DType::BF16, true, DType::F16},     // n tail (4 + 1) streamed
      {37, 4096, 70, 4, 6, DType::BF16, true, DType::BF16},    // packed path, n tail 37 = 9*4 + 1
      {37, 33, 4608, 0, 3, DType::F32, true, DType::F16},      // f32 weights read in place
      {37, 1000, 21, 0, 0, DType::F16, false, DType::F32},     // k blocks 512 + 488
      {8, 1, 5, 2, 2, DType::BF16, true, DType::BF16},         // k = 1
      {1, 1, 1, 0, 0, DType::F32, false, DType::F32},
      {64, 64, 5, 0, 0, DType::BF16, true, DType::F32},        // m < one block: rows split across threads
  };
  uint64_t seed = 1000;
  for (const MatmulCase& c : cases) {
    const double err = runMatmulCase(c, ++seed);
    EXPECT_LT(err, 1e-6) << caseName(c);
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", err);
    RecordProperty(caseName(c), text);  // in --gtest_output=xml, for the record
  }
}

TEST_P(CpuKernels, MatmulRowResultDoesNotDependOnBatchOrThreads) {
  std::mt19937_64 rng(7);
  const int64_t n = 37, k = 4096 + 17, m = 70;
  const std::vector<float> x = randomFloats(n * k, rng);
  const StoredArray w = makeStored(DType::BF16, m * k, rng);
  const StoredArray bias = makeStored(DType::F32, m, rng);
  std::vector<float> batch(static_cast<size_t>(n * m)), single(static_cast<size_t>(m)),
      oneThread(static_cast<size_t>(n * m));
  matmul(x.data(), n, k, k, w.data(), DType::BF16, m, bias.data(), DType::F32, batch.data(), m);
  for (int64_t i = 0; i < n; ++i) {
    matmul(x.data() + i * k, 1, k, k, w.data(), DType::BF16, m, bias.data(), DType::F32, single.data(), m);
    ASSERT_EQ(0, std::memcmp(single.data(), batch.data() + i * m, size_t(m) * 4)) << "row " << i;
  }
  // Every streamed n (a tile shape of its own on the AVX2 path), from an odd row on.
  for (int64_t small = 2; small < detail::kPackMinRows; ++small) {
    const int64_t first = 3;
    std::vector<float> part(static_cast<size_t>(small * m));
    matmul(x.data() + first * k, small, k, k, w.data(), DType::BF16, m, bias.data(), DType::F32, part.data(), m);
    ASSERT_EQ(0, std::memcmp(part.data(), batch.data() + first * m, part.size() * 4)) << "n " << small;
  }
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  matmul(x.data(), n, k, k, w.data(), DType::BF16, m, bias.data(), DType::F32, oneThread.data(), m);
  omp_set_num_threads(threads);
  EXPECT_EQ(0, std::memcmp(oneThread.data(), batch.data(), batch.size() * 4));
}

TEST_P(CpuKernels, MatmulRejectsBadArguments) {
  std::vector<float> x(64, 1.0f), out(64);
  std::vector<int32_t> w(64, 1);
  EXPECT_THROW(matmul(x.data(), 2, 4, 4, w.data(), DType::I32, 4, nullptr, DType::F32, out.data(), 4),
               std::invalid_argument);
  EXPECT_THROW(matmul(x.data(), 2, 4, 3, w.data(), DType::F32, 4, nullptr, DType::F32, out.data(), 4),
               std::invalid_argument);
  EXPECT_THROW(matmul(x.data(), 2, 4, 4, w.data(), DType::F32, 4, nullptr, DType::F32, out.data(), 3),
               std::invalid_argument);
  EXPECT_THROW(matmul(x.data(), 2, 4, 4, w.data(), DType::F32, 4, w.data(), DType::I64, out.data(), 4),
               std::invalid_argument);
}

// rmsNorm rows of very different magnitudes: x^2 under- or overflows fp32 at 1e-20 and 1e20, and at
// 1e-3 eps (1.5625e-7) is a visible part of mean(x^2) ~ 3.3e-7.
TEST_P(CpuKernels, RmsNormMatchesFp64ReferenceAtAllMagnitudes) {
  const float eps = 1.5625e-07f;
  const double magnitudes[] = {1.0, 1e-20, 1e20, 1e-3, 37.0};
  const int64_t n = 5;
  for (const int64_t dim : {int64_t(4096), int64_t(33), int64_t(1)}) {
    for (const DType wdt : {DType::F32, DType::F16, DType::BF16}) {
      std::mt19937_64 rng(uint64_t(dim) * 31 + uint64_t(wdt));
      std::vector<float> x = randomFloats(n * dim, rng);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t t = 0; t < dim; ++t) x[size_t(i * dim + t)] = float(x[size_t(i * dim + t)] * magnitudes[i]);
      const StoredArray weight = makeStored(wdt, dim, rng, 0.5f, 1.5f);
      std::vector<float> out(static_cast<size_t>(n * dim));
      rmsNorm(x.data(), n, dim, weight.data(), wdt, eps, out.data());
      for (int64_t i = 0; i < n; ++i) {
        double ss = 0;
        for (int64_t t = 0; t < dim; ++t) ss += double(x[size_t(i * dim + t)]) * x[size_t(i * dim + t)];
        const double r = 1.0 / std::sqrt(ss / double(dim) + double(eps));
        for (int64_t t = 0; t < dim; ++t) {
          const double ref = double(x[size_t(i * dim + t)]) * r * weight.values[size_t(t)];
          // float(r), x * r and * w: three roundings, < 2 ulp.
          ASSERT_NEAR(out[size_t(i * dim + t)], ref, 2.4e-7 * std::fabs(ref))
              << "dim " << dim << " " << dtypeName(wdt) << " row " << i << " (magnitude " << magnitudes[i] << ") t " << t;
        }
      }
      // In place gives the same bits.
      std::vector<float> inPlace = x;
      rmsNorm(inPlace.data(), n, dim, weight.data(), wdt, eps, inPlace.data());
      EXPECT_EQ(0, std::memcmp(inPlace.data(), out.data(), out.size() * 4)) << "dim " << dim;
    }
  }
}

TEST_P(CpuKernels, SwiGluMatchesFp64Reference) {
  for (const auto& [n, ffn] : {std::pair<int64_t, int64_t>{3, 4100}, {1, 37}, {2, 1}}) {
    std::mt19937_64 rng(uint64_t(n * 100000 + ffn));
    std::vector<float> gateUp = randomFloats(n * 2 * ffn, rng, -2.0f, 2.0f);
    for (int64_t i = 0; i < n; ++i)  // gates over the range where silu bends and saturates
      for (int64_t j = 0; j < ffn; ++j) gateUp[size_t(i * 2 * ffn + j)] *= 12.0f;
    if (ffn > 10) {
      const float extremes[] = {-100.0f, -88.0f, -87.0f, 50.0f, 89.0f, 1e30f, -1e-30f, 3e-39f};
      for (size_t e = 0; e < std::size(extremes); ++e) gateUp[e] = extremes[e];
    }
    std::vector<float> out(size_t(n * ffn), kPoison);
    swiGlu(gateUp.data(), n, ffn, out.data());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < ffn; ++j) {
        const double g = gateUp[size_t(i * 2 * ffn + j)], u = gateUp[size_t(i * 2 * ffn + ffn + j)];
        const double ref = g / (1.0 + std::exp(-g)) * u;
        // exp within ~2 ulp, then a division and a product; results below fp32's normal range
        // (gate < -87) may flush to 0 through exp overflow, hence the small absolute term.
        ASSERT_NEAR(out[size_t(i * ffn + j)], ref, 6e-7 * std::fabs(ref) + 1e-36)
            << "n " << n << " ffn " << ffn << " i " << i << " j " << j << " gate " << g;
      }
    }
  }
  // NaN passes through.
  std::vector<float> nanIn = {std::numeric_limits<float>::quiet_NaN(), 1.0f}, nanOut(1);
  swiGlu(nanIn.data(), 1, 1, nanOut.data());
  EXPECT_TRUE(std::isnan(nanOut[0]));
}

TEST_P(CpuKernels, ToFloatIsExactIncludingSpecialValues) {
  const int64_t count = 1000 + 7;
  for (const DType dt : {DType::F32, DType::F16, DType::BF16}) {
    std::mt19937_64 rng(uint64_t(dt) + 99);
    StoredArray a = makeStored(dt, count, rng, -1000.0f, 1000.0f);
    // inf, -inf, NaN, smallest subnormal, largest subnormal, -0, placed at odd positions.
    std::vector<uint32_t> specials;
    if (dt == DType::F32)
      specials = {0x7f800000u, 0xff800000u, 0x7fc00001u, 0x00000001u, 0x007fffffu, 0x80000000u};
    else if (dt == DType::F16)
      specials = {0x7c00u, 0xfc00u, 0x7e01u, 0x0001u, 0x03ffu, 0x8000u};
    else
      specials = {0x7f80u, 0xff80u, 0x7fc1u, 0x0001u, 0x007fu, 0x8000u};
    for (size_t s = 0; s < specials.size(); ++s) {
      const size_t at = 3 + 97 * s;
      if (dt == DType::F32) {
        std::memcpy(&a.bytes[at * 4], &specials[s], 4);
        a.values[at] = std::bit_cast<float>(specials[s]);
      } else {
        const uint16_t h = uint16_t(specials[s]);
        std::memcpy(&a.bytes[at * 2], &h, 2);
        a.values[at] = dt == DType::BF16 ? decodeBf16(h) : decodeF16(h);
      }
    }
    std::vector<float> out(size_t(count) + 1, kPoison);
    toFloat(a.data(), dt, count, out.data());
    for (int64_t i = 0; i < count; ++i) {
      const double want = a.values[size_t(i)];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(out[size_t(i)])) << dtypeName(dt) << " element " << i;
      } else {
        EXPECT_EQ(std::bit_cast<uint64_t>(double(out[size_t(i)])), std::bit_cast<uint64_t>(want))
            << dtypeName(dt) << " element " << i << ": " << out[size_t(i)] << " vs " << want;
      }
    }
    EXPECT_TRUE(isPoison(out[size_t(count)])) << dtypeName(dt) << ": wrote past the end";
  }
}

const int64_t kVectorLengths[] = {1, 7, 15, 16, 17, 33, 63, 64, 65, 127, 133, 4099};

TEST_P(CpuKernels, DotAndDotBf16MatchFp64Reference) {
  for (const int64_t len : kVectorLengths) {
    std::mt19937_64 rng(uint64_t(len) + 5);
    const std::vector<float> a = randomFloats(len, rng), b = randomFloats(len, rng);
    const StoredArray bb = makeStored(DType::BF16, len, rng);
    double ref = 0, refBf16 = 0, magnitude = 0, magnitudeBf16 = 0;
    for (int64_t t = 0; t < len; ++t) {
      ref += double(a[size_t(t)]) * b[size_t(t)];
      magnitude += std::fabs(double(a[size_t(t)]) * b[size_t(t)]);
      refBf16 += double(a[size_t(t)]) * bb.values[size_t(t)];
      magnitudeBf16 += std::fabs(double(a[size_t(t)]) * bb.values[size_t(t)]);
    }
    // Relative to sum |a_t b_t| (the sum itself may cancel): a few ulp of the magnitude.
    EXPECT_NEAR(dot(a.data(), b.data(), len), ref, 1e-6 * magnitude) << "len " << len;
    EXPECT_NEAR(dotBf16(a.data(), static_cast<const uint16_t*>(bb.data()), len), refBf16, 1e-6 * magnitudeBf16)
        << "len " << len;
  }
}

TEST_P(CpuKernels, AxpyAxpyBf16AndScaleMatchFp64Reference) {
  for (const int64_t len : kVectorLengths) {
    std::mt19937_64 rng(uint64_t(len) + 11);
    const std::vector<float> x = randomFloats(len, rng), y0 = randomFloats(len, rng);
    const StoredArray xb = makeStored(DType::BF16, len, rng);
    const float alpha = -0.734375f * 1.1f;
    std::vector<float> y = y0, yb = y0, ys = y0;
    y.push_back(kPoison);
    yb.push_back(kPoison);
    ys.push_back(kPoison);
    axpy(alpha, x.data(), y.data(), len);
    axpyBf16(alpha, static_cast<const uint16_t*>(xb.data()), yb.data(), len);
    scale(alpha, ys.data(), len);
    for (int64_t t = 0; t < len; ++t) {
      const double ref = double(y0[size_t(t)]) + double(alpha) * x[size_t(t)];
      const double refB = double(y0[size_t(t)]) + double(alpha) * xb.values[size_t(t)];
      // One or two roundings (FMA or multiply then add): 2 ulp of the larger operand.
      EXPECT_NEAR(y[size_t(t)], ref, 2.4e-7 * (std::fabs(y0[size_t(t)]) + std::fabs(alpha * x[size_t(t)])));
      EXPECT_NEAR(yb[size_t(t)], refB, 2.4e-7 * (std::fabs(y0[size_t(t)]) + std::fabs(alpha * xb.values[size_t(t)])));
      // A product rounds once: exactly fp32 multiplication.
      EXPECT_EQ(ys[size_t(t)], alpha * y0[size_t(t)]) << "len " << len << " t " << t;
    }
    EXPECT_TRUE(isPoison(y[size_t(len)]) && isPoison(yb[size_t(len)]) && isPoison(ys[size_t(len)]))
        << "len " << len << ": wrote past the end";
  }
}

TEST_P(CpuKernels, ForceIsaRejectsUnknownNamesAndScalarAlwaysWorks) {
  EXPECT_FALSE(forceIsa("neon"));
  EXPECT_FALSE(forceIsa(nullptr));
  EXPECT_STREQ(GetParam(), isaName());
  EXPECT_TRUE(forceIsa("scalar"));
  EXPECT_STREQ("scalar", isaName());
}

TEST_P(CpuKernels, DefaultPathIsTheWidestTheCpuSupports) {
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("f16c");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  EXPECT_EQ(avx512 ? "avx512" : avx2 ? "avx2" : "scalar", kDefaultIsa);
}

// The prefix puts "cpu_kernels" in every ctest name (ctest -R cpu_kernels).
INSTANTIATE_TEST_SUITE_P(cpu_kernels, CpuKernels, ::testing::Values("avx512", "avx2", "scalar"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace glm::cpu
