#!/usr/bin/env python3
"""How the sampled time estimates hold up when the host takes the CPU away.

A sampled activation stands for the calls of its context that were not
timed. One that the scheduler stopped for milliseconds, weighted as a
sample, makes a function of nanoseconds take seconds. The runtime clips
such outliers (ZINST_SAMPLE_OUTLIER, thread_state.h: zinst_sample_part);
this script measures what that changes.

It builds a workload with `zinst cc` (the default build) and runs it,
interleaved, in three runtime settings:

  exact       ZINST_SAMPLE=1: every activation timed, no estimate at all
  whole       ZINST_SAMPLE_OUTLIER=0: samples counted whole, as before
  clipped     the default (ZINST_SAMPLE_OUTLIER=64)

first on a quiet machine, then with --load busy processes competing for
the CPUs (one more than the cores by default), which makes the scheduler
preempt the program every few milliseconds. For each run it reads the
flat profile and records every function's self time as a share of the run
(`zinst report --json`, self_percent). The table gives, per setting and
condition, the largest share any function had in each run (median and
maximum over the runs), how many runs put some function above 100% of
the run, the function whose share moved most from run to run, and for
the functions with the most self time the median share and its range.
The calls of every function must be the same in every run (the workload
is deterministic): the script fails otherwise.

    bench/outliers.py [--build build/llvm-19] [--rounds 8] [--load N]
                      [--only lua] [--readme README.md]
    bench/outliers.py --smoke     one round of fib, quiet only (CI)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as suite  # noqa: E402  (bench/run.py: workloads, sources, sh)

SETTINGS = [
    ("exact", "every call timed (`ZINST_SAMPLE=1`)", {"ZINST_SAMPLE": "1"}),
    ("whole", "sampled, outliers whole (`ZINST_SAMPLE_OUTLIER=0`)", {"ZINST_SAMPLE_OUTLIER": "0"}),
    ("clipped", "sampled, outliers clipped (default)", {}),
]
SHOWN_FUNCTIONS = 6

README_BEGIN = "<!-- outliers results: begin (written by bench/outliers.py --readme) -->"
README_END = "<!-- outliers results: end -->"


def run_once(zinst, exe, args, env, profile, cwd):
    """One run; {function: (calls, self_percent)} from its flat profile."""
    subprocess.run([exe] + args, check=True, cwd=cwd, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, ZINST_OUTPUT=profile, **env))
    report = json.loads(suite.sh([zinst, "report", "--json", "--top", "0", profile]).stdout)
    shares = {}
    for f in report["functions"]:
        calls, share = shares.get(f["name"], (0, 0.0))
        shares[f["name"]] = (calls + f["calls"], share + f["self_percent"])
    if not shares:
        sys.exit("outliers: %s has no functions" % profile)
    return shares


def start_load(count):
    """`count` processes that spin until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop_load(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def measure(zinst, exe, args, rounds, work, conditions):
    """{condition: {setting: [run shares]}}, the settings interleaved."""
    results = {}
    for condition, load in conditions:
        results[condition] = {key: [] for key, _, _ in SETTINGS}
        procs = start_load(load) if load else []
        try:
            for _ in range(rounds):
                for key, _, env in SETTINGS:
                    profile = os.path.join(work, "%s-%s.zinst" % (condition, key))
                    results[condition][key].append(run_once(zinst, exe, args, env, profile, work))
        finally:
            stop_load(procs)
    return results


def check_counts(results):
    """Every run counted every function's calls alike."""
    reference = None
    for condition, by_setting in results.items():
        for key, runs in by_setting.items():
            for shares in runs:
                calls = {name: c for name, (c, _) in shares.items()}
                if reference is None:
                    reference = calls
                elif calls != reference:
                    differ = sorted(n for n in set(calls) | set(reference)
                                    if calls.get(n) != reference.get(n))
                    sys.exit("outliers: %s/%s counted other calls than the first run for %s"
                             % (condition, key, ", ".join(differ[:5])))


def share_range(values):
    return "%.1f%% (%.1f-%.1f)" % (statistics.median(values), min(values), max(values))


def table(results, rounds, title):
    conditions = list(results)
    clipped_quiet = results[conditions[0]]["clipped"]
    # The functions with the most self time in the default setting, quiet.
    names = sorted(clipped_quiet[0], key=lambda n: -statistics.median(
        run.get(n, (0, 0.0))[1] for run in clipped_quiet))[:SHOWN_FUNCTIONS]
    head = ("| setting | condition | largest self share in a run: median (max) | runs with a "
            "function over 100% | widest range of one function's share over the runs |")
    lines = [title, "", head + "".join(" %s |" % n for n in names),
             "|---|---|---:|---:|---|" + "---:|" * len(names)]
    for key, label, _ in SETTINGS:
        for condition in conditions:
            runs = results[condition][key]
            largest = [max(s for _, s in run.values()) for run in runs]
            over = sum(1 for x in largest if x > 100)
            everywhere = set().union(*runs)
            spreads = {n: [run.get(n, (0, 0.0))[1] for run in runs] for n in everywhere}
            widest = max(everywhere, key=lambda n: max(spreads[n]) - min(spreads[n]))
            cells = [share_range([run.get(n, (0, 0.0))[1] for run in runs]) for n in names]
            lines.append("| %s | %s | %.1f%% (%.1f%%) | %d of %d | %s %.1f-%.1f%% |" % (
                label, condition, statistics.median(largest), max(largest), over, rounds,
                widest, min(spreads[widest]), max(spreads[widest])) +
                "".join(" %s |" % c for c in cells))
    lines.append("")
    lines.append("Per function: the median self share over the runs (min-max).")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(suite.TOP, "build", "llvm-19"))
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--load", type=int, default=(os.cpu_count() or 1) + 1,
                    help="busy processes in the loaded condition (default: cores + 1)")
    ap.add_argument("--only", default="lua", help="the workload (default: lua)")
    ap.add_argument("--smoke", action="store_true", help="one quiet round of fib (CI)")
    ap.add_argument("--readme", help="replace the table between this README's markers")
    args = ap.parse_args()

    zinst = os.path.join(args.build, "bin", "zinst")
    if not os.path.exists(zinst):
        sys.exit("outliers: %s not found: run scripts/build.sh first" % zinst)
    w = suite.workload("fib" if args.smoke else args.only, "outliers")
    if w.zig_root or not w.sources and not w.fetch:
        sys.exit("outliers: %s is not a C workload" % w.name)
    if w.fetch:
        suite.sh([os.path.join(HERE, "fetch_sources.sh")])
        if w.name == "lua":
            w.sources = suite.lua_sources()
    work = tempfile.mkdtemp(prefix="zinst-outliers-")
    run_args = list(w.smoke_args if args.smoke else w.args)
    if w.make_input:
        data = os.path.join(work, w.name + ".input")
        w.make_input(data)
        run_args.append(data)
    exe = os.path.join(work, w.name)
    suite.sh([zinst, "cc", "-O2", "-gdwarf-4"] + w.cflags + w.sources + w.libs + ["-o", exe])

    rounds = 1 if args.smoke else args.rounds
    conditions = [("quiet", 0)]
    if not args.smoke and args.load > 0:
        conditions.append(("%d busy processes" % args.load, args.load))
    results = measure(zinst, exe, run_args, rounds, work, conditions)
    check_counts(results)
    title = ("%s, %d interleaved round(s) per condition, %d cores; self time as a share of "
             "the run (`zinst report`'s self %%)." % (w.desc, rounds, os.cpu_count() or 1))
    text = table(results, rounds, title)
    print(text)
    if args.readme and not args.smoke:
        suite.update_readme(args.readme, [text], begin=README_BEGIN, end_marker=README_END)


if __name__ == "__main__":
    main()
