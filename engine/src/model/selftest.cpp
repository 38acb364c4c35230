// Self-test: every Backend operation against a float64 reference written independently here, on
// fresh random inputs of several shapes (odd lengths included), then the whole model against the
// transformers fixtures (logits relative error and top-1 agreement).
#include "glmengine/selftest.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "backend/backend.h"
#include "glmengine/error.h"
#include "glmengine/sampling.h"
#include "io/model_weights.h"
#include "io/safetensors.h"
#include "model/glm_forward.h"
#include "model/random_weights.h"
#include "quant/quant_store.h"
#include "model/rope.h"
#include "util/half.h"

namespace fs = std::filesystem;

namespace glm {

bool SelftestReport::passed() const {
  if (checks.empty()) return !skipped.empty();
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

SelftestTolerances selftestTolerances(BackendKind backend) {
  // CPU: fp32 arithmetic, so operations land near 1e-6 of float64 and whole models near 1e-5 of
  // transformers in float64. GPU backends compute in bf16 with fp32 accumulation.
  if (backend == BackendKind::Cpu || backend == BackendKind::Auto) return {2e-5, 1e-4};
  return {2e-2, 2e-2};
}

namespace {

double relError(const std::vector<double>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(got[i]) - ref[i];
    if (!std::isfinite(got[i])) return INFINITY;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Owned weight bytes plus the TensorView that describes them.
struct RandomTensor {
  std::vector<std::byte> bytes;
  TensorView view;
  std::vector<double> values;  // exactly what is stored, widened to double
};

RandomTensor randomTensor(std::mt19937_64& rng, const std::string& name, DType dt, std::vector<int64_t> shape,
                          double center, double spread) {
  RandomTensor t;
  int64_t n = 1;
  for (auto d : shape) n *= d;
  t.bytes.resize(size_t(n) * dtypeSize(dt));
  t.values.resize(size_t(n));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const float v = float(center + spread * u(rng));
    switch (dt) {
      case DType::BF16: {
        const uint16_t b = floatToBf16(v);
        std::memcpy(t.bytes.data() + 2 * i, &b, 2);
        t.values[size_t(i)] = bf16ToFloat(b);
        break;
      }
      case DType::F16: {
        const uint16_t h = floatToF16(v);
        std::memcpy(t.bytes.data() + 2 * i, &h, 2);
        t.values[size_t(i)] = f16ToFloat(h);
        break;
      }
      default:
        std::memcpy(t.bytes.data() + 4 * i, &v, 4);
        t.values[size_t(i)] = v;
    }
  }
  t.view.name = name;
  t.view.dtype = dt;
  t.view.shape = shape;
  t.view.data = t.bytes.data();
  t.view.bytes = t.bytes.size();
  t.view.file = "<selftest>";
  return t;
}

std::vector<float> randomFloats(std::mt19937_64& rng, size_t n, double spread) {
  std::uniform_real_distribution<double> u(-spread, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = float(u(rng));
  return v;
}

class Checker {
 public:
  Checker(Backend& b, BackendKind kind, std::mt19937_64& rng, SelftestReport& report,
          const std::function<void(const SelftestCheck&)>& onCheck)
      : b_(b), tol_(selftestTolerances(kind)), rng_(rng), report_(report), onCheck_(onCheck) {}

  void record(std::string name, double error, double tolerance, std::string detail = {}) {
    SelftestCheck c{std::move(name), error, tolerance, std::isfinite(error) && error <= tolerance, std::move(detail)};
    report_.checks.push_back(c);
    if (onCheck_) onCheck_(c);
  }

  Tensor upload(const std::vector<float>& host, int64_t rows, int64_t cols) {
    Tensor t = b_.allocate(rows, cols);
    b_.upload(host.data(), t);
    return t;
  }
  std::vector<float> fetch(Tensor t) {
    std::vector<float> v(size_t(t.rows * t.cols));
    b_.synchronize();
    b_.download(t, v.data());
    return v;
  }

  void matmul(int64_t n, int64_t k, int64_t m, DType dt, bool bias) {
    auto w = randomTensor(rng_, "w", dt, {m, k}, 0.0, 1.0 / std::sqrt(double(k)));
    auto bs = randomTensor(rng_, "b", dt, {m}, 0.0, 0.5);
    LinearView lv;
    lv.parts.push_back(&w.view);
    if (bias) lv.biasParts.push_back(&bs.view);
    lv.outFeatures = m;
    lv.inFeatures = k;
    WeightHandle h = b_.uploadLinear(lv, WeightFormat::Native);
    auto x = randomFloats(rng_, size_t(n * k), 1.0);
    Tensor xt = upload(x, n, k), out = b_.allocate(n, m);
    b_.matmul(xt, h, out);
    std::vector<double> ref(size_t(n * m));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = bias ? bs.values[size_t(j)] : 0.0;
        for (int64_t c = 0; c < k; ++c) s += double(x[size_t(i * k + c)]) * w.values[size_t(j * k + c)];
        ref[size_t(i * m + j)] = s;
      }
    record(fmt::format("matmul {}x{}x{} {}{}", n, k, m, dtypeName(dt), bias ? " +bias" : ""), relError(ref, fetch(out)),
           tol_.kernel);
  }

  // Q/K/V split across three parts (the transformers layout) must equal one fused matrix.
  void matmulSplit(int64_t n, int64_t k) {
    std::vector<RandomTensor> parts, biases;
    const int64_t rows[3] = {64, 32, 32};
    LinearView lv;
    for (int p = 0; p < 3; ++p) {
      parts.push_back(randomTensor(rng_, "w", DType::BF16, {rows[p], k}, 0.0, 0.2));
      biases.push_back(randomTensor(rng_, "b", DType::BF16, {rows[p]}, 0.0, 0.2));
    }
    for (int p = 0; p < 3; ++p) {
      lv.parts.push_back(&parts[size_t(p)].view);
      lv.biasParts.push_back(&biases[size_t(p)].view);
    }
    lv.outFeatures = 128;
    lv.inFeatures = k;
    WeightHandle h = b_.uploadLinear(lv, WeightFormat::Native);
    auto x = randomFloats(rng_, size_t(n * k), 1.0);
    Tensor out = b_.allocate(n, 128);
    b_.matmul(upload(x, n, k), h, out);
    std::vector<double> ref(size_t(n * 128));
    for (int64_t i = 0; i < n; ++i) {
      int64_t col = 0;
      for (int p = 0; p < 3; ++p)
        for (int64_t j = 0; j < rows[p]; ++j, ++col) {
          double s = biases[size_t(p)].values[size_t(j)];
          for (int64_t c = 0; c < k; ++c) s += double(x[size_t(i * k + c)]) * parts[size_t(p)].values[size_t(j * k + c)];
          ref[size_t(i * 128 + col)] = s;
        }
    }
    record(fmt::format("matmul split q/k/v {}x{}", n, k), relError(ref, fetch(out)), tol_.kernel);
  }

  void rmsNorm(int64_t n, int64_t dim, float eps, double scaleOfX, bool withResidual) {
    auto w = randomTensor(rng_, "norm", DType::BF16, {dim}, 1.0, 0.3);
    WeightHandle h = b_.uploadVector(w.view);
    auto x = randomFloats(rng_, size_t(n * dim), scaleOfX);
    auto r = randomFloats(rng_, size_t(n * dim), scaleOfX);
    Tensor xt = upload(x, n, dim), out = b_.allocate(n, dim);
    Tensor rt = upload(r, n, dim);
    if (withResidual)
      b_.addRmsNorm(rt, xt, h, eps, out);
    else
      b_.rmsNorm(xt, h, eps, out);
    std::vector<double> ref(size_t(n * dim)), refResidual(size_t(n * dim));
    for (int64_t i = 0; i < n; ++i) {
      double ss = 0;
      std::vector<double> row(static_cast<size_t>(dim));
      for (int64_t c = 0; c < dim; ++c) {
        row[size_t(c)] = withResidual ? double(r[size_t(i * dim + c)]) + double(x[size_t(i * dim + c)]) : x[size_t(i * dim + c)];
        refResidual[size_t(i * dim + c)] = row[size_t(c)];
        ss += row[size_t(c)] * row[size_t(c)];
      }
      const double inv = 1.0 / std::sqrt(ss / double(dim) + double(eps));
      for (int64_t c = 0; c < dim; ++c) ref[size_t(i * dim + c)] = row[size_t(c)] * inv * w.values[size_t(c)];
    }
    const std::string name = fmt::format("{} {}x{} |x|~{:g}", withResidual ? "add+rmsnorm" : "rmsnorm", n, dim, scaleOfX);
    record(name, relError(ref, fetch(out)), tol_.kernel);
    if (withResidual) record(name + " (residual)", relError(refResidual, fetch(rt)), tol_.kernel);
  }

  void swiGlu(int64_t n, int64_t ffn) {
    auto g = randomFloats(rng_, size_t(n * 2 * ffn), 4.0);
    Tensor out = b_.allocate(n, ffn);
    b_.swiGlu(upload(g, n, 2 * ffn), out);
    std::vector<double> ref(size_t(n * ffn));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < ffn; ++j) {
        const double a = g[size_t(i * 2 * ffn + j)], u = g[size_t(i * 2 * ffn + ffn + j)];
        ref[size_t(i * ffn + j)] = a / (1.0 + std::exp(-a)) * u;
      }
    record(fmt::format("swiglu {}x{}", n, ffn), relError(ref, fetch(out)), tol_.kernel);
  }

  // A quantized weight (quantizeLinear, as on load) against float64 over its dequantized values: the
  // backend's int8/int4 GEMV (one row) or its GEMM path (several).
  void matmulQuantized(int64_t n, int64_t k, int64_t m, WeightFormat format, bool bias) {
    auto w = randomTensor(rng_, "wq", DType::BF16, {m, k}, 0.0, 1.0 / std::sqrt(double(k)));
    auto bs = randomTensor(rng_, "b", DType::BF16, {m}, 0.0, 0.5);
    LinearView lv;
    lv.parts.push_back(&w.view);
    if (bias) lv.biasParts.push_back(&bs.view);
    lv.outFeatures = m;
    lv.inFeatures = k;
    const QuantizedMatrix q = quantizeLinear(lv, format);
    WeightHandle h = b_.uploadQuantized(q.view, lv);
    auto x = randomFloats(rng_, size_t(n * k), 1.0);
    Tensor out = b_.allocate(n, m);
    b_.matmul(upload(x, n, k), h, out);
    std::vector<double> ref(size_t(n * m));
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t j = 0; j < m; ++j) {
      dequantizeRow(q.view, j, row.data());
      for (int64_t i = 0; i < n; ++i) {
        double acc = bias ? bs.values[size_t(j)] : 0.0;
        for (int64_t c = 0; c < k; ++c) acc += double(x[size_t(i * k + c)]) * row[size_t(c)];
        ref[size_t(i * m + j)] = acc;
      }
    }
    record(fmt::format("matmul {} {}x{}x{}{}", weightFormatName(format), n, k, m, bias ? " +bias" : ""),
           relError(ref, fetch(out)), tol_.kernel);
  }

  // The MLP's gate/up projection with SwiGLU (fused for one row on Vulkan) against float64.
  void matmulSwiGlu(int64_t n, int64_t k, int64_t ffn, bool bias) {
    auto w = randomTensor(rng_, "gate_up", DType::BF16, {2 * ffn, k}, 0.0, 2.0 / std::sqrt(double(k)));
    auto bs = randomTensor(rng_, "b", DType::BF16, {2 * ffn}, 0.0, 0.5);
    LinearView lv;
    lv.parts.push_back(&w.view);
    if (bias) lv.biasParts.push_back(&bs.view);
    lv.outFeatures = 2 * ffn;
    lv.inFeatures = k;
    WeightHandle h = b_.uploadLinear(lv, WeightFormat::Native);
    auto x = randomFloats(rng_, size_t(n * k), 1.0);
    Tensor gateUp = b_.allocate(n, 2 * ffn), out = b_.allocate(n, ffn);
    b_.matmulSwiGlu(upload(x, n, k), h, gateUp, out);
    std::vector<double> ref(size_t(n * ffn));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < ffn; ++j) {
        double g = bias ? bs.values[size_t(j)] : 0.0, u = bias ? bs.values[size_t(ffn + j)] : 0.0;
        for (int64_t c = 0; c < k; ++c) {
          g += double(x[size_t(i * k + c)]) * w.values[size_t(j * k + c)];
          u += double(x[size_t(i * k + c)]) * w.values[size_t((ffn + j) * k + c)];
        }
        ref[size_t(i * ffn + j)] = g / (1.0 + std::exp(-g)) * u;
      }
    record(fmt::format("matmul+swiglu {}x{}x{}{}", n, k, ffn, bias ? " +bias" : ""), relError(ref, fetch(out)),
           tol_.kernel);
  }

