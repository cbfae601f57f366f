//! zinst.TrackingAllocator with known counts per context (test/zig
//! run_zig_tests.py, case tracking_alloc): over a DebugAllocator
//! (GeneralPurposeAllocator), an arena and page_allocator, with a resize,
//! a remap, a realloc, a block freed by another thread and a leak.
const std = @import("std");
const zinst = @import("zinst");

/// 4 blocks of 100 bytes, all freed: peak 400.
noinline fn withDebug(a: std.mem.Allocator) !void {
    var blocks: [4][]u8 = undefined;
    for (&blocks) |*b| b.* = try a.alloc(u8, 100);
    for (blocks) |b| a.free(b);
}

/// 3 blocks of 50 bytes from an arena, freed newest first: peak 150.
noinline fn withArena(a: std.mem.Allocator) !void {
    var blocks: [3][]u8 = undefined;
    for (&blocks) |*b| b.* = try a.alloc(u8, 50);
    var i: usize = blocks.len;
    while (i > 0) : (i -= 1) a.free(blocks[i - 1]);
}

/// 1000 bytes resized to 2000 and remapped to 3000, in place (one page),
/// then freed: 3 allocations of 6000 bytes, 3 frees, peak 3000.
noinline fn withPages(a: std.mem.Allocator) !bool {
    var block = try a.alloc(u8, 1000);
    const resized = a.resize(block, 2000);
    if (resized) block = block.ptr[0..2000];
    const remapped = a.remap(block, 3000);
    if (remapped) |r| block = r;
    a.free(block);
    return resized and remapped != null;
}

/// 64 bytes grown to 200 by realloc, then freed: 2 allocations, 264 bytes.
noinline fn withRealloc(a: std.mem.Allocator) !void {
    const block = try a.alloc(u8, 64);
    @memset(block, 7);
    const grown = try a.realloc(block, 200);
    if (grown[63] != 7) return error.Lost;
    a.free(grown);
}

/// 5 blocks of 32 bytes, freed by another thread: credited here.
noinline fn produce(a: std.mem.Allocator) ![5][]u8 {
    var blocks: [5][]u8 = undefined;
    for (&blocks) |*b| b.* = try a.alloc(u8, 32);
    return blocks;
}

fn consume(a: std.mem.Allocator, blocks: [5][]u8) void {
    for (blocks) |b| a.free(b);
}

/// The leak: 123 bytes never freed.
noinline fn leak(a: std.mem.Allocator) !void {
    const block = try a.alloc(u8, 123);
    std.mem.doNotOptimizeAway(block.ptr);
}

pub fn main() !void {
    var gpa: std.heap.DebugAllocator(.{}) = .init;
    var debug = zinst.TrackingAllocator.init(gpa.allocator());
    try withDebug(debug.allocator());

    var arena = std.heap.ArenaAllocator.init(std.heap.page_allocator);
    defer arena.deinit();
    var arena_tracking = zinst.TrackingAllocator.init(arena.allocator());
    try withArena(arena_tracking.allocator());

    var pages = zinst.TrackingAllocator.init(std.heap.page_allocator);
    const in_place = try withPages(pages.allocator());

    try withRealloc(debug.allocator());

    const blocks = try produce(debug.allocator());
    const thread = try std.Thread.spawn(.{}, consume, .{ debug.allocator(), blocks });
    thread.join();

    try leak(debug.allocator());
    std.debug.print("tracking: in place {}\n", .{in_place});
}
