// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The DRM device and its lifetimes.
//!
//! A DRM device passes through these states, each a type here:
//!
//! * allocated under a bound parent, not yet visible to userspace: [`UnregisteredDevice`], which
//!   borrows the bound parent, so it cannot outlive the binding it was made in;
//! * registered with userspace: [`Registration`], which lives inside the parent's devres and
//!   unplugs the device when it is dropped or when the parent unbinds, whichever comes first;
//! * inside a `drm_dev_enter()` section of a registered device: [`Section`], the proof that
//!   the device is not unplugged for as long as the guard lives;
//!
//! and all along, the `struct drm_device` refcount: [`Device`], held as [`ARef<Device<T>>`].
//!
//! A section does not prove that the parent is still bound: devres releases in reverse order,
//! so resources the driver put in the parent's devres after registering are released before the
//! unplug runs. Parent-bound resources are reached through [`Devres::try_access`], which checks.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

use crate::{
    bindings,
    device::{
        self,
        AsBusDevice,
        Bound, //
    },
    devres::Devres,
    drm::{
        self,
        driver::Vtable,
        Driver, //
    },
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::{
        NotThreadSafe,
        Opaque, //
    },
};
use core::{
    mem,
    ops::Deref,
    ptr::{
        self,
        NonNull, //
    },
};

/// A DRM device of driver `T`, with the driver's data embedded.
///
/// Always reached through a reference: [`ARef<Device<T>>`] holds a reference count of the
/// `struct drm_device`, and the data derefs from it.
///
/// # Invariants
///
/// * `dev` is a `struct drm_device` allocated by `__drm_dev_alloc()` with driver `T`'s table,
///   as part of an allocation holding this whole `Device<T>`;
/// * `kms` and `data` are initialised, and are dropped by a drmm action registered right after
///   their initialisation, so after every drmm action registered later (e.g. KMS cleanup) and
///   before the C core frees the allocation;
/// * the parent of `dev` (`dev->dev`) is embedded in a `T::ParentDevice`.
#[repr(C)]
#[pin_data]
pub struct Device<T: Driver> {
    dev: Opaque<bindings::drm_device>,
    kms: drm::kms::Slot<T>,
    #[pin]
    data: T::Data,
}

// SAFETY: A `Device<T>` is the `drm_device`, whose C operations are thread safe, and a
// `T::Data`, which `Driver` requires to be `Send`: it may be dropped from any thread.
unsafe impl<T: Driver> Send for Device<T> {}
// SAFETY: Every method takes `&self` and is thread safe; `T::Data` is `Sync` (`Driver` requires
// it), so sharing `&T::Data` across threads is too.
unsafe impl<T: Driver> Sync for Device<T> {}

