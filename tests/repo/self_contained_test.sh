#!/usr/bin/env bash
# The repository stands on its own: no tracked file points a user at the development team's
# folder beside the checkout (docs/recipes.md is the project's own account of the recipes).
set -euo pipefail
root=${1:?usage: self_contained_test.sh <project root>}
cd "$root"
# Spelled in two pieces so that this file does not match itself.
pattern="shar""ed/"
if found=$(git ls-files -z | xargs -0 grep -nI -- "$pattern"); then
  echo "files point outside the repository ('$pattern'):" >&2
  echo "$found" >&2
  exit 1
fi
echo "no tracked file refers to '$pattern'"
