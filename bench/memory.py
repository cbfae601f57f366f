#!/usr/bin/env python3
"""Memory tracing overhead: bench/alloc.c (an allocation-heavy churn of
malloc, calloc, realloc and free) built plain and with `zinst cc`, run
uninstrumented, with the runtime linked but no hooks (the interposed
allocator forwarding), with zinst's call hooks only (memory tracing off, the
default), with ZINST_MEMORY=1, under heaptrack and under valgrind's massif.
Variants run interleaved (round-robin) and the median wall time of each is
printed with its ratio to the plain build and to zinst without memory
tracing. zinst's profile is checked to hold the exact allocation count the
workload makes, so a variant that recorded nothing cannot look fast.

    bench/memory.py [--build build/llvm-19] [--rounds 5] [--steps 2000000]
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


def sh(cmd, env=None):
    full = dict(os.environ)
    full.update(env or {})
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)
    if proc.returncode != 0:
        sys.exit("bench: %s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stderr))
    return proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build", "llvm-19"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=2000000)
    args = ap.parse_args()
    zinst = os.path.join(args.build, "bin", "zinst")
    major = os.path.basename(os.path.normpath(args.build)).split("-")[-1]
    clang = shutil.which("clang-" + major) or "clang"
    work = tempfile.mkdtemp(prefix="zinst-membench-")
    src = os.path.join(HERE, "alloc.c")
    plain, traced = os.path.join(work, "plain"), os.path.join(work, "zinst")
    sh([clang, "-O2", "-g", src, "-o", plain])
    sh([zinst, "cc", "-O2", "-g", src, "-o", traced])
    # The runtime linked but no hooks (ZINST_DISABLE=1 at compile time): what
    # the interposed malloc family costs with memory tracing off.
    linked = os.path.join(work, "linked")
    sh([zinst, "cc", "-O2", "-g", src, "-o", linked], env={"ZINST_DISABLE": "1"})
    steps = str(args.steps)
    profile = os.path.join(work, "out.zinst")
    variants = [("uninstrumented", [plain, steps], {}),
                ("runtime linked, no hooks, memory off", [linked, steps],
                 {"ZINST_OUTPUT": os.path.join(work, "linked.zinst")}),
                ("zinst, memory off", [traced, steps], {"ZINST_OUTPUT": profile}),
                ("zinst, ZINST_MEMORY=1", [traced, steps],
                 {"ZINST_OUTPUT": profile, "ZINST_MEMORY": "1"})]
    if shutil.which("heaptrack"):
        variants.append(("heaptrack", ["heaptrack", "-o", os.path.join(work, "ht"), plain, steps], {}))
    if shutil.which("valgrind"):
        variants.append(("valgrind massif", ["valgrind", "--tool=massif", "--massif-out-file=" +
                                             os.path.join(work, "massif.out"), plain, steps], {}))
    times = {name: [] for name, _, _ in variants}
    for _ in range(args.rounds):
        for name, cmd, env in variants:
            start = time.monotonic()
            sh(cmd, env)
            times[name].append(time.monotonic() - start)
    # The traced profile must hold every allocation: the workload makes one
    # per step, one per 8th step (realloc), and none else but the pool.
    data = json.loads(sh([zinst, "mem", "--json", profile]).stdout)
    allocations = data["totals"]["allocations"]
    if allocations < args.steps:
        sys.exit("bench: the traced run recorded %d allocations, fewer than %d steps" %
                 (allocations, args.steps))
    base = statistics.median(times["uninstrumented"])
    hooks = statistics.median(times["zinst, memory off"])
    print("alloc.c, %s steps (%d allocations), median of %d rounds" %
          (steps, allocations, args.rounds))
    print("| variant | wall | vs uninstrumented | vs zinst, memory off |")
    print("|---|---:|---:|---:|")
    for name, _, _ in variants:
        t = statistics.median(times[name])
        print("| %s | %.2f s | %.2fx | %.2fx |" % (name, t, t / base, t / hooks))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
