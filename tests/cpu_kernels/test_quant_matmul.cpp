// cpu::matmulQuantized (int8 per row, int4 in groups of 32 and 128) against an fp64 reference of the
// dequantized weights, once per code path (avx512, avx2, scalar; a path this CPU cannot run is skipped).
// The quantized views are built here from random q values and scales, laid out as quant/quant_format.h
// documents, without the quantizer. The dequantized tile is one multiply of exact operands per weight,
// so every path must produce the formula's bits: checked through matmulQuantized (against matmul of the
// formula's fp32 tile on the same path) and on the kernel table's dequantInt8 / dequantInt4 directly.
// For n < 8 matmulQuantized dequantizes in registers (KernelTable::quantTile) instead of into the tile:
// that path must give the tile path's bits too, checked kernel by kernel (every tile shape, lengths
// around the vector widths and groups, signed zeros and underflow, special fp16 scales: zeros, negative,
// subnormal, infinite, the largest) and through matmulQuantized (decode rows against the same rows in a
// prefill batch, at awkward k and m and several thread counts).
//
// Error bound: ||out - ref|| / ||ref|| < 1e-5. The dequantized tile is exact up to one fp32 rounding per
// weight (2^-24 relative) and the products are summed in fp32 as in cpu::matmul (measured ~1e-7 there
// at k = 4096), so 1e-5 leaves a wide margin while a wrong nibble, scale or group (errors of order 1)
// fails by far.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/cpu_kernels.h"
#include "kernel_test_util.h"
#include "quant/quant_format.h"
#include "util/half.h"

namespace glm::cpu {
namespace {

constexpr WeightFormat kFormats[] = {WeightFormat::Int8, WeightFormat::Int4G32, WeightFormat::Int4G128};

// A rows x cols quantized weight in the documented layout, and its dequantized values in fp64.
struct QuantizedWeight {
  WeightFormat format;
  int64_t rows, cols;
  std::vector<uint8_t> data;
  std::vector<float> rowScales;        // int8
  std::vector<uint16_t> groupScales;   // int4, fp16 bits
  std::vector<double> dequantized;     // rows x cols

