#!/usr/bin/env python3
"""What the zinst plugin costs at compile time, in instructions and seconds.

Compiles a workload of bench/run.py (every file with -c, -O2 -gdwarf-4 and the
workload's flags) with plain clang and with one or more builds of the plugin:

  - instructions: callgrind counts every instruction of each file's clang run
    (the driver runs cc1 in its own process), summed over the workload's
    files. Repeatable to a few parts in a million on a shared, noisy machine,
    so this is the figure to compare two versions of the plugin by.
  - wall time: the whole workload compiled by one clang invocation, the
    variants interleaved (round-robin, so drift hits them alike), medians.

    bench/compile_time.py [--only lua,bzip2,fib] [--rounds 5] [--no-callgrind]
                          [--jobs N] [--plugin NAME=PATH ...] [--files lvm.c,lparser.c]
                          [--inline-tree] [--hooks]

Without --plugin, the plugin of --build (default build/llvm-19) is "zinst".
Link time is left out: it is the same with and without the plugin but for
the runtime library.
"""
import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402  (the workloads and where their sources live)


def sh(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if proc.returncode != 0:
        sys.exit("compile_time: %s failed (%d):\n%s" % (" ".join(cmd), proc.returncode,
                                                         proc.stderr))
    return proc


def instructions(cmd, out_dir, env=None):
    """Instructions callgrind counted for one run of cmd (and its children)
    in env. out_dir is the run's own: its files are removed afterwards."""
    os.makedirs(out_dir)
    log = os.path.join(out_dir, "callgrind.log")
    sh(["valgrind", "--tool=callgrind", "--trace-children=yes",
        "--callgrind-out-file=" + os.path.join(out_dir, "callgrind.%p"),
        "--log-file=" + log] + cmd, env=env)
    total = 0
    with open(log) as f:
        for line in f:
            m = re.search(r"Collected : (\d+)", line)
            if m:
                total += int(m.group(1))
    if total == 0:
        sys.exit("compile_time: callgrind counted nothing for %s (see %s)" % (cmd, log))
    subprocess.run(["rm", "-rf", out_dir])
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(bench.TOP, "build", "llvm-19"))
    ap.add_argument("--only", default="lua", help="comma-separated workloads (default: lua)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-callgrind", action="store_true", help="wall time only")
    ap.add_argument("--jobs", type=int, default=1,
                    help="callgrind runs at once (counts do not depend on it; walls run alone)")
    ap.add_argument("--plugin", action="append", default=[], metavar="NAME=PATH",
                    help="a plugin build to measure (repeatable)")
    ap.add_argument("--files", help="only these source files (base names, comma-separated)")
    ap.add_argument("--inline-tree", action="store_true",
                    help="also each plugin with ZINST_INLINE_TREE=1 (NAME-inline)")
    ap.add_argument("--hooks", action="store_true",
                    help="also each plugin with ZINST_INLINE_TREE=0, the hooks (NAME-hooks)")
    args = ap.parse_args()

    zinst = os.path.join(args.build, "bin", "zinst")
    if not os.path.exists(zinst):
        sys.exit("compile_time: %s not found: run scripts/build.sh first" % zinst)
    clang = sh([zinst, "flags", "--cc"]).stdout.strip()
    plugins = []
    for spec in args.plugin or ["zinst=" + os.path.join(args.build, "lib", "libzinst.so")]:
        name, sep, path = spec.partition("=")
        if not sep or not os.path.exists(path):
            sys.exit("compile_time: --plugin wants NAME=PATH of an existing file, not %r" % spec)
        plugins.append((name, os.path.abspath(path)))
    work = tempfile.mkdtemp(prefix="zinst-compile-time-")
    # Debian 12's valgrind gives up on the DWARF 5 of a plugin built by
    # clang: each plugin runs from a copy without debug info (same code).
    env = dict(os.environ)
    env.pop("ZINST_DISABLE", None)
    env.pop("ZINST_INLINE_TREE", None)
    variants = [("clang", [], env)]
    for name, path in plugins:
        copy = os.path.join(work, "lib%s.so" % name)
        sh(["objcopy", "--strip-debug", path, copy])
        variants.append((name, ["-fpass-plugin=" + copy], env))
        if args.inline_tree:
            variants.append((name + "-inline", ["-fpass-plugin=" + copy],
                             dict(env, ZINST_INLINE_TREE="1")))
        if args.hooks:
            variants.append((name + "-hooks", ["-fpass-plugin=" + copy],
                             dict(env, ZINST_INLINE_TREE="0")))

    names = args.only.split(",")
    unknown = [n for n in names if n not in {w.name for w in bench.WORKLOADS}]
    if unknown:
        sys.exit("compile_time: unknown workload(s): %s" % ", ".join(unknown))
    workloads = [w for w in bench.WORKLOADS if w.name in names]
    if any(w.fetch for w in workloads):
        sh([os.path.join(HERE, "fetch_sources.sh")])
    for w in bench.WORKLOADS:
        if w.name == "lua":
            w.sources = bench.lua_sources()
        elif w.name == "bzip2":
            w.sources = [os.path.join(bench.SRC, "bzip2", f) for f in bench.BZIP2_FILES]

    print("clang %s; %d interleaved round(s), medians; instructions: callgrind, summed over files"
          % (clang.rsplit("-", 1)[-1], args.rounds))
    for w in workloads:
        sources = w.sources
        if args.files:
            keep = set(args.files.split(","))
            sources = [s for s in sources if os.path.basename(s) in keep]
            if not sources:
                sys.exit("compile_time: none of %s in %s" % (args.files, w.name))
        flags = ["-O2", "-gdwarf-4"] + w.cflags + ["-c"]
        counts = {}
        if not args.no_callgrind:
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
                runs = {}
                for name, extra, run_env in variants:
                    for src in sources:
                        out = os.path.join(work, "cg-%s-%s" % (name, os.path.basename(src)))
                        cmd = [clang] + flags + extra + [src, "-o", os.path.join(out, "x.o")]
                        runs[pool.submit(instructions, cmd, out, run_env)] = name
                for future, name in runs.items():
                    counts[name] = counts.get(name, 0) + future.result()
        walls = {name: [] for name, _, _ in variants}
        for _ in range(args.rounds):
            for name, extra, run_env in variants:
                out = os.path.join(work, name + "-wall")
                os.makedirs(out, exist_ok=True)
                t0 = time.perf_counter()
                sh([clang] + flags + extra + sources, cwd=out, env=run_env)
                walls[name].append(time.perf_counter() - t0)
        print("\n%s: %d file(s)" % (w.name, len(sources)))
        base_ir, base_wall = counts.get("clang"), statistics.median(walls["clang"])
        for name, _, _ in variants:
            wall = statistics.median(walls[name])
            ir = ("%15s instr  %.3fx" % ("{:,}".format(counts[name]), counts[name] / base_ir)
                  if counts else "")
            print("  %-12s %s   wall %.2f s  %.2fx  (runs: %s)" % (
                name, ir, wall, wall / base_wall, " ".join("%.2f" % t for t in walls[name])))
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
