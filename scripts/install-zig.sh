#!/usr/bin/env bash
# Installs the Zig versions zinst supports from PyPI (package `ziglang`) into
# a project-local directory, one per version, and does nothing for a version
# that is already there.
#
#   scripts/install-zig.sh              every supported version
#   scripts/install-zig.sh 0.14.1       just that one
#   scripts/install-zig.sh --print-dir 0.17.1
#                                       print the directory holding `zig`
#                                       (installs nothing)
#
# Layout: $ZINST_TOOLCHAINS (default build/toolchains)/zig-<version>/ziglang/zig
#
# Supported versions and the LLVM that reads their bitcode (the system `opt`
# must be at least as new as the LLVM bundled in Zig):
#   Zig 0.14.1  bundles LLVM 19  ->  LLVM 19 (also 22)
#   Zig 0.15.2  bundles LLVM 20  ->  LLVM 22
# The newest ziglang, 0.17.x, bundles LLVM 22 ... see zig-integration/README.md
# for why the newest pairing is what it is.
#
# `pip install --target` installs outside any Python environment, so PEP 668
# ("externally-managed-environment") does not apply to it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
toolchains=${ZINST_TOOLCHAINS:-$top/build/toolchains}
supported_versions="0.14.1 0.17.1"

zig_dir() { echo "$toolchains/zig-$1/ziglang"; }

if [ "${1:-}" = "--print-dir" ]; then
  [ $# -eq 2 ] || { echo "usage: $0 --print-dir VERSION" >&2; exit 2; }
  zig_dir "$2"
  exit 0
fi

versions=${*:-$supported_versions}

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "zinst: $python not found; install Debian's python3 (apt-get install python3)" >&2
  exit 1
fi

for version in $versions; do
  dir=$(zig_dir "$version")
  # Quick path: the right version is already installed.
  if [ -x "$dir/zig" ] && [ "$("$dir/zig" version 2>/dev/null)" = "$version" ]; then
    continue
  fi
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "zinst: $python has no pip; install Debian's python3-pip (apt-get install python3-pip)" >&2
    exit 1
  fi
  echo "zinst: installing Zig $version from PyPI into $toolchains/zig-$version" >&2
  rm -rf "$toolchains/zig-$version"
  mkdir -p "$toolchains"
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --target "$toolchains/zig-$version" "ziglang==$version"
  installed=$("$dir/zig" version)
  if [ "$installed" != "$version" ]; then
    echo "zinst: ziglang==$version installed a zig that says it is $installed" >&2
    exit 1
  fi
done
