"""Tests of `zinst flame`, `zinst export`, `zinst diff` and `zinst merge`.

Each case checks exact numbers: the hand-made profiles (viz_profiles.c) have
known calls and ticks, so layouts, folded lines, pprof samples and sums are
asserted value by value. Every export is read back by an independent reader
of its format: a checker written from speedscope's file-format spec, protoc
with a profile.proto written from pprof's documented field numbers, and
Python's XML parser and a real Chromium for the flame graphs.

usage: check_viz.py --zinst Z --work DIR --src DIR [--protoc P] [--chromium C]
                    [--example-src DIR|FILE] [--example-dir DIR] [--zig ZIG] CASE
"""

import argparse
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
NS_PER_TICK = 0.5  # the builder's profiles run at 2 GHz


class Failure(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise Failure(message)


def expect_eq(what, got, want):
    if got != want:
        raise Failure(f"{what}: got {got!r}, want {want!r}")


class Env:
    def __init__(self, args):
        self.args = args
        self.zinst = args.zinst
        self.work = args.work

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, *argv, expect_status=0, cwd=None, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        result = subprocess.run([self.zinst, *argv], capture_output=True, cwd=cwd,
                                env=full_env)
        if expect_status is not None and result.returncode != expect_status:
            raise Failure(f"zinst {' '.join(argv)}: exit {result.returncode}, want "
                          f"{expect_status}\nstdout: {result.stdout.decode(errors='replace')}"
                          f"\nstderr: {result.stderr.decode(errors='replace')}")
        return result

    def text(self, *argv, **kwargs):
        return self.run(*argv, **kwargs).stdout.decode()

    def json(self, *argv):
        return json.loads(self.text(*argv))


# ---------------------------------------------------------------- folded


def folded_lines(text):
    lines = {}
    for line in text.splitlines():
        stack, _, value = line.rpartition(" ")
        expect(stack and value.isdigit(), f"not a folded line: {line!r}")
        expect(stack not in lines, f"stack {stack!r} twice")
        lines[stack] = int(value)
    return lines


def case_folded(env):
    got = folded_lines(env.text("export", "--format", "folded", env.path("sample.zinst")))
    # Self ticks per calling context, threads merged by path.
    expect_eq("folded, cycles", got, {
        "main": 100, "main;compute": 200, "main;compute;fib": 150,
        "main;compute;fib;fib": 250, "main;helper": 300,
        "compute": 100, "compute;fib": 400})
    got = folded_lines(env.text("export", "--format", "folded", "--weight", "calls",
                                env.path("sample.zinst")))
    # By calls, code inlined into a context is a frame above it, as wide as
    # its executions: square's 52, shared 40 / 12 by compute's calls.
    expect_eq("folded, calls", got, {
        "main": 1, "main;compute": 10, "main;compute;fib": 10,
        "main;compute;fib;fib": 20, "main;helper": 5, "compute": 3, "compute;fib": 4,
        "main;compute;square [inlined]": 40, "compute;square [inlined]": 12})
    # Count mode: calls (53) and inlined executions (52), without asking.
    got = folded_lines(env.text("export", "--format", "folded", env.path("count.zinst")))
    expect_eq("folded, count mode", sum(got.values()), 105)
    # One thread only.
    got = folded_lines(env.text("export", "--format", "folded", "--thread", "1002",
                                env.path("sample.zinst")))
    expect_eq("folded, thread 1002", got, {"compute": 100, "compute;fib": 400})
    got = folded_lines(env.text("export", "--format", "folded", "--thread", "1002", "--weight",
                                "calls", env.path("sample.zinst")))
    expect_eq("folded, thread 1002, calls", got, {"compute": 3, "compute;fib": 4,
                                                  "compute;square [inlined]": 12})
    # Into a file with -o.
    out = env.path("sample.folded")
    env.run("export", "--format", "folded", "-o", out, env.path("sample.zinst"))
    with open(out) as f:
        expect_eq("folded file lines", len(f.read().splitlines()), 7)


# ---------------------------------------------------------------- speedscope

SPEEDSCOPE_UNITS = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}


def check_speedscope_file(doc):
    """The structure speedscope's file-format-spec.ts documents, checked whole."""
    expect(isinstance(doc, dict), "top level is not an object")
    expect_eq("$schema", doc.get("$schema"), "https://www.speedscope.app/file-format-schema.json")
    expect(isinstance(doc.get("shared"), dict), "shared is not an object")
    frames = doc["shared"].get("frames")
    expect(isinstance(frames, list), "shared.frames is not a list")
    for i, frame in enumerate(frames):
        expect(isinstance(frame, dict) and isinstance(frame.get("name"), str),
               f"frame {i} has no name")
        expect(set(frame) <= {"name", "file", "line", "col"}, f"frame {i}: unknown keys")
        expect("file" not in frame or isinstance(frame["file"], str), f"frame {i}: file")
        for key in ("line", "col"):
            expect(key not in frame or isinstance(frame[key], (int, float)), f"frame {i}: {key}")
    profiles = doc.get("profiles")
    expect(isinstance(profiles, list) and profiles, "profiles is not a non-empty list")
    for key, kind in (("name", str), ("activeProfileIndex", int), ("exporter", str)):
        expect(key not in doc or isinstance(doc[key], kind), f"{key} has the wrong type")
    if "activeProfileIndex" in doc:
        expect(0 <= doc["activeProfileIndex"] < len(profiles), "activeProfileIndex out of range")
    for i, profile in enumerate(profiles):
        expect_eq(f"profile {i} type", profile.get("type"), "sampled")
        expect(isinstance(profile.get("name"), str), f"profile {i}: name")
        expect(profile.get("unit") in SPEEDSCOPE_UNITS, f"profile {i}: unit")
        start, end = profile.get("startValue"), profile.get("endValue")
        expect(isinstance(start, (int, float)) and isinstance(end, (int, float)) and end >= start,
               f"profile {i}: startValue/endValue")
        samples, weights = profile.get("samples"), profile.get("weights")
        expect(isinstance(samples, list) and isinstance(weights, list), f"profile {i}: lists")
        expect_eq(f"profile {i}: weights per sample", len(weights), len(samples))
        for stack in samples:
            expect(isinstance(stack, list) and stack, f"profile {i}: empty stack")
            for frame in stack:
                expect(isinstance(frame, int) and 0 <= frame < len(frames),
                       f"profile {i}: frame index {frame!r}")
        for weight in weights:
            expect(isinstance(weight, (int, float)) and weight >= 0, f"profile {i}: weight")


def case_speedscope(env):
    doc = env.json("export", "--format", "speedscope", env.path("sample.zinst"))
    check_speedscope_file(doc)
    names = [f["name"] for f in doc["shared"]["frames"]]
    expect_eq("frames", names, ["main", "compute", "fib", "helper"])
    expect_eq("frame 2", doc["shared"]["frames"][2], {"name": "fib", "file": "sample.c", "line": 30})
    main, worker = doc["profiles"]
    expect_eq("profile names", [main["name"], worker["name"]],
              ["thread 1001 main", "thread 1002 worker"])
    expect_eq("unit", main["unit"], "nanoseconds")

    def by_stack(profile):
        return {tuple(names[f] for f in s): w for s, w in zip(profile["samples"],
                                                               profile["weights"])}
    expect_eq("no inlined frame by cycles", [n for n in names if "inlined" in n], [])
    # Self ticks at 2 GHz, stacks root first.
    expect_eq("main thread samples", by_stack(main), {
        ("main",): 50, ("main", "compute"): 100, ("main", "compute", "fib"): 75,
        ("main", "compute", "fib", "fib"): 125, ("main", "helper"): 150})
    expect_eq("worker samples", by_stack(worker), {("compute",): 50, ("compute", "fib"): 200})
    expect_eq("main endValue", main["endValue"], 500)
    expect_eq("active profile (the main thread)", doc["activeProfileIndex"], 0)
    calls = env.json("export", "--format", "speedscope", "--weight", "calls",
                     env.path("sample.zinst"))
    check_speedscope_file(calls)
    expect_eq("calls unit", calls["profiles"][0]["unit"], "none")
    # By calls, an inlined callee is a frame of its own, "square [inlined]",
    # above its caller in each thread, weighted by its executions there:
    # per thread, compute has one context, so the counts are exact.
    names = [f["name"] for f in calls["shared"]["frames"]]
    expect_eq("frames by calls", names, ["main", "compute", "fib", "helper", "square [inlined]"])
    expect_eq("the inlined frame", calls["shared"]["frames"][4], {"name": "square [inlined]"})
    main, worker = calls["profiles"]
    expect_eq("main thread by calls", by_stack(main), {
        ("main",): 1, ("main", "compute"): 10, ("main", "compute", "square [inlined]"): 40,
        ("main", "compute", "fib"): 10, ("main", "compute", "fib", "fib"): 20,
        ("main", "helper"): 5})
    expect_eq("worker by calls", by_stack(worker), {
        ("compute",): 3, ("compute", "square [inlined]"): 12, ("compute", "fib"): 4})
    expect_eq("main endValue by calls", main["endValue"], 86)
    check_speedscope_file(env.json("export", "--format", "speedscope", env.path("count.zinst")))


# ---------------------------------------------------------------- pprof


def text_format_string(quoted):
    """A string of protoc's text format: C escapes (\\' \\" \\\\ \\n ...) and
    octal escapes of bytes (\\303\\251), decoded as UTF-8."""
    expect(len(quoted) >= 2 and quoted[0] == quoted[-1] == '"', f"not a string: {quoted}")
    body, out, i = quoted[1:-1], bytearray(), 0
    simple = {"n": 10, "t": 9, "r": 13, "'": 39, '"': 34, "\\": 92}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif body[i + 1] in simple:
            out.append(simple[body[i + 1]])
            i += 2
        else:
            expect(body[i + 1:i + 4].isdigit(), f"unknown escape in {quoted}")
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return out.decode()


