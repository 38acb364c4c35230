// Shared helpers of the GLM Chat compute shaders. bf16 values live as 16-bit words (two per uint);
// they are widened exactly (bf16 is the top half of an fp32) and rounded to nearest-even on store.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

float bf16Lo(uint w) { return uintBitsToFloat(w << 16); }
float bf16Hi(uint w) { return uintBitsToFloat(w & 0xffff0000u); }
float bf16ToFloat(uint16_t b) { return uintBitsToFloat(uint(b) << 16); }

// SwiGLU of one (gate, up) pair: swiglu.comp and the fused GEMV (gemv.comp, SWIGLU) give the same bits.
float siluMul(float g, float u) { return g / (1.0 + exp(-g)) * u; }

uint16_t floatToBf16(float f) {
  uint u = floatBitsToUint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// The position a step reads: the host's value, or (a recorded decode step) the one the host wrote
// into the step-inputs buffer before submitting it. Layout of that buffer: ids[16], position.
const uint kStepPosition = 16u;
