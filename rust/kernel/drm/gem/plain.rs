// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Plain GEM objects: a size, handles and the driver's data, with no memory of the layer's.
//!
//! For drivers whose buffers live where the layer cannot see them (device memory behind a BAR,
//! say) and that manage that memory themselves: the object is what userspace names by a handle
//! and the driver looks up in its ioctls. The C core's generic paths that need pages have
//! nothing to work with and fail cleanly: a plain driver has no dumb buffers
//! (`MODE_CREATE_DUMB` is `ENOSYS`), its objects have no `mmap()` offset
//! ([`BaseObject::mmap_offset`] is 0), it imports no foreign dma-buf (`EINVAL`), and an export
//! has no scatter-gather table for an importer to map.
//!
//! C header: [`include/drm/drm_gem.h`](srctree/include/drm/drm_gem.h)

use crate::{
    alloc::KBox,
    bindings,
    drm::{
        gem::{
            page_aligned,
            BaseObject, //
        },
        Device,
        Driver, //
    },
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    types::Opaque,
};
use core::{ops::Deref, pin::Pin, ptr::NonNull};

/// The per-object data of a driver's plain GEM objects.
///
/// It is embedded in every [`Object<Self>`] and dropped when the object is freed, which can be
/// after the device was unplugged: dropping it must not need the parent to be bound.
pub trait PlainObject: Sized + Send + Sync + 'static {
    /// The driver whose objects these are.
    type Driver: Driver<Object = Object<Self>>;
}

/// A plain GEM object of driver `D::Driver`, with the driver's data `D`.
///
/// Always reached through a reference: [`ARef<Object<D>>`] holds a reference count of the GEM
/// object, and derefs to the driver's data.
///
/// # Examples
///
/// ```
/// use kernel::{drm, drm::gem, drm::gem::BaseObject, faux, prelude::*, sync::aref::ARef};
///
/// /// A buffer in device memory, which the driver allocates itself.
/// struct Vram {
///     offset: u64,
/// }
///
/// impl gem::plain::PlainObject for Vram {
///     type Driver = Gpu;
/// }
///
/// // A driver `Gpu` whose `drm::Driver::Object` is `gem::plain::Object<Vram>`.
/// # kernel::drm_doctest_driver!(Gpu, object: gem::plain::Object<Vram>);
///
/// let parent = faux::Registration::new(c"drm-doctest-plain", None)?;
/// let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
///
/// // 5000 bytes round up to two pages; zero bytes are refused.
/// let bo: ARef<gem::plain::Object<Vram>> =
///     gem::plain::Object::new(&dev, 5000, Ok::<_, Error>(Vram { offset: 1 << 20 }))?;
/// assert_eq!(bo.size(), 2 * kernel::page::PAGE_SIZE);
/// assert_eq!(bo.offset, 1 << 20);
/// assert_eq!(bo.mmap_offset(), 0);
/// let none = gem::plain::Object::new(&dev, 0, Ok::<_, Error>(Vram { offset: 0 }));
/// assert_eq!(none.err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// * `obj` is an initialised `struct drm_gem_object` whose `funcs` are `Object::<D>::FUNCS`, of
///   the device `dev`, whose refcount this struct holds;
/// * the object lives in a [`KBox`], which `free_callback` frees when the GEM refcount drops to
///   zero;
/// * `data` is initialised and pinned.
#[repr(C)]
#[pin_data]
pub struct Object<D: PlainObject> {
    obj: Opaque<bindings::drm_gem_object>,
    #[pin]
    data: D,
    dev: ARef<Device<D::Driver>>,
}

// SAFETY: The C object is thread safe (reference counted, its handles under the file's lock);
// `D` is `Send` (`PlainObject` requires it), so the object may be freed anywhere.
unsafe impl<D: PlainObject> Send for Object<D> {}
// SAFETY: Every method takes `&self` and is thread safe; `D` is `Sync`.
unsafe impl<D: PlainObject> Sync for Object<D> {}

impl<D: PlainObject> Object<D> {
    /// The GEM callbacks of plain objects of driver data `D`: only `free`, which drops the
    /// driver's data with the object.
    const FUNCS: bindings::drm_gem_object_funcs = {
        let mut f: bindings::drm_gem_object_funcs = pin_init::zeroed();
        f.free = Some(free_callback::<D>);
        f
    };

