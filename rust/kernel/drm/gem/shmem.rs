// SPDX-License-Identifier: GPL-2.0 OR MIT

//! GEM objects backed by shmem pages, with driver data.
//!
//! An [`Object<D>`] is a `struct drm_gem_shmem_object` with the driver's data `D` next to it.
//! Its pages come from a shmem file and are allocated on first use: by a CPU page fault through
//! `mmap()`, by [`Object::vmap`] (which maps and pins them all), by [`Object::cpu_access`] (a
//! page at a time, nothing pinned), or by [`Object::sg_table`] for a device. Imported objects
//! ([`Origin::Import`]) have no pages of their own: their memory is the
//! exporter's, reached through the dma-buf.
//!
//! C header: [`include/drm/drm_gem_shmem_helper.h`](srctree/include/drm/drm_gem_shmem_helper.h)

use crate::{
    alloc::KBox,
    bindings,
    devres::Devres,
    drm::{
        self,
        gem::{
            page_aligned,
            prime::DmaBuf,
            resv::Resv,
            BaseObject,
            Caching,
            DriverObject,
            Origin, //
        },
        Device, //
    },
    error::{
        from_result,
        to_result, //
    },
    ffi::c_int,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        SetOnce,
    },
    types::Opaque,
};
use core::{mem::ManuallyDrop, ops::Deref, pin::Pin, ptr::NonNull};

mod pages;
mod sgt;
pub use self::pages::CpuAccess;
use self::sgt::SgtRelease;
pub use super::vmap::VMap;

pub use super::MAX_SIZE;

/// A GEM object of driver `D::Driver`, backed by shmem pages, with the driver's data `D`.
///
/// Always reached through a reference: [`ARef<Object<D>>`] holds a reference count of the GEM
/// object, and derefs to the driver's data.
///
/// # Examples
///
/// A driver whose objects remember who created them, creating one and giving it a handle:
///
/// ```
/// use kernel::{drm, drm::gem, drm::gem::BaseObject, faux, prelude::*, sync::aref::ARef};
///
/// struct Buffer {
///     by_core: bool,
/// }
///
/// impl gem::DriverObject for Buffer {
///     type Driver = Gpu;
///
///     fn create(
///         _dev: &drm::Device<Gpu>,
///         _size: usize,
///         _origin: gem::Origin<'_>,
///     ) -> impl PinInit<Self, Error> {
///         Ok::<_, Error>(Buffer { by_core: true })
///     }
/// }
///
/// // A driver `Gpu` whose `drm::Driver::Object` is `gem::shmem::Object<Buffer>`.
/// # kernel::drm_doctest_driver!(Gpu, object: gem::shmem::Object<Buffer>);
///
/// let parent = faux::Registration::new(c"drm-doctest-shmem", None)?;
/// let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
///
/// // 5000 bytes round up to two pages; zero bytes are refused.
/// let data = || Ok::<_, Error>(Buffer { by_core: false });
/// let bo: ARef<gem::shmem::Object<Buffer>> =
///     gem::shmem::Object::new(&dev, 5000, gem::Caching::Cached, data())?;
/// assert_eq!(bo.size(), 2 * kernel::page::PAGE_SIZE);
/// assert!(!bo.by_core);
/// assert_eq!(
///     gem::shmem::Object::new(&dev, 0, gem::Caching::Cached, data()).err(),
///     Some(EINVAL)
/// );
///
/// // Page-wise CPU access: only the pages of the range are touched, nothing is pinned.
/// let access = bo.cpu_access()?;
/// access.write(4000, b"across a page boundary")?;
/// let mut across = [0u8; 22];
/// access.read(4000, &mut across)?;
/// assert_eq!(&across, b"across a page boundary");
/// assert_eq!(access.write(8190, b"hello"), Err(EINVAL));
///
/// // The kernel's view of the pages, through a mapping that lives as long as its guard.
/// let map = bo.vmap()?;
/// map.write(4096, b"hello")?;
/// let mut back = [0u8; 5];
/// map.read(4096, &mut back)?;
/// assert_eq!(&back, b"hello");
/// assert_eq!(map.write(8190, b"hello"), Err(EINVAL));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// * `obj` is an initialised `struct drm_gem_shmem_object` whose `funcs` are
///   `Object::<D>::FUNCS`, of the device `dev`, whose refcount this struct holds;
/// * the object lives in a [`KBox`], which `free_callback` frees when the GEM refcount drops to
///   zero;
/// * `data` is initialised and pinned;
/// * `sgt` holds at most the release of the object's own DMA mapping, and is dropped by
///   `free_callback`, before the C object is released.
#[repr(C)]
#[pin_data]
pub struct Object<D: DriverObject> {
    pub(super) obj: Opaque<bindings::drm_gem_shmem_object>,
    #[pin]
    data: D,
    dev: ARef<Device<D::Driver>>,
    /// The release of the DMA mapping of [`sg_table`](Self::sg_table), once made. Dropped by
    /// `free_callback` before the C object is released.
    sgt: ManuallyDrop<SetOnce<Devres<SgtRelease<D>>>>,
}

