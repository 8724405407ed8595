// conv2d on the GPU as implicit GEMM: each pass is one matrix product whose operands are read
// straight from the NCHW tensors, the im2col gather done while a tile is loaded into shared
// memory, so no column matrix is ever written (the CPU reference writes one;
// kernels/cpu/conv2d.cpp).
//
//   pass             C[M x N] = sum over K of A[M x K] * B[K x N]
//   forward          M = out_channels  N = batch*out_h*out_w  K = in_channels*kh*kw
//                    A = weight [out, in*kh*kw], B = columns of x (gathered), C -> y (+ bias)
//   backward_data    M = in_channels   N = batch*in_h*in_w    K = out_channels*kh*kw
//                    A = weight seen as [in, out*kh*kw], B = dy gathered through the inverse
//                    mapping: input pixel h is tap i of output row p when h + pad - i = p * stride
//                    (only taps where (h + pad - i) % stride == 0 contribute), C -> dx
//   backward_filter  M = out_channels  N = in_channels*kh*kw  K = batch*out_h*out_w
//                    A = dy, B = columns of x transposed (gathered), C -> dweight
//
// The shapes we train (docs/recipes.md; FLOPs per pass, each backward pass costs the same as
// forward):
//
//   layer          M     N      K    MFLOP   x KB   w KB   y KB   FLOP/byte
//   mnist layer1   32  25088     9    14.5    100    1.2   3211     4.4   (batch 32)
//   mnist layer2   64   6272   288   231.2    803   73.7   1606    93
//   mnist layer3  128   1568   576   231.2    401  294.9    803   154
//   lenet conv1     6  11520    25     3.5     63    0.6    276    10     (batch 20)
//   lenet conv2    10   1280   150     3.8     69    6.0     51    30
//
// Against the H100's ridge point (67 TFLOP/s / 3 TB/s = 22 FLOP/byte), layers 2 and 3 are
// compute-bound (3.5 us at peak each), the single-input-channel first layers are bound by writing
// y. Hence two paths:
//
// - The general path, for every shape: a shared-memory tiled GEMM. A block computes a tile of C
//   (64x64, 64x32 or 32x32), each thread a 4x4 micro-tile in registers, float32 FMAs. K advances
//   16 at a time; the next tile's global loads are issued into registers before the current tile
//   is multiplied and stored into the other of two shared buffers afterwards, so one barrier per
//   step suffices and the load latency hides behind 16 x 16 FMAs per thread. Per K step a block
//   loads (64 + 64) x 16 floats for 64 x 64 x 16 FMAs (32 FMAs per float loaded; 16 on 32x32
//   tiles) and a thread reads two float4s from shared memory per 16 FMAs. Tiles get smaller
//   until the grid has a block per SM, as the models' GEMMs are small: layer3's forward has only
//   50 tiles of 64x64 for 132 SMs. backward_filter's K is long (25088 for layer1) and its M x N
//   small, so it also splits K across blocks: each split writes its partial tile to the workspace
//   and a second kernel adds the splits in a fixed order. No atomics anywhere: the results are
//   bit-for-bit reproducible.
// - A direct kernel for the forward pass of a single-input-channel 3x3 or 5x5 convolution (both
//   first layers; K = 9 or 25 would waste most of a 16-deep K step): each thread holds its
//   output pixel's window of x in registers and writes every output channel of that pixel, with
//   the filters in shared memory. That makes the pass a stream of coalesced writes of y.
//
// The im2col index arithmetic (integer divisions to split k or n into channel, row and column)
// costs a few dozen instructions per loaded element, against 16 to 32 FMAs per loaded element;
// kept for readability until measured (precomputed tap tables or incremental (c, i, j) counters,
// as CUTLASS does, are the known remedy).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_plan.h"
#include "kernels/cuda/launch.h"

namespace kiln::cuda {
namespace {

// ---------------------------------------------------------------------------------------------
// The shape as the kernels see it: plain ints, output size included.

struct ConvGeometry {
  int batch;
  int in_channels;
  int in_height;
  int in_width;
  int out_channels;
  int kernel_height;
  int kernel_width;
  int stride_height;
  int stride_width;
  int pad_height;
  int pad_width;
  int out_height;
  int out_width;

