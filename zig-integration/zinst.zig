//! zinst's API for Zig code: write or restart the profile from the program,
//! and zones, the named regions inside a function that automatic
//! instrumentation cannot see.
//!
//!     const zinst = @import("zinst");
//!
//!     const zone = zinst.zone(@src(), "rollout");
//!     defer zone.end();
//!
//!     try zinst.dump("epoch-3.zinst");
//!     zinst.reset();
//!
//! The package's `instrument()` and `zinst zig build-exe` make this module
//! importable as "zinst". It calls the C API of include/zinst.h. In a build
//! without the zinst runtime (`-Dzinst=false`) its `zinst_config` import says
//! so and every call does nothing, so the program needs no flag of its own.
//!
//! Every function here is `inline`: none of them shows up as a function of
//! its own in a profile or an inlining report. (TrackingAllocator's vtable
//! functions cannot be: they credit the frame below their own.)

/// One zone per place in the code: its name, where it is, and what the
/// runtime keeps for it. The layout of `struct zinst_zone` (include/zinst.h).
pub const ZoneSite = extern struct {
    name: [*:0]const u8,
    file: [*:0]const u8,
    line: c_uint,
    reserved: c_uint = 0,
    runtime_data: ?*anyopaque = null,
};

/// An open zone; `end()` closes it.
pub const Zone = struct {
    site: *ZoneSite,

    pub inline fn end(self: Zone) void {
        if (enabled_in_build) c.zinst_zone_end(self.site);
    }
};

/// Opens a zone named `name` at `src` (pass `@src()`), until `end()`. It shows
/// in reports like a function called from here: its calls, its time, and the
/// functions called inside it as its children. End it in the function that
/// opened it (`defer zone.end()`); zones nest, at most 7 deep inside one
/// function.
pub inline fn zone(comptime src: SourceLocation, comptime name: [:0]const u8) Zone {
    // One static site per (place, name): a generic struct is instantiated
    // once per distinct comptime argument set.
    const Static = struct {
        var site: ZoneSite = .{ .name = name, .file = src.file, .line = src.line };
    };
    if (enabled_in_build) c.zinst_zone_begin(&Static.site);
    return .{ .site = &Static.site };
}

pub const DumpError = error{
    /// The runtime could not write the file; it said why on stderr.
    DumpFailed,
};

/// Writes a profile now, of every thread, counting frames still open up to
/// this moment. `path` null means the ZINST_OUTPUT pattern (default
/// "%e.zinst"). Counting goes on. Without the runtime linked: nothing.
pub inline fn dump(path: ?[*:0]const u8) DumpError!void {
    if (enabled_in_build and c.zinst_dump(path) != 0) return error.DumpFailed;
}

/// Starts counting afresh: later dumps show only what happens after this.
/// Memory counts restart too, but blocks still live stay in them (see
/// zinst_reset in zinst.h), so leaks stay leaks.
pub inline fn reset() void {
    if (enabled_in_build) c.zinst_reset();
}

/// No profile at exit (zinst.dump still works): for a child process or a test.
pub inline fn disableExitDump() void {
    if (enabled_in_build) c.zinst_disable_exit_dump();
}

/// Whether the zinst runtime is linked into this program.
pub inline fn enabled() bool {
    return enabled_in_build;
}

/// Heap tracing for any `std.mem.Allocator` (DebugAllocator, an arena,
/// page_allocator...): with ZINST_MEMORY=1, every block it hands out is
/// counted like a C `malloc` in `zinst mem`, for the calling context, and
/// its free for the context that allocated it, from any thread. A resize or
/// remap counts as a free and an allocation of the new length.
///
///     var tracking = zinst.TrackingAllocator.init(gpa.allocator());
///     const a = tracking.allocator();
///
/// Tracing on, each block carries 8 more bytes after it (the allocating
/// context; after, not before, so the block keeps its alignment): the child
/// sees `len + 8`. Tracing off (ZINST_MEMORY unset, or `-Dzinst=false`),
/// `allocator()` returns the child itself: no trailer, no extra call.
/// Wrapping an arena counts the blocks the program asks it for (blocks
/// never freed before `deinit` are live at exit); wrapping the arena's child
/// counts the arena's own buffers instead.
pub const TrackingAllocator = struct {
    child: std.mem.Allocator,

    pub inline fn init(child: std.mem.Allocator) TrackingAllocator {
        return .{ .child = child };
    }

    /// The tracking allocator; it refers to `self`, which must outlive it.
    pub inline fn allocator(self: *TrackingAllocator) std.mem.Allocator {
        // The runtime's decision never changes in a process, so blocks
        // either all have a trailer or none has.
        if (!enabled_in_build or c.zinst_memory_tracing() == 0) return self.child;
        return .{ .ptr = self, .vtable = &tracking_vtable };
    }
};

