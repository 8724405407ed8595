// Checks of the data layer's errors: a DataError whose message is one line, "<path>: <fault>".
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/data/idx.h"

namespace kiln::testing {

// Passes when `read` throws a DataError whose message is one line, "<path>: <fault>", and
// contains every one of `words`.
template <typename Read>
::testing::AssertionResult throws_data_error(Read&& read, const std::filesystem::path& path,
                                             const std::vector<std::string_view>& words) {
  try {
    read();
  } catch (const data::DataError& error) {
    const std::string message = error.what();
    if (!message.starts_with(path.string() + ": ")) {
      return ::testing::AssertionFailure()
             << "message does not start with \"" << path.string() << ": \": " << message;
    }
    if (message.find('\n') != std::string::npos) {
      return ::testing::AssertionFailure() << "message is more than one line: " << message;
    }
    for (const std::string_view word : words) {
      if (message.find(word) == std::string::npos) {
        return ::testing::AssertionFailure() << "message lacks \"" << word << "\": " << message;
      }
    }
    return ::testing::AssertionSuccess() << message;
  }
  return ::testing::AssertionFailure() << "no DataError thrown";
}

}  // namespace kiln::testing