  __host__ __device__ int in_pixels() const { return in_height * in_width; }
  __host__ __device__ int out_pixels() const { return out_height * out_width; }
  __host__ __device__ int kernel_taps() const { return kernel_height * kernel_width; }
};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// ---------------------------------------------------------------------------------------------
// The tiled GEMM shared by the three passes.
//
// A block owns a kTileM x kTileN tile of C. Its threads form a (kTileM/4) x (kTileN/4) grid;
// thread (ty, tx) accumulates rows 4*ty..4*ty+3 and columns 4*tx..4*tx+3 of the tile. Per K step
// the block stages a kTileK x kTileM slice of A and a kTileK x kTileN slice of B in shared memory,
// both stored k-major (slice[k][m]) so that a thread reads its 4 rows of A and 4 columns of B for
// one k as two float4s.

constexpr int kTileK = kConvTileK;
constexpr int kMicroTile = 4;
// Pads each shared row by 4 floats: rows stay 16-byte aligned for the float4 reads, and a warp's
// k-fastest stores (16 k by 2 rows) hit 16 banks twice each instead of 2 banks 16 times.
constexpr int kSkew = 4;

template <int kTileM, int kTileN>
constexpr int kGemmThreads = (kTileM / kMicroTile) * (kTileN / kMicroTile);

// Which elements of a kTileK x kExtent operand slice thread `tid` loads. kKFastest: consecutive
// threads take consecutive k (for operands contiguous along k, such as a weight row), so a
// thread keeps one k and walks the m (or n) axis; otherwise consecutive threads take consecutive
// m or n (for operands contiguous along it, such as a row of output pixels) and a thread keeps one
// m or n and walks k. Element r of the thread is at (k(tid, r), x(tid, r)) of the slice.
template <int kExtent, int kThreads, bool kKFastest>
struct TileMap {
  static_assert(kThreads % kTileK == 0 && kThreads % kExtent == 0);
  static_assert((kTileK * kExtent) % kThreads == 0);
  static constexpr int kPerThread = kTileK * kExtent / kThreads;

