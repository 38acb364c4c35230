// bf16 and fp16 conversions (host side). bf16 -> f32 is exact (a shift); f32 -> bf16 rounds to
// nearest even, as PyTorch does.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace glm {

inline float bf16ToFloat(uint16_t v) { return std::bit_cast<float>(uint32_t(v) << 16); }

inline uint16_t floatToBf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float f16ToFloat(uint16_t h) { return float(std::bit_cast<_Float16>(h)); }
inline uint16_t floatToF16(float f) { return std::bit_cast<uint16_t>(static_cast<_Float16>(f)); }

}  // namespace glm
