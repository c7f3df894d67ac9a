// SPDX-License-Identifier: GPL-2.0

//! Buffers: shmem-backed GEM objects with per-buffer data, and their ioctls.
//!
//! A buffer is a [`shmem::Object`] with a [`VrustBo`] embedded. The driver makes them in
//! `GEM_CREATE`; the C core makes them for dumb buffers and PRIME imports, asking
//! [`gem::DriverObject::create`] for their data, which is where vrust caps every buffer at
//! `VRUST_BO_MAX_SIZE`. Userspace names a buffer by a handle of its file: `create_handle` makes
//! one, `lookup` resolves one (`ENOENT` for an unknown one).
//!
//! `GEM_PWRITE` and `GEM_PREAD` copy between user memory and the buffer's pages one page at a
//! time ([`shmem::Object::cpu_access`]: no kernel mapping of the whole buffer, nothing pinned),
//! so a one-byte write into a 1 GiB buffer touches one page; every `WORK_CHUNK` bytes they let
//! other tasks run and stop on a fatal signal.

use crate::{
    driver::Vrust,
    gpu::{
        between_chunks,
        WORK_CHUNK, //
    },
};
use kernel::{
    drm::{
        self,
        gem::{
            self,
            shmem,
            BaseObject, //
        },
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::Relaxed, //
    },
    uapi, //
};

/// The largest buffer, `VRUST_BO_MAX_SIZE`.
const MAX_SIZE: u64 = uapi::VRUST_BO_MAX_SIZE as u64;

/// The buffers of the driver: shmem pages, with this data.
pub(crate) type Bo = shmem::Object<VrustBo>;

/// Per-buffer data.
pub(crate) struct VrustBo {
    /// `VRUST_BO_*`.
    flags: u32,
    /// Unique on the device.
    pub(crate) id: u64,
    /// The device, to count live buffers.
    dev: ARef<drm::Device<Vrust>>,
}

impl VrustBo {
    fn new(dev: &drm::Device<Vrust>, flags: u32) -> Result<Self> {
        dev.live_buffers.add(1, Relaxed);
        // Counted before the buffer exists: if making it fails, the drop uncounts it.
        Ok(VrustBo {
            flags,
            id: dev.next_bo_id.fetch_add(1, Relaxed),
            dev: dev.into(),
        })
    }
}

impl Drop for VrustBo {
    fn drop(&mut self) {
        self.dev.live_buffers.add(-1, Relaxed);
    }
}

impl gem::DriverObject for VrustBo {
    type Driver = Vrust;
    // vrust's VMs change from the fence signalling path: binds are jobs (vm.rs).
    const GPUVM_IMMEDIATE: bool = true;

    fn create(
        dev: &drm::Device<Vrust>,
        size: usize,
        origin: gem::Origin<'_>,
    ) -> impl PinInit<Self, Error> {
        // Every buffer, whoever makes it, is at most `VRUST_BO_MAX_SIZE`.
        let flags = match origin {
            _ if size as u64 > MAX_SIZE => Err(EINVAL),
            gem::Origin::Dumb { .. } => Ok(uapi::VRUST_BO_DUMB),
            gem::Origin::Import(_) => Ok(uapi::VRUST_BO_IMPORTED),
        };
        flags.and_then(|flags| VrustBo::new(dev, flags))
    }
}

/// The handlers of the buffer ioctls.
pub(crate) struct Buffers;

impl Buffers {
    /// The bounce buffer of `GEM_PWRITE` and `GEM_PREAD`: one page.
    const CHUNK: usize = PAGE_SIZE;

    /// The buffer, offset and length of a `GEM_PWRITE` or `GEM_PREAD`, checked.
    fn rw_args(
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Vrust>,
    ) -> Result<(ARef<Bo>, usize, usize)> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let bo = Bo::lookup(file, arg.handle)?;
        let end = arg.offset.checked_add(arg.size).ok_or(EINVAL)?;
        if end > bo.size() as u64 {
            return Err(EINVAL);
        }
        // Both fit: they are below the buffer's size.
        Ok((bo, arg.offset as usize, arg.size as usize))
    }

    /// Calls `step(done, n)` for each page-sized piece of `len` bytes (`done` bytes are done,
    /// `n` are next); every `WORK_CHUNK` bytes, lets other tasks run and stops on a fatal signal.
    fn in_pages(len: usize, mut step: impl FnMut(usize, usize) -> Result) -> Result {
        let mut done = 0;
        while done < len {
            let n = Self::CHUNK.min(len - done);
            step(done, n)?;
            done += n;
            if done as u64 % WORK_CHUNK == 0 {
                between_chunks()?;
            }
        }
        Ok(())
    }
}

#[drm::ioctl::handlers]
impl Buffers {
    /// `GEM_CREATE`: a buffer of `size` bytes, and a handle for it.
    #[ioctl(DRM_IOCTL_VRUST_GEM_CREATE, RENDER_ALLOW)]
    pub(crate) fn gem_create(
        dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_gem_create,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let caching = match arg.flags {
            0 => gem::Caching::Cached,
            uapi::VRUST_BO_WRITE_COMBINED => gem::Caching::WriteCombined,
            _ => return Err(EINVAL),
        };
        if arg.size > MAX_SIZE {
            return Err(EINVAL);
        }
        let size = usize::try_from(arg.size)?;
        let bo = Bo::new(dev, size, caching, VrustBo::new(dev, arg.flags))?;
        // The handle holds a reference; ours goes at the end of the call.
        arg.handle = bo.create_handle(file)?;
        Ok(0)
    }

    /// `GEM_INFO`: the flags, size, `mmap()` offset and id of a buffer.
    #[ioctl(DRM_IOCTL_VRUST_GEM_INFO, RENDER_ALLOW)]
    pub(crate) fn gem_info(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_gem_info,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let bo = Bo::lookup(file, arg.handle)?;
        arg.flags = bo.flags;
        arg.size = bo.size() as u64;
        arg.offset = bo.mmap_offset();
        arg.id = bo.id;
        Ok(0)
    }

    /// `GEM_PWRITE`: copies `size` bytes of user memory at `ptr` into the buffer at `offset`.
    #[ioctl(DRM_IOCTL_VRUST_GEM_PWRITE, RENDER_ALLOW)]
    pub(crate) fn gem_pwrite(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let (bo, offset, len) = Self::rw_args(arg, file)?;
        let mut reader = drm::user::user_slice(arg.ptr, len)?.reader();
        let mut chunk = KVec::from_elem(0u8, Self::CHUNK.min(len), GFP_KERNEL)?;
        let access = bo.cpu_access()?;
        Self::in_pages(len, |done, n| {
            reader.read_slice(&mut chunk[..n])?;
            access.write(offset + done, &chunk[..n])
        })?;
        Ok(0)
    }

    /// `GEM_PREAD`: copies `size` bytes of the buffer at `offset` to user memory at `ptr`.
    #[ioctl(DRM_IOCTL_VRUST_GEM_PREAD, RENDER_ALLOW)]
    pub(crate) fn gem_pread(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_gem_rw,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let (bo, offset, len) = Self::rw_args(arg, file)?;
        let mut writer = drm::user::user_slice(arg.ptr, len)?.writer();
        let mut chunk = KVec::from_elem(0u8, Self::CHUNK.min(len), GFP_KERNEL)?;
        let access = bo.cpu_access()?;
        Self::in_pages(len, |done, n| {
            access.read(offset + done, &mut chunk[..n])?;
            writer.write_slice(&chunk[..n])
        })?;
        Ok(0)
    }
}
