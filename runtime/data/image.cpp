#include "runtime/data/image.h"

#include <fmt/format.h>
#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "runtime/data/idx.h"

namespace kiln::data {
namespace {

namespace fs = std::filesystem;

// stb_image takes the file's length as an int.
constexpr std::int64_t kMaxImageFileBytes = INT_MAX;
// What stb_image decodes, and the plain Netpbm formats read here.
constexpr std::string_view kFormatsRead = "PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC, PNM";

template <typename... Args>
[[noreturn]] void fail(const fs::path& path, fmt::format_string<Args...> fault, Args&&... args) {
  throw DataError(
      fmt::format("{}: {}", path.string(), fmt::format(fault, std::forward<Args>(args)...)));
}

// A grayscale image as MNIST draws it: 0 is background, higher values are ink.
struct Ink {
  std::vector<std::uint8_t> pixels;
  int width = 0;
  int height = 0;
  std::uint8_t at(int x, int y) const {
    return pixels[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                  static_cast<std::size_t>(x)];
  }
};

// Light on dark, inverted when the border (the outermost rows and columns) is light on average.
Ink to_ink(std::vector<std::uint8_t> gray, int width, int height) {
  Ink ink{std::move(gray), width, height};
  std::int64_t border_sum = 0;
  std::int64_t border_count = 0;
  const auto add = [&](int x, int y) {
    border_sum += ink.at(x, y);
    ++border_count;
  };
  for (int x = 0; x < width; ++x) {
    add(x, 0);
    if (height > 1) add(x, height - 1);
  }
  for (int y = 1; y < height - 1; ++y) {
    add(0, y);
    if (width > 1) add(width - 1, y);
  }
  // mean > 127, in integers: sum > 127 * count.
  const bool invert = border_sum > 127 * border_count;

  if (invert) {
    for (std::uint8_t& value : ink.pixels) value = static_cast<std::uint8_t>(255 - value);
  }
  return ink;
}

struct Box {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// The smallest box holding every pixel above kInkThreshold; width 0 when there is none. Fainter
// pixels inside the box are kept (MNIST's own anti-aliased edges are among them); outside it they
// are dropped with the rest of the margin.
Box ink_bounds(const Ink& ink) {
  int left = ink.width;
  int right = -1;
  int top = ink.height;
  int bottom = -1;
  for (int y = 0; y < ink.height; ++y) {
    for (int x = 0; x < ink.width; ++x) {
      if (ink.at(x, y) <= kInkThreshold) continue;
      left = std::min(left, x);
      right = std::max(right, x);
      top = std::min(top, y);
      bottom = std::max(bottom, y);
    }
  }
  if (right < 0) return {};
  return {left, top, right - left + 1, bottom - top + 1};
}

// How `from` pixels spread over `to` pixels along one axis when scaled by to/from: output pixel o
// covers source [o * from / to, (o + 1) * from / to). In units of 1/to of a source pixel, that is
// [o * from, (o + 1) * from), and source pixel i covers [i * to, (i + 1) * to), so every overlap
// is a whole number and the weights of one output pixel sum to `from`.
struct Overlap {
  int out = 0;
  int in = 0;
  std::int64_t weight = 0;
};

std::vector<Overlap> overlaps(int from, int to) {
  std::vector<Overlap> result;
  result.reserve(static_cast<std::size_t>(from) + static_cast<std::size_t>(to));
  for (int o = 0; o < to; ++o) {
    const std::int64_t begin = std::int64_t{o} * from;
    const std::int64_t end = begin + from;
    for (auto i = static_cast<int>(begin / to); i < from && std::int64_t{i} * to < end; ++i) {
      const std::int64_t overlap =
          std::min(end, std::int64_t{i + 1} * to) - std::max(begin, std::int64_t{i} * to);
      if (overlap > 0) result.push_back({o, i, overlap});
    }
  }
  return result;
}

// The box of `ink`, area-averaged to out_width x out_height: each output pixel is the mean of the
// source area it covers, computed exactly in integers and rounded to nearest.
Ink area_average(const Ink& ink, const Box& box, int out_width, int out_height) {
  const std::vector<Overlap> across = overlaps(box.width, out_width);
  const std::vector<Overlap> down = overlaps(box.height, out_height);

  // Rows first: box.height rows of out_width sums, each at most 255 * box.width.
  std::vector<std::int64_t> rows(static_cast<std::size_t>(box.height) *
                                 static_cast<std::size_t>(out_width));
  for (int y = 0; y < box.height; ++y) {
    std::int64_t* row = rows.data() + static_cast<std::size_t>(y) * out_width;
    for (const Overlap& o : across) row[o.out] += o.weight * ink.at(box.x + o.in, box.y + y);
  }
  std::vector<std::int64_t> sums(static_cast<std::size_t>(out_height) *
                                 static_cast<std::size_t>(out_width));
  for (const Overlap& o : down) {
    for (int x = 0; x < out_width; ++x) {
      sums[static_cast<std::size_t>(o.out) * out_width + x] +=
          o.weight * rows[static_cast<std::size_t>(o.in) * out_width + x];
    }
  }
  const std::int64_t area = std::int64_t{box.width} * box.height;
  Ink scaled{std::vector<std::uint8_t>(sums.size()), out_width, out_height};
  for (std::size_t i = 0; i < sums.size(); ++i) {
    scaled.pixels[i] = static_cast<std::uint8_t>((sums[i] + area / 2) / area);
  }
  return scaled;
}

// Where to put a digit of `size` pixels along one axis so that `centre`, its centre of mass in its
// own pixel coordinates, lands on the field's centre: a whole-pixel shift, kept inside the field.
int placement(double centre, int size) {
  const auto offset = static_cast<int>(std::lround(kMnistSide / 2.0 - centre));
  return std::clamp(offset, 0, kMnistSide - size);
}

std::vector<std::uint8_t> place_centred(const Ink& digit) {
  double mass = 0;
  double moment_x = 0;
  double moment_y = 0;
  for (int y = 0; y < digit.height; ++y) {
    for (int x = 0; x < digit.width; ++x) {
      const double value = digit.at(x, y);
      mass += value;
      moment_x += value * x;
      moment_y += value * y;
    }
  }
  // Ink too faint to survive the scaling leaves no mass: centre the box itself.
  const double centre_x = mass > 0 ? moment_x / mass : (digit.width - 1) / 2.0;
  const double centre_y = mass > 0 ? moment_y / mass : (digit.height - 1) / 2.0;
  const int left = placement(centre_x, digit.width);
  const int top = placement(centre_y, digit.height);

  std::vector<std::uint8_t> field(kMnistSide * kMnistSide, 0);
  for (int y = 0; y < digit.height; ++y) {
    std::copy_n(digit.pixels.begin() + static_cast<std::ptrdiff_t>(y) * digit.width, digit.width,
                field.begin() + static_cast<std::ptrdiff_t>(top + y) * kMnistSide + left);
  }
  return field;
}

// The ink in `box`, its longer side scaled to exactly kMnistDigitBox and its shorter side keeping
// the ratio (rounded, at least 1 pixel), centred by mass in the 28x28 field.
std::vector<std::uint8_t> scale_and_centre(const Ink& ink, const Box& box) {
  const int longer = std::max(box.width, box.height);
  const auto fit = [&](int side) {
    const auto scaled = std::lround(static_cast<double>(side) * kMnistDigitBox / longer);
    return std::clamp(static_cast<int>(scaled), 1, kMnistDigitBox);
  };
  return place_centred(area_average(ink, box, fit(box.width), fit(box.height)));
}

// Rec. 601 luma of straight (not premultiplied) colour over white, rounded to nearest. stb's own
// conversion to one channel would drop alpha, turning a transparent background black.
std::vector<std::uint8_t> to_gray(const std::uint8_t* pixels, int width, int height, int channels) {
  const std::size_t count = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<std::uint8_t> gray(count);
  const auto over_white = [](int value, int alpha) {
    return (value * alpha + 255 * (255 - alpha) + 127) / 255;
  };
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* p = pixels + i * static_cast<std::size_t>(channels);
    int value = 0;
    switch (channels) {
      case 1:
        value = p[0];
        break;
      case 2:
        value = over_white(p[0], p[1]);
        break;
      default: {
        const int alpha = channels == 4 ? p[3] : 255;
        const int red = over_white(p[0], alpha);
        const int green = over_white(p[1], alpha);
        const int blue = over_white(p[2], alpha);
        value = (299 * red + 587 * green + 114 * blue + 500) / 1000;
        break;
      }
    }
    gray[i] = static_cast<std::uint8_t>(value);
  }
  return gray;
}

// A decoded picture in one channel, row-major.
struct Gray {
  std::vector<std::uint8_t> pixels;
  int width = 0;
  int height = 0;
};

// Before any pixel is decoded: the size the header claims, against the limit and the file's size.
void check_size(const fs::path& path, std::int64_t width, std::int64_t height,
                std::size_t file_bytes) {
  if (width > kMaxImageSide || height > kMaxImageSide) {
    fail(path, "image is {} x {} pixels, over the limit of {} on a side", width, height,
         kMaxImageSide);
  }
  if (width * height > kMaxPixelsPerFileByte * static_cast<std::int64_t>(file_bytes)) {
    fail(path,
         "image is {} x {} pixels, more than a file of {} bytes can hold: truncated or damaged",
         width, height, file_bytes);
  }
}

// The plain (ASCII) Netpbm formats, which stb_image does not read: P1 (bitmap, 1 is black), P2
// (gray) and P3 (colour), each a header of width, height and (but for P1) maxval, then the
// samples, all as decimal numbers between whitespace; '#' starts a comment up to the line's end.
class PlainPnm {
 public:
  PlainPnm(const fs::path& path, std::span<const std::uint8_t> bytes)
      : path_(path), bytes_(bytes), format_(bytes[1]) {}

