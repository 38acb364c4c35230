// CPU kernels: run-time choice of the code path, and the blocking and threading of matmul, rmsNorm
// and swiGlu around the per-ISA inner loops (cpu_kernels_avx512.cpp, _avx2.cpp, _scalar.cpp).
//
// matmul, out[n x m] = x[n x k] * w[m x k]^T: 2*n*m*k FLOP; reads m*k*sizeof(wdt) bytes of weights
// once (the x panel and the weight tiles are re-read from cache).
//  - Work items are blocks of kWBlock = 16 weight rows (static schedule, so each thread streams one
//    contiguous part of w); when there are fewer blocks than threads, the x rows are split too.
//  - Small n (decode, n < kPackMinRows): for each micro-tile of w rows, the tile kernel runs k-block
//    by k-block straight over the stored weights, widening bf16/f16 in registers. n = 1 is the GEMV:
//    2*m*k FLOP over 2*m*k bytes of bf16 (1 FLOP/byte), bounded by memory bandwidth (4096 x 4096
//    bf16 = 32 MiB per call). The tile shape is the path's for this n and weight
//    (KernelTable::streamedTile, quantStreamedTile): the AVX2 path's best n = 1 tile is not its best
//    n = 4 one.
//  - Larger n (prefill): k-block outermost; the 16 x 512 weight tile is widened once into a 32 KiB
//    fp32 tile on the thread's stack and reused by every micro-tile of x rows (4 x 4 outputs held in
//    16 zmm accumulators on AVX-512: 8 loads per 16 FMAs). (A padded, aligned copy of x was tried
//    against 4 KiB set aliasing of x rows: no measurable gain, so x is read in place.)
//  Both orders add the per-k-block partial sums of an output in the same order, then the bias, so a
//  row's result does not depend on n, on the tile it fell in or on the thread count.
//
// matmulQuantized: the same items and orders; reads m*k bytes (int8) or m*k/2 + m*k/16 (int4 g32) of
// weights and scales once, 2 to 3.6 times fewer bytes than bf16 for the same 2*n*m*k FLOP.
//  - Small n (decode): the streamed order with the quantized micro-kernels (KernelTable::quantTile),
//    which dequantize each weight into the dot product's registers: no fp32 tile written and read
//    back (that round trip made the int4 GEMV slower than bf16's).
//  - Larger n: the packed order, the weight tile dequantized once per k block instead of widened and
//    shared by all x rows.
//  Every weight is the same fp32 value q * scale in both (one multiply of exact operands), and a
//  quantized micro-kernel is the f32 one with another weight source (same lanes, additions and
//  reduction), so decode and prefill rows stay bit-identical.
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace glm::cpu {
namespace {

using detail::KernelTable;
using detail::kKBlock;
using detail::kPackMinRows;
using detail::kTileW;
using detail::kTileX;
using detail::TileShape;

// Tile configuration of matmul's outer loops (the micro-tile comes from the ISA's table).
struct MatmulBlocking {
  static constexpr int64_t kWBlock = 16;  // weight rows per work item
  static constexpr int64_t kMinRowsPerSplit = 8;
};

bool cpuHasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

bool cpuHasAvx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

const KernelTable* bestTable() {
  if (cpuHasAvx512()) return &detail::avx512Kernels();
  if (cpuHasAvx2()) return &detail::avx2Kernels();
  return &detail::scalarKernels();
}

std::atomic<const KernelTable*>& activeSlot() {
  static std::atomic<const KernelTable*> slot{bestTable()};
  return slot;
}

const KernelTable& kernels() { return *activeSlot().load(std::memory_order_acquire); }

// Index into KernelTable::tile and the dtype arguments of the table functions.
int weightDtypeIndex(DType dt, const char* function, const char* operand) {
  switch (dt) {
    case DType::F32: return detail::kF32;
    case DType::F16: return detail::kF16;
    case DType::BF16: return detail::kBf16;
    default:
      throw std::invalid_argument(fmt::format("cpu::{}: {} has dtype {}; expected F32, F16 or BF16", function,
                                              operand, dtypeName(dt)));
  }
}

size_t elementBytes(int dtypeIndex) { return dtypeIndex == 0 ? 4 : 2; }

const unsigned char* bytesAt(const void* base, int64_t element, int dtypeIndex) {
  return static_cast<const unsigned char*>(base) + element * int64_t(elementBytes(dtypeIndex));
}

void requireSize(bool ok, const char* function, const std::string& what) {
  if (!ok) throw std::invalid_argument(fmt::format("cpu::{}: {}", function, what));
}

// Outputs of one work item: x rows [i0, i1) times weight rows [j0, j0 + mw).
struct MatmulItem {
  int64_t i0, i1, j0, mw;
};

struct MatmulArgs {
  const float* x;
  int64_t k, ldx;
  const float* bias;  // fp32 copy of the bias, or nullptr
  float* out;
  int64_t ldo;
};

// Decode order: each micro-tile (tile.x x rows, tile.w w rows) streams through all of k; partial sums
// stay in registers of the caller's stack (total), the bias is added last. blockTile(x0, nx, nw, j, k0,
// len, sums) runs the micro-kernel of x rows at x0 (columns from k0, row stride a.ldx) times weight rows
// [j, j + nw) over columns [k0, k0 + len) (the weights are not read here).
template <class BlockTile>
void matmulStreamed(TileShape tile, const MatmulArgs& a, const MatmulItem& it, const BlockTile& blockTile) {
  const int64_t numKBlocks = std::max<int64_t>(1, (a.k + kKBlock - 1) / kKBlock);
  float sums[kTileX * kTileW], total[kTileX * kTileW];
  for (int64_t i0 = it.i0; i0 < it.i1; i0 += tile.x) {
    const int nx = int(std::min<int64_t>(tile.x, it.i1 - i0));
    for (int64_t jt = 0; jt < it.mw; jt += tile.w) {
      const int nw = int(std::min<int64_t>(tile.w, it.mw - jt));
      const int64_t j = it.j0 + jt;
      for (int64_t kb = 0; kb < numKBlocks; ++kb) {
        const int64_t k0 = kb * kKBlock, len = std::min(kKBlock, a.k - k0);
        blockTile(a.x + i0 * a.ldx + k0, nx, nw, j, k0, len, kb == 0 ? total : sums);
        if (kb > 0)
          for (int s = 0; s < nx * nw; ++s) total[s] += sums[s];
      }
      for (int r = 0; r < nx; ++r) {
        float* o = a.out + (i0 + r) * a.ldo + j;
        for (int c = 0; c < nw; ++c) o[c] = a.bias ? total[r * nw + c] + a.bias[j + c] : total[r * nw + c];
      }
    }
  }
}

// Prefill order: k block outermost, the weight tile widened once to fp32 (pack) and shared by all
// x-row micro-tiles; partial sums accumulate in out, the bias is added last. widenBlock(j0, rows, k0,
// len, pack) writes weight rows [j0, j0 + rows) x columns [k0, k0 + len) as fp32, row r at
// pack + r * kKBlock (the weights are not read here).
template <class WidenBlock>
void matmulPacked(const KernelTable& kt, const MatmulArgs& a, const MatmulItem& it, float* pack,
                  const WidenBlock& widenBlock) {
  const int64_t numKBlocks = std::max<int64_t>(1, (a.k + kKBlock - 1) / kKBlock);
  float sums[kTileX * kTileW];
  for (int64_t kb = 0; kb < numKBlocks; ++kb) {
    const int64_t k0 = kb * kKBlock, len = std::min(kKBlock, a.k - k0);
    widenBlock(it.j0, it.mw, k0, len, pack);
    for (int64_t i0 = it.i0; i0 < it.i1; i0 += kt.packedTile.x) {
      const int nx = int(std::min<int64_t>(kt.packedTile.x, it.i1 - i0));
      for (int64_t jt = 0; jt < it.mw; jt += kt.packedTile.w) {
        const int nw = int(std::min<int64_t>(kt.packedTile.w, it.mw - jt));
        kt.tile[0][nx - 1][nw - 1](a.x + i0 * a.ldx + k0, a.ldx, pack + jt * kKBlock, kKBlock, len, sums);
        for (int r = 0; r < nx; ++r) {
          float* o = a.out + (i0 + r) * a.ldo + it.j0 + jt;
          if (kb == 0)
            for (int c = 0; c < nw; ++c) o[c] = sums[r * nw + c];
          else
            for (int c = 0; c < nw; ++c) o[c] += sums[r * nw + c];
        }
      }
    }
  }
  if (a.bias)
    for (int64_t i = it.i0; i < it.i1; ++i)
      for (int64_t c = 0; c < it.mw; ++c) a.out[i * a.ldo + it.j0 + c] += a.bias[it.j0 + c];
}

// The work items of an n x m product and their threads (shared by matmul and matmulQuantized):
// runItem(item, pack) for each item, pack a kWBlock x kKBlock fp32 tile on the running thread's stack.
// The split depends on the thread count, the order of additions within an output does not.
template <class RunItem>
void forEachMatmulItem(int64_t n, int64_t k, int64_t m, const RunItem& runItem) {
  using B = MatmulBlocking;
  const int64_t numWBlocks = (m + B::kWBlock - 1) / B::kWBlock;
  // With fewer weight blocks than threads (small m), split the x rows as well, in whole micro-tiles.
  const int64_t threads = omp_get_max_threads();
  int64_t rowSplits = 1;
  if (numWBlocks < threads && n >= 2 * B::kMinRowsPerSplit)
    rowSplits = std::min<int64_t>((threads + numWBlocks - 1) / numWBlocks, n / B::kMinRowsPerSplit);
  const int64_t rowsPerSplit = ((n + rowSplits - 1) / rowSplits + kTileX - 1) / kTileX * kTileX;
  const int64_t items = numWBlocks * rowSplits;

  // A parallel region costs a fork and a barrier (microseconds, and a whole time slice when the cores
  // are oversubscribed): small products (tiny models, decode of small layers) run on one thread.
  const bool parallel = items > 1 && n * m * k >= (int64_t(1) << 18);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t item = 0; item < items; ++item) {
    alignas(64) float pack[B::kWBlock * kKBlock];
    const int64_t blk = item / rowSplits, split = item % rowSplits;
    MatmulItem it;
    it.j0 = blk * B::kWBlock;
    it.mw = std::min(B::kWBlock, m - it.j0);
    it.i0 = std::min(n, split * rowsPerSplit);
    it.i1 = std::min(n, it.i0 + rowsPerSplit);
    if (it.i0 >= it.i1) continue;
    runItem(it, pack);
  }
}

// Dequantization of one weight block into matmulPacked's tile: deq = q * scale, each element one fp32
// multiply of exact operands (int8 and nibble values and fp16 scales are exact in fp32), so every code
// path and every caller sees the same tile. The rows / groups go through the path's dequantInt8 /
// dequantInt4 (this file has no ISA flags, its own loops would only get SSE2).
void dequantizeInt8Block(const KernelTable& kt, const QuantizedView& w, int64_t j0, int64_t rows, int64_t k0,
                         int64_t len, float* pack) {
  const auto* scales = static_cast<const float*>(w.scales);
  for (int64_t r = 0; r < rows; ++r)
    kt.dequantInt8(reinterpret_cast<const int8_t*>(w.data + (j0 + r) * w.cols + k0), scales[j0 + r], len,
                   pack + r * kKBlock);
}

// k0 and len are multiples of the group (k0 of kKBlock, len of k), so a block holds whole groups. The
// block's fp16 scales of a row are widened in one call of the path's exact toFloat (F16C on the vector
// paths; the same values as f16ToFloat).
void dequantizeInt4Block(const KernelTable& kt, const QuantizedView& w, int64_t j0, int64_t rows, int64_t k0,
                         int64_t len, float* pack) {
  const int64_t group = w.group, bytesPerRow = w.cols / 2, groups = len / group;
  const auto* scales = static_cast<const uint16_t*>(w.scales);
  float groupScales[kKBlock / 32];
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = w.data + (j0 + r) * bytesPerRow;
    kt.toFloat(scales + (j0 + r) * w.scalesPerRow() + k0 / group, detail::kF16, groups, groupScales);
    float* dst = pack + r * kKBlock;
    kt.dequantInt4(row + k0 / 2, groupScales, group, len, dst);
  }
}

