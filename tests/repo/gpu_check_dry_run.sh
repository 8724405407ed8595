#!/usr/bin/env bash
# The GPU check's dry run, as CI runs it on a machine without a GPU: the README's procedure
# (scripts/gpu_deps.sh here, then stages A and B of scripts/gpu_check.sh --dry-run), every step
# that needs no GPU really run (probe, unpack, configure, build of the GPU targets, test listing,
# report) and every GPU step ending "no-gpu". Checks the report and what would come back.
#   tests/repo/gpu_check_dry_run.sh PROJECT_ROOT WORK_DIR
set -euo pipefail
root=${1:?usage: gpu_check_dry_run.sh PROJECT_ROOT WORK_DIR}
work=${2:?usage: gpu_check_dry_run.sh PROJECT_ROOT WORK_DIR}
fail() {
  echo "gpu_check_dry_run: $*" >&2
  exit 1
}
cd "$root"
mkdir -p "$work"
export KILN_CHECK_BUILD=$work/build KILN_CHECK_STATE=$work/state KILN_DEPS_PREFIX=$work/deps
export PATH=${CUDA_HOME:-/usr/local/cuda}/bin:$PATH

start=$SECONDS
scripts/gpu_deps.sh || fail "scripts/gpu_deps.sh failed"
echo "gpu_check_dry_run: gpu_deps.sh took $((SECONDS - start)) s"
for stage in A B; do
  rm -rf "$work/out-$stage"
  start=$SECONDS
  KILN_STAGE=$stage scripts/gpu_check.sh --dry-run "$work/out-$stage" ||
    fail "stage $stage exited $? (its table is above)"
  echo "gpu_check_dry_run: stage $stage took $((SECONDS - start)) s"
done

# At most 8 files come back from a run, none deeper than $OUT/a/b/.
for stage in A B; do
  files=$(find "$work/out-$stage" -type f | wc -l)
  ((files <= 8)) || fail "stage $stage leaves $files files in its OUT (at most 8 come back)"
  deep=$(find "$work/out-$stage" -mindepth 3 -type f)
  [[ -z $deep ]] || fail "files too deep to come back: $deep"
  for name in report.json report.md logs.tar.gz; do
    [[ -s $work/out-$stage/$name ]] || fail "stage $stage wrote no $name"
  done
done
archived=$(tar -tzf "$work/out-B/logs.tar.gz")
grep -qx 'logs/build.A.log' <<<"$archived" || fail "B's archive lacks A's logs"

python3 - "$work/out-B/report.json" "$KILN_DEPS_PREFIX" <<'PY'
import json, sys
report, prefix = json.load(open(sys.argv[1])), sys.argv[2]
steps = {s["name"]: s for s in report["steps"]}
problems = []
def expect(name, *statuses):
    status = steps.get(name, {}).get("status", "absent")
    if status not in statuses:
        problems.append(f"{name}: {status}, expected {' or '.join(statuses)}")
if report["verdict"] != "DRY RUN":
    problems.append(f"verdict {report['verdict']}: {report['verdict_detail']}")
for name in ("probe.A", "deps.A", "configure.A", "build.A", "list-tests.A", "probe.B", "deps.B",
             "list-tests.B"):
    expect(name, "pass")
expect("build.B", "pass")
if "reused" not in steps.get("build.B", {}).get("detail", ""):
    problems.append("stage B did not reuse stage A's build")
for name in ("ctest.gpu", "train.mnist-cnn.custom", "train.fashion-lenet.custom", "bench.recipe",
             "train.mnist-cnn.cudnn", "train.fashion-lenet.cudnn", "bench.other"):
    expect(name, "no-gpu")
for model in ("mnist-cnn", "fashion-lenet"):
    for mode in ("eager", "graphed"):
        expect(f"pytorch.{model}.{mode}", "no-gpu", "unavailable")
sanitizers = [s for s in report["steps"] if s["name"].startswith("sanitizer.")]
for tool in ("memcheck", "racecheck", "synccheck", "initcheck"):
    if not any(s["name"].startswith(f"sanitizer.{tool}.") for s in sanitizers):
        problems.append(f"no {tool} run listed")
problems += [f"{s['name']}: {s['status']}" for s in sanitizers
             if s["status"] not in ("no-gpu", "unavailable")]
expect("cpu-tests", "dry-run")
if report["tests"]["ctest.gpu"]["total"] < 50:
    problems.append(f"ctest -L gpu ran {report['tests']['ctest.gpu']['total']} tests")
# The build found the carried packages, not the machine's own.
for key in ("GTest_DIR", "benchmark_DIR", "CLI11_DIR", "fmt_DIR", "Random123_INCLUDE_DIR",
            "OpenBLAS_INCLUDE_DIR", "OpenBLAS_LIBRARY"):
    if not report["cmake"].get(key, "").startswith(prefix):
        problems.append(f"CMake's {key} is {report['cmake'].get(key)!r}, not under {prefix}")
for key in ("commit", "cuda", "cublas", "cudnn"):
    if not report.get(key):
        problems.append(f"the report has no {key}")
if problems:
    sys.exit("gpu_check_dry_run: " + "\ngpu_check_dry_run: ".join(problems))
PY

# Stage A's benchmark rows and stage B's are every row once.
bench=$KILN_CHECK_BUILD/bench/kernel_bench
all=$("$bench" --benchmark_list_tests | sort)
parts=$({
  "$bench" --benchmark_list_tests --benchmark_filter='/batch:(20|32)/|^peak/'
  "$bench" --benchmark_list_tests --benchmark_filter='/batch:(1|256)/'
} | sort)
[[ $all == "$parts" ]] || fail "stage A's and B's benchmark filters do not split the rows:
$(diff <(echo "$all") <(echo "$parts") | head)"
if ! grep -qF "bench recipe '/batch:(20|32)/|^peak/'" scripts/gpu_check.sh ||
  ! grep -qF "bench other '/batch:(1|256)/'" scripts/gpu_check.sh; then
  fail "the filters checked here are not gpu_check.sh's"
fi
# A stage A cut off at its limit leaves its step under way; stage B reports it killed, and fails.
touch "$KILN_CHECK_STATE/logs/running/sanitizer.memcheck.cut_off_test"
if KILN_STAGE=B scripts/gpu_check.sh --dry-run "$work/out-B" >"$work/cut-off.log" 2>&1; then
  fail "stage B passed after stage A was cut off"
fi
grep -q '^A *sanitizer.memcheck.cut_off_test *killed' "$work/cut-off.log" ||
  fail "stage B does not show the step stage A was cut off in: $(tail -n 5 "$work/cut-off.log")"
echo "gpu_check_dry_run: both stages ran; the report and what comes back are as they must be"
