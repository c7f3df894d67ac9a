// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Test fixtures of the DRM layer, for its KUnit suites (`#[kunit_tests]` at the bottom of each
//! module), its benchmarks and its doctests; none of it is built into a kernel without
//! `CONFIG_RUST_DRM_KUNIT_TEST` or `CONFIG_RUST_KERNEL_DOCTESTS`.
//!
//! * [`doctest`]: the hidden driver of the doctests,
//!   [`drm_doctest_driver!`](crate::drm_doctest_driver);
//! * [`drivers`]: the test driver of the core layer, with ioctls of Nova's shapes (`GETPARAM`,
//!   `GEM_CREATE`, `GEM_INFO`), on faux, platform and auxiliary parents, and files opened in the
//!   kernel ([`MockFile`]) whose ioctls go through `drm_ioctl_kernel()`;
//! * [`gem`]: the GEM test driver, its objects and devices;
//! * `kms`: the KMS driver of the benchmark against vkms (`CONFIG_RUST_DRM_BENCH`), one pipe of
//!   vkms's shape (three planes, a CRTC, an encoder and a connector); the KMS layer's own suite
//!   has a driver of two plane implementations with counted states (`kms/tests.rs`);
//! * `bench`: the benchmarks against C (`CONFIG_RUST_DRM_BENCH`), which print numbers and test
//!   nothing.

#[cfg(CONFIG_RUST_DRM_BENCH)]
mod bench;
#[cfg(CONFIG_RUST_KERNEL_DOCTESTS)]
pub(crate) mod doctest;
#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
pub(crate) mod drivers;
#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
pub(crate) mod gem;
#[cfg(CONFIG_RUST_DRM_BENCH)]
pub(crate) mod kms;

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
pub(crate) use self::drivers::*;
#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
pub(crate) use self::gem::*;
