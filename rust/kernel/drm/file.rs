// SPDX-License-Identifier: GPL-2.0 OR MIT

//! DRM files: one per client open of a device node.
//!
//! C header: [`include/drm/drm_file.h`](srctree/include/drm/drm_file.h)

use crate::{
    alloc::KBox,
    bindings,
    drm::{
        Device,
        Driver, //
    },
    error::from_result,
    ffi::c_int,
    prelude::*,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ops::Deref,
    pin::Pin,
    ptr, //
};

/// The per-open data of a driver.
///
/// Created by [`open`](Self::open) when a client opens one of the device's nodes, dropped when
/// the client closes its last reference to the file. The drop can happen after the device was
/// unplugged: it must not need the parent to be bound.
///
/// # Examples
///
/// See [`Driver`](crate::drm::Driver#examples): its `ExampleFile` counts the opens of its
/// device. Ioctl handlers reach the data through [`File`], which derefs to it.
pub trait DriverFile: Send + Sync + Sized + 'static {
    /// The driver whose files these are.
    type Driver: Driver<File = Self>;

    /// Creates the data of a new file of `dev`, opened by `client`.
    ///
    /// Called before the C core decides master status, so `client.is_master()` is not yet
    /// meaningful here.
    fn open(dev: &Device<Self::Driver>, client: &Client) -> impl PinInit<Self, Error>;
}

/// The kind of device node a client opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Node {
    /// `/dev/dri/cardN`: the primary node (mode setting, authentication, master).
    Primary,
    /// `/dev/dri/renderDN`: the render node (only ioctls flagged `RENDER_ALLOW`).
    Render,
    /// `/dev/accel/accelN`: a compute accelerator node.
    Accel,
}

/// What the C core knows about the client of a file.
///
/// # Invariants
///
/// The wrapped `struct drm_file` is live for the lifetime of the reference.
#[repr(transparent)]
pub struct Client(Opaque<bindings::drm_file>);

impl Client {
    /// # Safety
    ///
    /// `ptr` must be a live `struct drm_file` for `'a`.
    #[inline]
    unsafe fn from_raw<'a>(ptr: *const bindings::drm_file) -> &'a Self {
        // SAFETY: `Client` is a transparent wrapper of `drm_file`, live by the safety
        // requirements.
        unsafe { &*ptr.cast() }
    }

    /// The raw `struct drm_file`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_file {
        self.0.get()
    }

    /// The client id: unique among the clients since boot, never zero (the id the C core prints
    /// as `drm-client-id` in fdinfo, for drivers that print fdinfo).
    #[inline]
    pub fn id(&self) -> u64 {
        // SAFETY: `client_id` is set before the driver's `open` and never changes afterwards.
        unsafe { (*self.as_raw()).client_id }
    }

    /// The kind of node the client opened.
    pub fn node(&self) -> Node {
        // SAFETY: `minor` is set at open, never changes, and the minor outlives the file.
        let ty = unsafe { (*(*self.as_raw()).minor).type_ };
        // CAST: `enum drm_minor_type` values are small and non-negative.
        match ty as u32 {
            bindings::drm_minor_type_DRM_MINOR_RENDER => Node::Render,
            bindings::drm_minor_type_DRM_MINOR_ACCEL => Node::Accel,
            _ => Node::Primary,
        }
    }

    /// Whether the client is authenticated (render clients never need to be).
    pub fn is_authenticated(&self) -> bool {
        // SAFETY: A racy read of a `bool` written under `master_mutex`, as `drm_ioctl_permit()`
        // reads it too; the answer may be stale right after.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).authenticated) }
    }

    /// Whether the client is the current DRM master of the device.
    pub fn is_master(&self) -> bool {
        // SAFETY: The file is live; `drm_is_current_master()` takes the locks it needs.
        unsafe { bindings::drm_is_current_master(self.as_raw()) }
    }
}

/// A DRM file of driver `T`: the client's side of an open node, with the driver's data.
///
/// Derefs to the driver's [`DriverFile`] data; [`client`](Self::client) tells about the client.
///
/// # Examples
///
/// An ioctl handler that keeps a counter per file and tells render clients apart:
///
/// ```
/// use kernel::{drm, faux, new_mutex, prelude::*, sync::Mutex, uapi};
///
/// struct Counter;
///
/// #[pin_data]
/// struct CounterFile {
///     #[pin]
///     count: Mutex<u64>,
/// }
///
/// impl drm::DriverFile for CounterFile {
///     type Driver = Counter;
///
///     fn open(_dev: &drm::Device<Counter>, _client: &drm::Client) -> impl PinInit<Self, Error> {
///         try_pin_init!(CounterFile { count <- new_mutex!(0) })
///     }
/// }
///
/// #[drm::ioctl::handlers]
/// impl Counter {
///     #[ioctl(DRM_IOCTL_NOVA_GETPARAM, RENDER_ALLOW)]
///     fn getparam(
///         _dev: &drm::Device<Self>,
///         arg: &mut uapi::drm_nova_getparam,
///         file: &drm::File<Self>,
///     ) -> Result<u32> {
///         if file.client().node() != drm::Node::Render {
///             return Err(EACCES);
///         }
///         // `file` derefs to the `CounterFile` of this client only.
///         let mut count = file.count.lock();
///         *count += 1;
///         arg.value = *count;
///         Ok(0)
///     }
/// }
///
/// #[vtable]
/// impl drm::Driver for Counter {
///     type Data = ();
///     type File = CounterFile;
///     type Object = drm::gem::NoGem;
///     type Kms = drm::kms::NoKms;
///     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
///     const INFO: drm::DriverInfo = drm::DriverInfo {
///         major: 1, minor: 0, patchlevel: 0, name: c"counter", desc: c"Counts per file",
///     };
///     const IOCTLS: &'static [drm::ioctl::Desc<Self>] = drm::ioctl::table![Counter::getparam];
/// }
///
/// let parent = faux::Registration::new(c"drm-doctest-file", None)?;
/// let dev = drm::UnregisteredDevice::<Counter>::new(parent.as_ref(), Ok(()))?;
/// let _registration = dev.register()?;
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// The wrapped `struct drm_file` is an open file of a `Device<T>`, whose `driver_priv` holds
/// the pinned `KBox<T::File>` that `open_callback` set up; the file stays open (so
/// `postclose_callback` does not run) for as long as a `&File<T>` exists: references are only
/// made for the duration of a call from the C core on the open file (an ioctl), during which
/// the C core holds the `struct file`.
#[repr(transparent)]
pub struct File<T: Driver>(Opaque<bindings::drm_file>, PhantomData<T>);

