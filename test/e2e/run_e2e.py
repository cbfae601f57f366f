#!/usr/bin/env python3
"""End-to-end tests: compile real programs with the zinst plugin, run them,
read the profile back with `zinst report --json` / `zinst tree --json`, and
assert exact counts.

Each test is one function named case_<name>; CMake registers one ctest test
per case (see CMakeLists.txt beside this file). Run one by hand with:

    run_e2e.py --zinst BUILD/bin/zinst --clang CLANG --src test/e2e/programs \
               --work /tmp/e2e CASE
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys


class Failure(Exception):
    pass


class Skip(Exception):
    """A case that cannot run here; the message says why (exit status 77,
    which CMake reports as skipped)."""


class Env:
    def __init__(self, args, case):
        self.zinst = os.path.abspath(args.zinst)
        self.clang = args.clang
        self.src = os.path.abspath(args.src)
        self.work = os.path.join(os.path.abspath(args.work), case)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, cmd, env=None, expect_status=0, cwd=None):
        full_env = dict(os.environ)
        full_env.pop("ZINST_OUTPUT", None)
        if env:
            full_env.update(env)
        proc = subprocess.run(cmd, cwd=cwd or self.work, env=full_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if expect_status is not None and proc.returncode != expect_status:
            raise Failure("command %s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s" %
                          (" ".join(cmd), proc.returncode, expect_status, proc.stdout, proc.stderr))
        return proc

    def zinst_cc(self, sources, output, flags=("-O2", "-g"), driver="cc", extra=()):
        # No -I for zinst.h: `zinst cc` adds it (dump_api.c relies on that).
        cmd = [self.zinst, driver] + list(flags)
        cmd += [os.path.join(self.src, s) for s in sources] + list(extra) + ["-o", self.path(output)]
        self.run(cmd)
        return self.path(output)

    def profile_run(self, exe, args=(), profile="out.zinst", expect_status=0, env=None):
        out = self.path(profile)
        run_env = {"ZINST_OUTPUT": out}
        if env:
            run_env.update(env)
        proc = self.run([exe] + [str(a) for a in args], env=run_env, expect_status=expect_status)
        if not os.path.exists(out):
            raise Failure("no profile written at %s\nstderr:\n%s" % (out, proc.stderr))
        return out, proc

    def report(self, profile, *extra):
        proc = self.run([self.zinst, "report", "--json", "--top", "0"] + list(extra) + [profile])
        return json.loads(proc.stdout)

    def tree(self, profile, *extra):
        proc = self.run([self.zinst, "tree", "--json"] + list(extra) + [profile])
        return json.loads(proc.stdout)


def calls_by_name(report):
    return {f["name"]: f["calls"] for f in report["functions"]}


def expect_eq(what, got, want):
    if got != want:
        raise Failure("%s: got %r, expected %r" % (what, got, want))


def expect(cond, message):
    if not cond:
        raise Failure(message)


def find_path(roots, names):
    """The tree node reached by following function names from a root."""
    level = roots
    node = None
    for name in names:
        matches = [n for n in level if n["name"] == name]
        if len(matches) != 1:
            raise Failure("path %s: %d nodes named %s at this level (%s)" %
                          ("/".join(names), len(matches), name,
                           ", ".join(n["name"] for n in level)))
        node = matches[0]
        level = node["children"]
    return node


def walk_tree(nodes, visit, parent=None):
    for n in nodes:
        visit(n, parent)
        walk_tree(n["children"], visit, n)


# ----------------------------------------------------------------------------
# cases


def case_recursion_o2(env):
    """walk(d) makes exactly 2^(d+1)-1 calls, each context once per level."""
    exe = env.zinst_cc(["recursion_walk.c"], "walk")
    depth = 12
    profile, _ = env.profile_run(exe, [depth])
    calls = calls_by_name(env.report(profile))
    expect_eq("walk calls", calls.get("walk"), 2 ** (depth + 1) - 1)
    expect_eq("main calls", calls.get("main"), 1)
    # The call tree is a chain main -> walk -> walk ... of depth+1 walk frames;
    # the walk node at level k (0-based) runs 2^k times.
    tree = env.tree(profile)
    node = find_path(tree["roots"], ["main"])
    for level in range(depth + 1):
        node = find_path(node["children"], ["walk"])
        expect_eq("walk calls at level %d" % level, node["calls"], 2 ** level)
    expect_eq("children of the deepest walk", node["children"], [])


def case_recursion_o0(env):
    """At -O0 (every function optnone) the counts are the source's own."""
    exe = env.zinst_cc(["recursion_walk.c"], "walk0", flags=("-O0", "-g"))
    profile, _ = env.profile_run(exe, [10])
    calls = calls_by_name(env.report(profile))
    expect_eq("walk calls", calls.get("walk"), 2 ** 11 - 1)


