#!/usr/bin/env bash
# Configures and builds zinst against one LLVM major: scripts/build.sh 19|22 [asan]
# The tree goes to build/llvm-<major>; with `asan`, to build/llvm-<major>-asan,
# configured with ZINST_SANITIZE=ON (everything but the pass plugin under
# AddressSanitizer and UBSan). A second run only rebuilds what changed.
set -euo pipefail
usage="usage: scripts/build.sh LLVM_MAJOR [asan]"
major=${1:?$usage}
variant=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$variant" in
  "") dir="$top/build/llvm-$major"; sanitize=OFF ;;
  asan) dir="$top/build/llvm-$major-asan"; sanitize=ON ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S "$top" -B "$dir" -G Ninja \
    -DZINST_LLVM_VERSION="$major" -DZINST_SANITIZE="$sanitize" \
    -DCMAKE_C_COMPILER="clang-$major" -DCMAKE_CXX_COMPILER="clang++-$major" >/dev/null
fi
cmake --build "$dir"