// SAFETY: The C object is thread safe (its state is behind the object's reservation lock and
// atomics); `D` is `Send` (`DriverObject` requires it), so the object may be freed anywhere.
unsafe impl<D: DriverObject> Send for Object<D> {}
// SAFETY: Every method takes `&self` and is thread safe; `D` is `Sync`. `sgt` is only read
// through `&self` (a `SetOnce` that is populated under the reservation lock, and a `Devres`
// whose `try_access` is thread safe); the release it holds is never used through `&self`.
unsafe impl<D: DriverObject> Sync for Object<D> {}

impl<D: DriverObject> Object<D> {
    /// The GEM callbacks of objects of driver data `D`.
    pub(super) const FUNCS: bindings::drm_gem_object_funcs = {
        let mut f: bindings::drm_gem_object_funcs = pin_init::zeroed();
        // The driver's data is dropped with the object, and imports are mapped differently:
        // `free` and `mmap` are the layer's own. The rest are the C helpers' own callbacks.
        f.free = Some(free_callback::<D>);
        f.mmap = Some(mmap_callback);
        f.print_info = Some(bindings::drm_gem_shmem_object_print_info);
        f.pin = Some(bindings::drm_gem_shmem_object_pin);
        f.unpin = Some(bindings::drm_gem_shmem_object_unpin);
        f.get_sg_table = Some(bindings::drm_gem_shmem_object_get_sg_table);
        f.vmap = Some(bindings::drm_gem_shmem_object_vmap);
        f.vunmap = Some(bindings::drm_gem_shmem_object_vunmap);
        f.vm_ops = &raw const bindings::drm_gem_shmem_vm_ops;
        f
    };

    /// Creates an object of `size` bytes (rounded up to whole pages) on `dev`, with data from
    /// `data`. Its pages are allocated on first use.
    ///
    /// Fails with `EINVAL` when `size` is zero or above [`MAX_SIZE`], and with `ENOMEM`.
    pub fn new(
        dev: &Device<D::Driver>,
        size: usize,
        caching: Caching,
        data: impl PinInit<D, Error>,
    ) -> Result<ARef<Self>> {
        let size = page_aligned(size)?;
        let raw = Self::alloc(dev, data)?;
        // SAFETY: `raw` is a fresh, exclusively owned `Self`; `obj` is zeroed.
        let shmem = unsafe { (*raw.as_ptr()).obj.get() };
        // SAFETY: `shmem` is valid and not shared yet.
        unsafe {
            (*shmem).base.funcs = &Self::FUNCS;
            (*shmem).set_map_wc(caching == Caching::WriteCombined);
        }
        // SAFETY: `shmem` is a zeroed `drm_gem_shmem_object` with our `funcs`, `size` is page
        // aligned and at most `MAX_SIZE`. On failure it undoes what it did itself.
        let ret = unsafe { bindings::drm_gem_shmem_init(dev.as_raw(), shmem, size) };
        if let Err(e) = to_result(ret) {
            // SAFETY: The C object is not initialised, so no free callback will ever run: we own
            // the box alone.
            drop(unsafe { KBox::from_raw(raw.as_ptr()) });
            return Err(e);
        }
        // INVARIANT: the C object is initialised with our `funcs`, in a `KBox`.
        // SAFETY: We own the initial GEM reference; `ARef` takes it over.
        Ok(unsafe { ARef::from_raw(raw) })
    }

