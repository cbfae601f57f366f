//! zinst for `zig build`: one call turns an executable's Zig code into an
//! instrumented one.
//!
//!     const zinst = @import("zinst");
//!     const exe = b.addExecutable(...);
//!     const profiled = zinst.instrument(b, exe, .{});
//!     b.installArtifact(profiled);
//!
//! How: the executable's root module (with every module it imports) is
//! compiled a second time to Zig's unoptimized LLVM bitcode, by `zinst zig
//! bitcode` (a Run step: a Compile step's -femit-llvm-bc is bitcode Zig's own
//! LLVM has already optimized with Zig 0.17); `zinst zig lower` runs the zinst
//! plugin through the system `opt` at the level of the module's optimize
//! mode, then `llc`, after checking that the system LLVM can read the bitcode
//! of this Zig; the object is linked by Zig with the zinst runtime, compiled
//! from its C sources for the module's target. The plugin is a file argument
//! of the lowering step, so a rebuilt plugin invalidates Zig's cache; the
//! bitcode step lists every file Zig read in a depfile, so editing any of
//! them compiles again.
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
/// for each executable to profile, once its modules are set up: their
/// imports and options are read here.
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
    const compile = b.addSystemCommand(&.{ zinst, "zig", "--zig", b.graph.zig_exe, "bitcode" });
    _ = compile.addPrefixedDepFileOutputArg("--depfile=", b.fmt("{s}.d", .{exe.name}));
    compile.addArg("-o");
    const bitcode = compile.addOutputFileArg(b.fmt("{s}.bc", .{exe.name}));
    compile.addArg("--");
    addModuleArgs(b, compile, exe.name, module);

    const lower = b.addSystemCommand(&.{ zinst, "zig", "--zig", b.graph.zig_exe, "lower", "-O", @tagName(optimize) });
    lower.addPrefixedFileArg("--plugin=", .{ .cwd_relative = paths.plugin });
    lower.addFileArg(bitcode);
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

/// The arguments of `zig build-exe` that compile `root` and every module it
/// imports, as the build system's Compile step writes them (Zig 0.17:
/// lib/compiler/Maker/Step/Compile.zig, lowerZigArgs and appendModuleFlags;
/// 0.14: std/Build/Step/Compile.zig and Module.appendZigProcessFlags): for
/// each module its flags, its imports (--dep), then -M<name>=<root source>,
/// the root module first and named "root". They are read when instrument()
/// is called: imports added to the module afterwards are not seen.
fn addModuleArgs(b: *std.Build, run: *std.Build.Step.Run, exe_name: []const u8, root: *std.Build.Module) void {
    const Module = std.Build.Module;
    // Every module reachable from root, breadth first, with a name unique on
    // the command line: the name it is imported by, numbered when taken.
    var names: std.AutoArrayHashMapUnmanaged(*Module, []const u8) = .empty;
    var taken: std.StringArrayHashMapUnmanaged(void) = .empty;
    names.put(b.allocator, root, "root") catch @panic("OOM");
    taken.put(b.allocator, "root", {}) catch @panic("OOM");
    var next: usize = 0;
    while (next < names.count()) : (next += 1) {
        const module = names.keys()[next];
        for (module.import_table.keys(), module.import_table.values()) |import_name, imported| {
            if (names.contains(imported)) continue;
            var name = import_name;
            var number: usize = 0;
            while (taken.contains(name)) : (number += 1) name = b.fmt("{s}{d}", .{ import_name, number });
            names.put(b.allocator, imported, name) catch @panic("OOM");
            taken.put(b.allocator, name, {}) catch @panic("OOM");
        }
    }
    if (root.root_source_file == null)
        std.debug.panic("zinst: the root module of '{s}' has no Zig root source file: nothing to instrument", .{exe_name});

    var link_libcpp = false;
    for (names.keys(), names.values()) |module, name| {
        // A module of C sources only is no Zig module: the compile has no use for it.
        const source = module.root_source_file orelse continue;
        addModuleFlags(b, run, exe_name, module);
        for (module.import_table.keys(), module.import_table.values()) |import_name, imported| {
            if (imported.root_source_file == null) continue;
            const imported_name = names.get(imported).?;
            run.addArg("--dep");
            run.addArg(if (std.mem.eql(u8, import_name, imported_name)) import_name else b.fmt("{s}={s}", .{ import_name, imported_name }));
        }
        run.addPrefixedFileArg(b.fmt("-M{s}=", .{name}), source);
        if (module.link_libcpp orelse false) link_libcpp = true;
    }
    // instrument() makes the root module link libc.
    run.addArg("-lc");
    if (link_libcpp) run.addArg("-lc++");
}