// Weight rows from j on, at column k0 (int4: k0 a multiple of the group), as the quantized tiles read them.
detail::QuantizedRows quantizedRowsAt(const QuantizedView& w, int64_t j, int64_t k0) {
  if (isInt4(w.format)) {
    const int64_t bytesPerRow = w.cols / 2, scalesPerRow = w.scalesPerRow();
    return {w.data + j * bytesPerRow + k0 / 2, bytesPerRow,
            static_cast<const uint16_t*>(w.scales) + j * scalesPerRow + k0 / w.group, scalesPerRow};
  }
  return {w.data + j * w.cols + k0, w.cols, static_cast<const float*>(w.scales) + j, 1};
}

void requireQuantizedView(const QuantizedView& w, int64_t k) {
  const char* fn = "matmulQuantized";
  const std::string_view format = weightFormatName(w.format);
  requireSize(w.format != WeightFormat::Native, fn, fmt::format("{}: the weight is not quantized", w.name));
  requireSize(w.rows >= 0 && w.cols >= 0, fn, fmt::format("{}: negative shape {} x {}", w.name, w.rows, w.cols));
  requireSize(k == w.cols, fn, fmt::format("{}: k {} != the weight's columns {}", w.name, k, w.cols));
  if (isInt4(w.format)) {
    requireSize(w.group == int4Group(w.format), fn,
                fmt::format("{}: {} weights have groups of {} columns, the view says {}", w.name, format,
                            int4Group(w.format), w.group));
    requireSize(k % w.group == 0, fn,
                fmt::format("{}: k {} is not a multiple of the {} group {}", w.name, k, format, w.group));
  }
  const int64_t dataBytes = quantizedDataBytes(w.format, w.rows, w.cols);
  const int64_t scaleBytes = quantizedScaleBytes(w.format, w.rows, w.cols);
  requireSize(w.dataBytes >= dataBytes && w.scaleBytes >= scaleBytes, fn,
              fmt::format("{}: {} x {} {} needs {} data and {} scale bytes, the view has {} and {}", w.name, w.rows,
                          w.cols, format, dataBytes, scaleBytes, w.dataBytes, w.scaleBytes));
  requireSize(w.rows * w.cols == 0 || (w.data != nullptr && w.scales != nullptr), fn,
              fmt::format("{}: null data or scales", w.name));
}

}  // namespace

