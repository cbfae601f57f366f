#!/usr/bin/env bash
# The test command (`make check`): installs what is missing, then builds and
# runs the whole suite once per supported LLVM major, and once more in the
# sanitizer build (ASan + UBSan, scripts/build.sh MAJOR asan) of one major.
#   ZINST_LLVM_MAJORS      majors of the plain builds (default: 19 22)
#   ZINST_SANITIZE_MAJORS  majors of the sanitizer builds (default: 22; empty: none)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" test
"$top/scripts/install-zig.sh"
majors=${ZINST_LLVM_MAJORS:-19 22}
sanitize_majors=${ZINST_SANITIZE_MAJORS-22}
for major in $majors; do
  echo "=== zinst with LLVM $major"
  "$top/scripts/build.sh" "$major"
  ctest --test-dir "$top/build/llvm-$major" --output-on-failure -j "$(nproc)"
done
for major in $sanitize_majors; do
  echo "=== zinst with LLVM $major, under AddressSanitizer and UBSan"
  "$top/scripts/build.sh" "$major" asan
  ctest --test-dir "$top/build/llvm-$major-asan" --output-on-failure -j "$(nproc)"
done
