// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KMS: mode setting, for drivers with a display.
//!
//! A driver with a display implements [`Kms`] (for its [`Driver`] type, and names it in
//! [`Driver::Kms`]); one without says [`NoKms`]. The `MODESET` and `ATOMIC` features follow from
//! that choice ([`Features::of`](crate::drm::Features::of)).
//!
//! # Phases
//!
//! The mode objects of a device are created once, in a phase of their own between allocation and
//! registration: [`UnregisteredDevice::modeset`] initialises the mode configuration, runs the
//! driver's closure with a [`Setup`], in which it creates its planes, CRTCs, encoders and
//! connectors, and returns a [`ModesetDevice`], the only device of a KMS driver that can be
//! registered. After that the set of objects is fixed, as the C core requires.
//!
//! # Typed objects and states
//!
//! Every object kind has an implementation trait ([`PlaneImpl`], [`CrtcImpl`],
//! [`ConnectorImpl`]) that declares the object's data and its *state type*; a driver may have
//! several implementation types of one kind (a primary plane and a cursor plane with different
//! states). Creating an object returns a typed [`Handle`] to it, which the driver keeps in its
//! [`Kms::Display`]; the layer stores the display in the device and gives it to every hook. So a
//! hook reaches each object of a commit with its own type through the handle, and no downcast
//! exists that could fail.
//!
//! States are duplicated with `Clone` and destroyed with `Drop`; the pristine state of an object
//! comes from `Default`, through the `atomic_create_state` hooks of the C core (no `reset`).
//!
//! # Commits
//!
//! Check hooks get a [`Check`], commit hooks an [`Update`]: views of one `struct
//! drm_atomic_commit`, with typed accessors for the old and new state of each object
//! ([`Update::plane`], [`Check::plane_mut`], …). Shared accessors borrow the commit, mutable ones
//! borrow it mutably, so a conflicting borrow does not compile; there is no limit on the number
//! of objects. A driver that replaces the commit tail gets a [`Tail`], whose steps consume it
//! and return the next step, so the compiler checks that each is done once and in order.
//!
//! # vblank and events
//!
//! Each CRTC has a vblank timer in the C core's `struct drm_vblank_crtc`, enabled and disabled
//! by the layer with the CRTC, at the mode's refresh rate; page-flip events are armed and sent
//! by the layer. The C core implements `WAIT_VBLANK`, `CRTC_GET_SEQUENCE` and
//! `CRTC_QUEUE_SEQUENCE` on top. Nothing refers back from the timer to the driver, so there is
//! no cycle to break; unplug turns every CRTC off ([`Registration`](crate::drm::Registration)).
//!
//! C header: [`include/drm/drm_mode_config.h`](srctree/include/drm/drm_mode_config.h)
//!
//! [`UnregisteredDevice::modeset`]: crate::drm::UnregisteredDevice::modeset

use crate::{
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Relaxed, //
    },
};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    mem::MaybeUninit,
    ptr::{
        self,
        NonNull, //
    },
};

mod atomic;
mod blob;
pub mod color;
pub mod compose;
mod connector;
mod crc;
mod crtc;
mod encoder;
pub mod format;
mod framebuffer;
mod mode;
mod plane;
mod request;
mod routing;
mod setup;
mod state;
mod vblank;
mod writeback;

pub use self::atomic::*;
pub use self::blob::*;
pub use self::connector::*;
pub use self::crc::*;
pub use self::crtc::*;
pub use self::encoder::*;
pub use self::framebuffer::*;
pub use self::mode::*;
pub use self::plane::*;
pub use self::request::*;
pub use self::setup::*;
pub use self::vblank::Frames;
pub use self::writeback::*;

/// The limits of a device's display, `struct drm_mode_config`'s.
#[derive(Clone, Copy, Debug)]
pub struct ModeConfig {
    /// Smallest framebuffer and mode width.
    pub min_width: u32,
    /// Smallest framebuffer and mode height.
    pub min_height: u32,
    /// Largest framebuffer and mode width.
    pub max_width: u32,
    /// Largest framebuffer and mode height.
    pub max_height: u32,
    /// Largest cursor width, for userspace (`DRM_CAP_CURSOR_WIDTH`).
    pub cursor_width: u32,
    /// Largest cursor height (`DRM_CAP_CURSOR_HEIGHT`).
    pub cursor_height: u32,
}

