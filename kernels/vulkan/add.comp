#version 450
// residual += x. Grid: (ceil(cols / 256), rows).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Residual { float res[]; };
layout(std430, binding = 1) readonly buffer X { float xv[]; };
layout(push_constant) uniform PC { uint resOff; uint resStride; uint xOff; uint xStride; uint cols; } pc;
void main() {
  const uint c = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y;
  if (c < pc.cols) res[pc.resOff + r * pc.resStride + c] += xv[pc.xOff + r * pc.xStride + c];
}
