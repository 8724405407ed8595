// What device code sees when kernels/cuda/*.cu is built by g++ for the host (kiln_kernels_host):
// CUDA's qualifiers, built-in indices, intrinsics, warp operations, atomics and __syncthreads,
// with the semantics the kernels rely on on a GPU. Included before each .cu file by the generated
// wrappers (kernels/CMakeLists.txt); the threads themselves are run by scheduler.cpp.
//
// Arithmetic: x86-64 evaluates float and double in SSE registers with round-to-nearest-even and
// the target is built with -ffp-contract=off, so a + b here is __fadd_rn on the GPU, and fma is
// the correctly rounded std::fma. Library functions (expf, exp, log) are glibc's, which may differ
// from CUDA's by an ulp (docs/host_kernels.md).
#pragma once

#include <cuda_runtime_api.h>
#include <vector_functions.h>

#include <atomic>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

static_assert(FLT_EVAL_METHOD == 0, "float and double must be evaluated in their own precision");

// __shared__ storage is one object per kernel for the block that runs: blocks run one after
// another (scheduler.cpp), so a static is exactly a block's shared memory, and ASan gives it
// redzones like any global.
#undef __shared__
#define __shared__ static
// g++ has no notion of launch bounds; the launch checks the 1024-thread limit.
#undef __launch_bounds__
#define __launch_bounds__(...)

// The built-in indices of the thread that runs; the scheduler sets them on every switch.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace kiln::cuda::host {

inline constexpr int kWarpSize = 32;

enum class WarpOp { shfl, shfl_xor, ballot };

// A warp-synchronous operation of the calling thread: blocks until every lane named in `mask` has
// made the same call, then returns this lane's result. A lane missing from the mask, absent from
// the block, or reaching another operation is a fault of the kernel (scheduler.cpp).
std::uint64_t warp_exchange(WarpOp op, unsigned mask, std::uint64_t value, int lane_or_mask,
                            int width);

void sync_block();

template <typename T>
std::uint64_t to_bits(T value) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uint64_t));
  std::uint64_t bits = 0;
  __builtin_memcpy(&bits, &value, sizeof(T));
  return bits;
}

template <typename T>
T from_bits(std::uint64_t bits) {
  T value;
  __builtin_memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace kiln::cuda::host

inline void __syncthreads() { kiln::cuda::host::sync_block(); }

template <typename T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = kiln::cuda::host::kWarpSize) {
  using kiln::cuda::host::WarpOp;
  return kiln::cuda::host::from_bits<T>(kiln::cuda::host::warp_exchange(
      WarpOp::shfl, mask, kiln::cuda::host::to_bits(value), src_lane, width));
}

template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = kiln::cuda::host::kWarpSize) {
  using kiln::cuda::host::WarpOp;
  return kiln::cuda::host::from_bits<T>(kiln::cuda::host::warp_exchange(
      WarpOp::shfl_xor, mask, kiln::cuda::host::to_bits(value), lane_mask, width));
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(kiln::cuda::host::warp_exchange(kiln::cuda::host::WarpOp::ballot,
                                                               mask, predicate != 0 ? 1 : 0, 0,
                                                               kiln::cuda::host::kWarpSize));
}

inline int __popc(unsigned value) { return std::popcount(value); }

// Atomics as the GPU's: read-modify-write of one address, returning the old value.
template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

// The explicitly rounded intrinsics: round to nearest even, as every SSE operation does.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __double2float_rn(double a) { return static_cast<float>(a); }
inline double __ull2double_rn(unsigned long long a) { return static_cast<double>(a); }
inline float __int_as_float(int bits) { return std::bit_cast<float>(bits); }
inline int __float_as_int(float value) { return std::bit_cast<int>(value); }
inline double __longlong_as_double(long long bits) { return std::bit_cast<double>(bits); }
inline long long __double_as_longlong(double value) { return std::bit_cast<long long>(value); }

// CUDA's global min, max and isnan overloads.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a < b ? b : a; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a < b ? b : a; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a < b ? b : a; }
using std::isnan;
