"""Run the `zinst` command on the sample profile and check what it prints.

usage: check_cli.py ZINST SAMPLE COUNT_SAMPLE CASE

SAMPLE and COUNT_SAMPLE are written by write_sample (profile_builder.h
describes the sample: its numbers below are derived from it by hand).
Each CASE is its own ctest test.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def run(zinst, *args, expect=0):
    result = subprocess.run([zinst, *args], capture_output=True, text=True)
    if result.returncode != expect:
        sys.exit(f"zinst {' '.join(args)}: exit {result.returncode}, expected {expect}\n"
                 f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def check(condition, message):
    if not condition:
        sys.exit("check failed: " + message)


def functions_by_name(functions):
    return {f["name"]: f for f in functions}


def case_report_json(zinst, sample, _):
    data = json.loads(run(zinst, "report", "--json", sample).stdout)
    profile = data["profile"]
    check(profile["pid"] == 4242 and profile["mode"] == "time", f"profile: {profile}")
    check(profile["ticks_per_second"] == 2000000000 and profile["elapsed_ns"] == 1000, "clock")
    check(profile["threads"] == 2 and profile["exe"] == "/opt/sample/bin/sample", "threads/exe")
    names = [f["name"] for f in data["functions"]]
    check(names == ["fib", "compute", "helper", "main"], f"self order: {names}")
    by_name = functions_by_name(data["functions"])
    expected = {  # name: calls, self ticks, total ticks
        "main": (1, 100, 1000),
        "compute": (13, 300, 1100),
        "fib": (34, 800, 800),  # recursion: the inner fib's 250 is inside the outer 400
        "helper": (5, 300, 300),
    }
    for name, (calls, self_ticks, total_ticks) in expected.items():
        f = by_name[name]
        got = (f["calls"], f["self_ticks"], f["total_ticks"])
        check(got == (calls, self_ticks, total_ticks), f"{name}: {got}")
        check(f["self_ns"] == self_ticks // 2 and f["total_ns"] == total_ticks // 2,
              f"{name} ns at 2 GHz: {f['self_ns']} {f['total_ns']}")
        check(f["file"] == "sample.c" and f["linkage_name"] == name, f"{name} location")
    check(abs(by_name["fib"]["self_percent"] - 800 / 1500 * 100) < 1e-4, "fib self percent")
    check(by_name["main"]["line"] == 10, "main line")
    # square has no function record: all its executions (40 + 12) were inlined.
    check(data["inlined_everywhere"] == [
        {"name": "square", "linkage_name": "square", "executions": 52, "sites": 1,
         "library": False}],
        f"inlined everywhere: {data['inlined_everywhere']}")


def case_report_options(zinst, sample, _):
    data = json.loads(run(zinst, "report", "--json", "--thread", "1002", sample).stdout)
    got = [(f["name"], f["calls"], f["self_ticks"], f["total_ticks"]) for f in data["functions"]]
    check(got == [("fib", 4, 400, 400), ("compute", 3, 100, 500)], f"--thread 1002: {got}")

    data = json.loads(run(zinst, "report", "--json", "--top", "2", "--sort", "total", sample).stdout)
    check([f["name"] for f in data["functions"]] == ["compute", "main"], "--sort total --top 2")

    data = json.loads(run(zinst, "report", "--json", "--sort=name", "--top=0", sample).stdout)
    check([f["name"] for f in data["functions"]] == ["compute", "fib", "helper", "main"], "name")

    data = json.loads(run(zinst, "report", "--json", "--sort", "calls", sample).stdout)
    check([f["name"] for f in data["functions"]] == ["fib", "compute", "helper", "main"], "calls")

    data = json.loads(run(zinst, "report", "--json", "--per-thread", sample).stdout)
    threads = data["threads"]
    check([(t["tid"], t["name"]) for t in threads] == [(1001, "main"), (1002, "worker")], "tids")
    main_thread = functions_by_name(threads[0]["functions"])
    check(main_thread["fib"]["calls"] == 30 and main_thread["fib"]["total_ticks"] == 400,
          f"per-thread fib: {main_thread['fib']}")
    check("compute" in functions_by_name(threads[1]["functions"]), "worker has compute")
    check([(f["name"], f["executions"]) for f in threads[1]["inlined_everywhere"]] ==
          [("square", 12)], f"worker's inlined square: {threads[1]['inlined_everywhere']}")


def case_report_text(zinst, sample, count_sample):
    out = run(zinst, "report", sample).stdout
    for expected in ["pid:      4242", "threads: 2", "mode: time", "2.00 GHz, TSC, invariant",
                     "self cycles", "mean/call", "sample.c:30", "elapsed:  1.00 us wall"]:
        check(expected in out, f"report text lacks {expected!r}:\n{out}")
    fib_line = next(line for line in out.splitlines() if " fib " in line)
    # calls 34, inlined 0 (the sample's inlined site is compute -> square),
    # self 800 cycles = 400 ns, 53.3%, total 800 cycles, 400 ns, mean 11.8 ns
    check(fib_line.split()[:8] == ["34", "0", "800", "400", "ns", "53.3%", "800", "400"],
          f"fib line: {fib_line}")
    check("inlined" in out.splitlines()[out.splitlines().index(next(
        line for line in out.splitlines() if line.startswith("calls")))], "inlined column")
    # square has no function record: every execution was inlined (40 + 12).
    check("Inlined everywhere" in out and "  square: 52 executions at 1 site" in out,
          f"inlined-only functions:\n{out}")
    out = run(zinst, "report", "--per-thread", sample).stdout
    check("thread 1001 (main) [main]" in out and "thread 1002 (worker) [exited]" in out,
          f"per-thread headings:\n{out}")
    out = run(zinst, "report", count_sample).stdout
    check("mode: count" in out and "self cycles" not in out, f"count mode columns:\n{out}")
    fib_line = next(line for line in out.splitlines() if " fib " in line)
    check(fib_line.split()[:3] == ["34", "0", "fib"], f"count-mode fib line: {fib_line}")


def case_tree_json(zinst, sample, _):
    data = json.loads(run(zinst, "tree", "--json", sample).stdout)
    roots = data["roots"]
    check([r["name"] for r in roots] == ["main", "compute"], "roots by total ticks")
    main = roots[0]
    check((main["calls"], main["total_ticks"], main["self_ticks"]) == (1, 1000, 100), "main")
    check(main["total_ns"] == 500 and main["self_ns"] == 50, "main ns")
    check([c["name"] for c in main["children"]] == ["compute", "helper"], "main's children")
    fib = main["children"][0]["children"][0]
    check((fib["name"], fib["calls"], fib["total_ticks"]) == ("fib", 10, 400), "main>compute>fib")
    inner = fib["children"][0]
    check((inner["name"], inner["calls"], inner["total_ticks"], inner["children"]) ==
          ("fib", 20, 250, []), "fib>fib")
    check(main["file"] == "sample.c" and main["line"] == 10, "location")

    data = json.loads(run(zinst, "tree", "--json", "--threshold", "25", sample).stdout)
    check(data["hidden_below_threshold"] == 2, f"threshold hides helper and fib>fib: {data}")
    check([c["name"] for c in data["roots"][0]["children"]] == ["compute"], "helper hidden")
    data = json.loads(run(zinst, "tree", "--json", "--depth", "1", sample).stdout)
    check(data["hidden_below_depth"] == 3, "depth 1 cuts 3 subtrees")
    check(all(r["children"] == [] for r in data["roots"]), "depth 1: no children")
    data = json.loads(run(zinst, "tree", "--json", "--per-thread", sample).stdout)
    check([t["tid"] for t in data["threads"]] == [1001, 1002], "per-thread tids")
    check([r["name"] for r in data["threads"][1]["roots"]] == ["compute"], "worker's root")


def case_tree_text(zinst, sample, count_sample):
    out = run(zinst, "tree", sample).stdout
    lines = out.splitlines()
    main_line = next(line for line in lines if "main  sample.c:10" in line)
    check(main_line.split()[:5] == ["66.7%", "6.7%", "1", "500", "ns"], f"main: {main_line}")
    inner = [line for line in lines if "fib  sample.c:30" in line]
    check(len(inner) == 3, f"three fib contexts:\n{out}")
    check("      fib  sample.c:30" in inner[1], f"fib>fib indented three levels:\n{out}")
    out = run(zinst, "tree", "--threshold", "25", sample).stdout
    check("(2 subtrees below 25% hidden)" in out, f"threshold footer:\n{out}")
    out = run(zinst, "tree", count_sample).stdout
    # A root's name follows the calls column after exactly the 2-space separator.
    roots = [m.group(1) for m in
             (re.match(r"^\s*[\d.]+%\s+[\d.]+%\s+\d+  (\w+)  ", line) for line in out.splitlines())
             if m]
    check(roots == ["main", "compute"], f"count-mode roots by subtree calls: {roots}\n{out}")
    main_line = next(line for line in out.splitlines() if "main  sample.c:10" in line)
    # count mode: shares of the 53 calls; main's subtree holds 46 of them
    check(main_line.split()[:3] == ["86.8%", "1.9%", "1"], f"count-mode main: {main_line}")


def case_dump(zinst, sample, _):
    out = run(zinst, "dump", sample).stdout
    for expected in ["magic                 ZINSTPRF", "section_count         8",
                     "nodes: 7", "functions: 4", "threads: 2",
                     "[3] parent=2 function=2 calls=20 inclusive=250 exclusive=250  fib",
                     "[0] parent=- function=0 calls=1 inclusive=1000 exclusive=100  main",
                     "[1] tid=1002 name=@", "\"worker\" flags=0x1 first_node=5 node_count=2",
                     "FUNCTIONS", "pid                   4242"]:
        check(expected in out, f"dump lacks {expected!r}:\n{out}")


def case_errors(zinst, sample, _):
    r = run(zinst, "report", "--bogus", sample, expect=2)
    check("unknown option '--bogus'" in r.stderr and "zinst report --help" in r.stderr, r.stderr)
    r = run(zinst, "tree", "--depth", "x", sample, expect=2)
    check("'--depth' wants a non-negative integer, got 'x'" in r.stderr, r.stderr)
    r = run(zinst, "report", "--sort", "speed", sample, expect=2)
    check("--sort" in r.stderr and "speed" in r.stderr, r.stderr)
    r = run(zinst, "frobnicate", expect=2)
    check("unknown command 'frobnicate'" in r.stderr, r.stderr)
    r = run(zinst, "report", sample + ".missing", expect=1)
    check("cannot open: No such file or directory" in r.stderr, r.stderr)
    r = run(zinst, "report", "--thread", "999", sample, expect=1)
    check("no thread with tid 999" in r.stderr and "1001 1002" in r.stderr, r.stderr)
    damaged = sample + ".damaged"
    with open(sample, "rb") as f:
        data = bytearray(f.read())
    data[100] ^= 0x10
    with open(damaged, "wb") as f:
        f.write(data)
    r = run(zinst, "dump", damaged, expect=1)
    check("offset 40: checksum mismatch" in r.stderr, r.stderr)
    for command in ["report", "tree", "dump", "cc", "flags"]:
        out = run(zinst, command, "--help").stdout
        check(out.startswith("usage: zinst " + command), f"{command} --help:\n{out}")
    check(run(zinst, "--help").stdout.startswith("usage: zinst"), "--help")
    check(run(zinst, "--version").stdout.startswith("zinst "), "--version")


def case_cc(zinst, _sample, _count):
    libdir = os.path.realpath(os.path.join(os.path.dirname(zinst), "..", "lib"))
    plugin = os.path.join(libdir, "libzinst.so")
    runtime = os.path.join(libdir, "libzinst_rt.a")
    out = run(zinst, "flags", "--cc").stdout.strip()
    check(os.path.isabs(out) and os.access(out, os.X_OK), f"flags --cc: {out}")
    if not (os.path.exists(plugin) and os.path.exists(runtime)):
        r = run(zinst, "flags", "--compile", expect=1)
        check("libzinst.so" in r.stderr, f"missing plugin reported: {r.stderr}")
        print("plugin or runtime not built: checked the refusal only")
        return
    include = os.path.realpath(os.path.join(os.path.dirname(zinst), "..", "include"))
    check(os.path.exists(os.path.join(include, "zinst.h")), f"zinst.h beside lib/: {include}")
    # A sanitizer build adds its flags to both (CMake passes them here).
    sanitize = os.environ.get("ZINST_TEST_SANITIZE_FLAGS", "")
    suffix = " " + sanitize if sanitize else ""
    check(run(zinst, "flags", "--compile").stdout.strip() ==
          f"-fpass-plugin={plugin} -I{include}" + suffix, "compile")
    check(run(zinst, "flags", "--link").stdout.strip() ==
          f"-Wl,--whole-archive {runtime} -Wl,--no-whole-archive -lpthread "
          "-Wl,--export-dynamic-symbol=__zinst_*" + suffix, "link")
    # clang -### prints the jobs it would run: the plugin reaches cc1, the
    # runtime and the export reach the linker only when linking.
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "x.c")
        with open(source, "w") as f:
            f.write("int main(void) { return 0; }\n")
        out = os.path.join(scratch, "x")
        jobs = run(zinst, "cc", "-###", source, "-o", out).stderr
        check(f"-fpass-plugin={plugin}" in jobs and runtime in jobs and
              "--export-dynamic-symbol=__zinst_*" in jobs, f"linking command:\n{jobs}")
        jobs = run(zinst, "cc", "-###", "-c", source, "-o", out + ".o").stderr
        check(f"-fpass-plugin={plugin}" in jobs and runtime not in jobs and
              f'"-I" "{include}"' in jobs, f"-c command:\n{jobs}")
        jobs = run(zinst, "cc", "-###", "-shared", source, "-o", out + ".so").stderr
        check(runtime not in jobs, f"-shared command:\n{jobs}")
        # The sanitizers reach the compiler and the linker, or neither.
        jobs = run(zinst, "cc", "-###", source, "-o", out).stderr
        check(("-fsanitize=address" in jobs) == bool(sanitize) and
              ("libclang_rt.asan" in jobs) == bool(sanitize),
              f"sanitizers ({sanitize or 'none'}) in the linking command:\n{jobs}")
        jobs = run(zinst, "c++", "-###", "-c", source, "-o", out + ".o").stderr
        check('"-x" "c++"' in jobs, f"c++ runs clang++ (a .c file compiled as C++):\n{jobs}")
        # Exit status passes through exec: a compile error is clang's own exit 1.
        with open(source, "w") as f:
            f.write("this is not C\n")
        r = run(zinst, "cc", "-c", source, "-o", out + ".o", expect=1)
        check("error" in r.stderr, f"clang's diagnostics: {r.stderr}")


def case_inline_text(zinst, sample, _):
    out = run(zinst, "inline", sample).stdout
    check("inlining: 4 sites decided (3 counted), 4 shown after filters" in out, out)
    lines = out.splitlines()
    hot = lines[lines.index(next(l for l in lines if l.startswith("Hot call sites NOT inlined"))):]
    # Ranked by calls: fib's recursive call (20) before main -> helper (5);
    # helper's cost missed its threshold by 300 - 225 = +75; 5 calls x 2 ns.
    rows = [l.split() for l in hot[2:4]]
    check(rows[0][:3] == ["20", "40", "ns"] and rows[0][3] == "never" and
          "recursive call" in hot[2] and "sample.c:31:3" in hot[2] and "fib -> fib" in hot[2],
          f"hot row 1: {hot[2]}")
    check(rows[1][:7] == ["5", "10", "ns", "300", "/", "225", "+75"] and
          "too costly to inline" in hot[3] and "sample.c:12:3" in hot[3], f"hot row 2: {hot[3]}")
    check("Inlined sites that hardly ran" in out, out)
    per_callee = lines[lines.index(next(l for l in lines if l.startswith("Per callee"))) + 2:]
    check(per_callee[0].split() == ["1", "52", "0", "0", "square"], f"callee row: {per_callee[0]}")
    out = run(zinst, "inline", "--all", sample).stdout
    check(any(l.split()[:2] == ["-", "no"] and "log_error" in l for l in out.splitlines()),
          f"an uncounted site shows '-':\n{out}")


def case_inline_json(zinst, sample, _):
    data = json.loads(run(zinst, "inline", "--json", "--call-ns", "3", sample).stdout)
    sites = {(s["caller"], s["callee"]): s for s in data["sites"]}
    check(len(data["sites"]) == 4, f"sites: {data['sites']}")
    square = sites[("compute", "square")]
    check(square["inlined"] and square["count"] == 52 and square["cost"] == 15 and
          square["threshold"] == 225 and square["line"] == 22 and square["column"] == 3 and
          square["decided_by"] == "cost", f"square: {square}")
    helper = sites[("main", "helper")]
    check(not helper["inlined"] and helper["count"] == 5 and helper["estimated_call_ns"] == 15 and
          helper["reason"] == "too costly to inline", f"helper: {helper}")
    fib = sites[("fib", "fib")]
    check(fib["decided_by"] == "never" and fib["cost"] is None and fib["count"] == 20, f"fib: {fib}")
    log_error = sites[("compute", "log_error")]
    check(not log_error["counted"] and log_error["count"] == 0, f"log_error: {log_error}")
    callees = {c["callee"]: c for c in data["callees"]}
    check(callees["square"]["inlined_executions"] == 52 and callees["square"]["inlined_sites"] == 1
          and callees["helper"]["calls"] == 5, f"callees: {data['callees']}")
    # Per thread: the worker (1002) ran the inlined square 12 times and nothing else.
    data = json.loads(run(zinst, "inline", "--json", "--thread", "1002", sample).stdout)
    counts = {(s["caller"], s["callee"]): s["count"] for s in data["sites"]}
    check(counts == {("compute", "square"): 12, ("main", "helper"): 0, ("fib", "fib"): 0,
                     ("compute", "log_error"): 0}, f"thread 1002: {counts}")


def case_inline_filters(zinst, sample, _):
    def sites(*args):
        data = json.loads(run(zinst, "inline", "--json", *args, sample).stdout)
        return sorted((s["caller"], s["callee"]) for s in data["sites"])
    check(sites("--caller", "comp*") == [("compute", "log_error"), ("compute", "square")],
          "caller glob")
    check(sites("--callee", "helper") == [("main", "helper")], "callee")
    check(sites("--min-count", "20") == [("compute", "square"), ("fib", "fib")], "min count")
    check(sites("--file", "other.c") == [], "file")
    check(len(sites("--file", "*.c")) == 4, "file glob")
    out = run(zinst, "inline", "--top", "1", sample).stdout
    check("... 1 more" in out, f"--top 1 leaves one hot site out:\n{out}")
    r = run(zinst, "inline", "--call-ns", "fast", sample, expect=2)
    check("'--call-ns' wants nanoseconds" in r.stderr, r.stderr)


def library_sample(sample):
    """write_sample's "library" profile, written beside SAMPLE by its fixture."""
    return os.path.join(os.path.dirname(sample), "sample-library.zinst")


