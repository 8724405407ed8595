// libFuzzer target: pictures made MNIST-style (runtime/data/image.h). The first byte chooses the
// entry point. 'D' decodes the rest as an image file, as `train_mnist_gpu predict --image` does
// (stb_image's formats, plain Netpbm, gzip), where a DataError is the documented answer to bad
// input. Any other byte runs mnist_style on a picture of the sizes in the next two bytes (1 to 256
// pixels a side) filled from the rest, repeated, so sizes and pixels vary independently. Anything
// escaping but a DataError, a sanitizer report, or a result other than 28x28 with its ink inside
// a 20x20 box is a finding. Run by scripts/fuzz.sh image.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "runtime/data/image.h"
#include "tests/support/ink_bounds.h"

namespace {

using kiln::data::kMnistDigitBox;
using kiln::data::kMnistSide;

void check(bool condition) {
  if (!condition) std::abort();
}

// MNIST's layout: 28x28, its ink within a 20x20 box.
void check_mnist(const std::vector<std::uint8_t>& field) {
  check(field.size() == kMnistSide * kMnistSide);
  const kiln::testing::InkBounds box = kiln::testing::ink_bounds(field);
  check(box.width <= kMnistDigitBox && box.height <= kMnistDigitBox);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if (data[0] == 'D') {
    try {
      check_mnist(kiln::data::decode_image_as_mnist({data + 1, data + size}, "fuzz-image"));
    } catch (const kiln::data::DataError&) {
    }
    return 0;
  }
  if (size < 4) return 0;
  const int width = data[1] + 1;
  const int height = data[2] + 1;
  const std::size_t pixel_bytes = size - 3;
  std::vector<std::uint8_t> gray(static_cast<std::size_t>(width) * height);
  for (std::size_t i = 0; i < gray.size(); ++i) gray[i] = data[3 + i % pixel_bytes];
  check_mnist(kiln::data::mnist_style(gray, width, height));
  return 0;
}
