#!/usr/bin/env python3
"""Reliability end-to-end tests: what real programs do to a profiler (fork,
exec, daemons, signals during hot loops, longjmp storms, thread churn, code
outside main, a write that cannot succeed) and what zinst must do about it:
exact counts where they are defined, a valid file or a clear message, the
program's own exit status untouched.

Same harness and command line as run_e2e.py (one ctest test per case).
"""
import glob
import json
import os
import pwd
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_e2e import (Env, Failure, Skip, calls_by_name, expect, expect_eq,  # noqa: E402
                     find_path, walk_tree, main_for, source_line)


def case_fork_without_exec(env):
    """The child's file starts at the fork; parent + child add up exactly."""
    exe = env.zinst_cc(["fork_child.c"], "forker")
    pattern = env.path("fork.%p.zinst")
    proc = env.run([exe], env={"ZINST_OUTPUT": pattern})
    child_pid = proc.stdout.split()[0]
    files = sorted(glob.glob(env.path("fork.*.zinst")))
    expect_eq("profiles written", len(files), 2)
    child_file = env.path("fork.%s.zinst" % child_pid)
    parent_file = [f for f in files if f != child_file][0]
    parent = calls_by_name(env.report(parent_file))
    child = calls_by_name(env.report(child_file))
    # Parent: 7 in its early thread, 10 before and 3 after the fork.
    expect_eq("work calls in the parent", parent.get("work"), 20)
    expect_eq("work calls in the child", child.get("work"), 5)
    expect_eq("early_thread calls in the child", child.get("early_thread", 0), 0)
    expect_eq("main calls in the parent", parent.get("main"), 1)
    # main was entered before the fork: open in the child, not called there.
    expect_eq("main calls in the child", child.get("main", 0), 0)
    tree = env.tree(child_file)
    expect_eq("child's work under main", find_path(tree["roots"], ["main", "work"])["calls"], 5)


def case_exec_vfork_daemon(env):
    """fork+exec, vfork+exec and a daemon: one valid file per process."""
    exe = env.zinst_cc(["spawn_kinds.c"], "spawner")
    env.run([exe], env={"ZINST_OUTPUT": env.path("spawn.%p.zinst")})
    # The daemon may outlive its parent by a moment.
    for _ in range(50):
        files = sorted(glob.glob(env.path("spawn.*.zinst")))
        if len(files) >= 4:
            break
        subprocess.run(["sleep", "0.1"])
    expect_eq("profiles (parent, fork+exec, vfork+exec, daemon)", len(files), 4)
    leaf_counts = sorted(calls_by_name(env.report(f)).get("leaf_work", 0) for f in files)
    expect_eq("leaf_work calls per file", leaf_counts, [1, 1, 1, 1])