def table_from(out, header_start):
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    return [line.rstrip() for line in lines[first:]]


def case_library_report(zinst, sample, _):
    path = library_sample(sample)
    # Grouped: the four library functions are one row. Calls into library
    # code from outside it: 1 (start) + 2 (sort) + 4 (format); self
    # 100 + 150 + 150 + 60 + 40; total: start's 1000, counted once.
    check(table_from(run(zinst, "report", path).stdout, "calls") == [
        "calls  inlined  self ticks  self time  self %  total ticks  total time  \u00b1 total  mean/call  function                file:line",
        "    7        0         500     500 ns   50.0%         1000     1.00 us    exact     143 ns  [library: 4 functions]",
        "   40        0         200     200 ns   20.0%          200      200 ns    exact       5 ns  lessThan                main.zig:20",
        "    4        0         200     200 ns   20.0%          300      300 ns    exact      75 ns  work                    main.zig:12",
        "    1        0         100     100 ns   10.0%          900      900 ns    exact     900 ns  main                    main.zig:5",
        "",
        "Inlined everywhere (no calls of their own; their time is their callers'):",
        "  std.math.order: 70 executions at 1 site",
        "  square: 12 executions at 1 site",
        "  tiny: 5 executions at 1 site",
        "(library code grouped: 4 functions in one row; --show-library lists them)",
    ], "grouped report:\n" + run(zinst, "report", path).stdout)
    rows = [line.split() for line in
            table_from(run(zinst, "report", "--show-library", path).stdout, "calls")[1:8]]
    check(rows == [
        ["40", "0", "200", "200", "ns", "20.0%", "200", "200", "ns", "exact", "5", "ns",
         "lessThan", "main.zig:20"],
        ["4", "0", "200", "200", "ns", "20.0%", "300", "300", "ns", "exact", "75", "ns",
         "work", "main.zig:12"],
        ["38", "0", "190", "190", "ns", "19.0%", "190", "190", "ns", "exact", "5", "ns",
         "std.mem.swap", "/opt/zig/lib/std/mem.zig:30"],
        ["2", "0", "150", "150", "ns", "15.0%", "500", "500", "ns", "exact", "250", "ns",
         "std.sort.insertion", "/opt/zig/lib/std/sort.zig:10"],
        ["1", "0", "100", "100", "ns", "10.0%", "900", "900", "ns", "exact", "900", "ns",
         "main", "main.zig:5"],
        ["1", "0", "100", "100", "ns", "10.0%", "1000", "1.00", "us", "exact", "1.00", "us",
         "start.callMain", "/opt/zig/lib/std/start.zig:600"],
        ["4", "0", "60", "60", "ns", "6.0%", "100", "100", "ns", "exact", "25", "ns",
         "std.fmt.format", "/opt/zig/lib/std/fmt.zig:40"],
    ], f"--show-library rows: {rows}")
    out = run(zinst, "report", "--show-library", path).stdout
    check("[library" not in out and "grouped" not in out, "--show-library groups nothing")
    # JSON: every function, library code marked.
    data = json.loads(run(zinst, "report", "--json", path).stdout)
    got = sorted((f["name"], f["library"], f["calls"], f["self_ticks"]) for f in data["functions"])
    check(got == [("lessThan", False, 40, 200), ("main", False, 1, 100),
                  ("start.callMain", True, 1, 100), ("std.fmt.format", True, 4, 60),
                  ("std.mem.swap", True, 38, 190), ("std.sort.insertion", True, 2, 150),
                  ("work", False, 4, 200)], f"json: {got}")


