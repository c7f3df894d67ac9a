// SPDX-License-Identifier: GPL-2.0

//! The display: the pipeline a device is made with, its mode objects, made in its KMS phase,
//! and the commit tail.
//!
//! A [`Pipeline`] lists the planes (each with its type and the CRTCs it can be used with), the
//! CRTCs (each with a writeback connector or not), the encoders (with their CRTCs) and the
//! connectors (with their encoders and the status a probe reports). An instance's configfs
//! directory describes it ([`config`](crate::config)); without one a device has the
//! [default](Pipeline::single) pipe, like vkms's: a primary, a cursor and an overlay plane
//! ([`planes`](crate::planes)), a CRTC, a virtual encoder and a virtual connector, and a
//! writeback connector with its own encoder ([`writeback`](crate::writeback))
//! ([`output`](crate::output)).
//!
//! The [`Display`] keeps the typed handles that [`kms::Setup`] returns, a list of each type;
//! every hook reaches the objects of a commit through them, with their own types.
//!
//! The commit tail is vkms's: planes are updated before the CRTC is enabled, and the tail waits
//! for the page flips rather than for a vblank on every CRTC.

use crate::{
    driver::Vrust,
    output::{
        Plug,
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
        PlaneType,
        Status,
        Tail,
        Writeback, //
    },
    prelude::*,
    sync::Arc,
};

/// A plane of a pipeline.
pub(crate) struct PlaneDesc {
    /// Its type.
    pub(crate) kind: PlaneType,
    /// The CRTCs it can be used with, by index. A primary or cursor plane is that of its one
    /// CRTC.
    pub(crate) crtcs: u32,
}

/// A connector of a pipeline.
pub(crate) struct ConnectorDesc {
    /// The encoders that can drive it, by index; at least one.
    pub(crate) encoders: u32,
    /// What its `detect` reports; shared with configfs, which changes it at run time.
    pub(crate) plug: Arc<Plug>,
}

/// The mode objects a device is made with, and how they connect. Objects are numbered by their
/// place in their list, which is also their index in the C core (their bit in masks): the
/// writeback connectors and their encoders are made after all the others.
///
/// # Invariants
///
/// What [`Pipeline::single`] makes, or [`config`](crate::config) checked: between 1 and
/// [`MAX_OBJECTS`] of each kind, at most 32 encoders and 32 connectors with the writeback
/// ones; every plane has a CRTC, a primary or cursor plane exactly
/// one; every CRTC has exactly one primary plane, at most one cursor and an encoder; every
/// encoder has a CRTC, and every connector an encoder; masks name objects that exist.
pub(crate) struct Pipeline {
    pub(crate) planes: KVec<PlaneDesc>,
    /// The CRTCs: whether each has a writeback connector.
    pub(crate) crtcs: KVec<bool>,
    /// The encoders: the CRTCs each can be used with.
    pub(crate) encoders: KVec<u32>,
    pub(crate) connectors: KVec<ConnectorDesc>,
}

/// The most objects of each kind a pipeline has, as vkms: their masks are 32 bits wide.
pub(crate) const MAX_OBJECTS: usize = 31;

impl Pipeline {
    /// The default pipe: a primary, a cursor and an overlay plane on one CRTC with a writeback
    /// connector, one encoder and one connector, whose status is `plug`'s.
    pub(crate) fn single(plug: Arc<Plug>) -> Result<Self> {
        let plane = |kind| PlaneDesc { kind, crtcs: 1 };
        Ok(Self {
            planes: kernel::kvec![
                plane(PlaneType::Primary),
                plane(PlaneType::Cursor),
                plane(PlaneType::Overlay),
            ]?,
            crtcs: kernel::kvec![true]?,
            encoders: kernel::kvec![1]?,
            connectors: kernel::kvec![ConnectorDesc { encoders: 1, plug }]?,
        })
    }

    /// The place in its type's list of the plane of type `kind` on CRTC `crtc`: the first one,
    /// the only one in a checked pipeline.
    pub(crate) fn plane_of(&self, kind: PlaneType, crtc: usize) -> Option<usize> {
        self.planes
            .iter()
            .filter(|p| p.kind == kind)
            .position(|p| p.crtcs & (1 << crtc) != 0)
    }
}

