// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KMS, in a kernel without the Rust KMS layer (`CONFIG_RUST_DRM_KMS` off): only what a driver
//! without a display names, [`NoKms`].

use crate::drm::{
    Device,
    Driver, //
};
use core::marker::PhantomData;

/// The display of a driver. Without `CONFIG_RUST_DRM_KMS` only [`NoKms`] implements it.
pub trait Kms<D: Driver>: 'static {
    /// Whether the driver has a display.
    #[doc(hidden)]
    const __ENABLED: bool;
}

/// The [`Driver::Kms`] of a driver without a display.
pub struct NoKms;

impl<D: Driver> Kms<D> for NoKms {
    const __ENABLED: bool = false;
}

/// Whether driver `T` has a display.
#[inline]
pub(crate) const fn has_kms<T: Driver>() -> bool {
    <T::Kms as Kms<T>>::__ENABLED
}

/// The KMS part of a device: nothing without the KMS layer.
pub(crate) struct Slot<T: Driver>(PhantomData<T>);

impl<T: Driver> Slot<T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

/// Nothing to turn off without a display.
pub(crate) fn shutdown<T: Driver>(_dev: &Device<T>) {}
