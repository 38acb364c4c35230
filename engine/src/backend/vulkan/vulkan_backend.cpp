// The Vulkan backend (host side), built into libglmchat-backend-vulkan.so and loaded by the engine at
// run time. Numerics as on CUDA: weights bf16 (F32/F16 checkpoints rounded once at upload) kept as
// 16-bit words and widened in the shaders; activations, the residual stream, softmax statistics and
// every accumulation fp32; the KV cache bf16. Two paths, chosen at run time by feature query: the
// portable shaders (fp32 arithmetic, subgroup reductions: lavapipe, AMD, Intel, any GPU) and, where the
// device has NV cooperative matrices, tensor-core shaders for prefill GEMMs and flash attention
// (fp16 operands, fp32 accumulation). The decode step is recorded once into a command buffer and
// replayed, reading the token and position from a small device buffer.
//
// Device memory has no host pointer, so a Tensor's data pointer is a "virtual address": each device
// buffer gets a base address and the backend maps an address back to (buffer, byte offset).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/gpu_common.h"
#include "backend/vulkan/vk_context.h"
#include "glmengine/error.h"
#include "util/half.h"

namespace glm {
namespace {

using vk::Buffer;
using vk::Context;
using vk::Pipeline;

using gpu::gib;

// Tile sizes of the tensor-core shaders (kernels/vulkan/gemm_cm.comp and flash_attn_cm.comp).
constexpr uint32_t kGemmCmBM = 128, kGemmCmBN = 128, kFlashCmBR = 64;
// Portable shaders.
constexpr uint32_t kGemmBM = 64, kGemmBN = 64, kPrefillBR = 32, kGemvRowsPerWorkgroup = 16;
constexpr int64_t kGemvMaxTokens = 4;  // token rows per decode GEMV pass (gemv.comp's acc[][4])
constexpr int64_t kSoftwareKeysPerWorkgroup = 8192;

// A linear layer: bf16 in one buffer, or quantized (quant/quant_format.h) in row blocks that each fit one
// storage buffer (GLM-4-9B's int8 output layer is 620 MB; lavapipe allows 128 MiB per buffer).
struct VkLinear : Weight {
  struct Block {
    std::unique_ptr<Buffer> w;       // bf16 [rows x cols], or the quantized data of these rows
    std::unique_ptr<Buffer> scales;  // quantized: int8 fp32 per row, int4 fp16 per group; else null
    std::unique_ptr<Buffer> bias;    // fp32 [rows] or null
    int64_t row0 = 0, rows = 0;
  };
  std::vector<Block> blocks;
  bool quantized() const { return format != WeightFormat::Native; }
  // Weights per 16-byte load of the decode GEMV (gemv.comp's CHUNK); K must be a multiple.
  int64_t chunk() const { return format == WeightFormat::Int8 ? 16 : isInt4(format) ? 32 : 8; }
};
struct VkVector : Weight {
  std::unique_ptr<Buffer> data;  // fp32
};
struct VkEmbedding : Weight {
  struct Block {
    std::unique_ptr<Buffer> data, scales;  // int8: rows x cols int8 and rows fp32 scales
    int64_t row0 = 0, rows = 0;
  };
  std::vector<Block> blocks;  // as stored: one; int8: row blocks that each fit one storage buffer
  uint32_t type = 2;          // 0 F32, 1 F16, 2 BF16, 3 int8 per row (embed_int8)
};

// The KV cache: per layer, K and V in one or more buffers of whole KV heads ([kvHead][capacity][headDim]
// bf16), split where the device limits the size of one storage buffer. The 8-bit cache (I8) holds q as
// [kvHead][capacity][headDim] int8 from byte 0 and the scales as [kvHead][capacity] fp32 after them (float
// scaleOff) in each buffer: headDim + 4 bytes per (position, KV head) of K and of V.
struct VkKvCache : KvCache {
  struct Segment {
    std::unique_ptr<Buffer> k, v;
    int kvHead0 = 0, kvHeads = 0;
    uint32_t scaleOff = 0;  // I8
  };
  bool int8() const { return dtype == DType::I8; }
  std::vector<std::vector<Segment>> layers;
  uint64_t serial = 0;
};

uint32_t u32(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(UINT32_MAX)) throw Error(fmt::format("Vulkan backend: {} = {} does not fit 32 bits", what, v));
  return uint32_t(v);
}
uint32_t ceilDiv(int64_t a, int64_t b) { return uint32_t((a + b - 1) / b); }

class VulkanBackend final : public Backend {
 public:
  explicit VulkanBackend(int device) : ctx_(device) {
    const auto& f = ctx_.features();
    // A software device (lavapipe) gives wrong results for workgroups that run very long, so there the
    // keys are split into pieces of at most kSoftwareKeysPerWorkgroup (found by bisection: 7,500 keys
    // per decode workgroup and 55,000 per prefill workgroup were right, 8,016 and 62,000 were not).
    // Decode splits: at least 64 keys (4 tiles) each on a GPU, so the combine stays cheap, and 2,048
    // on a software device; at most 128 per KV head (256 workgroups for GLM-4's 2 KV heads fill an
    // H200's 132 SMs twice).
    maxSplits_ = 128;
    keySplitSize_ = f.isCpu ? 2048 : 64;
    if (const char* env = std::getenv("GLMCHAT_VULKAN_DECODE_SPLITS"); env && std::atoi(env) > 0)  // tuning
      maxSplits_ = std::min(256, std::atoi(env));
    stepInputs_ = deviceBuffer(128, "decode step inputs");
    dummy_ = deviceBuffer(256, "an unused binding");
    argmaxOut_ = deviceBuffer(16, "argmax result");
    argmaxPartials_ = deviceBuffer(kArgmaxGroups * 8, "argmax partials");
    normPartials_ = deviceBuffer(int64_t(kNormSites) * kNormPartialsPerSite * 4, "fused norm partial sums");
    fuseOps_ = !std::getenv("GLMCHAT_VULKAN_NO_FUSE");  // diagnosis: the unfused decode step
    // Diagnosis and A/B: quantize_x before every quantized GEMV, no int8 copies written by the producers.
    int8CopyInProducers_ = fuseOps_ && !std::getenv("GLMCHAT_VULKAN_QUANTIZE_SEPARATELY");
    ropeShader_ = f.fp64 && !std::getenv("GLMCHAT_VULKAN_ROPE_FP32") ? "rope_append_fp64" : "rope_append";
    // Quantized weights: row blocks and widened slices at most one storage buffer each; a weight larger
    // than kMaxWidenedWeightBytes as bf16 is never widened. Tests lower both to reach these paths with small
    // models (GLMCHAT_VULKAN_MAX_WEIGHT_BUFFER_BYTES, GLMCHAT_VULKAN_MAX_WIDEN_BYTES).
    weightBufferLimit_ = gpu::envBytes("GLMCHAT_VULKAN_MAX_WEIGHT_BUFFER_BYTES", f.maxBufferBytes);
    widenLimit_ = gpu::envBytes("GLMCHAT_VULKAN_MAX_WIDEN_BYTES", kMaxWidenedWeightBytes);
    widenKvAlways_ = std::getenv("GLMCHAT_VULKAN_WIDEN_KV") != nullptr;
    quantGemmRows_ = gpu::envCount("GLMCHAT_VULKAN_QUANT_GEMM_ROWS", quantGemmRows_);
  }
  ~VulkanBackend() override {
    try {
      ctx_.finish();
    } catch (...) {
    }
  }

  std::string name() const override { return "vulkan"; }
  std::string describe() const override { return ctx_.describe(); }
  DType kvCacheType(DType requested) const override { return requested == DType::I8 ? DType::I8 : DType::BF16; }
  int preferredPrefillChunk() const override { return ctx_.features().isCpu ? 256 : 2048; }

  void checkMemory(const MemoryPlan& plan, int64_t contextLength) override {
    int64_t freeB = 0, totalB = 0;
    ctx_.memoryInfo(freeB, totalB);
    gpu::checkPlanFits(plan, contextLength, 256ll << 20 /* staging, decode partials, pipelines */, freeB, totalB,
                       ctx_.deviceName());
  }

