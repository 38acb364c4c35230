#version 450
// Split-KV attention of one query row (decode). Workgroup (split, KV head): all GROUP query heads of
// the KV head at once, so each K/V byte is read once; keys [split * chunk, ...) of L = position + 1,
// in tiles of TILE keys. Scores: THREADS_PER_KEY invocations per key, each holding DIMS of that key
// (read straight from memory into registers, 16 bytes at a time) against the GROUP queries in shared
// memory; the partial dots meet in shared memory. Softmax statistics in fp32, 8 invocations per head
// (GROUP <= 16). Output:
// invocation d accumulates dim d (and d + 128, ...) of every head from the V tile in shared memory.
// The next tile's K and V loads are issued before the current tile is used. Writes per (KV head,
// split, head in group) the unnormalised output, the running max and the sum; attention_combine.comp
// merges the splits.
// Bytes: 4·L·HEAD_DIM per KV head (K and V bf16) read once. FLOPs 4·L·HEAD_DIM·GROUP.
// Grid: (splits, KV heads of this buffer). Needs HEAD_DIM % (8 * THREADS_PER_KEY) == 0.
// KV_INT8 (the 8-bit cache, rope_append.comp's layout): 8 dims per 8-byte load instead of 16; a key's
// partial dots are multiplied by its scale, V is widened to q * s into shared memory. Bytes: 2·L·(HEAD_DIM + 4).
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint HEAD_DIM = 128;
layout(constant_id = 1) const uint GROUP = 16;
layout(constant_id = 2) const uint TILE = 32;  // keys per tile: 32 on GPUs, 16 where shared memory is 32 KiB
layout(constant_id = 3) const bool KV_INT8 = false;
const uint THREADS_PER_KEY = 128 / TILE;
const uint DIMS = HEAD_DIM / THREADS_PER_KEY;  // per invocation in the score phase
const uint VECS = DIMS / 8;                     // uvec4 per invocation per key (K)
const uint V_VECS = TILE * HEAD_DIM / 8;        // uvec4 of a V tile
const uint V_LOADS = (V_VECS + 127) / 128;
const uint OUTS = (HEAD_DIM + 127) / 128;       // dims per invocation in the output phase

layout(std430, binding = 0) readonly buffer Q { float qv[]; };
layout(std430, binding = 1) readonly buffer KCache { uvec4 kc4[]; };
layout(std430, binding = 2) readonly buffer VCache { uvec4 vc4[]; };
layout(std430, binding = 1) readonly buffer KCacheInt8 { uvec2 kq2[]; };  // KV_INT8: 8 values per entry
layout(std430, binding = 1) readonly buffer KCacheScales { float kScales[]; };
layout(std430, binding = 2) readonly buffer VCacheInt8 { uvec2 vq2[]; };
layout(std430, binding = 2) readonly buffer VCacheScales { float vScales[]; };
layout(std430, binding = 3) writeonly buffer Part { float part[]; };
layout(std430, binding = 4) readonly buffer Step { uint stepIn[]; };
layout(push_constant) uniform PC {
  uint qOff; uint kvHead0; uint kvOff; uint capacity; uint pos; uint useStepPosition; float scale; uint splits;
  uint scaleOff;  // KV_INT8: the scales' first float in each cache buffer
} pc;

// Queries, padded by one vec4 after every 8 (qIndex): the THREADS_PER_KEY invocations of a key read
// vec4s DIMS floats apart, which would otherwise share banks.
shared vec4 qs[GROUP * HEAD_DIM / 4 + GROUP * HEAD_DIM / 32];
shared float vs[TILE * HEAD_DIM];
shared float sc[TILE][THREADS_PER_KEY][GROUP + 1];  // partial dots, key-major (conflict-free stores)
shared vec4 pr4[(TILE * GROUP + 3) / 4];               // probabilities [key][head]
shared float mS[GROUP], lS[GROUP], corrS[GROUP];

float dot8(uvec4 k, vec4 a, vec4 b) {
  return bf16Lo(k.x) * a.x + bf16Hi(k.x) * a.y + bf16Lo(k.y) * a.z + bf16Hi(k.y) * a.w +
         bf16Lo(k.z) * b.x + bf16Hi(k.z) * b.y + bf16Lo(k.w) * b.z + bf16Hi(k.w) * b.w;
}

uint qIndex(uint v) { return v + v / 8; }

// Four int8 of a word as floats (a byte q + 128 under the exponent of 2^23 is 2^23 + 128 + q).
vec4 int8x4(uint w) {
  const uint u = w ^ 0x80808080u;
  return uintBitsToFloat(uvec4(u & 0xffu, (u >> 8) & 0xffu, (u >> 16) & 0xffu, u >> 24) | 0x4b000000u) - 8388736.0;
}

