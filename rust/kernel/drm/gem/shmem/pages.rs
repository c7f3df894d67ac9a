// SPDX-License-Identifier: GPL-2.0 OR MIT

//! CPU access to a shmem object a page at a time.
//!
//! [`Object::cpu_access`] returns a [`CpuAccess`], whose [`read`](CpuAccess::read) and
//! [`write`](CpuAccess::write) copy between a kernel buffer and a range of the object through
//! its shmem pages, mapping one page at a time (`kmap_local_page()`): they neither map the whole
//! object into the kernel nor pin its pages, as [`Object::vmap`] does, so a one-byte write into
//! a 1 GiB object touches one page, and they take no lock. For an import, whose memory is the
//! exporter's, the access maps the dma-buf once, for as long as it lives (taking the dma-buf's
//! reservation lock to map and to unmap, as [`Object::vmap`] does).
//!
//! C header: [`include/linux/shmem_fs.h`](srctree/include/linux/shmem_fs.h)

use super::{
    Object,
    VMap, //
};
use crate::{
    bindings,
    drm::gem::{
        check_range,
        BaseObject,
        DriverObject, //
    },
    error::from_err_ptr,
    page::PAGE_SIZE,
    prelude::*, //
};

/// CPU access to an [`Object`], made by [`Object::cpu_access`]: page-wise for the object's own
/// pages, through one mapping of the dma-buf for an import.
///
/// The memory may be written by userspace and devices meanwhile: the bytes copied are whatever
/// it held during the copy.
///
/// # Invariants
///
/// `map` is `Some` exactly when `obj` is an import.
pub struct CpuAccess<'a, D: DriverObject> {
    obj: &'a Object<D>,
    map: Option<VMap<D>>,
}

/// Which way a page-wise copy goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// From the object into the buffer.
    Read,
    /// From the buffer into the object.
    Write,
}

impl<D: DriverObject> Object<D> {
    /// CPU access to the object, for reads and writes of any part of it.
    ///
    /// Cheap for an object of this device (nothing is mapped or pinned until a copy, and then
    /// one page at a time); for an import, it maps the dma-buf (see [`vmap`](Self::vmap),
    /// whose locking rules apply then). So make one per batch of copies, not one per copy.
    ///
    /// # Examples
    ///
    /// See [`Object`](super::Object#examples).
    pub fn cpu_access(&self) -> Result<CpuAccess<'_, D>> {
        let map = match self.is_imported() {
            true => Some(self.vmap()?),
            false => None,
        };
        // INVARIANT: mapped exactly for an import.
        Ok(CpuAccess { obj: self, map })
    }
}

impl<D: DriverObject> CpuAccess<'_, D> {
    /// Copies `buf.len()` bytes at `offset` of the object into `buf`.
    ///
    /// Pages never written read as zeroes (shmem allocates them, one at a time, as it does for a
    /// read of a file).
    ///
    /// Fails with `EINVAL` when the range is not inside the object, with `ENOMEM` (or `ENOSPC`,
    /// from shmem) when a page cannot be allocated, and with `EIO` for a poisoned page.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result {
        check_range(offset, buf.len(), self.obj.size())?;
        if let Some(map) = &self.map {
            return map.read(offset, buf);
        }
        // SAFETY: The object is a live shmem object, not imported (type invariant); the range is
        // inside it; `buf` is valid for writes of its length and borrowed for the call.
        unsafe {
            copy_pages(
                self.obj.as_raw(),
                offset,
                buf.as_mut_ptr(),
                buf.len(),
                Dir::Read,
            )
        }
    }

    /// Copies `buf` into the object at `offset`.
    ///
    /// Fails as [`read`](Self::read) does; the bytes before a failing page are written.
    pub fn write(&self, offset: usize, buf: &[u8]) -> Result {
        check_range(offset, buf.len(), self.obj.size())?;
        if let Some(map) = &self.map {
            return map.write(offset, buf);
        }
        // SAFETY: As in `read`; `buf` is only read, the cast is for the shared helper.
        unsafe {
            copy_pages(
                self.obj.as_raw(),
                offset,
                buf.as_ptr().cast_mut(),
                buf.len(),
                Dir::Write,
            )
        }
    }
}

/// Copies `len` bytes between `buf` and `offset` of the shmem object `obj`, page by page.
///
/// Not generic, so that every driver shares one copy of the loop.
///
/// # Safety
///
/// `obj` must be a live GEM object initialised by `drm_gem_shmem_init()` (it has a shmem file),
/// `[offset, offset + len)` must lie inside it, and `buf` must be valid for `len` bytes (for
/// writes with [`Dir::Read`], for reads with [`Dir::Write`]) and not be object memory.
#[inline(never)]
unsafe fn copy_pages(
    obj: *mut bindings::drm_gem_object,
    offset: usize,
    buf: *mut u8,
    len: usize,
    dir: Dir,
) -> Result {
    // SAFETY: A shmem object has its shmem file, and the file its mapping, from init to release
    // (safety requirements).
    let mapping = unsafe { (*(*obj).filp).f_mapping };
    // SAFETY: `mapping` is live (above).
    let gfp = unsafe { bindings::mapping_gfp_mask(mapping) };
    let mut done = 0;
    while done < len {
        let at = offset + done;
        let in_page = at % PAGE_SIZE;
        let n = (PAGE_SIZE - in_page).min(len - done);
        // SAFETY: `mapping` is the object's shmem mapping; the page comes with a reference.
        let page = from_err_ptr(unsafe {
            bindings::shmem_read_mapping_page_gfp(mapping, at / PAGE_SIZE, gfp)
        })?;
        // SAFETY: We hold a reference to `page`. The mapping is local to this task and undone
        // before the next page is mapped. `in_page + n <= PAGE_SIZE` stays inside the page and
        // `done + n <= len` inside `buf` (safety requirements). The C `memcpy()`, as the memory
        // may be mapped by userspace and devices, which a Rust copy does not allow. The data
        // cache is flushed as `filemap_read()` and `shmem_write_end()` do, for architectures
        // whose caches alias a page's user and kernel mappings.
        unsafe {
            let vaddr = bindings::kmap_local_page(page).cast::<u8>();
            match dir {
                Dir::Read => {
                    bindings::flush_dcache_page(page);
                    bindings::memcpy(buf.add(done).cast(), vaddr.add(in_page).cast(), n);
                }
                Dir::Write => {
                    bindings::memcpy(vaddr.add(in_page).cast(), buf.add(done).cast(), n);
                    bindings::flush_dcache_page(page);
                }
            }
            bindings::kunmap_local(vaddr.cast());
        }
        // SAFETY: The reference taken above is ours to put; a written page is marked dirty, or
        // reclaim could drop the write.
        unsafe {
            if dir == Dir::Write {
                bindings::set_page_dirty(page);
            }
            bindings::mark_page_accessed(page);
            bindings::put_page(page);
        }
        done += n;
        // A long copy lets other tasks run between pages.
        crate::task::cond_resched();
    }
    Ok(())
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_pages)]
mod tests {
    use super::*;
    use crate::drm::tests::{
        bo,
        GemDevice, //
    };

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
}
