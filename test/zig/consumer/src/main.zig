//! Exact call counts of a Zig program through `zinst zig build-exe`:
//! recursion, std.Thread workers, errors returned through several frames,
//! and defer/errdefer paths. test/zig/run_zig_tests.py asserts every count.
const std = @import("std");

/// fib-shaped recursion: walk(15) makes 1973 calls (2 * fib(16) - 1). The
/// results are combined with a subtraction, which LLVM's tail-recursion
/// elimination cannot turn into an accumulator loop (it does with `+`).
noinline fn walk(n: u32) u64 {
    if (n < 2) return n;
    const a = walk(n - 1);
    const b = walk(n - 2);
    return a *% 3 -% b;
}

const CheckError = error{Negative};

/// The error starts here and travels up through middle() and top().
noinline fn leaf(x: i32) CheckError!i32 {
    if (x < 0) return error.Negative;
    return x * 2;
}

noinline fn middle(x: i32) CheckError!i32 {
    return (try leaf(x)) + 1;
}

noinline fn top(x: i32) CheckError!i32 {
    return (try middle(x)) + 1;
}

var cleanups = std.atomic.Value(u32).init(0);
var error_cleanups = std.atomic.Value(u32).init(0);

noinline fn cleanup() void {
    _ = cleanups.fetchAdd(1, .monotonic);
}

noinline fn errorCleanup() void {
    _ = error_cleanups.fetchAdd(1, .monotonic);
}

/// defer runs on both ways out, errdefer only when an error leaves.
noinline fn guarded(x: i32) CheckError!i32 {
    defer cleanup();
    errdefer errorCleanup();
    return top(x);
}

var work_sum = std.atomic.Value(u64).init(0);

noinline fn work(item: u64) void {
    _ = work_sum.fetchAdd(item *% 2654435761, .monotonic);
}

/// Each worker thread calls work() 100 times.
fn worker(first: u64) void {
    var item = first;
    while (item < first + 100) : (item += 1) work(item);
}

pub fn main() !void {
    var input: u32 = 15;
    std.mem.doNotOptimizeAway(&input);
    const f = walk(input);

    // 7 checks: 4 succeed, 3 fail in leaf() and return the error through
    // middle(), top() and guarded().
    const values = [_]i32{ 1, -1, 2, -2, 3, -3, 4 };
    var failures: u32 = 0;
    var total: i32 = 0;
    for (values) |value| {
        var v = value;
        std.mem.doNotOptimizeAway(&v);
        if (guarded(v)) |result| {
            total += result;
        } else |_| {
            failures += 1;
        }
    }

    var threads: [3]std.Thread = undefined;
    for (&threads, 0..) |*thread, index| {
        thread.* = try std.Thread.spawn(.{}, worker, .{@as(u64, index) * 1000});
    }
    for (threads) |thread| thread.join();

    std.debug.print("walk={} failures={} total={} cleanups={} error_cleanups={} work={}\n", .{
        f,                         failures,                         total,
        cleanups.load(.monotonic), error_cleanups.load(.monotonic), work_sum.load(.monotonic),
    });
}