def case_library_tree(zinst, sample, _):
    path = library_sample(sample)
    out = run(zinst, "tree", path).stdout
    check(table_from(out, "total %") == [
        "total %  self %  calls  total time  \u00b1 total  function  file:line",
        " 100.0%   10.0%      1     1.00 us    exact  [library]",
        "  90.0%   10.0%      1      900 ns    exact    main  main.zig:5",
        "  50.0%   30.0%      2      500 ns    exact      [library]",
        "  20.0%   20.0%     40      200 ns    exact        lessThan  main.zig:20",
        "  30.0%   20.0%      4      300 ns    exact      work  main.zig:12",
        "                                                   [inlined] square  12 executions  at sample.c:14:3",
        "  10.0%   10.0%      4      100 ns    exact        [library]",
        "(70 inlined executions inside library code not shown; --show-library shows them)",
        "(5 inlined executions in functions that were themselves inlined everywhere: see zinst report)",
    ], f"grouped tree:\n{out}")
    out = run(zinst, "tree", "--show-library", path).stdout
    check(table_from(out, "total %") == [
        "total %  self %  calls  total time  \u00b1 total  function  file:line",
        " 100.0%   10.0%      1     1.00 us    exact  start.callMain  /opt/zig/lib/std/start.zig:600",
        "  90.0%   10.0%      1      900 ns    exact    main  main.zig:5",
        "  50.0%   15.0%      2      500 ns    exact      std.sort.insertion  /opt/zig/lib/std/sort.zig:10",
        "                                                   [inlined] std.math.order  70 executions  at sample.c:11:3",
        "  20.0%   20.0%     40      200 ns    exact        lessThan  main.zig:20",
        "  15.0%   15.0%     30      150 ns    exact        std.mem.swap  /opt/zig/lib/std/mem.zig:30",
        "  30.0%   20.0%      4      300 ns    exact      work  main.zig:12",
        "                                                   [inlined] square  12 executions  at sample.c:14:3",
        "  10.0%    6.0%      4      100 ns    exact        std.fmt.format  /opt/zig/lib/std/fmt.zig:40",
        "   4.0%    4.0%      8       40 ns    exact          std.mem.swap  /opt/zig/lib/std/mem.zig:30",
        "(5 inlined executions in functions that were themselves inlined everywhere: see zinst report)",
    ], f"--show-library tree:\n{out}")
    data = json.loads(run(zinst, "tree", "--json", path).stdout)
    start = data["roots"][0]
    check((start["name"], start["library"]) == ("start.callMain", True), f"json root: {start['name']}")
    main = start["children"][0]
    check((main["name"], main["library"]) == ("main", False), "json main")
    sort = next(c for c in main["children"] if c["name"] == "std.sort.insertion")
    check(sort["inlined"] == [{"name": "std.math.order", "linkage_name": "std.math.order",
                               "executions": 70, "estimated": False, "site": "sample.c:11:3"}],
          f"json sort inlined: {sort['inlined']}")
    check(data["inlined_unplaced_executions"] == 5, "json unplaced")