  void embed(int64_t vocab, int64_t dim, DType dt) {
    auto table = randomTensor(rng_, "embed", dt, {vocab, dim}, 0.0, 1.0);
    WeightHandle h = b_.uploadEmbedding(table.view);
    const std::vector<int32_t> ids = randomIds(vocab);
    Tensor out = b_.allocate(int64_t(ids.size()), dim);
    b_.embed(h, ids, out);
    std::vector<double> ref;
    for (int32_t id : ids)
      for (int64_t c = 0; c < dim; ++c) ref.push_back(table.values[size_t(id * dim + c)]);
    record(fmt::format("embedding {} rows {}", ids.size(), dtypeName(dt)), relError(ref, fetch(out)), 0.0);
  }

  // 13 token ids of a vocab, the last row among them.
  std::vector<int32_t> randomIds(int64_t vocab) {
    std::uniform_int_distribution<int32_t> pick(0, int32_t(vocab - 1));
    std::vector<int32_t> ids(13);
    for (auto& id : ids) id = pick(rng_);
    ids[0] = int32_t(vocab - 1);
    return ids;
  }

  // The int8 embedding table of quantized models (uploadQuantizedEmbedding): rows read back exactly as
  // their dequantized values q * scale.
  void embedQuantized(int64_t vocab, int64_t dim) {
    auto table = randomTensor(rng_, "embed", DType::BF16, {vocab, dim}, 0.0, 1.0);
    LinearView lv;
    lv.parts.push_back(&table.view);
    lv.outFeatures = vocab;
    lv.inFeatures = dim;
    const QuantizedMatrix q = quantizeLinear(lv, WeightFormat::Int8);
    WeightHandle h = b_.uploadQuantizedEmbedding(q.view);
    const std::vector<int32_t> ids = randomIds(vocab);
    Tensor out = b_.allocate(int64_t(ids.size()), dim);
    b_.embed(h, ids, out);
    std::vector<double> ref;
    std::vector<float> row(static_cast<size_t>(dim));
    for (int32_t id : ids) {
      dequantizeRow(q.view, id, row.data());
      ref.insert(ref.end(), row.begin(), row.end());
    }
    record(fmt::format("embedding {} rows int8 ({} x {})", ids.size(), vocab, dim), relError(ref, fetch(out)), 0.0);
  }