  WeightHandle uploadLinear(const LinearView& view, WeightFormat format) override {
    auto w = std::make_unique<VkLinear>();
    w->format = WeightFormat::Native;
    w->rows = view.outFeatures;
    w->cols = view.inFeatures;
    const std::string what = view.parts.empty() ? "a weight matrix" : fmt::format("weight {}", view.parts[0]->name);
    VkLinear::Block& b = w->blocks.emplace_back();
    b.rows = w->rows;
    b.w = ctx_.createBuffer(w->rows * w->cols * 2, true, what);
    std::vector<uint16_t> staging;
    int64_t row = 0;
    for (const TensorView* p : view.parts) {
      const int64_t n = gpu::elementsOf(*p);
      staging.resize(size_t(n));
      gpu::toBf16Host(p->data, p->dtype, n, staging.data(), "Vulkan");
      ctx_.upload(b.w->buffer, row * w->cols * 2, staging.data(), n * 2);
      row += p->shape[0];
    }
    if (view.hasBias()) {
      const std::vector<float> bias = gpu::biasToF32Host(view, "Vulkan");
      b.bias = ctx_.createBuffer(w->rows * 4, true, what + " (bias)");
      ctx_.upload(b.bias->buffer, 0, bias.data(), w->rows * 4);
    }
    ctx_.finish();
    w->bytes = b.w->bytes + (b.bias ? b.bias->bytes : 0);
    return keep(std::move(w));
  }

  bool supportsWeights(WeightFormat f) const override {
    return f == WeightFormat::Native || f == WeightFormat::Int8 || isInt4(f);
  }

  // The quantized data and scales as stored (the shaders read the layouts of quant_format.h), in row blocks
  // of at most weightBufferLimit_ bytes; the bias widened to fp32.
  WeightHandle uploadQuantized(const QuantizedView& q, const LinearView& view) override {
    gpu::checkQuantizedLinear(q, view, "Vulkan");
    auto w = std::make_unique<VkLinear>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    if (q.cols % w->chunk() != 0 || q.group != int4Group(q.format))
      throw Error(fmt::format("Vulkan backend: quantized weight {} has {} columns in groups of {}; the {} shaders need "
                              "a multiple of {} (groups of {})",
                              q.name, q.cols, q.group, weightFormatName(q.format), w->chunk(), int4Group(q.format)));
    const int64_t rowBytes = quantizedDataBytes(q.format, 1, q.cols), scaleBytes = quantizedScaleBytes(q.format, 1, q.cols);
    if (q.dataBytes != q.rows * rowBytes || q.scaleBytes != q.rows * scaleBytes)
      throw Error(fmt::format("Vulkan backend: quantized weight {} has {} data and {} scale bytes, {} x {} {} needs {} "
                              "and {}", q.name, q.dataBytes, q.scaleBytes, q.rows, q.cols, weightFormatName(q.format),
                              q.rows * rowBytes, q.rows * scaleBytes));
    const std::vector<float> bias = view.hasBias() ? gpu::biasToF32Host(view, "Vulkan") : std::vector<float>();
    const int64_t perBlock = std::max<int64_t>(1, weightBufferLimit_ / rowBytes);
    for (int64_t row0 = 0; row0 < q.rows; row0 += perBlock) {
      VkLinear::Block& b = w->blocks.emplace_back();
      b.row0 = row0;
      b.rows = std::min(perBlock, q.rows - row0);
      const std::string what = fmt::format("quantized weight {} (rows {}..{})", q.name, row0, row0 + b.rows - 1);
      b.w = ctx_.createBuffer(b.rows * rowBytes, true, what);
      ctx_.upload(b.w->buffer, 0, q.data + row0 * rowBytes, b.rows * rowBytes);
      b.scales = ctx_.createBuffer(b.rows * scaleBytes, true, what + " (scales)");
      ctx_.upload(b.scales->buffer, 0, static_cast<const char*>(q.scales) + row0 * scaleBytes, b.rows * scaleBytes);
      if (!bias.empty()) {
        b.bias = ctx_.createBuffer(b.rows * 4, true, what + " (bias)");
        ctx_.upload(b.bias->buffer, 0, bias.data() + row0, b.rows * 4);
      }
      w->bytes += b.w->bytes + b.scales->bytes + (b.bias ? b.bias->bytes : 0);
    }
    reserveInt8Input(q.cols);
    ctx_.finish();
    return keep(std::move(w));
  }

  WeightHandle uploadVector(const TensorView& view) override {
    auto w = std::make_unique<VkVector>();
    w->rows = 1;
    w->cols = gpu::elementsOf(view);
    const std::vector<float> v = gpu::vectorToF32Host(view, "Vulkan");
    w->data = ctx_.createBuffer(w->cols * 4, true, fmt::format("norm vector {}", view.name));
    ctx_.upload(w->data->buffer, 0, v.data(), w->cols * 4);
    ctx_.finish();
    w->bytes = w->data->bytes;
    return keep(std::move(w));
  }

  WeightHandle uploadEmbedding(const TensorView& view) override {
    auto w = std::make_unique<VkEmbedding>();
    w->rows = view.shape[0];
    w->cols = view.shape[1];
    switch (view.dtype) {
      case DType::F32: w->type = 0; break;
      case DType::F16: w->type = 1; break;
      case DType::BF16: w->type = 2; break;
      default: throw Error(fmt::format("Vulkan backend: embedding dtype {} is not supported", dtypeName(view.dtype)));
    }
    VkEmbedding::Block& b = w->blocks.emplace_back();
    b.rows = w->rows;
    b.data = ctx_.createBuffer(int64_t(view.bytes), true, fmt::format("embedding table {}", view.name));
    ctx_.upload(b.data->buffer, 0, view.data, int64_t(view.bytes));
    ctx_.finish();
    w->bytes = b.data->bytes;
    return keep(std::move(w));
  }

  // int8 rows and their fp32 scales, in row blocks of at most weightBufferLimit_ bytes (embed_int8 runs
  // once per block and writes the ids that fall in it).
  WeightHandle uploadQuantizedEmbedding(const QuantizedView& q) override {
    gpu::checkQuantizedEmbedding(q, "Vulkan");
    auto w = std::make_unique<VkEmbedding>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    w->type = 3;
    const int64_t perBlock = std::max<int64_t>(1, (weightBufferLimit_ - 3) / q.cols);  // rounded up to words
    for (int64_t row0 = 0; row0 < q.rows; row0 += perBlock) {
      VkEmbedding::Block& b = w->blocks.emplace_back();
      b.row0 = row0;
      b.rows = std::min(perBlock, q.rows - row0);
      const std::string what = fmt::format("int8 embedding table {} (rows {}..{})", q.name, row0, row0 + b.rows - 1);
      const int64_t bytes = b.rows * q.cols;
      b.data = ctx_.createBuffer((bytes + 3) / 4 * 4, true, what);  // read as 32-bit words
      ctx_.upload(b.data->buffer, 0, q.data + row0 * q.cols, bytes);
      b.scales = ctx_.createBuffer(b.rows * 4, true, what + " (scales)");
      ctx_.upload(b.scales->buffer, 0, static_cast<const float*>(q.scales) + row0, b.rows * 4);
      w->bytes += b.data->bytes + b.scales->bytes;
    }
    ctx_.finish();
    return keep(std::move(w));
  }

  Tensor allocate(int64_t rows, int64_t cols) override {
    const int64_t bytes = std::max<int64_t>(rows * cols, 4) * 4;
    Buffer* b = deviceBuffer(bytes, fmt::format("activations ({} x {})", rows, cols));
    ctx_.fill(b->buffer, 0, b->bytes, 0);
    Tensor t;
    t.data = reinterpret_cast<void*>(b->base);
    t.rows = rows;
    t.cols = cols;
    t.stride = cols;
    return t;
  }

