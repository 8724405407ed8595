#!/usr/bin/env bash
# Prepares what scripts/gpu_check.sh needs on the GPU machine, which has no network and no package
# installs: downloads (never installs) the Debian packages of the build's host libraries into the
# git-ignored folder .deps/, and says whether the tree, .deps and data fit what travels. Run here,
# on a Debian 12 development machine, before a GPU loan; carry .deps and data, and pass the
# commit as KILN_COMMIT (README, "On a GPU"). Idempotent: downloads only what is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps=$root/.deps
# What travels: the working tree plus the carried paths, 64 MiB in all.
carry_limit=$((64 * 1024 * 1024))

# GTestConfig loads gmock's targets only if present; gmock travels because setup.sh installs it.
# kiln links libfmt.so.9 (libfmt9, the runtime libfmt-dev lacks), as it does libbenchmark.
packages=(
  libgtest-dev libgmock-dev                        # GoogleTest (static libraries)
  libbenchmark-dev libbenchmark1debian             # kernel_bench links libbenchmark.so.1debian
  libfmt-dev libfmt9                               # every kiln library links libfmt.so.9
  libcli11-dev nlohmann-json3-dev librandom123-dev # header-only
  zlib1g-dev zlib1g                                # zlib1g-dev's libz.so links into zlib1g
  libstb-dev libstb0                               # libstb-dev's libstb.so links into libstb0
  libopenblas-pthread-dev libopenblas0-pthread     # the CPU backend's GEMMs (headers, runtime)
  libgfortran5 libquadmath0                        # what libopenblas.so.0 links
)

# The size of what travels is read from git.
if ! git -C "$root" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  echo "gpu_deps: $root is not a git checkout with a commit" >&2
  exit 1
fi
if [[ $(dpkg --print-architecture) != amd64 ]]; then
  echo "gpu_deps: this machine is $(dpkg --print-architecture); the GPU machine needs amd64" >&2
  exit 1
fi

mkdir -p "$deps"
cd "$deps"

# A package dropped from the list must not travel, or gpu_check.sh would still unpack it.
for deb in *.deb; do
  [[ -e $deb ]] || continue
  name=${deb%%_*}
  [[ " ${packages[*]} " == *" $name "* ]] || {
    echo "gpu_deps: removing $deb (no longer needed)"
    rm -f "$deb"
  }
done

# As root apt drops to the _apt user, which may not write here; stay root instead of warning.
apt_options=()
((EUID == 0)) && apt_options=(-o APT::Sandbox::User=root)

missing=()
for package in "${packages[@]}"; do
  compgen -G "${package}_*.deb" >/dev/null || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "gpu_deps: downloading ${missing[*]}"
  # Into a scratch folder first, so an interrupted download never passes for a finished one.
  partial=$(mktemp -d "$deps/.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  if ! (cd "$partial" && apt-get download -q "${apt_options[@]}" "${missing[@]}"); then
    echo "gpu_deps: apt-get download ${missing[*]} failed (run 'apt-get update' first?)" >&2
    exit 1
  fi
  mv "$partial"/*.deb "$deps/"
fi

# What travels: tracked and untracked files that git does not ignore (a deleted tracked file does
# not), plus the carried .deps and data.
cd "$root"
travelling=()
while IFS= read -r -d '' file; do
  if [[ -f $file ]]; then travelling+=("$file"); fi
done < <(git ls-files -z --cached --others --exclude-standard)

bytes() { du -cbH "$@" | tail -n 1 | cut -f 1; }
tree_bytes=$(bytes "${travelling[@]}")
deps_bytes=$(bytes "$deps")
data_bytes=0
if [[ -d data ]]; then data_bytes=$(bytes data); fi
total=$((deps_bytes + data_bytes + tree_bytes))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "gpu_deps: $(find "$deps" -name '*.deb' | wc -l) packages in .deps: $(mib "$deps_bytes")"
echo "gpu_deps: travels: tree $(mib "$tree_bytes") + .deps $(mib "$deps_bytes") +" \
  "data $(mib "$data_bytes") = $(mib "$total") of $(mib "$carry_limit")"
if ((data_bytes == 0)); then
  echo "gpu_deps: data/ is empty: run scripts/fetch_data.sh, or the dataset tests fail there" >&2
fi
if ((total > carry_limit)); then
  echo "gpu_deps: over the limit: the run would be refused" >&2
  exit 1
fi
