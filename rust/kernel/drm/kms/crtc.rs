// SPDX-License-Identifier: GPL-2.0 OR MIT

//! CRTCs: the scanout engines, with typed states, vblank and page-flip events.
//!
//! Each CRTC has a vblank timer owned by the C core (`struct drm_vblank_crtc`, through the
//! vblank helpers), which fires at the refresh rate of the CRTC's mode while the CRTC is on. The
//! layer turns vblank on and off with the CRTC and arms or sends the page-flip event of every
//! commit in the CRTC's flush, so drivers never handle events themselves.
//!
//! # Work at vblank
//!
//! A CRTC whose implementation has [`CrtcImpl::vblank_work`] gets a work item of the layer's,
//! queued at every vblank and run in process context, off the timer's interrupt, where a
//! software composer makes the frame. A vblank that comes while the work is still queued or
//! running is not queued again: the next run is told of every frame since the last
//! ([`Frames`]), so a slow composer drops frames rather than piling them up. The layer cancels
//! the work when the CRTC goes off (after vblank is off) and when it is destroyed, so the hook
//! never runs for a CRTC that is off.
//!
//! C header: [`include/drm/drm_crtc.h`](srctree/include/drm/drm_crtc.h)

use super::{
    color::Lut,
    private::ModeObject,
    setup::{
        alloc_object,
        free_object, //
    },
    state::{
        self,
        Boxed,
        CrtcKind, //
    },
    vblank::{
        Frames,
        FRESH, //
    },
    Blob,
    Check,
    CrcSource,
    DisplayMode,
    Handle,
    Plane,
    PlaneImpl,
    Setup,
    Update, //
};
use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::from_result,
    error::to_result,
    error::VTABLE_DEFAULT_ERROR,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr,
};

