// EngineMix routes whole op families: each op of a family marked in the routing reaches the other
// engine and nothing else does, pooling's and dropout's forward, backward (and reserve size) go
// together, and the name says the mix. Two recording fakes stand in for the engines, so this runs
// without a GPU.
#include "kernels/engine_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {
namespace {

// Records the family of every op it receives (the fused ReLU-pooling counts as pool); computes
// nothing.
class RecordingBackend final : public Backend {
 public:
  RecordingBackend(std::string name, MemorySpace space, bool fuses = false)
      : name_(std::move(name)), space_(space), fuses_(fuses) {}
  std::string_view name() const override { return name_; }
  MemorySpace memory_space() const override { return space_; }
  const std::vector<std::string>& calls() const { return calls_; }

  std::size_t conv2d_workspace_bytes(const Conv2dShape&) const override {
    calls_.push_back("conv");
    return 0;
  }
  void conv2d_forward(const Conv2dShape&, const float*, const float*, const float*, float*,
                      std::span<std::byte>) override {
    calls_.push_back("conv");
  }
  void conv2d_backward_data(const Conv2dShape&, const float*, const float*, float*,
                            std::span<std::byte>) override {
    calls_.push_back("conv");
  }
  void conv2d_backward_filter(const Conv2dShape&, const float*, const float*, float*,
                              std::span<std::byte>) override {
    calls_.push_back("conv");
  }
  void conv2d_backward_bias(const Conv2dShape&, const float*, float*) override {
    calls_.push_back("conv");
  }
  void max_pool2d_forward(const Pool2dShape&, const float*, float*, std::int32_t*) override {
    calls_.push_back("pool");
  }
  void max_pool2d_backward(const Pool2dShape&, const float*, const float*, const float*,
                           const std::int32_t*, float*) override {
    calls_.push_back("pool");
  }
  bool fuses_relu_max_pool() const override { return fuses_; }
  void relu_max_pool2d_forward(const Pool2dShape&, const float*, float*, std::int32_t*) override {
    calls_.push_back("pool");
  }
  void relu_max_pool2d_backward(const Pool2dShape&, const float*, const float*, const std::int32_t*,
                                float*) override {
    calls_.push_back("pool");
  }
  void relu_forward(std::int64_t, const float*, float*) override { calls_.push_back("activation"); }
  void relu_backward(std::int64_t, const float*, const float*, float*) override {
    calls_.push_back("activation");
  }
  void sigmoid_forward(std::int64_t, const float*, float*) override {
    calls_.push_back("activation");
  }
  void sigmoid_backward(std::int64_t, const float*, const float*, float*) override {
    calls_.push_back("activation");
  }
  std::size_t dropout_reserve_bytes(std::int64_t) const override {
    calls_.push_back("dropout");
    return 0;
  }
  void dropout_forward(std::int64_t, float, std::uint32_t, const StepCounters*, const float*,
                       float*, std::span<std::byte>) override {
    calls_.push_back("dropout");
  }
  void dropout_backward(std::int64_t, float, std::uint32_t, const StepCounters*, const float*,
                        float*, std::span<std::byte>) override {
    calls_.push_back("dropout");
  }
  void softmax_cross_entropy(int, int, const float*, const std::int32_t*, float*, float*) override {
    calls_.push_back("softmax");
  }
  void linear_forward(const LinearShape&, const float*, const float*, const float*,
                      float*) override {
    calls_.push_back("other");
  }
  void linear_backward_data(const LinearShape&, const float*, const float*, float*) override {
    calls_.push_back("other");
  }
  void linear_backward_weight(const LinearShape&, const float*, const float*, float*) override {
    calls_.push_back("other");
  }
  void linear_backward_bias(const LinearShape&, const float*, float*) override {
    calls_.push_back("other");
  }
  void sgd_step(std::span<const ParameterSlot>, float) override { calls_.push_back("other"); }
  void adam_step(std::span<const ParameterSlot>, const AdamConfig&, const StepCounters*) override {
    calls_.push_back("other");
  }
  void advance_step(StepCounters*) override { calls_.push_back("other"); }
  std::size_t shuffle_workspace_bytes(std::int64_t) const override {
    calls_.push_back("other");
    return 0;
  }
  void shuffle_indices(std::int64_t, std::uint64_t, std::uint32_t, std::uint64_t,
                       const std::int32_t*, std::int32_t*, std::span<std::byte>) override {
    calls_.push_back("other");
  }
  void gather_batch(const std::uint8_t*, const std::uint8_t*, std::int64_t, const std::int32_t*,
                    int, float*, std::int32_t*) override {
    calls_.push_back("other");
  }
  void count_correct(int, int, const float*, const std::int32_t*, std::int64_t*) override {
    calls_.push_back("other");
  }

