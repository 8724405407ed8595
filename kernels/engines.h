// Engines built from their names, as the command line (--backend, --conv, --pool, ...) and the
// benchmark ask for them: the CPU reference backend, kiln's CUDA kernels, cuDNN, or a mix of the
// last two per op family (engine_mix.h), as Caffe's layer factory chose an engine per layer. The
// one place that knows whether this build has the cuDNN engine.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/backend.h"
#include "kernels/engine_mix.h"

namespace kiln {

struct EngineChoice {
  // auto: kiln's CUDA kernels where a GPU is usable, else the CPU backend; cpu; cuda (kiln's
  // kernels); cudnn (cuDNN for the families it has, kiln's kernels for the rest).
  std::string backend = "auto";
  // Per op family (indexed by OpFamily): "" for the backend's own engine, else "custom" (kiln's
  // kernels) or "cudnn". Only with backend cuda or cudnn.
  std::array<std::string, kOpFamilies.size()> families{};
  // The CPU backend's threads (process-wide, cpu/parallel.h); 0 leaves them as they are.
  int cpu_threads = 0;
  // The cuDNN engine's settings (cudnn/backend.h); allow_tf32 applies to cuBLAS on either GPU
  // engine.
  bool deterministic = true;
  bool allow_tf32 = false;
  std::uint64_t dropout_seed = 0;
};

// A choice that names no engine, or one this build lacks: the caller's usage error.
class EngineChoiceError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The backend a choice builds, with every engine it routes to. Movable; the backend stays where
// it is.
class Engine {
 public:
  // `backend`, which may route ops to `routed_engine` (an engine mix's second engine, or none).
  Engine(std::unique_ptr<Backend> routed_engine, std::unique_ptr<Backend> backend,
         std::string description)
      : routed_engine_(std::move(routed_engine)),
        backend_(std::move(backend)),
        description_(std::move(description)) {}

  Backend& backend() const { return *backend_; }
  // One line for run headers: "cpu (the reference backend, 2 threads)", "cuda: <device>",
  // "cudnn: <device>; <cuDNN's version and settings>", "cuda (conv: cudnn): <device>; <...>".
  const std::string& description() const { return description_; }

 private:
  // Declared before the backend, so that a mix is destroyed before the engine it routes to.
  std::unique_ptr<Backend> routed_engine_;
  std::unique_ptr<Backend> backend_;
  std::string description_;
};

// Whether this build has the cuDNN engine (configured with KILN_WITH_CUDNN=ON).
bool cudnn_engine_built();

// Where the engine of `choice` works: the host for cpu, and for auto without a usable GPU; the
// device otherwise. Checks the choice as make_engine does, and throws what it throws, but builds
// nothing: a caller learns whether it needs a stream before making one.
MemorySpace engine_memory_space(const EngineChoice& choice);

// Builds the engine of `choice`; a GPU engine launches on `stream` (the caller's, which must
// outlive it). Throws EngineChoiceError for an unknown backend or family engine, for family
// engines with a backend other than cuda or cudnn, and for cuDNN in a build without it;
// std::runtime_error ("--backend cuda: no usable GPU: <reason>") for a GPU engine without a
// usable GPU.
Engine make_engine(const EngineChoice& choice, cudaStream_t stream);

}  // namespace kiln