  QuantizedView view() const {
    QuantizedView v;
    v.format = format;
    v.name = "test." + std::string(weightFormatName(format));
    v.rows = rows;
    v.cols = cols;
    v.group = int4Group(format);
    v.data = data.data();
    v.dataBytes = int64_t(data.size());
    if (isInt4(format)) {
      v.scales = groupScales.data();
      v.scaleBytes = int64_t(groupScales.size() * 2);
    } else {
      v.scales = rowScales.data();
      v.scaleBytes = int64_t(rowScales.size() * 4);
    }
    return v;
  }
};

QuantizedWeight makeQuantized(WeightFormat format, int64_t rows, int64_t cols, std::mt19937_64& rng) {
  QuantizedWeight w{format, rows, cols, {}, {}, {}, {}};
  w.dequantized.resize(size_t(rows * cols));
  if (format == WeightFormat::Int8) {
    std::uniform_int_distribution<int> value(-127, 127);
    std::uniform_real_distribution<float> scale(0.5f / 127, 2.0f / 127);
    w.data.resize(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      w.rowScales.push_back(scale(rng));
      for (int64_t c = 0; c < cols; ++c) {
        const int q = value(rng);
        w.data[size_t(r * cols + c)] = uint8_t(int8_t(q));
        w.dequantized[size_t(r * cols + c)] = double(q) * double(w.rowScales.back());
      }
    }
    return w;
  }
  const int64_t group = int4Group(format);
  std::uniform_int_distribution<int> value(-7, 7);
  std::uniform_real_distribution<float> scale(0.01f, 0.3f);
  w.data.assign(size_t(rows * cols / 2), 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < cols / group; ++g) {
      w.groupScales.push_back(floatToF16(scale(rng)));
      const double s = f16ToFloat(w.groupScales.back());
      for (int64_t c = g * group; c < (g + 1) * group; ++c) {
        const int q = value(rng);
        uint8_t& byte = w.data[size_t(r * cols / 2 + c / 2)];
        byte = uint8_t(byte | ((q + 8) << (c % 2 ? 4 : 0)));  // column 2b low nibble, 2b + 1 high
        w.dequantized[size_t(r * cols + c)] = double(q) * s;
      }
    }
  }
  return w;
}


// ---- Fixture: one instance per code path. ----
class QuantMatmul : public PerIsaTest {};

TEST_P(QuantMatmul, MatchesFp64ReferenceOfDequantizedWeights) {
  uint64_t seed = 2000;
  for (WeightFormat format : kFormats) {
    for (int64_t k : {64, 512, 1152, 4096}) {
      if (k % std::max(1, int4Group(format)) != 0) continue;  // k = 64 is no whole number of 128-groups
      for (int64_t m : {1, 5, 33, 300}) {
        std::mt19937_64 rng(++seed);
        const QuantizedWeight w = makeQuantized(format, m, k, rng);
        const std::vector<float> bias = randomFloats(m, rng, -2.0f, 2.0f);
        for (int64_t n : {1, 3, 17, 64}) {
          // Odd n: padded rows of x and out (out's padding must stay untouched).
          const int64_t ldx = k + (n % 2 ? 3 : 0), ldo = m + (n % 2 ? 2 : 0);
          const std::vector<float> x = randomFloats(n * ldx, rng);
          std::vector<double> product(size_t(n * m));
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < m; ++j) {
              double s = 0.0;
              for (int64_t c = 0; c < k; ++c) s += double(x[size_t(i * ldx + c)]) * w.dequantized[size_t(j * k + c)];
              product[size_t(i * m + j)] = s;
            }
          for (bool withBias : {false, true}) {
            const std::string what = fmt::format("{} n{} k{} m{} {}", weightFormatName(format), n, k, m,
                                                 withBias ? "bias" : "no bias");
            std::vector<float> out(size_t(n * ldo), kPoison);
            matmulQuantized(x.data(), n, k, ldx, w.view(), withBias ? bias.data() : nullptr, out.data(), ldo);
            double num = 0.0, den = 0.0;
            for (int64_t i = 0; i < n; ++i) {
              for (int64_t j = 0; j < m; ++j) {
                const double ref = product[size_t(i * m + j)] + (withBias ? double(bias[size_t(j)]) : 0.0);
                const double d = double(out[size_t(i * ldo + j)]) - ref;
                num += d * d;
                den += ref * ref;
              }
              for (int64_t j = m; j < ldo; ++j)
                ASSERT_EQ(out[size_t(i * ldo + j)], kPoison) << what << ": wrote out[" << i << ", " << j << "]";
            }
            EXPECT_LT(std::sqrt(num / den), 1e-5) << what;
          }
        }
      }
    }
  }
}

TEST_P(QuantMatmul, RowResultDoesNotDependOnBatchPositionOrThreads) {
  const int64_t n = 17, k = 4096 + 128;  // a tail k block of 128 columns
  uint64_t seed = 3000;
  for (WeightFormat format : kFormats) {
    for (int64_t m : {5, 70}) {  // m = 5: one weight block, so the batch's rows are split across threads
      const std::string what = fmt::format("{} m{}", weightFormatName(format), m);
      std::mt19937_64 rng(++seed);
      const QuantizedWeight w = makeQuantized(format, m, k, rng);
      const std::vector<float> bias = randomFloats(m, rng);
      const std::vector<float> x = randomFloats(n * k, rng);
      std::vector<float> batch(static_cast<size_t>(n * m)), oneThread(static_cast<size_t>(n * m)),
          single(static_cast<size_t>(m));
      matmulQuantized(x.data(), n, k, k, w.view(), bias.data(), batch.data(), m);
      for (int64_t i = 0; i < n; ++i) {
        const std::vector<float> row(x.begin() + i * k, x.begin() + (i + 1) * k);  // alone, elsewhere in memory
        matmulQuantized(row.data(), 1, k, k, w.view(), bias.data(), single.data(), m);
        ASSERT_EQ(0, std::memcmp(single.data(), batch.data() + i * m, size_t(m) * 4)) << what << ", row " << i;
      }
      const int threads = omp_get_max_threads();
      omp_set_num_threads(1);
      matmulQuantized(x.data(), n, k, k, w.view(), bias.data(), oneThread.data(), m);
      omp_set_num_threads(threads);
      EXPECT_EQ(0, std::memcmp(oneThread.data(), batch.data(), batch.size() * 4)) << what;
    }
  }
}