  std::unique_ptr<KvCache> createKvCache(int numLayers, int numKvHeads, int headDim, int64_t capacity,
                                         DType dtype) override {
    auto c = std::make_unique<VkKvCache>();
    c->setShape(numLayers, numKvHeads, headDim, capacity, kvCacheType(dtype));
    c->serial = ++cacheSerial_;
    if (c->int8() && (headDim % 8 != 0 || headDim > 256))
      throw Error(fmt::format("Vulkan backend: the 8-bit KV cache needs a head dim that is a multiple of 8 and at most "
                              "256, not {}", headDim));
    const int64_t headBytes = capacity * (c->int8() ? headDim + 4 : headDim * 2);
    const int64_t limit = ctx_.features().maxBufferBytes;
    if (headBytes > limit)
      throw Error(fmt::format("Vulkan device {}: one KV head of {} tokens needs {:.2f} GiB in one buffer but the device "
                              "allows {:.2f} GiB per storage buffer; choose a shorter context",
                              ctx_.deviceName(), capacity, gib(headBytes), gib(limit)));
    int perSegment = int(std::min<int64_t>(numKvHeads, limit / headBytes));
    if (const char* env = std::getenv("GLMCHAT_VULKAN_KV_HEADS_PER_BUFFER"); env && std::atoi(env) > 0)
      perSegment = std::min(perSegment, std::atoi(env));  // tests: the split-cache path on any device
    c->layers.resize(size_t(numLayers));
    for (int l = 0; l < numLayers; ++l)
      for (int h0 = 0; h0 < numKvHeads; h0 += perSegment) {
        VkKvCache::Segment s;
        s.kvHead0 = h0;
        s.kvHeads = std::min(perSegment, numKvHeads - h0);
        const std::string what = fmt::format("the KV cache for {} tokens (layer {})", capacity, l);
        s.k = ctx_.createBuffer(headBytes * s.kvHeads, true, what);
        s.v = ctx_.createBuffer(headBytes * s.kvHeads, true, what);
        if (c->int8()) s.scaleOff = u32(int64_t(s.kvHeads) * capacity * headDim / 4, "scale offset");
        c->bytes += s.k->bytes + s.v->bytes;
        c->layers[size_t(l)].push_back(std::move(s));
      }
    return c;
  }

  void embed(WeightHandle table, std::span<const int32_t> ids, Tensor out) override {
    resolvePending({out});
    const auto* t = static_cast<const VkEmbedding*>(table);
    VkBuffer idsBuf = stepInputs_->buffer;
    if (!ctx_.recording()) {
      checkTokenIds(ids, t->rows);
      idsBuf = uploadIds(ids);
    }
    const auto o = ref(out);
    const uint32_t rows = u32(int64_t(ids.size()), "rows");
    if (t->type == 3) {
      for (const auto& b : t->blocks) {
        const uint32_t push[6] = {u32(t->cols, "cols"), 0, o.elem, u32(out.stride, "stride"), u32(b.row0, "row"),
                                  u32(b.rows, "rows")};
        ctx_.dispatch(ctx_.pipeline("embed_int8"), {b.data->buffer, idsBuf, o.buffer, b.scales->buffer}, push,
                      sizeof push, ceilDiv(t->cols, 256), rows);
      }
      return;
    }
    const uint32_t push[4] = {u32(t->cols, "cols"), 0, o.elem, u32(out.stride, "stride")};
    ctx_.dispatch(ctx_.pipeline("embed", {t->type}), {t->blocks[0].data->buffer, idsBuf, o.buffer}, push, sizeof push,
                  ceilDiv(t->cols, 256), rows);
  }

  void rmsNorm(Tensor x, WeightHandle w, float eps, Tensor out) override {
    resolvePending({x, out});
    norm(x, nullptr, w, eps, out);
  }
  void addRmsNorm(Tensor residual, Tensor x, WeightHandle w, float eps, Tensor out) override {
    resolvePending({residual, x, out});
    norm(x, &residual, w, eps, out);
  }

  void add(Tensor residual, Tensor x) override {
    resolvePending({residual, x});
    rowwise("add", residual, x, x.cols, x.rows);
  }

  void matmul(Tensor x, WeightHandle wh, Tensor out) override {
    const auto* w = static_cast<const VkLinear*>(wh);
    if (x.cols != w->cols || out.cols != w->rows)
      throw Error(fmt::format("Vulkan matmul: x has {} columns and out {}, the weight is {} x {}", x.cols, out.cols,
                              w->rows, w->cols));
    const auto xr = ref(x), o = ref(out);
    const bool vectorOk = w->cols % w->chunk() == 0 && xr.elem % 4 == 0 && x.stride % 4 == 0;
    const int copy = takeInt8Copy(x);  // before resolvePending forgets it
    if (pending_.holds(x) && vectorOk) {
      resolvePending({out});
      // x is matmulAddNorm's unscaled normed row: the GEMV applies the norm's scale (also to the dot products
      // with x's int8 copy: quantizing is scale-invariant).
      const GemvInput in = gemvInput(*w, xr.buffer, xr.elem, x.stride, 1, copy);
      for (const auto& b : w->blocks) {
        const auto [gx, gy] = gemvGrid(b.rows);
        const NormGemvPush push{in.off, in.stride, 1, u32(w->cols, "K"), u32(b.rows, "M"),
                                o.elem + u32(b.row0, "row"), u32(out.stride, "stride"), b.bias ? 1u : 0u, gx,
                                pending_.where.first, pending_.where.second, u32(pending_.cols, "cols"), pending_.eps, 0};
        dispatchWeight("gemv_normed", *w, b, in, {b.w->buffer, in.buffer, biasOf(b), o.buffer, normPartials_->buffer},
                       &push, sizeof push, gx, gy);
      }
      return;
    }
    resolvePending({x, out});
    // Decode: stream the weight once at bandwidth.
    if (vectorOk && x.rows <= kGemvMaxTokens) {  // all the rows in one pass
      const GemvInput in = gemvInput(*w, xr.buffer, xr.elem, x.stride, x.rows, copy);
      for (const auto& b : w->blocks) {
        const auto [gx, gy] = gemvGrid(b.rows);
        const uint32_t push[9] = {in.off, in.stride, u32(x.rows, "rows"), u32(w->cols, "K"), u32(b.rows, "M"),
                                  o.elem + u32(b.row0, "offset"), u32(out.stride, "stride"), b.bias ? 1u : 0u, gx};
        dispatchWeight("gemv", *w, b, in, {b.w->buffer, in.buffer, biasOf(b), o.buffer}, push, sizeof push, gx, gy);
      }
      return;
    }
    if (!w->quantized()) {
      const auto& b = w->blocks[0];
      gemm(x, b.w->buffer, b.w->buffer, {0, 32}, b, 0, w->rows, o.buffer, o.elem, out.stride);
      return;
    }
    const uint32_t kind = w->format == WeightFormat::Int8 ? 1 : 2, group = uint32_t(std::max(int4Group(w->format), 1));
    const bool tooLargeToWiden = w->rows * w->cols * 2 > widenLimit_;
    if (x.rows <= quantGemmRows_ || tooLargeToWiden) {
      // Prefill of up to quantGemmRows_ rows, and any weight too large to widen (the output layer): the GEMM
      // reads each block's packed rows and widens its tiles on their way into shared memory (gemm_cm.comp /
      // gemm.comp, WKIND 1 and 2); no widened copy of the weight is written.
      for (const auto& b : w->blocks)
        gemm(x, b.w->buffer, b.scales->buffer, {kind, group}, b, 0, b.rows, o.buffer,
             o.elem + u32(b.row0, "offset"), out.stride);
      return;
    }
    // Longer chunks: widen the weight to bf16 in slices of rows (the whole weight where it fits one buffer),
    // then the same GEMM as for bf16 weights on each slice (on an H100 from 512 rows on as fast as the packed
    // tiles, at 2048 rows 17% faster for int4: docs/VULKAN.md).
    const int64_t rowBytes = w->cols * 2;
    const int64_t sliceRows = std::max<int64_t>(1, std::min(widenLimit_, weightBufferLimit_) / rowBytes);
    const int64_t scratchBytes = std::min(sliceRows, w->rows) * rowBytes;
    if (!widened_ || widened_->bytes < scratchBytes) {
      if (widened_) ctx_.finish();  // in flight
      widened_.reset();
      widened_ = ctx_.createBuffer(scratchBytes, true, "dequantized weight scratch");
    }
    for (const auto& b : w->blocks)
      for (int64_t s0 = 0; s0 < b.rows; s0 += sliceRows) {
        const int64_t n = std::min(sliceRows, b.rows - s0);
        const uint32_t groups = ceilDiv(n * w->cols / w->chunk(), 256);
        const uint32_t gx = std::min<uint32_t>(groups, 65535);
        const uint32_t push[4] = {u32(w->cols, "K"), u32(s0, "row"), u32(n, "rows"), gx};
        ctx_.dispatch(ctx_.pipeline("dequantize", {kind - 1, group}),
                      {b.w->buffer, b.scales->buffer, widened_->buffer}, push,
                      sizeof push, gx, ceilDiv(groups, gx));
        gemm(x, widened_->buffer, widened_->buffer, {0, 32}, b, u32(s0, "row"), n, o.buffer,
             o.elem + u32(b.row0 + s0, "offset"), out.stride);
      }
  }

