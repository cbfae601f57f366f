//! The Zig API (zig-integration/zinst.zig) with known counts: zones (nested,
//! in a loop, in threads, closed by defer), zinst.dump to api-first.zinst
//! in the working directory, then zinst.reset.
const std = @import("std");
const zinst = @import("zinst");

var sink: u64 = 0;

noinline fn leaf(i: u64) void {
    @as(*volatile u64, &sink).* +%= i;
}

/// setup (1 leaf), then loop holding n bodies of 1 leaf each.
noinline fn phases(n: u64) void {
    {
        const setup = zinst.zone(@src(), "setup");
        defer setup.end();
        leaf(1);
    }
    const loop = zinst.zone(@src(), "loop");
    defer loop.end();
    var i: u64 = 0;
    while (i < n) : (i += 1) {
        const body = zinst.zone(@src(), "body");
        defer body.end();
        leaf(i);
    }
}

noinline fn worker() void {
    phases(50);
    @as(*volatile u64, &sink).* +%= 1; // phases(50) is no tail call: it runs inside worker
}

pub fn main() !void {
    phases(10);
    try zinst.dump("api-first.zinst");
    zinst.reset();
    phases(20);
    var threads: [2]std.Thread = undefined;
    for (&threads) |*thread| thread.* = try std.Thread.spawn(.{}, worker, .{});
    for (threads) |thread| thread.join();
    std.debug.print("zinst enabled: {}\n", .{zinst.enabled()});
}
