// SPDX-License-Identifier: GPL-2.0 OR MIT

//! GEM: the buffer objects of a DRM driver.
//!
//! A GEM driver names its object type in [`Driver::Object`](crate::drm::Driver::Object): a
//! [`shmem::Object<D>`], memory backed by shmem pages with the driver's per-object data `D`
//! embedded, or a [`plain::Object<D>`], which has no memory of the layer's, for a driver that
//! manages its buffers' memory itself. Drivers without buffers say [`NoGem`].
//!
//! Objects are reference counted ([`ARef<shmem::Object<D>>`](crate::sync::aref::ARef)); userspace
//! names them by handles, which are per file. What every kind of GEM object has is in the
//! [`BaseObject`] trait: its size and device, [`BaseObject::create_handle`] to make a handle,
//! [`BaseObject::lookup`] to resolve one for the file of an ioctl, and the `mmap()` offset. The
//! C core implements the generic ioctls on top: `GEM_CLOSE`, `MODE_CREATE_DUMB` (through
//! [`DriverObject::create`]), `MODE_MAP_DUMB`, `mmap()` of the device node, and PRIME export and
//! import ([`prime`]).
//!
//! The layer keeps this invariant, which the rest relies on: every GEM object of a
//! `Device<T>` is a `T::Object`. Objects are only ever made by this layer: by the driver through
//! [`shmem::Object::new`] or [`plain::Object::new`], and by the C core through the callbacks in
//! `T`'s driver table (none for plain objects), which
//! this layer fills in ([`Driver::Object`](crate::drm::Driver::Object)), never with the C
//! defaults that would allocate C objects: a plain driver's table has no `gem_prime_import`
//! and no `gem_prime_import_sg_table`, so the C core's import gives back the device's own
//! objects and refuses the others.
//!
//! It has one exception, which no path that relies on it can reach: each GPU VM (`drm::gpuvm`)
//! has a reservation object that `drm_gpuvm_resv_object_alloc()` allocates as a plain GEM object of
//! the device. That object is private to its VM: it never gets a handle, a mmap offset, a
//! dma-buf or a name, so no handle lookup, PRIME import or mmap can reach it, which is where the
//! layer relies on the invariant; the layer only locks it and counts references to it.
//!
//! C header: [`include/drm/drm_gem.h`](srctree/include/drm/drm_gem.h)

use crate::{
    bindings, drm,
    error::to_result,
    ffi::c_int,
    page::PAGE_SIZE,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
};
use core::ptr::NonNull;

pub mod plain;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod prime;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod resv;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod shmem;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod vmap;

/// The largest object, in bytes: the size of a shmem file and of an `mmap()` offset range must
/// fit in a `loff_t`.
pub const MAX_SIZE: usize = (i64::MAX as usize) & !(PAGE_SIZE - 1);

/// Rounds `size` up to whole pages, refusing zero and sizes above [`MAX_SIZE`].
pub(crate) fn page_aligned(size: usize) -> Result<usize> {
    if size == 0 || size > MAX_SIZE {
        return Err(EINVAL);
    }
    // Cannot overflow: `MAX_SIZE` is page aligned and far below `usize::MAX`.
    Ok(size.next_multiple_of(PAGE_SIZE))
}

/// The per-object data of a driver's shmem GEM objects.
///
/// It is embedded in every [`shmem::Object<Self>`] and dropped when the object is freed, which
/// can be after the device was unplugged: dropping it must not need the parent to be bound.
///
/// # Examples
///
/// See [`shmem::Object`].
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub trait DriverObject: Sized + Send + Sync + 'static {
    /// The driver whose objects these are.
    type Driver: drm::Driver<Object = shmem::Object<Self>>;

    /// Creates the data of an object that the C core asks for: a dumb buffer of `size` bytes
    /// (page aligned), or the import of a foreign dma-buf of `size` bytes (the dma-buf's size,
    /// which need not be page aligned; the object rounds it up), as `origin` says.
    ///
    /// Objects the driver creates itself get their data from [`shmem::Object::new`] instead.
    /// Returning an error fails the `MODE_CREATE_DUMB` or `PRIME_FD_TO_HANDLE` ioctl with it:
    /// a driver that has no dumb buffers returns `EOPNOTSUPP` here, and one can check an
    /// imported buffer (its size, its exporter) before accepting it.
    ///
    /// For an import it runs with the device's `object_name_lock` and the file's PRIME lock
    /// held: it must not create handles or export objects.
    fn create(
        dev: &drm::Device<Self::Driver>,
        size: usize,
        origin: Origin<'_>,
    ) -> impl PinInit<Self, Error>;

    /// Whether the GPU VMs that map these objects are in immediate mode
    /// ([`gpuvm`](crate::drm::gpuvm), its module documentation): a property of the objects,
    /// as the C core keeps an object's links to every VM in one list, protected by the object's
    /// `gpuva.lock` in immediate mode and by its reservation lock otherwise. All the VMs of a
    /// driver are of the one mode; a VM of the other does not build.
    const GPUVM_IMMEDIATE: bool = false;
}

