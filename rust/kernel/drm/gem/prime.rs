// SPDX-License-Identifier: GPL-2.0 OR MIT

//! PRIME: sharing GEM objects between devices and processes as dma-bufs.
//!
//! The C core implements the two ioctls for every GEM driver of this layer:
//!
//! * `DRM_IOCTL_PRIME_HANDLE_TO_FD` exports an object as a dma-buf (one per object, kept while
//!   the object or the dma-buf lives), whose exporter callbacks are the C core's generic ones on
//!   top of the object's pages;
//! * `DRM_IOCTL_PRIME_FD_TO_HANDLE` imports a dma-buf: one of this device's own gives back its
//!   object, and a foreign one becomes a new object of the driver, with data from
//!   [`DriverObject::create`] and [`Origin::Import`], which may look at the [`DmaBuf`] and refuse
//!   it.
//!
//! Imports are attached to the device but not mapped for DMA until the driver asks for the
//! object's [`sg_table`](super::shmem::Object::sg_table): a device without DMA (e.g. on a faux
//! parent) can still import buffers and reach them through the CPU.
//!
//! C header: [`include/drm/drm_prime.h`](srctree/include/drm/drm_prime.h)

use crate::{
    alloc::KBox,
    bindings,
    drm::{
        self,
        gem::{
            shmem::Object,
            DriverObject,
            Origin, //
        },
        Device, //
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
    types::Opaque,
};
use core::ptr::NonNull;

/// A dma-buf: a buffer shared between devices, drivers and processes.
///
/// # Invariants
///
/// The wrapped `struct dma_buf` is live for the lifetime of the reference.
#[repr(transparent)]
pub struct DmaBuf(Opaque<bindings::dma_buf>);

// SAFETY: dma-bufs are reference counted and their operations thread safe.
unsafe impl Send for DmaBuf {}
// SAFETY: As above; `&DmaBuf` only reads immutable fields or calls thread-safe functions.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    /// # Safety
    ///
    /// `ptr` must be a live `struct dma_buf` for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::dma_buf) -> &'a Self {
        // SAFETY: Transparent wrapper, live by the safety requirements.
        unsafe { &*ptr.cast() }
    }

    /// The raw `struct dma_buf`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// The size of the buffer in bytes.
    #[inline]
    pub fn size(&self) -> usize {
        // SAFETY: `size` is set at export and never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// The name of the exporting module: `c"drm"` for the PRIME exports of every DRM driver
    /// (made by the DRM core), e.g. `c"system"` for a buffer of the system dma-buf heap.
    pub fn exporter(&self) -> &CStr {
        // SAFETY: `exp_name` is a static string set at export.
        unsafe { CStr::from_char_ptr((*self.as_raw()).exp_name) }
    }

    /// Maps the buffer into the kernel's address space through the exporter, and copies
    /// `buf.len()` bytes at `offset` into `buf`.
    ///
    /// Fails with `EINVAL` when the range is not inside the buffer or the exporter has no
    /// kernel mappings, and with the exporter's error when it cannot map it (`ENOMEM`). Takes
    /// the dma-buf's reservation lock: not to be called with it held.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        super::check_range(offset, buf.len(), self.size())?;
        let mut map: bindings::iosys_map = pin_init::zeroed();
        // SAFETY: The dma-buf is live; the reservation lock is not held by us.
        to_result(unsafe { bindings::dma_buf_vmap_unlocked(self.as_raw(), &mut map) })?;
        // SAFETY: `map` maps the whole buffer, the range is inside it, and `buf` is valid for
        // writes of its length.
        unsafe {
            bindings::iosys_map_memcpy_from(buf.as_mut_ptr().cast(), &map, offset, buf.len())
        };
        // SAFETY: `map` comes from the `dma_buf_vmap_unlocked()` above.
        unsafe { bindings::dma_buf_vunmap_unlocked(self.as_raw(), &mut map) };
        Ok(())
    }
}

