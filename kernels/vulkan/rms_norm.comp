#version 450
// out = x / sqrt(mean(x^2) + eps) * w, one workgroup per row. With HAS_RESIDUAL the row is first
// added into the residual stream (residual += x) and the sum is normalized: the fused residual add of
// every layer step. out may alias x (each element is read and written by the same invocation).
// Bytes per row: 4 x cols x (2 or 4) read, 4 x cols (or 8 x cols) written.
#include "common.glsl"
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X { float xv[]; };
layout(std430, binding = 1) buffer Residual { float res[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) buffer Out { float outv[]; };
layout(push_constant) uniform PC {
  uint xOff; uint xStride; uint resOff; uint resStride; uint outOff; uint outStride; uint cols; uint hasResidual;
  float eps;
} pc;

shared float partial[32];

const uint HELD = 16;  // values per invocation kept in registers (rows up to 4,096)

float rowSum(float ss) {
  ss = subgroupAdd(ss);
  if (subgroupElect()) partial[gl_SubgroupID] = ss;
  barrier();
  if (gl_LocalInvocationID.x == 0) {
    float total = 0.0;
    for (uint s = 0; s < gl_NumSubgroups; ++s) total += partial[s];
    partial[0] = total;
  }
  barrier();
  return partial[0];
}

void main() {
  const uint r = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint x0 = pc.xOff + r * pc.xStride, r0 = pc.resOff + r * pc.resStride, o0 = pc.outOff + r * pc.outStride;
  if (pc.cols <= 256 * HELD) {
    // All loads first (independent, so they overlap), then the sum, then the stores: one round trip
    // to memory instead of one per element group (decode normalises a single row).
    float v[HELD];
    // Unconditional loads (clamped index, masked value): a branch per load would serialise them.
    const uint last = pc.cols - 1;
    const uint rr = pc.hasResidual != 0 ? r0 : x0;  // without a residual, read x twice instead of a branch
    float wv[HELD];
    for (uint i = 0; i < HELD; ++i) {
      const uint c = min(t + 256 * i, last);
      const float a = xv[x0 + c], b = res[rr + c];
      wv[i] = w[c];
      v[i] = t + 256 * i < pc.cols ? a + (pc.hasResidual != 0 ? b : 0.0) : 0.0;
    }
    float ss = 0.0;
    for (uint i = 0; i < HELD; ++i) ss += v[i] * v[i];
    const float inv = inversesqrt(rowSum(ss) / float(pc.cols) + pc.eps);
    for (uint i = 0; i < HELD; ++i) {
      const uint c = t + 256 * i;
      if (c < pc.cols) {
        if (pc.hasResidual != 0) res[r0 + c] = v[i];
        outv[o0 + c] = v[i] * inv * wv[i];
      }
    }
    return;
  }
  float ss = 0.0;
  for (uint c = t; c < pc.cols; c += 256) {
    float v = xv[x0 + c];
    if (pc.hasResidual != 0) {
      v += res[r0 + c];
      res[r0 + c] = v;
    }
    ss += v * v;
  }
  const float inv = inversesqrt(rowSum(ss) / float(pc.cols) + pc.eps);
  for (uint c = t; c < pc.cols; c += 256) {
    const float v = pc.hasResidual != 0 ? res[r0 + c] : xv[x0 + c];
    outv[o0 + c] = v * inv * w[c];
  }
}