  Gray decode() {
    pos_ = 2;
    const std::int64_t width = number("width");
    const std::int64_t height = number("height");
    if (width < 1 || height < 1) {
      fail(path_, "plain P{}: image is {} x {} pixels", format_, width, height);
    }
    check_size(path_, width, height, bytes_.size());
    const std::int64_t maxval = format_ == '1' ? 1 : number("maxval");
    if (maxval < 1 || maxval > 65535) {
      fail(path_, "plain P{}: maxval {}, expected 1 to 65535", format_, maxval);
    }
    const int channels = format_ == '3' ? 3 : 1;
    std::vector<std::uint8_t> samples(static_cast<std::size_t>(width * height * channels));
    for (std::size_t i = 0; i < samples.size(); ++i) {
      // P1's samples are single digits that need no whitespace between them.
      const std::int64_t value = format_ == '1' ? bit(i) : number("sample");
      if (value > maxval) {
        fail(path_, "plain P{}: sample {} is {}, over the maxval {}", format_, i, value, maxval);
      }
      const std::int64_t level = format_ == '1' ? 1 - value : value;  // P1: 1 is black
      samples[i] = static_cast<std::uint8_t>((level * 255 + maxval / 2) / maxval);
    }
    const auto w = static_cast<int>(width);
    const auto h = static_cast<int>(height);
    if (channels == 1) return {std::move(samples), w, h};
    return {to_gray(samples.data(), w, h, channels), w, h};
  }

