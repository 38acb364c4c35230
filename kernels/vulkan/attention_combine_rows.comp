#version 450
// Merges the key-split partials of attention_prefill.comp: out[r, h, d] = sum_s e^(m_s - M) O_s[d] /
// sum_s e^(m_s - M) l_s. Workgroup per (row, head); empty splits (m = -inf) are skipped.
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform PC { uint splits; uint rows; uint numHeads; uint oOff; uint oStride; } pc;
void main() {
  const uint r = gl_WorkGroupID.x, h = gl_WorkGroupID.y, t = gl_LocalInvocationID.x, rec = HEAD_DIM + 2;
  float mMax = -1.0 / 0.0;
  for (uint s = 0; s < pc.splits; ++s) mMax = max(mMax, part[((s * pc.rows + r) * pc.numHeads + h) * rec + HEAD_DIM]);
  for (uint d = t; d < HEAD_DIM; d += 64) {
    float acc = 0.0, l = 0.0;
    for (uint s = 0; s < pc.splits; ++s) {
      const uint b = ((s * pc.rows + r) * pc.numHeads + h) * rec;
      const float ms = part[b + HEAD_DIM];
      if (ms == -1.0 / 0.0) continue;
      const float w = exp(ms - mMax);
      l += w * part[b + HEAD_DIM + 1];
      acc += w * part[b + d];
    }
    outv[pc.oOff + r * pc.oStride + h * HEAD_DIM + d] = acc / l;
  }
}
