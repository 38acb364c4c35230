#version 450
// Causal flash-attention forward for a prefill chunk, head dim 128, on NVIDIA tensor cores through
// GL_NV_cooperative_matrix (fp16 A/B, fp32 accumulators, 16x16x16 shapes only).
//
// local_size_x = 128: 4 subgroups of 32 (the subgroup size MUST be 32).
// BR = 64
// BC = 32 (keys per KV tile)
// Shared memory: 32000 bytes (17408 K/V tile or Q staging + 9216 S/out scratch + 5120 P + 256 row factors).
//
// Grid: x = ceil(rows / BR), y = query heads of this KV buffer: head = kvHead0 * groupSize + y,
// its KV head kh = head / groupSize. Query row r (< rows) sits at position pos0 + r and attends keys
// 0 .. pos0 + r. Keys after pos0 + rows - 1 are never read.
// Host must: keep kvOff a multiple of 8 elements (the caches are read as uvec4), enable
// cooperativeMatrix (VK_NV_cooperative_matrix), shaderFloat16, vulkanMemoryModel, and subgroup
// basic + shuffle operations in compute shaders; the subgroup size must be 32 (NVIDIA).
//
// Design (see README-coopmat.md):
//  - Subgroup s owns query rows 16s .. 16s+15 of the 64-row tile. Its Q (pre-multiplied by
//    scale * log2(e) in fp32, clamped to +-65504, then fp16) stays in registers as 8 A matrices 16x16.
//  - Each KV tile (32 keys x 128 dims of K and of V) is widened from bf16 and stored as fp16 in shared
//    memory by the whole workgroup (16-byte loads). The next tile is prefetched into registers while
//    the current one is being used.
//  - S = Q K^T: 2 fp32 accumulators 16x16 per subgroup, stored to the subgroup's shared scratch; the
//    online softmax (fp32, exp2) runs with 2 lanes per row; P goes back to shared memory as fp16 and
//    is loaded as A matrices; O (16 x 128 per subgroup) stays in 8 fp32 accumulators.
//  - Rows of O are rescaled per element: each lane knows the row of every element it owns from a
//    "row index" accumulator computed once with the same accumulator type (A(r,0) = r, B = 1).
//  - Tiles wholly above the causal diagonal of the workgroup's rows are skipped; the causal mask is
//    applied only in tiles that cross it. Keys after the last key of the workgroup load as zeros.

#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128, local_size_y = 1, local_size_z = 1) in;