  // The backend's own argmax (greedy sampling where the logits live): of two equal maxima the lower
  // index wins; -inf at the start is never chosen over a real value.
  void argmax(int64_t n) {
    auto x = randomFloats(rng_, size_t(n), 10.0);
    const size_t lo = size_t(n / 3), hi = size_t(n * 2 / 3);
    x[lo] = x[hi] = 1000.0f;
    x[0] = -std::numeric_limits<float>::infinity();
    const int32_t got = b_.argmaxRow(upload(x, 1, n));
    record(fmt::format("argmax of {} (tie at {} and {})", n, lo, hi), got == int32_t(lo) ? 0.0 : 1.0, 0.0,
           fmt::format("chose {}", got));
  }

  // The device's best candidates of a logits row (Backend::bestOfRow, for Sampler::sampleFromBest): the
  // same entries in the same order as a full sort on the host (larger value first, then the lower id)
  // and the softmax sum against float64. `levels` > 0 quantises the row to that many distinct values
  // (ties everywhere, crowded histogram buckets).
  // unaligned: the row starts one float into its buffer (no 16-byte loads).
  void bestOfRow(int64_t n, int count, float temperature, int levels, bool unaligned = false) {
    auto x = randomFloats(rng_, size_t(n), 8.0);
    if (levels > 0)
      for (float& v : x) v = std::round(v * float(levels) / 16.0f) * 16.0f / float(levels);
    x[size_t(n / 2)] = -std::numeric_limits<float>::infinity();
    std::vector<std::pair<float, int32_t>> best;
    double total = 0.0;
    const std::string name = fmt::format("best {} of {} logits, T {:g}{}{}", count, n, temperature,
                                         levels > 0 ? fmt::format(", {} distinct values", levels) : "",
                                         unaligned ? ", unaligned row" : "");
    std::vector<float> padded(x);
    if (unaligned) padded.insert(padded.begin(), 0.0f);
    const Tensor row = upload(padded, 1, int64_t(padded.size())).colSlice(unaligned ? 1 : 0, n);
    if (!b_.bestOfRow(row, count, 1.0f / temperature, best, total)) best.clear();
    std::vector<std::pair<float, int32_t>> ref;
    for (int64_t i = 0; i < n; ++i) ref.emplace_back(x[size_t(i)], int32_t(i));
    std::sort(ref.begin(), ref.end(),
              [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    double refTotal = 0.0;
    for (const auto& r : ref) refTotal += std::exp((double(r.first) - double(ref[0].first)) / double(temperature));
    size_t mismatches = 0;
    for (size_t i = 0; i < best.size() && i < ref.size(); ++i) mismatches += best[i] != ref[i];
    // Fewer than asked for only where the entries tied at the cut would not fit in the 1024 (then the
    // sampler takes the whole row).
    size_t tiedAtCut = 0;
    if (best.size() < ref.size())
      for (const auto& r : ref) tiedAtCut += r.first == ref[best.size()].first;
    // Entries more than 32 temperature units below the top (weight < e^-32) need not be candidates.
    size_t near = 0;
    for (const auto& r : ref) near += (double(ref[0].first) - double(r.first)) / double(temperature) < 31.9;
    const bool enough = best.size() <= 1024 && (best.size() >= std::min<size_t>(size_t(count), near) ||
                                                best.size() + tiedAtCut > 1024);
    const double err = best.empty() ? 0.0 : std::abs(total - refTotal) / refTotal;
    record(name, mismatches == 0 && enough ? err : 1.0, 1e-5,
           fmt::format("{} candidates, {} out of order{}", best.size(), mismatches,
                       best.size() < size_t(count) && tiedAtCut > 0 ? fmt::format(", {} tie at the cut", tiedAtCut) : ""));
  }

  // A row holding a NaN or +inf: the device declines it (the sampler then takes the row on the host), and
  // the next row is served again.
  void bestOfRowDeclines(int64_t n, float bad) {
    auto x = randomFloats(rng_, size_t(n), 8.0);
    x[size_t(n - 3)] = bad;
    std::vector<std::pair<float, int32_t>> best;
    double total = 0.0;
    const bool served = b_.bestOfRow(upload(x, 1, n), 256, 1.0f, best, total);
    x[size_t(n - 3)] = 0.0f;
    std::vector<std::pair<float, int32_t>> after;
    const bool servedAfter = b_.bestOfRow(upload(x, 1, n), 1, 1.0f, after, total);
    const auto top = std::max_element(x.begin(), x.end());
    const bool ok = !served && best.empty() && servedAfter && !after.empty() &&
                    after[0].second == int32_t(top - x.begin());
    record(fmt::format("best of {} logits with a {} declined", n, bad), ok ? 0.0 : 1.0, 0.0,
           fmt::format("{}, {} candidates; then {}", served ? "served" : "declined", best.size(),
                       servedAfter ? "served" : "declined"));
  }

  // RoPE + KV append + causal GQA attention, against float64 math written out here. The cache is
  // filled with `pos0` random positions first (RoPE'd by the backend: the reference applies the same
  // rotation), then `n` query rows at pos0.. attend over everything.
  void attention(const ModelConfig& cfg, int64_t pos0, int64_t n, DType kvType, const std::string& label) {
    if (const char* only = std::getenv("GLMCHAT_SELFTEST_ONLY"); only && label.find(only) == std::string::npos) return;
    const int nh = cfg.numHeads, nkv = cfg.numKvHeads, hd = cfg.headDim;
    const int64_t cols = int64_t(nh + 2 * nkv) * hd;
    const RopeParams rope = computeRopeParams(cfg);
    AttentionShape shape{nh, nkv, hd, float(1.0 / std::sqrt(double(hd)))};
    auto cache = b_.createKvCache(1, nkv, hd, pos0 + n, kvType);
    const int64_t total = pos0 + n;
    std::vector<float> all = randomFloats(rng_, size_t(total * cols), 2.0);
    // Prefix in chunks through the backend (its rotated K/V land in the cache).
    const int64_t chunk = 4096;
    for (int64_t p = 0; p < pos0; p += chunk) {
      const int64_t m = std::min(chunk, pos0 - p);
      std::vector<float> part(all.begin() + p * cols, all.begin() + (p + m) * cols);
      Tensor t = upload(part, m, cols);
      b_.ropeAppendKv(t, shape, rope, *cache, 0, p);
    }
    std::vector<float> rows(all.begin() + pos0 * cols, all.end());
    Tensor qkv = upload(rows, n, cols), out = b_.allocate(n, int64_t(nh) * hd);
    b_.ropeAppendKv(qkv, shape, rope, *cache, 0, pos0);
    b_.attention(qkv, shape, *cache, 0, pos0, out);

    // Reference: rotate every position's K (and the queries) in double from the same fp32 angles.
    auto rotate = [&](const float* src, int64_t pos, double* dst) {
      for (int d = 0; d < hd; ++d) dst[d] = src[d];
      for (int i = 0; i < rope.rotaryDim / 2; ++i) {
        const float angle = float(pos) * rope.invFreq[size_t(i)];
        const double c = std::cos(double(angle)) * rope.attentionScaling, s = std::sin(double(angle)) * rope.attentionScaling;
        const double a = src[2 * i], b = src[2 * i + 1];
        dst[2 * i] = a * c - b * s;
        dst[2 * i + 1] = b * c + a * s;
      }
    };
    const bool bf16 = kvType == DType::BF16, i8 = kvType == DType::I8;
    auto roundKv = [&](double v) { return bf16 ? double(bf16ToFloat(floatToBf16(float(v)))) : double(float(v)); };
    // I8: each vector through the cache's rule (quantizeKvVector) and back.
    std::vector<float> vec(static_cast<size_t>(hd));
    std::vector<int8_t> q8(static_cast<size_t>(hd));
    auto quantizeKv = [&](double* x) {
      for (int d = 0; d < hd; ++d) vec[size_t(d)] = float(x[d]);
      const float s = quantizeKvVector(vec.data(), hd, q8.data());
      for (int d = 0; d < hd; ++d) x[d] = double(float(q8[size_t(d)]) * s);
    };
    std::vector<double> keys(size_t(total * nkv * hd)), values(size_t(total * nkv * hd));
    for (int64_t p = 0; p < total; ++p)
      for (int h = 0; h < nkv; ++h) {
        const float* k = all.data() + p * cols + int64_t(nh + h) * hd;
        const float* v = all.data() + p * cols + int64_t(nh + nkv + h) * hd;
        double* kd = keys.data() + (p * nkv + h) * hd;
        rotate(k, p, kd);
        double* vd = values.data() + (p * nkv + h) * hd;
        for (int d = 0; d < hd; ++d) {
          kd[d] = roundKv(kd[d]);
          vd[d] = roundKv(v[d]);
        }
        if (i8) {
          quantizeKv(kd);
          quantizeKv(vd);
        }
      }
    std::vector<double> ref(size_t(n * nh * hd));
    const int group = nh / nkv;
    std::vector<double> q(static_cast<size_t>(hd)), scores;
#pragma omp parallel for private(q, scores) schedule(dynamic)
    for (int64_t idx = 0; idx < n * nh; ++idx) {
      const int64_t r = idx / nh;
      const int h = int(idx % nh);
      q.resize(size_t(hd));
      rotate(rows.data() + r * cols + int64_t(h) * hd, pos0 + r, q.data());
      const int kvh = h / group;
      const int64_t len = pos0 + r + 1;
      scores.assign(size_t(len), 0.0);
      double mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        double s = 0;
        for (int d = 0; d < hd; ++d) s += q[size_t(d)] * keys[size_t((j * nkv + kvh) * hd + d)];
        scores[size_t(j)] = s / std::sqrt(double(hd));
        mx = std::max(mx, scores[size_t(j)]);
      }
      double sum = 0;
      for (auto& s : scores) sum += (s = std::exp(s - mx));
      for (int d = 0; d < hd; ++d) {
        double o = 0;
        for (int64_t j = 0; j < len; ++j) o += scores[size_t(j)] * values[size_t((j * nkv + kvh) * hd + d)];
        ref[size_t((r * nh + h) * hd + d)] = o / sum;
      }
    }
    // I8: the reference quantizes K rotated in float64, the backend K rotated in fp32, so a value on a
    // rounding boundary may land one step apart (a change of s/2 in one of 128 values).
    record(fmt::format("rope+attention {} ctx {}+{} {}/{} heads x{} KV {}", label, pos0, n, nh, nkv, hd,
                       kvCacheName(kvType)),
           relError(ref, fetch(out)), kvType == DType::F32 ? std::max(tol_.kernel, 5e-5)
           : kvType == DType::I8 ? std::max(tol_.kernel, 5e-3) : std::max(tol_.kernel, 1e-2));
  }

 private:
  Backend& b_;
  SelftestTolerances tol_;
  std::mt19937_64& rng_;
  SelftestReport& report_;
  const std::function<void(const SelftestCheck&)>& onCheck_;
};

// The backend under test; nullptr with `skip` set when there is no device to run it on (and skipping
// is allowed).
std::unique_ptr<Backend> makeBackend(const SelftestOptions& opt, std::string& skip) {
  const BackendKind kind = opt.backend;
  if (kind == BackendKind::Cpu || kind == BackendKind::Auto) return createCpuBackend(opt.threads);
  if (kind == BackendKind::Cuda) {
    std::string why;
    if (auto b = loadCudaBackend(why)) return b;
    if (why.rfind("no CUDA device", 0) == 0 && !opt.noSkip) {  // a machine without a GPU: a visible skip
      skip = fmt::format("SKIP: {}", why);
      return nullptr;
    }
    throw Error(fmt::format("selftest: backend 'cuda' is not available: {}", why));
  }
  if (kind == BackendKind::Vulkan) {
    std::string why;
    if (auto b = loadVulkanBackend(opt.gpuDevice, why)) return b;
    const bool noDevice = why.find("Vulkan is not usable here") != std::string::npos ||
                          why.find("no device found") != std::string::npos;
    if (noDevice && !opt.noSkip) {
      skip = fmt::format("SKIP: {}", why);
      return nullptr;
    }
    throw Error(fmt::format("selftest: backend 'vulkan' is not available: {}", why));
  }
  throw Error(fmt::format("selftest: backend '{}' is not available in this build", backendName(kind)));
}

// The decode path of a whole model on the backend under test against the CPU backend: a GLM-4-9B-shaped
// model cut to a few layers and a smaller vocabulary, a prefill of `prompt` tokens (chunked), then
// `steps` decode steps through GlmForward::step (on CUDA: a recorded graph, replayed from the second
// step). Each step's logits are compared (relative error and top-1).
void checkDecodePath(Backend& b, BackendKind kind, int prompt, int steps, int chunk, bool narrow,
                     SelftestReport& report, const std::function<void(const SelftestCheck&)>& onCheck,
                     WeightFormat weights = WeightFormat::Native, DType kvType = DType::BF16) {
  ModelConfig cfg = shapeConfig("glm-4-9b");
  cfg.numLayers = 2;
  cfg.vocabSize = 8192;
  if (narrow) {  // a software device (lavapipe): GLM-4's attention shape with a narrow residual stream and MLP
    cfg.hiddenSize = 1024;
    cfg.ffnHiddenSize = 2048;
  }
  auto store = makeRandomWeights(cfg, 7, DType::BF16, {});
  const ModelWeights bound = bindWeights(cfg, *store);
  auto cpu = createCpuBackend(0);
  // With quantized weights both sides get the same quantized values: this checks the backend's quantized
  // GEMV (and its fused decode variants) and its prefill path against the CPU's.
  const auto quant = weights == WeightFormat::Native ? nullptr : quantizeModel(bound, weights, {});
  GlmForward ref(*cpu, cfg, uploadWeights(*cpu, bound, {}, quant.get()), chunk, 1);
  GlmForward got(b, cfg, uploadWeights(b, bound, {}, quant.get()), chunk, 1);
  // One position more than the steps: the step that greedy decoding runs ahead (below).
  auto refCache = cpu->createKvCache(cfg.numLayers, cfg.numKvHeads, cfg.headDim, prompt + steps + 1, kvType);
  auto gotCache = b.createKvCache(cfg.numLayers, cfg.numKvHeads, cfg.headDim, prompt + steps + 1, kvType);
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int32_t> pick(0, cfg.vocabSize - 1);
  std::vector<int32_t> ids(size_t(prompt + steps));
  for (auto& id : ids) id = pick(rng);
  const size_t vocab = size_t(cfg.vocabSize);
  std::vector<float> refLogits(vocab), gotLogits(vocab);
  for (int start = 0; start < prompt; start += chunk) {
    const int n = std::min(chunk, prompt - start);
    const int64_t last = n - 1;
    const bool isLast = start + n == prompt;
    const std::span<const int64_t> rows = isLast ? std::span<const int64_t>(&last, 1) : std::span<const int64_t>();
    ref.run(std::span<const int32_t>(ids).subspan(size_t(start), size_t(n)), start, *refCache, rows, refLogits.data());
    got.run(std::span<const int32_t>(ids).subspan(size_t(start), size_t(n)), start, *gotCache, rows, gotLogits.data());
  }
  const double tol = selftestTolerances(kind).fixture;
  // Top-1 agreement: our best token must be the reference's, or one whose reference logit lies within
  // 2 x tol x the reference row's RMS of the reference's best: each of the two logits may be off by the
  // check's own error tolerance (tol x RMS), so their order is decided only beyond twice that. A near-tie
  // is listed in the detail, not counted (seen: int4 weights meeting int8-quantized activations in the CUDA
  // GEMV, a 0.0204 margin between the two best logits at ~3.76 that flipped with the attention's split
  // size, RMS 1.02).
  struct TopOne {
    bool agrees = true;  // the same token, or a near-tie
    std::string detail;  // what differed ("" when the tokens are the same)
  };
  auto topOne = [&]() -> TopOne {
    const size_t refTop = size_t(std::max_element(refLogits.begin(), refLogits.end()) - refLogits.begin());
    const size_t gotTop = size_t(std::max_element(gotLogits.begin(), gotLogits.end()) - gotLogits.begin());
    if (refTop == gotTop) return {};
    double ss = 0.0;
    for (float v : refLogits) ss += double(v) * v;
    const double band = 2.0 * tol * std::sqrt(ss / double(refLogits.size()));
    const double margin = double(refLogits[refTop]) - refLogits[gotTop];
    const bool nearTie = margin <= band;
    return {nearTie, fmt::format("{}reference best {} ({:.4f}), ours {} ({:.4f} in the reference, margin {:.4f}, "
                                 "near-tie band {:.4f}; ours {:.4f} and {:.4f})",
                                 nearTie ? "near-tie: " : "", refTop, refLogits[refTop], gotTop, refLogits[gotTop],
                                 margin, band, gotLogits[refTop], gotLogits[gotTop])};
  };
  auto compare = [&](const std::string& name) {
    const std::vector<double> r(refLogits.begin(), refLogits.end());
    const TopOne top = topOne();
    const double err = relError(r, gotLogits);
    SelftestCheck c{name, err, tol, std::isfinite(err) && err <= tol && top.agrees, top.detail};
    report.checks.push_back(c);
    if (onCheck) onCheck(c);
  };
  std::string label = narrow ? "model glm-4-9b attention, hidden 1024, x2 layers" : "model glm-4-9b x2 layers";
  if (weights != WeightFormat::Native) label += fmt::format(" ({} weights)", weightFormatName(weights));
  if (kvType != DType::BF16) label += fmt::format(" ({} KV cache)", kvCacheName(kvType));
  compare(fmt::format("{}: prefill {} tokens (chunks of {})", label, prompt, chunk));
  double worst = 0;
  int topMismatch = 0;
  std::string mismatches;  // what each top-1 difference looked like (near-ties are listed, not counted)
  auto compareStep = [&](const std::string& which) {  // the step's logits (refLogits, gotLogits) into the above
    const std::vector<double> r(refLogits.begin(), refLogits.end());
    worst = std::max(worst, relError(r, gotLogits));
    if (const TopOne top = topOne(); !top.detail.empty()) {
      topMismatch += !top.agrees;
      mismatches += fmt::format("; {}: {}", which, top.detail);
    }
  };
  for (int s = 0; s < steps; ++s) {
    const int64_t pos = prompt + s;
    const int32_t token = ids[size_t(pos)];
    const int64_t row = 0;
    ref.run(std::span<const int32_t>(&token, 1), pos, *refCache, std::span<const int64_t>(&row, 1), refLogits.data());
    got.step(token, pos, *gotCache, gotLogits.data());
    compareStep(fmt::format("step {}", s));
    if (s == steps - 1 && got.greedyToken(int64_t(gotLogits.size())) != int32_t(std::max_element(gotLogits.begin(), gotLogits.end()) - gotLogits.begin()))
      ++topMismatch;  // the backend's own argmax must name the same token
  }
  // Sampling where the logits live, on the last step's row: the same tokens as the host sampler on the
  // downloaded row, for seeded draws with top-k (the host's arithmetic) and top-p alone (the device's sum).
  int samplingMismatch = 0, sampledOnDevice = 0;
  for (const int topK : {40, 0}) {
    SamplingParams sp;
    sp.temperature = 0.7f;
    sp.topK = topK;
    sp.topP = 0.9f;
    for (uint64_t seed = 1; seed <= 16; ++seed) {
      sp.seed = seed;
      Sampler onHost(sp), onDevice(sp);
      std::vector<std::pair<float, int32_t>> best;
      double total = 0.0;
      int32_t token = -1;
      if (got.bestOfLogits(cfg.vocabSize, 256, sp.invTemperature(), best, total)) {
        token = onDevice.sampleFromBest(best, total, vocab);
        sampledOnDevice += token >= 0;
      }
      if (token < 0) token = onDevice.sample(gotLogits, {});
      samplingMismatch += token != onHost.sample(gotLogits, {});
    }
  }
  // Greedy decoding one step ahead (GlmForward::greedyTokenThenStep): the argmax's token, and where the backend
  // starts that token's step before the token reaches the host (CUDA), that step's logits against the
  // reference's step of the same token. GLMCHAT_STEP_AHEAD=0 turns it off.
  const int32_t lastTop = int32_t(std::max_element(gotLogits.begin(), gotLogits.end()) - gotLogits.begin());
  bool launched = false;
  const int32_t aheadToken = got.greedyTokenThenStep(cfg.vocabSize, *gotCache, prompt + steps, launched);
  topMismatch += aheadToken != lastTop;
  const char* aheadEnv = std::getenv("GLMCHAT_STEP_AHEAD");
  const bool aheadExpected = kind == BackendKind::Cuda && !(aheadEnv && std::string(aheadEnv) == "0");
  if (launched) {
    const int64_t row = 0;
    ref.run(std::span<const int32_t>(&aheadToken, 1), prompt + steps, *refCache, std::span<const int64_t>(&row, 1),
            refLogits.data());
    got.downloadLogits(gotLogits.data());
    compareStep("the step ahead");
  }
  SelftestCheck c{fmt::format("{}: {} decode steps after {} (recorded step{})", label, steps, prompt,
                              b.supportsStepCapture() ? ", replayed" : " not supported"),
                  worst, tol,
                  std::isfinite(worst) && worst <= tol && topMismatch == 0 && samplingMismatch == 0 &&
                      (launched || !aheadExpected),
                  fmt::format("worst step; top-1 mismatches: {}{}; sampled tokens unlike the host's: {} of 32 ({} "
                              "decided from the device's candidates); greedy step ahead: {}{}",
                              topMismatch, mismatches, samplingMismatch, sampledOnDevice,
                              launched ? "run and checked" : "not run",
                              launched || !aheadExpected ? "" : " (expected on this backend)")};
  report.checks.push_back(c);
  if (onCheck) onCheck(c);
}

void checkFixture(const fs::path& dir, const SelftestOptions& opt, SelftestReport& report,
                  const std::function<void(const SelftestCheck&)>& onCheck) {
  const auto tol = selftestTolerances(opt.backend);
  const std::string name = dir.filename().string();
  auto expected = SafetensorsFile::open(dir / "expected.safetensors");
  LoadOptions lo;
  lo.path = dir;
  lo.backend = opt.backend;
  lo.threads = opt.threads;
  lo.gpuDevice = opt.gpuDevice;
  auto model = Model::load(lo);
  const int64_t vocab = model->config().vocabSize;
  for (int c = 0;; ++c) {
    const TensorView* ids = expected->find(fmt::format("case{}.ids", c));
    if (!ids) break;
    const TensorView* pos = expected->find(fmt::format("case{}.positions", c));
    const TensorView* logits = expected->find(fmt::format("case{}.logits", c));
    if (!pos || !logits || ids->dtype != DType::I32 || pos->dtype != DType::I32 || logits->dtype != DType::F32)
      throw Error(fmt::format("{}: case{} is incomplete (needs I32 ids, I32 positions, F32 logits)",
                              (dir / "expected.safetensors").string(), c));
    std::vector<int32_t> tokenIds(size_t(ids->numel()));
    std::memcpy(tokenIds.data(), ids->data, ids->bytes);
    std::vector<int32_t> p32(size_t(pos->numel()));
    std::memcpy(p32.data(), pos->data, pos->bytes);
    std::vector<int64_t> positions(p32.begin(), p32.end());
    std::vector<float> want(size_t(logits->numel()));
    std::memcpy(want.data(), logits->data, logits->bytes);
    if (int64_t(want.size()) != int64_t(positions.size()) * vocab)
      throw Error(fmt::format("{}: case{}.logits has {} values, expected {} x {}", (dir / "expected.safetensors").string(),
                              c, want.size(), positions.size(), vocab));
    LoadOptions lo2 = lo;
    auto session = model->newSession();
    if (int64_t(tokenIds.size()) > session->contextLength()) {
      lo2.contextLength = int64_t(tokenIds.size());
      model = Model::load(lo2);
      session = model->newSession();
    }
    const auto got = session->logitsAt(tokenIds, positions);
    std::vector<double> ref(want.begin(), want.end());
    int top1Mismatch = 0;
    for (size_t r = 0; r < positions.size(); ++r) {
      const float* g = got.data() + r * size_t(vocab);
      const float* w = want.data() + r * size_t(vocab);
      if (std::max_element(g, g + vocab) - g != std::max_element(w, w + vocab) - w) ++top1Mismatch;
    }
    const double err = relError(ref, got);
    SelftestCheck check{fmt::format("fixture {} case{} ({} tokens, {} positions)", name, c, tokenIds.size(), positions.size()),
                        err, tol.fixture, std::isfinite(err) && err <= tol.fixture && top1Mismatch == 0,
                        fmt::format("top-1 mismatches: {}", top1Mismatch)};
    report.checks.push_back(check);
    if (onCheck) onCheck(check);
  }
}

}  // namespace