def case_flat_recursion_time(env):
    """Recursion must not double count inclusive time in the flat profile:
    walk's total is at most main's total and its self time is positive."""
    exe = env.zinst_cc(["recursion_walk.c"], "walk")
    profile, _ = env.profile_run(exe, [16])
    report = env.report(profile)
    by_name = {f["name"]: f for f in report["functions"]}
    walk, main = by_name["walk"], by_name["main"]
    expect(walk["total_ticks"] <= main["total_ticks"],
           "walk total %d exceeds main total %d" % (walk["total_ticks"], main["total_ticks"]))
    expect(walk["self_ticks"] > 0, "walk has no self time")
    expect(walk["self_ticks"] <= walk["total_ticks"], "walk self > total")
    expect(report["profile"]["mode"] == "time", "default mode is time")
    expect(report["profile"]["ticks_per_second"] > 0, "counter frequency missing")


def case_sampled_estimates(env):
    """Default mode samples activations: counts exact, cold contexts exact,
    estimates agree with separate exact runs (ZINST_SAMPLE=1)."""
    exe = env.zinst_cc(["recursion_walk.c"], "walk")
    depth, work, runs = 12, 2000, 5
    # Interleaved runs of each mode. Disturbances (preemption, a busy
    # sibling core) only ever add time, so each mode is represented by its
    # least disturbed run: the minimum. (CMake also runs this case alone.)
    exact_runs, sampled_runs = [], []
    for k in range(runs):
        exact_runs.append(env.profile_run(exe, [depth, work], profile="exact%d.zinst" % k,
                                          env={"ZINST_SAMPLE": "1"})[0])
        sampled_runs.append(env.profile_run(exe, [depth, work], profile="sampled%d.zinst" % k)[0])
    exact_reports = [env.report(p) for p in exact_runs]
    sampled_reports = [env.report(p) for p in sampled_runs]
    for report in exact_reports:
        expect_eq("exact run's sample_interval", report["profile"]["sample_interval"], 1)
        for f in report["functions"]:
            expect_eq("exact run: %s timed calls" % f["name"], f["timed_calls"], f["calls"])
            expect_eq("exact run: %s total error" % f["name"], f["total_ticks_error"], 0)
            expect_eq("exact run: %s self error" % f["name"], f["self_ticks_error"], 0)
    for report in sampled_reports:
        expect_eq("default sample_interval", report["profile"]["sample_interval"], 16)
        expect_eq("exact calls per context", report["profile"]["exact_calls_per_context"], 16)
        by_name = {f["name"]: f for f in report["functions"]}
        walk, main = by_name["walk"], by_name["main"]
        expect_eq("walk calls", walk["calls"], 2 ** (depth + 1) - 1)
        expect(walk["timed_calls"] < walk["calls"], "walk is sampled (%d of %d timed)" %
               (walk["timed_calls"], walk["calls"]))
        # main, called once, is in the exact stratum: measured, no error.
        expect_eq("main calls", main["calls"], 1)
        expect_eq("main timed calls", main["timed_calls"], 1)
        expect_eq("main total error", main["total_ticks_error"], 0)

    # Estimates against the exact runs. They are separate processes, so
    # their true times differ by run-to-run noise (frequency, caches,
    # interrupts) and by the hooks' own cost, which is higher in exact runs
    # (two rdtsc in every call). WORK makes each call ~0.5 us of real work so
    # that the hooks' share (~20 ns a call) stays small; 10% of the exact
    # value is allowed for that noise on top of 4 stated standard errors,
    # and never more than 25% in all.
    def agree(what, estimates, errors, references):
        k = estimates.index(min(estimates))
        estimate, error, reference = estimates[k], errors[k], min(references)
        diff = abs(estimate - reference)
        bound = min(4 * error + 0.10 * reference, 0.25 * reference)
        expect(diff <= bound, "%s: sampled %d +- %d vs exact %d (least of %d runs each): "
               "off by %d, allowed %d" % (what, estimate, error, reference, runs, diff, bound))

    def function(report, name):
        return {f["name"]: f for f in report["functions"]}[name]
    for key, error_key in (("total_ticks", "total_ticks_error"),
                           ("self_ticks", "self_ticks_error")):
        agree("walk " + key, [function(r, "walk")[key] for r in sampled_reports],
              [function(r, "walk")[error_key] for r in sampled_reports],
              [function(r, "walk")[key] for r in exact_reports])
    # The leaves: 4096 calls of ~0.5 us each, too short to be timed always,
    # so ~1/16 of those beyond the first 16 are timed.
    path = ["main"] + ["walk"] * 13
    sampled_nodes = [find_path(env.tree(p)["roots"], path) for p in sampled_runs]
    exact_nodes = [find_path(env.tree(p)["roots"], path) for p in exact_runs]
    for node in sampled_nodes:
        expect_eq("calls at level 12", node["calls"], 4096)
        expect(16 < node["timed_calls"] < 4096, "level 12 timed calls %d" % node["timed_calls"])
        expect(node["total_ticks_error"] > 0, "level 12 states an error")
    # Level 7: 128 calls, each ~31 x 0.5 us long (far above the 8192 ticks
    # that keep a context's exact stratum going): every call is timed, the
    # total is measured, not estimated.
    for p in sampled_runs:
        node = find_path(env.tree(p)["roots"], ["main"] + ["walk"] * 8)
        expect_eq("level 7 calls", node["calls"], 128)
        expect_eq("level 7 timed calls", node["timed_calls"], 128)
        expect_eq("level 7 error", node["total_ticks_error"], 0)
    agree("walk at level 12", [n["total_ticks"] for n in sampled_nodes],
          [n["total_ticks_error"] for n in sampled_nodes],
          [n["total_ticks"] for n in exact_nodes])


