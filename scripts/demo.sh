#!/usr/bin/env bash
# The demo (`make demo`): installs what is missing, builds zinst with LLVM 19,
# profiles the bundled reinforcement-learning example in C (flat profile,
# call tree, inlining report) and its Zig twin (flat profile, inlining
# report).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
major=${ZINST_LLVM_MAJOR:-19}
"$top/scripts/install-deps.sh" demo
"$top/scripts/install-zig.sh" 0.14.1 # bundles LLVM 19, like the zinst built here
"$top/scripts/build.sh" "$major" >/dev/null
zinst="$top/build/llvm-$major/bin/zinst"
out="$top/build/demo"
mkdir -p "$out"
# Relative source paths, so that the profile names files as the reader of the
# README sees them in the tree.
(cd "$top" && "$zinst" cc -O2 -g examples/rl_cartpole/*.c -lm -o "$out/rl_cartpole")
(cd "$out" && ZINST_OUTPUT="$out/rl_cartpole.zinst" ./rl_cartpole)
echo
echo "\$ zinst report build/demo/rl_cartpole.zinst"
"$zinst" report "$out/rl_cartpole.zinst"
echo
echo "\$ zinst tree --threshold 1 build/demo/rl_cartpole.zinst"
"$zinst" tree --threshold 1 "$out/rl_cartpole.zinst"
echo
echo "\$ zinst inline --top 5 build/demo/rl_cartpole.zinst"
"$zinst" inline --top 5 "$out/rl_cartpole.zinst"

echo
echo "=== the same loop in Zig: zinst zig build-exe zig-integration/examples/rl_cartpole.zig -O ReleaseFast"
zig="$("$top/scripts/install-zig.sh" --print-dir 0.14.1)/zig"
mkdir -p "$out/zig"
(cd "$out/zig" && "$zinst" zig --zig "$zig" build-exe "$top/zig-integration/examples/rl_cartpole.zig" \
  -O ReleaseFast && ZINST_OUTPUT="$out/zig/rl_cartpole.zinst" ./rl_cartpole)
echo
echo "\$ zinst report build/demo/zig/rl_cartpole.zinst"
"$zinst" report "$out/zig/rl_cartpole.zinst"
