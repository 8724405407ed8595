#include "runtime/data/idx.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

// Makes zlib's input pointers const, so compressed bytes need no const_cast.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <limits>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace kiln::data {
namespace {

namespace fs = std::filesystem;

constexpr std::uint8_t kUnsignedByteType = 0x08;
constexpr std::array<std::string_view, 3> kImageDimensions = {"count", "rows", "cols"};
constexpr std::array<std::string_view, 1> kLabelDimensions = {"count"};

template <typename... Args>
[[noreturn]] void fail(const fs::path& path, fmt::format_string<Args...> fault, Args&&... args) {
  throw DataError(
      fmt::format("{}: {}", path.string(), fmt::format(fault, std::forward<Args>(args)...)));
}

std::vector<std::uint8_t> read_whole_file(const fs::path& path, std::int64_t max_bytes) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) fail(path, "no such file");
  if (error) fail(path, "cannot inspect file: {}", error.message());
  if (fs::is_directory(status)) fail(path, "is a directory, not a file");
  if (!fs::is_regular_file(status)) fail(path, "not a regular file");

  const std::uintmax_t size = fs::file_size(path, error);
  if (error) fail(path, "cannot read file size: {}", error.message());
  if (size == 0) fail(path, "empty file");
  if (size > static_cast<std::uintmax_t>(max_bytes)) {
    fail(path, "file is {} bytes, over the limit of {} bytes", size, max_bytes);
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: {}", std::generic_category().message(errno));
  std::vector<std::uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) {
    fail(path, "read error: got {} of {} bytes", in.gcount(), size);
  }
  return bytes;
}

bool is_gzip(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Owns a zlib inflate stream so that every exit, thrown or not, releases it.
struct InflateStream {
  z_stream stream{};
  InflateStream() = default;
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  ~InflateStream() { inflateEnd(&stream); }
};

// The first output buffer: the gzip trailer's size field (the inflated size mod 2^32), bounded by
// deflate's best ratio of 1032:1 so that a lying trailer on a tiny file cannot claim a gigabyte.
// A spare byte past the guess means an exact guess never runs out of room and forces a doubling;
// a byte past the limit is how a stream that breaks it shows itself.
std::size_t first_inflate_buffer_size(std::span<const std::uint8_t> compressed,
                                      std::size_t max_bytes) {
  std::size_t guess = 0;
  if (compressed.size() >= 4) {
    const std::uint8_t* size_field = compressed.data() + compressed.size() - 4;
    guess = std::size_t{size_field[0]} | std::size_t{size_field[1]} << 8 |
            std::size_t{size_field[2]} << 16 | std::size_t{size_field[3]} << 24;
  }
  guess = std::min(guess, 1032 * compressed.size());
  return std::min(std::max<std::size_t>(guess + 1, 4096), max_bytes + 1);
}

std::vector<std::uint8_t> gunzip(const fs::path& path, std::span<const std::uint8_t> compressed,
                                 std::size_t max_bytes) {
  InflateStream inflater;
  z_stream& stream = inflater.stream;
  // 16 + MAX_WBITS: a gzip header and trailer are required, and the trailer's CRC-32 is checked.
  const int init_status = inflateInit2(&stream, 16 + MAX_WBITS);
  if (init_status == Z_MEM_ERROR) throw std::bad_alloc();
  if (init_status != Z_OK) fail(path, "cannot start the gzip decoder: {}", zError(init_status));
  stream.next_in = compressed.data();
  const std::uint8_t* const end_in = compressed.data() + compressed.size();
  // zlib counts bytes in uInt (32 bits), so larger buffers are handed over a piece at a time.
  constexpr std::size_t kMaxZlibCount = std::numeric_limits<uInt>::max();

  std::vector<std::uint8_t> out(first_inflate_buffer_size(compressed, max_bytes));
  for (;;) {
    if (stream.total_out == out.size()) out.resize(std::min(2 * out.size(), max_bytes + 1));
    stream.avail_in = static_cast<uInt>(
        std::min(static_cast<std::size_t>(end_in - stream.next_in), kMaxZlibCount));
    stream.next_out = out.data() + stream.total_out;
    stream.avail_out = static_cast<uInt>(std::min(out.size() - stream.total_out, kMaxZlibCount));
    const int status = inflate(&stream, Z_NO_FLUSH);
    if (stream.total_out > max_bytes) {
      fail(path, "gzip stream inflates to more than the limit of {} bytes", max_bytes);
    }
    if (status == Z_STREAM_END) break;
    if (status == Z_OK) continue;
    if (status == Z_MEM_ERROR) throw std::bad_alloc();
    // There is always room for output here, so a lack of progress means the input ran out.
    if (status == Z_BUF_ERROR && stream.next_in == end_in) {
      fail(path, "truncated gzip stream: the file ends after {} bytes, inside the compressed data",
           compressed.size());
    }
    fail(path, "corrupt gzip stream: {}", stream.msg != nullptr ? stream.msg : zError(status));
  }
  if (stream.next_in != end_in) {
    fail(path, "trailing bytes: {} bytes follow the end of the gzip stream",
         end_in - stream.next_in);
  }
  out.resize(stream.total_out);
  return out;
}

std::string_view element_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "16-bit integer";
    case 0x0C:
      return "32-bit integer";
    case 0x0D:
      return "32-bit float";
    case 0x0E:
      return "64-bit float";
    default:
      return "not an IDX type";
  }
}