def case_library_flame(zinst, sample, _):
    path = library_sample(sample)
    svg = run(zinst, "flame", "-o", "-", path).stdout
    names = re.findall(r'<g class="frame"[^>]*data-name="([^"]*)"', svg)
    check(sorted(names) == sorted(["all (?)", "[library]", "main", "[library]", "lessThan",
                                   "work", "[library]"]), f"grouped frames: {names}")
    svg = run(zinst, "flame", "--show-library", "-o", "-", path).stdout
    names = re.findall(r'<g class="frame"[^>]*data-name="([^"]*)"', svg)
    check("[library]" not in names and names.count("std.mem.swap") == 2, f"frames: {names}")
    # By calls, inlined code is drawn where it can be: square in work. The
    # order site inside grouped library code and tiny in helper (inlined
    # everywhere itself) are not drawn, and the legend counts them.
    svg = run(zinst, "flame", "--weight", "calls", "-o", "-", path).stdout
    inlined = re.findall(r'<g class="frame inlined" data-depth="(\d+)" data-name="([^"]*)"', svg)
    check(inlined == [("4", "square [inlined]")], f"inlined frames: {inlined}")
    legend = re.findall(r'<g id="zf-legend">(<rect [^>]*/>)?<text [^>]*>([^<]*)</text>', svg)
    check(len(legend) == 1 and legend[0][0] != "" and legend[0][1] ==
          "[inlined]: code the compiler inlined into the frame below, 12 executions; not drawn: "
          "5 in functions inlined everywhere, 70 inside library code", f"legend: {legend}")
    svg = run(zinst, "flame", "--weight", "calls", "--show-library", "-o", "-", path).stdout
    inlined = re.findall(r'<g class="frame inlined" data-depth="(\d+)" data-name="([^"]*)"', svg)
    check(sorted(inlined) == [("4", "square [inlined]"), ("4", "std.math.order [inlined]")],
          f"--show-library inlined frames: {inlined}")


