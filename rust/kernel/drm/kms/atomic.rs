// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Atomic commits: typed views of a `struct drm_atomic_commit` for the check and commit hooks,
//! and the commit tail as typed steps.
//!
//! C header: [`include/drm/drm_atomic.h`](srctree/include/drm/drm_atomic.h)

use super::{
    Connector,
    ConnectorImpl,
    ConnectorState,
    Crtc,
    CrtcImpl,
    CrtcState,
    DisplayOf,
    ObjectRef,
    Plane,
    PlaneImpl,
    PlaneState, //
};
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*,
};
use core::{
    marker::PhantomData,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    },
};

/// A read-only view of a commit: the old and new states of the objects it contains.
///
/// The commit hooks ([`PlaneImpl::atomic_update`], [`CrtcImpl::atomic_enable`], …) get one; a
/// [`Check`] derefs to one.
///
/// # Invariants
///
/// * `raw` is a commit of `dev` that is alive and not changed by anyone else for `'c`;
/// * `dev`'s display is set (so the commit hooks can have it).
pub struct Update<'c, D: Driver> {
    dev: &'c Device<D>,
    display: &'c DisplayOf<D>,
    raw: NonNull<bindings::drm_atomic_commit>,
    _invariant: PhantomData<*mut &'c ()>,
}

impl<'c, D: Driver> Update<'c, D> {
    /// A view of `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a live commit of `dev`, unchanged by anyone else for `'c`, on a device whose
    /// display is set (commits only run on registered devices, and a device is registered only
    /// after its KMS phase).
    pub(crate) unsafe fn from_raw(
        dev: &'c Device<D>,
        raw: *mut bindings::drm_atomic_commit,
    ) -> Self {
        // SAFETY: The display is set, by the safety requirements.
        let display = unsafe { dev.kms_slot().display().unwrap_unchecked() };
        // INVARIANT: By the safety requirements.
        Self {
            dev,
            display,
            // SAFETY: The C core never passes a null commit.
            raw: unsafe { NonNull::new_unchecked(raw) },
            _invariant: PhantomData,
        }
    }

