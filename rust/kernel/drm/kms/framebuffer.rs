// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Framebuffers: GEM objects described as images, for planes to show.
//!
//! `ADDFB2` creates them through the GEM framebuffer helper (`drm_gem_fb_create()`), over the
//! driver's own GEM objects: the C core checks the format, modifier, pitches and offsets
//! against the mode configuration (`framebuffer_check()`), and the helper checks that every
//! object is large enough for its plane (`drm_gem_fb_init_with_funcs()`). Every GEM object of a
//! device is the driver's [`Driver::Object`](crate::drm::Driver::Object), so the handles
//! userspace passes always name objects of this layer.
//!
//! C header: [`include/drm/drm_framebuffer.h`](srctree/include/drm/drm_framebuffer.h)

use crate::{
    bindings,
    sync::aref::AlwaysRefCounted,
    types::Opaque, //
};
use core::ptr::NonNull;

/// A framebuffer: a `struct drm_framebuffer`, reference counted.
///
/// # Invariants
///
/// `self.0` is an initialised framebuffer with a reference held for as long as `&self` lives.
#[repr(transparent)]
pub struct Framebuffer(Opaque<bindings::drm_framebuffer>);

// SAFETY: Framebuffers are immutable once created and their refcount is atomic.
unsafe impl Send for Framebuffer {}
// SAFETY: As above.
unsafe impl Sync for Framebuffer {}

impl Framebuffer {
    /// The framebuffer `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is an initialised framebuffer with a reference held for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_framebuffer) -> &'a Self {
        // CAST: `Framebuffer` is a transparent wrapper of `struct drm_framebuffer`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    #[inline]
    fn c(&self) -> &bindings::drm_framebuffer {
        // SAFETY: Initialised (type invariant); the fields read here do not change.
        unsafe { &*self.0.get() }
    }

    /// The raw `struct drm_framebuffer`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_framebuffer {
        self.0.get()
    }

    /// The framebuffer's id, as userspace sees it.
    #[inline]
    pub fn id(&self) -> u32 {
        self.c().base.id
    }

    /// The width in pixels.
    #[inline]
    pub fn width(&self) -> u32 {
        self.c().width
    }

    /// The height in pixels.
    #[inline]
    pub fn height(&self) -> u32 {
        self.c().height
    }

    /// The pixel format, as a fourcc code ([`format`](super::format)).
    #[inline]
    pub fn format(&self) -> u32 {
        // SAFETY: A framebuffer always has a format (`drm_framebuffer_init()` requires it).
        unsafe { (*self.c().format).format }
    }

    /// The format modifier.
    #[inline]
    pub fn modifier(&self) -> u64 {
        self.c().modifier
    }

    /// The bytes per line of plane `i` of the format (`0` for a plane it does not have).
    #[inline]
    pub fn pitch(&self, i: usize) -> u32 {
        self.c().pitches.get(i).copied().unwrap_or(0)
    }

    /// The offset of plane `i` into its GEM object.
    #[inline]
    pub fn offset(&self, i: usize) -> u32 {
        self.c().offsets.get(i).copied().unwrap_or(0)
    }
}

// SAFETY: `drm_framebuffer_get()`/`put()` are the framebuffer's reference count; the C core
// frees it when the count drops to zero.
unsafe impl AlwaysRefCounted for Framebuffer {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::drm_framebuffer_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_framebuffer_put(obj.as_ref().as_raw()) };
    }
}
