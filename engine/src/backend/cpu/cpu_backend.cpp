// The CPU backend: the numerical reference of the engine. Activations, residual and accumulation are
// fp32; weights are used in place from the memory-mapped checkpoint in their stored dtype (no fp32
// copy); the KV cache is F32 (default), BF16 or I8 (8-bit values and a scale per position and KV head).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/gpu_common.h"  // biasToF32Host: the host-side weight helpers every backend shares
#include "glmengine/error.h"
#include "quant/quant.h"
#include "util/half.h"

namespace glm {
namespace {

struct CpuLinear : Weight {
  struct Part {
    const void* data;
    DType dtype;
    int64_t rows;
    const void* bias = nullptr;
    DType biasDtype = DType::F32;
  };
  std::vector<Part> parts;
};

// A quantized linear layer (format Int8/Int4*): the quantized store's memory used in place, the bias
// (all parts, in order) widened once to fp32.
struct CpuQuantLinear : Weight {
  QuantizedView q;
  std::vector<float> bias;  // outFeatures values, or empty
};

struct CpuVector : Weight {
  const void* data = nullptr;
  DType dtype = DType::F32;
};

// The embedding table in int8 per row (format Int8), the quantized store's memory used in place.
struct CpuQuantEmbedding : Weight {
  QuantizedView q;
};

struct CpuKvCache : KvCache {
  std::vector<std::byte> k, v;  // [layer][pos][kvHead][headDim] elements of dtype
  std::vector<float> ks, vs;    // I8: [layer][pos][kvHead] scales
  size_t layerStride() const { return size_t(capacity) * numKvHeads * headDim; }
  size_t posStride() const { return size_t(numKvHeads) * headDim; }
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) {
    if (threads > 0) omp_set_num_threads(threads);
    threads_ = omp_get_max_threads();
  }

  std::string name() const override { return "cpu"; }
  std::string describe() const override {
    return fmt::format("CPU ({} kernels, {} threads)", cpu::isaName(), threads_);
  }

  WeightHandle uploadLinear(const LinearView& view, WeightFormat format) override {
    // matmul tells the handle types apart by format: a CpuLinear must be Native.
    if (format != WeightFormat::Native)
      throw Error(fmt::format("CPU backend: uploadLinear takes checkpoint weights; {} weights come through "
                              "uploadQuantized",
                              weightFormatName(format)));
    auto w = std::make_unique<CpuLinear>();
    w->format = format;
    w->rows = view.outFeatures;
    w->cols = view.inFeatures;
    for (size_t i = 0; i < view.parts.size(); ++i) {
      const TensorView* p = view.parts[i];
      CpuLinear::Part part{p->data, p->dtype, p->shape[0]};
      if (!view.biasParts.empty()) {
        part.bias = view.biasParts[i]->data;
        part.biasDtype = view.biasParts[i]->dtype;
      }
      w->bytes += int64_t(p->bytes);
      w->parts.push_back(part);
    }
    return keep(std::move(w));
  }

  bool supportsWeights(WeightFormat) const override { return true; }
  WeightHandle uploadQuantized(const QuantizedView& q, const LinearView& view) override {
    gpu::checkQuantizedLinear(q, view, "CPU");
    auto w = std::make_unique<CpuQuantLinear>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    w->q = q;
    if (view.hasBias()) w->bias = gpu::biasToF32Host(view, "CPU");
    w->bytes = q.bytes() + int64_t(w->bias.size() * sizeof(float));  // the bias is held as fp32
    return keep(std::move(w));
  }

  WeightHandle uploadQuantizedEmbedding(const QuantizedView& q) override {
    gpu::checkQuantizedEmbedding(q, "CPU");
    auto w = std::make_unique<CpuQuantEmbedding>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    w->q = q;
    w->bytes = q.bytes();
    return keep(std::move(w));
  }

  WeightHandle uploadVector(const TensorView& view) override {
    auto w = std::make_unique<CpuVector>();
    w->rows = 1;
    w->cols = view.numel();
    w->data = view.data;
    w->dtype = view.dtype;
    w->bytes = int64_t(view.bytes);
    return keep(std::move(w));
  }

  WeightHandle uploadEmbedding(const TensorView& view) override {
    auto w = std::make_unique<CpuVector>();
    w->rows = view.shape[0];
    w->cols = view.shape[1];
    w->data = view.data;
    w->dtype = view.dtype;
    w->bytes = int64_t(view.bytes);
    return keep(std::move(w));
  }