/// A CRTC implementation: the data of a CRTC, its state type and its hooks.
///
/// # Examples
///
/// The sample's CRTC is in `samples/rust/vrust/kms/crtc.rs`.
#[vtable]
pub trait CrtcImpl: Send + Sync + Sized + 'static {
    /// The driver.
    type Driver: Driver;

    /// The driver's part of the CRTC's state (see [`PlaneImpl::State`]).
    type State: Clone + Default + Send + Sync;

    /// Checks the CRTC's new state (`drm_crtc_helper_funcs.atomic_check`); runs for every CRTC
    /// in the commit, after its planes' checks.
    fn atomic_check(_crtc: &Crtc<Self>, _commit: &mut Check<'_, Self::Driver>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Turns the CRTC on with its new mode (`atomic_enable`); vblank is on after it.
    fn atomic_enable(_crtc: &Crtc<Self>, _commit: &Update<'_, Self::Driver>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Turns the CRTC off (`atomic_disable`); vblank is off after it.
    fn atomic_disable(_crtc: &Crtc<Self>, _commit: &Update<'_, Self::Driver>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Ends the update of the CRTC's planes (`atomic_flush`), before the layer arms the commit's
    /// page-flip event for the next vblank.
    fn atomic_flush(_crtc: &Crtc<Self>, _commit: &Update<'_, Self::Driver>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called at every vblank of the CRTC, after the C core counted it and sent the events that
    /// were due, in the timer's (hard interrupt) context: must not sleep.
    fn vblank(_crtc: &Crtc<Self>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The work of a vblank, in process context: runs after each vblank while the CRTC is on,
    /// once for every vblank that found it idle, with the frames since its last run (see
    /// "Work at vblank" in the [module](crate::drm::kms) docs). May sleep, but should not allocate
    /// if it signals fences.
    fn vblank_work(_crtc: &Crtc<Self>, _frames: Frames) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Starts or stops the CRTC's CRCs (`set_crc_source`), which the driver then reports with
    /// [`Crtc::add_crc`]. Having it gives the CRTC the DRM debugfs CRC interface with the one
    /// source `"auto"` (the frame as composed); the layer rejects any other name.
    fn set_crc_source(_crtc: &Crtc<Self>, _source: CrcSource) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Whether the CRTC has a `BACKGROUND_COLOR` property ([`CrtcState::background_color`]).
    const BACKGROUND_COLOR: bool = false;

    /// The size of the CRTC's gamma table, `0` for none. With a size the CRTC has the
    /// `GAMMA_LUT` and `GAMMA_LUT_SIZE` properties, and the legacy gamma ioctl sets `GAMMA_LUT`
    /// through them ([`CrtcState::gamma_lut`]).
    const GAMMA_LUT_SIZE: u32 = 0;
}

/// A CRTC of implementation `T`: a `struct drm_crtc` with `T` embedded.
///
/// # Invariants
///
/// As for [`Plane`]: `raw` is initialised by `drm_crtc_init_with_planes()` with `T`'s tables, its
/// states are `CrtcState<T>`, and it lives, pinned, until its device's mode configuration is
/// cleaned up.
#[repr(C)]
#[pin_data]
pub struct Crtc<T: CrtcImpl> {
    raw: Opaque<bindings::drm_crtc>,
    /// The vblank work (initialised by `Setup::crtc` when `T` has `vblank_work`).
    pub(super) work: Opaque<bindings::work_struct>,
    /// The vblank count at the last vblank that queued the work.
    pub(super) last_vblank: Atomic<u64>,
    /// The last vblank the work handled, or [`FRESH`].
    pub(super) last_done: Atomic<u64>,
    /// Whether the CRC source holds a vblank reference.
    pub(super) crc_vblank: Atomic<bool>,
    #[pin]
    data: T,
}

// SAFETY: The C CRTC is used under the mode config's locks and the vblank lock; `T` is
// `Send + Sync`.
unsafe impl<T: CrtcImpl> Send for Crtc<T> {}
// SAFETY: As above.
unsafe impl<T: CrtcImpl> Sync for Crtc<T> {}

impl<T: CrtcImpl> ModeObject for Crtc<T> {
    fn drm_device(&self) -> *mut bindings::drm_device {
        // SAFETY: `raw` is initialised (type invariant); `dev` does not change.
        unsafe { (*self.raw.get()).dev }
    }
}

impl<T: CrtcImpl> Deref for Crtc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: CrtcImpl> Crtc<T> {
    /// The raw `struct drm_crtc`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_crtc {
        self.raw.get()
    }

    /// The CRTC embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` must be the CRTC of a live `Crtc<T>`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_crtc) -> &'a Self {
        // CAST: `raw` is the first field of the `#[repr(C)]` `Crtc<T>`.
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// The device of the CRTC.
    #[inline]
    pub fn device(&self) -> &Device<T::Driver> {
        // SAFETY: CRTCs of `T` are only created on devices of `T::Driver`, which outlive them.
        unsafe { Device::from_raw(self.drm_device()) }
    }

    /// The CRTC's index: its bit in [`CrtcMask`](super::CrtcMask).
    #[inline]
    pub fn index(&self) -> u32 {
        // SAFETY: `raw` is initialised; `index` does not change.
        unsafe { (*self.as_raw()).index }
    }

    /// The CRTC's mode object id.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `raw` is initialised; the id does not change.
        unsafe { (*self.as_raw()).base.id }
    }

    /// The number of vblanks counted so far (`drm_crtc_vblank_count()`).
    pub fn vblank_count(&self) -> u64 {
        // SAFETY: The CRTC's device has vblank support (`modeset()` initialises it).
        unsafe { bindings::drm_crtc_vblank_count(self.as_raw()) }
    }
}

/// The state of a CRTC of implementation `T` in a commit: the C `struct drm_crtc_state` and
/// `T::State`, to which it derefs.
///
/// # Invariants
///
/// `self.0` is a state of a `Crtc<T>`, made by the `state` hooks of its table.
#[repr(transparent)]
pub struct CrtcState<T: CrtcImpl>(Boxed<bindings::drm_crtc_state, T::State>);

impl<T: CrtcImpl> CrtcState<T> {
    /// The state embedding `raw`.
    ///
    /// # Safety
    ///
    /// `raw` is a state of a `Crtc<T>`, valid for `'a` and not mutated meanwhile.
    pub(crate) unsafe fn from_raw<'a>(raw: *const bindings::drm_crtc_state) -> &'a Self {
        // CAST: `CrtcState<T>` is a transparent wrapper of a `Boxed` whose first field is the C
        // state; every state of the object is one (type invariant of the object).
        // SAFETY: By the safety requirements.
        unsafe { &*raw.cast::<Self>() }
    }

    /// As [`from_raw`](Self::from_raw), mutably.
    ///
    /// # Safety
    ///
    /// As for `from_raw`, and nothing else accesses the state for `'a`.
    pub(crate) unsafe fn from_raw_mut<'a>(raw: *mut bindings::drm_crtc_state) -> &'a mut Self {
        // SAFETY: As in `from_raw`, and exclusive by the safety requirements.
        unsafe { &mut *raw.cast::<Self>() }
    }

    #[inline]
    fn c(&self) -> &bindings::drm_crtc_state {
        // SAFETY: `base` is initialised (type invariant).
        unsafe { &*self.0.base.get() }
    }

    /// The raw `struct drm_crtc_state`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_crtc_state {
        self.0.base.get()
    }

    /// Whether the CRTC is on (`ACTIVE`).
    #[inline]
    pub fn active(&self) -> bool {
        self.c().active
    }

    /// Whether the CRTC has a mode and resources, on or not.
    #[inline]
    pub fn enable(&self) -> bool {
        self.c().enable
    }

    /// The mode (valid when [`enable`](Self::enable)).
    #[inline]
    pub fn mode(&self) -> &DisplayMode {
        DisplayMode::from_c(&self.c().mode)
    }

    /// Whether the commit needs a full modeset of this CRTC
    /// (`drm_atomic_crtc_needs_modeset()`).
    #[inline]
    pub fn needs_modeset(&self) -> bool {
        let c = self.c();
        c.mode_changed() || c.active_changed() || c.connectors_changed()
    }

    /// The blob of the mode (`MODE_ID`), if the CRTC has one.
    pub fn mode_blob(&self) -> Option<&Blob> {
        let b = self.c().mode_blob;
        // SAFETY: A state holds a reference to its mode blob for as long as it lives.
        (!b.is_null()).then(|| unsafe { Blob::from_raw(b) })
    }

    /// The planes on the CRTC, as a mask of plane indices.
    #[inline]
    pub fn plane_mask(&self) -> u32 {
        self.c().plane_mask
    }

    /// Whether the commit asked for a page-flip event on this CRTC.
    #[inline]
    pub fn has_event(&self) -> bool {
        !self.c().event.is_null()
    }

    /// The gamma table that userspace set (`GAMMA_LUT`), if it set one; see
    /// [`compose::gamma::Gamma`](super::compose::gamma::Gamma) to apply it to 8-bit pixels.
    pub fn gamma_lut(&self) -> Option<Lut<'_>> {
        let b = self.c().gamma_lut;
        // SAFETY: A state holds a reference to its blobs for as long as it lives.
        (!b.is_null()).then(|| Lut::from_blob(unsafe { Blob::from_raw(b) }))
    }

    /// The `BACKGROUND_COLOR`, 16 bits per channel (`DRM_ARGB64`, see
    /// [`compose::argb64_to_rgb`](super::compose::argb64_to_rgb)); opaque black without the
    /// property ([`CrtcImpl::BACKGROUND_COLOR`]).
    #[inline]
    pub fn background_color(&self) -> u64 {
        self.c().background_color
    }
}

