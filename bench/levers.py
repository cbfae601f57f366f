#!/usr/bin/env python3
"""What zinst's compile-time levers buy and what they cost, measured.

For each workload (fib, the Lua interpreter and the bundled RL example, as
in bench/run.py) it builds:

  uninstrumented       plain clang
  default              zinst cc, every function instrumented (inline timing)
  min-size N           ZINST_MIN_SIZE=N for a few N (the threshold lever)
  exclude hot tiny     ZINST_EXCLUDE of the K hottest tiny functions
  count-only hot tiny  ZINST_COUNT_ONLY of the same functions

"Tiny" means what the threshold lever drops: the functions that ran in the
default build and are not instrumented in the min-size build of --tiny-below
instructions; the K of them with the most calls (and at least 0.5% of all
calls) are the "hot tiny" ones.
The variants run interleaved (round-robin, --rounds of each), and for each
the table gives the median wall time and its ratio to the uninstrumented
build, optionally the instructions executed (callgrind, in count mode,
repeatable on a noisy machine) and what the lever loses: the functions that ran but are no
longer timed (not instrumented), the functions left with exact counts only, and the
calls no longer counted at all: the default build's calls of the functions
the variant has no record of. The count-only variant must count exactly the
calls the default build counted for the same functions (the script checks
it). Below each table, what one call of the hot tiny functions costs with
the default instrumentation and with a count-only counter: the difference to the build that
excludes them, per call. For that the Lua interpreter is built with
its two sources of randomness fixed (the string hash seed and the sort's
random pivot): every build then makes the same calls.

    bench/levers.py [--build build/llvm-19] [--rounds 5] [--only lua,rl]
                    [--callgrind] [--readme README.md]
    bench/levers.py --smoke     one round of rl, no timing claims (CI)
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as suite  # noqa: E402  (bench/run.py: workloads, sources, sh)

# Per workload: the thresholds measured and the size below which a function
# is tiny (RL's hot functions are larger than Lua's API functions).
DEFAULTS = {
    "fib": {"min_size": [16], "tiny_below": 16, "cflags": []},  # fib is tiny and all calls
    # Lua's randomness (hash seed, sort pivot) is fixed by its cflags in run.py.
    "lua": {"min_size": [8, 16, 32, 64], "tiny_below": 32, "cflags": []},
    "rl": {"min_size": [16, 32, 64], "tiny_below": 64, "cflags": []},
}
HOT_SHARE = 0.005  # a hot function makes at least this share of the calls

README_BEGIN = "<!-- levers results: begin (written by bench/levers.py --readme) -->"
README_END = "<!-- levers results: end -->"


def profile_functions(zinst, profile):
    """{name: (calls, count_only)} of every function that ran, library code included."""
    data = json.loads(suite.sh([zinst, "report", "--json", "--top", "0", profile]).stdout)
    out = {}
    for f in data["functions"]:
        calls, count_only = out.get(f["name"], (0, False))
        out[f["name"]] = (calls + f["calls"], count_only or f["count_only"])
    return out


def run_once(cmd, cwd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def instructions(cmd, cwd, env):
    """Instructions the program executed, counted by callgrind (its own
    output discarded): repeatable where wall time is not. In count mode
    (ZINST_MODE=count): under valgrind, which runs the program tens of times
    slower, every activation looks long to the hooks' clock and would be
    timed, which no native run does. It runs a copy without debug
    information: zinst's runtime is built with DWARF 5, which Debian 12's
    valgrind cannot read (and the count does not need)."""
    env = dict(env, ZINST_MODE="count")
    stripped = os.path.join(cwd, os.path.basename(cmd[0]) + ".nodebug")
    suite.sh(["objcopy", "--strip-debug", cmd[0], stripped])
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           stripped] + cmd[1:],
                          cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        sys.exit("levers: callgrind failed on %s:\n%s" % (" ".join(cmd), proc.stderr))
    found = re.findall(r"Collected : (\d+)", proc.stderr)
    if not found:
        sys.exit("levers: callgrind reported no instruction count:\n" + proc.stderr)
    return int(found[-1])


def glob_list(names):
    """A ZINST_EXCLUDE/ZINST_COUNT_ONLY value naming exactly these functions."""
    for name in names:
        if re.search(r"[*?\[\]{},\\]", name):
            sys.exit("levers: function name %r would need escaping in a glob list" % name)
    return ",".join(sorted(names))


def measure(w, args, zinst, clang, work):
    wdir = os.path.join(work, w.name)
    os.makedirs(wdir)
    run_args = list(w.smoke_args if args.smoke else w.args)
    settings = DEFAULTS[w.name]
    min_sizes = args.min_size or settings["min_size"]
    tiny_below = args.tiny_below or settings["tiny_below"]
    flags = ["-O2", "-g"] + w.cflags + settings["cflags"]

    def build(out, env=None, plain=False):
        cmd = ([clang] if plain else [zinst, "cc"]) + flags + w.sources + w.libs + ["-o", out]
        subprocess.run(cmd, check=True, env=dict(os.environ, **(env or {})))
        return out

    def profile_of(exe, env=None):
        rdir = tempfile.mkdtemp(dir=wdir)
        out = os.path.join(rdir, "p.zinst")
        subprocess.run([exe] + run_args, check=True, cwd=rdir, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, ZINST_OUTPUT=out, **(env or {})))
        return profile_functions(zinst, out)

    base = build(os.path.join(wdir, "base"), plain=True)
    default = build(os.path.join(wdir, "default"))
    sizes = sorted(set(min_sizes + [tiny_below]))
    sized = {n: build(os.path.join(wdir, "min%d" % n), {"ZINST_MIN_SIZE": str(n)}) for n in sizes}
    # The hot tiny functions, from exact counts (count mode: no timing noise).
    counts = profile_of(default, {"ZINST_MODE": "count"})
    small = profile_of(sized[tiny_below], {"ZINST_MODE": "count"})
    default_calls = sum(c for c, _ in counts.values())
    tiny = [n for n in counts if n not in small]
    hot = [n for n in sorted(tiny, key=lambda n: (-counts[n][0], n))[:args.hot]
           if counts[n][0] >= HOT_SHARE * default_calls]
    if not hot:
        sys.exit("levers: %s has no hot function below %d instructions" % (w.name, tiny_below))
    chosen = glob_list(hot)
    excluded = build(os.path.join(wdir, "exclude"), {"ZINST_EXCLUDE": chosen})
    count_only = build(os.path.join(wdir, "count_only"), {"ZINST_COUNT_ONLY": chosen})

    variants = [("uninstrumented", base, "-"), ("default", default, "every function instrumented")]
    variants += [("min-size %d" % n, sized[n], "ZINST_MIN_SIZE=%d" % n)
                 for n in sizes if n in min_sizes]
    variants += [("exclude hot tiny", excluded, "ZINST_EXCLUDE of the %d below" % len(hot)),
                 ("count-only hot tiny", count_only,
                  "ZINST_COUNT_ONLY of the %d below" % len(hot))]

    # What each variant still records, from its own exact counts.
    lost = {}
    for name, exe, _ in variants[1:]:
        seen = profile_of(exe, {"ZINST_MODE": "count"})
        untimed = [n for n in counts if n not in seen or seen[n][1]]
        only_counted = [n for n in seen if seen[n][1]]
        # Not the difference of the totals: a program may make a few calls
        # more or less in another build (Lua hashes a static variable's
        # address), which no lever causes.
        missing = sum(counts[n][0] for n in counts if n not in seen)
        lost[name] = (len(untimed), len(only_counted), missing)
        if name == "count-only hot tiny":
            for n in hot:
                if seen.get(n) != (counts[n][0], True):
                    sys.exit("levers: %s: count-only %s counted %r, the default build %d calls"
                             % (w.name, n, seen.get(n), counts[n][0]))

    times = {name: [] for name, _, _ in variants}
    for _ in range(args.rounds):
        for name, exe, _ in variants:
            rdir = tempfile.mkdtemp(dir=wdir)
            env = dict(os.environ, ZINST_OUTPUT=os.path.join(rdir, "p.zinst"))
            times[name].append(run_once([exe] + run_args, rdir, env))
    ir = {}
    if args.callgrind:
        for name, exe, _ in variants:
            rdir = tempfile.mkdtemp(dir=wdir)
            env = dict(os.environ, ZINST_OUTPUT=os.path.join(rdir, "p.zinst"))
            ir[name] = instructions([exe] + run_args, rdir, env)

    base_time = statistics.median(times["uninstrumented"])
    text = ["\n#### %s: %s\n\n" % (w.name, w.desc),
            "Hot tiny functions (the %d with the most calls of the %d that ran and have fewer "
            "than %d IR instructions): %s; %s of the %s calls the default build counts.\n\n" % (
                len(hot), len(tiny), tiny_below, ", ".join("`%s`" % n for n in hot),
                "{:,}".format(sum(counts[n][0] for n in hot)), "{:,}".format(default_calls))]
    header = "| variant | lever | median | ratio |"
    rule = "|---|---|---:|---:|"
    if ir:
        header += " instructions (count mode) | ratio |"
        rule += "---:|---:|"
    header += " functions no longer timed | count-only functions | calls not counted |\n"
    rule += "---:|---:|---:|\n"
    text += [header, rule]
    for name, _, lever in variants:
        med = statistics.median(times[name])
        row = "| %s | %s | %.3f s | %.2fx |" % (name, lever, med, med / base_time)
        if ir:
            row += " %s | %.2fx |" % ("{:,}".format(ir[name]), ir[name] / ir["uninstrumented"])
        if name == "uninstrumented":
            row += " - | - | - |"
        else:
            untimed, only_counted, missing = lost[name]
            row += " %d | %d | %s (%.1f%%) |" % (untimed, only_counted, "{:,}".format(missing),
                                                 100.0 * missing / default_calls)
        text.append(row + "\n")
    hot_calls = sum(counts[n][0] for n in hot)
    per_call = []
    for name in ("default", "count-only hot tiny"):
        ns = (statistics.median(times[name]) - statistics.median(times["exclude hot tiny"])) \
            / hot_calls * 1e9
        cost = "%.1f ns" % ns
        if ir:
            cost += ", %.1f instructions" % ((ir[name] - ir["exclude hot tiny"]) / hot_calls)
        per_call.append(cost)
    text.append("\nPer call of the hot tiny functions, against excluding them: instrumented (the default build) %s; "
                "count-only counter %s.\n" % tuple(per_call))
    return "".join(text)


def update_readme(path, tables):
    with open(path) as f:
        text = f.read()
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        sys.exit("levers: %s has no '%s' ... '%s' markers" % (path, README_BEGIN, README_END))
    text = text[:start + len(README_BEGIN)] + "\n" + tables.rstrip() + "\n" + text[end:]
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(suite.TOP, "build", "llvm-19"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="fib,lua,rl",
                    help="comma-separated workloads (fib, lua, rl)")
    ap.add_argument("--min-size", default="",
                    help="the ZINST_MIN_SIZE values to measure (default: per workload, DEFAULTS)")
    ap.add_argument("--tiny-below", type=int, default=0,
                    help="functions below this many IR instructions are tiny (default: per "
                    "workload)")
    ap.add_argument("--hot", type=int, default=8, help="how many hot tiny functions (default 8)")
    ap.add_argument("--callgrind", action="store_true",
                    help="also count the instructions of one run of each variant")
    ap.add_argument("--smoke", action="store_true",
                    help="one round of rl with its small input; checks, no timing claims")
    ap.add_argument("--readme", help="replace the results between the levers markers of this "
                    "README with this run's tables")
    args = ap.parse_args()
    args.min_size = [int(n) for n in args.min_size.split(",") if n]
    if args.smoke:
        args.rounds, args.only, args.callgrind, args.readme = 1, "rl", False, None
    zinst = os.path.join(args.build, "bin", "zinst")
    if not os.path.exists(zinst):
        sys.exit("levers: %s not found: run scripts/build.sh first" % zinst)
    clang = suite.sh([zinst, "flags", "--cc"]).stdout.strip()
    names = args.only.split(",")
    if "lua" in names:
        suite.sh([os.path.join(HERE, "fetch_sources.sh")])
        suite.workload("lua", "levers").sources = suite.lua_sources()
    work = tempfile.mkdtemp(prefix="zinst-levers-")
    load = os.getloadavg()
    text = ["Machine: %s, %d cores, load average %.1f / %.1f / %.1f (1/5/15 min) at the start; "
            "clang %s; %d interleaved round(s), medians.\n" % (
                os.uname().machine, os.cpu_count(), load[0], load[1], load[2],
                clang.rsplit("-", 1)[-1], args.rounds)]
    try:
        for name in names:
            text.append(measure(suite.workload(name, "levers"), args, zinst, clang, work))
            print(text[-1], flush=True)  # a long run shows each workload as it ends
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    text.append("\nLoad average at the end: %.1f / %.1f / %.1f.\n" % load)
    out = "".join(text)
    print(out)
    if args.readme:
        update_readme(args.readme, out)


if __name__ == "__main__":
    main()
