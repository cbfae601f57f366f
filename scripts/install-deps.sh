#!/usr/bin/env bash
# Installs what zinst needs on Debian 12, and nothing when it is all there.
#
#   scripts/install-deps.sh demo   what `make demo` needs (LLVM/Clang 19)
#   scripts/install-deps.sh test   what `make check` needs (LLVM/Clang 19 and 22,
#                                  lit's tools, uftrace for the cross-check, the
#                                  peers the benchmark's smoke test runs)
#   scripts/install-deps.sh bench  what `make bench` needs (LLVM/Clang 19, peers)
#
# Debian 12's default clang is 14, too old: every package names its major.
set -euo pipefail

purpose=${1:-test}
llvm_packages() {
  local v=$1
  echo "llvm-$v-dev clang-$v llvm-$v-tools lld-$v libclang-rt-$v-dev"
}

# zlib: the pprof export writes gzip.
packages="cmake ninja-build make python3 git zlib1g-dev"
case "$purpose" in
  demo) packages="$packages $(llvm_packages 19)" ;;
  # chromium: the flame graph is tested in a real browser; protobuf-compiler
  # decodes the pprof export independently of zinst.
  test) packages="$packages $(llvm_packages 19) $(llvm_packages 22) uftrace valgrind chromium protobuf-compiler" ;;
  bench) packages="$packages $(llvm_packages 19) uftrace valgrind heaptrack" ;;
  *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac

# Zig comes from PyPI (scripts/install-zig.sh): the tests need pip.
if [ "$purpose" != bench ] && ! python3 -m pip --version >/dev/null 2>&1; then
  packages="$packages python3-pip"
fi

missing=()
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "zinst: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
