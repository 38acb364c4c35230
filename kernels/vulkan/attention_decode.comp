#version 450
// Split-KV attention of one query row (decode). Workgroup (split, KV head): all GROUP query heads of
// the KV head at once, so each K/V byte is read once; keys [split * chunk, ...) of the L = position + 1
// keys, tiles of KT keys with the next tile's loads issued before the current one is used. Writes
// per (KV head, split, head in group) the unnormalised output, the running max and the sum; the
// combine shader (attention_combine.comp) merges the splits.
// Bytes: 4·L·HEAD_DIM per KV head (K and V bf16) read once. Grid: (splits, KV heads of this buffer).
#include "common.glsl"
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(constant_id = 1) const uint GROUP = 16;
const uint KT = HEAD_DIM >= 256 ? 8 : 2048 / HEAD_DIM;  // keys per tile
const uint TILE_VEC = KT * HEAD_DIM / 8;                // uvec4 loads per tile (K or V)
const uint LOADS = (TILE_VEC + 127) / 128;              // per invocation
const uint OUTS = (GROUP * HEAD_DIM + 127) / 128;       // (head, dim) outputs per invocation

layout(std430, binding = 0) readonly buffer Q { float qv[]; };
layout(std430, binding = 1) readonly buffer KCache { uvec4 kc4[]; };
layout(std430, binding = 2) readonly buffer VCache { uvec4 vc4[]; };
layout(std430, binding = 3) writeonly buffer Part { float part[]; };
layout(std430, binding = 4) readonly buffer Step { uint stepIn[]; };
layout(push_constant) uniform PC {
  uint qOff; uint kvHead0; uint kvOff; uint capacity; uint pos; uint useStepPosition; float scale; uint splits;
} pc;

shared float qs[GROUP * HEAD_DIM];
shared float ks[KT][HEAD_DIM + 1];
shared float vs[KT][HEAD_DIM];
shared float sc[GROUP][KT];
shared float mS[GROUP], lS[GROUP], corrS[GROUP];

void unpackTo(uvec4 w, uint e, bool isK) {
  // e: first of the 8 elements (key-major within the tile)
  const uint j = e / HEAD_DIM, d = e % HEAD_DIM;
  const float v[8] = float[8](bf16Lo(w.x), bf16Hi(w.x), bf16Lo(w.y), bf16Hi(w.y), bf16Lo(w.z), bf16Hi(w.z),
                              bf16Lo(w.w), bf16Hi(w.w));
  for (uint i = 0; i < 8; ++i) {
    if (isK) ks[j][d + i] = v[i];
    else vs[j][d + i] = v[i];
  }
}

void main() {
  const uint t = gl_LocalInvocationID.x, split = gl_WorkGroupID.x, kvLocal = gl_WorkGroupID.y;
  const uint kvHead = pc.kvHead0 + kvLocal;
  const uint L = (pc.useStepPosition != 0 ? stepIn[kStepPosition] : pc.pos) + 1;
  const uint chunk = ((L + pc.splits - 1) / pc.splits + KT - 1) / KT * KT;
  const uint kBegin = min(split * chunk, L), kEnd = min(kBegin + chunk, L);
  const uint cacheVec = (pc.kvOff + kvLocal * pc.capacity * HEAD_DIM) / 8;  // uvec4 index of key 0

  for (uint e = t; e < GROUP * HEAD_DIM; e += 128)
    qs[e] = qv[pc.qOff + kvHead * GROUP * HEAD_DIM + e] * pc.scale;
  if (t < GROUP) {
    mS[t] = -1.0 / 0.0;
    lS[t] = 0.0;
  }
  float o[OUTS];
  for (uint i = 0; i < OUTS; ++i) o[i] = 0.0;

  uvec4 nextK[LOADS], nextV[LOADS];
  for (uint i = 0; i < LOADS; ++i) {
    const uint e = t + 128 * i, key = kBegin + e / (HEAD_DIM / 8);
    const bool ok = e < TILE_VEC && key < kEnd;
    nextK[i] = ok ? kc4[cacheVec + key * (HEAD_DIM / 8) + e % (HEAD_DIM / 8)] : uvec4(0);
    nextV[i] = ok ? vc4[cacheVec + key * (HEAD_DIM / 8) + e % (HEAD_DIM / 8)] : uvec4(0);
  }
  for (uint k0 = kBegin; k0 < kEnd; k0 += KT) {
    barrier();  // the previous tile is no longer read
    for (uint i = 0; i < LOADS; ++i) {
      const uint e = t + 128 * i;
      if (e < TILE_VEC) {
        unpackTo(nextK[i], e * 8, true);
        unpackTo(nextV[i], e * 8, false);
      }
    }
    for (uint i = 0; i < LOADS; ++i) {  // issue the next tile's loads now; they land while this one is used
      const uint e = t + 128 * i, key = k0 + KT + e / (HEAD_DIM / 8);
      const bool ok = e < TILE_VEC && key < kEnd;
      nextK[i] = ok ? kc4[cacheVec + key * (HEAD_DIM / 8) + e % (HEAD_DIM / 8)] : uvec4(0);
      nextV[i] = ok ? vc4[cacheVec + key * (HEAD_DIM / 8) + e % (HEAD_DIM / 8)] : uvec4(0);
    }
    barrier();
    for (uint e = t; e < GROUP * KT; e += 128) {
      const uint g = e / KT, j = e % KT;
      float s = 0.0;
      for (uint d = 0; d < HEAD_DIM; ++d) s += qs[g * HEAD_DIM + d] * ks[j][d];
      sc[g][j] = k0 + j < kEnd ? s : -1.0 / 0.0;
    }
    barrier();
    if (t < GROUP) {
      float tileMax = -1.0 / 0.0;
      for (uint j = 0; j < KT; ++j) tileMax = max(tileMax, sc[t][j]);
      const float mNew = max(mS[t], tileMax);
      const float corr = exp(mS[t] - mNew);
      float sum = 0.0;
      for (uint j = 0; j < KT; ++j) {
        const float p = exp(sc[t][j] - mNew);
        sc[t][j] = p;
        sum += p;
      }
      lS[t] = lS[t] * corr + sum;
      mS[t] = mNew;
      corrS[t] = corr;
    }
    barrier();
    for (uint i = 0; i < OUTS; ++i) {
      const uint e = t + 128 * i;
      if (e < GROUP * HEAD_DIM) {
        const uint g = e / HEAD_DIM, d = e % HEAD_DIM;
        float acc = o[i] * corrS[g];
        for (uint j = 0; j < KT; ++j) acc += sc[g][j] * vs[j][d];
        o[i] = acc;
      }
    }
  }
  barrier();
  // Partials: [kvHead][split][g] -> HEAD_DIM outputs, max, sum.
  const uint rec = HEAD_DIM + 2;
  const uint base = (kvHead * pc.splits + split) * GROUP * rec;
  for (uint i = 0; i < OUTS; ++i) {
    const uint e = t + 128 * i;
    if (e < GROUP * HEAD_DIM) part[base + (e / HEAD_DIM) * rec + e % HEAD_DIM] = o[i];
  }
  if (t < GROUP) {
    part[base + t * rec + HEAD_DIM] = mS[t];
    part[base + t * rec + HEAD_DIM + 1] = lS[t];
  }
}