    /// The device.
    #[inline]
    pub fn device(&self) -> &'c Device<D> {
        self.dev
    }

    /// The device's display: the handles of its mode objects.
    #[inline]
    pub fn display(&self) -> &'c DisplayOf<D> {
        self.display
    }

    /// The raw commit.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_atomic_commit {
        self.raw.as_ptr()
    }

    #[inline]
    fn c(&self) -> &bindings::drm_atomic_commit {
        // SAFETY: The commit is alive and not changed by others for `'c` (type invariant).
        unsafe { self.raw.as_ref() }
    }

    /// Whether the commit may do full modesets (`DRM_MODE_ATOMIC_ALLOW_MODESET`).
    #[inline]
    pub fn allow_modeset(&self) -> bool {
        self.c().allow_modeset()
    }

    /// The `__drm_planes_state` slot of `plane`.
    fn plane_slot<T: PlaneImpl>(&self, plane: &Plane<T>) -> &bindings::__drm_planes_state {
        // The array has an entry per plane of the device (`drm_atomic_commit_init()`), and
        // `index` is below their number.
        // SAFETY: See above; the commit is alive (type invariant).
        unsafe { &*self.c().planes.add(plane.index() as usize) }
    }

    fn crtc_slot<T: CrtcImpl>(&self, crtc: &Crtc<T>) -> &bindings::__drm_crtcs_state {
        // SAFETY: As in `plane_slot`: an entry per CRTC of the device.
        unsafe { &*self.c().crtcs.add(crtc.index() as usize) }
    }

    fn connector_slot<T: ConnectorImpl>(
        &self,
        connector: &Connector<T>,
    ) -> Option<&bindings::__drm_connnectors_state> {
        let i = connector.index();
        // The connector array grows as connectors are added: check its length.
        if i >= self.c().num_connector.max(0) as u32 {
            return None;
        }
        // SAFETY: `i` is below `num_connector`, the length of the array.
        Some(unsafe { &*self.c().connectors.add(i as usize) })
    }

    /// The new state of `plane`, if the commit contains it.
    ///
    /// Returns `EINVAL` for a plane of another device.
    pub fn plane<T: PlaneImpl<Driver = D>>(
        &self,
        plane: impl ObjectRef<Plane<T>>,
    ) -> Result<Option<&PlaneState<T>>> {
        let plane = plane.resolve(self.dev)?;
        let s = self.plane_slot(plane).new_state;
        // SAFETY: A state of a `Plane<T>` in the commit, alive with it; shared for `&self`.
        Ok((!s.is_null()).then(|| unsafe { PlaneState::from_raw(s) }))
    }

    /// The old state of `plane` (the one the commit replaces), if the commit contains it.
    pub fn old_plane<T: PlaneImpl<Driver = D>>(
        &self,
        plane: impl ObjectRef<Plane<T>>,
    ) -> Result<Option<&PlaneState<T>>> {
        let plane = plane.resolve(self.dev)?;
        let s = self.plane_slot(plane).old_state;
        // SAFETY: As in `plane`.
        Ok((!s.is_null()).then(|| unsafe { PlaneState::from_raw(s) }))
    }

    /// The new state of `crtc`, if the commit contains it.
    pub fn crtc<T: CrtcImpl<Driver = D>>(
        &self,
        crtc: impl ObjectRef<Crtc<T>>,
    ) -> Result<Option<&CrtcState<T>>> {
        let crtc = crtc.resolve(self.dev)?;
        let s = self.crtc_slot(crtc).new_state;
        // SAFETY: A state of a `Crtc<T>` in the commit, alive with it.
        Ok((!s.is_null()).then(|| unsafe { CrtcState::from_raw(s) }))
    }

    /// The old state of `crtc`, if the commit contains it.
    pub fn old_crtc<T: CrtcImpl<Driver = D>>(
        &self,
        crtc: impl ObjectRef<Crtc<T>>,
    ) -> Result<Option<&CrtcState<T>>> {
        let crtc = crtc.resolve(self.dev)?;
        let s = self.crtc_slot(crtc).old_state;
        // SAFETY: As in `crtc`.
        Ok((!s.is_null()).then(|| unsafe { CrtcState::from_raw(s) }))
    }

    /// The new state of `connector`, if the commit contains it.
    pub fn connector<T: ConnectorImpl<Driver = D>>(
        &self,
        connector: impl ObjectRef<Connector<T>>,
    ) -> Result<Option<&ConnectorState<T>>> {
        let connector = connector.resolve(self.dev)?;
        let s = self
            .connector_slot(connector)
            .map_or(ptr::null_mut(), |s| s.new_state);
        // SAFETY: A state of a `Connector<T>` in the commit, alive with it.
        Ok((!s.is_null()).then(|| unsafe { ConnectorState::from_raw(s) }))
    }
}

/// A commit being checked: what the check hooks get.
///
/// Derefs to an [`Update`] for the read-only accessors; the `_mut` accessors add an object to the
/// commit if it is not in it yet and borrow the commit mutably, so a state cannot be changed
/// while another reference to a state of the commit is alive.
///
/// A check that fails leaves no trace: the C core throws the whole commit away.
pub struct Check<'c, D: Driver> {
    view: Update<'c, D>,
}

impl<'c, D: Driver> Deref for Check<'c, D> {
    type Target = Update<'c, D>;

    #[inline]
    fn deref(&self) -> &Update<'c, D> {
        &self.view
    }
}

impl<'c, D: Driver> Check<'c, D> {
    /// A check view of `raw`.
    ///
    /// Returns `EBUSY` if the device's display is not set yet: a commit made during the KMS phase.
    ///
    /// # Safety
    ///
    /// `raw` is a live commit of `dev` being checked, exclusively ours for `'c`.
    pub(crate) unsafe fn from_raw(
        dev: &'c Device<D>,
        raw: *mut bindings::drm_atomic_commit,
    ) -> Result<Self> {
        if dev.kms_slot().display().is_none() {
            return Err(EBUSY);
        }
        Ok(Self {
            // SAFETY: By the safety requirements, and the display is set (checked above).
            view: unsafe { Update::from_raw(dev, raw) },
        })
    }