/// The mode objects of a device: each list in the order of the pipeline.
pub(crate) struct Display {
    pub(crate) primaries: KVec<Handle<Plane<Primary>>>,
    pub(crate) cursors: KVec<Handle<Plane<Cursor>>>,
    pub(crate) overlays: KVec<Handle<Plane<Overlay>>>,
    pub(crate) crtcs: KVec<Handle<Crtc<VrustCrtc>>>,
    pub(crate) _encoders: KVec<Handle<Encoder>>,
    pub(crate) _connectors: KVec<Handle<Connector<VirtualOutput>>>,
    /// The writeback connectors, and their encoders.
    pub(crate) _writebacks: KVec<(Handle<Writeback<VrustWriteback>>, Handle<Encoder>)>,
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

/// Makes the mode objects of pipeline `p`, in the device's KMS phase.
pub(crate) fn setup(s: &mut kms::Setup<'_, Vrust>, p: &Pipeline) -> Result<Display> {
    let mut d = Display {
        primaries: KVec::new(),
        cursors: KVec::new(),
        overlays: KVec::new(),
        crtcs: KVec::new(),
        _encoders: KVec::new(),
        _connectors: KVec::new(),
        _writebacks: KVec::new(),
    };
    // Stacked as vkms's: the primary planes at the bottom, the cursors on top, the overlays
    // between them in the pipeline's order.
    let top = p.planes.len() as u32 - 1;
    for plane in &p.planes {
        let crtcs = CrtcMask(plane.crtcs);
        match plane.kind {
            PlaneType::Primary => {
                let h = s.plane(&Primary::spec(crtcs, top), Ok(Primary))?;
                d.primaries.push(h, GFP_KERNEL)?;
            }
            PlaneType::Cursor => {
                let h = s.plane(&Cursor::spec(crtcs, top), Ok(Cursor))?;
                d.cursors.push(h, GFP_KERNEL)?;
            }
            PlaneType::Overlay => {
                let zpos = (d.overlays.len() as u32 + 1).min(top);
                let h = s.plane(&Overlay::spec(crtcs, zpos, top), Ok(Overlay))?;
                d.overlays.push(h, GFP_KERNEL)?;
            }
        }
    }
    for i in 0..p.crtcs.len() {
        // Index `i`: the CRTCs are made in order, and nothing else makes any.
        let primary = p.plane_of(PlaneType::Primary, i).ok_or(EINVAL)?;
        let mut planes = CrtcPlanes::primary(s, &d.primaries[primary])?;
        if let Some(cursor) = p.plane_of(PlaneType::Cursor, i) {
            planes = planes.with_cursor(s, &d.cursors[cursor])?;
        }
        let crtc = s.crtc(planes, VrustCrtc::new()?)?;
        d.crtcs.push(crtc, GFP_KERNEL)?;
    }
    for &crtcs in &p.encoders {
        let encoder = s.encoder(EncoderType::Virtual, CrtcMask(crtcs))?;
        d._encoders.push(encoder, GFP_KERNEL)?;
    }
    for c in &p.connectors {
        let mut encoders = (0..d._encoders.len()).filter(|&e| c.encoders & (1 << e) != 0);
        let first = encoders.next().ok_or(EINVAL)?;
        let plug = c.plug.clone();
        let connector = s.connector(
            ConnectorType::Virtual,
            &d._encoders[first],
            Ok(VirtualOutput { plug }),
        )?;
        for e in encoders {
            s.attach_encoder(&connector, &d._encoders[e])?;
        }
        d._connectors.push(connector, GFP_KERNEL)?;
    }
    // Last, so that the encoders and connectors of the pipeline have its indexes.
    for (i, &writeback) in p.crtcs.iter().enumerate() {
        if !writeback {
            continue;
        }
        // The writeback connector has an encoder of its own, for its CRTC only.
        let encoder = s.encoder(EncoderType::Virtual, CrtcMask::only(i as u32))?;
        let wb = s.writeback(&encoder, &WRITE_FORMATS, Ok(VrustWriteback { crtc: i }))?;
        d._writebacks.push((wb, encoder), GFP_KERNEL)?;
    }
    Ok(d)
}

/// The status codes of configfs: those of `enum drm_connector_status`, as vkms's.
pub(crate) fn status_code(status: Status) -> u32 {
    match status {
        Status::Connected => 1,
        Status::Disconnected => 2,
        Status::Unknown => 3,
    }
}

/// See [`status_code`].
pub(crate) fn status_from_code(code: u32) -> Option<Status> {
    match code {
        1 => Some(Status::Connected),
        2 => Some(Status::Disconnected),
        3 => Some(Status::Unknown),
        _ => None,
    }
}
