// The host side of kiln::cuda::launch_kernel in kiln_kernels_host: checks the configuration as the
// GPU does at launch, copies the arguments into the kernel's parameter types (as CUDA copies them
// at the launch, not when the kernel runs) and queues the grid on the stream (runtime.cpp).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kiln::cuda::host {

struct KernelLaunch {
  std::string_view kernel;  // the kernel's name, for fault reports
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes;
  std::function<void()> body;  // one thread's execution of the kernel
};

// Queues the launch on `stream`, or records cudaErrorInvalidConfiguration for cudaGetLastError
// when the GPU would refuse it.
void enqueue_launch(cudaStream_t stream, KernelLaunch launch);

// "kiln::cuda::{anonymous}::relu_forward_kernel<true>" from this function's own signature.
template <auto kKernel>
constexpr std::string_view kernel_name() {
  constexpr std::string_view signature = __PRETTY_FUNCTION__;
  constexpr std::string_view key = "kKernel = ";
  constexpr std::size_t begin = signature.find(key) + key.size();
  constexpr std::size_t end = signature.find_first_of(";]", begin);
  return signature.substr(begin, end - begin);
}

template <typename Kernel>
struct Parameters;
template <typename... Params>
struct Parameters<void (*)(Params...)> {
  using Values = std::tuple<std::remove_cvref_t<Params>...>;
};

template <auto kKernel, typename... Args>
void launch(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  using Values = typename Parameters<decltype(kKernel)>::Values;
  enqueue_launch(stream,
                 {kernel_name<kKernel>(), grid, block, shared_bytes,
                  [values = Values(std::forward<Args>(args)...)] { std::apply(kKernel, values); }});
}

}  // namespace kiln::cuda::host
