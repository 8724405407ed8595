#!/usr/bin/env bash
# The GPU check of GPU.md, in two stages that each fit one command of a GPU loan (README, "On a
# GPU": what to prepare, what travels, each stage's command and time limit):
#   KILN_STAGE=A scripts/gpu_check.sh [--dry-run] [OUT_DIR]   then   KILN_STAGE=B ... (same machine)
# A: probe the machine; unpack the carried packages; configure (warnings not errors) and build only
#    what the evidence needs; the GPU tests with a GPU required; compute-sanitizer memcheck over
#    the GPU test programs, several at once; both recipes on kiln's kernels; the kernel benchmark
#    at the recipe batches and the peaks.
# B: A's build reused (rebuilt only when the sources changed or A's build is gone); both recipes on
#    cuDNN and the PyTorch peers (eager, graphed) of both, KILN_COMPARE_EPOCHS epochs; racecheck and
#    synccheck over the programs whose kernels share memory or wait at barriers, initcheck over
#    kiln's own kernels, memcheck over the programs A did not finish; the other benchmark rows;
#    the CPU tests last.
# OUT_DIR (default $OUT, else ./gpu-check-out) receives report.json, report.md, logs.tar.gz and,
# where matplotlib is, chart.png: rewritten after every step, so a stage killed at its limit still
# returns all it finished. The logs of both stages stay in KILN_CHECK_STATE between the commands;
# B's report covers both. A missing piece (cuDNN, PyTorch, compute-sanitizer) skips the steps
# that need it, never the run. Exits 1 when a step failed or, unless --dry-run, no GPU was found.
# --dry-run: for a machine without a GPU (CI): every step runs as it would there and the GPU steps
# end as "no-gpu", except the CPU tests (CI's own suite runs them) and the stage's time limit.
# Settings: KILN_COMMIT (the commit the tree is, where .git did not travel), KILN_STAGE_LIMIT_S
# (330: the command's limit, 5.5 minutes; the budget of every step derives from it),
# KILN_DEPS_PREFIX (/tmp/kiln-deps), KILN_CHECK_BUILD (build/gpu), KILN_CHECK_STATE
# (build/gpu-check), KILN_CUDA_ARCHITECTURES (90), KILN_CMAKE_ARGS (more configure arguments),
# KILN_COMPARE_EPOCHS (3: the epochs of stage B's cuDNN and PyTorch runs, compared on speed).
# shellcheck disable=SC2317 # the step functions run through step's bash -c, out of its sight
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
usage="usage: KILN_STAGE=A|B scripts/gpu_check.sh [--dry-run] [OUT_DIR]"
dry_run=false
out=
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=true ;;
    -*)
      echo "gpu_check: unknown option $arg; $usage" >&2
      exit 2
      ;;
    *) out=$arg ;;
  esac
done
stage=${KILN_STAGE:-A}
if [[ $stage != A && $stage != B ]]; then
  echo "gpu_check: KILN_STAGE=$stage: must be A or B; $usage" >&2
  exit 2
fi
limit_s=${KILN_STAGE_LIMIT_S:-330}
# Each step's own limit is sized for the GPU machine's 16 cores; a dry run here has fewer.
step_scale=1
dry_run_flag=()
if $dry_run; then
  dry_run_flag=(--dry-run)
  limit_s=${KILN_STAGE_LIMIT_S:-7200}
  step_scale=20
fi
if [[ ! $limit_s =~ ^[0-9]+$ ]] || ((limit_s < 60)); then
  echo "gpu_check: KILN_STAGE_LIMIT_S=$limit_s: must be a whole number of seconds, at least 60" >&2
  exit 2
fi
out=${out:-${OUT:-$root/gpu-check-out}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=${KILN_CHECK_BUILD:-$root/build/gpu}
state=${KILN_CHECK_STATE:-$root/build/gpu-check}
logs=$state/logs
# The report and the logs' archive are written in the last seconds the budget keeps back.
deadline=$((SECONDS + limit_s - 20))
jobs=$(nproc)

# Stage A starts afresh; B adds its steps to A's, a step A was cut off in shown as killed. Only
# this run's files may be reported.
if [[ $stage == A ]]; then rm -rf "$state"; fi
for marker in "$logs"/running/*; do
  [[ -e $marker ]] || continue
  printf 'A\t%s\tkilled\t-\tstage A was cut off at its limit here\n' "${marker##*/}" >>"$logs/steps.tsv"
