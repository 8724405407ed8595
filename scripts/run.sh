#!/usr/bin/env bash
# The README's two commands. Each sets up a fresh machine (Debian packages, datasets, build) and
# then does its job:
#   scripts/run.sh train [train_mnist_gpu flags]   train (the main job)
#   scripts/run.sh test                            run the full test suite
# KILN_PRESET picks the CMake preset (default release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
preset=${KILN_PRESET:-release}
job=${1:-}
shift || true

case $job in
  train | test) ;;
  *)
    echo "usage: scripts/run.sh train [train_mnist_gpu flags] | scripts/run.sh test" >&2
    exit 2
    ;;
esac

scripts/setup.sh
scripts/fetch_data.sh
cuda_home=${CUDA_HOME:-/usr/local/cuda}
export PATH=$cuda_home/bin:$PATH
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"

if [[ $job == train ]]; then
  exec "build/$preset/apps/train_mnist_gpu" "$@"
fi

status=0
ctest --preset "$preset" || status=$?
# ctest lists skipped tests but not why; the GPU tests say why in their log.
reason=$(grep -m 1 -o 'GPU test skipped: .*' "build/$preset/Testing/Temporary/LastTest.log" || true)
[[ -n $reason ]] && echo "kiln: $reason"
exit $status
