#!/usr/bin/env bash
# Ctrl-C during training: the run saves a training state, exits 130 with one line saying how to
# continue, and resuming from that state ends exactly where an uninterrupted run ends (the two
# final training states are byte-identical). Needs data/fashion-mnist (exit 77, skipped, without).
set -euo pipefail
binary=$(realpath "${1:?usage: interrupt_test.sh <train_mnist_gpu> <source dir>}")
cd "${2:?usage: interrupt_test.sh <train_mnist_gpu> <source dir>}"
if [[ ! -f data/fashion-mnist/train-images-idx3-ubyte.gz ]]; then
  echo "skip: data/fashion-mnist is absent: fetch it with scripts/fetch_data.sh"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=(--backend cpu --model fashion-lenet --epochs 1 --eval-limit 200)

"$binary" "${run[@]}" --quiet --save "$work/u.safetensors" >/dev/null

# Plain progress lines (not a terminal) every 200 batches tell when training is under way.
KILN_PROGRESS=lines "$binary" "${run[@]}" --save "$work/a.safetensors" >"$work/out" 2>"$work/err" &
child=$!
for _ in $(seq 600); do
  grep -q "batch 400/" "$work/out" && break
  sleep 0.05
done
grep -q "batch 400/" "$work/out" || { echo "FAIL: no progress line before the time limit"; exit 1; }
kill -INT "$child"
status=0
wait "$child" || status=$?
mapfile -t lines <"$work/err"
echo "interrupted run: exit $status; stderr: ${lines[*]}"
[[ $status == 130 ]] || { echo "FAIL: exit $status, expected 130"; exit 1; }
((${#lines[@]} == 1)) || { echo "FAIL: ${#lines[@]} lines on stderr, expected 1"; exit 1; }
[[ ${lines[0]} =~ interrupted.*--resume\ .*a\.state\.safetensors ]] ||
  { echo "FAIL: stderr does not say how to resume"; exit 1; }
[[ -f $work/a.state.safetensors ]] || { echo "FAIL: no training state saved"; exit 1; }

"$binary" "${run[@]}" --quiet --resume "$work/a.state.safetensors" --save "$work/b.safetensors" \
  >/dev/null
cmp "$work/u.state.safetensors" "$work/b.state.safetensors" ||
  { echo "FAIL: the resumed run's final state differs from the uninterrupted run's"; exit 1; }
echo "ok: interrupted, resumed, and ended byte for byte where the uninterrupted run ends"
