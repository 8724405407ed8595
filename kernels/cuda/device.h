// Device discovery. "No driver" and "no device" are ordinary states on development machines and
// in CI, so they are reported as a status with a reason rather than thrown.
#pragma once

#include <cstddef>
#include <string>

namespace kiln::cuda {

struct DeviceStatus {
  bool available = false;
  std::string reason;  // why no GPU can be used; empty when available
  int device_count = 0;
  // Of device 0, when available.
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  std::size_t total_memory_bytes = 0;
};

// Probes once per process; later calls return the same status. Never throws.
const DeviceStatus& device_status();

// One line for logs: "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)" or "no GPU: <reason>".
std::string describe(const DeviceStatus& status);

}  // namespace kiln::cuda
