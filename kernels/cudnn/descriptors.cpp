#include "kernels/cudnn/descriptors.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

namespace kiln::cudnn {

void set_nchw(const TensorDescriptor& descriptor, int n, int c, int h, int w) {
  KILN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(descriptor.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                              n, c, h, w));
}

void set_flat(const TensorDescriptor& descriptor, std::int64_t count, const char* op) {
  if (count <= 0 || count > std::numeric_limits<int>::max()) {
    throw std::invalid_argument(
        fmt::format("{}: cuDNN takes 1 to 2^31 - 1 elements, got {}", op, count));
  }
  set_nchw(descriptor, 1, 1, 1, static_cast<int>(count));
}

}  // namespace kiln::cudnn
