#include "runtime/tensor.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::i64:
      return 8;
    case DType::u8:
      return 1;
  }
  throw std::logic_error("unknown dtype");
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "float32";
    case DType::i32:
      return "int32";
    case DType::i64:
      return "int64";
    case DType::u8:
      return "uint8";
  }
  throw std::logic_error("unknown dtype");
}

Shape::Shape(std::initializer_list<std::int64_t> extents) {
  if (extents.size() > kMaxRank) {
    throw std::logic_error(fmt::format("a shape has at most {} extents", kMaxRank));
  }
  for (const std::int64_t extent : extents) {
    if (extent < 0) throw std::logic_error("a shape's extents cannot be negative");
    extents_[static_cast<std::size_t>(rank_++)] = extent;
  }
}

std::int64_t Shape::elements() const {
  std::int64_t count = 1;
  for (int axis = 0; axis < rank_; ++axis) count *= (*this)[axis];
  return count;
}

Shape Shape::with_batch(std::int64_t batch) const {
  if (rank_ == 0) throw std::logic_error("a scalar shape has no batch extent");
  Shape other = *this;
  other.extents_[0] = batch;
  return other;
}

std::string Shape::to_string() const {
  std::string text = "[";
  for (int axis = 0; axis < rank_; ++axis) {
    text += fmt::format("{}{}", axis > 0 ? ", " : "", (*this)[axis]);
  }
  return text + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int axis = 0; axis < a.rank_; ++axis) {
    if (a[axis] != b[axis]) return false;
  }
  return true;
}

Tensor Tensor::reshaped(const Shape& other) const {
  if (other.elements() != elements()) {
    throw std::logic_error(fmt::format("cannot view a tensor of shape {} as {}", shape.to_string(),
                                       other.to_string()));
  }
  Tensor view = *this;
  view.shape = other;
  return view;
}

namespace {
template <typename T>
T* typed(const Tensor& tensor, DType expected) {
  if (tensor.dtype != expected) {
    throw std::logic_error(
        fmt::format("a {} tensor read as {}", dtype_name(tensor.dtype), dtype_name(expected)));
  }
  return static_cast<T*>(tensor.data);
}
}  // namespace

float* Tensor::f32() const { return typed<float>(*this, DType::f32); }
std::int32_t* Tensor::i32() const { return typed<std::int32_t>(*this, DType::i32); }
std::int64_t* Tensor::i64() const { return typed<std::int64_t>(*this, DType::i64); }
std::uint8_t* Tensor::u8() const { return typed<std::uint8_t>(*this, DType::u8); }

}  // namespace kiln
