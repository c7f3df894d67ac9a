// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The test driver of the core layer (device, file, ioctl), its files opened in the kernel,
//! and the bus drivers that put it on platform and auxiliary parents.
//!
//! The driver's ioctls have the shapes Nova uses (`GETPARAM`, `GEM_CREATE`, `GEM_INFO`, from
//! `include/uapi/drm/nova_drm.h`); the "buffers" are only sizes kept per file, since the point
//! is the dispatch, not GEM. Files are opened in the kernel with `mock_drm_getfile()` and
//! ioctls called through `drm_ioctl_kernel()`, the C core's entry point after the copy-in.
//!
//! The same driver is instantiated for three parents: a faux device ([`TestDriver`]), a
//! platform device (as Tyr's DRM device) and an auxiliary device (as Nova's DRM half), the
//! latter two probed by small bus drivers here.

use crate::{
    auxiliary::{
        self,
        Device as AuxDevice, //
    },
    bindings,
    device::{
        Core,
        DeviceContext, //
    },
    drm::{
        self,
        ioctl,
        Driver, //
    },
    error::from_err_ptr,
    faux::{
        self,
        Device as FauxDevice, //
    },
    new_mutex,
    platform::{
        self,
        Device as PlatformDevice, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    uapi,
};
use core::{
    ffi::c_void,
    marker::PhantomData, //
};

/// Live instances of [`TestData`], to check that device data is dropped exactly once.
pub(crate) static LIVE_DATA: Atomic<i64> = Atomic::new(0);

/// Counts itself in [`LIVE_DATA`] while it lives.
pub(crate) struct LiveToken(());

impl LiveToken {
    fn new() -> Self {
        LIVE_DATA.add(1, Relaxed);
        Self(())
    }
}

impl Drop for LiveToken {
    fn drop(&mut self) {
        LIVE_DATA.add(-1, Relaxed);
    }
}

/// Per-device data of the test driver.
#[pin_data]
pub(crate) struct TestData {
    /// Value of the `GETPARAM` parameter 1.
    pub(crate) param: u64,
    /// Files opened so far.
    #[pin]
    pub(crate) opened: Mutex<u64>,
    /// What `GETPARAM` parameter 2 drops: a test puts a device's registration here, to show
    /// that a handler may unplug a device (it runs outside `drm_dev_enter()` sections).
    #[pin]
    pub(crate) dropped_by_handler: Mutex<Option<KBox<dyn Send>>>,
    _live: LiveToken,
}

impl TestData {
    /// Data with parameter 1 set to `param`.
    pub(crate) fn new(param: u64) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            param,
            opened <- new_mutex!(0),
            dropped_by_handler <- new_mutex!(None),
            _live: LiveToken::new(),
        })
    }
}

/// Per-file data of a test driver: the sizes of the file's "buffers".
#[pin_data]
pub(crate) struct TestFile<D> {
    #[pin]
    sizes: Mutex<KVec<u64>>,
    _driver: PhantomData<fn() -> D>,
}

impl<D: Driver<File = Self, Data = TestData>> drm::DriverFile for TestFile<D> {
    type Driver = D;

    fn open(dev: &drm::Device<D>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        *dev.opened.lock() += 1;
        let (name, key) = sizes_lock_class();
        try_pin_init!(Self {
            sizes <- Mutex::new(KVec::new(), name, key),
            _driver: PhantomData,
        })
    }
}

/// The lock class of [`TestFile::sizes`], named in one non-generic place (see
/// `drm::gpuvm::vm::vm_lock_class`).
#[inline(never)]
fn sizes_lock_class() -> (&'static CStr, Pin<&'static crate::sync::LockClassKey>) {
    (c"drm::tests::TestFile::sizes", crate::static_lock_class!())
}