  void matmulAddNorm(Tensor x, WeightHandle wh, Tensor residual, WeightHandle norm, float eps, Tensor normed,
                     Tensor scratch) override {
    const auto* w = static_cast<const VkLinear*>(wh);
    const auto* nw = static_cast<const VkVector*>(norm);
    const auto xr = ref(x), rr = ref(residual), nr = ref(normed);
    const uint32_t groups = ceilDiv(w->rows, kGemvRowsPerWorkgroup);
    const bool fuse = fuseOps_ && ctx_.recording() && normSites_ < kNormSites && xr.elem % 4 == 0 &&
                      groups <= kNormPartialsPerSite && w->blocks.size() == 1 && w->cols % w->chunk() == 0 &&
                      gpu::addNormOperandsFit(x, residual, normed, w->rows, w->cols, nw->cols);
    if (!fuse) {
      Backend::matmulAddNorm(x, wh, residual, norm, eps, normed, scratch);
      return;
    }
    const int copy = takeInt8Copy(x);  // x's copy, where the op before wrote one (attention_combine)
    // A row still unscaled other than `normed` (which this call rewrites whole) is scaled now; x and residual
    // cannot be it (they do not overlap normed, and any other row is resolved here).
    if (pending_.data != normed.data) resolvePending({});
    const uint32_t pOff = uint32_t(normSites_++) * kNormPartialsPerSite;
    const auto [gx, gy] = gemvGrid(w->rows);
    const auto& b = w->blocks[0];
    const GemvInput in = gemvInput(*w, xr.buffer, xr.elem, x.stride, 1, copy);
    // On x's int8 copy the GEMV also writes the normed row's, for the next GEMV: into the other slot.
    const int normedCopy = in.int8 ? int8CopySlotFor(normed, in.slot) : -1;
    NormGemvPush push{in.off, in.stride, 1, u32(w->cols, "K"), u32(w->rows, "M"), rr.elem,
                      u32(residual.stride, "stride"), b.bias ? 1u : 0u, gx, pOff, groups,
                      u32(residual.cols, "cols"), eps, nr.elem};
    if (normedCopy >= 0) push.copyOff = int8SlotOffset(normedCopy);
    dispatchWeight("gemv_add_norm", *w, b, in,
                   {b.w->buffer, in.buffer, biasOf(b), rr.buffer, nw->data->buffer, nr.buffer, normPartials_->buffer},
                   &push, sizeof push, gx, gy);
    pending_ = {normed.data, normed.cols, {pOff, groups}, eps};
    if (normedCopy >= 0) int8Copy_ = {normed.data, normed.cols, normedCopy};
  }

  void ropeAppendKv(Tensor qkv, const AttentionShape& shape, const RopeParams& rope, KvCache& cacheBase, int layer,
                    int64_t pos0) override {
    resolvePending({qkv});
    auto& cache = static_cast<VkKvCache&>(cacheBase);
    checkKvCapacity(cache, pos0, qkv.rows);
    if (shape.headDim % 2 != 0 || rope.rotaryDim > shape.headDim)
      throw Error(fmt::format("Vulkan backend: head dim {} with rotary dim {} is not supported", shape.headDim,
                              rope.rotaryDim));
    const VkBuffer freq = ropeFrequencies(rope);
    const auto q = ref(qkv);
    bool first = true;
    for (const auto& seg : cache.layers[size_t(layer)]) {
      struct {
        uint32_t qkvOff, qkvStride, numHeads, numKvHeads, headDim, pairs;
        float scaling;
        uint32_t pos0, useStep, qHeads, kvHead0, kvOff, capacity, scaleOff;
      } push{q.elem, u32(qkv.stride, "stride"), u32(shape.numHeads, "heads"), u32(shape.numKvHeads, "kv heads"),
             u32(shape.headDim, "head dim"), u32(rope.rotaryDim / 2, "pairs"), rope.attentionScaling,
             u32(pos0, "position"), ctx_.recording() ? 1u : 0u, first ? u32(shape.numHeads, "heads") : 0u,
             u32(seg.kvHead0, "kv head"), 0, u32(cache.capacity, "capacity"), seg.scaleOff};
      ctx_.dispatch(ctx_.pipeline(ropeShader_, {cache.int8() ? 1u : 0u}),
                    {q.buffer, freq, seg.k->buffer, seg.v->buffer, stepInputs_->buffer}, &push, sizeof push,
                    u32(qkv.rows, "rows"), push.qHeads + u32(seg.kvHeads, "kv heads"));
      first = false;
    }
  }

