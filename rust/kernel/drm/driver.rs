// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The DRM driver: what a driver declares, and the C `struct drm_driver` built from it.
//!
//! C header: [`include/drm/drm_drv.h`](srctree/include/drm/drm_drv.h)

use crate::{
    bindings,
    device,
    drm::{
        self,
        file::DriverFile,
        ioctl, //
    },
    prelude::*, //
};
use core::marker::PhantomData;

/// Version and identity of a DRM driver, as `DRM_IOCTL_VERSION` reports them.
///
/// # Examples
///
/// ```
/// use kernel::drm::DriverInfo;
///
/// const INFO: DriverInfo = DriverInfo {
///     major: 1,
///     minor: 0,
///     patchlevel: 0,
///     name: c"example",
///     desc: c"An example driver",
/// };
/// assert_eq!(INFO.name.to_bytes(), b"example");
/// ```
pub struct DriverInfo {
    /// Major version: bumped on incompatible uapi changes.
    pub major: i32,
    /// Minor version: bumped when uapi is added.
    pub minor: i32,
    /// Patch level.
    pub patchlevel: i32,
    /// Driver name: short, lowercase; userspace (libdrm, IGT) selects drivers by it.
    pub name: &'static CStr,
    /// One-line description of the driver.
    pub desc: &'static CStr,
}

/// The feature bits of a driver (`enum drm_driver_feature`).
///
/// Drivers do not set them by hand: [`Features::of`] derives them from what the driver
/// implements, so the bits cannot disagree with the callbacks and ioctls the C core sees.
///
/// # Examples
///
/// ```
/// use kernel::drm::Features;
///
/// let f = Features::RENDER.union(Features::SYNCOBJ);
/// assert!(f.contains(Features::RENDER));
/// assert!(!f.contains(Features::MODESET));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Features(u32);

impl Features {
    /// No feature.
    pub const NONE: Self = Self(0);
    /// GEM buffer objects (`DRIVER_GEM`).
    pub const GEM: Self = Self(bindings::drm_driver_feature_DRIVER_GEM);
    /// Kernel mode setting (`DRIVER_MODESET`).
    pub const MODESET: Self = Self(bindings::drm_driver_feature_DRIVER_MODESET);
    /// A render node, `/dev/dri/renderD*` (`DRIVER_RENDER`).
    pub const RENDER: Self = Self(bindings::drm_driver_feature_DRIVER_RENDER);
    /// Atomic mode setting (`DRIVER_ATOMIC`).
    pub const ATOMIC: Self = Self(bindings::drm_driver_feature_DRIVER_ATOMIC);
    /// DRM sync objects (`DRIVER_SYNCOBJ`).
    pub const SYNCOBJ: Self = Self(bindings::drm_driver_feature_DRIVER_SYNCOBJ);
    /// Timeline sync objects (`DRIVER_SYNCOBJ_TIMELINE`).
    pub const SYNCOBJ_TIMELINE: Self = Self(bindings::drm_driver_feature_DRIVER_SYNCOBJ_TIMELINE);

    /// Both sets of features.
    #[inline]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every feature of `other` is in `self`.
    #[inline]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The C bit mask.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The features of driver `T`, derived from what it implements; the one place the C
    /// driver table's `driver_features` come from:
    ///
    /// * `GEM` when its [`Driver::Object`] is a GEM object type (not [`NoGem`]);
    /// * `RENDER` when one of its ioctls may be called on a render node ([`ioctl::RENDER_ALLOW`]):
    ///   a render node is only useful to a driver that serves render clients;
    /// * `MODESET` and `ATOMIC` when its [`Driver::Kms`] is a display (not [`NoKms`]).
    ///
    /// * `SYNCOBJ` (and `SYNCOBJ_TIMELINE`) when its [`Driver::SYNCOBJ`] says it takes sync
    ///   objects (timelines).
    ///
    /// [`NoGem`]: drm::gem::NoGem
    /// [`NoKms`]: drm::kms::NoKms
    pub const fn of<T: Driver>() -> Self {
        let mut f = Self::NONE;
        if drm::gem::has_gem::<T>() {
            f = f.union(Self::GEM);
        }
        if ioctl::any_render_allowed(T::IOCTLS) {
            f = f.union(Self::RENDER);
        }
        if drm::kms::has_kms::<T>() {
            f = f.union(Self::MODESET).union(Self::ATOMIC);
        }
        match T::SYNCOBJ {
            drm::syncobj::Support::None => {}
            drm::syncobj::Support::Binary => f = f.union(Self::SYNCOBJ),
            drm::syncobj::Support::Timeline => {
                f = f.union(Self::SYNCOBJ).union(Self::SYNCOBJ_TIMELINE)
            }
        }
        f
    }
}