// Checks the header against what `kind` needs and the body's length against the header, then
// strips the header so that `bytes` holds only the elements. Returns the dimensions.
std::vector<std::int64_t> parse_idx(const fs::path& path, std::vector<std::uint8_t>& bytes,
                                    std::string_view kind,
                                    std::span<const std::string_view> dimension_names) {
  const std::size_t expected_dims = dimension_names.size();
  const auto expected_magic = static_cast<std::uint32_t>(kUnsignedByteType << 8 | expected_dims);

  if (bytes.size() < 4) {
    fail(path, "truncated header: {} bytes, too few for the 4-byte magic number", bytes.size());
  }
  const std::uint32_t magic = std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
                              std::uint32_t{bytes[2]} << 8 | bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0) {
    fail(path, "wrong magic number 0x{:08X}: not an IDX file (expected 0x{:08X} for {})", magic,
         expected_magic, kind);
  }
  if (bytes[2] != kUnsignedByteType) {
    fail(path, "unsupported IDX element type 0x{:02X} ({}): only 0x08 (unsigned byte) is supported",
         bytes[2], element_type_name(bytes[2]));
  }
  if (bytes[3] != expected_dims) {
    fail(path, "wrong dimension count: found {}, expected {} for {} (magic 0x{:08X})", bytes[3],
         expected_dims, kind, expected_magic);
  }

  const std::size_t header_bytes = 4 + 4 * expected_dims;
  if (bytes.size() < header_bytes) {
    fail(path, "truncated header: {} bytes, too few for the {}-byte header of {} dimensions",
         bytes.size(), header_bytes, expected_dims);
  }
  std::vector<std::int64_t> dims(expected_dims);
  for (std::size_t i = 0; i < expected_dims; ++i) {
    const std::uint8_t* field = bytes.data() + 4 + 4 * i;
    dims[i] = std::int64_t{field[0]} << 24 | std::int64_t{field[1]} << 16 |
              std::int64_t{field[2]} << 8 | field[3];
  }
  const std::string shape =
      fmt::format("{} ({})", fmt::join(dims, " x "), fmt::join(dimension_names, " x "));

  std::int64_t element_count = 1;
  for (std::size_t i = 0; i < expected_dims; ++i) {
    if (dims[i] == 0) {
      fail(path, "zero-sized dimension: {} is 0 in shape {}", dimension_names[i], shape);
    }
    // Checked, so a hostile header cannot wrap the product around to a small, plausible size.
    if (element_count > std::numeric_limits<std::int64_t>::max() / dims[i]) {
      fail(path, "dimension product overflows 64 bits: shape {}", shape);
    }
    element_count *= dims[i];
  }

  const std::int64_t body_bytes = static_cast<std::int64_t>(bytes.size() - header_bytes);
  if (body_bytes < element_count) {
    fail(path, "truncated body: header promises {} bytes for shape {}, only {} follow the header",
         element_count, shape, body_bytes);
  }
  if (body_bytes > element_count) {
    fail(path, "trailing bytes: header promises {} bytes for shape {}, but {} follow the header",
         element_count, shape, body_bytes);
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  return dims;
}

