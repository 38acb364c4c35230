// PTX helpers shared by the CUDA kernels: cp.async, ldmatrix, mma.sync m16n8k16 (bf16 in, fp32
// accumulate), bf16 packing, and the swizzled layout of [rows][128] bf16 tiles in shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "glm_kernels.h"

namespace glm::cuda {

// Programmatic dependent launch (Hopper, a recorded decode step): a kernel launched by launchKernel while
// setProgrammaticLaunch(true) holds may start while the kernel before it still runs its last blocks. Such
// a kernel calls pdlTrigger() first (its own dependent may then be scheduled as soon as all of this
// kernel's blocks are resident) and pdlWait() before it reads anything an earlier kernel of the step
// wrote, and before any store: pdlWait returns once the kernel before has completed and its memory is
// visible (that one waited on its own predecessor, so every earlier kernel is then complete too). What a
// kernel may do before pdlWait: read weights, the KV cache's older positions, and the step's token ids
// and position (copied before the graph starts). Outside such a launch both are no-ops.
__device__ __forceinline__ void pdlTrigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
// Both at a kernel's start: for kernels whose every read depends on the kernel before.
__device__ __forceinline__ void pdlStart() {
  pdlTrigger();
  pdlWait();
}

// kernel<<<grid, block, smem, stream>>>(args...), as a programmatic dependent launch when
// takeProgrammaticLaunch() says so. Only for kernels that call pdlWait as described above.
template <class... Params, class... Args>
void launchKernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                  Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  if (takeProgrammaticLaunch()) {
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
  }
  cudaLaunchKernelEx(&cfg, kernel, Params(std::forward<Args>(args))...);
}

__device__ __forceinline__ uint32_t smemAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, asynchronously; valid == false writes zeros (no read).
__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddress(smem)), "l"(gmem),
               "r"(valid ? 16 : 0));
}
// 4 bytes global -> shared (through L1), asynchronously; valid == false writes zeros.
__device__ __forceinline__ void cpAsync4(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smemAddress(smem)), "l"(gmem),
               "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrixX4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3,
                                                uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// c += a * b; a: 16x16 bf16 (4 regs), b: 16x8 bf16 (2 regs), c: 16x8 fp32.
