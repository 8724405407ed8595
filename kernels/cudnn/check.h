// cuDNN calls are checked like every CUDA call: a failure throws kiln::cuda::Error naming the call,
// the status and its text, and the file and line.
#pragma once

#include <cudnn.h>

#include "kernels/cuda/check.h"

namespace kiln::cudnn {

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file,
                                    int line);

}  // namespace kiln::cudnn

#define KILN_CUDNN_CHECK(call)                                                   \
  do {                                                                           \
    const cudnnStatus_t kiln_status_ = (call);                                   \
    if (kiln_status_ != CUDNN_STATUS_SUCCESS) {                                  \
      ::kiln::cudnn::throw_cudnn_error(kiln_status_, #call, __FILE__, __LINE__); \
    }                                                                            \
  } while (0)
