// One-time kernel attributes (dynamic shared memory above 48 KB).
#include "glm_kernels.h"

namespace glm::cuda {
void configureFlashAttention();
void configureDecodeAttention();
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
void configureKernels() {
  configureFlashAttention();
  configureDecodeAttention();
}
}  // namespace glm::cuda