  Tensor allocate(int64_t rows, int64_t cols) override {
    buffers_.emplace_back(size_t(rows * cols));
    Tensor t;
    t.data = buffers_.back().data();
    t.rows = rows;
    t.cols = cols;
    t.stride = cols;
    return t;
  }

  std::unique_ptr<KvCache> createKvCache(int numLayers, int numKvHeads, int headDim, int64_t capacity,
                                         DType dtype) override {
    if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::I8)
      throw Error(fmt::format("CPU backend: KV cache dtype {} is not supported (use F32, BF16 or I8)", dtypeName(dtype)));
    auto c = std::make_unique<CpuKvCache>();
    c->setShape(numLayers, numKvHeads, headDim, capacity, dtype);
    const size_t bytes = size_t(numLayers) * c->layerStride() * dtypeSize(dtype);
    const size_t scales = dtype == DType::I8 ? size_t(numLayers) * size_t(capacity) * size_t(numKvHeads) : 0;
    try {
      c->k.resize(bytes);
      c->v.resize(bytes);
      c->ks.resize(scales);
      c->vs.resize(scales);
    } catch (const std::bad_alloc&) {
      throw Error(fmt::format("CPU backend: cannot allocate the KV cache: {:.2f} GiB for {} tokens",
                              2.0 * double(bytes + 4 * scales) / double(1ull << 30), capacity));
    }
    c->bytes = int64_t(2 * (bytes + 4 * scales));
    return c;
  }

  void embed(WeightHandle table, std::span<const int32_t> ids, Tensor out) override {
    if (table->format == WeightFormat::Int8) {  // only uploadQuantizedEmbedding makes such a table
      const auto* t = static_cast<const CpuQuantEmbedding*>(table);
      checkTokenIds(ids, t->rows);
      for (size_t i = 0; i < ids.size(); ++i) dequantizeRow(t->q, ids[i], out.f32() + int64_t(i) * out.stride);
      return;
    }
    const auto* t = static_cast<const CpuVector*>(table);
    const size_t rowBytes = size_t(t->cols) * dtypeSize(t->dtype);
    checkTokenIds(ids, t->rows);
    for (size_t i = 0; i < ids.size(); ++i) {
      cpu::toFloat(static_cast<const char*>(t->data) + size_t(ids[i]) * rowBytes, t->dtype, t->cols,
                   out.f32() + int64_t(i) * out.stride);
    }
  }

  void rmsNorm(Tensor x, WeightHandle w, float eps, Tensor out) override {
    const auto* v = static_cast<const CpuVector*>(w);
    if (x.stride == x.cols && out.stride == out.cols) {  // dense: one call, the kernel spreads rows over threads
      cpu::rmsNorm(x.f32(), x.rows, x.cols, v->data, v->dtype, eps, out.f32());
      return;
    }
    for (int64_t r = 0; r < x.rows; ++r)  // strided rows: the kernel takes dense rows, one at a time
      cpu::rmsNorm(x.f32() + r * x.stride, 1, x.cols, v->data, v->dtype, eps, out.f32() + r * out.stride);
  }

  void addRmsNorm(Tensor residual, Tensor x, WeightHandle w, float eps, Tensor out) override {
    add(residual, x);
    rmsNorm(residual, w, eps, out);
  }

  void add(Tensor residual, Tensor x) override {
#pragma omp parallel for schedule(static) if (residual.rows * residual.cols >= (int64_t(1) << 16))
    for (int64_t r = 0; r < residual.rows; ++r) {
      float* a = residual.f32() + r * residual.stride;
      const float* b = x.f32() + r * x.stride;
      for (int64_t c = 0; c < residual.cols; ++c) a[c] += b[c];
    }
  }

  void matmul(Tensor x, WeightHandle w, Tensor out) override {
    if (w->format != WeightFormat::Native) {  // only uploadQuantized makes non-Native handles
      const auto* ql = static_cast<const CpuQuantLinear*>(w);
      cpu::matmulQuantized(x.f32(), x.rows, ql->cols, x.stride, ql->q, ql->bias.empty() ? nullptr : ql->bias.data(),
                           out.f32(), out.stride);
      return;
    }
    const auto* lin = static_cast<const CpuLinear*>(w);
    int64_t col = 0;
    for (const auto& p : lin->parts) {
      cpu::matmul(x.f32(), x.rows, lin->cols, x.stride, p.data, p.dtype, p.rows, p.bias, p.biasDtype,
                  out.f32() + col, out.stride);
      col += p.rows;
    }
  }

