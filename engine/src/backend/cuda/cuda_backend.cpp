// The CUDA backend (host side), built into libglmchat-backend-cuda.so and loaded by the engine at run
// time (backend_loader.cpp). Numerics: weights bf16 on the device (F32/F16 checkpoints are rounded
// once at upload); activations and the residual stream fp32; matrix products take bf16 operands with
// fp32 accumulation (cuBLAS GEMM for chunks, our GEMV for one row); norms and softmax statistics
// fp32; the KV cache bf16. The decode step is recorded as a CUDA graph and replayed.
#include <cuda_runtime_api.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/gpu_common.h"
#include "glmengine/error.h"
#include "glm_kernels.h"
#include "util/half.h"

namespace glm {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(fmt::format("CUDA: {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e)));
}
void checkLaunch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw Error(fmt::format("CUDA: kernel {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e)));
}
void checkBlas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Error(fmt::format("cuBLAS: {} failed: {} ({})", what, cublasGetStatusString(s), int(s)));
}

using gpu::gib;

// cudaMalloc, or an error that names what the memory was for and how much is free.
void* deviceMalloc(int64_t n, const char* what) {
  void* ptr = nullptr;
  const cudaError_t e = cudaMalloc(&ptr, size_t(n));
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t freeB = 0, totalB = 0;
    cudaMemGetInfo(&freeB, &totalB);
    throw Error(fmt::format("out of GPU memory: {} needs {:.2f} GiB but only {:.2f} GiB of {:.2f} GiB are free ({})",
                            what, gib(n), gib(int64_t(freeB)), gib(int64_t(totalB)), cudaGetErrorString(e)));
  }
  return ptr;
}

// Device memory for the weights, packed. cudaMalloc takes whole 2 MiB pages for a tensor of more than about
// 1 MiB, so one allocation per tensor left the tails of GLM-4-9B's int4 tensors (scales of 1-6.7 MiB,
// weights of 26.75 and 53.5 MiB) unused: 221 MiB on an H200 (5,192 MiB taken for 4,971 MiB of tensors).
// Here a tensor takes the best-fitting space left free by earlier ones, and a run of whole pages is
// allocated only where none fits (its tail becomes free space). Freed with the backend, never piecewise.
class WeightArena {
 public:
  WeightArena() = default;
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;
  ~WeightArena() {
    for (void* run : runs_) cudaFree(run);
  }
  void* allocate(int64_t n, const char* what) {
    n = (n + kAlign - 1) / kAlign * kAlign;
    Space* best = nullptr;
    for (Space& s : free_)
      if (s.bytes >= n && (!best || s.bytes < best->bytes)) best = &s;
    if (!best) {
      const int64_t run = (n + kPage - 1) / kPage * kPage;
      runs_.push_back(deviceMalloc(run, what));
      free_.push_back({static_cast<char*>(runs_.back()), run});
      best = &free_.back();
    }
    char* at = best->at;
    best->at += n;
    best->bytes -= n;
    return at;
  }