impl<T: Driver> File<T> {
    /// # Safety
    ///
    /// `ptr` must be a live, opened `struct drm_file` of a `Device<T>` for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::drm_file) -> &'a Self {
        // SAFETY: `File<T>` is `#[repr(transparent)]` over the `drm_file` (the `PhantomData` has
        // no size), which is live for `'a` by the safety requirements.
        unsafe { &*ptr.cast() }
    }

    /// The client of the file.
    #[inline]
    pub fn client(&self) -> &Client {
        // SAFETY: The file is live (type invariant).
        unsafe { Client::from_raw(self.0.get()) }
    }

    /// The driver's data of the file.
    #[inline]
    pub fn data(&self) -> Pin<&T::File> {
        // SAFETY: `driver_priv` holds the pinned `KBox<T::File>` of `open_callback`, which
        // `postclose_callback` frees only after the file is closed, and the file is open while
        // `&self` exists (type invariant).
        unsafe { Pin::new_unchecked(&*(*self.0.get()).driver_priv.cast::<T::File>()) }
    }
}

impl<T: Driver> Deref for File<T> {
    type Target = T::File;

    #[inline]
    fn deref(&self) -> &T::File {
        self.data().get_ref()
    }
}

/// The `open` callback of driver `T`: creates the file's data.
///
/// # Safety
///
/// Called by the C core only, with a device of driver `T` and a new file of it.
pub(crate) unsafe extern "C" fn open_callback<T: Driver>(
    raw_dev: *mut bindings::drm_device,
    raw_file: *mut bindings::drm_file,
) -> c_int {
    from_result(|| {
        // SAFETY: The device is of driver `T`, since `T`'s table holds this callback, and the
        // C core holds a reference to it during open.
        let dev = unsafe { Device::<T>::from_raw(raw_dev) };
        // SAFETY: `raw_file` is live during open.
        let client = unsafe { Client::from_raw(raw_file) };
        let data = KBox::pin_init(T::File::open(dev, client), GFP_KERNEL)?;
        // INVARIANT: `driver_priv` now holds the pinned data; `postclose_callback` frees it.
        // SAFETY: `drm_file_alloc()` calls `open` before `drm_open_helper()` adds the file to
        // the device's file list or installs it in a `struct file`: no other thread sees it.
        unsafe { (*raw_file).driver_priv = KBox::into_raw(Pin::into_inner_unchecked(data)).cast() };
        Ok(0)
    })
}

/// The `postclose` callback of driver `T`: drops the file's data.
///
/// # Safety
///
/// Called by the C core only, once per file that `open_callback::<T>` succeeded for.
pub(crate) unsafe extern "C" fn postclose_callback<T: Driver>(
    _raw_dev: *mut bindings::drm_device,
    raw_file: *mut bindings::drm_file,
) {
    // SAFETY: `driver_priv` holds the `KBox<T::File>` of `open_callback::<T>`, and the file is
    // being freed: no one else reaches it any more.
    let data = unsafe { KBox::from_raw((*raw_file).driver_priv.cast::<T::File>()) };
    drop(data);
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_file)]
mod tests {
    use super::*;
    use crate::drm::tests::{
        Minor,
        MockFile,
        TestDevice,
        TestDriver, //
    };

    /// The `Client` of a file opened in the kernel.
    fn client(file: &MockFile<TestDriver>) -> &Client {
        // SAFETY: `private_data` of an open DRM file is its live `drm_file`.
        unsafe { Client::from_raw((*file.as_raw()).private_data.cast()) }
    }

    #[test]
    fn client_facts() -> Result {
        let t = TestDevice::new(0)?;
        let primary = MockFile::open(&t.dev, Minor::Primary)?;
        let render = MockFile::open(&t.dev, Minor::Render)?;
        let (p, r) = (client(&primary), client(&render));
        assert_eq!(p.node(), Node::Primary);
        assert_eq!(r.node(), Node::Render);
        assert!(p.id() != 0 && r.id() != 0 && p.id() != r.id());
        // KUnit runs with CAP_SYS_ADMIN, which makes a new client authenticated; files opened
        // without `drm_open()` never become master.
        assert!(p.is_authenticated());
        assert!(!p.is_master());
        assert!(!r.is_master());
        Ok(())
    }
}
