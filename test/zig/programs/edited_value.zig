//! Imported by edited.zig; the build_zig test rewrites this value.
pub const value = 1;