/// A DRM driver.
///
/// The C `struct drm_driver` of a driver is a constant built from this trait at compile time;
/// nothing of it is set at run time.
///
/// # Examples
///
/// A driver with per-device and per-file data and no ioctls:
///
/// ```
/// use kernel::{drm, faux, prelude::*, sync::Mutex};
///
/// struct Example;
///
/// #[pin_data]
/// struct ExampleData {
///     #[pin]
///     opened: Mutex<u32>,
/// }
///
/// struct ExampleFile;
///
/// impl drm::DriverFile for ExampleFile {
///     type Driver = Example;
///
///     fn open(dev: &drm::Device<Example>, _client: &drm::Client) -> impl PinInit<Self, Error> {
///         // Counted once the file is sure to open.
///         Ok::<_, Error>(ExampleFile).pin_chain(|_| {
///             *dev.opened.lock() += 1;
///             Ok(())
///         })
///     }
/// }
///
/// #[vtable]
/// impl drm::Driver for Example {
///     type Data = ExampleData;
///     type File = ExampleFile;
///     type Object = drm::gem::NoGem;
///     type Kms = drm::kms::NoKms;
///     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
///
///     const INFO: drm::DriverInfo = drm::DriverInfo {
///         major: 1,
///         minor: 0,
///         patchlevel: 0,
///         name: c"example",
///         desc: c"Example driver",
///     };
///     const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
/// }
///
/// let parent = faux::Registration::new(c"drm-doctest-driver", None)?;
/// let dev = drm::UnregisteredDevice::<Example>::new(
///     parent.as_ref(),
///     try_pin_init!(ExampleData { opened <- kernel::new_mutex!(0) }),
/// )?;
/// assert_eq!(*dev.opened.lock(), 0);
/// assert!(!drm::Features::of::<Example>().contains(drm::Features::RENDER));
/// # Ok::<(), Error>(())
/// ```
#[vtable]
pub trait Driver: Sized + Send + Sync + 'static {
    /// Per-device data, embedded in the [`drm::Device`] and pinned with it.
    type Data: Send + Sync;

    /// Per-open-file data, created when a client opens a node and dropped when it closes it.
    type File: DriverFile<Driver = Self>;

    /// The driver's GEM objects: [`gem::shmem::Object<D>`](drm::gem::shmem::Object) with the
    /// driver's per-object data `D`, [`gem::plain::Object<D>`](drm::gem::plain::Object) for
    /// buffers whose memory the driver manages itself, or [`gem::NoGem`](drm::gem::NoGem) for a
    /// driver without buffers. It decides the `GEM` feature, dumb buffers, PRIME and `mmap()` of
    /// the nodes.
    type Object: drm::gem::ObjectType<Self>;

    /// The driver's display: the driver type itself when it implements
    /// [`kms::Kms`](drm::kms::Kms), or [`kms::NoKms`](drm::kms::NoKms) for a driver without one.
    /// It decides the `MODESET` and `ATOMIC` features and how the device is registered.
    type Kms: drm::kms::Kms<Self>;

    /// The bus device type of the parent (e.g. `faux::Device`, `platform::Device`,
    /// `auxiliary::Device`), returned by [`drm::Device::parent`].
    type ParentDevice<Ctx: device::DeviceContext>: device::AsBusDevice<Ctx>;

    /// Name, description and version.
    const INFO: DriverInfo;

    /// The driver's ioctls: a [`drm::ioctl::table!`](ioctl::table) of its handlers.
    const IOCTLS: &'static [ioctl::Desc<Self>];

    /// The sync objects its ioctls take ([`drm::syncobj`]): they decide the `SYNCOBJ` and
    /// `SYNCOBJ_TIMELINE` features, and [`SyncObj::lookup`](drm::syncobj::SyncObj::lookup)
    /// does not build for a driver with [`Support::None`](drm::syncobj::Support::None).
    const SYNCOBJ: drm::syncobj::Support = drm::syncobj::Support::None;
}

/// The C tables of driver `T`.
pub(crate) struct Vtable<T: Driver>(PhantomData<T>);

impl<T: Driver> Vtable<T> {
    /// The file operations of every node of the driver: `DRM_GEM_FOPS`, where `mmap` and
    /// `get_unmapped_area` are only set for GEM drivers.
    const FOPS: bindings::file_operations = {
        let mut fops: bindings::file_operations = pin_init::zeroed();
        fops.owner = crate::module::this_module::<T::OwnerModule>().as_ptr();
        fops.open = Some(bindings::drm_open);
        fops.release = Some(bindings::drm_release);
        fops.unlocked_ioctl = Some(bindings::drm_ioctl);
        #[cfg(CONFIG_COMPAT)]
        {
            fops.compat_ioctl = Some(bindings::drm_compat_ioctl);
        }
        fops.poll = Some(bindings::drm_poll);
        fops.read = Some(bindings::drm_read);
        fops.llseek = Some(bindings::noop_llseek);
        fops.fop_flags = bindings::FOP_UNSIGNED_OFFSET;
        drm::gem::fill_fops::<T>(&mut fops);
        fops
    };

    /// The driver table. There is no `release`: the device data is dropped by a drmm action.
    pub(crate) const DRIVER: bindings::drm_driver = {
        // Evaluated at compile time: a longer table cannot be expressed in driver ioctl numbers.
        assert!(
            T::IOCTLS.len() <= (bindings::DRM_COMMAND_END - bindings::DRM_COMMAND_BASE) as usize,
            "a DRM driver has at most DRM_COMMAND_END - DRM_COMMAND_BASE ioctls"
        );

        let mut drv: bindings::drm_driver = pin_init::zeroed();
        drv.open = Some(drm::file::open_callback::<T>);
        drv.postclose = Some(drm::file::postclose_callback::<T>);
        drv.major = T::INFO.major;
        drv.minor = T::INFO.minor;
        drv.patchlevel = T::INFO.patchlevel;
        drv.name = crate::str::as_char_ptr_in_const_context(T::INFO.name).cast_mut();
        drv.desc = crate::str::as_char_ptr_in_const_context(T::INFO.desc).cast_mut();
        drv.driver_features = Features::of::<T>().bits();
        drm::gem::fill_driver::<T>(&mut drv);
        drv.ioctls = T::IOCTLS.as_ptr().cast();
        // CAST: bounded by DRM_COMMAND_END - DRM_COMMAND_BASE above.
        drv.num_ioctls = T::IOCTLS.len() as i32;
        drv.fops = &Self::FOPS;
        drv
    };
}
