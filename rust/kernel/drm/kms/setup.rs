// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The KMS phase of a device: [`UnregisteredDevice::modeset`], the [`Setup`] that creates the
//! mode objects, and the [`ModesetDevice`] it returns.
//!
//! C header: [`include/drm/drm_mode_config.h`](srctree/include/drm/drm_mode_config.h)

use super::{
    has_kms,
    ConfigVtable,
    DisplayOf,
    Handle,
    Kms, //
};
use crate::{
    bindings,
    drm::{
        self,
        device::UnregisteredDevice,
        Device,
        Driver, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef,
    sync::atomic::Release,
};
use core::ptr::NonNull;

/// The KMS phase of a device: creates its mode objects.
///
/// Given to the closure of [`UnregisteredDevice::modeset`]. It derefs to the [`Device`].
///
/// # Invariants
///
/// `dev`'s mode configuration is initialised and the device is not registered.
pub struct Setup<'s, T: Driver> {
    pub(super) dev: &'s Device<T>,
}

impl<T: Driver> core::ops::Deref for Setup<'_, T> {
    type Target = Device<T>;

    #[inline]
    fn deref(&self) -> &Device<T> {
        self.dev
    }
}

impl<'s, T: Driver> Setup<'s, T> {
    /// A handle to a new object of this device.
    pub(super) fn handle<O>(&self, ptr: NonNull<O>) -> Handle<O> {
        // INVARIANT: `ptr` is an object just created on `self.dev`.
        Handle {
            ptr,
            dev_id: self.dev.kms_slot().id,
        }
    }

    /// The number of CRTCs created so far: the index of the next one, and the bit of
    /// [`CrtcMask`] that names it.
    #[inline]
    pub fn num_crtcs(&self) -> u32 {
        self.dev.num_crtcs()
    }
}

/// A set of CRTCs, by index (creation order): which CRTCs a plane or an encoder can be used
/// with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrtcMask(pub u32);

impl CrtcMask {
    /// The CRTC with index `i`.
    pub const fn only(i: u32) -> Self {
        Self(1 << i)
    }
}

/// A device of a KMS driver whose display is set up: the only one that can be registered.
///
/// Made by [`UnregisteredDevice::modeset`]; derefs to the [`Device`].
pub struct ModesetDevice<'a, T: Driver> {
    unreg: UnregisteredDevice<'a, T>,
}

impl<'a, T: Driver> core::ops::Deref for ModesetDevice<'a, T> {
    type Target = Device<T>;

    #[inline]
    fn deref(&self) -> &Device<T> {
        &self.unreg
    }
}

impl<'a, T: Driver> ModesetDevice<'a, T> {
    /// Registers the device with userspace; see [`UnregisteredDevice::register`].
    pub fn register(self) -> Result<crate::devres::Devres<drm::Registration<T>>> {
        self.unreg.register_any()
    }

    /// Registers the device for as long as the parent stays bound; see
    /// [`UnregisteredDevice::register_for_binding`].
    pub fn register_for_binding(self) -> Result<ARef<Device<T>>> {
        self.unreg.register_for_binding_any()
    }
}

