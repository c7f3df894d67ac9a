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
    bindings, device,
    devres::Devres,
    drm::{
        self,
        gem::{
            prime::{
                self,
                DmaBuf, //
            },
            resv::Resv,
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
    scatterlist::SGTable,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        SetOnce,
    },
    types::Opaque,
};
use core::{
    mem::ManuallyDrop,
    ops::Deref,
    pin::Pin,
    ptr::{
        self,
        NonNull, //
    },
};

mod pages;
pub use self::pages::CpuAccess;

/// The largest object, in bytes: the size of a shmem file and of an `mmap()` offset range must
/// fit in a `loff_t`.
pub const MAX_SIZE: usize = (i64::MAX as usize) & !(PAGE_SIZE - 1);

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
/// use kernel::{drm, drm::gem, faux, prelude::*, sync::aref::ARef};
///
/// struct Gpu;
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
/// # struct GpuFile;
/// # impl drm::DriverFile for GpuFile {
/// #     type Driver = Gpu;
/// #     fn open(_: &drm::Device<Gpu>, _: &drm::Client) -> impl PinInit<Self, Error> {
/// #         Ok::<_, Error>(GpuFile)
/// #     }
/// # }
/// #[vtable]
/// impl drm::Driver for Gpu {
///     type Data = ();
///     type File = GpuFile;
///     type Object = gem::shmem::Object<Buffer>;
///     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
///     const INFO: drm::DriverInfo = drm::DriverInfo {
///         major: 1, minor: 0, patchlevel: 0, name: c"gpu", desc: c"A GPU",
///     };
///     const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
/// }
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
    obj: Opaque<bindings::drm_gem_shmem_object>,
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
    const FUNCS: bindings::drm_gem_object_funcs = {
        let mut f: bindings::drm_gem_object_funcs = pin_init::zeroed();
        f.free = Some(free_callback::<D>);
        f.print_info = Some(print_info_callback);
        f.pin = Some(pin_callback);
        f.unpin = Some(unpin_callback);
        f.get_sg_table = Some(get_sg_table_callback);
        f.vmap = Some(vmap_callback);
        f.vunmap = Some(vunmap_callback);
        f.mmap = Some(mmap_callback);
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

    /// Creates the object of an import of `dma_buf`, attached to this device as `attach`.
    ///
    /// # Safety
    ///
    /// `attach` must be an attachment of `dma_buf` to `dev`'s parent, and the caller must own
    /// a reference to `dma_buf`: on success both are handed over to the object, which detaches
    /// and puts them when it is freed (`drm_prime_gem_destroy()`).
    pub(super) unsafe fn new_imported(
        dev: &Device<D::Driver>,
        dma_buf: &DmaBuf,
        attach: *mut bindings::dma_buf_attachment,
        data: impl PinInit<D, Error>,
    ) -> Result<ARef<Self>> {
        let size = page_aligned(dma_buf.size())?;
        let raw = Self::alloc(dev, data)?;
        // SAFETY: `raw` is a fresh, exclusively owned `Self`; `obj` is zeroed.
        let shmem = unsafe { (*raw.as_ptr()).obj.get() };
        // SAFETY: `shmem` is valid and not shared yet. The reservation object must be set
        // before `drm_gem_private_object_init()`, which keeps a non-NULL one; the dma-buf outlives
        // the object since the object owns a reference to it.
        unsafe {
            let obj = &raw mut (*shmem).base;
            (*obj).funcs = &Self::FUNCS;
            (*obj).resv = (*dma_buf.as_raw()).resv;
            bindings::drm_gem_private_object_init(dev.as_raw(), obj, size);
            bindings::INIT_LIST_HEAD(&raw mut (*shmem).madv_list);
        }
        // SAFETY: `shmem` is initialised as a private object.
        let ret = unsafe { bindings::drm_gem_create_mmap_offset(&raw mut (*shmem).base) };
        if let Err(e) = to_result(ret) {
            // SAFETY: Undoes `drm_gem_private_object_init()`; nothing else refers to the object,
            // and `import_attach` is not set, so the caller keeps the attachment.
            unsafe {
                bindings::drm_gem_private_object_fini(&raw mut (*shmem).base);
                drop(KBox::from_raw(raw.as_ptr()));
            }
            return Err(e);
        }
        // INVARIANT: the C object is initialised with our `funcs`, in a `KBox`.
        // SAFETY: From here on the object owns the attachment and the dma-buf reference (safety
        // requirements), which its release gives back.
        unsafe { (*shmem).base.import_attach = attach };
        // SAFETY: We own the initial GEM reference; `ARef` takes it over.
        Ok(unsafe { ARef::from_raw(raw) })
    }

    /// Allocates the `KBox` of a new object with a zeroed C part, and leaks it.
    fn alloc(dev: &Device<D::Driver>, data: impl PinInit<D, Error>) -> Result<NonNull<Self>> {
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
    fn as_shmem(&self) -> *mut bindings::drm_gem_shmem_object {
        self.obj.get()
    }

    /// The device of the object.
    #[inline]
    pub fn dev(&self) -> &Device<D::Driver> {
        &self.dev
    }

    /// The size of the object in bytes, a multiple of the page size.
    #[inline]
    pub fn size(&self) -> usize {
        // SAFETY: `size` is set at init and never changes.
        unsafe { (*self.as_raw()).size }
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

    /// Creates a handle for the object in `file`'s handle table, and returns it.
    ///
    /// The handle holds a reference to the object until it is deleted (`GEM_CLOSE`,
    /// [`delete_handle`](super::delete_handle)) or the file is closed. Each call makes a new
    /// handle.
    ///
    /// Fails with `EINVAL` when `file` is a file of another device than the object's (of the
    /// same driver): the C core keeps an object's names and exports per device.
    pub fn create_handle(&self, file: &drm::File<D::Driver>) -> Result<u32> {
        // SAFETY: The file is open; its minor and the minor's device outlive it.
        if unsafe { (*(*file.client().as_raw()).minor).dev } != self.dev.as_raw() {
            return Err(EINVAL);
        }
        let mut handle = 0u32;
        // SAFETY: The object is initialised, and `file` is an open file of its device (checked
        // above).
        to_result(unsafe {
            bindings::drm_gem_handle_create(file.client().as_raw(), self.as_raw(), &mut handle)
        })?;
        Ok(handle)
    }

    /// Looks up the object of handle `handle` in `file`'s handle table.
    ///
    /// Fails with `ENOENT` when the file has no such handle.
    pub fn lookup(file: &drm::File<D::Driver>, handle: u32) -> Result<ARef<Self>> {
        // SAFETY: `file` is open; the lookup takes a reference to the object it returns.
        let raw = unsafe { bindings::drm_gem_object_lookup(file.client().as_raw(), handle) };
        if raw.is_null() {
            return Err(ENOENT);
        }
        // INVARIANT: every GEM object of a device of `D::Driver` that has a handle is an
        // `Object<D>`: the layer creates all of them, and the only other kind, a GPU VM's
        // reservation object, never gets a handle (see the module documentation of `gem`).
        // SAFETY: We own the reference the lookup took.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast::<Self>())) })
    }

    /// The fake offset to give `mmap()` of the device node to map this object, as
    /// `DRM_IOCTL_MODE_MAP_DUMB` reports it.
    pub fn mmap_offset(&self) -> u64 {
        // SAFETY: The offset node was added at init (`drm_gem_create_mmap_offset()`) and stays
        // until the object is released.
        unsafe { bindings::drm_vma_node_offset_addr(&raw mut (*self.as_raw()).vma_node) }
    }

    /// Maps the object into the kernel's address space, allocating and pinning its pages (or,
    /// for an import, asking the exporter for a mapping).
    ///
    /// The mapping is reachable only through the returned guard and lives until the guard is
    /// dropped; mappings are counted, so guards of the same object share one.
    ///
    /// Takes the object's reservation lock (for an import, the exporter's, which the exporter's
    /// own object shares), so it must not be called with that lock held, by a [`ResvGuard`] or
    /// an [`Exec`]: the task would wait for itself. Dropping the guard takes it too.
    ///
    /// [`ResvGuard`]: super::resv::ResvGuard
    /// [`Exec`]: super::resv::Exec
    pub fn vmap(&self) -> Result<VMap<D>> {
        let mut map: bindings::iosys_map = pin_init::zeroed();
        {
            let _guard = self.resv().lock_interruptible()?;
            // SAFETY: The reservation lock is held, as `drm_gem_shmem_vmap_locked()` requires.
            to_result(unsafe { bindings::drm_gem_shmem_vmap_locked(self.as_shmem(), &mut map) })?;
        }
        // An import's mapping is the exporter's: of the dma-buf's size, which need not be
        // page aligned like the object's.
        let len = self
            .dma_buf_imported()
            .map_or(self.size(), |buf| buf.size());
        // INVARIANT: `map` is a live mapping of `len` bytes of the object, counted in
        // `vmap_use_count`.
        Ok(VMap {
            obj: self.into(),
            map,
            len,
        })
    }

    /// The scatter/gather table of the object, mapped for DMA by the device's parent `parent`.
    ///
    /// For an object of this device, it allocates and pins the pages; for an import, it maps the
    /// dma-buf for this device. The mapping is made once and belongs to the parent's binding:
    /// it is undone when the parent unbinds (or when the object is freed, if that comes first),
    /// so no DMA mapping outlives the binding it was made for. The table is borrowed for as
    /// long as `parent`, the proof that the binding lasts. After the unbind, the object has no
    /// mapping for the device any more: a later call fails with `ENXIO`.
    ///
    /// Takes the object's reservation lock: not to be called with it held (see
    /// [`vmap`](Self::vmap)).
    ///
    /// Fails with `EINVAL` when `parent` is not the parent of the object's device, with
    /// `EOPNOTSUPP` when the parent has no DMA mask (it cannot do DMA: a faux device, unless
    /// the driver gives it one), with `ENXIO` after an unbind, and with `ENOMEM`.
    pub fn sg_table<'a>(
        &'a self,
        parent: &'a device::Device<device::Bound>,
    ) -> Result<&'a SGTable> {
        // SAFETY: The device and its parent live as long as the object.
        let raw_parent = unsafe { (*self.dev.as_raw()).dev };
        if parent.as_raw() != raw_parent {
            return Err(EINVAL);
        }
        // SAFETY: As above; the mask pointer is set up before the device is bound.
        if unsafe { (*raw_parent).dma_mask.is_null() } {
            return Err(EOPNOTSUPP);
        }
        if self.sgt.as_ref().is_none() {
            // The reservation lock orders the first calls: one of them registers the release.
            let _guard = self.resv().lock_interruptible()?;
            if self.sgt.as_ref().is_none() {
                // INVARIANT: the release is kept in `self.sgt`, so it lives as long as `self`
                // at most.
                let release = Devres::new(parent, Ok::<_, Error>(SgtRelease { obj: self.into() }))?;
                // Cannot fail: the set is empty, and only filled under the lock.
                self.sgt.populate(release);
            }
        }
        // A release that is not revoked was registered in the current binding (an unbind
        // revokes every release of its binding), so it is not revoked before `parent` goes.
        let bound = self
            .sgt
            .as_ref()
            .is_some_and(|release| release.try_access().is_some());
        if !bound {
            return Err(ENXIO);
        }
        let sgt = match self.dma_buf_imported() {
            None => {
                // SAFETY: The object is initialised and not imported; the helper takes the
                // reservation lock itself, and keeps the table in `shmem->sgt`.
                let sgt = unsafe { bindings::drm_gem_shmem_get_pages_sgt(self.as_shmem()) };
                crate::error::from_err_ptr(sgt)?
            }
            Some(_) => {
                let _guard = self.resv().lock_interruptible()?;
                // SAFETY: `sgt` is only written under the reservation lock held above.
                let cached = unsafe { (*self.as_shmem()).sgt };
                if cached.is_null() {
                    // SAFETY: The object owns the attachment; the reservation lock of the
                    // dma-buf is held, as `dma_buf_map_attachment()` requires.
                    let sgt = unsafe { prime::map_attachment((*self.as_raw()).import_attach) }?;
                    // SAFETY: Under the reservation lock, see above.
                    unsafe { (*self.as_shmem()).sgt = sgt };
                    sgt
                } else {
                    cached
                }
            }
        };
        // SAFETY: The table is unmapped only by `SgtRelease`, at the unbind of `parent` (not
        // before `'a` ends) or when the object is freed (not before `&'a self` ends).
        Ok(unsafe { SGTable::from_raw(sgt) })
    }
}