  void attention(Tensor qkv, const AttentionShape& shape, const KvCache& cacheBase, int layer, int64_t pos0,
                 Tensor out) override {
    resolvePending({qkv, out});
    const auto& cache = static_cast<const VkKvCache&>(cacheBase);
    const int hd = shape.headDim, group = shape.numHeads / shape.numKvHeads;
    if (hd > 256 || hd % 8 != 0)
      throw Error(fmt::format("Vulkan backend: head dim {} is not supported (a multiple of 8, at most 256)", hd));
    const auto q = ref(qkv), o = ref(out);
    const bool step = ctx_.recording();
    const auto& segs = cache.layers[size_t(layer)];
    const uint32_t tile = qkv.rows == 1 ? decodeTile(hd, group) : 0;
    if (tile != 0) {
      const uint32_t splits =
          uint32_t(std::clamp<int64_t>((cache.capacity + keySplitSize_ - 1) / keySplitSize_, 1, maxSplits_));
      const int64_t partFloats = int64_t(shape.numKvHeads) * splits * group * (hd + 2);
      if (!decodePartials_ || decodePartials_->bytes < partFloats * 4) {
        if (decodePartials_) {  // in flight, and named by an earlier recording
          if (!step) ctx_.dropRecording();
          ctx_.finish();
        }
        decodePartials_ = ctx_.createBuffer(partFloats * 4, true, "decode attention partials");
      }
      for (const auto& seg : segs) {
        struct {
          uint32_t qOff, kvHead0, kvOff, capacity, pos, useStep;
          float scale;
          uint32_t splits, scaleOff;
        } push{q.elem, u32(seg.kvHead0, "kv head"), 0, u32(cache.capacity, "capacity"), u32(pos0, "position"),
               step ? 1u : 0u, shape.scale, splits, seg.scaleOff};
        ctx_.dispatch(ctx_.pipeline("attention_decode", {uint32_t(hd), uint32_t(group), tile, cache.int8() ? 1u : 0u}),
                      {q.buffer, seg.k->buffer, seg.v->buffer, decodePartials_->buffer, stepInputs_->buffer}, &push,
                      sizeof push, splits, u32(seg.kvHeads, "kv heads"));
      }
      // The output row's int8 copy too, for the output projection's GEMV (a head is hd / 16 blocks of it).
      const bool headsAreTheRow = hd % 16 == 0 && out.cols == int64_t(shape.numHeads) * hd;
      const int copy = headsAreTheRow ? int8CopySlotFor(out, -1) : -1;
      const uint32_t push2[3] = {splits, o.elem, copy >= 0 ? int8SlotOffset(copy) : 0u};
      ctx_.dispatch(ctx_.pipeline("attention_combine", {uint32_t(hd), uint32_t(group), copy >= 0 ? 1u : 0u}),
                    {decodePartials_->buffer, o.buffer, copy >= 0 ? int8Input_->buffer : dummy_->buffer}, push2,
                    sizeof push2, u32(shape.numHeads, "heads"));
      if (copy >= 0) int8Copy_ = {out.data, out.cols, copy};
      return;
    }
    const bool tensorCores = ctx_.features().nvCooperativeMatrix && hd == 128 && !step;
    // Key splits of the portable prefill shader (software devices only, see the constructor).
    const int64_t keys = pos0 + qkv.rows;
    const uint32_t keySplits =
        !tensorCores && ctx_.features().isCpu && !step && keys > 2 * kSoftwareKeysPerWorkgroup
            ? uint32_t((keys + kSoftwareKeysPerWorkgroup - 1) / kSoftwareKeysPerWorkgroup)
            : 1;
    VkBuffer partBuf = dummy_->buffer;
    if (keySplits > 1) {
      const int64_t floats = int64_t(keySplits) * qkv.rows * shape.numHeads * (hd + 2);
      if (!prefillPartials_ || prefillPartials_->bytes < floats * 4) {
        if (prefillPartials_) ctx_.finish();
        prefillPartials_ = ctx_.createBuffer(floats * 4, true, "attention partials");
      }
      partBuf = prefillPartials_->buffer;
    }
    // The 8-bit cache: the portable shaders read it as it is; for the tensor-core shader (bf16 operands) the
    // keys [0, pos0 + rows) of each cache buffer are widened to bf16 first (GLMCHAT_VULKAN_WIDEN_KV=1: on the
    // portable path too, to test that path on any device).
    const bool widenKv = cache.int8() && !step && (tensorCores || widenKvAlways_);
    for (const auto& seg : segs) {
      VkBuffer k = seg.k->buffer, v = seg.v->buffer;
      int64_t capacity = cache.capacity;
      if (widenKv) {
        widenKvCache(seg, hd, cache.capacity, keys);
        k = kvWidened_[0]->buffer;
        v = kvWidened_[1]->buffer;
        capacity = keys;
      }
      const bool readInt8 = cache.int8() && !widenKv;
      struct {
        uint32_t qOff, qStride, rows, numHeads, groupSize, kvHead0, kvOff, capacity, pos0;
        float scale;
        uint32_t oOff, oStride, useStep, keysPerSplit, scaleOff;
      } push{q.elem, u32(qkv.stride, "stride"), u32(qkv.rows, "rows"), u32(shape.numHeads, "heads"), uint32_t(group),
             u32(seg.kvHead0, "kv head"), 0, u32(capacity, "capacity"), u32(pos0, "position"), shape.scale,
             o.elem, u32(out.stride, "stride"), step ? 1u : 0u, keySplits > 1 ? uint32_t(kSoftwareKeysPerWorkgroup) : 0u,
             readInt8 ? seg.scaleOff : 0u};
      const uint32_t heads = uint32_t(seg.kvHeads * group);
      if (tensorCores)
        ctx_.dispatch(ctx_.pipeline("flash_attn_cm"), {q.buffer, k, v, o.buffer}, &push, 12 * 4,
                      ceilDiv(qkv.rows, kFlashCmBR), heads);
      else
        ctx_.dispatch(ctx_.pipeline("attention_prefill", {uint32_t(hd), readInt8 ? 1u : 0u}),
                      {q.buffer, k, v, o.buffer, stepInputs_->buffer, partBuf}, &push, sizeof push,
                      ceilDiv(qkv.rows, kPrefillBR), heads, keySplits);
    }
    if (keySplits > 1) {
      const uint32_t push2[5] = {keySplits, u32(qkv.rows, "rows"), u32(shape.numHeads, "heads"), o.elem,
                                 u32(out.stride, "stride")};
      ctx_.dispatch(ctx_.pipeline("attention_combine_rows", {uint32_t(hd)}), {partBuf, o.buffer}, push2, sizeof push2,
                    u32(qkv.rows, "rows"), u32(shape.numHeads, "heads"));
    }
  }

  void swiGlu(Tensor gateUp, Tensor out) override {
    resolvePending({gateUp, out});
    rowwise("swiglu", gateUp, out, out.cols, gateUp.rows);
  }

  // One row (decode): the gate/up GEMV pairs gate row i with up row i and writes silu(g) * u straight to
  // out (gateUp is not written), one dispatch and one 2·ffn-float round trip fewer per layer. The same
  // arithmetic as matmul + swiGlu: each row's dot product is summed in the same order, and both use siluMul.
  void matmulSwiGlu(Tensor x, WeightHandle wh, Tensor gateUp, Tensor out) override {
    const auto* w = static_cast<const VkLinear*>(wh);
    const auto xr = ref(x), o = ref(out);
    const bool fuse = fuseOps_ && x.rows == 1 && out.rows == 1 && x.cols == w->cols && w->rows % 2 == 0 &&
                      out.cols * 2 == w->rows && w->blocks.size() == 1 && w->cols % w->chunk() == 0 &&
                      xr.elem % 4 == 0 && !gpu::tensorsOverlap(x, out);
    if (!fuse) {
      Backend::matmulSwiGlu(x, wh, gateUp, out);
      return;
    }
    const auto& b = w->blocks[0];
    const uint32_t hasBias = b.bias ? 1 : 0, ffn = u32(out.cols, "ffn");
    const auto [gx, gy] = gemvGrid(2 * int64_t(ffn));  // a workgroup: kGemvRowsPerWorkgroup / 2 outputs
    const int copy = takeInt8Copy(x);  // before resolvePending forgets it
    if (pending_.holds(x)) {  // x is matmulAddNorm's unscaled normed row: the GEMV applies the norm's scale
      resolvePending({out});
      const GemvInput in = gemvInput(*w, xr.buffer, xr.elem, 1, 1, copy);
      const NormGemvPush push{in.off, in.stride, 1, u32(w->cols, "K"), ffn, o.elem, 1, hasBias, gx, pending_.where.first,
                              pending_.where.second, u32(pending_.cols, "cols"), pending_.eps, 0};
      dispatchWeight("gemv_normed_swiglu", *w, b, in, {b.w->buffer, in.buffer, biasOf(b), o.buffer, normPartials_->buffer},
                     &push, sizeof push, gx, gy);
      return;
    }
    resolvePending({x, out});
    const GemvInput in = gemvInput(*w, xr.buffer, xr.elem, 1, 1, copy);
    const uint32_t push[9] = {in.off, in.stride, 1, u32(w->cols, "K"), ffn, o.elem, 1, hasBias, gx};
    dispatchWeight("gemv_swiglu", *w, b, in, {b.w->buffer, in.buffer, biasOf(b), o.buffer}, push, sizeof push, gx, gy);
  }

  void gatherRows(Tensor src, std::span<const int64_t> rows, Tensor dst) override {
    resolvePending({src, dst});
    const auto s = ref(src), d = ref(dst);
    std::vector<VkBufferCopy> regions;
    for (size_t i = 0; i < rows.size(); ++i)
      regions.push_back({VkDeviceSize(s.byteOffset + rows[i] * src.stride * 4),
                         VkDeviceSize(d.byteOffset + int64_t(i) * dst.stride * 4), VkDeviceSize(src.cols * 4)});
    if (s.buffer == d.buffer) throw Error("Vulkan backend: gatherRows within one buffer is not supported");
    ctx_.copy(s.buffer, d.buffer, regions);
  }

  void upload(const float* host, Tensor t) override {
    resolvePending({t});
    const auto r = ref(t);
    if (t.stride == t.cols) {
      ctx_.upload(r.buffer, r.byteOffset, host, t.rows * t.cols * 4);
      return;
    }
    for (int64_t i = 0; i < t.rows; ++i)
      ctx_.upload(r.buffer, r.byteOffset + i * t.stride * 4, host + i * t.cols, t.cols * 4);
  }

