// Argument checks: a bad argument throws std::invalid_argument whose message names what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace kiln::testing {

// Fails the test unless `call` throws std::invalid_argument whose message contains `names`.
inline void expect_invalid(const std::function<void()>& call, const std::string& names) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one naming " << names;
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(names), std::string::npos) << error.what();
  }
}

}  // namespace kiln::testing
