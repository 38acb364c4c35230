// Math kernels of the CPU backend, the numerical reference of the project: every sum is accumulated
// in fp32 (rmsNorm's statistics in fp64), weights stay in their stored dtype (F32/F16/BF16) and are
// widened to fp32 in registers or in small per-thread tiles, never as a full copy.
//
// Three code paths chosen at run time: AVX-512 (avx512f/bw/vl + fma + f16c), AVX2 (+ fma + f16c)
// and portable scalar. They agree to float rounding; within one path, matmul's result for a row of x
// does not depend on n, on the row's position in the batch or on the thread count (the order of the
// additions is fixed per output element), so prefill and decode compute bit-identical rows.
//
// Threading: matmul, rmsNorm and swiGlu open their own OpenMP parallel regions (call them from one
// thread; omp_set_num_threads applies). toFloat, dot, axpy, scale, dotBf16 and axpyBf16 are serial,
// meant to be called inside the caller's parallel loops.
#pragma once
#include <cstdint>
#include <utility>

#include "glmengine/types.h"
#include "quant/quant_format.h"

namespace glm::cpu {

// out[i, j] = sum_k x[i, k] * w[j, k] (+ bias[j]) for i < n, j < m.
// x: f32, row stride ldx (>= k); w: [m x k] row-major, contiguous, dtype wdt (F32/F16/BF16);
// bias: m values of dtype biasDt (F32/F16/BF16) or nullptr; out: f32, row stride ldo (>= m). Only
// out[i, 0..m) is written, so a caller may fill a column slice of a wider output.
// Throws std::invalid_argument on an unsupported dtype or inconsistent sizes.
void matmul(const float* x, int64_t n, int64_t k, int64_t ldx,
            const void* w, DType wdt, int64_t m,
            const void* bias, DType biasDt, float* out, int64_t ldo);

// out[i, j] = sum_c x[i, c] * deq(w)[j, c] (+ bias[j]) for i < n, j < w.rows: matmul with a quantized
// weight (quant/quant_format.h): deq = int8 value * fp32 row scale, or (nibble - 8) * fp16 group scale.
// x: f32, row stride ldx (>= k); k must equal w.cols (int4: a multiple of w.group); bias: w.rows fp32
// values or nullptr; out: f32, row stride ldo (>= w.rows), only out[i, 0..w.rows) is written. Every
// weight is dequantized to the fp32 value q * scale (one rounding, the same value on every path) and
// summed in matmul's order. For n >= 8 (prefill) each 16 x 512 block of w is dequantized into an fp32
// tile shared by the f32 micro-kernels; for n < 8 (decode) the quantized micro-kernels dequantize
// into the registers of the dot product. Both add the same products in the same order, so a row's
// result does not depend on n, on its position in the batch or on the thread count.
// Throws std::invalid_argument on a Native format, a group that does not match the format, missing or
// short data/scales, or inconsistent sizes.
void matmulQuantized(const float* x, int64_t n, int64_t k, int64_t ldx, const QuantizedView& w, const float* bias,
                     float* out, int64_t ldo);

// y = x * rsqrt(mean(x^2) + eps) * weight, per row of length dim (rows contiguous, stride dim).
// Statistics in fp64, so rows of very large or very small magnitude neither overflow nor lose
// precision. x and out may be the same pointer.
void rmsNorm(const float* x, int64_t n, int64_t dim, const void* weight, DType wdt, float eps, float* out);

// Convert count values of dtype src (F32/F16/BF16) to f32; exact, inf/NaN/subnormals pass through.
void toFloat(const void* src, DType dt, int64_t count, float* dst);

// out[i, j] = silu(gateUp[i, j]) * gateUp[i, ffn + j] for rows of 2*ffn (gate half, then up half);
// out row stride = ffn; out must not overlap gateUp. silu(g) = g / (1 + exp(-g)); the vector paths
// use their own exp (within ~2 ulp of std::exp).
void swiGlu(const float* gateUp, int64_t n, int64_t ffn, float* out);

// Serial vector helpers for attention.
float dot(const float* a, const float* b, int64_t len);
void axpy(float alpha, const float* x, float* y, int64_t len);  // y += alpha * x
void scale(float alpha, float* y, int64_t len);                 // y *= alpha
// The same with a bf16 operand (a KV cache stored as bf16); bf16 -> f32 is exact.
float dotBf16(const float* a, const uint16_t* b, int64_t len);
void axpyBf16(float alpha, const uint16_t* x, float* y, int64_t len);

// Active code path: "avx512", "avx2" or "scalar".
const char* isaName();
// Force a path by name (tests, benchmarks); returns false, changing nothing, if this CPU cannot run
// it or the name is unknown.
bool forceIsa(const char* name);

// ---- Internal: the per-ISA kernel table (cpu_kernels_<isa>.cpp) used by cpu_kernels.cpp. ----
namespace detail {

// Fixed k block of matmul. Each output is the sum, in k-block order, of per-block partial sums; a
// partial sum is reduced from the path's lanes in a fixed tree. 512 keeps the fp32 rounding error
// well below 1e-6 relative at k = 4096 (32 products per lane per block) and a packed 16-row weight
// tile (16 * 512 * 4 B = 32 KiB) in L1.
constexpr int64_t kKBlock = 512;
// Largest tile of the matmul micro-kernel: kTileX rows of x times kTileW rows of w.
constexpr int kTileX = 4;
constexpr int kTileW = 4;
// matmul streams the stored weights through the micro-kernels for n < kPackMinRows rows of x (decode)
// and widens them once per k block into an fp32 tile shared by all x rows from there on (prefill).
constexpr int64_t kPackMinRows = 8;

// A micro-tile: x rows of x times w rows of the weight, x <= kTileX, w <= kTileW.
struct TileShape {
  int x, w;
};

// sums[a * nw + b] = sum_{t < len} x[a * ldx + t] * w[b * ldw + t] for a < nx, b < nw.
// w is f32 or, for the wdt variants, raw F16/BF16 elements (ldw in elements).
using TileFn = void (*)(const float* x, int64_t ldx, const void* w, int64_t ldw, int64_t len, float* sums);

// Index of a weight dtype in the kernel tables (tile[], toFloat, scaleByWeight).
enum : int { kF32 = 0, kF16 = 1, kBf16 = 2 };

// nw consecutive rows of a quantized weight (quant/quant_format.h), from column k0 of a k block on.
struct QuantizedRows {
  const uint8_t* data;  // row 0's values at column k0 (int8: byte k0 of the row; int4: byte k0 / 2)
  int64_t dataStride;   // bytes from one row to the next
  const void* scales;   // int8: row 0's fp32 scale; int4: row 0's fp16 scale of the group holding column k0
  int64_t scaleStride;  // scales from one row to the next (int8: 1; int4: k / group)
};

// The next tile of matmulStreamed is these NW rows' next k block, right after this one's `bytes` per row:
// asks for its cache lines now, so that they arrive while this block is summed. Locality as
// __builtin_prefetch takes it (3: into L1, x86's T0 hint; 2: L2, T1). A prefetch never faults, so the
// address past a row's last block needs no check.
template <int NW, int Locality>
inline void prefetchNextBlock(const QuantizedRows& w, int64_t bytes) {
#pragma GCC unroll 4
  for (int b = 0; b < NW; ++b)
    for (int64_t line = 0; line < bytes; line += 64)
      __builtin_prefetch(w.data + b * w.dataStride + bytes + line, 0, Locality);
}

// sums[a * nw + b] = sum_{t < len} x[a * ldx + t] * deq(w)[b, t] for a < nx, b < nw, len <= kKBlock (int4:
// a multiple of the group, k0 too): the bits of the same path's f32 TileFn on the dequantized block
// (deq = q * scale, one fp32 multiply), each weight dequantized in registers instead of in a tile.
using QuantTileFn = void (*)(const float* x, int64_t ldx, const QuantizedRows& w, int64_t len, float* sums);

// Index of a quantized format in KernelTable::quantTile.
enum : int { kQuantInt8 = 0, kQuantInt4G32 = 1, kQuantInt4G128 = 2 };
inline int quantTileIndex(WeightFormat format) {  // a quantized (not Native) format's index
  return format == WeightFormat::Int8 ? kQuantInt8 : format == WeightFormat::Int4G32 ? kQuantInt4G32 : kQuantInt4G128;
}

// Fills tiles[kind][nx - 1][nw - 1] = Tile<kind, nx, nw>::fn for the 3 kinds (weight dtypes or quantized
// formats) and every tile shape. Each ISA file wraps its own kernel templates (compiled with that file's
// target attributes) in Tile structs.
template <template <int, int, int> class Tile, int Kind, int NX, class Fn, int... NW>
constexpr void fillTileRow(Fn (&row)[kTileW], std::integer_sequence<int, NW...>) {
  ((row[NW] = Tile<Kind, NX, NW + 1>::fn), ...);
}
template <template <int, int, int> class Tile, int Kind, class Fn, int... NX>
constexpr void fillTileRows(Fn (&rows)[kTileX][kTileW], std::integer_sequence<int, NX...>) {
  (fillTileRow<Tile, Kind, NX + 1>(rows[NX], std::make_integer_sequence<int, kTileW>{}), ...);
}
template <template <int, int, int> class Tile, class Fn>
constexpr void fillTileTable(Fn (&tiles)[3][kTileX][kTileW]) {
  fillTileRows<Tile, 0>(tiles[0], std::make_integer_sequence<int, kTileX>{});
  fillTileRows<Tile, 1>(tiles[1], std::make_integer_sequence<int, kTileX>{});
  fillTileRows<Tile, 2>(tiles[2], std::make_integer_sequence<int, kTileX>{});
}

struct KernelTable {
  const char* name;
  // The micro-tiles that run best in this path's register file. A tile only groups outputs (each
  // output's additions are in a fixed order), so the shapes change no bits.
  TileShape packedTile;  // the packed order's (n >= kPackMinRows)
  // streamedTile[n - 1]: the streamed order's for n < kPackMinRows rows of x, with matmul's weights;
  // quantStreamedTile[formatIndex][n - 1]: the same with matmulQuantized's.
  TileShape streamedTile[kPackMinRows - 1];
  TileShape quantStreamedTile[3][kPackMinRows - 1];
  // tile[dtypeIndex][nx - 1][nw - 1]; dtypeIndex 0 = F32, 1 = F16, 2 = BF16.
  TileFn tile[3][kTileX][kTileW];
  // quantTile[formatIndex][nx - 1][nw - 1]: matmulQuantized's micro-kernels for small n.
  QuantTileFn quantTile[3][kTileX][kTileW];
  void (*toFloat)(const void* src, int dtypeIndex, int64_t count, float* dst);
  double (*sumSquares)(const float* x, int64_t len);
  // y[t] = (x[t] * r) * weight[t], weight of dtypeIndex.
  void (*scaleByWeight)(const float* x, float r, const void* weight, int dtypeIndex, int64_t len, float* y);
  void (*swiGluRow)(const float* gate, const float* up, int64_t len, float* out);
  float (*dot)(const float* a, const float* b, int64_t len);
  void (*axpy)(float alpha, const float* x, float* y, int64_t len);
  void (*scale)(float alpha, float* y, int64_t len);
  float (*dotBf16)(const float* a, const uint16_t* b, int64_t len);
  void (*axpyBf16)(float alpha, const uint16_t* x, float* y, int64_t len);
  // Dequantization of matmulQuantized's weight tile (here, not in cpu_kernels.cpp, because that file
  // is built without ISA flags). Each value is one fp32 multiply of exact operands (no FMA), so every
  // path writes the same bits.
  // dst[c] = float(q[c]) * scale for c < len (one int8 row).
  void (*dequantInt8)(const int8_t* q, float scale, int64_t len, float* dst);
  // dst[c] = float(nibble c - 8) * groupScales[c / group] for c < len (len and group even; nibble 2b is
  // bytes[b] & 15, nibble 2b + 1 is bytes[b] >> 4): one int4 row, a whole number of groups but the last.
  void (*dequantInt4)(const uint8_t* bytes, const float* groupScales, int64_t group, int64_t len, float* dst);
};

// Sets every tile shape of t to `shape`, for a path with one shape for every n and weight.
inline void setOneTileShape(KernelTable& t, TileShape shape) {
  t.packedTile = shape;
  for (int n = 1; n < kPackMinRows; ++n) {
    t.streamedTile[n - 1] = shape;
    for (auto& formatTiles : t.quantStreamedTile) formatTiles[n - 1] = shape;
  }
}

const KernelTable& scalarKernels();
const KernelTable& avx2Kernels();    // call only where the CPU supports avx2, fma, f16c
const KernelTable& avx512Kernels();  // call only where the CPU supports avx512f/bw/vl, fma, f16c

}  // namespace detail
}  // namespace glm::cpu
