// CUB's DeviceRadixSort::SortPairs for the host build of kernels/cuda/shuffle.cu (found before the
// real CUB on kiln_kernels_host's include path). CUB's radix sort is device code that g++ cannot
// build, so this is a stable sort by the selected key bits on the host, queued on the stream: the
// same permutation, as a stable radix sort and a stable comparison sort agree.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/cuda/host/runtime.h"

namespace cub {

struct DeviceRadixSort {
  template <typename Key, typename Value>
  static cudaError_t SortPairs(void* temp_storage, std::size_t& temp_storage_bytes,
                               const Key* keys_in, Key* keys_out, const Value* values_in,
                               Value* values_out, int count, int begin_bit = 0,
                               int end_bit = static_cast<int>(sizeof(Key) * 8),
                               cudaStream_t stream = nullptr) {
    if (temp_storage == nullptr) {
      temp_storage_bytes = 1;  // CUB never reports zero
      return cudaSuccess;
    }
    kiln::cuda::host::enqueue(stream, [=] {
      const auto bits = [&](Key key) {
        const Key shifted = static_cast<Key>(key >> begin_bit);
        const int width = end_bit - begin_bit;
        return width >= static_cast<int>(sizeof(Key) * 8)
                   ? shifted
                   : static_cast<Key>(shifted & ((Key{1} << width) - 1));
      };
      std::vector<int> order(static_cast<std::size_t>(count));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return bits(keys_in[a]) < bits(keys_in[b]); });
      for (int i = 0; i < count; ++i) {
        keys_out[i] = keys_in[order[static_cast<std::size_t>(i)]];
        values_out[i] = values_in[order[static_cast<std::size_t>(i)]];
      }
    });
    return cudaSuccess;
  }
};

}  // namespace cub
