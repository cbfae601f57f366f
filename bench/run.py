#!/usr/bin/env python3
"""zinst against its peers, side by side, on the same workloads.

Every workload is built in every variant (uninstrumented, zinst in each mode,
XRay profiling and flight-recorder modes, gprof, uftrace, the naive
-finstrument-functions hook, callgrind), and the variants run interleaved
(round-robin, so drift on a noisy VM hits all of them alike). For each it
prints the median wall time, the ratio to the uninstrumented build, the time
added per call (the call count is the optimized binary's own, from zinst's
exact count-mode profile) and the size of what the tool wrote. A variant that
runs for less than MIN_SECONDS_PER_ROUND runs several times in each round, so
that its median covers many process layouts (see run_variant). Every tool's
output is checked to exist (and zinst's to parse), so a tool that silently
recorded nothing cannot look fast. Also: the plugin's compile-time overhead
and how long `zinst report` takes on the largest profile.

The "hooks" workload measures the hook-cost correction instead: a small
leaf of known cost (bench/leaf_cost.c, timed uninstrumented) called
millions of times, and the self time per call zinst reports for it with and
without the correction, in the default (sampled) and exact modes.

    bench/run.py [--build build/llvm-19] [--rounds 5] [--only fib,lua,hooks] [--markdown FILE]
    bench/run.py --smoke        one quick round of the small workloads (CI)

The real-world workloads (lua, bzip2) are built from Debian's source packages,
fetched by bench/fetch_sources.sh into build/bench-src/.
"""
import argparse
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SRC = os.path.join(TOP, "build", "bench-src")


