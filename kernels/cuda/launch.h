// The one way kiln launches a kernel: launch_kernel<kernel>(grid, block, shared_bytes, stream,
// args...). Under nvcc it is the <<<...>>> launch itself, inlined, so device code and the launch
// are what they would be written out by hand. Built by g++ for the host (kiln_kernels_host), the
// same call runs the kernel under kernels/cuda/host/'s emulation of CUDA's execution model, which
// is why no kernel is launched any other way.
#pragma once

#include <cstddef>
#include <utility>

#if defined(__CUDACC__)
#include <cuda_runtime_api.h>
#elif defined(KILN_HOST_KERNELS)
#include "kernels/cuda/host/launch.h"
#else
#error "kernels/cuda/launch.h is for .cu files: built by nvcc, or by g++ for kiln_kernels_host"
#endif

namespace kiln::cuda {

template <auto kKernel, typename... Args>
inline void launch_kernel(dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                          Args&&... args) {
#if defined(__CUDACC__)
  kKernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#else
  host::launch<kKernel>(grid, block, shared_bytes, stream, std::forward<Args>(args)...);
#endif
}

}  // namespace kiln::cuda