  __device__ static int k(int tid, int r) {
    return kKFastest ? tid % kTileK : tid / kExtent + (kThreads / kExtent) * r;
  }
  __device__ static int x(int tid, int r) {
    return kKFastest ? tid / kTileK + (kThreads / kTileK) * r : tid % kExtent;
  }
};

// Accumulates the block's tile of C over k in [k_begin, k_end) into acc. load_a(k0, regs) and
// load_b(k0, regs) fetch this thread's elements of the slices starting at k0 (positions given by
// TileMapA and TileMapB), reading 0 outside the matrices and at k >= k_end. Called by every
// thread of the block with the same k range.
template <int kTileM, int kTileN, typename TileMapA, typename TileMapB, typename LoadA,
          typename LoadB>
__device__ __forceinline__ void gemm_mainloop(int k_begin, int k_end, const LoadA& load_a,
                                              const LoadB& load_b,
                                              float (&acc)[kMicroTile][kMicroTile]) {
  __shared__ __align__(16) float a_slice[2][kTileK][kTileM + kSkew];
  __shared__ __align__(16) float b_slice[2][kTileK][kTileN + kSkew];

  const int tid = static_cast<int>(threadIdx.x);
  const int ty = tid / (kTileN / kMicroTile);
  const int tx = tid % (kTileN / kMicroTile);
  float a_regs[TileMapA::kPerThread];
  float b_regs[TileMapB::kPerThread];
  const auto stash = [&](int buffer) {
#pragma unroll
    for (int r = 0; r < TileMapA::kPerThread; ++r) {
      a_slice[buffer][TileMapA::k(tid, r)][TileMapA::x(tid, r)] = a_regs[r];
    }
#pragma unroll
    for (int r = 0; r < TileMapB::kPerThread; ++r) {
      b_slice[buffer][TileMapB::k(tid, r)][TileMapB::x(tid, r)] = b_regs[r];
    }
  };

  const int steps = (k_end - k_begin + kTileK - 1) / kTileK;
  if (steps <= 0) return;
  load_a(k_begin, a_regs);
  load_b(k_begin, b_regs);
  stash(0);
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int buffer = step & 1;
    const bool has_next = step + 1 < steps;
    // Issue the next slice's global loads now; they complete while this slice is multiplied.
    if (has_next) {
      load_a(k_begin + (step + 1) * kTileK, a_regs);
      load_b(k_begin + (step + 1) * kTileK, b_regs);
    }
#pragma unroll
    for (int k = 0; k < kTileK; ++k) {
      const float4 a = *reinterpret_cast<const float4*>(&a_slice[buffer][k][ty * kMicroTile]);
      const float4 b = *reinterpret_cast<const float4*>(&b_slice[buffer][k][tx * kMicroTile]);
      const float a_frag[kMicroTile] = {a.x, a.y, a.z, a.w};
      const float b_frag[kMicroTile] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < kMicroTile; ++i) {
#pragma unroll
        for (int j = 0; j < kMicroTile; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
      }
    }
    // The other buffer was last read in the previous step, before the barrier that ended it.
    if (has_next) stash(buffer ^ 1);
    __syncthreads();
  }
}

// The first row and column of C that thread `tid` accumulates, relative to the tile.
template <int kTileN>
__device__ int micro_row(int tid) {
  return tid / (kTileN / kMicroTile) * kMicroTile;
}
template <int kTileN>
__device__ int micro_col(int tid) {
  return tid % (kTileN / kMicroTile) * kMicroTile;
}

// ---------------------------------------------------------------------------------------------
// Forward: y[img, o, p, q] = bias[o] + sum over k = (c, i, j) of
//          weight[o, k] * x[img, c, p*sh - ph + i, q*sw - pw + j].
// Grid: x over tiles of N = (img, p, q), y over tiles of M = o.

template <int kTileM, int kTileN>
__global__ void __launch_bounds__(kGemmThreads<kTileM, kTileN>)
    conv2d_forward_kernel(ConvGeometry g, const float* __restrict__ x,
                          const float* __restrict__ weight, const float* __restrict__ bias,
                          float* __restrict__ y) {
  constexpr int kThreads = kGemmThreads<kTileM, kTileN>;
  using MapA = TileMap<kTileM, kThreads, true>;   // a weight row is contiguous in k
  using MapB = TileMap<kTileN, kThreads, false>;  // output pixels q are contiguous in x
  const int tid = static_cast<int>(threadIdx.x);
  const int m0 = static_cast<int>(blockIdx.y) * kTileM;
  const int n0 = static_cast<int>(blockIdx.x) * kTileN;
  const int gemm_m = g.out_channels;
  const int gemm_n = g.batch * g.out_pixels();
  const int gemm_k = g.in_channels * g.kernel_taps();

  // A: weight[m, k] for the thread's one k and several m.
  const auto load_a = [&](int k0, float(&regs)[MapA::kPerThread]) {
    const int k = k0 + MapA::k(tid, 0);
#pragma unroll
    for (int r = 0; r < MapA::kPerThread; ++r) {
      const int m = m0 + MapA::x(tid, r);
      regs[r] = m < gemm_m && k < gemm_k ? weight[m * gemm_k + k] : 0.0f;
    }
  };

  // B: the column matrix at (k, n) for the thread's one n (an output pixel, split once here)
  // and several k (split into channel and tap per load).
  const int n = n0 + MapB::x(tid, 0);
  const bool n_inside = n < gemm_n;
  const int n_image = n / g.out_pixels();
  const int n_pixel = n - n_image * g.out_pixels();
  const int h_origin = n_pixel / g.out_width * g.stride_height - g.pad_height;
  const int w_origin = n_pixel % g.out_width * g.stride_width - g.pad_width;
  const int image_offset = n_image * g.in_channels * g.in_pixels();
  const auto load_b = [&](int k0, float(&regs)[MapB::kPerThread]) {
#pragma unroll
    for (int r = 0; r < MapB::kPerThread; ++r) {
      const int k = k0 + MapB::k(tid, r);
      float value = 0.0f;
      if (n_inside && k < gemm_k) {
        const int c = k / g.kernel_taps();
        const int tap = k - c * g.kernel_taps();
        const int h = h_origin + tap / g.kernel_width;
        const int w = w_origin + tap % g.kernel_width;
        if (h >= 0 && h < g.in_height && w >= 0 && w < g.in_width) {
          value = x[image_offset + (c * g.in_height + h) * g.in_width + w];
        }
      }
      regs[r] = value;
    }
  };

  float acc[kMicroTile][kMicroTile] = {};
  gemm_mainloop<kTileM, kTileN, MapA, MapB>(0, gemm_k, load_a, load_b, acc);

  const int row = m0 + micro_row<kTileN>(tid);
  const int col = n0 + micro_col<kTileN>(tid);
#pragma unroll
  for (int j = 0; j < kMicroTile; ++j) {
    const int out_n = col + j;
    if (out_n >= gemm_n) break;
    const int image = out_n / g.out_pixels();
    const int pixel = out_n - image * g.out_pixels();
#pragma unroll
    for (int i = 0; i < kMicroTile; ++i) {
      const int o = row + i;
      if (o < gemm_m) {
        const float offset = bias != nullptr ? bias[o] : 0.0f;
        y[(image * g.out_channels + o) * g.out_pixels() + pixel] = acc[i][j] + offset;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward, single input channel, kKernelH x kKernelW (the first layer of both models): one thread
// per output pixel, its window of x in registers, kDirectChannels output channels per block
// (grid y) with their filters in shared memory. Every thread of a warp reads the same filter
// value (a broadcast) and writes a consecutive output pixel (a coalesced store).

constexpr int kDirectThreads = 128;
constexpr int kDirectChannels = 32;

template <int kKernelH, int kKernelW>
__global__ void __launch_bounds__(kDirectThreads)
    conv2d_forward_single_channel_kernel(ConvGeometry g, const float* __restrict__ x,
                                         const float* __restrict__ weight,
                                         const float* __restrict__ bias, float* __restrict__ y) {
  constexpr int kTaps = kKernelH * kKernelW;
  __shared__ float filters[kDirectChannels * kTaps];
  __shared__ float offsets[kDirectChannels];
  const int tid = static_cast<int>(threadIdx.x);
  const int o_begin = static_cast<int>(blockIdx.y) * kDirectChannels;
  const int channels = min(kDirectChannels, g.out_channels - o_begin);
  // With one input channel, weight[o, 0, i, j] is weight[o * kTaps + i * kKernelW + j].
  for (int e = tid; e < channels * kTaps; e += kDirectThreads) {
    filters[e] = weight[o_begin * kTaps + e];
  }
  for (int o = tid; o < channels; o += kDirectThreads) {
    offsets[o] = bias != nullptr ? bias[o_begin + o] : 0.0f;
  }
  __syncthreads();

  const int pixels = g.out_pixels();
  const int n = static_cast<int>(blockIdx.x) * kDirectThreads + tid;
  if (n >= g.batch * pixels) return;  // no barrier follows
  const int image = n / pixels;
  const int pixel = n - image * pixels;
  const int h_origin = pixel / g.out_width * g.stride_height - g.pad_height;
  const int w_origin = pixel % g.out_width * g.stride_width - g.pad_width;
  const float* plane = x + image * g.in_pixels();
  float window[kTaps];
#pragma unroll
  for (int i = 0; i < kKernelH; ++i) {
#pragma unroll
    for (int j = 0; j < kKernelW; ++j) {
      const int h = h_origin + i;
      const int w = w_origin + j;
      const bool inside = h >= 0 && h < g.in_height && w >= 0 && w < g.in_width;
      window[i * kKernelW + j] = inside ? plane[h * g.in_width + w] : 0.0f;
    }
  }
  float* out = y + (image * g.out_channels + o_begin) * pixels + pixel;
  for (int o = 0; o < channels; ++o) {
    float acc = 0.0f;
#pragma unroll
    for (int t = 0; t < kTaps; ++t) acc = fmaf(filters[o * kTaps + t], window[t], acc);
    out[o * pixels] = acc + offsets[o];
  }
}

// ---------------------------------------------------------------------------------------------
// Backward data: dx[img, c, h, w] = sum over k = (o, i, j) of weight[o, c, i, j] * dy[img, o, p, q]
// where p = (h + ph - i) / sh and q = (w + pw - j) / sw divide exactly and fall inside dy.
// Grid: x over tiles of N = (img, h, w), y over tiles of M = c.

template <int kTileM, int kTileN>
__global__ void __launch_bounds__(kGemmThreads<kTileM, kTileN>)
    conv2d_backward_data_kernel(ConvGeometry g, const float* __restrict__ dy,
                                const float* __restrict__ weight, float* __restrict__ dx) {
  constexpr int kThreads = kGemmThreads<kTileM, kTileN>;
  using MapA = TileMap<kTileM, kThreads, true>;   // weight[o, c, :, :] is contiguous in (i, j)
  using MapB = TileMap<kTileN, kThreads, false>;  // input pixels w are contiguous in x
  const int tid = static_cast<int>(threadIdx.x);
  const int m0 = static_cast<int>(blockIdx.y) * kTileM;
  const int n0 = static_cast<int>(blockIdx.x) * kTileN;
  const int taps = g.kernel_taps();
  const int gemm_m = g.in_channels;
  const int gemm_n = g.batch * g.in_pixels();
  const int gemm_k = g.out_channels * taps;

  // A[c, (o, tap)] = weight[o, c, tap] for the thread's one k and several c.
  const auto load_a = [&](int k0, float(&regs)[MapA::kPerThread]) {
    const int k = k0 + MapA::k(tid, 0);
    const int o = k / taps;
    const int tap = k - o * taps;
#pragma unroll
    for (int r = 0; r < MapA::kPerThread; ++r) {
      const int c = m0 + MapA::x(tid, r);
      regs[r] = c < gemm_m && k < gemm_k ? weight[(o * g.in_channels + c) * taps + tap] : 0.0f;
    }
  };

  // B[(o, i, j), (img, h, w)] = dy[img, o, p, q] when input pixel (h, w) is tap (i, j) of output
  // pixel (p, q), else 0; for the thread's one input pixel and several k.
  const int n = n0 + MapB::x(tid, 0);
  const bool n_inside = n < gemm_n;
  const int n_image = n / g.in_pixels();
  const int n_pixel = n - n_image * g.in_pixels();
  const int h_padded = n_pixel / g.in_width + g.pad_height;  // h + ph
  const int w_padded = n_pixel % g.in_width + g.pad_width;   // w + pw
  const int dy_image_offset = n_image * g.out_channels * g.out_pixels();
  const auto load_b = [&](int k0, float(&regs)[MapB::kPerThread]) {
#pragma unroll
    for (int r = 0; r < MapB::kPerThread; ++r) {
      const int k = k0 + MapB::k(tid, r);
      float value = 0.0f;
      if (n_inside && k < gemm_k) {
        const int o = k / taps;
        const int tap = k - o * taps;
        const int p_scaled = h_padded - tap / g.kernel_width;  // p * sh if a tap at all
        const int q_scaled = w_padded - tap % g.kernel_width;  // q * sw
        if (p_scaled >= 0 && q_scaled >= 0) {
          const int p = p_scaled / g.stride_height;
          const int q = q_scaled / g.stride_width;
          if (p * g.stride_height == p_scaled && q * g.stride_width == q_scaled &&
              p < g.out_height && q < g.out_width) {
            value = dy[dy_image_offset + (o * g.out_height + p) * g.out_width + q];
          }
        }
      }
      regs[r] = value;
    }
  };

  float acc[kMicroTile][kMicroTile] = {};
  gemm_mainloop<kTileM, kTileN, MapA, MapB>(0, gemm_k, load_a, load_b, acc);

  const int row = m0 + micro_row<kTileN>(tid);
  const int col = n0 + micro_col<kTileN>(tid);
#pragma unroll
  for (int j = 0; j < kMicroTile; ++j) {
    const int out_n = col + j;
    if (out_n >= gemm_n) break;
    const int image = out_n / g.in_pixels();
    const int pixel = out_n - image * g.in_pixels();
#pragma unroll
    for (int i = 0; i < kMicroTile; ++i) {
      const int c = row + i;
      if (c < gemm_m) dx[(image * g.in_channels + c) * g.in_pixels() + pixel] = acc[i][j];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backward filter: dweight[o, (c, i, j)] = sum over k = (img, p, q) of
//                  dy[img, o, p, q] * x[img, c, p*sh - ph + i, q*sw - pw + j].
// Grid: x over tiles of N = (c, i, j), y over tiles of M = o, z over splits of K: split s covers
// k in [s * k_per_split, (s + 1) * k_per_split) and writes out[s, o, (c, i, j)]; `out` is
// dweight itself when there is one split.

template <int kTileM, int kTileN>
__global__ void __launch_bounds__(kGemmThreads<kTileM, kTileN>)
    conv2d_backward_filter_kernel(ConvGeometry g, const float* __restrict__ x,
                                  const float* __restrict__ dy, int k_per_split,
                                  float* __restrict__ out) {
  constexpr int kThreads = kGemmThreads<kTileM, kTileN>;
  using MapA = TileMap<kTileM, kThreads, true>;  // dy rows are contiguous in (p, q)
  using MapB = TileMap<kTileN, kThreads, true>;  // so are x rows, for stride 1
  const int tid = static_cast<int>(threadIdx.x);
  const int m0 = static_cast<int>(blockIdx.y) * kTileM;
  const int n0 = static_cast<int>(blockIdx.x) * kTileN;
  const int split = static_cast<int>(blockIdx.z);
  const int pixels = g.out_pixels();
  const int taps = g.kernel_taps();
  const int gemm_m = g.out_channels;
  const int gemm_n = g.in_channels * taps;
  const int gemm_k = g.batch * pixels;
  const int k_begin = split * k_per_split;
  const int k_end = min(gemm_k, k_begin + k_per_split);

  // A[o, (img, p, q)] = dy[img, o, p, q] for the thread's one k and several o.
  const auto load_a = [&](int k0, float(&regs)[MapA::kPerThread]) {
    const int k = k0 + MapA::k(tid, 0);
    const int image = k / pixels;
    const int pixel = k - image * pixels;
#pragma unroll
    for (int r = 0; r < MapA::kPerThread; ++r) {
      const int o = m0 + MapA::x(tid, r);
      regs[r] = o < gemm_m && k < k_end ? dy[(image * gemm_m + o) * pixels + pixel] : 0.0f;
    }
  };

  // B[(img, p, q), (c, i, j)] = x[img, c, p*sh - ph + i, q*sw - pw + j] for the thread's one k
  // and several n; each n's channel and tap are split once, here.
  bool n_inside[MapB::kPerThread];
  int tap_offset[MapB::kPerThread];  // (c * in_h + i) * in_w + j
  int tap_row[MapB::kPerThread];     // i
  int tap_col[MapB::kPerThread];     // j
#pragma unroll
  for (int r = 0; r < MapB::kPerThread; ++r) {
    const int n = n0 + MapB::x(tid, r);
    const int c = n / taps;
    const int tap = n - c * taps;
    n_inside[r] = n < gemm_n;
    tap_row[r] = tap / g.kernel_width;
    tap_col[r] = tap % g.kernel_width;
    tap_offset[r] = (c * g.in_height + tap_row[r]) * g.in_width + tap_col[r];
  }
  const auto load_b = [&](int k0, float(&regs)[MapB::kPerThread]) {
    const int k = k0 + MapB::k(tid, 0);
    const bool k_inside = k < k_end;
    // Past the split's end nothing is read; pixel 0 of image 0 keeps the offsets in range.
    const int image = k_inside ? k / pixels : 0;
    const int pixel = k_inside ? k - image * pixels : 0;
    const int h_origin = pixel / g.out_width * g.stride_height - g.pad_height;
    const int w_origin = pixel % g.out_width * g.stride_width - g.pad_width;
    const int origin_offset =
        (image * g.in_channels * g.in_height + h_origin) * g.in_width + w_origin;
#pragma unroll
    for (int r = 0; r < MapB::kPerThread; ++r) {
      const int h = h_origin + tap_row[r];
      const int w = w_origin + tap_col[r];
      const bool inside =
          n_inside[r] && k_inside && h >= 0 && h < g.in_height && w >= 0 && w < g.in_width;
      regs[r] = inside ? x[origin_offset + tap_offset[r]] : 0.0f;
    }
  };

  float acc[kMicroTile][kMicroTile] = {};
  gemm_mainloop<kTileM, kTileN, MapA, MapB>(k_begin, k_end, load_a, load_b, acc);

  const int row = m0 + micro_row<kTileN>(tid);
  const int col = n0 + micro_col<kTileN>(tid);
  float* const split_out = out + split * gemm_m * gemm_n;
#pragma unroll
  for (int i = 0; i < kMicroTile; ++i) {
    const int o = row + i;
    if (o >= gemm_m) break;
#pragma unroll
    for (int j = 0; j < kMicroTile; ++j) {
      const int n = col + j;
      if (n < gemm_n) split_out[o * gemm_n + n] = acc[i][j];
    }
  }
}

// out[e] = sum over s of partials[s, e], s in increasing order: the fixed-order second half of
// backward_filter's split K. One thread per element; consecutive threads read consecutive floats.
constexpr int kSumThreads = 256;

__global__ void __launch_bounds__(kSumThreads)
    sum_splits_kernel(const float* __restrict__ partials, int splits, int count,
                      float* __restrict__ out) {
  const int e = static_cast<int>(blockIdx.x) * kSumThreads + static_cast<int>(threadIdx.x);
  if (e >= count) return;
  float sum = 0.0f;
  for (int s = 0; s < splits; ++s) sum += partials[s * count + e];
  out[e] = sum;
}

// ---------------------------------------------------------------------------------------------
// Backward bias: one block per output channel. Each thread adds a fixed, strided subset of the
// channel's batch * pixels values in double, then a shared-memory tree adds the 256 partial sums
// in a fixed order.
constexpr int kBiasThreads = 256;

__global__ void __launch_bounds__(kBiasThreads)
    conv2d_backward_bias_kernel(const float* __restrict__ dy, int batch, int channels, int pixels,
                                float* __restrict__ dbias) {
  __shared__ double partial[kBiasThreads];
  const int tid = static_cast<int>(threadIdx.x);
  const int o = static_cast<int>(blockIdx.x);
  double sum = 0.0;
  for (int e = tid; e < batch * pixels; e += kBiasThreads) {
    const int image = e / pixels;
    const int pixel = e - image * pixels;
    sum += dy[(image * channels + o) * pixels + pixel];
  }
  partial[tid] = sum;
  __syncthreads();
  for (int active = kBiasThreads / 2; active > 0; active /= 2) {
    if (tid < active) partial[tid] += partial[tid + active];
    __syncthreads();
  }
  if (tid == 0) dbias[o] = static_cast<float>(partial[0]);
}

// ---------------------------------------------------------------------------------------------
// Host side: the launches, as conv2d_plan.cpp plans them.

// Calls launch(integral_constant<kTileM>, integral_constant<kTileN>) for the chosen tile, so one
// launch statement covers every instantiation.
template <typename Launch>
void with_tile(GemmTile tile, Launch launch) {
  using Tile64 = std::integral_constant<int, 64>;
  using Tile32 = std::integral_constant<int, 32>;
  if (tile.m == 64 && tile.n == 64) {
    launch(Tile64{}, Tile64{});
  } else if (tile.m == 64 && tile.n == 32) {
    launch(Tile64{}, Tile32{});
  } else if (tile.m == 32 && tile.n == 64) {
    launch(Tile32{}, Tile64{});
  } else {
    launch(Tile32{}, Tile32{});
  }
}

// The shape was validated by Backend (kernels/backend.cpp), once for every engine; the limits of
// these kernels' indexing and grid are this engine's own.
ConvGeometry checked_geometry(const Conv2dShape& shape, const char* op) {
  check_conv2d_limits(shape, op);
  return {shape.batch,        shape.in_channels,   shape.in_height,    shape.in_width,
          shape.out_channels, shape.kernel_height, shape.kernel_width, shape.stride_height,
          shape.stride_width, shape.pad_height,    shape.pad_width,    shape.out_height(),
          shape.out_width()};
}

void check_workspace(const Conv2dShape& shape, std::span<std::byte> workspace, const char* op) {
  const std::size_t needed = conv2d_workspace_bytes(shape);
  if (workspace.size() < needed ||
      reinterpret_cast<std::uintptr_t>(workspace.data()) % alignof(float) != 0) {
    throw std::invalid_argument(
        std::string(op) + ": workspace of " + std::to_string(workspace.size()) + " bytes, need " +
        std::to_string(needed) + " aligned to " + std::to_string(alignof(float)));
  }
}

dim3 gemm_grid(GemmTile tile, int gemm_m, int gemm_n, int splits = 1) {
  return dim3(static_cast<unsigned>(ceil_div(gemm_n, tile.n)),
              static_cast<unsigned>(ceil_div(gemm_m, tile.m)), static_cast<unsigned>(splits));
}

}  // namespace

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* y, cudaStream_t stream) {
  const ConvGeometry g = checked_geometry(shape, "conv2d_forward");
  const int gemm_n = g.batch * g.out_pixels();

  if (g.in_channels == 1 && g.kernel_height == g.kernel_width &&
      (g.kernel_height == 3 || g.kernel_height == 5)) {
    const dim3 grid(static_cast<unsigned>(ceil_div(gemm_n, kDirectThreads)),
                    static_cast<unsigned>(ceil_div(g.out_channels, kDirectChannels)));
    if (g.kernel_height == 3) {
      launch_kernel<conv2d_forward_single_channel_kernel<3, 3>>(grid, kDirectThreads, 0, stream, g,
                                                                x, weight, bias, y);
    } else {
      launch_kernel<conv2d_forward_single_channel_kernel<5, 5>>(grid, kDirectThreads, 0, stream, g,
                                                                x, weight, bias, y);
    }
    KILN_CUDA_CHECK_LAUNCH("conv2d_forward_single_channel_kernel");
    return;
  }

  const GemmTile tile = choose_gemm_tile(g.out_channels, gemm_n);
  with_tile(tile, [&](auto tile_m, auto tile_n) {
    constexpr int kM = decltype(tile_m)::value;
    constexpr int kN = decltype(tile_n)::value;
    launch_kernel<conv2d_forward_kernel<kM, kN>>(gemm_grid(tile, g.out_channels, gemm_n),
                                                 kGemmThreads<kM, kN>, 0, stream, g, x, weight,
                                                 bias, y);
  });
  KILN_CUDA_CHECK_LAUNCH("conv2d_forward_kernel");
}

void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight, float* dx,
                          cudaStream_t stream) {
  const ConvGeometry g = checked_geometry(shape, "conv2d_backward_data");
  const int gemm_n = g.batch * g.in_pixels();
  const GemmTile tile = choose_gemm_tile(g.in_channels, gemm_n);
  with_tile(tile, [&](auto tile_m, auto tile_n) {
    constexpr int kM = decltype(tile_m)::value;
    constexpr int kN = decltype(tile_n)::value;
    launch_kernel<conv2d_backward_data_kernel<kM, kN>>(
        gemm_grid(tile, g.in_channels, gemm_n), kGemmThreads<kM, kN>, 0, stream, g, dy, weight, dx);
  });
  KILN_CUDA_CHECK_LAUNCH("conv2d_backward_data_kernel");
}

void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                            float* dweight, std::span<std::byte> workspace, cudaStream_t stream) {
  const ConvGeometry g = checked_geometry(shape, "conv2d_backward_filter");
  check_workspace(shape, workspace, "conv2d_backward_filter");
  const FilterPlan plan = plan_conv2d_backward_filter(shape);
  const int gemm_n = g.in_channels * g.kernel_taps();
  float* const out = plan.splits == 1 ? dweight : reinterpret_cast<float*>(workspace.data());
  with_tile(plan.tile, [&](auto tile_m, auto tile_n) {
    constexpr int kM = decltype(tile_m)::value;
    constexpr int kN = decltype(tile_n)::value;
    launch_kernel<conv2d_backward_filter_kernel<kM, kN>>(
        gemm_grid(plan.tile, g.out_channels, gemm_n, plan.splits), kGemmThreads<kM, kN>, 0, stream,
        g, x, dy, plan.k_per_split, out);
  });
  KILN_CUDA_CHECK_LAUNCH("conv2d_backward_filter_kernel");
  if (plan.splits > 1) {
    const int count = g.out_channels * gemm_n;
    launch_kernel<sum_splits_kernel>(static_cast<unsigned>(ceil_div(count, kSumThreads)),
                                     kSumThreads, 0, stream, out, plan.splits, count, dweight);
    KILN_CUDA_CHECK_LAUNCH("sum_splits_kernel");
  }
}

void conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias,
                          cudaStream_t stream) {
  const ConvGeometry g = checked_geometry(shape, "conv2d_backward_bias");
  launch_kernel<conv2d_backward_bias_kernel>(static_cast<unsigned>(g.out_channels), kBiasThreads, 0,
                                             stream, dy, g.batch, g.out_channels, g.out_pixels(),
                                             dbias);
  KILN_CUDA_CHECK_LAUNCH("conv2d_backward_bias_kernel");
}

}  // namespace kiln::cuda