def case_uftrace_agrees(env):
    """For fib at -O2 zinst counts exactly the calls the optimized binary
    makes: the same number uftrace records for a -pg build."""
    if shutil.which("uftrace") is None:
        raise Failure("uftrace is not installed (the test command installs it)")
    n = 18
    exe = env.zinst_cc(["fib.c"], "fib")
    profile, _ = env.profile_run(exe, [n])
    zinst_calls = calls_by_name(env.report(profile)).get("fib")
    pg = env.path("fib-pg")
    env.run([env.clang, "-O2", "-g", "-pg", os.path.join(env.src, "fib.c"), "-o", pg])
    data = env.path("uftrace.data")
    env.run(["uftrace", "record", "--no-libcall", "-d", data, pg, str(n)])
    out = env.run(["uftrace", "report", "-d", data, "-f", "call", "--no-pager"]).stdout
    uftrace_calls = None
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "fib":
            uftrace_calls = int(fields[0])
    expect(uftrace_calls is not None, "uftrace report has no fib line:\n" + out)
    expect_eq("fib calls, zinst vs uftrace", zinst_calls, uftrace_calls)
    # And fewer than the naive source count: the optimizer really did change it.
    naive = [0, 1]
    for _ in range(2, n + 2):
        naive.append(naive[-1] + naive[-2])
    source_calls = 2 * naive[n + 1] - 1
    expect(zinst_calls < source_calls,
           "expected the -O2 binary to make fewer than %d calls, zinst says %d" %
           (source_calls, zinst_calls))