 private:
  std::string name_;
  MemorySpace space_;
  bool fuses_;
  mutable std::vector<std::string> calls_;
};

// Every op of the interface once (the fused ones where the backend fuses); returns how many calls
// each family makes.
std::map<std::string, int> call_every_op(Backend& backend) {
  const Conv2dShape conv{};
  const Pool2dShape pool{};
  const LinearShape linear{};
  backend.conv2d_workspace_bytes(conv);
  backend.conv2d_forward(conv, nullptr, nullptr, nullptr, nullptr, {});
  backend.conv2d_backward_data(conv, nullptr, nullptr, nullptr, {});
  backend.conv2d_backward_filter(conv, nullptr, nullptr, nullptr, {});
  backend.conv2d_backward_bias(conv, nullptr, nullptr);
  backend.max_pool2d_forward(pool, nullptr, nullptr, nullptr);
  backend.max_pool2d_backward(pool, nullptr, nullptr, nullptr, nullptr, nullptr);
  const bool fused = backend.fuses_relu_max_pool();
  if (fused) {
    backend.relu_max_pool2d_forward(pool, nullptr, nullptr, nullptr);
    backend.relu_max_pool2d_backward(pool, nullptr, nullptr, nullptr, nullptr);
  }
  backend.relu_forward(0, nullptr, nullptr);
  backend.relu_backward(0, nullptr, nullptr, nullptr);
  backend.sigmoid_forward(0, nullptr, nullptr);
  backend.sigmoid_backward(0, nullptr, nullptr, nullptr);
  backend.dropout_reserve_bytes(0);
  backend.dropout_forward(0, 0.5f, 1, nullptr, nullptr, nullptr, {});
  backend.dropout_backward(0, 0.5f, 1, nullptr, nullptr, nullptr, {});
  backend.softmax_cross_entropy(1, 1, nullptr, nullptr, nullptr, nullptr);
  backend.linear_forward(linear, nullptr, nullptr, nullptr, nullptr);
  backend.linear_backward_data(linear, nullptr, nullptr, nullptr);
  backend.linear_backward_weight(linear, nullptr, nullptr, nullptr);
  backend.linear_backward_bias(linear, nullptr, nullptr);
  backend.sgd_step({}, 0.1f);
  backend.adam_step({}, AdamConfig{}, nullptr);
  backend.advance_step(nullptr);
  backend.shuffle_workspace_bytes(0);
  backend.shuffle_indices(0, 0, 0, 0, nullptr, nullptr, {});
  backend.gather_batch(nullptr, nullptr, 0, nullptr, 0, nullptr, nullptr);
  backend.count_correct(0, 0, nullptr, nullptr, nullptr);
  return {{"conv", 5},    {"pool", fused ? 4 : 2}, {"activation", 4},
          {"dropout", 3}, {"softmax", 1},          {"other", 11}};
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
    RecordingBackend custom("cuda", MemorySpace::device, /*fuses=*/true);
    RecordingBackend vendor("cudnn", MemorySpace::device);
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
        RecordingBackend custom("cuda", MemorySpace::device, base_fuses);
        RecordingBackend vendor("cudnn", MemorySpace::device, /*fuses=*/true);
        EngineMix mix(custom, vendor,
                      FamilyRouting{}
                          .route(OpFamily::pool, pool_to_other)
                          .route(OpFamily::activation, activation_to_other));
        const bool fuses = base_fuses && !pool_to_other && !activation_to_other;
        EXPECT_EQ(mix.fuses_relu_max_pool(), fuses);
        const Pool2dShape pool{};
        if (fuses) {
          mix.relu_max_pool2d_forward(pool, nullptr, nullptr, nullptr);
          mix.relu_max_pool2d_backward(pool, nullptr, nullptr, nullptr, nullptr);
          EXPECT_EQ(custom.calls(), (std::vector<std::string>{"pool", "pool"}));
        } else {
          EXPECT_THROW(mix.relu_max_pool2d_forward(pool, nullptr, nullptr, nullptr),
                       std::logic_error);
          EXPECT_THROW(mix.relu_max_pool2d_backward(pool, nullptr, nullptr, nullptr, nullptr),
                       std::logic_error);
          EXPECT_TRUE(custom.calls().empty());
        }
        EXPECT_TRUE(vendor.calls().empty());
      }
    }
  }
}

TEST(EngineMix, NameSaysWhichFamiliesTheOtherEngineRuns) {
  RecordingBackend custom("cuda", MemorySpace::device);
  RecordingBackend vendor("cudnn", MemorySpace::device);
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
  RecordingBackend host("cpu", MemorySpace::host);
  RecordingBackend device("cudnn", MemorySpace::device);
  EXPECT_THROW(EngineMix(host, device, FamilyRouting{}), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
