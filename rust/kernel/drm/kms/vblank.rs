// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The vblank side of a CRTC: the timer's callback and the layer's work at vblank
//! ([`CrtcImpl::vblank_work`], described in [`crtc`](super::Crtc)'s module).

use super::{
    Crtc,
    CrtcImpl, //
};
use crate::{
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Relaxed,
        Release, //
    },
    types::Opaque,
};

/// The frames a run of [`CrtcImpl::vblank_work`] is for: the vblank counts since its last run,
/// `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frames {
    /// The first vblank not handled before.
    pub first: u64,
    /// The vblank that queued this run.
    pub last: u64,
}

impl Frames {
    /// The frames dropped: vblanks that came while the work was busy.
    #[inline]
    pub fn dropped(&self) -> u64 {
        self.last - self.first
    }
}

/// `last_done` of a CRTC whose work has not run since the CRTC went on.
pub(super) const FRESH: u64 = u64::MAX;

/// `drm_crtc_helper_funcs.handle_vblank_timeout`: the vblank timer fired.
///
/// # Safety
///
/// Called by the vblank timer of a `Crtc<T>`.
pub(super) unsafe extern "C" fn timer_callback<T: CrtcImpl>(raw: *mut bindings::drm_crtc) -> bool {
    // SAFETY: `raw` is a CRTC with vblank support; the timer runs while vblank is on.
    let handled = unsafe { bindings::drm_crtc_handle_vblank(raw) };
    // SAFETY: `raw` is a live `Crtc<T>`: the timer is cancelled before the CRTC goes.
    let crtc = unsafe { Crtc::<T>::from_raw(raw) };
    if T::HAS_VBLANK {
        T::vblank(crtc);
    }
    // A timer that fired as vblank went off counts nothing and queues nothing.
    if T::HAS_VBLANK_WORK && handled {
        crtc.last_vblank.store(crtc.vblank_count(), Release);
        // Already queued: the queued run will see this vblank's count.
        // SAFETY: `work` was initialised by `Setup::crtc` (`T` has `vblank_work`); the CRTC
        // outlives it (the work is cancelled when the CRTC goes off and when it is destroyed).
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                bindings::system_unbound_wq,
                crtc.work.get(),
            )
        };
    }
    handled
}

/// The layer's vblank work: the driver's [`CrtcImpl::vblank_work`] with the frames since its
/// last run.
///
/// # Safety
///
/// Called by the workqueue for the `work` of a live `Crtc<T>`.
pub(super) unsafe extern "C" fn work_callback<T: CrtcImpl>(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the `work` field of a live `Crtc<T>` (safety requirements).
    let crtc = unsafe { &*crate::container_of!(Opaque::cast_from(work).cast_mut(), Crtc<T>, work) };
    let last = crtc.last_vblank.load(Acquire);
    let prev = crtc.last_done.xchg(last, Relaxed);
    let first = if prev == FRESH {
        last
    } else if prev >= last {
        // Queued again by a vblank this run already saw: nothing new.
        return;
    } else {
        prev + 1
    };
    T::vblank_work(crtc, Frames { first, last });
}

impl<T: CrtcImpl> Crtc<T> {
    /// Cancels the vblank work, waits for a run in progress, and keeps it from being queued
    /// until [`enable_vblank_work`](Self::enable_vblank_work): a timer callback that was
    /// running as vblank went off cannot queue it again.
    pub(super) fn cancel_vblank_work(&self) {
        if T::HAS_VBLANK_WORK {
            // SAFETY: `work` was initialised by `Setup::crtc`. Disabling nests: each call is
            // paired with the `enable_work()` of the next enable, or is the last.
            unsafe { bindings::disable_work_sync(self.work.get()) };
        }
    }

    /// Lets the vblank work be queued again, before vblank goes on.
    pub(super) fn enable_vblank_work(&self) {
        if T::HAS_VBLANK_WORK {
            // SAFETY: `work` was initialised by `Setup::crtc`.
            unsafe { bindings::enable_work(self.work.get()) };
        }
    }
}