def case_threads(env):
    """8 threads x N calls: per-thread and merged counts exact."""
    exe = env.zinst_cc(["threads.c"], "threads")
    n = 100000
    profile, _ = env.profile_run(exe, [n])
    calls = calls_by_name(env.report(profile))
    expect_eq("work calls", calls.get("work"), 8 * n)
    expect_eq("helper calls", calls.get("helper"), 8 * n // 2)
    expect_eq("thread_main calls", calls.get("thread_main"), 8)
    expect_eq("main calls", calls.get("main"), 1)
    per_thread = env.report(profile, "--per-thread")
    workers = [t for t in per_thread["threads"]
               if any(f["name"] == "work" for f in t["functions"])]
    expect_eq("threads that ran work", len(workers), 8)
    for t in workers:
        c = calls_by_name(t)
        expect_eq("work calls in thread %s" % t["tid"], c.get("work"), n)
        expect_eq("helper calls in thread %s" % t["tid"], c.get("helper"), n // 2)


def inline_sites(env, profile, *extra):
    """`zinst inline --json` of a profile: (sites, callees by name)."""
    proc = env.run([env.zinst, "inline", "--json"] + list(extra) + [profile])
    data = json.loads(proc.stdout)
    return data["sites"], {c["callee"]: c for c in data["callees"]}


def site_counts(sites):
    """{(caller, callee, line, inlined): count} of counted sites."""
    return {(s["caller"], s["callee"], s["line"], s["inlined"]): s["count"]
            for s in sites if s["counted"]}


def source_line(env, source, text):
    """1-based line of the first line of programs/SOURCE containing TEXT."""
    with open(os.path.join(env.src, source)) as f:
        for number, line in enumerate(f, 1):
            if text in line:
                return number
    raise Failure("%s has no line containing %r" % (source, text))


def case_inline_counts(env):
    """Exact counts at inlined sites (an unrolled loop included) and at two
    non-inlined calls of one callee from one caller, kept apart."""
    exe = env.zinst_cc(["inline_sites.c"], "inline_sites")
    profile, _ = env.profile_run(exe)
    sites, callees = inline_sites(env, profile)
    counts = site_counts(sites)
    # Sum of n over the work() calls: main 10 + 3, threads 3 x (20 + 30 + 40).
    total_n = 13 + 3 * (20 + 30 + 40)
    mix_line = source_line(env, "inline_sites.c", "out[i % 16] += mix(i, n);")
    unrolled_line = source_line(env, "inline_sites.c", "add1(k * i);")
    add1_in_mix = source_line(env, "inline_sites.c", "return add1(a)")
    first_slow = source_line(env, "inline_sites.c", "out[0] += slow(n);")
    second_slow = source_line(env, "inline_sites.c", "out[1] += slow(n + 1);")
    expect_eq("work -> mix (inlined)", counts.get(("work", "mix", mix_line, True)), total_n)
    expect_eq("mix -> add1 (inlined)", counts.get(("mix", "add1", add1_in_mix, True)), total_n)
    expect_eq("work -> add1 in the unrolled loop (inlined)",
              counts.get(("work", "add1", unrolled_line, True)), 4 * total_n)
    expect_eq("first slow() site", counts.get(("work", "slow", first_slow, False)), 11)
    expect_eq("second slow() site", counts.get(("work", "slow", second_slow, False)), 10)
    expect_eq("add1 executions", callees["add1"]["inlined_executions"], 5 * total_n)
    expect_eq("slow calls at its sites", callees["slow"]["calls"], 21)
    # The report shows every execution: slow by its calls, add1 and mix
    # (inlined everywhere) below the table.
    calls = calls_by_name(env.report(profile))
    expect_eq("slow real calls", calls.get("slow"), 21)
    expect("add1" not in calls and "mix" not in calls, "add1 and mix were inlined everywhere")
    text = env.run([env.zinst, "report", profile]).stdout
    expect("  add1: %d executions at 2 sites" % (5 * total_n) in text and
           "  mix: %d executions at 1 site" % total_n in text, "inlined-only lines:\n" + text)
    # Per thread, no atomics: every worker's counts are its own.
    per_thread = env.report(profile, "--per-thread")
    by_add1 = {}
    for t in per_thread["threads"]:
        _, thread_callees = inline_sites(env, profile, "--thread", str(t["tid"]))
        add1 = thread_callees.get("add1", {}).get("inlined_executions", 0)
        slow = thread_callees.get("slow", {}).get("calls", 0)
        by_add1[add1] = slow
    # main: work(10) + work(3) -> 5 x 13 add1, slow 2 + 1; workers: 3 x work(n).
    expect_eq("per-thread add1 and slow", by_add1, {65: 3, 300: 6, 450: 6, 600: 6})
    # Calls through the slow() sites are priced at the runtime's own
    # measurement of a call on this machine.
    data = json.loads(env.run([env.zinst, "inline", "--json", profile]).stdout)
    expect_eq("call cost source", data["call_ns_source"], "measured")
    expect(0 < data["call_ns"] < 100, "measured call cost %r ns within (0, 100)" % data["call_ns"])
    slow_sites = [s for s in data["sites"] if s["callee"] == "slow"]
    expect_eq("slow sites priced at the measured cost",
              sorted(s["estimated_call_ns"] for s in slow_sites),
              sorted(s["count"] * data["call_ns"] for s in slow_sites))


def case_inline_conservation(env):
    """Per function, calls at -O0 (every call real) == real calls + inlined
    executions at -O2, for a deterministic program."""
    o0 = env.zinst_cc(["inline_sites.c"], "sites_o0", flags=("-O0", "-g"))
    o2 = env.zinst_cc(["inline_sites.c"], "sites_o2", flags=("-O2", "-g"))
    profile_o0, _ = env.profile_run(o0, profile="o0.zinst")
    profile_o2, _ = env.profile_run(o2, profile="o2.zinst")
    calls_o0 = calls_by_name(env.report(profile_o0))
    report_o2 = env.report(profile_o2)
    _, callees_o2 = inline_sites(env, profile_o2)
    expect(set(calls_o0) == {"main", "worker", "work", "mix", "add1", "slow"},
           "functions at -O0: %s" % sorted(calls_o0))
    inlined_somewhere = 0
    for name, want in calls_o0.items():
        real = sum(f["calls"] for f in report_o2["functions"] if f["name"] == name)
        inlined = callees_o2.get(name, {}).get("inlined_executions", 0)
        inlined_somewhere += inlined > 0
        expect_eq("%s: -O2 calls %d + inlined %d" % (name, real, inlined), real + inlined, want)
        # The report's own column agrees with the site counts.
        column = sum(f["inlined"] for f in report_o2["functions"] if f["name"] == name)
        expect(column in (0, inlined), "%s: report inlined %d" % (name, column))
    expect(inlined_somewhere >= 2, "the -O2 build inlined add1 and mix")


def case_function_pointers(env):
    exe = env.zinst_cc(["function_pointers.c"], "fnptr")
    n = 40000
    profile, _ = env.profile_run(exe, [n])
    calls = calls_by_name(env.report(profile))
    expect_eq("op_add calls", calls.get("op_add"), 3 * n // 4)
    expect_eq("op_mul calls", calls.get("op_mul"), n // 4)
    tree = env.tree(profile)
    expect_eq("op_mul under run", find_path(tree["roots"], ["main", "run", "op_mul"])["calls"],
              n // 4)


def case_dlopen(env):
    """An instrumented library loaded with dlopen and closed before exit."""
    lib = env.zinst_cc(["dlopen_plugin.c"], "libplugin.so", flags=("-O2", "-g", "-fPIC", "-shared"))
    exe = env.zinst_cc(["dlopen_main.c"], "dlmain", extra=("-ldl",))
    n = 1000
    profile, _ = env.profile_run(exe, [lib, n])
    report = env.report(profile)
    calls = calls_by_name(report)
    expect_eq("plugin_entry calls", calls.get("plugin_entry"), 5)
    expect_eq("plugin_step calls", calls.get("plugin_step"), 5 * n)
    step = [f for f in report["functions"] if f["name"] == "plugin_step"][0]
    expect(step["file"].endswith("dlopen_plugin.c"), "plugin_step file is %r" % step["file"])
    expect_eq("plugin_step line", step["line"], 3)
    # call_plugin's call is in tail position: its frame ends before
    # plugin_entry starts (a sibling call at -O2), so plugin_entry is main's
    # child, as it is on the real stack.
    expect_eq("call_plugin calls", calls.get("call_plugin"), 5)
    tree = env.tree(profile)
    expect_eq("plugin_step under plugin_entry",
              find_path(tree["roots"], ["main", "plugin_entry", "plugin_step"])["calls"], 5 * n)
    expect_eq("call_plugin's children", find_path(tree["roots"], ["main", "call_plugin"])["children"],
              [])


def case_shared_library(env):
    """An instrumented library linked at build time: both modules register at
    startup and calls across them stay in one calling-context tree."""
    env.zinst_cc(["shared_lib.c"], "libshared.so", flags=("-O2", "-g", "-fPIC", "-shared"))
    exe = env.zinst_cc(["shared_main.c"], "shmain",
                       extra=("-L" + env.work, "-lshared", "-Wl,-rpath," + env.work))
    n = 500
    profile, _ = env.profile_run(exe, [n])
    calls = calls_by_name(env.report(profile))
    expect_eq("drive calls", calls.get("drive"), 3)
    expect_eq("shared_sum calls", calls.get("shared_sum"), 3)
    expect_eq("shared_term calls", calls.get("shared_term"), 3 * n)
    tree = env.tree(profile)
    expect_eq("shared_term under drive/shared_sum",
              find_path(tree["roots"], ["main", "drive", "shared_sum", "shared_term"])["calls"],
              3 * n)


def case_lto(env):
    """Full and thin LTO with the plugin also loaded by the linker (lld):
    instrumented once, counts exact (ThinLTO runs the pass at compile and
    link time; the second run must add nothing)."""
    plugin = env.run([env.zinst, "flags", "--compile"]).stdout.split()[0]
    expect(plugin.startswith("-fpass-plugin="), "flags --compile: %r" % plugin)
    load = "-Wl,--load-pass-plugin=" + plugin[len("-fpass-plugin="):]
    for mode in ("full", "thin"):
        exe = env.zinst_cc(["recursion_walk.c"], "walk-lto-" + mode,
                           flags=("-O2", "-g", "-flto=" + mode, "-fuse-ld=lld", load))
        profile, _ = env.profile_run(exe, [10], profile="lto-%s.zinst" % mode)
        calls = calls_by_name(env.report(profile))
        expect_eq("walk calls with %s LTO" % mode, calls.get("walk"), 2 ** 11 - 1)
        expect_eq("main calls with %s LTO" % mode, calls.get("main"), 1)


def case_deep_exit(env):
    """exit() from 200 frames deep: profile written, each frame counted once."""
    exe = env.zinst_cc(["deep_exit.c"], "deep")
    profile, _ = env.profile_run(exe)
    calls = calls_by_name(env.report(profile))
    expect_eq("descend calls", calls.get("descend"), 200)
    expect_eq("main calls", calls.get("main"), 1)
    tree = env.tree(profile)
    node = find_path(tree["roots"], ["main"])
    depth = 0
    while node["children"]:
        expect_eq("children at depth %d" % depth, len(node["children"]), 1)
        node = node["children"][0]
        expect_eq("calls at depth %d" % depth, node["calls"], 1)
        depth += 1
    expect_eq("open frames in the tree", depth, 200)


def case_exceptions(env):
    """C++ exceptions through instrumented frames keep the view consistent."""
    n = 3000
    exe = env.zinst_cc(["exceptions.cpp"], "exc", driver="c++")
    # Every activation timed (ZINST_SAMPLE=1): the check below compares
    # measured totals, which only exact timing orders; the sampled run after
    # it checks the same relation within the stated errors.
    profile, _ = env.profile_run(exe, [n], env={"ZINST_SAMPLE": "1"})
    report = env.report(profile)
    calls = calls_by_name(report)
    expect_eq("sim::thrower(int) calls", calls.get("sim::thrower(int)"), n)
    expect_eq("sim::middle(int, int*) calls", calls.get("sim::middle(int, int*)"), n)
    expect_eq("sim::outer(int, int*) calls", calls.get("sim::outer(int, int*)"), n)
    tree = env.tree(profile)
    path = ["main", "sim::outer(int, int*)", "sim::middle(int, int*)", "sim::thrower(int)"]
    expect_eq("thrower under middle", find_path(tree["roots"], path)["calls"], n)

    def check(node, parent):
        if parent is not None:
            expect(node["total_ticks"] <= parent["total_ticks"],
                   "%s total %d exceeds its caller %s total %d" %
                   (node["name"], node["total_ticks"], parent["name"], parent["total_ticks"]))
    walk_tree(tree["roots"], check)

    # Sampled (the default): counts still exact; a callee's estimate exceeds
    # its caller's by at most 4 standard errors of the difference.
    sampled, _ = env.profile_run(exe, [n], profile="sampled.zinst")
    calls = calls_by_name(env.report(sampled))
    expect_eq("sampled: sim::thrower(int) calls", calls.get("sim::thrower(int)"), n)
    expect_eq("sampled: sim::middle(int, int*) calls", calls.get("sim::middle(int, int*)"), n)

    def check_sampled(node, parent):
        expect(node["timed_calls"] <= node["calls"], "%s timed calls" % node["name"])
        if parent is not None:
            bound = 4 * (node["total_ticks_error"] ** 2 + parent["total_ticks_error"] ** 2) ** 0.5
            expect(node["total_ticks"] <= parent["total_ticks"] + bound,
                   "sampled: %s total %d exceeds its caller %s total %d by more than %d" %
                   (node["name"], node["total_ticks"], parent["name"], parent["total_ticks"],
                    bound))
    walk_tree(env.tree(sampled)["roots"], check_sampled)


def case_dump_api(env):
    """zinst_dump() and zinst_reset() from the program."""
    exe = env.zinst_cc(["dump_api.c"], "dumpapi")
    first, second = env.path("first.zinst"), env.path("second.zinst")
    profile, _ = env.profile_run(exe, [first, second])
    expect_eq("tick calls before reset", calls_by_name(env.report(first)).get("tick"), 100)
    expect_eq("tick calls after reset", calls_by_name(env.report(second)).get("tick"), 40)
    expect_eq("tick calls at exit", calls_by_name(env.report(profile)).get("tick"), 42)


def case_zones(env):
    """Zones marked with include/zinst.h: exact counts in the tree, nested,
    per thread, closed when abandoned; at most 7 deep inside a function."""
    exe = env.zinst_cc(["zones.c"], "zones")
    profile, proc = env.profile_run(exe)
    expect_eq("nesting warnings", proc.stderr.count("nested 8 deep"), 1)
    tree = env.tree(profile)
    main_roots = [r for r in tree["roots"] if r["name"] == "main"]
    expect_eq("main roots", len(main_roots), 1)
    roots = main_roots
    calls = lambda path: find_path(roots, path)["calls"]
    expect_eq("setup", calls(["main", "phases", "setup"]), 3)
    expect_eq("setup's leaf", calls(["main", "phases", "setup", "leaf"]), 3)
    expect_eq("loop", calls(["main", "phases", "loop"]), 3)
    expect_eq("body", calls(["main", "phases", "loop", "body"]), 300)
    expect_eq("body's leaf", calls(["main", "phases", "loop", "body", "leaf"]), 300)
    expect_eq("phases' own leaf", calls(["main", "phases", "leaf"]), 3)
    expect_eq("left_open", calls(["main", "forgetful", "left_open", "leaf"]), 4)
    expect_eq("jumped", calls(["main", "jumper", "jumped", "leaf"]), 1)
    # After forgetful returned and after the longjmp: main's own leaf calls.
    expect_eq("main's leaf", calls(["main", "leaf"]), 2)
    deepest = ["main", "deep"] + ["d%d" % i for i in range(1, 8)]
    expect_eq("d7", calls(deepest), 2)
    expect_eq("under d7", [c["name"] for c in find_path(roots, deepest)["children"]], ["leaf"])
    expect_eq("leaf under d7", calls(deepest + ["leaf"]), 2)
    # The two workers' trees, merged by `zinst tree`.
    expect_eq("worker calls", find_path(tree["roots"], ["worker"])["calls"], 2)
    expect_eq("worker bodies", find_path(tree["roots"], ["worker", "phases", "loop", "body"])["calls"],
              200)
    report = env.report(profile)
    zones = sorted(f["name"] for f in report["functions"] if f["zone"])
    expect_eq("zones in the report", zones,
              sorted(["setup", "loop", "body", "left_open", "jumped"] +
                     ["d%d" % i for i in range(1, 8)]))
    body = [f for f in report["functions"] if f["name"] == "body"][0]
    expect_eq("body's line", body["line"], source_line(env, "zones.c", 'ZINST_ZONE_SCOPED("body")'))
    expect_eq("body calls", body["calls"], 500)
    # The API calls are not call sites a user could inline.
    sites, _ = inline_sites(env, profile, "--all")
    expect_eq("zinst_* sites", [s for s in sites if s["callee"].startswith("zinst_")], [])


def case_hook_cost(env):
    """The hooks' cost, calibrated by the runtime and stored in the profile,
    is subtracted by the reader exactly as zinst_call_tree_build says: the
    leaf loses its calls' inner parts, the caller its own and its leaf
    calls' whole hooks (timed and untimed), less what its leaf lost; --raw
    gives the file's numbers. Checked on the counts, not on timings."""
    exe = env.zinst_cc(["hook_cost.c"], "hookcost")
    calls = 100000
    for mode, extra in (("sampled", {}), ("exact", {"ZINST_SAMPLE": "1"})):
        profile, _ = env.profile_run(exe, [calls], profile=mode + ".zinst", env=extra)
        corrected, raw = env.report(profile), env.report(profile, "--raw")
        expect_eq("%s: times" % mode, (corrected["times"], raw["times"]), ("corrected", "raw"))
        cost = corrected["profile"]["hook_cost"]
        expect(cost is not None, "%s: the runtime calibrated no hook cost" % mode)
        untimed, timed, inner = (cost["untimed_pair_ps"], cost["timed_pair_ps"],
                                 cost["timed_inner_ps"])
        # What the calibration rejects otherwise: a timed pair holds its
        # inner part and two clock reads more than an untimed one.
        expect(0 < untimed < timed and inner < timed,
               "%s: calibration untimed %d, timed %d, inner %d ps" % (mode, untimed, timed, inner))
        tps = corrected["profile"]["ticks_per_second"]
        c = {f["name"]: f for f in corrected["functions"]}
        r = {f["name"]: f for f in raw["functions"]}
        # The calibration ran the hooks on a private module and block: the
        # program's profile holds its own functions and thread only.
        expect_eq("%s: functions" % mode, sorted(c), ["caller", "leaf", "main"])
        expect_eq("%s: threads" % mode, corrected["profile"]["threads"], 1)
        expect_eq("%s: leaf calls" % mode, c["leaf"]["calls"], calls)
        expect_eq("%s: caller calls" % mode, c["caller"]["calls"], 1)
        leaf_timed = c["leaf"]["timed_calls"]
        if mode == "exact":
            expect_eq("exact: leaf timed calls", leaf_timed, calls)
        else:
            expect(16 <= leaf_timed < calls, "sampled: leaf timed %d of %d" % (leaf_timed, calls))

        def ticks(ps):  # the model's conversion: picoseconds to ticks, rounded down
            return ps * tps // 10 ** 12
        leaf_hook = ticks(calls * inner)
        caller_hook = ticks(inner + leaf_timed * timed + (calls - leaf_timed) * untimed)
        expect(r["leaf"]["total_ticks"] > leaf_hook and r["caller"]["total_ticks"] > caller_hook,
               "%s: measured times below the hooks' cost (%d, %d)" % (
                   mode, r["leaf"]["total_ticks"], r["caller"]["total_ticks"]))
        expect_eq("%s: leaf total" % mode, c["leaf"]["total_ticks"],
                  r["leaf"]["total_ticks"] - leaf_hook)
        expect_eq("%s: leaf self" % mode, c["leaf"]["self_ticks"],
                  r["leaf"]["self_ticks"] - leaf_hook)
        expect_eq("%s: caller total" % mode, c["caller"]["total_ticks"],
                  r["caller"]["total_ticks"] - caller_hook)
        # The caller's self time drops by its hooks less its leaf's.
        expect(r["caller"]["self_ticks"] > caller_hook, "%s: caller's self time too small" % mode)
        expect_eq("%s: caller self drop" % mode,
                  r["caller"]["self_ticks"] - c["caller"]["self_ticks"], caller_hook - leaf_hook)
        # Counts and errors are the measurement's.
        for name in ("leaf", "caller", "main"):
            for key in ("calls", "timed_calls", "total_ticks_error", "self_ticks_error"):
                expect_eq("%s: %s %s" % (mode, name, key), c[name][key], r[name][key])
    # Count mode: no times, nothing calibrated, nothing subtracted.
    profile, _ = env.profile_run(exe, [1000], profile="count.zinst", env={"ZINST_MODE": "count"})
    report = env.report(profile)
    expect_eq("count: times", report["times"], None)
    expect_eq("count: hook_cost", report["profile"]["hook_cost"], None)


def case_count_mode(env):
    """ZINST_MODE=count: exact counts, no cycle totals."""
    exe = env.zinst_cc(["recursion_walk.c"], "walk")
    profile, _ = env.profile_run(exe, [8], env={"ZINST_MODE": "count"})
    report = env.report(profile)
    expect_eq("mode", report["profile"]["mode"], "count")
    expect_eq("walk calls", calls_by_name(report).get("walk"), 2 ** 9 - 1)
    for f in report["functions"]:
        expect_eq("%s total ticks in count mode" % f["name"], f["total_ticks"], 0)


def case_output_pattern(env):
    """ZINST_OUTPUT with %p and %e; default name without it."""
    exe = env.zinst_cc(["recursion_walk.c"], "walkpat")
    proc = env.run([exe, "3"], env={"ZINST_OUTPUT": env.path("p-%e-%p.zinst")})
    names = [f for f in os.listdir(env.work) if f.startswith("p-walkpat-")]
    expect_eq("files from the pattern", len(names), 1)
    expect(re.fullmatch(r"p-walkpat-\d+\.zinst", names[0]) is not None, "name %r" % names[0])
    rundir = env.path("default")
    os.makedirs(rundir)
    env.run([exe, "3"], cwd=rundir)
    expect_eq("default file name", sorted(os.listdir(rundir)), ["walkpat.zinst"])
    del proc


def case_makefile_recipe(env):
    """The README's Makefile recipe (zinst flags) builds a profiled program."""
    shutil.copy(os.path.join(env.src, "threads.c"), env.path("threads.c"))
    with open(env.path("Makefile"), "w") as f:
        f.write("CC = $(shell $(ZINST) flags --cc)\n"
                "CFLAGS += -O2 -g $(shell $(ZINST) flags --compile)\n"
                "LDLIBS += $(shell $(ZINST) flags --link)\n"
                "threads: threads.c\n")
    env.run(["make", "-s", "ZINST=" + env.zinst, "threads"])
    profile, _ = env.profile_run(env.path("threads"), [1000])
    expect_eq("work calls", calls_by_name(env.report(profile)).get("work"), 8 * 1000)


def case_cmake_recipe(env):
    """The README's CMake recipe (flags in CMAKE_*_FLAGS) passes CMake's own
    compiler check and builds a profiled program."""
    shutil.copy(os.path.join(env.src, "threads.c"), env.path("threads.c"))
    with open(env.path("CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.20)\nproject(recipe C)\n"
                "add_executable(threads threads.c)\n")

    def flags(kind):
        return env.run([env.zinst, "flags", kind]).stdout.strip()
    env.run(["cmake", "-S", env.work, "-B", env.path("build"), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
             "-DCMAKE_C_COMPILER=" + flags("--cc"), "-DCMAKE_C_FLAGS=" + flags("--compile"),
             "-DCMAKE_EXE_LINKER_FLAGS=" + flags("--link")])
    env.run(["cmake", "--build", env.path("build")])
    profile, _ = env.profile_run(env.path("build/threads"), [1000])
    expect_eq("work calls", calls_by_name(env.report(profile)).get("work"), 8 * 1000)


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


def main_for(cases, doc):
    """The command line shared by the end-to-end scripts: run `cases`."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zinst", required=True)
    parser.add_argument("--clang", required=True)
    parser.add_argument("--src", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    if args.list:
        print("\n".join(cases))
        return 0
    failed = skipped = 0
    selected = args.cases or list(cases)
    for case in selected:
        if case not in cases:
            print("unknown case %s (known: %s)" % (case, ", ".join(cases)))
            return 2
        try:
            cases[case](Env(args, case))
            print("PASS %s" % case)
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (case, e))
        except Failure as e:
            failed += 1
            print("FAIL %s: %s" % (case, e))
    if failed:
        return 1
    return 77 if skipped == len(selected) else 0


def main():
    return main_for(CASES, __doc__)


if __name__ == "__main__":
    sys.exit(main())