TEST_P(QuantMatmul, RejectsWrongKPartialGroupsAndBadViews) {
  std::mt19937_64 rng(4000);
  std::vector<float> x(4 * 512, 1.0f), out(4 * 64);
  for (WeightFormat format : kFormats) {
    const QuantizedWeight w = makeQuantized(format, 4, 256, rng);
    EXPECT_NO_THROW(matmulQuantized(x.data(), 2, 256, 512, w.view(), nullptr, out.data(), 64));
    EXPECT_THROW(matmulQuantized(x.data(), 2, 288, 512, w.view(), nullptr, out.data(), 64), std::invalid_argument)
        << weightFormatName(format) << ": k != cols";
    EXPECT_THROW(matmulQuantized(x.data(), 2, 256, 255, w.view(), nullptr, out.data(), 64), std::invalid_argument)
        << weightFormatName(format) << ": ldx < k";
    EXPECT_THROW(matmulQuantized(x.data(), 2, 256, 512, w.view(), nullptr, out.data(), 3), std::invalid_argument)
        << weightFormatName(format) << ": ldo < m";
    QuantizedView shortScales = w.view();
    shortScales.scaleBytes -= 1;
    EXPECT_THROW(matmulQuantized(x.data(), 2, 256, 512, shortScales, nullptr, out.data(), 64), std::invalid_argument)
        << weightFormatName(format) << ": short scales";
    QuantizedView native = w.view();
    native.format = WeightFormat::Native;
    EXPECT_THROW(matmulQuantized(x.data(), 2, 256, 512, native, nullptr, out.data(), 64), std::invalid_argument);
  }
  for (WeightFormat format : {WeightFormat::Int4G32, WeightFormat::Int4G128}) {
    // cols = k = 1.5 groups: the view is consistent otherwise, the partial group must be refused.
    const int64_t k = int4Group(format) * 3 / 2;
    QuantizedWeight w = makeQuantized(WeightFormat::Int8, 4, k, rng);  // just bytes enough for the view
    w.format = format;
    w.groupScales.assign(4 * 2, floatToF16(0.1f));
    EXPECT_THROW(matmulQuantized(x.data(), 2, k, 512, w.view(), nullptr, out.data(), 64), std::invalid_argument)
        << weightFormatName(format) << ": k " << k << " % group != 0";
    QuantizedWeight other = makeQuantized(format, 4, 256, rng);
    QuantizedView wrongGroup = other.view();
    wrongGroup.group = format == WeightFormat::Int4G32 ? 128 : 32;
    EXPECT_THROW(matmulQuantized(x.data(), 2, 256, 512, wrongGroup, nullptr, out.data(), 64), std::invalid_argument)
        << weightFormatName(format) << ": group does not match the format";
  }
}

// The tile as the formula (the scalar loops matmulQuantized had before the per-ISA kernels) writes it:
// rows x cols fp32, each value one multiply of exact operands.
std::vector<float> dequantizedByFormula(const QuantizedWeight& w) {
  std::vector<float> tile(size_t(w.rows * w.cols));
  const int64_t group = int4Group(w.format);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      float& t = tile[size_t(r * w.cols + c)];
      if (isInt4(w.format)) {
        const uint8_t byte = w.data[size_t(r * w.cols / 2 + c / 2)];
        const float scale = f16ToFloat(w.groupScales[size_t(r * (w.cols / group) + c / group)]);
        t = float(int(c % 2 ? byte >> 4 : byte & 0x0f) - 8) * scale;
      } else {
        t = float(int8_t(w.data[size_t(r * w.cols + c)])) * w.rowScales[size_t(r)];
      }
    }
  return tile;
}