/// The display of a driver: what it sets up in the KMS phase and the hooks that apply to a whole
/// commit.
///
/// Implemented by the driver type `D` itself, with `type Kms = Self` in [`Driver`]; drivers
/// without a display say [`NoKms`].
///
/// # Examples
///
/// The sample driver's display is in `samples/rust/vrust/kms/`.
#[vtable]
pub trait Kms<D: Driver>: Sized + 'static {
    /// The driver's mode objects, as [`Handle`]s returned by [`Setup`]. Stored by the layer
    /// in the device and dropped with the device's data; [`Update::display`] and
    /// [`Device::display`] return it. It must not hold a reference to its own device
    /// (`ARef<Device>`): the device would never be freed.
    type Display: Send + Sync;

    /// The limits of the display.
    const MODE_CONFIG: ModeConfig;

    /// Whether the driver has a display. Only [`NoKms`] says no.
    #[doc(hidden)]
    const __ENABLED: bool = true;

    /// Checks a whole commit (`drm_mode_config_funcs.atomic_check`).
    ///
    /// Optional: without it the layer calls [`Check::check_with_helpers`], which runs the
    /// per-object check hooks. A driver that implements it usually calls that first.
    fn atomic_check(_commit: &mut Check<'_, D>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The commit tail (`drm_mode_config_helper_funcs.atomic_commit_tail`): applies a checked
    /// commit in steps.
    ///
    /// Optional: without it the C default runs, which is the sequence
    /// [`Tail::disable_outputs`], [`Tail::commit_planes`], [`Tail::enable_outputs`],
    /// [`Tail::hw_done`], [`Tail::wait_for_vblanks`], [`Tail::cleanup_planes`].
    fn commit_tail<'c>(tail: Tail<'c, D, TailStart>) -> Tail<'c, D, TailDone> {
        let _ = tail;
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The [`Driver::Kms`] of a driver without a display.
pub struct NoKms;

// Written out instead of with `#[vtable]`, whose `OwnerModule` default is private to this
// crate: a driver without a display has no hooks, and no module to pin for them.
impl<D: Driver> Kms<D> for NoKms {
    const USE_VTABLE_ATTR: () = ();
    type OwnerModule = NoModule;
    type Display = ();
    const MODE_CONFIG: ModeConfig = ModeConfig {
        min_width: 0,
        min_height: 0,
        max_width: 0,
        max_height: 0,
        cursor_width: 0,
        cursor_height: 0,
    };
    const __ENABLED: bool = false;
}

/// The `OwnerModule` of [`NoKms`]'s [`Kms`] implementation: none.
#[doc(hidden)]
pub struct NoModule;

impl crate::ModuleMetadata for NoModule {
    const NAME: &'static CStr = c"drm_kms_none";
    // SAFETY: A null module is the built-in kernel; `try_module_get()` and `module_put()` accept
    // it.
    const THIS_MODULE: crate::ThisModule = unsafe { crate::ThisModule::from_ptr(ptr::null_mut()) };
}

pub(crate) mod private {
    pub trait Sealed {}

    /// What the commit accessors need of a mode object.
    pub trait ModeObject {
        /// The `drm_device` the object belongs to.
        fn drm_device(&self) -> *mut crate::bindings::drm_device;
    }
}
use private::ModeObject;

/// Whether driver `T` has a display.
#[inline]
pub(crate) const fn has_kms<T: Driver>() -> bool {
    <T::Kms as Kms<T>>::__ENABLED
}

/// The display of driver `T`.
pub type DisplayOf<T> = <<T as Driver>::Kms as Kms<T>>::Display;

/// The KMS part of a [`Device`]: its id and its display.
///
/// # Invariants
///
/// * `id` is unique among every device allocated since boot;
/// * `display` is written once, in `UnregisteredDevice::modeset`, before `ready` becomes true,
///   and only read once `ready` is true; it is dropped with the device.
pub(crate) struct Slot<T: Driver> {
    id: u64,
    ready: Atomic<bool>,
    display: UnsafeCell<MaybeUninit<DisplayOf<T>>>,
}

