// SPDX-License-Identifier: GPL-2.0 OR MIT

//! DRM subsystem abstractions.
//!
//! Safe Rust layers over the C DRM core, for drivers written in Rust. Each C object has its own
//! module; the types a driver names most are re-exported here.
//!
//! A driver implements [`Driver`] (name, version, per-device and per-file data, ioctl table),
//! allocates a [`Device`] under a bound parent device as an [`UnregisteredDevice`], and registers
//! it with userspace, which yields a [`Registration`] held in the parent's devres: dropping it
//! (or unbinding the parent) unplugs the device. Ioctl handlers, declared on the handlers
//! themselves ([`ioctl::handlers`], listed by [`ioctl::table!`]), get the [`Device`] and the
//! caller's [`File`], and take their uapi argument as a value ([`user`]); they run outside
//! `drm_dev_enter()` sections and enter one ([`Device::enter`], a [`Section`] guard) only around
//! work that must not outlive the unplug (see [`ioctl`]).
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

pub mod device;
pub mod driver;
pub mod file;
pub mod gem;
#[cfg(all(
    CONFIG_RUST_DRM_GPUVM,
    CONFIG_RUST_DRM_GEM_SHMEM_HELPER,
    CONFIG_DRM_EXEC = "y"
))]
pub mod gpuvm;
pub mod ioctl;
#[cfg(CONFIG_DMA_SHARED_BUFFER)]
pub mod job;
#[cfg(all(CONFIG_RUST_DRM_KMS, CONFIG_DRM_KMS_HELPER = "y"))]
pub mod kms;
#[cfg(not(all(CONFIG_RUST_DRM_KMS, CONFIG_DRM_KMS_HELPER = "y")))]
#[path = "kms/none.rs"]
pub mod kms;
pub mod syncobj;
#[cfg(any(CONFIG_RUST_DRM_KUNIT_TEST, CONFIG_RUST_KERNEL_DOCTESTS))]
pub(crate) mod tests;
pub mod user;

pub use self::device::Device;
pub use self::device::Registration;
pub use self::device::Section;
pub use self::device::UnregisteredDevice;
pub use self::driver::Driver;
pub use self::driver::DriverInfo;
pub use self::driver::Features;
pub use self::file::Client;
pub use self::file::DriverFile;
pub use self::file::File;
pub use self::file::Node;