def case_tree_inlined(zinst, sample, _):
    # compute has two contexts (main>compute: 10 calls, compute: 3 calls):
    # the site's 52 executions are shared 40 / 12 by calls, marked '~'.
    out = run(zinst, "tree", sample).stdout
    lines = [line.strip() for line in out.splitlines() if "[inlined]" in line]
    check(lines == ["[inlined] square  ~40 executions  at sample.c:22:3",
                    "[inlined] square  ~12 executions  at sample.c:22:3"], f"inlined lines:\n{out}")
    check("compute  sample.c:20\n" + " " * 49 + "[inlined] square  ~40" in out,
          f"under main>compute, one level deeper:\n{out}")
    # One thread: one context each, exact.
    out = run(zinst, "tree", "--thread", "1002", sample).stdout
    lines = [line.strip() for line in out.splitlines() if "[inlined]" in line]
    check(lines == ["[inlined] square  12 executions  at sample.c:22:3"], f"--thread:\n{out}")
    data = json.loads(run(zinst, "tree", "--json", sample).stdout)
    compute = data["roots"][0]["children"][0]
    check(compute["inlined"] == [{"name": "square", "linkage_name": "square", "executions": 40,
                                  "estimated": True, "site": "sample.c:22:3"}],
          f"json inlined: {compute['inlined']}")
    check(data["roots"][1]["inlined"][0]["executions"] == 12, "json worker share")
    check(data["roots"][0]["inlined"] == [], "main has no inlined site")


