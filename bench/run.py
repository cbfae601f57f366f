#!/usr/bin/env python3
"""Side-by-side overhead benchmark: zinst against its peers on one workload.

Builds bench/recursion.c in every variant, runs the variants interleaved
(round-robin, so drift on a noisy VM hits all of them alike), and prints the
median wall time, the ratio to the uninstrumented build, and the time added
per call. The call count is the optimized binary's own, read from zinst's
profile (exact).

    bench/run.py [--build build/llvm-19] [--rounds 7] [--n 32] [--markdown FILE]

Each variant's output (profile, gmon.out, uftrace data) is checked to exist,
so a tool that silently recorded nothing cannot look fast.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


class Variant:
    def __init__(self, name, build, command, check, env=None, note=""):
        self.name, self.build, self.command, self.check = name, build, command, check
        self.env, self.note = env or {}, note
        self.times = []


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build", "llvm-19"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=34, help="fib argument")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    args = ap.parse_args()

    zinst = os.path.join(args.build, "bin", "zinst")
    if not os.path.exists(zinst):
        sys.exit("bench: %s not found: run scripts/build.sh first" % zinst)
    cache = sh(["cmake", "-L", "-N", args.build]).stdout
    clang = [l.split("=", 1)[1] for l in cache.splitlines() if l.startswith("ZINST_CLANG:")][0]
    work = tempfile.mkdtemp(prefix="zinst-bench-")
    src = os.path.join(HERE, "recursion.c")
    n = str(args.n)

    def exe(name):
        return os.path.join(work, name)

    def run_dir(name):
        d = os.path.join(work, "run-" + name)
        os.makedirs(d, exist_ok=True)
        return d

    def file_exists(path):
        return lambda: os.path.getsize(path) > 0

    profile = os.path.join(work, "bench.zinst")
    profile_count = os.path.join(work, "bench-count.zinst")
    profile_exact = os.path.join(work, "bench-exact.zinst")
    gmon = os.path.join(run_dir("gprof"), "gmon.out")
    ufdata = os.path.join(work, "uftrace.data")
    naive_obj = os.path.join(work, "naive_hook.o")

    variants = [
        Variant("uninstrumented", [clang, "-O2", src, "-o", exe("base")],
                [exe("base"), n], lambda: True),
        Variant("zinst (time)", [zinst, "cc", "-O2", src, "-o", exe("zinst")],
                [exe("zinst"), n], file_exists(profile), env={"ZINST_OUTPUT": profile},
                note="default: exact counts, sampled timing"),
        Variant("zinst (count)", None, [exe("zinst"), n], file_exists(profile_count),
                env={"ZINST_OUTPUT": profile_count, "ZINST_MODE": "count"},
                note="counts and call tree, no timestamps"),
        Variant("zinst (exact)", None, [exe("zinst"), n], file_exists(profile_exact),
                env={"ZINST_OUTPUT": profile_exact, "ZINST_SAMPLE": "1"},
                note="every activation timed"),
        Variant("naive -finstrument-functions hook",
                [clang, "-O2", "-finstrument-functions", src, naive_obj, "-o", exe("naive")],
                [exe("naive"), n], lambda: True),
        Variant("gprof (-pg)", [clang, "-O2", "-pg", src, "-o", exe("pg")],
                [exe("pg"), n], file_exists(gmon), note="counts exact, time sampled"),
    ]
    if shutil.which("uftrace"):
        variants.append(Variant("uftrace record (-pg)", None,
                                ["uftrace", "record", "--no-libcall", "-d", ufdata, exe("pg"), n],
                                lambda: os.path.isdir(ufdata)))

    sh([clang, "-O2", "-c", os.path.join(HERE, "naive_hook.c"), "-o", naive_obj])
    compile_times = {}
    for v in variants:
        if v.build:
            t0 = time.perf_counter()
            sh(v.build)
            compile_times[v.name] = time.perf_counter() - t0

    for _ in range(args.rounds):
        for v in variants:
            cwd = run_dir("gprof") if v.name.startswith("gprof") else work
            env = dict(os.environ, **v.env)
            if v.name.startswith("uftrace"):
                shutil.rmtree(ufdata, ignore_errors=True)
            t0 = time.perf_counter()
            subprocess.run(v.command, check=True, cwd=cwd, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            v.times.append(time.perf_counter() - t0)
            if not v.check():
                sys.exit("bench: %s wrote no output" % v.name)

    report = json.loads(sh([zinst, "report", "--json", "--top", "0", profile]).stdout)
    calls = sum(f["calls"] for f in report["functions"])
    base = statistics.median(variants[0].times)
    rows = []
    for v in variants:
        med = statistics.median(v.times)
        added_ns = (med - base) / calls * 1e9
        rows.append((v.name, med, med / base, added_ns, v.note))

    header = ("| variant | median wall time | ratio | ns added per call | note |\n"
              "|---|---:|---:|---:|---|\n")
    table = "".join("| %s | %.3f s | %.2fx | %.1f | %s |\n" % r for r in rows)
    text = ("recursion benchmark: fib(%s), %d calls in the -O2 binary, %d interleaved rounds, "
            "medians\n\n" % (n, calls, args.rounds)) + header + table
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
