// Throughput of cpu::matmul and cpu::matmulQuantized on the shapes of a GLM-4 9B layer.
//   cpu_kernels_bench [avx512|avx2|scalar [all|gemv|gemm|peak]]   (threads: OMP_NUM_THREADS)
// GEMV (n = 1, decode): GB/s of bf16 weights read, 2 bytes per multiply-add. "cold" cycles through
// enough copies of the matrix (>= 256 MiB) that each call reads DRAM, as decode does across layers;
// "hot" repeats one matrix, which may sit in the last-level cache. The quantized GEMVs (int8, int4
// g32, through matmulQuantized) count the bytes they read, q values plus scales: 1 + 4/k and
// 0.5 + 2/32 bytes per weight against bf16's 2, so compare their times, not their GB/s, with bf16's.
// GEMM (n = 128, prefill): GFLOP/s = 2 * n * m * k / time, against the measured FMA peak.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_kernels.h"
#include "quant/quant_format.h"
#include "util/half.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint16_t> randomBf16(size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint16_t> v(count);
  for (auto& h : v) h = glm::floatToBf16(dist(rng));
  return v;
}

std::vector<float> randomFloats(size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (auto& f : v) f = dist(rng);
  return v;
}

// Runs f repeatedly for about `seconds` (at least `minRuns` times); returns the fastest run's
// seconds (the machine is shared, so the best run is the kernel's own speed).
template <typename F>
double timePerRun(F&& f, double seconds, int minRuns) {
  f();  // warm-up
  int runs = 0;
  double best = 1e30;
  const auto start = Clock::now();
  while (runs < minRuns || std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    ++runs;
  }
  return best;
}

// Copies of a weight of `bytes` bytes that together pass 256 MiB, so a "cold" run reads from memory.
size_t coldCopies(size_t bytes) { return std::max<size_t>(2, (size_t(256) << 20) / bytes + 1); }

// Prints a GEMV line: run(c) multiplies by copy c; cold cycles through the copies, hot repeats copy 0
// (which may sit in the last-level cache). GB/s of `bytes` per run.
template <class Run>
void reportGemv(int64_t m, int64_t k, const char* kind, size_t bytes, size_t copies, const Run& run) {
  size_t next = 0;
  const double cold = timePerRun(
      [&] {
        run(next);
        next = (next + 1) % copies;
      },
      0.6, 10);
  const double hot = timePerRun([&] { run(0); }, 0.3, 10);
  std::printf("GEMV %5lld x %lld %-4s: cold %6.1f GB/s (%.3f ms)   hot %6.1f GB/s (%.3f ms)\n", (long long)m,
              (long long)k, kind, double(bytes) / cold * 1e-9, cold * 1e3, double(bytes) / hot * 1e-9, hot * 1e3);
}

void benchGemv(int64_t m, int64_t k, std::mt19937& rng) {
  const size_t bytes = size_t(m * k) * 2, copies = coldCopies(bytes);
  std::vector<std::vector<uint16_t>> w;
  for (size_t c = 0; c < copies; ++c) w.push_back(randomBf16(size_t(m * k), rng));
  const std::vector<float> x = randomFloats(size_t(k), rng);
  std::vector<float> out(static_cast<size_t>(m));
  reportGemv(m, k, "bf16", bytes, copies, [&](size_t c) {
    glm::cpu::matmul(x.data(), 1, k, k, w[c].data(), glm::DType::BF16, m, nullptr, glm::DType::F32, out.data(), m);
  });
}

// A random m x k weight of an int8 or int4 format, laid out as quant/quant_format.h documents.
struct QuantizedBuffers {
  std::vector<uint8_t> data;
  std::vector<float> rowScales;       // int8
  std::vector<uint16_t> groupScales;  // int4, fp16 bits
  glm::QuantizedView view;
};

