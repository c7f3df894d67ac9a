// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The DRM device and its lifetimes.
//!
//! A DRM device lives through three lifetimes, each a type here:
//!
//! * the `struct drm_device` refcount: [`Device`], held as [`ARef<Device<T>>`];
//! * allocated under a bound parent but not yet visible to userspace: [`UnregisteredDevice`],
//!   which borrows the bound parent, so it cannot outlive the binding it was made in;
//! * registered with userspace: [`Registration`], which lives inside the parent's devres. It
//!   unplugs the device when it is dropped or when the parent unbinds, whichever comes first;
//! * inside a `drm_dev_enter()` section of a registered device: [`Registered`], the proof that
//!   the device is registered and its parent bound, for as long as the guard lives.
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
        driver::Vtable,
        Driver, //
    },
    error::{
        from_err_ptr,
        to_result, //
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
    ffi::c_int,
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
/// * `dev` is a `struct drm_device` allocated by `__drm_dev_alloc()` with the driver table
///   `Vtable::<T>::DRIVER`, as part of an allocation holding this whole `Device<T>`;
/// * `data` is initialised, and is dropped by the `release` callback of that table, right
///   before the C core frees the allocation;
/// * the parent of `dev` (`dev->dev`) is embedded in a `T::ParentDevice`.
#[repr(C)]
#[pin_data]
pub struct Device<T: Driver> {
    dev: Opaque<bindings::drm_device>,
    #[pin]
    data: T::Data,
}

// SAFETY: `Device<T>` only hands out `&T::Data` and refcount operations, which the C core makes
// thread safe; `T::Data` is `Send + Sync`, so the device may be dropped and used on any thread.
unsafe impl<T: Driver> Send for Device<T> {}
// SAFETY: As above: every method takes `&self` and is thread safe.
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

    /// The parent device (not necessarily bound any more).
    pub fn parent(&self) -> &device::Device {
        // SAFETY: `self.dev` is initialised (type invariant); `drm_dev_init()` sets `dev` to the
        // parent and holds a reference to it until the `drm_device` is released, which cannot
        // happen while `&self` exists.
        unsafe { device::Device::from_raw((*self.as_raw()).dev) }
    }

    /// Enters a `drm_dev_enter()` section, if the device is registered and not unplugged.
    ///
    /// The returned guard proves, for its lifetime, that the device is registered with userspace
    /// and that its parent is bound; [`Registration`] waits for every such section before it
    /// completes the unplug. Sections may nest and may sleep, but keep them short: an unplug
    /// waits for them.
    ///
    /// Returns `None` once the device is unplugged, or when it was never registered.
    pub fn enter(&self) -> Option<Registered<'_, T>> {
        let mut idx: c_int = 0;
        // SAFETY: `self.dev` is an initialised `drm_device` (type invariant).
        if !unsafe { bindings::drm_dev_enter(self.as_raw(), &mut idx) } {
            return None;
        }
        // A device that was never registered is not unplugged either; `registered` tells them
        // apart. It is only written by `drm_dev_register()`/`drm_dev_unregister()`, and an
        // unregister of ours happens in `drm_dev_unplug()` after the SRCU grace period we are
        // now part of, so the value cannot go from true to false before `drm_dev_exit()`.
        // SAFETY: `self.dev` is initialised; a racy read of a `bool` that only the C core writes.
        let registered = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).registered) };
        if !registered {
            // SAFETY: `idx` comes from the `drm_dev_enter()` above.
            unsafe { bindings::drm_dev_exit(idx) };
            return None;
        }
        // INVARIANT: the section is entered and the device registered. Registration happens only
        // through `Registration`, which lives in the parent's devres and unplugs (waiting for
        // this section) before the parent's unbind completes; so the parent is bound until
        // `drm_dev_exit()`.
        Some(Registered {
            dev: self,
            idx,
            _not_send: NotThreadSafe,
        })
    }

    /// Whether the device has been unplugged (a snapshot: it may change right after).
    pub fn is_unplugged(&self) -> bool {
        self.enter().is_none()
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

/// The `release` callback of driver `T`: drops the device data before the C core frees it.
///
/// # Safety
///
/// Called by the C core only, with the `drm_device` of a `Device<T>` whose last reference was
/// just dropped.
pub(crate) unsafe extern "C" fn release_callback<T: Driver>(raw: *mut bindings::drm_device) {
    // CAST: `dev` is the first field of the `#[repr(C)]` `Device<T>`.
    let this = raw.cast::<Device<T>>();
    // SAFETY: The refcount is zero, so nothing else can reach the data, which is initialised
    // (type invariant); the C core frees the memory after this returns and never reads `data`.
    unsafe { ptr::drop_in_place(&raw mut (*this).data) };
}

/// A DRM device that is allocated but not yet registered with userspace.
///
/// It borrows the bound parent it was created under, so it cannot outlive that binding; it
/// derefs to the [`Device`], so the driver can finish setting the device up (e.g. KMS objects)
/// before [`register`](Self::register) makes it visible.
///
/// Dropping it without registering frees the device once its other references are gone.
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

        // SAFETY: `container` is a fresh, exclusively owned allocation of `Device<T>`'s size and
        // (checked above) alignment; `data` is initialised in place and pinned there until the
        // `release` callback drops it.
        if let Err(e) = unsafe { data.__init(&raw mut (*container).data) } {
            // SAFETY: `container` holds an initialised `drm_device`. The data is not
            // initialised, so switch to the table without `release` before dropping the only
            // reference: nothing then reads `data`.
            unsafe {
                let raw = (*container).as_raw();
                (*raw).driver = &Vtable::<T>::DRIVER_NO_DATA;
                bindings::drm_dev_put(raw);
            }
            return Err(e);
        }

        // INVARIANT: allocated by `__drm_dev_alloc()` with `T`'s table under a
        // `T::ParentDevice`, and the data is initialised.
        // SAFETY: We own the initial reference of the new device; `ARef` takes it over.
        let dev = unsafe { ARef::from_raw(NonNull::new_unchecked(container)) };
        Ok(Self { dev, parent })
    }

    /// Registers the device with userspace: its nodes appear in `/dev/dri`.
    ///
    /// The returned [`Registration`] lives in the parent's devres: dropping it, or unbinding the
    /// parent, unplugs the device; open files then get `-ENODEV` from every ioctl.
    ///
    /// # Examples
    ///
    /// The three lifetimes of a device, for a driver `Example` on a faux parent:
    ///
    /// ```
    /// # use kernel::{drm, faux, prelude::*, sync::aref::ARef};
    /// # struct Example;
    /// # struct ExampleFile;
    /// # impl drm::DriverFile for ExampleFile {
    /// #     type Driver = Example;
    /// #     fn open(_: &drm::Device<Example>, _: &drm::Client) -> impl PinInit<Self, Error> {
    /// #         Ok::<_, Error>(ExampleFile)
    /// #     }
    /// # }
    /// # #[vtable]
    /// # impl drm::Driver for Example {
    /// #     type Data = u32;
    /// #     type File = ExampleFile;
    /// #     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
    /// #     const INFO: drm::DriverInfo = drm::DriverInfo {
    /// #         major: 1, minor: 0, patchlevel: 0, name: c"example", desc: c"Example",
    /// #     };
    /// #     const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
    /// # }
    /// let parent = faux::Registration::new(c"drm-doctest-register", None)?;
    ///
    /// // Allocated under the bound parent; not visible to userspace, so not enterable.
    /// let unregistered = drm::UnregisteredDevice::<Example>::new(parent.as_ref(), Ok(7))?;
    /// assert!(unregistered.enter().is_none());
    /// let dev: ARef<drm::Device<Example>> = (&*unregistered).into();
    ///
    /// // Registered: a section can be entered, and it hands out the bound parent.
    /// let registration = unregistered.register()?;
    /// {
    ///     let registered = dev.enter().ok_or(ENODEV)?;
    ///     assert_eq!(**registered, 7);
    ///     let _parent: &faux::Device<kernel::device::Bound> = registered.parent();
    /// }
    ///
    /// // Dropping the registration unplugs the device; the data lives on with `dev`.
    /// drop(registration);
    /// assert!(dev.enter().is_none());
    /// assert_eq!(**dev, 7);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn register(self) -> Result<Devres<Registration<T>>> {
        // SAFETY: The device is initialised and was never registered (this consumes the only
        // `UnregisteredDevice`); flags are for the deprecated `load` callback and must be 0.
        to_result(unsafe { bindings::drm_dev_register(self.dev.as_raw(), 0) })?;
        let reg = Registration { dev: self.dev };
        // If this fails, dropping `reg` unplugs the device again.
        Devres::new(self.parent.as_ref(), reg)
    }

    /// Registers the device with userspace for as long as the parent stays bound.
    ///
    /// For drivers whose DRM device lives exactly as long as the binding: no handle to keep.
    pub fn register_for_binding(self) -> Result<ARef<Device<T>>> {
        let dev = self.dev.clone();
        let parent = self.parent;
        // SAFETY: As in `register()`.
        to_result(unsafe { bindings::drm_dev_register(self.dev.as_raw(), 0) })?;
        let reg = Registration { dev: self.dev };
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
/// Only exists inside the parent's devres (see [`UnregisteredDevice::register`]). Dropping it
/// unplugs the device: it waits for the ioctls running on it, removes its nodes, and makes
/// every later ioctl on open files fail with `-ENODEV`; files stay open until their clients
/// close them, and the device data lives until the last reference is gone.
///
/// # Invariants
///
/// `dev` has been registered with `drm_dev_register()` and is not unplugged yet.
pub struct Registration<T: Driver> {
    dev: ARef<Device<T>>,
}

impl<T: Driver> Registration<T> {
    /// The registered device.
    #[inline]
    pub fn device(&self) -> &ARef<Device<T>> {
        &self.dev
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: The device is registered and not unplugged (type invariant); this is the only
        // unplug, as `Registration` is not `Clone`.
        unsafe { bindings::drm_dev_unplug(self.dev.as_raw()) };
    }
}

/// A registered DRM device inside a `drm_dev_enter()` section; see [`Device::enter`].
///
/// Ioctl handlers receive one. It derefs to the [`Device`] and hands out the bound parent.
///
/// # Invariants
///
/// `idx` is the index of a `drm_dev_enter()` section on `dev` that is still open, `dev` is
/// registered, and its parent is bound until the section closes.
#[must_use = "the section ends when the guard is dropped"]
pub struct Registered<'a, T: Driver> {
    dev: &'a Device<T>,
    idx: c_int,
    _not_send: NotThreadSafe,
}

