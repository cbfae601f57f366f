//! A project that uses zinst the way a user would: the zig-integration
//! package as a dependency, one instrument() call per executable.
//! test/zig/run_zig_tests.py copies it into its work directory with the
//! sources of test/zig/programs (counts.zig as src/main.zig, the others under
//! their own names) and builds it with and without -Dzinst=false.
const std = @import("std");
const zinst = @import("zinst");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const programs = [_][2][]const u8{
        .{ "consumer", "src/main.zig" },
        .{ "api", "src/api.zig" },
        .{ "inline_sites", "src/inline_sites.zig" },
        .{ "edited", "src/edited.zig" },
    };
    for (programs) |program| {
        // edited only shows that an edit compiles again: Debug mode, whatever
        // the build's, keeps that cheap (`Debug` names the mode in Zig 0.14
        // and 0.17 alike).
        const edited = std.mem.eql(u8, program[0], "edited");
        const exe = b.addExecutable(.{
            .name = program[0],
            .root_module = b.createModule(.{
                .root_source_file = b.path(program[1]),
                .target = target,
                .optimize = if (edited) @TypeOf(optimize).Debug else optimize,
            }),
        });
        const profiled = zinst.instrument(b, exe, .{});
        b.installArtifact(profiled);
        const run = b.addRunArtifact(profiled);
        b.step(b.fmt("run-{s}", .{program[0]}), "Run the program").dependOn(&run.step);
    }
}
