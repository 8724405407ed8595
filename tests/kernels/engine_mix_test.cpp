// EngineMix routes whole op families: each op of a family marked in the routing reaches the other
// engine and nothing else does, pooling's and dropout's forward, backward (and reserve size) go
// together, and the name says the mix. Two recorders on the CPU reference stand in for the
// engines, so this runs without a GPU.
#include "kernels/engine_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"

namespace kiln {
namespace {

// Records the family (ops.h) of every op and size query that reaches it, then hands it to the CPU
// reference, which runs it on ValidArguments' small buffers: a routing base, so it needs no
// override per op.
class FamilyRecorder final : public RoutingBackend {
 public:
  FamilyRecorder(std::string name, MemorySpace space, bool fuses = false)
      : name_(std::move(name)), space_(space), fuses_(fuses) {}
  std::string_view name() const override { return name_; }
  MemorySpace memory_space() const override { return space_; }
  bool fuses_relu_max_pool() const override { return fuses_; }
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  Backend& engine_for(Op op) const override {
    calls_.emplace_back(op_family_name(op_family(op)));
    return cpu_;
  }

  std::string name_;
  MemorySpace space_;
  bool fuses_;
  mutable std::vector<std::string> calls_;
  mutable cpu::CpuBackend cpu_;
};

// Arguments that pass the interface's checks (backend.cpp), which run before the mix routes, and
// that the CPU reference can run: a small shape of each kind and buffers large enough for each.
struct ValidArguments {
  Conv2dShape conv{.batch = 1,
                   .in_channels = 1,
                   .in_height = 4,
                   .in_width = 4,
                   .out_channels = 1,
                   .kernel_height = 3,
                   .kernel_width = 3};
  Pool2dShape pool{.batch = 1,
                   .channels = 1,
                   .in_height = 4,
                   .in_width = 4,
                   .kernel_height = 2,
                   .kernel_width = 2,
                   .stride_height = 2,
                   .stride_width = 2};
  LinearShape linear{.batch = 1, .in_features = 1, .out_features = 1};
  std::vector<float> floats = std::vector<float>(64);
  std::vector<std::int32_t> ints = std::vector<std::int32_t>(64);  // indices and labels 0
  std::vector<std::int32_t> order = std::vector<std::int32_t>(64);
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(64);
  std::int64_t correct = 0;
  StepCounters counters{};
};

// Every op of the interface once (the fused ones where the backend fuses) and every size query;
// returns how many calls each family makes.
std::map<std::string, int> call_every_op(Backend& backend) {
  ValidArguments a;
  float* f = a.floats.data();
  std::int32_t* i = a.ints.data();
  const ParameterSlot slot{.value = f, .grad = f, .exp_avg = f, .exp_avg_sq = f, .count = 1};
  std::vector<float> scratch(backend.conv2d_workspace_bytes(a.conv) / sizeof(float) + 1);
  const std::span<std::byte> workspace = std::as_writable_bytes(std::span(scratch));
  backend.conv2d_forward(a.conv, f, f, nullptr, f, workspace);
  backend.conv2d_backward_data(a.conv, f, f, f, workspace);
  backend.conv2d_backward_filter(a.conv, f, f, f, workspace);
  backend.conv2d_backward_bias(a.conv, f, f);
  backend.max_pool2d_forward(a.pool, f, f, i);
  backend.max_pool2d_backward(a.pool, f, f, f, i, f);
  const bool fused = backend.fuses_relu_max_pool();
  if (fused) {
    backend.relu_max_pool2d_forward(a.pool, f, f, i);
    backend.relu_max_pool2d_backward(a.pool, f, f, i, f);
  }
  backend.relu_forward(1, f, f);
  backend.relu_backward(1, f, f, f);
  backend.sigmoid_forward(1, f, f);
  backend.sigmoid_backward(1, f, f, f);
  backend.dropout_reserve_bytes(1);
  backend.dropout_forward(1, 0.5f, 1, &a.counters, f, f, {});
  backend.dropout_backward(1, 0.5f, 1, &a.counters, f, f, {});
  backend.softmax_cross_entropy(1, 1, f, i, f, f);
  backend.linear_forward(a.linear, f, f, nullptr, f);
  backend.linear_backward_data(a.linear, f, f, f);
  backend.linear_backward_weight(a.linear, f, f, f);
  backend.linear_backward_bias(a.linear, f, f);
  backend.sgd_step({&slot, 1}, 0.1f);
  backend.adam_step({&slot, 1}, AdamConfig{}, &a.counters);
  backend.advance_step(&a.counters);
  backend.shuffle_workspace_bytes(1);
  backend.shuffle_indices(1, 0, 0, 0, i, a.order.data(), {});
  backend.gather_batch(a.bytes.data(), a.bytes.data(), 1, i, 1, f, a.order.data());
  backend.count_correct(1, 1, f, i, &a.correct);
  return {{"conv", 5},    {"pool", fused ? 4 : 2}, {"activation", 4}, {"dropout", 3},
          {"softmax", 1}, {"linear", 4},           {"optimizer", 3},  {"data", 4}};
}

std::map<std::string, int> count(const std::vector<std::string>& calls) {
  std::map<std::string, int> counts;
  for (const auto& family : calls) ++counts[family];
  return counts;
}

TEST(EngineMix, EachFamilyReachesOnlyItsEngine) {
  // Every subset of the five families, so each family is tested routed both ways, beside others
  // routed either way.
  for (unsigned subset = 0; subset < (1u << kOpFamilies.size()); ++subset) {
    FamilyRecorder custom("cuda", MemorySpace::device, /*fuses=*/true);
    FamilyRecorder vendor("cudnn", MemorySpace::device);
    FamilyRouting routing;
    for (std::size_t i = 0; i < kOpFamilies.size(); ++i) {
      routing.route(kOpFamilies[i], ((subset >> i) & 1u) != 0);
    }
    EngineMix mix(custom, vendor, routing);
    const auto all_calls = call_every_op(mix);
    std::map<std::string, int> expected_custom;
    std::map<std::string, int> expected_vendor;
    for (const auto& [family, calls] : all_calls) {
      bool to_vendor = false;
      for (const OpFamily f : kOpFamilies) {
        to_vendor = to_vendor || (op_family_name(f) == family && routing.to_other(f));
      }
      (to_vendor ? expected_vendor : expected_custom)[family] = calls;
    }
    SCOPED_TRACE(std::string(mix.name()));
    EXPECT_EQ(count(custom.calls()), expected_custom);
    EXPECT_EQ(count(vendor.calls()), expected_vendor);
  }
}

// The fused op is a pool and an activation at once: it may run only where both families go, on
// an engine that fuses them (cuDNN does not); elsewhere it throws rather than run half of it on
// the wrong engine.
TEST(EngineMix, FusesReluIntoPoolOnlyWhenBothFamiliesStayOnAFusingBase) {
  for (const bool base_fuses : {false, true}) {
    for (const bool pool_to_other : {false, true}) {
      for (const bool activation_to_other : {false, true}) {
        SCOPED_TRACE(::testing::Message()
                     << "base fuses " << base_fuses << ", pool to other " << pool_to_other
                     << ", activation to other " << activation_to_other);
        FamilyRecorder custom("cuda", MemorySpace::device, base_fuses);
        FamilyRecorder vendor("cudnn", MemorySpace::device, /*fuses=*/true);
        EngineMix mix(custom, vendor,
                      FamilyRouting{}
                          .route(OpFamily::pool, pool_to_other)
                          .route(OpFamily::activation, activation_to_other));
        const bool fuses = base_fuses && !pool_to_other && !activation_to_other;
        EXPECT_EQ(mix.fuses_relu_max_pool(), fuses);
        ValidArguments a;
        float* f = a.floats.data();
        std::int32_t* i = a.ints.data();
        if (fuses) {
          mix.relu_max_pool2d_forward(a.pool, f, f, i);
          mix.relu_max_pool2d_backward(a.pool, f, f, i, f);
          EXPECT_EQ(custom.calls(), (std::vector<std::string>{"pool", "pool"}));
        } else {
          EXPECT_THROW(mix.relu_max_pool2d_forward(a.pool, f, f, i), std::logic_error);
          EXPECT_THROW(mix.relu_max_pool2d_backward(a.pool, f, f, i, f), std::logic_error);
          EXPECT_TRUE(custom.calls().empty());
        }
        EXPECT_TRUE(vendor.calls().empty());
      }
    }
  }
}

TEST(EngineMix, NameSaysWhichFamiliesTheOtherEngineRuns) {
  FamilyRecorder custom("cuda", MemorySpace::device);
  FamilyRecorder vendor("cudnn", MemorySpace::device);
  EXPECT_EQ(EngineMix(custom, vendor, FamilyRouting{}).name(), "cuda");
  EXPECT_EQ(EngineMix(custom, vendor, FamilyRouting{}.route(OpFamily::conv, true)).name(),
            "cuda (conv: cudnn)");
  EXPECT_EQ(EngineMix(custom, vendor,
                      FamilyRouting{}.route(OpFamily::softmax, true).route(OpFamily::pool, true))
                .name(),
            "cuda (pool, softmax: cudnn)");
  FamilyRouting all;
  for (const OpFamily family : kOpFamilies) all.route(family, true);
  EXPECT_TRUE(all.all());
  EXPECT_FALSE(all.none());
  EXPECT_TRUE(FamilyRouting{}.none());
  EXPECT_EQ(EngineMix(custom, vendor, all).memory_space(), MemorySpace::device);
}

TEST(EngineMix, EnginesInDifferentMemorySpacesAreRefused) {
  FamilyRecorder host("cpu", MemorySpace::host);
  FamilyRecorder device("cudnn", MemorySpace::device);
  EXPECT_THROW(EngineMix(host, device, FamilyRouting{}), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