impl<T: CrtcImpl> Deref for CrtcState<T> {
    type Target = T::State;

    #[inline]
    fn deref(&self) -> &T::State {
        &self.0.data
    }
}

impl<T: CrtcImpl> DerefMut for CrtcState<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T::State {
        &mut self.0.data
    }
}

/// The planes a new CRTC starts with: its primary plane and an optional cursor.
pub struct CrtcPlanes {
    primary: *mut bindings::drm_plane,
    cursor: *mut bindings::drm_plane,
}

impl CrtcPlanes {
    /// A CRTC with `primary` and no cursor.
    pub fn primary<P: PlaneImpl, D: Driver>(
        setup: &Setup<'_, D>,
        primary: &Handle<Plane<P>>,
    ) -> Result<Self> {
        Ok(Self {
            primary: primary.get(setup.dev)?.as_raw(),
            cursor: ptr::null_mut(),
        })
    }

    /// With `cursor` as its cursor plane.
    pub fn with_cursor<P: PlaneImpl, D: Driver>(
        mut self,
        setup: &Setup<'_, D>,
        cursor: &Handle<Plane<P>>,
    ) -> Result<Self> {
        self.cursor = cursor.get(setup.dev)?.as_raw();
        Ok(self)
    }
}

impl<'s, D: Driver> Setup<'s, D> {
    /// Creates a CRTC of implementation `T` with data `data`, fed by `planes`. Its index is
    /// [`num_crtcs`](Self::num_crtcs) before the call.
    pub fn crtc<T: CrtcImpl<Driver = D>>(
        &mut self,
        planes: CrtcPlanes,
        data: impl PinInit<T, Error>,
    ) -> Result<Handle<Crtc<T>>> {
        let crtc = alloc_object(try_pin_init!(Crtc::<T> {
            raw: Opaque::zeroed(),
            work: Opaque::zeroed(),
            last_vblank: Atomic::new(0),
            last_done: Atomic::new(FRESH),
            crc_vblank: Atomic::new(false),
            data <- data,
        }))?;
        if T::HAS_VBLANK_WORK {
            // SAFETY: `work` is pinned in the new CRTC and not in use; the name and the class
            // are static.
            unsafe {
                bindings::init_work_with_key(
                    (*crtc.as_ptr()).work.get(),
                    Some(super::vblank::work_callback::<T>),
                    false,
                    c"drm_crtc_vblank_work".as_char_ptr(),
                    crate::static_lock_class!().as_ptr(),
                )
            };
            // Off until the CRTC goes on: each enable pairs with a disable.
            // SAFETY: `work` was just initialised.
            unsafe { bindings::disable_work((*crtc.as_ptr()).work.get()) };
        }
        // SAFETY: `crtc` is freshly allocated and pinned.
        let raw = unsafe { &raw mut (*crtc.as_ptr()).raw }.cast::<bindings::drm_crtc>();
        // SAFETY:
        // * the device is in its KMS phase (invariant of `Setup`);
        // * `raw` is zeroed and pinned, the table `'static`;
        // * `planes` are planes of this device (checked by `CrtcPlanes`), the cursor may be null;
        // * a null name makes the C core pick one.
        let ret = unsafe {
            bindings::drm_crtc_init_with_planes(
                self.as_raw(),
                raw,
                planes.primary,
                planes.cursor,
                &CrtcVtable::<T>::FUNCS,
                ptr::null(),
            )
        };
        if ret != 0 {
            // SAFETY: The init failed, so the C core does not know the CRTC.
            unsafe { free_object(crtc.as_ptr()) };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: The CRTC is initialised; `helper_private` is ours to set, before use.
        unsafe { (*raw).helper_private = &CrtcVtable::<T>::HELPERS };
        if T::BACKGROUND_COLOR {
            // SAFETY: An initialised CRTC of a device in its KMS phase.
            unsafe { bindings::drm_crtc_attach_background_color_property(raw) };
        }
        if T::GAMMA_LUT_SIZE > 0 {
            let size = c_int::try_from(T::GAMMA_LUT_SIZE).map_err(|_| EINVAL)?;
            // SAFETY: An initialised CRTC of a device in its KMS phase; on failure it is
            // cleaned up with the device, as every object made so far.
            to_result(unsafe { bindings::drm_mode_crtc_set_gamma_size(raw, size) })?;
            // SAFETY: As above; no degamma table, no colour matrix.
            unsafe { bindings::drm_crtc_enable_color_mgmt(raw, 0, false, T::GAMMA_LUT_SIZE) };
        }
        Ok(self.handle(crtc))
    }
}

/// The C tables of CRTC implementation `T`.
struct CrtcVtable<T: CrtcImpl>(PhantomData<T>);

impl<T: CrtcImpl> CrtcVtable<T> {
    const FUNCS: bindings::drm_crtc_funcs = bindings::drm_crtc_funcs {
        set_config: Some(bindings::drm_atomic_helper_set_config),
        page_flip: Some(bindings::drm_atomic_helper_page_flip),
        destroy: Some(destroy_callback::<T>),
        atomic_create_state: Some(state::create::<CrtcKind, T::State>),
        atomic_duplicate_state: Some(state::duplicate::<CrtcKind, T::State>),
        atomic_destroy_state: Some(state::destroy::<CrtcKind, T::State>),
        enable_vblank: Some(bindings::drm_crtc_vblank_helper_enable_vblank_timer),
        disable_vblank: Some(bindings::drm_crtc_vblank_helper_disable_vblank_timer),
        get_vblank_timestamp: Some(
            bindings::drm_crtc_vblank_helper_get_vblank_timestamp_from_timer,
        ),
        set_crc_source: if T::HAS_SET_CRC_SOURCE {
            Some(super::crc::set_source_callback::<T>)
        } else {
            None
        },
        verify_crc_source: if T::HAS_SET_CRC_SOURCE {
            Some(super::crc::verify_source_callback)
        } else {
            None
        },
        get_crc_sources: if T::HAS_SET_CRC_SOURCE {
            Some(super::crc::get_sources_callback)
        } else {
            None
        },
        ..pin_init::zeroed()
    };