    /// Runs the C core's checks and the per-object check hooks (`drm_atomic_helper_check()`):
    /// mode and routing changes, then planes, then CRTCs.
    pub fn check_with_helpers(&mut self) -> Result {
        // SAFETY: The commit is being checked and is ours (type invariant of `Update`).
        to_result(unsafe { bindings::drm_atomic_helper_check(self.dev.as_raw(), self.as_raw()) })
    }

    /// The new state of `plane`, added to the commit if it is not in it yet (which takes the
    /// plane's lock, and can fail with `EDEADLK`: return that error, the C core retries).
    pub fn plane_mut<T: PlaneImpl<Driver = D>>(
        &mut self,
        plane: impl ObjectRef<Plane<T>>,
    ) -> Result<&mut PlaneState<T>> {
        let plane = plane.resolve(self.dev)?;
        // SAFETY: The commit is ours; `plane` is a plane of its device.
        let s = from_err_ptr(unsafe {
            bindings::drm_atomic_get_plane_state(self.as_raw(), plane.as_raw())
        })?;
        // SAFETY: A state of a `Plane<T>` in the commit; `&mut self` makes it exclusive.
        Ok(unsafe { PlaneState::from_raw_mut(s) })
    }

    /// The new state of `crtc`, added to the commit if it is not in it yet (see
    /// [`plane_mut`](Self::plane_mut)).
    pub fn crtc_mut<T: CrtcImpl<Driver = D>>(
        &mut self,
        crtc: impl ObjectRef<Crtc<T>>,
    ) -> Result<&mut CrtcState<T>> {
        let crtc = crtc.resolve(self.dev)?;
        // SAFETY: The commit is ours; `crtc` is a CRTC of its device.
        let s = from_err_ptr(unsafe {
            bindings::drm_atomic_get_crtc_state(self.as_raw(), crtc.as_raw())
        })?;
        // SAFETY: A state of a `Crtc<T>` in the commit; `&mut self` makes it exclusive.
        Ok(unsafe { CrtcState::from_raw_mut(s) })
    }

    /// The new state of `connector`, added to the commit if it is not in it yet (see
    /// [`plane_mut`](Self::plane_mut)).
    pub fn connector_mut<T: ConnectorImpl<Driver = D>>(
        &mut self,
        connector: impl ObjectRef<Connector<T>>,
    ) -> Result<&mut ConnectorState<T>> {
        let connector = connector.resolve(self.dev)?;
        // SAFETY: The commit is ours; `connector` is a connector of its device.
        let s = from_err_ptr(unsafe {
            bindings::drm_atomic_get_connector_state(self.as_raw(), connector.as_raw())
        })?;
        // SAFETY: A state of a `Connector<T>` in the commit; `&mut self` makes it exclusive.
        Ok(unsafe { ConnectorState::from_raw_mut(s) })
    }

    /// Checks the new state of `plane` against its CRTC's mode and computes its visible area
    /// (`drm_atomic_helper_check_plane_state()`): the source and destination rectangles, the
    /// scaling between them, and whether the plane may be positioned anywhere (`can_position`:
    /// otherwise it must cover the whole CRTC).
    ///
    /// A plane without a CRTC or a framebuffer is not visible and always passes.
    pub fn check_plane<T: PlaneImpl<Driver = D>>(
        &mut self,
        plane: impl ObjectRef<Plane<T>>,
        scaling: Scaling,
        can_position: bool,
    ) -> Result {
        let plane = plane.resolve(self.dev)?;
        // SAFETY: The commit is ours; `plane` is a plane of its device.
        let ps = from_err_ptr(unsafe {
            bindings::drm_atomic_get_plane_state(self.as_raw(), plane.as_raw())
        })?;
        // SAFETY: `ps` is a live state of the commit.
        let (crtc, fb) = unsafe { ((*ps).crtc, (*ps).fb) };
        if crtc.is_null() || fb.is_null() {
            // SAFETY: As above; the state is ours to change during the check.
            unsafe { (*ps).visible = false };
            return Ok(());
        }
        // SAFETY: The commit is ours; `crtc` is a CRTC of its device.
        let cs = from_err_ptr(unsafe { bindings::drm_atomic_get_crtc_state(self.as_raw(), crtc) })?;
        let (min, max) = match scaling {
            Scaling::None => (1 << 16, 1 << 16),
            Scaling::Range { min, max } => (min, max),
        };
        // SAFETY: Both states are live states of the commit, for the plane and its CRTC.
        to_result(unsafe {
            bindings::drm_atomic_helper_check_plane_state(ps, cs, min, max, can_position, true)
        })
    }
}