void matmul(const float* x, int64_t n, int64_t k, int64_t ldx, const void* w, DType wdt, int64_t m,
            const void* bias, DType biasDt, float* out, int64_t ldo) {
  const KernelTable& kt = kernels();
  const int wdi = weightDtypeIndex(wdt, "matmul", "weight");
  requireSize(n >= 0 && k >= 0 && m >= 0, "matmul",
              fmt::format("negative size (n {}, k {}, m {})", n, k, m));
  requireSize(ldx >= k, "matmul", fmt::format("ldx {} < k {}", ldx, k));
  requireSize(ldo >= m, "matmul", fmt::format("ldo {} < m {}", ldo, m));
  if (n == 0 || m == 0) return;
  requireSize(out != nullptr && (k == 0 || (x != nullptr && w != nullptr)), "matmul", "null x, w or out");

  std::vector<float> biasF32;
  if (bias) {
    biasF32.resize(size_t(m));
    kt.toFloat(bias, weightDtypeIndex(biasDt, "matmul", "bias"), m, biasF32.data());
  }
  const bool packed = n >= kPackMinRows;
  const MatmulArgs args{x, k, ldx, bias ? biasF32.data() : nullptr, out, ldo};
  // F32 weights are copied too: rows k * 4 bytes apart (a multiple of 4 KiB for k = 4096) would all
  // fall in the same L1 sets.
  const auto widenBlock = [&](int64_t j0, int64_t rows, int64_t k0, int64_t len, float* pack) {
    for (int64_t r = 0; r < rows; ++r) kt.toFloat(bytesAt(w, (j0 + r) * k + k0, wdi), wdi, len, pack + r * kKBlock);
  };
  const auto blockTile = [&](const float* x0, int nx, int nw, int64_t j, int64_t k0, int64_t len, float* sums) {
    kt.tile[wdi][nx - 1][nw - 1](x0, ldx, bytesAt(w, j * k + k0, wdi), k, len, sums);
  };
  forEachMatmulItem(n, k, m, [&](const MatmulItem& it, float* pack) {
    if (packed)
      matmulPacked(kt, args, it, pack, widenBlock);
    else
      matmulStreamed(kt.streamedTile[n - 1], args, it, blockTile);
  });
}

