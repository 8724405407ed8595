#!/usr/bin/env bash
# train_mnist_gpu on bad input: every failure exits 2 (a usage error) or 1 (any other error) with
# exactly one line on stderr naming the flag or file and what is wrong, and leaves every file it was
# asked to write as it was. Bad flags, datasets, checkpoints, output paths, a missing GPU and a
# diverging loss, then one good run. Needs data/ (scripts/fetch_data.sh); trains a few steps only.
set -euo pipefail
binary=${1:?usage: cli_errors_test.sh <train_mnist_gpu> <source dir>}
root=${2:?usage: cli_errors_test.sh <train_mnist_gpu> <source dir>}
binary=$(realpath "$binary")
cd "$root" # the default data folders are relative: data/mnist, data/fashion-mnist
source tests/apps/test_splits.sh
for dataset in mnist fashion-mnist; do
  if [[ ! -f data/$dataset/train-images-idx3-ubyte.gz ]]; then
    echo "skip: data/$dataset is absent: fetch it with scripts/fetch_data.sh"
    exit 77
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
quick=(--model fashion-lenet --max-steps 20 --eval-limit 100 --quiet)

# What a path holds: a checksum, "directory" or "absent".
fingerprint() {
  if [[ -f $1 ]]; then
    sha256sum <"$1" | cut -d' ' -f1
  elif [[ -e $1 ]]; then
    echo directory
  else
    echo absent
  fi
}