/// Why the C core creates an object.
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub enum Origin<'a> {
    /// A dumb buffer for scanout (`DRM_IOCTL_MODE_CREATE_DUMB`), of this geometry.
    Dumb {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bits per pixel.
        bpp: u32,
        /// Bytes per line, as computed by the C core.
        pitch: u32,
    },
    /// The import of a dma-buf that another device (or another instance of this driver)
    /// exported (`DRM_IOCTL_PRIME_FD_TO_HANDLE`). The import of one of this device's own
    /// buffers returns the object itself and creates nothing.
    Import(&'a prime::DmaBuf),
}

/// How the CPU maps the pages of an object, in `vmap` and `mmap`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Caching {
    /// Cached: for buffers the CPU reads, and devices that snoop the CPU caches.
    Cached,
    /// Write-combined: uncached, with combined writes; for buffers the CPU mostly writes and a
    /// device that does not snoop reads.
    WriteCombined,
}

/// The `Driver::Object` of a driver without GEM objects.
pub struct NoGem;

/// What every kind of GEM object of driver [`Self::Driver`] has: a `struct drm_gem_object`, a
/// size, a device, handles and an `mmap()` offset.
///
/// Implemented by the layer's object types ([`shmem::Object`]), and sealed: the methods rely on
/// how the layer makes objects.
///
/// # Safety
///
/// * [`as_raw`](Self::as_raw) returns the `struct drm_gem_object` of `self`, initialised, of a
///   device of [`Self::Driver`], which lives as long as `self`; its refcount is the one
///   [`AlwaysRefCounted`] counts;
/// * that `struct drm_gem_object` is at the start of `Self`, so that a pointer to it is a
///   pointer to `Self`;
/// * `Self` is the `Driver::Object` of [`Self::Driver`] only if the layer's invariant (see the
///   module documentation) holds for it: every GEM object with a handle on a device of that
///   driver is a `Self`, made by the layer.
pub unsafe trait BaseObject: AlwaysRefCounted + Send + Sync + private::Sealed {
    /// The driver whose objects these are.
    type Driver: drm::Driver;

    /// The raw `struct drm_gem_object`.
    fn as_raw(&self) -> *mut bindings::drm_gem_object;

    /// The device of the object.
    fn dev(&self) -> &drm::Device<Self::Driver>;

    /// The size of the object in bytes, a multiple of the page size.
    #[inline]
    fn size(&self) -> usize {
        // SAFETY: The object is initialised (safety requirements of the trait); `size` is set at
        // init and never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Creates a handle for the object in `file`'s handle table, and returns it.
    ///
    /// The handle holds a reference to the object until it is deleted (`GEM_CLOSE`,
    /// [`delete_handle`]) or the file is closed. Each call makes a new handle.
    ///
    /// Fails with `EINVAL` when `file` is a file of another device than the object's (of the
    /// same driver): the C core keeps an object's names and exports per device.
    fn create_handle(&self, file: &drm::File<Self::Driver>) -> Result<u32> {
        // SAFETY: The file is open; its minor and the minor's device outlive it.
        if unsafe { (*(*file.client().as_raw()).minor).dev } != self.dev().as_raw() {
            return Err(EINVAL);
        }
        let mut handle = 0u32;
        // SAFETY: The object is initialised (safety requirements of the trait), and `file` is
        // an open file of its device (checked above).
        to_result(unsafe {
            bindings::drm_gem_handle_create(file.client().as_raw(), self.as_raw(), &mut handle)
        })?;
        Ok(handle)
    }

    /// Looks up the object of handle `handle` in `file`'s handle table.
    ///
    /// Fails with `ENOENT` when the file has no such handle.
    fn lookup(file: &drm::File<Self::Driver>, handle: u32) -> Result<ARef<Self>>
    where
        Self: Sized,
        Self::Driver: drm::Driver<Object = Self>,
    {
        // SAFETY: `file` is open; the lookup takes a reference to the object it returns.
        let raw = unsafe { bindings::drm_gem_object_lookup(file.client().as_raw(), handle) };
        let raw = NonNull::new(raw).ok_or(ENOENT)?;
        // SAFETY: The object has a handle in `file`, of a device of `Self::Driver`, whose
        // objects are all `Self` (the module's invariant, safety requirements of the trait),
        // with the C object at their start. (It is an object of `file`'s device: handles are
        // only made for objects of the file's device, `create_handle` and the PRIME import
        // see to it.) We own the reference the lookup took.
        Ok(unsafe { ARef::from_raw(raw.cast::<Self>()) })
    }

    /// The fake offset to give `mmap()` of the device node to map this object, as
    /// `DRM_IOCTL_MODE_MAP_DUMB` reports it; 0 for an object that cannot be mapped (a
    /// [`plain::Object`]).
    #[inline]
    fn mmap_offset(&self) -> u64 {
        // SAFETY: The object is initialised; its offset node is reset at init and, for the
        // object types that have one, added then (`drm_gem_create_mmap_offset()`), and stays
        // until the object is released.
        unsafe { bindings::drm_vma_node_offset_addr(&raw mut (*self.as_raw()).vma_node) }
    }
}

/// Whether `[offset, offset + len)` lies inside `[0, size)`: `EINVAL` if not, or if it overflows.
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub(crate) fn check_range(offset: usize, len: usize, size: usize) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(EINVAL),
    }
}