  void download(Tensor t, float* host) override {
    resolvePending({t});
    const auto r = ref(t);
    if (t.stride == t.cols || t.rows == 1) {
      ctx_.download(r.buffer, r.byteOffset, host, t.rows * t.cols * 4);
      return;
    }
    std::vector<float> all(size_t(t.rows * t.stride));
    ctx_.download(r.buffer, r.byteOffset, all.data(), ((t.rows - 1) * t.stride + t.cols) * 4);
    for (int64_t i = 0; i < t.rows; ++i) std::memcpy(host + i * t.cols, all.data() + i * t.stride, size_t(t.cols) * 4);
  }

  void synchronize() override { ctx_.finish(); }

  int32_t argmaxRow(Tensor t) override {
    resolvePending({t});
    const auto r = ref(t);
    const uint32_t push[2] = {r.elem, u32(t.cols, "cols")};
    const uint32_t groups = std::clamp<uint32_t>(ceilDiv(t.cols, 256 * 16), 1, kArgmaxGroups);
    ctx_.dispatch(ctx_.pipeline("argmax"), {r.buffer, argmaxPartials_->buffer}, push, sizeof push, groups);
    ctx_.dispatch(ctx_.pipeline("argmax_final"), {argmaxPartials_->buffer, argmaxOut_->buffer}, &groups, sizeof groups, 1);
    int32_t best = 0;
    ctx_.download(argmaxOut_->buffer, 0, &best, 4);
    return best;
  }

  // --- Recorded decode steps ---
  // GLMCHAT_VULKAN_NO_RECORD=1 records every decode step anew (for profiling each dispatch).
  bool supportsStepCapture() const override { return !std::getenv("GLMCHAT_VULKAN_NO_RECORD"); }

  void setStepInputs(std::span<const int32_t> ids, int64_t pos0) override {
    if (ids.size() > 16) throw Error("Vulkan backend: a recorded step takes at most 16 tokens");
    uint32_t words[17] = {0};
    for (size_t i = 0; i < ids.size(); ++i) words[i] = uint32_t(ids[i]);
    words[16] = u32(pos0, "position");
    ctx_.update(stepInputs_->buffer, 0, words, sizeof words);
  }

  bool replayStep(const KvCache& cache) override {
    if (!ctx_.hasRecording() || recordedCache_ != static_cast<const VkKvCache&>(cache).serial) return false;
    int8Copy_ = {};  // the step rewrites the slots
    ctx_.replayRecording();
    return true;
  }

  void beginStepCapture() override {
    resolvePending({});
    ctx_.beginRecording();
    normSites_ = 0;
  }
  void abortStepCapture() override {
    pending_ = {};
    int8Copy_ = {};
    ctx_.dropRecording();
  }
  void endStepCapture(const KvCache& cache) override {
    // A row left unscaled at the end of the step (the last layer's MLP input, already consumed) is scratch
    // that nothing reads after the step; the next recording starts clean.
    pending_ = {};
    int8Copy_ = {};
    ctx_.endRecording();
    recordedCache_ = static_cast<const VkKvCache&>(cache).serial;
    ctx_.replayRecording();
  }

 private:
  // Push constants of gemv.comp built with ADD_NORM or NORMED_IN: the plain GEMV's, then the norm's.
  // gemv_add_norm on x's int8 copy also writes the normed row's from word copyOff of that buffer (kNoCopy: not).
  static constexpr uint32_t kNoCopy = 0xffffffffu;
  struct NormGemvPush {
    uint32_t xOff, xStride, tokens, K, M, outOff, outStride, hasBias, gridX, pOff, pCount, n;
    float eps;
    uint32_t normedOff;
    uint32_t copyOff = kNoCopy;
  };
  VkBuffer biasOf(const VkLinear::Block& b) const { return b.bias ? b.bias->buffer : dummy_->buffer; }

  // What a decode GEMV reads as its input rows: x itself (fp32, offset and stride in elements), or, for a
  // quantized weight on a device with integer dot products, x's int8 copy (int8_copy.glsl) in a slot of
  // int8Input_ (offset and stride in words).
  struct GemvInput {
    VkBuffer buffer;
    uint32_t off, stride;
    bool int8;
    int slot;  // int8: the slot of int8Input_ read
  };
  // Words of one token row of that copy: q in column order, q in nibble order and a (scale, sum of q) pair per
  // 16-block, 5K/8 words, rounded up to whole 16-byte loads.
  static int64_t int8InputRowWords(int64_t k) { return (5 * k / 8 + 3) / 4 * 4; }
  uint32_t int8SlotOffset(int slot) const { return uint32_t(slot * int8SlotWords_); }

  // `tokens` rows of x (fp32, from element xOff, 16-byte aligned) as w's GEMV reads them. Where that GEMV is an
  // integer dot-product one: x's int8 copy in slot `copy` where the op before wrote it (takeInt8Copy; one row),
  // else quantize_x writes it into slot 0 first.
  GemvInput gemvInput(const VkLinear& w, VkBuffer x, uint32_t xOff, int64_t xStride, int64_t tokens, int copy) {
    if (!w.quantized() || !ctx_.features().integerDot) return {x, xOff, u32(xStride, "stride"), false, -1};
    const int64_t rowWords = int8InputRowWords(w.cols);
    if (!int8Input_ || int8SlotWords_ < kGemvMaxTokens * rowWords)
      throw Error(fmt::format("Vulkan backend: a slot of the int8 input copy holds {} words, a quantized GEMV over {} "
                              "columns needs {} (reserved when the weight is uploaded)",
                              int8SlotWords_, w.cols, kGemvMaxTokens * rowWords));
    if (copy >= 0) {
      if (tokens != 1) throw Error("Vulkan backend: an int8 copy written by the op before is one row");
      return {int8Input_->buffer, int8SlotOffset(copy), uint32_t(rowWords), true, copy};
    }
    const uint32_t push[4] = {xOff, u32(xStride, "stride"), u32(w.cols, "K"), uint32_t(rowWords)};
    ctx_.dispatch(ctx_.pipeline("quantize_x"), {x, int8Input_->buffer}, push, sizeof push, ceilDiv(w.cols / 16, 64),
                  u32(tokens, "rows"));
    return {int8Input_->buffer, 0, uint32_t(rowWords), true, 0};
  }

  // The slot of x's int8 copy where the op just before wrote one for it (a row of the same columns), else -1.
  // Forgets it either way: a copy is read by the op right after its writer or by none.
  int takeInt8Copy(const Tensor& x) {
    const int slot = int8Copy_.holds(x) ? int8Copy_.slot : -1;
    int8Copy_ = {};
    return slot;
  }

  // The slot where an op that writes the one-row tensor `out` also writes its int8 copy for the next op's GEMV:
  // not `reading` (the slot the op itself reads, or -1), so it never writes over the copy it reads. -1 where
  // no copy is wanted: the model has no quantized weights or the device no integer dot products (no int8Input_),
  // the row is not whole blocks of 16 or is wider than a slot, or GLMCHAT_VULKAN_QUANTIZE_SEPARATELY is set.
  int int8CopySlotFor(const Tensor& out, int reading) const {
    const bool fits = int8CopyInProducers_ && int8Input_ && out.rows == 1 && out.cols % 16 == 0 &&
                      int8InputRowWords(out.cols) <= int8SlotWords_;
    return fits ? (reading == 0 ? 1 : 0) : -1;
  }

  // Sizes int8Input_ for quantized GEMVs over `cols` columns (at upload: a step recording names the buffer, so
  // it never grows while one is made): kInt8CopySlots slots of kGemvMaxTokens rows each.
  void reserveInt8Input(int64_t cols) {
    const int64_t slotWords = kGemvMaxTokens * int8InputRowWords(cols);
    if (!ctx_.features().integerDot || (int8Input_ && int8SlotWords_ >= slotWords)) return;
    ctx_.dropRecording();  // names the old buffer
    int8Copy_ = {};        // in the old buffer
    int8Input_.reset();
    int8Input_ =
        ctx_.createBuffer(kInt8CopySlots * slotWords * 4, true, "the int8 copies of the quantized GEMVs' input rows");
    int8SlotWords_ = slotWords;
  }

