#include "kernels/cudnn/check.h"

#include <array>

namespace kiln::cudnn {

void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  // cuDNN 9 keeps a detailed message of its last failure; the status name alone is often vague.
  std::array<char, 512> detail{};
  cudnnGetLastErrorString(detail.data(), detail.size());
  ::kiln::cuda::throw_status_error(cudnnGetErrorString(status),
                                   detail[0] != '\0' ? detail.data() : "no detail from cuDNN", call,
                                   file, line);
}

}  // namespace kiln::cudnn
