// The error checks name the call, the status and its text, and the file and line; device discovery
// turns a missing driver or device into a status with a reason. These run without a GPU.
#include "kernels/cuda/check.h"

#include <gtest/gtest.h>

#include <string>

#include "kernels/cuda/device.h"
#include "kernels/cudnn/check.h"

namespace kiln {
namespace {

std::string message_of(auto&& failing) {
  try {
    failing();
  } catch (const cuda::Error& error) {
    return error.what();
  }
  return "(no error thrown)";
}

TEST(CudaCheck, RuntimeErrorNamesCallStatusAndLocation) {
  const int line = __LINE__ + 1;
  const std::string message = message_of([] { KILN_CUDA_CHECK(cudaErrorMemoryAllocation); });
  EXPECT_NE(message.find("cudaErrorMemoryAllocation failed"), std::string::npos) << message;
  EXPECT_NE(message.find("(out of memory)"), std::string::npos) << message;
  // A project-relative path and the line of the failing call.
  EXPECT_NE(message.find("at tests/kernels/check_test.cpp:" + std::to_string(line)),
            std::string::npos)
      << message;
}

TEST(CudaCheck, SuccessDoesNotThrow) {
  EXPECT_NO_THROW(KILN_CUDA_CHECK(cudaSuccess));
  EXPECT_NO_THROW(KILN_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS));
  EXPECT_NO_THROW(KILN_CURAND_CHECK(CURAND_STATUS_SUCCESS));
  EXPECT_NO_THROW(KILN_CUDNN_CHECK(CUDNN_STATUS_SUCCESS));
}

TEST(CudaCheck, CublasErrorNamesStatus) {
  const std::string message = message_of([] { KILN_CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE); });
  EXPECT_NE(message.find("failed: CUBLAS_STATUS_INVALID_VALUE ("), std::string::npos) << message;
  EXPECT_NE(message.find("check_test.cpp:"), std::string::npos) << message;
}

TEST(CudaCheck, CurandErrorNamesStatus) {
  const std::string message = message_of([] { KILN_CURAND_CHECK(CURAND_STATUS_OUT_OF_RANGE); });
  EXPECT_NE(message.find("failed: CURAND_STATUS_OUT_OF_RANGE (argument out of range)"),
            std::string::npos)
      << message;
}

TEST(CudaCheck, CudnnErrorNamesStatus) {
  const std::string message = message_of([] { KILN_CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); });
  EXPECT_NE(message.find("failed: CUDNN_STATUS_BAD_PARAM"), std::string::npos) << message;
  EXPECT_NE(message.find("check_test.cpp:"), std::string::npos) << message;
}

// A real runtime call: without a driver it fails and the check reports its status by name.
TEST(CudaCheck, RealRuntimeCallIsChecked) {
  int count = -1;
  const cudaError_t raw = cudaGetDeviceCount(&count);
  cudaGetLastError();
  if (raw == cudaSuccess) {
    EXPECT_NO_THROW(KILN_CUDA_CHECK(cudaGetDeviceCount(&count)));
  } else {
    const std::string message = message_of([&] { KILN_CUDA_CHECK(cudaGetDeviceCount(&count)); });
    EXPECT_NE(
        message.find(std::string("cudaGetDeviceCount(&count) failed: ") + cudaGetErrorName(raw)),
        std::string::npos)
        << message;
  }
}

TEST(DeviceStatus, ReasonIsGivenExactlyWhenUnavailable) {
  const auto& status = cuda::device_status();
  EXPECT_EQ(status.available, status.reason.empty()) << status.reason;
  EXPECT_EQ(status.available, status.device_count > 0);
  const std::string line = cuda::describe(status);
  if (status.available) {
    EXPECT_NE(line.find("sm_"), std::string::npos) << line;
  } else {
    EXPECT_EQ(line, "no GPU: " + status.reason);
  }
}

}  // namespace
}  // namespace kiln
