// NVTX ranges (CUDA's header-only NVTX 3) so that a profile in Nsight Systems reads like the
// model: each layer's forward and backward, the batch gather, the loss and the optimizer step, in
// kiln's own domain. Names are registered once, before training, so opening a range in a step
// allocates nothing; without a profiler attached a range costs two calls that return at once.
// Ranges mark host time: with --cuda-graph on they show the one step that was captured, and the
// replays then show as graph launches.
#pragma once

#include <nvtx3/nvtx3.hpp>

namespace kiln {

struct NvtxDomain {
  static constexpr const char* name{"kiln"};
};

using NvtxName = nvtx3::registered_string_in<NvtxDomain>;
using NvtxRange = nvtx3::scoped_range_in<NvtxDomain>;

}  // namespace kiln
