// Portable scalar path of the CPU kernels: plain C++ for any CPU, and the readable statement of what
// the vector paths compute. Matmul sums are kept in 8 interleaved partial sums per output (element t
// goes to lane t % 8) and reduced by halving, the same structure as the AVX2 path, so the paths
// differ only by the rounding of multiply-add (no FMA here) — and the compiler may still vectorize
// the independent lanes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_kernels.h"
#include "util/half.h"

namespace glm::cpu::detail {
namespace {

constexpr int kLanes = 8;

template <int DT>
inline float loadOne(const void* p, int64_t i) {
  if constexpr (DT == kF32) return static_cast<const float*>(p)[i];
  else if constexpr (DT == kF16) return f16ToFloat(static_cast<const uint16_t*>(p)[i]);
  else return bf16ToFloat(static_cast<const uint16_t*>(p)[i]);
}

inline float laneSum(const float (&lane)[kLanes]) {
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

template <int DT, int NX, int NW>
void tileKernel(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums) {
  for (int a = 0; a < NX; ++a) {
    for (int b = 0; b < NW; ++b) {
      float lane[kLanes] = {};
      const float* xr = x + a * ldx;
      const int64_t wOff = b * ldw;
      int64_t t = 0;
      for (; t + kLanes <= len; t += kLanes)
        for (int l = 0; l < kLanes; ++l) lane[l] += xr[t + l] * loadOne<DT>(w, wOff + t + l);
      for (int l = 0; t + l < len; ++l) lane[l] += xr[t + l] * loadOne<DT>(w, wOff + t + l);
      sums[a * NW + b] = laneSum(lane);
    }
  }
}

void toFloatScalar(const void* src, int dtypeIndex, int64_t count, float* dst) {
  switch (dtypeIndex) {
    case kF32: std::memcpy(dst, src, size_t(count) * sizeof(float)); break;
    case kF16:
      for (int64_t i = 0; i < count; ++i) dst[i] = loadOne<kF16>(src, i);
      break;
    default:
      for (int64_t i = 0; i < count; ++i) dst[i] = loadOne<kBf16>(src, i);
      break;
  }
}

double sumSquaresScalar(const float* x, int64_t len) {
  double s = 0.0;
  for (int64_t t = 0; t < len; ++t) s += double(x[t]) * double(x[t]);
  return s;
}

template <int DT>
void scaleByWeightT(const float* x, float r, const void* weight, int64_t len, float* y) {
  for (int64_t t = 0; t < len; ++t) y[t] = (x[t] * r) * loadOne<DT>(weight, t);
}

void scaleByWeightScalar(const float* x, float r, const void* weight, int dtypeIndex, int64_t len, float* y) {
  switch (dtypeIndex) {
    case kF32: scaleByWeightT<kF32>(x, r, weight, len, y); break;
    case kF16: scaleByWeightT<kF16>(x, r, weight, len, y); break;
    default: scaleByWeightT<kBf16>(x, r, weight, len, y); break;
  }
}

void swiGluRowScalar(const float* gate, const float* up, int64_t len, float* out) {
  for (int64_t t = 0; t < len; ++t) out[t] = gate[t] / (1.0f + std::exp(-gate[t])) * up[t];
}

template <int DT>
float dotT(const float* a, const void* b, int64_t len) {
  float lane[kLanes] = {};
  int64_t t = 0;
  for (; t + kLanes <= len; t += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += a[t + l] * loadOne<DT>(b, t + l);
  for (int l = 0; t + l < len; ++l) lane[l] += a[t + l] * loadOne<DT>(b, t + l);
  return laneSum(lane);
}

float dotScalar(const float* a, const float* b, int64_t len) { return dotT<kF32>(a, b, len); }
float dotBf16Scalar(const float* a, const uint16_t* b, int64_t len) { return dotT<kBf16>(a, b, len); }
void axpyScalar(float alpha, const float* x, float* y, int64_t len) {
  for (int64_t t = 0; t < len; ++t) y[t] += alpha * x[t];
}
void axpyBf16Scalar(float alpha, const uint16_t* x, float* y, int64_t len) {
  for (int64_t t = 0; t < len; ++t) y[t] += alpha * bf16ToFloat(x[t]);
}
void scaleScalar(float alpha, float* y, int64_t len) {
  for (int64_t t = 0; t < len; ++t) y[t] *= alpha;
}

void dequantInt8Scalar(const int8_t* q, float scale, int64_t len, float* dst) {
  for (int64_t c = 0; c < len; ++c) dst[c] = float(q[c]) * scale;
}

void dequantInt4Scalar(const uint8_t* bytes, const float* groupScales, int64_t group, int64_t len, float* dst) {
  for (int64_t c0 = 0, g = 0; c0 < len; c0 += group, ++g) {
    const float scale = groupScales[g];
    for (int64_t c = c0; c < std::min(c0 + group, len); c += 2) {  // low nibble: column c, high: c + 1, each q + 8
      dst[c] = float(int(bytes[c / 2] & 0x0f) - 8) * scale;
      dst[c + 1] = float(int(bytes[c / 2] >> 4) - 8) * scale;
    }
  }
}

template <int DT, int NX, int NW>
struct Tile {
  static constexpr TileFn fn = &tileKernel<DT, NX, NW>;
};

KernelTable makeTable() {
  KernelTable t{};
  t.name = "scalar";
  // One output at a time: a bigger tile would only re-read the same rows.
  t.tileX = 1;
  t.tileW = 1;
  fillTileTable<Tile>(t.tile);
  t.toFloat = &toFloatScalar;
  t.sumSquares = &sumSquaresScalar;
  t.scaleByWeight = &scaleByWeightScalar;
  t.swiGluRow = &swiGluRowScalar;
  t.dot = &dotScalar;
  t.axpy = &axpyScalar;
  t.scale = &scaleScalar;
  t.dotBf16 = &dotBf16Scalar;
  t.axpyBf16 = &axpyBf16Scalar;
  t.dequantInt8 = &dequantInt8Scalar;
  t.dequantInt4 = &dequantInt4Scalar;
  return t;
}

}  // namespace

const KernelTable& scalarKernels() {
  static const KernelTable table = makeTable();
  return table;
}

}  // namespace glm::cpu::detail
