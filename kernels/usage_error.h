// Flags that make no sense, alone, together or for the model: the message is one line naming the
// flag, and the app exits 2 on these (1 on any other error). The command line, the engines built
// by name (kernels/engines.h) and the trainer throw it alike; it lives here, in the lowest layer
// that throws it.
#pragma once

#include <stdexcept>

namespace kiln {

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace kiln