/// Undoes an object's DMA mapping for its device's parent: at unbind (devres), or when the
/// object is freed, whichever comes first.
///
/// # Invariants
///
/// `obj` is the object whose `sgt` holds this release: it lives as long as the release.
struct SgtRelease<D: DriverObject> {
    obj: NonNull<Object<D>>,
}

// SAFETY: The release only unmaps the object's table, under its reservation lock; the object is
// `Sync`, so this may run on any thread.
unsafe impl<D: DriverObject> Send for SgtRelease<D> {}

impl<D: DriverObject> Drop for SgtRelease<D> {
    fn drop(&mut self) {
        // SAFETY: The object lives as long as its release (type invariant).
        let obj = unsafe { self.obj.as_ref() };
        // Not interruptible: the mapping must go.
        let _guard = obj.resv().lock();
        let shmem = obj.as_shmem();
        // SAFETY: `sgt` is only written under the reservation lock, which is held.
        if unsafe { (*shmem).sgt.is_null() } {
            return;
        }
        match obj.dma_buf_imported() {
            // SAFETY: The table was mapped by `drm_gem_shmem_get_pages_sgt()` for the parent;
            // the lock is held. The helper clears `sgt`; the pages stay counted until the object
            // is released.
            None => unsafe { bindings::__drm_gem_shmem_free_sgt_locked(shmem) },
            // SAFETY: The table was mapped through the object's attachment, whose dma-buf's
            // lock is held; cleared, so the object's release does not unmap it again.
            Some(_) => unsafe {
                prime::unmap_attachment((*obj.as_raw()).import_attach, (*shmem).sgt);
                (*shmem).sgt = ptr::null_mut();
            },
        }
    }
}

