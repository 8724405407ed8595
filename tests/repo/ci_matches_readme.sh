#!/usr/bin/env bash
# CI must run the README's test command verbatim: the last line of .ci/run must appear as a whole
# line in the README, in the block that shows the test command.
set -euo pipefail
root=${1:?usage: ci_matches_readme.sh <project root>}
command=$(grep -v '^\s*\(#\|$\)' "$root/.ci/run" | tail -n 1)
if ! grep -Fxq "$command" "$root/README.md"; then
  echo "README.md does not show the command .ci/run runs: '$command'" >&2
  exit 1
fi
if ! grep -Fxq "scripts/run.sh train" "$root/README.md"; then
  echo "README.md does not show the train command 'scripts/run.sh train'" >&2
  exit 1
fi
echo "README and .ci/run agree: $command"