// The paths' f32 micro-kernels differ (lanes, FMA), so their products differ by rounding; the
// dequantized tile must not. On every path, matmulQuantized must give the bits of matmul (same path)
// on the formula's fp32 tile: the same tile, summed in the same order, so also the results of the
// code before the per-ISA dequantization kernels. Odd n and m; k = 640: a full k block and a 128 tail.
TEST_P(QuantMatmul, BitIdenticalToMatmulOfFormulaTile) {
  const int64_t k = 640;
  uint64_t seed = 5000;
  for (WeightFormat format : kFormats) {
    for (int64_t m : {1, 37}) {
      std::mt19937_64 rng(++seed);
      const QuantizedWeight w = makeQuantized(format, m, k, rng);
      const std::vector<float> tile = dequantizedByFormula(w);
      const std::vector<float> bias = randomFloats(m, rng);
      for (int64_t n : {1, 3, 17}) {
        const std::string what = fmt::format("{} n{} m{}", weightFormatName(format), n, m);
        const int64_t ldx = k + 5, ldo = m + 3;
        const std::vector<float> x = randomFloats(n * ldx, rng);
        std::vector<float> quantized(size_t(n * ldo), kPoison), reference(size_t(n * ldo), kPoison);
        matmulQuantized(x.data(), n, k, ldx, w.view(), bias.data(), quantized.data(), ldo);
        // n < 8 takes matmul's streamed order; a row's result does not depend on the order (cpu_kernels.h).
        matmul(x.data(), n, k, ldx, tile.data(), DType::F32, m, bias.data(), DType::F32, reference.data(), ldo);
        EXPECT_EQ(0, std::memcmp(quantized.data(), reference.data(), quantized.size() * 4)) << what;
      }
    }
  }
}

// The kernel table of a path by name (the fixture has forced it; the tests below call it directly).
const detail::KernelTable& tableOf(const std::string& isa) {
  return isa == "avx512" ? detail::avx512Kernels() : isa == "avx2" ? detail::avx2Kernels() : detail::scalarKernels();
}

// The path's dequantInt8 / dequantInt4 straight from its kernel table: the formula's bits at every
// length around the vector widths (8, 16; int4: 16 bytes per step), from unaligned sources and
// destinations, every byte value, and nothing written past the end.
TEST_P(QuantMatmul, DequantKernelsMatchFormulaAtEveryLength) {
  const detail::KernelTable& kt = tableOf(GetParam());
  std::vector<uint8_t> bytes(300);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 + 11);  // every value, shuffled
  for (float scale : {0.0123f, -3.7e-3f, 1.0f / 3.0f}) {
    for (int64_t offset : {0, 1, 3}) {
      for (int64_t len = 0; len <= 70; ++len) {
        const auto* q = reinterpret_cast<const int8_t*>(bytes.data() + offset);
        std::vector<float> dst(size_t(len + offset + 1), kPoison);
        kt.dequantInt8(q, scale, len, dst.data() + offset);
        for (int64_t c = 0; c < len; ++c) {
          const float want = float(q[c]) * scale;
          ASSERT_EQ(0, std::memcmp(&dst[size_t(offset + c)], &want, 4))
              << "int8 len " << len << " offset " << offset << " scale " << scale << ": c " << c;
        }
        for (int64_t c = 0; c < offset; ++c) ASSERT_TRUE(isPoison(dst[size_t(c)])) << "int8 len " << len;
        ASSERT_TRUE(isPoison(dst[size_t(offset + len)])) << "int8 len " << len << ": wrote past the end";
      }
      // Groups of 8 weights with their own scales; the last group may be partial.
      const float groupScales[10] = {scale, -0.5f * scale, 3.0f * scale, 1.0f, scale, 0.25f, -scale, 7.0f, scale, 2.0f};
      for (int64_t pairs = 0; pairs <= 40; ++pairs) {
        const uint8_t* b = bytes.data() + offset;
        std::vector<float> dst(size_t(2 * pairs + offset + 1), kPoison);
        kt.dequantInt4(b, groupScales, 8, 2 * pairs, dst.data() + offset);
        for (int64_t c = 0; c < 2 * pairs; ++c) {
          const float want = float(int(c % 2 ? b[c / 2] >> 4 : b[c / 2] & 0x0f) - 8) * groupScales[c / 8];
          ASSERT_EQ(0, std::memcmp(&dst[size_t(offset + c)], &want, 4))
              << "int4 pairs " << pairs << " offset " << offset << " scale " << scale << ": c " << c;
        }
        for (int64_t c = 0; c < offset; ++c) ASSERT_TRUE(isPoison(dst[size_t(c)])) << "int4 pairs " << pairs;
        ASSERT_TRUE(isPoison(dst[size_t(offset + 2 * pairs)])) << "int4 pairs " << pairs << ": wrote past the end";
      }
    }
  }
}

