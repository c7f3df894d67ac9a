// SPDX-License-Identifier: GPL-2.0

//! The planes: three implementations with three state types.
//!
//! Each plane kind is its own [`kms::PlaneImpl`] with its own state, and the C core hands each
//! hook the plane and the commit; a hook that needs another object of the commit looks it up
//! through the [`Display`](crate::display::Display)'s handles, with that object's type.
//!
//! All three check their placement against the CRTC's mode with the C helper
//! ([`kms::Check::check_plane`]): no scaling, positioned anywhere, as vkms's planes.

use crate::driver::Vrust;
use kernel::{
    drm::kms::{
        self,
        blend,
        format,
        rotation,
        Check,
        CrtcMask,
        Plane,
        PlaneSpec,
        PlaneType,
        Scaling, //
    },
    prelude::*,
};

/// The formats of the primary and overlay planes: vkms's RGB formats and its two-plane YUV one.
const FORMATS: [u32; 6] = [
    format::XRGB8888,
    format::ARGB8888,
    format::XBGR8888,
    format::ABGR8888,
    format::RGB565,
    format::NV12,
];

/// The planes' optional properties, the same on all three: `zpos` from `zpos` (0 to 2),
/// rotation and reflection, alpha and the three blend modes.
fn spec(kind: PlaneType, formats: &[u32], pipe: CrtcMask, zpos: u32) -> PlaneSpec<'_> {
    PlaneSpec {
        kind,
        formats,
        modifiers: &[format::MOD_LINEAR],
        possible_crtcs: pipe,
        zpos: Some((zpos, 0, 2)),
        rotations: Some(rotation::ROTATE_MASK | rotation::REFLECT_MASK),
        alpha: true,
        blend_modes: Some(blend::PREMULTI | blend::COVERAGE | blend::PIXEL_NONE),
    }
}

/// The primary plane: the frame the CRTC scans out.
pub(crate) struct Primary;

/// The primary plane's state: what the scanout reads, worked out in the check.
#[derive(Clone, Default)]
pub(crate) struct Scanout {
    /// Bytes per line of the framebuffer, `0` when there is none.
    pub(crate) pitch: u32,
}

impl Primary {
    pub(crate) fn spec(pipe: CrtcMask) -> PlaneSpec<'static> {
        spec(PlaneType::Primary, &FORMATS, pipe, 0)
    }
}

#[vtable]
impl kms::PlaneImpl for Primary {
    type Driver = Vrust;
    type State = Scanout;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        commit.check_plane(plane, Scaling::None, true)?;
        let state = commit.plane_mut(plane)?;
        state.pitch = state.framebuffer().map_or(0, |fb| fb.pitch(0));
        Ok(())
    }
}

/// The cursor plane.
pub(crate) struct Cursor;

/// The cursor's state: where it points, for the composer of a later issue.
#[derive(Clone, Default)]
pub(crate) struct Pointer {
    /// The top left corner on the CRTC.
    pub(crate) x: i32,
    /// See `x`.
    pub(crate) y: i32,
}

impl Cursor {
    pub(crate) fn spec(pipe: CrtcMask) -> PlaneSpec<'static> {
        spec(PlaneType::Cursor, &[format::ARGB8888], pipe, 2)
    }
}

#[vtable]
impl kms::PlaneImpl for Cursor {
    type Driver = Vrust;
    type State = Pointer;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        commit.check_plane(plane, Scaling::None, true)?;
        let state = commit.plane_mut(plane)?;
        let at = state.crtc_rect();
        state.x = at.x1;
        state.y = at.y1;
        Ok(())
    }
}

/// The overlay plane.
pub(crate) struct Overlay;

/// The overlay's state: how it blends, for the composer of a later issue.
#[derive(Clone, Default)]
pub(crate) struct Layer {
    /// Whether it covers its area completely: opaque alpha and no pixel alpha to honour.
    pub(crate) opaque: bool,
}

impl Overlay {
    pub(crate) fn spec(pipe: CrtcMask) -> PlaneSpec<'static> {
        spec(PlaneType::Overlay, &FORMATS, pipe, 1)
    }
}

#[vtable]
impl kms::PlaneImpl for Overlay {
    type Driver = Vrust;
    type State = Layer;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        commit.check_plane(plane, Scaling::None, true)?;
        let state = commit.plane_mut(plane)?;
        let pixel_alpha = state
            .framebuffer()
            .is_some_and(|fb| matches!(fb.format(), format::ARGB8888 | format::ABGR8888));
        state.opaque = state.alpha() == u16::MAX && !pixel_alpha;
        Ok(())
    }
}
