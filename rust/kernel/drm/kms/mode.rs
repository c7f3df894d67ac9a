// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Display modes and rectangles.
//!
//! C header: [`include/drm/drm_modes.h`](srctree/include/drm/drm_modes.h)

use crate::{bindings, types::Opaque};

/// A display mode: a `struct drm_display_mode`, read only.
///
/// # Invariants
///
/// `self.0` is an initialised mode.
#[repr(transparent)]
pub struct DisplayMode(Opaque<bindings::drm_display_mode>);

impl DisplayMode {
    /// The mode `c`.
    #[inline]
    pub(crate) fn from_c(c: &bindings::drm_display_mode) -> &Self {
        // CAST: `DisplayMode` is a transparent wrapper of `struct drm_display_mode`.
        // SAFETY: `c` is a live, initialised mode for the returned lifetime.
        unsafe { &*core::ptr::from_ref(c).cast::<Self>() }
    }

    #[inline]
    fn c(&self) -> &bindings::drm_display_mode {
        // SAFETY: Initialised (type invariant).
        unsafe { &*self.0.get() }
    }

    /// Visible width in pixels.
    #[inline]
    pub fn hdisplay(&self) -> u32 {
        self.c().hdisplay.into()
    }

    /// Visible height in lines.
    #[inline]
    pub fn vdisplay(&self) -> u32 {
        self.c().vdisplay.into()
    }

    /// Pixel clock in kHz.
    #[inline]
    pub fn clock(&self) -> u32 {
        self.c().clock.max(0) as u32
    }

    /// Refresh rate in Hz, rounded (`drm_mode_vrefresh()`).
    pub fn vrefresh(&self) -> u32 {
        // SAFETY: `self` is an initialised mode; the function only reads it.
        let hz = unsafe { bindings::drm_mode_vrefresh(self.0.get()) };
        hz.max(0) as u32
    }
}

/// A rectangle (`struct drm_rect`): `x1`, `y1` inclusive, `x2`, `y2` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left.
    pub x1: i32,
    /// Top.
    pub y1: i32,
    /// Right, exclusive.
    pub x2: i32,
    /// Bottom, exclusive.
    pub y2: i32,
}

impl Rect {
    /// The rectangle at `x`, `y` of size `w` x `h`, saturating at `i32::MAX`.
    pub fn from_size(x: i32, y: i32, w: i32, h: i32) -> Self {
        Self {
            x1: x,
            y1: y,
            x2: x.saturating_add(w),
            y2: y.saturating_add(h),
        }
    }

    pub(crate) fn from_raw(r: &bindings::drm_rect) -> Self {
        Self {
            x1: r.x1,
            y1: r.y1,
            x2: r.x2,
            y2: r.y2,
        }
    }

    /// The width (`0` if empty).
    #[inline]
    pub fn width(&self) -> i32 {
        self.x2.saturating_sub(self.x1).max(0)
    }

    /// The height (`0` if empty).
    #[inline]
    pub fn height(&self) -> i32 {
        self.y2.saturating_sub(self.y1).max(0)
    }
}