// The path's quantTile for every tile shape against its f32 tile kernel on the formula's tile, bit for
// bit: block lengths around the vector widths (int8: every length to 70, then 127, 500, 512; int4: every
// whole number of groups to kKBlock) from a block start k0 > 0, padded x rows. Signed zeros too: row 1
// has q >= 0 (a quarter 0, at random) and small negative scales, so against an x of the smallest
// subnormal each product is -0 (q > 0: it underflows) or an exact 0 of the weight's sign, and a lane
// sum is -0 (on the FMA paths) from its first q > 0 on while every weight after it is -0. That row
// fails if a weight of q = 0 is computed as +0 instead of 0 * scale = -0, or if the lanes past a partial
// step read -0 weights where the tile's zero padding reads +0 (the tile's sum is then +0).
TEST_P(QuantMatmul, QuantTileKernelsMatchF32TileOnFormulaBlock) {
  const detail::KernelTable& kt = tableOf(GetParam());
  uint64_t seed = 6000;
  int64_t negativeZeroSums = 0;
  for (WeightFormat format : kFormats) {
    const int64_t group = std::max(1, int4Group(format));
    const int64_t cols = isInt4(format) ? 2 * detail::kKBlock : detail::kKBlock + 40;
    std::vector<int64_t> lengths;
    if (isInt4(format)) {
      for (int64_t len = group; len <= detail::kKBlock; len += group) lengths.push_back(len);
    } else {
      for (int64_t len = 0; len <= 70; ++len) lengths.push_back(len);
      lengths.insert(lengths.end(), {127, 500, detail::kKBlock});
    }
    std::mt19937_64 rng(++seed);
    QuantizedWeight w = makeQuantized(format, detail::kTileW, cols, rng);
    // Row 1: weights in (-0.5, -0] (|q| * |scale| < 1/2), a quarter of them q = 0; row 0: a negative scale.
    std::uniform_int_distribution<int> positive(1, isInt4(format) ? 7 : 127);
    std::bernoulli_distribution zero(0.25);
    for (int64_t c = 0; c < cols; ++c) {
      const int q = zero(rng) ? 0 : positive(rng);
      if (isInt4(format)) {
        uint8_t& byte = w.data[size_t(cols / 2 + c / 2)];
        byte = uint8_t(c % 2 ? (byte & 0x0f) | ((q + 8) << 4) : (byte & 0xf0) | (q + 8));
      } else {
        w.data[size_t(cols + c)] = uint8_t(q);
      }
    }
    if (isInt4(format)) {
      for (int64_t g = 0; g < cols / group; ++g) w.groupScales[size_t(cols / group + g)] = floatToF16(-1.0f / 16);
      w.groupScales[0] = floatToF16(-0.25f);
    } else {
      w.rowScales[1] = -1.0f / 256;
      w.rowScales[0] = -w.rowScales[0];
    }
    const std::vector<float> tile = dequantizedByFormula(w);
    const int64_t ldx = cols + 3;
    const std::vector<float> x = randomFloats(detail::kTileX * ldx, rng);
    const std::vector<float> tiny(x.size(), std::numeric_limits<float>::denorm_min());
    const QuantizedView view = w.view();
    for (const std::vector<float>* xs : {&x, &tiny}) {
      for (int64_t k0 : {group, 2 * group}) {
        for (int64_t len : lengths) {
          if (k0 + len > cols) continue;
          for (int nx = 1; nx <= detail::kTileX; ++nx) {
            for (int nw = 1; nw <= detail::kTileW; ++nw) {
              const std::string what = fmt::format("{} nx{} nw{} k0 {} len {}{}", weightFormatName(format), nx, nw, k0,
                                                   len, xs == &tiny ? " (subnormal x)" : "");
              detail::QuantizedRows rows;
              if (isInt4(format))
                rows = {view.data + k0 / 2, cols / 2, static_cast<const uint16_t*>(view.scales) + k0 / group,
                        cols / group};
              else
                rows = {view.data + k0, cols, view.scales, 1};
              float quantized[detail::kTileX * detail::kTileW], reference[detail::kTileX * detail::kTileW];
              std::fill(std::begin(quantized), std::end(quantized), kPoison);
              kt.quantTile[detail::quantTileIndex(format)][nx - 1][nw - 1](xs->data() + k0, ldx, rows, len, quantized);
              kt.tile[detail::kF32][nx - 1][nw - 1](xs->data() + k0, ldx, tile.data() + k0, cols, len, reference);
              ASSERT_EQ(0, std::memcmp(quantized, reference, size_t(nx * nw) * 4)) << what;
              if (nw > 1 && reference[1] == 0.0f && std::signbit(reference[1])) ++negativeZeroSums;
              for (int s = nx * nw; s < detail::kTileX * detail::kTileW; ++s)
                ASSERT_TRUE(isPoison(quantized[s])) << what << ": wrote sums[" << s << "]";
            }
          }
        }
      }
    }
  }
  // The premise of row 1, on the paths with FMA (the scalar path rounds each product before the add, and
  // -0 + +0 is +0, so its sums are never -0): the -0 sums did occur.
  if (std::string(GetParam()) != "scalar")
    EXPECT_GT(negativeZeroSums, 0) << "row 1 never summed to -0: the signed zeros are not exercised";
}

