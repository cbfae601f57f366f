//! Calls the Zig compiler inlines itself (`inline fn`, `@call(.always_inline,
//! ...)`), with known counts: in a loop, nested, under a condition, in a
//! comptime-unrolled `inline for`, one whose body starts with a loop, and in
//! std.Thread workers; plus an ordinary call that is never inlined.
//! test/zig/run_zig_tests.py (case inline_report) finds each call by the
//! `site:` comment on its line and asserts its count.
const std = @import("std");

/// Not linear, so that no loop of calls to it has a closed form.
inline fn mix(x: u64) u64 {
    return (x ^ (x >> 29)) *% 0x9E3779B97F4A7C15;
}

inline fn mixTwice(x: u64) u64 {
    return mix(mix(x)); // site: twice-inner
}

/// Its body starts with a loop: counted once per call, not per iteration.
inline fn spin(n: u64) u64 {
    var acc: u64 = 0;
    var i: u64 = 0;
    while (i < n) : (i += 1) acc +%= mix(acc +% i); // site: spin-inner
    return acc;
}

/// An ordinary function; run() has it inlined with @call(.always_inline).
fn square(x: u64) u64 {
    return x *% x +% 1;
}

noinline fn ordinary(x: u64) u64 {
    return x ^ (x >> 3);
}

/// `period` is 4, unknown to the compiler: spin's loop must not be unrolled
/// completely (see README, Known limits).
noinline fn run(n: u64, period: u64) u64 {
    var acc: u64 = n;
    var i: u64 = 0;
    while (i < n) : (i += 1) {
        acc +%= mix(i); // site: loop
        acc +%= mixTwice(acc); // site: twice
        if (i % 3 == 0) acc +%= mix(acc ^ 5); // site: conditional
        acc +%= @call(.always_inline, square, .{acc}); // site: always-inline
        acc = ordinary(acc); // site: ordinary
        acc +%= spin(i % period); // site: spin
        inline for (0..3) |k| acc +%= mix(acc +% k); // site: unrolled
    }
    return acc;
}

var total = std.atomic.Value(u64).init(0);
var spin_period: u64 = 4;

fn worker(n: u64) void {
    const result = run(n, spin_period) +% mix(n); // site: worker
    _ = total.fetchAdd(result, .monotonic);
}

pub fn main() !void {
    var n: u64 = 10;
    std.mem.doNotOptimizeAway(&n);
    std.mem.doNotOptimizeAway(&spin_period);
    _ = total.fetchAdd(run(n, spin_period), .monotonic);
    var threads: [2]std.Thread = undefined;
    for (&threads) |*thread| thread.* = try std.Thread.spawn(.{}, worker, .{n + 10});
    for (threads) |thread| thread.join();
    // One real call of square: it has a function of its own in the profile.
    const extra = @call(.never_inline, square, .{n});
    std.debug.print("total={d}\n", .{total.load(.monotonic) +% extra});
}