QuantizedBuffers randomQuantized(glm::WeightFormat format, int64_t m, int64_t k, std::mt19937& rng) {
  QuantizedBuffers b;
  const bool int4 = glm::isInt4(format);
  std::uniform_int_distribution<int> value(int4 ? 1 : -127, int4 ? 15 : 127);
  std::uniform_real_distribution<float> scale(0.01f, 0.02f);
  b.data.resize(size_t(glm::quantizedDataBytes(format, m, k)));
  if (int4) {
    for (auto& byte : b.data) byte = uint8_t(value(rng) | (value(rng) << 4));
    b.groupScales.resize(size_t(m * (k / glm::int4Group(format))));
    for (auto& s : b.groupScales) s = glm::floatToF16(scale(rng));
  } else {
    for (auto& byte : b.data) byte = uint8_t(int8_t(value(rng)));
    b.rowScales.resize(size_t(m));
    for (auto& s : b.rowScales) s = scale(rng);
  }
  b.view.format = format;
  b.view.name = "bench";
  b.view.rows = m;
  b.view.cols = k;
  b.view.group = glm::int4Group(format);
  b.view.data = b.data.data();
  b.view.scales = int4 ? static_cast<const void*>(b.groupScales.data()) : b.rowScales.data();
  b.view.dataBytes = glm::quantizedDataBytes(format, m, k);
  b.view.scaleBytes = glm::quantizedScaleBytes(format, m, k);
  return b;
}

// The GEMV of benchGemv with a quantized weight; GB/s of q values plus scales.
void benchGemvQuantized(int64_t m, int64_t k, glm::WeightFormat format, std::mt19937& rng) {
  const size_t bytes = size_t(glm::quantizedBytes(format, m, k)), copies = coldCopies(bytes);
  std::vector<QuantizedBuffers> w;
  for (size_t c = 0; c < copies; ++c) w.push_back(randomQuantized(format, m, k, rng));
  const std::vector<float> x = randomFloats(size_t(k), rng);
  std::vector<float> out(static_cast<size_t>(m));
  reportGemv(m, k, std::string(glm::weightFormatName(format)).c_str(), bytes, copies, [&](size_t c) {
    glm::cpu::matmulQuantized(x.data(), 1, k, k, w[c].view, nullptr, out.data(), m);
  });
}

void benchGemm(int64_t n, int64_t m, int64_t k, std::mt19937& rng) {
  const std::vector<uint16_t> w = randomBf16(size_t(m * k), rng);
  const std::vector<float> x = randomFloats(size_t(n * k), rng);
  std::vector<float> out(static_cast<size_t>(n * m));
  const double t = timePerRun(
      [&] {
        glm::cpu::matmul(x.data(), n, k, k, w.data(), glm::DType::BF16, m, nullptr, glm::DType::F32, out.data(), m);
      },
      0.6, 3);
  std::printf("GEMM %lld x %lld x %lld bf16 weights: %7.1f GFLOP/s (%.2f ms)\n", (long long)n, (long long)m,
              (long long)k, 2.0 * double(n) * double(m) * double(k) / t * 1e-9, t * 1e3);
}

// FMA peak of this machine for the AVX-512 path: 16 independent zmm FMA chains per thread (enough to
// cover latency 4 x 2 ports), 32 FLOP per FMA.
__attribute__((target("avx512f,fma"))) double avx512FmaPeakGflops() {
  constexpr int64_t kIterations = 20'000'000;
  const auto start = Clock::now();
  double sink = 0;
#pragma omp parallel reduction(+ : sink)
  {
    __m512 acc[16];
    for (int c = 0; c < 16; ++c) acc[c] = _mm512_set1_ps(float(c) * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < kIterations; ++i)
      for (int c = 0; c < 16; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    for (int c = 0; c < 16; ++c) sink += _mm512_cvtss_f32(acc[c]);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 12345.0) std::printf(" ");  // keep the loop
  return double(omp_get_max_threads()) * kIterations * 16 * 32 / seconds * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && !glm::cpu::forceIsa(argv[1])) {
    std::fprintf(stderr, "cpu_kernels_bench: path '%s' is unknown or not supported by this CPU\n", argv[1]);
    return 1;
  }
  std::printf("path %s, %d threads\n", glm::cpu::isaName(), omp_get_max_threads());
  const std::string what = argc > 2 ? argv[2] : "all";
  std::mt19937 rng(42);
  if (what == "all" || what == "gemv") {
    benchGemv(4096, 4096, rng);
    benchGemvQuantized(4096, 4096, glm::WeightFormat::Int8, rng);
    benchGemvQuantized(4096, 4096, glm::WeightFormat::Int4G32, rng);
    benchGemv(4608, 4096, rng);
  }
  if (what == "all" || what == "gemm") benchGemm(128, 4096, 4096, rng);
  if ((what == "all" || what == "peak") && __builtin_cpu_supports("avx512f"))
    std::printf("AVX-512 FMA peak: %.1f GFLOP/s\n", avx512FmaPeakGflops());
  return 0;
}
