#!/usr/bin/env python3
"""Zig end-to-end tests: Zig programs built with zinst, run, and read back.

Each case is one ctest test (test/zig/CMakeLists.txt), run once per Zig
version that pairs with the build's LLVM:

  cli_release   `zinst zig build-exe -O ReleaseFast`: exact call counts
                (recursion, std.Thread workers, an error returned through
                three frames, defer and errdefer), Zig names, file:line from
                debug info, std functions marked as library code
  cli_debug     the same program in Debug mode (opt at O0, Zig's stack probes)
  api           the Zig API (zinst.zig) through `zinst zig build-exe`:
                zones with exact counts (nested, in a loop, in threads),
                zinst.dump to a chosen path, zinst.reset
  build_zig     test/zig/consumer, a project that depends on the
                zig-integration package, built with counts.zig, api.zig,
                inline_sites.zig and edited.zig: `zig build
                -Doptimize=ReleaseFast` gives the same exact counts (the
                root modules are `main` and `api`) and the same inlining
                sites as inline_report; no plugin warning about optimized
                bitcode; a second build is a cache hit; editing a file that
                only an @import names compiles that program again, and only
                it; a compile error fails the build with Zig's message;
                -Dzinst=false is the plain build, with no zinst in it and
                the API doing nothing
  inline_report programs/inline_sites.zig, in ReleaseFast and Debug through
                `zinst zig build-exe`, and in ReleaseSafe through the package
                (`zig build run-inline_sites`): the calls Zig inlines itself
                (inline fn, @call(.always_inline)) are sites of `zinst
                inline --json` decided by "always", at their file:line, each
                counted exactly (in a loop, nested, under a condition,
                unrolled by `inline for`, a body starting with a loop, in
                std.Thread workers); `zinst report --json` counts the
                callees' inlined executions exactly
  example_leak  zig-integration/examples/rl_cartpole.zig, ReleaseFast, with
                ZINST_MEMORY=1 and its planted leak (RL_LEAK_REPLAY=1):
                `zinst mem --json` names the context under Worker.run that
                allocated the replay chunks, with the exact blocks and bytes;
                without the switch, no allocation of the program's own and
                the same output
  tracking_alloc programs/tracking.zig, ReleaseFast, ZINST_MEMORY=1:
                zinst.TrackingAllocator over a DebugAllocator, an arena and
                page_allocator; `zinst mem --json` gives each context its
                exact allocations, bytes, frees and peak (a resize, a remap
                and a realloc count as free + allocation, a block freed in
                another thread is credited to its allocator), the one leak,
                no context in the wrapper's own functions; ZINST_LEAK_EXIT
                stops the run; without ZINST_MEMORY no memory record
  count_only    counts.zig, ReleaseFast, with ZINST_COUNT_ONLY naming Zig
                functions by their dotted names (a glob among them): those
                are count-only in `zinst report --json` with their exact
                calls and no time, no node of `zinst tree`; the others keep
                their hooks and their exact counts
  mismatch      a Zig whose LLVM is newer than the build's: a clear error
                naming both versions, before opt runs, and no executable
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")

# The counts programs/counts.zig makes, whatever the mode.
EXPECTED_CALLS = {
    "counts.walk": 1973,  # 2 * fib(16) - 1
    "counts.guarded": 7,
    "counts.top": 7,
    "counts.middle": 7,
    "counts.leaf": 7,
    "counts.cleanup": 7,  # defer: every way out
    "counts.errorCleanup": 3,  # errdefer: the three failures only
    "counts.work": 300,  # 3 threads x 100
}
EXPECTED_OUTPUT = "walk=832040 failures=3 total=28 cleanups=7 error_cleanups=3 work=835749099350850"
LIBRARY_FLAG = 0x2  # ZINST_FUNCTION_LIBRARY


class Failure(Exception):
    pass


def run(cmd, env=None, cwd=None, expect=0):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if expect is not None and proc.returncode != expect:
        raise Failure(
            f"{' '.join(cmd)}\nexit status {proc.returncode} (expected {expect})\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def check(condition, message):
    if not condition:
        raise Failure(message)


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def zig_env(args):
    env = dict(os.environ)
    env["ZINST_ZIG"] = args.zig
    # Zig's caches inside the test's work tree: no state shared with the user.
    env["ZIG_GLOBAL_CACHE_DIR"] = os.path.join(args.work, "zig-global-cache")
    env["ZIG_LOCAL_CACHE_DIR"] = os.path.join(args.work, "zig-local-cache")
    return env


def function_flags(args, profile):
    """Function name -> flags, from `zinst dump` (report --json has no flags)."""
    flags = {}
    for line in run([args.zinst, "dump", profile]).stdout.splitlines():
        line = line.strip()
        if not line.startswith("[") or " name=@" not in line or " flags=" not in line:
            continue
        name = line.split(' name=@', 1)[1].split('"', 2)[1]
        flags[name] = int(line.rsplit(" flags=", 1)[1].split()[0], 16)
    return flags


def check_counts_profile(args, work, profile, module="counts", optimized=True):
    expected = {module + name[len("counts"):]: calls for name, calls in EXPECTED_CALLS.items()}
    report = json.loads(run([args.zinst, "report", "--json", "--top", "0", profile]).stdout)
    functions = {f["name"]: f for f in report["functions"]}
    for name, calls in expected.items():
        check(name in functions, f"{name} missing from the profile: {sorted(functions)}")
        got = functions[name]["calls"]
        check(got == calls, f"{name}: {got} calls, expected {calls}")
        check(
            functions[name]["file"].endswith(module + ".zig"),
            f"{name}: file {functions[name]['file']}, expected {module}.zig from debug info",
        )
    walk = functions[module + ".walk"]
    check(walk["line"] == 9, f"{module}.walk line {walk['line']}")
    check(report["profile"]["threads"] == 4, f"threads {report['profile']['threads']}, expected 4")
    # std and start code come from Zig's lib directory: library functions;
    # the program's own functions are not.
    flags = function_flags(args, profile)
    for name in expected:
        check(not flags[name] & LIBRARY_FLAG, f"{name} marked as library code")
    library = [name for name, f in flags.items() if f & LIBRARY_FLAG]
    check(library, "no function marked as library code")
    lib_dir = os.path.dirname(os.path.realpath(args.zig))
    for name in library:
        path = functions.get(name, {}).get("file")
        if path is not None:
            check(os.path.realpath(path).startswith(lib_dir + os.sep), f"{name} ({path}) outside Zig")
    # Inlining sites too: a call written in std is library code, by its file,
    # and `zinst inline` leaves those out unless --show-library. Debug mode
    # (opt at O0) runs no LLVM inliner: its only sites are Zig's own
    # inlining (inline fn), counted all the same.
    sites = json.loads(run([args.zinst, "inline", "--json", profile]).stdout)["sites"]
    if not optimized:
        llvm_sites = [s for s in sites if s["decided_by"] != "always"]
        check(llvm_sites == [], f"LLVM inlining sites in a Debug build: {llvm_sites}")
        return
    check(any(s["library"] for s in sites), "no inlining site marked as library code")
    for s in sites:
        in_zig = s["file"] != "" and os.path.realpath(s["file"]).startswith(lib_dir + os.sep)
        check(s["library"] == in_zig, f"library flag of the site at {s['file']}:{s['line']}")
    shown = run([args.zinst, "inline", "--all", profile]).stdout
    check("in library code left out (--show-library)" in shown and lib_dir not in shown,
          f"std sites in the default inline report:\n{shown}")
    shown = run([args.zinst, "inline", "--all", "--show-library", profile]).stdout
    check(lib_dir in shown, "--show-library shows no std site")
    # Library functions inlined everywhere: one closing line, unless asked for.
    def inlined_everywhere(*options):
        text = run([args.zinst, "report", *options, profile]).stdout
        # No heading at all when every such function is library code.
        lines = (text.split("Inlined everywhere", 1) + [""])[1].splitlines()[1:]
        return [l.split(":")[0].strip() for l in lines if l.startswith("  ")], text
    names, text = inlined_everywhere()
    every_name, _ = inlined_everywhere("--show-library")
    library_names = [n for n in every_name if not n.startswith(module + ".")]
    check(names == [n for n in every_name if n.startswith(module + ".")],
          f"inlined everywhere: {names}, with --show-library: {every_name}")
    closing = (f"({len(library_names)} library function{'s' if len(library_names) != 1 else ''} "
               "inlined everywhere not listed; --show-library lists them)")
    check((closing in text) == bool(library_names), f"expected {closing!r} iff any:\n{text}")


def check_api_profiles(args, first, final, module="api"):
    """programs/api.zig's two profiles: at its zinst.dump and at exit."""
    def tree_calls(profile):
        tree = json.loads(run([args.zinst, "tree", "--json", profile]).stdout)
        calls = {}

        def walk(nodes, path):
            for node in nodes:
                key = path + (node["name"],)
                calls[key] = calls.get(key, 0) + node["calls"]
                walk(node["children"], key)
        walk(tree["roots"], ())
        return calls

    # Paths are matched by their end: whether main (api.main) was inlined
    # into the start code's main depends on the mode.
    def ending(calls, *suffix):
        return sum(c for path, c in calls.items() if path[-len(suffix):] == suffix)

    phases, leaf, worker = module + ".phases", module + ".leaf", module + ".worker"
    calls = tree_calls(first)
    expected = {
        (phases,): 1,
        (phases, "setup"): 1,
        (phases, "setup", leaf): 1,
        (phases, "loop"): 1,
        (phases, "loop", "body"): 10,
        (phases, "loop", "body", leaf): 10,
        (phases, leaf): 0,
    }
    for path, count in expected.items():
        got = ending(calls, *path)
        check(got == count, f"first dump: .../{'/'.join(path)}: {got} calls, expected {count}\n"
                            f"{sorted(calls.items())}")
    report = json.loads(run([args.zinst, "report", "--json", "--top", "0", first]).stdout)
    zones = sorted(f["name"] for f in report["functions"] if f["zone"])
    check(zones == ["body", "loop", "setup"], f"zones in the report: {zones}")
    body = [f for f in report["functions"] if f["name"] == "body"][0]
    check(body["file"].endswith(module + ".zig") and body["line"] == 24,
          f"body's place: {body['file']}:{body['line']}")
    # After zinst.reset: phases(20) in main, phases(50) in each of two threads.
    calls = tree_calls(final)
    for path, count in {(phases, "loop", "body"): 120,
                        (phases, "setup"): 3,
                        (worker, phases, "loop", "body"): 100,
                        (worker, phases, "loop", "body", leaf): 100}.items():
        got = ending(calls, *path)
        check(got == count, f"at exit: .../{'/'.join(path)}: {got} calls, expected {count}\n"
                            f"{sorted(calls.items())}")
    # The API is inline Zig: no function of its own, no inlining site.
    names = {f["name"] for f in json.loads(
        run([args.zinst, "report", "--json", "--top", "0", "--show-library", final]).stdout)["functions"]}
    check(not any(n.startswith("zinst.") for n in names), f"API functions in the profile: {names}")
    sites = json.loads(run([args.zinst, "inline", "--json", final]).stdout)["sites"]
    check(not any("zinst" in s["callee"] for s in sites), "the API's calls are inlining sites")