/// Whether `[offset, offset + len)` lies inside `[0, size)`: `EINVAL` if not, or if it overflows.
fn check_range(offset: usize, len: usize, size: usize) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(EINVAL),
    }
}

/// Rounds `size` up to whole pages, refusing zero and sizes above [`MAX_SIZE`].
fn page_aligned(size: usize) -> Result<usize> {
    if size == 0 || size > MAX_SIZE {
        return Err(EINVAL);
    }
    // Cannot overflow: `MAX_SIZE` is page aligned and far below `usize::MAX`.
    Ok(size.next_multiple_of(PAGE_SIZE))
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

/// A kernel mapping of an [`Object`]: the pages are mapped and pinned while it lives.
///
/// The memory may be mapped by userspace and by devices at the same time, so it is never
/// handed out as a Rust slice: it is read and written by copies, which check the bounds.
///
/// # Invariants
///
/// `map` is a live mapping of the first `len` bytes of `obj` (all of it, or for an import, the
/// dma-buf's size), counted in the object's `vmap_use_count`.
pub struct VMap<D: DriverObject> {
    obj: ARef<Object<D>>,
    map: bindings::iosys_map,
    len: usize,
}

// SAFETY: The mapping is a kernel virtual address, valid on every CPU; unmapping takes the
// object's reservation lock, which any thread may do.
unsafe impl<D: DriverObject> Send for VMap<D> {}
// SAFETY: Reads and writes through `&VMap` are copies the caller orders itself, as with any
// memory shared with userspace and devices.
unsafe impl<D: DriverObject> Sync for VMap<D> {}

impl<D: DriverObject> VMap<D> {
    /// The mapped object.
    #[inline]
    pub fn object(&self) -> &Object<D> {
        &self.obj
    }

    /// The length of the mapping: the size of the object, or for an import, the size of the
    /// dma-buf (the object's is rounded up to whole pages).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: objects have at least one page).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the mapping is I/O memory (an import from a device's VRAM, say).
    #[inline]
    pub fn is_iomem(&self) -> bool {
        self.map.is_iomem
    }

    fn check(&self, offset: usize, len: usize) -> Result {
        check_range(offset, len, self.len())
    }

    /// Copies `buf.len()` bytes at `offset` of the object into `buf`.
    ///
    /// Fails with `EINVAL` when the range is not inside the object.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        self.check(offset, buf.len())?;
        // SAFETY: The range is inside the live mapping (type invariant), and `buf` is valid
        // for writes of its length.
        unsafe {
            bindings::iosys_map_memcpy_from(buf.as_mut_ptr().cast(), &self.map, offset, buf.len())
        };
        Ok(())
    }

    /// Copies `buf` into the object at `offset`.
    ///
    /// Fails with `EINVAL` when the range is not inside the object.
    pub fn write(&self, offset: usize, buf: &[u8]) -> Result {
        self.check(offset, buf.len())?;
        // SAFETY: The range is inside the live mapping (type invariant), and `buf` is valid
        // for reads of its length. `iosys_map_memcpy_to()` does not change `map`.
        unsafe {
            bindings::iosys_map_memcpy_to(
                (&raw const self.map).cast_mut(),
                offset,
                buf.as_ptr().cast(),
                buf.len(),
            )
        };
        Ok(())
    }

    /// Sets `len` bytes at `offset` of the object to `value`.
    ///
    /// Fails with `EINVAL` when the range is not inside the object.
    pub fn fill(&self, offset: usize, len: usize, value: u8) -> Result {
        self.check(offset, len)?;
        // SAFETY: The range is inside the live mapping (type invariant); `iosys_map_memset()`
        // does not change `map`.
        unsafe {
            bindings::iosys_map_memset((&raw const self.map).cast_mut(), offset, value.into(), len)
        };
        Ok(())
    }
}

