#include "models/model_step.h"

#include <stdexcept>

#include "models/networks.h"
#include "runtime/graph/init.h"

namespace kiln::models {

std::vector<std::int64_t> shape_vector(const Shape& shape) {
  std::vector<std::int64_t> extents;
  for (int axis = 0; axis < shape.rank(); ++axis) extents.push_back(shape[axis]);
  return extents;
}

Tensor first_rows(const Tensor& tensor, std::int64_t rows) {
  Tensor view = tensor;
  view.shape = tensor.shape.with_batch(rows);
  return view;
}

ModelStep::ModelStep(const StepSpec& spec, Backend& backend)
    : backend_(backend), model_(spec.model), batch_(spec.batch) {
  build_model(spec.model, graph_, spec.dropout);
  graph_.set_fusion(spec.fuse);
  const Shape input{batch_, 1, kImageSide, kImageSide};
  graph_.plan(backend, input, plan_);
  loss_.check(graph_.output_shape());
  parameters_ = graph_.parameters();
  if (spec.optimizer) {
    optimizer_.emplace(spec.optimizer->kind, spec.optimizer->learning_rate);
    optimizer_->plan(parameters_, plan_);
  }
  r_x_ = plan_.reserve("batch images", MemoryCategory::step_state, DType::f32, input);
  r_y_ = plan_.reserve("batch labels", MemoryCategory::step_state, DType::i32, Shape{batch_});
  if (optimizer_) {
    r_dlogits_ = plan_.reserve("logit gradients", MemoryCategory::step_state, DType::f32,
                               graph_.output_shape());
    r_loss_ = plan_.reserve("step loss", MemoryCategory::step_state, DType::f32, Shape{1});
  }
  r_counters_ =
      plan_.reserve_bytes("step counters", MemoryCategory::step_state, sizeof(StepCounters));
}

ModelStep::~ModelStep() = default;

const Arena& ModelStep::allocate(Allocator& allocator) {
  if (backend_.memory_space() != allocator.space()) {
    throw std::logic_error("the allocator's memory is not the backend's");
  }
  arena_ = std::make_unique<Arena>(allocator, plan_);
  graph_.bind(*arena_);
  x_ = arena_->tensor(r_x_);
  y_ = arena_->tensor(r_y_);
  if (optimizer_) {
    optimizer_->bind(*arena_, parameters_);
    dlogits_ = arena_->tensor(r_dlogits_);
    loss_value_ = arena_->tensor(r_loss_);
  }
  counters_ = static_cast<StepCounters*>(arena_->tensor(r_counters_).data);
  return *arena_;
}

Tensor ModelStep::upload(Reservation reservation, const void* host) {
  return upload(reservation, host, arena_->tensor(reservation).bytes());
}

Tensor ModelStep::upload(Reservation reservation, const void* host, std::size_t bytes) {
  const Tensor view = arena_->tensor(reservation);
  allocator().copy_from_host(view.data, host, bytes);
  return view;
}

void ModelStep::gather(const Tensor& images, const Tensor& labels, const std::int32_t* order,
                       std::int64_t rows) {
  backend_.gather_batch(images.u8(), labels.u8(), kImageElements, order, static_cast<int>(rows),
                        x_.f32(), y_.i32());
}

const Tensor& ModelStep::forward(std::int64_t rows, bool training) {
  logits_ = graph_.forward(backend_, counters_, training, first_rows(x_, rows));
  return logits_;
}

void ModelStep::loss(std::int64_t rows, float* value, bool gradient) {
  loss_.forward(backend_, logits_, first_rows(y_, rows),
                value != nullptr ? value : loss_value_.f32(),
                gradient ? first_rows(dlogits_, rows) : Tensor{});
}

void ModelStep::count_correct(std::int64_t rows, std::int64_t* correct) {
  backend_.count_correct(static_cast<int>(rows), kClasses, logits_.f32(), y_.i32(), correct);
}

void ModelStep::backward(std::int64_t rows) {
  graph_.backward(backend_, counters_, first_rows(dlogits_, rows));
}

void ModelStep::update() { optimizer_->step(backend_, counters_); }

std::vector<checkpoint::NamedTensor> ModelStep::weights() const {
  std::vector<checkpoint::NamedTensor> weights;
  for (const Parameter* parameter : parameters_) {
    checkpoint::NamedTensor tensor{
        parameter->name, shape_vector(parameter->shape),
        std::vector<float>(static_cast<std::size_t>(parameter->shape.elements()))};
    if (!parameter->value.empty()) {
      allocator().copy_to_host(tensor.values.data(), parameter->value.data,
                               parameter->value.bytes());
    }
    weights.push_back(std::move(tensor));
  }
  return weights;
}

void ModelStep::upload_weights(std::span<const checkpoint::NamedTensor> weights) {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    allocator().copy_from_host(parameters_[i]->value.data, weights[i].values.data(),
                               parameters_[i]->value.bytes());
  }
}

void ModelStep::initialize_weights(std::uint64_t seed) {
  initialize_parameters(parameters_, seed, allocator());
}

void ModelStep::load_weights(const std::filesystem::path& path) {
  load_parameters(path, model_, parameters_, allocator());
}

void ModelStep::set_counters(std::uint64_t seed, std::uint64_t step) {
  const StepCounters counters{seed, step};
  allocator().copy_from_host(counters_, &counters, sizeof counters);
}

}  // namespace kiln::models
