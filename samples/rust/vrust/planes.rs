// SPDX-License-Identifier: GPL-2.0

//! The planes: three implementations, one state type.
//!
//! Each plane kind is its own [`kms::PlaneImpl`], and the C core hands each hook the plane and
//! the commit; a hook that needs another object of the commit looks it up through the
//! [`Display`](crate::display::Display)'s handles, with that object's type. (The layer lets
//! each implementation have its own state type; here they all need the same.)
//!
//! All three check their placement against the CRTC's mode with the C helper
//! ([`kms::Check::check_plane`]): no scaling, positioned anywhere, as vkms's planes. A visible
//! plane's state then maps its framebuffer for the composer ([`compose`](crate::compose)).

use crate::{
    compose::{
        HasMapping,
        Mapped, //
    },
    driver::Vrust,
};
use kernel::{
    drm::kms::{
        self,
        blend,
        compose::pixel::FOURCCS,
        format,
        rotation,
        Check,
        CrtcMask,
        Plane,
        PlaneImpl,
        PlaneSpec,
        PlaneType,
        Scaling, //
    },
    prelude::*,
    sync::aref::ARef,
};

/// The planes' optional properties, the same on all three: `zpos` from `zpos` (0 to `top`),
/// rotation and reflection, alpha and the three blend modes; the YUV properties with `yuv`.
fn spec(
    kind: PlaneType,
    formats: &[u32],
    crtcs: CrtcMask,
    zpos: u32,
    top: u32,
    yuv: bool,
) -> PlaneSpec<'_> {
    PlaneSpec {
        kind,
        formats,
        modifiers: &[format::MOD_LINEAR],
        possible_crtcs: crtcs,
        zpos: Some((zpos, 0, top)),
        rotations: Some(rotation::ROTATE_MASK | rotation::REFLECT_MASK),
        alpha: true,
        blend_modes: Some(blend::PREMULTI | blend::COVERAGE | blend::PIXEL_NONE),
        yuv_properties: yuv,
    }
}

/// A plane's state: the mapping of the framebuffer it shows.
#[derive(Clone, Default)]
pub(crate) struct Shown {
    map: Mapped,
}

impl HasMapping for Shown {
    fn mapping(&self) -> &Mapped {
        &self.map
    }
}

/// The check of every plane: placement, then the mapping of what it shows.
fn check<T: PlaneImpl<Driver = Vrust, State = Shown>>(
    plane: &Plane<T>,
    commit: &mut Check<'_, Vrust>,
) -> Result {
    commit.check_plane(plane, Scaling::None, true)?;
    let state = commit.plane_mut(plane)?;
    let fb = if state.visible() {
        state.framebuffer().map(ARef::from)
    } else {
        None
    };
    // A buffer the kernel cannot map (an import whose exporter has no vmap) is shown, but
    // not composed: the commit does not fail for it.
    if let Err(e) = state.map.update(fb.as_deref()) {
        kernel::pr_warn_once!(
            "vrust: a framebuffer cannot be mapped ({:?}), so not composed\n",
            e
        );
        state.map = Mapped::default();
    }
    Ok(())
}

/// The primary plane: every format the composer reads.
pub(crate) struct Primary;

impl Primary {
    /// Its properties, for `crtcs`, at the bottom of planes stacked from 0 to `top`.
    pub(crate) fn spec(crtcs: CrtcMask, top: u32) -> PlaneSpec<'static> {
        spec(PlaneType::Primary, &FOURCCS, crtcs, 0, top, true)
    }
}

#[vtable]
impl kms::PlaneImpl for Primary {
    type Driver = Vrust;
    type State = Shown;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        check(plane, commit)
    }
}

/// The cursor plane: every format, as vkms's, on top.
pub(crate) struct Cursor;

impl Cursor {
    /// Its properties, for `crtcs`, on top (`top`).
    pub(crate) fn spec(crtcs: CrtcMask, top: u32) -> PlaneSpec<'static> {
        spec(PlaneType::Cursor, &FOURCCS, crtcs, top, top, true)
    }
}

#[vtable]
impl kms::PlaneImpl for Cursor {
    type Driver = Vrust;
    type State = Shown;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        check(plane, commit)
    }
}

/// The overlay plane: every format, between the other two.
pub(crate) struct Overlay;

impl Overlay {
    /// Its properties, for `crtcs`, at `zpos` from 0 to `top`.
    pub(crate) fn spec(crtcs: CrtcMask, zpos: u32, top: u32) -> PlaneSpec<'static> {
        spec(PlaneType::Overlay, &FOURCCS, crtcs, zpos, top, true)
    }
}

#[vtable]
impl kms::PlaneImpl for Overlay {
    type Driver = Vrust;
    type State = Shown;

    fn atomic_check(plane: &Plane<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        check(plane, commit)
    }
}