// bf16 caches are read 8 values (16 bytes) at a time through uvec4 views: no 16-bit storage needed.
layout(std430, set = 0, binding = 0) readonly buffer QBuf { float qv[]; };
layout(std430, set = 0, binding = 1) readonly buffer KBuf { uvec4 k4[]; };
layout(std430, set = 0, binding = 2) readonly buffer VBuf { uvec4 v4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer OBuf { float ov[]; };

layout(push_constant) uniform PC {
  uint qOff; uint qStride; uint rows; uint numHeads; uint groupSize; uint kvHead0; uint kvOff; uint capacity;
  uint pos0; float scale; uint oOff; uint oStride;
} pc;

#define F16M fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define F32M fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

const uint BR = 64u;   // query rows per workgroup
const uint BC = 32u;   // keys per KV tile
const uint HD = 128u;  // head dim
const uint NSG = 4u;   // subgroups per workgroup

// All shared tiles are uvec4 arrays (8 fp16 or 4 fp32 values per entry); coopMatLoad/Store offsets
// and strides are in uvec4 units, hence always 16-byte aligned as the NV extension requires.
const uint TS4 = 17u;           // row stride of the Q / K / V fp16 tiles: 136 halves = 272 bytes
const uint SS4 = 9u;            // row stride of the fp32 S / output scratch: 36 floats = 144 bytes
const uint PS4 = 5u;            // row stride of the fp16 P tile: 40 halves = 80 bytes
const uint V_BASE = BC * TS4;   // V tile after the K tile
const uint KV_ENTRIES = (2u * BC > BR ? 2u * BC : BR) * TS4;  // K + V tiles, or the Q staging tile

shared uvec4 shKV[KV_ENTRIES];        // 1088 x 16 = 17408 bytes
shared uvec4 shS[NSG * 16u * SS4];    // 576 x 16 = 9216 bytes: per subgroup 16 rows x 36 floats
shared uvec4 shP[NSG * 16u * PS4];    // 320 x 16 = 5120 bytes: per subgroup 16 rows x 40 halves
shared float shRow[NSG * 16u];        // 256 bytes: per row rescale factor (alpha, then 1/l)

const float NEG_BIG = -1.0e30;        // "minus infinity" for the running max (finite on purpose)
const float FP16_MAX = 65504.0;

// Two fp32 values -> fp16 pair in one uint (first value in the low half), clamped so nothing is inf.
uint packHalf2Clamped(float a, float b) {
  const vec2 c = clamp(vec2(a, b), vec2(-FP16_MAX), vec2(FP16_MAX));
  return packFloat2x16(f16vec2(c));
}

// 8 bf16 (one uvec4, element 2i in the low half of word i) -> 8 fp16 in the same order.
uvec4 bf16x8ToHalf(uvec4 w) {
  return uvec4(packHalf2Clamped(uintBitsToFloat(w.x << 16), uintBitsToFloat(w.x & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.y << 16), uintBitsToFloat(w.y & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.z << 16), uintBitsToFloat(w.z & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.w << 16), uintBitsToFloat(w.w & 0xffff0000u)));
}

// Prefetch registers of one KV tile: 32 keys x 16 chunks of 8 dims = 512 chunks per matrix, 4 per
// invocation (chunk c = tid + 128 i: key c / 16, dims 8 (c % 16) .. +7).
uvec4 pk[4];
uvec4 pv[4];

void fetchKV(uint tid, uint kv0, uint kvEnd, uint kvBase4) {
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    const uint c = tid + 128u * i;
    const uint key = kv0 + (c >> 4);
    if (key <= kvEnd) {
      const uint idx = kvBase4 + key * 16u + (c & 15u);  // uvec4 index: 16 per key row of 128 dims
      pk[i] = k4[idx];
      pv[i] = v4[idx];
    } else {
      pk[i] = uvec4(0u);  // keys past the last one this workgroup needs: never read, zeros
      pv[i] = uvec4(0u);
    }
  }
}