impl<D: DriverObject> VMap<D> {
    /// Copies `len` bytes at `src_offset` of `src` to `offset` of this mapping, as `memmove()`
    /// does (the ranges may overlap, within one object).
    ///
    /// Fails with `EINVAL` when a range is not inside its mapping.
    pub fn copy_from<E: DriverObject>(
        &self,
        offset: usize,
        src: &VMap<E>,
        src_offset: usize,
        len: usize,
    ) -> Result {
        self.check(offset, len)?;
        src.check(src_offset, len)?;
        if !self.is_iomem() && !src.is_iomem() {
            // The C `memmove()`, not a Rust copy: userspace and devices may access the memory
            // meanwhile, which a Rust copy's semantics do not allow (as `read` and `write` go
            // through the C `memcpy()`).
            // SAFETY: Both mappings are of system memory (checked above), so `vaddr` is the
            // union field in use.
            let (to, from) = unsafe {
                (
                    self.map.__bindgen_anon_1.vaddr.cast::<u8>(),
                    src.map.__bindgen_anon_1.vaddr.cast::<u8>(),
                )
            };
            // SAFETY: Both ranges are inside live mappings (checked above, type invariants);
            // `memmove()` handles overlap.
            unsafe { bindings::memmove(to.add(offset).cast(), from.add(src_offset).cast(), len) };
            return Ok(());
        }
        // I/O memory on either side: through a bounce buffer, front to back (mappings of
        // different objects do not overlap; I/O memory is not mapped twice in one object).
        let mut buf = [0u8; 256];
        let mut done = 0;
        while done < len {
            let n = buf.len().min(len - done);
            src.read(src_offset + done, &mut buf[..n])?;
            self.write(offset + done, &buf[..n])?;
            done += n;
        }
        Ok(())
    }
}

