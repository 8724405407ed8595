#include "kernels/cuda/check.h"

#include <fmt/format.h>

#include <cstdlib>
#include <string_view>

namespace kiln::cuda {
namespace {

// __FILE__ is absolute; messages are easier to read relative to the project root.
std::string_view project_relative(std::string_view file) {
  constexpr std::string_view root = KILN_SOURCE_DIR;
  if (file.starts_with(root)) {
    file.remove_prefix(root.size());
  }
  return file;
}

}  // namespace

void throw_status_error(std::string_view status_name, std::string_view status_text,
                        const char* call, const char* file, int line) {
  throw Error(fmt::format("{} failed: {} ({}) at {}:{}", call, status_name, status_text,
                          project_relative(file), line));
}

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw_status_error(cudaGetErrorName(status), cudaGetErrorString(status), call, file, line);
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw_status_error(cublasGetStatusName(status), cublasGetStatusString(status), call, file, line);
}

void throw_curand_error(curandStatus_t status, const char* call, const char* file, int line) {
  const auto [name, text] = curand_status_text(status);
  throw_status_error(name, text, call, file, line);
}

CurandStatusText curand_status_text(curandStatus_t status) {
  switch (status) {
    case CURAND_STATUS_SUCCESS:
      return {"CURAND_STATUS_SUCCESS", "no error"};
    case CURAND_STATUS_VERSION_MISMATCH:
      return {"CURAND_STATUS_VERSION_MISMATCH", "header and library versions differ"};
    case CURAND_STATUS_NOT_INITIALIZED:
      return {"CURAND_STATUS_NOT_INITIALIZED", "generator not initialised"};
    case CURAND_STATUS_ALLOCATION_FAILED:
      return {"CURAND_STATUS_ALLOCATION_FAILED", "memory allocation failed"};
    case CURAND_STATUS_TYPE_ERROR:
      return {"CURAND_STATUS_TYPE_ERROR", "wrong generator type"};
    case CURAND_STATUS_OUT_OF_RANGE:
      return {"CURAND_STATUS_OUT_OF_RANGE", "argument out of range"};
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE:
      return {"CURAND_STATUS_LENGTH_NOT_MULTIPLE", "length is not a multiple of the dimension"};
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED:
      return {"CURAND_STATUS_DOUBLE_PRECISION_REQUIRED", "GPU lacks double precision"};
    case CURAND_STATUS_LAUNCH_FAILURE:
      return {"CURAND_STATUS_LAUNCH_FAILURE", "kernel launch failed"};
    case CURAND_STATUS_PREEXISTING_FAILURE:
      return {"CURAND_STATUS_PREEXISTING_FAILURE", "an earlier failure is pending"};
    case CURAND_STATUS_INITIALIZATION_FAILED:
      return {"CURAND_STATUS_INITIALIZATION_FAILED", "CUDA initialisation failed"};
    case CURAND_STATUS_ARCH_MISMATCH:
      return {"CURAND_STATUS_ARCH_MISMATCH", "GPU architecture does not support this"};
    case CURAND_STATUS_INTERNAL_ERROR:
      return {"CURAND_STATUS_INTERNAL_ERROR", "internal error"};
  }
  return {"CURAND_STATUS_UNKNOWN", "unknown status"};
}

bool sync_after_launch() {
  static const bool enabled = [] {
    const char* value = std::getenv("KILN_SYNC_LAUNCHES");
    return value != nullptr && std::string_view(value) == "1";
  }();
  return enabled;
}

}  // namespace kiln::cuda