impl<'a, T: Driver> UnregisteredDevice<'a, T> {
    /// The KMS phase: initialises the device's mode configuration from [`Kms::MODE_CONFIG`],
    /// runs `build`, which creates the mode objects through the [`Setup`] and returns the
    /// display, and then gives every object its initial state (`atomic_create_state`), enables
    /// vblank for the CRTCs, and returns the device, ready to register.
    ///
    /// On error the objects made so far are destroyed with the device.
    ///
    /// # Examples
    ///
    /// A display of one pipe, for a driver `Gpu` whose [`Kms::Display`] is `Display`:
    ///
    /// ```
    /// use kernel::{drm::{self, kms}, faux, prelude::*};
    /// # kernel::drm_doctest_display!(Gpu);
    ///
    /// let parent = faux::Registration::new(c"drm-doctest-modeset", None)?;
    /// let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
    /// let dev = dev.modeset(|s| {
    ///     let pipe = kms::CrtcMask::only(s.num_crtcs());
    ///     let primary = s.plane(&DoctestPlane::spec(pipe), Ok(DoctestPlane))?;
    ///     let crtc = s.crtc(kms::CrtcPlanes::primary(s, &primary)?, Ok(DoctestCrtc))?;
    ///     let encoder = s.encoder(kms::EncoderType::Virtual, pipe)?;
    ///     let output = s.connector(kms::ConnectorType::Virtual, &encoder, Ok(DoctestOutput))?;
    ///     Ok(Display { primary, crtc, _encoder: encoder, _output: output })
    /// })?;
    ///
    /// // The display is stored in the device; its handles open its objects.
    /// assert_eq!(dev.display()?.crtc.get(&*dev)?.index(), 0);
    /// assert!(drm::Features::of::<Gpu>().contains(drm::Features::ATOMIC));
    /// let _registration = dev.register()?;
    /// # Ok::<(), Error>(())
    /// ```
    pub fn modeset(
        self,
        build: impl FnOnce(&mut Setup<'_, T>) -> Result<DisplayOf<T>>,
    ) -> Result<ModesetDevice<'a, T>> {
        const { assert!(has_kms::<T>(), "modeset() is for drivers with a display") };
        let dev: &Device<T> = &self;
        let raw = dev.as_raw();
        // SAFETY: `raw` is an unregistered device (invariant of `UnregisteredDevice`); the
        // mode configuration is cleaned up by the drmm action this registers.
        to_result(unsafe { bindings::drmm_mode_config_init(raw) })?;
        let cfg = <T::Kms as Kms<T>>::MODE_CONFIG;
        // SAFETY: `mode_config` was initialised above and nothing else uses it yet.
        unsafe {
            let mc = &mut (*raw).mode_config;
            mc.min_width = cfg.min_width;
            mc.min_height = cfg.min_height;
            mc.max_width = cfg.max_width;
            mc.max_height = cfg.max_height;
            mc.cursor_width = cfg.cursor_width;
            mc.cursor_height = cfg.cursor_height;
            // `normalized_zpos` is the stacking order on each CRTC: unique, from 0 up.
            mc.normalize_zpos = true;
            mc.funcs = &ConfigVtable::<T>::FUNCS;
            mc.helper_private = &ConfigVtable::<T>::HELPERS;
        }
        // INVARIANT: the mode configuration is initialised and the device not registered.
        let display = build(&mut Setup { dev })?;
        // SAFETY: The counts are the C core's, fixed from now on.
        let (num_planes, num_encoders) = unsafe {
            (
                (*raw).mode_config.num_total_plane,
                (*raw).mode_config.num_encoder,
            )
        };
        let num_crtcs = dev.num_crtcs();
        if num_crtcs == 0 || num_planes == 0 || num_encoders == 0 {
            pr_err!("drm::kms: a display needs at least a plane, a CRTC and an encoder\n");
            return Err(EINVAL);
        }

        let slot = dev.kms_slot();
        // SAFETY: `ready` is false (checked above), so nothing reads `display`; it is written
        // once, here (invariant of `Slot`).
        unsafe { (*slot.display.get()).write(display) };
        // INVARIANT: written just above.
        slot.ready.store(true, Release);

        // SAFETY: `raw` has `num_crtcs` CRTCs; the vblank state is released by a drmm action.
        to_result(unsafe { bindings::drm_vblank_init(raw, num_crtcs) })?;
        // SAFETY: Every object is initialised; the hooks make their states.
        to_result(unsafe { bindings::drm_mode_config_create_initial_state(raw) })?;
        Ok(ModesetDevice { unreg: self })
    }
}

/// Frees a mode object that the layer allocated, after the C core cleaned it up.
///
/// # Safety
///
/// `ptr` comes from `KBox::into_raw` of a `Pin<KBox<O>>` and nothing uses it any more.
pub(super) unsafe fn free_object<O>(ptr: *mut O) {
    // SAFETY: By the safety requirements.
    drop(unsafe { KBox::from_raw(ptr) });
}

/// Allocates a zeroed, pinned object with data from `data`, for the C init function of its kind.
pub(super) fn alloc_object<O>(init: impl PinInit<O, Error>) -> Result<NonNull<O>> {
    let boxed = KBox::try_pin_init(init, GFP_KERNEL)?;
    // SAFETY: The object stays pinned: it is freed only through `free_object`, in place.
    let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
    // SAFETY: `KBox::into_raw` does not return null.
    Ok(unsafe { NonNull::new_unchecked(raw) })
}
