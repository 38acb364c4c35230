#version 450
// Merges the split-KV partials of decode attention: out[h, d] = sum_s w_s O_s[d] / sum_s w_s l_s with
// w_s = e^(m_s - M). Workgroup per query head: the split weights are computed once in shared memory
// (invocations over splits), then each invocation sums its dims over the splits with independent loads.
// Empty splits (m = -inf) get weight 0.
// INT8_COPY (a model with quantized weights on a device with integer dot products): also the output row's int8
// copy for the output projection's GEMV (int8_copy.glsl), from word copyOff: the row is the heads side by side,
// K = heads · HEAD_DIM columns, so a head is HEAD_DIM / 16 blocks, quantized after a barrier from the values the
// workgroup stored (HEAD_DIM a multiple of 16). Bytes: 2.5·HEAD_DIM more written per head.
#include "common.glsl"
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(constant_id = 1) const uint GROUP = 16;
layout(constant_id = 2) const bool INT8_COPY = false;
const uint MAX_SPLITS = 256;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(std430, binding = 2) writeonly buffer Int8Copy { uint int8Copy[]; };  // INT8_COPY; else not written
layout(push_constant) uniform PC { uint splits; uint oOff; uint copyOff; } pc;
shared float weight[MAX_SPLITS];
shared float red[128];
shared float headOut[HEAD_DIM];  // INT8_COPY
#include "int8_copy.glsl"
void main() {
  const uint h = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint kvHead = h / GROUP, g = h % GROUP, rec = HEAD_DIM + 2;
  const uint stride = GROUP * rec;                       // between splits
  const uint base = (kvHead * pc.splits * GROUP + g) * rec;  // split 0 of this head
  float mMax = -1.0 / 0.0;
  for (uint s = t; s < pc.splits; s += 128) mMax = max(mMax, part[base + s * stride + HEAD_DIM]);
  red[t] = mMax;
  barrier();
  for (uint n = 64; n > 0; n >>= 1) {
    if (t < n) red[t] = max(red[t], red[t + n]);
    barrier();
  }
  mMax = red[0];
  barrier();
  float lPart = 0.0;
  for (uint s = t; s < pc.splits; s += 128) {
    const float ms = part[base + s * stride + HEAD_DIM];
    const float w = ms == -1.0 / 0.0 ? 0.0 : exp(ms - mMax);
    weight[s] = w;
    lPart += w * part[base + s * stride + HEAD_DIM + 1];
  }
  red[t] = lPart;
  barrier();
  for (uint n = 64; n > 0; n >>= 1) {
    if (t < n) red[t] += red[t + n];
    barrier();
  }
  const float inv = 1.0 / red[0];
  for (uint d = t; d < HEAD_DIM; d += 128) {
    float acc0 = 0.0, acc1 = 0.0, acc2 = 0.0, acc3 = 0.0;  // four independent loads in flight
    uint s = 0;
    for (; s + 4 <= pc.splits; s += 4) {
      acc0 += weight[s] * part[base + s * stride + d];
      acc1 += weight[s + 1] * part[base + (s + 1) * stride + d];
      acc2 += weight[s + 2] * part[base + (s + 2) * stride + d];
      acc3 += weight[s + 3] * part[base + (s + 3) * stride + d];
    }
    for (; s < pc.splits; ++s) acc0 += weight[s] * part[base + s * stride + d];
    const float acc = (acc0 + acc1) + (acc2 + acc3), o = acc * inv;
    outv[pc.oOff + h * HEAD_DIM + d] = o;
    if (INT8_COPY) headOut[d] = o;
  }
  if (INT8_COPY) {
    barrier();
    const uint blocks = HEAD_DIM / 16;
    for (uint b = t; b < blocks; b += 128) {
      vec4 v[4];
      for (uint i = 0; i < 4; ++i)
        v[i] = vec4(headOut[16 * b + 4 * i], headOut[16 * b + 4 * i + 1], headOut[16 * b + 4 * i + 2],
                    headOut[16 * b + 4 * i + 3]);
      writeInt8Block(pc.copyOff, gl_NumWorkGroups.x * HEAD_DIM, h * blocks + b, v);
    }
  }
}
