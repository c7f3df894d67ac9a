// SPDX-License-Identifier: GPL-2.0

//! The output: the CRTC, which scans the primary plane's framebuffer out at every vblank, and a
//! virtual connector with the standard modes up to 3840x2160.
//!
//! vblank is the layer's: a timer at the mode's refresh rate, on while the CRTC is on, with the
//! page-flip events of each commit sent at the next vblank. The CRTC only counts its frames and
//! keeps the framebuffer it shows.

use crate::{
    display::{
        MAX_HEIGHT,
        MAX_WIDTH, //
    },
    driver::Vrust,
};
use kernel::{
    drm::kms::{
        self,
        Check,
        Connector,
        Crtc,
        Framebuffer,
        Modes,
        Status,
        Update, //
    },
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
};

/// The CRTC's data.
#[pin_data]
pub(crate) struct VrustCrtc {
    /// vblanks since the device was made.
    pub(crate) frames: Atomic<u64>,
    /// The framebuffer of the primary plane as of the last commit: the frame.
    #[pin]
    pub(crate) scanout: Mutex<Option<ARef<Framebuffer>>>,
}

impl VrustCrtc {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            frames: Atomic::new(0),
            scanout <- new_mutex!(None),
        })
    }
}

/// The CRTC's state.
#[derive(Clone, Default)]
pub(crate) struct Frame {
    /// How many of the device's planes are visible on the CRTC.
    pub(crate) visible_planes: u32,
}

#[vtable]
impl kms::CrtcImpl for VrustCrtc {
    type Driver = Vrust;
    type State = Frame;

    fn atomic_check(crtc: &Crtc<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        // Each plane with its own type, through the display's handles.
        let d = commit.display();
        let on = |visible: Option<bool>| u32::from(visible.unwrap_or(false));
        let ix = crtc.index();
        let visible_planes = on(commit
            .plane(&d.primary)?
            .map(|s| s.visible() && s.feeds(ix)))
            + on(commit.plane(&d.cursor)?.map(|s| s.visible() && s.feeds(ix)))
            + on(commit
                .plane(&d.overlay)?
                .map(|s| s.visible() && s.feeds(ix)));
        commit.crtc_mut(crtc)?.visible_planes = visible_planes;
        Ok(())
    }

    fn atomic_flush(crtc: &Crtc<Self>, commit: &Update<'_, Vrust>) {
        let primary = commit.plane(&commit.display().primary);
        let Ok(Some(state)) = primary else {
            // The primary plane is not in this commit: the frame stays.
            return;
        };
        let fb = state.framebuffer().map(ARef::from);
        // The old frame is dropped after the lock: its last reference may free the buffer.
        let old = core::mem::replace(&mut *crtc.scanout.lock(), fb);
        drop(old);
    }

    fn vblank(crtc: &Crtc<Self>) {
        crtc.frames.fetch_add(1, Relaxed);
    }
}

/// The virtual connector: no EDID; connected as the instance's `connected` attribute says.
pub(crate) struct VirtualOutput;

#[vtable]
impl kms::ConnectorImpl for VirtualOutput {
    type Driver = Vrust;
    type State = ();

    fn detect(connector: &Connector<Self>, _force: bool) -> Status {
        if connector.device().connected.load(Relaxed) {
            Status::Connected
        } else {
            Status::Disconnected
        }
    }

    fn get_modes(_connector: &Connector<Self>, modes: &mut Modes<'_>) -> u32 {
        // The standard list stops at 2560x1600 within the limit: 3840x2160 comes on top.
        let n = modes.add_standard(MAX_WIDTH, MAX_HEIGHT)
            + u32::from(modes.add_cvt(MAX_WIDTH, MAX_HEIGHT, 60));
        modes.set_preferred(1024, 768);
        n
    }
}
