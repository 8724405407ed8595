#!/usr/bin/env bash
# Ctrl-C during training: the run saves a training state, exits 130 with one line saying how to
# continue, and the command that line prints, run verbatim, ends exactly where an uninterrupted
# run ends: it takes the model, the epochs and every setting from the state, and writes the
# weights and the final state beside it, byte-identical to the uninterrupted run's. Needs
# data/fashion-mnist (exit 77, skipped, without).
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

# The printed command, word for word (the paths hold no spaces). It names no backend: with no
# visible GPU, auto trains on the CPU as the runs above did.
printed=${lines[0]##*continue with }
echo "resuming with the printed command: $printed"
status=0
# shellcheck disable=SC2086 # the printed flags, split into words as a shell would
CUDA_VISIBLE_DEVICES= "$binary" $printed >"$work/out2" 2>"$work/err2" || status=$?
[[ $status == 0 ]] || { echo "FAIL: the printed command exited $status: $(cat "$work/err2")"; exit 1; }
grep -q "^model fashion-lenet$" "$work/out2" ||
  { echo "FAIL: the printed command did not train fashion-lenet"; exit 1; }
grep -q "^epoch 1/1: " "$work/out2" ||
  { echo "FAIL: the printed command did not train the run's 1 epoch"; exit 1; }
cmp "$work/u.state.safetensors" "$work/a.state.safetensors" ||
  { echo "FAIL: the resumed run's final state differs from the uninterrupted run's"; exit 1; }
cmp "$work/u.safetensors" "$work/a.safetensors" ||
  { echo "FAIL: the resumed run's weights differ from the uninterrupted run's"; exit 1; }
echo "ok: interrupted, resumed as printed, and ended byte for byte where the uninterrupted run ends"
