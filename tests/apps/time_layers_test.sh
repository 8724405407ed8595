#!/usr/bin/env bash
# train_mnist_gpu --time-layers end to end on the CPU backend: for each model, a row for every
# layer of its graph (name and kind), the totals and the optimizer step, from two timed steps of
# the first training batch; a ReLU fused into the pooling after it is shown as such. Needs data/
# (exit 77, skipped, without).
set -euo pipefail
binary=$(realpath "${1:?usage: time_layers_test.sh <train_mnist_gpu> <source dir>}")
cd "${2:?usage: time_layers_test.sh <train_mnist_gpu> <source dir>}"
for dataset in mnist fashion-mnist; do
  if [[ ! -f data/$dataset/train-images-idx3-ubyte.gz ]]; then
    echo "skip: data/$dataset is absent: fetch it with scripts/fetch_data.sh"
    exit 77
  fi
done
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

check_model() { # check_model MODEL FUSE LAYER...
  local model=$1 fuse=$2
  shift 2
  local out
  out=$("$binary" --backend cpu --model "$model" --fuse "$fuse" --time-layers --time-iterations 2)
  echo "$out"
  [[ $out == *"$model at batch"*"mean of 2 iterations"* ]] || fail "$model: no header line"
  local layer
  for layer in "$@"; do
    grep -qE "^${layer//./\\.} +[A-Za-z0-9]+ +[0-9]+\.[0-9]{4} +[0-9]+\.[0-9]{4}$" <<<"$out" ||
      fail "$model: no row for layer $layer"
  done
  grep -qE '^layers total +[0-9.]+ +[0-9.]+$' <<<"$out" || fail "$model: no totals"
  grep -qE '^gather batch [0-9.]+ ms, loss [0-9.]+ ms, optimizer step [0-9.]+ ms$' <<<"$out" ||
    fail "$model: no optimizer step"
}

check_model mnist-cnn off layer1.0 layer1.1 layer1.2 layer1.3 layer2.0 layer2.1 layer2.2 layer2.3 \
  layer3.0 layer3.1 layer3.2 layer3.3 flatten fc1 layer4.1 layer4.2 fc2
check_model fashion-lenet on conv1 pool1 conv2 pool2 flatten ff1 ff1_relu ff2 ff2_sigmoid
# Fused (the default): each ReLU before a pooling runs inside it and has no time of its own.
fused=$("$binary" --backend cpu --model mnist-cnn --time-layers --time-iterations 1)
for block in 1 2 3; do
  grep -qE "^layer$block\.1 +ReLU +fused into layer$block\.2$" <<<"$fused" ||
    fail "mnist-cnn: layer$block.1 not shown fused into layer$block.2"
done
check_model mnist-cnn on layer1.0 layer1.2 layer2.0 layer2.2 layer3.0 layer3.2 fc1 layer4.1 fc2

# The iteration count is checked before anything runs.
if "$binary" --backend cpu --time-layers --time-iterations 0 2>"$errors"; then
  fail "--time-iterations 0 was accepted"
fi
grep -q -- "--time-iterations: must be a whole number from 1 to 100000" "$errors" ||
  fail "--time-iterations 0: unclear error"
echo "time-layers: every layer timed for both models"