# Prints "ok NAME" or "FAIL NAME: why; why", then what the binary wrote to stderr.
record() {
  local name=$1
  shift
  if (($# == 0)); then
    echo "ok $name"
  else
    local IFS=';'
    echo "FAIL $name:$*"
    failures=$((failures + 1))
  fi
  sed 's/^/    stderr| /' "$work/stderr"
}

# expect_failure NAME CODE REGEX [FILE...] -- ARGS...
# Runs the binary with ARGS; its exit status must be CODE and its stderr exactly one line matching
# the extended regex REGEX. Each FILE (one the run was asked to write) must end as it began:
# absent stays absent, an existing file stays byte-identical, and no FILE.tmp is left behind.
expect_failure() {
  local name=$1 code=$2 regex=$3
  shift 3
  local files=() before=() why=() lines=() status=0 i
  while [[ $1 != -- ]]; do
    files+=("$1")
    shift
  done
  shift
  for i in "${!files[@]}"; do before+=("$(fingerprint "${files[i]}")"); done
  "$binary" "$@" >"$work/stdout" 2>"$work/stderr" || status=$?
  mapfile -t lines <"$work/stderr"
  [[ $status == "$code" ]] || why+=(" exit $status, expected $code")
  ((${#lines[@]} == 1)) || why+=(" ${#lines[@]} lines on stderr, expected 1")
  if ((${#lines[@]} == 0)) || [[ ! ${lines[0]} =~ $regex ]]; then
    why+=(" stderr does not match /$regex/")
  fi
  for i in "${!files[@]}"; do
    local after
    after=$(fingerprint "${files[i]}")
    if [[ $after != "${before[i]}" ]]; then
      why+=(" ${files[i]}: was ${before[i]:0:12}, now ${after:0:12}")
    fi
    [[ ! -e ${files[i]}.tmp ]] || why+=(" ${files[i]}.tmp left behind")
  done
  record "$name" "${why[@]}"
}

# --- One good run; its checkpoint is the input of the checkpoint cases below. ---------------
status=0
"$binary" --model fashion-lenet --max-steps 20 --eval-limit 100 --save "$work/lenet.safetensors" \
  --metrics "$work/good.jsonl" >"$work/stdout" 2>"$work/stderr" || status=$?
why=()
[[ $status == 0 ]] || why+=(" exit $status, expected 0")
[[ ! -s $work/stderr ]] || why+=(" stderr is not empty")
grep -Eq '^test \(.*\): loss [0-9.]+, accuracy [0-9.]+% \([0-9]+/100\) after 20 steps$' \
  "$work/stdout" || why+=(" no result line on stdout")
for file in lenet.safetensors lenet.state.safetensors good.jsonl; do
  [[ -s $work/$file ]] || why+=(" $file was not written")
done
record success "${why[@]}"
grep '^test (' "$work/stdout" | sed 's/^/    stdout| /' || true
has_gpu=false
if grep -q '^backend cuda' "$work/stdout"; then has_gpu=true; fi

# --- Flags: usage errors, exit 2. ------------------------------------------------------------
expect_failure unknown_flag 2 '--bogus' -- "${quick[@]}" --bogus
expect_failure stray_argument 2 'stray' -- "${quick[@]}" stray
expect_failure model_unknown 2 '--model.*resnet' -- --model resnet
expect_failure model_without_value 2 '--model' -- --quiet --model
expect_failure batch_size_zero 2 '--batch-size' -- "${quick[@]}" --batch-size 0
expect_failure batch_size_too_big 2 '--batch-size' -- "${quick[@]}" --batch-size 100000
expect_failure lr_negative 2 '--lr.*positive' -- "${quick[@]}" --lr -1
expect_failure lr_not_a_number 2 '--lr.*(number|numeric)' -- "${quick[@]}" --lr abc
expect_failure lr_nan 2 '--lr.*(positive|finite)' -- "${quick[@]}" --lr nan
expect_failure lr_inf 2 '--lr.*(positive|finite)' -- "${quick[@]}" --lr inf
expect_failure lr_without_value 2 '--lr' -- "${quick[@]}" --lr
expect_failure epochs_zero 2 '--epochs.*(positive|at least 1)' -- "${quick[@]}" --epochs 0
expect_failure epochs_not_a_number 2 '--epochs.*(number|integer)' -- "${quick[@]}" --epochs abc
expect_failure max_steps_negative 2 '--max-steps.*(negative|at least 0)' -- \
  "${quick[@]}" --max-steps -1
expect_failure eval_limit_negative 2 '--eval-limit.*(negative|at least 0)' -- \
  "${quick[@]}" --eval-limit -5
expect_failure seed_negative 2 '--seed' -- "${quick[@]}" --seed -1
expect_failure seed_over_64_bits 2 '--seed' -- "${quick[@]}" --seed 18446744073709551616
expect_failure dropout_above_range 2 '--dropout.*1\.5' -- --model mnist-cnn --quiet --dropout 1.5
expect_failure dropout_nan 2 '--dropout' -- --model mnist-cnn --quiet --dropout nan
expect_failure dropout_with_fashion_lenet 2 '--dropout.*fashion-lenet' -- "${quick[@]}" --dropout 0.5
expect_failure optimizer_unknown 2 '--optimizer.*rmsprop' -- "${quick[@]}" --optimizer rmsprop
expect_failure backend_unknown 2 '--backend.*tpu' -- "${quick[@]}" --backend tpu
expect_failure engine_flag_on_cpu 2 '--conv cudnn.*GPU only' -- "${quick[@]}" --backend cpu \
  --conv cudnn
expect_failure engine_flag_unknown_engine 2 '--pool.*fast' -- "${quick[@]}" --backend cuda \
  --pool fast
expect_failure init_and_resume 2 '--init.*--resume|--resume.*--init' -- "${quick[@]}" \
  --init "$work/lenet.safetensors" --resume "$work/lenet.state.safetensors"
expect_failure resume_conflicting_batch_size 2 '--batch-size 7.*resum' \
  "$work/lenet.state.safetensors" -- "${quick[@]}" --resume "$work/lenet.state.safetensors" \
  --batch-size 7
expect_failure resume_conflicting_optimizer 2 '--optimizer adam.*resum' -- "${quick[@]}" \
  --resume "$work/lenet.state.safetensors" --optimizer adam
expect_failure init_missing_file 2 'nowhere\.safetensors' -- "${quick[@]}" \
  --init "$work/nowhere.safetensors"
expect_failure resume_missing_file 2 'nowhere\.state\.safetensors' -- "${quick[@]}" \
  --resume "$work/nowhere.state.safetensors"
expect_failure init_directory 2 '--init.*directory' -- "${quick[@]}" --init "$work"

# --- No GPU: exit 1. -------------------------------------------------------------------------
if $has_gpu; then
  echo "skip backend_cuda_without_gpu: this machine has a GPU"
else
  expect_failure backend_cuda_without_gpu 1 '--backend cuda.*no usable GPU' -- \
    "${quick[@]}" --backend cuda
  expect_failure backend_cudnn_without_gpu 1 '--backend cudnn.*no usable GPU' -- \
    "${quick[@]}" --backend cudnn --conv custom
fi

# --- Datasets: exit 1, the message names the file. --------------------------------------------
# A copy of Fashion-MNIST in which the case breaks one file.
fresh_copy() {
  rm -rf "$work/data"
  mkdir "$work/data"
  cp data/fashion-mnist/*.gz "$work/data/"
}
# Replaces FILE.gz of the copy by its uncompressed contents.
gunzip_copy() { gunzip "$work/data/$1.gz"; }
d=$work/data
cp "$work/lenet.safetensors" "$work/kept.safetensors"
cp "$work/lenet.state.safetensors" "$work/kept.state.safetensors"
echo '{"epoch": 1}' >"$work/kept.jsonl"
kept=("$work/kept.safetensors" "$work/kept.state.safetensors" "$work/kept.jsonl")
keep_args=(--save "$work/kept.safetensors" --metrics "$work/kept.jsonl")

expect_failure data_missing_folder 1 'nowhere/(train|t10k)-.*(no such file|missing)' -- \
  "${quick[@]}" --data "$work/nowhere"
expect_failure data_is_a_file 1 \
  'lenet\.safetensors(/(train|t10k)-.*(no such file|not a)|.*not a (folder|directory))' -- \
  "${quick[@]}" --data "$work/lenet.safetensors"

fresh_copy
: >"$d/train-labels-idx1-ubyte.gz"
expect_failure data_empty_file 1 'train-labels-idx1-ubyte\.gz: .*empty' -- \
  "${quick[@]}" --data "$d"

fresh_copy
head -c 1000000 data/fashion-mnist/train-images-idx3-ubyte.gz >"$d/train-images-idx3-ubyte.gz"
expect_failure data_truncated_gzip 1 'train-images-idx3-ubyte\.gz: .*truncated' "${kept[@]}" -- \
  "${quick[@]}" --data "$d" "${keep_args[@]}"

fresh_copy
gunzip_copy t10k-images-idx3-ubyte
truncate -s 500016 "$d/t10k-images-idx3-ubyte"
expect_failure data_truncated_raw 1 't10k-images-idx3-ubyte: .*truncated' "${kept[@]}" -- \
  "${quick[@]}" --data "$d" "${keep_args[@]}"

fresh_copy
dd if=/dev/zero of="$d/t10k-labels-idx1-ubyte.gz" bs=1 seek=100 count=200 conv=notrunc status=none
expect_failure data_corrupt_gzip 1 't10k-labels-idx1-ubyte\.gz: .*corrupt' -- \
  "${quick[@]}" --data "$d"

fresh_copy
printf 'not an IDX file' >"$d/t10k-labels-idx1-ubyte.gz"
expect_failure data_not_idx 1 't10k-labels-idx1-ubyte\.gz: .*(magic|not an IDX)' -- \
  "${quick[@]}" --data "$d"

fresh_copy
gunzip_copy t10k-labels-idx1-ubyte
printf '\x0c' | dd of="$d/t10k-labels-idx1-ubyte" bs=1 seek=12 conv=notrunc status=none
expect_failure data_label_out_of_range 1 't10k-labels-idx1-ubyte: .*label.* 12' -- \
  "${quick[@]}" --data "$d"

fresh_copy
gunzip_copy t10k-labels-idx1-ubyte
printf '\x00\x00\x27\x0f' | dd of="$d/t10k-labels-idx1-ubyte" bs=1 seek=4 conv=notrunc status=none
truncate -s $((8 + 9999)) "$d/t10k-labels-idx1-ubyte"
expect_failure data_count_mismatch 1 't10k-.*10000.*9999' -- "${quick[@]}" --data "$d"

fresh_copy
rm "$d"/t10k-*
write_32x32_test_split "$d"
expect_failure data_wrong_image_size 1 't10k-images-idx3-ubyte.*32' -- "${quick[@]}" --data "$d"

# --- Checkpoints: exit 1, the message names the file. ------------------------------------------
expect_failure init_not_safetensors 1 't10k-labels-idx1-ubyte\.gz: .*safetensors' -- \
  "${quick[@]}" --init data/fashion-mnist/t10k-labels-idx1-ubyte.gz
head -c 5 "$work/lenet.safetensors" >"$work/five-bytes.safetensors"
expect_failure init_five_bytes 1 'five-bytes\.safetensors: .*truncated' -- \
  "${quick[@]}" --init "$work/five-bytes.safetensors"
expect_failure init_other_model 1 'lenet\.safetensors: .*fashion-lenet.*mnist-cnn' -- \
  --model mnist-cnn --max-steps 2 --eval-limit 32 --quiet --init "$work/lenet.safetensors"
head -c 3000 "$work/lenet.safetensors" >"$work/truncated.safetensors"
expect_failure init_truncated 1 'truncated\.safetensors: .*(truncated|outside|ends)' -- \
  "${quick[@]}" --init "$work/truncated.safetensors"
LC_ALL=C sed 's/"conv1\.bias"/"conv1.biaz"/' "$work/lenet.safetensors" >"$work/renamed.safetensors"
expect_failure init_missing_tensor 1 'renamed\.safetensors: .*conv1\.bias' -- \
  "${quick[@]}" --init "$work/renamed.safetensors"
expect_failure resume_weights_only 1 'lenet\.safetensors: .*\.state' -- \
  "${quick[@]}" --resume "$work/lenet.safetensors"
# A resumed run takes its model from the state; naming another is a usage error naming both.
expect_failure resume_other_model 2 \
  '--model mnist-cnn disagrees .*lenet\.state\.safetensors holds fashion-lenet' -- \
  --model mnist-cnn --max-steps 2 --eval-limit 32 --quiet --resume "$work/lenet.state.safetensors"
expect_failure resume_conflicting_eval_limit 2 '--eval-limit 50 disagrees .*resumed \(100\)' -- \
  --max-steps 20 --eval-limit 50 --quiet --resume "$work/lenet.state.safetensors"
head -c 20000 "$work/lenet.state.safetensors" >"$work/truncated.state.safetensors"
expect_failure resume_truncated 1 'truncated\.state\.safetensors: .*(truncated|outside|ends)' -- \
  "${quick[@]}" --resume "$work/truncated.state.safetensors"
LC_ALL=C sed 's/"conv1\.bias"/"conv1.biaz"/' "$work/lenet.state.safetensors" \
  >"$work/renamed.state.safetensors"
expect_failure resume_missing_tensor 1 'renamed\.state\.safetensors: .*conv1\.bias' -- \
  "${quick[@]}" --resume "$work/renamed.state.safetensors"

# --- Outputs: exit 1, nothing created. --------------------------------------------------------
expect_failure metrics_missing_folder 1 'nowhere/metrics\.jsonl' "$work/nowhere" -- \
  "${quick[@]}" --metrics "$work/nowhere/metrics.jsonl"
# Not --quiet, to see whether it trained before failing (reported as a note, not a failure).
expect_failure save_missing_folder 1 'nowhere/w\.safetensors' "$work/nowhere" -- \
  --model fashion-lenet --max-steps 20 --eval-limit 100 --save "$work/nowhere/w.safetensors"
if grep -q 'Training Loss' "$work/stdout"; then
  echo "note save_missing_folder: fails only after training and evaluating, not up front"
fi
mkdir "$work/folder.safetensors"
expect_failure save_onto_folder 1 'folder\.safetensors: .*directory' "$work/folder.safetensors" \
  "$work/folder.state.safetensors" -- "${quick[@]}" --save "$work/folder.safetensors"

# --- A diverging loss: exit 1, the checkpoint and metrics of the earlier run untouched. --------
expect_failure diverged 1 'diverged' "$work/kept.safetensors" "$work/kept.state.safetensors" -- \
  "${quick[@]}" --lr 1e30 --save "$work/kept.safetensors"
expect_failure diverged_keeps_metrics 1 'diverged' "$work/kept.jsonl" -- \
  "${quick[@]}" --lr 1e30 --metrics "$work/kept.jsonl"

if ((failures > 0)); then
  echo "$failures case(s) failed"
  exit 1
fi
echo "all cases passed"
