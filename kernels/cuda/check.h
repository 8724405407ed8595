// Every CUDA runtime, cuBLAS and cuRAND call is checked. A failure throws kiln::cuda::Error whose
// message names the call as written, the status and its text, and the file and line:
//   cudaMalloc(&p, bytes) failed: cudaErrorMemoryAllocation (out of memory) at kernels/x.cu:42
// Throwing (not exiting) lets the apps print one clean line and tests assert on the failure.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <curand.h>

#include <stdexcept>
#include <string_view>

namespace kiln::cuda {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The one message format of every library's check: "<call> failed: <name> (<text>) at
// <file>:<line>".
[[noreturn]] void throw_status_error(std::string_view status_name, std::string_view status_text,
                                     const char* call, const char* file, int line);
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);
[[noreturn]] void throw_curand_error(curandStatus_t status, const char* call, const char* file,
                                     int line);

// cuRAND has no status-to-text function of its own.
struct CurandStatusText {
  const char* name;
  const char* text;
};
CurandStatusText curand_status_text(curandStatus_t status);

// True when KILN_SYNC_LAUNCHES=1: each launch check then waits for the kernel to finish, so an
// asynchronous fault is reported at the launch that caused it. Debugging only: it serialises the
// stream and cannot run inside CUDA graph capture.
bool sync_after_launch();

}  // namespace kiln::cuda

// The shared body of the checks below: `call` is evaluated once, `call_text` is how it was written.
#define KILN_DETAIL_CHECK(call, call_text, Status, success, thrower) \
  do {                                                               \
    const Status kiln_status_ = (call);                              \
    if (kiln_status_ != (success)) {                                 \
      thrower(kiln_status_, call_text, __FILE__, __LINE__);          \
    }                                                                \
  } while (0)

#define KILN_CUDA_CHECK(call) \
  KILN_DETAIL_CHECK(call, #call, cudaError_t, cudaSuccess, ::kiln::cuda::throw_cuda_error)
#define KILN_CUBLAS_CHECK(call)                                         \
  KILN_DETAIL_CHECK(call, #call, cublasStatus_t, CUBLAS_STATUS_SUCCESS, \
                    ::kiln::cuda::throw_cublas_error)
#define KILN_CURAND_CHECK(call)                                         \
  KILN_DETAIL_CHECK(call, #call, curandStatus_t, CURAND_STATUS_SUCCESS, \
                    ::kiln::cuda::throw_curand_error)

// After a kernel launch: reports a bad launch configuration at once and, under KILN_SYNC_LAUNCHES,
// a fault inside the kernel named by `kernel_name`.
#define KILN_CUDA_CHECK_LAUNCH(kernel_name)                                             \
  do {                                                                                  \
    KILN_CUDA_CHECK(cudaGetLastError());                                                \
    if (::kiln::cuda::sync_after_launch()) {                                            \
      KILN_DETAIL_CHECK(cudaDeviceSynchronize(), kernel_name, cudaError_t, cudaSuccess, \
                        ::kiln::cuda::throw_cuda_error);                                \
    }                                                                                   \
  } while (0)