  void ropeAppendKv(Tensor qkv, const AttentionShape& shape, const RopeParams& rope, KvCache& cacheBase,
                    int layer, int64_t pos0) override {
    auto& cache = static_cast<CpuKvCache&>(cacheBase);
    checkKvCapacity(cache, pos0, qkv.rows);
    const int hd = shape.headDim, nh = shape.numHeads, nkv = shape.numKvHeads;
    const int pairs = rope.rotaryDim / 2;
    const int64_t n = qkv.rows;
#pragma omp parallel for schedule(static) if (n >= 16)
    for (int64_t r = 0; r < n; ++r) {
      const float pos = float(pos0 + r);
      float cs[256], sn[256];
      for (int i = 0; i < pairs; ++i) {
        const float angle = pos * rope.invFreq[size_t(i)];  // fp32 product, as the references do
        cs[i] = float(std::cos(double(angle))) * rope.attentionScaling;
        sn[i] = float(std::sin(double(angle))) * rope.attentionScaling;
      }
      float* row = qkv.f32() + r * qkv.stride;
      auto rotate = [&](float* head) {
        for (int i = 0; i < pairs; ++i) {  // adjacent pairs (2i, 2i+1): GLM's interleaved rotary
          const float a = head[2 * i], b = head[2 * i + 1];
          head[2 * i] = a * cs[i] - b * sn[i];
          head[2 * i + 1] = b * cs[i] + a * sn[i];
        }
      };
      for (int h = 0; h < nh; ++h) rotate(row + h * hd);
      float* k = row + nh * hd;
      const float* v = k + nkv * hd;
      for (int h = 0; h < nkv; ++h) rotate(k + h * hd);
      const size_t off = size_t(layer) * cache.layerStride() + size_t(pos0 + r) * cache.posStride();
      const size_t count = size_t(nkv) * hd;
      if (cache.dtype == DType::F32) {
        std::memcpy(reinterpret_cast<float*>(cache.k.data()) + off, k, count * sizeof(float));
        std::memcpy(reinterpret_cast<float*>(cache.v.data()) + off, v, count * sizeof(float));
      } else if (cache.dtype == DType::I8) {
        const size_t s0 = off / size_t(hd);  // [layer][pos][kvHead]
        for (int h = 0; h < nkv; ++h) {
          cache.ks[s0 + size_t(h)] = quantizeKvVector(k + h * hd, hd, reinterpret_cast<int8_t*>(cache.k.data()) + off + size_t(h) * hd);
          cache.vs[s0 + size_t(h)] = quantizeKvVector(v + h * hd, hd, reinterpret_cast<int8_t*>(cache.v.data()) + off + size_t(h) * hd);
        }
      } else {
        auto* kd = reinterpret_cast<uint16_t*>(cache.k.data()) + off;
        auto* vd = reinterpret_cast<uint16_t*>(cache.v.data()) + off;
        for (size_t i = 0; i < count; ++i) {
          kd[i] = floatToBf16(k[i]);
          vd[i] = floatToBf16(v[i]);
        }
      }
    }
  }