/// Defines a DRM test driver `$drv` for parents of type `$parent`.
macro_rules! test_drm_driver {
    ($drv:ident, $parent:ident, $name:literal) => {
        /// A DRM test driver.
        pub(crate) struct $drv;

        #[drm::ioctl::handlers]
        impl $drv {
            #[ioctl(DRM_IOCTL_NOVA_GETPARAM, RENDER_ALLOW)]
            fn getparam(
                dev: &drm::Device<Self>,
                arg: &mut uapi::drm_nova_getparam,
                _file: &drm::File<Self>,
            ) -> Result<u32> {
                arg.value = match arg.param {
                    1 => dev.param,
                    2 => {
                        let handed_over = dev.dropped_by_handler.lock().take();
                        u64::from(handed_over.is_some())
                    }
                    _ => return Err(EINVAL),
                };
                Ok(0)
            }

            #[ioctl(DRM_IOCTL_NOVA_GEM_CREATE, AUTH)]
            fn gem_create(
                _dev: &drm::Device<Self>,
                arg: &mut uapi::drm_nova_gem_create,
                file: &drm::File<Self>,
            ) -> Result<u32> {
                if arg.size == 0 || arg.pad != 0 {
                    return Err(EINVAL);
                }
                let mut sizes = file.sizes.lock();
                arg.handle = u32::try_from(sizes.len() + 1)?;
                sizes.push(arg.size, GFP_KERNEL)?;
                Ok(0)
            }

            #[ioctl(DRM_IOCTL_NOVA_GEM_INFO, RENDER_ALLOW)]
            fn gem_info(
                _dev: &drm::Device<Self>,
                arg: &mut uapi::drm_nova_gem_info,
                file: &drm::File<Self>,
            ) -> Result<u32> {
                let sizes = file.sizes.lock();
                let index = usize::try_from(arg.handle)?.checked_sub(1).ok_or(ENOENT)?;
                arg.size = *sizes.get(index).ok_or(ENOENT)?;
                Ok(0)
            }
        }

        #[vtable]
        impl drm::Driver for $drv {
            type Data = TestData;
            type File = TestFile<$drv>;
            type Object = drm::gem::NoGem;
            type Kms = drm::kms::NoKms;
            type ParentDevice<Ctx: DeviceContext> = $parent<Ctx>;

            const INFO: drm::DriverInfo = drm::DriverInfo {
                major: 1,
                minor: 2,
                patchlevel: 3,
                name: $name,
                desc: c"KUnit test driver of the Rust DRM layer",
            };

            const IOCTLS: &'static [ioctl::Desc<Self>] =
                drm::ioctl::table![$drv::getparam, $drv::gem_create, $drv::gem_info];
        }
    };
}

test_drm_driver!(TestDriver, FauxDevice, c"rust-drm-test");
test_drm_driver!(PlatformDrm, PlatformDevice, c"rust-drm-test-pdev");
test_drm_driver!(AuxDrm, AuxDevice, c"rust-drm-test-aux");

/// A DRM test driver with the ioctl of Tyr's shape: `DEV_QUERY` of
/// `include/uapi/drm/panthor_drm.h`, which answers the size of a query with a null `pointer`
/// and copies the answer to user memory otherwise, as `drivers/gpu/drm/tyr/file.rs` does. Its
/// answer to `DRM_PANTHOR_DEV_QUERY_GPU_INFO` is the device's parameter 1, a `u64`.
pub(crate) struct TyrShaped;

#[drm::ioctl::handlers]
impl TyrShaped {
    #[ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, RENDER_ALLOW)]
    fn dev_query(
        dev: &drm::Device<Self>,
        arg: &mut uapi::drm_panthor_dev_query,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        if arg.type_ != uapi::drm_panthor_dev_query_type_DRM_PANTHOR_DEV_QUERY_GPU_INFO {
            return Err(EINVAL);
        }
        let answer: u64 = dev.param;
        if arg.pointer == 0 {
            arg.size = core::mem::size_of_val(&answer) as u32;
            return Ok(0);
        }
        let ptr = UserPtr::from_addr(usize::try_from(arg.pointer)?);
        UserSlice::new(ptr, arg.size as usize)
            .writer()
            .write(&answer)?;
        Ok(0)
    }
}

#[vtable]
impl drm::Driver for TyrShaped {
    type Data = TestData;
    type File = TestFile<TyrShaped>;
    type Object = drm::gem::NoGem;
    type Kms = drm::kms::NoKms;
    type ParentDevice<Ctx: DeviceContext> = FauxDevice<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 0,
        patchlevel: 0,
        name: c"rust-drm-test-tyr",
        desc: c"KUnit test driver of the Rust DRM layer, with Tyr's ioctl",
    };

    const IOCTLS: &'static [ioctl::Desc<Self>] = drm::ioctl::table![TyrShaped::dev_query];
}

/// Which node a [`MockFile`] opens.
#[derive(Clone, Copy)]
pub(crate) enum Minor {
    Primary,
    Render,
}

