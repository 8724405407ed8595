// Files that tests build byte by byte (IDX, PNG), whose integers are stored big-endian.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::testing {

using Bytes = std::vector<unsigned char>;

// Appends `value` most significant byte first, as IDX dimensions and PNG chunk fields are stored.
inline void append_big_endian(Bytes& bytes, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<unsigned char>(value >> shift));
  }
}

}  // namespace kiln::testing
