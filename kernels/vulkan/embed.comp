#version 450
// out[i, :] = table[ids[i], :] widened to fp32. The table keeps the checkpoint's dtype (TABLE_TYPE:
// 0 = F32, 1 = F16, 2 = BF16), read as 32-bit words. Grid: (ceil(cols / 256), rows).
// Bytes: 2-4 x cols read and 4 x cols written per row.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint TABLE_TYPE = 2;

layout(std430, binding = 0) readonly buffer Table { uint table[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC { uint cols; uint idsOff; uint outOff; uint outStride; } pc;

void main() {
  const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y;
  if (c >= pc.cols) return;
  const uint id = uint(ids[pc.idsOff + r]);
  const uint e = id * pc.cols + c;  // element index in the table (< 2^32 for every GLM vocabulary)
  float v;
  if (TABLE_TYPE == 0) {
    v = uintBitsToFloat(table[e]);
  } else {
    const uint w = table[e >> 1];
    const uint bits = (e & 1u) != 0 ? (w >> 16) : (w & 0xffffu);
    v = TABLE_TYPE == 1 ? unpackHalf2x16(bits).x : uintBitsToFloat(bits << 16);
  }
  outv[pc.outOff + r * pc.outStride + c] = v;
}