def case_api(args):
    work = fresh_dir(os.path.join(args.work, "api"))
    env = zig_env(args)
    exe = os.path.join(work, "api")
    run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "api.zig"), "-O", "ReleaseFast",
         f"-femit-bin={exe}"], env=env, cwd=work)
    first, final = os.path.join(work, "api-first.zinst"), os.path.join(work, "final.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=final), cwd=work)
    check(proc.stderr.strip() == "zinst enabled: true", f"program printed {proc.stderr!r}")
    check_api_profiles(args, first, final)


def case_cli(args, mode):
    work = fresh_dir(os.path.join(args.work, f"cli_{mode}"))
    env = zig_env(args)
    exe = os.path.join(work, "counts")
    run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "counts.zig"), "-O", mode,
         f"-femit-bin={exe}"], env=env, cwd=work)
    profile = os.path.join(work, "counts.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"program printed {proc.stderr!r}")
    check_counts_profile(args, work, profile, optimized=mode != "Debug")


# test/zig/consumer's sources: its file name -> the file of programs/.
CONSUMER_SOURCES = {
    "main.zig": "counts.zig",
    "api.zig": "api.zig",
    "inline_sites.zig": "inline_sites.zig",
    "edited.zig": "edited.zig",
    "edited_value.zig": "edited_value.zig",
}
# What the plugin says when given bitcode that LLVM has optimized already.
OPTIMIZED_BITCODE_WARNING = "was optimized by LLVM before zinst saw it"


def consumer_project(args, work):
    """test/zig/consumer copied into `work` with its sources from programs/,
    its dependency on the package pointing back into the source tree.
    Returns the project's directory and build(prefix, *options, extra_env,
    expect), which runs `zig build` there and returns the process."""
    env = zig_env(args)
    project = os.path.join(work, "consumer")
    shutil.copytree(os.path.join(HERE, "consumer"), project)
    os.makedirs(os.path.join(project, "src"))
    for name, source in CONSUMER_SOURCES.items():
        shutil.copy(os.path.join(PROGRAMS, source), os.path.join(project, "src", name))
    package = os.path.relpath(os.path.join(HERE, "..", "..", "zig-integration"), project)
    zon = os.path.join(project, "build.zig.zon")
    with open(zon) as f:
        text = f.read()
    check('"../../../zig-integration"' in text, "consumer/build.zig.zon names the package")
    with open(zon, "w") as f:
        f.write(text.replace('"../../../zig-integration"', '"%s"' % package))

    def build(prefix, *options, extra_env=None, expect=0):
        proc = run([args.zig, "build", "--cache-dir", os.path.join(work, "cache"),
                    "--prefix", os.path.join(work, prefix), f"-Dzinst-exe={args.zinst}",
                    *options], env=dict(env, **(extra_env or {})), cwd=project, expect=expect)
        check(OPTIMIZED_BITCODE_WARNING not in proc.stderr,
              f"the package gave the plugin optimized bitcode:\n{proc.stderr}")
        return proc
    return project, build


def case_build_zig(args):
    work = fresh_dir(os.path.join(args.work, "build_zig"))
    env = zig_env(args)
    project, build = consumer_project(args, work)

    build("instrumented", "-Doptimize=ReleaseFast")
    exe = os.path.join(work, "instrumented", "bin", "consumer")
    profile = os.path.join(work, "consumer.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"program printed {proc.stderr!r}")
    check_counts_profile(args, work, profile, module="main")
    api = os.path.join(work, "instrumented", "bin", "api")
    first, final = os.path.join(work, "api-first.zinst"), os.path.join(work, "api-final.zinst")
    proc = run([api], env=dict(env, ZINST_OUTPUT=final), cwd=work)
    check(proc.stderr.strip() == "zinst enabled: true", f"api printed {proc.stderr!r}")
    check_api_profiles(args, first, final)

    # Zig's own inlining (inline fn, @call(.always_inline)) and LLVM's
    # decisions, taken by zinst, at their exact counts.
    sites_exe = os.path.join(work, "instrumented", "bin", "inline_sites")
    sites_profile = os.path.join(work, "inline_sites.zinst")
    proc = run([sites_exe], env=dict(env, ZINST_OUTPUT=sites_profile), cwd=work)
    check(proc.stderr.startswith("total="), f"inline_sites printed {proc.stderr!r}")
    check_inline_profile(args, sites_profile, os.path.join(project, "src", "inline_sites.zig"),
                         "ReleaseFast")
    edited = os.path.join(work, "instrumented", "bin", "edited")
    edited_profile = os.path.join(work, "edited.zinst")
    proc = run([edited], env=dict(env, ZINST_OUTPUT=edited_profile), cwd=work)
    check(proc.stderr.strip() == "value=1", f"edited printed {proc.stderr!r}")

    # Nothing changed: the second build runs no step (no zinst compile or lowering).
    def step_lines(proc, output):
        return [line for line in proc.stderr.splitlines() if f"({output})" in line]

    before = os.stat(exe).st_mtime_ns
    second = build("instrumented", "-Doptimize=ReleaseFast", "--summary", "all")
    for program in ("consumer", "edited"):
        for output in (f"{program}.bc", f"{program}.zinst.o"):
            lines = step_lines(second, output)
            check(len(lines) == 1 and lines[0].rstrip().endswith("cached"),
                  f"the second build ran the step of {output} again:\n{second.stderr}")
    check(os.stat(exe).st_mtime_ns == before, "the second build rewrote the executable")

    # A file that only an @import names changed: its program compiles again,
    # and only its program.
    with open(os.path.join(project, "src", "edited_value.zig"), "w") as f:
        f.write("pub const value = 2;\n")
    third = build("instrumented", "-Doptimize=ReleaseFast", "--summary", "all")
    for output, cached in (("edited.bc", False), ("consumer.bc", True), ("consumer.zinst.o", True)):
        lines = step_lines(third, output)
        check(len(lines) == 1 and lines[0].rstrip().endswith("cached") == cached,
              f"after editing edited_value.zig, the step of {output} "
              f"{'ran' if cached else 'was cached'}:\n{third.stderr}")
    proc = run([edited], env=dict(env, ZINST_OUTPUT=edited_profile), cwd=work)
    check(proc.stderr.strip() == "value=2", f"edited printed {proc.stderr!r} after the edit")
    # A compile error stops the build with Zig's own message (zinst zig
    # bitcode gets it in binary form and has Zig print it).
    with open(os.path.join(project, "src", "edited_value.zig"), "w") as f:
        f.write("pub const value: u8 = 500;\n")
    proc = build("instrumented", "-Doptimize=ReleaseFast", expect=None)
    check(proc.returncode != 0 and "edited_value.zig:1:23: error: type 'u8' cannot represent "
          "integer value '500'" in proc.stderr, f"the compile error:\n{proc.stderr}")
    with open(os.path.join(project, "src", "edited_value.zig"), "w") as f:
        f.write("pub const value = 2;\n")

    # -Dzinst=false: the plain build, no runtime inside, no profile written.
    build("plain", "-Doptimize=ReleaseFast", "-Dzinst=false")
    plain = os.path.join(work, "plain", "bin", "consumer")
    plain_profile = os.path.join(work, "plain.zinst")
    proc = run([plain], env=dict(env, ZINST_OUTPUT=plain_profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"plain program printed {proc.stderr!r}")
    check(not os.path.exists(plain_profile), "the plain build wrote a profile")
    with open(plain, "rb") as f:
        check(b"__zinst_enter" not in f.read(), "the plain build contains the zinst runtime")
    # The API compiles to nothing: no file at its dump, none at exit.
    plain_api = os.path.join(work, "plain", "bin", "api")
    plain_dir = fresh_dir(os.path.join(work, "plain-run"))
    proc = run([plain_api], env=dict(env, ZINST_OUTPUT=plain_profile), cwd=plain_dir)
    check(proc.stderr.strip() == "zinst enabled: false", f"plain api printed {proc.stderr!r}")
    check(os.listdir(plain_dir) == [] and not os.path.exists(plain_profile),
          "the plain api wrote a profile")


# programs/inline_sites.zig, summed over main's run(10) and two workers'
# run(20): tag of the `site:` comment -> (caller, callee, executions, copies).
# n = 50 loop iterations in all; the condition holds 4 + 7 + 7 times; spin's
# loop runs i % 4 times: 13 + 30 + 30.
INLINE_SITES = {
    "loop": ("run", "mix", 50, 1),
    "twice": ("run", "mixTwice", 50, 1),
    "conditional": ("run", "mix", 18, 1),
    "always-inline": ("run", "square", 50, 1),
    "spin": ("run", "spin", 50, 1),
    "spin-inner": ("spin", "mix", 73, 1),
    "unrolled": ("run", "mix", 150, 3),  # inline for (0..3): three bodies
    "worker": ("worker", "mix", 2, 1),
}
# Inlined everywhere: no function of their own, executions in all.
INLINE_CALLEES = {"mix": 50 + 2 * 50 + 18 + 73 + 150 + 2, "mixTwice": 50, "spin": 50}
ZIG_INLINE_REASON = "inlined by Zig: inline fn or @call(.always_inline)"


def site_lines(source):
    """Tag -> line number, from the `// site: TAG` comments."""
    lines = {}
    with open(source) as f:
        for number, text in enumerate(f, 1):
            if "// site: " in text:
                lines[text.split("// site: ", 1)[1].strip()] = number
    return lines


def check_inline_profile(args, profile, source, mode):
    module = "inline_sites."
    lines = site_lines(source)
    check(set(INLINE_SITES) | {"twice-inner", "ordinary"} <= set(lines),
          f"site tags in {source}: {sorted(lines)}")
    sites = json.loads(run([args.zinst, "inline", "--json", "--all", profile]).stdout)["sites"]
    ours = [s for s in sites if s["file"].endswith("inline_sites.zig")
            and s["callee"].startswith(module)]

    def rows_at(tag, callee):
        return [s for s in ours if s["line"] == lines[tag] and s["callee"] == module + callee]

    for tag, (caller, callee, count, copies) in INLINE_SITES.items():
        rows = rows_at(tag, callee)
        check(len(rows) == 1, f"{mode}: {tag}: {len(rows)} rows for {callee} at line "
                              f"{lines[tag]}:\n{json.dumps(ours, indent=1)}")
        row = rows[0]
        what = f"{mode}: {tag} ({caller} -> {callee}, line {lines[tag]})"
        check(row["caller"] == module + caller, f"{what}: caller {row['caller']}")
        check(row["inlined"] and row["decided_by"] == "always" and row["counted"],
              f"{what}: {row}")
        check(row["count"] == count, f"{what}: {row['count']} executions, expected {count}")
        check(row["copies"] == copies, f"{what}: {row['copies']} copies, expected {copies}")
        check(row["reason"] == ZIG_INLINE_REASON, f"{what}: reason {row['reason']!r}")
        check(row["column"] > 0 and not row["library"] and row["cost"] is None,
              f"{what}: {row}")
        check(os.path.isabs(row["file"]) and os.path.samefile(row["file"], source),
              f"{what}: file {row['file']}")
    # mix(mix(x)): two calls on one line, at two columns.
    inner = rows_at("twice-inner", "mix")
    check(len(inner) == 2 and len({s["column"] for s in inner}) == 2
          and all(s["caller"] == module + "mixTwice" and s["count"] == 50 and s["counted"]
                  and s["decided_by"] == "always" for s in inner),
          f"{mode}: mix(mix(x)) in mixTwice:\n{json.dumps(inner, indent=1)}")
    # An ordinary noinline call stays a call, counted as one; at -O0 (Debug)
    # LLVM's inliner does not run and decides nothing.
    ordinary = rows_at("ordinary", "ordinary")
    if mode != "Debug":
        check(len(ordinary) == 1 and not ordinary[0]["inlined"]
              and ordinary[0]["decided_by"] == "never" and ordinary[0]["count"] == 50,
              f"{mode}: the noinline call: {ordinary}")

    report = json.loads(run([args.zinst, "report", "--json", "--top", "0", profile]).stdout)
    everywhere = {f["name"]: f for f in report["inlined_everywhere"]}
    for callee, executions in INLINE_CALLEES.items():
        entry = everywhere.get(module + callee)
        check(entry is not None and entry["executions"] == executions,
              f"{mode}: report: {callee} inlined {entry}, expected {executions} executions")
    functions = {f["name"]: f for f in report["functions"]}
    check(not any(module + callee in functions for callee in INLINE_CALLEES),
          f"{mode}: an inline fn has a function of its own: {sorted(functions)}")
    square = functions.get(module + "square")
    check(square is not None and square["calls"] == 1 and square["inlined"] == 50,
          f"{mode}: square: {square}, expected 1 call and 50 inlined executions")
    check(functions.get(module + "ordinary", {}).get("calls") == 50,
          f"{mode}: ordinary: {functions.get(module + 'ordinary')}")


def case_inline_report(args):
    source = os.path.join(PROGRAMS, "inline_sites.zig")
    for mode in ("ReleaseFast", "Debug"):
        work = fresh_dir(os.path.join(args.work, f"inline_report_{mode}"))
        env = zig_env(args)
        exe = os.path.join(work, "inline_sites")
        run([args.zinst, "zig", "build-exe", source, "-O", mode, f"-femit-bin={exe}"],
            env=env, cwd=work)
        profile = os.path.join(work, "inline_sites.zinst")
        proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
        check(proc.stderr.startswith("total="), f"program printed {proc.stderr!r}")
        check_inline_profile(args, profile, source, mode)
    # The package in ReleaseSafe mode (build_zig checks ReleaseFast; in Debug
    # mode even Zig's -femit-llvm-bc is unoptimized, so it would tell
    # nothing), through `zig build run-...`: the program runs as a step of
    # the build.
    work = fresh_dir(os.path.join(args.work, "inline_report_package"))
    project, build = consumer_project(args, work)
    profile = os.path.join(work, "inline_sites.zinst")
    proc = build("out", "-Doptimize=ReleaseSafe", "run-inline_sites",
                 extra_env={"ZINST_OUTPUT": profile})
    check("total=" in proc.stderr, f"zig build run-inline_sites printed {proc.stderr!r}")
    check_inline_profile(args, profile, os.path.join(project, "src", "inline_sites.zig"),
                         "ReleaseSafe")


EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "zig-integration", "examples",
                       "rl_cartpole.zig")
# The example's planted leak: per iteration (200) and worker (2), one
# ReplayChunk of 8 + 8 + 500 transitions of 40 bytes, from std.heap.c_allocator
# (malloc or posix_memalign with the exact length on both Zig versions).
EXAMPLE_LEAK_BLOCKS = 200 * 2
EXAMPLE_LEAK_BYTES = EXAMPLE_LEAK_BLOCKS * 20016


def summed_by_path(records, fields):
    out = {}
    for r in records:
        key = tuple(r["path"])
        old = out.get(key, (0,) * len(fields))
        out[key] = tuple(a + r[f] for a, f in zip(old, fields))
    return out


def case_example_leak(args):
    work = fresh_dir(os.path.join(args.work, "example_leak"))
    env = zig_env(args)
    exe = os.path.join(work, "rl_cartpole")
    run([args.zinst, "zig", "build-exe", EXAMPLE, "-O", "ReleaseFast", f"-femit-bin={exe}"],
        env=env, cwd=work)
    leaky_profile = os.path.join(work, "leak.zinst")
    leaky = run([exe], env=dict(env, ZINST_OUTPUT=leaky_profile, ZINST_MEMORY="1",
                                RL_LEAK_REPLAY="1"), cwd=work)
    data = json.loads(run([args.zinst, "mem", "--json", leaky_profile]).stdout)
    leaks = summed_by_path(data["leaks"], ("blocks", "bytes"))
    check(len(leaks) == 1, f"leaks from {len(leaks)} contexts, expected 1: {leaks}")
    path, (blocks, size) = next(iter(leaks.items()))
    check((blocks, size) == (EXAMPLE_LEAK_BLOCKS, EXAMPLE_LEAK_BYTES),
          f"leaked {blocks} blocks of {size} bytes, expected {EXAMPLE_LEAK_BLOCKS} of "
          f"{EXAMPLE_LEAK_BYTES}")
    # The allocating context: Worker.run, or std's allocator code it called
    # (which functions of std stay calls depends on the Zig version).
    check("rl_cartpole.Worker.run" in path, f"the leak's context {path} is not under Worker.run")
    below = path[path.index("rl_cartpole.Worker.run") + 1:]
    flags = function_flags(args, leaky_profile)
    check(all(flags.get(name, 0) & LIBRARY_FLAG for name in below),
          f"the leak's context {path}: below Worker.run only std's allocator is expected")
    # The other contexts are std.Thread.spawn's (its arguments, freed by
    # the thread): the same in the run without the switch, checked below.
    fields = ("allocations", "allocated_bytes", "frees", "freed_bytes", "peak_live_bytes")
    contexts = summed_by_path(data["contexts"], fields)
    replay = contexts.pop(path, None)
    check(replay == (EXAMPLE_LEAK_BLOCKS, EXAMPLE_LEAK_BYTES, 0, 0, EXAMPLE_LEAK_BYTES),
          f"the replay context {path}: {replay}")
    text = run([args.zinst, "mem", leaky_profile]).stdout
    check(f"live at exit (leaks): {EXAMPLE_LEAK_BYTES} bytes in {EXAMPLE_LEAK_BLOCKS} blocks" in text,
          f"the leak summary of zinst mem:\n{text}")

    clean_profile = os.path.join(work, "clean.zinst")
    clean = run([exe], env=dict(env, ZINST_OUTPUT=clean_profile, ZINST_MEMORY="1"), cwd=work)
    data = json.loads(run([args.zinst, "mem", "--json", clean_profile]).stdout)
    check(data["leaks"] == [], f"leaks without the switch: {data['leaks']}")
    clean_contexts = summed_by_path(data["contexts"], fields)
    check(clean_contexts == contexts,
          f"without the switch {clean_contexts}, expected the other contexts {contexts}")
    check(clean.stderr == leaky.stderr and "mean episode length" in clean.stderr,
          f"the example's output changed: {leaky.stderr!r} vs {clean.stderr!r}")


# programs/tracking.zig: the context (its function) -> allocations,
# allocated bytes, frees, freed bytes, peak live bytes.
TRACKING_CONTEXTS = {
    "tracking.withDebug": (4, 400, 4, 400, 400),
    "tracking.withArena": (3, 150, 3, 150, 150),
    "tracking.withPages": (3, 6000, 3, 6000, 3000),  # 1000, resized 2000, remapped 3000
    "tracking.withRealloc": (2, 264, 2, 264, 264),  # DebugAllocator moves it: 64 + 200 live
    "tracking.produce": (5, 160, 5, 160, 160),  # freed by the other thread
    "tracking.leak": (1, 123, 0, 0, 123),
}
MAINS = ("main", "start.main")
MEM_FIELDS = ("allocations", "allocated_bytes", "frees", "freed_bytes", "peak_live_bytes")


def tracking_context(args, profile, path):
    """The program's function a record belongs to: the last `tracking.` one of
    its path; below it only std (the Allocator interface, the child's code)."""
    # main is the program's too: tracking.main, or inlined into the start
    # code's main (`main`, or `start.main` with Zig 0.17).
    ours = [k for k, name in enumerate(path) if name.startswith("tracking.") or name in MAINS]
    check(ours, f"a memory context outside the program: {path}")
    below = path[ours[-1] + 1:]
    flags = function_flags(args, profile)
    check(all(flags.get(name, 0) & LIBRARY_FLAG for name in below),
          f"{path}: below {path[ours[-1]]} only std is expected")
    return path[ours[-1]]


def case_tracking_alloc(args):
    work = fresh_dir(os.path.join(args.work, "tracking_alloc"))
    env = zig_env(args)
    exe = os.path.join(work, "tracking")
    run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "tracking.zig"), "-O",
         "ReleaseFast", f"-femit-bin={exe}"], env=env, cwd=work)
    profile = os.path.join(work, "tracking.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile, ZINST_MEMORY="1"), cwd=work)
    check(proc.stderr.strip() == "tracking: in place true", f"program printed {proc.stderr!r}")
    data = json.loads(run([args.zinst, "mem", "--json", profile]).stdout)
    by_function = {}
    for r in data["contexts"]:
        check(not any(n.startswith("zinst.") for n in r["path"]),
              f"the wrapper's own function in a context: {r['path']}")
        by_function.setdefault(tracking_context(args, profile, r["path"]), []).append(r)
    for name, expected in TRACKING_CONTEXTS.items():
        records = by_function.pop(name, [])
        check(len(records) == 1, f"{name}: {len(records)} contexts, expected 1: {records}")
        got = tuple(records[0][f] for f in MEM_FIELDS)
        check(got == expected, f"{name}: {dict(zip(MEM_FIELDS, got))}, expected "
                               f"{dict(zip(MEM_FIELDS, expected))}")
    # What remains is main's: std.Thread.spawn's arguments (c_allocator),
    # freed by the thread.
    main = [r for name in ("tracking.main",) + MAINS for r in by_function.pop(name, [])]
    check(by_function == {}, f"unexpected contexts: {sorted(by_function)}")
    check(all(r["frees"] == r["allocations"] and r["freed_bytes"] == r["allocated_bytes"]
              for r in main), f"main's contexts: {main}")
    leaks = [(tracking_context(args, profile, l["path"]), l["blocks"], l["bytes"])
             for l in data["leaks"]]
    check(leaks == [("tracking.leak", 1, 123)], f"leaks: {leaks}")
    # The wrapper's functions are frames of their own (called through the
    # vtable), but never where memory is credited: checked above.

    # By bytes, each function's flame frame is exactly its bytes (what std
    # code below it allocated is grouped into its [library] frame above it).
    svg = os.path.join(work, "bytes.svg")
    run([args.zinst, "flame", "--weight", "bytes", "-o", svg, profile])
    import xml.etree.ElementTree as ET
    ns = "{http://www.w3.org/2000/svg}"
    widths = {}
    for g in ET.parse(svg).getroot().iter(ns + "g"):
        if "frame" in g.get("class", "").split() and g.get("data-name") in TRACKING_CONTEXTS:
            widths.setdefault(g.get("data-name"), []).append(int(g.find(ns + "rect").get("data-w")))
    want = {name: [values[1]] for name, values in TRACKING_CONTEXTS.items()}
    check(widths == want, f"flame frames by bytes: {widths}, expected {want}")

    # The leak fails a run that asks for it.
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile, ZINST_MEMORY="1", ZINST_LEAK_EXIT="3"),
               cwd=work, expect=3)
    check("123 bytes in 1 blocks allocated by the program are live at exit" in proc.stderr,
          f"ZINST_LEAK_EXIT: {proc.stderr!r}")

    # Tracing off: the child allocator itself, no memory record at all.
    plain = os.path.join(work, "plain.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=plain), cwd=work)
    check(proc.stderr.strip() == "tracking: in place true", f"untraced run printed {proc.stderr!r}")
    proc = run([args.zinst, "mem", "--json", plain], expect=1)
    check("has no memory records: the program ran with memory tracing off" in proc.stderr,
          f"zinst mem of the untraced run: {proc.stderr!r}")
    # allocator() handed out the child itself: the wrapper never ran.
    report = json.loads(run([args.zinst, "report", "--json", "--top", "0", "--show-library",
                             plain]).stdout)
    wrapper = [f["name"] for f in report["functions"] if f["name"].startswith("zinst.tracked")]
    check(wrapper == [], f"the wrapper ran with tracing off: {wrapper}")
    traced = json.loads(run([args.zinst, "report", "--json", "--top", "0", "--show-library",
                             profile]).stdout)
    check(any(f["name"] == "zinst.trackedAlloc" for f in traced["functions"]),
          "the traced run has no zinst.trackedAlloc: the check above proves nothing")


def case_count_only(args):
    work = fresh_dir(os.path.join(args.work, "count_only"))
    env = zig_env(args)
    exe = os.path.join(work, "counts")
    run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "counts.zig"), "-O", "ReleaseFast",
         f"-femit-bin={exe}"], env=dict(env, ZINST_COUNT_ONLY="counts.work,counts.*eanup"),
        cwd=work)
    profile = os.path.join(work, "counts.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"program printed {proc.stderr!r}")
    chosen = {"counts.work", "counts.cleanup", "counts.errorCleanup"}
    report = json.loads(run([args.zinst, "report", "--json", "--top", "0", profile]).stdout)
    functions = {f["name"]: f for f in report["functions"]}
    for name, calls in EXPECTED_CALLS.items():
        check(name in functions, f"{name} missing from the profile: {sorted(functions)}")
        f = functions[name]
        check(f["calls"] == calls, f"{name}: {f['calls']} calls, expected {calls}")
        check(f["count_only"] == (name in chosen), f"{name}: count_only {f['count_only']}")
        if name in chosen:
            check(f["self_ticks"] is None and f["total_ticks"] is None and f["timed_calls"] == 0,
                  f"{name}: times of a count-only function: {f}")
            check(f["file"].endswith("counts.zig") and f["line"] > 0, f"{name}: {f['file']}")
    tree = json.loads(run([args.zinst, "tree", "--json", profile]).stdout)
    names = set()

    def walk(nodes):
        for node in nodes:
            names.add(node["name"])
            walk(node["children"])
    walk(tree["roots"])
    check(not names & chosen, f"count-only functions in the tree: {names & chosen}")
    check("counts.walk" in names, "the hooked functions are in the tree")
    check(tree["count_only_functions"] == 3 and tree["count_only_calls"] == 300 + 7 + 3,
          f"tree counters: {tree['count_only_functions']} {tree['count_only_calls']}")


def case_mismatch(args):
    work = fresh_dir(os.path.join(args.work, "mismatch"))
    env = zig_env(args)
    proc = run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "counts.zig"),
                "-O", "ReleaseFast"], env=env, cwd=work, expect=1)
    zig_version = run([args.zig, "version"]).stdout.strip()
    zig_llvm = run([args.zig, "cc", "--version"]).stdout.split("clang version ", 1)[1].split()[0]
    message = proc.stderr
    check(f"Zig {zig_version} bundles LLVM {zig_llvm}, newer than LLVM {args.llvm_version}" in message,
          f"the error does not name both versions:\n{message}")
    check("opt" in message, f"the error does not say which tool fails:\n{message}")
    check(not os.path.exists(os.path.join(work, "counts")), "an executable was produced")


CASES = {
    "cli_release": lambda a: case_cli(a, "ReleaseFast"),
    "cli_debug": lambda a: case_cli(a, "Debug"),
    "api": case_api,
    "build_zig": case_build_zig,
    "inline_report": case_inline_report,
    "example_leak": case_example_leak,
    "tracking_alloc": case_tracking_alloc,
    "count_only": case_count_only,
    "mismatch": case_mismatch,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zinst", required=True)
    parser.add_argument("--zig", required=True, help="the zig executable")
    parser.add_argument("--llvm-version", required=True, help="the build's LLVM, e.g. 19.1.7")
    parser.add_argument("--work", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    try:
        CASES[args.case](args)
    except Failure as failure:
        print(f"FAIL {args.case}: {failure}", file=sys.stderr)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
