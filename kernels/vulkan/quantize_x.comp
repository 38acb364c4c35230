#version 450
// The input rows of a quantized decode GEMV as their int8 copy (int8_copy.glsl: the rule and the layout), for
// gemv.comp's X_INT8 variants, where the op that wrote the rows did not write the copy too. Token row t from word
// t · rowWords (rowWords >= 5K/8 and a multiple of 4), in the first slot of the copy's buffer.
// One invocation per block and row; grid ceil(K / 16 / 64) x tokens. Bytes: 4·K read, 2.5·K written per row.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Int8Copy { uint int8Copy[]; };
layout(push_constant) uniform PC { uint xOff; uint xStride; uint K; uint rowWords; } pc;  // x: floats, 16-byte aligned
#include "int8_copy.glsl"

void main() {
  const uint block = gl_GlobalInvocationID.x, t = gl_GlobalInvocationID.y;
  if (block >= pc.K / 16) return;
  const uint xb = (pc.xOff + t * pc.xStride) / 4 + 4 * block;
  vec4 v[4];
  for (uint i = 0; i < 4; ++i) v[i] = x4[xb + i];
  writeInt8Block(t * pc.rowWords, pc.K, block, v);
}