impl<T: Driver> Device<T> {
    /// The raw `struct drm_device`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_device {
        self.dev.get()
    }

    /// The device of driver `T` that `ptr` is embedded in.
    ///
    /// # Safety
    ///
    /// `ptr` must be the `struct drm_device` of a live `Device<T>`: allocated with driver `T`'s
    /// table, with a reference held for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::drm_device) -> &'a Self {
        // CAST: `dev` is the first field of the `#[repr(C)]` `Device<T>`.
        let this = ptr.cast::<Self>();
        // SAFETY: By the safety requirements `ptr` is embedded in a live `Device<T>`.
        unsafe { &*this }
    }

    /// The KMS part of the device.
    #[cfg(all(CONFIG_RUST_DRM_KMS, CONFIG_DRM_KMS_HELPER = "y"))]
    #[inline]
    pub(crate) fn kms_slot(&self) -> &drm::kms::Slot<T> {
        &self.kms
    }

    /// The parent device, which may have been unbound meanwhile.
    pub fn parent(&self) -> &T::ParentDevice<device::Normal> {
        // SAFETY: `drm_dev_init()` set `dev->dev` to the parent and holds a reference to it until
        // the `drm_device` is released, which cannot happen while `&self` exists.
        let dev = unsafe { device::Device::from_raw((*self.as_raw()).dev) };
        // SAFETY: The parent is embedded in a `T::ParentDevice` (type invariant).
        unsafe { T::ParentDevice::<device::Normal>::from_device(dev) }
    }

    /// Enters a `drm_dev_enter()` section, if the device is registered and not unplugged.
    ///
    /// The returned guard proves, for its lifetime, that the device is registered and not
    /// unplugged: [`Registration`] waits for every open section before it completes an unplug.
    ///
    /// Sections are read-side sections of one SRCU shared by every DRM device in the system, and
    /// the unplug of *any* device waits for all of them. So a section may nest, and may cover
    /// bounded work such as hardware access, but never a user copy (a client can stall it on a
    /// page it never serves), a sleep on anything a client controls (a lock it can hold, a fence
    /// it never signals), or long work; and never drop a [`Registration`] (or unbind a parent)
    /// inside one: the unplug would wait for the section it runs in. Ioctl handlers are called
    /// outside sections for this reason (see [`ioctl`](crate::drm::ioctl)).
    ///
    /// Returns `None` once the device is unplugged, and before it was ever registered.
    pub fn enter(&self) -> Option<Section<'_, T>> {
        let mut idx: c_int = 0;
        // SAFETY: `self.dev` is an initialised `drm_device` (type invariant).
        if !unsafe { bindings::drm_dev_enter(self.as_raw(), &mut idx) } {
            return None;
        }
        // A device that was never registered is not unplugged either: `registered` tells them
        // apart. It goes from true to false only in `drm_dev_unregister()`, which for our
        // devices runs in `drm_dev_unplug()` after the SRCU grace period this section is part
        // of, so it stays true until `drm_dev_exit()`.
        // SAFETY: `self.dev` is initialised; the helper reads the flag with `READ_ONCE()`.
        if !unsafe { bindings::drm_dev_registered(self.as_raw()) } {
            // SAFETY: `idx` comes from the `drm_dev_enter()` above.
            unsafe { bindings::drm_dev_exit(idx) };
            return None;
        }
        // INVARIANT: the section `idx` is open and the device registered.
        Some(Section {
            dev: self,
            idx,
            _not_send: NotThreadSafe,
        })
    }
}

impl<T: Driver> Deref for Device<T> {
    type Target = T::Data;

    #[inline]
    fn deref(&self) -> &T::Data {
        &self.data
    }
}

// SAFETY: `drm_dev_get()`/`drm_dev_put()` maintain the `drm_device` refcount; the allocation
// holding `Self` is freed only when it drops to zero (type invariant: `__drm_dev_alloc()`).
unsafe impl<T: Driver> AlwaysRefCounted for Device<T> {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held, so the refcount is not zero.
        unsafe { bindings::drm_dev_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_dev_put(obj.as_ref().as_raw()) };
    }
}

/// The drmm action that drops the data of a `Device<T>`.
///
/// # Safety
///
/// Called by the C core only, once, with the `Device<T>` whose data was initialised when the
/// action was added; the device's refcount is zero (drmm actions run in `drm_dev_release()`).
unsafe extern "C" fn drop_data<T: Driver>(raw: *mut bindings::drm_device, data: *mut c_void) {
    // SAFETY: `data` is the initialised `data` field of a `Device<T>`, which nothing reaches
    // any more (the refcount is zero); the C core frees the memory after the last drmm action.
    unsafe { ptr::drop_in_place(data.cast::<T::Data>()) };
    // CAST: `dev` is the first field of the `#[repr(C)]` `Device<T>`.
    let container = raw.cast::<Device<T>>();
    // SAFETY: As above, for the initialised `kms` field. The mode objects its display refers to
    // are gone already (the mode config's cleanup action was registered later, so ran first);
    // dropping the display does not reach them (see `kms::Handle`).
    unsafe { ptr::drop_in_place(&raw mut (*container).kms) };
}

/// A DRM device that is allocated but not yet registered with userspace.
///
/// It borrows the bound parent it was created under, so it cannot outlive that binding; it
/// derefs to the [`Device`], so the driver can finish setting the device up (e.g. KMS objects)
/// before [`register`](Self::register) makes it visible.
///
/// Dropping it without registering frees the device once its other references are gone.
///
/// # Invariants
///
/// `dev` was never registered, and `parent` is its parent (`dev->dev`).
pub struct UnregisteredDevice<'a, T: Driver> {
    dev: ARef<Device<T>>,
    parent: &'a T::ParentDevice<Bound>,
}

