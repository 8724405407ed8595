#include "kernels/cuda/conv2d_plan.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "kernels/cuda/conv2d.h"

namespace kiln::cuda {
namespace {

// Aim for at least one block per SM (132 on an H100 SXM). The models' GEMMs are small, so a
// grid of 64x64 tiles can leave most SMs idle; a heuristic to tune once measured.
constexpr std::int64_t kBlocksToFill = 132;
// backward_filter never splits K into pieces shorter than this (16 K steps).
constexpr std::int64_t kMinSplitK = 256;
// gridDim.y holds the tiles over M, at most 65535 of at least 32 rows.
constexpr int kMaxChannels = 65535 * 32;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

struct FilterGemm {
  std::int64_t m;  // out_channels
  std::int64_t n;  // in_channels * taps
  std::int64_t k;  // batch * out_pixels
};

FilterGemm filter_gemm(const Conv2dShape& shape) {
  return {shape.out_channels,
          std::int64_t{shape.in_channels} * shape.kernel_height * shape.kernel_width,
          std::int64_t{shape.batch} * shape.out_height() * shape.out_width()};
}

}  // namespace

void check_conv2d_shape(const Conv2dShape& shape, const char* op) {
  shape.validate();
  check_conv2d_limits(shape, op);
}

void check_conv2d_limits(const Conv2dShape& shape, const char* op) {
  const std::string name = std::string(op) + " " + shape.to_string();
  if (shape.input_elements() > kConvMaxElements || shape.output_elements() > kConvMaxElements ||
      shape.weight_elements() > kConvMaxElements) {
    throw std::invalid_argument(name + ": a tensor holds more than 2^30 floats");
  }
  if (shape.in_channels > kMaxChannels || shape.out_channels > kMaxChannels) {
    throw std::invalid_argument(name + ": more than " + std::to_string(kMaxChannels) + " channels");
  }
}

GemmTile choose_gemm_tile(std::int64_t gemm_m, std::int64_t gemm_n) {
  const auto blocks = [&](GemmTile t) { return ceil_div(gemm_m, t.m) * ceil_div(gemm_n, t.n); };
  if (gemm_m > 32) {
    for (const GemmTile t : {GemmTile{64, 64}, GemmTile{64, 32}}) {
      if (blocks(t) >= kBlocksToFill) return t;
    }
  } else if (blocks(GemmTile{32, 64}) >= kBlocksToFill) {
    return {32, 64};
  }
  return {32, 32};
}

// The tile and its count depend on M and N alone, not on the batch, so the number of pieces
// wanted to fill the GPU is the same for every batch; only K caps it, and K grows with the batch.
// The partial sums must fit the 32-bit indexing at the most pieces any batch could ask for.
std::int64_t conv2d_backward_filter_split_bound(const Conv2dShape& shape) {
  const FilterGemm gemm = filter_gemm(shape);
  const GemmTile tile = choose_gemm_tile(gemm.m, gemm.n);
  const std::int64_t tiles = ceil_div(gemm.m, tile.m) * ceil_div(gemm.n, tile.n);
  if (tiles >= kBlocksToFill) return 1;
  const std::int64_t to_fill = ceil_div(kBlocksToFill, tiles);
  if (to_fill * gemm.m * gemm.n > kConvMaxElements) return 1;
  return std::max<std::int64_t>(1, std::min(to_fill, ceil_div(gemm.k, kMinSplitK)));
}

// Rounding each piece up to whole K steps can only lower the count: k_per_split >= K / bound, so
// ceil(K / k_per_split) <= bound.
FilterPlan plan_conv2d_backward_filter(const Conv2dShape& shape) {
  const FilterGemm gemm = filter_gemm(shape);
  const std::int64_t bound = conv2d_backward_filter_split_bound(shape);
  const std::int64_t k_per_split = ceil_div(ceil_div(gemm.k, bound), kConvTileK) * kConvTileK;
  const std::int64_t splits = ceil_div(gemm.k, k_per_split);
  return {choose_gemm_tile(gemm.m, gemm.n), static_cast<int>(splits),
          static_cast<int>(k_per_split)};
}

std::size_t conv2d_workspace_bytes(const Conv2dShape& shape) {
  check_conv2d_shape(shape, "conv2d_workspace_bytes");
  const std::int64_t bound = conv2d_backward_filter_split_bound(shape);
  if (bound == 1) return 0;
  const FilterGemm gemm = filter_gemm(shape);
  return static_cast<std::size_t>(bound * gemm.m * gemm.n) * sizeof(float);
}

}  // namespace kiln::cuda
