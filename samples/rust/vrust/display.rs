// SPDX-License-Identifier: GPL-2.0

//! The display: the mode objects of a vrust device, made in its KMS phase, and the commit tail.
//!
//! Each device has one pipe, like vkms's default: a primary, a cursor and an overlay plane
//! ([`planes`](crate::planes)), a CRTC, a virtual encoder and a virtual connector, and a
//! writeback connector with its own encoder ([`writeback`](crate::writeback))
//! ([`output`](crate::output)). The [`Display`] keeps the typed handles that
//! [`kms::Setup`] returns; every hook reaches the objects of a commit through them, with their
//! own types.
//!
//! The commit tail is vkms's: planes are updated before the CRTC is enabled, and the tail waits
//! for the page flips rather than for a vblank on every CRTC.

use crate::{
    driver::Vrust,
    output::{
        VirtualOutput,
        VrustCrtc, //
    },
    planes::{
        Cursor,
        Overlay,
        Primary, //
    },
    writeback::VrustWriteback,
};
use kernel::{
    drm::kms::{
        self,
        compose::write::WRITE_FORMATS,
        tail,
        Connector,
        ConnectorType,
        Crtc,
        CrtcMask,
        CrtcPlanes,
        Encoder,
        EncoderType,
        Handle,
        Plane,
        Tail,
        Writeback, //
    },
    prelude::*,
};

/// The mode objects of a device.
pub(crate) struct Display {
    pub(crate) primary: Handle<Plane<Primary>>,
    pub(crate) cursor: Handle<Plane<Cursor>>,
    pub(crate) overlay: Handle<Plane<Overlay>>,
    pub(crate) crtc: Handle<Crtc<VrustCrtc>>,
    pub(crate) _encoder: Handle<Encoder>,
    pub(crate) _connector: Handle<Connector<VirtualOutput>>,
    pub(crate) _writeback: Handle<Writeback<VrustWriteback>>,
}

/// The largest mode of the virtual connector, and the framebuffer limit.
pub(crate) const MAX_WIDTH: u32 = 3840;
/// See [`MAX_WIDTH`].
pub(crate) const MAX_HEIGHT: u32 = 2160;

#[vtable]
impl kms::Kms<Vrust> for Vrust {
    type Display = Display;

    const MODE_CONFIG: kms::ModeConfig = kms::ModeConfig {
        min_width: 10,
        min_height: 10,
        max_width: 8192,
        max_height: 8192,
        cursor_width: 512,
        cursor_height: 512,
    };

    fn commit_tail<'c>(t: Tail<'c, Vrust, tail::Start>) -> Tail<'c, Vrust, tail::Done> {
        t.disable_outputs()
            .commit_planes(kms::PlaneCommit::default())
            .enable_outputs()
            .hw_done()
            .wait_for_flip_done()
            .cleanup_planes()
    }
}

/// Makes the mode objects of a device, in its KMS phase.
pub(crate) fn setup(s: &mut kms::Setup<'_, Vrust>) -> Result<Display> {
    let pipe = CrtcMask::only(s.num_crtcs());
    let primary = s.plane(&Primary::spec(pipe), Ok(Primary))?;
    let cursor = s.plane(&Cursor::spec(pipe), Ok(Cursor))?;
    let overlay = s.plane(&Overlay::spec(pipe), Ok(Overlay))?;
    let planes = CrtcPlanes::primary(s, &primary)?.with_cursor(s, &cursor)?;
    let crtc = s.crtc(planes, VrustCrtc::new()?)?;
    let encoder = s.encoder(EncoderType::Virtual, pipe)?;
    let connector = s.connector(ConnectorType::Virtual, &encoder, Ok(VirtualOutput))?;
    // The writeback connector has an encoder of its own, for the same CRTC.
    let wb_encoder = s.encoder(EncoderType::Virtual, pipe)?;
    let writeback = s.writeback(&wb_encoder, &WRITE_FORMATS, Ok(VrustWriteback))?;
    Ok(Display {
        primary,
        cursor,
        overlay,
        crtc,
        _encoder: encoder,
        _connector: connector,
        _writeback: writeback,
    })
}
