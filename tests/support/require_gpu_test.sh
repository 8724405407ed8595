#!/usr/bin/env bash
# KILN_REQUIRE_GPU=1 turns a GPU test's "no usable GPU" skip into a failure that says why.
#   tests/support/require_gpu_test.sh GPU_TEST_PROGRAM
# Without a GPU: the program skips (exit 0) without the switch, and fails (exit 1) naming the
# switch and the reason with it. With a GPU both runs pass, as they must.
set -euo pipefail
program=${1:?usage: require_gpu_test.sh GPU_TEST_PROGRAM}
filter='--gtest_filter=*.ForwardMatchesReference'
fail() {
  echo "require_gpu_test: $*" >&2
  exit 1
}

plain=$(env -u KILN_REQUIRE_GPU "$program" "$filter" 2>&1) || fail "without the switch it failed:
$plain"
if ! grep -q '\[  SKIPPED \]' <<<"$plain"; then
  grep -q '\[  PASSED  \] 1 test' <<<"$plain" || fail "it neither skipped nor passed:
$plain"
  KILN_REQUIRE_GPU=1 "$program" "$filter" >/dev/null 2>&1 || fail "a GPU is here, and it failed"
  echo "require_gpu_test: a GPU is usable here; the test passed with and without the switch"
  exit 0
fi
reason=$(grep -m 1 -o 'GPU test skipped: .*' <<<"$plain" | sed 's/^GPU test skipped: //') ||
  fail "it skipped without printing the reason:
$plain"

rc=0
required=$(KILN_REQUIRE_GPU=1 "$program" "$filter" 2>&1) || rc=$?
((rc != 0)) || fail "with KILN_REQUIRE_GPU=1 it still exited 0:
$required"
grep -q '\[  FAILED  \]' <<<"$required" || fail "with KILN_REQUIRE_GPU=1 no test failed:
$required"
grep -qF "KILN_REQUIRE_GPU=1 requires a GPU: $reason" <<<"$required" ||
  fail "with KILN_REQUIRE_GPU=1 the failure does not name the switch and the reason ($reason):
$required"
if grep -q '\[  SKIPPED \]' <<<"$required"; then fail "with KILN_REQUIRE_GPU=1 a test skipped"; fi
echo "require_gpu_test: skipped without the switch, failed with it: $reason"
