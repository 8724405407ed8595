// safetensors files (the format of Hugging Face's safetensors library): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian bytes. kiln writes its checkpoints in it so that PyTorch loads them unchanged, and
// the PyTorch fixtures of tests/golden use it too.
//
// Reading is strict: every fault (truncation, a header that is not JSON or not the format, an
// unknown dtype, a byte range that is out of bounds, overlapping, leaves a hole or disagrees with
// the shape) throws SafetensorsError with one line "<path>: <fault>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::checkpoint {

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class DType { f32, f64, i32, i64, u8 };

std::string_view dtype_name(DType dtype);  // "F32", "F64", "I32", "I64", "U8"
std::size_t dtype_size(DType dtype);

struct Tensor {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;  // little-endian, row-major

  std::int64_t element_count() const;
};

struct SafetensorsContents {
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" object
  std::map<std::string, Tensor> tensors;
};

SafetensorsContents read_safetensors(const std::filesystem::path& path);

// read_safetensors on a file's bytes already in memory, with the same checks and messages;
// `source` stands for the path in them. The fuzzers of tests/fuzz drive it.
SafetensorsContents parse_safetensors(std::span<const std::byte> file,
                                      const std::filesystem::path& source);

// Writes atomically: to a temporary file beside `path`, flushed to disk, then renamed over it,
// so a failed write never damages an existing file. Tensors are laid out in name order.
void write_safetensors(const std::filesystem::path& path, const SafetensorsContents& contents);

// Typed access with checks: the tensor exists, has this dtype, and (for the vector overloads)
// holds exactly what its shape says. Errors name the tensor.
std::vector<float> tensor_floats(const SafetensorsContents& contents, const std::string& name);
std::vector<std::int32_t> tensor_ints(const SafetensorsContents& contents, const std::string& name);
std::vector<std::uint8_t> tensor_bytes(const SafetensorsContents& contents,
                                       const std::string& name);

// A tensor of `dtype` and `shape` holding `values` (the values' size must match the shape).
Tensor make_tensor(std::span<const float> values, std::vector<std::int64_t> shape);
Tensor make_tensor(std::span<const std::int32_t> values, std::vector<std::int64_t> shape);

}  // namespace kiln::checkpoint
