// Quantization of linear layers on load (--weights int8 / int4 / int4-g128): the formats are in
// quant_format.h; this is the math that makes them from F32/F16/BF16 checkpoint weights, on all cores.
#pragma once
#include <cstdint>
#include <vector>

#include "io/model_weights.h"
#include "quant/quant_format.h"

namespace glm {

// A quantized matrix that owns its buffers; `view` points into them.
struct QuantizedMatrix {
  QuantizedView view;
  std::vector<uint8_t> data, scales;
};

// Quantizes a linear layer (its row blocks in order; F32, F16 or BF16) into `format` (not Native),
// rows in parallel. Throws glm::Error naming the tensor when the columns are not a multiple of the
// int4 group, when a value is not finite, or when an int4 group's scale does not fit fp16.
QuantizedMatrix quantizeLinear(const LinearView& view, WeightFormat format);

// The same for one row of float values (tests and the rows of quantizeLinear): writes cols int8
// values or cols/2 packed int4 bytes to `data`, and 1 fp32 or cols/group fp16 scales to `scales`.
// Returns false when a value is not finite or an int4 scale overflows fp16.
bool quantizeRow(const float* row, int64_t cols, WeightFormat format, uint8_t* data, void* scales);

// Dequantized row r of q (reference: tests and checks).
void dequantizeRow(const QuantizedView& q, int64_t r, float* out);

// The smallest fp16 value >= x (x >= 0, finite); returns false if that exceeds the fp16 range.
bool f16RoundUp(float x, uint16_t& out);

}  // namespace glm