SelftestReport runSelftest(const SelftestOptions& opt, const std::function<void(const SelftestCheck&)>& onCheck) {
  SelftestReport report;
  report.seed = opt.seed ? opt.seed : uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  std::mt19937_64 rng(report.seed);
  auto backend = makeBackend(opt, report.skipped);
  if (!backend) {
    report.backend = report.skipped;
    return report;
  }
  report.backend = backend->describe();
  Checker ck(*backend, opt.backend, rng, report, onCheck);

  for (DType dt : {DType::BF16, DType::F16, DType::F32}) {
    ck.matmul(1, 4096, 300, dt, true);
    ck.matmul(7, 33, 5, dt, false);
    ck.matmul(37, 256, 129, dt, true);
  }
  ck.matmulSplit(3, 96);
  ck.rmsNorm(5, 4096, 1.5625e-07f, 1.0, false);
  ck.rmsNorm(3, 4096, 1.5625e-07f, 1e-3, true);
  ck.rmsNorm(2, 128, 1e-5f, 300.0, true);
  ck.rmsNorm(1, 4096, 1.5625e-07f, 1.0, true);  // the decode row
  ck.rmsNorm(2, 4098, 1e-5f, 1.0, true);        // a width that is not a multiple of 4
  ck.argmax(1000);
  ck.argmax(151552);
  ck.swiGlu(9, 300);
  ck.matmulSwiGlu(1, 4096, 1000, false);  // the decode row (one GEMV with SwiGLU in its epilogue on Vulkan)
  ck.matmulSwiGlu(1, 96, 13, true);       // an odd output count, with bias
  ck.matmulSwiGlu(3, 64, 40, false);      // several rows: matmul + swiGlu
  ck.embed(1000, 64, DType::BF16);
  ck.embed(77, 33, DType::F32);
  for (WeightFormat f : {WeightFormat::Int8, WeightFormat::Int4G32, WeightFormat::Int4G128}) {
    if (!backend->supportsWeights(f)) continue;  // reported once below
    ck.matmulQuantized(1, 4096, 300, f, true);    // the decode GEMV
    ck.matmulQuantized(1, 13696, 96, f, false);   // GLM-4's down projection width
    ck.matmulQuantized(37, 512, 129, f, true);    // the prefill path
    if (opt.backend == BackendKind::Cuda) {
      ck.matmulQuantized(1, 4096, 13001, f, true);  // a tall decode GEMV whose last row pair is a single row
      // The packed-tile GEMM (k % 64 == 0, up to 256 rows of x): its three block shapes (x rows in tiles of 32,
      // 64 and 128), k split over blocks where the tiles are few, partial tiles of weight rows and of x rows,
      // GLM-4's down width, and the bias in its epilogue.
      ck.matmulQuantized(3, 4096, 300, f, false);
      ck.matmulQuantized(5, 4096, 5000, f, true);
      ck.matmulQuantized(130, 1024, 200, f, true);
      ck.matmulQuantized(70, 13696, 96, f, false);
      // Widened for cuBLAS: k % 64 != 0 (int4-g128 always has k % 128 == 0), and everything with
      // GLMCHAT_CUDA_QUANT_GEMM_ROWS=1 (then with GLMCHAT_CUDA_MAX_WIDEN_BYTES=33554432 the 5 x 4096 x 5000 case
      // widens two row blocks, 4096 + 904 rows).
      if (f != WeightFormat::Int4G128) ck.matmulQuantized(37, 544, 129, f, true);
    }
  }
  if (!backend->supportsWeights(WeightFormat::Int8))
    report.notChecked.push_back("quantized weights (int8/int4): this backend has no kernels for them yet");
  else
    ck.embedQuantized(1000, 4096);
  const bool kvInt8 = backend->kvCacheType(DType::I8) == DType::I8;
  if (!kvInt8) report.notChecked.push_back("8-bit KV cache: this backend has no kernels for it yet");

  ModelConfig glm4 = shapeConfig("glm-4-9b");
  glm4.numHeads = 8;  // 4 query heads per KV head, as GLM-4 has 16: fewer keeps the float64 reference quick
  ck.attention(glm4, 0, 37, DType::F32, "glm-4 rope 5e6");
  ck.attention(glm4, 300, 1, DType::F32, "glm-4 decode");
  ck.attention(glm4, 129, 17, DType::BF16, "glm-4 bf16 cache");
  if (kvInt8) {
    ck.attention(glm4, 129, 17, DType::I8, "glm-4 int8 cache");
    ck.attention(glm4, 300, 1, DType::I8, "glm-4 int8 cache decode");
  }
  ModelConfig yarn = shapeConfig("tiny");
  yarn.rope.scaling = RopeScaling::Yarn;
  yarn.rope.factor = 4.0;
  yarn.rope.originalMaxPositions = 1024;
  yarn.rope.theta = 10000.0;
  ck.attention(yarn, 2100, 5, DType::F32, "yarn");
  ModelConfig llama3 = shapeConfig("tiny");
  llama3.rope.scaling = RopeScaling::Llama3;
  llama3.rope.factor = 8.0;
  llama3.rope.originalMaxPositions = 1024;
  ck.attention(llama3, 2100, 3, DType::F32, "llama3");
  if (!opt.quick) {
    ModelConfig longCfg = shapeConfig("glm-4-9b");
    longCfg.numHeads = 4;  // one KV group of GLM-4's shape per KV head is enough for the long check
    ck.attention(longCfg, 70001, 2, DType::F32, "past 64K");
  }
  if (opt.backend == BackendKind::Cuda || opt.backend == BackendKind::Vulkan) {
    // The tensor-core paths at GLM-4's own grouping (16 query heads per KV head): several query tiles,
    // odd lengths, the split-KV decode kernel at short and long context, and the whole decode path.
    ModelConfig full = shapeConfig("glm-4-9b");
    ck.attention(full, 0, 300, DType::BF16, "glm-4 32/2 prefill");
    ck.attention(full, 777, 131, DType::BF16, "glm-4 32/2 chunk");
    ck.attention(full, 4095, 1, DType::BF16, "glm-4 32/2 decode");
    // A few keys (most of the split kernel's blocks empty), and a length that is not a multiple of its tiles.
    ck.attention(full, 4, 1, DType::BF16, "glm-4 32/2 decode, 5 keys");
    ck.attention(full, 4096, 1, DType::BF16, "glm-4 32/2 decode, 4097 keys");
    // The benchmarks' 1K context (CUDA on an H200: 16 of the split kernel's blocks per KV head hold keys).
    ck.attention(full, 1023, 1, DType::BF16, "glm-4 32/2 decode, 1024 keys");
    ModelConfig mq = shapeConfig("glm-4-9b-chat-1m");
    mq.numHeads = 8;
    ck.attention(mq, 1000, 1, DType::BF16, "glm-4-1m 8/4 decode");
    ck.attention(mq, 33, 70, DType::BF16, "glm-4-1m 8/4 prefill");
    if (kvInt8) {
      ck.attention(full, 777, 131, DType::I8, "glm-4 32/2 chunk");
      ck.attention(full, 4095, 1, DType::I8, "glm-4 32/2 decode");
      ck.attention(full, 4, 1, DType::I8, "glm-4 32/2 decode, 5 keys");
      ck.attention(full, 4096, 1, DType::I8, "glm-4 32/2 decode, 4097 keys");
      ck.attention(full, 1023, 1, DType::I8, "glm-4 32/2 decode, 1024 keys");
      ck.attention(mq, 1000, 1, DType::I8, "glm-4-1m 8/4 decode");
    }
    if (!opt.quick) {
      ModelConfig longCfg = shapeConfig("glm-4-9b");
      longCfg.numHeads = 4;
      ck.attention(longCfg, 70001, 1, DType::BF16, "decode past 64K");
      ck.attention(longCfg, 65531, 259, DType::BF16, "prefill chunk past 64K");
      if (kvInt8) {
        ck.attention(longCfg, 70001, 1, DType::I8, "decode past 64K");
        // Vulkan: lavapipe's key splits reading int8; on GPUs the cache widened to bf16 for flash attention.
        ck.attention(longCfg, 65531, 259, DType::I8, "prefill chunk past 64K");
      }
    }
    for (int n : {1, 2, 5, 64})
      ck.matmul(n, 4096, 4608, DType::BF16, true);
    ck.matmul(1, 13696, 4096, DType::BF16, false);
    ck.matmul(1, 256, 9000, DType::BF16, true);  // a tall matrix with a bias (the decode GEMV)
    ck.matmul(1, 4096, 13001, DType::BF16, true);  // a tall decode GEMV with an odd row count
    if (opt.backend == BackendKind::Cuda) {  // sampling on the device (Vulkan samples on the host)
      ck.bestOfRow(151552, 256, 0.8f, 0);
      ck.bestOfRow(151552, 1024, 1.0f, 3);  // ~1/3 of the row ties at the top: more than fit, so declined
      ck.bestOfRow(151552, 40, 0.7f, 4000);
      ck.bestOfRow(700, 1024, 1.0f, 0);   // fewer entries than asked for: all of them
      ck.bestOfRow(600001, 256, 0.8f, 0);  // several loads per thread, and a tail past the 16-byte loads
      ck.bestOfRow(151552, 64, 1.0f, 0, true);
      ck.bestOfRowDeclines(151552, std::numeric_limits<float>::quiet_NaN());
      ck.bestOfRowDeclines(5000, std::numeric_limits<float>::infinity());
    }
    ck.matmul(300, 4096, 1000, DType::BF16, true);
    const bool softwareDevice = report.backend.find("(cpu,") != std::string::npos;
    if (!std::getenv("GLMCHAT_SELFTEST_ONLY")) {
      checkDecodePath(*backend, opt.backend, 300, 12, 128, softwareDevice, report, onCheck);
      for (WeightFormat f : {WeightFormat::Int8, WeightFormat::Int4G32})
        if (backend->supportsWeights(f))
          checkDecodePath(*backend, opt.backend, 300, 12, 128, softwareDevice, report, onCheck, f);
      if (kvInt8) {
        checkDecodePath(*backend, opt.backend, 300, 12, 128, softwareDevice, report, onCheck, WeightFormat::Native,
                        DType::I8);
        if (backend->supportsWeights(WeightFormat::Int4G32))
          checkDecodePath(*backend, opt.backend, 300, 12, 128, softwareDevice, report, onCheck, WeightFormat::Int4G32,
                          DType::I8);
      }
    }
  }

  if (!opt.fixturesDir.empty()) {
    if (!fs::is_directory(opt.fixturesDir))
      throw Error(fmt::format("{}: fixtures folder not found", opt.fixturesDir.string()));
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(opt.fixturesDir))
      if (e.is_directory() && fs::exists(e.path() / "expected.safetensors")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    if (dirs.empty()) throw Error(fmt::format("{}: no fixture folders (with expected.safetensors)", opt.fixturesDir.string()));
    for (const auto& d : dirs) checkFixture(d, opt, report, onCheck);
  }
  return report;
}

}  // namespace glm