  void attention(Tensor qkv, const AttentionShape& shape, const KvCache& cacheBase, int layer, int64_t pos0,
                 Tensor out) override {
    const auto& cache = static_cast<const CpuKvCache&>(cacheBase);
    const int hd = shape.headDim, nh = shape.numHeads, nkv = shape.numKvHeads;
    const int group = nh / nkv;  // query head h reads KV head h / group
    const int64_t n = qkv.rows;
    const size_t layerOff = size_t(layer) * cache.layerStride();
    const bool f32 = cache.dtype == DType::F32, i8 = cache.dtype == DType::I8;
    // I8: q . k = s_k * (q . k8), and p * v = (p * s_v) * v8.
    auto dotI8 = [](const float* a, const int8_t* b, int len) {
      float acc = 0.0f;
      for (int d = 0; d < len; ++d) acc += a[d] * float(b[d]);
      return acc;
    };
    auto axpyI8 = [](float alpha, const int8_t* x, float* y, int len) {
      for (int d = 0; d < len; ++d) y[d] += alpha * float(x[d]);
    };
    // One (query row, head) pair per work item; each keeps its scores in a thread-local buffer. Short
    // contexts run on one thread (see matmul: a parallel region is not free).
    const int64_t work = n * nh * (pos0 + n) * hd;
#pragma omp parallel if (work >= (int64_t(1) << 18))
    {
      std::vector<float> scores(size_t(pos0 + n));
#pragma omp for schedule(dynamic, 4) collapse(2)
      for (int64_t r = 0; r < n; ++r) {
        for (int h = 0; h < nh; ++h) {
          const float* q = qkv.f32() + r * qkv.stride + h * hd;
          const int kvh = h / group;
          const int64_t len = pos0 + r + 1;  // causal: positions 0..pos0+r
          float maxScore = -INFINITY;
          for (int64_t j = 0; j < len; ++j) {
            const size_t off = layerOff + size_t(j) * cache.posStride() + size_t(kvh) * hd;
            const float s =
                (i8    ? dotI8(q, reinterpret_cast<const int8_t*>(cache.k.data()) + off, hd) * cache.ks[off / size_t(hd)]
                 : f32 ? cpu::dot(q, reinterpret_cast<const float*>(cache.k.data()) + off, hd)
                       : cpu::dotBf16(q, reinterpret_cast<const uint16_t*>(cache.k.data()) + off, hd)) *
                shape.scale;
            scores[size_t(j)] = s;
            maxScore = std::max(maxScore, s);
          }
          double sum = 0.0;
          for (int64_t j = 0; j < len; ++j) {
            const float e = std::exp(scores[size_t(j)] - maxScore);
            scores[size_t(j)] = e;
            sum += e;
          }
          float* o = out.f32() + r * out.stride + h * hd;
          std::fill(o, o + hd, 0.0f);
          const float inv = float(1.0 / sum);
          for (int64_t j = 0; j < len; ++j) {
            const size_t off = layerOff + size_t(j) * cache.posStride() + size_t(kvh) * hd;
            if (i8)
              axpyI8(scores[size_t(j)] * inv * cache.vs[off / size_t(hd)],
                     reinterpret_cast<const int8_t*>(cache.v.data()) + off, o, hd);
            else if (f32)
              cpu::axpy(scores[size_t(j)] * inv, reinterpret_cast<const float*>(cache.v.data()) + off, o, hd);
            else
              cpu::axpyBf16(scores[size_t(j)] * inv, reinterpret_cast<const uint16_t*>(cache.v.data()) + off, o, hd);
          }
        }
      }
    }
  }

  void swiGlu(Tensor gateUp, Tensor out) override {
    if (gateUp.stride == gateUp.cols && out.stride == out.cols) {
      cpu::swiGlu(gateUp.f32(), gateUp.rows, out.cols, out.f32());
      return;
    }
    for (int64_t r = 0; r < gateUp.rows; ++r)
      cpu::swiGlu(gateUp.f32() + r * gateUp.stride, 1, out.cols, out.f32() + r * out.stride);
  }

  void gatherRows(Tensor src, std::span<const int64_t> rows, Tensor dst) override {
    for (size_t i = 0; i < rows.size(); ++i)
      std::memcpy(dst.f32() + int64_t(i) * dst.stride, src.f32() + rows[i] * src.stride,
                  size_t(src.cols) * sizeof(float));
  }

  void upload(const float* host, Tensor t) override {
    for (int64_t r = 0; r < t.rows; ++r)
      std::memcpy(t.f32() + r * t.stride, host + r * t.cols, size_t(t.cols) * sizeof(float));
  }

  void download(Tensor t, float* host) override {
    for (int64_t r = 0; r < t.rows; ++r)
      std::memcpy(host + r * t.cols, t.f32() + r * t.stride, size_t(t.cols) * sizeof(float));
  }

  void synchronize() override {}

 private:
  WeightHandle keep(std::unique_ptr<Weight> w) {
    weights_.push_back(std::move(w));
    return weights_.back().get();
  }

  int threads_ = 1;
  std::vector<std::unique_ptr<Weight>> weights_;
  std::vector<std::vector<float>> buffers_;
};

}  // namespace

std::unique_ptr<Backend> createCpuBackend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace glm