done
rm -rf "$logs/running" "$out"/{report.json,report.md,chart.png,logs.tar.gz}
mkdir -p "$logs/running"

export KILN_DEPS_PREFIX=${KILN_DEPS_PREFIX:-/tmp/kiln-deps}
export KILN_DATA_DIR=$root/data # ctest sets it for the tests; the sanitizer runs need it too
# A GPU test that finds no usable GPU fails here instead of skipping (tests/support/gpu.h).
export KILN_REQUIRE_GPU=1
export PYTHONUNBUFFERED=1

# The report (without its chart, which only the last one draws) and the logs' archive, each
# replaced whole, so that a kill never leaves half a file.
refresh() {
  report >"$logs/report.out" 2>&1 || true
  archive
}
report() {
  python3 scripts/gpu_report.py --logs "$logs" --build "$build" --out "$out" --stage "$stage" \
    "${dry_run_flag[@]}" "$@"
}
archive() {
  tar -czf "$out/logs.tar.gz.part" -C "$state" logs && mv "$out/logs.tar.gz.part" "$out/logs.tar.gz"
}

# record NAME STATUS SECONDS DETAIL: one row of logs/steps.tsv, echoed as progress.
record() {
  printf '%s\t%s\t%s\t%s\t%s\n' "$stage" "$@" >>"$logs/steps.tsv"
  printf 'gpu-check %s: %-40s %-11s %6ss  %s\n' "$stage" "$@"
}

# step NAME LIMIT_S COMMAND...: runs COMMAND (a program or an exported function) with its output
# in logs/NAME.log, killed after LIMIT_S or when the budget runs out. Succeeds when it passed.
# While it runs, logs/running/NAME says so: a report written then shows it as cut off.
step() {
  local name=$1 limit=$2
  shift 2
  local end=$deadline start=$EPOCHREALTIME rc=0 status detail left
  ((${phase_end:-end} < end)) && end=$phase_end
  left=$((end - SECONDS))
  limit=$((limit * step_scale))
  ((left < limit)) && limit=$left
  if ((limit < 10)); then
    if ((end < deadline)); then
      record "$name" skipped 0 "out of time: its phase's share of the stage is spent"
    else
      record "$name" skipped 0 "out of time: the stage's budget (KILN_STAGE_LIMIT_S=$limit_s) is spent"
    fi
    return 1
  fi
  echo "$limit" >"$logs/running/$name"
  [[ -n ${in_background:-} ]] || refresh
  timeout --kill-after=10 "$limit" bash -c 'set -euo pipefail; "$@"' step "$@" \
    >"$logs/$name.log" 2>&1 || rc=$?
  case $rc in
    0) status=pass detail="" ;;
    124 | 137) status=timeout detail="killed after ${limit}s" ;;
    *) status=fail detail="exit $rc" ;;
  esac
  record "$name" "$status" \
    "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" "$detail"
  rm -f "$logs/running/$name"
  [[ $status == pass ]]
}

