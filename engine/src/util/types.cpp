#include "glmengine/types.h"

#include <fmt/format.h>

#include "glmengine/error.h"

namespace glm {

std::string_view dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::F64: return "F64";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::F8_E5M2: return "F8_E5M2";
    case DType::BOOL: return "BOOL";
    case DType::I16: return "I16";
    case DType::U16: return "U16";
    case DType::U32: return "U32";
    case DType::U64: return "U64";
  }
  return "?";
}

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: case DType::U64: return 8;
    case DType::F32: case DType::I32: case DType::U32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
    case DType::I8: case DType::U8: case DType::F8_E4M3: case DType::F8_E5M2: case DType::BOOL: return 1;
  }
  return 0;
}

bool dtypeIsFloatWeight(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

std::string_view kvCacheName(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::I8: return "int8";
    default: return dtypeName(t);
  }
}

DType parseKvCacheType(std::string_view name) {
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  if (name == "int8") return DType::I8;
  throw Error(fmt::format("KV cache type '{}': choose f32, bf16 or int8", name));
}

int64_t kvCacheBytesPerPosition(DType t, int numKvHeads, int headDim) {
  const int64_t perVector = t == DType::I8 ? headDim + 4 : int64_t(headDim) * int64_t(dtypeSize(t));
  return 2 * int64_t(numKvHeads) * perVector;
}

}  // namespace glm

namespace glm {

std::string_view weightFormatName(WeightFormat f) {
  switch (f) {
    case WeightFormat::Native: return "bf16";
    case WeightFormat::Int8: return "int8";
    case WeightFormat::Int4G32: return "int4";
    case WeightFormat::Int4G128: return "int4-g128";
  }
  return "?";
}

WeightFormat parseWeightFormat(std::string_view name) {
  if (name == "bf16" || name == "native") return WeightFormat::Native;
  if (name == "int8") return WeightFormat::Int8;
  if (name == "int4" || name == "int4-g32") return WeightFormat::Int4G32;
  if (name == "int4-g128") return WeightFormat::Int4G128;
  throw Error(fmt::format("weights '{}': choose bf16, int8, int4 (groups of 32) or int4-g128", name));
}

}  // namespace glm