/// How a plane may scale its source to its destination, for [`Check::check_plane`].
#[derive(Clone, Copy, Debug)]
pub enum Scaling {
    /// No scaling: source and destination have the same size.
    None,
    /// Scale factors (source / destination, 16.16 fixed point) from `min` to `max`.
    Range {
        /// The smallest factor.
        min: c_int,
        /// The largest factor.
        max: c_int,
    },
}

/// The steps of a commit tail, as typestates of [`Tail`].
pub mod tail {
    /// Nothing done yet.
    pub struct Start;
    /// Outputs being disabled or modeset are off.
    pub struct OutputsOff;
    /// Planes updated, outputs still off.
    pub struct PlanesSet;
    /// Outputs on, planes not updated yet.
    pub struct OutputsOn;
    /// The new state is on the hardware.
    pub struct Applied;
    /// Hardware done signalled: the next commit may start.
    pub struct HwDone;
    /// The new state is on screen.
    pub struct Waited;
    /// The old framebuffers are released: the tail is complete.
    pub struct Done;
}

/// The first step of a commit tail, [`Kms::commit_tail`](super::Kms::commit_tail)'s argument.
pub type TailStart = tail::Start;
/// The last step, its return value.
pub type TailDone = tail::Done;

/// A commit tail at step `S`.
///
/// [`Kms::commit_tail`](super::Kms::commit_tail) gets a `Tail<'c, D, Start>` and must return a
/// `Tail<'c, D, Done>`. Each step consumes the tail and returns the next one, and no other
/// function makes a `Tail`, so the only way to return is to do every step once, in an order the C
/// helpers support; `'c` is invariant, so a tail of another commit does not fit.
#[must_use = "a commit tail must be completed"]
pub struct Tail<'c, D: Driver, S> {
    commit: Update<'c, D>,
    _step: PhantomData<S>,
}

impl<'c, D: Driver, S> Tail<'c, D, S> {
    fn next<N>(self) -> Tail<'c, D, N> {
        Tail {
            commit: self.commit,
            _step: PhantomData,
        }
    }

    /// The commit.
    #[inline]
    pub fn commit(&self) -> &Update<'c, D> {
        &self.commit
    }

    #[inline]
    fn raw(&self) -> (*mut bindings::drm_device, *mut bindings::drm_atomic_commit) {
        (self.commit.dev.as_raw(), self.commit.as_raw())
    }

    /// `drm_atomic_helper_commit_planes_on_crtc()` for every CRTC of the commit.
    fn planes_per_crtc(&self) {
        let c = self.commit.c();
        for i in 0..self.commit.dev.num_crtcs() {
            // SAFETY: The array has an entry per CRTC of the device.
            let slot = unsafe { &*c.crtcs.add(i as usize) };
            if !slot.ptr.is_null() {
                // SAFETY: `old_state` is the old state of a CRTC of the commit, in its tail.
                unsafe { bindings::drm_atomic_helper_commit_planes_on_crtc(slot.old_state) };
            }
        }
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::Start> {
    /// The tail of `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a checked, swapped commit of `dev` whose tail is running, and is ours for `'c`.
    pub(crate) unsafe fn start(dev: &'c Device<D>, raw: *mut bindings::drm_atomic_commit) -> Self {
        Self {
            // SAFETY: By the safety requirements; committed devices have their display.
            commit: unsafe { Update::from_raw(dev, raw) },
            _step: PhantomData,
        }
    }

    /// Turns off the outputs that the commit disables or modesets
    /// (`drm_atomic_helper_commit_modeset_disables()`).
    pub fn disable_outputs(self) -> Tail<'c, D, tail::OutputsOff> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; this is its first step.
        unsafe { bindings::drm_atomic_helper_commit_modeset_disables(dev, raw) };
        self.next()
    }
}

/// Options of [`Tail::commit_planes`] (`DRM_PLANE_COMMIT_*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct PlaneCommit {
    /// Only update planes of active CRTCs.
    pub active_only: bool,
    /// Do not disable planes of CRTCs that a modeset turned off.
    pub no_disable_after_modeset: bool,
}

