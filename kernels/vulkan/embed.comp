#version 450
// out[i, :] = table[ids[i], :] widened to fp32. The table keeps the checkpoint's dtype (TABLE_TYPE:
// 0 = F32, 1 = F16, 2 = BF16), read as 32-bit words. Grid: (ceil(cols / 256), rows).
// TABLE_INT8 (embed_int8): the table in int8 per row (quant/quant_format.h's int8 layout), value q * the
// row's fp32 scale; the rows [rowBegin, rowBegin + tableRows) of a table split over several buffers, ids
// outside them left to the other buffers' dispatches.
// Bytes: 1-4 x cols read and 4 x cols written per row.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint TABLE_TYPE = 2;

layout(std430, binding = 0) readonly buffer Table { uint table[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
#ifdef TABLE_INT8
layout(std430, binding = 3) readonly buffer Scales { float rowScales[]; };
#endif
layout(push_constant) uniform PC {
  uint cols; uint idsOff; uint outOff; uint outStride;
#ifdef TABLE_INT8
  uint rowBegin; uint tableRows;
#endif
} pc;

void main() {
  const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y;
  if (c >= pc.cols) return;
  const uint id = uint(ids[pc.idsOff + r]);
#ifdef TABLE_INT8
  if (id < pc.rowBegin || id - pc.rowBegin >= pc.tableRows) return;
  const uint row = id - pc.rowBegin, e = row * pc.cols + c;
  const float v = float(int(table[e >> 2] << (24 - 8 * (e & 3u))) >> 24) * rowScales[row];
#else
  const uint e = id * pc.cols + c;  // element index in the table (< 2^32 for every GLM vocabulary)
  float v;
  if (TABLE_TYPE == 0) {
    v = uintBitsToFloat(table[e]);
  } else {
    const uint w = table[e >> 1];
    const uint bits = (e & 1u) != 0 ? (w >> 16) : (w & 0xffffu);
    v = TABLE_TYPE == 1 ? unpackHalf2x16(bits).x : uintBitsToFloat(bits << 16);
  }
#endif
  outv[pc.outOff + r * pc.outStride + c] = v;
}
