// Host-side helpers shared by the GPU backend libraries (CUDA, Vulkan): converting checkpoint values
// to the device formats before upload, the one out-of-memory message of a memory plan, and the fused
// decode norm's bookkeeping. Header-only,
// so each backend module compiles it in without linking another engine library.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "glmengine/error.h"
#include "glmengine/model.h"
#include "io/model_weights.h"
#include "io/safetensors.h"
#include "util/half.h"

namespace glm::gpu {

// A positive byte count from the environment (the backends' test knobs), at most `fallback`; else `fallback`.
inline int64_t envBytes(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && std::atoll(v) > 0 ? std::min<int64_t>(fallback, std::atoll(v)) : fallback;
}

// A positive count from the environment (a backend's tuning knob, not capped); else `fallback`.
inline int64_t envCount(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && std::atoll(v) > 0 ? int64_t(std::atoll(v)) : fallback;
}

inline double gib(int64_t bytes) { return double(bytes) / double(1ll << 30); }

// Whether two fp32 tensors share any element (their address ranges, rows and strides included).
inline bool tensorsOverlap(const Tensor& a, const Tensor& b) {
  auto end = [](const Tensor& t) { return static_cast<const char*>(t.data) + ((t.rows - 1) * t.stride + t.cols) * 4; };
  return a.rows > 0 && b.rows > 0 && static_cast<const char*>(a.data) < end(b) && static_cast<const char*>(b.data) < end(a);
}

// Whether matmulAddNorm's operands suit the fused one-row GEMV: a row each, the shapes agree (W is wRows x
// wCols with wCols % 8 == 0, the norm weight has normLen entries), and no two of them share memory.
inline bool addNormOperandsFit(const Tensor& x, const Tensor& residual, const Tensor& normed, int64_t wRows,
                               int64_t wCols, int64_t normLen) {
  return x.rows == 1 && residual.rows == 1 && normed.rows == 1 && wCols == x.cols && wCols % 8 == 0 &&
         wRows == residual.cols && normed.cols == residual.cols && normLen == residual.cols &&
         !tensorsOverlap(normed, residual) && !tensorsOverlap(normed, x) && !tensorsOverlap(residual, x);
}

// The fused decode norm's bookkeeping (Backend::matmulAddNorm in a recorded step): the one-row tensor a GEMV
// left unscaled, which an operation touching it (or, with none named, any caller) must scale first.
// `where` is backend-specific: where the row's sums of squares are.
template <typename Where>
struct PendingNormedRow {
  const void* data = nullptr;
  int64_t cols = 0;
  Where where{};
  float eps = 0.0f;
  Tensor row() const {
    Tensor t;
    t.data = const_cast<void*>(data);
    t.rows = 1;
    t.cols = t.stride = cols;
    return t;
  }
  // Whether x is that row itself (as a GEMV input: it reads it and applies the scale).
  bool holds(const Tensor& x) const { return data && data == x.data && x.rows == 1 && x.cols == cols; }
  bool touchedBy(std::initializer_list<Tensor> touched) const {
    if (!data) return false;
    if (touched.size() == 0) return true;
    for (const Tensor& t : touched)
      if (tensorsOverlap(t, row())) return true;
    return false;
  }
};

inline int64_t elementsOf(const TensorView& v) {
  int64_t n = 1;
  for (int64_t d : v.shape) n *= d;
  return n;
}

// Host values of any float dtype -> bf16 bits (weights: rounded once at upload).
inline void toBf16Host(const void* src, DType dt, int64_t n, uint16_t* dst, std::string_view backend) {
  switch (dt) {
    case DType::BF16: std::memcpy(dst, src, size_t(n) * 2); return;
    case DType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = floatToBf16(f16ToFloat(s[i]));
      return;
    }
    case DType::F32: {
      const auto* s = static_cast<const float*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = floatToBf16(s[i]);
      return;
    }
    default: throw Error(fmt::format("{} backend: weight dtype {} is not supported", backend, dtypeName(dt)));
  }
}

