#version 450
// Causal attention for a prefill chunk, portable path (no tensor cores): flash-attention style, fp32
// scores, online softmax and accumulation. Workgroup = 32 query rows of one head x 4 invocations per
// row; each invocation holds HEAD_DIM/4 dims of its row's q and output (dims lane, lane+4, ...).
// K/V tiles of 16 keys are widened from bf16 into shared memory and shared by the 32 rows.
// Query row r sits at position pos0 + r and sees keys 0 .. pos0 + r.
// Grid: (ceil(rows / 32), query heads of this cache buffer, key splits): head = kvHead0 * groupSize + y.
// With splits > 1 (long contexts on a software device, which mis-executes very long-running
// workgroups) split z covers keys [z * keysPerSplit, ...) and writes unnormalised partials
// [split][row][head] -> (HEAD_DIM outputs, max, sum) that attention_combine_rows.comp merges.
// KV_INT8 (the 8-bit cache, rope_append.comp's layout): K and V widened to q * s into the shared tiles.
// FLOPs 4·rows·keys·HEAD_DIM per head (half of that under the causal mask).
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(constant_id = 1) const bool KV_INT8 = false;
const uint BR = 32, BC = 16, DPL = HEAD_DIM / 4;

layout(std430, binding = 0) readonly buffer Q { float qv[]; };
layout(std430, binding = 1) readonly buffer KCache { uint16_t kc[]; };
layout(std430, binding = 2) readonly buffer VCache { uint16_t vc[]; };
layout(std430, binding = 1) readonly buffer KCacheInt8 { uint kq[]; };  // KV_INT8: 4 values per word
layout(std430, binding = 1) readonly buffer KCacheScales { float kScales[]; };
layout(std430, binding = 2) readonly buffer VCacheInt8 { uint vq[]; };
layout(std430, binding = 2) readonly buffer VCacheScales { float vScales[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };
layout(std430, binding = 4) readonly buffer Step { uint stepIn[]; };
layout(std430, binding = 5) writeonly buffer Part { float part[]; };
layout(push_constant) uniform PC {
  uint qOff; uint qStride; uint rows; uint numHeads; uint groupSize; uint kvHead0; uint kvOff; uint capacity;
  uint pos0; float scale; uint oOff; uint oStride; uint useStepPosition; uint keysPerSplit;
  uint scaleOff;  // KV_INT8: the scales' first float in each cache buffer
} pc;

shared float ks[BC][HEAD_DIM + 1];
shared float vs[BC][HEAD_DIM + 1];

// Signed byte e of an int8 array read as words.
float int8At(uint word, uint e) { return float(int(word << (24 - 8 * (e & 3u))) >> 24); }

void main() {
  const uint t = gl_LocalInvocationID.x, lane = t % 4;
  const uint r = gl_WorkGroupID.x * BR + t / 4;
  const bool inRange = r < pc.rows;
  const uint head = pc.kvHead0 * pc.groupSize + gl_WorkGroupID.y;
  const uint kvLocal = head / pc.groupSize - pc.kvHead0;
  const uint pos0 = pc.useStepPosition != 0 ? stepIn[kStepPosition] : pc.pos0;
  const uint cacheBase = pc.kvOff + kvLocal * pc.capacity * HEAD_DIM;
  const uint lastRow = min(gl_WorkGroupID.x * BR + BR, pc.rows) - 1;
  const uint split = gl_WorkGroupID.z;
  const uint kFirst = pc.keysPerSplit == 0 ? 0 : split * pc.keysPerSplit;
  const uint keys = pc.keysPerSplit == 0 ? pos0 + lastRow + 1  // keys this workgroup needs
                                         : min(pos0 + lastRow + 1, kFirst + pc.keysPerSplit);
  const uint myLast = pos0 + r;         // the last key this row sees

  float q[DPL], o[DPL];
  const uint q0 = pc.qOff + r * pc.qStride + head * HEAD_DIM;
  for (uint i = 0; i < DPL; ++i) {
    q[i] = inRange ? qv[q0 + lane + 4 * i] * pc.scale : 0.0;
    o[i] = 0.0;
  }
  float m = -1.0 / 0.0, l = 0.0;
  for (uint k0 = kFirst; k0 < keys; k0 += BC) {
    for (uint e = t; e < BC * HEAD_DIM; e += 128) {
      const uint j = e / HEAD_DIM, d = e % HEAD_DIM, key = k0 + j;
      const bool ok = key < keys;
      const uint c = cacheBase + key * HEAD_DIM + d;
      if (KV_INT8) {
        const uint sIdx = pc.scaleOff + kvLocal * pc.capacity + key;
        ks[j][d] = ok ? int8At(kq[c >> 2], c) * kScales[sIdx] : 0.0;
        vs[j][d] = ok ? int8At(vq[c >> 2], c) * vScales[sIdx] : 0.0;
      } else {
        ks[j][d] = ok ? bf16ToFloat(kc[c]) : 0.0;
        vs[j][d] = ok ? bf16ToFloat(vc[c]) : 0.0;
      }
    }
    barrier();
    float s[BC];
    float tileMax = -1.0 / 0.0;
    for (uint j = 0; j < BC; ++j) {
      float p = 0.0;
      for (uint i = 0; i < DPL; ++i) p += q[i] * ks[j][lane + 4 * i];
      p += subgroupShuffleXor(p, 1);
      p += subgroupShuffleXor(p, 2);
      s[j] = (inRange && k0 + j <= myLast) ? p : -1.0 / 0.0;
      tileMax = max(tileMax, s[j]);
    }
    if (tileMax > -1.0 / 0.0) {
      const float mNew = max(m, tileMax);
      const float corr = exp(m - mNew);
      l *= corr;
      for (uint i = 0; i < DPL; ++i) o[i] *= corr;
      for (uint j = 0; j < BC; ++j) {
        const float p = exp(s[j] - mNew);
        l += p;
        for (uint i = 0; i < DPL; ++i) o[i] += p * vs[j][lane + 4 * i];
      }
      m = mNew;
    }
    barrier();
  }
  if (inRange && pc.keysPerSplit != 0) {
    const uint rec = HEAD_DIM + 2;
    const uint b = ((split * pc.rows + r) * pc.numHeads + head) * rec;
    for (uint i = 0; i < DPL; ++i) part[b + lane + 4 * i] = o[i];
    if (lane == 0) {
      part[b + HEAD_DIM] = m;
      part[b + HEAD_DIM + 1] = l;
    }
  } else if (inRange) {
    const uint o0 = pc.oOff + r * pc.oStride + head * HEAD_DIM;
    const float inv = 1.0 / l;
    for (uint i = 0; i < DPL; ++i) outv[o0 + lane + 4 * i] = o[i] * inv;
  }
}