def parse_text_format(text):
    """protoc's text output as nested dicts of lists: {"sample": [{...}], ...}."""
    root, stack = {}, []
    current = root
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.endswith("{"):
            child = {}
            current.setdefault(line[:-1].strip(), []).append(child)
            stack.append(current)
            current = child
        elif line == "}":
            current = stack.pop()
        else:
            key, _, value = line.partition(": ")
            value = text_format_string(value) if value.startswith('"') else int(value)
            current.setdefault(key, []).append(value)
    expect(not stack, "unbalanced protoc output")
    return root


def decode_pprof(env, path):
    expect(env.args.protoc, "protoc not found: install Debian's protobuf-compiler "
           "(scripts/install-deps.sh test)")
    with open(path, "rb") as f:
        data = f.read()
    expect_eq("gzip magic", data[:2], b"\x1f\x8b")
    raw = gzip.decompress(data)
    result = subprocess.run(
        [env.args.protoc, f"--proto_path={env.args.src}", "--decode=perftools.profiles.Profile",
         "profile.proto"], input=raw, capture_output=True)
    expect(result.returncode == 0, f"protoc failed: {result.stderr.decode()}")
    return parse_text_format(result.stdout.decode())


def case_pprof(env):
    out = env.path("sample.pb.gz")
    env.run("export", "--format", "pprof", "-o", out, env.path("sample.zinst"))
    p = decode_pprof(env, out)
    strings = p["string_table"]
    expect_eq("string 0", strings[0], "")
    expect_eq("strings unique", len(set(strings)), len(strings))

    def s(index_list):
        return strings[index_list[0]] if index_list else ""
    expect_eq("sample types", [(s(v["type"]), s(v["unit"])) for v in p["sample_type"]],
              [("calls", "count"), ("time", "nanoseconds")])
    expect_eq("default sample type", s(p["default_sample_type"]), "time")
    functions = {f["id"][0]: f for f in p["function"]}
    # square was inlined everywhere: a function without a file of its own.
    expect_eq("function names", sorted(s(f["name"]) for f in functions.values()),
              ["compute", "fib", "helper", "main", "square"])
    for f in functions.values():
        expect_eq("function file", s(f.get("filename", [])),
                  "" if s(f["name"]) == "square" else "sample.c")
    expect_eq("fib's start line",
              [f["start_line"][0] for f in functions.values() if s(f["name"]) == "fib"], [30])
    # A location is a function at a line, or with inlining several: the
    # inlined function first, "the last entry the caller into which the
    # preceding entries were inlined" (profile.proto).
    location_lines = {}
    for loc in p["location"]:
        location_lines[loc["id"][0]] = tuple(
            (s(functions[line["function_id"][0]]["name"]), line.get("line", [0])[0])
            for line in loc["line"])
    expect_eq("locations", sorted(location_lines.values()), [
        (("compute", 20),), (("fib", 30),), (("helper", 40),), (("main", 10),),
        (("square", 0), ("compute", 22))])
    location_function = {i: "+".join(name for name, _ in lines)
                         for i, lines in location_lines.items()}
    samples = {}
    for sample in p["sample"]:
        stack = tuple(location_function[i] for i in sample["location_id"])  # leaf first
        label = sample["label"][0]
        expect_eq("label key", s(label["key"]), "thread")
        key = (s(label["str"]), stack)
        expect(key not in samples, f"sample {key} twice")
        samples[key] = sample["value"]
    expect_eq("samples", samples, {
        ("thread 1001 main", ("main",)): [1, 50],
        ("thread 1001 main", ("compute", "main")): [10, 100],
        ("thread 1001 main", ("fib", "compute", "main")): [10, 75],
        ("thread 1001 main", ("fib", "fib", "compute", "main")): [20, 125],
        ("thread 1001 main", ("helper", "main")): [5, 150],
        ("thread 1002 worker", ("compute",)): [3, 50],
        ("thread 1002 worker", ("fib", "compute")): [4, 200],
        # square inlined into compute: its executions per thread, no time.
        ("thread 1001 main", ("square+compute", "main")): [40, 0],
        ("thread 1002 worker", ("square+compute",)): [12, 0]})
    expect_eq("time_nanos", p["time_nanos"], [1700000000000000000])
    expect_eq("duration_nanos", p["duration_nanos"], [1000])
    expect("zinst time-mode profile" in s(p["comment"]), "comment")
    # The sample has no hook calibration: its times are as measured, and a
    # second comment says so.
    expect_eq("comments", len(p["comment"]), 2)
    expect("times as measured" in strings[p["comment"][1]], "times comment")
    # Count mode: one value per sample, no time.
    out = env.path("count.pb.gz")
    env.run("export", "--format", "pprof", "-o", out, env.path("count.zinst"))
    p = decode_pprof(env, out)
    expect_eq("count-mode sample types", len(p["sample_type"]), 1)
    expect_eq("count-mode calls and inlined executions", sum(x["value"][0] for x in p["sample"]),
              53 + 52)
    expect(all(len(x["value"]) == 1 for x in p["sample"]), "count mode: one value each")


# ---------------------------------------------------------------- library code


def pprof_samples(env, profile, *options):
    """{(thread label, stack leaf first): values} and the function names of
    `zinst export --format pprof` of PROFILE, decoded by protoc."""
    out = env.path(os.path.basename(profile) + "-".join(("",) + options) + ".pb.gz")
    env.run("export", "--format", "pprof", *options, "-o", out, profile)
    p = decode_pprof(env, out)
    strings = p["string_table"]
    names = {f["id"][0]: strings[f["name"][0]] for f in p["function"]}
    location = {loc["id"][0]: tuple(names[line["function_id"][0]] for line in loc["line"])
                for loc in p["location"]}
    samples, seen = {}, set()
    for sample in p["sample"]:
        label = strings[sample["label"][0]["str"][0]]
        # One sample per thread and stack of locations...
        ids = (label, tuple(sample["location_id"]))
        expect(ids not in seen, f"sample {ids} twice")
        seen.add(ids)
        # ...but two sites of one callee in one caller are two locations
        # (two lines) with the same function names: by names, they add up.
        key = (label, tuple(location[i] for i in sample["location_id"]))
        previous = samples.get(key, [0] * len(sample["value"]))
        samples[key] = [a + b for a, b in zip(previous, sample["value"])]
    return samples, sorted(names.values())


def case_export_hooks(env):
    """The exports show the times the reports show: the hooks' cost
    subtracted (hooks.zinst carries a calibration; check_cli.py's
    hooks_views derives the corrected self ticks by hand), as measured with
    --raw, and each file says which (speedscope's name, pprof's comment)."""
    corrected = {  # self ns per context (ticks / 2, rounded down), root first
        ("thread 1001 main", ("main",)): 27,
        ("thread 1001 main", ("main", "compute")): 80,
        ("thread 1001 main", ("main", "compute", "fib")): 40,
        ("thread 1001 main", ("main", "compute", "fib", "fib")): 115,
        ("thread 1001 main", ("main", "helper")): 147,
        ("thread 1002 worker", ("compute",)): 42,
        ("thread 1002 worker", ("compute", "fib")): 198}
    raw = {
        ("thread 1001 main", ("main",)): 50,
        ("thread 1001 main", ("main", "compute")): 100,
        ("thread 1001 main", ("main", "compute", "fib")): 75,
        ("thread 1001 main", ("main", "compute", "fib", "fib")): 125,
        ("thread 1001 main", ("main", "helper")): 150,
        ("thread 1002 worker", ("compute",)): 50,
        ("thread 1002 worker", ("compute", "fib")): 200}
    profile = env.path("hooks.zinst")
    for options, want, note in (((), corrected, "hook cost subtracted"),
                                (("--raw",), raw, "hook cost included")):
        doc = env.json("export", "--format", "speedscope", *options, profile)
        check_speedscope_file(doc)
        expect_eq(f"speedscope name {options}", doc["name"], f"sample ({note})")
        names = [f["name"] for f in doc["shared"]["frames"]]
        got = {(p["name"], tuple(names[f] for f in stack)): w
               for p in doc["profiles"] for stack, w in zip(p["samples"], p["weights"])}
        expect_eq(f"speedscope weights {options}", got, want)
        out = env.path("hooks" + "".join(options) + ".pb.gz")
        env.run("export", "--format", "pprof", *options, "-o", out, profile)
        p = decode_pprof(env, out)
        strings = p["string_table"]
        names = {f["id"][0]: strings[f["name"][0]] for f in p["function"]}
        lines = {loc["id"][0]: [names[line["function_id"][0]] for line in loc["line"]]
                 for loc in p["location"]}
        got = {}
        for sample in p["sample"]:
            stack = [lines[i] for i in sample["location_id"]]
            if len(stack[0]) > 1:  # inlined code: executions, no time
                expect_eq("inlined code's time", sample["value"][1], 0)
                continue
            label = strings[sample["label"][0]["str"][0]]
            got[(label, tuple(s[0] for s in reversed(stack)))] = sample["value"][1]
        expect_eq(f"pprof self times {options}", got, want)
        comments = [strings[c] for c in p["comment"]]
        expect(any(c.startswith("hook cost subtracted in full (out-of-order execution may have "
                                "hidden part of it): 2.00 ns per call" if not options
                                else "times as measured, hook cost included: 2.00 ns per call")
                   for c in comments), f"pprof comments {options}: {comments}")
    # By calls the weights are counts: the name says nothing of times.
    doc = env.json("export", "--format", "speedscope", "--weight", "calls", profile)
    expect_eq("speedscope name by calls", doc["name"], "sample")
    # Folded (no room for a note): the corrected self ticks, --raw the measured.
    folded = folded_lines(env.text("export", "--format", "folded", profile))
    expect_eq("folded main;compute;fib;fib", folded["main;compute;fib;fib"], 230)
    folded = folded_lines(env.text("export", "--format", "folded", "--raw", profile))
    expect_eq("folded --raw main;compute;fib;fib", folded["main;compute;fib;fib"], 250)