/// A file opened in the kernel on a device of test driver `D`, closed on drop.
pub(crate) struct MockFile<D: Driver>(*mut bindings::file, PhantomData<D>);

impl<D: Driver> MockFile<D> {
    /// Opens `minor` of `dev`, as a client opening the node would.
    pub(crate) fn open(dev: &drm::Device<D>, minor: Minor) -> Result<Self> {
        // SAFETY: The device is live; its minors exist from allocation to release.
        let minor = unsafe {
            match minor {
                Minor::Primary => (*dev.as_raw()).primary,
                Minor::Render => (*dev.as_raw()).render,
            }
        };
        if minor.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `minor` is a live minor of the device.
        let file = unsafe { bindings::mock_drm_getfile(minor, bindings::O_RDWR) };
        Ok(Self(from_err_ptr(file)?, PhantomData))
    }

    /// The raw `struct file`.
    pub(crate) fn as_raw(&self) -> *mut bindings::file {
        self.0
    }

    /// The DRM file.
    pub(crate) fn file(&self) -> &drm::File<D> {
        // SAFETY: `private_data` of an open DRM file is its `drm_file`, open until `self` drops.
        unsafe { drm::File::from_raw((*self.0).private_data.cast()) }
    }

    /// Calls ioctl `index` of `D`'s table with `arg`, as `drm_ioctl()` would after copying the
    /// argument in.
    pub(crate) fn ioctl<A>(&self, index: usize, arg: &mut A) -> Result<i32> {
        let desc = D::IOCTLS.get(index).ok_or(EINVAL)?;
        if crate::ioctl::_IOC_SIZE(desc.cmd()) != core::mem::size_of::<A>() {
            return Err(EINVAL);
        }
        // SAFETY: `self.0` is an open DRM file of a `D` device; `arg` is an exclusive
        // buffer of the size the handler expects (checked above).
        let ret = unsafe {
            bindings::drm_ioctl_kernel(
                self.0,
                desc.func(),
                core::ptr::from_mut(arg).cast::<c_void>(),
                desc.flags(),
            )
        };
        let ret = i32::try_from(ret).map_err(|_| ERANGE)?;
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(ret)
        }
    }
}

impl<D: Driver> Drop for MockFile<D> {
    fn drop(&mut self) {
        // SAFETY: We own the file's only reference. `__fput_sync()` closes it now, rather than
        // from a task work that a KUnit kthread never runs.
        unsafe { bindings::__fput_sync(self.0) };
    }
}

/// A registered device of the test driver on its own faux parent.
pub(crate) struct TestDevice {
    pub(crate) reg: Option<crate::devres::Devres<drm::Registration<TestDriver>>>,
    pub(crate) dev: ARef<drm::Device<TestDriver>>,
    pub(crate) parent: Option<faux::Registration>,
}

impl TestDevice {
    /// Creates and registers a device with parameter 1 set to `param`.
    pub(crate) fn new(param: u64) -> Result<Self> {
        let parent = faux::Registration::new(c"rust-drm-kunit", None)?;
        let unreg =
            drm::UnregisteredDevice::<TestDriver>::new(parent.as_ref(), TestData::new(param))?;
        let dev = ARef::from(&*unreg);
        let reg = unreg.register()?;
        Ok(Self {
            reg: Some(reg),
            dev,
            parent: Some(parent),
        })
    }

    /// The index of the primary minor (`/dev/dri/cardN`).
    pub(crate) fn primary_index(&self) -> i32 {
        // SAFETY: The device is live and its primary minor exists until release.
        unsafe { (*(*self.dev.as_raw()).primary).index }
    }
}

/// The `GETPARAM` answer a bus driver below got from its DRM device in probe, or `-errno`.
pub(crate) static PROBED: Atomic<i64> = Atomic::new(0);

/// The parameter the bus drivers below give their DRM devices.
pub(crate) const PROBE_PARAM: u64 = 0x5eed;

/// In probe: creates a DRM device of `D` under `parent`, registers it for the binding, and calls
/// its `GETPARAM` from a file on the render node. Records the answer in [`PROBED`].
fn probe_drm<D: Driver<Data = TestData, Kms = drm::kms::NoKms>>(
    parent: &D::ParentDevice<crate::device::Bound>,
) -> Result<ARef<drm::Device<D>>> {
    let dev = drm::UnregisteredDevice::<D>::new(parent, TestData::new(PROBE_PARAM))?
        .register_for_binding()?;
    let file = MockFile::open(&dev, Minor::Render)?;
    let mut arg = uapi::drm_nova_getparam { param: 1, value: 0 };
    let answer = match file.ioctl(0, &mut arg) {
        Ok(_) => i64::try_from(arg.value)?,
        Err(e) => e.to_errno().into(),
    };
    PROBED.store(answer, Relaxed);
    Ok(dev)
}

