// SPDX-License-Identifier: GPL-2.0

//! The output: the CRTC, which composes its planes at every vblank ([`compose`](crate::compose)),
//! reports the frame's CRC and fills writeback jobs, and a virtual connector with the standard
//! modes up to 3840x2160.
//!
//! vblank is the layer's: a timer at the mode's refresh rate, on while the CRTC is on, with the
//! page-flip events of each commit sent at the next vblank, and the CRTC's vblank work run after
//! it in process context.

use crate::{
    compose::{
        HasMapping,
        Scene,
        Work, //
    },
    display::{
        status_code,
        status_from_code,
        MAX_HEIGHT,
        MAX_WIDTH, //
    },
    driver::Vrust,
};
use kernel::{
    drm::kms::{
        self,
        compose::{
            argb64_to_rgb,
            gamma::Gamma, //
        },
        Check,
        Connector,
        CrcSource,
        Crtc,
        Frames,
        Handle,
        Modes,
        Plane,
        PlaneImpl,
        Status,
        Update,
        WritebackJob, //
    },
    new_mutex, new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex,
        SpinLock, //
    },
};

/// The most CRCs one run of the vblank work reports, well below the 128 the C core keeps.
const MAX_CRCS_PER_RUN: u64 = 32;

/// The CRTC's data.
#[pin_data]
pub(crate) struct VrustCrtc {
    /// vblanks since the device was made.
    pub(crate) frames: Atomic<u64>,
    /// Frames composed, and vblanks that came while the composer was busy.
    pub(crate) composed: Atomic<u64>,
    /// See `composed`.
    pub(crate) dropped: Atomic<u64>,
    /// Whether a reader has the CRC source open.
    crc: Atomic<bool>,
    /// The scene of the last commit: what the composer composes.
    #[pin]
    scene: Mutex<Option<Arc<Scene>>>,
    /// The writeback job for the next frame.
    #[pin]
    pending: SpinLock<Option<WritebackJob>>,
    /// The composer's buffers, used by the vblank work only.
    #[pin]
    work: Mutex<Work>,
}

impl VrustCrtc {
    pub(crate) fn new() -> Result<impl PinInit<Self, Error>> {
        let work = Work::new(<Vrust as kms::Kms<Vrust>>::MODE_CONFIG.max_width as usize)?;
        Ok(try_pin_init!(Self {
            frames: Atomic::new(0),
            composed: Atomic::new(0),
            dropped: Atomic::new(0),
            crc: Atomic::new(false),
            scene <- new_mutex!(None),
            pending <- new_spinlock!(None),
            work <- new_mutex!(work),
        }))
    }

    /// Takes a writeback job for the next frame. A job still waiting is completed first, with
    /// an error. Jobs complete in the order they were queued: the work's lock makes sure a job
    /// the work is writing is completed before a newer one can replace (and so complete) the
    /// waiting one.
    pub(crate) fn queue_writeback(&self, job: WritebackJob) {
        let _work = self.work.lock();
        let old = self.pending.lock().replace(job);
        drop(old);
    }
}

/// The CRTC's state.
#[derive(Clone, Default)]
pub(crate) struct Frame {
    /// How many of the device's planes are visible on the CRTC.
    pub(crate) visible_planes: u32,
    /// What the CRTC shows, made in the check; `None` while it is off.
    scene: Option<Arc<Scene>>,
}

/// Adds `plane` to `scene` if the CRTC's planes (`mask`) include it, with its new state: the
/// commit's, or the current one, which this adds to the commit.
fn add_plane<T: PlaneImpl<Driver = Vrust>>(
    commit: &mut Check<'_, Vrust>,
    scene: &mut Scene,
    mask: u32,
    plane: &Handle<Plane<T>>,
) -> Result
where
    T::State: HasMapping,
{
    if mask & (1 << plane.get(commit.device())?.index()) == 0 {
        return Ok(());
    }
    scene.add(commit.plane_mut(plane)?)
}

#[vtable]
impl kms::CrtcImpl for VrustCrtc {
    type Driver = Vrust;
    type State = Frame;

    const BACKGROUND_COLOR: bool = true;
    /// As vkms's.
    const GAMMA_LUT_SIZE: u32 = 256;

