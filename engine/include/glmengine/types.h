// Small value types shared by the public headers.
#pragma once
#include <cstdint>
#include <functional>
#include <string_view>

namespace glm {

// Element types of tensors on disk and in memory. Weights may be F32, F16 or BF16; I32/I64 appear
// in auxiliary files (e.g. the fixtures' expected outputs). The rest are recognised only to give a
// clear "unsupported dtype" message.
enum class DType { F32, F16, BF16, I32, I64, I8, U8, F64, F8_E4M3, F8_E5M2, BOOL, I16, U16, U32, U64 };

std::string_view dtypeName(DType t);     // safetensors spelling: "F32", "BF16", ...
size_t dtypeSize(DType t);               // bytes per element
bool dtypeIsFloatWeight(DType t);        // F32, F16, BF16

// Progress of a long operation: done of total units (bytes while loading, tokens while prefilling).
// Return false to ask the operation to stop (it then throws glm::Cancelled).
using ProgressFn = std::function<bool(int64_t done, int64_t total)>;

}  // namespace glm
