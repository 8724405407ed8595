// Two whole training steps of each reference model, chained op by op through the Backend
// interface, checked against PyTorch (tests/golden/training_step_fixtures.py): the same Philox
// initialisation, batches, dropout masks and optimizer, so loss, every gradient and every updated
// parameter must agree to float32 precision. The same body runs on any backend: the CPU one with
// host memory (training_step_test.cpp), the CUDA one with device memory (cuda/).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/uniform_init.h"
#include "models/init.h"
#include "tests/support/compact_tensors.h"
#include "tests/support/fixtures.h"
#include "tests/support/test_memory.h"
#include "tests/support/tolerance.h"

namespace kiln::testing {

// Gradients and losses: sums over the batch in another order than PyTorch's, well within this.
inline constexpr double kGradientTolerance = 1e-5;

struct Parameter {
  float* value;
  float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  std::int64_t count;
};

class Parameters {
 public:
  Parameters(TestMemory& memory, std::uint64_t seed) : memory_(memory), seed_(seed) {}

  // Weights bounded by `weight_bound`, biases by the default bound, parameter k of the model from
  // stream kInitStream + k, as models/init.h says.
  void add_layer(const std::string& name, std::int64_t weight_elements, std::int64_t fan_in,
                 std::int64_t out, double weight_bound) {
    add(name + ".weight", weight_elements, weight_bound);
    add(name + ".bias", out, models::default_bound(fan_in));
  }
  const Parameter& operator[](const std::string& name) const { return parameters_.at(name); }
  const std::vector<std::string>& names() const { return names_; }

  std::vector<ParameterSlot> slots() const {
    std::vector<ParameterSlot> slots;
    for (const auto& name : names_) {
      const Parameter& p = parameters_.at(name);
      slots.push_back({p.value, p.grad, p.exp_avg, p.exp_avg_sq, p.count});
    }
    return slots;
  }
  std::vector<float> value(const std::string& name) const {
    const Parameter& p = parameters_.at(name);
    return memory_.download(p.value, static_cast<std::size_t>(p.count));
  }
  std::vector<float> grad(const std::string& name) const {
    const Parameter& p = parameters_.at(name);
    return memory_.download(p.grad, static_cast<std::size_t>(p.count));
  }

 private:
  void add(const std::string& name, std::int64_t count, double bound) {
    const auto n = static_cast<std::size_t>(count);
    std::vector<float> initial(n);
    cpu::uniform_init(initial, bound, seed_,
                      models::kInitStream + static_cast<std::uint32_t>(names_.size()));
    parameters_.emplace(name, Parameter{memory_.upload(initial), memory_.make<float>(n),
                                        memory_.make<float>(n), memory_.make<float>(n), count});
    names_.push_back(name);
  }

  TestMemory& memory_;
  std::uint64_t seed_;
  std::map<std::string, Parameter> parameters_;
  std::vector<std::string> names_;
};

// The fixture stores large tensors as a sample of their elements.
inline std::vector<float> as_stored(const Fixture& fixture, const std::string& model,
                                    const std::string& name, const std::vector<float>& values) {
  if (!fixture.has(model, "sample_indices/" + name)) return values;
  return sample_at(fixture.ints(model, "sample_indices/" + name), values, model + "/" + name);
}

// Compares loss, gradients and updated parameters of one step with the fixture.
inline void expect_step_matches(const Fixture& fixture, const std::string& model, int step,
                                float loss, const Parameters& parameters,
                                double parameter_tolerance) {
  const std::string prefix = "step" + std::to_string(step);
  SCOPED_TRACE(model + " " + prefix);
  const float expected_loss = fixture.floats(model, prefix + "/loss")[0];
  EXPECT_NEAR(loss, expected_loss, kGradientTolerance * std::abs(expected_loss));
  for (const auto& name : parameters.names()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(close_in_l2(as_stored(fixture, model, name, parameters.grad(name)),
                            fixture.floats(model, prefix + "/grad/" + name), kGradientTolerance));
    EXPECT_TRUE(close_in_l2(as_stored(fixture, model, name, parameters.value(name)),
                            fixture.floats(model, prefix + "/after/" + name), parameter_tolerance));
  }
}

// The fixture's small uint8 dataset, uploaded once, and a batch gathered from it per step.
class FixtureData {
 public:
  FixtureData(TestMemory& memory, const Fixture& fixture, const std::string& model, int batch)
      : memory_(memory),
        fixture_(fixture),
        model_(model),
        batch_(batch),
        images_(memory.upload(fixture.bytes(model, "images"))),
        labels_(memory.upload(fixture.bytes(model, "labels"))),
        x_(memory.make<float>(static_cast<std::size_t>(batch) * 28 * 28)),
        y_(memory.make<std::int32_t>(static_cast<std::size_t>(batch))) {}