    /// Creates an object of `size` bytes (rounded up to whole pages) on `dev`, with data from
    /// `data`.
    ///
    /// Fails with `EINVAL` when `size` is zero or above
    /// [`MAX_SIZE`](crate::drm::gem::MAX_SIZE), and with `ENOMEM`.
    pub fn new(
        dev: &Device<D::Driver>,
        size: usize,
        data: impl PinInit<D, Error>,
    ) -> Result<ARef<Self>> {
        let size = page_aligned(size)?;
        let boxed = KBox::pin_init(
            try_pin_init!(Self {
                obj: Opaque::zeroed(),
                data <- data,
                dev: dev.into(),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The object stays pinned: it is only freed, in place, by `free_callback`.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
        // SAFETY: `raw` is a fresh, exclusively owned `Self`; `obj` is zeroed, `size` page
        // aligned (which `drm_gem_private_object_init()` requires), and `funcs` set before
        // anyone can take a reference.
        unsafe {
            let obj = (*raw).obj.get();
            (*obj).funcs = &Self::FUNCS;
            bindings::drm_gem_private_object_init(dev.as_raw(), obj, size);
        }
        // INVARIANT: The C object is initialised with our `funcs`, in a `KBox`.
        // SAFETY: `KBox::into_raw` never returns NULL; we own the initial GEM reference, which
        // `ARef` takes over.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw)) })
    }

    /// The raw `struct drm_gem_object`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_gem_object {
        self.obj.get()
    }

    /// The driver's data of the object.
    #[inline]
    pub fn data(&self) -> Pin<&D> {
        // SAFETY: `data` is pinned (type invariant).
        unsafe { Pin::new_unchecked(&self.data) }
    }
}

impl<D: PlainObject> Deref for Object<D> {
    type Target = D;

    #[inline]
    fn deref(&self) -> &D {
        &self.data
    }
}

// SAFETY: `drm_gem_object_get()`/`drm_gem_object_put()` maintain the GEM refcount; the object
// is freed (by `free_callback`) only when it drops to zero.
unsafe impl<D: PlainObject> AlwaysRefCounted for Object<D> {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::drm_gem_object_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_gem_object_put(obj.as_ref().as_raw()) };
    }
}

// SAFETY: `as_raw` is the initialised GEM object of `self`, of `self.dev` (type invariants),
// which `self` holds a reference to, at the start of `Self` (`repr(C)`); every object with a
// handle on a device of a driver whose objects are `Object<D>` is one (see the module
// documentation of `gem`: a plain driver's device imports no foreign buffer).
unsafe impl<D: PlainObject> BaseObject for Object<D> {
    type Driver = D::Driver;

    #[inline]
    fn as_raw(&self) -> *mut bindings::drm_gem_object {
        Object::as_raw(self)
    }

    #[inline]
    fn dev(&self) -> &Device<D::Driver> {
        &self.dev
    }
}

/// `drm_gem_object_funcs.free`: drops the object once its last reference is gone.
///
/// # Safety
///
/// Called by the C core only, once, with an `Object<D>` whose refcount dropped to zero.
unsafe extern "C" fn free_callback<D: PlainObject>(obj: *mut bindings::drm_gem_object) {
    // SAFETY: The refcount is zero: no one else uses the object. This releases its
    // reservation object and its (empty) mmap offset node.
    unsafe { bindings::drm_gem_object_release(obj) };
    // SAFETY: `obj` is at the start of an `Object<D>` (our `funcs`) in a `KBox` (type
    // invariant) that no one else refers to; this drops the driver's data, then the device
    // reference.
    drop(unsafe { KBox::from_raw(obj.cast::<Object<D>>()) });
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_plain)]
mod tests {
    use super::*;
    use crate::{
        device::DeviceContext,
        drm::{
            self,
            gem::delete_handle,
            tests::{
                Minor,
                MockFile, //
            },
        },
        faux,
        page::PAGE_SIZE,
        sync::atomic::{
            Atomic,
            Relaxed, //
        },
        uapi,
    };

    /// Live [`Vram`]s, to check that object data is dropped exactly once.
    static LIVE: Atomic<i64> = Atomic::new(0);

