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
//! its own in a profile or an inlining report.

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
};
