// The Vulkan backend's quantized decode GEMVs on both of their paths, against float64 over the dequantized
// weights: the integer dot-product path (the input rows quantized to int8 in blocks of 16 by quantize_x, then
// packed 4x8-bit dot products; devices with shaderIntegerDotProduct, lavapipe among them) and the fp32 widening
// (GLMCHAT_VULKAN_NO_INT_DOT=1, and devices without the feature). The plain GEMV with 1 to 4 token rows and the
// fused variants of a recorded decode step (residual add + norm, normed input, normed input + SwiGLU). And the
// int8 copies that a decode step's producers write besides their rows (gemv_add_norm: the normed row;
// attention_combine: the attention output): the same bits as quantize_x's, read from the right slot, and never
// once the row has changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "backend/backend.h"
#include "quant/quant.h"

namespace {

using glm::Backend;
using glm::Tensor;
using glm::WeightFormat;

// Backends from the build tree: the test runs beside the CLI, not the backend library. quantizeSeparately:
// GLMCHAT_VULKAN_QUANTIZE_SEPARATELY=1, quantize_x before every quantized GEMV (no copies from the producers).
std::unique_ptr<Backend> loadVulkan(bool integerDot, bool quantizeSeparately = false) {
  setenv("GLMCHAT_BACKEND_DIR", GLM_VULKAN_BACKEND_DIR, 0);
  if (!integerDot) setenv("GLMCHAT_VULKAN_NO_INT_DOT", "1", 1);
  if (quantizeSeparately) setenv("GLMCHAT_VULKAN_QUANTIZE_SEPARATELY", "1", 1);
  std::string reason;
  auto b = glm::loadVulkanBackend(-1, reason);
  unsetenv("GLMCHAT_VULKAN_NO_INT_DOT");
  unsetenv("GLMCHAT_VULKAN_QUANTIZE_SEPARATELY");
  EXPECT_NE(b, nullptr) << reason;
  return b;
}

// A float tensor the test owns, as the loader's views describe checkpoint tensors.
struct HostTensor {
  std::vector<float> values;
  glm::TensorView view;
  HostTensor(std::vector<float> v, std::vector<int64_t> shape) : values(std::move(v)) {
    view.name = "test";
    view.dtype = glm::DType::F32;
    view.shape = std::move(shape);
    view.data = reinterpret_cast<const std::byte*>(values.data());
    view.bytes = values.size() * sizeof(float);
  }
};

std::vector<float> uniform(std::mt19937_64& rng, size_t n, double spread) {
  std::uniform_real_distribution<double> u(-spread, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = float(u(rng));
  return v;
}

// A quantized linear layer: the host weights, their quantization (as at load) and the dequantized values the
// reference multiplies in float64.
struct QuantizedLinear {
  HostTensor w, bias;
  glm::LinearView view;
  glm::QuantizedMatrix q;
  std::vector<float> dequantized;  // rows x cols
  QuantizedLinear(std::mt19937_64& rng, int64_t rows, int64_t cols, WeightFormat format, bool withBias)
      : w(uniform(rng, size_t(rows * cols), 1.0 / std::sqrt(double(cols))), {rows, cols}),
        bias(uniform(rng, size_t(rows), 0.5), {rows}) {
    view.parts.push_back(&w.view);
    if (withBias) view.biasParts.push_back(&bias.view);
    view.outFeatures = rows;
    view.inFeatures = cols;
    q = glm::quantizeLinear(view, format);
    dequantized.resize(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) glm::dequantizeRow(q.view, r, dequantized.data() + r * cols);
  }
  int64_t rows() const { return view.outFeatures; }
  int64_t cols() const { return view.inFeatures; }
  // W x + bias for one row of x, in float64.
  std::vector<double> apply(const double* x) const {
    std::vector<double> y(static_cast<size_t>(rows()));
    for (int64_t r = 0; r < rows(); ++r) {
      double s = view.hasBias() ? double(bias.values[size_t(r)]) : 0.0;
      for (int64_t c = 0; c < cols(); ++c) s += double(dequantized[size_t(r * cols() + c)]) * x[c];
      y[size_t(r)] = s;
    }
    return y;
  }
};

double relError(const std::vector<double>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

Tensor upload(Backend& b, const std::vector<float>& host, int64_t rows, int64_t cols) {
  Tensor t = b.allocate(rows, cols);
  b.upload(host.data(), t);
  return t;
}

std::vector<float> fetch(Backend& b, Tensor t) {
  std::vector<float> v(size_t(t.rows * t.cols));
  b.synchronize();
  b.download(t, v.data());
  return v;
}

// Bounds. fp32 path: every product exact in fp32, fp32 sums over K <= 13,696 terms (measured ~1e-7). Integer
// dot-product path: x is rounded to 127 steps of its 16-block's largest |x|; for these uniform rows each value's
// error is ~step / sqrt(12), 3.8e-3 of the row's RMS, and the dot products' relative error is the same (measured
// 2.6-3.9e-3; CUDA's blocks of 32 give 2.7-4.3e-3). 1e-2 leaves room for the random draw, not for a wrong
// block scale or sum (those give errors of order 1).
constexpr double kFp32Tolerance = 1e-5, kInt8InputTolerance = 1e-2;

struct Path {
  bool integerDot;
  double tolerance;
  const char* name;
};
constexpr Path kPaths[] = {{true, kInt8InputTolerance, "integer dot products"}, {false, kFp32Tolerance, "fp32 widening"}};
constexpr WeightFormat kFormats[] = {WeightFormat::Int8, WeightFormat::Int4G32, WeightFormat::Int4G128};

}  // namespace

// The plain GEMV: 1 to 4 token rows in one pass, an odd row count, GLM-4's widths (4096, 13696) and one that is
// a multiple of 16 only (int8).
TEST(VulkanQuantizedGemv, MatchesFloat64OnBothPaths) {
  for (const Path& path : kPaths) {
    auto b = loadVulkan(path.integerDot);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(b->describe().find(path.integerDot ? "quantized GEMVs: int8 dot products" : "quantized GEMVs: fp32, GLMCHAT_VULKAN_NO_INT_DOT"), std::string::npos)
        << b->describe();
    std::mt19937_64 rng(11);
    for (WeightFormat f : kFormats) {
      struct Shape {
        int64_t tokens, k, m;
      };
      std::vector<Shape> shapes = {{1, 4096, 301}, {2, 4096, 64}, {3, 13696, 40}, {4, 4096, 33}};
      if (f == WeightFormat::Int8) shapes.push_back({1, 48, 17});
      for (const Shape& s : shapes) {
        QuantizedLinear w(rng, s.m, s.k, f, true);
        const glm::WeightHandle h = b->uploadQuantized(w.q.view, w.view);
        const std::vector<float> x = uniform(rng, size_t(s.tokens * s.k), 1.0);
        Tensor out = b->allocate(s.tokens, s.m);
        b->matmul(upload(*b, x, s.tokens, s.k), h, out);
        std::vector<double> ref;
        for (int64_t t = 0; t < s.tokens; ++t) {
          const std::vector<double> xd(x.begin() + t * s.k, x.begin() + (t + 1) * s.k);
          const auto y = w.apply(xd.data());
          ref.insert(ref.end(), y.begin(), y.end());
        }
        const double err = relError(ref, fetch(*b, out));
        EXPECT_LT(err, path.tolerance) << path.name << " " << glm::weightFormatName(f) << " " << s.tokens << "x" << s.k
                                       << "x" << s.m;
        std::printf("%-22s %-9s %dx%5lldx%4lld  rel error %.3g\n", path.name, std::string(glm::weightFormatName(f)).c_str(),
                    int(s.tokens), (long long)s.k, (long long)s.m, err);
      }
    }
  }
}

// A NaN in the input row makes every output NaN on both paths (the int8 copy marks its block's scale NaN
// instead of quantizing garbage).
TEST(VulkanQuantizedGemv, NanInputGivesNanOnBothPaths) {
  for (const Path& path : kPaths) {
    auto b = loadVulkan(path.integerDot);
    ASSERT_NE(b, nullptr);
    std::mt19937_64 rng(12);
    QuantizedLinear w(rng, 24, 256, WeightFormat::Int4G32, false);
    const glm::WeightHandle h = b->uploadQuantized(w.q.view, w.view);
    std::vector<float> x = uniform(rng, 256, 1.0);
    x[77] = NAN;
    Tensor out = b->allocate(1, 24);
    b->matmul(upload(*b, x, 1, 256), h, out);
    for (float v : fetch(*b, out)) EXPECT_FALSE(std::isfinite(v)) << path.name;
  }
}

// The variants of a recorded decode step, as the forward pass calls them: an output projection with the
// residual add and the next RMSNorm (gemv_add_norm), then a GEMV (gemv_normed) and the gate/up GEMV with
// SwiGLU (gemv_normed_swiglu) reading the normed row that the first left unscaled; and the gate/up GEMV with
// SwiGLU on a plain row (gemv_swiglu). SwiGLU multiplies two dot products, so its error is ~sqrt(2) times theirs.
TEST(VulkanQuantizedGemv, FusedDecodeVariantsMatchFloat64OnBothPaths) {
  constexpr int64_t kHidden = 1024, kAttn = 2048, kQkv = 768, kFfn = 1000;
  constexpr float kEps = 1e-5f;
  for (const Path& path : kPaths) {
    auto b = loadVulkan(path.integerDot);
    ASSERT_NE(b, nullptr);
    for (WeightFormat f : kFormats) {
      std::mt19937_64 rng(13);
      QuantizedLinear wo(rng, kHidden, kAttn, f, false), wqkv(rng, kQkv, kHidden, f, true),
          wgu(rng, 2 * kFfn, kHidden, f, false);
      HostTensor normW(uniform(rng, kHidden, 0.3), {kHidden});
      for (auto& v : normW.values) v += 1.0f;
      const glm::WeightHandle ho = b->uploadQuantized(wo.q.view, wo.view), hq = b->uploadQuantized(wqkv.q.view, wqkv.view),
                              hg = b->uploadQuantized(wgu.q.view, wgu.view), hn = b->uploadVector(normW.view);
      const std::vector<float> attn = uniform(rng, kAttn, 1.0), residual0 = uniform(rng, kHidden, 2.0);
      Tensor attnT = upload(*b, attn, 1, kAttn), residual = upload(*b, residual0, 1, kHidden);
      Tensor normed = b->allocate(1, kHidden), scratch = b->allocate(1, kHidden), qkv = b->allocate(1, kQkv),
             gateUp = b->allocate(1, 2 * kFfn), ffn = b->allocate(1, kFfn);
      auto cache = b->createKvCache(1, 1, 8, 16, glm::DType::BF16);  // names the recording; not used
      b->beginStepCapture();
      b->matmulAddNorm(attnT, ho, residual, hn, kEps, normed, scratch);
      b->matmul(normed, hq, qkv);
      b->matmulSwiGlu(normed, hg, gateUp, ffn);
      b->endStepCapture(*cache);

      std::vector<double> ad(attn.begin(), attn.end());
      std::vector<double> res = wo.apply(ad.data()), h(kHidden);
      double ss = 0;
      for (int64_t i = 0; i < kHidden; ++i) {
        res[size_t(i)] += residual0[size_t(i)];
        ss += res[size_t(i)] * res[size_t(i)];
      }
      const double inv = 1.0 / std::sqrt(ss / kHidden + kEps);
      for (int64_t i = 0; i < kHidden; ++i) h[size_t(i)] = res[size_t(i)] * inv * normW.values[size_t(i)];
      const std::vector<double> q = wqkv.apply(h.data()), gu = wgu.apply(h.data());
      std::vector<double> act(kFfn);
      for (int64_t i = 0; i < kFfn; ++i)
        act[size_t(i)] = gu[size_t(i)] / (1.0 + std::exp(-gu[size_t(i)])) * gu[size_t(kFfn + i)];

      const std::string what = std::string(path.name) + " " + std::string(glm::weightFormatName(f));
      const double eRes = relError(res, fetch(*b, residual)), eQkv = relError(q, fetch(*b, qkv)),
                   eFfn = relError(act, fetch(*b, ffn));
      EXPECT_LT(eRes, path.tolerance) << what << ": residual";
      EXPECT_LT(eQkv, path.tolerance) << what << ": GEMV on the normed row";
      EXPECT_LT(eFfn, path.tolerance) << what << ": gate/up + SwiGLU on the normed row";

      // Outside a recording the gate/up GEMV with SwiGLU reads a plain row (gemv_swiglu).
      const std::vector<float> x = uniform(rng, kHidden, 1.0);
      b->matmulSwiGlu(upload(*b, x, 1, kHidden), hg, gateUp, ffn);
      const std::vector<double> xd(x.begin(), x.end()), gu2 = wgu.apply(xd.data());
      for (int64_t i = 0; i < kFfn; ++i)
        act[size_t(i)] = gu2[size_t(i)] / (1.0 + std::exp(-gu2[size_t(i)])) * gu2[size_t(kFfn + i)];
      const double eSwiGlu = relError(act, fetch(*b, ffn));
      EXPECT_LT(eSwiGlu, path.tolerance) << what << ": gate/up + SwiGLU";
      std::printf("%-31s residual %.3g, normed GEMV %.3g, normed SwiGLU GEMV %.3g, SwiGLU GEMV %.3g\n", what.c_str(), eRes,
                  eQkv, eFfn, eSwiGlu);
    }
  }
}

namespace {

// One decode layer of a recorded step as the forward pass calls it (GLM-4's order, small shapes), and an output
// projection read outside a recording: every kind of int8 copy a producer writes and the GEMV that reads it.
//   outside the recording: attention (attention_combine writes the output's copy) -> matmul (gemv on it);
//   recorded: rope + KV append, attention -> matmulAddNorm (gemv_add_norm on the combine's copy, writes the
//   normed row's into the other slot) -> matmulSwiGlu (gemv_normed_swiglu on it) -> matmulAddNorm (quantize_x,
//   gemv_add_norm, the normed row's copy) -> matmul (gemv_normed on it).
struct DecodeLayer {
  static constexpr int kHeads = 8, kKvHeads = 2, kHeadDim = 64, kPrefix = 40;
  static constexpr int64_t kHidden = 512, kAttn = kHeads * kHeadDim, kQkv = (kHeads + 2 * kKvHeads) * kHeadDim,
                           kFfn = 1408;  // 11 groups of 128
  static constexpr float kEps = 1e-5f;
  std::mt19937_64 rng{21};
  QuantizedLinear wqkv, wo, wgu, wdown;
  HostTensor norm1, norm2;
  std::vector<float> prefixQkv = uniform(rng, size_t(kPrefix * kQkv), 1.0), stepQkv = uniform(rng, size_t(kQkv), 1.0),
                     residual0 = uniform(rng, size_t(kHidden), 2.0);
  glm::RopeParams rope;
  glm::AttentionShape shape{kHeads, kKvHeads, kHeadDim, float(1.0 / std::sqrt(double(kHeadDim)))};

  explicit DecodeLayer(WeightFormat f)
      : wqkv(rng, kQkv, kHidden, f, true), wo(rng, kHidden, kAttn, f, false), wgu(rng, 2 * kFfn, kHidden, f, false),
        wdown(rng, kHidden, kFfn, f, false), norm1(uniform(rng, kHidden, 0.3), {kHidden}),
        norm2(uniform(rng, kHidden, 0.3), {kHidden}) {
    for (auto* n : {&norm1, &norm2})
      for (auto& v : n->values) v += 1.0f;
    rope.rotaryDim = kHeadDim / 2;
    for (int i = 0; i < rope.rotaryDim / 2; ++i)
      rope.invFreq.push_back(float(std::pow(10000.0, -2.0 * i / rope.rotaryDim)));
  }

  struct Outputs {
    std::vector<float> attnOutside, projOutside, attn, residual, ffn, qkv;
  };
  Outputs run(Backend& b) const {
    const glm::WeightHandle hqkv = b.uploadQuantized(wqkv.q.view, wqkv.view);
    const glm::WeightHandle ho = b.uploadQuantized(wo.q.view, wo.view), hgu = b.uploadQuantized(wgu.q.view, wgu.view);
    const glm::WeightHandle hdown = b.uploadQuantized(wdown.q.view, wdown.view);
    const glm::WeightHandle hn1 = b.uploadVector(norm1.view), hn2 = b.uploadVector(norm2.view);
    auto cache = b.createKvCache(1, kKvHeads, kHeadDim, kPrefix + 2, glm::DType::BF16);
    b.ropeAppendKv(upload(b, prefixQkv, kPrefix, kQkv), shape, rope, *cache, 0, 0);
    Outputs o;
    // Outside a recording: decode attention at position kPrefix, then the output projection as a plain GEMV.
    Tensor qkvStep = upload(b, stepQkv, 1, kQkv), attn = b.allocate(1, kAttn), proj = b.allocate(1, kHidden);
    b.ropeAppendKv(qkvStep, shape, rope, *cache, 0, kPrefix);
    b.attention(qkvStep, shape, *cache, 0, kPrefix, attn);
    b.matmul(attn, ho, proj);
    o.attnOutside = fetch(b, attn);
    o.projOutside = fetch(b, proj);
    // The recorded layer, at position kPrefix + 1.
    Tensor residual = upload(b, residual0, 1, kHidden), normed = b.allocate(1, kHidden);
    Tensor scratch = b.allocate(1, kHidden), gateUp = b.allocate(1, 2 * kFfn), ffn = b.allocate(1, kFfn);
    Tensor qkvOut = b.allocate(1, kQkv);
    const int32_t id = 0;
    b.setStepInputs({&id, 1}, kPrefix + 1);
    b.beginStepCapture();
    b.ropeAppendKv(qkvStep, shape, rope, *cache, 0, kPrefix + 1);
    b.attention(qkvStep, shape, *cache, 0, kPrefix + 1, attn);
    b.matmulAddNorm(attn, ho, residual, hn1, kEps, normed, scratch);
    b.matmulSwiGlu(normed, hgu, gateUp, ffn);
    b.matmulAddNorm(ffn, hdown, residual, hn2, kEps, normed, scratch);
    b.matmul(normed, hqkv, qkvOut);
    b.endStepCapture(*cache);
    o.attn = fetch(b, attn);
    o.residual = fetch(b, residual);
    o.ffn = fetch(b, ffn);
    o.qkv = fetch(b, qkvOut);
    return o;
  }
};

// The bits of a and b agree (NaN included).
bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// The copies the producers write are quantize_x's bit for bit, in the slot the next GEMV reads: every output of
// the decode layer is the same with and without them (GLMCHAT_VULKAN_QUANTIZE_SEPARATELY=1: quantize_x before
// each quantized GEMV). A wrong block, scale or sum, a copy in the wrong slot or one written over the copy its
// writer reads would change the GEMVs' results.
TEST(VulkanQuantizedGemv, ProducersWriteTheCopyQuantizeXWould) {
  auto withCopies = loadVulkan(true), separately = loadVulkan(true, true);
  ASSERT_TRUE(withCopies && separately);
  ASSERT_NE(withCopies->describe().find("quantized GEMVs: int8 dot products"), std::string::npos)
      << withCopies->describe();
  for (WeightFormat f : kFormats) {
    const DecodeLayer layer(f);
    const DecodeLayer::Outputs a = layer.run(*withCopies), b = layer.run(*separately);
    const std::string what(glm::weightFormatName(f));
    EXPECT_TRUE(sameBits(a.attnOutside, b.attnOutside)) << what << ": attention outside a recording";
    EXPECT_TRUE(sameBits(a.projOutside, b.projOutside)) << what << ": GEMV on the attention output";
    EXPECT_TRUE(sameBits(a.attn, b.attn)) << what << ": recorded attention";
    EXPECT_TRUE(sameBits(a.residual, b.residual)) << what << ": residual (GEMVs on the attention output, FFN row)";
    EXPECT_TRUE(sameBits(a.ffn, b.ffn)) << what << ": gate/up + SwiGLU on the normed row";
    EXPECT_TRUE(sameBits(a.qkv, b.qkv)) << what << ": GEMV on the normed row";
  }
}

// A copy is read only for the tensor it was written for and only by the op right after its writer: a GEMV on
// the normed row after another op changed that row, or on another row, quantizes what it reads (against float64).
TEST(VulkanQuantizedGemv, AStaleInt8CopyIsNeverRead) {
  constexpr int64_t kHidden = 1024, kAttn = 2048, kOut = 320;
  constexpr float kEps = 1e-5f;
  auto b = loadVulkan(true);
  ASSERT_NE(b, nullptr);
  for (WeightFormat f : kFormats) {
    std::mt19937_64 rng(15);
    QuantizedLinear wo(rng, kHidden, kAttn, f, false), w(rng, kOut, kHidden, f, true);
    HostTensor normW(uniform(rng, kHidden, 0.3), {kHidden});
    for (auto& v : normW.values) v += 1.0f;
    const glm::WeightHandle ho = b->uploadQuantized(wo.q.view, wo.view), hw = b->uploadQuantized(w.q.view, w.view),
                            hn = b->uploadVector(normW.view);
    const std::vector<float> attn = uniform(rng, kAttn, 1.0), residual0 = uniform(rng, kHidden, 2.0),
                             delta = uniform(rng, kHidden, 1.0), other = uniform(rng, kHidden, 1.0);
    Tensor attnT = upload(*b, attn, 1, kAttn), residual = upload(*b, residual0, 1, kHidden),
           deltaT = upload(*b, delta, 1, kHidden), otherT = upload(*b, other, 1, kHidden);
    Tensor normed = b->allocate(1, kHidden), scratch = b->allocate(1, kHidden), changed = b->allocate(1, kOut),
           another = b->allocate(1, kOut);
    auto cache = b->createKvCache(1, 1, 8, 16, glm::DType::BF16);  // names the recording; not used
    b->beginStepCapture();
    b->matmulAddNorm(attnT, ho, residual, hn, kEps, normed, scratch);  // writes the normed row's copy
    b->matmul(otherT, hw, another);                                    // another row: not that copy
    b->matmulAddNorm(attnT, ho, residual, hn, kEps, normed, scratch);  // again (the residual grows twice)
    b->add(normed, deltaT);                                            // the row changes after its copy
    b->matmul(normed, hw, changed);
    b->endStepCapture(*cache);

    std::vector<double> ad(attn.begin(), attn.end());
    const std::vector<double> proj = wo.apply(ad.data());
    std::vector<double> h(kHidden);
    double ss = 0;
    for (int64_t i = 0; i < kHidden; ++i) {
      const double r = residual0[size_t(i)] + 2 * proj[size_t(i)];
      ss += r * r;
      h[size_t(i)] = r;
    }
    const double inv = 1.0 / std::sqrt(ss / kHidden + kEps);
    for (int64_t i = 0; i < kHidden; ++i)
      h[size_t(i)] = h[size_t(i)] * inv * normW.values[size_t(i)] + delta[size_t(i)];
    const std::vector<double> od(other.begin(), other.end());
    const std::string what(glm::weightFormatName(f));
    const double eChanged = relError(w.apply(h.data()), fetch(*b, changed)),
                 eAnother = relError(w.apply(od.data()), fetch(*b, another));
    EXPECT_LT(eChanged, kInt8InputTolerance) << what << ": GEMV on the normed row changed after its copy";
    EXPECT_LT(eAnother, kInt8InputTolerance) << what << ": GEMV on another row";
    std::printf("%-9s GEMV on the changed normed row %.3g, on another row %.3g\n", what.c_str(), eChanged, eAnother);
  }
}
