#!/usr/bin/env bash
# The test command (`make check`): installs what is missing, then builds and
# runs the whole suite once per supported LLVM major.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" test
"$top/scripts/install-zig.sh"
majors=${ZINST_LLVM_MAJORS:-19 22}
for major in $majors; do
  echo "=== zinst with LLVM $major"
  "$top/scripts/build.sh" "$major"
  ctest --test-dir "$top/build/llvm-$major" --output-on-failure -j "$(nproc)"
done
