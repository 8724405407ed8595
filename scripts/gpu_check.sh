#!/usr/bin/env bash
# The GPU check of GPU.md: one command on the GPU machine gathers all the evidence of one run.
#   scripts/gpu_check.sh [OUT_DIR]      OUT_DIR defaults to $OUT, else ./gpu-check-out
# Unpacks the Debian packages that scripts/gpu_deps.sh put in .deps/, builds for sm_90, runs the
# tests, both recipes with the custom kernels, the kernel microbenchmarks, the recipes with cuDNN
# and in PyTorch (bench/pytorch_recipe.py, eager and graphed) and compute-sanitizer over the GPU
# tests, then writes report.json, report.md (with bench/compare_report.py's tables), chart.png,
# ctest.xml, kernel_bench.json and logs.tar.gz into OUT_DIR and prints the short table last. Every step runs even after another fails (unless it needs what
# failed); exits non-zero when any step failed.
# Settings: KILN_DEPS_PREFIX (/tmp/kiln-deps), CUDA_HOME (/usr/local/cuda), KILN_COMMIT (names
# the commit where .git did not travel; else the stamp gpu_deps.sh left in .deps is checked),
# KILN_CHECK_BUDGET_S (540: no step starts or runs past it, so the report is written before the
# run's 10-minute limit), KILN_CUDA_ARCHITECTURES (90), KILN_CMAKE_ARGS (extra configure
# arguments, e.g. -DKILN_WERROR=OFF), KILN_COMPARE_EPOCHS (3: the cuDNN and PyTorch runs' epochs).
# shellcheck disable=SC2317 # the step functions run through step's bash -c, out of its sight
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-${OUT:-$root/gpu-check-out}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=$out/logs
# Only this run's files may be reported.
rm -rf "$logs" "$out"/{report.json,report.md,chart.png,ctest.xml,kernel_bench.json,logs.tar.gz}
mkdir -p "$logs"

export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH=$CUDA_HOME/bin:$PATH
export KILN_DEPS_PREFIX=${KILN_DEPS_PREFIX:-/tmp/kiln-deps}
export KILN_DATA_DIR=$root/data # ctest sets it for the tests; the sanitizer runs need it too
build=build/gpu
deadline=$((SECONDS + ${KILN_CHECK_BUDGET_S:-540}))
jobs=$(nproc)

# record NAME STATUS SECONDS DETAIL: one row of logs/steps.tsv, echoed as progress.
record() {
  printf '%s\t%s\t%s\t%s\n' "$@" >>"$logs/steps.tsv"
  printf 'gpu-check: %-34s %-11s %6ss  %s\n' "$@"
}

# step NAME LIMIT_S COMMAND...: runs COMMAND (a program or an exported function) with its output
# in logs/NAME.log, killed after LIMIT_S or when the budget runs out. Succeeds when it passed.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS)) start=$EPOCHREALTIME rc=0 status detail
  ((left < limit)) && limit=$left
  if ((limit < 10)); then
    record "$name" skipped 0 "out of time (KILN_CHECK_BUDGET_S)"
    return 1
  fi
  timeout --kill-after=10 "$limit" bash -c 'set -euo pipefail; "$@"' step "$@" \
    >"$logs/$name.log" 2>&1 || rc=$?
  case $rc in
    0) status=pass detail="" ;;
    124 | 137) status=timeout detail="killed after ${limit}s" ;;
    *) status=fail detail="exit $rc" ;;
  esac
  record "$name" "$status" \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" "$detail"
  [[ $status == pass ]]
}

