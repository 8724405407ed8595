// Shapes, tensor views, and the memory plan and arena that hold every tensor of a run.
#include "runtime/memory/arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>

#include "runtime/tensor.h"

namespace kiln {
namespace {

TEST(Shape, CountsElementsAndPrints) {
  const Shape shape{32, 1, 28, 28};
  EXPECT_EQ(shape.rank(), 4);
  EXPECT_EQ(shape.elements(), 32 * 28 * 28);
  EXPECT_EQ(shape.to_string(), "[32, 1, 28, 28]");
  EXPECT_EQ(shape.with_batch(7), (Shape{7, 1, 28, 28}));
  EXPECT_NE(shape, (Shape{32, 1, 28}));
  EXPECT_EQ(Shape{}.elements(), 1);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), std::logic_error);
  EXPECT_THROW((Shape{2, -1}), std::logic_error);
}

TEST(Tensor, TypedAccessChecksTheDtype) {
  float value = 0;
  const Tensor tensor{&value, DType::f32, Shape{1}, MemorySpace::host};
  EXPECT_EQ(tensor.f32(), &value);
  EXPECT_THROW(tensor.i32(), std::logic_error);
  EXPECT_EQ(tensor.bytes(), 4u);
}

TEST(Tensor, ReshapeKeepsTheMemoryAndTheElementCount) {
  float values[12] = {};
  const Tensor tensor{values, DType::f32, Shape{2, 3, 2, 1}, MemorySpace::host};
  const Tensor flat = tensor.reshaped(Shape{2, 6});
  EXPECT_EQ(flat.data, tensor.data);
  EXPECT_EQ(flat.shape, (Shape{2, 6}));
  EXPECT_THROW(tensor.reshaped(Shape{5}), std::logic_error);
}

TEST(MemoryPlan, AlignsEveryReservationAndCountsItsCategory) {
  MemoryPlan plan;
  const Reservation a = plan.reserve("a", MemoryCategory::parameters, DType::f32, Shape{3});
  const Reservation b = plan.reserve("b", MemoryCategory::gradients, DType::u8, Shape{300});
  plan.reserve_bytes("c", MemoryCategory::workspace, 0);
  EXPECT_EQ(plan.entries()[a.index].offset, 0u);
  EXPECT_EQ(plan.entries()[b.index].offset, 256u);
  EXPECT_EQ(plan.bytes_in(MemoryCategory::parameters), 256u);
  EXPECT_EQ(plan.bytes_in(MemoryCategory::gradients), 512u);
  EXPECT_EQ(plan.bytes_in(MemoryCategory::activations), 0u);
  EXPECT_EQ(plan.total_bytes(), 768u);
  EXPECT_NE(plan.summary().find("parameters 0.00 MiB"), std::string::npos) << plan.summary();
  EXPECT_EQ(plan.summary().find("activations"), std::string::npos) << plan.summary();
}

TEST(Arena, AllocatesOnceAndHandsOutZeroedDisjointViews) {
  const auto allocator = make_host_allocator();
  MemoryPlan plan;
  const Reservation a = plan.reserve("a", MemoryCategory::parameters, DType::f32, Shape{10, 3});
  const Reservation b = plan.reserve("b", MemoryCategory::data, DType::i32, Shape{5});
  {
    const Arena arena(*allocator, plan);
    EXPECT_EQ(allocator->allocations(), 1u);
    const Tensor ta = arena.tensor(a);
    const Tensor tb = arena.tensor(b);
    EXPECT_EQ(ta.shape, (Shape{10, 3}));
    EXPECT_EQ(tb.dtype, DType::i32);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ta.data) % 256, 0u);
    EXPECT_GE(static_cast<std::byte*>(tb.data), static_cast<std::byte*>(ta.data) + ta.bytes());
    for (int i = 0; i < 30; ++i) EXPECT_EQ(ta.f32()[i], 0.0f);
    EXPECT_THROW(arena.tensor(Reservation{}), std::logic_error);
  }
  EXPECT_EQ(allocator->allocations(), 1u);
}

}  // namespace
}  // namespace kiln
