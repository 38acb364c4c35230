#version 450
// x *= inversesqrt(sum of partials[pOff .. pOff + pCount) / n + eps): a row gemv_add_norm left unscaled,
// made whole for a reader that is not gemv_normed (the sum taken as gemv_normed takes it). Grid: ceil(n / 256).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer X { float xv[]; };
layout(std430, binding = 1) readonly buffer Partials { float partials[]; };
layout(push_constant) uniform PC { uint xOff; uint n; uint pOff; uint pCount; float eps; } pc;
shared float scale;
void main() {
  if (gl_SubgroupID == 0) {
    float ss = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < pc.pCount; i += gl_SubgroupSize) ss += partials[pc.pOff + i];
    ss = subgroupAdd(ss);
    if (subgroupElect()) scale = inversesqrt(ss / float(pc.n) + pc.eps);
  }
  barrier();
  const uint c = gl_GlobalInvocationID.x;
  if (c < pc.n) xv[pc.xOff + c] *= scale;
}
