// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Kernel mappings of GEM objects: [`VMap`], the guard of a `vmap()` of an object's pages.
//!
//! [`Object::vmap`] maps a whole [`Object`] into the kernel's address space (its pages, pinned,
//! or for an import, the exporter's mapping of the dma-buf) for as long as the returned guard
//! lives. The memory is shared with userspace and devices, so it is never handed out as a Rust
//! slice: the guard reads, writes, fills and copies, with the bounds checked. For access to a
//! few bytes of a large object, [`Object::cpu_access`] maps a page at a time and pins nothing.
//!
//! C header: [`include/linux/iosys-map.h`](srctree/include/linux/iosys-map.h)

use crate::{
    bindings,
    drm::gem::{
        check_range,
        shmem::Object,
        BaseObject,
        DriverObject, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef, //
};

impl<D: DriverObject> Object<D> {
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

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_vmap)]
mod tests {
    use super::*;
    use crate::{
        drm::tests::{
            bo,
            GemDevice, //
        },
        page::PAGE_SIZE,
    };

    fn vmap_count(obj: &Object<crate::drm::tests::TestBo>) -> u32 {
        // SAFETY: The object is live; an atomic read of the counter.
        let c = unsafe { core::ptr::read_volatile(&raw const (*obj.as_shmem()).vmap_use_count) };
        // CAST: the counter of a `refcount_t` is a non-negative `int`.
        c.refs.counter as u32
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
}
