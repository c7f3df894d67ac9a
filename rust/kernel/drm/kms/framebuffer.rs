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
    drm::kms::compose::Pixels,
    error::to_result,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque, //
};
use core::ptr::NonNull;

/// The most planes a format has (`DRM_FORMAT_MAX_PLANES`).
const MAX_PLANES: usize = bindings::DRM_FORMAT_MAX_PLANES as usize;

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

    /// The number of planes of the format.
    #[inline]
    pub fn num_planes(&self) -> usize {
        // SAFETY: As in `format()`.
        usize::from(unsafe { (*self.c().format).num_planes }).min(MAX_PLANES)
    }

    /// The bytes from the start of plane `i` to the end of its GEM object: the memory the plane
    /// may use (`drm_gem_fb_init_with_funcs()` checked that its pixels fit).
    fn plane_len(&self, i: usize) -> usize {
        let obj = self.c().obj[i];
        if obj.is_null() {
            return 0;
        }
        // SAFETY: The framebuffer holds a reference to each of its planes' objects; `size`
        // does not change.
        let size = unsafe { (*obj).size };
        size.saturating_sub(self.offset(i) as usize)
    }

    /// Maps the framebuffer's GEM objects into the kernel's address space, for the CPU to read
    /// and write its pixels (`drm_gem_fb_vmap()`), for as long as the returned guard lives.
    ///
    /// Sleeps: takes each object's reservation lock, so it must not be called with one held, nor
    /// on a path that must not allocate. A plane's `atomic_check` or `prepare_fb` is the place;
    /// a guard of the framebuffer an older state already mapped only counts a mapping more.
    pub fn vmap(&self) -> Result<FbMap> {
        let mut map: [bindings::iosys_map; MAX_PLANES] = pin_init::zeroed();
        // SAFETY: The framebuffer is live (type invariant); `map` has room for every plane, and
        // a null `data` asks for no offset copies.
        to_result(unsafe {
            bindings::drm_gem_fb_vmap(self.as_raw(), map.as_mut_ptr(), core::ptr::null_mut())
        })?;
        let mut len = [0; MAX_PLANES];
        for (i, l) in len.iter_mut().enumerate().take(self.num_planes()) {
            *l = self.plane_len(i);
        }
        // INVARIANT: `drm_gem_fb_vmap()` mapped every plane's object into `map`.
        Ok(FbMap {
            fb: self.into(),
            map,
            len,
        })
    }
}

/// A kernel mapping of a framebuffer's GEM objects: the guard of [`Framebuffer::vmap`].
///
/// As with a [`VMap`](crate::drm::gem::shmem::VMap), the memory is shared with userspace and
/// devices, so it is read and written by copies, which check the bounds; offsets are from the start
/// of a plane (the framebuffer's offset into its object applied).
///
/// Dropping the guard unmaps the objects, taking their reservation locks: it must not be
/// dropped with one held, nor on a fence-signalling path.
///
/// # Invariants
///
/// `map[i]` is a live mapping of the GEM object of plane `i` of `fb`, for each of its planes,
/// made by `drm_gem_fb_vmap()`; `len[i]` is the number of bytes of that object from the plane's
/// offset on.
pub struct FbMap {
    fb: ARef<Framebuffer>,
    map: [bindings::iosys_map; MAX_PLANES],
    len: [usize; MAX_PLANES],
}

// SAFETY: The mappings are kernel virtual addresses, valid on every CPU; unmapping takes the
// objects' reservation locks, which any thread may do.
unsafe impl Send for FbMap {}
// SAFETY: Reads and writes through `&FbMap` are copies the caller orders itself, as with any
// memory shared with userspace and devices.
unsafe impl Sync for FbMap {}

impl FbMap {
    /// The mapped framebuffer.
    #[inline]
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    /// The byte offset into the object of `len` bytes at `offset` of plane `plane`, if the
    /// range is inside the plane's memory.
    fn at(&self, plane: usize, offset: usize, len: usize) -> Result<usize> {
        let avail = *self.len.get(plane).ok_or(EINVAL)?;
        match offset.checked_add(len) {
            Some(end) if end <= avail => Ok(self.fb.offset(plane) as usize + offset),
            _ => Err(EINVAL),
        }
    }

    /// Copies `buf` into plane `plane` at `offset`. Fails with `EINVAL` when the range is not
    /// inside the plane's memory.
    pub fn write(&self, plane: usize, offset: usize, buf: &[u8]) -> Result {
        let at = self.at(plane, offset, buf.len())?;
        // SAFETY: The range is inside the live mapping of the plane's object (type invariant);
        // `buf` is valid for reads of its length; `iosys_map_memcpy_to()` does not change the
        // map.
        unsafe {
            bindings::iosys_map_memcpy_to(
                (&raw const self.map[plane]).cast_mut(),
                at,
                buf.as_ptr().cast(),
                buf.len(),
            )
        };
        Ok(())
    }
}

impl Pixels for FbMap {
    fn read(&self, plane: usize, offset: usize, buf: &mut [u8]) -> Result {
        let at = self.at(plane, offset, buf.len())?;
        // SAFETY: The range is inside the live mapping of the plane's object (type invariant),
        // and `buf` is valid for writes of its length.
        unsafe {
            bindings::iosys_map_memcpy_from(
                buf.as_mut_ptr().cast(),
                &self.map[plane],
                at,
                buf.len(),
            )
        };
        Ok(())
    }
}

impl Drop for FbMap {
    fn drop(&mut self) {
        // SAFETY: `map` holds the mappings `drm_gem_fb_vmap()` made of `fb` (type invariant),
        // given back once.
        unsafe { bindings::drm_gem_fb_vunmap(self.fb.as_raw(), self.map.as_mut_ptr()) };
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