    struct Vram(u64);

    impl Vram {
        fn new(tag: u64) -> Result<Self> {
            LIVE.add(1, Relaxed);
            Ok(Self(tag))
        }
    }

    impl Drop for Vram {
        fn drop(&mut self) {
            LIVE.add(-1, Relaxed);
        }
    }

    impl PlainObject for Vram {
        type Driver = PlainDriver;
    }

    struct PlainDriver;

    /// Ioctls of nova-drm's shapes (`include/uapi/drm/nova_drm.h`), on plain objects.
    struct PlainIoctls;

    #[drm::ioctl::handlers]
    impl PlainIoctls {
        #[ioctl(DRM_IOCTL_NOVA_GETPARAM, RENDER_ALLOW)]
        fn getparam(
            _dev: &Device<PlainDriver>,
            _arg: &mut uapi::drm_nova_getparam,
            _file: &drm::File<PlainDriver>,
        ) -> Result<u32> {
            Err(EINVAL)
        }

        #[ioctl(DRM_IOCTL_NOVA_GEM_CREATE, AUTH | RENDER_ALLOW)]
        fn gem_create(
            dev: &Device<PlainDriver>,
            arg: &mut uapi::drm_nova_gem_create,
            file: &drm::File<PlainDriver>,
        ) -> Result<u32> {
            let bo = Object::new(dev, arg.size.try_into()?, Vram::new(arg.size))?;
            arg.handle = bo.create_handle(file)?;
            Ok(0)
        }

        #[ioctl(DRM_IOCTL_NOVA_GEM_INFO, AUTH | RENDER_ALLOW)]
        fn gem_info(
            _dev: &Device<PlainDriver>,
            arg: &mut uapi::drm_nova_gem_info,
            file: &drm::File<PlainDriver>,
        ) -> Result<u32> {
            arg.size = Object::<Vram>::lookup(file, arg.handle)?
                .size()
                .try_into()?;
            Ok(0)
        }
    }

    struct PlainFile;

    impl drm::DriverFile for PlainFile {
        type Driver = PlainDriver;

        fn open(_dev: &Device<PlainDriver>, _client: &drm::Client) -> impl PinInit<Self, Error> {
            Ok::<_, Error>(PlainFile)
        }
    }

    #[vtable]
    impl Driver for PlainDriver {
        type Data = ();
        type File = PlainFile;
        type Object = Object<Vram>;
        type Kms = drm::kms::NoKms;
        type ParentDevice<Ctx: DeviceContext> = faux::Device<Ctx>;

        const INFO: drm::DriverInfo = drm::DriverInfo {
            major: 1,
            minor: 0,
            patchlevel: 0,
            name: c"rust-drm-test-plain",
            desc: c"KUnit plain GEM test driver of the Rust DRM layer",
        };