impl<D: DriverObject> Drop for VMap<D> {
    fn drop(&mut self) {
        // Not interruptible: the mapping must go.
        let _guard = self.obj.resv().lock();
        // SAFETY: The reservation lock is held; `map` is a mapping of the object (type
        // invariant), given back once.
        unsafe { bindings::drm_gem_shmem_vunmap_locked(self.obj.as_shmem(), &mut self.map) };
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

/// `drm_gem_object_funcs.print_info`.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn print_info_callback(
    p: *mut bindings::drm_printer,
    indent: u32,
    obj: *const bindings::drm_gem_object,
) {
    // SAFETY: Called by the C core with a live shmem object and printer.
    unsafe { bindings::drm_gem_shmem_print_info(shmem_of(obj), p, indent) };
}

/// `drm_gem_object_funcs.pin`, called with the reservation lock held.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn pin_callback(obj: *mut bindings::drm_gem_object) -> c_int {
    // SAFETY: Called by the C core with a live shmem object and its reservation lock held.
    unsafe { bindings::drm_gem_shmem_pin_locked(shmem_of(obj)) }
}

/// `drm_gem_object_funcs.unpin`, called with the reservation lock held.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn unpin_callback(obj: *mut bindings::drm_gem_object) {
    // SAFETY: As for `pin_callback`, for a pinned object.
    unsafe { bindings::drm_gem_shmem_unpin_locked(shmem_of(obj)) }
}

/// `drm_gem_object_funcs.get_sg_table`: the pages as a table, for a PRIME exporter.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn get_sg_table_callback(
    obj: *mut bindings::drm_gem_object,
) -> *mut bindings::sg_table {
    // SAFETY: Called by the C core with a live, pinned shmem object.
    unsafe { bindings::drm_gem_shmem_get_sg_table(shmem_of(obj)) }
}

/// `drm_gem_object_funcs.vmap`, called with the reservation lock held.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn vmap_callback(
    obj: *mut bindings::drm_gem_object,
    map: *mut bindings::iosys_map,
) -> c_int {
    // SAFETY: Called by the C core with a live shmem object, its reservation lock held.
    unsafe { bindings::drm_gem_shmem_vmap_locked(shmem_of(obj), map) }
}