void matmulQuantized(const float* x, int64_t n, int64_t k, int64_t ldx, const QuantizedView& w, const float* bias,
                     float* out, int64_t ldo) {
  const KernelTable& kt = kernels();
  const int64_t m = w.rows;
  requireSize(n >= 0 && k >= 0, "matmulQuantized", fmt::format("negative size (n {}, k {})", n, k));
  requireQuantizedView(w, k);
  requireSize(ldx >= k, "matmulQuantized", fmt::format("ldx {} < k {}", ldx, k));
  requireSize(ldo >= m, "matmulQuantized", fmt::format("ldo {} < m {}", ldo, m));
  if (n == 0 || m == 0) return;
  requireSize(out != nullptr && (k == 0 || x != nullptr), "matmulQuantized", "null x or out");

  const bool packed = n >= kPackMinRows;
  const MatmulArgs args{x, k, ldx, bias, out, ldo};
  const bool int4 = isInt4(w.format);
  const auto dequantizeBlock = [&](int64_t j0, int64_t rows, int64_t k0, int64_t len, float* pack) {
    if (int4)
      dequantizeInt4Block(kt, w, j0, rows, k0, len, pack);
    else
      dequantizeInt8Block(kt, w, j0, rows, k0, len, pack);
  };
  const int format = detail::quantTileIndex(w.format);  // the view is checked already
  const auto blockTile = [&](const float* x0, int nx, int nw, int64_t j, int64_t k0, int64_t len, float* sums) {
    kt.quantTile[format][nx - 1][nw - 1](x0, ldx, quantizedRowsAt(w, j, k0), len, sums);
  };
  forEachMatmulItem(n, k, m, [&](const MatmulItem& it, float* pack) {
    if (packed)
      matmulPacked(kt, args, it, pack, dequantizeBlock);
    else
      matmulStreamed(kt.quantStreamedTile[format][n - 1], args, it, blockTile);
  });
}