/// The source of [`Slot`] ids.
static NEXT_ID: Atomic<u64> = Atomic::new(1);

impl<T: Driver> Slot<T> {
    pub(crate) fn new() -> Self {
        // INVARIANT: a 64-bit counter that only goes up does not repeat; the display is not set.
        Self {
            id: NEXT_ID.fetch_add(1, Relaxed),
            ready: Atomic::new(false),
            display: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The display, once the KMS phase has ended.
    pub(crate) fn display(&self) -> Option<&DisplayOf<T>> {
        if !self.ready.load(Acquire) {
            return None;
        }
        // SAFETY: `ready` is true, so `display` was written and is never written again (type
        // invariant); the `Acquire` load pairs with the `Release` store after the write.
        Some(unsafe { (*self.display.get()).assume_init_ref() })
    }
}

impl<T: Driver> Drop for Slot<T> {
    fn drop(&mut self) {
        if self.ready.load(Relaxed) {
            // SAFETY: `ready` is true, so the display is initialised; nothing reaches it any more.
            unsafe { (*self.display.get()).assume_init_drop() };
        }
    }
}

impl<T: Driver> Device<T> {
    /// The display of the device: the [`Kms::Display`] its driver set up.
    ///
    /// Every device of a KMS driver that userspace or a hook can reach has one: it is set in the
    /// KMS phase, before the device can be registered. Returns `ENODEV` before that, and for a
    /// driver without a display.
    pub fn display(&self) -> Result<&DisplayOf<T>> {
        self.kms_slot().display().ok_or(ENODEV)
    }

    /// Sends a hotplug event to userspace (`drm_kms_helper_hotplug_event()`): the connectors'
    /// status or modes may have changed. Sleeps. Does nothing before the display is set up.
    pub fn hotplug_event(&self) {
        if self.kms_slot().display().is_none() {
            return;
        }
        // SAFETY: The display exists, so the mode configuration is initialised (`modeset()`).
        unsafe { bindings::drm_kms_helper_hotplug_event(self.as_raw()) };
    }
}

/// A typed reference to a mode object of a device, returned when the object is created.
///
/// The driver keeps it in its [`Kms::Display`] and gives it to the accessors of commits
/// ([`Update::plane`], …), which return the object's state with the object's own type. A handle
/// is not `Clone`: each object has one.
///
/// # Invariants
///
/// `ptr` points to an object of the device with `Slot` id `dev_id`, which lives as long as that
/// device; the id is never reused, so `dev_id` matching a live device proves `ptr` valid.
pub struct Handle<O> {
    ptr: NonNull<O>,
    dev_id: u64,
}

// SAFETY: A handle is a pointer that is only dereferenced while the device is known to be alive;
// the object types it points to are `Sync` (their implementation traits require it).
unsafe impl<O: Sync> Send for Handle<O> {}
// SAFETY: As above: `&Handle` only gives `&O`.
unsafe impl<O: Sync> Sync for Handle<O> {}

impl<O> Handle<O> {
    /// The object, if it belongs to `dev`.
    ///
    /// Returns `EINVAL` for a handle of another device.
    pub fn get<'a, T: Driver>(&self, dev: &'a Device<T>) -> Result<&'a O> {
        if self.dev_id != dev.kms_slot().id {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is alive for `'a` and is the device of the object (type invariant).
        Ok(unsafe { self.ptr.as_ref() })
    }
}

/// A mode object of a device that a commit accessor can take: its [`Handle`], or the object
/// itself as the per-object hooks get it.
pub trait ObjectRef<O>: private::Sealed {
    /// The object, if it belongs to the device of `slot`.
    #[doc(hidden)]
    fn resolve<'a, T: Driver>(self, dev: &'a Device<T>) -> Result<&'a O>
    where
        Self: 'a;
}