impl<'a, T: Driver> Registered<'a, T> {
    /// The parent device, bound for as long as the guard lives.
    pub fn parent(&self) -> &T::ParentDevice<Bound> {
        let dev = self.dev.parent();
        // CAST: `device::Device<Bound>` is a transparent wrapper of the same `struct device`.
        let bound = ptr::from_ref(dev).cast::<device::Device<Bound>>();
        // SAFETY:
        // * the parent is bound while the section is open (type invariant);
        // * it is embedded in a `T::ParentDevice` (invariant of `Device<T>`).
        unsafe { T::ParentDevice::<Bound>::from_device(&*bound) }
    }

    /// The device, for as long as the section is open.
    #[inline]
    pub fn device(&self) -> &'a Device<T> {
        self.dev
    }
}

impl<T: Driver> Deref for Registered<'_, T> {
    type Target = Device<T>;

    #[inline]
    fn deref(&self) -> &Device<T> {
        self.dev
    }
}

impl<T: Driver> Drop for Registered<'_, T> {
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
    use crate::drm::testing::{
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

    /// Registers the platform driver, adds a platform device it binds to (its probe creates,
    /// registers and calls a DRM device), then removes the device: the DRM device goes with it.
    #[test]
    fn registers_under_platform_parent() -> Result {
        use crate::drm::testing::{
            this_module, PlatformParent, PLATFORM_NAME, PROBED, PROBE_PARAM,
        };
        use crate::{driver, platform};

        let base = LIVE_DATA.load(Relaxed);
        PROBED.store(0, Relaxed);
        let drv = KBox::pin_init(
            driver::Registration::<platform::Adapter<PlatformParent>>::new(
                PLATFORM_NAME,
                this_module(),
            ),
            GFP_KERNEL,
        )?;
        let mut info: bindings::platform_device_info = pin_init::zeroed();
        info.name = PLATFORM_NAME.as_char_ptr();
        info.id = bindings::PLATFORM_DEVID_NONE;
        // SAFETY: `info` is a valid description; the name outlives the device ('static).
        let pdev = from_err_ptr(unsafe { bindings::platform_device_register_full(&info) })?;
        let probed = PROBED.load(Relaxed);
        let live = LIVE_DATA.load(Relaxed);
        // SAFETY: `pdev` was registered above and is unregistered once.
        unsafe { bindings::platform_device_unregister(pdev) };
        drop(drv);
        assert_eq!(probed, PROBE_PARAM as i64);
        assert_eq!(live, base + 1);
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    /// As above for an auxiliary device on a faux parent, the way Nova's core half creates the
    /// auxiliary device its DRM half binds to.
    #[test]
    fn registers_under_auxiliary_parent() -> Result {
        use crate::drm::testing::{this_module, AuxParent, AUX_NAME, PROBED, PROBE_PARAM};
        use crate::{auxiliary, driver};

        let base = LIVE_DATA.load(Relaxed);
        PROBED.store(0, Relaxed);
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
        let probed = PROBED.load(Relaxed);
        let live = LIVE_DATA.load(Relaxed);
        drop(adev);
        drop(parent);
        drop(drv);
        assert_eq!(probed, PROBE_PARAM as i64);
        assert_eq!(live, base + 1);
        assert_eq!(LIVE_DATA.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn render_node_from_ioctl_flags() {
        assert!(crate::drm::Features::of::<TestDriver>().contains(crate::drm::Features::RENDER));
    }
}
