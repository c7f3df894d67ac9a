// SPDX-License-Identifier: GPL-2.0

//! The software "GPU": `EXEC` runs a stream of `FILL` and `COPY` commands in a VM.
//!
//! A command names GPU addresses; the GPU resolves them through the VM's mappings
//! ([`gpuvm::LockedVm::find`]) to a buffer and an offset in it, and works on the buffer's
//! kernel mapping ([`shmem::VMap`]), made on first use and kept in the VM's data of the buffer.
//! An unmapped address is a clean `EFAULT`.
//!
//! A client chooses how long an `EXEC` runs, so it is bounded: at most `VRUST_EXEC_MAX_BYTES`
//! per call (a stream beyond it stops with `E2BIG` and `done` set, for the client to resubmit
//! the rest), in chunks of `WORK_CHUNK` bytes between which the GPU lets other tasks run and
//! stops with `EINTR` on a fatal signal. The commands are copied in before the VM is locked,
//! and read as `drm_vrust_cmd` values.

use crate::{
    buffers::VrustBo,
    driver::Vrust,
    user_sized,
    vm::VrustVm, //
};
use kernel::{
    drm::{
        self,
        gem::shmem,
        gpuvm, //
    },
    prelude::*,
    transmute::FromBytes as _,
    uapi, //
};

/// The most bytes the driver fills or copies for a client between two checks for other tasks
/// and for a fatal signal: a client chooses how long an `EXEC` (up to `VRUST_EXEC_MAX_BYTES`)
/// or a `GEM_PWRITE` runs.
pub(crate) const WORK_CHUNK: u64 = 1 << 20;

/// Between two chunks of work done for a client: lets other tasks run, and stops with `EINTR`
/// when the caller is being killed.
pub(crate) fn between_chunks() -> Result {
    kernel::task::cond_resched();
    if kernel::current!().fatal_signal_pending() {
        return Err(EINTR);
    }
    Ok(())
}

/// A piece of a GPU address range that lies in one mapping: the mapping, the offset in its
/// buffer, and the length.
struct Chunk<'a> {
    va: &'a gpuvm::Va<VrustVm>,
    offset: usize,
    len: usize,
}

impl Chunk<'_> {
    /// The kernel mapping of the chunk's buffer, made on first use.
    fn kernel_map(&self) -> Result<&shmem::VMap<VrustBo>> {
        let slot = &self.va.vm_bo().data().map;
        if slot.as_ref().is_none() {
            // Not set by anyone else meanwhile: the VM is locked.
            slot.populate(self.va.object().vmap()?);
        }
        slot.as_ref().ok_or(EFAULT)
    }
}

/// The mapping chunk at GPU address `addr`, at most `len` bytes long.
fn resolve<'a>(vm: &'a gpuvm::LockedVm<'_, VrustVm>, addr: u64, len: u64) -> Result<Chunk<'a>> {
    let va = vm.find(addr).ok_or(EFAULT)?;
    let in_va = addr - va.addr();
    let n = len.min(va.size() - in_va);
    Ok(Chunk {
        va,
        offset: usize::try_from(va.offset() + in_va)?,
        len: usize::try_from(n)?,
    })
}

/// `FILL`: sets `len` bytes at GPU address `dst` to `value`.
fn fill(vm: &gpuvm::LockedVm<'_, VrustVm>, dst: u64, len: u64, value: u8) -> Result {
    dst.checked_add(len).ok_or(EINVAL)?;
    let (mut at, mut left) = (dst, len);
    while left > 0 {
        let c = resolve(vm, at, left.min(WORK_CHUNK))?;
        c.kernel_map()?.fill(c.offset, c.len, value)?;
        at += c.len as u64;
        left -= c.len as u64;
        between_chunks()?;
    }
    Ok(())
}

/// `COPY`: copies `len` bytes from GPU address `src` to `dst`; the ranges must not overlap.
fn copy(vm: &gpuvm::LockedVm<'_, VrustVm>, src: u64, dst: u64, len: u64) -> Result {
    let src_end = src.checked_add(len).ok_or(EINVAL)?;
    let dst_end = dst.checked_add(len).ok_or(EINVAL)?;
    if src < dst_end && dst < src_end {
        return Err(EINVAL);
    }
    let (mut s, mut d, mut left) = (src, dst, len);
    while left > 0 {
        let from = resolve(vm, s, left.min(WORK_CHUNK))?;
        let to = resolve(vm, d, from.len as u64)?;
        let n = to.len;
        to.kernel_map()?
            .copy_from(to.offset, from.kernel_map()?, from.offset, n)?;
        s += n as u64;
        d += n as u64;
        left -= n as u64;
        between_chunks()?;
    }
    Ok(())
}

/// The handler of `EXEC`.
pub(crate) struct Gpu;

#[drm::ioctl::handlers]
impl Gpu {
    /// `EXEC`: runs `count` commands at `cmds` in VM `vm_id`, in order; `done` says how many
    /// ran, whatever the outcome.
    #[ioctl(DRM_IOCTL_VRUST_EXEC, RENDER_ALLOW)]
    pub(crate) fn exec(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_exec,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        arg.done = 0;
        if arg.pad != 0 || arg.count > uapi::VRUST_EXEC_MAX_CMDS {
            return Err(EINVAL);
        }
        // The commands are copied in, in one copy, before any lock is taken.
        let size = core::mem::size_of::<uapi::drm_vrust_cmd>();
        // OVERFLOW: `count` is at most `VRUST_EXEC_MAX_CMDS` (checked above).
        let len = usize::try_from(arg.count)? * size;
        let mut raw = KVVec::with_capacity(len, user_sized())?;
        drm::user::user_slice(arg.cmds, len)?.read_all(&mut raw, user_sized())?;
        let vm = file.vm(arg.vm_id)?;
        let vm = vm.lock();
        let mut budget = uapi::VRUST_EXEC_MAX_BYTES;
        // Every chunk is one command's size, so each converts.
        let cmds = raw
            .chunks_exact(size)
            .filter_map(uapi::drm_vrust_cmd::from_bytes_copy);
        for cmd in cmds {
            if cmd.op != uapi::VRUST_CMD_FILL && cmd.op != uapi::VRUST_CMD_COPY {
                return Err(EINVAL);
            }
            // Both commands touch `len` bytes. One longer than any EXEC may touch can never run;
            // one beyond what is left of the budget is not started (the client resubmits it).
            if cmd.len > uapi::VRUST_EXEC_MAX_BYTES {
                return Err(EINVAL);
            }
            budget = budget.checked_sub(cmd.len).ok_or(E2BIG)?;
            match cmd.op {
                uapi::VRUST_CMD_FILL => fill(&vm, cmd.dst, cmd.len, cmd.value as u8)?,
                uapi::VRUST_CMD_COPY => copy(&vm, cmd.src, cmd.dst, cmd.len)?,
                _ => return Err(EINVAL),
            }
            arg.done += 1;
        }
        Ok(0)
    }
}