# parallel WIDTH LIMIT_S PHASE_S NAME_PREFIX PROGRAM... -- COMMAND...: step NAME_PREFIX.<program>
# for each program, COMMAND followed by the program, WIDTH at a time, none past PHASE_S from now
# (scaled as the steps' limits are); the report is refreshed as each ends.
parallel() {
  local width=$1 limit=$2 phase_end=$((SECONDS + $3 * step_scale)) prefix=$4 program
  shift 4
  local programs=()
  while (($# > 0)) && [[ $1 != -- ]]; do
    programs+=("$1")
    shift
  done
  shift
  refresh
  for program in "${programs[@]}"; do
    while (($(jobs -rp | wc -l) >= width)); do
      wait -n || true
      refresh
    done
    phase_end=$phase_end in_background=1 step "$prefix.$(basename "$program")" "$limit" "$@" \
      "$program" &
  done
  while (($(jobs -rp | wc -l) > 0)); do
    wait -n || true
    refresh
  done
}

# unavailable NAME WHY: a step that cannot run here, recorded as such.
unavailable() { record "$1" unavailable 0 "$2"; }

# first_line COMMAND...: the first line it prints, "missing" when it cannot run (10 s at most).
first_line() {
  local text
  text=$(timeout 10 "$@" 2>&1) || true
  text=$(head -n 1 <<<"$text")
  echo "${text:-missing}"
}

# header_version FILE PREFIX: MAJOR.MINOR.PATCH(LEVEL) from a library's version header.
header_version() {
  awk -v p="$2" '$1 == "#define" && $2 ~ "^" p "(MAJOR|MINOR|PATCH|PATCHLEVEL)$" { v[$2] = $3 }
    END { printf "%s.%s.%s", v[p "MAJOR"], v[p "MINOR"], (p "PATCH" in v) ? v[p "PATCH"] : v[p "PATCHLEVEL"] }' "$1"
}

# Finds each tool the stages need and writes logs/environment.tsv (key, value) for the report; a
# missing tool is a row saying so, and the steps that need it are skipped.
probe() {
  local tsv=$logs/environment.tsv smi nvcc_path toolkit torch header
  row() { printf '%s\t%s\n' "$1" "$2" >>"$tsv"; }
  : >"$tsv"
  row date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  row host "$(uname -srm), $(nproc) cores"
  row stage "$stage$($dry_run && echo ' (dry run)')"
  if ! command -v nvidia-smi >/dev/null; then
    row gpu "none (no nvidia-smi)"
    row gpu_count 0
  elif smi=$(timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader 2>&1); then
    row gpu "$(cut -d, -f1 <<<"$smi" | head -n 1)"
    row driver "$(cut -d, -f2 <<<"$smi" | head -n 1 | xargs)"
    row gpu_memory "$(cut -d, -f3 <<<"$smi" | head -n 1 | xargs)"
    row gpu_count "$(grep -c . <<<"$smi")"
    row driver_cuda "$(timeout 10 nvidia-smi | grep -o 'CUDA Version: [0-9.]*' | cut -d' ' -f3)"
  else
    row gpu "none (nvidia-smi: $(head -n 1 <<<"$smi"))"
    row gpu_count 0
  fi
  if [[ -n ${KILN_COMMIT:-} ]]; then
    row commit "$KILN_COMMIT"
    row commit_source "KILN_COMMIT"
  elif commit=$(git rev-parse HEAD 2>/dev/null); then
    row commit "$commit"
    row commit_source "git, $(GIT_OPTIONAL_LOCKS=0 git status --porcelain | wc -l) paths uncommitted"
  else
    row commit unknown
    row commit_source "no .git and no KILN_COMMIT: pass KILN_COMMIT=\$(git rev-parse HEAD)"
  fi
  nvcc_path=$(command -v nvcc || true)
  row nvcc "${nvcc_path:-missing (not on PATH)}${nvcc_path:+: $(timeout 10 nvcc --version | grep -m 1 release || true)}"
  if [[ -n $nvcc_path ]]; then
    toolkit=$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")
    header=$(find "$toolkit/include" "$toolkit"/targets/*/include -maxdepth 1 -name cublas_api.h \
      2>/dev/null | head -n 1)
    if [[ -n $header ]]; then row cublas "$(header_version "$header" CUBLAS_VER_)"; else row cublas "missing (no cublas_api.h)"; fi
  fi
  row cxx "$(command -v c++ || echo missing): $(first_line c++ --version)"
  row cmake "$(first_line cmake --version)"
  row ninja "$(command -v ninja >/dev/null && first_line ninja --version || echo 'missing (make instead)')"
  row python3 "$(command -v python3 || echo missing): $(first_line python3 --version)"
  torch=$(timeout 15 python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>&1 | tail -n 1) || torch="missing ($torch)"
  row torch "$torch"
  row cudnn_root "${cudnn_root:-not found: building without cuDNN}"
  [[ -n $cudnn_root ]] && row cudnn "$(header_version "$cudnn_root/include/cudnn_version.h" CUDNN_)"
  row compute_sanitizer "${sanitizer:-missing}${sanitizer:+: $(timeout 10 "$sanitizer" --version | grep -m 1 -i version || true)}"
  row deps "$(find .deps -name '*.deb' 2>/dev/null | wc -l) .deb packages in .deps"
  row data_files "$(find -L data -name '*.gz' 2>/dev/null | wc -l) .gz files under data/"
  cat "$tsv"
  echo
  timeout 10 nvidia-smi || true
}

# The cuDNN root: PyTorch's wheel (nvidia/cudnn, a namespace package: no __file__), else the
# toolkit's. Nothing when neither has the headers.
find_cudnn() {
  local wheel toolkit=
  wheel=$(timeout 10 python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) || true
  if command -v nvcc >/dev/null; then toolkit=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")"); fi
  for candidate in "$wheel" "$toolkit"; do
    if [[ -n $candidate && -f $candidate/include/cudnn_version.h ]]; then
      echo "$candidate"
      return
    fi
  done
}

# Unpacks every .deb of .deps/ into KILN_DEPS_PREFIX (with dpkg, else ar and tar) unless the same
# packages are there already, then points the absolute links Debian ships (libz.so -> /lib/...)
# at their copies inside the prefix.
unpack_deps() {
  local prefix=$KILN_DEPS_PREFIX deb member link target listing
  if [[ -z $prefix || $prefix == / ]]; then
    echo "KILN_DEPS_PREFIX must be a scratch folder, never /" >&2
    return 1
  fi
  compgen -G ".deps/*.deb" >/dev/null || {
    echo "no .deb files in .deps/: run scripts/gpu_deps.sh on the development machine and carry .deps" >&2
    return 1
  }
  listing=$(find .deps -maxdepth 1 -name '*.deb' -printf '%s %f\n' | sort)
  if [[ -f $prefix/.kiln-deps && $(cat "$prefix/.kiln-deps") == "$listing" ]]; then
    echo "$prefix holds these packages already"
    return
  fi
  # Removed and refilled only when it is one of ours, so a mistyped prefix is never wiped.
  if [[ -e $prefix && ! -e $prefix/.kiln-deps ]] && [[ -n $(ls -A "$prefix") ]]; then
    echo "$prefix exists and was not made by gpu_check.sh; choose another KILN_DEPS_PREFIX" >&2
    return 1
  fi
  rm -rf "$prefix"
  mkdir -p "$prefix"
  for deb in .deps/*.deb; do
    if command -v dpkg >/dev/null; then
      echo "dpkg -x $deb"
      dpkg -x "$deb" "$prefix"
      continue
    fi
    echo "ar + tar: $deb (no dpkg)"
    member=$(ar t "$deb" | grep '^data\.tar') || {
      echo "$deb has no data.tar member (or no ar to read it)" >&2
      return 1
    }
    case $member in
      *.xz) ar p "$deb" "$member" | xz -dc | tar -x -C "$prefix" ;;
      *.zst) ar p "$deb" "$member" | zstd -dc | tar -x -C "$prefix" ;;
      *.gz) ar p "$deb" "$member" | gzip -dc | tar -x -C "$prefix" ;;
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
  echo "$listing" >"$prefix/.kiln-deps"
}

configure() {
  local args=(-S . -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-90}"
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_PREFIX_PATH="$KILN_DEPS_PREFIX/usr"
    # An untested host compiler's new warnings must not stop the build; -lineinfo lets
    # compute-sanitizer name the source line of an error.
    -DKILN_WERROR=OFF -DCMAKE_CUDA_FLAGS=-lineinfo -DKILN_PYTHON="$(command -v python3)"
    # The GPU runs the kernels themselves: no host build of them (it needs Boost.Context).
    -DKILN_HOST_KERNELS=OFF)
  if [[ -n $cudnn_root ]]; then args+=(-DCUDNN_ROOT="$cudnn_root"); else args+=(-DKILN_WITH_CUDNN=OFF); fi
  # shellcheck disable=SC2086 # KILN_CMAKE_ARGS is a list of arguments
  cmake "${args[@]}" ${KILN_CMAKE_ARGS:-}
}

# What the build is made of, to tell whether stage B may reuse stage A's build as it stands.
fingerprint() {
  {
    find CMakeLists.txt CMakePresets.json cmake kernels runtime models apps bench tests -type f \
      ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
    echo "$cudnn_root ${KILN_CUDA_ARCHITECTURES:-} ${KILN_CMAKE_ARGS:-} $(command -v nvcc python3)"
  } | sha256sum | cut -d' ' -f1
}

# Lists every ctest test with its labels and command, as JSON, for the report and the sanitizers.
list_tests() { ctest --test-dir "$build" --show-only=json-v1 >"$logs/tests.json"; }

# programs WHICH: the GPU test programs, one path a line; WHICH is all (but the out-of-memory test,
# which must run alone and takes all the memory a sanitizer needs), shared (those testing the .cu
# files that use shared memory, barriers or warp shuffles: racecheck and synccheck) or kiln (the
# tests of kiln's own kernels, tests/kernels/cuda: initcheck).
programs() {
  local shared
  shared=$(grep -lE '__shared__|__syncthreads|__syncwarp|cub::|__shfl' kernels/cuda/*.cu |
    xargs -n 1 basename | sed 's/\.cu$//' | paste -sd, -)
  python3 - "$logs/tests.json" "$1" "$shared" <<'EOF'
import json, os, sys
tests = json.load(open(sys.argv[1]))["tests"]
which, shared = sys.argv[2], set(filter(None, sys.argv[3].split(",")))
def labels(test):
    return next((p["value"] for p in test.get("properties", []) if p["name"] == "LABELS"), [])
paths = sorted({t["command"][0] for t in tests if "gpu" in labels(t) and t.get("command")})
for path in paths:
    name = os.path.basename(path)
    kiln = name.startswith("cuda_")
    if "out_of_memory" in name or (which == "kiln" and not kiln) or (
            which == "shared" and not (kiln and name[len("cuda_"):-len("_test")] in shared)):
        continue
    print(path)
EOF
}

# sanitize TOOL WIDTH LIMIT_S PHASE_S PROGRAMS...: compute-sanitizer TOOL over each program, several
# at once, for PHASE_S at most.
sanitize() {
  local tool=$1 width=$2 limit=$3 phase=$4 program
  shift 4
  if [[ -z $sanitizer ]]; then
    for program in "$@"; do unavailable "sanitizer.$tool.$(basename "$program")" "no compute-sanitizer"; done
    return
  fi
  parallel "$width" "$limit" "$phase" "sanitizer.$tool" "$@" -- "$sanitizer" --tool "$tool" \
    --error-exitcode 1 --print-limit 50
}

# train NAME LIMIT_S MODEL ENGINE [FLAGS...]: one recipe on the GPU (never the CPU fallback of
# --backend auto), plain progress lines, its per-epoch metrics kept for the comparison.
train() {
  local name=$1 limit=$2 model=$3 engine=$4
  shift 4
  if [[ $engine == cudnn && -z $cudnn_root ]]; then
    unavailable "$name" "built without cuDNN (none found)"
    return
  fi
  step "$name" "$limit" env KILN_PROGRESS=lines "$build/apps/train_mnist_gpu" --model "$model" \
    --backend "$([[ $engine == custom ]] && echo cuda || echo cudnn)" \
    --metrics "$logs/train-$model-$engine.jsonl" "$@" || true
}

# bench PART FILTER: kernel_bench's rows matching FILTER, 5 repetitions, into kernel_bench-PART.json.
bench() {
  step "bench.$1" 150 "$build/bench/kernel_bench" --benchmark_filter="$2" \
    --benchmark_repetitions=5 --benchmark_out="$logs/kernel_bench-$1.json" \
    --benchmark_out_format=json || true
}

if command -v ninja >/dev/null; then generator=Ninja; else generator="Unix Makefiles"; fi
if ! command -v nvcc >/dev/null; then
  for dir in ${CUDA_HOME:+$CUDA_HOME/bin} /usr/local/cuda/bin; do
    [[ -x $dir/nvcc ]] && PATH=$dir:$PATH && break
  done
fi
sanitizer=$(command -v compute-sanitizer || true)
if [[ -z $sanitizer ]] && command -v nvcc >/dev/null; then
  candidate=$(dirname "$(readlink -f "$(command -v nvcc)")")/../compute-sanitizer/compute-sanitizer
  [[ -x $candidate ]] && sanitizer=$(readlink -f "$candidate")
fi
cudnn_root=$(find_cudnn)
export logs build generator sanitizer cudnn_root stage dry_run
export -f probe first_line header_version unpack_deps configure list_tests

# Where the carried libraries and cuDNN live when the programs run.
for dir in "$KILN_DEPS_PREFIX/usr/lib/x86_64-linux-gnu" "${cudnn_root:+$cudnn_root/lib}"; do
  [[ -d $dir ]] && LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}

step "probe.$stage" 30 probe || true
cat "$logs/environment.tsv"
torch=false
grep -q $'^torch\t[0-9]' "$logs/environment.tsv" && torch=true

# Builds the evidence's programs unless stage A built them from these very sources.
built=false
if [[ $stage == B && -f $state/build.fingerprint && -f $build/CMakeCache.txt &&
  $(cat "$state/build.fingerprint") == "$(fingerprint)" ]]; then
  step deps.B 60 unpack_deps && built=true
  record build.B pass 0 "stage A's build reused: the sources are unchanged"
elif ! command -v nvcc >/dev/null || ! command -v cmake >/dev/null; then
  unavailable "configure.$stage" "no nvcc or no cmake (see the probe)"
else
  if step "deps.$stage" 60 unpack_deps && step "configure.$stage" 90 configure &&
    step "build.$stage" 300 cmake --build "$build" --target kiln_gpu_evidence --parallel "$jobs"; then
    built=true
    fingerprint >"$state/build.fingerprint"
  fi
fi
listed=false
if $built && step "list-tests.$stage" 30 list_tests; then listed=true; fi
if ! $listed; then
  record "gpu.$stage" skipped 0 "needs the build and the test listing, which failed"
fi

if $listed && [[ $stage == A ]]; then
  step ctest.gpu 120 ctest --test-dir "$build" -L gpu --parallel "$jobs" --timeout 90 \
    --output-on-failure --output-junit "$logs/ctest-gpu.xml" || true
  # memcheck gets 75 s here; the programs it does not finish run again in stage B.
  mapfile -t every < <(programs all)
  sanitize memcheck 8 75 75 "${every[@]}"
  for model in mnist-cnn fashion-lenet; do train "train.$model.custom" 150 "$model" custom; done
  bench recipe '/batch:(20|32)/|^peak/'
elif $listed; then
  for model in mnist-cnn fashion-lenet; do
    train "train.$model.cudnn" 150 "$model" cudnn --epochs "${KILN_COMPARE_EPOCHS:-3}"
  done
  for model in mnist-cnn fashion-lenet; do
    for mode in eager graphed; do
      if ! $torch; then
        unavailable "pytorch.$model.$mode" "python3 has no torch (see the probe)"
        continue
      fi
      step "pytorch.$model.$mode" 120 python3 bench/pytorch_recipe.py --model "$model" \
        --device cuda --mode "$mode" --epochs "${KILN_COMPARE_EPOCHS:-3}" \
        --json "$logs/peer-$model-$mode.json" || true
    done
  done
  mapfile -t shared < <(programs shared)
  mapfile -t kiln < <(programs kiln)
  mapfile -t unfinished < <(programs all | while read -r program; do
    grep -qE $'^A\tsanitizer\\.memcheck\\.'"$(basename "$program")"$'\t(pass|fail)\t' \
      "$logs/steps.tsv" || echo "$program"
  done)
  sanitize racecheck 4 90 90 "${shared[@]}"
  sanitize synccheck 4 60 60 "${shared[@]}"
  sanitize initcheck 8 60 60 "${kiln[@]}"
  sanitize memcheck 8 60 60 "${unfinished[@]}"
  bench other '/batch:(1|256)/'
  if $dry_run; then
    record cpu-tests dry-run 0 "not run in a dry run: CI's own suite runs the CPU tests"
  elif step build.cpu-tests 120 cmake --build "$build" --parallel "$jobs"; then
    step ctest.cpu 300 ctest --test-dir "$build" -L cpu --parallel "$jobs" --timeout 120 \
      --output-on-failure --output-junit "$logs/ctest-cpu.xml" || true
  fi
fi

# The final report prints the short table, the last thing on stdout, and gives the exit status.
status=0
report --final || status=$?
archive
exit $status
