#include "kernels/cuda/device.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

namespace kiln::cuda {
namespace {

std::string cuda_failure(const char* what, cudaError_t status) {
  return fmt::format("{}: {} ({})", what, cudaGetErrorString(status), cudaGetErrorName(status));
}

DeviceStatus probe() {
  DeviceStatus status;
  // Without a driver this fails with cudaErrorInsufficientDriver rather than reporting zero.
  if (const cudaError_t err = cudaGetDeviceCount(&status.device_count); err != cudaSuccess) {
    cudaGetLastError();  // clear it, so later calls do not report it again
    status.device_count = 0;
    status.reason = cuda_failure("no usable CUDA device", err);
    return status;
  }
  if (status.device_count == 0) {
    status.reason = "no CUDA device found";
    return status;
  }
  cudaDeviceProp props{};
  if (const cudaError_t err = cudaGetDeviceProperties(&props, 0); err != cudaSuccess) {
    cudaGetLastError();
    status.reason = cuda_failure("cannot query CUDA device 0", err);
    return status;
  }
  status.available = true;
  status.name = props.name;
  status.compute_major = props.major;
  status.compute_minor = props.minor;
  status.multiprocessors = props.multiProcessorCount;
  status.total_memory_bytes = props.totalGlobalMem;
  return status;
}

}  // namespace

const DeviceStatus& device_status() {
  static const DeviceStatus status = probe();
  return status;
}

std::string describe(const DeviceStatus& status) {
  if (!status.available) {
    return "no GPU: " + status.reason;
  }
  return fmt::format("{} (sm_{}{}, {} SMs, {:.1f} GiB)", status.name, status.compute_major,
                     status.compute_minor, status.multiprocessors,
                     static_cast<double>(status.total_memory_bytes) / (1u << 30));
}

}  // namespace kiln::cuda
