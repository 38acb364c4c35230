#version 450
// RoPE fused with the KV-cache append. Workgroup (row, head): rotates the `pairs` adjacent pairs
// (2i, 2i+1) of one Q or K head in place (GLM's interleaved halfDim-rotary), and for a KV head writes K
// and V as bf16 into the cache [kvHead][capacity][headDim]. The angle is float(position) * invFreq[i] in
// fp32 as the references compute it; it is reduced modulo 2*pi exactly (fp64, or a three-part
// Cody-Waite reduction where the device has no fp64) before cos/sin, whose accuracy is only
// guaranteed near zero. YaRN's attention factor multiplies cos and sin.
// Grid: (rows, qHeads + kvHeads of this cache buffer): y < qHeads rotates query head y (qHeads = 0 on
// all but the first buffer of a KV cache split over several buffers).
#ifdef USE_FP64
#extension GL_ARB_gpu_shader_fp64 : require
#endif
#include "common.glsl"
layout(local_size_x = 64) in;

layout(std430, binding = 0) buffer Qkv { float qkv[]; };
layout(std430, binding = 1) readonly buffer Freq { float invFreq[]; };
layout(std430, binding = 2) writeonly buffer KCache { uint16_t kc[]; };
layout(std430, binding = 3) writeonly buffer VCache { uint16_t vc[]; };
layout(std430, binding = 4) readonly buffer Step { uint stepIn[]; };
layout(push_constant) uniform PC {
  uint qkvOff; uint qkvStride; uint numHeads; uint numKvHeads; uint headDim; uint pairs; float scaling;
  uint pos0; uint useStepPosition; uint qHeads; uint kvHead0; uint kvOff; uint capacity;
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