impl<'a, T: Driver> UnregisteredDevice<'a, T> {
    /// Allocates a DRM device of driver `T` under `parent`, with its data from `data`.
    ///
    /// # Examples
    ///
    /// See [`Driver`](crate::drm::Driver#examples).
    pub fn new(
        parent: &'a T::ParentDevice<Bound>,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<Self> {
        const {
            assert!(
                mem::align_of::<Device<T>>() <= bindings::ARCH_KMALLOC_MINALIGN,
                "DRM device data must not need more alignment than kmalloc() gives"
            )
        };
        let parent_dev: &device::Device<Bound> = parent.as_ref();

        // SAFETY:
        // * `parent_dev` is a live, bound device; `drm_dev_init()` takes a reference to it;
        // * the driver table is a `'static` constant;
        // * `size` and `offset` describe `Device<T>`, whose `dev` field is the `drm_device`.
        let raw = unsafe {
            bindings::__drm_dev_alloc(
                parent_dev.as_raw(),
                &Vtable::<T>::DRIVER,
                mem::size_of::<Device<T>>(),
                mem::offset_of!(Device<T>, dev),
            )
        };
        let container = from_err_ptr(raw)?.cast::<Device<T>>();
        // SAFETY: `container` is valid; only places are computed, no reference is made to the
        // partly initialised `Device<T>`.
        let (drm, kms, slot) = unsafe {
            (
                (&raw mut (*container).dev).cast::<bindings::drm_device>(),
                &raw mut (*container).kms,
                &raw mut (*container).data,
            )
        };

        // SAFETY: `slot` is the uninitialised `data` field of a fresh, exclusively owned
        // allocation of `Device<T>`'s size and (checked above) alignment; it stays pinned there
        // until `drop_data` drops it.
        if let Err(e) = unsafe { data.__init(slot) } {
            // SAFETY: We own the only reference; no drmm action refers to `data` yet, so
            // releasing the device does not touch it.
            unsafe { bindings::drm_dev_put(drm) };
            return Err(e);
        }
        // SAFETY: `kms` is the uninitialised `kms` field of the same allocation; plain data.
        unsafe { kms.write(drm::kms::Slot::new()) };

        // SAFETY: `drm` is initialised and `slot` its device's initialised data. On failure the
        // C core calls the action right away (dropping the data) and we drop the only reference.
        let ret = unsafe {
            bindings::__drmm_add_action_or_reset(
                drm,
                Some(drop_data::<T>),
                slot.cast(),
                c"drm::Device data".as_char_ptr(),
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: We own the only reference.
            unsafe { bindings::drm_dev_put(drm) };
            return Err(e);
        }

        // INVARIANT: allocated by `__drm_dev_alloc()` with `T`'s table under a
        // `T::ParentDevice`, the data is initialised and dropped by a drmm action, and the
        // device is not registered; `parent` is the parent it was allocated under.
        // SAFETY: We own the initial reference of the new device; `ARef` takes it over.
        let dev = unsafe { ARef::from_raw(NonNull::new_unchecked(container)) };
        Ok(Self { dev, parent })
    }

    /// # Examples
    ///
    /// The three lifetimes of a device, for a driver `Example` on a faux parent:
    ///
    /// ```
    /// # use kernel::{drm, faux, prelude::*, sync::aref::ARef};
    /// # kernel::drm_doctest_driver!(Example, data: u32);
    /// let parent = faux::Registration::new(c"drm-doctest-register", None)?;
    ///
    /// // Allocated under the bound parent; not visible to userspace, so not enterable.
    /// let unregistered = drm::UnregisteredDevice::<Example>::new(parent.as_ref(), Ok(7))?;
    /// assert!(unregistered.enter().is_none());
    /// let dev: ARef<drm::Device<Example>> = (&*unregistered).into();
    ///
    /// // Registered: a section can be entered.
    /// let registration = unregistered.register()?;
    /// {
    ///     let registered = dev.enter().ok_or(ENODEV)?;
    ///     assert_eq!(**registered, 7);
    ///     let _parent: &faux::Device = registered.parent();
    /// }
    ///
    /// // Dropping the registration unplugs the device; the data lives on with `dev`.
    /// drop(registration);
    /// assert!(dev.enter().is_none());
    /// assert_eq!(**dev, 7);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn register(self) -> Result<Devres<Registration<T>>>
    where
        T: Driver<Kms = drm::kms::NoKms>,
    {
        self.register_any()
    }

    /// [`register`](Self::register), for a device of any driver; KMS drivers reach it through
    /// [`kms::ModesetDevice`](drm::kms::ModesetDevice), after their KMS phase.
    pub(crate) fn register_any(self) -> Result<Devres<Registration<T>>> {
        let parent = self.parent;
        let reg = Registration::new(self)?;
        // If this fails, dropping `reg` unplugs the device again.
        Devres::new(parent.as_ref(), reg)
    }

    /// Registers the device with userspace for as long as the parent stays bound.
    ///
    /// For drivers whose DRM device lives exactly as long as the binding: no handle to keep.
    pub fn register_for_binding(self) -> Result<ARef<Device<T>>>
    where
        T: Driver<Kms = drm::kms::NoKms>,
    {
        self.register_for_binding_any()
    }

    /// [`register_for_binding`](Self::register_for_binding), for a device of any driver.
    pub(crate) fn register_for_binding_any(self) -> Result<ARef<Device<T>>> {
        let parent = self.parent;
        let reg = Registration::new(self)?;
        let dev = reg.dev.clone();
        crate::devres::register(parent.as_ref(), reg, GFP_KERNEL)?;
        Ok(dev)
    }
}

impl<T: Driver> Deref for UnregisteredDevice<'_, T> {
    type Target = Device<T>;

