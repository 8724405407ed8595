#!/usr/bin/env bash
# The README's two commands. Each sets up a fresh machine (Debian packages, datasets, build) and
# then does its job:
#   scripts/run.sh train [train_mnist_gpu flags]   train (the main job)
#   scripts/run.sh test [PRESET...]                run the test suites, by default both:
#     release    every test (the GPU ones skip, with the reason, where there is no GPU)
#     sanitize   the host code's tests under AddressSanitizer + UndefinedBehaviorSanitizer
# KILN_PRESET picks the CMake preset that trains (default release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
job=${1:-}
shift || true

case $job in
  train | test) ;;
  *)
    echo "usage: scripts/run.sh train [train_mnist_gpu flags] | scripts/run.sh test [release|sanitize ...]" >&2
    exit 2
    ;;
esac

scripts/setup.sh
scripts/fetch_data.sh
cuda_home=${CUDA_HOME:-/usr/local/cuda}
export PATH=$cuda_home/bin:$PATH

build() {
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1"
}

if [[ $job == train ]]; then
  preset=${KILN_PRESET:-release}
  build "$preset"
  exec "build/$preset/apps/train_mnist_gpu" "$@"
fi

presets=("$@")
((${#presets[@]} > 0)) || presets=(release sanitize)
status=0
for preset in "${presets[@]}"; do
  case $preset in
    release | sanitize) ;;
    *)
      echo "scripts/run.sh test: unknown suite '$preset' (release or sanitize)" >&2
      exit 2
      ;;
  esac
  echo "run.sh: the $preset suite"
  build "$preset"
  ctest --preset "$preset" || status=1
  # ctest lists skipped tests but not why; the GPU tests say why in their log.
  reason=$(grep -m 1 -o 'GPU test skipped: .*' "build/$preset/Testing/Temporary/LastTest.log" || true)
  [[ -n $reason ]] && echo "kiln: $reason"
done
exit $status