    fn atomic_check(crtc: &Crtc<Self>, commit: &mut Check<'_, Vrust>) -> Result {
        let state = commit.crtc_mut(crtc)?;
        let (active, mask) = (state.active(), state.plane_mask());
        let mode = state.mode();
        let (width, height) = (mode.hdisplay(), mode.vdisplay());
        let background = argb64_to_rgb(state.background_color());
        let gamma = state.gamma_lut().and_then(Gamma::new);
        let scene = if active {
            // Each plane with its own type, through the display's handles.
            let d = commit.display();
            let planes = mask.count_ones() as usize;
            let mut scene = Scene::new(width, height, background, planes, gamma)?;
            for plane in &d.primaries {
                add_plane(commit, &mut scene, mask, plane)?;
            }
            for plane in &d.overlays {
                add_plane(commit, &mut scene, mask, plane)?;
            }
            for plane in &d.cursors {
                add_plane(commit, &mut scene, mask, plane)?;
            }
            Some(Arc::new(scene, GFP_KERNEL)?)
        } else {
            None
        };
        let state = commit.crtc_mut(crtc)?;
        state.visible_planes = scene.as_ref().map_or(0, |s| s.len() as u32);
        state.scene = scene;
        Ok(())
    }

    fn atomic_flush(crtc: &Crtc<Self>, commit: &Update<'_, Vrust>) {
        let Ok(Some(state)) = commit.crtc(crtc) else {
            return;
        };
        // The old scene is held by the old state too: its last reference is not dropped here,
        // on the commit's signalling path, but with that state or by the vblank work.
        let old = core::mem::replace(&mut *crtc.scene.lock(), state.scene.clone());
        drop(old);
    }

    fn atomic_disable(crtc: &Crtc<Self>, _commit: &Update<'_, Vrust>) {
        // The layer has stopped the vblank work: nothing composes until the next enable, and a
        // writeback job still waiting is completed with an error.
        let old = crtc.scene.lock().take();
        drop(old);
        let job = crtc.pending.lock().take();
        drop(job);
    }

    fn vblank(crtc: &Crtc<Self>) {
        crtc.frames.fetch_add(1, Relaxed);
    }

    fn vblank_work(crtc: &Crtc<Self>, frames: Frames) {
        crtc.dropped.fetch_add(frames.dropped(), Relaxed);
        // Locks in the order work, pending job, scene. The job before the scene: the commit
        // that queued it had set its scene already.
        let mut work = crtc.work.lock();
        let job = crtc.pending.lock().take();
        let crc_on = crtc.crc.load(Relaxed);
        if !crc_on && job.is_none() {
            return;
        }
        // Composed under the scene's lock, so that the work never holds the last reference to
        // a scene (whose mappings' drop takes reservation locks): the states do. The commit
        // tail waits for a frame at most, to swap the scene. No scene: the CRTC went off; a
        // job is dropped, completed with an error.
        let scene = crtc.scene.lock();
        let Some(scene) = scene.as_deref() else {
            return;
        };
        let crc = scene.compose(&mut work, job.as_ref());
        if let Some(job) = job {
            job.complete(crc.map(|_| ()));
        }
        if !crc_on {
            return;
        }
        match crc {
            Ok(crc) => {
                crtc.composed.fetch_add(1, Relaxed);
                let first = frames
                    .first
                    .max(frames.last.saturating_sub(MAX_CRCS_PER_RUN - 1));
                for frame in first..=frames.last {
                    // Fails only once the reader has closed the source or fallen behind.
                    let _ = crtc.add_crc(frame, crc);
                }
            }
            Err(e) => kernel::pr_warn_once!("vrust: composing a frame failed: {:?}\n", e),
        }
    }

    fn set_crc_source(crtc: &Crtc<Self>, source: CrcSource) -> Result {
        crtc.crc.store(source == CrcSource::Auto, Relaxed);
        Ok(())
    }
}

/// Whether a display is plugged into a connector: what its `detect` reports, set through
/// configfs (an instance's `connected`, or a connector's `status`).
pub(crate) struct Plug(Atomic<u32>);

impl Plug {
    pub(crate) fn new(status: Status) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self(Atomic::new(status_code(status))),
            GFP_KERNEL,
        )?)
    }

    pub(crate) fn get(&self) -> Status {
        status_from_code(self.0.load(Relaxed)).unwrap_or(Status::Unknown)
    }

    /// Sets the status; returns whether it changed.
    pub(crate) fn set(&self, status: Status) -> bool {
        self.0.xchg(status_code(status), Relaxed) != status_code(status)
    }
}

/// The virtual connector: no EDID; its status is its [`Plug`]'s.
pub(crate) struct VirtualOutput {
    pub(crate) plug: Arc<Plug>,
}

#[vtable]
impl kms::ConnectorImpl for VirtualOutput {
    type Driver = Vrust;
    type State = ();

    fn detect(connector: &Connector<Self>, _force: bool) -> Status {
        connector.plug.get()
    }

    fn get_modes(_connector: &Connector<Self>, modes: &mut Modes<'_>) -> u32 {
        // The standard list stops at 2560x1600 within the limit: 3840x2160 comes on top.
        let n = modes.add_standard(MAX_WIDTH, MAX_HEIGHT)
            + u32::from(modes.add_cvt(MAX_WIDTH, MAX_HEIGHT, 60));
        modes.set_preferred(1024, 768);
        n
    }
}
