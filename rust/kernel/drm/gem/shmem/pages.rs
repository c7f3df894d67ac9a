// SPDX-License-Identifier: GPL-2.0 OR MIT

//! CPU access to a shmem object a page at a time.
//!
//! [`Object::read_at`] and [`Object::write_at`] copy between a kernel buffer and a range of an
//! object through the object's shmem pages, mapping one page at a time (`kmap_local_page()`):
//! they neither map the whole object into the kernel nor pin its pages, as [`Object::vmap`]
//! does, so a one-byte write into a 1 GiB object touches one page. They take no reservation
//! lock either. For an import, whose memory is the exporter's, they go through a mapping of the
//! dma-buf for the call.
//!
//! C header: [`include/linux/shmem_fs.h`](srctree/include/linux/shmem_fs.h)

use super::Object;
use crate::{
    bindings,
    drm::gem::DriverObject,
    error::from_err_ptr,
    page::PAGE_SIZE,
    prelude::*, //
};

/// Which way a page-wise copy goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// From the object into the buffer.
    Read,
    /// From the buffer into the object.
    Write,
}

impl<D: DriverObject> Object<D> {
    /// Copies `buf.len()` bytes at `offset` of the object into `buf`, a page at a time.
    ///
    /// Pages never written read as zeroes (and are allocated, one at a time, as shmem does for a
    /// read). Userspace and devices may write the object meanwhile: the bytes are whatever the
    /// memory held during the copy.
    ///
    /// Fails with `EINVAL` when the range is not inside the object, and with `ENOMEM` when a
    /// page cannot be allocated.
    ///
    /// # Examples
    ///
    /// See [`Object`](super::Object#examples).
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result {
        self.check_range(offset, buf.len())?;
        if self.is_imported() {
            return self.vmap()?.read(offset, buf);
        }
        // SAFETY: The object is a live, non-imported shmem object; `buf` is valid for writes of
        // its length and borrowed for the call.
        unsafe {
            copy_pages(
                self.as_raw(),
                offset,
                buf.as_mut_ptr(),
                buf.len(),
                Dir::Read,
            )
        }
    }

    /// Copies `buf` into the object at `offset`, a page at a time.
    ///
    /// Fails with `EINVAL` when the range is not inside the object, and with `ENOMEM` when a
    /// page cannot be allocated; the bytes before the failing page are written.
    pub fn write_at(&self, offset: usize, buf: &[u8]) -> Result {
        self.check_range(offset, buf.len())?;
        if self.is_imported() {
            return self.vmap()?.write(offset, buf);
        }
        // SAFETY: As in `read_at`; `buf` is only read, the cast is for the shared helper.
        unsafe {
            copy_pages(
                self.as_raw(),
                offset,
                buf.as_ptr().cast_mut(),
                buf.len(),
                Dir::Write,
            )
        }
    }

    /// Whether `[offset, offset + len)` lies inside the object.
    fn check_range(&self, offset: usize, len: usize) -> Result {
        match offset.checked_add(len) {
            Some(end) if end <= self.size() => Ok(()),
            _ => Err(EINVAL),
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
    // SAFETY: A shmem object has its shmem file from init to release (safety requirements); the
    // file's mapping and its allocation flags never change.
    let (mapping, gfp) = unsafe {
        let mapping = (*(*obj).filp).f_mapping;
        (mapping, (*mapping).gfp_mask)
    };
    let mut done = 0;
    while done < len {
        let at = offset + done;
        let in_page = at % PAGE_SIZE;
        let n = (PAGE_SIZE - in_page).min(len - done);
        let index = at / PAGE_SIZE;
        // SAFETY: `mapping` is the object's shmem mapping; the page comes with a reference.
        let page =
            from_err_ptr(unsafe { bindings::shmem_read_mapping_page_gfp(mapping, index, gfp) })?;
        // SAFETY: `page` is a page we hold a reference to; the mapping is local to this task and
        // undone below, before the next page is mapped.
        let vaddr = unsafe { bindings::kmap_local_page(page) }.cast::<u8>();
        // SAFETY: `in_page + n <= PAGE_SIZE`, inside the mapped page; `done + n <= len`, inside
        // `buf` (safety requirements). The C `memcpy()`, as the memory may be mapped by
        // userspace and devices, which a Rust copy does not allow.
        unsafe {
            let (to, from) = match dir {
                Dir::Read => (buf.add(done), vaddr.add(in_page)),
                Dir::Write => (vaddr.add(in_page), buf.add(done)),
            };
            bindings::memcpy(to.cast(), from.cast(), n);
            bindings::kunmap_local(vaddr.cast());
        }
        // SAFETY: The reference taken above is ours to put; a written page must be marked
        // dirty, or reclaim could drop the write.
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
