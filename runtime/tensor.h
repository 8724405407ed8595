// A tensor as the graph of layers sees it: a typed, shaped view into memory it does not own (the
// arena's, in the backend's memory space). Shapes are PyTorch's, batch first: a view never
// allocates, so layers can make them inside a training step.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels/backend.h"

namespace kiln {

enum class DType { f32, i32, i64, u8 };

std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", ...

// Up to four extents, held inline.
class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> extents);

  int rank() const { return rank_; }
  std::int64_t operator[](int axis) const { return extents_[static_cast<std::size_t>(axis)]; }
  std::int64_t elements() const;
  // The same shape with a different first extent: a batch of another size.
  Shape with_batch(std::int64_t batch) const;
  // "[32, 1, 28, 28]"
  std::string to_string() const;

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<std::int64_t, kMaxRank> extents_{};
  int rank_ = 0;
};

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::f32;
  Shape shape;
  MemorySpace space = MemorySpace::host;

  bool empty() const { return data == nullptr; }
  std::int64_t elements() const { return shape.elements(); }
  std::size_t bytes() const { return static_cast<std::size_t>(elements()) * dtype_size(dtype); }
  // The same memory under another shape of as many elements (std::logic_error otherwise).
  Tensor reshaped(const Shape& other) const;

  // Typed pointers; std::logic_error if the dtype differs.
  float* f32() const;
  std::int32_t* i32() const;
  std::int64_t* i64() const;
  std::uint8_t* u8() const;
};

}  // namespace kiln
