#include "quant/quant.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "backend/cpu/cpu_kernels.h"
#include "glmengine/error.h"
#include "util/half.h"

namespace glm {

bool f16RoundUp(float x, uint16_t& out) {
  uint16_t h = floatToF16(x);  // nearest
  if (!(f16ToFloat(h) >= x)) ++h;  // the next fp16 up (x >= 0: the bit patterns are ordered)
  if (!std::isfinite(f16ToFloat(h))) return false;
  out = h;
  return true;
}

bool quantizeRow(const float* row, int64_t cols, WeightFormat format, uint8_t* data, void* scales) {
  if (format == WeightFormat::Int8) {
    float amax = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      if (!std::isfinite(row[c])) return false;
      amax = std::max(amax, std::fabs(row[c]));
    }
    const float scale = amax / 127.0f;
    std::memcpy(scales, &scale, 4);
    for (int64_t c = 0; c < cols; ++c) {
      const float q = scale > 0.0f ? std::nearbyint(row[c] / scale) : 0.0f;
      data[c] = uint8_t(int8_t(std::clamp(q, -127.0f, 127.0f)));
    }
    return true;
  }
  const int group = int4Group(format);
  auto* s16 = static_cast<uint16_t*>(scales);
  for (int64_t g0 = 0; g0 < cols; g0 += group) {
    float amax = 0.0f;
    for (int64_t c = g0; c < g0 + group; ++c) {
      if (!std::isfinite(row[c])) return false;
      amax = std::max(amax, std::fabs(row[c]));
    }
    uint16_t h = 0;
    if (!f16RoundUp(amax / 7.0f, h)) return false;
    s16[g0 / group] = h;
    const float scale = f16ToFloat(h);  // >= amax / 7: |row / scale| <= 7 (up to rounding, clamped)
    for (int64_t c = g0; c < g0 + group; c += 2) {
      const float q0 = scale > 0.0f ? std::clamp(std::nearbyint(row[c] / scale), -7.0f, 7.0f) : 0.0f;
      const float q1 = scale > 0.0f ? std::clamp(std::nearbyint(row[c + 1] / scale), -7.0f, 7.0f) : 0.0f;
      data[c / 2] = uint8_t(int(q0) + 8) | uint8_t((int(q1) + 8) << 4);
    }
  }
  return true;
}

void dequantizeRow(const QuantizedView& q, int64_t r, float* out) {
  if (q.format == WeightFormat::Int8) {
    float scale;
    std::memcpy(&scale, static_cast<const char*>(q.scales) + r * 4, 4);
    const auto* d = q.data + r * q.cols;
    for (int64_t c = 0; c < q.cols; ++c) out[c] = float(int8_t(d[c])) * scale;
    return;
  }
  const auto* s16 = static_cast<const uint16_t*>(q.scales) + r * q.scalesPerRow();
  const auto* d = q.data + r * (q.cols / 2);
  for (int64_t c = 0; c < q.cols; ++c) {
    const int nibble = (c & 1) ? d[c / 2] >> 4 : d[c / 2] & 15;
    out[c] = float(nibble - 8) * f16ToFloat(s16[c / q.group]);
  }
}

namespace {

// Row r of one part (F32, F16 or BF16; quantizeLinear checks the dtype first) as fp32, exactly.
void rowToFloat(const TensorView& t, int64_t r, int64_t cols, float* out) {
  cpu::toFloat(t.data + size_t(r * cols) * dtypeSize(t.dtype), t.dtype, cols, out);
}

}  // namespace

QuantizedMatrix quantizeLinear(const LinearView& view, WeightFormat format) {
  if (format == WeightFormat::Native) throw Error("quantizeLinear: the native format is not a quantized one");
  const std::string name = view.parts.empty() ? "(a weight matrix)" : view.parts[0]->name;
  const int64_t rows = view.outFeatures, cols = view.inFeatures;
  const int group = int4Group(format);
  if (group && cols % group != 0)
    throw Error(fmt::format("weight {}: {} columns are not a multiple of the int4 group {} (use --weights int8)", name,
                            cols, group));
  for (const TensorView* p : view.parts)
    if (p->dtype != DType::F32 && p->dtype != DType::F16 && p->dtype != DType::BF16)
      throw Error(fmt::format("weight {}: dtype {} cannot be quantized", p->name, dtypeName(p->dtype)));
  QuantizedMatrix m;
  QuantizedView& v = m.view;
  v.format = format;
  v.name = name;
  v.rows = rows;
  v.cols = cols;
  v.group = group;
  v.dataBytes = quantizedDataBytes(format, rows, cols);
  v.scaleBytes = quantizedScaleBytes(format, rows, cols);
  m.data.resize(size_t(v.dataBytes));
  m.scales.resize(size_t(v.scaleBytes));
  v.data = m.data.data();
  v.scales = m.scales.data();
  // Row r's part and its row within it.
  std::vector<std::pair<const TensorView*, int64_t>> where(static_cast<size_t>(rows));
  int64_t r = 0;
  for (const TensorView* p : view.parts)
    for (int64_t i = 0; i < p->shape[0] && r < rows; ++i) where[size_t(r++)] = {p, i};
  if (r != rows) throw Error(fmt::format("weight {}: its parts have {} rows, the layer {}", name, r, rows));
  const int64_t dataPerRow = v.dataBytes / std::max<int64_t>(rows, 1), scalePerRow = v.scaleBytes / std::max<int64_t>(rows, 1);
  std::atomic<int64_t> badRow{-1};
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < rows; ++i) {
      rowToFloat(*where[size_t(i)].first, where[size_t(i)].second, cols, row.data());
      if (!quantizeRow(row.data(), cols, format, m.data.data() + i * dataPerRow, m.scales.data() + i * scalePerRow))
        badRow = i;
    }
  }
  if (badRow >= 0)
    throw Error(fmt::format("weight {}: row {} has a value that is not finite or too large for {} scales", name,
                            badRow.load(), weightFormatName(format)));
  return m;
}

}  // namespace glm
