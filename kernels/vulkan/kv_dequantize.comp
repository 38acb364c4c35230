#version 450
// The 8-bit KV cache (rope_append.comp's KV_INT8 layout) widened to bf16 for the tensor-core prefill
// attention (flash_attn_cm.comp reads bf16): out[h][key][d] = bf16(q * s) for the first `keys` positions of
// the kvHeads heads of one cache buffer (K or V), [kvHeads][keys][headDim] from element 0.
// One invocation per 8 values. Grid: ceil(kvHeads · keys · headDim / 8 / 256) workgroups, (x, y) past 65535.
// Bytes: kvHeads·keys·(headDim + 4) read, kvHeads·keys·headDim·2 written.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer CacheInt8 { uvec2 q2[]; };
layout(std430, binding = 0) readonly buffer CacheScales { float scales[]; };
layout(std430, binding = 1) writeonly buffer Out { uvec4 out4[]; };
layout(push_constant) uniform PC { uint headDim; uint capacity; uint keys; uint kvHeads; uint scaleOff; uint gridX; } pc;

uint bf16Pair(float a, float b) { return uint(floatToBf16(a)) | (uint(floatToBf16(b)) << 16); }

void main() {
  const uint u = (gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x) * 256 + gl_LocalInvocationID.x;
  const uint units = pc.headDim / 8;
  if (u >= pc.kvHeads * pc.keys * units) return;
  const uint h = u / (pc.keys * units), key = u / units % pc.keys, d8 = u % units;
  const uint slot = h * pc.capacity + key;
  const uvec2 w = q2[slot * units + d8];
  const float s = scales[pc.scaleOff + slot];
  const ivec4 lo = ivec4(int(w.x << 24), int(w.x << 16), int(w.x << 8), int(w.x)) >> 24;
  const ivec4 hi = ivec4(int(w.y << 24), int(w.y << 16), int(w.y << 8), int(w.y)) >> 24;
  const vec4 a = vec4(lo) * s, b = vec4(hi) * s;
  out4[u] = uvec4(bf16Pair(a.x, a.y), bf16Pair(a.z, a.w), bf16Pair(b.x, b.y), bf16Pair(b.z, b.w));
}
