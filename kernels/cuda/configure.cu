// One-time kernel attributes (dynamic shared memory above 48 KB).
#include "glm_kernels.h"

namespace glm::cuda {
void configureFlashAttention();
void configureDecodeAttention();
void configureKernels() {
  configureFlashAttention();
  configureDecodeAttention();
}
}  // namespace glm::cuda