# Unpacks every .deb of .deps/ into KILN_DEPS_PREFIX (with dpkg, else ar and tar), then points
# the absolute links Debian ships (libz.so -> /lib/...) at their copies inside the prefix.
unpack_deps() {
  local prefix=$KILN_DEPS_PREFIX deb member link target
  if [[ -z $prefix || $prefix == / ]]; then
    echo "KILN_DEPS_PREFIX must be a scratch folder, never /" >&2
    return 1
  fi
  # Removed and refilled only when it is one of ours, so a mistyped prefix is never wiped.
  if [[ -e $prefix && ! -e $prefix/.kiln-deps ]] && [[ -n $(ls -A "$prefix") ]]; then
    echo "$prefix exists and was not made by gpu_check.sh; choose another KILN_DEPS_PREFIX" >&2
    return 1
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix"
  touch "$prefix/.kiln-deps"
  compgen -G ".deps/*.deb" >/dev/null || {
    echo "no .deb files in .deps/: run scripts/gpu_deps.sh here and carry .deps" >&2
    return 1
  }
  for deb in .deps/*.deb; do
    if command -v dpkg >/dev/null; then
      echo "dpkg -x $deb"
      dpkg -x "$deb" "$prefix"
      continue
    fi
    echo "ar + tar: $deb (no dpkg)"
    command -v ar >/dev/null || {
      echo "neither dpkg nor ar is installed: cannot unpack $deb" >&2
      return 1
    }
    member=$(ar t "$deb" | grep '^data\.tar') || {
      echo "$deb has no data.tar member" >&2
      return 1
    }
    case $member in
      *.xz) ar p "$deb" "$member" | xz -dc | tar -x -C "$prefix" ;;
      *.zst) ar p "$deb" "$member" | zstd -dc | tar -x -C "$prefix" ;;
      *.gz) ar p "$deb" "$member" | gzip -dc | tar -x -C "$prefix" ;;
      *.tar) ar p "$deb" "$member" | tar -x -C "$prefix" ;;
      *)
        echo "$deb: cannot unpack $member" >&2
        return 1
        ;;
    esac
  done
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    if [[ $target == /* && -e $prefix$target ]]; then
      ln -sfn "$prefix$target" "$link"
      echo "relinked ${link#"$prefix"} -> $prefix$target"
    fi
  done < <(find "$prefix" -type l -print0)
}

# Prints the cuDNN root: PyTorch's wheel (nvidia/cudnn, a namespace package: no __file__), else
# the toolkit's. Nothing when neither has the headers; FindCUDNN then says what is missing.
find_cudnn() {
  local wheel
  wheel=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) || true
  for candidate in "$wheel" "$CUDA_HOME"; do
    if [[ -n $candidate && -f $candidate/include/cudnn_version.h ]]; then
      echo "$candidate"
      return
    fi
  done
}

# Which commit was built: git where .git travelled, else KILN_COMMIT, else the stamp that
# gpu_deps.sh wrote into .deps, trusted only as far as the tree still matches it.
source_identity() {
  local commit changed
  if commit=$(git rev-parse HEAD 2>/dev/null); then
    changed=$(GIT_OPTIONAL_LOCKS=0 git status --porcelain | wc -l)
    printf '%s\tgit checkout, %s uncommitted paths\n' "$commit" "$changed"
  elif [[ -n ${KILN_COMMIT:-} ]]; then
    printf '%s\tKILN_COMMIT\n' "$KILN_COMMIT"
  elif [[ -f .deps/source.txt ]]; then
    commit=$(awk '$1 == "commit" { print $2 }' .deps/source.txt)
    changed=$(awk '$1 == "uncommitted_paths" { print $2 }' .deps/source.txt)
    if sha256sum --quiet --check .deps/source.sha256 >/dev/null 2>&1; then
      printf '%s\tstamp of gpu_deps.sh (%s uncommitted paths); this tree matches it\n' \
        "$commit" "$changed"
    else
      printf 'unknown\tthis tree DIFFERS from the stamp gpu_deps.sh wrote at %s\n' "$commit"
    fi
  else
    printf 'unknown\tno .git, KILN_COMMIT or .deps/source.txt\n'
  fi
}

# Writes logs/environment.tsv (key, value) for the report; the raw outputs go to the step's log.
environment() {
  local tsv=$logs/environment.tsv smi identity
  env_row() { printf '%s\t%s\n' "$1" "$2" >>"$tsv"; }
  first_line() { "$@" 2>&1 | head -n 1 || true; }
  : >"$tsv"
  env_row date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  env_row host "$(uname -srm)"
  if ! command -v nvidia-smi >/dev/null; then
    env_row gpu "none (no nvidia-smi)"
    env_row gpu_count 0
  elif smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
    2>&1); then
    env_row gpu "$(cut -d, -f1 <<<"$smi" | head -n 1)"
    env_row driver "$(cut -d, -f2 <<<"$smi" | head -n 1 | xargs)"
    env_row gpu_memory "$(cut -d, -f3 <<<"$smi" | head -n 1 | xargs)"
    env_row gpu_count "$(grep -c . <<<"$smi")"
  else
    env_row gpu "none (nvidia-smi: $(head -n 1 <<<"$smi"))"
    env_row gpu_count 0
  fi
  identity=$(source_identity)
  env_row commit "${identity%%$'\t'*}"
  env_row commit_source "${identity#*$'\t'}"
  env_row nvcc "$(nvcc --version 2>&1 | grep -m 1 release || echo missing)"
  env_row cmake "$(first_line cmake --version)"
  env_row cxx "$(first_line c++ --version)"
  env_row generator "$generator"
  env_row compute_sanitizer "${sanitizer:-missing}"
  env_row python3 "$(first_line python3 --version)"
  env_row cudnn_root "${cudnn_root:-not found}"
  env_row deps_prefix "$KILN_DEPS_PREFIX"
  env_row data_files "$(find data -name '*.gz' 2>/dev/null | wc -l) .gz files under data/"
  cat "$tsv"
  nvidia-smi || true
  nvcc --version || true
}

# Lists every ctest test with its labels and command, as JSON, for the report and the sanitizer.
list_tests() { ctest --test-dir "$build" --show-only=json-v1 >"$logs/tests.json"; }

if command -v ninja >/dev/null; then generator=Ninja; else generator="Unix Makefiles"; fi
sanitizer=$(command -v compute-sanitizer || true)
[[ -z $sanitizer && -x $CUDA_HOME/compute-sanitizer/compute-sanitizer ]] &&
  sanitizer=$CUDA_HOME/compute-sanitizer/compute-sanitizer
cudnn_root=$(find_cudnn)
export logs build generator sanitizer cudnn_root
export -f unpack_deps source_identity environment list_tests

# Where the carried libraries and cuDNN live when the programs run (the build adds an RPATH too).
for dir in "$KILN_DEPS_PREFIX/usr/lib/x86_64-linux-gnu" "${cudnn_root:+$cudnn_root/lib}"; do
  [[ -d $dir ]] && LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}

step environment 60 environment || true
built=false
# The GPU runs the kernels themselves: no host build of them (it would need Boost.Context there).
# shellcheck disable=SC2086 # KILN_CMAKE_ARGS is a list of arguments
if step deps 60 unpack_deps &&
  step configure 120 cmake -S . -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-90}" \
    -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc" -DCMAKE_PREFIX_PATH="$KILN_DEPS_PREFIX/usr" \
    -DKILN_HOST_KERNELS=OFF ${cudnn_root:+-DCUDNN_ROOT="$cudnn_root"} ${KILN_CMAKE_ARGS:-} &&
  step build 360 cmake --build "$build" --parallel "$jobs"; then
  built=true
else
  for name in configure build; do
    grep -q "^$name"$'\t' "$logs/steps.tsv" || record "$name" skipped 0 "an earlier step failed"
  done
fi

# The most telling evidence first, so that the budget cuts the least telling: the tests, the
# recipes on the custom kernels, the benchmarks, then cuDNN and PyTorch on the same GPU, and
# compute-sanitizer over the GPU tests last.
listed=false
if $built && step list-tests 60 list_tests; then
  listed=true
  # Repository rules (label repo) need git, clang-format and npm, which the GPU machine lacks; CI
  # checks them. Everything else runs, the GPU tests included.
  step ctest 180 ctest --test-dir "$build" -LE 'repo|fuzz' --parallel "$jobs" --output-on-failure \
    --output-junit "$out/ctest.xml" || true
else
  record ctest skipped 0 "the build or the test listing failed"
fi

# train NAME LIMIT_S MODEL ENGINE [FLAGS...]: one recipe on the GPU (never the CPU fallback of
# --backend auto), plain progress lines, its per-epoch metrics kept for the comparison.
train() {
  local name=$1 limit=$2 model=$3 engine=$4
  shift 4
  step "$name" "$limit" env KILN_PROGRESS=lines "$build/apps/train_mnist_gpu" --model "$model" \
    --backend "$([[ $engine == custom ]] && echo cuda || echo cudnn)" \
    --metrics "$logs/train-$model-$engine.jsonl" "$@" || true
}
# The comparison runs (cuDNN, PyTorch) train fewer epochs than the recipe: their epoch time and
# images/s are what they are compared on.
compare_epochs=${KILN_COMPARE_EPOCHS:-3}
if $built; then
  for model in mnist-cnn fashion-lenet; do
    train "train.$model" 120 "$model" custom
  done
  step bench 150 "$build/bench/kernel_bench" --benchmark_out="$out/kernel_bench.json" \
    --benchmark_out_format=json || true
  for model in mnist-cnn fashion-lenet; do
    train "train.$model.cudnn" 60 "$model" cudnn --epochs "$compare_epochs"
    for mode in eager graphed; do
      step "pytorch.$model.$mode" 90 python3 bench/pytorch_recipe.py --model "$model" \
        --device cuda --mode "$mode" --epochs "$compare_epochs" \
        --json "$logs/peer-$model-$mode.json" || true
    done
  done
else
  record bench skipped 0 "the build failed"
  record train skipped 0 "the build failed"
fi

if $listed; then
  mapfile -t gpu_tests < <(python3 -c '
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
labels = lambda t: next((p["value"] for p in t.get("properties", []) if p["name"] == "LABELS"), [])
binaries = {t["command"][0] for t in tests if "gpu" in labels(t) and t.get("command")}
print(*sorted(binaries), sep="\n")
' "$logs/tests.json")
  for tool in memcheck racecheck initcheck synccheck; do
    for binary in "${gpu_tests[@]}"; do
      name=sanitizer.$tool.$(basename "$binary")
      if [[ -n $sanitizer ]]; then
        step "$name" 120 "$sanitizer" --tool "$tool" --error-exitcode 1 "$binary" || true
      else
        record "$name" unavailable 0 "no compute-sanitizer on PATH or in $CUDA_HOME"
      fi
    done
  done
  ((${#gpu_tests[@]} > 0)) || record sanitizer skipped 0 "ctest lists no test labelled gpu"
else
  record sanitizer skipped 0 "the build or the test listing failed"
fi

# The report prints the short table, the last thing on stdout.
status=0
python3 scripts/gpu_report.py "$out" "$build" || status=$?
# At most 8 files come back from a run: the logs travel as one archive.
tar -czf "$out/logs.tar.gz" -C "$out" logs
rm -rf "$logs"
exit $status