// SAFETY: `get_dma_buf()`/`dma_buf_put()` maintain the refcount of the dma-buf's file; the
// dma-buf is freed only when it drops to zero.
unsafe impl AlwaysRefCounted for DmaBuf {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::get_dma_buf(self.as_raw()) };
    }

    // Not `#[inline]`, nor are the other users of `DMA_BUF` symbols here: compiled in the kernel
    // crate, they spare drivers built as modules a `MODULE_IMPORT_NS("DMA_BUF")`.
    #[inline(never)]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::dma_buf_put(obj.as_ref().as_raw()) };
    }
}

impl<D: DriverObject> Object<D> {
    /// Exports the object as a dma-buf, the one `DRM_IOCTL_PRIME_HANDLE_TO_FD` gives for its
    /// handle `handle` in `file`, creating it on first export.
    ///
    /// Fails with `ENOENT` when `file` has no such handle.
    pub fn export(file: &drm::File<D::Driver>, handle: u32) -> Result<ARef<DmaBuf>> {
        // SAFETY: The file is open and of a device of `D::Driver`; the function returns a new
        // reference to the dma-buf.
        let raw = from_err_ptr(unsafe {
            bindings::drm_gem_prime_handle_to_dmabuf(
                (*(*file.client().as_raw()).minor).dev,
                file.client().as_raw(),
                handle,
                bindings::O_CLOEXEC | bindings::O_RDWR,
            )
        })?;
        // SAFETY: We own the reference the export returned.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast::<DmaBuf>())) })
    }

    /// Imports `dma_buf` into `dev`, as `DRM_IOCTL_PRIME_FD_TO_HANDLE` does: one of `dev`'s own
    /// dma-bufs gives back its object, a foreign one becomes a new object.
    ///
    /// Unlike the ioctl, it creates no handle and does not remember the import in a file: each
    /// call on a foreign dma-buf makes a new object.
    pub fn import(dev: &Device<D::Driver>, dma_buf: &DmaBuf) -> Result<ARef<Self>> {
        let raw = import::<D>(dev, dma_buf)?;
        // SAFETY: `import` returns a new reference to an `Object<D>`.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw.cast::<Self>())) })
    }

