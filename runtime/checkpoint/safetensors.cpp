#include "runtime/checkpoint/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

namespace kiln::checkpoint {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies bytes as they are");

// The safetensors library refuses headers over 100 MB; so does kiln.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// The most elements a tensor may have, and so the most any one extent may be.
constexpr std::uint64_t kMaxElements = std::uint64_t{std::numeric_limits<std::uint32_t>::max()} * 8;

template <typename... Args>
[[noreturn]] void fail(const fs::path& path, fmt::format_string<Args...> fault, Args&&... args) {
  throw SafetensorsError(
      fmt::format("{}: {}", path.string(), fmt::format(fault, std::forward<Args>(args)...)));
}

// A header value as an error message quotes it. dump() recurses once per level of nesting, so a
// crafted value nested a hundred thousand deep would overflow the stack: only a value whose
// elements are all scalars is quoted; a deeper one is named by its type.
std::string quoted(const json& value) {
  const bool flat = std::none_of(value.begin(), value.end(),
                                 [](const json& element) { return element.is_structured(); });
  return flat ? value.dump() : fmt::format("(a nested JSON {})", value.type_name());
}

bool parse_dtype(std::string_view name, DType& dtype) {
  for (const DType candidate : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8}) {
    if (dtype_name(candidate) == name) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

std::vector<std::byte> read_all(const fs::path& path) {
  std::error_code error;
  const auto status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: {}", std::strerror(errno));
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) fail(path, "cannot read the file size: {}", error.message());
  std::vector<std::byte> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(in.gcount()) != bytes.size()) fail(path, "read error");
  return bytes;
}

// Reads one tensor's entry of the header and checks it against the data section's size.
Tensor parse_entry(const fs::path& path, const std::string& name, const json& entry,
                   std::span<const std::byte> data,
                   std::pair<std::uint64_t, std::uint64_t>& range) {
  if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
      !entry.contains("data_offsets")) {
    fail(path, "tensor '{}': entry needs dtype, shape and data_offsets", name);
  }
  Tensor tensor;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string() || !parse_dtype(dtype.get<std::string>(), tensor.dtype)) {
    fail(path, "tensor '{}': unsupported dtype {}", name, quoted(dtype));
  }
  const json& shape = entry["shape"];
  if (!shape.is_array()) fail(path, "tensor '{}': shape is not a list", name);
  std::uint64_t elements = 1;
  for (const json& extent : shape) {
    if (!extent.is_number_unsigned()) {
      fail(path, "tensor '{}': shape {} has a non-integer or negative extent", name, quoted(shape));
    }
    const auto value = extent.get<std::uint64_t>();
    // Each extent as well as the product: after a zero extent the product stays 0, and an extent
    // over 2^63 would turn negative in the shape.
    if (value > kMaxElements || (value != 0 && elements > kMaxElements / value)) {
      fail(path, "tensor '{}': shape {} is too large", name, quoted(shape));
    }
    elements *= value;
    tensor.shape.push_back(static_cast<std::int64_t>(value));
  }
  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail(path, "tensor '{}': data_offsets must be two non-negative integers", name);
  }
  range = {offsets[0].get<std::uint64_t>(), offsets[1].get<std::uint64_t>()};
  if (range.first > range.second || range.second > data.size()) {
    fail(path, "tensor '{}': byte range [{}, {}) lies outside the {} data bytes", name, range.first,
         range.second, data.size());
  }
  const std::uint64_t expected_bytes = elements * dtype_size(tensor.dtype);
  if (range.second - range.first != expected_bytes) {
    fail(path, "tensor '{}': {} bytes for shape {} of {}, which needs {}", name,
         range.second - range.first, quoted(shape), dtype_name(tensor.dtype), expected_bytes);
  }
  const auto first = data.begin() + static_cast<std::ptrdiff_t>(range.first);
  tensor.bytes.assign(first, first + static_cast<std::ptrdiff_t>(expected_bytes));
  return tensor;
}

template <typename T>
std::vector<T> typed_values(const SafetensorsContents& contents, const std::string& name,
                            DType dtype) {
  const auto found = contents.tensors.find(name);
  if (found == contents.tensors.end()) {
    throw SafetensorsError(fmt::format("no tensor named '{}'", name));
  }
  const Tensor& tensor = found->second;
  if (tensor.dtype != dtype) {
    throw SafetensorsError(fmt::format("tensor '{}' is {}, expected {}", name,
                                       dtype_name(tensor.dtype), dtype_name(dtype)));
  }
  const auto count = static_cast<std::size_t>(tensor.element_count());
  if (tensor.bytes.size() != count * sizeof(T)) {
    throw SafetensorsError(fmt::format("tensor '{}' holds {} bytes, its shape needs {}", name,
                                       tensor.bytes.size(), count * sizeof(T)));
  }
  std::vector<T> values(count);
  if (count > 0) std::memcpy(values.data(), tensor.bytes.data(), tensor.bytes.size());
  return values;
}

template <typename T>
Tensor make_typed_tensor(std::span<const T> values, std::vector<std::int64_t> shape, DType dtype) {
  Tensor tensor{.dtype = dtype, .shape = std::move(shape), .bytes = {}};
  if (tensor.element_count() != static_cast<std::int64_t>(values.size())) {
    throw std::invalid_argument(fmt::format("make_tensor: {} values for a shape of {} elements",
                                            values.size(), tensor.element_count()));
  }
  const auto* first = reinterpret_cast<const std::byte*>(values.data());
  tensor.bytes.assign(first, first + values.size_bytes());
  return tensor;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i32:
      return "I32";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::i32:
      return 4;
    case DType::i64:
      return 8;
    case DType::u8:
      return 1;
  }
  return 0;
}