namespace glm {

std::vector<OpBenchResult> runOpBenchmarks(const OpBenchOptions& opt, std::string& description) {
  SelftestOptions so;
  so.backend = opt.backend;
  so.gpuDevice = opt.gpuDevice;
  so.noSkip = true;
  std::string skip;
  auto b = makeBackend(so, skip);
  description = b->describe();
  std::mt19937_64 rng(5);
  std::vector<OpBenchResult> out;
  using Clock = std::chrono::steady_clock;
  auto timeIt = [&](const std::function<void()>& op) {
    // Warm-up: pipelines and recordings, and 0.1 s of load so that the GPU is at its clocks (an idle H200
    // sits at 345 MHz and takes a while to come up under Vulkan).
    const auto w0 = Clock::now();
    do {
      op();
      b->synchronize();
    } while (std::chrono::duration<double>(Clock::now() - w0).count() < 0.1);
    const auto t0 = Clock::now();
    for (int i = 0; i < opt.repeats; ++i) op();
    b->synchronize();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / opt.repeats;
  };
  const ModelConfig cfg = shapeConfig("glm-4-9b");
  AttentionShape shape{cfg.numHeads, cfg.numKvHeads, cfg.headDim, float(1.0 / std::sqrt(double(cfg.headDim)))};
  const RopeParams rope = computeRopeParams(cfg);
  for (int S : opt.attentionLengths) {
    auto qkv = b->allocate(S, cfg.qkvRows());
    auto attn = b->allocate(S, int64_t(cfg.numHeads) * cfg.headDim);
    const auto host = randomFloats(rng, size_t(int64_t(S) * cfg.qkvRows()), 1.0);
    b->upload(host.data(), qkv);
    auto cache = b->createKvCache(1, cfg.numKvHeads, cfg.headDim, S, DType::BF16);
    b->ropeAppendKv(qkv, shape, rope, *cache, 0, 0);
    const double ms = timeIt([&] { b->attention(qkv, shape, *cache, 0, 0, attn); });
    const double flops = 4.0 * double(S) * S * cfg.headDim * cfg.numHeads / 2;
    out.push_back({"attention_prefill", fmt::format("causal S={} 32/2 heads x128", S), ms, flops / ms / 1e9, 0});
    // Decode at the same length: one query row at the last position.
    Tensor q1 = qkv.rowSlice(S - 1, 1), a1 = attn.rowSlice(0, 1);
    const double msd = timeIt([&] { b->attention(q1, shape, *cache, 0, S - 1, a1); });
    const double bytes = 2.0 * S * cfg.numKvHeads * cfg.headDim * 2;
    out.push_back({"attention_decode", fmt::format("L={} 32/2 heads x128", S), msd, 0, bytes / msd / 1e6});
  }
  {
    // The fixed cost of one operation in a stream of dependent ones (a 16-element add: no work to speak
    // of): kernel launch + completion on CUDA, dispatch + barrier on Vulkan.
    constexpr int kOps = 200;
    auto r = b->allocate(1, 16), x = b->allocate(1, 16);
    const double ms = timeIt([&] {
      for (int i = 0; i < kOps; ++i) b->add(r, x);
    });
    out.push_back({"dependent_op", fmt::format("add 1x16, {} in a row", kOps), ms / kOps, 0, 0});
  }
  for (auto [k, m] : {std::pair<int64_t, int64_t>{4096, 27392}, {4096, 4608}, {13696, 4096}}) {
    auto w = randomTensor(rng, "w", DType::BF16, {m, k}, 0.0, 1.0 / std::sqrt(double(k)));
    LinearView lv;
    lv.parts.push_back(&w.view);
    lv.outFeatures = m;
    lv.inFeatures = k;
    WeightHandle h = b->uploadLinear(lv, WeightFormat::Native);
    auto x = b->allocate(2048, k), y = b->allocate(2048, m);
    const auto hx = randomFloats(rng, size_t(2048 * k), 1.0);
    b->upload(hx.data(), x);
    const double msv = timeIt([&] { b->matmul(x.rowSlice(0, 1), h, y.rowSlice(0, 1)); });
    out.push_back({"gemv", fmt::format("1x{}x{} bf16", k, m), msv, 2.0 * k * m / msv / 1e9, 2.0 * k * m / msv / 1e6});
    const double msm = timeIt([&] { b->matmul(x, h, y); });
    out.push_back({"gemm", fmt::format("2048x{}x{} bf16", k, m), msm, 2.0 * 2048 * k * m / msm / 1e9, 0});
  }
  return out;
}

}  // namespace glm
