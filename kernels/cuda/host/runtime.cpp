// The subset of the CUDA runtime API that kiln's kernels, runtime and tests call, for the host
// build. Streams are blocking streams with the legacy default stream's ordering: work on the
// default stream waits for all other streams, work on any other stream waits for the default one.
#include "kernels/cuda/host/runtime.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "kernels/cuda/host/launch.h"
#include "kernels/cuda/host/scheduler.h"

// The opaque handle types of the CUDA headers.
struct CUgraph_st {
  std::vector<std::function<void()>> work;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> work;
};
struct CUstream_st {
  std::deque<std::function<void()>> pending;
  CUgraph_st* capture = nullptr;  // while capturing
};
struct CUevent_st {
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
  cudaStream_t stream = nullptr;
};

namespace kiln::cuda::host {
namespace {

constexpr std::size_t kAllocationAlignment = 256;  // cudaMalloc's guarantee
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr std::size_t kMaxSharedBytes = 48 << 10;  // without cudaFuncSetAttribute

struct Device {
  std::recursive_mutex mutex;  // one device, used from any host thread
  CUstream_st legacy_stream;
  std::set<CUstream_st*> streams;
  std::set<void*> allocations;
  cudaError_t last_error = cudaSuccess;    // cleared by cudaGetLastError
  cudaError_t sticky_error = cudaSuccess;  // a kernel fault; cleared by cudaDeviceReset
  std::string fault;
};

Device& device() {
  static Device instance;
  return instance;
}

CUstream_st* resolve(cudaStream_t stream) {
  return stream == nullptr ? &device().legacy_stream : stream;
}

cudaError_t fail(cudaError_t error) {
  device().last_error = error;
  return error;
}

// Runs the stream's queued work in order; a kernel fault makes the device unusable.
void drain(CUstream_st* stream) {
  Device& d = device();
  while (!stream->pending.empty()) {
    auto work = std::move(stream->pending.front());
    stream->pending.pop_front();
    if (d.sticky_error != cudaSuccess) continue;
    try {
      work();
    } catch (const KernelFault& fault) {
      d.sticky_error = cudaErrorLaunchFailure;
      d.fault = fault.what();
      std::cerr << "kiln host kernels: " << d.fault << '\n';
    }
  }
}

void drain_all() {
  for (CUstream_st* stream : device().streams) drain(stream);
  drain(&device().legacy_stream);
}

cudaError_t status() { return device().sticky_error; }

}  // namespace

void enqueue(cudaStream_t stream, std::function<void()> work) {
  std::lock_guard lock(device().mutex);
  CUstream_st* target = resolve(stream);
  if (target->capture != nullptr) {
    target->capture->work.push_back(std::move(work));
    return;
  }
  if (target == &device().legacy_stream) {
    for (CUstream_st* other : device().streams) drain(other);
  } else {
    drain(&device().legacy_stream);
  }
  target->pending.push_back(std::move(work));
}

std::string last_fault() {
  std::lock_guard lock(device().mutex);
  return device().fault;
}

void enqueue_launch(cudaStream_t stream, KernelLaunch launch) {
  const dim3 b = launch.block;
  const dim3 g = launch.grid;
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || b.x > 1024 || b.y > 1024 || b.z > 64 ||
      g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
    std::lock_guard lock(device().mutex);
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  if (launch.shared_bytes > kMaxSharedBytes) {
    std::lock_guard lock(device().mutex);
    fail(cudaErrorInvalidValue);
    return;
  }
  enqueue(stream, [launch = std::move(launch)] { run_grid(launch); });
}

}  // namespace kiln::cuda::host

using kiln::cuda::host::device;
using kiln::cuda::host::enqueue;
using kiln::cuda::host::fail;

namespace {

std::unique_lock<std::recursive_mutex> lock_device() { return std::unique_lock(device().mutex); }

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* props, int device_index) {
  if (device_index != 0) return fail(cudaErrorInvalidDevice);
  *props = cudaDeviceProp{};
  std::snprintf(props->name, sizeof props->name, "kiln host emulation (kiln_kernels_host)");
  props->major = 9;
  props->minor = 0;
  props->multiProcessorCount = 1;
  props->warpSize = 32;
  props->maxThreadsPerBlock = 1024;
  props->sharedMemPerBlock = 48 << 10;
  props->totalGlobalMem = static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) *
                          static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  auto lock = lock_device();
  if (device().sticky_error != cudaSuccess) return device().sticky_error;
  return std::exchange(device().last_error, cudaSuccess);
}

cudaError_t cudaPeekAtLastError() {
  auto lock = lock_device();
  if (device().sticky_error != cudaSuccess) return device().sticky_error;
  return device().last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    default:
      return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure (a kernel fault; see kiln host kernels on stderr)";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorNotReady:
      return "device not ready";
    default:
      return "unknown error";
  }
}

cudaError_t cudaDeviceReset() {
  auto lock = lock_device();
  kiln::cuda::host::drain_all();
  device().sticky_error = cudaSuccess;
  device().last_error = cudaSuccess;
  device().fault.clear();
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  auto lock = lock_device();
  kiln::cuda::host::drain_all();
  return kiln::cuda::host::status();
}