def case_export_library(env):
    """Library code (Zig's std, say) is grouped in every export as in zinst
    tree: each run of library frames is one "[library]" frame; with
    --show-library every function is listed. The library sample
    (profile_builder.h): 1 GHz, so ns = ticks."""
    path = env.path("library.zinst")
    grouped = {
        "[library]": 100, "[library];main": 100, "[library];main;[library]": 300,
        "[library];main;[library];lessThan": 200, "[library];main;work": 200,
        "[library];main;work;[library]": 100}
    expect_eq("folded, grouped", folded_lines(env.text("export", "--format", "folded", path)),
              grouped)
    expect_eq("folded, calls, grouped", folded_lines(env.text(
        "export", "--format", "folded", "--weight", "calls", path)), {
        "[library]": 1, "[library];main": 1, "[library];main;[library]": 2,
        "[library];main;[library];lessThan": 40, "[library];main;work": 4,
        "[library];main;work;[library]": 4,
        # Inlined code: square in work is drawn; std.math.order inside
        # grouped library code and tiny in helper (inlined everywhere) not.
        "[library];main;work;square [inlined]": 12})
    expect_eq("folded, --show-library", folded_lines(env.text(
        "export", "--format", "folded", "--show-library", path)), {
        "start.callMain": 100, "start.callMain;main": 100,
        "start.callMain;main;std.sort.insertion": 150,
        "start.callMain;main;std.sort.insertion;lessThan": 200,
        "start.callMain;main;std.sort.insertion;std.mem.swap": 150,
        "start.callMain;main;work": 200, "start.callMain;main;work;std.fmt.format": 60,
        "start.callMain;main;work;std.fmt.format;std.mem.swap": 40})
    # The same totals as zinst report's grouped row: 500 self, 7 calls.
    expect_eq("library self", sum(v for k, v in grouped.items() if k.endswith("[library]")), 500)

    doc = env.json("export", "--format", "speedscope", path)
    check_speedscope_file(doc)
    frames = [f["name"] for f in doc["shared"]["frames"]]
    expect_eq("speedscope frames", frames, [
        "start.callMain", "main", "std.sort.insertion", "lessThan", "std.mem.swap", "work",
        "std.fmt.format", "[library]"])
    expect_eq("the group's frame", doc["shared"]["frames"][7], {"name": "[library]"})
    (thread,) = doc["profiles"]
    expect_eq("speedscope samples, grouped", {
        ";".join(frames[i] for i in stack): w
        for stack, w in zip(thread["samples"], thread["weights"])}, grouped)
    doc = env.json("export", "--format", "speedscope", "--show-library", path)
    check_speedscope_file(doc)
    expect_eq("speedscope frames, --show-library", len(doc["shared"]["frames"]), 7)
    expect_eq("speedscope samples, --show-library", len(doc["profiles"][0]["samples"]), 8)

    # Grouped, the library functions are not in pprof's function table
    # either: only the functions the samples name.
    samples, names = pprof_samples(env, path)
    expect_eq("pprof functions", names, sorted(["main", "lessThan", "work", "[library]",
                                                "square"]))
    t = "thread 7001 main"
    expect_eq("pprof samples, grouped", samples, {
        (t, (("[library]",),)): [1, 100],
        (t, (("main",), ("[library]",))): [1, 100],
        (t, (("[library]",), ("main",), ("[library]",))): [2, 300],
        (t, (("lessThan",), ("[library]",), ("main",), ("[library]",))): [40, 200],
        (t, (("work",), ("main",), ("[library]",))): [4, 200],
        (t, (("[library]",), ("work",), ("main",), ("[library]",))): [4, 100],
        (t, (("square", "work"), ("main",), ("[library]",))): [12, 0]})
    samples, names = pprof_samples(env, path, "--show-library")
    expect_eq("pprof functions, --show-library", names, sorted([
        "start.callMain", "main", "std.sort.insertion", "lessThan", "std.mem.swap", "work",
        "std.fmt.format", "square", "std.math.order"]))
    expect_eq("pprof samples, --show-library", len(samples), 10)
    expect_eq("std.math.order inlined into std.sort.insertion", samples[
        (t, (("std.math.order", "std.sort.insertion"), ("main",), ("start.callMain",)))], [70, 0])
    expect_eq("pprof calls of std.mem.swap, --show-library",
              sum(v[0] for (_, stack), v in samples.items() if stack[0] == ("std.mem.swap",)), 38)


# ---------------------------------------------------------------- flame


def flame_frames(path):
    root = ET.parse(path).getroot()
    expect_eq("root element", root.tag, SVG + "svg")
    frames = []
    for g in root.iter(SVG + "g"):
        if "frame" not in g.get("class", "").split():
            continue
        rect = g.find(SVG + "rect")
        frames.append({"name": g.get("data-name"), "depth": int(g.get("data-depth")),
                       "x": int(rect.get("data-x")), "w": int(rect.get("data-w")),
                       "px": float(rect.get("x")), "pw": float(rect.get("width")),
                       "y": float(rect.get("y")), "fill": rect.get("fill"),
                       "title": g.find(SVG + "title").text, "merged": "merged" in g.get("class")})
    scripts = root.findall(SVG + "script")
    expect_eq("scripts", len(scripts), 1)
    expect("window.zinstFlame" in scripts[0].text, "the script is embedded")
    expect(not re.search(r'(href|src)\s*=\s*"(https?:)?//', ET.tostring(root).decode()),
           "nothing loaded from elsewhere")
    return root, frames


def frame_set(frames):
    return {(f["name"], f["depth"], f["x"], f["w"]) for f in frames}


def case_flame(env):
    out = env.path("sample.svg")
    result = env.run("flame", "-o", out, env.path("sample.zinst"))
    expect_eq("stderr", result.stderr.decode(), f"zinst flame: wrote {out}: 8 frames\n")
    root, frames = flame_frames(out)
    expect_eq("total", root.get("data-total"), "1500")
    # Widths: self ticks summed over each subtree; children in name order.
    expect_eq("frames", frame_set(frames), {
        ("all (sample)", 0, 0, 1500),
        ("compute", 1, 0, 500), ("fib", 2, 0, 400),
        ("main", 1, 500, 1000), ("compute", 2, 500, 600), ("fib", 3, 500, 400),
        ("fib", 4, 500, 250), ("helper", 2, 1100, 300)})
    main = next(f for f in frames if f["name"] == "main")
    expect(abs(main["pw"] - 1000 / 1500 * 1180) < 0.01, "main's pixel width")
    expect(abs(main["px"] - (10 + 500 / 1500 * 1180)) < 0.01, "main's pixel offset")
    expect("calls: 1 (1 timed)" in main["title"] and "sample.c:10" in main["title"],
           f"main's tooltip: {main['title']!r}")
    expect("total: 500 ns, 1000 cycles" in main["title"], "main's tooltip time")
    # Flame: deeper frames higher up; icicle: the other way.
    depth_y = {f["depth"]: f["y"] for f in frames}
    expect(depth_y[0] > depth_y[1] > depth_y[4], "flame: the root at the bottom")
    env.run("flame", "--icicle", "-o", env.path("sample-icicle.svg"), env.path("sample.zinst"))
    root, icicle = flame_frames(env.path("sample-icicle.svg"))
    expect_eq("icicle attribute", root.get("data-icicle"), "1")
    depth_y = {f["depth"]: f["y"] for f in icicle}
    expect(depth_y[0] < depth_y[1] < depth_y[4], "icicle: the root at the top")
    expect_eq("icicle frames", frame_set(icicle), frame_set(frames))
    # By calls: calls made in each subtree, and the executions of the code
    # inlined there (case flame_inlined checks those frames in detail):
    # square's 52 executions are compute's, shared 40 / 12 by its calls.
    env.run("flame", "--weight", "calls", "-o", env.path("sample-calls.svg"),
            env.path("sample.zinst"))
    _, calls = flame_frames(env.path("sample-calls.svg"))
    expect_eq("calls frames", {(f["name"], f["depth"], f["w"]) for f in calls}, {
        ("all (sample)", 0, 105), ("compute", 1, 19), ("fib", 2, 4), ("square [inlined]", 2, 12),
        ("main", 1, 86), ("compute", 2, 80), ("fib", 3, 30), ("fib", 4, 20),
        ("square [inlined]", 3, 40), ("helper", 2, 5)})
    # Count mode: calls by default (53 calls, 52 inlined executions), cycles refused.
    env.run("flame", "-o", env.path("count.svg"), env.path("count.zinst"))
    root, _ = flame_frames(env.path("count.svg"))
    expect_eq("count-mode total", root.get("data-total"), "105")
    err = env.run("flame", "--weight", "cycles", "-o", env.path("x.svg"), env.path("count.zinst"),
                  expect_status=1).stderr.decode()
    expect("count-mode profile" in err, err)
    expect(not os.path.exists(env.path("x.svg")), "no output after a refusal")
    # --thread
    env.run("flame", "--thread", "1002", "-o", env.path("worker.svg"), env.path("sample.zinst"))
    _, worker = flame_frames(env.path("worker.svg"))
    expect_eq("worker frames", {(f["name"], f["w"]) for f in worker},
              {("all (sample)", 500), ("compute", 500), ("fib", 400)})


def legend_of(root):
    """The legend line's text and whether it starts with a swatch (None: no legend)."""
    for g in root.iter(SVG + "g"):
        if g.get("id") == "zf-legend":
            return g.find(SVG + "text").text, g.find(SVG + "rect") is not None
    return None


