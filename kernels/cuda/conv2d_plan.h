// How the custom convolution (conv2d.cu) cuts its three GEMMs into blocks: host code, shared by
// the launchers and the tests, which check the planning on machines without a GPU. Every function
// here is a pure function of the shape.
#pragma once

#include <cstdint>

#include "kernels/shapes.h"

namespace kiln::cuda {

// The tiled GEMM advances K this many at a time; backward_filter's pieces of K are multiples.
inline constexpr int kConvTileK = 16;
// Every index the kernels compute (a tensor offset, a tile origin plus its extent) stays below
// 2^31 when each tensor, and the workspace, holds at most 2^30 floats.
inline constexpr std::int64_t kConvMaxElements = std::int64_t{1} << 30;

// Throws std::invalid_argument, naming `op` and the shape, for an invalid shape or one the
// kernels' 32-bit indexing or grid cannot cover.
void check_conv2d_shape(const Conv2dShape& shape, const char* op);
// The second half alone, for a shape Backend (kernels/backend.cpp) has already validated.
void check_conv2d_limits(const Conv2dShape& shape, const char* op);

// A block's tile of C: 64x64, 64x32, 32x64 or 32x32.
struct GemmTile {
  int m;
  int n;
};

// The largest tile whose grid still has a block per SM, else the smallest.
GemmTile choose_gemm_tile(std::int64_t gemm_m, std::int64_t gemm_n);

// How backward_filter covers its K = batch * out_pixels: `splits` pieces of k_per_split (a
// multiple of kConvTileK, the last one shorter), none empty. With splits > 1 each piece writes
// its partial tile into the workspace and a second kernel adds them in a fixed order.
struct FilterPlan {
  GemmTile tile;
  int splits;
  int k_per_split;
};

FilterPlan plan_conv2d_backward_filter(const Conv2dShape& shape);

// The pieces backward_filter asks for before K is rounded to whole steps: never fewer than
// plan_conv2d_backward_filter(shape).splits, and never fewer for a larger batch, so the
// workspace sized from it at the graph's planned batch holds every shorter batch's partial sums.
std::int64_t conv2d_backward_filter_split_bound(const Conv2dShape& shape);

}  // namespace kiln::cuda
