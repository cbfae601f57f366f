#!/usr/bin/env bash
# Fetches the real-world C programs the benchmark builds, from Debian's source
# packages (lua5.4: a call-dense interpreter; bzip2: a compute-bound
# compressor), into build/bench-src/. Nothing is committed: the sources come
# from Debian at benchmark time. Quick when they are already there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest="$top/build/bench-src"
if [ -f "$dest/lua/src/lvm.c" ] && [ -f "$dest/bzip2/bzlib.c" ]; then
  exit 0
fi
mkdir -p "$dest"
if ! apt-get source --help >/dev/null 2>&1 || ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Debian's own archive, source packages only, for the release this machine runs.
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  cat > /etc/apt/sources.list.d/zinst-bench-src.sources <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt-get update -qq
fi
cd "$dest"
apt-get source -qq --download-only lua5.4 bzip2 2>/dev/null
rm -rf lua bzip2
mkdir lua bzip2
tar -xzf lua5.4_*.orig.tar.gz -C lua --strip-components=1
tar -xzf bzip2_*.orig.tar.gz -C bzip2 --strip-components=1
