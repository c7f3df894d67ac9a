// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Test fixtures of the DRM layer, for its KUnit suites (`#[kunit_tests]` at the bottom of each
//! module) and its benchmarks; none of it is built into a kernel without
//! `CONFIG_RUST_DRM_KUNIT_TEST`.
//!
//! * [`drivers`]: the test driver of the core layer, with ioctls of Nova's shapes (`GETPARAM`,
//!   `GEM_CREATE`, `GEM_INFO`), on faux, platform and auxiliary parents, and files opened in the
//!   kernel ([`MockFile`]) whose ioctls go through `drm_ioctl_kernel()`;
//! * [`gem`]: the GEM test driver, its objects and devices.

pub(crate) mod drivers;
pub(crate) mod gem;

pub(crate) use self::drivers::*;
pub(crate) use self::gem::*;