    /// Creates the object of an import of `dma_buf`, attached to this device as `attach`.
    ///
    /// # Safety
    ///
    /// `attach` must be an attachment of `dma_buf` to `dev`'s parent, and the caller must own
    /// a reference to `dma_buf`: on success both are handed over to the object, which detaches
    /// and puts them when it is freed (`drm_prime_gem_destroy()`).
    unsafe fn new_imported(
        dev: &Device<D::Driver>,
        dma_buf: &DmaBuf,
        attach: *mut bindings::dma_buf_attachment,
        data: impl PinInit<D, Error>,
    ) -> Result<ARef<Self>> {
        let size = super::page_aligned(dma_buf.size())?;
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
}

/// Imports `dma_buf` into `dev`, returning a new reference to the object.
fn import<D: DriverObject>(
    dev: &Device<D::Driver>,
    dma_buf: &DmaBuf,
) -> Result<*mut bindings::drm_gem_object> {
    // SAFETY: Both are live.
    if unsafe { bindings::drm_gem_is_prime_exported_dma_buf(dev.as_raw(), dma_buf.as_raw()) } {
        // SAFETY: A dma-buf that `dev` exported has its GEM object in `priv`, and holds a
        // reference to it.
        let obj = unsafe { (*dma_buf.as_raw()).priv_.cast::<bindings::drm_gem_object>() };
        // SAFETY: The object is live (the dma-buf holds a reference); we take one for the caller.
        unsafe { bindings::drm_gem_object_get(obj) };
        return Ok(obj);
    }

    let data = D::create(dev, dma_buf.size(), Origin::Import(dma_buf));
    // SAFETY: `dev` is live, so is its parent.
    let attach = attach(dma_buf, unsafe { (*dev.as_raw()).dev })?;
    // A reference for the object, which `drm_prime_gem_destroy()` puts back when it is freed.
    let buf: ARef<DmaBuf> = dma_buf.into();
    // SAFETY: `attach` attaches `dma_buf` to `dev`'s parent and we own a reference to the
    // dma-buf, both handed to the object on success.
    match unsafe { Object::<D>::new_imported(dev, dma_buf, attach, data) } {
        Ok(obj) => {
            core::mem::forget(buf);
            Ok(ARef::into_raw(obj).as_ptr().cast())
        }
        Err(e) => {
            // SAFETY: The attachment was not handed over.
            unsafe { detach(dma_buf, attach) };
            Err(e)
        }
    }
}

/// Attaches `dma_buf` to `dev`, without an importer ops table: the exporter pins the buffer
/// for as long as the attachment lives.
#[inline(never)]
fn attach(
    dma_buf: &DmaBuf,
    dev: *mut bindings::device,
) -> Result<*mut bindings::dma_buf_attachment> {
    // SAFETY: `dma_buf` is live; the caller passes a live device.
    from_err_ptr(unsafe { bindings::dma_buf_attach(dma_buf.as_raw(), dev) })
}

/// Detaches `attach` from `dma_buf`.
///
/// # Safety
///
/// `attach` must be an attachment of `dma_buf` that the caller owns and no longer uses.
#[inline(never)]
unsafe fn detach(dma_buf: &DmaBuf, attach: *mut bindings::dma_buf_attachment) {
    // SAFETY: By the safety requirements.
    unsafe { bindings::dma_buf_detach(dma_buf.as_raw(), attach) };
}

/// Maps the attachment `attach` for DMA, in both directions.
///
/// # Safety
///
/// `attach` must be a live attachment, whose dma-buf's reservation lock the caller holds.
#[inline(never)]
pub(super) unsafe fn map_attachment(
    attach: *mut bindings::dma_buf_attachment,
) -> Result<*mut bindings::sg_table> {
    // SAFETY: By the safety requirements.
    from_err_ptr(unsafe {
        bindings::dma_buf_map_attachment(attach, bindings::dma_data_direction::DMA_BIDIRECTIONAL)
    })
}

/// Unmaps the table `sgt` that [`map_attachment`] made for `attach`.
///
/// Not generic, and never inlined, as the other dma-buf calls here: the `DMA_BUF` symbol
/// namespace is imported by the kernel crate, not by the drivers that instantiate the layer.
///
/// # Safety
///
/// `sgt` must be a live mapping of `attach`, no longer used, whose dma-buf's reservation lock
/// the caller holds.
#[inline(never)]
pub(super) unsafe fn unmap_attachment(
    attach: *mut bindings::dma_buf_attachment,
    sgt: *mut bindings::sg_table,
) {
    // SAFETY: By the safety requirements.
    unsafe {
        bindings::dma_buf_unmap_attachment(
            attach,
            sgt,
            bindings::dma_data_direction::DMA_BIDIRECTIONAL,
        )
    };
}

/// `drm_driver.gem_prime_import` of driver `D::Driver`.
///
/// # Safety
///
/// Called by the C core only, with a device of `D::Driver` and a live dma-buf.
pub(super) unsafe extern "C" fn import_callback<D: DriverObject>(
    raw_dev: *mut bindings::drm_device,
    dma_buf: *mut bindings::dma_buf,
) -> *mut bindings::drm_gem_object {
    // SAFETY: The device is of driver `D::Driver`, whose table holds this callback.
    let dev = unsafe { Device::<D::Driver>::from_raw(raw_dev) };
    // SAFETY: The C core holds a reference to the dma-buf during the import.
    let dma_buf = unsafe { DmaBuf::from_raw(dma_buf) };
    match import::<D>(dev, dma_buf) {
        Ok(obj) => obj,
        Err(e) => e.to_ptr(),
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_prime)]
mod tests {
    use super::*;
    use crate::{
        drm::{
            gem::BaseObject,
            tests::{
                bo,
                live_bos as live,
                GemDevice,
                Minor,
                MockFile,
                TestBo, //
            },
        },
        page::PAGE_SIZE,
    };

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
}
