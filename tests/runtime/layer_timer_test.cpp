// The per-layer timer on the host clock (the CPU backend's): each interval's mean over the
// iterations, sections apart from layers, and intervals not run in an iteration counting zero.
#include "runtime/graph/layer_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace kiln {
namespace {

void busy_for(std::chrono::milliseconds span) {
  const auto end = std::chrono::steady_clock::now() + span;
  while (std::chrono::steady_clock::now() < end) {
  }
}

TEST(LayerTimer, MeansPerIterationOnTheHostClock) {
  LayerTimer timer(2, 1, nullptr);
  for (int iteration = 0; iteration < 2; ++iteration) {
    timer.before(1, Pass::backward);
    busy_for(std::chrono::milliseconds(4));
    timer.after(1, Pass::backward);
    timer.begin_section(0);
    busy_for(std::chrono::milliseconds(2));
    timer.end_section(0);
    timer.end_iteration();
  }
  EXPECT_EQ(timer.iterations(), 2);
  EXPECT_GE(timer.layer_ms(1, Pass::backward), 4.0);
  EXPECT_LT(timer.layer_ms(1, Pass::backward), 400.0);
  EXPECT_GE(timer.section_ms(0), 2.0);
  EXPECT_LT(timer.section_ms(0), 400.0);
  EXPECT_EQ(timer.layer_ms(0, Pass::forward), 0.0) << "never marked";
  EXPECT_EQ(timer.layer_ms(1, Pass::forward), 0.0) << "never marked";
}

TEST(LayerTimer, NoMeanBeforeAnIteration) {
  const LayerTimer timer(1, 0, nullptr);
  EXPECT_THROW(timer.layer_ms(0, Pass::forward), std::logic_error);
}

}  // namespace
}  // namespace kiln
