//! zinst for `zig build`: one call turns an executable's Zig code into an
//! instrumented one.
//!
//!     const zinst = @import("zinst");
//!     const exe = b.addExecutable(...);
//!     const profiled = zinst.instrument(b, exe, .{});
//!     b.installArtifact(profiled);
//!
//! How: the executable's root module is compiled a second time to Zig's
//! unoptimized LLVM bitcode; `zinst zig lower` runs the zinst plugin through
//! the system `opt` at the level of the module's optimize mode, then `llc`,
//! after checking that the system LLVM can read the bitcode of this Zig; the
//! object is linked by Zig with the zinst runtime, compiled from its C sources
//! for the module's target. The plugin is a file argument of the lowering
//! step, so a rebuilt plugin invalidates Zig's cache.
//!
//! `-Dzinst=false` returns `exe` itself: the plain build.
//! `-Dzinst-exe=PATH` names the zinst command (default: `zinst` on PATH).
//!
//! Either way the root module can `@import("zinst")`, the API of zinst.zig
//! (dump, reset, zones); in the plain build its calls do nothing.
const std = @import("std");

pub const Options = struct {
    /// The zinst command; null: -Dzinst-exe, else `zinst` on PATH.
    zinst_exe: ?[]const u8 = null,
};

pub fn build(b: *std.Build) void {
    // The package has nothing to build on its own: consumers call instrument().
    _ = b;
}

/// The -Dzinst options, declared by the first instrument() call of a build
/// script (a build option may be declared only once).
const Settings = struct { enabled: bool, zinst_exe: ?[]const u8 };
var settings: ?Settings = null;

fn buildSettings(b: *std.Build) Settings {
    if (settings) |known| return known;
    const known: Settings = .{
        .enabled = b.option(bool, "zinst", "Instrument with zinst (default: true)") orelse true,
        .zinst_exe = b.option([]const u8, "zinst-exe", "The zinst command (default: zinst on PATH)"),
    };
    settings = known;
    return known;
}

/// Returns the executable to install and run in place of `exe`: `exe` itself
/// with -Dzinst=false, else an instrumented build of its root module. Call it
/// for each executable to profile.
pub fn instrument(b: *std.Build, exe: *std.Build.Step.Compile, options: Options) *std.Build.Step.Compile {
    const build_settings = buildSettings(b);
    const module = exe.root_module;
    addApi(b, module, build_settings.enabled);
    if (!build_settings.enabled) return exe;
    // A bare name is looked up on PATH when the commands run.
    const zinst = options.zinst_exe orelse build_settings.zinst_exe orelse "zinst";

    const paths = Paths.query(b, zinst);
    // Zig 0.14's OptimizeMode is `.Debug`...; 0.17 renamed its fields
    // (`.debug`, `.fast`...) and kept the old names as declarations, so
    // `Mode.Debug` works in both, and `zinst zig lower` accepts both spellings.
    const Mode = @typeInfo(@TypeOf(module.optimize)).optional.child;
    const optimize = module.optimize orelse Mode.Debug;
    // The runtime needs libc, and the libc choice must be the same in the
    // bitcode (start code) and the link.
    module.link_libc = true;

    // The Zig code as unoptimized bitcode; no machine code is generated.
    const bitcode_exe = b.addExecutable(.{
        .name = b.fmt("{s}-bitcode", .{exe.name}),
        .root_module = module,
    });
    const lower = b.addSystemCommand(&.{ zinst, "zig", "--zig", b.graph.zig_exe, "lower", "-O", @tagName(optimize) });
    lower.addPrefixedFileArg("--plugin=", .{ .cwd_relative = paths.plugin });
    lower.addFileArg(bitcode_exe.getEmittedLlvmBc());
    lower.addArg("-o");
    const object = lower.addOutputFileArg(b.fmt("{s}.zinst.o", .{exe.name}));

    const link_module = b.createModule(.{
        .target = module.resolved_target,
        .optimize = optimize,
        .link_libc = true,
    });
    link_module.addObjectFile(object);
    link_module.addIncludePath(.{ .cwd_relative = paths.runtime_dir });
    // The flags of the runtime's own build: never instrumented, optimized in
    // every mode, no UBSan traps from Zig's Debug mode.
    link_module.addCSourceFiles(.{
        .root = .{ .cwd_relative = paths.runtime_dir },
        .files = paths.runtime_sources,
        .flags = &.{ "-std=gnu11", "-O2", "-fvisibility=hidden", "-fno-omit-frame-pointer", "-fno-stack-protector", "-fno-sanitize=all" },
    });
    return b.addExecutable(.{ .name = exe.name, .root_module = link_module });
}

/// Makes `@import("zinst")` (zinst.zig) available to `module`, told by its
/// zinst_config import whether the runtime is linked.
fn addApi(b: *std.Build, module: *std.Build.Module, enabled: bool) void {
    const package = b.dependencyFromBuildZig(@This(), .{});
    const config = b.createModule(.{
        .root_source_file = package.path(if (enabled) "config/enabled.zig" else "config/disabled.zig"),
    });
    const api = b.createModule(.{ .root_source_file = package.path("zinst.zig") });
    api.addImport("zinst_config", config);
    module.addImport("zinst", api);
}

/// What `zinst zig paths` prints: the plugin, the runtime's directory and
/// its C sources.
const Paths = struct {
    plugin: []const u8,
    runtime_dir: []const u8,
    runtime_sources: []const []const u8,

    fn query(b: *std.Build, zinst: []const u8) Paths {
        const text = b.run(&.{ zinst, "zig", "paths" });
        var plugin: ?[]const u8 = null;
        var runtime_dir: ?[]const u8 = null;
        var source_count: usize = 0;
        var lines = std.mem.tokenizeScalar(u8, text, '\n');
        while (lines.next()) |line| {
            if (value(line, "plugin=")) |v| plugin = v;
            if (value(line, "runtime-dir=")) |v| runtime_dir = v;
            if (value(line, "runtime-source=") != null) source_count += 1;
        }
        const sources = b.allocator.alloc([]const u8, source_count) catch @panic("out of memory");
        var index: usize = 0;
        lines.reset();
        while (lines.next()) |line| {
            if (value(line, "runtime-source=")) |v| {
                sources[index] = v;
                index += 1;
            }
        }
        if (plugin == null or runtime_dir == null or source_count == 0)
            std.debug.panic("zinst: `{s} zig paths` printed no plugin, runtime directory or source:\n{s}", .{ zinst, text });
        return .{ .plugin = plugin.?, .runtime_dir = runtime_dir.?, .runtime_sources = sources };
    }

    fn value(line: []const u8, key: []const u8) ?[]const u8 {
        return if (std.mem.startsWith(u8, line, key)) line[key.len..] else null;
    }
};