// An IDX file's dimensions and its elements in row-major order.
struct IdxContents {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> elements;
};

// A file's bytes, raw or gzip-compressed, read as an IDX file of `kind`.
IdxContents parse_idx_file(std::vector<std::uint8_t> file_bytes, const fs::path& source,
                           std::string_view kind,
                           std::span<const std::string_view> dimension_names) {
  std::vector<std::uint8_t> bytes = inflate_if_gzip(std::move(file_bytes), source, kMaxIdxBytes);
  std::vector<std::int64_t> dims = parse_idx(source, bytes, kind, dimension_names);
  return {std::move(dims), std::move(bytes)};
}

void check_max_bytes(std::string_view function, std::int64_t max_bytes) {
  if (max_bytes < 1) {
    throw std::invalid_argument(
        fmt::format("{}: max_bytes is {}, expected at least 1", function, max_bytes));
  }
}

void check_num_classes(std::string_view function, int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    throw std::invalid_argument(
        fmt::format("{}: num_classes is {}, expected 1..256", function, num_classes));
  }
}

}  // namespace

std::vector<std::uint8_t> read_file_inflating_gzip(const fs::path& path, std::int64_t max_bytes) {
  check_max_bytes("read_file_inflating_gzip", max_bytes);
  return inflate_if_gzip(read_whole_file(path, max_bytes), path, max_bytes);
}

std::vector<std::uint8_t> inflate_if_gzip(std::vector<std::uint8_t> bytes, const fs::path& source,
                                          std::int64_t max_bytes) {
  check_max_bytes("inflate_if_gzip", max_bytes);
  if (bytes.size() > static_cast<std::uint64_t>(max_bytes)) {
    fail(source, "{} bytes, over the limit of {} bytes", bytes.size(), max_bytes);
  }
  // Recognised by content: the reference files are .gz, but a user may have unpacked them.
  if (!is_gzip(bytes)) return bytes;
  return gunzip(source, bytes, static_cast<std::size_t>(max_bytes));
}

ImageSet read_idx_images(const fs::path& path) {
  return parse_idx_images(read_whole_file(path, kMaxIdxBytes), path);
}

ImageSet parse_idx_images(std::vector<std::uint8_t> file_bytes, const fs::path& source) {
  IdxContents contents = parse_idx_file(std::move(file_bytes), source, "images", kImageDimensions);
  return {contents.dims[0], contents.dims[1], contents.dims[2], std::move(contents.elements)};
}

std::vector<std::uint8_t> read_idx_labels(const fs::path& path, int num_classes) {
  // Checked before the file is read: a wrong count is the caller's mistake, whatever the file.
  check_num_classes("read_idx_labels", num_classes);
  return parse_idx_labels(read_whole_file(path, kMaxIdxBytes), num_classes, path);
}

std::vector<std::uint8_t> parse_idx_labels(std::vector<std::uint8_t> file_bytes, int num_classes,
                                           const fs::path& source) {
  check_num_classes("parse_idx_labels", num_classes);
  std::vector<std::uint8_t> labels =
      parse_idx_file(std::move(file_bytes), source, "labels", kLabelDimensions).elements;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      fail(source, "label out of range: label at index {} is {}, expected 0..{} for {} classes", i,
           labels[i], num_classes - 1, num_classes);
    }
  }
  return labels;
}

Dataset load_idx_dataset(const fs::path& images, const fs::path& labels, int num_classes) {
  Dataset dataset{read_idx_images(images), read_idx_labels(labels, num_classes), num_classes};
  const auto label_count = static_cast<std::int64_t>(dataset.labels.size());
  if (label_count != dataset.images.count) {
    fail(images, "count mismatch: {} images, but {} has {} labels", dataset.images.count,
         labels.string(), label_count);
  }
  return dataset;
}

}  // namespace kiln::data
