#version 450
// Prefill matmul on NVIDIA tensor cores through GL_NV_cooperative_matrix:
//   O[r, m] = sum_k X[r, k] * W[m, k] + (hasBias ? bias[biasOff + m] : 0)
// X fp32 [rows x K] (clamped to +-65504, converted to fp16), W [M x K] row-major as stored (WKIND 0: bf16;
// 1: int8 with an fp32 scale per row; 2: int4 in groups of GROUP_SIZE columns with fp16 scales, quant_format.h)
// widened to fp16 on its way into shared memory (q * scale in fp32, then fp16: a quantized weight is never
// written out widened), fp32 accumulation (16x16x16 fp16 x fp16 -> fp32 cooperative matrices).
//
// local_size_x = 256: 8 subgroups of 32 (the subgroup size MUST be 32).
// BM = 128
// BN = 128
// BK = 32: K step; the host guarantees K % 32 == 0. M and rows are arbitrary.
// Shared memory: 40960 bytes (2 stages x (128 x 40 halves of X + 128 x 40 halves of W)); the output
// staging after the K loop reuses the same memory.
//
// Grid: x = ceil(M / BM) (output-feature tiles), y = ceil(rows / BN) (row tiles).
// Host must: keep K % 32 == 0, bind W at element 0, a bias buffer even when hasBias == 0 and a scales
// buffer even for bf16 (binding 4, unread there), enable
// cooperativeMatrix (VK_NV_cooperative_matrix), shaderFloat16, vulkanMemoryModel, and subgroup
// basic operations in compute shaders; the subgroup size must be 32 (NVIDIA).
//
// Subgroup s computes rows 64 (s / 4) .. +63 and features 32 (s % 4) .. +31 of the 128 x 128 tile:
// 4 x 2 accumulators of 16 x 16. K tiles are double-buffered: the next tile's global loads are in
// flight (in registers) while the current one is multiplied, then stored to the other stage.

#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint WKIND = 0;
layout(constant_id = 1) const uint GROUP_SIZE = 32;