    #[inline]
    fn deref(&self) -> &Device<T> {
        &self.dev
    }
}

/// A DRM device registered with userspace.
///
/// Made only by [`UnregisteredDevice::register`] and
/// [`register_for_binding`](UnregisteredDevice::register_for_binding), which put it in the
/// parent's devres. Dropping it unplugs the device: it waits for the open `drm_dev_enter()`
/// sections, removes the nodes, and makes every later ioctl on open files fail with `-ENODEV`;
/// files stay open until their clients close them, and the device data lives until the last
/// reference is gone.
///
/// # Invariants
///
/// `dev` has been registered with `drm_dev_register()` and is not unplugged yet.
pub struct Registration<T: Driver> {
    dev: ARef<Device<T>>,
}

impl<T: Driver> Registration<T> {
    /// Registers `unreg` with userspace.
    fn new(unreg: UnregisteredDevice<'_, T>) -> Result<Self> {
        // SAFETY: The device is initialised and was never registered (invariant of
        // `UnregisteredDevice`, consumed here); flags are for the deprecated `load` and are 0.
        to_result(unsafe { bindings::drm_dev_register(unreg.dev.as_raw(), 0) })?;
        // INVARIANT: registered just above; only `drop` unplugs it.
        Ok(Self { dev: unreg.dev })
    }

    /// The registered device.
    #[inline]
    pub fn device(&self) -> &Device<T> {
        &self.dev
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The device is registered and not unplugged (type invariant); this is the only
        // unplug, as `Registration` is not `Clone`.
        unsafe { bindings::drm_dev_unplug(self.dev.as_raw()) };
        drm::kms::shutdown(&self.dev);
    }
}

/// A registered DRM device inside a `drm_dev_enter()` section; see [`Device::enter`] for what
/// a section may cover.
///
/// It derefs to the [`Device`].
///
/// # Invariants
///
/// `idx` is the index of a `drm_dev_enter()` section on `dev` that is still open, and `dev` is
/// registered and not unplugged until the section closes.
#[must_use = "the section ends when the guard is dropped"]
pub struct Section<'a, T: Driver> {
    dev: &'a Device<T>,
    idx: c_int,
    _not_send: NotThreadSafe,
}

impl<'a, T: Driver> Section<'a, T> {
    /// The device, for as long as the section is open.
    #[inline]
    pub fn device(&self) -> &'a Device<T> {
        self.dev
    }
}

impl<T: Driver> Deref for Section<'_, T> {
    type Target = Device<T>;

    #[inline]
    fn deref(&self) -> &Device<T> {
        self.dev
    }
}

impl<T: Driver> Drop for Section<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `idx` is the index of the open section (type invariant).
        unsafe { bindings::drm_dev_exit(self.idx) };
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_device)]
mod tests {
    use super::*;
    use crate::drm::tests::{
        Minor,
        MockFile,
        TestData,
        TestDevice,
        TestDriver,
        LIVE_DATA, //
    };
    use crate::{
        faux,
        sync::atomic::Relaxed, //
    };