    /// Allocates the `KBox` of a new object with a zeroed C part, and leaks it.
    pub(super) fn alloc(
        dev: &Device<D::Driver>,
        data: impl PinInit<D, Error>,
    ) -> Result<NonNull<Self>> {
        let boxed = KBox::pin_init(
            try_pin_init!(Self {
                obj: Opaque::zeroed(),
                data <- data,
                dev: dev.into(),
                sgt: ManuallyDrop::new(SetOnce::new()),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The object stays pinned: it is only freed, in place, by `free_callback` (or
        // by the error paths of the constructors).
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
        // SAFETY: `KBox::into_raw` never returns NULL.
        Ok(unsafe { NonNull::new_unchecked(raw) })
    }

    /// The raw `struct drm_gem_object`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::drm_gem_object {
        // SAFETY: Only a place is computed.
        unsafe { &raw mut (*self.obj.get()).base }
    }

    #[inline]
    pub(super) fn as_shmem(&self) -> *mut bindings::drm_gem_shmem_object {
        self.obj.get()
    }

    /// The driver's data of the object.
    #[inline]
    pub fn data(&self) -> Pin<&D> {
        // SAFETY: `data` is pinned (type invariant).
        unsafe { Pin::new_unchecked(&self.data) }
    }

    /// Whether the object is the import of another device's dma-buf.
    #[inline]
    pub fn is_imported(&self) -> bool {
        self.dma_buf_imported().is_some()
    }

    /// The dma-buf this object imports, when it is an import.
    pub fn dma_buf_imported(&self) -> Option<&DmaBuf> {
        // SAFETY: `import_attach` is set at creation and never changes afterwards.
        let attach = unsafe { (*self.as_raw()).import_attach };
        if attach.is_null() {
            return None;
        }
        // SAFETY: The object owns the attachment and a reference to its dma-buf until it is
        // freed, which cannot happen while `&self` exists.
        Some(unsafe { DmaBuf::from_raw((*attach).dmabuf) })
    }

    /// The reservation object of the object: its lock, and its fences.
    ///
    /// For an import, it is the exporter's (the dma-buf's) reservation object.
    pub fn resv(&self) -> &Resv {
        // SAFETY: `resv` is set at init, never changes, and lives at least as long as the object
        // (embedded in it, or in the dma-buf the object holds a reference to).
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }
}

impl<D: DriverObject> Deref for Object<D> {
    type Target = D;

    #[inline]
    fn deref(&self) -> &D {
        &self.data
    }
}

// SAFETY: `drm_gem_object_get()`/`drm_gem_object_put()` maintain the GEM refcount; the object
// is freed (by `free_callback`) only when it drops to zero.
unsafe impl<D: DriverObject> AlwaysRefCounted for Object<D> {
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
// which `self` holds a reference to; it is the first field of the `drm_gem_shmem_object` at the
// start of `Self` (`repr(C)`); every object with a handle on a device of a driver whose objects
// are `Object<D>` is one (see the module documentation of `gem`).
unsafe impl<D: DriverObject> BaseObject for Object<D> {
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

/// The shmem object of the GEM object `obj`.
///
/// # Safety
///
/// `obj` must be the GEM object of a live `drm_gem_shmem_object`.
unsafe fn shmem_of(obj: *const bindings::drm_gem_object) -> *mut bindings::drm_gem_shmem_object {
    // CAST: `base` is the first field of `drm_gem_shmem_object`.
    obj.cast_mut().cast()
}

/// `drm_gem_object_funcs.free`: drops the object once its last reference is gone.
///
/// # Safety
///
/// Called by the C core only, once, with an `Object<D>` whose refcount dropped to zero.
unsafe extern "C" fn free_callback<D: DriverObject>(obj: *mut bindings::drm_gem_object) {
    // SAFETY: `obj` is the GEM object of an `Object<D>` (our `funcs`).
    let shmem = unsafe { shmem_of(obj) };
    // SAFETY: The refcount is zero: no one else uses the object. The DMA mapping, if the parent
    // is still bound, is undone first, while the object is whole; `sgt` is not touched again.
    unsafe { ManuallyDrop::drop(&mut (*obj.cast::<Object<D>>()).sgt) };
    // SAFETY: As above. This releases the pages, the mmap offset and, for an import, the
    // attachment and the dma-buf.
    unsafe { bindings::drm_gem_shmem_release(shmem) };
    // SAFETY: The object lives in a `KBox` (type invariant) that no one else refers to; this
    // drops the driver's data, then the device reference.
    drop(unsafe { KBox::from_raw(obj.cast::<Object<D>>()) });
}

/// `drm_gem_object_funcs.mmap`: sets up a userspace mapping of the object.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn mmap_callback(
    obj: *mut bindings::drm_gem_object,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: Called by the C core with a live object; `import_attach` never changes.
    let attach = unsafe { (*obj).import_attach };
    if attach.is_null() {
        // SAFETY: Called by the C core with a live shmem object and a new VMA for it.
        return unsafe { bindings::drm_gem_shmem_mmap(shmem_of(obj), vma) };
    }
    // An import: the exporter maps it. Not through `drm_gem_shmem_mmap()`, which uses
    // `obj->dma_buf`, set only for imports made by `PRIME_FD_TO_HANDLE` and cleared when their
    // last handle goes; the attachment's dma-buf lives as long as the object.
    // SAFETY: The VMA is being set up for this object; the exporter sets its own `vm_ops` and
    // private data, so ours must not stay.
    unsafe {
        (*vma).vm_private_data = core::ptr::null_mut();
        (*vma).vm_ops = core::ptr::null();
    }
    // SAFETY: The object holds its attachment, whose dma-buf is live; the VMA is new.
    let ret = unsafe { bindings::dma_buf_mmap((*attach).dmabuf, vma, 0) };
    if ret == 0 {
        // The VMA holds the dma-buf's file, not the object: drop the reference that
        // `drm_gem_mmap_obj()` took for it, as the C shmem helper does.
        // SAFETY: `drm_gem_mmap_obj()` took a reference for the VMA, which we own here.
        unsafe { bindings::drm_gem_object_put(obj) };
    }
    ret
}

/// `drm_driver.dumb_create`: a dumb buffer of driver `D::Driver`, sized by the C core.
///
/// # Safety
///
/// Called by the C core only, with an open file of a device of `D::Driver` and the ioctl's
/// arguments.
pub(super) unsafe extern "C" fn dumb_create_callback<D: DriverObject>(
    raw_file: *mut bindings::drm_file,
    raw_dev: *mut bindings::drm_device,
    args: *mut bindings::drm_mode_create_dumb,
) -> c_int {
    from_result(|| {
        // SAFETY: The device is of driver `D::Driver`, whose table holds this callback.
        let dev = unsafe { Device::<D::Driver>::from_raw(raw_dev) };
        // SAFETY: The file is open during the ioctl.
        let file = unsafe { drm::File::<D::Driver>::from_raw(raw_file) };
        // SAFETY: `args` is the ioctl's kernel copy of the arguments. The C core checks the
        // geometry for overflow and sets `pitch` and `size`.
        let args = unsafe { &mut *args };
        // SAFETY: As above.
        to_result(unsafe { bindings::drm_mode_size_dumb(raw_dev, args, 0, 0) })?;
        let size = usize::try_from(args.size).map_err(|_| EINVAL)?;
        let origin = Origin::Dumb {
            width: args.width,
            height: args.height,
            bpp: args.bpp,
            pitch: args.pitch,
        };
        let obj = Object::<D>::new(dev, size, Caching::Cached, D::create(dev, size, origin))?;
        args.handle = obj.create_handle(file)?;
        Ok(0)
    })
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem)]
mod tests {
    use super::*;
    use crate::drm::{
        gem::delete_handle,
        tests::{
            bo,
            live_bos as live,
            GemDevice,
            Minor,
            MockFile,
            TestBo, //
        },
    };

    #[test]
    fn sizes() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let base = live();
        assert_eq!(bo(&t, 1, 0)?.size(), PAGE_SIZE);
        assert_eq!(bo(&t, PAGE_SIZE, 0)?.size(), PAGE_SIZE);
        assert_eq!(bo(&t, PAGE_SIZE + 1, 0)?.size(), 2 * PAGE_SIZE);
        for size in [0, MAX_SIZE + 1, usize::MAX, usize::MAX - PAGE_SIZE + 2] {
            assert_eq!(bo(&t, size, 0).err(), Some(EINVAL));
        }
        // Every failed creation dropped its data.
        assert_eq!(live(), base);
        Ok(())
    }

    #[test]
    fn lifecycle_outlives_device() -> Result {
        let mut t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let base = live();
        let a = bo(&t, 3 * PAGE_SIZE, 42)?;
        let b = a.clone();
        assert_eq!(live(), base + 1);
        assert_eq!(b.tag, 42);
        assert!(!a.is_imported() && a.dma_buf_imported().is_none());
        assert!(core::ptr::eq(a.dev(), &*t.dev));
        drop(b);
        assert_eq!(live(), base + 1);
        // Unplugged, and the parent gone: the object holds the device, and works.
        drop(t.reg.take());
        drop(t.parent.take());
        drop(t);
        a.vmap()?.write(0, b"alive")?;
        drop(a);
        assert_eq!(live(), base);
        Ok(())
    }

    #[test]
    fn handles() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let base = live();
        let f1 = MockFile::open(&t.dev, Minor::Primary)?;
        let f2 = MockFile::open(&t.dev, Minor::Primary)?;
        let a = bo(&t, PAGE_SIZE, 1)?;
        let h1 = a.create_handle(f1.file())?;
        let h2 = a.create_handle(f1.file())?;
        assert!(h1 != 0 && h2 != 0 && h1 != h2);
        let found = Object::lookup(f1.file(), h1)?;
        assert!(core::ptr::eq(&*found, &*a));
        // Handles are per file.
        assert_eq!(Object::<TestBo>::lookup(f2.file(), h1).err(), Some(ENOENT));
        // A file of another device of the same driver cannot hold a handle of this object.
        let other = GemDevice::new(c"rust-drm-kunit-gem-other", false)?;
        let f_other = MockFile::open(&other.dev, Minor::Primary)?;
        assert_eq!(a.create_handle(f_other.file()), Err(EINVAL));
        drop((f_other, other));
        assert_eq!(Object::<TestBo>::lookup(f1.file(), 0).err(), Some(ENOENT));
        assert_eq!(
            Object::<TestBo>::lookup(f1.file(), h2 + 100).err(),
            Some(ENOENT)
        );
        delete_handle(f1.file(), h1)?;
        assert_eq!(Object::<TestBo>::lookup(f1.file(), h1).err(), Some(ENOENT));
        assert_eq!(delete_handle(f1.file(), h1), Err(EINVAL));
        // The remaining handle holds the object when we let go of ours.
        drop((found, a));
        assert_eq!(live(), base + 1);
        assert_eq!(Object::<TestBo>::lookup(f1.file(), h2)?.tag, 1);
        // Closing the file deletes its handles: the object goes.
        drop(f1);
        assert_eq!(live(), base);
        drop(f2);
        Ok(())
    }

    #[test]
    fn mmap_offsets() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let (a, b) = (bo(&t, PAGE_SIZE, 0)?, bo(&t, 4 * PAGE_SIZE, 0)?);
        assert!(a.mmap_offset() != 0 && b.mmap_offset() != 0);
        assert!(a.mmap_offset() != b.mmap_offset());
        assert_eq!(a.mmap_offset() % PAGE_SIZE as u64, 0);
        Ok(())
    }
}
