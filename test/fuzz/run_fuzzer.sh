#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from a fresh copy of its seeds,
# then replays every kept regression input once.
#   run_fuzzer.sh FUZZER SECONDS WORKDIR REGRESSIONS_DIR [SEED_FILE...]
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3 regressions=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
for seed in "$@"; do
  cp "$seed" "$work/corpus/"
done
regression_inputs=("$regressions"/*)
if [ -e "${regression_inputs[0]}" ]; then
  "$fuzzer" -runs=1 "${regression_inputs[@]}"
fi
# -seed fixed: a failure reproduces with the same command.
"$fuzzer" -seed=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus"
