// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Commits made by the kernel: what userspace does with `DRM_IOCTL_MODE_ATOMIC`, for tests,
//! benchmarks and drivers that change their own display.
//!
//! C header: [`include/drm/drm_atomic.h`](srctree/include/drm/drm_atomic.h)

use super::Check;
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::to_result,
    prelude::*,
};
use core::mem::MaybeUninit;

/// What [`Device::atomic_commit`] does with the commit it built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Only checks it (`DRM_MODE_ATOMIC_TEST_ONLY`): nothing changes.
    TestOnly,
    /// Checks and applies it, waiting for the commit tail (`drm_atomic_commit()`).
    Blocking,
}

impl<D: Driver> Device<D> {
    /// Builds a commit with `build`, then checks it, or checks and applies it, as `mode` says.
    ///
    /// `build` adds objects to the commit and changes their new states through the `_mut`
    /// accessors of [`Check`]. When taking the locks of the objects would deadlock with another
    /// commit (`EDEADLK`), the commit is cleared, the locks dropped and `build` runs again; any
    /// other error ends the commit. Sleeps; returns `ENODEV` for a device without a display.
    ///
    /// # Examples
    ///
    /// Each object's state with its own type, through the display's handles:
    ///
    /// ```
    /// use kernel::drm::kms::CommitMode;
    /// # use kernel::{drm, faux, prelude::*};
    /// # kernel::drm_doctest_display!(Gpu);
    /// # let parent = faux::Registration::new(c"drm-doctest-commit", None)?;
    /// # let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
    /// # let dev = dev.modeset(doctest_setup)?;
    /// let d = dev.display()?;
    /// dev.atomic_commit(CommitMode::Blocking, |c| {
    ///     let state: &mut DoctestState = c.plane_mut(&d.primary)?;
    ///     state.0 = 7;
    ///     Ok(())
    /// })?;
    /// dev.atomic_commit(CommitMode::TestOnly, |c| {
    ///     assert_eq!(c.plane_mut(&d.primary)?.0, 7);
    ///     // Not in this commit: `None`, not an error.
    ///     assert!(c.crtc(&d.crtc)?.is_none());
    ///     Ok(())
    /// })?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn atomic_commit(
        &self,
        mode: CommitMode,
        mut build: impl FnMut(&mut Check<'_, D>) -> Result,
    ) -> Result {
        if self.kms_slot().display().is_none() {
            return Err(ENODEV);
        }
        let mut ctx = MaybeUninit::<bindings::drm_modeset_acquire_ctx>::zeroed();
        let ctx = ctx.as_mut_ptr();
        // SAFETY: `ctx` is zeroed, stays on this stack frame and is finished before it returns.
        unsafe { bindings::drm_modeset_acquire_init(ctx, 0) };
        // SAFETY: The device has a display, so its mode configuration is initialised.
        let commit = unsafe { bindings::drm_atomic_commit_alloc(self.as_raw()) };
        let ret = if commit.is_null() {
            Err(ENOMEM)
        } else {
            // SAFETY: `commit` is a fresh commit of this device; the context outlives it.
            unsafe { (*commit).acquire_ctx = ctx };
            let ret = loop {
                // SAFETY: The commit is ours and not checked yet.
                let ret = unsafe { Check::from_raw(self, commit) }.and_then(|mut check| {
                    build(&mut check)?;
                    // SAFETY: The commit is built and ours.
                    to_result(unsafe {
                        match mode {
                            CommitMode::TestOnly => bindings::drm_atomic_check_only(commit),
                            CommitMode::Blocking => bindings::drm_atomic_commit(commit),
                        }
                    })
                });
                if ret != Err(EDEADLK) {
                    break ret;
                }
                // SAFETY: The commit is ours; clearing it drops its states so that the
                // context can back off (`drm_modeset_backoff()`), then it is built again.
                unsafe { bindings::drm_atomic_commit_clear(commit) };
                // SAFETY: `ctx` took part in the deadlock above.
                if let Err(e) = to_result(unsafe { bindings::drm_modeset_backoff(ctx) }) {
                    break Err(e);
                }
            };
            // SAFETY: We own the reference that `drm_atomic_commit_alloc()` returned.
            unsafe { bindings::drm_atomic_commit_put(commit) };
            ret
        };
        // SAFETY: `ctx` was initialised above; no commit refers to it any more.
        unsafe {
            bindings::drm_modeset_drop_locks(ctx);
            bindings::drm_modeset_acquire_fini(ctx);
        }
        ret
    }
}
