//! A project that uses zinst the way a user would: the zig-integration
//! package as a dependency, one instrument() call. test/zig/run_zig_tests.py
//! builds it with and without -Dzinst=false.
const std = @import("std");
const zinst = @import("zinst");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const exe = b.addExecutable(.{
        .name = "consumer",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/main.zig"),
            .target = target,
            .optimize = optimize,
        }),
    });
    const profiled = zinst.instrument(b, exe, .{});
    b.installArtifact(profiled);
    const run = b.addRunArtifact(profiled);
    b.step("run", "Run the program").dependOn(&run.step);
}