def count_only_sample(sample):
    """write_sample's "count-only" profile, written beside SAMPLE by its fixture."""
    return os.path.join(os.path.dirname(sample), "sample-count-only.zinst")


def case_count_only_report(zinst, sample, _):
    path = count_only_sample(sample)
    # tiny: calls 30 + 12 from its entry site, 5 executions inlined into
    # main; no time of its own. unused never ran: not listed.
    data = json.loads(run(zinst, "report", "--json", path).stdout)
    by_name = functions_by_name(data["functions"])
    check(sorted(by_name) == ["main", "std.mem.eql", "tiny", "work"],
          f"functions: {sorted(by_name)}")
    check(by_name["std.mem.eql"]["library"] and by_name["std.mem.eql"]["calls"] == 3,
          f"library count-only function: {by_name['std.mem.eql']}")
    check(by_name["tiny"] == {
        "name": "tiny", "linkage_name": "tiny", "file": "co.c", "line": 5, "library": False,
        "zone": False, "count_only": True, "calls": 42, "inlined": 5, "timed_calls": 0,
        "self_ticks": None, "total_ticks": None, "self_ticks_error": None,
        "total_ticks_error": None, "self_ns": None, "total_ns": None, "self_percent": None},
        f"tiny: {by_name['tiny']}")
    check(not by_name["main"]["count_only"] and by_name["main"]["self_ticks"] == 800, "main")
    # tiny has no FUNCTIONS record but is no function inlined everywhere;
    # square (inlined into tiny) is.
    check([f["name"] for f in data["inlined_everywhere"]] == ["square"],
          f"inlined everywhere: {data['inlined_everywhere']}")
    # Per thread: the entry site's count of each thread.
    data = json.loads(run(zinst, "report", "--json", "--thread", "3002", path).stdout)
    got = [(f["name"], f["calls"], f["count_only"]) for f in data["functions"]]
    check(got == [("work", 3, False), ("tiny", 12, True)], f"--thread 3002: {got}")
    table = table_from(run(zinst, "report", path).stdout, "calls")
    check(table == [
        "calls  inlined  self ticks   self time  self %  total ticks  total time     \u00b1 total  mean/call  function  file:line",
        "    1        0         800      800 ns   61.5%         1000     1.00 us       exact    1.00 us  main      co.c:10",
        "    5        0         500      500 ns   38.5%          500      500 ns       exact     100 ns  work      co.c:20",
        "   42        5           -  in callers       -            -           -  count-only          -  tiny      co.c:5",
        "(1 count-only function (ZINST_COUNT_ONLY): calls counted exactly, time not measured, part of the callers' self time)",
        "(1 count-only library function not listed; --show-library lists them)",
        "",
        "Inlined everywhere (no calls of their own; their time is their callers'):",
        "  square: 42 executions at 1 site"], "report text:\n" + "\n".join(table))
    out = run(zinst, "report", "--show-library", path).stdout
    check(re.search(r"\n    3 +0 +- +in callers +- +- +- +count-only +- +std\.mem\.eql +co\.c:40\n",
                    out) is not None and "(2 count-only functions" in out and "not listed" not in out,
          f"--show-library:\n{out}")
    out = run(zinst, "report", "--sort", "calls", "--top", "1", path).stdout
    check("   42        5           -  in callers" in out and "(1 of 3 functions shown" in out,
          f"--sort calls --top 1:\n{out}")