  // A GEMV shader for w's kind and input (gemv.comp's variants: name, name_int8, name_int4 with the group size as
  // its specialization constant, and name_int8_dot / name_int4_dot on the int8 copy; the quantized ones bind the
  // block's scales after `buffers`).
  void dispatchWeight(const std::string& shader, const VkLinear& w, const VkLinear::Block& b, const GemvInput& in,
                      std::initializer_list<VkBuffer> buffers, const void* push, uint32_t pushBytes, uint32_t gx,
                      uint32_t gy) {
    if (!w.quantized()) {
      ctx_.dispatch(ctx_.pipeline(shader), buffers, push, pushBytes, gx, gy);
      return;
    }
    std::vector<VkBuffer> all(buffers);
    all.push_back(b.scales->buffer);
    const std::string x = in.int8 ? "_dot" : "";
    Pipeline& p = w.format == WeightFormat::Int8 ? ctx_.pipeline(shader + "_int8" + x)
                                                 : ctx_.pipeline(shader + "_int4" + x, {uint32_t(int4Group(w.format))});
    ctx_.dispatch(p, std::span<const VkBuffer>(all), push, pushBytes, gx, gy);
  }

  // Rows of `out` (buffer outBuf from element outOff, row stride outStride) = x * W^T (+ the block's bias from
  // biasOff) for M output features, with the prefill GEMM: W bf16 [M x K] at element 0 of wBuf.
  // out = x W^T (+ bias) on the tensor cores where the device has them. spec: {WKIND, GROUP_SIZE} (0: bf16 at
  // wBuf; 1 / 2: int8 / int4 rows as stored, their scales at scalesBuf; bf16 binds any buffer there).
  void gemm(const Tensor& x, VkBuffer wBuf, VkBuffer scalesBuf, std::vector<uint32_t> spec, const VkLinear::Block& b,
            uint32_t biasOff, int64_t M, VkBuffer outBuf, uint32_t outOff, int64_t outStride) {
    const auto xr = ref(x);
    const uint32_t push[9] = {xr.elem, u32(x.stride, "stride"), u32(x.rows, "rows"), u32(x.cols, "K"), u32(M, "M"),
                              outOff, u32(outStride, "stride"), b.bias ? 1u : 0u, biasOff};
    if (ctx_.features().nvCooperativeMatrix && x.cols % 32 == 0)
      ctx_.dispatch(ctx_.pipeline("gemm_cm", spec), {xr.buffer, wBuf, biasOf(b), outBuf, scalesBuf}, push, sizeof push,
                    ceilDiv(M, kGemmCmBM), ceilDiv(x.rows, kGemmCmBN));
    else
      ctx_.dispatch(ctx_.pipeline("gemm", spec), {xr.buffer, wBuf, biasOf(b), outBuf, scalesBuf}, push, sizeof push,
                    ceilDiv(M, kGemmBM), ceilDiv(x.rows, kGemmBN));
  }

  // The decode GEMV's grid for `rows` output rows: kGemvRowsPerWorkgroup per workgroup, (x, y) past 65535.
  static std::pair<uint32_t, uint32_t> gemvGrid(int64_t rows) {
    const uint32_t groups = ceilDiv(rows, kGemvRowsPerWorkgroup);
    const uint32_t gx = std::min<uint32_t>(groups, 65535);
    return {gx, ceilDiv(groups, gx)};
  }

  // Scales the row matmulAddNorm left unscaled before an op other than the GEMV that reads it touches it
  // (or, with no tensors given, in any case).
  void resolvePending(std::initializer_list<Tensor> touched) {
    int8Copy_ = {};  // every op that writes a tensor passes here first: an int8 copy is then stale
    if (!pending_.touchedBy(touched)) return;
    const auto pr = ref(pending_.row());
    const struct {
      uint32_t xOff, n, pOff, pCount;
      float eps;
    } push{pr.elem, u32(pending_.cols, "cols"), pending_.where.first, pending_.where.second, pending_.eps};
    pending_ = {};
    ctx_.dispatch(ctx_.pipeline("scale_normed"), {pr.buffer, normPartials_->buffer}, &push, sizeof push,
                  ceilDiv(uint32_t(push.n), 256));
  }

  struct Ref {
    VkBuffer buffer;
    int64_t byteOffset;
    uint32_t elem;  // fp32 element offset
  };

  Buffer* deviceBuffer(int64_t bytes, const std::string& what) {
    auto b = ctx_.createBuffer(bytes, true, what);
    b->base = nextBase_;
    nextBase_ += uintptr_t((b->bytes + (1 << 20)) / (1 << 16) + 1) << 16;  // gaps between buffers
    Buffer* raw = b.get();
    byBase_[raw->base] = std::move(b);
    return raw;
  }

  Ref ref(const Tensor& t) const {
    const auto addr = reinterpret_cast<uintptr_t>(t.data);
    auto it = byBase_.upper_bound(addr);
    if (it == byBase_.begin()) throw Error("Vulkan backend: a tensor does not belong to this backend");
    --it;
    const int64_t off = int64_t(addr - it->first);
    if (off < 0 || off >= it->second->bytes) throw Error("Vulkan backend: a tensor does not belong to this backend");
    if (off % 4 != 0) throw Error("Vulkan backend: a tensor is not 4-byte aligned");
    return {it->second->buffer, off, uint32_t(off / 4)};
  }

  // A two-tensor row-wise shader (add.comp, swiglu.comp): push constants a offset, a stride, b offset, b
  // stride, columns; 256 columns per workgroup, one grid row per tensor row.
  void rowwise(const char* shader, Tensor a, Tensor b, int64_t cols, int64_t rows) {
    const auto ar = ref(a), br = ref(b);
    const uint32_t push[5] = {ar.elem, u32(a.stride, "stride"), br.elem, u32(b.stride, "stride"), u32(cols, "cols")};
    ctx_.dispatch(ctx_.pipeline(shader), {ar.buffer, br.buffer}, push, sizeof push, ceilDiv(cols, 256),
                  u32(rows, "rows"));
  }

  void norm(Tensor x, const Tensor* residual, WeightHandle w, float eps, Tensor out) {
    const auto xr = ref(x), o = ref(out);
    const Ref r = residual ? ref(*residual) : xr;  // without a residual the shader reads x there (never writes)
    struct {
      uint32_t xOff, xStride, resOff, resStride, outOff, outStride, cols, hasResidual;
      float eps;
    } push{xr.elem, u32(x.stride, "stride"), r.elem, residual ? u32(residual->stride, "stride") : 0u, o.elem,
           u32(out.stride, "stride"), u32(x.cols, "cols"), residual ? 1u : 0u, eps};
    ctx_.dispatch(ctx_.pipeline("rms_norm"),
                  {xr.buffer, r.buffer, static_cast<const VkVector*>(w)->data->buffer, o.buffer}, &push, sizeof push,
                  u32(x.rows, "rows"));
  }

  VkBuffer uploadIds(std::span<const int32_t> ids) {
    const int64_t need = int64_t(ids.size()) * 4;
    if (!idsBuffer_ || idsBuffer_->bytes < need) {
      if (idsBuffer_) ctx_.finish();  // in flight
      idsBuffer_ = ctx_.createBuffer(std::max<int64_t>(need, 4096 * 4), true, "token ids");
    }
    for (int64_t done = 0; done < need; done += 65536)
      ctx_.update(idsBuffer_->buffer, done, reinterpret_cast<const char*>(ids.data()) + done,
                  std::min<int64_t>(65536, need - done));
    return idsBuffer_->buffer;
  }

