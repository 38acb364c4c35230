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

// How the linear layers' weights are kept (--weights): as in the checkpoint (bf16), int8 per output
// row, or int4 in groups of 32 or 128 columns (engine/src/quant/quant_format.h has the layouts).
enum class WeightFormat { Native, Int8, Int4G32, Int4G128 };
std::string_view weightFormatName(WeightFormat f);  // "bf16", "int8", "int4", "int4-g128"
// "bf16" (or "native"), "int8", "int4" (= "int4-g32"), "int4-g128"; throws glm::Error otherwise.
WeightFormat parseWeightFormat(std::string_view name);

// The KV cache's element type (--kv-cache): F32, BF16, or I8 = 8 bits per value with one fp32 scale per
// (position, KV head) vector of K and of V (backend.h has the rule).
std::string_view kvCacheName(DType t);  // "f32", "bf16", "int8"
// "f32", "bf16", "int8"; throws glm::Error naming the choices otherwise.
DType parseKvCacheType(std::string_view name);
// Bytes one position of the cache takes per layer (K and V over all KV heads).
int64_t kvCacheBytesPerPosition(DType t, int numKvHeads, int headDim);

// Progress of a long operation: done of total units (bytes while loading, tokens while prefilling).
// Return false to ask the operation to stop (it then throws glm::Cancelled).
using ProgressFn = std::function<bool(int64_t done, int64_t total)>;

}  // namespace glm