def case_count_only_tree(zinst, sample, _):
    path = count_only_sample(sample)
    data = json.loads(run(zinst, "tree", "--json", path).stdout)
    names = []

    def collect(nodes):
        for n in nodes:
            names.append(n["name"])
            collect(n["children"])
    collect(data["roots"])
    check(sorted(names) == ["main", "work", "work"], f"no context invented: {names}")
    got = (data["count_only_functions"], data["count_only_calls"],
           data["inlined_count_only_executions"], data["inlined_unplaced_executions"])
    check(got == (2, 45, 42, 0), f"tree counters: {got}")
    out = run(zinst, "tree", path).stdout
    check("(2 count-only functions, 45 calls: no hooks, so no contexts in the tree; their time is "
          "their callers' self time; see zinst report)\n" in out, f"footer:\n{out}")
    check("(42 inlined executions in count-only functions not shown)\n" in out, out)
    out = run(zinst, "tree", "--thread", "3002", path).stdout
    check("(1 count-only function, 12 calls:" in out and "inlined executions" not in out,
          f"--thread 3002:\n{out}")
    with tempfile.TemporaryDirectory() as tmp:
        svg = os.path.join(tmp, "co.svg")
        run(zinst, "flame", "--weight", "calls", "-o", svg, path)
        with open(svg) as f:
            text = f.read()
        check("2 count-only functions (45 calls) not drawn" in text, "flame root names them")
        check("42 in count-only functions" in text, "flame legend counts their inlined code")
        check(">tiny<" not in text and "tiny [inlined]" in text, "tiny only as inlined code")


def case_count_only_inline(zinst, sample, _):
    path = count_only_sample(sample)
    # The entry counters are no call sites: 3 of the 6 records are decisions.
    data = json.loads(run(zinst, "inline", "--json", path).stdout)
    got = sorted((s["caller"], s["callee"], s["count"], s["inlined"]) for s in data["sites"])
    check(got == [("main", "tiny", 5, True), ("tiny", "square", 42, True),
                  ("work", "tiny", 30, False)], f"sites: {got}")
    tiny = [c for c in data["callees"] if c["callee"] == "tiny"]
    check(tiny == [{"callee": "tiny", "linkage_name": "tiny", "inlined_sites": 1,
                    "inlined_executions": 5, "called_sites": 1, "calls": 30}], f"tiny: {tiny}")
    out = run(zinst, "inline", path).stdout
    check("inlining: 3 sites decided (3 counted), 3 shown after filters\n" in out, out)


def case_count_only_merge_diff(zinst, sample, _):
    path = count_only_sample(sample)
    with tempfile.TemporaryDirectory() as tmp:
        merged = os.path.join(tmp, "merged.zinst")
        run(zinst, "merge", "-o", merged, path, path)
        data = json.loads(run(zinst, "report", "--json", merged).stdout)
        tiny = functions_by_name(data["functions"])["tiny"]
        check((tiny["calls"], tiny["inlined"], tiny["count_only"]) == (84, 10, True),
              f"merged tiny: {tiny}")
        data = json.loads(run(zinst, "diff", "--json", path, merged).stdout)
        rows = {f["name"]: f for f in data["functions"]}
        calls = rows["tiny"]["calls"]
        check((calls["base"], calls["new"], calls["delta"]) == (42, 84, 42), f"diff: {calls}")
        check(rows["tiny"]["count_only"] and rows["tiny"]["self"] is None and
              rows["tiny"]["total"] is None, f"diff tiny times: {rows['tiny']}")
        check(not rows["main"]["count_only"] and rows["main"]["self"]["delta"] == 800,
              f"diff main: {rows['main']}")
        out = run(zinst, "diff", path, merged).stdout
        line = next((l for l in out.splitlines() if "tiny  co.c:5" in l), "")
        check(re.match(r"\s*-\s+-\s+-\s+-\s+42\s+84\s+\+42 \(\+100\.0%\)\s+count-only\s+tiny  co.c:5$",
                       line) is not None, f"diff text row: {line!r}\n{out}")


def hooks_sample(sample):
    """write_sample's "hooks" profile: the sample with a hook-cost calibration
    (untimed pair 1000 ps, timed 2000 ps, of it inside 500 ps, spread 100 ps;
    at 2 GHz 2, 4 and 1 ticks). test_model.c's test_hook_correction derives
    the corrected numbers by hand."""
    return os.path.join(os.path.dirname(sample), "sample-hooks.zinst")


