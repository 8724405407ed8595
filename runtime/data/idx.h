// Reader for IDX files, the format of MNIST and Fashion-MNIST: a big-endian header (two zero bytes,
// an element type, a dimension count, then one uint32 per dimension) followed by the elements in
// row-major order. Files may be raw or gzip-compressed; gzip is recognised by its magic bytes, not
// by the file name. Only unsigned-byte elements are supported, which is all these datasets use.
//
// Every fault in the input throws DataError with a one-line message "<path>: <fault>", e.g.
//   data/mnist/x.gz: wrong dimension count: found 1, expected 3 for images (magic 0x00000803)
// so the apps can print it as it stands and tests can assert on it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace kiln::data {

class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The most bytes an IDX file may hold, raw or after decompression. The reference datasets need
// 47 MB; the cap stops a hostile gzip stream from inflating until memory runs out.
inline constexpr std::int64_t kMaxIdxBytes = std::int64_t{1} << 30;

// The whole file, inflated when it is gzip-compressed. More than max_bytes, on disk or inflated,
// is a DataError, as are a missing file, a directory, an empty file and a damaged gzip stream.
// max_bytes below 1 is a caller's mistake (std::invalid_argument).
std::vector<std::uint8_t> read_file_inflating_gzip(const std::filesystem::path& path,
                                                   std::int64_t max_bytes);

// The same on bytes already in memory, named `source` in errors: returned as they are unless they
// are gzip-compressed (recognised by the magic bytes), inflated then. More than max_bytes, as
// given or inflated, and a damaged gzip stream are DataErrors; max_bytes below 1 is a caller's
// mistake (std::invalid_argument).
std::vector<std::uint8_t> inflate_if_gzip(std::vector<std::uint8_t> bytes,
                                          const std::filesystem::path& source,
                                          std::int64_t max_bytes);

// count images of rows x cols pixels, one byte each, image after image in row-major order.
struct ImageSet {
  std::int64_t count = 0;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::uint8_t> pixels;
};

// Reads an IDX file of magic 0x00000803: unsigned bytes in 3 dimensions (count, rows, cols).
ImageSet read_idx_images(const std::filesystem::path& path);

// Reads an IDX file of magic 0x00000801: unsigned bytes in 1 dimension. Every label must be below
// num_classes; num_classes outside 1..256 is a caller's mistake (std::invalid_argument).
std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path, int num_classes);

// The two readers on a file's bytes already in memory, raw or gzip-compressed, with the same checks
// and messages; `source` stands for the path in them. The fuzzers of tests/fuzz drive these.
ImageSet parse_idx_images(std::vector<std::uint8_t> file_bytes,
                          const std::filesystem::path& source);
std::vector<std::uint8_t> parse_idx_labels(std::vector<std::uint8_t> file_bytes, int num_classes,
                                           const std::filesystem::path& source);

// Images with one label each.
struct Dataset {
  ImageSet images;
  std::vector<std::uint8_t> labels;
  int num_classes = 0;
};

// Reads both files; a different number of images and labels is a DataError naming both files.
Dataset load_idx_dataset(const std::filesystem::path& images, const std::filesystem::path& labels,
                         int num_classes);

}  // namespace kiln::data