/// A platform driver whose probe puts a DRM device of [`PlatformDrm`] on the platform device.
pub(crate) struct PlatformParent;

/// The platform device (and driver) name of [`PlatformParent`].
pub(crate) const PLATFORM_NAME: &CStr = c"rust-drm-kunit-pdev";

impl platform::Driver for PlatformParent {
    type IdInfo = ();
    type Data<'bound> = ARef<drm::Device<PlatformDrm>>;

    fn probe<'bound>(
        pdev: &'bound PlatformDevice<Core<'_>>,
        _info: Option<&'bound ()>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        probe_drm::<PlatformDrm>(pdev)
    }
}

/// The auxiliary device name of [`AuxParent`]; it matches `rust_kernel.drm_kunit`.
pub(crate) const AUX_NAME: &CStr = c"drm_kunit";

/// The match table of [`AuxParent`]. Not `auxiliary_device_table!`: this is built-in test code,
/// not a module, so there is no modalias to export.
static AUX_ID_TABLE: crate::device_id::IdArray<auxiliary::DeviceId, (), 1> =
    crate::device_id::IdArray::new([(
        auxiliary::DeviceId::new(
            <crate::LocalModule as crate::ModuleMetadata>::NAME,
            AUX_NAME,
        ),
        &(),
    )]);

/// An auxiliary driver whose probe puts a DRM device of [`AuxDrm`] on the auxiliary device, as
/// Nova's DRM half does on the device its core half creates.
pub(crate) struct AuxParent;

impl auxiliary::Driver for AuxParent {
    type IdInfo = ();
    type Data<'bound> = ARef<drm::Device<AuxDrm>>;

    const ID_TABLE: auxiliary::IdTable<Self::IdInfo> = &AUX_ID_TABLE;

    fn probe<'bound>(
        adev: &'bound AuxDevice<Core<'_>>,
        _info: &'bound (),
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        probe_drm::<AuxDrm>(adev)
    }
}

/// The module the test bus drivers register with (the `kernel` crate's own).
pub(crate) fn this_module() -> &'static crate::ThisModule {
    crate::module::this_module::<crate::LocalModule>()
}

/// Runs `cycle`, which registers a bus driver, adds a device it binds to (whose probe
/// creates, registers and calls a DRM device), calls its argument while bound, and removes
/// both: the probe's `GETPARAM` got its answer, and the DRM device's data lived while bound
/// and went with the device.
pub(crate) fn check_probe_cycle(cycle: impl FnOnce(&mut dyn FnMut()) -> Result) -> Result {
    let base = LIVE_DATA.load(Relaxed);
    PROBED.store(0, Relaxed);
    let (mut probed, mut live) = (0, 0);
    cycle(&mut || {
        probed = PROBED.load(Relaxed);
        live = LIVE_DATA.load(Relaxed);
    })?;
    assert_eq!(probed, PROBE_PARAM as i64);
    assert_eq!(live, base + 1);
    assert_eq!(LIVE_DATA.load(Relaxed), base);
    Ok(())
}

/// A platform device registered by a test, unregistered on drop.
pub(crate) struct TestPlatformDevice(*mut bindings::platform_device);

impl TestPlatformDevice {
    /// Registers a platform device named `name`, with no resources.
    pub(crate) fn register(name: &'static CStr) -> Result<Self> {
        let mut info: bindings::platform_device_info = pin_init::zeroed();
        info.name = name.as_char_ptr();
        info.id = bindings::PLATFORM_DEVID_NONE;
        // SAFETY: `info` is a valid description; the name outlives the device ('static).
        let pdev = from_err_ptr(unsafe { bindings::platform_device_register_full(&info) })?;
        Ok(Self(pdev))
    }
}

impl Drop for TestPlatformDevice {
    fn drop(&mut self) {
        // SAFETY: The device was registered by `register` and is unregistered once, here.
        unsafe { bindings::platform_device_unregister(self.0) };
    }
}
