#!/usr/bin/env bash
# The committed PyTorch fixtures are what tests/golden/make_fixtures.py writes today, byte for
# byte: it regenerates every family into a temporary folder and compares. Needs Debian's
# python3-torch: skipped (77) without it, except in CI (CI=true), where its absence fails.
set -euo pipefail
root=${1:?usage: fixtures_reproduce_test.sh <project root> [python]}
python=${2:-/usr/bin/python3}
if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: CI=true but $python cannot import torch and numpy (scripts/setup.sh installs python3-torch)"
    exit 1
  fi
  echo "skip: $python cannot import torch and numpy; on Debian: apt-get install python3-torch"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$root/tests/golden/make_fixtures.py" --out "$work"
status=0
for committed in "$root"/tests/golden/fixtures/*.safetensors; do
  name=$(basename "$committed")
  if [[ ! -f $work/$name ]]; then
    echo "FAIL: $name is committed but make_fixtures.py no longer writes it"
    status=1
  elif ! cmp -s "$committed" "$work/$name"; then
    echo "FAIL: $name differs from what make_fixtures.py writes now"
    status=1
  fi
done
for written in "$work"/*.safetensors; do
  [[ -f $root/tests/golden/fixtures/$(basename "$written") ]] ||
    { echo "FAIL: make_fixtures.py writes $(basename "$written"), which is not committed"; status=1; }
done
((status == 0)) && echo "ok: every fixture regenerates byte for byte"
exit $status