// Host values of any float dtype -> fp32 (norm vectors, biases).
inline void toF32Host(const void* src, DType dt, int64_t n, float* dst, std::string_view backend) {
  switch (dt) {
    case DType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16ToFloat(s[i]);
      return;
    }
    case DType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16ToFloat(s[i]);
      return;
    }
    default: throw Error(fmt::format("{} backend: vector dtype {} is not supported", backend, dtypeName(dt)));
  }
}

// A whole vector (norm weights) as fp32.
inline std::vector<float> vectorToF32Host(const TensorView& view, std::string_view backend) {
  std::vector<float> v(size_t(elementsOf(view)));
  toF32Host(view.data, view.dtype, int64_t(v.size()), v.data(), backend);
  return v;
}

// The checks every backend's uploadQuantized makes: a quantized format whose shape is the layer's.
inline void checkQuantizedLinear(const QuantizedView& q, const LinearView& view, std::string_view backend) {
  if (q.format == WeightFormat::Native)
    throw Error(fmt::format("{} backend: {}: uploadQuantized got a Native (unquantized) view", backend, q.name));
  if (q.rows != view.outFeatures || q.cols != view.inFeatures)
    throw Error(fmt::format("{} backend: quantized weight {} is {} x {}, the layer {} x {}", backend, q.name, q.rows,
                            q.cols, view.outFeatures, view.inFeatures));
}
// ... and uploadQuantizedEmbedding: int8 per row, data and scale sizes as quant_format.h lays them out.
inline void checkQuantizedEmbedding(const QuantizedView& q, std::string_view backend) {
  const int64_t data = quantizedDataBytes(WeightFormat::Int8, q.rows, q.cols);
  const int64_t scales = quantizedScaleBytes(WeightFormat::Int8, q.rows, q.cols);
  if (q.format != WeightFormat::Int8 || q.dataBytes != data || q.scaleBytes != scales)
    throw Error(fmt::format("{} backend: embedding {} must be int8 per row ({} x {}: {} data and {} scale bytes); it "
                            "is {} with {} and {}",
                            backend, q.name, q.rows, q.cols, data, scales, weightFormatName(q.format), q.dataBytes,
                            q.scaleBytes));
}

// The bias parts of a linear weight, concatenated as fp32 (one value per output feature). Throws when the
// parts do not hold exactly outFeatures values.
inline std::vector<float> biasToF32Host(const LinearView& view, std::string_view backend) {
  std::vector<float> bias(size_t(view.outFeatures));
  const std::string name = view.parts.empty() ? std::string("a linear layer") : view.parts[0]->name;
  int64_t r = 0;
  for (const TensorView* b : view.biasParts) {
    const int64_t count = elementsOf(*b);
    if (r + count > view.outFeatures)
      throw Error(fmt::format("{} backend: {}: the bias parts hold more than the {} output rows", backend, name,
                              view.outFeatures));
    toF32Host(b->data, b->dtype, count, bias.data() + r, backend);
    r += count;
  }
  if (r != view.outFeatures)
    throw Error(fmt::format("{} backend: {}: the bias parts hold {} values, expected {}", backend, name, r,
                            view.outFeatures));
  return bias;
}

// Throws the "not enough GPU memory" error when plan + reserve exceeds what the device has free.
inline void checkPlanFits(const MemoryPlan& plan, int64_t contextLength, int64_t reserve, int64_t freeBytes,
                          int64_t totalBytes, std::string_view device) {
  const int64_t need = plan.total() + reserve;
  if (need <= freeBytes) return;
  throw Error(fmt::format(
      "not enough GPU memory on {}: the model needs {:.2f} GiB (weights {:.2f} + KV cache {:.2f} for {} tokens + "
      "scratch {:.2f} + {:.2f} reserve) but {:.2f} GiB of {:.2f} GiB are free; choose a shorter context "
      "(--ctx) or a smaller model",
      device, gib(need), gib(plan.weightBytes), gib(plan.kvCacheBytes), contextLength, gib(plan.scratchBytes),
      gib(reserve), gib(freeBytes), gib(totalBytes)));
}

}  // namespace glm::gpu