// X through a scalar view, and a vec4 view of the same binding used when xOff and xStride are
// multiples of 4. W through a uvec4 view (8 bf16 per entry; K % 32 == 0 keeps every row aligned).
layout(std430, set = 0, binding = 0) readonly buffer XBuf { float xv[]; };
layout(std430, set = 0, binding = 0) readonly buffer XBuf4 { vec4 xv4[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uvec4 w4[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf2 { uvec2 w2[]; };  // int8: 8 weights per entry
layout(std430, set = 0, binding = 1) readonly buffer WBuf1 { uint w1[]; };   // int4: 8 weights per entry
layout(std430, set = 0, binding = 4) readonly buffer RowScales { float rowScales[]; };  // int8
layout(std430, set = 0, binding = 4) readonly buffer GroupScales { uint groupScales[]; };  // int4: fp16 pairs
layout(std430, set = 0, binding = 2) readonly buffer BiasBuf { float biasv[]; };
layout(std430, set = 0, binding = 3) writeonly buffer OBuf { float ov[]; };

layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint rows; uint K; uint M; uint oOff; uint oStride; uint hasBias;
  uint biasOff;  // bias of output feature m: biasv[biasOff + m] (a slice of a larger weight's rows)
} pc;

#define F16M fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define F32M fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>

const uint BM = 128u;  // output features per workgroup
const uint BN = 128u;  // rows per workgroup (BN == BM: the loaders below rely on it)
const uint BK = 32u;   // K step

// Shared tiles are uvec4 arrays (8 fp16 or 4 fp32 per entry): coopMatLoad/Store offsets and strides
// are in uvec4 units, always 16-byte aligned as the NV extension requires.
const uint TS4 = 5u;                 // tile row stride: 40 halves = 80 bytes (32 used + 8 padding)
const uint X_TILE = BN * TS4;        // 640 entries: X rows 0..127, k 0..31 of the step
const uint W_TILE = BM * TS4;        // 640 entries: W rows (features) 0..127, k 0..31
const uint STAGE = X_TILE + W_TILE;  // 1280 entries = 20480 bytes
const uint ES4 = 9u;                 // output staging row stride: 36 floats = 144 bytes
const uint E_SG = 16u * ES4;         // output staging per subgroup: 16 rows x 36 floats

shared uvec4 sh[2u * STAGE];  // 2560 x 16 = 40960 bytes

const float FP16_MAX = 65504.0;

uint packHalf2Clamped(float a, float b) {
  const vec2 c = clamp(vec2(a, b), vec2(-FP16_MAX), vec2(FP16_MAX));
  return packFloat2x16(f16vec2(c));
}

uvec4 floatx8ToHalf(vec4 a, vec4 b) {
  return uvec4(packHalf2Clamped(a.x, a.y), packHalf2Clamped(a.z, a.w), packHalf2Clamped(b.x, b.y),
               packHalf2Clamped(b.z, b.w));
}

// 8 bf16 (element 2i in the low half of word i) -> 8 fp16 in the same order.
uvec4 bf16x8ToHalf(uvec4 w) {
  return uvec4(packHalf2Clamped(uintBitsToFloat(w.x << 16), uintBitsToFloat(w.x & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.y << 16), uintBitsToFloat(w.y & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.z << 16), uintBitsToFloat(w.z & 0xffff0000u)),
               packHalf2Clamped(uintBitsToFloat(w.w << 16), uintBitsToFloat(w.w & 0xffff0000u)));
}

// 8 quantized weights -> q * s in fp16. int8 (two's complement bytes of .x then .y): in column order, through
// fp32. int4 (nibble j of .x is column j, stored as q + 8; s an fp16 value): in the order 0 4 1 5 2 6 3 7, which
// the x tile then follows too (int4 stores x's chunks in that order: the product sums the same pairs). Nibbles
// j and j + 4 masked into one word under 0x6400 are the fp16 pair 1024 + q + 8, so minus 1032 (exact) times s is
// one rounding of (q) * s, as the fp32 route gives; 4 operations per pair instead of ~12.
uvec4 quantx8ToHalf(uvec4 w, float s) {
  if (WKIND == 2u) {
    const f16vec2 sc = f16vec2(float16_t(s)), off = f16vec2(float16_t(1032.0));
    uvec4 r;
    [[unroll]] for (uint j = 0u; j < 4u; ++j)
      r[j] = packFloat2x16((unpackFloat2x16(((w.x >> (4u * j)) & 0x000F000Fu) | 0x64006400u) - off) * sc);
    return r;
  }
  float v[8];
  [[unroll]] for (uint j = 0u; j < 8u; ++j)
    v[j] = float(int((j < 4u ? w.x : w.y) << (24u - 8u * (j & 3u))) >> 24) * s;
  return uvec4(packHalf2Clamped(v[0], v[1]), packHalf2Clamped(v[2], v[3]), packHalf2Clamped(v[4], v[5]),
               packHalf2Clamped(v[6], v[7]));
}

// x's 8 values of a chunk in the order the int4 weights take (0 4 1 5 2 6 3 7).
uvec4 floatx8ToHalfInt4Order(vec4 a, vec4 b) {
  return uvec4(packHalf2Clamped(a.x, b.x), packHalf2Clamped(a.y, b.y), packHalf2Clamped(a.z, b.z),
               packHalf2Clamped(a.w, b.w));
}

// One K step of one workgroup: 128 rows x 4 chunks of 8 k of X, and the same of W, = 512 chunks
// each; invocation tid handles chunks c = tid + 256 i (i = 0, 1): tile row c / 4, k 8 (c % 4) .. +7.
vec4 rx[4];   // X chunks in flight (2 x 8 floats)
uvec4 rw[2];  // W chunks in flight (2 x 8 weights: bf16, or int8 in .xy, or int4 in .x)
float rs[2];  // and their scales (quantized)

void fetchTile(uint tid, uint k0, uint rowBase, uint mBase, bool xVec4) {
  [[unroll]] for (uint i = 0u; i < 2u; ++i) {
    const uint c = tid + 256u * i;
    const uint row = c >> 2, kc = c & 3u;
    const uint gr = rowBase + row;
    if (gr < pc.rows) {
      const uint e = pc.xOff + gr * pc.xStride + k0 + kc * 8u;
      if (xVec4) {  // e is a multiple of 4 here
        rx[2u * i + 0u] = xv4[(e >> 2) + 0u];
        rx[2u * i + 1u] = xv4[(e >> 2) + 1u];
      } else {
        rx[2u * i + 0u] = vec4(xv[e + 0u], xv[e + 1u], xv[e + 2u], xv[e + 3u]);
        rx[2u * i + 1u] = vec4(xv[e + 4u], xv[e + 5u], xv[e + 6u], xv[e + 7u]);
      }
    } else {
      rx[2u * i + 0u] = vec4(0.0);
      rx[2u * i + 1u] = vec4(0.0);
    }
    const uint gm = mBase + row;
    // W element (m, k) = m*K + k; in units of 8 weights: m*(K/8) + k/8.
    const uint unit = gm * (pc.K / 8u) + k0 / 8u + kc;
    rw[i] = uvec4(0u);
    rs[i] = 0.0;
    if (gm < pc.M) {
      if (WKIND == 0u) {
        rw[i] = w4[unit];
      } else if (WKIND == 1u) {
        rw[i].xy = w2[unit];
        rs[i] = rowScales[gm];
      } else {
        rw[i].x = w1[unit];
        const uint g = gm * (pc.K / GROUP_SIZE) + (k0 + kc * 8u) / GROUP_SIZE;
        const vec2 pair = unpackHalf2x16(groupScales[g >> 1]);
        rs[i] = (g & 1u) != 0u ? pair.y : pair.x;
      }
    }
  }
}

void storeTile(uint tid, uint stage) {
  [[unroll]] for (uint i = 0u; i < 2u; ++i) {
    const uint c = tid + 256u * i;
    const uint slot = (c >> 2) * TS4 + (c & 3u);
    sh[stage * STAGE + slot] = WKIND == 2u ? floatx8ToHalfInt4Order(rx[2u * i + 0u], rx[2u * i + 1u])
                                           : floatx8ToHalf(rx[2u * i + 0u], rx[2u * i + 1u]);
    sh[stage * STAGE + X_TILE + slot] = WKIND == 0u ? bf16x8ToHalf(rw[i]) : quantx8ToHalf(rw[i], rs[i]);
  }
}

void main() {
  const uint tid = gl_LocalInvocationIndex;
  const uint sg = gl_SubgroupID;              // 0..7
  const uint lane = gl_SubgroupInvocationID;  // 0..31
  const uint mBase = gl_WorkGroupID.x * BM;
  const uint rowBase = gl_WorkGroupID.y * BN;
  if (mBase >= pc.M || rowBase >= pc.rows) return;  // uniform over the workgroup

  const uint wr = sg >> 2;  // rows 64 wr .. +63 of the tile
  const uint wm = sg & 3u;  // features 32 wm .. +31 of the tile
  const bool xVec4 = ((pc.xOff | pc.xStride) & 3u) == 0u;
  const uint nK = pc.K / BK;

  F32M acc[8];  // acc[2 i + j]: rows 64 wr + 16 i .. +15, features 32 wm + 16 j .. +15
  [[unroll]] for (uint a = 0u; a < 8u; ++a) acc[a] = F32M(0.0);

  if (nK > 0u) {
    fetchTile(tid, 0u, rowBase, mBase, xVec4);
    storeTile(tid, 0u);
  }
  barrier();

  for (uint kt = 0u; kt < nK; ++kt) {
    const uint stage = kt & 1u;
    const bool more = kt + 1u < nK;
    if (more) fetchTile(tid, (kt + 1u) * BK, rowBase, mBase, xVec4);  // in flight during the math

    const uint xb = stage * STAGE;
    const uint wb = stage * STAGE + X_TILE;
    [[unroll]] for (uint kk = 0u; kk < 2u; ++kk) {  // two k16 halves of the step
      F16M aM[4];
      F16M bM[2];
      [[unroll]] for (uint i = 0u; i < 4u; ++i)  // A(r, k) = X[row 64wr + 16i + r][k 16kk + k]
        coopMatLoadNV(aM[i], sh, xb + (64u * wr + 16u * i) * TS4 + 2u * kk, TS4, false);
      [[unroll]] for (uint j = 0u; j < 2u; ++j)  // B(k, n) = W[feature 32wm + 16j + n][k 16kk + k]
        coopMatLoadNV(bM[j], sh, wb + (32u * wm + 16u * j) * TS4 + 2u * kk, TS4, true);
      [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < 2u; ++j) acc[2u * i + j] = coopMatMulAddNV(aM[i], bM[j], acc[2u * i + j]);
    }

    if (more) storeTile(tid, stage ^ 1u);  // that stage was last read before the previous barrier
    barrier();
  }

  // ---- epilogue: per subgroup, 4 passes of 16 rows x 32 features through shared memory --------
  // (the last barrier above guarantees no subgroup still reads the K-loop stages)
  const uint eb = sg * E_SG;
  const uint gm = mBase + 32u * wm + lane;  // this lane's output feature
  const float b = (pc.hasBias != 0u && gm < pc.M) ? biasv[pc.biasOff + gm] : 0.0;
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    coopMatStoreNV(acc[2u * i + 0u], sh, eb + 0u, ES4, false);  // features 0..15 of the 32
    coopMatStoreNV(acc[2u * i + 1u], sh, eb + 4u, ES4, false);  // features 16..31
    subgroupBarrier();
    if (gm < pc.M) {
      [[unroll]] for (uint e = 0u; e < 16u; ++e) {
        const uint gr = rowBase + 64u * wr + 16u * i + e;
        if (gr < pc.rows)
          ov[pc.oOff + gr * pc.oStride + gm] = uintBitsToFloat(sh[eb + e * ES4 + (lane >> 2)][lane & 3u]) + b;
      }
    }
    subgroupBarrier();
  }
}