 private:
  static constexpr int64_t kAlign = 256, kPage = int64_t(2) << 20;
  struct Space {
    char* at;
    int64_t bytes;
  };
  std::vector<Space> free_;
  std::vector<void*> runs_;
};

// Device memory that frees itself, or (placeIn) a share of a WeightArena, which frees it.
struct DeviceBuffer {
  void* ptr = nullptr;
  int64_t bytes = 0;
  bool owned = true;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }
  void release() {
    if (ptr && owned) cudaFree(ptr);
    ptr = nullptr;
    bytes = 0;
    owned = true;
  }
  void allocate(int64_t n, const char* what) {
    release();
    if (n <= 0) return;
    ptr = deviceMalloc(n, what);
    bytes = n;
  }
  void placeIn(WeightArena& arena, int64_t n, const char* what) {
    release();
    if (n <= 0) return;
    ptr = arena.allocate(n, what);
    bytes = n;
    owned = false;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

struct CudaLinear : Weight {
  DeviceBuffer w;       // bf16 [rows x cols], the row blocks concatenated; or the quantized data
  DeviceBuffer scales;  // quantized: int8 fp32 per row, int4 fp16 per group (quant_format.h)
  DeviceBuffer bias;    // fp32 [rows] or empty
  cuda::GemvWeight gemv(void* xq) const {
    const auto kind = format == WeightFormat::Int8       ? cuda::GemvWeight::Int8
                      : format == WeightFormat::Int4G32  ? cuda::GemvWeight::Int4G32
                      : format == WeightFormat::Int4G128 ? cuda::GemvWeight::Int4G128
                                                         : cuda::GemvWeight::Bf16;
    return {kind, w.ptr, scales.ptr, xq};
  }
};
struct CudaVector : Weight {
  DeviceBuffer data;  // fp32
};
// Pinned host memory the GPU reads directly (mapped, through unified addressing).
struct PinnedHostBuffer {
  void* ptr = nullptr;
  PinnedHostBuffer() = default;
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
  ~PinnedHostBuffer() {
    if (ptr) cudaFreeHost(ptr);
  }
};
struct CudaEmbedding : Weight {
  DeviceBuffer data;        // as stored (F32, F16 or BF16)
  PinnedHostBuffer host;    // Int8: the rows, in host memory (the kernel reads one row per token over the bus)
  DeviceBuffer scales;      // Int8: fp32 per row
  cuda::TableType type = cuda::TableType::BF16;
  const void* table() const { return host.ptr ? host.ptr : data.ptr; }
};

struct CudaKvCache : KvCache {
  DeviceBuffer k, v;    // bf16 or (I8) int8 [layer][kvHead][capacity][headDim]
  DeviceBuffer ks, vs;  // I8: fp32 scales [layer][kvHead][kvScaleStride(capacity)]
  uint64_t serial = 0;
  int64_t layerElems() const { return int64_t(numKvHeads) * capacity * headDim; }
  int64_t layerScales() const { return int64_t(numKvHeads) * cuda::kvScaleStride(capacity); }
  uint16_t* kLayer(int layer) const { return k.as<uint16_t>() + layer * layerElems(); }
  uint16_t* vLayer(int layer) const { return v.as<uint16_t>() + layer * layerElems(); }
  int8_t* kLayer8(int layer) const { return k.as<int8_t>() + layer * layerElems(); }
  int8_t* vLayer8(int layer) const { return v.as<int8_t>() + layer * layerElems(); }
  float* kScales(int layer) const { return ks.as<float>() + layer * layerScales(); }
  float* vScales(int layer) const { return vs.as<float>() + layer * layerScales(); }
};


class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaGetDeviceProperties(&props_, device), "cudaGetDeviceProperties");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    checkBlas(cublasCreate(&blas_), "cublasCreate");
    checkBlas(cublasSetStream(blas_, stream_), "cublasSetStream");
    checkBlas(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    cuda::configureKernels();
    checkLaunch("configureKernels");
    // Splits per (KV head, 16-head group) of decode attention: 8 warps (two blocks) on every SM with
    // GLM-4's 2 KV heads.
    maxSplits_ = cuda::decodeMaxSplits(props_.multiProcessorCount, 2);
    stepInputs_.allocate(sizeof(StepInputs), "decode step inputs");
    // Pinned, so that the step's inputs go up and the sampled token comes back in one asynchronous copy each
    // (H200, int4 at 1K: the GPU's time outside the recorded step 30 -> 22 us per token, +0.3-0.5%).
    // Mapped too: argmaxRowThenStep's kernel writes the token straight into it.
    check(cudaHostAlloc(&stepPinned_.ptr, sizeof(StepInputs), cudaHostAllocMapped),
          "decode step inputs (pinned host memory)");
    void* stepOnDevice = nullptr;
    check(cudaHostGetDevicePointer(&stepOnDevice, stepPinned_.ptr, 0), "decode step inputs (device address)");
    stepHostOnDevice_ = static_cast<StepInputs*>(stepOnDevice);
    check(cudaEventCreateWithFlags(&stepInputsSent_, cudaEventDisableTiming), "cudaEventCreate");
    check(cudaEventCreateWithFlags(&aheadArgmaxDone_, cudaEventDisableTiming), "cudaEventCreate");
    normSums_.allocate(int64_t(kNormSites) * cuda::normSumSlots() * 8, "fused norm sums");
    // Programmatic dependent launch in recorded steps (Hopper and newer; GLMCHAT_CUDA_PDL=0 turns it off).
    const char* pdl = std::getenv("GLMCHAT_CUDA_PDL");
    programmaticLaunch_ = props_.major >= 9 && !(pdl && std::string(pdl) == "0");
    argmaxOut_.allocate(cuda::argmaxScratchBytes(), "argmax scratch");
    check(cudaMemset(argmaxOut_.ptr, 0, size_t(argmaxOut_.bytes)), "argmax scratch (clear)");
  }
  ~CudaBackend() override {
    if (graphExec_) cudaGraphExecDestroy(graphExec_);
    if (stepInputsSent_) cudaEventDestroy(stepInputsSent_);
    if (aheadArgmaxDone_) cudaEventDestroy(aheadArgmaxDone_);
    if (blas_) cublasDestroy(blas_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda"; }
  std::string describe() const override {
    size_t freeB = 0, totalB = 0;
    cudaMemGetInfo(&freeB, &totalB);
    return fmt::format("CUDA device {}: {} (sm_{}{}, {} SMs, {:.1f} GiB, {:.1f} GiB free)", device_, props_.name,
                       props_.major, props_.minor, props_.multiProcessorCount, gib(int64_t(totalB)),
                       gib(int64_t(freeB)));
  }

  DType kvCacheType(DType requested) const override { return requested == DType::I8 ? DType::I8 : DType::BF16; }
  int preferredPrefillChunk() const override { return 2048; }

  void checkMemory(const MemoryPlan& plan, int64_t contextLength) override {
    size_t freeB = 0, totalB = 0;
    check(cudaMemGetInfo(&freeB, &totalB), "cudaMemGetInfo");
    // Reserve: cuBLAS workspace, GEMM input staging, decode partials, graph.
    gpu::checkPlanFits(plan, contextLength, 256ll << 20, int64_t(freeB), int64_t(totalB), props_.name);
  }

  bool supportsWeights(WeightFormat) const override { return true; }

  // The layer's bias parts as one fp32 vector on the device (nothing when it has none).
  void uploadBias(const LinearView& view, CudaLinear& w) {
    if (!view.hasBias()) return;
    const std::vector<float> bias = gpu::biasToF32Host(view, "CUDA");
    w.bias.placeIn(weightArena_, w.rows * 4, "a bias vector");
    check(cudaMemcpy(w.bias.ptr, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice), "bias upload");
  }

  WeightHandle uploadQuantized(const QuantizedView& q, const LinearView& view) override {
    gpu::checkQuantizedLinear(q, view, "CUDA");
    const int64_t step = isInt4(q.format) ? 32 : 16;  // weights per 16-byte chunk of the GEMV
    if (q.cols % step != 0)
      throw Error(fmt::format("CUDA backend: quantized weight {} has {} columns, not a multiple of {}", q.name, q.cols, step));
    auto w = std::make_unique<CudaLinear>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    const std::string what = "quantized weight " + q.name;
    w->w.placeIn(weightArena_, q.dataBytes, what.c_str());
    check(cudaMemcpy(w->w.ptr, q.data, size_t(q.dataBytes), cudaMemcpyHostToDevice), "quantized weight upload");
    if (isInt4(q.format)) {  // the kernels' nibble order (glm_kernels.h)
      cuda::repackInt4(w->w.ptr, q.dataBytes, nullptr);
      checkLaunch("repack int4 weights");
      check(cudaStreamSynchronize(nullptr), "repack int4 weights");  // before any stream reads them
    }
    w->scales.placeIn(weightArena_, q.scaleBytes, what.c_str());
    check(cudaMemcpy(w->scales.ptr, q.scales, size_t(q.scaleBytes), cudaMemcpyHostToDevice), "scale upload");
    uploadBias(view, *w);
    w->bytes = w->w.bytes + w->scales.bytes + w->bias.bytes;
    // The GEMV's quantized input row (two scratches for every layer: they run one after another, and a
    // GEMV that writes its output row quantized (matmulAddNorm) does so into the one it does not read).
    if (const int64_t need = cuda::gemvInputScratchBytes(q.cols); need > xqScratch_[0].bytes)
      for (DeviceBuffer& b : xqScratch_) b.allocate(need, "the quantized GEMV input row");
    return keep(std::move(w));
  }

  WeightHandle uploadLinear(const LinearView& view, WeightFormat format) override {
    auto w = std::make_unique<CudaLinear>();
    w->format = format;
    w->rows = view.outFeatures;
    w->cols = view.inFeatures;
    w->w.placeIn(weightArena_, w->rows * w->cols * 2, "a weight matrix");
    std::vector<uint16_t> staging;
    int64_t row = 0;
    for (const TensorView* p : view.parts) {
      const int64_t n = gpu::elementsOf(*p);
      staging.resize(size_t(n));
      gpu::toBf16Host(p->data, p->dtype, n, staging.data(), "CUDA");
      check(cudaMemcpy(w->w.as<uint16_t>() + row * w->cols, staging.data(), size_t(n) * 2, cudaMemcpyHostToDevice),
            "weight upload");
      row += p->shape[0];
    }
    uploadBias(view, *w);
    w->bytes = w->w.bytes + w->bias.bytes;
    return keep(std::move(w));
  }

  WeightHandle uploadVector(const TensorView& view) override {
    auto w = std::make_unique<CudaVector>();
    w->rows = 1;
    w->cols = gpu::elementsOf(view);
    const std::vector<float> v = gpu::vectorToF32Host(view, "CUDA");
    w->data.placeIn(weightArena_, w->cols * 4, "a norm vector");
    check(cudaMemcpy(w->data.ptr, v.data(), v.size() * 4, cudaMemcpyHostToDevice), "vector upload");
    w->bytes = w->data.bytes;
    return keep(std::move(w));
  }

  WeightHandle uploadEmbedding(const TensorView& view) override {
    auto w = std::make_unique<CudaEmbedding>();
    w->rows = view.shape[0];
    w->cols = view.shape[1];
    switch (view.dtype) {
      case DType::F32: w->type = cuda::TableType::F32; break;
      case DType::F16: w->type = cuda::TableType::F16; break;
      case DType::BF16: w->type = cuda::TableType::BF16; break;
      default: throw Error(fmt::format("CUDA backend: embedding dtype {} is not supported", dtypeName(view.dtype)));
    }
    w->data.placeIn(weightArena_, int64_t(view.bytes), "the embedding table");
    check(cudaMemcpy(w->data.ptr, view.data, view.bytes, cudaMemcpyHostToDevice), "embedding upload");
    w->bytes = w->data.bytes;
    return keep(std::move(w));
  }

  WeightHandle uploadQuantizedEmbedding(const QuantizedView& q) override {
    gpu::checkQuantizedEmbedding(q, "CUDA");
    auto w = std::make_unique<CudaEmbedding>();
    w->format = q.format;
    w->rows = q.rows;
    w->cols = q.cols;
    w->type = cuda::TableType::Int8;
    // The rows stay in pinned host memory, as llama.cpp keeps its token embeddings on the CPU: a token
    // reads one 4 KB row (4 us of the H200's decode step), and GLM-4-9B's 0.58 GiB table leaves the GPU
    // (int4-g128 weights + 128K of 8-bit KV then peak at 8.7 GiB).
    if (cudaHostAlloc(&w->host.ptr, size_t(q.dataBytes), cudaHostAllocMapped) != cudaSuccess) {
      cudaGetLastError();
      w->host.ptr = nullptr;
      w->data.placeIn(weightArena_, q.dataBytes, "the embedding table (int8)");  // no pinned memory: on the device
      check(cudaMemcpy(w->data.ptr, q.data, size_t(q.dataBytes), cudaMemcpyHostToDevice), "embedding upload");
    } else {
      std::memcpy(w->host.ptr, q.data, size_t(q.dataBytes));
    }
    w->scales.placeIn(weightArena_, q.scaleBytes, "the embedding table's scales");
    check(cudaMemcpy(w->scales.ptr, q.scales, size_t(q.scaleBytes), cudaMemcpyHostToDevice), "embedding upload");
    w->bytes = w->data.bytes + w->scales.bytes;  // GPU memory only
    return keep(std::move(w));
  }

  Tensor allocate(int64_t rows, int64_t cols) override {
    auto buf = std::make_unique<DeviceBuffer>();
    buf->allocate(std::max<int64_t>(rows * cols, 1) * 4, "activations");
    check(cudaMemset(buf->ptr, 0, size_t(buf->bytes)), "cudaMemset");
    Tensor t;
    t.data = buf->ptr;
    t.rows = rows;
    t.cols = cols;
    t.stride = cols;
    buffers_.push_back(std::move(buf));
    return t;
  }

  std::unique_ptr<KvCache> createKvCache(int numLayers, int numKvHeads, int headDim, int64_t capacity,
                                         DType dtype) override {
    auto c = std::make_unique<CudaKvCache>();
    const bool i8 = dtype == DType::I8;
    if (i8 && (headDim % 8 != 0 || headDim > 256))
      throw Error(fmt::format("CUDA backend: an 8-bit KV cache needs a head dim that is a multiple of 8 and at most 256 "
                              "(this model has {})", headDim));
    c->setShape(numLayers, numKvHeads, headDim, capacity, i8 ? DType::I8 : DType::BF16);
    c->serial = ++cacheSerial_;
    const int64_t bytes = int64_t(numLayers) * c->layerElems() * (i8 ? 1 : 2);
    const int64_t scaleBytes = i8 ? int64_t(numLayers) * c->layerScales() * 4 : 0;
    const std::string what =
        fmt::format("the KV cache for {} tokens ({:.2f} GiB for K and V)", capacity, gib(2 * (bytes + scaleBytes)));
    c->k.allocate(bytes, what.c_str());
    c->v.allocate(bytes, what.c_str());
    if (i8) {  // zeroed: the decode kernel reads a tile's scales past the last key (times zero values)
      c->ks.allocate(scaleBytes, what.c_str());
      c->vs.allocate(scaleBytes, what.c_str());
      check(cudaMemset(c->ks.ptr, 0, size_t(scaleBytes)), "KV scales (clear)");
      check(cudaMemset(c->vs.ptr, 0, size_t(scaleBytes)), "KV scales (clear)");
    }
    c->bytes = 2 * (bytes + scaleBytes);
    return c;
  }

  void embed(WeightHandle table, std::span<const int32_t> ids, Tensor out) override {
    resolvePending({out});
    const auto* t = static_cast<const CudaEmbedding*>(table);
    const int32_t* dev = stepInputs_.as<StepInputs>()->ids;
    if (!capturing_) {
      checkTokenIds(ids, t->rows);
      dev = uploadIds(ids);
    }
    cuda::embedRows(t->table(), t->type, t->cols, dev, int(ids.size()), out.f32(), out.stride, stream_,
                    t->scales.ptr ? t->scales.as<float>() : nullptr);
    checkLaunch("embed");
  }

  void rmsNorm(Tensor x, WeightHandle w, float eps, Tensor out) override {
    resolvePending({x, out});
    cuda::rmsNorm(x.f32(), x.stride, nullptr, 0, static_cast<const CudaVector*>(w)->data.as<float>(), eps, int(x.rows),
                  int(x.cols), out.f32(), out.stride, stream_);
    checkLaunch("rmsNorm");
  }

  void addRmsNorm(Tensor residual, Tensor x, WeightHandle w, float eps, Tensor out) override {
    resolvePending({residual, x, out});
    cuda::rmsNorm(x.f32(), x.stride, residual.f32(), residual.stride, static_cast<const CudaVector*>(w)->data.as<float>(),
                  eps, int(x.rows), int(x.cols), out.f32(), out.stride, stream_);
    checkLaunch("addRmsNorm");
  }

  void add(Tensor residual, Tensor x) override {
    resolvePending({residual, x});
    cuda::addRows(residual.f32(), residual.stride, x.f32(), x.stride, int(residual.rows), int(residual.cols), stream_);
    checkLaunch("add");
  }

  void matmul(Tensor x, WeightHandle wh, Tensor out) override {
    const auto* w = static_cast<const CudaLinear*>(wh);
    if (x.cols != w->cols || out.cols != w->rows)
      throw Error(fmt::format("CUDA matmul: x has {} columns and out {}, the weight is {} x {}", x.cols, out.cols, w->rows,
                              w->cols));
    const float* bias = w->bias.ptr ? w->bias.as<float>() : nullptr;
    const bool aligned = (reinterpret_cast<uintptr_t>(x.data) & 15) == 0 && w->cols % 8 == 0;
    const cuda::GemvWeight gw = gemvOf(w, x);
    if (pending_.holds(x) && aligned) {
      resolvePending({out});
      // x is matmulAddNorm's unscaled normed row: the GEMV applies the norm's scale.
      cuda::gemvNormed(gw, w->rows, w->cols, x.f32(), bias, pending_.where, pending_.cols, pending_.eps,
                       out.f32(), stream_);
      checkLaunch("gemv (normed input)");
      return;
    }
    resolvePending({x, out});
    // Decode: stream the weight once per row at bandwidth.
    const bool quantized = w->format != WeightFormat::Native;
    if (aligned && x.rows <= 2) {
      for (int64_t r = 0; r < x.rows; ++r)
        cuda::gemv(gw, w->rows, w->cols, x.f32() + r * x.stride, bias, out.f32() + r * out.stride, stream_);
      checkLaunch("gemv");
      return;
    }
    if (capturing_) throw Error("CUDA backend: a recorded decode step may only use the GEMV path");
    const int64_t need = x.rows * x.cols * 2;
    if (gemmInput_.bytes < need) gemmInput_.allocate(need, "GEMM input staging");
    if (quantized && x.rows <= quantGemmRows_ && x.stride % 4 == 0 && (reinterpret_cast<uintptr_t>(x.data) & 15) == 0 &&
        cuda::quantGemmSupported(gw, w->cols)) {
      // Up to quantGemmRows_ rows: the GEMM reads the packed weight and dequantizes its tiles in registers
      // (gemm_quant.cu), with the bias in its epilogue. Longer chunks widen the weight for cuBLAS below: there
      // the GEMM's arithmetic outweighs writing the widened weight, and cuBLAS's Hopper kernels run ~3x the
      // TFLOP/s of these mma.sync tiles.
      cuda::stageQuantGemmInput(x.f32(), x.stride, x.rows, x.cols, gemmInput_.as<uint16_t>(), stream_);
      checkLaunch("stageQuantGemmInput");
      const int64_t parts = cuda::quantGemmPartialFloats(gw, w->rows, w->cols, x.rows) * 4;
      if (quantGemmPartials_.bytes < parts) quantGemmPartials_.allocate(parts, "quantized GEMM partial sums");
      cuda::quantGemm(gw, w->rows, w->cols, gemmInput_.as<uint16_t>(), x.rows, bias, out.f32(), out.stride,
                      parts ? quantGemmPartials_.as<float>() : nullptr, stream_);
      checkLaunch("quantGemm");
      return;
    }
    // Chunk: x -> bf16, then out = x W^T with cuBLAS (bf16 operands, fp32 accumulate and output).
    cuda::toBf16(x.f32(), x.stride, int(x.rows), int(x.cols), gemmInput_.as<uint16_t>(), stream_);
    checkLaunch("toBf16");
    // out[:, r0 .. r0 + rows) = x W[r0 .. r0 + rows)^T; W's rows are bf16 at w (leading dimension cols).
    auto gemm = [&](const void* wRows, int64_t r0, int64_t rows) {
      const float alpha = 1.0f, beta = 0.0f;
      checkBlas(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(x.rows), int(w->cols), &alpha, wRows,
                             CUDA_R_16BF, int(w->cols), gemmInput_.ptr, CUDA_R_16BF, int(x.cols), &beta,
                             out.f32() + r0, CUDA_R_32F, int(out.stride), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx");
    };
    if (!quantized) {
      gemm(w->w.ptr, 0, w->rows);
    } else {
      // Prefill with quantized weights: the weight widened to bf16 (one pass over it), then cuBLAS; in blocks
      // of rows of at most kMaxWidenedWeightBytes, so that any weight can be (the output layer: 1.2 GB widened,
      // three blocks). Every layer weight of GLM-4-9B is one block (gate/up: 224 MB). Smaller blocks, kept in
      // L2 for the GEMM, were slower (H200, prefill 32K in int4: whole 1.68 s, 64 / 32 / 16 / 8 MB blocks
      // 1.72 / 1.74 / 1.80 / 1.96 s) for 150-200 MiB less peak memory.
      const int64_t blockRows = widenBlockRows(w->rows, w->cols);
      const int64_t bytes = std::min(blockRows, w->rows) * w->cols * 2;
      DeviceBuffer& widened = prefillScratch(bytes, "dequantized weight scratch");
      for (int64_t r0 = 0; r0 < w->rows; r0 += blockRows) {
        const int64_t rows = std::min(blockRows, w->rows - r0);
        cuda::GemvWeight block = gw;
        block.data = static_cast<const uint8_t*>(gw.data) + quantizedDataBytes(w->format, r0, w->cols);
        block.scales = static_cast<const uint8_t*>(gw.scales) + quantizedScaleBytes(w->format, r0, w->cols);
        cuda::dequantizeToBf16(block, rows, w->cols, widened.as<uint16_t>(), stream_);
        checkLaunch("dequantizeToBf16");
        gemm(widened.ptr, r0, rows);
      }
    }
    if (bias) {
      cuda::addBias(out.f32(), out.stride, int(x.rows), int(out.cols), bias, stream_);
      checkLaunch("addBias");
    }
  }

  void matmulAddNorm(Tensor x, WeightHandle wh, Tensor residual, WeightHandle norm, float eps, Tensor normed,
                     Tensor scratch) override {
    const auto* w = static_cast<const CudaLinear*>(wh);
    const auto* nw = static_cast<const CudaVector*>(norm);
    const bool fuse = capturing_ && normSites_ < kNormSites && (reinterpret_cast<uintptr_t>(x.data) & 15) == 0 &&
                      gpu::addNormOperandsFit(x, residual, normed, w->rows, w->cols, nw->data.bytes / 4);
    if (!fuse) {
      Backend::matmulAddNorm(x, wh, residual, norm, eps, normed, scratch);
      return;
    }
    // A row still unscaled other than `normed` (which this call rewrites whole) is scaled now; x and residual
    // cannot be it (they do not overlap normed, and any other row is resolved here).
    const cuda::GemvWeight gw = gemvOf(w, x);
    if (pending_.data != normed.data) resolvePending({});
    double* sums = normSums_.as<double>() + int64_t(normSites_++) * cuda::normSumSlots();
    // A quantized model's next GEMV reads the normed row quantized: written by this GEMV too.
    void* xq = gw.kind != cuda::GemvWeight::Bf16 ? quantizedInputFor(normed, gw.xq) : nullptr;
    cuda::gemvAddNorm(gw, w->rows, w->cols, x.f32(), w->bias.ptr ? w->bias.as<float>() : nullptr,
                      residual.f32(), nw->data.as<float>(), normed.f32(), sums, xq, stream_);
    checkLaunch("gemv (residual add, norm)");
    pending_ = {normed.data, normed.cols, sums, eps};
    if (xq) xqCopy_ = {normed.data, xq};
  }

  void ropeAppendKv(Tensor qkv, const AttentionShape& shape, const RopeParams& rope, KvCache& cacheBase, int layer,
                    int64_t pos0) override {
    resolvePending({qkv});
    auto& cache = static_cast<CudaKvCache&>(cacheBase);
    checkKvCapacity(cache, pos0, qkv.rows);
    if (cache.dtype == DType::I8) {
      cuda::ropeAppendKvInt8(qkv.f32(), qkv.stride, int(qkv.rows), shape.numHeads, shape.numKvHeads, shape.headDim,
                             ropeArgs(rope), position(pos0), cache.kLayer8(layer), cache.vLayer8(layer),
                             cache.kScales(layer), cache.vScales(layer), cache.capacity, stream_);
      checkLaunch("ropeAppendKv (int8 cache)");
      return;
    }
    cuda::ropeAppendKv(qkv.f32(), qkv.stride, int(qkv.rows), shape.numHeads, shape.numKvHeads, shape.headDim,
                       ropeArgs(rope), position(pos0), cache.kLayer(layer), cache.vLayer(layer), cache.capacity, stream_);
    checkLaunch("ropeAppendKv");
  }

  void matmulRopeAppend(Tensor x, WeightHandle wh, Tensor qkv, const AttentionShape& shape, const RopeParams& rope,
                        KvCache& cacheBase, int layer, int64_t pos0) override {
    const auto* w = static_cast<const CudaLinear*>(wh);
    auto& cache = static_cast<CudaKvCache&>(cacheBase);
    const bool pending = pending_.holds(x);
    // The 8-bit cache quantizes per KV head (a block-wide max): the plain GEMV, then ropeAppendKv.
    const bool fuse = capturing_ && cache.dtype != DType::I8 && x.rows == 1 && qkv.rows == 1 && w->cols == x.cols && w->rows == qkv.cols &&
                      qkv.cols == int64_t(shape.numHeads + 2 * shape.numKvHeads) * shape.headDim &&
                      shape.headDim % 2 == 0 && w->cols % 8 == 0 && (reinterpret_cast<uintptr_t>(x.data) & 15) == 0 &&
                      !gpu::tensorsOverlap(x, qkv);
    if (!fuse) {
      Backend::matmulRopeAppend(x, wh, qkv, shape, rope, cacheBase, layer, pos0);
      return;
    }
    checkKvCapacity(cache, pos0, 1);
    const cuda::GemvWeight gw = gemvOf(w, x);
    resolvePending({qkv});
    if (!pending) resolvePending({x});
    cuda::gemvRopeAppend(gw, w->rows, w->cols, x.f32(), w->bias.ptr ? w->bias.as<float>() : nullptr,
                         pending ? pending_.where : nullptr, pending_.cols, pending_.eps, qkv.f32(), shape.numHeads,
                         shape.numKvHeads, shape.headDim, ropeArgs(rope), position(pos0), cache.kLayer(layer),
                         cache.vLayer(layer), cache.capacity, stream_);
    checkLaunch("gemv (rope, KV append)");
  }

  void attention(Tensor qkv, const AttentionShape& shape, const KvCache& cacheBase, int layer, int64_t pos0,
                 Tensor out) override {
    resolvePending({qkv, out});
    const auto& cache = static_cast<const CudaKvCache&>(cacheBase);
    const int hd = shape.headDim;
    const bool fast = hd == 128 && (qkv.stride % 4) == 0 && (out.stride % 2) == 0;
    const bool i8 = cache.dtype == DType::I8;
    if (fast && qkv.rows == 1) {  // decode: split-KV over the cache as stored
      const int64_t need = cuda::decodePartialFloats(shape.numHeads, shape.numKvHeads, maxSplits_) * 4;
      if (decodePartials_.bytes < need) decodePartials_.allocate(need, "decode attention partials");  // relaxed capture allows it
      void* xq = quantizedInputFor(out);
      if (i8)
        cuda::decodeAttentionInt8(qkv.f32(), shape.numHeads, shape.numKvHeads, position(pos0), cache.kLayer8(layer),
                                  cache.vLayer8(layer), cache.kScales(layer), cache.vScales(layer), cache.capacity,
                                  shape.scale, decodePartials_.as<float>(), maxSplits_, out.f32(), stream_, xq);
      else
        cuda::decodeAttention(qkv.f32(), shape.numHeads, shape.numKvHeads, position(pos0), cache.kLayer(layer),
                              cache.vLayer(layer), cache.capacity, shape.scale, decodePartials_.as<float>(), maxSplits_,
                              out.f32(), stream_, xq);
      checkLaunch("decodeAttention");
      if (xq) xqCopy_ = {out.data, xq};
      return;
    }
    const uint16_t* k = cache.kLayer(layer);
    const uint16_t* v = cache.vLayer(layer);
    if (i8) {  // prefill (and the generic kernel) read the layer's prefix widened to bf16 (planMemory counts it)
      const int64_t half = int64_t(shape.numKvHeads) * cache.capacity * hd;  // elements of K (or V) widened
      const char* what = "the widened KV prefix (8-bit cache, prefill)";
      // A recorded step keeps its own buffer: prefillScratch_ may be reallocated after the recording.
      if (capturing_ && kvWide_.bytes < 2 * half * 2) kvWide_.allocate(2 * half * 2, what);
      uint16_t* wk = (capturing_ ? kvWide_ : prefillScratch(2 * half * 2, what)).as<uint16_t>();
      uint16_t* wv = wk + half;
      const int64_t maxLen = capturing_ ? cache.capacity : pos0 + qkv.rows;
      cuda::widenKvInt8(cache.kLayer8(layer), cache.vLayer8(layer), cache.kScales(layer), cache.vScales(layer),
                        shape.numKvHeads, hd, cache.capacity, position(pos0), int(qkv.rows), maxLen, wk, wv,
                        cache.capacity, stream_);
      checkLaunch("widen the 8-bit KV cache");
      k = wk;
      v = wv;
    }
    if (fast && !capturing_) {
      cuda::flashAttentionPrefill(qkv.f32(), qkv.stride, int(qkv.rows), shape.numHeads, shape.numKvHeads, pos0, k, v,
                                  cache.capacity, shape.scale, out.f32(), out.stride, stream_);
      checkLaunch("flashAttentionPrefill");
    } else {
      if (hd > 256) throw Error(fmt::format("CUDA backend: head dim {} is not supported (at most 256)", hd));
      cuda::attentionGeneric(qkv.f32(), qkv.stride, int(qkv.rows), shape.numHeads, shape.numKvHeads, hd, position(pos0),
                             k, v, cache.capacity, shape.scale, out.f32(), out.stride, stream_);
      checkLaunch("attentionGeneric");
    }
  }

  void swiGlu(Tensor gateUp, Tensor out) override {
    resolvePending({gateUp, out});
    void* xq = quantizedInputFor(out);
    cuda::swiGlu(gateUp.f32(), gateUp.stride, int(gateUp.rows), int(out.cols), out.f32(), out.stride, stream_, xq);
    checkLaunch("swiGlu");
    if (xq) xqCopy_ = {out.data, xq};
  }

  void gatherRows(Tensor src, std::span<const int64_t> rows, Tensor dst) override {
    resolvePending({src, dst});
    for (size_t i = 0; i < rows.size(); ++i)
      check(cudaMemcpyAsync(dst.f32() + int64_t(i) * dst.stride, src.f32() + rows[i] * src.stride,
                            size_t(src.cols) * 4, cudaMemcpyDeviceToDevice, stream_),
            "gatherRows");
    cuda::programmaticBarrier();  // the next kernel follows copies: a plain launch
  }

  void upload(const float* host, Tensor t) override {
    resolvePending({t});
    check(cudaMemcpy2DAsync(t.data, size_t(t.stride) * 4, host, size_t(t.cols) * 4, size_t(t.cols) * 4, size_t(t.rows),
                            cudaMemcpyHostToDevice, stream_),
          "upload");
  }

  void download(Tensor t, float* host) override {
    resolvePending({t});
    check(cudaMemcpy2DAsync(host, size_t(t.cols) * 4, t.data, size_t(t.stride) * 4, size_t(t.cols) * 4, size_t(t.rows),
                            cudaMemcpyDeviceToHost, stream_),
          "download");
    check(cudaStreamSynchronize(stream_), "download (synchronize)");
  }

  void synchronize() override { check(cudaStreamSynchronize(stream_), "synchronize"); }

  int32_t argmaxRow(Tensor t) override {
    resolvePending({t});
    cuda::argmax(t.f32(), t.cols, argmaxOut_.ptr, stream_);
    checkLaunch("argmax");
    check(cudaMemcpyAsync(&stepHost()->token, argmaxOut_.ptr, 4, cudaMemcpyDeviceToHost, stream_), "argmax result");
    check(cudaStreamSynchronize(stream_), "argmax (synchronize)");
    return stepHost()->token;
  }

  // The argmax writes the token (and the position) into the recorded step's inputs on the device and into
  // mapped host memory; the step is launched behind it before the host waits, for the argmax alone. So the
  // GPU goes from one step to the next without waiting for the host's round trip (the token's copy, the
  // wake-up, the next step's inputs and launch).
  int32_t argmaxRowThenStep(Tensor t, const KvCache& cache, int64_t pos, bool& launched) override {
    launched = false;
    if (capturing_ || !graphExec_ || graphCache_ != static_cast<const CudaKvCache&>(cache).serial || graphTokens_ != 1)
      return argmaxRow(t);
    resolvePending({t});
    auto* inputs = stepInputs_.as<StepInputs>();
    cuda::argmaxToStep(t.f32(), t.cols, argmaxOut_.ptr, &inputs->ids[0], &inputs->pos, pos,
                       &stepHostOnDevice_->token, stream_);
    checkLaunch("argmax (into the next step's inputs)");
    check(cudaEventRecord(aheadArgmaxDone_, stream_), "cudaEventRecord");
    check(cudaGraphLaunch(graphExec_, stream_), "cudaGraphLaunch");
    launched = true;
    check(cudaEventSynchronize(aheadArgmaxDone_), "argmax (synchronize)");
    return *static_cast<volatile const int32_t*>(&stepHost()->token);
  }

  bool bestOfRow(Tensor t, int count, float invTemperature, std::vector<std::pair<float, int32_t>>& best,
                 double& total) override {
    resolvePending({t});
    if (bestScratch_.bytes == 0) {
      bestScratch_.allocate(cuda::bestOfRowScratchBytes(), "sampling scratch");
      check(cudaMemsetAsync(bestScratch_.ptr, 0, size_t(bestScratch_.bytes), stream_), "sampling scratch (clear)");
    }
    if (!bestHostOnDevice_) {  // the kernels write the result straight into pinned host memory: no copy to wait for
      if (!bestHost_.ptr)
        check(cudaHostAlloc(&bestHost_.ptr, size_t(cuda::bestOfRowResultBytes()), cudaHostAllocMapped),
              "sampling result (mapped host memory)");
      check(cudaHostGetDevicePointer(&bestHostOnDevice_, bestHost_.ptr, 0), "sampling result (device address)");
    }
    cuda::bestOfRow(t.f32(), t.cols, std::clamp(count, 1, cuda::kBestOfRowMax), invTemperature, bestScratch_.ptr,
                    bestHostOnDevice_, stream_);
    checkLaunch("bestOfRow");
    check(cudaStreamSynchronize(stream_), "bestOfRow (synchronize)");
    return cuda::bestOfRowRead(bestHost_.ptr, best, &total) > 0;
  }

  // --- Recorded decode steps ---
  bool supportsStepCapture() const override { return true; }

  void setStepInputs(std::span<const int32_t> ids, int64_t pos0) override {
    if (ids.size() > 16) throw Error("CUDA backend: a recorded step takes at most 16 tokens");
    // The pinned source may be written again only once the last step's copy has left it (at once, where a
    // sample has synchronised the stream since).
    check(cudaEventSynchronize(stepInputsSent_), "decode step inputs (synchronize)");
    std::memcpy(stepHost()->ids, ids.data(), ids.size() * 4);
    stepHost()->pos = pos0;
    stepTokens_ = int(ids.size());
    check(cudaMemcpyAsync(stepInputs_.ptr, stepHost(), offsetof(StepInputs, token), cudaMemcpyHostToDevice, stream_),
          "decode step inputs");
    check(cudaEventRecord(stepInputsSent_, stream_), "cudaEventRecord");
  }

  bool replayStep(const KvCache& cache) override {
    if (!graphExec_ || graphCache_ != static_cast<const CudaKvCache&>(cache).serial) return false;
    check(cudaGraphLaunch(graphExec_, stream_), "cudaGraphLaunch");
    return true;
  }

  void beginStepCapture() override {
    if (graphExec_) {
      cudaGraphExecDestroy(graphExec_);
      graphExec_ = nullptr;
    }
    resolvePending({});
    check(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
    capturing_ = true;
    normSites_ = 0;
    check(cudaMemsetAsync(normSums_.ptr, 0, size_t(normSums_.bytes), stream_), "norm sums (clear)");
    cuda::setProgrammaticLaunch(programmaticLaunch_);  // the step's first kernel (after the memset) is plain
  }

  void abortStepCapture() override {
    capturing_ = false;
    cuda::setProgrammaticLaunch(false);
    pending_ = {};
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
  }

  void endStepCapture(const KvCache& cache) override {
    // A row left unscaled at the end of the step (the last layer's MLP input, already consumed) is scratch
    // that nothing reads after the step; the next recording starts clean.
    pending_ = {};
    capturing_ = false;
    cuda::setProgrammaticLaunch(false);
    cudaGraph_t graph = nullptr;
    check(cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture");
    const cudaError_t e = cudaGraphInstantiate(&graphExec_, graph, 0);
    cudaGraphDestroy(graph);
    check(e, "cudaGraphInstantiate");
    graphCache_ = static_cast<const CudaKvCache&>(cache).serial;
    graphTokens_ = stepTokens_;
    check(cudaGraphLaunch(graphExec_, stream_), "cudaGraphLaunch");
  }

 private:
  static cuda::RopeArgs ropeArgs(const RopeParams& rope) {
    if (rope.invFreq.size() > 128) throw Error("CUDA backend: more than 128 rotary pairs are not supported");
    cuda::RopeArgs args;
    std::fill(std::begin(args.invFreq), std::end(args.invFreq), 0.0f);
    std::copy(rope.invFreq.begin(), rope.invFreq.end(), args.invFreq);
    args.pairs = rope.rotaryDim / 2;
    args.scaling = rope.attentionScaling;
    return args;
  }
  // Scales the row matmulAddNorm left unscaled before an op other than the GEMV that reads it touches it
  // (or, with no tensors given, in any case).
  void resolvePending(std::initializer_list<Tensor> touched) {
    xqCopy_ = {};  // every op that writes a tensor passes here first: a quantized copy is then stale
    if (!pending_.touchedBy(touched)) return;
    cuda::scaleNormed(pending_.row().f32(), pending_.cols, pending_.where, pending_.eps, stream_);
    checkLaunch("scaleNormed");
    pending_ = {};
  }
  // The GEMV operand of w for input x: quantized kinds take x's quantized copy when its producer (the
  // op just before) wrote one, else quantize it first. Call before resolvePending.
  cuda::GemvWeight gemvOf(const CudaLinear* w, const Tensor& x) {
    const bool ready = xqCopy_.row != nullptr && xqCopy_.row == x.data && x.rows == 1;
    cuda::GemvWeight g = w->gemv(ready ? xqCopy_.at : xqScratch_[0].ptr);
    g.xqReady = g.kind != cuda::GemvWeight::Bf16 && ready;
    xqCopy_ = {};
    return g;
  }
  // Where a one-row output should also be written quantized (the model has quantized weights and the row
  // fits the scratch), or nullptr: a scratch other than `reading` (the quantized row the writing kernel reads).
  void* quantizedInputFor(const Tensor& out, const void* reading = nullptr) const {
    const bool fits = xqScratch_[0].ptr && out.rows == 1 && out.cols % 32 == 0 && out.stride == out.cols &&
                      cuda::gemvInputScratchBytes(out.cols) <= xqScratch_[0].bytes;
    if (!fits) return nullptr;
    return xqScratch_[0].ptr != reading ? xqScratch_[0].ptr : xqScratch_[1].ptr;
  }

  // Rows of a quantized weight widened at a time for a prefill GEMM: at most widenLimit_ bytes of bf16, a
  // multiple of 64 (or all of them).
  int64_t widenBlockRows(int64_t rows, int64_t cols) const {
    if (rows * cols * 2 <= widenLimit_) return rows;
    return std::max<int64_t>(64, widenLimit_ / (cols * 2) / 64 * 64);
  }

  cuda::Position position(int64_t host) const {
    cuda::Position p;
    p.host = host;
    p.device = capturing_ ? &stepInputs_.as<StepInputs>()->pos : nullptr;
    return p;
  }
  const int32_t* uploadIds(std::span<const int32_t> ids) {
    const int64_t need = int64_t(ids.size()) * 4;
    if (idsBuffer_.bytes < need) idsBuffer_.allocate(std::max<int64_t>(need, 4096 * 4), "token ids");
    check(cudaMemcpyAsync(idsBuffer_.ptr, ids.data(), size_t(need), cudaMemcpyHostToDevice, stream_), "ids upload");
    return idsBuffer_.as<int32_t>();
  }
  WeightHandle keep(std::unique_ptr<Weight> w) {
    weights_.push_back(std::move(w));
    return weights_.back().get();
  }

  int device_ = 0;
  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  int maxSplits_ = 256;
  WeightArena weightArena_;  // before weights_: outlives the buffers placed in it
  std::vector<std::unique_ptr<Weight>> weights_;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
  DeviceBuffer quantGemmPartials_;  // the k splits' sums of a quantized GEMM with few tiles (a few MB)
  DeviceBuffer gemmInput_, idsBuffer_, decodePartials_, stepInputs_, argmaxOut_, bestScratch_;
  // Prefill: a quantized weight's rows widened to bf16 for cuBLAS, a block at a time (widenBlockRows), or
  // the 8-bit cache's layer prefix widened to bf16 for attention. Never both at once (stream order), so one
  // buffer holds either: at 128K with int4 weights and the 8-bit cache, 224 MB instead of 224 + 134 MB.
  DeviceBuffer prefillScratch_;
  DeviceBuffer& prefillScratch(int64_t bytes, const char* what) {
    if (prefillScratch_.bytes < bytes) prefillScratch_.allocate(bytes, what);
    return prefillScratch_;
  }
  // kMaxWidenedWeightBytes, or less with GLMCHAT_CUDA_MAX_WIDEN_BYTES (tests: several blocks with small weights).
  int64_t widenLimit_ = gpu::envBytes("GLMCHAT_CUDA_MAX_WIDEN_BYTES", kMaxWidenedWeightBytes);
  // Rows of x up to which a quantized weight's GEMM runs on its packed tiles (cuda::quantGemm) instead of
  // widening it for cuBLAS; GLMCHAT_CUDA_QUANT_GEMM_ROWS=N sets it (1: always widen). H100, GLM-4-9B int4,
  // prefill of n tokens: packed tiles / widened 8.0 / 31.7 ms at 16, 18.1 / 33.5 at 128, 28.7 / 29.6 at 256,
  // 48.3 / 34.0 at 512 (docs/QUANTIZATION.md).
  int64_t quantGemmRows_ = gpu::envCount("GLMCHAT_CUDA_QUANT_GEMM_ROWS", 256);
  DeviceBuffer kvWide_;          // the widened KV prefix of a recorded step (the generic attention kernel)
  DeviceBuffer xqScratch_[2];    // the decode GEMV's input row quantized to int8 (quantized weights)
  struct {
    const void* row = nullptr;  // the one-row tensor whose quantized copy the op before wrote (nullptr: none)
    void* at = nullptr;         // the scratch holding it
  } xqCopy_;
  bool programmaticLaunch_ = false;  // in recorded steps (GLMCHAT_CUDA_PDL=0: off)
  PinnedHostBuffer bestHost_;         // bestOfRow's result, mapped: the kernels write it at bestHostOnDevice_
  void* bestHostOnDevice_ = nullptr;
  // A recorded step's inputs (read by the graph from stepInputs_ on the device) and, after them, the sampled
  // token on its way back.
  struct StepInputs {
    int32_t ids[16];
    int64_t pos;
    int32_t token;
  };
  PinnedHostBuffer stepPinned_;  // a StepInputs
  StepInputs* stepHost() const { return static_cast<StepInputs*>(stepPinned_.ptr); }
  StepInputs* stepHostOnDevice_ = nullptr;  // stepPinned_ as the device addresses it
  cudaEvent_t stepInputsSent_ = nullptr;
  bool capturing_ = false;
  // matmulAddNorm's fused norms in a recorded step: per call site, normSumSlots() doubles of the residual's
  // sum of squares (cleared at the step's first site), and the normed row whose scale is still to apply.
  static constexpr int kNormSites = 256;
  DeviceBuffer normSums_;
  int normSites_ = 0;
  gpu::PendingNormedRow<const double*> pending_;  // where: the row's sums of squares
  cudaGraphExec_t graphExec_ = nullptr;
  uint64_t graphCache_ = 0;
  int stepTokens_ = 0;   // tokens of the last setStepInputs
  int graphTokens_ = 0;  // tokens of the recorded step
  cudaEvent_t aheadArgmaxDone_ = nullptr;  // argmaxRowThenStep: the argmax's end
  uint64_t cacheSerial_ = 0;
};

}  // namespace
}  // namespace glm

// The library's one entry point. Returns nullptr with the reason written to `reason` when there is
// no usable device (or the engine was built against another interface version).
extern "C" __attribute__((visibility("default"))) glm::Backend* glmchat_create_cuda_backend(int abiVersion, char* reason,
                                                                                             size_t reasonSize) {
  auto fail = [&](const std::string& why) -> glm::Backend* {
    std::snprintf(reason, reasonSize, "%s", why.c_str());
    return nullptr;
  };
  if (abiVersion != glm::kBackendAbiVersion)
    return fail(fmt::format("the CUDA backend library was built for backend interface {}, the engine uses {}",
                            glm::kBackendAbiVersion, abiVersion));
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return fail(fmt::format("no CUDA device: {} ({})", cudaGetErrorString(e), cudaGetErrorName(e)));
  if (count == 0) return fail("no CUDA device: the driver reports none");
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) == cudaSuccess && p.major < 8)
    return fail(fmt::format("CUDA device 0 ({}) has compute capability {}.{}; the CUDA backend needs 8.0 or newer", p.name,
                            p.major, p.minor));
  try {
    return new glm::CudaBackend(0);
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
}