    const HELPERS: bindings::drm_crtc_helper_funcs = bindings::drm_crtc_helper_funcs {
        atomic_check: if T::HAS_ATOMIC_CHECK {
            Some(atomic_check_callback::<T>)
        } else {
            None
        },
        atomic_enable: Some(atomic_enable_callback::<T>),
        atomic_disable: Some(atomic_disable_callback::<T>),
        atomic_flush: Some(atomic_flush_callback::<T>),
        handle_vblank_timeout: if T::HAS_VBLANK || T::HAS_VBLANK_WORK {
            Some(super::vblank::timer_callback::<T>)
        } else {
            None
        },
        ..pin_init::zeroed()
    };
}

/// `drm_crtc_funcs.destroy`.
///
/// # Safety
///
/// Called by the C core once, for a `Crtc<T>` that nothing uses any more.
unsafe extern "C" fn destroy_callback<T: CrtcImpl>(raw: *mut bindings::drm_crtc) {
    // SAFETY: `raw` is a `Crtc<T>` (type invariant).
    unsafe { Crtc::<T>::from_raw(raw) }.cancel_vblank_work();
    // SAFETY: `raw` is an initialised CRTC; this is its cleanup.
    unsafe { bindings::drm_crtc_cleanup(raw) };
    // SAFETY: `raw` is the first field of a `Crtc<T>` from `alloc_object` (type invariant).
    unsafe { free_object(raw.cast::<Crtc<T>>()) };
}

/// `drm_crtc_helper_funcs.atomic_check`.
///
/// # Safety
///
/// Called by the C helpers with a `Crtc<T>` and a commit being checked that contains it.
unsafe extern "C" fn atomic_check_callback<T: CrtcImpl>(
    crtc: *mut bindings::drm_crtc,
    commit: *mut bindings::drm_atomic_commit,
) -> c_int {
    // SAFETY: `crtc` is a live `Crtc<T>`.
    let crtc = unsafe { Crtc::<T>::from_raw(crtc) };
    from_result(|| {
        // SAFETY: `commit` is a commit of the CRTC's device being checked, ours for the call.
        let mut check = unsafe { Check::from_raw(crtc.device(), commit) }?;
        T::atomic_check(crtc, &mut check)?;
        Ok(0)
    })
}

/// `drm_crtc_helper_funcs.atomic_enable`: the driver's hook, then vblank on.
///
/// # Safety
///
/// Called by the C helpers in the commit tail with a `Crtc<T>` of the commit.
unsafe extern "C" fn atomic_enable_callback<T: CrtcImpl>(
    raw: *mut bindings::drm_crtc,
    commit: *mut bindings::drm_atomic_commit,
) {
    // SAFETY: `raw` is a live `Crtc<T>`.
    let crtc = unsafe { Crtc::<T>::from_raw(raw) };
    if T::HAS_ATOMIC_ENABLE {
        // SAFETY: `commit` is a commit of the CRTC's device in its tail.
        T::atomic_enable(crtc, &unsafe { Update::from_raw(crtc.device(), commit) });
    }
    // The work's first run after this is for its own vblank only.
    crtc.last_done.store(FRESH, Relaxed);
    crtc.enable_vblank_work();
    // SAFETY: The CRTC has vblank support and its new mode is set.
    unsafe { bindings::drm_crtc_vblank_on(raw) };
}

/// `drm_crtc_helper_funcs.atomic_disable`: vblank off (sending the pending events), the driver's
/// hook, then the commit's own event, sent now: a tail that commits planes with `active_only`
/// does not flush a CRTC that goes off, and the C core requires every event to be consumed by
/// `hw_done`.
///
/// # Safety
///
/// As for [`atomic_enable_callback`].
unsafe extern "C" fn atomic_disable_callback<T: CrtcImpl>(
    raw: *mut bindings::drm_crtc,
    commit: *mut bindings::drm_atomic_commit,
) {
    // SAFETY: The CRTC has vblank support and was on.
    unsafe { bindings::drm_crtc_vblank_off(raw) };
    // SAFETY: `raw` is a live `Crtc<T>`.
    let crtc = unsafe { Crtc::<T>::from_raw(raw) };
    // The timer is off: no vblank queues the work any more.
    crtc.cancel_vblank_work();
    if T::HAS_ATOMIC_DISABLE {
        // SAFETY: `commit` is a commit of the CRTC's device in its tail.
        T::atomic_disable(crtc, &unsafe { Update::from_raw(crtc.device(), commit) });
    }
    // With vblank off the C helper sends the event at once (and takes it off the state).
    // SAFETY: `raw` is a CRTC of `commit`, in the commit tail.
    unsafe { bindings::drm_crtc_vblank_atomic_flush(raw, commit) };
}

/// `drm_crtc_helper_funcs.atomic_flush`: the driver's hook, then the commit's event.
///
/// # Safety
///
/// As for [`atomic_enable_callback`].
unsafe extern "C" fn atomic_flush_callback<T: CrtcImpl>(
    raw: *mut bindings::drm_crtc,
    commit: *mut bindings::drm_atomic_commit,
) {
    // SAFETY: `raw` is a live `Crtc<T>`.
    let crtc = unsafe { Crtc::<T>::from_raw(raw) };
    if T::HAS_ATOMIC_FLUSH {
        // SAFETY: `commit` is a commit of the CRTC's device in its tail.
        T::atomic_flush(crtc, &unsafe { Update::from_raw(crtc.device(), commit) });
    }
    // The C helper takes the new state's event, arms it for the next vblank if vblank is on,
    // or sends it now.
    // SAFETY: `raw` is a CRTC of `commit`, in the commit tail.
    unsafe { bindings::drm_crtc_vblank_atomic_flush(raw, commit) };
}