  void gather(Backend& backend, int step) {
    const auto* indices =
        memory_.upload(fixture_.ints(model_, "step" + std::to_string(step) + "/indices"));
    backend.gather_batch(images_, labels_, 28 * 28, indices, batch_, x_, y_);
  }
  const float* x() const { return x_; }
  const std::int32_t* y() const { return y_; }

 private:
  TestMemory& memory_;
  const Fixture& fixture_;
  std::string model_;
  int batch_;
  const std::uint8_t* images_;
  const std::uint8_t* labels_;
  float* x_;
  std::int32_t* y_;
};

inline float read_loss(TestMemory& memory, const float* loss) {
  return memory.download(loss, 1)[0];
}

// mnist-cnn: three blocks of conv 3x3, ReLU, max pool, dropout; fc1, ReLU, dropout; fc2; Adam.
inline void train_mnist_cnn_two_steps(Backend& backend, TestMemory& memory) {
  const Fixture fixture("training_step");
  const std::string model = "mnist_cnn";
  const auto params = fixture.params(model);
  const int batch = params["batch"];
  const float p = params["dropout"];
  const std::uint64_t seed = params["seed"];
  auto* counters = memory.upload(std::vector<StepCounters>{{.seed = seed, .step = 0}});

  const Conv2dShape conv1{batch, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1};
  const Conv2dShape conv2{batch, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1};
  const Conv2dShape conv3{batch, 64, 7, 7, 128, 3, 3, 1, 1, 1, 1};
  const Pool2dShape pool1{batch, 32, 28, 28, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool2{batch, 64, 14, 14, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool3{batch, 128, 7, 7, 2, 2, 2, 2, 1, 1};
  const LinearShape fc1{batch, 2048, 625};
  const LinearShape fc2{batch, 625, 10};
  // One scratch buffer, planned for the largest convolution, serves them all.
  const std::size_t workspace_bytes =
      std::max({backend.conv2d_workspace_bytes(conv1), backend.conv2d_workspace_bytes(conv2),
                backend.conv2d_workspace_bytes(conv3)});
  const std::span<std::byte> workspace(memory.make<std::byte>(workspace_bytes), workspace_bytes);

  Parameters ps(memory, seed);
  for (const auto& [name, conv] :
       {std::pair{"layer1.0", conv1}, std::pair{"layer2.0", conv2}, std::pair{"layer3.0", conv3}}) {
    const std::int64_t fan_in = conv.in_channels * 9;
    ps.add_layer(name, conv.weight_elements(), fan_in, conv.out_channels,
                 models::default_bound(fan_in));
  }
  ps.add_layer("fc1", 2048 * 625, 2048, 625, models::xavier_bound(2048, 625));
  ps.add_layer("fc2", 625 * 10, 625, 10, models::xavier_bound(625, 10));

  // Each block's tensors: conv output, ReLU output, pooled, argmax, dropped, and gradients.
  struct Block {
    Conv2dShape conv;
    Pool2dShape pool;
    std::uint32_t stream;
    std::string layer;
    float *c, *r, *q, *d, *g_relu, *g_conv, *g_d;
    std::int32_t* argmax;
  };
  std::vector<Block> blocks;
  for (const auto& [conv, pool, stream, layer] :
       {std::tuple{conv1, pool1, 1u, "layer1.0"}, std::tuple{conv2, pool2, 2u, "layer2.0"},
        std::tuple{conv3, pool3, 3u, "layer3.0"}}) {
    const auto conv_n = static_cast<std::size_t>(conv.output_elements());
    const auto pool_n = static_cast<std::size_t>(pool.output_elements());
    blocks.push_back({conv, pool, stream, layer, memory.make<float>(conv_n),
                      memory.make<float>(conv_n), memory.make<float>(pool_n),
                      memory.make<float>(pool_n), memory.make<float>(conv_n),
                      memory.make<float>(conv_n), memory.make<float>(pool_n),
                      memory.make<std::int32_t>(pool_n)});
  }
  const auto hidden_n = static_cast<std::size_t>(batch) * 625;
  float* f1 = memory.make<float>(hidden_n);
  float* r4 = memory.make<float>(hidden_n);
  float* d4 = memory.make<float>(hidden_n);
  float* g_d4 = memory.make<float>(hidden_n);
  float* g_f1 = memory.make<float>(hidden_n);
  float* logits = memory.make<float>(static_cast<std::size_t>(batch) * 10);
  float* g_logits = memory.make<float>(static_cast<std::size_t>(batch) * 10);
  float* loss = memory.make<float>(1);
  FixtureData data(memory, fixture, model, batch);

  for (int step = 0; step < 2; ++step) {
    data.gather(backend, step);
    const float* in = data.x();
    for (const Block& b : blocks) {
      backend.conv2d_forward(b.conv, in, ps[b.layer + ".weight"].value, ps[b.layer + ".bias"].value,
                             b.c, workspace);
      backend.relu_forward(b.conv.output_elements(), b.c, b.r);
      backend.max_pool2d_forward(b.pool, b.r, b.q, b.argmax);
      backend.dropout_forward(b.pool.output_elements(), p, b.stream, counters, b.q, b.d);
      in = b.d;
    }
    backend.linear_forward(fc1, in, ps["fc1.weight"].value, ps["fc1.bias"].value, f1);
    backend.relu_forward(batch * 625, f1, r4);
    backend.dropout_forward(batch * 625, p, 4, counters, r4, d4);
    backend.linear_forward(fc2, d4, ps["fc2.weight"].value, ps["fc2.bias"].value, logits);
    backend.softmax_cross_entropy(batch, 10, logits, data.y(), loss, g_logits);

    backend.linear_backward_weight(fc2, d4, g_logits, ps["fc2.weight"].grad);
    backend.linear_backward_bias(fc2, g_logits, ps["fc2.bias"].grad);
    backend.linear_backward_data(fc2, g_logits, ps["fc2.weight"].value, g_d4);
    backend.dropout_backward(batch * 625, p, 4, counters, g_d4, g_d4);
    backend.relu_backward(batch * 625, r4, g_d4, g_f1);
    backend.linear_backward_weight(fc1, blocks[2].d, g_f1, ps["fc1.weight"].grad);
    backend.linear_backward_bias(fc1, g_f1, ps["fc1.bias"].grad);
    backend.linear_backward_data(fc1, g_f1, ps["fc1.weight"].value, blocks[2].g_d);
    for (int i = 2; i >= 0; --i) {
      const Block& b = blocks[static_cast<std::size_t>(i)];
      const float* block_input = i > 0 ? blocks[static_cast<std::size_t>(i) - 1].d : data.x();
      backend.dropout_backward(b.pool.output_elements(), p, b.stream, counters, b.g_d, b.g_d);
      backend.max_pool2d_backward(b.pool, b.r, b.q, b.g_d, b.argmax, b.g_relu);
      backend.relu_backward(b.conv.output_elements(), b.r, b.g_relu, b.g_conv);
      backend.conv2d_backward_filter(b.conv, block_input, b.g_conv, ps[b.layer + ".weight"].grad,
                                     workspace);
      backend.conv2d_backward_bias(b.conv, b.g_conv, ps[b.layer + ".bias"].grad);
      if (i > 0) {
        backend.conv2d_backward_data(b.conv, b.g_conv, ps[b.layer + ".weight"].value,
                                     blocks[static_cast<std::size_t>(i) - 1].g_d, workspace);
      }
    }

    backend.adam_step(ps.slots(), AdamConfig{}, counters);
    backend.advance_step(counters);
    // Adam moves a parameter by about lr * sign(gradient), so a gradient that float rounding
    // pushes across zero moves it the other way; such elements are rare and small in L2.
    expect_step_matches(fixture, model, step, read_loss(memory, loss), ps, 1e-5);
  }
  EXPECT_EQ(memory.download(counters, 1)[0].step, 2u);
}

// fashion-lenet as the seed wrote it: no activation after the convolutions, a sigmoid on the
// logits before cross-entropy; plain SGD.
inline void train_fashion_lenet_two_steps(Backend& backend, TestMemory& memory) {
  const Fixture fixture("training_step");
  const std::string model = "fashion_lenet";
  const auto params = fixture.params(model);
  const int batch = params["batch"];
  const std::uint64_t seed = params["seed"];
  auto* counters = memory.upload(std::vector<StepCounters>{{.seed = seed, .step = 0}});

  const Conv2dShape conv1{batch, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0};
  const Conv2dShape conv2{batch, 6, 12, 12, 10, 5, 5, 1, 1, 0, 0};
  const Pool2dShape pool1{batch, 6, 24, 24, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool2{batch, 10, 8, 8, 2, 2, 2, 2, 0, 0};
  const LinearShape ff1{batch, 160, 56};
  const LinearShape ff2{batch, 56, 10};
  const std::size_t workspace_bytes =
      std::max(backend.conv2d_workspace_bytes(conv1), backend.conv2d_workspace_bytes(conv2));
  const std::span<std::byte> workspace(memory.make<std::byte>(workspace_bytes), workspace_bytes);

  Parameters ps(memory, seed);
  ps.add_layer("conv1", conv1.weight_elements(), 25, 6, models::default_bound(25));
  ps.add_layer("conv2", conv2.weight_elements(), 150, 10, models::default_bound(150));
  ps.add_layer("ff1", 160 * 56, 160, 56, models::default_bound(160));
  ps.add_layer("ff2", 56 * 10, 56, 10, models::default_bound(56));

  const auto n = [](std::int64_t count) { return static_cast<std::size_t>(count); };
  float* c1 = memory.make<float>(n(conv1.output_elements()));
  float* q1 = memory.make<float>(n(pool1.output_elements()));
  float* c2 = memory.make<float>(n(conv2.output_elements()));
  float* q2 = memory.make<float>(n(pool2.output_elements()));
  auto* a1 = memory.make<std::int32_t>(n(pool1.output_elements()));
  auto* a2 = memory.make<std::int32_t>(n(pool2.output_elements()));
  float* h = memory.make<float>(n(batch * 56));
  float* r = memory.make<float>(n(batch * 56));
  float* z = memory.make<float>(n(batch * 10));
  float* s = memory.make<float>(n(batch * 10));
  float* gs = memory.make<float>(n(batch * 10));
  float* gz = memory.make<float>(n(batch * 10));
  float* gr = memory.make<float>(n(batch * 56));
  float* gh = memory.make<float>(n(batch * 56));
  float* gq2 = memory.make<float>(n(pool2.output_elements()));
  float* gc2 = memory.make<float>(n(conv2.output_elements()));
  float* gq1 = memory.make<float>(n(pool1.output_elements()));
  float* gc1 = memory.make<float>(n(conv1.output_elements()));
  float* loss = memory.make<float>(1);
  FixtureData data(memory, fixture, model, batch);

  for (int step = 0; step < 2; ++step) {
    data.gather(backend, step);
    backend.conv2d_forward(conv1, data.x(), ps["conv1.weight"].value, ps["conv1.bias"].value, c1,
                           workspace);
    backend.max_pool2d_forward(pool1, c1, q1, a1);
    backend.conv2d_forward(conv2, q1, ps["conv2.weight"].value, ps["conv2.bias"].value, c2,
                           workspace);
    backend.max_pool2d_forward(pool2, c2, q2, a2);
    backend.linear_forward(ff1, q2, ps["ff1.weight"].value, ps["ff1.bias"].value, h);
    backend.relu_forward(batch * 56, h, r);
    backend.linear_forward(ff2, r, ps["ff2.weight"].value, ps["ff2.bias"].value, z);
    backend.sigmoid_forward(batch * 10, z, s);
    backend.softmax_cross_entropy(batch, 10, s, data.y(), loss, gs);

    backend.sigmoid_backward(batch * 10, s, gs, gz);
    backend.linear_backward_weight(ff2, r, gz, ps["ff2.weight"].grad);
    backend.linear_backward_bias(ff2, gz, ps["ff2.bias"].grad);
    backend.linear_backward_data(ff2, gz, ps["ff2.weight"].value, gr);
    backend.relu_backward(batch * 56, r, gr, gh);
    backend.linear_backward_weight(ff1, q2, gh, ps["ff1.weight"].grad);
    backend.linear_backward_bias(ff1, gh, ps["ff1.bias"].grad);
    backend.linear_backward_data(ff1, gh, ps["ff1.weight"].value, gq2);
    backend.max_pool2d_backward(pool2, c2, q2, gq2, a2, gc2);
    backend.conv2d_backward_filter(conv2, q1, gc2, ps["conv2.weight"].grad, workspace);
    backend.conv2d_backward_bias(conv2, gc2, ps["conv2.bias"].grad);
    backend.conv2d_backward_data(conv2, gc2, ps["conv2.weight"].value, gq1, workspace);
    backend.max_pool2d_backward(pool1, c1, q1, gq1, a1, gc1);
    backend.conv2d_backward_filter(conv1, data.x(), gc1, ps["conv1.weight"].grad, workspace);
    backend.conv2d_backward_bias(conv1, gc1, ps["conv1.bias"].grad);

    backend.sgd_step(ps.slots(), 0.04f);
    backend.advance_step(counters);
    expect_step_matches(fixture, model, step, read_loss(memory, loss), ps, 1e-6);
  }
}

}  // namespace kiln::testing