    #[test]
    fn register_unplug_cycles() -> Result {
        let base = LIVE_DATA.load(Relaxed);
        let first = TestDevice::new(1)?;
        let index = first.primary_index();
        drop(first);
        for i in 0..100 {
            let t = TestDevice::new(i)?;
            // The minor of the previous cycle was freed with its device, so it is reused: a
            // leaked `drm_device` would keep its minor allocated.
            assert_eq!(t.primary_index(), index);
            assert!(t.dev.enter().is_some());
            assert_eq!(LIVE_DATA.load(Relaxed), base + 1);
        }
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn data_outlives_unplug_and_parent() -> Result {
        let base = LIVE_DATA.load(Relaxed);
        let mut t = TestDevice::new(7)?;
        let dev = t.dev.clone();
        drop(t.reg.take());
        assert!(dev.enter().is_none());
        drop(t.parent.take());
        drop(t);
        // Unplugged and without a parent, the device and its data live on while referenced.
        assert_eq!(dev.param, 7);
        assert_eq!(LIVE_DATA.load(Relaxed), base + 1);
        drop(dev);
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn parent_unbind_unplugs() -> Result {
        let mut t = TestDevice::new(1)?;
        // The registration lives in the parent's devres: unbinding the parent unplugs.
        drop(t.parent.take());
        assert!(t.dev.enter().is_none());
        Ok(())
    }

    #[test]
    fn never_registered_is_not_entered() -> Result {
        let base = LIVE_DATA.load(Relaxed);
        let parent = faux::Registration::new(c"rust-drm-kunit-unreg", None)?;
        let dev = UnregisteredDevice::<TestDriver>::new(parent.as_ref(), TestData::new(3))?;
        assert!(dev.enter().is_none());
        assert_eq!(dev.param, 3);
        drop(dev);
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn failed_data_init_frees_device() -> Result {
        let base = LIVE_DATA.load(Relaxed);
        let parent = faux::Registration::new(c"rust-drm-kunit-fail", None)?;
        // SAFETY: Returning an error without touching the slot is allowed.
        let fail = unsafe { pin_init::pin_init_from_closure(|_: *mut TestData| Err(ENOMEM)) };
        let ret = UnregisteredDevice::<TestDriver>::new(parent.as_ref(), fail);
        assert_eq!(ret.err(), Some(ENOMEM));
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn files_open_and_close() -> Result {
        let t = TestDevice::new(1)?;
        let a = MockFile::open(&t.dev, Minor::Primary)?;
        let b = MockFile::open(&t.dev, Minor::Render)?;
        assert_eq!(*t.dev.opened.lock(), 2);
        drop(a);
        drop(b);
        Ok(())
    }

    /// A platform device whose driver puts a DRM device on it, as Tyr does.
    #[test]
    fn registers_under_platform_parent() -> Result {
        use crate::drm::tests::{
            check_probe_cycle, this_module, PlatformParent, TestPlatformDevice, PLATFORM_NAME,
        };
        use crate::{driver, platform};

        check_probe_cycle(|bound| {
            let drv = KBox::pin_init(
                driver::Registration::<platform::Adapter<PlatformParent>>::new(
                    PLATFORM_NAME,
                    this_module(),
                ),
                GFP_KERNEL,
            )?;
            let pdev = TestPlatformDevice::register(PLATFORM_NAME)?;
            bound();
            // Dropped in reverse order: the device, then its driver.
            drop((pdev, drv));
            Ok(())
        })
    }

    /// An auxiliary device on a faux parent whose driver puts a DRM device on it, the way Nova's
    /// core half creates the auxiliary device its DRM half binds to.
    #[test]
    fn registers_under_auxiliary_parent() -> Result {
        use crate::drm::tests::{check_probe_cycle, this_module, AuxParent, AUX_NAME};
        use crate::{auxiliary, driver};

        check_probe_cycle(|bound| {
            let drv = KBox::pin_init(
                driver::Registration::<auxiliary::Adapter<AuxParent>>::new(
                    c"rust-drm-kunit-aux",
                    this_module(),
                ),
                GFP_KERNEL,
            )?;
            let parent = faux::Registration::new(c"rust-drm-kunit-aux-parent", None)?;
            let parent_dev: &faux::Device<Bound> = parent.as_ref();
            let adev = auxiliary::Registration::<crate::types::ForLt!(())>::new(
                parent_dev.as_ref(),
                AUX_NAME,
                0,
                <crate::LocalModule as crate::ModuleMetadata>::NAME,
                (),
            )?;
            bound();
            // Dropped in reverse order: the auxiliary device, its parent, the driver.
            drop(adev);
            drop(parent);
            drop(drv);
            Ok(())
        })
    }

    #[test]
    fn render_node_from_ioctl_flags() {
        assert!(crate::drm::Features::of::<TestDriver>().contains(crate::drm::Features::RENDER));
    }
}
