// The max pooling shapes every GPU engine's test checks against the CPU reference: the five
// pooling layers of the two models and awkward ones (batch 1 and odd, odd and rectangular planes,
// padding, stride 2, overlapping k3s1p1 windows, strides wider than the kernel).
#pragma once

#include <vector>

#include "kernels/shapes.h"

namespace kiln::testing {

inline Pool2dShape pool(int batch, int channels, int height, int width, int kernel, int stride,
                        int pad) {
  return {.batch = batch,
          .channels = channels,
          .in_height = height,
          .in_width = width,
          .kernel_height = kernel,
          .kernel_width = kernel,
          .stride_height = stride,
          .stride_width = stride,
          .pad_height = pad,
          .pad_width = pad};
}

// The pooling layers of mnist-cnn (batch 32) and fashion-lenet (batch 20).
inline const std::vector<Pool2dShape> kModelPoolShapes = {
    pool(32, 32, 28, 28, 2, 2, 0), pool(32, 64, 14, 14, 2, 2, 0), pool(32, 128, 7, 7, 2, 2, 1),
    pool(20, 6, 24, 24, 2, 2, 0),  pool(20, 10, 8, 8, 2, 2, 0),
};

inline std::vector<Pool2dShape> awkward_pool_shapes() {
  std::vector<Pool2dShape> shapes = {
      pool(1, 1, 1, 1, 1, 1, 0),    // one element
      pool(3, 7, 9, 11, 3, 2, 1),   // k3s2p1: overlapping windows, stride 2, padding
      pool(1, 3, 13, 5, 3, 1, 1),   // k3s1p1: every input in up to nine windows
      pool(5, 1, 7, 7, 2, 2, 1),    // mnist-cnn's padded layer at batch 5, one channel
      pool(2, 3, 10, 10, 2, 3, 0),  // stride wider than the kernel: inputs in no window
      pool(1, 1, 5, 7, 5, 1, 2),    // windows larger than the plane's height
      pool(7, 2, 6, 31, 4, 2, 2),   // even kernel, half-kernel padding
  };
  // Rectangular kernel, stride and padding.
  shapes.push_back({.batch = 2,
                    .channels = 3,
                    .in_height = 6,
                    .in_width = 9,
                    .kernel_height = 2,
                    .kernel_width = 3,
                    .stride_height = 1,
                    .stride_width = 2,
                    .pad_height = 1,
                    .pad_width = 1});
  return shapes;
}

}  // namespace kiln::testing