def case_flame_inlined(env):
    """Inlined code as frames: with --weight calls a child frame per inlined
    callee, as wide as its executions, marked (class, color, outline,
    legend); with --weight cycles none, and the legend says why."""
    out = env.path("sample-calls.svg")
    env.run("flame", "--weight", "calls", "-o", out, env.path("sample.zinst"))
    root, frames = flame_frames(out)
    expect_eq("subtitle", next(t.text for t in root.iter(SVG + "text")
                               if t.get("id") == "zf-subtitle"),
              # The sample has no hook calibration: its times (tooltips) are as measured.
              "sample.zinst, width: calls and inlined executions in the subtree, "
              "hook cost included")
    expect_eq("legend", legend_of(root), (
        "[inlined]: code the compiler inlined into the frame below, 52 executions", True))
    inlined = sorted((f for f in frames if f["name"].endswith(" [inlined]")), key=lambda f: f["x"])
    # The worker's compute (x 0..19: 3 calls, fib 4) then main's (x 20..105:
    # main 1, its compute 10 calls, fib 30), each with its children in name
    # order: fib before square.
    expect_eq("inlined frames (name, depth, x, w)",
              [(f["name"], f["depth"], f["x"], f["w"]) for f in inlined],
              [("square [inlined]", 2, 4, 12), ("square [inlined]", 3, 49, 40)])
    tree = ET.parse(out).getroot()
    classes = {g.get("data-name") + "@" + g.get("data-depth"): g.get("class")
               for g in tree.iter(SVG + "g") if g.get("data-name")}
    expect_eq("classes", (classes["square [inlined]@3"], classes["compute@2"]),
              ("frame inlined", "frame"))
    # A cool color (blue the largest component) where called frames are warm (red).
    for f in inlined:
        r, g, b = map(int, re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", f["fill"]).groups())
        expect(b > g > r, f"inlined frame color {f['fill']}")
    compute = next(f for f in frames if f["name"] == "compute" and f["depth"] == 2)
    r, g, b = map(int, re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", compute["fill"]).groups())
    expect(r > g and r > b, f"called frame color {compute['fill']}")
    expect_eq("tooltip of main's square", inlined[1]["title"], "\n".join([
        "square [inlined]", "40 calls, 38.10% of the total",
        "inlined into compute: ~40 executions",
        "executions: 40 (a share of the sites' counts, by the caller's calls per context)",
        "no time of its own: it is part of compute's self time",
        "sites: sample.c:22:3 (40)"]))
    # One thread: compute has one context, the count is exact (no '~').
    out = env.path("worker-calls.svg")
    env.run("flame", "--weight", "calls", "--thread", "1002", "-o", out, env.path("sample.zinst"))
    _, frames = flame_frames(out)
    expect_eq("worker frames", {(f["name"], f["depth"], f["w"]) for f in frames}, {
        ("all (sample)", 0, 19), ("compute", 1, 19), ("fib", 2, 4), ("square [inlined]", 2, 12)})
    square = next(f for f in frames if f["name"] == "square [inlined]")
    expect("inlined into compute: 12 executions\nexecutions: 12\n" in square["title"],
           square["title"])
    # By cycles: no inlined frame (no time of their own), and the legend says so.
    out = env.path("sample-cycles.svg")
    env.run("flame", "-o", out, env.path("sample.zinst"))
    root, frames = flame_frames(out)
    expect_eq("inlined frames by cycles", [f for f in frames if "inlined" in f["name"]], [])
    expect_eq("legend by cycles", legend_of(root), (
        "52 executions of inlined code are not drawn: their time is their callers' self time "
        "(--weight calls draws them)", False))
    # Frames sit below the legend line: the graph is one line taller.
    expect_eq("height with a legend", root.get("height"), str(54 + 18 + 5 * 16 + 28))
    # A profile without inlining data: no legend.
    root, _ = flame_frames_of(env, "wide.zinst")
    expect_eq("no legend", legend_of(root), None)


def flame_frames_of(env, profile):
    out = env.path(profile + ".svg")
    env.run("flame", "-o", out, env.path(profile))
    return flame_frames(out)


def case_flame_wide(env):
    out = env.path("wide.svg")
    result = env.run("flame", "-o", out, env.path("wide.zinst"))
    expect_eq("stderr", result.stderr.decode(),
              f"zinst flame: wrote {out}: 4 frames, 50 narrow frames merged into 1 boxes\n")
    _, frames = flame_frames(out)
    expect_eq("frames", {(f["name"], f["depth"], f["x"], f["w"], f["merged"]) for f in frames}, {
        ("all (wide)", 0, 0, 101500, False), ("main", 1, 0, 101500, False),
        ("big", 2, 0, 100000, False), ("[50 small frames]", 2, 100000, 500, True)})
    box = next(f for f in frames if f["merged"])
    expect("50 calling contexts under 50 sibling frames" in box["title"], box["title"])
    env.run("flame", "--min-width", "0", "-o", env.path("wide-all.svg"), env.path("wide.zinst"))
    _, frames = flame_frames(env.path("wide-all.svg"))
    expect_eq("every frame", len(frames), 53)
    expect_eq("tiny widths", sorted({f["w"] for f in frames if f["name"].startswith("tiny_")}),
              [10])


# ---------------------------------------------------------------- merge


def report_by_name(env, path, *extra):
    report = env.json("report", "--json", *extra, path)
    return {f["name"]: f for f in report["functions"]}, report


def tree_paths(env, path, per_thread=False):
    """{(thread name or None, path tuple): node} from `zinst tree --json`."""
    doc = env.json("tree", "--json", *(["--per-thread"] if per_thread else []), path)
    out = {}

    def walk(nodes, prefix, thread):
        for node in nodes:
            key = (thread, prefix + (node["name"],))
            expect(key not in out, f"context {key} twice")
            out[key] = node
            walk(node["children"], prefix + (node["name"],), thread)
    if per_thread:
        for index, t in enumerate(doc["threads"]):
            walk(t["roots"], (), (t["name"], t["tid"], index))
    else:
        walk(doc["roots"], (), None)
    return out


def case_merge(env):
    sample, grown = env.path("sample.zinst"), env.path("grown.zinst")
    out = env.path("merged.zinst")
    result = env.run("merge", "-o", out, sample, grown)
    expect_eq("stderr", result.stderr.decode(),
              f"zinst merge: wrote {out}: 2 profiles, 4 threads, 4 functions, "
              "14 calling contexts, 140 calls\n")
    a, _ = report_by_name(env, sample)
    b, _ = report_by_name(env, grown)
    m, report = report_by_name(env, out)
    expect_eq("threads", report["profile"]["threads"], 4)
    expect_eq("processes of the merge", report["profile"]["processes"], 2)
    expect_eq("processes of one run", report_by_name(env, sample)[1]["profile"]["processes"], 1)
    for name in ("main", "compute", "fib", "helper"):
        for key in ("calls", "self_ticks", "total_ticks", "timed_calls"):
            expect_eq(f"{name} {key}", m[name][key], a[name][key] + b[name][key])
    expect_eq("fib calls", m["fib"]["calls"], 34 + 68)
    expect_eq("fib self ticks", m["fib"]["self_ticks"], 800 + 2400)
    # Every input thread kept, with its own tree.
    per_thread = tree_paths(env, out, per_thread=True)
    expect_eq("threads of the merge", sorted({k[0] for k in per_thread}),
              [("main", 1001, 0), ("main", 1001, 2), ("worker", 1002, 1), ("worker", 1002, 3)])
    expect_eq("contexts of the merge", len(per_thread), 14)
    expect_eq("fib under compute, second copy",
              per_thread[(("main", 1001, 2), ("main", "compute", "fib"))]["calls"], 20)
    # Threads merged by name: exact sums per calling context.
    out2 = env.path("merged-threads.zinst")
    env.run("merge", "--merge-threads", "-o", out2, sample, grown)
    paths = tree_paths(env, out2, per_thread=True)
    main_thread = ("main", 0, 0)
    expect_eq("merged thread ids", sorted({k[0] for k in paths}), [main_thread, ("worker", 0, 1)])
    node = paths[(main_thread, ("main", "compute", "fib"))]
    expect_eq("main>compute>fib calls", node["calls"], 10 + 20)
    expect_eq("main>compute>fib total", node["total_ticks"], 400 + 1200)
    expect_eq("main>compute>fib self", node["self_ticks"], 150 + 450)
    node = paths[(("worker", 0, 1), ("compute",))]
    expect_eq("worker compute total", node["total_ticks"], 500 + 1300)
    dump = env.text("dump", out2)
    expect('name=@77"main" flags=0x6 ' in dump and "thread_count=2" in dump,
           f"main thread: MAIN|MERGED, 2 threads\n{dump}")
    expect('"worker" flags=0x3 ' in dump, "worker: EXITED|MERGED")
    expect_eq("processes of the thread merge",
              report_by_name(env, out2)[1]["profile"]["processes"], 2)
    # The merge of one profile with itself doubles every number.
    out3 = env.path("doubled.zinst")
    env.run("merge", "--merge-threads", "-o", out3, sample, sample)
    doubled = tree_paths(env, out3)
    single = tree_paths(env, sample)
    expect_eq("same contexts", set(doubled), set(single))
    for key, node in single.items():
        for field in ("calls", "total_ticks", "self_ticks", "timed_calls"):
            expect_eq(f"{key} {field}", doubled[key][field], 2 * node[field])
    # Sampled errors add in quadrature: sqrt(30^2 + 30^2) = 42.43 -> 42.
    out4 = env.path("sampled-twice.zinst")
    env.run("merge", "--merge-threads", "-o", out4, env.path("sampled.zinst"),
            env.path("sampled.zinst"))
    paths = tree_paths(env, out4, per_thread=True)
    deep = paths[(main_thread, ("main", "compute", "fib", "fib"))]
    expect_eq("deep fib error", deep["total_ticks_error"], 42)
    expect_eq("deep fib timed calls", deep["timed_calls"], 12)
    mid = paths[(main_thread, ("main", "compute", "fib"))]
    expect_eq("fib error", mid["total_ticks_error"], 57)  # sqrt(2) * 40 = 56.57
    expect_eq("fib self error", mid["self_ticks_error"], 71)  # sqrt(2) * 50 = 70.71
    # The output is a profile like any other: the exports read it.
    got = folded_lines(env.text("export", "--format", "folded", out3))
    expect_eq("folded of the doubled profile", got["main;compute;fib;fib"], 500)


def case_merge_refusals(env):
    sample = env.path("sample.zinst")
    out = env.path("refused.zinst")
    if os.path.exists(out):
        os.unlink(out)
    err = env.run("merge", "-o", out, sample, env.path("other.zinst"),
                  expect_status=1).stderr.decode()
    expect("different programs" in err and "/opt/other/bin/other" in err, err)
    err = env.run("merge", "-o", out, sample, env.path("rebuilt.zinst"),
                  expect_status=1).stderr.decode()
    expect("added" in err and "not the same build" in err, err)
    err = env.run("merge", "-o", out, env.path("rebuilt.zinst"), sample,
                  expect_status=1).stderr.decode()
    expect("4 of the 5 functions" in err, err)
    expect(not os.path.exists(out), "no output after a refusal")
    err = env.run("merge", "--force", "-o", out, sample, env.path("count.zinst"),
                  expect_status=1).stderr.decode()
    expect("count-mode" in err and "cannot be summed" in err, err)
    # --force: different binaries merged, functions united.
    env.run("merge", "--force", "-o", out, sample, env.path("rebuilt.zinst"),
            env.path("other.zinst"))
    m, report = report_by_name(env, out)
    expect_eq("called functions", sorted(m), ["compute", "fib", "helper", "main"])
    dump = env.text("dump", out)
    expect("functions: 5\n" in dump and '"added"' in dump, "the function table of the union")
    expect_eq("fib calls", m["fib"]["calls"], 3 * 34)
    expect_eq("threads", report["profile"]["threads"], 6)
    err = env.run("merge", "-o", out, expect_status=2).stderr.decode()
    expect("missing PROFILE" in err, err)
    err = env.run("merge", sample, expect_status=2).stderr.decode()
    expect("missing -o" in err, err)
    err = env.run("merge", "-o", out, env.path("missing.zinst"), expect_status=1).stderr.decode()
    expect("missing.zinst" in err, err)


# ---------------------------------------------------------------- diff


def diff_rows(doc):
    functions = {f["name"]: f for f in doc["functions"]}
    contexts = {tuple(c["path"]): c for c in doc["contexts"]}
    return functions, contexts


def case_diff(env):
    doc = env.json("diff", "--json", env.path("sample.zinst"), env.path("grown.zinst"))
    expect_eq("time unit", doc["time_unit"], "ns")
    functions, contexts = diff_rows(doc)
    fib = functions["fib"]
    expect_eq("fib calls", (fib["calls"]["base"], fib["calls"]["new"], fib["calls"]["delta"]),
              (34, 68, 34))
    expect_eq("fib self", (fib["self"]["base"], fib["self"]["new"], fib["self"]["delta"]),
              (400, 1200, 800))
    expect_eq("fib self noise", fib["self"]["noise"], False)
    expect_eq("first function (largest self change)", doc["functions"][0]["name"], "fib")
    expect_eq("helper unchanged", functions["helper"]["self"]["delta"], 0)
    expect_eq("compute total change", functions["compute"]["total"]["delta"], 800)
    ctx = contexts[("compute", "fib")]
    expect_eq("compute>fib self", (ctx["self"]["base"], ctx["self"]["new"]), (200, 600))
    expect_eq("first context", doc["contexts"][0]["path"], ["compute", "fib"])
    expect_eq("context count", len(contexts), 7)
    expect_eq("calls of main>compute>fib>fib",
              contexts[("main", "compute", "fib", "fib")]["calls"]["delta"], 20)
    # Sorting by calls.
    doc = env.json("diff", "--json", "--sort", "calls", env.path("sample.zinst"),
                   env.path("grown.zinst"))
    expect_eq("first by calls", doc["functions"][0]["name"], "fib")
    expect_eq("first context by calls", doc["contexts"][0]["path"], ["main", "compute", "fib", "fib"])
    # The text tables.
    text = env.text("diff", env.path("sample.zinst"), env.path("grown.zinst"))
    expect("one run per side" in text, text)
    fib_line = next(l for l in text.splitlines() if l.rstrip().endswith("fib  sample.c:30"))
    expect("+800 ns (+200.0%)" in fib_line and "+34 (+100.0%)" in fib_line, fib_line)
    expect("(no change)" not in text, text)
    text = env.text("diff", env.path("sample.zinst"), env.path("sample.zinst"))
    expect_eq("no change, twice", text.count("(no change)"), 2)
    # Count mode: calls only.
    doc = env.json("diff", "--json", env.path("count.zinst"), env.path("sample.zinst"))
    expect_eq("count-mode time unit", doc["time_unit"], None)
    expect("self" not in doc["functions"][0], "no times in count mode")


def case_diff_noise(env):
    base = [env.path(f"base-{i}.zinst") for i in (1, 2, 3)]
    new = [env.path(f"new-{i}.zinst") for i in (1, 2, 3)]
    doc = env.json("diff", "--json", *base, "--", *new)
    expect_eq("sides", (len(doc["base"]), len(doc["new"])), (3, 3))
    functions, contexts = diff_rows(doc)
    helper = functions["helper"]["self"]
    # base: 135, 150, 165 ns; new: 160.5, 153, 145.5 ns.
    expect_eq("helper means", (helper["base"], helper["new"]), (150, 153))
    expect_eq("helper delta", helper["delta"], 3)
    expect(abs(helper["error"] - (75 + 18.75) ** 0.5) < 1e-3, f"helper error {helper['error']}")
    expect_eq("helper is noise", helper["noise"], True)
    deep = contexts[("main", "compute", "fib", "fib")]["self"]
    expect_eq("deep fib change", (deep["base"], deep["new"], deep["delta"]), (125, 325, 200))
    expect_eq("deep fib is real", deep["noise"], False)
    expect_eq("first function", doc["functions"][0]["name"], "fib")
    text = env.text("diff", *base, "--", *new)
    helper_line = next(l for l in text.splitlines() if l.rstrip().endswith("helper  sample.c:40"))
    expect(" noise " in helper_line, helper_line)
    fib_line = next(l for l in text.splitlines() if l.rstrip().endswith("fib  sample.c:30"))
    expect(" noise " not in fib_line, fib_line)
    # Sampled errors count too, even with one run per side: the deep fib of
    # sampled.zinst has a 30-tick error (15 ns), the change of 0.5 ns is noise.
    doc = env.json("diff", "--json", env.path("sample.zinst"), env.path("sampled.zinst"))
    _, contexts = diff_rows(doc)
    expect_eq("sampled unchanged", contexts[("main", "compute", "fib", "fib")]["self"]["delta"], 0)
    err = env.run("diff", env.path("sample.zinst"), expect_status=2).stderr.decode()
    expect("BASE and NEW expected" in err, err)
    err = env.run("diff", env.path("sample.zinst"), "--", expect_status=2).stderr.decode()
    expect("each side" in err, err)


def case_diff_flame(env):
    base = [env.path(f"base-{i}.zinst") for i in (1, 2, 3)]
    new = [env.path(f"new-{i}.zinst") for i in (1, 2, 3)]
    out = env.path("diff.svg")
    env.run("diff", "--flame", out, *base, "--", *new)
    root, frames = flame_frames(out)
    expect_eq("differential", root.get("data-differential"), "1")
    by_path = {}
    for f in frames:
        by_path.setdefault((f["name"], f["depth"]), []).append(f)
    deep = by_path[("fib", 4)][0]
    expect_eq("deep fib width (new's self, ns)", deep["w"], 325)
    expect(deep["fill"].startswith("rgb(255,"), f"deep fib grew: red, got {deep['fill']}")
    helper = by_path[("helper", 2)][0]
    expect_eq("helper is grey (noise)", helper["fill"], "rgb(224,224,224)")
    expect("(noise)" in helper["title"], helper["title"])
    # Shrinking is blue: grown -> sample.
    out = env.path("diff-shrink.svg")
    env.run("diff", "--flame", out, env.path("grown.zinst"), env.path("sample.zinst"))
    _, frames = flame_frames(out)
    fib = next(f for f in frames if f["name"] == "fib" and f["depth"] == 4)
    expect(re.fullmatch(r"rgb\((\d+),\1,255\)", fib["fill"]), f"fib shrank: blue, got {fib['fill']}")


def case_usage(env):
    for argv, message in (
            (["flame", env.path("sample.zinst")], "missing -o"),
            (["flame", "-o", "x.svg"], "missing PROFILE"),
            (["flame", "--weight", "size", "-o", "x", "p"], "--weight wants"),
            (["export", "--format", "folded", "--weight", "leaks", "p"], "--weight wants"),
            (["flame", "--min-width", "-1", "-o", "x", "p"], "--min-width wants"),
            (["export", env.path("sample.zinst")], "missing --format"),
            (["export", "--format", "json", "p"], "--format wants"),
            (["export", "--format", "pprof", "--weight", "calls", "p"], "does not apply"),
            (["export", "--format", "pprof", "--weight", "bytes", "p"], "-sample_index"),
            (["diff", "--sort", "size", "a", "b"], "--sort wants")):
        err = env.run(*argv, expect_status=2).stderr.decode()
        expect(message in err, f"{argv}: {err}")
    for command in ("flame", "export", "diff", "merge"):
        expect(env.text(command, "--help").startswith(f"usage: zinst {command}"), command)
        expect(command in env.text("--help"), f"{command} in zinst --help")
    err = env.run("flame", "-o", env.path("y.svg"), env.path("missing.zinst"),
                  expect_status=1).stderr.decode()
    expect("missing.zinst" in err, err)
    err = env.run("flame", "-o", os.path.join(env.path("no-such-dir"), "f.svg"),
                  env.path("sample.zinst"), expect_status=1).stderr.decode()
    expect("no-such-dir" in err, err)
    # -o naming a stream (here the null device, through a symlink, so that
    # the test never touches /dev/null itself) is written in place, never
    # renamed over; a directory is refused.
    to_null = env.path("to-null.svg")
    if os.path.lexists(to_null):
        os.remove(to_null)
    os.symlink("/dev/null", to_null)
    for command in (["flame"], ["export", "--format", "folded"], ["merge"]):
        env.run(*command, "-o", to_null, env.path("sample.zinst"))
        expect(os.path.islink(to_null) and os.readlink(to_null) == "/dev/null",
               f"zinst {command[0]} -o replaced the symlink to the null device")
    directory = env.path("out-dir.svg")
    os.makedirs(directory, exist_ok=True)
    err = env.run("flame", "-o", directory, env.path("sample.zinst"),
                  expect_status=1).stderr.decode()
    expect_eq("-o a directory", err, f"zinst flame: cannot write {directory}: it is a directory\n")
    expect_eq("the directory's contents", os.listdir(directory), [])


# ---------------------------------------------------------------- memory


def case_memory_weights(env):
    """Memory as the weight (memory.zinst: the sample with memory records):
    folded lines and flame widths are the bytes, allocations and live bytes
    of each context summed exactly, threads merged by path; memory of no
    instrumented function is the frame "[no instrumented function]";
    speedscope and pprof carry the same numbers; titles say the weight; a
    profile without memory records is refused, saying how to get them."""
    profile = env.path("memory.zinst")
    nofn = "[no instrumented function]"

    def folded(*options):
        return folded_lines(env.text("export", "--format", "folded", *options, profile))
    expect_eq("folded, bytes", folded("--weight", "bytes"), {
        nofn: 38, "main;compute": 400, "main;compute;fib;fib": 64, "main;helper": 1000,
        "compute": 100, "compute;fib": 500})
    expect_eq("folded, allocs", folded("--weight", "allocs"), {
        nofn: 4, "main;compute": 4, "main;compute;fib;fib": 2, "main;helper": 1,
        "compute": 10, "compute;fib": 5})
    # Live at exit: 30 - 10 + 8 with no function; contexts that freed all are left out.
    expect_eq("folded, live", folded("--weight", "live"), {
        nofn: 28, "main;compute": 100, "main;helper": 1000, "compute;fib": 100})
    expect_eq("folded, bytes, thread 1002", folded("--weight", "bytes", "--thread", "1002"),
              {nofn: 8, "compute": 100, "compute;fib": 500})
    # Still the time by default, with no memory frame.
    expect_eq("folded, cycles", sum(folded().values()), 1500)

    out = env.path("memory-bytes.svg")
    env.run("flame", "--weight", "bytes", "-o", out, profile)
    root, frames = flame_frames(out)
    expect_eq("flame total", root.get("data-total"), "2102")
    expect_eq("flame frames, bytes", frame_set(frames), {
        ("all (sample)", 0, 0, 2102), (nofn, 1, 0, 38),
        ("compute", 1, 38, 600), ("fib", 2, 38, 500),
        ("main", 1, 638, 1464), ("compute", 2, 638, 464), ("fib", 3, 638, 64),
        ("fib", 4, 638, 64), ("helper", 2, 1102, 1000)})
    expect_eq("subtitle", next(t.text for t in root.iter(SVG + "text")
                               if t.get("id") == "zf-subtitle"),
              "memory.zinst, width: bytes allocated in the subtree (ZINST_MEMORY)")
    expect_eq("legend", legend_of(root), (
        "52 executions of inlined code are not drawn: what they allocate is their callers' "
        "(--weight calls draws them)", False))
    compute = next(f for f in frames if f["name"] == "compute" and f["depth"] == 1)
    expect(compute["title"].startswith("compute\n600 bytes allocated, "),
           f"the unit in the tooltip: {compute['title']!r}")
    expect("their frees: 10 blocks, 100 bytes" in compute["title"], compute["title"])
    helper = next(f for f in frames if f["name"] == "helper")
    expect("live at exit: 1 block, 1000 bytes" in helper["title"], helper["title"])
    for weight, widths in (("allocs", {"all (sample)": 26, nofn: 4, "main": 7, "helper": 1}),
                           ("live", {"all (sample)": 1228, nofn: 28, "main": 1100,
                                     "helper": 1000})):
        out = env.path(f"memory-{weight}.svg")
        env.run("flame", "--weight", weight, "-o", out, profile)
        root, frames = flame_frames(out)
        got = {f["name"]: f["w"] for f in frames if f["name"] in widths}
        expect_eq(f"flame frames, {weight}", got, widths)
    subtitle = next(t.text for t in root.iter(SVG + "text") if t.get("id") == "zf-subtitle")
    expect("bytes live at exit (leaks)" in subtitle, subtitle)

    doc = env.json("export", "--format", "speedscope", "--weight", "bytes", profile)
    check_speedscope_file(doc)
    names = [f["name"] for f in doc["shared"]["frames"]]
    expect_eq("speedscope frames", names, ["main", "compute", "fib", "helper", nofn])
    main, worker = doc["profiles"]
    expect_eq("speedscope unit", main["unit"], "bytes")

    def by_stack(p):
        return {tuple(names[f] for f in s): w for s, w in zip(p["samples"], p["weights"])}
    expect_eq("speedscope main thread", by_stack(main), {
        (nofn,): 30, ("main", "compute"): 400, ("main", "compute", "fib", "fib"): 64,
        ("main", "helper"): 1000})
    expect_eq("speedscope endValue", main["endValue"], 1494)
    expect_eq("speedscope worker", by_stack(worker),
              {(nofn,): 8, ("compute",): 100, ("compute", "fib"): 500})
    allocs = env.json("export", "--format", "speedscope", "--weight", "allocs", profile)
    check_speedscope_file(allocs)
    expect_eq("speedscope unit of allocations", allocs["profiles"][0]["unit"], "none")

    out = env.path("memory.pb.gz")
    env.run("export", "--format", "pprof", "-o", out, profile)
    p = decode_pprof(env, out)
    strings = p["string_table"]
    expect_eq("pprof sample types",
              [(strings[v["type"][0]], strings[v["unit"][0]]) for v in p["sample_type"]],
              [("calls", "count"), ("time", "nanoseconds"), ("alloc_objects", "count"),
               ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")])
    expect_eq("pprof default", strings[p["default_sample_type"][0]], "time")
    samples, functions = pprof_samples(env, profile)
    expect_eq("pprof functions", functions,
              sorted(["compute", "fib", "helper", "main", nofn, "square"]))
    expect_eq("pprof samples", samples, {
        ("thread 1001 main", (("main",),)): [1, 50, 0, 0, 0, 0],
        ("thread 1001 main", (("compute",), ("main",))): [10, 100, 4, 400, 1, 100],
        ("thread 1001 main", (("fib",), ("compute",), ("main",))): [10, 75, 0, 0, 0, 0],
        ("thread 1001 main", (("fib",), ("fib",), ("compute",), ("main",))):
            [20, 125, 2, 64, 0, 0],
        ("thread 1001 main", (("helper",), ("main",))): [5, 150, 1, 1000, 1, 1000],
        ("thread 1001 main", ((nofn,),)): [0, 0, 3, 30, 2, 20],
        ("thread 1001 main", (("square", "compute"), ("main",))): [40, 0, 0, 0, 0, 0],
        ("thread 1002 worker", (("compute",),)): [3, 50, 10, 100, 0, 0],
        ("thread 1002 worker", (("fib",), ("compute",))): [4, 200, 5, 500, 1, 100],
        ("thread 1002 worker", ((nofn,),)): [0, 0, 1, 8, 1, 8],
        ("thread 1002 worker", (("square", "compute"),)): [12, 0, 0, 0, 0, 0]})

    # No memory records: refused, naming the profile and the way to get them.
    for weight, argv in (("bytes", ["flame", "-o", env.path("none.svg")]),
                         ("live", ["export", "--format", "folded"])):
        err = env.run(*argv, "--weight", weight, env.path("sample.zinst"),
                      expect_status=1).stderr.decode()
        expect_eq(f"{argv[0]} without memory", err,
                  f"zinst {argv[0]}: {env.path('sample.zinst')} has no memory records to weigh "
                  f"by (--weight {weight}): the program ran with memory tracing off; run it "
                  "with ZINST_MEMORY=1\n")
    expect(not os.path.exists(env.path("none.svg")), "no output after the refusal")


# ---------------------------------------------------------------- the bundled example


def example_profile(env):
    return os.path.join(env.args.example_dir, "rl_cartpole.zinst")


def case_example_build(env):
    src, out = env.args.example_src, env.args.example_dir
    os.makedirs(out, exist_ok=True)
    exe = os.path.join(out, "rl_cartpole")
    sources = [os.path.join(src, f) for f in sorted(os.listdir(src)) if f.endswith(".c")]
    env.run("cc", "-O2", "-g", *sources, "-lm", "-o", exe)
    result = subprocess.run([exe], capture_output=True, cwd=out,
                            env={**os.environ, "ZINST_OUTPUT": example_profile(env)})
    expect(result.returncode == 0, f"the example failed: {result.stderr.decode()}")
    expect(os.path.exists(example_profile(env)), "no profile written")


def raw_sections(path):
    """{kind: (entry_size, count, payload)} read straight from the file (format/zinst_format.h)."""
    with open(path, "rb") as f:
        data = f.read()
    expect_eq("magic", data[:8], b"ZINSTPRF")
    count, table = struct.unpack_from("<IQ", data, 20)[0], struct.unpack_from("<Q", data, 24)[0]
    sections = {}
    for i in range(count):
        kind, entry_size, offset, size, records = struct.unpack_from("<IIQQQ", data, table + 32 * i)
        sections[kind] = (entry_size, records, data[offset:offset + size])
    return sections


def site_counts(path):
    """(site records, sum of SITE_COUNTS counts): kinds 7 and 8, count at offset 8 of 16 bytes."""
    sections = raw_sections(path)
    sites = sections.get(7, (0, 0, b""))[1]
    entry_size, records, payload = sections.get(8, (16, 0, b""))
    total = sum(struct.unpack_from("<Q", payload, i * entry_size + 8)[0] for i in range(records))
    return sites, total


def tree_inlined_totals(env, profile):
    """{callee: executions} of the "[inlined]" lines of `zinst tree --json`."""
    totals = {}

    def collect(nodes):
        for node in nodes:
            for line in node["inlined"]:
                totals[line["name"]] = totals.get(line["name"], 0) + line["executions"]
            collect(node["children"])
    collect(env.json("tree", "--json", profile)["roots"])
    return totals


def case_example_commands(env):
    profile = example_profile(env)
    report, _ = report_by_name(env, profile)
    expect("env_step" in report and "policy_act" in report, "the example's functions")
    svg = os.path.join(env.args.example_dir, "rl_cartpole.svg")
    env.run("flame", "-o", svg, profile)
    root, frames = flame_frames(svg)
    names = {f["name"] for f in frames}
    expect({"main", "worker_main", "env_step", "policy_act"} <= names, f"frames: {names}")
    # Frames are as wide as the folded export says (the same numbers).
    folded = folded_lines(env.text("export", "--format", "folded", profile))
    expect_eq("flame total = folded total", int(root.get("data-total")), sum(folded.values()))
    expect_eq("env_step's calls", sum(v for k, v in folded_lines(env.text(
        "export", "--format", "folded", "--weight", "calls", profile)).items()
        if k.endswith(";env_step")), report["env_step"]["calls"])
    check_speedscope_file(env.json("export", "--format", "speedscope", profile))
    pb = os.path.join(env.args.example_dir, "rl_cartpole.pb.gz")
    env.run("export", "--format", "pprof", "-o", pb, profile)
    p = decode_pprof(env, pb)
    strings = p["string_table"]
    calls, inlined = {}, {}
    location_name = {}
    functions = {f["id"][0]: strings[f["name"][0]] for f in p["function"]}
    for loc in p["location"]:
        # Several lines: the first function was inlined into the last.
        location_name[loc["id"][0]] = (functions[loc["line"][0]["function_id"][0]],
                                       len(loc["line"]) > 1)
    for sample in p["sample"]:
        leaf, was_inlined = location_name[sample["location_id"][0]]
        into = inlined if was_inlined else calls
        into[leaf] = into.get(leaf, 0) + sample["value"][0]
        expect(not was_inlined or sample["value"][1] == 0, "inlined code has no time of its own")
    for name, entry in report.items():
        expect_eq(f"pprof calls of {name}", calls.get(name, 0), entry["calls"])
    # The inlined executions are those zinst tree places under their callers.
    expect_eq("pprof inlined executions", inlined, tree_inlined_totals(env, profile))
    expect({"policy_logits", "softmax", "rng_uniform", "rollout"} <= set(inlined),
           f"inlined: {sorted(inlined)}")
    # Merge of a profile with itself: every count doubles exactly, and every
    # measured time (--raw: the hook-cost correction rounds each context's
    # share down to whole ticks, which does not double exactly).
    doubled = os.path.join(env.args.example_dir, "doubled.zinst")
    env.run("merge", "--merge-threads", "-o", doubled, profile, profile)
    report, _ = report_by_name(env, profile, "--raw")
    twice, _ = report_by_name(env, doubled, "--raw")
    for name, entry in report.items():
        expect_eq(f"merged calls of {name}", twice[name]["calls"], 2 * entry["calls"])
        expect_eq(f"merged self ticks of {name}", twice[name]["self_ticks"],
                  2 * entry["self_ticks"])
    # Inline-site counts are summed too (read from the files directly).
    sites, total = site_counts(profile)
    expect_eq("merged site counts", site_counts(doubled), (sites, 2 * total))
    doc = env.json("diff", "--json", profile, doubled)
    rows = {f["name"]: f for f in doc["functions"]}
    expect_eq("diff of env_step calls", rows["env_step"]["calls"]["delta"],
              report["env_step"]["calls"])


# ---------------------------------------------------------------- the Zig example


def case_zig_build(env):
    """zig-integration/examples/rl_cartpole.zig through `zinst zig
    build-exe -O ReleaseFast` with the Zig given, run; its profile is the
    input of the zig_* cases."""
    expect(env.args.zig, "--zig missing")
    out = env.args.example_dir
    os.makedirs(out, exist_ok=True)
    caches = {"ZIG_GLOBAL_CACHE_DIR": os.path.join(out, "zig-global-cache"),
              "ZIG_LOCAL_CACHE_DIR": os.path.join(out, "zig-local-cache")}
    env.run("zig", "--zig", env.args.zig, "build-exe", env.args.example_src, "-O", "ReleaseFast",
            cwd=out, env=caches)
    result = subprocess.run([os.path.join(out, "rl_cartpole")], capture_output=True, cwd=out,
                            env={**os.environ, "ZINST_OUTPUT": example_profile(env)})
    expect(result.returncode == 0, f"the Zig example failed: {result.stderr.decode()}")
    expect(os.path.exists(example_profile(env)), "no profile written")


def case_zig_commands(env):
    """Every viewer on the Zig example: library code (std's start code and
    thread entry) grouped into "[library]" frames by default and listed
    with --show-library; Zig's names; widths and counts that agree with
    zinst report and zinst tree."""
    profile = example_profile(env)
    report, _ = report_by_name(env, profile)
    library = {name for name, f in report.items() if f["library"]}
    user = {name for name, f in report.items() if not f["library"]}
    expect(library, "no library function in the Zig profile")
    expect({"rl_cartpole.Env.step", "rl_cartpole.Policy.act", "rl_cartpole.Worker.run"} <= user,
           f"Zig's names: {sorted(user)}")

    svg = os.path.join(env.args.example_dir, "rl_cartpole.svg")
    env.run("flame", "-o", svg, profile)
    root, frames = flame_frames(svg)
    names = {f["name"] for f in frames}
    expect("[library]" in names and not names & library, f"grouped frames: {sorted(names)}")
    folded = folded_lines(env.text("export", "--format", "folded", profile))
    expect_eq("flame total = folded total", int(root.get("data-total")), sum(folded.values()))
    stacked = {frame for stack in folded for frame in stack.split(";")}
    expect("[library]" in stacked and not stacked & library, f"grouped stacks: {sorted(stacked)}")
    everything = folded_lines(env.text("export", "--format", "folded", "--show-library", profile))
    stacked = {frame for stack in everything for frame in stack.split(";")}
    expect("[library]" not in stacked and stacked & library,
           f"--show-library stacks: {sorted(stacked)}")
    expect_eq("grouping keeps the total", sum(everything.values()), sum(folded.values()))
    # Calls per function, grouped or not, as the report counts them.
    by_calls = folded_lines(env.text("export", "--format", "folded", "--weight", "calls",
                                     "--show-library", profile))
    for name in sorted(user):
        expect_eq(f"folded calls of {name}", sum(v for k, v in by_calls.items()
                                                 if k.split(";")[-1] == name),
                  report[name]["calls"])
    # Inlined code by calls: what zinst tree lists (ungrouped, as --json is).
    inlined = {}
    for stack, value in by_calls.items():
        leaf = stack.split(";")[-1]
        if leaf.endswith(" [inlined]"):
            inlined[leaf[:-len(" [inlined]")]] = inlined.get(leaf[:-len(" [inlined]")], 0) + value
    expect(inlined, "no inlined code in the Zig example")
    expect_eq("folded inlined executions = zinst tree's", inlined, tree_inlined_totals(env, profile))
    svg = os.path.join(env.args.example_dir, "rl_cartpole-calls.svg")
    env.run("flame", "--weight", "calls", "--min-width", "0", "--show-library", "-o", svg, profile)
    _, frames = flame_frames(svg)
    drawn = {}
    for f in frames:
        if f["name"].endswith(" [inlined]"):
            drawn[f["name"][:-len(" [inlined]")]] = drawn.get(
                f["name"][:-len(" [inlined]")], 0) + f["w"]
    expect_eq("flame inlined executions = zinst tree's", drawn, inlined)

    doc = env.json("export", "--format", "speedscope", profile)
    check_speedscope_file(doc)
    expect_eq("speedscope threads", len(doc["profiles"]), env.json(
        "report", "--json", profile)["profile"]["threads"])
    expect("[library]" in [f["name"] for f in doc["shared"]["frames"]], "speedscope [library]")
    samples, names = pprof_samples(env, profile, "--show-library")
    expect("[library]" not in names, f"pprof --show-library functions: {names}")
    calls = {}
    for (_, stack), values in samples.items():
        if len(stack[0]) == 1:  # not inlined code
            calls[stack[0][0]] = calls.get(stack[0][0], 0) + values[0]
    for name, entry in sorted(report.items()):
        expect_eq(f"pprof calls of {name}", calls.get(name, 0), entry["calls"])
    samples, names = pprof_samples(env, profile)
    expect("[library]" in names and not set(names) & library, f"pprof grouped: {names}")


# ---------------------------------------------------------------- in Chromium


def open_browser(env):
    sys.path.insert(0, env.args.src)
    from browser import Browser
    expect(env.args.chromium, "chromium not found: install Debian's chromium "
           "(scripts/install-deps.sh test)")
    return Browser(env.args.chromium, width=1200, height=800)


def frame_center(browser, predicate):
    return browser.evaluate(
        "(function () { var f = zinstFlame.frames.filter(function (f) { return " + predicate +
        "; })[0]; var r = f.rect.getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; })()")


def visible_frames(browser):
    return browser.evaluate(
        "zinstFlame.frames.filter(function (f) { return f.g.style.display !== 'none'; })"
        ".map(function (f) { return [f.name, f.depth, Math.round(Number("
        "f.rect.getAttribute('width')) * 100) / 100]; })")


def case_browser_sample(env):
    svg = env.path("sample.svg")
    env.run("flame", "-o", svg, env.path("sample.zinst"))
    browser = open_browser(env)
    try:
        browser.open("file://" + svg)
        expect_eq("frames in the DOM", browser.evaluate("zinstFlame.frames.length"), 8)
        rendered = browser.evaluate(
            "zinstFlame.frames.map(function (f) { var r = f.rect.getBoundingClientRect();"
            " return [f.name, Math.round(r.width)]; })")
        expect_eq("rendered widths", sorted(map(tuple, rendered)), sorted([
            ("all (sample)", 1180), ("compute", 393), ("fib", 315), ("main", 787),
            ("compute", 472), ("fib", 315), ("fib", 197), ("helper", 236)]))
        expect_eq("label of main", browser.evaluate(
            "zinstFlame.frames.filter(function (f) { return f.name === 'main'; })[0]"
            ".text.textContent"), "main")
        # A real click on main > compute zooms into it.
        x, y = frame_center(browser, "f.name === 'compute' && f.depth === 2")
        browser.click(x, y)
        expect_eq("zoomed", browser.evaluate("zinstFlame.zoomed().name"), "compute")
        expect_eq("visible after the zoom", sorted(map(tuple, visible_frames(browser))), sorted([
            ("all (sample)", 0, 1180), ("main", 1, 1180), ("compute", 2, 1180),
            ("fib", 3, 786.67), ("fib", 4, 491.67)]))
        expect_eq("reset button shown", browser.evaluate(
            "document.getElementById('zf-reset-zoom').style.display"), "")
        expect_eq("hover line", browser.evaluate(
            "document.getElementById('zf-details').textContent"),
            "compute  40.00%, calls 10, total 300 ns, self 100 ns, sample.c:20")
        # Search highlights and reports the share covered (nested matches once).
        share = browser.evaluate("zinstFlame.search('^fib$')")
        expect(abs(share - 800 / 1500 * 100) < 1e-9, f"matched share {share}")
        expect_eq("matched text", browser.evaluate(
            "document.getElementById('zf-matched').textContent"), "Matched: 53.3% (3 frames)")
        expect_eq("highlighted", browser.evaluate(
            "zinstFlame.frames.filter(function (f) { return f.g.classList.contains('match'); })"
            ".length"), 3)
        highlighted_fill = browser.evaluate(
            "getComputedStyle(zinstFlame.frames.filter(function (f) { return f.name === 'fib'; })"
            "[0].rect).fill")
        expect_eq("highlight color", highlighted_fill, "rgb(230, 0, 230)")
        browser.screenshot(env.path("flame-sample.png"), "svg")
        # Clicking "Reset zoom" shows every frame again.
        x, y = browser.evaluate("(function () { var r = document.getElementById('zf-reset-zoom')"
                                ".getBoundingClientRect(); return [r.x + 5, r.y + r.height / 2];"
                                " })()")
        browser.click(x, y)
        expect_eq("after reset", len(visible_frames(browser)), 8)
        expect_eq("no zoom", browser.evaluate("zinstFlame.zoomed()"), None)
        expect_eq("script errors", browser.console_errors(), [])
        # By calls: the inlined frames render with their dashed outline, the
        # legend's swatch too, and a search finds them by their suffix.
        svg = env.path("sample-calls-browser.svg")
        env.run("flame", "--weight", "calls", "-o", svg, env.path("sample.zinst"))
        browser.open("file://" + svg)
        expect_eq("frames by calls", browser.evaluate("zinstFlame.frames.length"), 10)
        expect_eq("inlined outlines", browser.evaluate(
            "zinstFlame.frames.filter(function (f) { return f.g.classList.contains('inlined'); })"
            ".map(function (f) { return [f.name, getComputedStyle(f.rect).strokeDasharray]; })"),
            [["square [inlined]", "3px, 2px"], ["square [inlined]", "3px, 2px"]])
        expect_eq("legend swatch outline", browser.evaluate(
            "getComputedStyle(document.querySelector('#zf-legend rect')).strokeDasharray"),
            "3px, 2px")
        legend_box = browser.evaluate(
            "(function () { var r = document.querySelector('#zf-legend text')"
            ".getBoundingClientRect(); return [r.width > 0, r.bottom <= Math.min.apply(null, "
            "zinstFlame.frames.map(function (f) { return f.rect.getBoundingClientRect().top; }))];"
            " })()")
        expect_eq("legend rendered above the frames", legend_box, [True, True])
        share = browser.evaluate("zinstFlame.search('\\\\[inlined\\\\]')")
        expect(abs(share - 52 / 105 * 100) < 1e-9, f"inlined share {share}")
        browser.screenshot(env.path("flame-sample-calls.png"), "svg")
        expect_eq("script errors by calls", browser.console_errors(), [])
    finally:
        browser.close()


def case_browser_example(env):
    svg = os.path.join(env.args.example_dir, "rl_cartpole-browser.svg")
    # From the source tree's root, so file:line reads examples/rl_cartpole/...
    root = os.path.dirname(os.path.dirname(os.path.abspath(env.args.example_src)))
    env.run("flame", "--title", "examples/rl_cartpole: zinst flame", "-o", svg,
            example_profile(env), cwd=root)
    _, frames = flame_frames(svg)
    browser = open_browser(env)
    try:
        browser.open("file://" + svg)
        expect_eq("frames in the DOM", browser.evaluate("zinstFlame.frames.length"), len(frames))
        names = set(browser.evaluate("zinstFlame.frames.map(function (f) { return f.name; })"))
        expect({"main", "worker_main", "env_step", "policy_act"} <= names,
               f"frames: {sorted(names)}")
        browser.screenshot(os.path.join(env.args.example_dir, "flame-example.png"), "svg")
        x, y = frame_center(browser, "f.name === 'worker_main'")
        browser.click(x, y)
        expect_eq("zoomed", browser.evaluate("zinstFlame.zoomed().name"), "worker_main")
        width = browser.evaluate("Number(zinstFlame.zoomed().rect.getAttribute('width'))")
        expect(abs(width - 1180) < 0.01, f"the zoomed frame fills the width: {width}")
        share = browser.evaluate("zinstFlame.search('^env_')")
        expect(0 < share < 100, f"env_ share {share}")
        browser.screenshot(os.path.join(env.args.example_dir, "flame-example-zoomed.png"), "svg")
        expect_eq("script errors", browser.console_errors(), [])
        # By calls, with the inlined code: what the tree lists under each
        # function, as frames above it (--min-width 0: main's 300 executions
        # of train_iteration are 0.03 px wide, else merged into a box).
        svg = os.path.join(env.args.example_dir, "rl_cartpole-calls.svg")
        env.run("flame", "--weight", "calls", "--min-width", "0", "--title",
                "examples/rl_cartpole: zinst flame --weight calls", "-o", svg,
                example_profile(env), cwd=root)
        _, frames = flame_frames(svg)
        drawn = {}
        for f in frames:
            if f["name"].endswith(" [inlined]"):
                drawn[f["name"][:-len(" [inlined]")]] = drawn.get(
                    f["name"][:-len(" [inlined]")], 0) + f["w"]
        expect_eq("inlined executions drawn = listed by zinst tree", drawn,
                  tree_inlined_totals(env, example_profile(env)))
        expect({"policy_logits", "softmax", "rng_uniform", "rollout"} <= set(drawn),
               f"inlined frames: {sorted(drawn)}")
        browser.open("file://" + svg)
        browser.screenshot(os.path.join(env.args.example_dir, "flame-example-calls.png"), "svg")
        expect_eq("script errors by calls", browser.console_errors(), [])
    finally:
        browser.close()


def case_zig_browser(env):
    """The Zig example's flame graph in Chromium: rendered, a click zooms,
    search finds Zig's qualified names, the [library] frames are there."""
    svg = os.path.join(env.args.example_dir, "rl_cartpole-browser.svg")
    env.run("flame", "--title", "rl_cartpole.zig: zinst flame", "-o", svg, example_profile(env))
    _, frames = flame_frames(svg)
    browser = open_browser(env)
    try:
        browser.open("file://" + svg)
        expect_eq("frames in the DOM", browser.evaluate("zinstFlame.frames.length"), len(frames))
        names = set(browser.evaluate("zinstFlame.frames.map(function (f) { return f.name; })"))
        expect({"[library]", "rl_cartpole.Worker.run", "rl_cartpole.Env.step"} <= names,
               f"frames: {sorted(names)}")
        x, y = frame_center(browser, "f.name === 'rl_cartpole.Worker.run'")
        browser.click(x, y)
        expect_eq("zoomed", browser.evaluate("zinstFlame.zoomed().name"), "rl_cartpole.Worker.run")
        share = browser.evaluate("zinstFlame.search('^rl_cartpole\\\\.Env')")
        expect(0 < share < 100, f"rl_cartpole.Env share {share}")
        browser.screenshot(os.path.join(env.args.example_dir, "flame-zig.png"), "svg")
        expect_eq("script errors", browser.console_errors(), [])
    finally:
        browser.close()


def case_browser_diff(env):
    base = [env.path(f"base-{i}.zinst") for i in (1, 2, 3)]
    new = [env.path(f"new-{i}.zinst") for i in (1, 2, 3)]
    svg = env.path("diff-browser.svg")
    env.run("diff", "--flame", svg, *base, "--", *new)
    browser = open_browser(env)
    try:
        browser.open("file://" + svg)
        fills = browser.evaluate(
            "zinstFlame.frames.map(function (f) { return [f.name, f.depth,"
            " getComputedStyle(f.rect).fill]; })")
        fill = {(n, d): c for n, d, c in fills}
        expect(fill[("fib", 4)].startswith("rgb(255, "), f"red: {fill[('fib', 4)]}")
        expect_eq("grey", fill[("helper", 2)], "rgb(224, 224, 224)")
        browser.screenshot(env.path("flame-diff.png"), "svg")
        expect_eq("script errors", browser.console_errors(), [])
    finally:
        browser.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zinst", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--src", required=True)
    parser.add_argument("--protoc", default="")
    parser.add_argument("--chromium", default="")
    parser.add_argument("--example-src", default="")
    parser.add_argument("--example-dir", default="")
    parser.add_argument("--zig", default="", help="zig_build: the zig executable")
    parser.add_argument("case")
    args = parser.parse_args()
    for name in ("protoc", "chromium"):
        if getattr(args, name).endswith("-NOTFOUND"):
            setattr(args, name, "")
    case = globals().get("case_" + args.case)
    if not case:
        print(f"unknown case {args.case}", file=sys.stderr)
        return 2
    try:
        case(Env(args))
    except Failure as failure:
        print(f"FAIL {args.case}: {failure}", file=sys.stderr)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