__device__ __forceinline__ void mmaBf16(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                        uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// c += a * b with fp16 operands (the 8-bit KV cache's widened tiles), fp32 accumulation.
__device__ __forceinline__ void mmaF16(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                       uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t packHalf(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// Byte i of u as the float 2^23 + byte (0x4B is the exponent of 2^23): one byte permute, no int->float
// conversion (the quantized GEMV's and GEMM's widening of int8 and int4 bytes).
__device__ __forceinline__ float byteAsFloat(uint32_t u, int i) {
  return __uint_as_float(__byte_perm(u, 0x4B000000u, 0x7540u | unsigned(i)));
}

__device__ __forceinline__ float bf16Lo(uint32_t v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float bf16Hi(uint32_t v) { return __uint_as_float(v & 0xffff0000u); }

// A [rows][128] bf16 tile: 16 chunks of 16 bytes per row, chunk index XOR (row & 7), so the 8 rows
// an ldmatrix reads at one logical chunk fall into 8 different bank groups. Returns an element offset.
__device__ __forceinline__ int swizzle128(int row, int chunk) { return row * 128 + ((chunk ^ (row & 7)) << 3); }

__device__ __forceinline__ int64_t readPosition(Position p) { return p.device ? *p.device : p.host; }

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Online softmax over one warp's score tile (log2 domain), in the mma.sync / wgmma accumulator layout:
// s[nt][e] holds NT column tiles of scores for rows g (e = 0, 1) and g + 8 (e = 2, 3); a quad of lanes
// shares a row. Updates the running row max and sum, turns s into exp2(s - max) and returns in alpha
// the factor exp2(oldMax - newMax) by which the output rows must be rescaled (rescaleRows).
template <int NT>
__device__ __forceinline__ void softmaxTile(float (&s)[NT][4], float (&rowMax)[2], float (&rowSum)[2],
                                            float (&alpha)[2]) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float mx = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float mNew = fmaxf(rowMax[r], mx);
    const float base = mNew == -INFINITY ? 0.0f : mNew;  // a fully masked row stays all zero
    alpha[r] = exp2f(rowMax[r] - base);
    rowMax[r] = mNew;
    float sum = 0.0f;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      s[nt][2 * r] = exp2f(s[nt][2 * r] - base);
      s[nt][2 * r + 1] = exp2f(s[nt][2 * r + 1] - base);
      sum += s[nt][2 * r] + s[nt][2 * r + 1];
    }
    rowSum[r] = rowSum[r] * alpha[r] + sum;
  }
}

// o: the 16 output tiles (128 dims) of rows g and g + 8, scaled by alpha[0] and alpha[1].
__device__ __forceinline__ void rescaleRows(float (&o)[16][4], const float (&alpha)[2]) {
#pragma unroll
  for (int dt = 0; dt < 16; ++dt) {
    o[dt][0] *= alpha[0];
    o[dt][1] *= alpha[0];
    o[dt][2] *= alpha[1];
    o[dt][3] *= alpha[1];
  }
}

template <int NT>
__device__ __forceinline__ void onlineSoftmaxStep(float (&s)[NT][4], float (&rowMax)[2], float (&rowSum)[2],
                                                  float (&o)[16][4]) {
  float alpha[2];
  softmaxTile<NT>(s, rowMax, rowSum, alpha);
  rescaleRows(o, alpha);
}

constexpr float kLog2e = 1.4426950408889634f;

// x * inv rounded to nearest even and clamped to [-127, 127]: backend.h's quantizeKvVector rule, shared by
// the 8-bit KV cache and the quantized GEMV input row.
__device__ __forceinline__ int8_t quantizeToInt8(float x, float inv) {
  return int8_t(fminf(127.0f, fmaxf(-127.0f, rintf(x * inv))));
}

// A quantized GEMV's input row (GemvWeight::xq, gemvInputScratchBytes(k) bytes): q [k] int8 from byte 0, then
// from byte xqScaleOffset(k) the fp32 scale of each 32-block, then the int32 sums of q.
struct XQ {
  int8_t* q;
  float* s;
  int* sum;
};
__host__ __device__ __forceinline__ int64_t xqScaleOffset(int64_t k) { return (k + 15) / 16 * 16; }
__device__ __forceinline__ XQ xqLayout(void* xq, int64_t k) {
  auto* base = static_cast<unsigned char*>(xq);
  return {reinterpret_cast<int8_t*>(base), reinterpret_cast<float*>(base + xqScaleOffset(k)),
          reinterpret_cast<int*>(base + xqScaleOffset(k) + (k + 31) / 32 * 4)};
}

// One full warp quantizes 32-block b of such a row from its lanes' values (value `lane` of the block; lanes
// past k pass 0 and write nothing).
__device__ __forceinline__ void quantizeBlock32(float v, int64_t k, int64_t b, int lane, void* xq) {
  const float a = warpMax(fabsf(v));
  const int8_t q = quantizeToInt8(v, a > 0.0f ? 127.0f / a : 0.0f);
  const XQ out = xqLayout(xq, k);
  const int64_t i = b * 32 + lane;
  if (i < k) out.q[i] = q;
  const int sum = __reduce_add_sync(0xffffffffu, int(q));
  if (lane == 0) {
    out.s[b] = a > 0.0f ? a / 127.0f : 0.0f;
    out.sum[b] = sum;
  }
}

// Rotates one RoPE pair (a, b) = (x[2i], x[2i+1]) of a head at position pos: angle float(pos) * invFreq[i]
// in fp32 as the references compute it, accurate cosf/sinf (angles reach 1e5+ radians at long context),
// times the YaRN attention factor. The one definition for ropeAppendKv and the QKV GEMV's epilogue.
__device__ __forceinline__ void ropeRotatePair(float& a, float& b, int64_t pos, const RopeArgs& rope, int i) {
  const float angle = float(pos) * rope.invFreq[i];
  const float c = cosf(angle) * rope.scaling, sn = sinf(angle) * rope.scaling;
  const float ra = a * c - b * sn, rb = b * c + a * sn;
  a = ra;
  b = rb;
}

// Rotary pair i (columns 2i, 2i + 1) of head `slot` of a qkv row (Q heads, then K, then V) at position p:
// rotated in place where i < rope.pairs, returned in a, b; for a K head also the V pair of its KV head in
// va, vb (else 0). The first step of both ropeAppendKv kernels (bf16 and 8-bit cache).
__device__ __forceinline__ void ropeRowPair(float* row, int slot, int nh, int nkv, int hd, int i, int64_t p,
                                            const RopeArgs& rope, float& a, float& b, float& va, float& vb) {
  float* head = row + int64_t(slot) * hd;
  a = head[2 * i];
  b = head[2 * i + 1];
  va = vb = 0.0f;
  if (slot >= nh) {
    const float* v = row + int64_t(nh + nkv) * hd + int64_t(slot - nh) * hd;
    va = v[2 * i];
    vb = v[2 * i + 1];
  }
  if (i < rope.pairs) {
    ropeRotatePair(a, b, p, rope, i);
    head[2 * i] = a;
    head[2 * i + 1] = b;
  }
}

}  // namespace glm::cuda