// 8 values of the cache (8-element unit `unit`: 16 bytes of bf16 or, KV_INT8, 8 bytes in .xy).
uvec4 loadK(uint unit) { return KV_INT8 ? uvec4(kq2[unit], 0u, 0u) : kc4[unit]; }
uvec4 loadV(uint unit) { return KV_INT8 ? uvec4(vq2[unit], 0u, 0u) : vc4[unit]; }

float dotK(uvec4 k, vec4 a, vec4 b) {
  return KV_INT8 ? dot(int8x4(k.x), a) + dot(int8x4(k.y), b) : dot8(k, a, b);
}

void main() {
  const uint t = gl_LocalInvocationID.x, split = gl_WorkGroupID.x, kvLocal = gl_WorkGroupID.y;
  const uint kvHead = pc.kvHead0 + kvLocal;
  const uint L = (pc.useStepPosition != 0 ? stepIn[kStepPosition] : pc.pos) + 1;
  const uint chunk = ((L + pc.splits - 1) / pc.splits + TILE - 1) / TILE * TILE;
  const uint kBegin = min(split * chunk, L), kEnd = min(kBegin + chunk, L);
  const uint rowVecs = HEAD_DIM / 8;
  const uint cacheVec = (pc.kvOff + kvLocal * pc.capacity * HEAD_DIM) / 8;  // 8-element unit of key 0
  const uint scale0 = pc.scaleOff + kvLocal * pc.capacity;                 // KV_INT8: scale of key 0
  const uint myKey = t / THREADS_PER_KEY, part0 = t % THREADS_PER_KEY;     // score phase
  const uint d0 = part0 * DIMS;

  for (uint e = t; e < GROUP * HEAD_DIM / 4; e += 128) {
    const uint b = pc.qOff + kvHead * GROUP * HEAD_DIM + 4 * e;
    qs[qIndex(e)] = vec4(qv[b], qv[b + 1], qv[b + 2], qv[b + 3]) * pc.scale;
  }
  if (t < GROUP) {
    mS[t] = -1.0 / 0.0;
    lS[t] = 0.0;
  }
  float o[GROUP][OUTS];
  [[unroll]] for (uint g = 0; g < GROUP; ++g)
    [[unroll]] for (uint i = 0; i < OUTS; ++i) o[g][i] = 0.0;

  uvec4 nextK[VECS], nextV[V_LOADS];
  float nextKs = 1.0, nextVs[V_LOADS];  // KV_INT8: the scales of those keys
  // Loads are never conditional (a branch per load would serialise them): out-of-range keys read a
  // valid key of the split (or key 0) and are masked afterwards.
  const uint lastKey = max(kEnd, 1) - 1;
  {
    const uint key = kBegin + myKey;
    [[unroll]] for (uint i = 0; i < VECS; ++i) {
      const uvec4 w = loadK(cacheVec + min(key, lastKey) * rowVecs + d0 / 8 + i);
      nextK[i] = key < kEnd ? w : uvec4(0);
    }
    if (KV_INT8) nextKs = kScales[scale0 + min(key, lastKey)];
    [[unroll]] for (uint i = 0; i < V_LOADS; ++i) {
      const uint e = min(t + 128 * i, V_VECS - 1), vk = kBegin + e / rowVecs;
      const uvec4 w = loadV(cacheVec + min(vk, lastKey) * rowVecs + e % rowVecs);
      nextV[i] = vk < kEnd ? w : uvec4(0);
      nextVs[i] = KV_INT8 ? vScales[scale0 + min(vk, lastKey)] : 1.0;
    }
  }
  for (uint k0 = kBegin; k0 < kEnd; k0 += TILE) {
    uvec4 curK[VECS];
    [[unroll]] for (uint i = 0; i < VECS; ++i) curK[i] = nextK[i];
    const float curKs = nextKs;
    barrier();  // the previous tile's vs and sc are no longer read
    [[unroll]] for (uint i = 0; i < V_LOADS; ++i) {
      const uint e = t + 128 * i;
      if (e < V_VECS) {
        const uvec4 w = nextV[i];
        const uint b = e * 8;
        if (KV_INT8) {
          const vec4 lo = int8x4(w.x) * nextVs[i], hi = int8x4(w.y) * nextVs[i];
          vs[b] = lo.x; vs[b + 1] = lo.y; vs[b + 2] = lo.z; vs[b + 3] = lo.w;
          vs[b + 4] = hi.x; vs[b + 5] = hi.y; vs[b + 6] = hi.z; vs[b + 7] = hi.w;
        } else {
          vs[b] = bf16Lo(w.x); vs[b + 1] = bf16Hi(w.x); vs[b + 2] = bf16Lo(w.y); vs[b + 3] = bf16Hi(w.y);
          vs[b + 4] = bf16Lo(w.z); vs[b + 5] = bf16Hi(w.z); vs[b + 6] = bf16Lo(w.w); vs[b + 7] = bf16Hi(w.w);
        }
      }
    }
    {  // the next tile's loads, in flight while this one is used
      const uint key = k0 + TILE + myKey;
      [[unroll]] for (uint i = 0; i < VECS; ++i) {
        const uvec4 w = loadK(cacheVec + min(key, lastKey) * rowVecs + d0 / 8 + i);
        nextK[i] = key < kEnd ? w : uvec4(0);
      }
      if (KV_INT8) nextKs = kScales[scale0 + min(key, lastKey)];
      [[unroll]] for (uint i = 0; i < V_LOADS; ++i) {
        const uint e = min(t + 128 * i, V_VECS - 1), vk = k0 + TILE + e / rowVecs;
        const uvec4 w = loadV(cacheVec + min(vk, lastKey) * rowVecs + e % rowVecs);
        nextV[i] = vk < kEnd ? w : uvec4(0);
        if (KV_INT8) nextVs[i] = vScales[scale0 + min(vk, lastKey)];
      }
    }
    // Partial dots of my key's DIMS with every head's query.
    [[unroll]] for (uint g = 0; g < GROUP; ++g) {
      float s = 0.0;
      [[unroll]] for (uint i = 0; i < VECS; ++i) {
        const uint qb = (g * HEAD_DIM + d0) / 4 + 2 * i;
        s += dotK(curK[i], qs[qIndex(qb)], qs[qIndex(qb + 1)]);
      }
      sc[myKey][part0][g] = KV_INT8 ? s * curKs : s;
    }
    barrier();
    // Softmax statistics: 8 invocations per head (heads t / 8), each over TILE / 8 keys, combined with
    // subgroup shuffles (groups of 8 neighbouring invocations sit in one subgroup on every device).
    {
      const uint g = t / 8, l8 = t % 8;
      const bool headLane = g < GROUP;
      float s[TILE / 8];
      float localMax = -1.0 / 0.0;
      [[unroll]] for (uint i = 0; i < TILE / 8; ++i) {
        const uint j = l8 + 8 * i;
        float v = 0.0;
        if (headLane)
          [[unroll]] for (uint p = 0; p < THREADS_PER_KEY; ++p) v += sc[j][p][g];
        s[i] = headLane && k0 + j < kEnd ? v : -1.0 / 0.0;
        localMax = max(localMax, s[i]);
      }
      localMax = max(localMax, subgroupShuffleXor(localMax, 1));
      localMax = max(localMax, subgroupShuffleXor(localMax, 2));
      localMax = max(localMax, subgroupShuffleXor(localMax, 4));
      const float mOld = headLane ? mS[g] : 0.0;
      const float mNew = max(mOld, localMax);
      float sum = 0.0;
      [[unroll]] for (uint i = 0; i < TILE / 8; ++i) {
        const float p = headLane ? exp(s[i] - mNew) : 0.0;
        const uint idx = (l8 + 8 * i) * GROUP + g;
        if (headLane) pr4[idx >> 2][idx & 3] = p;
        sum += p;
      }
      sum += subgroupShuffleXor(sum, 1);
      sum += subgroupShuffleXor(sum, 2);
      sum += subgroupShuffleXor(sum, 4);
      if (headLane && l8 == 0) {
        const float corr = exp(mOld - mNew);
        lS[g] = lS[g] * corr + sum;
        mS[g] = mNew;
        corrS[g] = corr;
      }
    }
    barrier();
    [[unroll]] for (uint i = 0; i < OUTS; ++i) {
      const uint d = t + 128 * i;
      if (d < HEAD_DIM) {
        [[unroll]] for (uint g = 0; g < GROUP; ++g) o[g][i] *= corrS[g];
        [[unroll]] for (uint j = 0; j < TILE; ++j) {
          const float v = vs[j * HEAD_DIM + d];
          if (GROUP % 4 == 0) {
            [[unroll]] for (uint g = 0; g < GROUP; g += 4) {
              const vec4 p = pr4[(j * GROUP + g) / 4];
              o[g][i] += p.x * v;
              o[g + 1][i] += p.y * v;
              o[g + 2][i] += p.z * v;
              o[g + 3][i] += p.w * v;
            }
          } else {
            [[unroll]] for (uint g = 0; g < GROUP; ++g) o[g][i] += pr4[(j * GROUP + g) >> 2][(j * GROUP + g) & 3] * v;
          }
        }
      }
    }
  }
  barrier();
  // Partials: [kvHead][split][g] -> HEAD_DIM outputs, max, sum.
  const uint rec = HEAD_DIM + 2;
  const uint base = (kvHead * pc.splits + split) * GROUP * rec;
  [[unroll]] for (uint i = 0; i < OUTS; ++i) {
    const uint d = t + 128 * i;
    if (d < HEAD_DIM)
      [[unroll]] for (uint g = 0; g < GROUP; ++g) part[base + g * rec + d] = o[g][i];
  }
  if (t < GROUP) {
    part[base + t * rec + HEAD_DIM] = mS[t];
    part[base + t * rec + HEAD_DIM + 1] = lS[t];
  }
}