def case_hooks_report(zinst, sample, _):
    path = hooks_sample(sample)
    data = json.loads(run(zinst, "report", "--json", path).stdout)
    check(data["times"] == "corrected", f"times: {data['times']}")
    check(data["profile"]["hook_cost"] == {"untimed_pair_ps": 1000, "timed_pair_ps": 2000,
                                           "timed_inner_ps": 500, "spread_ps": 100},
          f"hook_cost: {data['profile']['hook_cost']}")
    by_name = functions_by_name(data["functions"])
    expected = {  # name: calls, self ticks, total ticks (corrected)
        "main": (1, 54, 819),
        "compute": (13, 245, 951),
        "fib": (34, 706, 706),
        "helper": (5, 295, 295),
    }
    for name, (calls, self_ticks, total_ticks) in expected.items():
        f = by_name[name]
        got = (f["calls"], f["self_ticks"], f["total_ticks"])
        check(got == (calls, self_ticks, total_ticks), f"corrected {name}: {got}")
        check(f["self_ns"] == self_ticks // 2 and f["total_ns"] == total_ticks // 2,
              f"{name} ns: {f['self_ns']} {f['total_ns']}")
    raw = json.loads(run(zinst, "report", "--json", "--raw", path).stdout)
    check(raw["times"] == "raw", f"raw times: {raw['times']}")
    by_name = functions_by_name(raw["functions"])
    check((by_name["main"]["self_ticks"], by_name["main"]["total_ticks"]) == (100, 1000),
          "raw main")
    check((by_name["fib"]["self_ticks"], by_name["compute"]["total_ticks"]) == (800, 1100),
          "raw fib, compute")
    # The plain sample has no calibration: as measured, and JSON says so.
    plain = json.loads(run(zinst, "report", "--json", sample).stdout)
    check(plain["times"] == "raw" and plain["profile"]["hook_cost"] is None, "no calibration")
    # Text: the header says which times these are, and how much was taken.
    out = run(zinst, "report", path).stdout
    check("hooks:    hook cost subtracted in full (out-of-order execution may have hidden part "
          "of it): 2.00 ns per call (untimed 1.00, timed 2.00 of which 0.50 in the callee's own "
          "time; calibration spread 0.10 ns); --raw shows times as measured\n" in out, out)
    check(re.search(r"\n +1 +0 +54 +27 ns +4\.2% +819 +410 ns +exact +410 ns +main", out), out)
    out = run(zinst, "report", "--raw", path).stdout
    check("hooks:    times as measured, hook cost included: 2.00 ns per call" in out, out)
    out = run(zinst, "report", sample).stdout
    check("hooks:    times as measured, hook cost included (the profile has no calibration "
          "of it)\n" in out, out)
    _, count_sample = sample, os.path.join(os.path.dirname(sample), "sample-count.zinst")
    check("hooks:" not in run(zinst, "report", count_sample).stdout, "count mode: no hooks line")
    count = json.loads(run(zinst, "report", "--json", count_sample).stdout)
    check(count["times"] is None, f"count mode times: {count['times']}")


def case_hooks_views(zinst, sample, _):
    path = hooks_sample(sample)
    tree = json.loads(run(zinst, "tree", "--json", path).stdout)
    check(tree["times"] == "corrected", f"tree times: {tree['times']}")
    main = next(n for n in tree["roots"] if n["name"] == "main")
    check((main["total_ticks"], main["self_ticks"]) == (819, 54), f"tree main: {main}")
    raw_tree = json.loads(run(zinst, "tree", "--json", "--raw", path).stdout)
    main = next(n for n in raw_tree["roots"] if n["name"] == "main")
    check(raw_tree["times"] == "raw" and main["total_ticks"] == 1000, f"raw tree main: {main}")
    folded = run(zinst, "export", "--format", "folded", path).stdout.split("\n")
    check(sorted(filter(None, folded)) == sorted([
        "main 54", "main;compute 160", "main;compute;fib 80", "main;compute;fib;fib 230",
        "main;helper 295", "compute 85", "compute;fib 396"]), f"folded: {folded}")
    folded = run(zinst, "export", "--format", "folded", "--raw", path).stdout
    check("main;compute;fib;fib 250\n" in folded and "main 100\n" in folded, folded)
    svg = run(zinst, "flame", "-o", "-", path).stdout
    check("hook cost subtracted" in svg, "flame subtitle: corrected")
    svg = run(zinst, "flame", "--raw", "-o", "-", path).stdout
    check("hook cost included" in svg, "flame subtitle: raw")
    # diff: like with like. Both calibrated: corrected; one side not: raw.
    out = run(zinst, "diff", path, path).stdout
    check("times:  each run's hook cost subtracted" in out, out)
    data = json.loads(run(zinst, "diff", "--json", sample, path).stdout)
    check(data["times"] == "raw", f"diff times: {data['times']}")
    out = run(zinst, "diff", sample, path).stdout
    check("times:  as measured, hook cost included: a profile has no calibration of it" in out,
          out)


CASES = {name[len("case_"):]: f for name, f in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        sys.exit(f"usage: check_cli.py ZINST SAMPLE COUNT_SAMPLE {{{','.join(CASES)}}}")
    CASES[sys.argv[4]](*sys.argv[1:4])
    print("ok")
