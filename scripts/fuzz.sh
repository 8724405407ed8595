#!/usr/bin/env bash
# How to fuzz kiln's input parsers with libFuzzer, AddressSanitizer and UBSan (clang++ 14):
#   scripts/fuzz.sh idx 60        # one target for 60 s: idx, safetensors, image or command_line
#   scripts/fuzz.sh all 600       # every target for 10 min each: the longer run, before a release
#   build/fuzz/idx build/fuzz/idx-crash-<hash>   # replay a reproducer, with the sanitizer report
# Each target is tests/fuzz/<target>_fuzzer.cpp (+ <target>.dict), rebuilt into build/fuzz/ only
# when a source or header changed. It starts from the committed seeds, tests/fuzz/corpus/<target>/,
# copied into build/fuzz/corpus-<target>/, where new inputs accumulate (never in the repository).
# A finding exits 1 naming its reproducer under build/fuzz/: fix the bug, add a GoogleTest case with
# the exact input to tests/runtime or tests/apps, and copy the input into the seed corpus.
# ctest runs each target for 20 s (label fuzz); without clang++ or libFuzzer this exits 77 (skip).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(idx safetensors image command_line)
usage() {
  echo "usage: scripts/fuzz.sh TARGET|all [SECONDS]   (targets: ${targets[*]}; default 30 s)" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
target=$1
seconds=${2:-30}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage
if [[ $target == all ]]; then
  failed=0
  for each in "${targets[@]}"; do
    "$PWD/scripts/fuzz.sh" "$each" "$seconds" || { status=$?; ((status == 77)) && exit 77; failed=1; }
  done
  exit $failed
fi
[[ " ${targets[*]} " == *" $target "* ]] || usage

# Each target's sources besides its fuzzer: only what it reaches, so no CUDA code is compiled.
case $target in
  idx) sources=(runtime/data/idx.cpp) ;;
  safetensors) sources=(runtime/checkpoint/safetensors.cpp runtime/checkpoint/checkpoint.cpp) ;;
  image) sources=(runtime/data/image.cpp runtime/data/idx.cpp) ;;
  command_line) sources=(apps/command_line.cpp) ;;
esac
sources=("tests/fuzz/${target}_fuzzer.cpp" "${sources[@]}")

cxx=${CXX_FUZZ:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: skipped: no $cxx (install Debian's clang and libclang-rt-14-dev)" >&2
  exit 77
fi
out=build/fuzz
mkdir -p "$out/obj"
# One build at a time: ctest may run two targets at once, and they share objects.
exec 9>"$out/.lock"
flock 9

probe=$out/.libfuzzer-probe-${cxx##*/}
if [[ ! -x $probe ]] &&
  ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
  "$cxx" -x c++ -fsanitize=fuzzer,address,undefined - -o "$probe" 2>/dev/null; then
  echo "fuzz: skipped: $cxx cannot link libFuzzer with ASan and UBSan (install libclang-rt-14-dev)" >&2
  exit 77
fi

version=$(sed -n 's/^project(kiln VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
cuda_include=${CUDA_HOME:-/usr/local/cuda}/include
flags=(-std=c++20 -g -O1 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined
  -DFMT_HEADER_ONLY "-DKILN_VERSION=\"$version\"" -I. -isystem "$cuda_include"
  -isystem /usr/include/stb)
libs=(-lstb -lz)
# Objects are rebuilt when the flags change or when a file they were built from is newer.
flags_file=$out/obj/flags
if [[ ! -f $flags_file || $(<"$flags_file") != "$cxx ${flags[*]}" ]]; then
  rm -rf "$out/obj" && mkdir -p "$out/obj"
  echo "$cxx ${flags[*]}" >"$flags_file"
fi
stale() { # stale OBJECT: missing, or older than a file its dependency list names
  local object=$1 dep deps
  [[ -f $object && -f $object.d ]] || return 0
  read -ra deps < <(sed -e 's/\\$//' -e 's/^[^:]*://' "$object.d" | tr '\n' ' ')
  for dep in "${deps[@]}"; do
    [[ -f $dep && ! $dep -nt $object ]] || return 0
  done
  return 1
}
objects=()
relink=false
binary=$out/$target
for source in "${sources[@]}"; do
  object=$out/obj/${source%.cpp}.o
  objects+=("$object")
  if stale "$object"; then
    echo "fuzz: compiling $source"
    mkdir -p "$(dirname "$object")"
    "$cxx" "${flags[@]}" -c "$source" -MD -MF "$object.d.tmp" -o "$object.tmp"
    mv "$object.d.tmp" "$object.d" && mv "$object.tmp" "$object"
  fi
  [[ -f $binary && ! $object -nt $binary ]] || relink=true
done
if $relink; then
  echo "fuzz: linking $binary"
  "$cxx" "${flags[@]}" "${objects[@]}" "${libs[@]}" -o "$binary.tmp" && mv "$binary.tmp" "$binary"
fi
flock -u 9

corpus=$out/corpus-$target
mkdir -p "$corpus"
cp -n tests/fuzz/corpus/"$target"/* "$corpus"/
log=$out/$target.log
echo "fuzz: $target for $seconds s over $corpus ($(find "$corpus" -type f | wc -l) inputs); log $log"
dictionary=()
[[ -f tests/fuzz/$target.dict ]] && dictionary=(-dict="tests/fuzz/$target.dict")
status=0
# -error_exitcode: libFuzzer's default, 77, would read as "skipped" to ctest.
"$binary" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$out/$target-" -print_final_stats=1 \
  "${dictionary[@]}" "$corpus" >"$log" 2>&1 || status=$?
# The last status line: runs, coverage (edges, features), corpus size, speed, memory.
grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true
if ((status != 0)); then
  tail -n 40 "$log" >&2
  reproducers=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
  echo "fuzz: $target: FINDING (libFuzzer exit $status); reproducer: ${reproducers:-none written}" >&2
  echo "fuzz: replay with: $binary ${reproducers:-<input>}" >&2
  exit 1
fi
echo "fuzz: $target: no finding in $seconds s"
