// Runs a kernel's grid on the calling host thread under CUDA's execution model: each thread of a
// block is a fiber with its own stack and registers, __syncthreads is a barrier over the block,
// warp operations are a rendezvous of the lanes in their mask. Blocks run one after another.
#pragma once

#include <stdexcept>

#include "kernels/cuda/host/launch.h"

namespace kiln::cuda::host {

// What a GPU would hang on or compute garbage from (a barrier some thread skips, a warp operation
// a named lane never reaches, a bad shuffle mask), named with the kernel, block and threads.
class KernelFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs every block of the launch; throws KernelFault at the first fault.
void run_grid(const KernelLaunch& launch);

}  // namespace kiln::cuda::host