void rmsNorm(const float* x, int64_t n, int64_t dim, const void* weight, DType wdt, float eps, float* out) {
  const KernelTable& kt = kernels();
  const int wdi = weightDtypeIndex(wdt, "rmsNorm", "weight");
  requireSize(n >= 0 && dim > 0, "rmsNorm", fmt::format("bad size (n {}, dim {})", n, dim));
  // Work per row ~ 2 passes over dim floats; one thread is faster below ~32K elements.
#pragma omp parallel for schedule(static) if (n * dim >= (int64_t(1) << 15) && n > 1)
  for (int64_t i = 0; i < n; ++i) {
    const float* xr = x + i * dim;
    const double meanSquare = kt.sumSquares(xr, dim) / double(dim);
    const float r = float(1.0 / std::sqrt(meanSquare + double(eps)));
    kt.scaleByWeight(xr, r, weight, wdi, dim, out + i * dim);  // reads x[t] before writing out[t]
  }
}

void toFloat(const void* src, DType dt, int64_t count, float* dst) {
  kernels().toFloat(src, weightDtypeIndex(dt, "toFloat", "source"), count, dst);
}

void swiGlu(const float* gateUp, int64_t n, int64_t ffn, float* out) {
  const KernelTable& kt = kernels();
  requireSize(n >= 0 && ffn >= 0, "swiGlu", fmt::format("negative size (n {}, ffn {})", n, ffn));
  // Rows split in chunks so that decode (n = 1, ffn ~ 13696) still uses every thread.
  constexpr int64_t kChunk = 2048;
  const int64_t chunks = (ffn + kChunk - 1) / kChunk;
  const int64_t items = n * chunks;
#pragma omp parallel for schedule(static) if (n * ffn >= (int64_t(1) << 14) && items > 1)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t i = item / chunks, c0 = (item % chunks) * kChunk;
    const float* row = gateUp + i * 2 * ffn;
    kt.swiGluRow(row + c0, row + ffn + c0, std::min(kChunk, ffn - c0), out + i * ffn + c0);
  }
}

float dot(const float* a, const float* b, int64_t len) { return kernels().dot(a, b, len); }
void axpy(float alpha, const float* x, float* y, int64_t len) { kernels().axpy(alpha, x, y, len); }
void scale(float alpha, float* y, int64_t len) { kernels().scale(alpha, y, len); }
float dotBf16(const float* a, const uint16_t* b, int64_t len) { return kernels().dotBf16(a, b, len); }
void axpyBf16(float alpha, const uint16_t* x, float* y, int64_t len) { kernels().axpyBf16(alpha, x, y, len); }

const char* isaName() { return kernels().name; }

bool forceIsa(const char* name) {
  if (!name) return false;
  const std::string_view want(name);
  const KernelTable* table = nullptr;
  if (want == "avx512" && cpuHasAvx512()) table = &detail::avx512Kernels();
  else if (want == "avx2" && cpuHasAvx2()) table = &detail::avx2Kernels();
  else if (want == "scalar") table = &detail::scalarKernels();
  if (!table) return false;
  activeSlot().store(table, std::memory_order_release);
  return true;
}

}  // namespace glm::cpu