cudaError_t cudaMalloc(void** pointer, std::size_t bytes) {
  auto lock = lock_device();
  if (kiln::cuda::host::status() != cudaSuccess) return kiln::cuda::host::status();
  const std::size_t rounded =
      (std::max<std::size_t>(bytes, 1) + kiln::cuda::host::kAllocationAlignment - 1) /
      kiln::cuda::host::kAllocationAlignment * kiln::cuda::host::kAllocationAlignment;
  *pointer = std::aligned_alloc(kiln::cuda::host::kAllocationAlignment, rounded);
  if (*pointer == nullptr) return fail(cudaErrorMemoryAllocation);
  device().allocations.insert(*pointer);
  return cudaSuccess;
}

cudaError_t cudaFree(void* pointer) {
  auto lock = lock_device();
  if (pointer == nullptr) return cudaSuccess;
  // cudaFree waits for the device, so queued work that still reads the memory runs first.
  kiln::cuda::host::drain_all();
  if (device().allocations.erase(pointer) == 0) return fail(cudaErrorInvalidDevicePointer);
  std::free(pointer);
  return kiln::cuda::host::status();
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  cudaDeviceProp props;
  cudaGetDeviceProperties(&props, 0);
  *total_bytes = props.totalGlobalMem;
  *free_bytes = static_cast<std::size_t>(sysconf(_SC_AVPHYS_PAGES)) *
                static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* destination, const void* source, std::size_t bytes,
                            cudaMemcpyKind /*kind*/, cudaStream_t stream) {
  auto lock = lock_device();
  if (kiln::cuda::host::status() != cudaSuccess) return kiln::cuda::host::status();
  enqueue(stream, [=] {
    if (bytes > 0) std::memcpy(destination, source, bytes);
  });
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* destination, int value, std::size_t bytes, cudaStream_t stream) {
  auto lock = lock_device();
  if (kiln::cuda::host::status() != cudaSuccess) return kiln::cuda::host::status();
  enqueue(stream, [=] {
    if (bytes > 0) std::memset(destination, value, bytes);
  });
  return cudaSuccess;
}

// The synchronous copy returns when the copy is done, after the work queued before it.
cudaError_t cudaMemcpy(void* destination, const void* source, std::size_t bytes,
                       cudaMemcpyKind kind) {
  auto lock = lock_device();
  const cudaError_t queued = cudaMemcpyAsync(destination, source, bytes, kind, nullptr);
  if (queued != cudaSuccess) return queued;
  kiln::cuda::host::drain(&device().legacy_stream);
  return kiln::cuda::host::status();
}

cudaError_t cudaMemset(void* destination, int value, std::size_t bytes) {
  return cudaMemsetAsync(destination, value, bytes, nullptr);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int /*flags*/) {
  auto lock = lock_device();
  *stream = new CUstream_st;
  device().streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  auto lock = lock_device();
  if (device().streams.erase(stream) == 0) return fail(cudaErrorInvalidResourceHandle);
  // Work queued before the destruction still runs, as on a GPU.
  kiln::cuda::host::drain(stream);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  auto lock = lock_device();
  CUstream_st* target = kiln::cuda::host::resolve(stream);
  if (target->capture != nullptr) return fail(cudaErrorStreamCaptureUnsupported);
  if (target == &device().legacy_stream) {
    kiln::cuda::host::drain_all();
  } else {
    kiln::cuda::host::drain(target);
  }
  return kiln::cuda::host::status();
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode /*mode*/) {
  auto lock = lock_device();
  CUstream_st* target = kiln::cuda::host::resolve(stream);
  if (target == &device().legacy_stream || target->capture != nullptr) {
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  kiln::cuda::host::drain(target);
  target->capture = new CUgraph_st;
  return kiln::cuda::host::status();
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  auto lock = lock_device();
  CUstream_st* target = kiln::cuda::host::resolve(stream);
  if (target->capture == nullptr) return fail(cudaErrorIllegalState);
  *graph = std::exchange(target->capture, nullptr);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                 unsigned long long /*flags*/) {
  *exec = new CUgraphExec_st{graph->work};
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* count) {
  if (nodes != nullptr) return fail(cudaErrorNotSupported);  // only the count is emulated
  *count = graph->work.size();
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  auto lock = lock_device();
  if (kiln::cuda::host::status() != cudaSuccess) return kiln::cuda::host::status();
  for (const auto& work : exec->work) enqueue(stream, work);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  auto lock = lock_device();
  event->stream = stream;
  event->recorded = false;
  enqueue(stream, [event] {
    event->time = std::chrono::steady_clock::now();
    event->recorded = true;
  });
  return kiln::cuda::host::status();
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) { return cudaStreamSynchronize(event->stream); }

cudaError_t cudaStreamWaitEvent(cudaStream_t /*stream*/, cudaEvent_t event, unsigned int) {
  // Everything queued before the event runs before anything queued after this call.
  auto lock = lock_device();
  kiln::cuda::host::drain(kiln::cuda::host::resolve(event->stream));
  return kiln::cuda::host::status();
}

cudaError_t cudaEventElapsedTime(float* milliseconds, cudaEvent_t start, cudaEvent_t end) {
  if (!start->recorded || !end->recorded) return fail(cudaErrorNotReady);
  *milliseconds = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
