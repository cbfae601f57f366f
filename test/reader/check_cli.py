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
    check(run(zinst, "flags", "--compile").stdout.strip() ==
          f"-fpass-plugin={plugin} -I{include}", "compile")
    check(run(zinst, "flags", "--link").stdout.strip() ==
          f"-Wl,--whole-archive {runtime} -Wl,--no-whole-archive -lpthread "
          "-Wl,--export-dynamic-symbol=__zinst_*", "link")
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


CASES = {name[len("case_"):]: f for name, f in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        sys.exit(f"usage: check_cli.py ZINST SAMPLE COUNT_SAMPLE {{{','.join(CASES)}}}")
    CASES[sys.argv[4]](*sys.argv[1:4])
    print("ok")
