// SPDX-License-Identifier: GPL-2.0 OR MIT

//! CRCs of a CRTC's frames, for userspace to compare frames by: the DRM debugfs CRC interface.
//!
//! A CRTC implementation with [`CrtcImpl::set_crc_source`] gets the C core's CRC files in
//! debugfs (`crtc-N/crc/control` and `data`, which IGT reads) with one source, `"auto"`: the
//! frame the driver makes. The C core turns the source on when `data` is opened and off when it
//! is closed; the layer keeps vblank on (a vblank reference) while it is on, so the frames
//! come; while it is on, the driver reports the CRC of each frame with [`Crtc::add_crc`]
//! (a composer: [`crc32`] of each line of the frame, in order).
//!
//! C header: [`include/drm/drm_debugfs_crc.h`](srctree/include/drm/drm_debugfs_crc.h)

use super::{
    Crtc,
    CrtcImpl, //
};
use crate::ffi::c_char;
use crate::{
    bindings,
    error::from_result,
    prelude::*,
    sync::atomic::Relaxed, //
};

/// A CRC source, as named in the debugfs `control` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcSource {
    /// No CRCs.
    Off,
    /// `"auto"`: the CRC of the frame as the CRTC makes it.
    Auto,
}

impl CrcSource {
    /// The source a C string names: null is off, `"auto"` the one source.
    ///
    /// # Safety
    ///
    /// `name` is null or a valid C string.
    unsafe fn parse(name: *const c_char) -> Result<Self> {
        if name.is_null() {
            return Ok(Self::Off);
        }
        // SAFETY: By the safety requirements.
        match unsafe { CStr::from_char_ptr(name) }.to_bytes() {
            b"auto" => Ok(Self::Auto),
            _ => Err(EINVAL),
        }
    }
}

/// The CRC-32 (IEEE, least significant bit first, as `crc32_le()`) of `crc` continued over the
/// bytes of `data`, in memory order.
pub fn crc32(crc: u32, data: &[u32]) -> u32 {
    // SAFETY: `data` is valid for reads of its size in bytes, and any bytes are valid to read.
    unsafe { bindings::crc32_le(crc, data.as_ptr().cast(), core::mem::size_of_val(data)) }
}

impl<T: CrtcImpl> Crtc<T> {
    /// Reports the CRC of frame `frame` (a vblank count), while the source is on.
    ///
    /// Fails with `EINVAL` when the source is off (no reader has `data` open) and with
    /// `ENOBUFS` when the C core's buffer of CRCs is full; callers may ignore either: the
    /// reader sees the frames that were reported. Does not sleep.
    pub fn add_crc(&self, frame: u64, crc: u32) -> Result {
        let mut crcs = [crc];
        #[cfg(CONFIG_DEBUG_FS)]
        {
            // The C core counts frames in 32 bits, as `drm_crtc_vblank_count()` wraps for it.
            // SAFETY: The CRTC is live; `crcs` holds the one value the source has.
            crate::error::to_result(unsafe {
                bindings::drm_crtc_add_crc_entry(
                    self.as_raw(),
                    true,
                    frame as u32,
                    crcs.as_mut_ptr(),
                )
            })
        }
        #[cfg(not(CONFIG_DEBUG_FS))]
        {
            let _ = (frame, &mut crcs);
            Err(EINVAL)
        }
    }
}

/// `drm_crtc_funcs.set_crc_source`.
///
/// The C core turns the source off when the reader closes `data`, and holds no reference to the
/// device meanwhile: a reader that outlives the device's unplug and release closes it on a freed
/// CRTC (`crtc_crc_release()` in `drm_debugfs_crc.c`, the same for C drivers). Unplug turns the
/// CRTCs off; the open file keeps nothing else of the device.
///
/// # Safety
///
/// Called by the C core with a `Crtc<T>` and a null or valid source name.
pub(super) unsafe extern "C" fn set_source_callback<T: CrtcImpl>(
    raw: *mut bindings::drm_crtc,
    name: *const c_char,
) -> c_int {
    from_result(|| {
        // SAFETY: By the safety requirements.
        let source = unsafe { CrcSource::parse(name) }?;
        // SAFETY: `raw` is a live `Crtc<T>`.
        let crtc = unsafe { Crtc::<T>::from_raw(raw) };
        let on = source != CrcSource::Off;
        if on {
            // Frames come at vblank: keep vblank on while the source is.
            // SAFETY: The CRTC has vblank support; the C core opens the source of a CRTC
            // that is on.
            crate::error::to_result(unsafe { bindings::drm_crtc_vblank_get(raw) })?;
        }
        let ret = T::set_crc_source(crtc, source);
        let put = if on {
            // One reference while on: a failure or a second `on` gives this one back.
            ret.is_err() || crtc.crc_vblank.xchg(true, Relaxed)
        } else {
            // Off is final (the C core ignores an error when the reader closes).
            crtc.crc_vblank.xchg(false, Relaxed)
        };
        if put {
            // SAFETY: A reference taken above, or while the source was on.
            unsafe { bindings::drm_crtc_vblank_put(raw) };
        }
        ret?;
        Ok(0)
    })
}

/// `drm_crtc_funcs.verify_crc_source`: `"auto"` (or none), with one value per frame.
///
/// # Safety
///
/// Called by the C core with a null or valid source name and a valid `values`.
pub(super) unsafe extern "C" fn verify_source_callback(
    _raw: *mut bindings::drm_crtc,
    name: *const c_char,
    values: *mut usize,
) -> c_int {
    from_result(|| {
        // SAFETY: By the safety requirements.
        unsafe { CrcSource::parse(name) }?;
        // SAFETY: `values` is valid for writes (safety requirements).
        unsafe { *values = 1 };
        Ok(0)
    })
}

/// The source names, for the C core: a static array of C strings.
struct Sources([*const c_char; 1]);

// SAFETY: The pointers are to static, immutable strings.
unsafe impl Sync for Sources {}

static SOURCES: Sources = Sources([crate::str::as_char_ptr_in_const_context(c"auto")]);

/// `drm_crtc_funcs.get_crc_sources`.
///
/// # Safety
///
/// Called by the C core with a valid `count`.
pub(super) unsafe extern "C" fn get_sources_callback(
    _raw: *mut bindings::drm_crtc,
    count: *mut usize,
) -> *const *const c_char {
    // SAFETY: `count` is valid for writes (safety requirements).
    unsafe { *count = SOURCES.0.len() };
    SOURCES.0.as_ptr()
}