def case_thread_churn(env):
    """1000 short threads, a third ending in pthread_exit: nothing lost, no
    hang over 100 runs, no leak under LeakSanitizer."""
    exe = env.zinst_cc(["thread_churn.c"], "churn")
    profile, _ = env.profile_run(exe)
    calls = calls_by_name(env.report(profile))
    expect_eq("work calls", calls.get("work"), 1000 * 100)
    expect_eq("thread_main calls", calls.get("thread_main"), 1000)
    expect_eq("finish_early calls", calls.get("finish_early"), 334)
    for k in range(100):
        out = env.path("churn-%d.zinst" % k)
        proc = subprocess.run([exe], env=dict(os.environ, ZINST_OUTPUT=out), timeout=60,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        expect_eq("run %d exit status (%s)" % (k, proc.stderr.strip()), proc.returncode, 0)
        expect(os.path.exists(out), "run %d wrote no profile" % k)
        os.remove(out)
    lsan = env.zinst_cc(["thread_churn.c"], "churn-lsan", flags=("-O2", "-g", "-fsanitize=leak"))
    proc = subprocess.run([lsan], env=dict(os.environ, ZINST_OUTPUT=env.path("lsan.zinst")),
                          timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    expect_eq("LeakSanitizer run (%s)" % proc.stderr.strip()[-400:], proc.returncode, 0)
    expect_eq("work calls under LSan",
              calls_by_name(env.report(env.path("lsan.zinst"))).get("work"), 100000)


def case_sixteen_threads(env):
    """16 threads started together, 10^6 calls each of two functions and a
    quarter million of a third: every count exact, per thread and summed,
    and in the merged call tree."""
    exe = env.zinst_cc(["many_threads.c"], "many_threads")
    n, quarter = 1000000, 250000
    profile, proc = env.profile_run(exe, [n])
    # The program checked its own records: the calls really happened.
    expect_eq("the program's own counts", proc.stdout.split()[:3],
              [str(n), str(n), str(quarter)])
    calls = calls_by_name(env.report(profile))
    expect_eq("step_a calls", calls.get("step_a"), 16 * n)
    expect_eq("step_b calls", calls.get("step_b"), 16 * n)
    expect_eq("step_c calls", calls.get("step_c"), 16 * quarter)
    expect_eq("thread_main calls", calls.get("thread_main"), 16)
    expect_eq("main calls", calls.get("main"), 1)
    per_thread = env.report(profile, "--per-thread")
    workers = [calls_by_name(t) for t in per_thread["threads"]
               if any(f["name"] == "thread_main" for f in t["functions"])]
    expect_eq("threads that ran thread_main", len(workers), 16)
    for k, c in enumerate(workers):
        expect_eq("worker %d's counts" % k,
                  (c.get("thread_main"), c.get("step_a"), c.get("step_b"), c.get("step_c")),
                  (1, n, n, quarter))
    tree = env.tree(profile)
    expect_eq("step_a under thread_main",
              find_path(tree["roots"], ["thread_main", "step_a"])["calls"], 16 * n)
    expect_eq("step_c under thread_main/step_b",
              find_path(tree["roots"], ["thread_main", "step_b", "step_c"])["calls"],
              16 * quarter)


def module_flags(env, profile):
    """{module name's base name: [flags of each module record]}, from `zinst dump`."""
    modules = {}
    for line in env.run([env.zinst, "dump", profile]).stdout.splitlines():
        m = re.match(r'\s+\[\d+\] name=@\d+"(.*)" first_function=\d+ function_count=\d+ '
                     r'flags=0x([0-9a-f]+)$', line)
        if m:
            modules.setdefault(os.path.basename(m.group(1)), []).append(int(m.group(2), 16))
    return modules


def case_dlclose_in_use(env):
    """A library dlclose'd while threads' trees and shadow stacks refer to
    it (one thread blocked inside it for good, frames of it abandoned by a
    longjmp on main's stack), dumped, then opened again: both profiles
    valid, its functions named, every count exact, one module for it."""
    lib = env.zinst_cc(["dlclose_lib.c"], "libdlclose.so", flags=("-O2", "-g", "-fPIC", "-shared"))
    exe = env.zinst_cc(["dlclose_main.c"], "dlclose_main", extra=("-ldl",))
    first = env.path("first.zinst")
    final, proc = env.profile_run(exe, [lib, first])
    expect_eq("stdout", proc.stdout, "unloaded\nreopened\n")

    # After dlclose: the library's functions named from the runtime's copies.
    report = env.report(first)
    functions = {f["name"]: f for f in report["functions"]}
    for name in ("lib_leaf", "lib_sum", "lib_call_back", "lib_run_callback", "lib_wait",
                 "lib_block"):
        expect(name in functions, "first profile: %s is not named" % name)
        line = source_line(env, "dlclose_lib.c", " long %s(" % name)
        expect(functions[name]["file"].endswith("dlclose_lib.c") and
               functions[name]["line"] == line,
               "first profile: %s at %s:%d" % (name, functions[name]["file"],
                                               functions[name]["line"]))
    calls = calls_by_name(report)
    expect_eq("first profile: lib_leaf calls", calls.get("lib_leaf"), 100 + 100 + 1 + 1)
    expect_eq("first profile: lib_sum calls", calls.get("lib_sum"), 2)
    expect_eq("first profile: after_close calls", calls.get("after_close", 0), 0)
    # 0x6: built the default way (inline code, timed by it); 0x1: unloaded.
    expect_eq("first profile: modules", module_flags(env, first),
              {"dlclose_main.c": [0x6], "dlclose_lib.c": [0x6 | 0x1]})
    tree = env.tree(first)
    # Open frames, counted once: main's abandoned ones (not yet closed: no
    # hook ran since the longjmp) and the blocked thread's.
    expect_eq("abandoned frames under main",
              find_path(tree["roots"], ["main", "lib_run_callback", "lib_call_back",
                                        "jump_back"])["calls"], 1)
    expect_eq("the blocked thread's frames",
              find_path(tree["roots"], ["inside_main", "lib_block", "lib_wait"])["calls"], 1)
    expect_eq("the exited thread's calls",
              find_path(tree["roots"], ["finisher_main", "lib_sum", "lib_leaf"])["calls"], 100)
    expect_eq("the parked thread's calls",
              find_path(tree["roots"], ["parked_main", "lib_sum", "lib_leaf"])["calls"], 100)

    # At exit, after the library was opened again: one module, loaded, whose
    # counts continue those of its first load.
    report = env.report(final)
    expect_eq("functions named lib_leaf",
              len([f for f in report["functions"] if f["name"] == "lib_leaf"]), 1)
    calls = calls_by_name(report)
    expect_eq("lib_leaf calls", calls.get("lib_leaf"), 100 + 100 + 1 + 1 + 50)
    expect_eq("lib_sum calls", calls.get("lib_sum"), 3)
    expect_eq("modules", module_flags(env, final),
              {"dlclose_main.c": [0x6], "dlclose_lib.c": [0x6]})
    tree = env.tree(final)
    # after_close's entry closed the abandoned frames: it is main's child.
    expect_eq("after_close under main", find_path(tree["roots"], ["main", "after_close"])["calls"],
              1)
    expect_eq("the second load's calls",
              find_path(tree["roots"], ["main", "lib_sum", "lib_leaf"])["calls"], 50)
    expect_eq("the blocked thread's frames at exit",
              find_path(tree["roots"], ["inside_main", "lib_block", "lib_wait"])["calls"], 1)
    sites = json.loads(env.run([env.zinst, "inline", "--json", "--all", final]).stdout)["sites"]
    expect_eq("lib_sum -> lib_leaf site counts over both loads",
              [s["count"] for s in sites
               if s["caller"] == "lib_sum" and s["callee"] == "lib_leaf"], [250])


def case_code_outside_main(env):
    """Constructors, atexit handlers, destructors and a thread's first call."""
    exe = env.zinst_cc(["lifecycle.c"], "lifecycle")
    profile, _ = env.profile_run(exe)
    calls = calls_by_name(env.report(profile))
    for name in ("early", "at_exit_handler", "first_call_thread", "main"):
        expect_eq("%s calls" % name, calls.get(name), 1)
    # The destructor runs after the exit dump (destructors run last): its
    # call is not in the file. The other four are.
    expect_eq("helper calls", calls.get("helper"), 4)


def case_write_failures(env):
    """A profile that cannot be written: one clear line on stderr, the exit
    status unchanged, no file or temporary left behind."""
    exe = env.zinst_cc(["exit_status.c"], "seven")
    blocker = env.path("not-a-directory")
    with open(blocker, "w") as f:
        f.write("x")
    long_name = env.path("d" * 300 + "/" + "n" * 4100 + ".zinst")
    for what, target in (("a directory that is a file", os.path.join(blocker, "p.zinst")),
                         ("a missing directory", env.path("missing/p.zinst")),
                         ("an over-long name", long_name)):
        proc = env.run([exe], env={"ZINST_OUTPUT": target}, expect_status=7)
        expect("zinst:" in proc.stderr, "%s: no message on stderr: %r" % (what, proc.stderr))
        expect(len(proc.stderr.strip().splitlines()) == 1,
               "%s: one line expected: %r" % (what, proc.stderr))
    expect_eq("files left beside the blocker", sorted(os.listdir(env.work)),
              sorted(["not-a-directory", "seven"]))
    # A full disk: a tmpfs too small for the file (only where mounting works).
    full = env.path("full")
    os.makedirs(full)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", full],
                      stderr=subprocess.DEVNULL).returncode == 0:
        try:
            with open(os.path.join(full, "filler"), "wb") as f:
                try:
                    f.write(b"\0" * 4096)
                except OSError:
                    pass
            proc = env.run([exe], env={"ZINST_OUTPUT": os.path.join(full, "p.zinst")},
                           expect_status=7)
            expect("zinst:" in proc.stderr, "full disk: no message: %r" % proc.stderr)
            expect_eq("files on the full disk", sorted(os.listdir(full)), ["filler"])
        finally:
            subprocess.run(["umount", full])
    else:
        print("note: cannot mount a tmpfs here; the full-disk part was not run")


def case_planted_symlink(env):
    """A symlink planted at the profile's name is replaced, not followed."""
    exe = env.zinst_cc(["exit_status.c"], "seven")
    os.umask(0o022)  # inherited by the program: its files are 0666 & ~umask
    victim = env.path("victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    target = env.path("out.zinst")
    os.symlink(victim, target)
    env.run([exe], env={"ZINST_OUTPUT": target}, expect_status=7)
    with open(victim) as f:
        expect_eq("victim's contents", f.read(), "precious\n")
    expect(not os.path.islink(target), "the profile is still a symlink")
    expect_eq("seven calls", calls_by_name(env.report(target)).get("seven"), 1)
    mode = os.stat(target).st_mode & 0o777
    expect_eq("file mode under umask 022", oct(mode), oct(0o644))


def case_output_not_a_file(env):
    """A directory, a FIFO, or a symlink to one at the profile's name
    (plain or %m): refused with one line naming the path and what is there,
    the exit status unchanged, the thing left as it was and nothing made
    beside it (no temporary, lock or kept file). A symlink to the null
    device (the real /dev/null is never touched: only stat'ed) takes the
    profile silently."""
    exe = env.zinst_cc(["exit_status.c"], "seven")
    directory, fifo = env.path("dir.zinst"), env.path("fifo.zinst")
    os.mkdir(directory)
    os.mkfifo(fifo)
    to_fifo, null = env.path("to-fifo.zinst"), env.path("null.zinst")
    os.symlink(fifo, to_fifo)
    os.symlink("/dev/null", null)
    before = sorted(os.listdir(env.work))
    for target, what in ((directory, "it is a directory"), (fifo, "it is a FIFO"),
                         (to_fifo, "it is a symlink to a FIFO")):
        for suffix in ("", "%m"):
            pattern = target[:-len(".zinst")] + suffix + ".zinst"
            proc = env.run([exe], env={"ZINST_OUTPUT": pattern}, expect_status=7)
            lines = proc.stderr.strip().splitlines()
            expect(len(lines) == 1 and target in lines[0] and what in lines[0],
                   "%s: one line naming it and %r expected: %r" % (pattern, what, proc.stderr))
            expect_eq("files after %s" % pattern, sorted(os.listdir(env.work)), before)
    expect(os.path.isdir(directory) and stat.S_ISFIFO(os.lstat(fifo).st_mode) and
           os.path.islink(to_fifo), "what was there changed")
    for suffix in ("", "%m"):
        proc = env.run([exe], env={"ZINST_OUTPUT": env.path("null" + suffix + ".zinst"),
                                   "ZINST_VERBOSE": "0"}, expect_status=7)
        expect_eq("stderr with the null device", proc.stderr, "")
        expect(os.readlink(null) == "/dev/null", "the symlink to the null device changed")
        expect_eq("files after null%s" % suffix, sorted(os.listdir(env.work)), before)


def check_signal_storm(env, name, n, build_env=None):
    """signal_storm.c: a handler calling instrumented code every 50 us of
    CPU time during a hot loop of n steps; every step is counted exactly. A
    signal that lands inside the runtime has its handler's events dropped by
    the recursion guard (and counted); every other one is recorded. The
    profiling timer advances with the kernel's tick (10 ms at HZ=100), so
    the loop must run for tens of milliseconds to see a storm at all."""
    exe = env.zinst_cc(["signal_storm.c"], name, env=build_env)
    profile, proc = env.profile_run(exe, [n])
    handler_runs, errno_lost, _ = (int(x) for x in proc.stdout.split())
    expect_eq("errno changed by the runtime", errno_lost, 0)
    calls = calls_by_name(env.report(profile))
    expect_eq("step calls", calls.get("step"), n)
    expect_eq("main calls", calls.get("main"), 1)
    expect(handler_runs > 0, "the timer never fired")
    expect(0 < calls.get("on_tick", 0) <= handler_runs,
           "on_tick %s of %d handler runs" % (calls.get("on_tick"), handler_runs))


def case_signal_storm(env):
    """The storm against the hooks."""
    check_signal_storm(env, "storm", 5000000)


def case_signal_storm_inline_tree(env):
    """The same storm in an inline-tree build (ZINST_INLINE_TREE=1), whose
    enters check no guard: the handler's calls that find their context's
    child count there without the runtime. Its steps cost a fifth of the
    hooks': 5 M took about 10 ms of CPU, one tick at HZ=100, and got 2 or 3
    timer signals, which failed one run of the parallel suite (its output
    was not kept; a tick-accounted 10 ms can get none). So it runs ten
    times as many steps: about 20 signals."""
    check_signal_storm(env, "storm-inline", 50000000, {"ZINST_INLINE_TREE": "1"})


def case_longjmp_storm(env):
    """longjmp out of 10 instrumented frames, 100000 times."""
    exe = env.zinst_cc(["longjmp_storm.c"], "ljstorm")
    n = 100000
    profile, _ = env.profile_run(exe, [n], env={"ZINST_SAMPLE": "1"})
    calls = calls_by_name(env.report(profile))
    expect_eq("descend calls", calls.get("descend"), 10 * n)
    expect_eq("after_jump calls", calls.get("after_jump"), n)
    tree = env.tree(profile)
    expect_eq("after_jump right under main",
              find_path(tree["roots"], ["main", "after_jump"])["calls"], n)
    node = find_path(tree["roots"], ["main", "descend"])
    for level in range(2, 11):
        node = find_path(node["children"], ["descend"])
        expect_eq("descend calls at level %d" % level, node["calls"], n)

    def check(node, parent):
        if parent is not None:
            expect(node["total_ticks"] <= parent["total_ticks"],
                   "%s total %d exceeds its caller %s total %d" %
                   (node["name"], node["total_ticks"], parent["name"], parent["total_ticks"]))
    walk_tree(tree["roots"], check)


def start_until_ready(env, exe, args, run_env):
    """Start `exe` and wait for its "ready" line; returns the Popen and the
    lines it printed up to there."""
    full_env = dict(os.environ)
    full_env.pop("ZINST_OUTPUT", None)
    full_env.update(run_env)
    proc = subprocess.Popen([exe] + list(args), cwd=env.work, env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise Failure("%s ended before it was ready: %s" % (exe, proc.communicate()))
        lines.append(line.strip())
        if line.strip() == "ready":
            return proc, lines


def finish(proc, what, timeout=30):
    """Wait for `proc` (a deadlock shows as a timeout); returns (status, out, err)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise Failure("%s: still running %d s after the signal (deadlock?)\nstderr:\n%s" %
                      (what, timeout, err))
    return proc.returncode, out, err


def temp_files(env):
    return [f for f in os.listdir(env.work) if ".tmp." in f]


def check_killed_by(env, sig):
    """A hot loop ended by `sig` without a handler of its own: the profile is
    written on the signal, the process still dies of it."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    out = env.path("killed.zinst")
    proc, _ = start_until_ready(env, exe, ["spin"], {"ZINST_OUTPUT": out})
    time.sleep(0.2)
    proc.send_signal(sig)
    status, _, err = finish(proc, "signal_exit spin")
    expect_eq("exit status (died of the signal; stderr %r)" % err, status, -sig)
    expect(os.path.exists(out), "no profile written on the signal (stderr %r)" % err)
    expect_eq("temporary files left", temp_files(env), [])
    report = env.report(out)
    expect_eq("dump_reason", report["profile"]["dump_reason"], "signal")
    calls = calls_by_name(report)
    # Finished before the signal: exact. main is open and counted once.
    expect_eq("warm calls", calls.get("warm"), 1000)
    expect_eq("main calls", calls.get("main"), 1)
    expect(calls.get("spin", 0) > 1000, "spin calls %r: the hot loop is missing" %
           calls.get("spin"))
    tree = env.tree(out)
    expect_eq("warm under main", find_path(tree["roots"], ["main", "warm"])["calls"], 1000)
    expect_eq("spin under main", find_path(tree["roots"], ["main", "spin"])["calls"],
              calls.get("spin"))


def case_sigterm_hot_loop(env):
    """SIGTERM during a hot loop: a profile, and death by SIGTERM."""
    check_killed_by(env, signal.SIGTERM)


def case_sigint_hot_loop(env):
    """SIGINT during a hot loop: a profile, and death by SIGINT."""
    check_killed_by(env, signal.SIGINT)


def case_signal_program_handler(env):
    """The program's own SIGINT handler runs and the program ends as it
    decides (one profile, at exit); its ignored SIGTERM stays ignored; it
    sees its own actions, not the runtime's."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    out = env.path("handled.zinst")
    proc, lines = start_until_ready(env, exe, ["handler"], {"ZINST_OUTPUT": out})
    expect_eq("previous SIGINT action the program saw", lines[0], "old SIGINT action: default")
    expect_eq("SIGINT action the program reads back", lines[1],
              "SIGINT action now: the program's")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    expect(proc.poll() is None, "an ignored SIGTERM ended the program (status %r)" %
           proc.poll())
    proc.send_signal(signal.SIGINT)
    status, stdout, err = finish(proc, "signal_exit handler")
    expect_eq("exit status the program chose (stderr %r)" % err, status, 3)
    expect("marker: handler ran" in stdout, "the handler's marker is missing: %r" % stdout)
    expect("handler runs: 1" in stdout, "handler runs: %r" % stdout)
    expect_eq("files written", sorted(os.listdir(env.work)), ["handled.zinst", "signal_exit"])
    report = env.report(out)
    expect_eq("dump_reason", report["profile"]["dump_reason"], "exit")
    calls = calls_by_name(report)
    expect_eq("warm calls", calls.get("warm"), 1000)
    expect_eq("after_interrupt calls", calls.get("after_interrupt"), 1)
    expect_eq("main calls", calls.get("main"), 1)


def case_signal_handler_before_start(env):
    """A handler installed by a constructor that runs before the runtime's
    is the program's: it runs, and the program ends as it decides."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    out = env.path("early.zinst")
    proc, _ = start_until_ready(env, exe, ["early"],
                                {"ZINST_OUTPUT": out, "SIGNAL_EXIT_EARLY": "1"})
    proc.send_signal(signal.SIGTERM)
    status, stdout, err = finish(proc, "signal_exit early")
    expect_eq("exit status the program chose (stderr %r)" % err, status, 4)
    expect("marker: handler ran" in stdout and "handler runs: 1" in stdout,
           "the handler did not run once: %r" % stdout)
    report = env.report(out)
    expect_eq("dump_reason", report["profile"]["dump_reason"], "exit")
    expect_eq("after_interrupt calls", calls_by_name(report).get("after_interrupt"), 1)


def case_two_signals(env):
    """SIGTERM and SIGINT back to back, so that the second lands while the
    first one's profile is written: one whole profile, death by one of
    them, no temporary file."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    for run in range(10):
        out = env.path("two-%d.zinst" % run)
        proc, _ = start_until_ready(env, exe, ["spin"], {"ZINST_OUTPUT": out})
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGINT)
        status, _, err = finish(proc, "run %d" % run)
        expect(status in (-signal.SIGTERM, -signal.SIGINT),
               "run %d: exit status %r (stderr %r)" % (run, status, err))
        report = env.report(out)
        expect_eq("run %d dump_reason" % run, report["profile"]["dump_reason"], "signal")
        expect_eq("run %d warm calls" % run, calls_by_name(report).get("warm"), 1000)
    expect_eq("temporary files left", temp_files(env), [])


def case_signal_dump_off(env):
    """ZINST_SIGNALS=0: no handler, no profile, death by the signal."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    out = env.path("off.zinst")
    proc, _ = start_until_ready(env, exe, ["spin"], {"ZINST_OUTPUT": out, "ZINST_SIGNALS": "0"})
    proc.send_signal(signal.SIGTERM)
    status, _, err = finish(proc, "signal_exit spin")
    expect_eq("exit status (stderr %r)" % err, status, -signal.SIGTERM)
    expect(not os.path.exists(out), "a profile was written with ZINST_SIGNALS=0")


def case_signal_stress(env):
    """SIGTERM at random moments into a loop that mostly runs inside malloc
    and starts threads (whose exit takes the runtime lock): never a
    deadlock, always a valid profile written on the signal."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    rng = random.Random(6)
    for run in range(25):
        out = env.path("stress-%d.zinst" % run)
        proc, _ = start_until_ready(env, exe, ["churn"], {"ZINST_OUTPUT": out})
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGTERM)
        status, _, err = finish(proc, "run %d" % run)
        expect_eq("run %d exit status (stderr %r)" % (run, err), status, -signal.SIGTERM)
        expect(os.path.exists(out), "run %d: no profile (stderr %r)" % (run, err))
        report = env.report(out)
        expect_eq("run %d dump_reason" % run, report["profile"]["dump_reason"], "signal")
        calls = calls_by_name(report)
        expect_eq("run %d warm calls" % run, calls.get("warm"), 1000)
        expect(calls.get("churn", 0) >= 1, "run %d: churn calls %r" % (run, calls.get("churn")))
        os.remove(out)
    expect_eq("temporary files left", temp_files(env), [])


def thread_records(env, profile):
    """(name, flags, thread_count) of every THREADS record, from `zinst dump`."""
    proc = env.run([env.zinst, "dump", profile])
    records = []
    for line in proc.stdout.splitlines():
        m = re.match(r'\s+\[\d+\] tid=\d+ name=@\d+"(.*)" flags=0x([0-9a-f]+) .*'
                     r'thread_count=(\d+)$', line)
        if m:
            records.append((m.group(1), int(m.group(2), 16), int(m.group(3))))
    return records


MERGE_COUNTS = {"main": 1, "work": 100, "thread_main": 2, "leaf": 20}


def check_merged_counts(env, profile, processes):
    calls = calls_by_name(env.report(profile))
    for name, per_process in MERGE_COUNTS.items():
        expect_eq("%s calls of %d processes" % (name, processes), calls.get(name),
                  processes * per_process)


def case_merge_fifty_processes(env):
    """50 processes ending together add their profiles to one %m file: the
    counts are exactly 50 times one process's, the main threads' record
    counts the processes, the file is whole, nothing is left behind."""
    exe = env.zinst_cc(["merge_counts.c"], "merge_counts")
    pattern = env.path("all%m.zinst")
    run_env = dict(os.environ, ZINST_OUTPUT=pattern)
    procs = [subprocess.Popen([exe], cwd=env.work, env=run_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(50)]
    for k, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        expect_eq("process %d exit status (stderr %r)" % (k, err), proc.returncode, 0)
        expect_eq("process %d stderr" % k, err, "")
    profile = env.path("all.zinst")
    check_merged_counts(env, profile, 50)
    expect_eq("processes", env.report(profile)["profile"]["processes"], 50)
    records = thread_records(env, profile)
    main_records = [r for r in records if r[1] & 0x4]
    expect_eq("main-thread records", len(main_records), 1)
    expect_eq("processes counted by the main record", main_records[0][2], 50)
    expect_eq("worker records", [(r[0], r[2]) for r in records if not r[1] & 0x4],
              [("merge-worker", 100)])
    expect_eq("files", sorted(os.listdir(env.work)),
              ["all.zinst", "all.zinst.lock", "merge_counts"])


def case_merge_keeps_foreign_files(env):
    """What a %m output finds at its name and cannot add to (garbage, another
    program, a rebuilt program, the other mode) is kept under a new name,
    said on stderr, and a new profile started."""
    exe = env.zinst_cc(["merge_counts.c"], "merge_counts")
    pattern = env.path("all%m.zinst")
    profile = env.path("all.zinst")

    def run_and_find_kept(why):
        before = set(os.listdir(env.work))
        proc = env.run([exe], env={"ZINST_OUTPUT": pattern})
        kept = sorted(set(os.listdir(env.work)) - before - {"all.zinst.lock"})
        expect_eq("%s: files kept aside" % why, len(kept), 1)
        expect(kept[0].startswith("all.zinst.kept."), "%s: kept as %s" % (why, kept[0]))
        expect("kept it as %s" % env.path(kept[0]) in proc.stderr,
               "%s: message %r" % (why, proc.stderr))
        check_merged_counts(env, profile, 1)
        return env.path(kept[0]), proc.stderr

    with open(profile, "w") as f:
        f.write("precious notes, not a profile\n")
    kept, err = run_and_find_kept("garbage")
    expect("is not a valid profile" in err, "garbage: message %r" % err)
    with open(kept) as f:
        expect_eq("the garbage kept as it was", f.read(), "precious notes, not a profile\n")
    os.remove(kept)

    other = env.zinst_cc(["exit_status.c"], "seven")
    env.run([other], env={"ZINST_OUTPUT": pattern}, expect_status=7)
    kept, err = run_and_find_kept("another program")
    expect("different programs" in err, "another program: message %r" % err)
    expect_eq("the other program's profile kept", calls_by_name(env.report(kept)).get("seven"), 1)
    os.remove(kept)

    # The same path, rebuilt from another source: not the same build.
    env.zinst_cc(["exit_status.c"], "merge_counts")
    env.run([exe], env={"ZINST_OUTPUT": pattern}, expect_status=7)
    env.zinst_cc(["merge_counts.c"], "merge_counts")
    kept, err = run_and_find_kept("a rebuilt program")
    expect("not the same build" in err, "rebuilt: message %r" % err)
    os.remove(kept)

    env.run([exe], env={"ZINST_OUTPUT": pattern, "ZINST_MODE": "count"})
    kept, err = run_and_find_kept("count mode")
    expect("count-mode" in err, "count mode: message %r" % err)
    os.remove(kept)

    # A symlink planted at the name: neither read through nor written
    # through; the link itself is moved aside.
    victim = env.path("victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.remove(profile)
    os.symlink(victim, profile)
    kept, err = run_and_find_kept("a symlink")
    expect(os.path.islink(kept), "the symlink was not kept as a symlink")
    expect(not os.path.islink(profile), "the profile is still a symlink")
    with open(victim) as f:
        expect_eq("victim's contents", f.read(), "precious\n")
    os.remove(kept)
    os.remove(victim)
    # And a file that can be added to is added to: now two processes.
    env.run([exe], env={"ZINST_OUTPUT": pattern})
    check_merged_counts(env, profile, 2)


def case_merge_on_signals(env):
    """Processes killed by SIGTERM add to a %m file once each, from the
    signal handler."""
    exe = env.zinst_cc(["signal_exit.c"], "signal_exit")
    pattern = env.path("killed%m.zinst")
    for run in range(3):
        proc, _ = start_until_ready(env, exe, ["spin"], {"ZINST_OUTPUT": pattern})
        proc.send_signal(signal.SIGTERM)
        status, _, err = finish(proc, "run %d" % run)
        expect_eq("run %d exit status (stderr %r)" % (run, err), status, -signal.SIGTERM)
        expect_eq("run %d stderr" % run, err, "")
    report = env.report(env.path("killed.zinst"))
    expect_eq("dump_reason", report["profile"]["dump_reason"], "signal")
    calls = calls_by_name(report)
    expect_eq("warm calls of 3 processes", calls.get("warm"), 3000)
    expect_eq("main calls of 3 processes", calls.get("main"), 3)
    expect_eq("thread records", [r[2] for r in thread_records(env, env.path("killed.zinst"))],
              [3])


def case_setuid_ignores_output(env):
    """A setuid program does not write where the invoking user's
    ZINST_OUTPUT points: it says so and writes %e.zinst in the current
    directory, as the user it runs as."""
    if os.geteuid() != 0:
        raise Skip("needs root: making a program setuid to another user takes chown")
    # no_leak_check.c: LeakSanitizer cannot run in a setuid process. Compiled
    # without zinst: AddressSanitizer calls it before anything is set up.
    no_leak_check = env.path("no_leak_check.o")
    env.run([env.clang, "-O2", "-c", os.path.join(env.src, "no_leak_check.c"), "-o",
             no_leak_check])
    exe = env.zinst_cc(["exit_status.c"], "seven", extra=(no_leak_check,))
    nobody = pwd.getpwnam("nobody")
    # A directory the setuid program (running as nobody) may reach and
    # write, holding a copy of it: a new one under the system's temporary
    # directory, whose parents anyone may search.
    shared = tempfile.mkdtemp(prefix="zinst-setuid-")
    try:
        if os.statvfs(shared).f_flag & os.ST_NOSUID:
            raise Skip("%s is on a nosuid file system: the setuid bit would be ignored" % shared)
        os.chmod(shared, 0o777)
        setuid_exe = os.path.join(shared, "seven")
        shutil.copy(exe, setuid_exe)
        os.chown(setuid_exe, nobody.pw_uid, nobody.pw_gid)
        os.chmod(setuid_exe, 0o4755)
        check_setuid_run(env, setuid_exe, shared, nobody)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def check_setuid_run(env, setuid_exe, shared, nobody):
    target = env.path("aimed.zinst")
    proc = env.run([setuid_exe], env={"ZINST_OUTPUT": target}, cwd=shared, expect_status=7)
    expect(not os.path.exists(target), "the setuid program wrote where ZINST_OUTPUT pointed")
    expect_eq("stderr", proc.stderr,
              "zinst: ignoring ZINST_OUTPUT: this program runs setuid or setgid; its profile "
              "goes to %e.zinst in the current directory\n")
    written = os.path.join(shared, "seven.zinst")
    expect(os.path.exists(written), "no profile in the current directory")
    expect_eq("owner of the profile", os.stat(written).st_uid, nobody.pw_uid)
    expect_eq("seven calls", calls_by_name(env.report(written)).get("seven"), 1)
    # The same binary without the setuid bit honours ZINST_OUTPUT.
    os.chmod(setuid_exe, 0o755)
    proc = env.run([setuid_exe], env={"ZINST_OUTPUT": target}, cwd=shared, expect_status=7)
    expect_eq("stderr without setuid", proc.stderr, "")
    expect(os.path.exists(target), "ZINST_OUTPUT ignored without the setuid bit")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(main_for(CASES, __doc__))
