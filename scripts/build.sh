#!/usr/bin/env bash
# Configures and builds zinst against one LLVM major: scripts/build.sh 19|22
# The tree goes to build/llvm-<major>; a second run only rebuilds what changed.
set -euo pipefail
major=${1:?usage: scripts/build.sh LLVM_MAJOR}
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/llvm-$major"
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S "$top" -B "$dir" -G Ninja \
    -DZINST_LLVM_VERSION="$major" \
    -DCMAKE_C_COMPILER="clang-$major" -DCMAKE_CXX_COMPILER="clang++-$major" >/dev/null
fi
cmake --build "$dir"
