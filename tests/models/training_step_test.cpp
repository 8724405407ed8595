// Two whole training steps of each reference model on the CPU backend, chained op by op through
// the Backend interface, against PyTorch (tests/golden/training_step_fixtures.py): the same
// Philox initialisation, batches, dropout masks and optimizer, so loss, every gradient and every
// updated parameter must agree to float32 precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "kernels/cpu/uniform_init.h"
#include "models/init.h"
#include "tests/support/fixtures.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::close_in_l2;
using testing::Fixture;

// Gradients and losses: sums over the batch in another order than PyTorch's, well within this.
constexpr double kGradientTolerance = 1e-5;

struct Parameter {
  std::vector<float> value, grad, exp_avg, exp_avg_sq;
};

class Parameters {
 public:
  // Shapes in the model's order, initialised as models/init.h does: weights by `weight_bound`,
  // biases by the default bound, parameter k from stream kInitStream + k.
  void add_layer(const std::string& name, std::int64_t weight_elements, std::int64_t fan_in,
                 std::int64_t out, double weight_bound, std::uint64_t seed) {
    add(name + ".weight", weight_elements, weight_bound, seed);
    add(name + ".bias", out, models::default_bound(fan_in), seed);
  }
  Parameter& operator[](const std::string& name) { return parameters_.at(name); }
  const std::vector<std::string>& names() const { return names_; }

  std::vector<ParameterSlot> slots() {
    std::vector<ParameterSlot> slots;
    for (const auto& name : names_) {
      Parameter& p = parameters_.at(name);
      slots.push_back({p.value.data(), p.grad.data(), p.exp_avg.data(), p.exp_avg_sq.data(),
                       static_cast<std::int64_t>(p.value.size())});
    }
    return slots;
  }

 private:
  void add(const std::string& name, std::int64_t count, double bound, std::uint64_t seed) {
    const auto n = static_cast<std::size_t>(count);
    Parameter p{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n, 0.0f),
                std::vector<float>(n, 0.0f)};
    cpu::uniform_init(p.value, bound, seed,
                      models::kInitStream + static_cast<std::uint32_t>(names_.size()));
    parameters_.emplace(name, std::move(p));
    names_.push_back(name);
  }

  std::map<std::string, Parameter> parameters_;
  std::vector<std::string> names_;
};

// The fixture stores large tensors as a sample of their elements.
std::vector<float> as_stored(const Fixture& fixture, const std::string& model,
                             const std::string& name, const std::vector<float>& values) {
  if (!fixture.has(model, "sample_indices/" + name)) return values;
  std::vector<float> sampled;
  for (const std::int32_t index : fixture.ints(model, "sample_indices/" + name)) {
    sampled.push_back(values.at(static_cast<std::size_t>(index)));
  }
  return sampled;
}

// Compares loss, gradients and updated parameters of one step with the fixture.
void expect_step_matches(const Fixture& fixture, const std::string& model, int step, float loss,
                         Parameters& parameters, double parameter_tolerance) {
  const std::string prefix = "step" + std::to_string(step);
  SCOPED_TRACE(model + " " + prefix);
  const float expected_loss = fixture.floats(model, prefix + "/loss")[0];
  EXPECT_NEAR(loss, expected_loss, kGradientTolerance * std::abs(expected_loss));
  for (const auto& name : parameters.names()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(close_in_l2(as_stored(fixture, model, name, parameters[name].grad),
                            fixture.floats(model, prefix + "/grad/" + name), kGradientTolerance));
    EXPECT_TRUE(close_in_l2(as_stored(fixture, model, name, parameters[name].value),
                            fixture.floats(model, prefix + "/after/" + name), parameter_tolerance));
  }
}

struct Batch {
  std::vector<float> x;
  std::vector<std::int32_t> y;
};

Batch gather(Backend& backend, const Fixture& fixture, const std::string& model, int step,
             int batch) {
  const auto images = fixture.bytes(model, "images");
  const auto labels = fixture.bytes(model, "labels");
  const auto indices = fixture.ints(model, "step" + std::to_string(step) + "/indices");
  Batch out{std::vector<float>(static_cast<std::size_t>(batch) * 28 * 28),
            std::vector<std::int32_t>(static_cast<std::size_t>(batch))};
  backend.gather_batch(images.data(), labels.data(), 28 * 28, indices.data(), batch, out.x.data(),
                       out.y.data());
  return out;
}

std::vector<float> zeros(std::int64_t count) {
  return std::vector<float>(static_cast<std::size_t>(count));
}

