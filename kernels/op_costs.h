// The floor of each op of kernels/backend.h: the fewest floating-point operations it must do (a
// multiply-add counts 2) and the fewest DRAM bytes it must move (each input read once, each output
// written once, nothing re-read). Benchmarks divide these by the measured time to say how far a
// kernel is from the compute and bandwidth peaks. Floats are 4 bytes, labels and pixels 1 (uint8)
// or 4 (int32) as the interface holds them.
#pragma once

#include <cstdint>

#include "kernels/shapes.h"

namespace kiln {

struct OpCost {
  double flop = 0;
  double bytes = 0;
};

namespace op_cost_detail {

inline constexpr double kFloat = 4;
inline constexpr double kInt32 = 4;

// Multiply-adds of one convolution pass: every output pixel of every output channel takes
// in_channels * kernel_height * kernel_width products. The three passes share this count.
inline double conv2d_multiply_adds(const Conv2dShape& shape) {
  return static_cast<double>(shape.output_elements()) * shape.in_channels * shape.kernel_height *
         shape.kernel_width;
}

}  // namespace op_cost_detail

// y = conv(x, W) + b: the products, plus one add per output for the bias (kiln's Conv2d layers
// always have one); reads x, W and b, writes y.
inline OpCost conv2d_forward_cost(const Conv2dShape& shape) {
  using namespace op_cost_detail;
  const double outputs = static_cast<double>(shape.output_elements());
  return {2 * conv2d_multiply_adds(shape) + outputs,
          kFloat * (static_cast<double>(shape.input_elements()) +
                    static_cast<double>(shape.weight_elements()) + shape.out_channels + outputs)};
}

// dx = conv_transpose(dy, W): as many products as forward; reads dy and W, writes dx.
inline OpCost conv2d_backward_data_cost(const Conv2dShape& shape) {
  using namespace op_cost_detail;
  return {2 * conv2d_multiply_adds(shape), kFloat * (static_cast<double>(shape.output_elements()) +
                                                     static_cast<double>(shape.weight_elements()) +
                                                     static_cast<double>(shape.input_elements()))};
}

// dW = correlation of x with dy: as many products as forward; reads x and dy, writes dW.
inline OpCost conv2d_backward_filter_cost(const Conv2dShape& shape) {
  using namespace op_cost_detail;
  return {2 * conv2d_multiply_adds(shape), kFloat * (static_cast<double>(shape.input_elements()) +
                                                     static_cast<double>(shape.output_elements()) +
                                                     static_cast<double>(shape.weight_elements()))};
}

// db[c] = sum of dy over batch and pixels: one add per element of dy; reads dy, writes db.
inline OpCost conv2d_backward_bias_cost(const Conv2dShape& shape) {
  using namespace op_cost_detail;
  const double outputs = static_cast<double>(shape.output_elements());
  return {outputs, kFloat * (outputs + shape.out_channels)};
}

// A window of k elements takes k - 1 comparisons per output; reads x, writes y and the int32
// argmax the graph's pooling layers ask for (cuDNN ignores it and writes 4 bytes less per output).
inline OpCost max_pool2d_forward_cost(const Pool2dShape& shape) {
  using namespace op_cost_detail;
  const double outputs = static_cast<double>(shape.output_elements());
  return {outputs * (shape.kernel_height * shape.kernel_width - 1),
          kFloat * static_cast<double>(shape.input_elements()) + (kFloat + kInt32) * outputs};
}

// Each output's gradient is added into the dx element it selected: one add per output. Reads dy
// and argmax, writes all of dx (zero where nothing was selected). cuDNN's backward reads x and y
// in place of argmax: 4 bytes more per input element.
inline OpCost max_pool2d_backward_cost(const Pool2dShape& shape) {
  using namespace op_cost_detail;
  const double outputs = static_cast<double>(shape.output_elements());
  return {outputs,
          (kFloat + kInt32) * outputs + kFloat * static_cast<double>(shape.input_elements())};
}

// ReLU fused into the pooling after it: the pooling's bytes (x read once, y and argmax written;
// the ReLU's output is never written nor read back) and a ReLU comparison per input element.
inline OpCost relu_max_pool2d_forward_cost(const Pool2dShape& shape) {
  const OpCost pool = max_pool2d_forward_cost(shape);
  return {pool.flop + static_cast<double>(shape.input_elements()), pool.bytes};
}

// Its backward: the pooling's, reading y beside dy and argmax as the ReLU mask, a comparison per
// output. The unfused pair moves dx three more times (relu_backward reads it and the ReLU's
// output and writes it again).
inline OpCost relu_max_pool2d_backward_cost(const Pool2dShape& shape) {
  using namespace op_cost_detail;
  const OpCost pool = max_pool2d_backward_cost(shape);
  const double outputs = static_cast<double>(shape.output_elements());
  return {pool.flop + outputs, pool.bytes + kFloat * outputs};
}

// y = max(x, 0): one comparison per element; reads x, writes y.
inline OpCost relu_forward_cost(std::int64_t count) {
  return {static_cast<double>(count), 8.0 * static_cast<double>(count)};
}

// dx = y > 0 ? dy : 0: one comparison per element; reads y and dy, writes dx.
inline OpCost relu_backward_cost(std::int64_t count) {
  return {static_cast<double>(count), 12.0 * static_cast<double>(count)};
}

// y = 1 / (1 + exp(-x)): an exponential (counted as one), an add and a division per element.
inline OpCost sigmoid_forward_cost(std::int64_t count) {
  return {3.0 * static_cast<double>(count), 8.0 * static_cast<double>(count)};
}

// dx = dy * y * (1 - y): a subtraction and two multiplications per element.
inline OpCost sigmoid_backward_cost(std::int64_t count) {
  return {3.0 * static_cast<double>(count), 12.0 * static_cast<double>(count)};
}

// y = keep ? x * scale : 0: one multiplication per element; reads x, writes y. kiln's mask is
// recomputed from Philox (integer work, not counted); cuDNN's reserve (one byte or so per element)
// is not counted either.
inline OpCost dropout_forward_cost(std::int64_t count) {
  return {static_cast<double>(count), 8.0 * static_cast<double>(count)};
}

// dx = keep ? dy * scale : 0: the same floor as forward, reading dy and writing dx.
inline OpCost dropout_backward_cost(std::int64_t count) { return dropout_forward_cost(count); }

// Per logit: the running max (a comparison), the shift, the exponential and the sum (4), then the
// gradient's division by the sum and scaling by 1 / batch (2); per row a log and an add into the
// mean. Reads logits and labels, writes dlogits and the one loss float.
inline OpCost softmax_cross_entropy_cost(int batch, int classes) {
  using namespace op_cost_detail;
  const double logits = static_cast<double>(batch) * classes;
  return {6 * logits + 2.0 * batch, kFloat * (2 * logits + 1) + kInt32 * batch};
}

// y = x W^T + b: batch * in * out multiply-adds and one bias add per output; reads x, W and b,
// writes y.
inline OpCost linear_forward_cost(const LinearShape& shape) {
  using namespace op_cost_detail;
  const double b = shape.batch, in = shape.in_features, out = shape.out_features;
  return {2 * b * in * out + b * out, kFloat * (b * in + out * in + out + b * out)};
}

// dx = dy W: batch * in * out multiply-adds; reads dy and W, writes dx.
inline OpCost linear_backward_data_cost(const LinearShape& shape) {
  using namespace op_cost_detail;
  const double b = shape.batch, in = shape.in_features, out = shape.out_features;
  return {2 * b * in * out, kFloat * (b * out + out * in + b * in)};
}

// dW = dy^T x: batch * in * out multiply-adds; reads x and dy, writes dW.
inline OpCost linear_backward_weight_cost(const LinearShape& shape) {
  using namespace op_cost_detail;
  const double b = shape.batch, in = shape.in_features, out = shape.out_features;
  return {2 * b * in * out, kFloat * (b * in + b * out + out * in)};
}

// db = sum of dy over the batch: one add per element of dy; reads dy, writes db.
inline OpCost linear_backward_bias_cost(const LinearShape& shape) {
  using namespace op_cost_detail;
  const double b = shape.batch, out = shape.out_features;
  return {b * out, kFloat * (b * out + out)};
}

// p -= lr * g over every parameter: a multiply-add each; reads p and g, writes p.
inline OpCost sgd_step_cost(std::int64_t parameters) {
  const double n = static_cast<double>(parameters);
  return {2 * n, 12 * n};
}

// PyTorch's Adam per parameter: m = b1 m + (1 - b1) g (3), v = b2 v + (1 - b2) g^2 (4),
// sqrt(v) / sqrt(bias2) + eps (3), p -= (lr / bias1) m / denominator (3): 13 flop, the step's
// scalars aside. Reads p, g, m and v, writes p, m and v.
inline OpCost adam_step_cost(std::int64_t parameters) {
  const double n = static_cast<double>(parameters);
  return {13 * n, 28 * n};
}

// x = image / 255 (one operation per pixel), y = label. Reads the batch's uint8 pixels and labels
// and its int32 indices, writes the float images and int32 labels: 5 bytes per pixel, 9 per image.
inline OpCost gather_batch_cost(int batch, std::int64_t image_elements) {
  const double pixels = static_cast<double>(batch) * static_cast<double>(image_elements);
  return {pixels, 5 * pixels + 9.0 * batch};
}

}  // namespace kiln