/// `drm_gem_object_funcs.vunmap`, called with the reservation lock held.
///
/// # Safety
///
/// Called by the C core only, through the `funcs` of an [`Object`], with the GEM object of a
/// live `drm_gem_shmem_object` and the locks and arguments the C callback documents.
unsafe extern "C" fn vunmap_callback(
    obj: *mut bindings::drm_gem_object,
    map: *mut bindings::iosys_map,
) {
    // SAFETY: Called by the C core with a mapping of `vmap_callback`, the lock held.
    unsafe { bindings::drm_gem_shmem_vunmap_locked(shmem_of(obj), map) }
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
        gem::{
            delete_handle,
            resv::Exec, //
        },
        testing::{
            GemDevice,
            Minor,
            MockFile,
            TestBo,
            LIVE_BOS, //
        },
    };
    use crate::sync::atomic::Relaxed;

    fn bo(dev: &GemDevice, size: usize, tag: usize) -> Result<ARef<Object<TestBo>>> {
        Object::new(&dev.dev, size, Caching::Cached, TestBo::new(tag))
    }

    fn live() -> i64 {
        LIVE_BOS.load(Relaxed)
    }

    fn vmap_count(obj: &Object<TestBo>) -> u32 {
        // SAFETY: The object is live; an atomic read of the counter.
        let c = unsafe { core::ptr::read_volatile(&raw const (*obj.as_shmem()).vmap_use_count) };
        // CAST: the counter of a `refcount_t` is a non-negative `int`.
        c.refs.counter as u32
    }

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

    #[test]
    fn vmap_guard() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let a = bo(&t, 2 * PAGE_SIZE, 0)?;
        assert_eq!(vmap_count(&a), 0);
        let m1 = a.vmap()?;
        let m2 = a.vmap()?;
        assert_eq!(vmap_count(&a), 2);
        assert_eq!(m1.len(), 2 * PAGE_SIZE);
        assert!(!m1.is_iomem() && !m1.is_empty());
        // New objects are zeroed; both guards see the same memory.
        let mut buf = [0xffu8; 8];
        m1.read(PAGE_SIZE - 4, &mut buf)?;
        assert_eq!(buf, [0; 8]);
        m1.write(PAGE_SIZE - 4, b"abcdefgh")?;
        m2.read(PAGE_SIZE - 4, &mut buf)?;
        assert_eq!(&buf, b"abcdefgh");
        m2.fill(PAGE_SIZE, 2, b'z')?;
        m1.read(PAGE_SIZE - 4, &mut buf)?;
        assert_eq!(&buf, b"abcdzzgh");
        // Bounds, including overflowing ones.
        assert_eq!(m1.write(2 * PAGE_SIZE - 1, b"ab"), Err(EINVAL));
        assert_eq!(m1.read(usize::MAX, &mut buf), Err(EINVAL));
        assert_eq!(m1.fill(1, usize::MAX, 0), Err(EINVAL));
        m1.write(2 * PAGE_SIZE, b"")?;
        drop(m1);
        assert_eq!(vmap_count(&a), 1);
        // The guard keeps the object alive.
        drop(a);
        m2.read(PAGE_SIZE - 4, &mut buf)?;
        assert_eq!(&buf, b"abcdzzgh");
        assert!(m2.object().size() == 2 * PAGE_SIZE);
        drop(m2);
        Ok(())
    }

    #[test]
    fn sg_table() -> Result {
        // A parent without a DMA mask cannot map: refused, without a warning.
        let nodma = GemDevice::new(c"rust-drm-kunit-gem-nodma", false)?;
        let nodma_bo = bo(&nodma, PAGE_SIZE, 0)?;
        assert_eq!(
            nodma_bo.sg_table(nodma.bound_parent()?).err(),
            Some(EOPNOTSUPP)
        );

        let t = GemDevice::new(c"rust-drm-kunit-gem", true)?;
        let a = bo(&t, 5 * PAGE_SIZE, 0)?;
        // Only with the proof that the object's own parent is bound.
        assert_eq!(a.sg_table(nodma.bound_parent()?).err(), Some(EINVAL));
        let sgt = a.sg_table(t.bound_parent()?)?;
        let total: u64 = sgt.iter().map(|e| e.dma_len()).sum();
        assert_eq!(total, 5 * PAGE_SIZE as u64);
        assert!(sgt.iter().all(|e| e.dma_address() != 0));
        // Made once: the same table again.
        assert!(core::ptr::eq(sgt, a.sg_table(t.bound_parent()?)?));
        Ok(())
    }

    /// Page-wise access: across page boundaries, the same bytes as the kernel mapping, and only
    /// the pages of the range allocated.
    #[test]
    fn page_wise_access() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let a = bo(&t, 3 * PAGE_SIZE, 0)?;
        // SAFETY: The object is live and has its shmem file; a plain read, for the test.
        let pages = || unsafe { (*(*(*a.as_raw()).filp).f_mapping).nrpages };
        let mut msg = [0u8; 100];
        for (i, b) in msg.iter_mut().enumerate() {
            *b = i as u8;
        }
        let access = a.cpu_access()?;
        assert_eq!(pages(), 0);
        // Across the first page boundary: two pages, not three.
        access.write(PAGE_SIZE - 50, &msg)?;
        assert_eq!(pages(), 2);
        let mut back = [0u8; 100];
        access.read(PAGE_SIZE - 50, &mut back)?;
        assert_eq!(back, msg);
        // A page never written reads as zeroes.
        access.read(2 * PAGE_SIZE, &mut back)?;
        assert!(back.iter().all(|b| *b == 0));
        assert_eq!(pages(), 3);
        // The kernel mapping sees the same bytes.
        let map = a.vmap()?;
        map.read(PAGE_SIZE - 50, &mut back)?;
        assert_eq!(back, msg);
        drop(map);
        for (offset, len) in [(3 * PAGE_SIZE, 1), (3 * PAGE_SIZE - 1, 2), (usize::MAX, 2)] {
            assert_eq!(access.write(offset, &msg[..len]), Err(EINVAL));
            assert_eq!(access.read(offset, &mut back[..len]), Err(EINVAL));
        }
        Ok(())
    }

    /// The DMA mapping ends with the parent's binding, not with the object.
    #[test]
    fn sg_table_unmapped_at_unbind() -> Result {
        let base = live();
        let mut t = GemDevice::new(c"rust-drm-kunit-gem", true)?;
        let (a, b) = (bo(&t, 3 * PAGE_SIZE, 0)?, bo(&t, PAGE_SIZE, 0)?);
        let mapped = |o: &Object<TestBo>| {
            // SAFETY: The object is live; a plain read of the pointer, for the test.
            !unsafe { (*o.as_shmem()).sgt }.is_null()
        };
        a.sg_table(t.bound_parent()?)?;
        assert!(mapped(&a));
        // `b` is mapped and freed while the parent is bound: its release goes with it.
        b.sg_table(t.bound_parent()?)?;
        drop(b);
        // The unbind (the faux device goes) unmaps `a`, which lives on.
        drop(t.reg.take());
        drop(t.parent.take());
        assert!(!mapped(&a));
        assert_eq!(live(), base + 1);
        drop(a);
        assert_eq!(live(), base);
        Ok(())
    }

    #[test]
    fn prime() -> Result {
        let ta = GemDevice::new(c"rust-drm-kunit-gem-a", false)?;
        let mut tb = GemDevice::new(c"rust-drm-kunit-gem-b", true)?;
        let base = live();
        let fa = MockFile::open(&ta.dev, Minor::Primary)?;
        let a = bo(&ta, 3 * PAGE_SIZE, 7)?;
        a.vmap()?.write(PAGE_SIZE, b"from a")?;
        let h = a.create_handle(fa.file())?;
        let buf = Object::<TestBo>::export(fa.file(), h)?;
        assert_eq!(buf.size(), 3 * PAGE_SIZE);
        // DRM exports are made by the DRM core, for every driver.
        assert_eq!(buf.exporter().to_bytes(), b"drm");
        assert_eq!(
            Object::<TestBo>::export(fa.file(), h + 1).err(),
            Some(ENOENT)
        );
        // The same dma-buf on every export.
        assert!(core::ptr::eq(
            &*buf,
            &*Object::<TestBo>::export(fa.file(), h)?
        ));
        let mut back = [0u8; 6];
        buf.read(PAGE_SIZE, &mut back)?;
        assert_eq!(&back, b"from a");
        assert_eq!(buf.read(3 * PAGE_SIZE - 1, &mut back), Err(EINVAL));

        // Self-import: the object itself, no new data.
        let same = Object::<TestBo>::import(&ta.dev, &buf)?;
        assert!(core::ptr::eq(&*same, &*a));
        assert_eq!(live(), base + 1);

        // Import into another device: a new object over the same pages.
        let b = Object::<TestBo>::import(&tb.dev, &buf)?;
        assert_eq!(live(), base + 2);
        assert!(b.is_imported() && b.imported && b.tag == 3 * PAGE_SIZE);
        assert!(core::ptr::eq(b.dma_buf_imported().ok_or(EINVAL)?, &*buf));
        assert_eq!(b.size(), a.size());
        let map = b.vmap()?;
        map.read(PAGE_SIZE, &mut back)?;
        assert_eq!(&back, b"from a");
        map.write(0, b"from b")?;
        a.vmap()?.read(0, &mut back)?;
        assert_eq!(&back, b"from b");
        drop(map);
        // The importer maps the pages for its own DMA.
        let total: u64 = b
            .sg_table(tb.bound_parent()?)?
            .iter()
            .map(|e| e.dma_len())
            .sum();
        assert_eq!(total, 3 * PAGE_SIZE as u64);
        // Page-wise access to an import goes through one mapping of the dma-buf.
        let access = b.cpu_access()?;
        access.read(PAGE_SIZE, &mut back)?;
        assert_eq!(&back, b"from a");
        access.write(2 * PAGE_SIZE, b"via cpu")?;
        drop(access);
        let mut seven = [0u8; 7];
        a.cpu_access()?.read(2 * PAGE_SIZE, &mut seven)?;
        assert_eq!(&seven, b"via cpu");
        // The importer's unbind unmaps the attachment's table; the import lives on.
        drop(tb.reg.take());
        drop(tb.parent.take());
        // SAFETY: The object is live; a plain read of the pointer, for the test.
        assert!(unsafe { (*b.as_shmem()).sgt }.is_null());

        // The import holds the dma-buf, which holds the exporter's object.
        drop((same, a, buf, fa));
        assert_eq!(live(), base + 2);
        drop(b);
        // The last dma-buf reference went from a kernel thread: its file is released by the
        // delayed fput work, which puts the exporter's object.
        // SAFETY: No lock is held.
        unsafe { bindings::flush_delayed_fput() };
        assert_eq!(live(), base);
        Ok(())
    }

    #[test]
    fn exec_locks() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let objs = [
            bo(&t, PAGE_SIZE, 0)?,
            bo(&t, PAGE_SIZE, 1)?,
            bo(&t, PAGE_SIZE, 2)?,
        ];
        let mut rounds = 0;
        for _ in 0..50 {
            let (locked, r) = Exec::lock_all(true, |l| {
                rounds += 1;
                l.lock(&objs[2])?;
                l.prepare(&objs[0], 2)?;
                l.lock(&objs[1])?;
                // Twice is not an error.
                l.lock(&objs[2])?;
                Ok(7)
            })?;
            assert_eq!((locked.num_locked(), r), (3, 7));
        }
        // Every round that did not finish was retried (contention is injected with
        // CONFIG_DEBUG_WW_MUTEX_SLOWPATH).
        assert!(rounds >= 50);
        // An error unlocks everything: the locks can be taken again.
        assert_eq!(
            Exec::lock_all(false, |l| {
                l.lock(&objs[0])?;
                Err::<(), _>(ENOSPC)
            })
            .err(),
            Some(ENOSPC)
        );
        let g = objs[0].resv().lock_interruptible()?;
        g.reserve_fences(1)?;
        drop(g);
        drop(objs[1].resv().lock());
        Ok(())
    }

    /// The first failed lock call of a round is the caller's error, even when the closure
    /// ignores it and passes on a later one, or returns `Ok`.
    #[test]
    fn exec_keeps_the_first_lock_error() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let a = bo(&t, PAGE_SIZE, 0)?;
        let failing_lock =
            |l: &mut crate::drm::gem::resv::Locker<'_, '_>| l.call_raw(|_| EINTR.to_errno());
        let passes_on_the_second = Exec::lock_all(true, |l| {
            let _ = failing_lock(l);
            l.lock(&a)
        });
        assert_eq!(passes_on_the_second.err(), Some(EINTR));
        let ignores_all = Exec::lock_all(true, |l| {
            let _ = failing_lock(l);
            let _ = l.lock(&a);
            Ok(())
        });
        assert_eq!(ignores_all.err(), Some(EINTR));
        // Nothing stayed locked.
        drop(a.resv().lock());
        Ok(())
    }
}