TEST(TrainingStep, MnistCnnWithAdamAndDropoutMatchesPyTorch) {
  const Fixture fixture("training_step");
  const std::string model = "mnist_cnn";
  const auto params = fixture.params(model);
  const int batch = params["batch"];
  const float p = params["dropout"];
  StepCounters counters{.seed = params["seed"], .step = 0};
  cpu::CpuBackend backend;

  const Conv2dShape conv1{batch, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1};
  const Conv2dShape conv2{batch, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1};
  const Conv2dShape conv3{batch, 64, 7, 7, 128, 3, 3, 1, 1, 1, 1};
  const Pool2dShape pool1{batch, 32, 28, 28, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool2{batch, 64, 14, 14, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool3{batch, 128, 7, 7, 2, 2, 2, 2, 1, 1};
  const LinearShape fc1{batch, 2048, 625};
  const LinearShape fc2{batch, 625, 10};
  // One scratch buffer, planned for the largest convolution, serves them all.
  std::vector<std::byte> workspace(
      std::max({backend.conv2d_workspace_bytes(conv1), backend.conv2d_workspace_bytes(conv2),
                backend.conv2d_workspace_bytes(conv3)}));

  Parameters ps;
  const std::uint64_t seed = counters.seed;
  for (const auto& [name, conv] :
       {std::pair{"layer1.0", conv1}, std::pair{"layer2.0", conv2}, std::pair{"layer3.0", conv3}}) {
    const std::int64_t fan_in = conv.in_channels * 9;
    ps.add_layer(name, conv.weight_elements(), fan_in, conv.out_channels,
                 models::default_bound(fan_in), seed);
  }
  ps.add_layer("fc1", 2048 * 625, 2048, 625, models::xavier_bound(2048, 625), seed);
  ps.add_layer("fc2", 625 * 10, 625, 10, models::xavier_bound(625, 10), seed);

  for (int step = 0; step < 2; ++step) {
    const Batch in = gather(backend, fixture, model, step, batch);
    // Forward: conv, ReLU, pool, dropout three times, then fc1, ReLU, dropout, fc2.
    auto c1 = zeros(conv1.output_elements()), r1 = c1;
    auto q1 = zeros(pool1.output_elements()), d1 = q1;
    std::vector<std::int32_t> a1(q1.size());
    backend.conv2d_forward(conv1, in.x.data(), ps["layer1.0.weight"].value.data(),
                           ps["layer1.0.bias"].value.data(), c1.data(), workspace);
    backend.relu_forward(conv1.output_elements(), c1.data(), r1.data());
    backend.max_pool2d_forward(pool1, r1.data(), q1.data(), a1.data());
    backend.dropout_forward(pool1.output_elements(), p, 1, &counters, q1.data(), d1.data());

    auto c2 = zeros(conv2.output_elements()), r2 = c2;
    auto q2 = zeros(pool2.output_elements()), d2 = q2;
    std::vector<std::int32_t> a2(q2.size());
    backend.conv2d_forward(conv2, d1.data(), ps["layer2.0.weight"].value.data(),
                           ps["layer2.0.bias"].value.data(), c2.data(), workspace);
    backend.relu_forward(conv2.output_elements(), c2.data(), r2.data());
    backend.max_pool2d_forward(pool2, r2.data(), q2.data(), a2.data());
    backend.dropout_forward(pool2.output_elements(), p, 2, &counters, q2.data(), d2.data());

    auto c3 = zeros(conv3.output_elements()), r3 = c3;
    auto q3 = zeros(pool3.output_elements()), d3 = q3;
    std::vector<std::int32_t> a3(q3.size());
    backend.conv2d_forward(conv3, d2.data(), ps["layer3.0.weight"].value.data(),
                           ps["layer3.0.bias"].value.data(), c3.data(), workspace);
    backend.relu_forward(conv3.output_elements(), c3.data(), r3.data());
    backend.max_pool2d_forward(pool3, r3.data(), q3.data(), a3.data());
    backend.dropout_forward(pool3.output_elements(), p, 3, &counters, q3.data(), d3.data());

    auto f1 = zeros(batch * 625), r4 = f1, d4 = f1;
    auto logits = zeros(batch * 10);
    backend.linear_forward(fc1, d3.data(), ps["fc1.weight"].value.data(),
                           ps["fc1.bias"].value.data(), f1.data());
    backend.relu_forward(batch * 625, f1.data(), r4.data());
    backend.dropout_forward(batch * 625, p, 4, &counters, r4.data(), d4.data());
    backend.linear_forward(fc2, d4.data(), ps["fc2.weight"].value.data(),
                           ps["fc2.bias"].value.data(), logits.data());

    float loss = 0.0f;
    auto dlogits = zeros(batch * 10);
    backend.softmax_cross_entropy(batch, 10, logits.data(), in.y.data(), &loss, dlogits.data());

    // Backward, in reverse; each buffer's gradient reuses the name with a g prefix.
    auto gd4 = zeros(batch * 625), gf1 = gd4;
    backend.linear_backward_weight(fc2, d4.data(), dlogits.data(), ps["fc2.weight"].grad.data());
    backend.linear_backward_bias(fc2, dlogits.data(), ps["fc2.bias"].grad.data());
    backend.linear_backward_data(fc2, dlogits.data(), ps["fc2.weight"].value.data(), gd4.data());
    backend.dropout_backward(batch * 625, p, 4, &counters, gd4.data(), gd4.data());
    backend.relu_backward(batch * 625, r4.data(), gd4.data(), gf1.data());
    auto gd3 = zeros(pool3.output_elements());
    backend.linear_backward_weight(fc1, d3.data(), gf1.data(), ps["fc1.weight"].grad.data());
    backend.linear_backward_bias(fc1, gf1.data(), ps["fc1.bias"].grad.data());
    backend.linear_backward_data(fc1, gf1.data(), ps["fc1.weight"].value.data(), gd3.data());

    const auto conv_block_backward = [&](const Conv2dShape& conv, const Pool2dShape& pool,
                                         std::uint32_t stream, std::vector<float>& g_dropped,
                                         const std::vector<std::int32_t>& argmax,
                                         const std::vector<float>& relu_out,
                                         const std::vector<float>& conv_in,
                                         const std::string& layer, std::vector<float>* g_in) {
      auto g_relu = zeros(conv.output_elements()), g_conv = g_relu;
      backend.dropout_backward(pool.output_elements(), p, stream, &counters, g_dropped.data(),
                               g_dropped.data());
      backend.max_pool2d_backward(pool, nullptr, nullptr, g_dropped.data(), argmax.data(),
                                  g_relu.data());
      backend.relu_backward(conv.output_elements(), relu_out.data(), g_relu.data(), g_conv.data());
      backend.conv2d_backward_filter(conv, conv_in.data(), g_conv.data(),
                                     ps[layer + ".weight"].grad.data(), workspace);
      backend.conv2d_backward_bias(conv, g_conv.data(), ps[layer + ".bias"].grad.data());
      if (g_in != nullptr) {
        backend.conv2d_backward_data(conv, g_conv.data(), ps[layer + ".weight"].value.data(),
                                     g_in->data(), workspace);
      }
    };
    auto gd2 = zeros(pool2.output_elements());
    auto gd1 = zeros(pool1.output_elements());
    conv_block_backward(conv3, pool3, 3, gd3, a3, r3, d2, "layer3.0", &gd2);
    conv_block_backward(conv2, pool2, 2, gd2, a2, r2, d1, "layer2.0", &gd1);
    conv_block_backward(conv1, pool1, 1, gd1, a1, r1, in.x, "layer1.0", nullptr);

    const auto slots = ps.slots();
    backend.adam_step(slots, AdamConfig{}, &counters);
    backend.advance_step(&counters);
    // Adam moves a parameter by about lr * sign(gradient), so a gradient that float rounding
    // pushes across zero moves it the other way; such elements are rare and small in L2.
    expect_step_matches(fixture, model, step, loss, ps, 1e-5);
  }
  EXPECT_EQ(counters.step, 2u);
}

TEST(TrainingStep, FashionLenetWithSgdAndSigmoidHeadMatchesPyTorch) {
  const Fixture fixture("training_step");
  const std::string model = "fashion_lenet";
  const auto params = fixture.params(model);
  const int batch = params["batch"];
  StepCounters counters{.seed = params["seed"], .step = 0};
  cpu::CpuBackend backend;

  const Conv2dShape conv1{batch, 1, 28, 28, 6, 5, 5, 1, 1, 0, 0};
  const Conv2dShape conv2{batch, 6, 12, 12, 10, 5, 5, 1, 1, 0, 0};
  const Pool2dShape pool1{batch, 6, 24, 24, 2, 2, 2, 2, 0, 0};
  const Pool2dShape pool2{batch, 10, 8, 8, 2, 2, 2, 2, 0, 0};
  const LinearShape ff1{batch, 160, 56};
  const LinearShape ff2{batch, 56, 10};
  std::vector<std::byte> workspace(
      std::max(backend.conv2d_workspace_bytes(conv1), backend.conv2d_workspace_bytes(conv2)));

  Parameters ps;
  const std::uint64_t seed = counters.seed;
  ps.add_layer("conv1", conv1.weight_elements(), 25, 6, models::default_bound(25), seed);
  ps.add_layer("conv2", conv2.weight_elements(), 150, 10, models::default_bound(150), seed);
  ps.add_layer("ff1", 160 * 56, 160, 56, models::default_bound(160), seed);
  ps.add_layer("ff2", 56 * 10, 56, 10, models::default_bound(56), seed);

  for (int step = 0; step < 2; ++step) {
    const Batch in = gather(backend, fixture, model, step, batch);
    auto c1 = zeros(conv1.output_elements()), q1 = zeros(pool1.output_elements());
    auto c2 = zeros(conv2.output_elements()), q2 = zeros(pool2.output_elements());
    std::vector<std::int32_t> a1(q1.size()), a2(q2.size());
    auto h = zeros(batch * 56), r = h, z = zeros(batch * 10), s = z;
    backend.conv2d_forward(conv1, in.x.data(), ps["conv1.weight"].value.data(),
                           ps["conv1.bias"].value.data(), c1.data(), workspace);
    backend.max_pool2d_forward(pool1, c1.data(), q1.data(), a1.data());
    backend.conv2d_forward(conv2, q1.data(), ps["conv2.weight"].value.data(),
                           ps["conv2.bias"].value.data(), c2.data(), workspace);
    backend.max_pool2d_forward(pool2, c2.data(), q2.data(), a2.data());
    backend.linear_forward(ff1, q2.data(), ps["ff1.weight"].value.data(),
                           ps["ff1.bias"].value.data(), h.data());
    backend.relu_forward(batch * 56, h.data(), r.data());
    backend.linear_forward(ff2, r.data(), ps["ff2.weight"].value.data(),
                           ps["ff2.bias"].value.data(), z.data());
    backend.sigmoid_forward(batch * 10, z.data(), s.data());

    float loss = 0.0f;
    auto gs = zeros(batch * 10), gz = gs;
    backend.softmax_cross_entropy(batch, 10, s.data(), in.y.data(), &loss, gs.data());

    auto gr = zeros(batch * 56), gh = gr;
    auto gq2 = zeros(pool2.output_elements()), gc2 = zeros(conv2.output_elements());
    auto gq1 = zeros(pool1.output_elements()), gc1 = zeros(conv1.output_elements());
    backend.sigmoid_backward(batch * 10, s.data(), gs.data(), gz.data());
    backend.linear_backward_weight(ff2, r.data(), gz.data(), ps["ff2.weight"].grad.data());
    backend.linear_backward_bias(ff2, gz.data(), ps["ff2.bias"].grad.data());
    backend.linear_backward_data(ff2, gz.data(), ps["ff2.weight"].value.data(), gr.data());
    backend.relu_backward(batch * 56, r.data(), gr.data(), gh.data());
    backend.linear_backward_weight(ff1, q2.data(), gh.data(), ps["ff1.weight"].grad.data());
    backend.linear_backward_bias(ff1, gh.data(), ps["ff1.bias"].grad.data());
    backend.linear_backward_data(ff1, gh.data(), ps["ff1.weight"].value.data(), gq2.data());
    backend.max_pool2d_backward(pool2, nullptr, nullptr, gq2.data(), a2.data(), gc2.data());
    backend.conv2d_backward_filter(conv2, q1.data(), gc2.data(), ps["conv2.weight"].grad.data(),
                                   workspace);
    backend.conv2d_backward_bias(conv2, gc2.data(), ps["conv2.bias"].grad.data());
    backend.conv2d_backward_data(conv2, gc2.data(), ps["conv2.weight"].value.data(), gq1.data(),
                                 workspace);
    backend.max_pool2d_backward(pool1, nullptr, nullptr, gq1.data(), a1.data(), gc1.data());
    backend.conv2d_backward_filter(conv1, in.x.data(), gc1.data(), ps["conv1.weight"].grad.data(),
                                   workspace);
    backend.conv2d_backward_bias(conv1, gc1.data(), ps["conv1.bias"].grad.data());

    backend.sgd_step(ps.slots(), 0.04f);
    backend.advance_step(&counters);
    expect_step_matches(fixture, model, step, loss, ps, 1e-6);
  }
}

}  // namespace
}  // namespace kiln