  VkBuffer ropeFrequencies(const RopeParams& rope) {
    const std::vector<float>& f = rope.invFreq;
    for (auto& [key, buf] : ropeBuffers_)
      if (key == f) return buf->buffer;
    auto b = ctx_.createBuffer(int64_t(std::max<size_t>(f.size(), 1)) * 4, true, "rotary frequencies");
    if (!f.empty()) ctx_.update(b->buffer, 0, f.data(), int64_t(f.size()) * 4);
    ropeBuffers_.emplace_back(f, std::move(b));
    return ropeBuffers_.back().second->buffer;
  }

  // Widens positions [0, keys) of one 8-bit cache buffer pair (K and V of seg) to bf16 into kvWidened_
  // ([kvHead][keys][headDim] each, kv_dequantize.comp), grown to 2 x kvHeads x keys x headDim x 2 bytes.
  void widenKvCache(const VkKvCache::Segment& seg, int hd, int64_t capacity, int64_t keys) {
    const int64_t bytes = int64_t(seg.kvHeads) * keys * hd * 2;
    if (!kvWidened_[0] || kvWidened_[0]->bytes < bytes) {
      if (kvWidened_[0]) ctx_.finish();  // in flight
      for (auto& b : kvWidened_) {
        b.reset();
        b = ctx_.createBuffer(bytes, true, "the 8-bit KV cache widened for prefill attention");
      }
    }
    const int64_t units = int64_t(seg.kvHeads) * keys * hd / 8;
    const uint32_t groups = ceilDiv(units, 256), gx = std::min<uint32_t>(groups, 65535);
    const uint32_t push[6] = {uint32_t(hd), u32(capacity, "capacity"), u32(keys, "keys"), uint32_t(seg.kvHeads),
                              seg.scaleOff, gx};
    ctx_.dispatch(ctx_.pipeline("kv_dequantize"), {seg.k->buffer, kvWidened_[0]->buffer}, push, sizeof push, gx,
                  ceilDiv(groups, gx));
    ctx_.dispatch(ctx_.pipeline("kv_dequantize"), {seg.v->buffer, kvWidened_[1]->buffer}, push, sizeof push, gx,
                  ceilDiv(groups, gx));
  }

  // The key tile of the split-KV decode shader for this head dim and group (32, or 16 where shared
  // memory is small), or 0 when the shader does not fit (the prefill shader serves instead).
  uint32_t decodeTile(int hd, int group) const {
    for (int tile : {32, 16}) {
      const int perKey = 128 / tile;
      if (hd % (8 * perKey) != 0 || group > 16) continue;
      // queries (padded by 1/8), V tile, partial dots, probabilities, softmax statistics
      const int64_t shared = int64_t(group) * hd * 4 * 9 / 8 + int64_t(tile) * hd * 4 +
                             int64_t(perKey) * tile * (group + 1) * 4 + int64_t(tile) * group * 4 + 3 * group * 4;
      if (shared <= ctx_.features().maxSharedMemory) return uint32_t(tile);
    }
    return 0;
  }

  WeightHandle keep(std::unique_ptr<Weight> w) {
    weights_.push_back(std::move(w));
    return weights_.back().get();
  }

  Context ctx_;
  std::map<uintptr_t, std::unique_ptr<Buffer>> byBase_;
  uintptr_t nextBase_ = uintptr_t(1) << 40;
  std::vector<std::unique_ptr<Weight>> weights_;
  Buffer *stepInputs_ = nullptr, *dummy_ = nullptr, *argmaxOut_ = nullptr, *argmaxPartials_ = nullptr;
  static constexpr uint32_t kArgmaxGroups = 64;  // first-pass workgroups of the greedy argmax
  std::unique_ptr<Buffer> idsBuffer_, decodePartials_, prefillPartials_;
  // Quantized weights: at most this many bytes per weight buffer (row blocks) and per widened slice; a weight
  // larger than widenLimit_ as bf16 is never widened (its rows run on packed tiles). widened_: the prefill GEMM's
  // bf16 copy of (a slice of) the layer's weight, min(rows, slice) x cols x 2 bytes of the largest so far.
  int64_t weightBufferLimit_ = 0, widenLimit_ = 0;
  std::unique_ptr<Buffer> widened_;
  // The int8 copies of the quantized GEMVs' input rows (int8_copy.glsl; devices with integer dot products), in
  // kInt8CopySlots slots of int8SlotWords_ = kGemvMaxTokens x int8InputRowWords(K) words for the widest quantized
  // weight, reserved at upload. quantize_x writes slot 0 right before the GEMV that reads it. The producers of a
  // one-row tensor that a quantized GEMV reads next write its copy besides it, into the slot they do not read
  // (int8CopySlotFor): gemv_add_norm its normed row (for gemv_normed / gemv_normed_swiglu), attention_combine the
  // attention output (for the output projection). int8Copy_ records which slot holds a copy of which tensor; every
  // op forgets it first (resolvePending, takeInt8Copy), so only the op right after the writer can read it.
  static constexpr int kInt8CopySlots = 2;
  std::unique_ptr<Buffer> int8Input_;
  int64_t int8SlotWords_ = 0;
  struct Int8Copy {
    const void* row = nullptr;  // the tensor's data (nullptr: no valid copy)
    int64_t cols = 0;
    int slot = 0;
    bool holds(const Tensor& x) const { return row && row == x.data && x.rows == 1 && x.cols == cols; }
  } int8Copy_;
  bool int8CopyInProducers_ = true;
  // The 8-bit KV cache of one cache buffer widened to bf16 (K, V) for the tensor-core prefill attention.
  std::unique_ptr<Buffer> kvWidened_[2];
  bool widenKvAlways_ = false;
  // Rows of x up to which a quantized weight's GEMM reads its packed tiles instead of a widened copy
  // (GLMCHAT_VULKAN_QUANT_GEMM_ROWS=N; 1: widen whatever can be widened).
  int64_t quantGemmRows_ = 256;
  std::vector<std::pair<std::vector<float>, std::unique_ptr<Buffer>>> ropeBuffers_;
  std::string ropeShader_;
  // matmulAddNorm's fused norms in a recorded step: per call site kNormPartialsPerSite floats (one per
  // workgroup of the producing GEMV), and the normed row whose scale is still to apply.
  static constexpr int kNormSites = 256;
  static constexpr uint32_t kNormPartialsPerSite = 4096;
  Buffer* normPartials_ = nullptr;
  int normSites_ = 0;
  bool fuseOps_ = true;
  gpu::PendingNormedRow<std::pair<uint32_t, uint32_t>> pending_;  // where: first partial, partials
  int maxSplits_ = 256;
  int64_t keySplitSize_ = 16;  // decode: keys per split at least this (a tile)
  uint64_t recordedCache_ = 0, cacheSerial_ = 0;
};

}  // namespace
}  // namespace glm

// The library's entry points. create: nullptr with the reason in `reason` when Vulkan or a usable
// device is missing (or the engine uses another interface version). list: one line per device,
// "index<TAB>name<TAB>type<TAB>bytes<TAB>api"; returns the number of devices or -1 with the reason.
extern "C" __attribute__((visibility("default"))) glm::Backend* glmchat_create_vulkan_backend(int abiVersion, int device,
                                                                                               char* reason,
                                                                                               size_t reasonSize) {
  auto fail = [&](const std::string& why) -> glm::Backend* {
    std::snprintf(reason, reasonSize, "%s", why.c_str());
    return nullptr;
  };
  if (abiVersion != glm::kBackendAbiVersion)
    return fail(fmt::format("the Vulkan backend library was built for backend interface {}, the engine uses {}",
                            glm::kBackendAbiVersion, abiVersion));
  try {
    return new glm::VulkanBackend(device);
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
}

extern "C" __attribute__((visibility("default"))) int glmchat_list_vulkan_devices(char* out, size_t outSize) {
  try {
    const auto devs = glm::vk::Context::listDevices();
    std::string text;
    for (const auto& d : devs) text += fmt::format("{}\t{}\t{}\t{}\t{}\n", d.index, d.name, d.type, d.memoryBytes, d.api);
    std::snprintf(out, outSize, "%s", text.c_str());
    return int(devs.size());
  } catch (const std::exception& ex) {
    std::snprintf(out, outSize, "%s", ex.what());
    return -1;
  }
}