std::int64_t Tensor::element_count() const {
  std::int64_t count = 1;
  for (const std::int64_t extent : shape) count *= extent;
  return count;
}

SafetensorsContents read_safetensors(const fs::path& path) {
  return parse_safetensors(read_all(path), path);
}

SafetensorsContents parse_safetensors(std::span<const std::byte> file, const fs::path& path) {
  if (file.size() < 8)
    fail(path, "truncated: {} bytes, too few for the header length", file.size());
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, file.data(), 8);
  if (header_bytes > kMaxHeaderBytes) {
    fail(path, "not a safetensors file: header length {} is over the limit of {} bytes",
         header_bytes, kMaxHeaderBytes);
  }
  if (header_bytes > file.size() - 8) {
    fail(path, "truncated: header of {} bytes, but only {} follow", header_bytes, file.size() - 8);
  }
  const std::string_view header_text(reinterpret_cast<const char*>(file.data() + 8), header_bytes);
  const json header = json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) fail(path, "header is not valid JSON");
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const std::span<const std::byte> data(file.data() + 8 + header_bytes,
                                        file.size() - 8 - header_bytes);
  SafetensorsContents contents;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail(path, "metadata '{}' is not a string", key);
        contents.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    std::pair<std::uint64_t, std::uint64_t> range;
    contents.tensors[name] = parse_entry(path, name, entry, data, range);
    ranges.push_back(range);
  }
  // The tensors must tile the data section exactly: no overlap, no hole, nothing after.
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin != covered) {
      fail(path, "tensor data {} at byte {}", begin < covered ? "overlaps" : "leaves a hole",
           begin);
    }
    covered = end;
  }
  if (covered != data.size()) {
    fail(path, "{} bytes after the last tensor's data", data.size() - covered);
  }
  return contents;
}

void write_safetensors(const fs::path& path, const SafetensorsContents& contents) {
  if (contents.tensors.contains("__metadata__")) {
    throw std::invalid_argument(fmt::format(
        "{}: a tensor cannot be named __metadata__, the header's metadata key", path.string()));
  }
  json header = json::object();
  if (!contents.metadata.empty()) header["__metadata__"] = contents.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : contents.tensors) {
    if (tensor.element_count() * static_cast<std::int64_t>(dtype_size(tensor.dtype)) !=
        static_cast<std::int64_t>(tensor.bytes.size())) {
      throw std::invalid_argument(fmt::format("{}: tensor '{}' holds {} bytes, its shape needs {}",
                                              path.string(), name, tensor.bytes.size(),
                                              tensor.element_count() * dtype_size(tensor.dtype)));
    }
    header[name] = {{"dtype", dtype_name(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  std::string header_text = header.dump();
  // Padding the header with spaces to a multiple of 8 keeps the data aligned, as the library does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const std::uint64_t header_bytes = header_text.size();

  const fs::path temporary = fs::path(path).concat(".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(temporary, "cannot create: {}", std::strerror(errno));
  const auto write_all = [&](const void* bytes, std::size_t size) {
    const auto* cursor = static_cast<const char*>(bytes);
    while (size > 0) {
      const ssize_t written = ::write(fd, cursor, size);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        const int saved = written == 0 ? EIO : errno;
        ::close(fd);
        ::unlink(temporary.c_str());
        fail(temporary, "write failed: {}", std::strerror(saved));
      }
      cursor += written;
      size -= static_cast<std::size_t>(written);
    }
  };
  write_all(&header_bytes, 8);
  write_all(header_text.data(), header_text.size());
  for (const auto& [name, tensor] : contents.tensors) {
    write_all(tensor.bytes.data(), tensor.bytes.size());
  }
  // Close even when fsync fails, so the descriptor never leaks.
  const int synced = ::fsync(fd) == 0 ? 0 : errno;
  const int closed = ::close(fd) == 0 ? 0 : errno;
  if (synced != 0 || closed != 0) {
    ::unlink(temporary.c_str());
    fail(temporary, "cannot flush to disk: {}", std::strerror(synced != 0 ? synced : closed));
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    fail(path, "cannot replace with the new file: {}", error.message());
  }
}

std::vector<float> tensor_floats(const SafetensorsContents& contents, const std::string& name) {
  return typed_values<float>(contents, name, DType::f32);
}

std::vector<std::int32_t> tensor_ints(const SafetensorsContents& contents,
                                      const std::string& name) {
  return typed_values<std::int32_t>(contents, name, DType::i32);
}

std::vector<std::uint8_t> tensor_bytes(const SafetensorsContents& contents,
                                       const std::string& name) {
  return typed_values<std::uint8_t>(contents, name, DType::u8);
}

Tensor make_tensor(std::span<const float> values, std::vector<std::int64_t> shape) {
  return make_typed_tensor(values, std::move(shape), DType::f32);
}

Tensor make_tensor(std::span<const std::int32_t> values, std::vector<std::int64_t> shape) {
  return make_typed_tensor(values, std::move(shape), DType::i32);
}

}  // namespace kiln::checkpoint