impl PlaneCommit {
    fn bits(self) -> u32 {
        u32::from(self.active_only) | (u32::from(self.no_disable_after_modeset) << 1)
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::OutputsOff> {
    /// Updates the planes (`drm_atomic_helper_commit_planes()`), before enabling the outputs.
    pub fn commit_planes(self, opts: PlaneCommit) -> Tail<'c, D, tail::PlanesSet> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; the outputs step ran.
        unsafe { bindings::drm_atomic_helper_commit_planes(dev, raw, opts.bits()) };
        self.next()
    }

    /// Updates the planes CRTC by CRTC, each between its own begin and flush
    /// (`drm_atomic_helper_commit_planes_on_crtc()`), for hardware whose CRTCs latch
    /// separately, before enabling the outputs.
    ///
    /// The C helper handles no dependency between CRTCs: it is only for displays whose planes
    /// cannot move from one CRTC to another (each plane has one possible CRTC); the C core warns
    /// when one does.
    pub fn commit_planes_per_crtc(self) -> Tail<'c, D, tail::PlanesSet> {
        self.planes_per_crtc();
        self.next()
    }

    /// Turns on the outputs first (`drm_atomic_helper_commit_modeset_enables()`), for hardware
    /// that can only update planes of running CRTCs.
    pub fn enable_outputs_first(self) -> Tail<'c, D, tail::OutputsOn> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; disables ran.
        unsafe { bindings::drm_atomic_helper_commit_modeset_enables(dev, raw) };
        self.next()
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::PlanesSet> {
    /// Turns on the outputs that the commit enables or modesets
    /// (`drm_atomic_helper_commit_modeset_enables()`).
    pub fn enable_outputs(self) -> Tail<'c, D, tail::Applied> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; planes are set.
        unsafe { bindings::drm_atomic_helper_commit_modeset_enables(dev, raw) };
        self.next()
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::OutputsOn> {
    /// Updates the planes of every CRTC (`drm_atomic_helper_commit_planes()`).
    pub fn commit_planes(self, opts: PlaneCommit) -> Tail<'c, D, tail::Applied> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; outputs are on.
        unsafe { bindings::drm_atomic_helper_commit_planes(dev, raw, opts.bits()) };
        self.next()
    }

    /// Updates the planes CRTC by CRTC (see [`Tail::commit_planes_per_crtc`] after the
    /// disables), for hardware that latches planes only on running CRTCs.
    pub fn commit_planes_per_crtc(self) -> Tail<'c, D, tail::Applied> {
        self.planes_per_crtc();
        self.next()
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::Applied> {
    /// Signals that the hardware has the new state (`drm_atomic_helper_commit_hw_done()`):
    /// the next commit on these objects may start.
    pub fn hw_done(self) -> Tail<'c, D, tail::HwDone> {
        let (_, raw) = self.raw();
        // SAFETY: The tail owns the commit; the state is applied.
        unsafe { bindings::drm_atomic_helper_commit_hw_done(raw) };
        self.next()
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::HwDone> {
    /// Waits for a vblank on every CRTC whose planes changed
    /// (`drm_atomic_helper_wait_for_vblanks()`).
    pub fn wait_for_vblanks(self) -> Tail<'c, D, tail::Waited> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; hw_done ran.
        unsafe { bindings::drm_atomic_helper_wait_for_vblanks(dev, raw) };
        self.next()
    }

    /// Waits until the page flips of the commit are done
    /// (`drm_atomic_helper_wait_for_flip_done()`).
    pub fn wait_for_flip_done(self) -> Tail<'c, D, tail::Waited> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; hw_done ran.
        unsafe { bindings::drm_atomic_helper_wait_for_flip_done(dev, raw) };
        self.next()
    }
}

impl<'c, D: Driver> Tail<'c, D, tail::Waited> {
    /// Releases the old framebuffers (`drm_atomic_helper_cleanup_planes()`): the last step.
    pub fn cleanup_planes(self) -> Tail<'c, D, tail::Done> {
        let (dev, raw) = self.raw();
        // SAFETY: The tail owns the commit; the new state is on screen.
        unsafe { bindings::drm_atomic_helper_cleanup_planes(dev, raw) };
        self.next()
    }
}
