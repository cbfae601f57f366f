#!/usr/bin/env python3
"""What zinst's compile-time levers buy and what they cost, measured.

For each workload (the Lua interpreter and the bundled RL example, as in
bench/run.py) it builds:

  uninstrumented       plain clang
  default              zinst cc, every function hooked
  min-size N           ZINST_MIN_SIZE=N for a few N (the threshold lever)
  exclude hot tiny     ZINST_EXCLUDE of the K hottest tiny functions
  count-only hot tiny  ZINST_COUNT_ONLY of the same functions

"Tiny" means what the threshold lever drops: the functions that ran in the
default build and have no hooks in the min-size build of --tiny-below
instructions; the K of them with the most calls are the "hot tiny" ones.
The variants run interleaved (round-robin, --rounds of each), and for each
the table gives the median wall time and its ratio to the uninstrumented
build, optionally the instructions executed (callgrind, repeatable on a
noisy machine) and what the lever loses: the functions that ran but are no
longer timed (no hooks), the functions left with exact counts only, and the
calls no longer counted at all. Counts are exact, so "calls not counted" is
the default build's calls minus the variant's, and the count-only variant
must count exactly the calls the default build counted for the same
functions (the script checks it).

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

README_BEGIN = "<!-- levers results: begin (written by bench/levers.py --readme) -->"
README_END = "<!-- levers results: end -->"


def workload(name):
    for w in suite.WORKLOADS:
        if w.name == name:
            return w
    sys.exit("levers: no workload %s" % name)


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
    output discarded): repeatable where wall time is not."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
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
    flags = ["-O2", "-g"] + w.cflags

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
    sizes = sorted(set(args.min_size + [args.tiny_below]))
    sized = {n: build(os.path.join(wdir, "min%d" % n), {"ZINST_MIN_SIZE": str(n)}) for n in sizes}
    # The hot tiny functions, from exact counts (count mode: no timing noise).
    counts = profile_of(default, {"ZINST_MODE": "count"})
    small = profile_of(sized[args.tiny_below], {"ZINST_MODE": "count"})
    tiny = [n for n in counts if n not in small and not n.startswith("[")]
    hot = sorted(tiny, key=lambda n: (-counts[n][0], n))[:args.hot]
    if not hot:
        sys.exit("levers: %s has no function below %d instructions" % (w.name, args.tiny_below))
    chosen = glob_list(hot)
    excluded = build(os.path.join(wdir, "exclude"), {"ZINST_EXCLUDE": chosen})
    count_only = build(os.path.join(wdir, "count_only"), {"ZINST_COUNT_ONLY": chosen})

    variants = [("uninstrumented", base, "-"), ("default", default, "every function hooked")]
    variants += [("min-size %d" % n, sized[n], "ZINST_MIN_SIZE=%d" % n)
                 for n in sizes if n in args.min_size]
    variants += [("exclude hot tiny", excluded, "ZINST_EXCLUDE of the %d below" % len(hot)),
                 ("count-only hot tiny", count_only,
                  "ZINST_COUNT_ONLY of the %d below" % len(hot))]

    # What each variant still records, from its own exact counts.
    default_calls = sum(c for c, _ in counts.values())
    lost = {}
    for name, exe, _ in variants[1:]:
        seen = profile_of(exe, {"ZINST_MODE": "count"})
        untimed = [n for n in counts if n not in seen or seen[n][1]]
        only_counted = [n for n in seen if seen[n][1]]
        missing = default_calls - sum(c for c, _ in seen.values())
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
    text = ["\n### %s: %s\n\n" % (w.name, w.desc),
            "Hot tiny functions (the %d with the most calls of the %d that ran and have fewer "
            "than %d IR instructions): %s; %s of the %s calls the default build counts.\n\n" % (
                len(hot), len(tiny), args.tiny_below, ", ".join("`%s`" % n for n in hot),
                "{:,}".format(sum(counts[n][0] for n in hot)), "{:,}".format(default_calls))]
    header = "| variant | lever | median | ratio |"
    rule = "|---|---|---:|---:|"
    if ir:
        header += " instructions | ratio |"
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
    ap.add_argument("--only", default="lua,rl", help="comma-separated workloads (lua, rl)")
    ap.add_argument("--min-size", default="8,16,32",
                    help="the ZINST_MIN_SIZE values to measure (default 8,16,32)")
    ap.add_argument("--tiny-below", type=int, default=16,
                    help="functions below this many IR instructions are tiny (default 16)")
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
        workload("lua").sources = suite.lua_sources()
    work = tempfile.mkdtemp(prefix="zinst-levers-")
    load = os.getloadavg()
    text = ["Machine: %s, %d cores, load average %.1f / %.1f / %.1f (1/5/15 min) at the start; "
            "clang %s; %d interleaved round(s), medians.\n" % (
                os.uname().machine, os.cpu_count(), load[0], load[1], load[2],
                clang.rsplit("-", 1)[-1], args.rounds)]
    try:
        for name in names:
            text.append(measure(workload(name), args, zinst, clang, work))
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