 private:
  void skip_space() {
    while (pos_ < bytes_.size()) {
      if (bytes_[pos_] == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n') ++pos_;
      } else if (std::isspace(bytes_[pos_]) != 0) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  std::int64_t number(std::string_view what) {
    skip_space();
    if (pos_ == bytes_.size()) {
      fail(path_, "plain P{}: truncated: the file ends before the {}", format_, what);
    }
    std::int64_t value = 0;
    const std::size_t start = pos_;
    while (pos_ < bytes_.size() && std::isdigit(bytes_[pos_]) != 0 && value <= 65535) {
      value = value * 10 + (bytes_[pos_++] - '0');
    }
    if (pos_ == start) {
      fail(path_, "plain P{}: expected a number for the {} at byte {}, found byte 0x{:02X}",
           format_, what, pos_, bytes_[pos_]);
    }
    if (value > 65535) {
      fail(path_, "plain P{}: the {} at byte {} is over 65535", format_, what, start);
    }
    return value;
  }

  std::int64_t bit(std::size_t index) {
    skip_space();
    if (pos_ == bytes_.size()) {
      fail(path_, "plain P1: truncated: the file ends before sample {}", index);
    }
    const std::uint8_t digit = bytes_[pos_++];
    if (digit != '0' && digit != '1') {
      fail(path_, "plain P1: expected 0 or 1 for sample {}, found byte 0x{:02X}", index, digit);
    }
    return digit - '0';
  }

  const fs::path& path_;
  std::span<const std::uint8_t> bytes_;
  char format_;
  std::size_t pos_ = 0;
};

bool is_plain_pnm(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '3' &&
         std::isspace(bytes[2]) != 0;
}

struct StbFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

Gray decode_with_stb(const fs::path& path, std::span<const std::uint8_t> bytes) {
  const auto length = static_cast<int>(bytes.size());
  // The size first, from the header, so an absurd one is refused before any pixel is decoded.
  int width = 0;
  int height = 0;
  int channels = 0;
  if (stbi_info_from_memory(bytes.data(), length, &width, &height, &channels) == 0) {
    fail(path, "cannot decode as an image: {} (formats read: {})", stbi_failure_reason(),
         kFormatsRead);
  }
  check_size(path, width, height, bytes.size());
  const std::unique_ptr<stbi_uc, StbFree> pixels(
      stbi_load_from_memory(bytes.data(), length, &width, &height, &channels, 0));
  if (pixels == nullptr) fail(path, "cannot decode as an image: {}", stbi_failure_reason());
  if (width < 1 || height < 1 || channels < 1 || channels > 4) {
    fail(path, "cannot decode as an image: the decoder returned {} x {} pixels of {} channels",
         width, height, channels);
  }
  check_size(path, width, height, bytes.size());
  return {to_gray(pixels.get(), width, height, channels), width, height};
}

// An image file's bytes, inflated already, decoded and made MNIST-style.
std::vector<std::uint8_t> image_as_mnist(const std::vector<std::uint8_t>& bytes,
                                         const fs::path& path) {
  Gray gray = is_plain_pnm(bytes) ? PlainPnm(path, bytes).decode() : decode_with_stb(path, bytes);
  const Ink ink = to_ink(std::move(gray.pixels), gray.width, gray.height);
  const Box box = ink_bounds(ink);
  if (box.width == 0) {
    fail(path, "blank image: no ink (no pixel above {} once the background is dark)",
         kInkThreshold);
  }
  return scale_and_centre(ink, box);
}

}  // namespace

std::vector<std::uint8_t> mnist_style(std::span<const std::uint8_t> gray, int width, int height) {
  if (width < 1 || height < 1 ||
      gray.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height)) {
    throw std::invalid_argument(fmt::format(
        "mnist_style: {} pixels for a {} x {} image, expected a positive size and one byte a pixel",
        gray.size(), width, height));
  }
  const Ink ink = to_ink(std::vector<std::uint8_t>(gray.begin(), gray.end()), width, height);
  const Box box = ink_bounds(ink);
  if (box.width == 0) return std::vector<std::uint8_t>(kMnistSide * kMnistSide, 0);
  return scale_and_centre(ink, box);
}

std::vector<std::uint8_t> load_image_as_mnist(const fs::path& path) {
  return image_as_mnist(read_file_inflating_gzip(path, kMaxImageFileBytes), path);
}

std::vector<std::uint8_t> decode_image_as_mnist(std::vector<std::uint8_t> file_bytes,
                                                const fs::path& source) {
  return image_as_mnist(inflate_if_gzip(std::move(file_bytes), source, kMaxImageFileBytes), source);
}

}  // namespace kiln::data
