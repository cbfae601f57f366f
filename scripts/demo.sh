#!/usr/bin/env bash
# The demo (`make demo`): installs what is missing, builds zinst with LLVM 19,
# profiles the bundled reinforcement-learning example and prints its flat
# profile and call tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
major=${ZINST_LLVM_MAJOR:-19}
"$top/scripts/install-deps.sh" demo
"$top/scripts/build.sh" "$major" >/dev/null
zinst="$top/build/llvm-$major/bin/zinst"
out="$top/build/demo"
mkdir -p "$out"
"$zinst" cc -O2 -g "$top"/examples/rl_cartpole/*.c -lm -o "$out/rl_cartpole"
(cd "$out" && ZINST_OUTPUT="$out/rl_cartpole.zinst" ./rl_cartpole)
echo
echo "\$ zinst report build/demo/rl_cartpole.zinst"
"$zinst" report "$out/rl_cartpole.zinst"
echo
echo "\$ zinst tree --threshold 1 build/demo/rl_cartpole.zinst"
"$zinst" tree --threshold 1 "$out/rl_cartpole.zinst"
