#!/usr/bin/env bash
# kernel_bench's rows, listed without a GPU: named <op>/<model>/<layer>/batch:<N>/<engine> as the
# report expects, for every op of both models at batch 1, the recipe's and 256, cuDNN rows only
# for the ops cuDNN has, and the two peaks. Without a GPU a real run is one line and exit 77.
set -euo pipefail
binary=${1:?usage: kernel_bench_rows_test.sh <kernel_bench>}
fail() {
  echo "FAIL: $*"
  exit 1
}

rows=$("$binary" --benchmark_list_tests)
name='[a-z0-9_]+/(mnist-cnn|fashion-lenet)/[A-Za-z0-9_.]+/batch:[0-9]+/(custom|cudnn)/manual_time'
while read -r row; do
  [[ $row =~ ^($name|peak/(copy|sgemm)/manual_time)$ ]] || fail "unexpected row name: $row"
done <<<"$rows"
for row in conv2d_forward/mnist-cnn/layer1.0/batch:32/custom \
  conv2d_backward_data/mnist-cnn/layer3.0/batch:256/custom \
  max_pool2d_backward/mnist-cnn/layer3.2/batch:1/custom \
  dropout_backward/mnist-cnn/layer4.2/batch:32/custom \
  softmax_cross_entropy/fashion-lenet/loss/batch:20/custom \
  sigmoid_backward/fashion-lenet/ff2_sigmoid/batch:256/custom \
  linear_backward_weight/fashion-lenet/ff1/batch:1/custom \
  adam_step/mnist-cnn/optimizer/batch:32/custom sgd_step/fashion-lenet/optimizer/batch:20/custom \
  gather_batch/mnist-cnn/data/batch:256/custom peak/copy peak/sgemm \
  relu_max_pool2d_forward/mnist-cnn/layer1.2/batch:32/custom \
  relu_max_pool2d_backward/mnist-cnn/layer3.2/batch:256/custom; do
  grep -qxF "$row/manual_time" <<<"$rows" || fail "no row $row"
done
# Rows per model and batch: the distinct calls of one step (44 for mnist-cnn and its 6 fused
# ReLU-pooling calls, 26 for fashion-lenet), whatever cuDNN adds.
for batch in 1 32 256; do
  count=$(grep -c "^[a-z0-9_]*/mnist-cnn/[^/]*/batch:$batch/custom/" <<<"$rows")
  ((count == 50)) || fail "mnist-cnn at batch $batch: $count custom rows, expected 50"
done
for batch in 1 20 256; do
  count=$(grep -c "^[a-z0-9_]*/fashion-lenet/[^/]*/batch:$batch/custom/" <<<"$rows")
  ((count == 26)) || fail "fashion-lenet at batch $batch: $count custom rows, expected 26"
done
if grep -E '^(linear_|sgd_step|adam_step|gather_batch)[^/]*/.*/cudnn/' <<<"$rows"; then
  fail "cuDNN rows for ops cuDNN does not have"
fi

# A run (of no rows) needs a GPU: without one, one line naming the reason and exit 77.
set +e
message=$("$binary" --benchmark_filter=no-such-row 2>&1 >/dev/null)
status=$?
set -e
if ((status == 77)); then
  [[ $message == "kernel_bench: no usable CUDA device: "* && $message != *$'\n'* ]] ||
    fail "no GPU, but the message is: $message"
else
  ((status == 0)) || fail "exit $status: $message"
fi
echo "kernel_bench: $(wc -l <<<"$rows") rows, named as the report reads them"
