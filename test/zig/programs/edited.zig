//! A root source file that imports another file of its module.
//! test/zig/run_zig_tests.py (case build_zig) builds it in test/zig/consumer,
//! edits edited_value.zig and builds again: the second build must compile
//! the change, so the package's bitcode step must know every file Zig read,
//! not only the root source files it names.
const std = @import("std");
const edited_value = @import("edited_value.zig");

pub fn main() void {
    std.debug.print("value={d}\n", .{edited_value.value});
}
