// The engine's self-test: a backend's operations against a float64 reference on fresh random inputs,
// and the full model against the transformers reference fixtures. `glmchat-cli selftest` runs it; on
// the GPU machine it is how the CUDA and Vulkan backends are checked.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "glmengine/model.h"

namespace glm {

struct SelftestOptions {
  BackendKind backend = BackendKind::Cpu;
  std::filesystem::path fixturesDir;  // folder of fixture folders (each with expected.safetensors); empty = skip
  bool quick = false;                 // skip the long-context attention check (lengths past 64K)
  uint64_t seed = 0;                  // 0 = a fresh seed from the clock (printed, so a failure can be replayed)
  int threads = 0;
  int gpuDevice = -1;                 // Vulkan device index; -1 = the best GPU
  bool noSkip = false;                // a missing GPU device is a failure, not a skip (CI with lavapipe)
};

struct SelftestCheck {
  std::string name;
  double error = 0;      // relative L2 error (or count of mismatches where said)
  double tolerance = 0;
  bool passed = false;
  std::string detail;
};

struct SelftestReport {
  std::string backend;
  uint64_t seed = 0;
  std::vector<SelftestCheck> checks;
  // Set (and no checks run) when the backend cannot run here for a reason that is not a fault of the
  // build, e.g. "SKIP: no CUDA device (...)" on a machine without a GPU; passed() is then true.
  std::string skipped;
  // Parts not checked because the backend does not have them yet (e.g. quantized weights on Vulkan).
  std::vector<std::string> notChecked;
  bool passed() const;
};

// Runs every check; each finished check is also passed to onCheck as it completes.
SelftestReport runSelftest(const SelftestOptions& options,
                           const std::function<void(const SelftestCheck&)>& onCheck = {});

// The relative error tolerances the checks use, by backend (stated here so the docs can quote them).
struct SelftestTolerances {
  double kernel;    // single operations vs float64
  double fixture;   // whole-model logits vs transformers (float64)
};
SelftestTolerances selftestTolerances(BackendKind backend);

}  // namespace glm

namespace glm {

// Operation benchmarks through the Backend interface, so the CUDA and Vulkan backends are timed by the
// same harness on the same shapes (GLM-4-9B: 32 query / 2 KV heads, head dim 128, hidden 4096):
// causal prefill attention (TFLOP/s, counted as 4·S²·128·32/2), decode attention at a long context
// (GB/s of K and V read), the decode GEMV (GB/s of weights) and a prefill GEMM (TFLOP/s).
struct OpBenchOptions {
  BackendKind backend = BackendKind::Cuda;
  int gpuDevice = -1;
  std::vector<int> attentionLengths = {4096, 16384, 32768};
  int repeats = 5;
};
struct OpBenchResult {
  std::string op;   // "attention_prefill", "attention_decode", "gemv", "gemm"
  std::string shape;
  double ms = 0, tflops = 0, gbps = 0;
};
// Returns the results; `description` gets the backend's describe().
std::vector<OpBenchResult> runOpBenchmarks(const OpBenchOptions& options, std::string& description);

}  // namespace glm
