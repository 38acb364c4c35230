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

// The weight values of matmulQuantized, one fp32 multiply of exact operands (the formula itself).
inline float dequantInt8Value(int8_t q, float scale) { return float(q) * scale; }
// Column c of an int4 row: nibble c % 2 of byte c / 2 (low nibble first), stored as q + 8.
inline float dequantInt4Value(const uint8_t* bytes, int64_t c, float scale) {
  const int nibble = c % 2 ? bytes[c / 2] >> 4 : bytes[c / 2] & 0x0f;
  return float(nibble - 8) * scale;
}

// ---- The matmul micro-kernel and its weight sources ----
// tileKernel reads weight t of row b of the block through a source's row(b).load(t): the stored value,
// or a quantized one dequantized on the spot. The sums do not depend on where the value came from,
// which is what makes matmulQuantized's register path and its fp32 tile agree.

template <int DT>
struct StoredWeights {
  struct Row {
    const void* w;
    int64_t offset;  // elements
    float load(int64_t t) const { return loadOne<DT>(w, offset + t); }
  };
  const void* w;
  int64_t ldw;
  Row row(int b) const { return {w, b * ldw}; }
};

struct Int8Weights {
  struct Row {
    const int8_t* q;
    float scale;
    float load(int64_t t) const { return dequantInt8Value(q[t], scale); }
  };
  QuantizedRows rows;
  Row row(int b) const {
    return {reinterpret_cast<const int8_t*>(rows.data + b * rows.dataStride),
            static_cast<const float*>(rows.scales)[b * rows.scaleStride]};
  }
};

template <int G, int NW>
struct Int4Weights {
  struct Row {
    const uint8_t* bytes;
    const float* scales;  // per group of the block
    float load(int64_t t) const { return dequantInt4Value(bytes, t, scales[t / G]); }
  };
  QuantizedRows rows;
  float scales[NW][kKBlock / G];  // the block's group scales, widened (exact)

  Int4Weights(const QuantizedRows& r, int64_t len) : rows(r) {
    for (int b = 0; b < NW; ++b)
      for (int64_t g = 0; g < len / G; ++g)
        scales[b][g] = f16ToFloat(static_cast<const uint16_t*>(r.scales)[b * r.scaleStride + g]);
  }
  Row row(int b) const { return {rows.data + b * rows.dataStride, scales[b]}; }
};

template <int NX, int NW, class Weights>
void tileKernel(const float* x, int64_t ldx, const Weights& w, int64_t len, float* sums) {
  for (int a = 0; a < NX; ++a) {
    for (int b = 0; b < NW; ++b) {
      float lane[kLanes] = {};
      const float* xr = x + a * ldx;
      const typename Weights::Row row = w.row(b);
      int64_t t = 0;
      for (; t + kLanes <= len; t += kLanes)
        for (int l = 0; l < kLanes; ++l) lane[l] += xr[t + l] * row.load(t + l);
      for (int l = 0; t + l < len; ++l) lane[l] += xr[t + l] * row.load(t + l);
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
  for (int64_t c = 0; c < len; ++c) dst[c] = dequantInt8Value(q[c], scale);
}

void dequantInt4Scalar(const uint8_t* bytes, const float* groupScales, int64_t group, int64_t len, float* dst) {
  for (int64_t c0 = 0, g = 0; c0 < len; c0 += group, ++g)
    for (int64_t c = c0; c < std::min(c0 + group, len); ++c) dst[c] = dequantInt4Value(bytes, c, groupScales[g]);
}

template <int DT, int NX, int NW>
void storedTile(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums) {
  tileKernel<NX, NW>(x, ldx, StoredWeights<DT>{w, ldw}, len, sums);
}

template <int Format, int NX, int NW>
void quantizedTile(const float* x, int64_t ldx, const QuantizedRows& w, int64_t len, float* sums) {
  if constexpr (Format == kQuantInt8)
    tileKernel<NX, NW>(x, ldx, Int8Weights{w}, len, sums);
  else
    tileKernel<NX, NW>(x, ldx, Int4Weights<Format == kQuantInt4G32 ? 32 : 128, NW>(w, len), len, sums);
}

template <int DT, int NX, int NW>
struct Tile {
  static constexpr TileFn fn = &storedTile<DT, NX, NW>;
};

template <int Format, int NX, int NW>
struct QuantTile {
  static constexpr QuantTileFn fn = &quantizedTile<Format, NX, NW>;
};

KernelTable makeTable() {
  KernelTable t{};
  t.name = "scalar";
  // One output at a time: a bigger tile would only re-read the same rows.
  setOneTileShape(t, {1, 1});
  fillTileTable<Tile>(t.tile);
  fillTileTable<QuantTile>(t.quantTile);
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
