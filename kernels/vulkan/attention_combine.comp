#version 450
// Merges the split-KV partials of decode attention: out[h, d] = sum_s e^(m_s - M) O_s[d] /
// sum_s e^(m_s - M) l_s. Workgroup per query head; empty splits (m = -inf) cost one read.
#include "common.glsl"
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(constant_id = 1) const uint GROUP = 16;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC { uint splits; uint oOff; } pc;
void main() {
  const uint h = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint kvHead = h / GROUP, g = h % GROUP, rec = HEAD_DIM + 2;
  float mMax = -1.0 / 0.0;
  for (uint s = 0; s < pc.splits; ++s) mMax = max(mMax, part[((kvHead * pc.splits + s) * GROUP + g) * rec + HEAD_DIM]);
  float l = 0.0;
  float acc[(HEAD_DIM + 127) / 128];
  for (uint i = 0; i < acc.length(); ++i) acc[i] = 0.0;
  for (uint s = 0; s < pc.splits; ++s) {
    const uint b = ((kvHead * pc.splits + s) * GROUP + g) * rec;
    const float ms = part[b + HEAD_DIM];
    if (ms == -1.0 / 0.0) continue;
    const float w = exp(ms - mMax);
    l += w * part[b + HEAD_DIM + 1];
    for (uint i = 0; i < acc.length(); ++i) {
      const uint d = t + 128 * i;
      if (d < HEAD_DIM) acc[i] += w * part[b + d];
    }
  }
  for (uint i = 0; i < acc.length(); ++i) {
    const uint d = t + 128 * i;
    if (d < HEAD_DIM) outv[pc.oOff + h * HEAD_DIM + d] = acc[i] / l;
  }
}
