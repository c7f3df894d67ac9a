// SPDX-License-Identifier: GPL-2.0 OR MIT

//! GEM: the buffer objects of a DRM driver.
//!
//! A GEM driver names its object type in [`Driver::Object`](crate::drm::Driver::Object): a
//! [`shmem::Object<D>`], memory backed by shmem pages with the driver's per-object data `D`
//! embedded. Drivers without buffers say [`NoGem`].
//!
//! Objects are reference counted ([`ARef<shmem::Object<D>>`](crate::sync::aref::ARef)); userspace
//! names them by handles, which are per file: [`shmem::Object::create_handle`] makes one and
//! [`shmem::Object::lookup`] resolves one for the file of an ioctl. The C core implements the
//! generic ioctls on top: `GEM_CLOSE`, `MODE_CREATE_DUMB` (through [`DriverObject::create`]),
//! `MODE_MAP_DUMB`, `mmap()` of the device node, and PRIME export and import ([`prime`]).
//!
//! The layer keeps this invariant, which the rest relies on: every GEM object of a
//! `Device<T>` is a `T::Object`. Objects are only ever made by this layer: by the driver through
//! [`shmem::Object::new`], and by the C core through the callbacks in `T`'s driver table, which
//! this layer fills in ([`Driver::Object`](crate::drm::Driver::Object)), never with the C
//! defaults that would allocate plain C objects.
//!
//! It has one exception, which no path that relies on it can reach: each GPU VM (`drm::gpuvm`)
//! has a reservation object that `drm_gpuvm_resv_object_alloc()` allocates as a plain GEM object of
//! the device. That object is private to its VM: it never gets a handle, a mmap offset, a
//! dma-buf or a name, so no handle lookup, PRIME import or mmap can reach it, which is where the
//! layer relies on the invariant; the layer only locks it and counts references to it.
//!
//! C header: [`include/drm/drm_gem.h`](srctree/include/drm/drm_gem.h)

use crate::{
    bindings,
    drm,
    error::to_result,
    ffi::c_int,
    prelude::*, //
};

#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod prime;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod resv;
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
pub mod shmem;

/// The per-object data of a driver's GEM objects.
#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
///
/// It is embedded in every [`shmem::Object<Self>`] and dropped when the object is freed, which
/// can be after the device was unplugged: dropping it must not need the parent to be bound.
///
/// # Examples
///
/// See [`shmem::Object`].
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

/// The callbacks of the GEM objects of driver `T` in its C driver table.
///
/// Implemented for [`NoGem`] and for [`shmem::Object<D>`] of a `D` whose driver is `T`, and
/// sealed: a driver cannot make the C core call another driver's callbacks on its device.
pub trait Objects<T: drm::Driver>: private::Sealed {
    #[doc(hidden)]
    const HOOKS: Option<Hooks>;
}

/// The C callbacks of a GEM driver.
#[doc(hidden)]
pub struct Hooks {
    pub(crate) dumb_create: unsafe extern "C" fn(
        *mut bindings::drm_file,
        *mut bindings::drm_device,
        *mut bindings::drm_mode_create_dumb,
    ) -> c_int,
    pub(crate) gem_prime_import: unsafe extern "C" fn(
        *mut bindings::drm_device,
        *mut bindings::dma_buf,
    ) -> *mut bindings::drm_gem_object,
}

mod private {
    pub trait Sealed {}
}

impl private::Sealed for NoGem {}

impl<T: drm::Driver> Objects<T> for NoGem {
    const HOOKS: Option<Hooks> = None;
}

#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
impl<D: DriverObject> private::Sealed for shmem::Object<D> {}

#[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
impl<T: drm::Driver, D: DriverObject<Driver = T>> Objects<T> for shmem::Object<D> {
    const HOOKS: Option<Hooks> = Some(Hooks {
        dumb_create: shmem::dumb_create_callback::<D>,
        gem_prime_import: prime::import_callback::<D>,
    });
}

/// Fills in the GEM parts of the C driver table of driver `T`.
pub(crate) const fn fill_driver<T: drm::Driver>(drv: &mut bindings::drm_driver) {
    if let Some(hooks) = <T::Object as Objects<T>>::HOOKS {
        drv.driver_features |= drm::Features::GEM.bits();
        drv.dumb_create = Some(hooks.dumb_create);
        drv.gem_prime_import = Some(hooks.gem_prime_import);
    }
}

/// Fills in the GEM parts of the file operations of driver `T`'s nodes: `mmap()` of objects.
pub(crate) const fn fill_fops<T: drm::Driver>(fops: &mut bindings::file_operations) {
    if <T::Object as Objects<T>>::HOOKS.is_some() {
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