void main() {
  const uint tid = gl_LocalInvocationIndex;
  const uint sg = gl_SubgroupID;               // 0..3
  const uint lane = gl_SubgroupInvocationID;   // 0..31
  const uint t0 = gl_WorkGroupID.x * BR;       // first query row of this workgroup
  if (t0 >= pc.rows) return;                   // uniform over the workgroup

  const uint head = pc.kvHead0 * pc.groupSize + gl_WorkGroupID.y;
  const uint kvRel = gl_WorkGroupID.y / pc.groupSize;  // kh - kvHead0
  // Cache element (kh, p, d) = kvOff + kvRel*capacity*128 + p*128 + d; in uvec4 (8-element) units:
  const uint kvBase4 = pc.kvOff / 8u + kvRel * pc.capacity * 16u;

  const uint rLast = min(t0 + BR, pc.rows) - 1u;   // last valid query row of this workgroup
  const uint kvEnd = pc.pos0 + rLast;              // last key any row of this workgroup attends
  const uint nTiles = kvEnd / BC + 1u;
  const uint qMinPos = pc.pos0 + t0;               // position of the first query row

  // Start fetching the first KV tile right away.
  fetchKV(tid, 0u, kvEnd, kvBase4);

  const uint sgS = sg * 16u * SS4;  // this subgroup's S / output scratch
  const uint sgP = sg * 16u * PS4;  // this subgroup's P tile

  // ---- Row index of every accumulator element this lane owns --------------------------------
  // A(r, k) = (k == 0 ? r : 0), B = all ones  =>  (A B)(r, c) = r exactly. Computed with the same
  // accumulator type as S and O, so element i of every such matrix lies in row rowOf[i].
  if (lane < 16u) {
    shP[sgP + lane * PS4 + 0u] = uvec4(packFloat2x16(f16vec2(float16_t(float(lane)), float16_t(0.0))), 0u, 0u, 0u);
    shP[sgP + lane * PS4 + 1u] = uvec4(0u);
  }
  subgroupBarrier();
  F16M rowA;
  coopMatLoadNV(rowA, shP, sgP, PS4, false);
  const F32M rowM = coopMatMulAddNV(rowA, F16M(float16_t(1.0)), F32M(0.0));
  uint rowOf[rowM.length()];
  [[unroll]] for (int i = 0; i < rowM.length(); ++i) rowOf[i] = uint(rowM[i] + 0.5);

  // ---- Q tile: fp32 -> (x scale*log2 e) -> clamp -> fp16 in shared, then A matrices --------------
  // 64 rows x 16 chunks of 8 dims = 1024 chunks, 8 per invocation.
  const float qScale = pc.scale * 1.4426950408889634;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    const uint c = tid + 128u * i;
    const uint row = c >> 4, ch = c & 15u;
    const uint qr = t0 + row;
    uvec4 h = uvec4(0u);
    if (qr < pc.rows) {
      const uint e = pc.qOff + qr * pc.qStride + head * HD + ch * 8u;
      h = uvec4(packHalf2Clamped(qv[e + 0u] * qScale, qv[e + 1u] * qScale),
                packHalf2Clamped(qv[e + 2u] * qScale, qv[e + 3u] * qScale),
                packHalf2Clamped(qv[e + 4u] * qScale, qv[e + 5u] * qScale),
                packHalf2Clamped(qv[e + 6u] * qScale, qv[e + 7u] * qScale));
    }
    shKV[row * TS4 + ch] = h;
  }
  barrier();
  F16M qA[8];  // qA[d] = Q rows 16sg .. +15, dims 16d .. +15
  [[unroll]] for (uint d = 0u; d < 8u; ++d) coopMatLoadNV(qA[d], shKV, (sg * 16u) * TS4 + 2u * d, TS4, false);

  F32M accO[8];  // accO[d] = O rows 16sg .. +15, dims 16d .. +15
  [[unroll]] for (uint d = 0u; d < 8u; ++d) accO[d] = F32M(0.0);

  // Softmax state of row r = lane / 2 of this subgroup; both lanes of a pair hold the same values.
  const uint r = lane >> 1;    // row within the subgroup's 16
  const uint hf = lane & 1u;   // which 16 of the tile's 32 keys this lane handles
  const uint qpos = pc.pos0 + t0 + sg * 16u + r;  // position of this lane's query row
  float mRow = NEG_BIG;  // running max (log2 units)
  float lRow = 0.0;      // running sum

  for (uint t = 0u; t < nTiles; ++t) {
    const uint kv0 = t * BC;

    // -- K/V tile into shared memory (fp16) --
    barrier();  // every subgroup is done with shKV (Q staging, or the previous tile's K and V)
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      const uint c = tid + 128u * i;
      const uint slot = (c >> 4) * TS4 + (c & 15u);
      shKV[slot] = bf16x8ToHalf(pk[i]);
      shKV[V_BASE + slot] = bf16x8ToHalf(pv[i]);
    }
    barrier();
    if (t + 1u < nTiles) fetchKV(tid, kv0 + BC, kvEnd, kvBase4);  // in flight during the math below

    // -- S = Q K^T (16 rows x 32 keys per subgroup), to the subgroup's scratch --
    [[unroll]] for (uint j = 0u; j < 2u; ++j) {
      F32M sAcc = F32M(0.0);
      [[unroll]] for (uint d = 0u; d < 8u; ++d) {
        F16M kB;  // B(k, n) = K[key 16j + n][dim 16d + k]: column-major view of the K tile
        coopMatLoadNV(kB, shKV, (16u * j) * TS4 + 2u * d, TS4, true);
        sAcc = coopMatMulAddNV(qA[d], kB, sAcc);
      }
      coopMatStoreNV(sAcc, shS, sgS + 4u * j, SS4, false);  // columns 16j .. +15 (4 uvec4 = 16 floats)
    }
    subgroupBarrier();

    // -- online softmax: lane handles row r, keys kv0 + 16 hf .. +15 --
    {
      const bool needMask = kv0 + BC - 1u > qMinPos;  // uniform: tile crosses the diagonal
      float sv[16];
      [[unroll]] for (uint q = 0u; q < 4u; ++q) {
        const vec4 f = uintBitsToFloat(shS[sgS + r * SS4 + hf * 4u + q]);
        sv[4u * q + 0u] = f.x;
        sv[4u * q + 1u] = f.y;
        sv[4u * q + 2u] = f.z;
        sv[4u * q + 3u] = f.w;
      }
      const uint key0 = kv0 + hf * 16u;
      float mt = NEG_BIG;
      [[unroll]] for (uint c = 0u; c < 16u; ++c) {
        const bool ok = !needMask || key0 + c <= qpos;
        if (ok) mt = max(mt, sv[c]);
      }
      mt = max(mt, subgroupShuffleXor(mt, 1u));
      const float mNew = max(mRow, mt);
      const float alpha = exp2(mRow - mNew);  // 0 on the first tile (mRow = -1e30), else <= 1
      float ps = 0.0;
      uint pw[8];
      [[unroll]] for (uint c = 0u; c < 16u; c += 2u) {
        const bool ok0 = !needMask || key0 + c <= qpos;
        const bool ok1 = !needMask || key0 + c + 1u <= qpos;
        const float p0 = ok0 ? exp2(sv[c] - mNew) : 0.0;
        const float p1 = ok1 ? exp2(sv[c + 1u] - mNew) : 0.0;
        ps += p0 + p1;
        pw[c >> 1] = packFloat2x16(f16vec2(p0, p1));  // 0 <= p <= 1
      }
      ps += subgroupShuffleXor(ps, 1u);
      lRow = lRow * alpha + ps;
      mRow = mNew;
      shP[sgP + r * PS4 + hf * 2u + 0u] = uvec4(pw[0], pw[1], pw[2], pw[3]);
      shP[sgP + r * PS4 + hf * 2u + 1u] = uvec4(pw[4], pw[5], pw[6], pw[7]);
      if (hf == 0u) shRow[sg * 16u + r] = alpha;
    }
    subgroupBarrier();

    // -- O = O * alpha(row) + P V --
    F16M pA[2];  // pA[j] = P rows 0..15, keys 16j .. +15
    coopMatLoadNV(pA[0], shP, sgP + 0u, PS4, false);
    coopMatLoadNV(pA[1], shP, sgP + 2u, PS4, false);
    float alphaEl[rowM.length()];
    [[unroll]] for (int i = 0; i < rowM.length(); ++i) alphaEl[i] = shRow[sg * 16u + rowOf[i]];
    [[unroll]] for (uint d = 0u; d < 8u; ++d) {
      [[unroll]] for (int i = 0; i < rowM.length(); ++i) accO[d][i] *= alphaEl[i];
      [[unroll]] for (uint j = 0u; j < 2u; ++j) {
        F16M vB;  // B(k, n) = V[key 16j + k][dim 16d + n]: row-major view of the V tile
        coopMatLoadNV(vB, shKV, V_BASE + (16u * j) * TS4 + 2u * d, TS4, false);
        accO[d] = coopMatMulAddNV(pA[j], vB, accO[d]);
      }
    }
  }

  // ---- O /= l (fp32), then write the valid rows ------------------------------------------------
  subgroupBarrier();  // all lanes are done reading shRow (alpha of the last tile)
  if (hf == 0u) shRow[sg * 16u + r] = 1.0 / lRow;  // lRow >= 1: the row max contributes exp2(0)
  subgroupBarrier();
  {
    float invEl[rowM.length()];
    [[unroll]] for (int i = 0; i < rowM.length(); ++i) invEl[i] = shRow[sg * 16u + rowOf[i]];
    [[unroll]] for (uint d = 0u; d < 8u; ++d)
      [[unroll]] for (int i = 0; i < rowM.length(); ++i) accO[d][i] *= invEl[i];
  }
  // 4 passes of 16 rows x 32 dims through the subgroup's scratch; lane = dim within the pass.
  [[unroll]] for (uint hp = 0u; hp < 4u; ++hp) {
    coopMatStoreNV(accO[2u * hp + 0u], shS, sgS + 0u, SS4, false);
    coopMatStoreNV(accO[2u * hp + 1u], shS, sgS + 4u, SS4, false);
    subgroupBarrier();
    [[unroll]] for (uint e = 0u; e < 16u; ++e) {
      const uint qr = t0 + sg * 16u + e;
      if (qr < pc.rows) {
        const float val = uintBitsToFloat(shS[sgS + e * SS4 + (lane >> 2)][lane & 3u]);
        ov[pc.oOff + qr * pc.oStride + head * HD + hp * 32u + lane] = val;
      }
    }
    subgroupBarrier();
  }
}