def sh(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if proc.returncode != 0:
        sys.exit("bench: %s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stderr))
    return proc


class Workload:
    def __init__(self, name, desc, sources, args, smoke_args=None, cflags=(), libs=(),
                 fetch=False, make_input=None, zig_root=None):
        self.name, self.desc, self.sources, self.args = name, desc, sources, args
        self.smoke_args = smoke_args
        self.cflags, self.libs, self.fetch, self.make_input = list(cflags), list(libs), fetch, make_input
        self.zig_root = zig_root  # a Zig program: built with Zig, not clang (zig_builds)


def workload(name, tool="bench"):
    """The workload called `name`; exits naming `tool` if there is none."""
    for w in WORKLOADS:
        if w.name == name:
            return w
    sys.exit("%s: no workload %s" % (tool, name))


def lua_sources():
    return sorted(f for f in glob.glob(os.path.join(SRC, "lua", "src", "*.c"))
                  if not f.endswith(("luac.c",)))


BZIP2_FILES = ["blocksort.c", "huffman.c", "crctable.c", "randtable.c", "compress.c",
               "decompress.c", "bzlib.c", "bzip2.c"]


def make_text(path, size=8 << 20):
    """Compressible but not trivial input: words drawn from a fixed generator."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    state, out, words = 88172645463325252, bytearray(), [b"reward", b"policy", b"state",
                                                         b"action", b"value", b"step"]
    while len(out) < size:
        state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
        state ^= state >> 7
        state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
        out += words[state % 6] + str(state % 1000).encode() + (b"\n" if state % 9 == 0 else b" ")
    with open(path, "wb") as f:
        f.write(out[:size])


WORKLOADS = [
    Workload("fib", "call-dense recursion: nothing but calls", [os.path.join(HERE, "recursion.c")],
             ["34"], smoke_args=["22"]),
    Workload("rl", "RL loop: cart-pole, softmax policy, 2 worker threads (3 files)",
             sorted(glob.glob(os.path.join(TOP, "examples", "rl_cartpole", "*.c"))), [],
             smoke_args=[], libs=["-lm", "-lpthread"]),
    Workload("threads", "8 threads x 2M calls of two small functions",
             [os.path.join(TOP, "test", "e2e", "programs", "threads.c")], ["2000000"],
             smoke_args=["20000"], libs=["-lpthread"]),
    Workload("lua", "Lua 5.4 interpreter (Debian source, 33 files) running calls.lua",
             None, [os.path.join(HERE, "workloads", "calls.lua")],
             # luai_makeseed and l_randomizePivot mix in time() and addresses:
             # fixed, every build and run makes the same calls, so the ns per
             # call of every variant divides by the same count.
             cflags=["-DLUA_USE_LINUX", "-w", "-Dluai_makeseed(L)=0u",
                     "-Dl_randomizePivot()=0u"], libs=["-lm", "-ldl"], fetch=True),
    Workload("bzip2", "bzip2 1.0.8 (Debian source) compressing 8 MiB of text",
             None, ["-c", "-9"], cflags=["-D_FILE_OFFSET_BITS=64", "-w"], fetch=True,
             make_input=make_text),
    Workload("zig", "the Zig RL example (cart-pole, 2 worker threads per iteration), "
             "ReleaseFast", None, [], smoke_args=[],
             zig_root=os.path.join(TOP, "zig-integration", "examples", "rl_cartpole.zig")),
]

# The Zig that pairs with each LLVM major (test/CMakeLists.txt has the same).
ZIG_FOR_LLVM = {"19": "0.14.1", "22": "0.17.1"}

# Zig code cannot be built for the peers: Zig has no -pg, no
# -finstrument-functions and no -fxray-instrument. callgrind needs no build.
ZIG_PEERLESS = {"XRay profiling", "XRay flight recorder", "gprof (-pg)", "uftrace record",
                "naive hook"}


def zig_builds(w, zinst, llvm_major, exe):
    """The uninstrumented and the zinst build of a Zig workload, with the Zig
    that pairs with the build's LLVM (installed by scripts/install-zig.sh).
    The uninstrumented one gets the zinst API module in its disabled form, as
    a `-Dzinst=false` build does, so that it is the same program."""
    version = ZIG_FOR_LLVM.get(llvm_major)
    if version is None:
        sys.exit("bench: no Zig pairs with LLVM %s" % llvm_major)
    install = os.path.join(TOP, "scripts", "install-zig.sh")
    sh([install, version])
    zig = os.path.join(sh([install, "--print-dir", version]).stdout.strip(), "zig")
    share = os.path.join(os.path.dirname(os.path.dirname(zinst)), "share", "zinst", "zig")
    # Zig's -O and -mcpu apply to the -M module after them. Baseline x86-64,
    # as clang builds the C workloads: Zig's default, the build machine's own
    # CPU, may use AVX-512, which valgrind cannot run.
    mode = ["-O", "ReleaseFast", "-mcpu=baseline"]
    base = ([zig, "build-exe", "-lc"] + mode + ["--dep", "zinst", "-Mroot=" + w.zig_root] +
            mode + ["--dep", "zinst_config", "-Mzinst=" + os.path.join(share, "zinst.zig")] +
            mode + ["-Mzinst_config=" + os.path.join(share, "config", "disabled.zig"),
                    "-femit-bin=" + exe("base")])
    instrumented = [zinst, "zig", "--zig", zig, "build-exe", w.zig_root] + mode + [
        "-femit-bin=" + exe("zinst")]
    return version, {"base": base, "zinst": instrumented,
                     "inline": ([a.replace(exe("zinst"), exe("inline")) for a in instrumented],
                                INLINE_TREE_ENV),
                     "hooks": ([a.replace(exe("zinst"), exe("hooks")) for a in instrumented],
                               HOOKS_ENV),
                     # Built for its build time only: what the route through
                     # bitcode and clang costs without the plugin's work.
                     "route": ([a.replace(exe("zinst"), exe("route")) for a in instrumented],
                               {"ZINST_DISABLE": "1"})}


class Variant:
    def __init__(self, name, binary, env=None, note="", wrap=None, output=None):
        self.name, self.binary, self.env, self.note = name, binary, env or {}, note
        self.wrap = wrap      # command prefix (uftrace, valgrind)
        self.output = output  # callable(run_dir) -> path of what the tool wrote
        self.times = []
        self.runs_per_round = None  # set after the first run (run_variant)


# The default build is inline timing: the calling-context tree in inline
# code, with sampled timing decided there. The compile-time count mode: the
# same without time.
INLINE_TREE_ENV = {"ZINST_INLINE_TREE": "1"}
# The hooks: a call of the runtime at every entry and exit.
HOOKS_ENV = {"ZINST_INLINE_TREE": "0"}


def c_builds(w, clang, flags, zinst, naive_obj, xray_obj, exe):
    """Every build of a C workload: uninstrumented, zinst, and each peer's."""
    return {
        "base": [clang] + flags + w.sources + w.libs + ["-o", exe("base")],
        "zinst": [zinst, "cc"] + flags + w.sources + w.libs + ["-o", exe("zinst")],
        "inline": ([zinst, "cc"] + flags + w.sources + w.libs + ["-o", exe("inline")],
                   INLINE_TREE_ENV),
        "hooks": ([zinst, "cc"] + flags + w.sources + w.libs + ["-o", exe("hooks")],
                  HOOKS_ENV),
        "naive": [clang] + flags + ["-finstrument-functions"] + w.sources + [naive_obj] +
                 w.libs + ["-o", exe("naive")],
        "pg": [clang] + flags + ["-pg"] + w.sources + w.libs + ["-o", exe("pg")],
        "xray": [clang] + flags + ["-fxray-instrument", "-fxray-instruction-threshold=1",
                                   "-fxray-modes=xray-profiling,xray-fdr"] + w.sources +
                [xray_obj] + w.libs + ["-lstdc++", "-o", exe("xray")],
    }


# A process's layout (ASLR) changes how fast instrumented code runs on these
# VMs: fib(36) in count mode ran 0.11 s or 0.17 s, depending on the run,
# where `setarch -R` ran it at 0.11 s every time. A variant that runs for
# milliseconds is therefore run several times in each round (as many times
# as fill MIN_SECONDS_PER_ROUND, at most MAX_RUNS_PER_ROUND), so that its
# median is over many layouts, not over as many as there are rounds.
MIN_SECONDS_PER_ROUND = 1.0
MAX_RUNS_PER_ROUND = 10
# Builds of every variant, timed for the build-time ratios.
BUILD_ROUNDS = 3
# What each build is, in the build-time line.
BUILD_LABELS = {"zinst": "zinst (default)", "inline": "zinst (inline tree)",
                "hooks": "zinst (hooks)", "naive": "naive hook (-finstrument-functions)",
                "pg": "gprof and uftrace (-pg)", "xray": "XRay",
                "route": "zinst zig with ZINST_DISABLE=1 (the route alone)"}


def run_variant(v, rdir, cmd, workload):
    """Runs the variant once in a clean rdir, appends its wall time to
    v.times and checks that the tool wrote something."""
    for stale in glob.glob(os.path.join(rdir, "*")):
        shutil.rmtree(stale) if os.path.isdir(stale) else os.remove(stale)
    t0 = time.perf_counter()
    subprocess.run((v.wrap or []) + cmd, check=True, cwd=rdir, env=dict(os.environ, **v.env),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    v.times.append(time.perf_counter() - t0)
    v.out_size = size_of(v.output(rdir)) if v.output else None
    if v.output and v.out_size == 0:
        sys.exit("bench: %s wrote no output on %s" % (v.name, workload))


def zinst_profile(name):
    return lambda d: os.path.join(d, name + ".zinst")


def newest(pattern):
    def find(d):
        files = sorted(glob.glob(os.path.join(d, pattern)), key=os.path.getmtime)
        return files[-1] if files else os.path.join(d, pattern)
    return find


def size_of(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path) if os.path.exists(path) else 0


def human_size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


README_BEGIN = "<!-- bench results: begin (written by bench/run.py --readme) -->"
README_END = "<!-- bench results: end -->"
HOOKS_BEGIN = "<!-- bench hook cost: begin (written by bench/run.py --readme) -->"
HOOKS_END = "<!-- bench hook cost: end -->"


def update_readme(path, tables, begin=README_BEGIN, end_marker=README_END):
    """Puts `tables` between the README's markers, leaving the rest alone."""
    with open(path) as f:
        text = f.read()
    start, end = text.find(begin), text.find(end_marker)
    if start < 0 or end < start:
        sys.exit("bench: %s has no '%s' ... '%s' markers" % (path, begin, end_marker))
    text = text[:start + len(begin)] + "\n" + tables.rstrip() + "\n" + text[end:]
    with open(path, "w") as f:
        f.write(text)


# The hook-cost correction: the leaves (bench/leaf_cost.c: shape, steps,
# a divisor of the calls: fib(10) is 177 calls), the calls of each rep, the
# reps of each process and the processes of each variant (at least
# HOOK_ROUNDS, interleaved). Reps of about a millisecond: on a loaded
# machine longer ones are nearly all preempted, and those do not count.
HOOK_LEAVES = [("busy", 60, 1), ("busy", 15, 1), ("chain", 40, 1), ("chain", 160, 4),
               ("fib", 10, 20)]
HOOK_CALLS, HOOK_REPS, HOOK_ROUNDS = 20000, 20, 10
HOOK_SMOKE_CALLS, HOOK_SMOKE_REPS = 20000, 2


def hook_cost(zinst, clang, work, rounds, smoke):
    """The hooks workload: what zinst reports per call of a leaf of known
    cost, with and without the hook-cost correction, against the leaf's
    uninstrumented cost. Returns the Markdown text.

    The program repeats its loop and times each rep itself; instrumented,
    each rep gets its own profile (zinst_reset, zinst_dump). The variants
    run interleaved, process by process. Only reps that were not preempted
    count (the program reports the thread's involuntary context switches
    per rep): on a loaded machine a preempted rep's wall time, and its
    profile's times, hold other programs' time slices. Every figure is the
    median over a variant's counted reps: the uninstrumented loop's time,
    the instrumented loop's, and each value `zinst report` gives per rep's
    profile. The machine's load average is recorded around the runs."""
    wdir = os.path.join(work, "hooks")
    os.makedirs(wdir)
    source = os.path.join(HERE, "leaf_cost.c")
    base = os.path.join(wdir, "base")
    sh([clang, "-O2", source, "-o", base])
    # The default build (inline timing) and the hooks build.
    builds = {"default": os.path.join(wdir, "zinst"), "hooks": os.path.join(wdir, "hooks")}
    sh([zinst, "cc", "-O2", source, "-o", builds["default"]])
    sh([zinst, "cc", "-O2", source, "-o", builds["hooks"]], env=dict(os.environ, **HOOKS_ENV))
    calls, reps = (HOOK_SMOKE_CALLS, HOOK_SMOKE_REPS) if smoke else (HOOK_CALLS, HOOK_REPS)
    rounds = rounds if smoke else max(rounds, HOOK_ROUNDS)
    modes = [("%s, %s" % (build, timing), build, env)
             for build in builds
             for timing, env in (("sampled", {}), ("exact", {"ZINST_SAMPLE": "1"}))]
    base_ns = {}  # leaf -> [(ns per call, preempted)]
    runs = {}     # (leaf, mode) -> [(ns per call, preempted, profile)]

    def rep_timings(output):
        """[(ns per call, preempted)] of the program's "rep I ns_per_call N
        switches S" lines."""
        reps = [line.split() for line in output.splitlines() if line.startswith("rep ")]
        return [(float(r[3]), int(r[5]) != 0) for r in reps]

    def counted(reps):
        """The reps that were not preempted (none: the row says so)."""
        return [r for r in reps if not r[1]]

    load_before = os.getloadavg()
    for r in range(rounds):
        for leaf in HOOK_LEAVES:
            args = [str(max(calls // leaf[2], 1)), str(leaf[1]), leaf[0], str(reps)]
            base_ns.setdefault(leaf, []).extend(rep_timings(sh([base] + args).stdout))
            for mode, build, env in modes:
                prefix = os.path.join(wdir, "%s-%s-%d-%d" % (mode.replace(", ", "-"), leaf[0],
                                                            leaf[1], r))
                out = sh([builds[build]] + args,
                         env=dict(os.environ, LEAF_COST_DUMP=prefix, **env)).stdout
                runs.setdefault((leaf, mode), []).extend(
                    (ns, preempted, "%s.%d.zinst" % (prefix, k))
                    for k, (ns, preempted) in enumerate(rep_timings(out)))
    load_after = os.getloadavg()
    text = ["\n#### hooks: the hook-cost correction on a leaf of known cost\n\n"
            "`bench/leaf_cost.c`: a caller calls a leaf %s times, each call taking the "
            "previous one's result, and times its loop; %d such reps per process, %d processes "
            "per variant, interleaved. The leaf is `busy` (steps of six independent additions) "
            "or `chain` (one dependent multiply-add per step), the 160-step chain called 4 "
            "times less often; `fib` is no leaf but the recursion fib(10), 177 calls, called "
            "20 times less often, its self time that of all its levels. Only reps the system did not preempt count (`reps`: counted of "
            "run, uninstrumented and instrumented). Per call of the leaf from the caller, each "
            "the median over a variant's counted reps: its cost uninstrumented, the "
            "instrumented loop's own timing, "
            "and what `zinst report` says of each rep's profile: the leaf's self time and the "
            "caller's total time, as measured (`--raw`) and with the hooks' cost subtracted "
            "(the default), with their ratio to the uninstrumented cost; for the default build "
            "(inline timing) and the hooks build (`ZINST_INLINE_TREE=0`). Load average "
            "(1, 5, 15 min) %.2f, %.2f, %.2f before the runs and %.2f, %.2f, %.2f after.\n\n"
            % (("{:,}".format(calls), reps, rounds) + load_before + load_after),
            "| leaf | mode | reps | uninstrumented | instrumented loop | leaf self, raw "
            "| corrected | caller total, raw | corrected |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"]
    calibrations = []
    for leaf in HOOK_LEAVES:
        name = "%s, %d steps" % leaf[:2] if leaf[0] != "fib" else "fib(%d)" % leaf[1]
        outer = max(calls // leaf[2], 1)
        base_kept = counted(base_ns[leaf])
        b = statistics.median(ns for ns, _ in base_kept) if base_kept else None
        for mode, _, _ in modes:
            kept = counted(runs[(leaf, mode)])
            counts = "%d/%d, %d/%d" % (len(base_kept), len(base_ns[leaf]), len(kept),
                                       len(runs[(leaf, mode)]))
            if b is None or not kept:
                text.append("| %s | %s | %s | every rep of a side was preempted: no figures "
                            "| | | | | |\n" % (name, mode, counts))
                continue
            own = statistics.median(ns for ns, _, _ in kept)
            values = {"raw": [], "corrected": []}  # per rep: (leaf self, caller total)
            errors, costs = [], []
            for _, _, profile in kept:
                for times in ("raw", "corrected"):
                    report = json.loads(sh([zinst, "report", "--json", "--top", "0"] +
                                           (["--raw"] if times == "raw" else []) +
                                           [profile]).stdout)
                    if report["times"] != times:
                        sys.exit("bench: %s says its times are %r, expected %r" %
                                 (profile, report["times"], times))
                    by_name = {f["name"]: f for f in report["functions"]}
                    leaf_fn, caller_fn = by_name[leaf[0] + "_leaf"], by_name[leaf[0] + "_caller"]
                    if leaf_fn["calls"] % outer != 0 or caller_fn["calls"] != 1:
                        sys.exit("bench: %s: wrong counts" % profile)
                    values[times].append((leaf_fn["self_ns"] / outer,
                                          caller_fn["total_ns"] / outer))
                # The leaf's 95% interval (sampled mode estimates it), per call.
                errors.append(1.96 * leaf_fn["self_ticks_error"] * 1e9 /
                              report["profile"]["ticks_per_second"] / outer)
                cost = report["profile"]["hook_cost"]
                costs.append(tuple(cost[k] / 1e3 for k in (
                    "untimed_pair_ps", "timed_pair_ps", "timed_inner_ps", "spread_ps")))
            cells = []
            for part in (0, 1):
                for times in ("raw", "corrected"):
                    v = statistics.median(rep[part] for rep in values[times])
                    cells.append("%.1f ns (%.2fx)" % (v, v / b))
            error = statistics.median(errors)
            if error >= 0.05:
                cells[0] += " \u00b1%.1f" % error
                cells[1] += " \u00b1%.1f" % error
            text.append("| %s | %s | %s | %.1f ns | %.1f ns (%.2fx) | %s |\n" % (
                name, mode, counts, b, own, own / b, " | ".join(cells)))
            calibrations.append("%s %s: %.2f / %.2f / %.2f ns, spread %.2f" % (
                (name, mode) + tuple(statistics.median(c[k] for c in costs) for k in range(4))))
    text.append("\nThe calibrations of those reps' processes, medians (untimed call / timed call "
                "/ its part inside the callee's time): " + "; ".join(calibrations) + ".\n")
    return "".join(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build", "llvm-19"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", help="comma-separated workloads (default: all)")
    ap.add_argument("--skip", default="", help="comma-separated variants to leave out")
    ap.add_argument("--smoke", action="store_true",
                    help="one round of the small workloads with small inputs (no downloads)")
    ap.add_argument("--markdown", help="also write the tables as Markdown to this file")
    ap.add_argument("--readme", help="replace the results between the bench markers of this "
                    "README with this run's tables")
    args = ap.parse_args()

    zinst = os.path.join(args.build, "bin", "zinst")
    if not os.path.exists(zinst):
        sys.exit("bench: %s not found: run scripts/build.sh first" % zinst)
    clang = sh([zinst, "flags", "--cc"]).stdout.strip()
    clangxx = sh([zinst, "flags", "--cxx"]).stdout.strip()
    only = args.only.split(",") if args.only else None
    unknown = set(only or []) - {w.name for w in WORKLOADS} - {"hooks"}
    if unknown:
        sys.exit("bench: unknown workload(s) %s" % ", ".join(sorted(unknown)))
    selected = [w for w in WORKLOADS if (not only or w.name in only)
                and (not args.smoke or w.smoke_args is not None)]
    run_hooks = not only or "hooks" in only
    if args.smoke:
        args.rounds = 1
    skip = set(filter(None, args.skip.split(",")))
    if any(w.fetch for w in selected):
        sh([os.path.join(HERE, "fetch_sources.sh")])
    WORKLOADS[3].sources = lua_sources()
    WORKLOADS[4].sources = [os.path.join(SRC, "bzip2", f) for f in BZIP2_FILES]
    llvm_major = clang.rsplit("-", 1)[-1]

    work = tempfile.mkdtemp(prefix="zinst-bench-")
    naive_obj = os.path.join(work, "naive_hook.o")
    xray_obj = os.path.join(work, "xray_session.o")
    sh([clang, "-O2", "-c", os.path.join(HERE, "naive_hook.c"), "-o", naive_obj])
    sh([clangxx, "-O2", "-c", os.path.join(HERE, "xray_session.cpp"), "-o", xray_obj])

    text = ["Machine: %s, %d cores; clang %s; %d interleaved round(s), medians; a variant "
            "that runs under %.1f s runs several times a round (`runs`: in all).\n" % (
                os.uname().machine, os.cpu_count(), clang.rsplit("-", 1)[-1], args.rounds,
                MIN_SECONDS_PER_ROUND)]
    summary, inline_summary, hooks_summary, sample64_summary = [], [], [], []
    fixed_limit_summary = []
    largest_profile = None
    for w in selected:
        wdir = os.path.join(work, w.name)
        os.makedirs(wdir)
        run_args = list(w.smoke_args if args.smoke else w.args)
        if w.make_input:
            data = os.path.join(work, w.name + ".input")
            w.make_input(data, size=(1 << 20) if args.smoke else (8 << 20))
            run_args.append(data)

        def exe(v):
            return os.path.join(wdir, v)
        # DWARF 4: Debian 12's valgrind cannot read clang's default DWARF 5.
        flags = ["-O2", "-gdwarf-4"] + w.cflags
        desc = w.desc
        if w.zig_root:
            zig_version, builds = zig_builds(w, zinst, llvm_major, exe)
            desc += " (Zig %s; the peers cannot instrument Zig code)" % zig_version
        else:
            builds = c_builds(w, clang, flags, zinst, naive_obj, xray_obj, exe)
        build_seconds = {key: [] for key in builds}

        def build(key):
            cmd, build_env = builds[key] if isinstance(builds[key], tuple) else (builds[key], {})
            t0 = time.perf_counter()
            sh(cmd, cwd=wdir, env=dict(os.environ, **build_env) if build_env else None)
            build_seconds[key].append(time.perf_counter() - t0)
        # The build-time ratio from one build each moved between 0.6x and
        # 1.4x on this VM: every build is timed BUILD_ROUNDS times,
        # interleaved, and compared by its median.
        for _ in range(1 if args.smoke else BUILD_ROUNDS):
            for key in builds:
                build(key)

        variants = [
            Variant("uninstrumented", "base"),
            Variant("zinst (default)", "zinst", {"ZINST_OUTPUT": "%e.zinst"},
                    "inline timing: exact counts and tree, sampled timing decided inline",
                    output=zinst_profile("zinst")),
            Variant("zinst (count)", "zinst", {"ZINST_OUTPUT": "%e.zinst", "ZINST_MODE": "count"},
                    "the default build, ZINST_MODE=count: no timing",
                    output=zinst_profile("zinst")),
            Variant("zinst (inline tree)", "inline", {"ZINST_OUTPUT": "%e.zinst"},
                    "ZINST_INLINE_TREE=1: exact counts and call tree, no timing",
                    output=zinst_profile("inline")),
            Variant("zinst (hooks)", "hooks", {"ZINST_OUTPUT": "%e.zinst"},
                    "ZINST_INLINE_TREE=0: hook calls, sampled timing",
                    output=zinst_profile("hooks")),
            Variant("zinst (1 in 64)", "zinst", {"ZINST_OUTPUT": "%e.zinst", "ZINST_SAMPLE": "64"},
                    "the default build, ZINST_SAMPLE=64: a quarter of the timed activations",
                    output=zinst_profile("zinst")),
            Variant("zinst (fixed limit)", "zinst",
                    {"ZINST_OUTPUT": "%e.zinst", "ZINST_SAMPLE_ERROR": "0"},
                    "the default build, ZINST_SAMPLE_ERROR=0: a context samples on to 4096",
                    output=zinst_profile("zinst")),
            Variant("zinst (exact)", "zinst", {"ZINST_OUTPUT": "%e.zinst", "ZINST_SAMPLE": "1"},
                    "every activation timed", output=zinst_profile("zinst")),
            Variant("XRay profiling", "xray", {"BENCH_XRAY_MODE": "xray-profiling",
                                               "XRAY_OPTIONS": "verbosity=0"},
                    "threshold 1", output=newest("xray-log.*")),
            Variant("XRay flight recorder", "xray", {"BENCH_XRAY_MODE": "xray-fdr",
                                                     "XRAY_OPTIONS": "verbosity=0"},
                    "threshold 1", output=newest("xray-log.*")),
            Variant("gprof (-pg)", "pg", note="counts exact, time sampled",
                    output=lambda d: os.path.join(d, "gmon.out")),
            Variant("uftrace record", "pg", wrap=["uftrace", "record", "--no-libcall", "-d",
                                                  "uftrace.data"],
                    output=lambda d: os.path.join(d, "uftrace.data")),
            Variant("naive hook", "naive", note="-finstrument-functions, 2 rdtsc, hash table"),
            Variant("callgrind", "base", wrap=["valgrind", "--tool=callgrind", "-q",
                                               "--callgrind-out-file=callgrind.out"],
                    output=lambda d: os.path.join(d, "callgrind.out")),
        ]
        variants = [v for v in variants if v.name not in skip and
                    not (w.zig_root and v.name in ZIG_PEERLESS)]
        for _ in range(args.rounds):
            for v in variants:
                rdir = os.path.join(wdir, "run-" + v.name.replace(" ", "_").replace("(", "")
                                    .replace(")", ""))
                os.makedirs(rdir, exist_ok=True)
                rep = 0
                while rep < (v.runs_per_round or 1):
                    run_variant(v, rdir, [exe(v.binary)] + run_args, w.name)
                    rep += 1
                    if v.runs_per_round is None:
                        # Fixed after the variant's first run, so that every
                        # round runs it as often.
                        v.runs_per_round = 1 if args.smoke else max(1, min(
                            MAX_RUNS_PER_ROUND, math.ceil(MIN_SECONDS_PER_ROUND / v.times[0])))
                if v.binary in ("zinst", "inline", "hooks"):
                    sh([zinst, "report", "--top", "1", v.output(rdir)])  # must parse
                    # Each build is what it claims: the default and the hooks
                    # record time (but in count mode), the inline tree none.
                    profile = json.loads(sh([zinst, "report", "--json", "--top", "1",
                                             v.output(rdir)]).stdout)["profile"]
                    want = {"zinst": "inline timing", "inline": "inline tree",
                            "hooks": "hooks"}[v.binary]
                    want = ("count" if v.binary == "inline" or v.name == "zinst (count)"
                            else "time", want)
                    got = (profile["mode"], profile["instrumentation"])
                    if got != want:
                        sys.exit("bench: the %s build of %s wrote a %s-mode profile of "
                                 "%s" % ((v.name, w.name) + got))
                    if v.name == "zinst (count)":
                        count_profile = v.output(rdir)
                        keep = os.path.join(wdir, "count.zinst")
                        shutil.copy(count_profile, keep)
                    if v.name == "zinst (default)":
                        shutil.copy(v.output(rdir), os.path.join(wdir, "time.zinst"))

        report = json.loads(sh([zinst, "report", "--json", "--top", "0",
                                os.path.join(wdir, "count.zinst")]).stdout)
        calls = sum(f["calls"] for f in report["functions"])
        size = os.path.getsize(os.path.join(wdir, "time.zinst"))
        if largest_profile is None or size > largest_profile[1]:
            largest_profile = (os.path.join(wdir, "time.zinst"), size, w.name)
        base = statistics.median(variants[0].times)
        text.append("\n### %s: %s\n\n%s calls of instrumented functions; uninstrumented %.3f s.\n\n"
                    % (w.name, desc, "{:,}".format(calls), base))
        text.append("| variant | runs | median | ratio | ns added per call | output | note |\n"
                    "|---|---:|---:|---:|---:|---:|---|\n")
        for v in variants:
            med = statistics.median(v.times)
            text.append("| %s | %d | %.3f s | %.2fx | %.1f | %s | %s |\n" % (
                v.name, len(v.times), med, med / base,
                (med - base) / calls * 1e9 if calls else 0.0,
                human_size(v.out_size) if v.out_size is not None else "-", v.note))
            if v.name == "zinst (default)":
                summary.append((w.name, med / base, (med - base) / calls * 1e9))
            if v.name == "zinst (inline tree)":
                inline_summary.append((w.name, med / base, (med - base) / calls * 1e9))
            if v.name == "zinst (1 in 64)":
                sample64_summary.append((w.name, med / base, (med - base) / calls * 1e9))
            if v.name == "zinst (fixed limit)":
                fixed_limit_summary.append((w.name, med / base, (med - base) / calls * 1e9))
            if v.name == "zinst (hooks)":
                hooks_summary.append((w.name, med / base, (med - base) / calls * 1e9))
        build_median = {key: statistics.median(t) for key, t in build_seconds.items()}
        base_build = build_median["base"]
        text.append("\nBuild time with the plugin: %.2fx (%.2f s vs %.2f s, medians of %d "
                    "interleaved build(s) each). The other builds, against the uninstrumented "
                    "one: %s.\n" % (
                        build_median["zinst"] / base_build, build_median["zinst"], base_build,
                        len(build_seconds["base"]),
                        "; ".join("%s %.2fx" % (BUILD_LABELS[key], build_median[key] / base_build)
                                  for key in builds if key not in ("base", "zinst"))))

    if largest_profile and selected:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            sh([zinst, "report", largest_profile[0]])
            times.append(time.perf_counter() - t0)
        text.append("\n`zinst report` on the largest profile (%s, %s): %.3f s (median of 5).\n" % (
            largest_profile[2], human_size(largest_profile[1]), statistics.median(times)))
    if selected:
        text.append("\nzinst default (inline timing): " + "; ".join(
            "%s %.2fx (%.1f ns/call)" % s for s in summary) + "\n")
        if inline_summary:
            text.append("\nzinst inline tree (counts, no time): " + "; ".join(
                "%s %.2fx (%.1f ns/call)" % s for s in inline_summary) + "\n")
        if sample64_summary:
            text.append("\nzinst default build, ZINST_SAMPLE=64: " + "; ".join(
                "%s %.2fx (%.1f ns/call)" % s for s in sample64_summary) + "\n")
        if fixed_limit_summary:
            text.append("\nzinst default build, ZINST_SAMPLE_ERROR=0 (thinning at 4096 samples "
                        "only): " + "; ".join(
                "%s %.2fx (%.1f ns/call)" % s for s in fixed_limit_summary) + "\n")
        if hooks_summary:
            text.append("\nzinst hooks (counts and sampled time): " + "; ".join(
                "%s %.2fx (%.1f ns/call)" % s for s in hooks_summary) + "\n")
    out = "".join(text) if selected else ""
    hooks = hook_cost(zinst, clang, work, args.rounds, args.smoke) if run_hooks else ""
    print(out + hooks)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(out + hooks)
    if args.readme:
        if selected:
            update_readme(args.readme, out)
        if run_hooks:
            update_readme(args.readme, "Machine: %s, %d cores; clang %s.\n" % (
                os.uname().machine, os.cpu_count(), clang.rsplit("-", 1)[-1]) + hooks,
                HOOKS_BEGIN, HOOKS_END)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