// Group g of row r of an int4 weight gets the fp16 scale h and nibbles that make every weight of the
// formula negative or -0: n < 8 for a scale of sign +, n >= 8 for sign - (n != 8 for an infinite one).
void setNegativeGroup(QuantizedWeight& w, int64_t r, int64_t g, uint16_t h, std::mt19937_64& rng) {
  const int64_t group = int4Group(w.format), groups = w.cols / group;
  const bool negative = h & 0x8000, infinite = (h & 0x7fff) == 0x7c00;
  std::uniform_int_distribution<int> nibble(!negative ? 0 : infinite ? 9 : 8, !negative ? 7 : 15);
  w.groupScales[size_t(r * groups + g)] = h;
  for (int64_t c = g * group; c < (g + 1) * group; ++c) {
    uint8_t& byte = w.data[size_t(r * w.cols / 2 + c / 2)];
    const int n = nibble(rng);
    byte = uint8_t(c % 2 ? (byte & 0x0f) | (n << 4) : (byte & 0xf0) | n);
  }
}

// The same comparison for int4 blocks holding one special fp16 scale among ordinary positive ones: +0,
// -0, a negative, the smallest and largest subnormal, +inf, -inf, 65504. On the AVX2 path a block whose
// scales are all in (0, 65504] dequantizes by an FMA that is exact only there (n = 8 gives +0 for any
// scale, an infinite scale NaN), so a block with any other scale, in any row and group, must take the
// multiply. The special sits in one row (the tiles of fewer rows do not hold it) and in the block's
// first or last group, which, over every whole number of groups to kKBlock, is each group a block can
// end with (full, and short last blocks). Against x = the smallest subnormal, setNegativeGroup's weights
// make each lane's sum -0 (or -inf), which a wrongly taken FMA turns into +0 (or NaN) where its +0 (or
// NaN) weights end the lane; random x checks the values. Every tile shape, two block starts.
TEST_P(QuantMatmul, QuantTileKernelsMatchF32TileAtSpecialScales) {
  const detail::KernelTable& kt = tableOf(GetParam());
  const uint16_t specials[] = {0x0000, 0x8000, floatToF16(-1.0f / 16), 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7bff};
  std::mt19937_64 rng(6500);
  int64_t negativeZeroSums = 0;
  for (WeightFormat format : {WeightFormat::Int4G32, WeightFormat::Int4G128}) {
    const int64_t group = int4Group(format), cols = 2 * detail::kKBlock, groups = cols / group;
    QuantizedWeight ordinary = makeQuantized(format, detail::kTileW, cols, rng);
    std::uniform_real_distribution<float> scale(1.0f / 1024, 1.0f / 16);  // |weight| < 1/2: subnormal x * w underflows
    for (int64_t r = 0; r < detail::kTileW; ++r)
      for (int64_t g = 0; g < groups; ++g) setNegativeGroup(ordinary, r, g, floatToF16(scale(rng)), rng);
    const int64_t ldx = cols + 3;
    const std::vector<float> x = randomFloats(detail::kTileX * ldx, rng);
    const std::vector<float> tiny(x.size(), std::numeric_limits<float>::denorm_min());
    for (uint16_t special : specials) {
      for (int specialRow = 0; specialRow < detail::kTileW; ++specialRow) {
        for (int64_t k0 : {group, 2 * group}) {
          for (int64_t len = group; len <= detail::kKBlock; len += group) {
            for (int64_t specialGroup : {k0 / group, (k0 + len) / group - 1}) {
              QuantizedWeight w = ordinary;
              setNegativeGroup(w, specialRow, specialGroup, special, rng);
              const std::vector<float> tile = dequantizedByFormula(w);
              const detail::QuantizedRows rows = {w.data.data() + k0 / 2, cols / 2, w.groupScales.data() + k0 / group,
                                                  groups};
              for (const std::vector<float>* xs : {&x, &tiny}) {
                for (int nx = 1; nx <= detail::kTileX; ++nx) {
                  for (int nw = 1; nw <= detail::kTileW; ++nw) {
                    const std::string what =
                        fmt::format("{} scale 0x{:04x} in row {} group {}: nx{} nw{} k0 {} len {}{}",
                                    weightFormatName(format), special, specialRow, specialGroup, nx, nw, k0, len,
                                    xs == &tiny ? " (subnormal x)" : "");
                    float quantized[detail::kTileX * detail::kTileW], reference[detail::kTileX * detail::kTileW];
                    std::fill(std::begin(quantized), std::end(quantized), kPoison);
                    kt.quantTile[detail::quantTileIndex(format)][nx - 1][nw - 1](xs->data() + k0, ldx, rows, len,
                                                                                quantized);
                    kt.tile[detail::kF32][nx - 1][nw - 1](xs->data() + k0, ldx, tile.data() + k0, cols, len,
                                                          reference);
                    ASSERT_EQ(0, std::memcmp(quantized, reference, size_t(nx * nw) * 4)) << what;
                    for (int s = 0; s < nx * nw; ++s)
                      negativeZeroSums += reference[s] == 0.0f && std::signbit(reference[s]);
                    for (int s = nx * nw; s < detail::kTileX * detail::kTileW; ++s)
                      ASSERT_TRUE(isPoison(quantized[s])) << what << ": wrote sums[" << s << "]";
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  if (std::string(GetParam()) != "scalar")  // as above: without FMA no sum is -0
    EXPECT_GT(negativeZeroSums, 0) << "no sum was -0: the signed zeros are not exercised";
}

// Decode (n < 8: the quantized micro-kernels) against prefill (n = 9: the dequantized tile) through
// matmulQuantized: every row of every small n, at k not a multiple of the vector width (int8) or of the
// k block (int4: odd numbers of groups), odd m (partial micro-tiles and weight blocks), with bias and
// padded rows, on 1, 2 and 3 threads (m = 301 is large enough to run in parallel), bit for bit.
TEST_P(QuantMatmul, DecodeRowsMatchPrefillRowsAtAwkwardSizes) {
  const int threads = omp_get_max_threads();
  uint64_t seed = 7000;
  for (WeightFormat format : kFormats) {
    const int64_t group = int4Group(format);
    const std::vector<int64_t> ks = isInt4(format) ? std::vector<int64_t>{group, 3 * group, 17 * group, 33 * group}
                                                   : std::vector<int64_t>{1, 15, 17, 100, 513, 1000};
    for (int64_t k : ks) {
      for (int64_t m : {1, 3, 37, 301}) {
        std::mt19937_64 rng(++seed);
        const QuantizedWeight w = makeQuantized(format, m, k, rng);
        const std::vector<float> bias = randomFloats(m, rng);
        const int64_t batch = 9, ldx = k + 5, ldo = m + 2;
        const std::vector<float> x = randomFloats(batch * ldx, rng);
        std::vector<float> prefill(size_t(batch * ldo), kPoison);
        omp_set_num_threads(1);
        matmulQuantized(x.data(), batch, k, ldx, w.view(), bias.data(), prefill.data(), ldo);
        for (int t : {1, 2, 3}) {
          omp_set_num_threads(t);
          for (int64_t n = 1; n < 8; ++n) {
            const int64_t first = batch - n;  // the batch's last n rows
            std::vector<float> decode(size_t(n * ldo), kPoison);
            matmulQuantized(x.data() + first * ldx, n, k, ldx, w.view(), bias.data(), decode.data(), ldo);
            for (int64_t i = 0; i < n; ++i) {
              const std::string what = fmt::format("{} k{} m{} threads {} n{}: row {}", weightFormatName(format), k, m,
                                                   t, n, i);
              ASSERT_EQ(0, std::memcmp(decode.data() + i * ldo, prefill.data() + (first + i) * ldo, size_t(m) * 4))
                  << what;
              for (int64_t j = m; j < ldo; ++j) ASSERT_TRUE(isPoison(decode[size_t(i * ldo + j)])) << what;
            }
          }
        }
        omp_set_num_threads(threads);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(cpu_kernels, QuantMatmul, ::testing::Values("avx512", "avx2", "scalar"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace glm::cpu