/// The GEM object type of driver `T`: what its C driver table says about GEM.
///
/// Implemented for [`NoGem`], and for [`shmem::Object<D>`] and [`plain::Object<D>`] of a `D`
/// whose driver is `T`, and sealed: a driver cannot make the C core call another driver's
/// callbacks on its device.
pub trait ObjectType<T: drm::Driver>: private::Sealed {
    #[doc(hidden)]
    const CALLBACKS: Option<DriverCallbacks>;
}

/// The C callbacks of a GEM driver, in its `struct drm_driver`.
#[doc(hidden)]
pub struct DriverCallbacks {
    pub(crate) dumb_create: Option<
        unsafe extern "C" fn(
            *mut bindings::drm_file,
            *mut bindings::drm_device,
            *mut bindings::drm_mode_create_dumb,
        ) -> c_int,
    >,
    pub(crate) gem_prime_import: Option<
        unsafe extern "C" fn(
            *mut bindings::drm_device,
            *mut bindings::dma_buf,
        ) -> *mut bindings::drm_gem_object,
    >,
}

mod private {
    pub trait Sealed {}
}

impl private::Sealed for NoGem {}

impl<T: drm::Driver> ObjectType<T> for NoGem {
    const CALLBACKS: Option<DriverCallbacks> = None;
}

#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
impl<D: DriverObject> private::Sealed for shmem::Object<D> {}

#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
impl<T: drm::Driver, D: DriverObject<Driver = T>> ObjectType<T> for shmem::Object<D> {
    const CALLBACKS: Option<DriverCallbacks> = Some(DriverCallbacks {
        dumb_create: Some(shmem::dumb_create_callback::<D>),
        gem_prime_import: Some(prime::import_callback::<D>),
    });
}

impl<D: plain::PlainObject> private::Sealed for plain::Object<D> {}

/// No dumb buffers, and no import of foreign dma-bufs: without `gem_prime_import` the C core's
/// `drm_gem_prime_import()` returns the device's own objects and refuses others, as the driver
/// has no `gem_prime_import_sg_table`.
impl<T: drm::Driver, D: plain::PlainObject<Driver = T>> ObjectType<T> for plain::Object<D> {
    const CALLBACKS: Option<DriverCallbacks> = Some(DriverCallbacks {
        dumb_create: None,
        gem_prime_import: None,
    });
}

/// Whether driver `T` has GEM objects: the source of its `DRIVER_GEM` feature.
pub(crate) const fn has_gem<T: drm::Driver>() -> bool {
    <T::Object as ObjectType<T>>::CALLBACKS.is_some()
}

/// Fills in the GEM parts of the C driver table of driver `T`.
pub(crate) const fn fill_driver<T: drm::Driver>(drv: &mut bindings::drm_driver) {
    if let Some(callbacks) = <T::Object as ObjectType<T>>::CALLBACKS {
        drv.dumb_create = callbacks.dumb_create;
        drv.gem_prime_import = callbacks.gem_prime_import;
    }
}

/// Fills in the GEM parts of the file operations of driver `T`'s nodes: `mmap()` of objects.
pub(crate) const fn fill_fops<T: drm::Driver>(fops: &mut bindings::file_operations) {
    if has_gem::<T>() {
        fops.mmap = Some(bindings::drm_gem_mmap);
        fops.get_unmapped_area = Some(bindings::drm_gem_get_unmapped_area);
    }
}

/// Deletes the handle `handle` of `file`, as `DRM_IOCTL_GEM_CLOSE` does.
///
/// The object is freed once its last reference is gone. Fails with `EINVAL` when the file has
/// no such handle.
pub fn delete_handle<T: drm::Driver>(file: &drm::File<T>, handle: u32) -> Result {
    // SAFETY: The file is open (type invariant of `File`).
    to_result(unsafe { bindings::drm_gem_handle_delete(file.client().as_raw(), handle) })
}
