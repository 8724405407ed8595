// cuDNN calls are checked like every CUDA call: a failure throws kiln::cuda::Error naming the call,
// the status and its text, and the file and line.
#pragma once

#include <cudnn.h>

#include "kernels/cuda/check.h"

namespace kiln::cudnn {

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file,
                                    int line);

}  // namespace kiln::cudnn

#define KILN_CUDNN_CHECK(call)                                        \
  KILN_DETAIL_CHECK(call, #call, cudnnStatus_t, CUDNN_STATUS_SUCCESS, \
                    ::kiln::cudnn::throw_cudnn_error)