        const IOCTLS: &'static [drm::ioctl::Desc<Self>] = drm::ioctl::table![
            PlainIoctls::getparam,
            PlainIoctls::gem_create,
            PlainIoctls::gem_info
        ];
    }

    /// A registered device on its own faux parent.
    struct PlainDevice {
        reg: Option<crate::devres::Devres<drm::Registration<PlainDriver>>>,
        dev: ARef<Device<PlainDriver>>,
        parent: Option<faux::Registration>,
    }

    fn device() -> Result<PlainDevice> {
        let parent = faux::Registration::new(c"rust-drm-kunit-plain", None)?;
        let unreg = drm::UnregisteredDevice::<PlainDriver>::new(parent.as_ref(), Ok(()))?;
        let dev = ARef::from(&*unreg);
        let reg = unreg.register()?;
        Ok(PlainDevice {
            reg: Some(reg),
            dev,
            parent: Some(parent),
        })
    }

    fn bo(t: &PlainDevice, size: usize, tag: u64) -> Result<ARef<Object<Vram>>> {
        Object::new(&t.dev, size, Vram::new(tag))
    }

    #[test]
    fn sizes() -> Result {
        let t = device()?;
        let base = LIVE.load(Relaxed);
        assert_eq!(bo(&t, 1, 0)?.size(), PAGE_SIZE);
        assert_eq!(bo(&t, PAGE_SIZE + 1, 0)?.size(), 2 * PAGE_SIZE);
        for size in [0, crate::drm::gem::MAX_SIZE + 1, usize::MAX] {
            assert_eq!(bo(&t, size, 0).err(), Some(EINVAL));
        }
        // Every failed creation dropped its data.
        assert_eq!(LIVE.load(Relaxed), base);
        Ok(())
    }

    /// A GEM driver, with neither dumb buffers nor imports nor mmap offsets.
    #[test]
    fn no_pages() -> Result {
        let t = device()?;
        // SAFETY: The device is registered; its driver table is static.
        let (features, dumb, import) = unsafe {
            let drv = (*t.dev.as_raw()).driver;
            (
                (*drv).driver_features,
                (*drv).dumb_create,
                (*drv).gem_prime_import,
            )
        };
        assert!(features & bindings::drm_driver_feature_DRIVER_GEM != 0);
        assert!(dumb.is_none() && import.is_none());
        assert_eq!(bo(&t, PAGE_SIZE, 0)?.mmap_offset(), 0);
        Ok(())
    }

    #[test]
    fn handles() -> Result {
        let t = device()?;
        let base = LIVE.load(Relaxed);
        let (f1, f2) = (
            MockFile::open(&t.dev, Minor::Primary)?,
            MockFile::open(&t.dev, Minor::Primary)?,
        );
        let a = bo(&t, PAGE_SIZE, 7)?;
        let h = a.create_handle(f1.file())?;
        let found = Object::lookup(f1.file(), h)?;
        assert!(core::ptr::eq(&*found, &*a));
        assert_eq!(found.0, 7);
        assert_eq!(Object::<Vram>::lookup(f2.file(), h).err(), Some(ENOENT));
        // The handle holds the object; closing the file lets it go.
        drop((found, a));
        assert_eq!(LIVE.load(Relaxed), base + 1);
        assert_eq!(Object::<Vram>::lookup(f1.file(), h)?.0, 7);
        let h2 = Object::<Vram>::lookup(f1.file(), h)?.create_handle(f1.file())?;
        delete_handle(f1.file(), h)?;
        assert_eq!(delete_handle(f1.file(), h), Err(EINVAL));
        drop(f1);
        assert_eq!(LIVE.load(Relaxed), base);
        assert!(h2 != h);
        drop(f2);
        Ok(())
    }

    /// `GEM_CREATE` and `GEM_INFO` of nova-drm's shapes, through the ioctl path (here on a
    /// render node: the test's handlers are `RENDER_ALLOW`).
    #[test]
    fn nova_shaped_ioctls() -> Result {
        let t = device()?;
        let base = LIVE.load(Relaxed);
        let file = MockFile::open(&t.dev, Minor::Render)?;
        let mut create = uapi::drm_nova_gem_create {
            handle: 0,
            pad: 0,
            size: 5000,
        };
        assert_eq!(file.ioctl(1, &mut create)?, 0);
        let mut info = uapi::drm_nova_gem_info {
            handle: create.handle,
            pad: 0,
            size: 0,
        };
        assert_eq!(file.ioctl(2, &mut info)?, 0);
        assert_eq!(info.size, 2 * PAGE_SIZE as u64);
        info.handle += 1;
        assert_eq!(file.ioctl(2, &mut info), Err(ENOENT));
        create.size = 0;
        assert_eq!(file.ioctl(1, &mut create), Err(EINVAL));
        create.size = u64::MAX;
        assert!(file.ioctl(1, &mut create).is_err());
        assert_eq!(LIVE.load(Relaxed), base + 1);
        drop(file);
        assert_eq!(LIVE.load(Relaxed), base);
        Ok(())
    }

    #[test]
    fn outlives_device() -> Result {
        let mut t = device()?;
        let base = LIVE.load(Relaxed);
        let a = bo(&t, 3 * PAGE_SIZE, 42)?;
        // Unplugged, and the parent gone: the object holds the device.
        drop(t.reg.take());
        drop(t.parent.take());
        drop(t);
        assert_eq!(a.0, 42);
        assert_eq!(a.size(), 3 * PAGE_SIZE);
        drop(a);
        assert_eq!(LIVE.load(Relaxed), base);
        Ok(())
    }
}
