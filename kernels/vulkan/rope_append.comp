#version 450
// RoPE fused with the KV-cache append. Workgroup (row, head): rotates the `pairs` adjacent pairs
// (2i, 2i+1) of one Q or K head in place (GLM's interleaved halfDim-rotary), and for a KV head writes K
// and V as bf16 into the cache [kvHead][capacity][headDim]. The angle is float(position) * invFreq[i] in
// fp32 as the references compute it; it is reduced modulo 2*pi exactly (fp64, or a three-part
// Cody-Waite reduction where the device has no fp64) before cos/sin, whose accuracy is only
// guaranteed near zero. YaRN's attention factor multiplies cos and sin.
// Grid: (rows, qHeads + kvHeads of this cache buffer): y < qHeads rotates query head y (qHeads = 0 on
// all but the first buffer of a KV cache split over several buffers).
// KV_INT8 (the 8-bit cache, Backend::createKvCache with I8): each K (after RoPE) and V vector of a head is
// stored as headDim int8 q = roundEven(x * (127 / a)) and one fp32 scale s = a / 127, a = max |x| (q = 0,
// s = 0 where a = 0), as quantizeKvVector (backend.h). A cache buffer holds q as
// [kvHead][capacity][headDim] from byte kvOff and the scales as [kvHead][capacity] fp32 from float
// scaleOff. One invocation per 4 dims (headDim <= 256); the maximum through a subgroup and then a
// shared-memory reduction.
#ifdef USE_FP64
#extension GL_ARB_gpu_shader_fp64 : require
#endif
#include "common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool KV_INT8 = false;

layout(std430, binding = 0) buffer Qkv { float qkv[]; };
layout(std430, binding = 1) readonly buffer Freq { float invFreq[]; };
layout(std430, binding = 2) writeonly buffer KCache { uint16_t kc[]; };
layout(std430, binding = 3) writeonly buffer VCache { uint16_t vc[]; };
layout(std430, binding = 2) writeonly buffer KCacheInt8 { uint kq[]; };     // KV_INT8: 4 values per word
layout(std430, binding = 2) writeonly buffer KCacheScales { float ks[]; };
layout(std430, binding = 3) writeonly buffer VCacheInt8 { uint vq[]; };
layout(std430, binding = 3) writeonly buffer VCacheScales { float vs[]; };
layout(std430, binding = 4) readonly buffer Step { uint stepIn[]; };
layout(push_constant) uniform PC {
  uint qkvOff; uint qkvStride; uint numHeads; uint numKvHeads; uint headDim; uint pairs; float scaling;
  uint pos0; uint useStepPosition; uint qHeads; uint kvHead0; uint kvOff; uint capacity; uint scaleOff;
} pc;

vec2 cosSin(float angle) {
#ifdef USE_FP64
  const double twoPi = 6.283185307179586476925286766559LF;
  const double a = double(angle);
  const float r = float(a - twoPi * floor(a / twoPi + 0.5LF));
#else
  // 2*pi = C1 + C2 + C3 with C1 and C2 short enough that k*C1 and k*C2 are exact for k < 2^16.
  const float k = floor(angle * 0.15915494309189535 + 0.5);
  float r = fma(-k, 6.28125, angle);
  r = fma(-k, 0.0019340515136718750, r);
  r = fma(-k, 1.2556659146421e-06, r);
#endif
  return vec2(cos(r), sin(r));
}

shared float maxK[64], maxV[64];  // per subgroup (KV_INT8)

// The int8 word of 4 values x * inv (round to nearest even), little-endian.
uint quantize4(vec4 x, float inv) {
  const ivec4 q = ivec4(clamp(roundEven(x * inv), -127.0, 127.0));
  return uint(q.x & 0xff) | (uint(q.y & 0xff) << 8) | (uint(q.z & 0xff) << 16) | (uint(q.w & 0xff) << 24);
}