impl<O> private::Sealed for &Handle<O> {}
impl<'h, O> ObjectRef<O> for &'h Handle<O> {
    fn resolve<'a, T: Driver>(self, dev: &'a Device<T>) -> Result<&'a O>
    where
        Self: 'a,
    {
        self.get(dev)
    }
}

impl<O: ModeObject> private::Sealed for &O {}
impl<'o, O: ModeObject> ObjectRef<O> for &'o O {
    fn resolve<'a, T: Driver>(self, dev: &'a Device<T>) -> Result<&'a O>
    where
        Self: 'a,
    {
        if self.drm_device() != dev.as_raw() {
            return Err(EINVAL);
        }
        Ok(self)
    }
}

/// The mode configuration's C tables for display `K`.
struct ConfigVtable<T: Driver>(PhantomData<T>);

impl<T: Driver> ConfigVtable<T> {
    const FUNCS: bindings::drm_mode_config_funcs = bindings::drm_mode_config_funcs {
        fb_create: Some(bindings::drm_gem_fb_create),
        atomic_check: Some(atomic_check_callback::<T>),
        atomic_commit: Some(bindings::drm_atomic_helper_commit),
        ..pin_init::zeroed()
    };

    const HELPERS: bindings::drm_mode_config_helper_funcs =
        bindings::drm_mode_config_helper_funcs {
            atomic_commit_tail: if <T::Kms as Kms<T>>::HAS_COMMIT_TAIL {
                Some(commit_tail_callback::<T>)
            } else {
                None
            },
            ..pin_init::zeroed()
        };
}

/// `drm_mode_config_funcs.atomic_check`.
///
/// # Safety
///
/// Called by the C core with a commit of a `Device<T>` that holds the locks of the objects it
/// contains.
unsafe extern "C" fn atomic_check_callback<T: Driver>(
    raw: *mut bindings::drm_device,
    commit: *mut bindings::drm_atomic_commit,
) -> c_int {
    // SAFETY: `raw` is the `drm_device` of a live `Device<T>` (our table is only set on such
    // devices), referenced for the duration of the call.
    let dev = unsafe { Device::<T>::from_raw(raw) };
    from_result(|| {
        // SAFETY: `commit` is a commit of `dev` being checked, exclusively ours for the call.
        let mut check = unsafe { Check::from_raw(dev, commit) }?;
        if <T::Kms as Kms<T>>::HAS_ATOMIC_CHECK {
            <T::Kms as Kms<T>>::atomic_check(&mut check)?;
        } else {
            check.check_with_helpers()?;
        }
        Ok(0)
    })
}

/// `drm_mode_config_helper_funcs.atomic_commit_tail`.
///
/// # Safety
///
/// Called by the C helpers with a checked, swapped commit of a `Device<T>`.
unsafe extern "C" fn commit_tail_callback<T: Driver>(commit: *mut bindings::drm_atomic_commit) {
    // SAFETY: `commit` is a live commit; its `dev` is a `Device<T>`, referenced by it.
    let dev = unsafe { Device::<T>::from_raw((*commit).dev) };
    // SAFETY: The commit tail owns the commit for the duration of the call.
    let tail = unsafe { Tail::start(dev, commit) };
    let _done = <T::Kms as Kms<T>>::commit_tail(tail);
}

impl<D: Driver> Device<D> {
    /// The number of CRTCs of the device.
    #[inline]
    pub(crate) fn num_crtcs(&self) -> u32 {
        // SAFETY: `num_crtc` is set while the device is in its KMS phase and fixed after.
        unsafe { (*self.as_raw()).mode_config.num_crtc.max(0) as u32 }
    }
}

/// Turns every CRTC of an unplugged device off (`drm_atomic_helper_shutdown()`): cancels the
/// vblank timers and sends the pending page-flip events. Called by
/// [`Registration`](crate::drm::Registration)'s drop, after the unplug.
pub(crate) fn shutdown<T: Driver>(dev: &Device<T>) {
    if has_kms::<T>() && dev.kms_slot().display().is_some() {
        // SAFETY: The device has a display, so its mode configuration is initialised; it is
        // unplugged, so no new commit can start from userspace.
        unsafe { bindings::drm_atomic_helper_shutdown(dev.as_raw()) };
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;
