#!/usr/bin/env bash
# train_mnist_gpu predict end to end: weights from a short run classify a crafted PGM picture of
# another size (three ranked classes, probabilities summing to about 100 %), a test-set index and
# an image of an IDX file; a file that is not an image, an index past the end, a missing --weights
# and images that are not 28x28 (from --data or --idx) are clear one-line errors. Needs
# data/fashion-mnist (exit 77, skipped, without).
set -euo pipefail
binary=$(realpath "${1:?usage: predict_test.sh <train_mnist_gpu> <source dir>}")
cd "${2:?usage: predict_test.sh <train_mnist_gpu> <source dir>}"
source tests/apps/test_splits.sh
if [[ ! -f data/fashion-mnist/t10k-images-idx3-ubyte.gz ]]; then
  echo "skip: data/fashion-mnist is absent: fetch it with scripts/fetch_data.sh"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

"$binary" --backend cpu --model fashion-lenet --max-steps 50 --eval-limit 20 --quiet \
  --save "$work/w.safetensors" >/dev/null
predict=("$binary" predict --backend cpu --model fashion-lenet --weights "$work/w.safetensors")

# A 60 x 40 binary PGM: a dark filled rectangle (a "bag") on a white background.
{
  printf 'P5\n60 40\n255\n'
  for y in $(seq 0 39); do
    for x in $(seq 0 59); do
      if ((x >= 10 && x < 50 && y >= 8 && y < 34)); then printf '\x20'; else printf '\xff'; fi
    done
  done
} >"$work/bag.pgm"
"${predict[@]}" --image "$work/bag.pgm" >"$work/out"
cat "$work/out"
[[ $(sed -n 1p "$work/out") == *"bag.pgm"* ]] || fail "the first line does not name the image"
mapfile -t ranked < <(grep -E '^  [123]\. ' "$work/out")
((${#ranked[@]} == 3)) || fail "expected three ranked classes"
total=$(grep -oE '[0-9.]+%$' "$work/out" | tr -d % | awk '{ t += $1 } END { print t }')
awk -v t="$total" 'BEGIN { exit !(t > 0 && t <= 100.01) }' || fail "top three sum to $total %"

"${predict[@]}" --index 9 | grep -q "label Sneaker" || fail "--index 9 does not show its label"
"${predict[@]}" --idx data/fashion-mnist/t10k-images-idx3-ubyte.gz --index 3 | grep -qE '^  1\. ' ||
  fail "--idx gives no ranking"

expect() { # expect CODE REGEX ARGS...: exit status and the one line on stderr
  local code=$1 regex=$2 status=0
  shift 2
  "$@" >/dev/null 2>"$work/err" || status=$?
  [[ $status == "$code" ]] || fail "$* exited $status, expected $code"
  (($(wc -l <"$work/err") == 1)) || fail "$*: not one line on stderr: $(cat "$work/err")"
  grep -qE -- "$regex" "$work/err" || fail "$*: stderr does not match /$regex/: $(cat "$work/err")"
  echo "ok: $(cat "$work/err")"
}
printf 'not an image\n' >"$work/note.png"
expect 1 'note\.png: cannot decode as an image' "${predict[@]}" --image "$work/note.png"
expect 2 '--index 10000: the file holds 10000 images' "${predict[@]}" --index 10000
expect 2 '--weights' "$binary" predict --model fashion-lenet --index 1

# A test set of 32x32 images, read from a --data folder and from --idx: the error names the images
# file either way.
mkdir "$work/data32"
write_32x32_test_split "$work/data32"
not_28x28="^train_mnist_gpu: $work/data32/t10k-images-idx3-ubyte: images are 32x32; the models take 28x28\$"
expect 1 "$not_28x28" "${predict[@]}" --data "$work/data32" --index 0
expect 1 "$not_28x28" "${predict[@]}" --idx "$work/data32/t10k-images-idx3-ubyte" --index 0
echo "ok: predict"
