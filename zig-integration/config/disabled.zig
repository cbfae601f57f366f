//! zinst_config for builds without the zinst runtime.
pub const enabled = false;
