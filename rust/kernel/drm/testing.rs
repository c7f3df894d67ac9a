// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A DRM driver and helpers for the KUnit tests of the DRM layer.
//!
//! The driver's ioctls have the shapes Nova uses (`GETPARAM`, `GEM_CREATE`, `GEM_INFO`, from
//! `include/uapi/drm/nova_drm.h`); the "buffers" are only sizes kept per file, since the point
//! is the dispatch, not GEM. Files are opened in the kernel with `mock_drm_getfile()` and
//! ioctls called through `drm_ioctl_kernel()`, the C core's entry point after the copy-in.

use crate::{
    bindings,
    device::DeviceContext,
    drm::{
        self,
        ioctl,
        Driver, //
    },
    error::from_err_ptr,
    faux, new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
    uapi,
};
use core::ffi::c_void;

/// Live instances of [`TestData`], to check that device data is dropped exactly once.
pub(crate) static LIVE_DATA: Atomic<i64> = Atomic::new(0);

/// The test driver.
pub(crate) struct TestDriver;

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
    _live: LiveToken,
}

impl TestData {
    /// Data with parameter 1 set to `param`.
    pub(crate) fn new(param: u64) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            param,
            opened <- new_mutex!(0),
            _live: LiveToken::new(),
        })
    }
}

/// Per-file data of the test driver: the sizes of the file's "buffers".
#[pin_data]
pub(crate) struct TestFile {
    #[pin]
    sizes: Mutex<KVec<u64>>,
}

impl drm::DriverFile for TestFile {
    type Driver = TestDriver;

    fn open(dev: &drm::Device<TestDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
        *dev.opened.lock() += 1;
        try_pin_init!(Self {
            sizes <- new_mutex!(KVec::new()),
        })
    }
}

impl TestDriver {
    fn getparam(
        dev: &drm::Registered<'_, Self>,
        arg: &mut uapi::drm_nova_getparam,
        _file: &drm::File<Self>,
    ) -> Result<u32> {
        arg.value = match arg.param {
            1 => dev.param,
            _ => return Err(EINVAL),
        };
        Ok(0)
    }

    fn gem_create(
        _dev: &drm::Registered<'_, Self>,
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

    fn gem_info(
        _dev: &drm::Registered<'_, Self>,
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
impl drm::Driver for TestDriver {
    type Data = TestData;
    type File = TestFile;
    type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

    const INFO: drm::DriverInfo = drm::DriverInfo {
        major: 1,
        minor: 2,
        patchlevel: 3,
        name: c"rust-drm-test",
        desc: c"KUnit test driver of the Rust DRM layer",
    };

    const IOCTLS: &'static [ioctl::Desc<Self>] = crate::drm_ioctls! { TestDriver:
        (IOWR, DRM_IOCTL_NOVA_GETPARAM, drm_nova_getparam, TestDriver::getparam, RENDER_ALLOW),
        (IOWR, DRM_IOCTL_NOVA_GEM_CREATE, drm_nova_gem_create, TestDriver::gem_create, AUTH),
        (IOWR, DRM_IOCTL_NOVA_GEM_INFO, drm_nova_gem_info, TestDriver::gem_info, RENDER_ALLOW),
    };
}

/// Which node a [`TestFile`] opens.
#[derive(Clone, Copy)]
pub(crate) enum Minor {
    Primary,
    Render,
}

/// A file opened in the kernel on a device of the test driver, closed on drop.
pub(crate) struct MockFile(*mut bindings::file);

impl MockFile {
    /// Opens `minor` of `dev`, as a client opening the node would.
    pub(crate) fn open(dev: &drm::Device<TestDriver>, minor: Minor) -> Result<Self> {
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
        Ok(Self(from_err_ptr(file)?))
    }

    /// The raw `struct file`.
    pub(crate) fn as_raw(&self) -> *mut bindings::file {
        self.0
    }

    /// Calls ioctl `index` of the test driver's table with `arg`, as `drm_ioctl()` would after
    /// copying the argument in.
    pub(crate) fn ioctl<A>(&self, index: usize, arg: &mut A) -> Result<i32> {
        let desc = TestDriver::IOCTLS.get(index).ok_or(EINVAL)?;
        if ioctl::size(desc.cmd()) != core::mem::size_of::<A>() {
            return Err(EINVAL);
        }
        // SAFETY: `self.0` is an open DRM file of a `TestDriver` device; `arg` is an exclusive
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

impl Drop for MockFile {
    fn drop(&mut self) {
        // SAFETY: We own the file's only reference. `__fput_sync()` closes it now, rather than
        // from a task work that a KUnit kthread never runs.
        unsafe { bindings::__fput_sync(self.0) };
    }
}

/// A registered device of the test driver on its own faux parent.
pub(crate) struct TestDevice {
    pub(crate) reg: Option<crate::devres::Devres<drm::Registration<TestDriver>>>,
    pub(crate) dev: crate::sync::aref::ARef<drm::Device<TestDriver>>,
    pub(crate) parent: Option<faux::Registration>,
}

impl TestDevice {
    /// Creates and registers a device with parameter 1 set to `param`.
    pub(crate) fn new(param: u64) -> Result<Self> {
        let parent = faux::Registration::new(c"rust-drm-kunit", None)?;
        let unreg =
            drm::UnregisteredDevice::<TestDriver>::new(parent.as_ref(), TestData::new(param))?;
        let dev = crate::sync::aref::ARef::from(&*unreg);
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
