// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Property blobs: immutable, reference-counted byte arrays that properties point to (a CRTC's
//! `MODE_ID`, gamma tables, `IN_FORMATS`, …).
//!
//! C header: [`include/drm/drm_property.h`](srctree/include/drm/drm_property.h)

use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::from_err_ptr,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque,
};
use core::ptr::NonNull;

/// A property blob: a `struct drm_property_blob`.
///
/// # Invariants
///
/// `self.0` is an initialised blob with a reference held for as long as `&self` lives; its
/// data does not change after creation.
#[repr(transparent)]
pub struct Blob(Opaque<bindings::drm_property_blob>);

// SAFETY: A blob is immutable once created and its refcount is atomic.
unsafe impl Send for Blob {}
// SAFETY: As above.
unsafe impl Sync for Blob {}

impl Blob {
    /// Creates a blob of `data` on `dev` (`drm_property_create_blob()`), which userspace can
    /// read with `GETPROPBLOB` by its [`id`](Self::id).
    ///
    /// Returns `ENODEV` for a device without a display (no mode configuration to hold it), and
    /// `EINVAL` for empty data or data longer than the C core takes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use kernel::{drm, faux, prelude::*};
    /// # kernel::drm_doctest_display!(Gpu);
    /// # let parent = faux::Registration::new(c"drm-doctest-blob", None)?;
    /// # let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
    /// # let dev = dev.modeset(doctest_setup)?;
    /// let blob = drm::kms::Blob::new(&dev, b"hello")?;
    /// assert_eq!(blob.data(), b"hello");
    /// assert_ne!(blob.id(), 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new<T: Driver>(dev: &Device<T>, data: &[u8]) -> Result<ARef<Self>> {
        if dev.kms_slot().display().is_none() {
            return Err(ENODEV);
        }
        // SAFETY: The device has a display, so its mode configuration is initialised; the C core
        // copies `data`.
        let raw = from_err_ptr(unsafe {
            bindings::drm_property_create_blob(dev.as_raw(), data.len(), data.as_ptr().cast())
        })?;
        // INVARIANT: a fresh blob, whose creation reference `ARef` takes over.
        // SAFETY: `raw` is not null (checked by `from_err_ptr`) and we own its reference.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast::<Self>())) })
    }

    /// The blob `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is an initialised blob with a reference held for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_property_blob) -> &'a Self {
        // CAST: `Blob` is a transparent wrapper of `struct drm_property_blob`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    #[inline]
    fn c(&self) -> &bindings::drm_property_blob {
        // SAFETY: Initialised and immutable (type invariant).
        unsafe { &*self.0.get() }
    }

    /// The raw `struct drm_property_blob`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_property_blob {
        self.0.get()
    }

    /// The blob's id, as userspace sees it.
    #[inline]
    pub fn id(&self) -> u32 {
        self.c().base.id
    }

    /// The blob's bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let c = self.c();
        // SAFETY: `data` points to `length` bytes (never zero: the C core refuses empty blobs)
        // that live and stay unchanged with the blob (type invariant).
        unsafe { core::slice::from_raw_parts(c.data.cast::<u8>(), c.length) }
    }
}

// SAFETY: `drm_property_blob_get()`/`put()` are the blob's reference count; the C core frees it
// when the count drops to zero.
unsafe impl AlwaysRefCounted for Blob {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::drm_property_blob_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_property_blob_put(obj.as_ref().as_raw()) };
    }
}
