#include "kernels/engines.h"

#include <fmt/format.h>

#include <utility>

#include "kernels/cpu/backend.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cuda/backend.h"
#include "kernels/cuda/device.h"
#if KILN_WITH_CUDNN
#include "kernels/cudnn/backend.h"
#endif

namespace kiln {
namespace {

bool is_gpu_backend(const std::string& backend) { return backend == "cuda" || backend == "cudnn"; }

// Every name a valid one, family engines only on a GPU backend.
void check_names(const EngineChoice& choice) {
  if (choice.backend != "auto" && choice.backend != "cpu" && !is_gpu_backend(choice.backend)) {
    throw EngineChoiceError(
        fmt::format("--backend {}: not one of auto, cuda, cudnn, cpu", choice.backend));
  }
  for (const OpFamily family : kOpFamilies) {
    const std::string& engine = choice.families[static_cast<std::size_t>(family)];
    if (engine.empty()) continue;
    if (engine != "custom" && engine != "cudnn") {
      throw EngineChoiceError(fmt::format("the {} engine {}: not one of custom, cudnn",
                                          op_family_name(family), engine));
    }
    if (!is_gpu_backend(choice.backend)) {
      throw EngineChoiceError(
          fmt::format("the {} engine {}: engines are chosen on the GPU only (got --backend {})",
                      op_family_name(family), engine, choice.backend));
    }
  }
}

// The op families that run on cuDNN: all of them with backend cudnn, none with cuda, then as
// each family's engine says.
FamilyRouting cudnn_families(const EngineChoice& choice) {
  FamilyRouting routing;
  for (const OpFamily family : kOpFamilies) {
    const std::string& engine = choice.families[static_cast<std::size_t>(family)];
    routing.route(family, engine.empty() ? choice.backend == "cudnn" : engine == "cudnn");
  }
  return routing;
}

Engine cpu_engine(const EngineChoice& choice) {
  if (choice.cpu_threads != 0) cpu::set_thread_count(choice.cpu_threads);
  const int threads = cpu::thread_count();
  return {
      nullptr, std::make_unique<cpu::CpuBackend>(),
      fmt::format("cpu (the reference backend, {} thread{})", threads, threads == 1 ? "" : "s")};
}

// kiln's CUDA kernels, cuDNN, or a mix of the two per op family, on `stream`.
Engine gpu_engine(const EngineChoice& choice, cudaStream_t stream) {
  const std::string device = cuda::describe(cuda::device_status());
  const FamilyRouting routing = cudnn_families(choice);
  if (routing.none()) {
    return {nullptr,
            std::make_unique<cuda::CudaBackend>(
                stream, cuda::CudaBackendOptions{.allow_tf32 = choice.allow_tf32}),
            "cuda: " + device};
  }
#if KILN_WITH_CUDNN
  auto cudnn = std::make_unique<cudnn::CudnnBackend>(
      stream, cudnn::CudnnBackendOptions{.deterministic = choice.deterministic,
                                         .allow_tf32 = choice.allow_tf32,
                                         .dropout_seed = choice.dropout_seed});
  const std::string settings = cudnn->describe();
  if (routing.all()) {
    const std::string description = fmt::format("{}: {}; {}", cudnn->name(), device, settings);
    return {nullptr, std::move(cudnn), description};
  }
  auto mix = std::make_unique<EngineMix>(cudnn->custom(), *cudnn, routing);
  const std::string description = fmt::format("{}: {}; {}", mix->name(), device, settings);
  return {std::move(cudnn), std::move(mix), description};
#else
  throw EngineChoiceError(
      "the cuDNN engine is not built (configured with KILN_WITH_CUDNN=OFF); use --backend cuda");
#endif
}

}  // namespace

bool cudnn_engine_built() { return KILN_WITH_CUDNN != 0; }

MemorySpace engine_memory_space(const EngineChoice& choice) {
  check_names(choice);
  const auto& device = cuda::device_status();
  if (choice.backend == "cpu" || (choice.backend == "auto" && !device.available)) {
    return MemorySpace::host;
  }
  if (!device.available) {
    throw std::runtime_error(
        fmt::format("--backend {}: no usable GPU: {}", choice.backend, device.reason));
  }
  return MemorySpace::device;
}

Engine make_engine(const EngineChoice& choice, cudaStream_t stream) {
  return engine_memory_space(choice) == MemorySpace::host ? cpu_engine(choice)
                                                          : gpu_engine(choice, stream);
}

}  // namespace kiln