// K (rotated) and V of one KV head into the 8-bit cache.
void appendInt8(uint pos, uint kvLocal, uint k0, uint v0) {
  const uint t = gl_LocalInvocationID.x, d = 4 * t;
  vec4 k = vec4(0.0), v = vec4(0.0);
  if (d < pc.headDim) {
    k = vec4(qkv[k0 + d], qkv[k0 + d + 1], qkv[k0 + d + 2], qkv[k0 + d + 3]);
    v = vec4(qkv[v0 + d], qkv[v0 + d + 1], qkv[v0 + d + 2], qkv[v0 + d + 3]);
    for (uint h = 0; h < 2; ++h) {  // pairs d/2 and d/2 + 1
      const uint i = d / 2 + h;
      if (i < pc.pairs) {
        const vec2 cs = cosSin(float(pos) * invFreq[i]) * pc.scaling;
        const float a = k[2 * h], b = k[2 * h + 1];
        k[2 * h] = a * cs.x - b * cs.y;
        k[2 * h + 1] = b * cs.x + a * cs.y;
        qkv[k0 + 2 * i] = k[2 * h];
        qkv[k0 + 2 * i + 1] = k[2 * h + 1];
      }
    }
  }
  const float mk = subgroupMax(max(max(abs(k.x), abs(k.y)), max(abs(k.z), abs(k.w))));
  const float mv = subgroupMax(max(max(abs(v.x), abs(v.y)), max(abs(v.z), abs(v.w))));
  if (gl_SubgroupInvocationID == 0) {
    maxK[gl_SubgroupID] = mk;
    maxV[gl_SubgroupID] = mv;
  }
  barrier();
  float ak = 0.0, av = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) {
    ak = max(ak, maxK[i]);
    av = max(av, maxV[i]);
  }
  const uint slot = kvLocal * pc.capacity + pos;
  if (d < pc.headDim) {
    const uint w = (pc.kvOff + slot * pc.headDim + d) / 4;
    kq[w] = ak > 0.0 ? quantize4(k, 127.0 / ak) : 0u;
    vq[w] = av > 0.0 ? quantize4(v, 127.0 / av) : 0u;
  }
  if (t == 0) {  // all-zero (or NaN) vectors: q = 0 and s = 0, as quantizeKvVector (backend.h)
    ks[pc.scaleOff + slot] = ak > 0.0 ? ak / 127.0 : 0.0;
    vs[pc.scaleOff + slot] = av > 0.0 ? av / 127.0 : 0.0;
  }
}

void main() {
  const uint row = gl_WorkGroupID.x, y = gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
  const uint pos = (pc.useStepPosition != 0 ? stepIn[kStepPosition] : pc.pos0) + row;
  const uint base = pc.qkvOff + row * pc.qkvStride;
  const uint hd = pc.headDim, halfDim = hd / 2;
  if (y < pc.qHeads) {
    const uint h0 = base + y * hd;
    for (uint i = t; i < pc.pairs; i += 64) {
      const vec2 cs = cosSin(float(pos) * invFreq[i]) * pc.scaling;
      const float a = qkv[h0 + 2 * i], b = qkv[h0 + 2 * i + 1];
      qkv[h0 + 2 * i] = a * cs.x - b * cs.y;
      qkv[h0 + 2 * i + 1] = b * cs.x + a * cs.y;
    }
    return;
  }
  const uint kvLocal = y - pc.qHeads, kvHead = pc.kvHead0 + kvLocal;
  const uint k0 = base + pc.numHeads * hd + kvHead * hd;
  const uint v0 = base + (pc.numHeads + pc.numKvHeads) * hd + kvHead * hd;
  if (KV_INT8) {
    appendInt8(pos, kvLocal, k0, v0);
    return;
  }
  const uint c0 = pc.kvOff + (kvLocal * pc.capacity + pos) * hd;
  for (uint i = t; i < halfDim; i += 64) {
    float a = qkv[k0 + 2 * i], b = qkv[k0 + 2 * i + 1];
    if (i < pc.pairs) {
      const vec2 cs = cosSin(float(pos) * invFreq[i]) * pc.scaling;
      const float ra = a * cs.x - b * cs.y, rb = b * cs.x + a * cs.y;
      a = ra;
      b = rb;
      qkv[k0 + 2 * i] = a;
      qkv[k0 + 2 * i + 1] = b;
    }
    kc[c0 + 2 * i] = floatToBf16(a);
    kc[c0 + 2 * i + 1] = floatToBf16(b);
    vc[c0 + 2 * i] = floatToBf16(qkv[v0 + 2 * i]);
    vc[c0 + 2 * i + 1] = floatToBf16(qkv[v0 + 2 * i + 1]);
  }
}