/// The flags of one module that decide how its Zig code compiles.
fn addModuleFlags(b: *std.Build, run: *std.Build.Step.Run, exe_name: []const u8, m: *std.Build.Module) void {
    const Module = std.Build.Module;
    const flags = .{
        .{ "strip", m.strip },
        .{ "single-threaded", m.single_threaded },
        .{ "stack-check", m.stack_check },
        .{ "stack-protector", m.stack_protector },
        .{ "omit-frame-pointer", m.omit_frame_pointer },
        .{ "error-tracing", m.error_tracing },
        .{ "sanitize-thread", m.sanitize_thread },
        .{ "fuzz", m.fuzz },
        .{ "valgrind", m.valgrind },
        .{ "PIC", m.pic },
    };
    inline for (flags) |flag| {
        if (flag[1]) |on| run.addArg(if (on) "-f" ++ flag[0] else "-fno-" ++ flag[0]);
    }
    if (@hasField(Module, "no_builtin")) {
        if (m.no_builtin) |on| run.addArg(if (on) "-fno-builtin" else "-fbuiltin");
    }
    if (m.red_zone) |on| run.addArg(if (on) "-mred-zone" else "-mno-red-zone");
    // Zig 0.14: a bool; later: off, trap or full.
    if (m.sanitize_c) |sanitize_c| {
        if (@TypeOf(sanitize_c) == bool)
            run.addArg(if (sanitize_c) "-fsanitize-c" else "-fno-sanitize-c")
        else switch (sanitize_c) {
            .off => run.addArg("-fno-sanitize-c"),
            else => |mode| run.addArg(b.fmt("-fsanitize-c={s}", .{@tagName(mode)})),
        }
    }
    if (m.dwarf_format) |format| run.addArg(b.fmt("-gdwarf{s}", .{@tagName(format)}));
    if (m.unwind_tables) |tables| run.addArg(switch (tables) {
        .none => "-fno-unwind-tables",
        .sync => "-funwind-tables",
        else => "-fasync-unwind-tables",
    });
    // "-OReleaseFast" (0.14) or "-Ofast" (0.17): each Zig reads its own names.
    if (m.optimize) |optimize| run.addArg(b.fmt("-O{s}", .{@tagName(optimize)}));
    if (m.code_model != .default) run.addArgs(&.{ "-mcmodel", @tagName(m.code_model) });
    if (@hasField(Module, "patchable_function_entry") and m.patchable_function_entry > 0)
        run.addArg(b.fmt("-fpatchable-function-entry={d}", .{m.patchable_function_entry}));
    if (m.resolved_target) |target| {
        const query = target.query;
        if (!query.isNative()) {
            run.addArgs(&.{ "-target", query.zigTriple(b.allocator) catch @panic("OOM") });
            run.addArgs(&.{ "-mcpu", query.serializeCpuAlloc(b.allocator) catch @panic("OOM") });
            // Zig 0.14: a DynamicLinker, maybe empty; later: optional.
            if (@typeInfo(@TypeOf(query.dynamic_linker)) == .optional) {
                if (query.dynamic_linker) |linker| {
                    if (linker.get()) |path| run.addArgs(&.{ "--dynamic-linker", path }) else run.addArg("--no-dynamic-linker");
                }
            } else if (query.dynamic_linker.get()) |path| run.addArgs(&.{ "--dynamic-linker", path });
        }
    }
    for (m.export_symbol_names) |symbol| run.addArg(b.fmt("--export={s}", .{symbol}));
    // Include directories and macros serve @cImport. The kinds differ between
    // Zig versions, hence the dispatch by name.
    for (m.include_dirs.items) |include_dir| {
        const IncludeDir = @TypeOf(include_dir);
        inline for (comptime std.meta.fieldNames(IncludeDir)) |kind| {
            if (include_dir == @field(std.meta.Tag(IncludeDir), kind))
                addIncludeDir(run, exe_name, kind, @field(include_dir, kind));
        }
    }
    for (m.c_macros.items) |macro| run.addArg(macro);
}

/// One include directory of a module, of the kind named `kind`.
fn addIncludeDir(run: *std.Build.Step.Run, exe_name: []const u8, comptime kind: []const u8, value: anytype) void {
    const eql = std.mem.eql;
    if (comptime eql(u8, kind, "path")) return addPathArg(run, "-I", value);
    if (comptime eql(u8, kind, "path_system")) return addPathArg(run, "-isystem", value);
    if (comptime eql(u8, kind, "path_after")) return addPathArg(run, "-idirafter", value);
    if (comptime eql(u8, kind, "framework_path")) return addPathArg(run, "-F", value);
    if (comptime eql(u8, kind, "framework_path_system")) return addPathArg(run, "-iframework", value);
    // Zig 0.17: a directory @embedFile may read from.
    if (comptime eql(u8, kind, "embed_path")) return run.addPrefixedDirectoryArg("--embed-dir=", value);
    // A library the module links: the headers it installs.
    if (comptime eql(u8, kind, "other_step")) {
        if (value.installed_headers.items.len > 0) addPathArg(run, "-I", value.getEmittedIncludeTree());
        return;
    }
    if (comptime eql(u8, kind, "config_header_step")) {
        if (@hasDecl(std.Build.Step.ConfigHeader, "getOutputDir")) return addPathArg(run, "-I", value.getOutputDir());
        // Zig 0.14: the directory that holds the header's include_path.
        var dir = value.getOutput();
        var components = std.mem.tokenizeScalar(u8, value.include_path, '/');
        while (components.next() != null) dir = dir.dirname();
        return addPathArg(run, "-I", dir);
    }
    std.debug.panic("zinst: a module of '{s}' has an include directory of a kind zinst.instrument does not know ({s})", .{ exe_name, kind });
}

fn addPathArg(run: *std.Build.Step.Run, flag: []const u8, path: std.Build.LazyPath) void {
    run.addArg(flag);
    run.addDirectoryArg(path);
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
