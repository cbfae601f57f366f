#!/usr/bin/env python3
"""Zig end-to-end tests: Zig programs built with zinst, run, and read back.

Each case is one ctest test (test/zig/CMakeLists.txt), run once per Zig
version that pairs with the build's LLVM:

  cli_release   `zinst zig build-exe -O ReleaseFast`: exact call counts
                (recursion, std.Thread workers, an error returned through
                three frames, defer and errdefer), Zig names, file:line from
                debug info, std functions marked as library code
  cli_debug     the same program in Debug mode (opt at O0, Zig's stack probes)
  build_zig     test/zig/consumer, a project that depends on the
                zig-integration package: `zig build -Doptimize=ReleaseFast`
                gives the same exact counts (the root module is `main`);
                a second build is a cache hit; -Dzinst=false is the plain
                build, with no zinst in it
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


def check_counts_profile(args, work, profile, module="counts"):
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


def case_cli(args, mode):
    work = fresh_dir(os.path.join(args.work, f"cli_{mode}"))
    env = zig_env(args)
    exe = os.path.join(work, "counts")
    run([args.zinst, "zig", "build-exe", os.path.join(PROGRAMS, "counts.zig"), "-O", mode,
         f"-femit-bin={exe}"], env=env, cwd=work)
    profile = os.path.join(work, "counts.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"program printed {proc.stderr!r}")
    check_counts_profile(args, work, profile)


def case_build_zig(args):
    work = fresh_dir(os.path.join(args.work, "build_zig"))
    env = zig_env(args)
    project = os.path.join(HERE, "consumer")
    # The consumer's src/main.zig is programs/counts.zig under another name.
    with open(os.path.join(PROGRAMS, "counts.zig")) as a, \
            open(os.path.join(project, "src", "main.zig")) as b:
        check(a.read() == b.read(), "consumer/src/main.zig differs from programs/counts.zig")

    def build(prefix, *options):
        return run([args.zig, "build", "--cache-dir", os.path.join(work, "cache"),
                    "--prefix", os.path.join(work, prefix), f"-Dzinst-exe={args.zinst}",
                    *options], env=env, cwd=project)

    build("instrumented", "-Doptimize=ReleaseFast")
    exe = os.path.join(work, "instrumented", "bin", "consumer")
    profile = os.path.join(work, "consumer.zinst")
    proc = run([exe], env=dict(env, ZINST_OUTPUT=profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"program printed {proc.stderr!r}")
    check_counts_profile(args, work, profile, module="main")

    # Nothing changed: the second build runs no step (no zinst lowering).
    before = os.stat(exe).st_mtime_ns
    second = build("instrumented", "-Doptimize=ReleaseFast", "--summary", "all")
    lowering = [line for line in second.stderr.splitlines() if "(consumer.zinst.o)" in line]
    check(len(lowering) == 1 and lowering[0].rstrip().endswith("cached"),
          f"the second build ran the zinst step again:\n{second.stderr}")
    check(os.stat(exe).st_mtime_ns == before, "the second build rewrote the executable")

    # -Dzinst=false: the plain build, no runtime inside, no profile written.
    build("plain", "-Doptimize=ReleaseFast", "-Dzinst=false")
    plain = os.path.join(work, "plain", "bin", "consumer")
    plain_profile = os.path.join(work, "plain.zinst")
    proc = run([plain], env=dict(env, ZINST_OUTPUT=plain_profile), cwd=work)
    check(proc.stderr.strip() == EXPECTED_OUTPUT, f"plain program printed {proc.stderr!r}")
    check(not os.path.exists(plain_profile), "the plain build wrote a profile")
    with open(plain, "rb") as f:
        check(b"__zinst_enter" not in f.read(), "the plain build contains the zinst runtime")


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
    "build_zig": case_build_zig,
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
