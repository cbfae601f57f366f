//! zinst_config for builds that link the zinst runtime (zinst zig build-exe).
pub const enabled = true;
