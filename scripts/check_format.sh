#!/usr/bin/env bash
# Fails, listing the files, when any C++/CUDA source under version control is not clang-format clean.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp' '*.cu' '*.cuh')
unformatted=()
for file in "${files[@]}"; do
  [[ -f $file ]] || continue
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done
if ((${#unformatted[@]} > 0)); then
  echo "not clang-format clean (fix with clang-format -i): ${unformatted[*]}" >&2
  exit 1
fi
echo "clang-format: ${#files[@]} files clean"
