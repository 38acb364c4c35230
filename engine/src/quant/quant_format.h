// Quantized weight formats of linear layers: what a backend receives when the user chooses --weights
// int8 or int4 (header-only: the GPU backend modules include it without linking the engine).
//
// int8: one fp32 scale per output row (symmetric): w[r, c] ~ q[r, c] * scale[r], q in [-127, 127],
//   scale = max |w[r, :]| / 127. data: rows x cols int8 (two's complement), row-major.
// int4: one fp16 scale per group of `group` (32 or 128) consecutive columns of a row (symmetric):
//   w[r, c] ~ q[r, c] * scale[r, c / group], q in [-7, 7], scale = max |w| of the group / 7 rounded up
//   to the next fp16 (so |w / scale| <= 7 and nothing is clipped). data: rows x cols/2 bytes, row-major;
//   byte b of a row holds column 2b in its low nibble and column 2b + 1 in its high nibble, each as
//   q + 8 (1..15). scales: rows x (cols / group) fp16, row-major.
// Both: |w - dequantized w| <= scale / 2 for every element (tests/quant check it against float64).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "glmengine/types.h"

namespace glm {

// WeightFormat and weightFormatName are in glmengine/types.h (LoadOptions takes them).
inline bool isInt4(WeightFormat f) { return f == WeightFormat::Int4G32 || f == WeightFormat::Int4G128; }
inline int int4Group(WeightFormat f) { return f == WeightFormat::Int4G32 ? 32 : f == WeightFormat::Int4G128 ? 128 : 0; }

// One quantized weight matrix in host memory (the quantizer's buffers or the mapped cache file).
struct QuantizedView {
  WeightFormat format = WeightFormat::Int8;
  std::string name;  // the checkpoint tensor (first part), for messages
  int64_t rows = 0, cols = 0;
  int group = 0;                   // int4: columns per scale; int8: 0
  const uint8_t* data = nullptr;   // see the layouts above
  const void* scales = nullptr;    // int8: rows fp32; int4: rows x cols/group fp16
  int64_t dataBytes = 0, scaleBytes = 0;

  int64_t scalesPerRow() const { return group ? cols / group : 1; }
  int64_t bytes() const { return dataBytes + scaleBytes; }
};

// The data and scale bytes of a rows x cols weight quantized to f (not Native), as laid out above.
inline int64_t quantizedDataBytes(WeightFormat f, int64_t rows, int64_t cols) {
  return isInt4(f) ? rows * cols / 2 : rows * cols;
}
inline int64_t quantizedScaleBytes(WeightFormat f, int64_t rows, int64_t cols) {
  return isInt4(f) ? rows * (cols / int4Group(f)) * 2 : rows * 4;
}

// Bytes of a rows x cols weight in a format (Native: bf16).
inline int64_t quantizedBytes(WeightFormat f, int64_t rows, int64_t cols) {
  if (f == WeightFormat::Native) return rows * cols * 2;
  return quantizedDataBytes(f, rows, cols) + quantizedScaleBytes(f, rows, cols);
}

// The most a GPU backend widens of a quantized weight to bf16 at once for a prefill GEMM (its scratch; a larger
// weight, i.e. the output layer, is widened in blocks of rows on CUDA and runs its few rows as GEMVs on
// Vulkan). The memory plan counts it.
inline constexpr int64_t kMaxWidenedWeightBytes = int64_t(512) << 20;

}  // namespace glm
