// One-time kernel attributes (dynamic shared memory above 48 KB, the decode step's shared-memory carveout).
#include <cstdlib>

#include "glm_kernels.h"

namespace glm::cuda {
void configureFlashAttention();
void configureDecodeAttention(int carveoutPercent);
void configureGemv(int carveoutPercent);
void configureElementwise(int carveoutPercent);
namespace {
thread_local bool programmatic = false;
thread_local bool plainNext = false;
}  // namespace
void setProgrammaticLaunch(bool on) {
  programmatic = on;
  plainNext = true;
}
void programmaticBarrier() { plainNext = true; }
bool takeProgrammaticLaunch() {
  if (!programmatic) return false;
  if (plainNext) {
    plainNext = false;
    return false;
  }
  return true;
}
// The shared-memory carveout (percent of the most an SM can give) of the decode step's kernels other than
// its attention: the GEMVs, the attention's combine and SwiGLU. Their own shared memory is small, so without a
// preference the driver sizes their SM's split for them; 80% (196 KB of shared memory, 60 KB of L1) sits next
// to the attention's maximum, which an SM must otherwise switch to and from around every attention (our reading
// of the figures: an SM changes its split only when idle, so a kernel of another split cannot start there while
// the last one's blocks run, which takes away what programmatic launch overlaps). H200,
// decode tokens/s at 1K, one call, against no preference: int4 511-512 -> 522-524, int8 368 -> 386, bf16
// 211 -> 214, int4 at 128K 301.5 -> 309.2. The other sizes measured (percent: int4 / int8 at 1K): 0 440 / 333,
// 35 526 / 382, 50 522 / 378, 65 515 / 376, 100 492 / 372 (28 KB of L1 is too little for the GEMVs' x and
// loads in flight); the combine and SwiGLU left to the driver with the GEMVs at 80: 516 / 380.
// Measured on Hopper only (where the step's kernels overlap by programmatic launch), so other GPUs keep the
// driver's choice. GLMCHAT_CUDA_DECODE_CARVEOUT overrides it on any GPU (-1: no preference).
void configureKernels() {
  int device = 0, major = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  int carveout = major >= 9 ? 80 : int(cudaSharedmemCarveoutDefault);
  if (const char* env = std::getenv("GLMCHAT_CUDA_DECODE_CARVEOUT")) {  // as the other knobs: ignored unless valid
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= -1 && v <= 100) carveout = int(v);
  }
  configureFlashAttention();
  configureDecodeAttention(carveout);
  configureGemv(carveout);
  configureElementwise(carveout);
}
}  // namespace glm::cuda