const Alignment = std.mem.Alignment;
const trailer_len = @sizeOf(u64);

const tracking_vtable: std.mem.Allocator.VTable = .{
    .alloc = trackedAlloc,
    .resize = trackedResize,
    .remap = trackedRemap,
    .free = trackedFree,
};

// The canonical frame address the pass gives a function's hooks (the address
// of its return address slot), for the runtime to skip this function's own
// frame: the frame pointer @frameAddress() forces, plus the saved one. Each
// caller below is noinline, so that the address is its own and not that of
// the function it would be inlined into. Other targets: 0, nothing skipped.
inline fn ownFrame(frame_pointer: usize) usize {
    return if (builtin.cpu.arch == .x86_64) frame_pointer + @sizeOf(usize) else 0;
}

inline fn readTag(at: [*]u8) u64 {
    return std.mem.readInt(u64, at[0..trailer_len], .little);
}

inline fn writeTag(at: [*]u8, tag: u64) void {
    std.mem.writeInt(u64, at[0..trailer_len], tag, .little);
}

noinline fn trackedAlloc(context: *anyopaque, len: usize, alignment: Alignment, ret_addr: usize) ?[*]u8 {
    const self: *TrackingAllocator = @ptrCast(@alignCast(context));
    const total = std.math.add(usize, len, trailer_len) catch return null;
    const block = self.child.rawAlloc(total, alignment, ret_addr) orelse return null;
    writeTag(block + len, c.zinst_memory_alloc(len, ownFrame(@frameAddress())));
    return block;
}

noinline fn trackedResize(context: *anyopaque, memory: []u8, alignment: Alignment, new_len: usize, ret_addr: usize) bool {
    const self: *TrackingAllocator = @ptrCast(@alignCast(context));
    const total = std.math.add(usize, new_len, trailer_len) catch return false;
    const tag = readTag(memory.ptr + memory.len);
    if (!self.child.rawResize(memory.ptr[0 .. memory.len + trailer_len], alignment, total, ret_addr))
        return false;
    c.zinst_memory_free(tag, memory.len);
    writeTag(memory.ptr + new_len, c.zinst_memory_alloc(new_len, ownFrame(@frameAddress())));
    return true;
}

noinline fn trackedRemap(context: *anyopaque, memory: []u8, alignment: Alignment, new_len: usize, ret_addr: usize) ?[*]u8 {
    const self: *TrackingAllocator = @ptrCast(@alignCast(context));
    const total = std.math.add(usize, new_len, trailer_len) catch return null;
    // Read before: a moved block's old pages may be gone.
    const tag = readTag(memory.ptr + memory.len);
    const block = self.child.rawRemap(memory.ptr[0 .. memory.len + trailer_len], alignment, total, ret_addr) orelse
        return null;
    c.zinst_memory_free(tag, memory.len);
    writeTag(block + new_len, c.zinst_memory_alloc(new_len, ownFrame(@frameAddress())));
    return block;
}

noinline fn trackedFree(context: *anyopaque, memory: []u8, alignment: Alignment, ret_addr: usize) void {
    const self: *TrackingAllocator = @ptrCast(@alignCast(context));
    const tag = readTag(memory.ptr + memory.len);
    self.child.rawFree(memory.ptr[0 .. memory.len + trailer_len], alignment, ret_addr);
    c.zinst_memory_free(tag, memory.len);
}

const std = @import("std");
const builtin = @import("builtin");
const SourceLocation = @import("std").builtin.SourceLocation;

/// Set by whoever builds the program with zinst: true when the runtime is
/// linked. When false the externs below are never referenced.
const enabled_in_build: bool = @import("zinst_config").enabled;

/// include/zinst.h.
const c = struct {
    extern fn zinst_zone_begin(zone: *ZoneSite) void;
    extern fn zinst_zone_end(zone: *ZoneSite) void;
    extern fn zinst_dump(path: ?[*:0]const u8) c_int;
    extern fn zinst_reset() void;
    extern fn zinst_disable_exit_dump() void;
    extern fn zinst_memory_tracing() c_int;
    extern fn zinst_memory_alloc(size: usize, wrapper_frame: usize) u64;
    extern fn zinst_memory_free(tag: u64, size: usize) void;
};
