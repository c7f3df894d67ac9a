// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Encoders: what connects a CRTC to a connector.
//!
//! An atomic driver's encoders have no state and, for virtual hardware, no hooks: [`Encoder`] is
//! the C object only.
//!
//! C header: [`include/drm/drm_encoder.h`](srctree/include/drm/drm_encoder.h)

use super::{
    private::ModeObject,
    setup::{
        alloc_object,
        free_object, //
    },
    CrtcMask,
    Handle,
    Setup, //
};
use crate::{
    bindings,
    drm::Driver,
    prelude::*,
    types::Opaque, //
};
use core::ptr;

/// The kind of an encoder (`DRM_MODE_ENCODER_*`), as userspace sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderType {
    /// No particular kind.
    None,
    /// A virtual encoder (`DRM_MODE_ENCODER_VIRTUAL`).
    Virtual,
}

/// An encoder: a `struct drm_encoder`.
///
/// # Invariants
///
/// `raw` is initialised by `drm_encoder_init()` with `FUNCS`, inside an allocation from
/// `alloc_object`, and lives until the mode configuration of its device is cleaned up.
#[repr(C)]
#[pin_data]
pub struct Encoder {
    raw: Opaque<bindings::drm_encoder>,
}

// SAFETY: The C encoder is only changed under the mode config's locks.
unsafe impl Send for Encoder {}
// SAFETY: As above.
unsafe impl Sync for Encoder {}

impl ModeObject for Encoder {
    fn drm_device(&self) -> *mut bindings::drm_device {
        // SAFETY: `raw` is initialised (type invariant); `dev` does not change.
        unsafe { (*self.raw.get()).dev }
    }
}

impl Encoder {
    /// The raw `struct drm_encoder`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_encoder {
        self.raw.get()
    }

    /// The encoder's mode object id.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `raw` is initialised; the id does not change.
        unsafe { (*self.as_raw()).base.id }
    }
}

/// The encoders' table: only `destroy`.
const FUNCS: bindings::drm_encoder_funcs = bindings::drm_encoder_funcs {
    destroy: Some(destroy_callback),
    ..pin_init::zeroed()
};

/// `drm_encoder_funcs.destroy`.
///
/// # Safety
///
/// Called by the C core once, for an [`Encoder`] that nothing uses any more.
unsafe extern "C" fn destroy_callback(raw: *mut bindings::drm_encoder) {
    // SAFETY: `raw` is an initialised encoder; this is its cleanup.
    unsafe { bindings::drm_encoder_cleanup(raw) };
    // SAFETY: `raw` is the first field of an `Encoder` from `alloc_object` (type invariant).
    unsafe { free_object(raw.cast::<Encoder>()) };
}

impl<'s, D: Driver> Setup<'s, D> {
    /// Creates an encoder of kind `kind` that can be driven by `possible_crtcs`.
    pub fn encoder(
        &mut self,
        kind: EncoderType,
        possible_crtcs: CrtcMask,
    ) -> Result<Handle<Encoder>> {
        let encoder = alloc_object(try_pin_init!(Encoder {
            raw: Opaque::zeroed()
        }))?;
        // SAFETY: `encoder` is freshly allocated and pinned.
        let raw = unsafe { &raw mut (*encoder.as_ptr()).raw }.cast::<bindings::drm_encoder>();
        let kind = match kind {
            EncoderType::None => bindings::DRM_MODE_ENCODER_NONE,
            EncoderType::Virtual => bindings::DRM_MODE_ENCODER_VIRTUAL,
        };
        // SAFETY: The device is in its KMS phase (invariant of `Setup`); `raw` is zeroed and
        // pinned, the table `'static`; a null name makes the C core pick one.
        let ret = unsafe {
            bindings::drm_encoder_init(self.as_raw(), raw, &FUNCS, kind as c_int, ptr::null())
        };
        if ret != 0 {
            // SAFETY: The init failed, so the C core does not know the encoder.
            unsafe { free_object(encoder.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: The encoder is initialised and not yet visible to userspace.
        unsafe { (*raw).possible_crtcs = possible_crtcs.0 };
        Ok(self.handle(encoder))
    }
}
