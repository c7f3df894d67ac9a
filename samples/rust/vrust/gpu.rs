// SPDX-License-Identifier: GPL-2.0

//! The software "GPU": jobs of `FILL`, `COPY` and `HANG` commands, run from a job queue.
//!
//! Each file has a [`drm::job::Queue`] with a [`GpuQueue`] backend (file.rs); `EXEC`
//! (exec.rs) and `VM_BIND` (vm.rs) make the jobs. A command names GPU addresses; they are
//! resolved when the job is made ([`resolve`]), through the VM's mappings
//! ([`gpuvm::LockedVm::find`]), into [`Piece`]s: a range of a buffer, through a kernel mapping
//! ([`shmem::VMap`]) that the job holds. So an `EXEC` job allocates nothing and takes no lock
//! when it runs (it runs on a fence signalling path: see [`drm::job::Backend::run`]), and the
//! mappings may change after the `EXEC` without changing what the job touches. A bind's job
//! locks the VM and applies the bind ([`crate::vm::apply`]).
//!
//! A client chooses how much a job does, so it is bounded: at most `VRUST_EXEC_MAX_BYTES` and
//! `VRUST_EXEC_MAX_PIECES`; the GPU works in chunks of [`WORK_CHUNK`] bytes, between which it
//! lets other tasks run and stops when its file is closing. `HANG` makes the GPU stop working
//! on the job without finishing it: the queue's timeout then ends it with `ETIME`.

use crate::{
    buffers::VrustBo,
    driver::Vrust,
    vm::VrustVm, //
};
use kernel::{
    dma_fence::{
        Fence,
        FenceNames,
        UniqueFence, //
    },
    drm::{
        self,
        gem::shmem,
        gpuvm,
        job, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    uapi, //
};

/// The most bytes the driver fills or copies for a client between two checks for other tasks
/// (and, for a job, for its file closing): a client chooses how long a job or a `GEM_PWRITE`
/// runs.
pub(crate) const WORK_CHUNK: u64 = 1 << 20;

/// Between two chunks of work done for a client in its own ioctl: lets other tasks run, and
/// stops with `EINTR` when the caller is being killed.
pub(crate) fn between_chunks() -> Result {
    kernel::task::cond_resched();
    if kernel::current!().fatal_signal_pending() {
        return Err(EINTR);
    }
    Ok(())
}

/// A buffer a job touches: its kernel mapping, and whether the job writes it.
pub(crate) struct Buffer {
    pub(crate) map: Arc<shmem::VMap<VrustBo>>,
    pub(crate) written: bool,
}

/// The part of a command that lies in one mapping of its destination (and of its source):
/// `len` bytes at `dst` (buffer index, offset), filled with `value` or copied from `src`.
struct Piece {
    dst: (usize, usize),
    src: Option<(usize, usize)>,
    value: u8,
    len: usize,
    /// The last piece of its command.
    ends_cmd: bool,
}

/// What a job does, resolved when it was made.
pub(crate) struct Work {
    /// A number no other walk of the commands has had (its buffers' tags name it).
    serial: u64,
    /// Only counting what the walk finds: the first pass of [`resolve`].
    counting: bool,
    n_buffers: usize,
    n_pieces: usize,
    pub(crate) buffers: KVec<Buffer>,
    pieces: KVVec<Piece>,
    /// Commands completed, for a synchronous `EXEC` to report.
    pub(crate) done: Atomic<u32>,
}

/// The serial number of the next walk (`Work::serial`), from 1: tags of 0 name no job.
static NEXT_SERIAL: Atomic<u64> = Atomic::new(1);

/// A job of the GPU.
pub(crate) enum GpuJob {
    /// An `EXEC`: its work, shared with a synchronous `EXEC` that waits for it, and the fence
    /// of a `HANG` command, allocated beforehand, that the GPU never signals.
    Exec {
        work: Arc<Work>,
        hang: Option<UniqueFence>,
    },
    /// A `VM_BIND` ([`crate::vm`]).
    Bind(gpuvm::Bind<VrustVm>),
}

/// Resolves the commands `cmds` through VM `vm` into a job's [`Work`].
///
/// Stops at the first command that cannot run (unmapped address: `EFAULT`; beyond the limits:
/// `E2BIG`; bad command: `EINVAL`) and returns the work of the commands before it with that
/// error; a `HANG` ends the work (the commands after it are checked, not resolved).
///
/// The VM's lock is taken on the fence signalling path (by the binds' jobs), so nothing may be
/// allocated under it: a first pass counts the pieces and buffers, the room for them is
/// allocated with the VM unlocked, and a second pass fills it. Should a bind have made the
/// walk longer in between, the second pass runs out of room (`EAGAIN` inside): it starts
/// again, until it fits or the caller is being killed.
pub(crate) fn resolve(
    vm: &gpuvm::UniqueVm<VrustVm>,
    cmds: &[uapi::drm_vrust_cmd],
) -> Result<(Work, Option<UniqueFence>, Result)> {
    loop {
        let mut count = Work::new(true);
        // The guards are temporaries: the VM is unlocked at the end of each `let`, before
        // anything is allocated or dropped.
        let counted = count.walk(&vm.lock(), cmds);
        let hangs = counted?.1;
        let mut w = Work::new(false);
        w.buffers = KVec::with_capacity(count.n_buffers, crate::user_sized())?;
        w.pieces = KVVec::with_capacity(count.n_pieces, crate::user_sized())?;
        let hang = if hangs {
            let names = FenceNames::new(c"vrust", c"vrust-gpu-hang")?;
            Some(UniqueFence::new(&names)?)
        } else {
            None
        };
        let walked = w.walk(&vm.lock(), cmds);
        match walked {
            Err(e) if e == EAGAIN => between_chunks()?,
            Err(e) => return Err(e),
            Ok((stop, _)) => return Ok((w, hang, stop)),
        }
    }
}

impl Work {
    fn new(counting: bool) -> Self {
        Work {
            serial: NEXT_SERIAL.fetch_add(1, Relaxed),
            counting,
            n_buffers: 0,
            n_pieces: 0,
            buffers: KVec::new(),
            pieces: KVVec::new(),
            done: Atomic::new(0),
        }
    }

    /// Walks the commands through the locked VM, counting or recording their pieces and
    /// buffers; returns where the stream stopped, and whether it reached a `HANG`. Allocates
    /// nothing.
    fn walk(
        &mut self,
        vm: &gpuvm::LockedVm<'_, VrustVm>,
        cmds: &[uapi::drm_vrust_cmd],
    ) -> Result<(Result, bool)> {
        let mut hang = false;
        let mut budget = uapi::VRUST_EXEC_MAX_BYTES;
        for cmd in cmds {
            if hang {
                // After a `HANG`, nothing runs, but the stream must still be valid.
                if !matches!(
                    cmd.op,
                    uapi::VRUST_CMD_FILL | uapi::VRUST_CMD_COPY | uapi::VRUST_CMD_HANG
                ) {
                    return Ok((Err(EINVAL), hang));
                }
                continue;
            }
            let stop = match cmd.op {
                uapi::VRUST_CMD_HANG => {
                    hang = true;
                    Ok(())
                }
                uapi::VRUST_CMD_FILL | uapi::VRUST_CMD_COPY => {
                    // Both commands touch `len` bytes. One longer than any EXEC may touch can
                    // never run; one beyond what is left of the budget is not started.
                    if cmd.len > uapi::VRUST_EXEC_MAX_BYTES {
                        Err(EINVAL)
                    } else if let Some(b) = budget.checked_sub(cmd.len) {
                        budget = b;
                        self.add_command(vm, cmd)
                    } else {
                        Err(E2BIG)
                    }
                }
                _ => Err(EINVAL),
            };
            if let Err(e) = stop {
                // The pieces of the failed command are dropped: it does not run at all.
                while self.pieces.last().is_some_and(|p| !p.ends_cmd) {
                    self.pieces.pop();
                }
                // Only what the stream itself is wrong about stops it; anything else fails the
                // EXEC with nothing queued, so that restarting it does not run commands twice.
                if e != EFAULT && e != E2BIG && e != EINVAL {
                    return Err(e);
                }
                return Ok((Err(e), hang));
            }
            kernel::task::cond_resched();
        }
        Ok((Ok(()), hang))
    }

    /// The index of the buffer of `va`, added on first use.
    fn buffer(&mut self, va: &gpuvm::Va<VrustVm>, write: bool) -> Result<usize> {
        let obj = va.object();
        // The buffer's data in the VM says where it is in this walk, if it is: a client may
        // make a job of many pieces over many buffers, so this is no search. (Checked against
        // the buffer, so that a stale tag is harmless.)
        let tag = &va.vm_bo().data().in_job;
        let t = tag.load(Relaxed);
        // CAST: the low 24 bits are an index below `2 * VRUST_EXEC_MAX_PIECES`.
        let i = (t & 0xff_ffff) as usize;
        let seen = t >> 24 == self.serial;
        if self.counting {
            if seen {
                return Ok(i);
            }
            self.n_buffers += 1;
        } else {
            if seen
                && self
                    .buffers
                    .get(i)
                    .is_some_and(|b| core::ptr::eq(b.map.object(), obj))
            {
                self.buffers[i].written |= write;
                return Ok(i);
            }
            // The first pass counted the buffers; a bind since may have added some.
            if self.buffers.len() == self.buffers.capacity() {
                return Err(EAGAIN);
            }
            // The VM's kernel mapping of the buffer, made when it was bound: the job's
            // reference costs a count.
            let map = va.vm_bo().data().map.as_ref().ok_or(EFAULT)?.clone();
            // Cannot fail: there is room.
            let _ = self.buffers.push_within_capacity(Buffer {
                map,
                written: write,
            });
        }
        let i = if self.counting {
            self.n_buffers - 1
        } else {
            self.buffers.len() - 1
        };
        // CAST: at most two buffers per piece, fewer than `2 * VRUST_EXEC_MAX_PIECES` < 2^24.
        tag.store(self.serial << 24 | i as u64, Relaxed);
        Ok(i)
    }

    /// Adds the pieces of a `FILL` or `COPY`.
    fn add_command(
        &mut self,
        vm: &gpuvm::LockedVm<'_, VrustVm>,
        cmd: &uapi::drm_vrust_cmd,
    ) -> Result {
        let copy = cmd.op == uapi::VRUST_CMD_COPY;
        let dst_end = cmd.dst.checked_add(cmd.len).ok_or(EINVAL)?;
        if copy {
            let src_end = cmd.src.checked_add(cmd.len).ok_or(EINVAL)?;
            if cmd.src < dst_end && cmd.dst < src_end {
                return Err(EINVAL);
            }
        }
        let (mut d, mut s, mut left) = (cmd.dst, cmd.src, cmd.len);
        if left == 0 {
            // An empty command: one empty piece, so that it counts as done.
            return self.push_piece(Piece {
                dst: (0, 0),
                src: None,
                value: 0,
                len: 0,
                ends_cmd: true,
            });
        }
        while left > 0 {
            let (dva, doff, mut n) = lookup(vm, d, left)?;
            let src = if copy {
                let (sva, soff, sn) = lookup(vm, s, n)?;
                n = sn;
                Some((self.buffer(sva, false)?, soff))
            } else {
                None
            };
            let dst = (self.buffer(dva, true)?, doff);
            left -= n;
            self.push_piece(Piece {
                dst,
                src,
                value: cmd.value as u8,
                len: usize::try_from(n)?,
                ends_cmd: left == 0,
            })?;
            // Neither overflows: both ends were checked above (a FILL has no source, whose
            // address may be anything).
            d += n;
            if copy {
                s += n;
            }
            // Bounded (`VRUST_EXEC_MAX_PIECES`), but many pieces take a while.
            if self.n_pieces % 1024 == 0 {
                kernel::task::cond_resched();
            }
        }
        Ok(())
    }

    fn push_piece(&mut self, p: Piece) -> Result {
        if self.n_pieces >= uapi::VRUST_EXEC_MAX_PIECES as usize {
            return Err(E2BIG);
        }
        self.n_pieces += 1;
        if !self.counting {
            // The first pass counted the pieces; a bind since may have added some.
            self.pieces.push_within_capacity(p).map_err(|_| EAGAIN)?;
        }
        Ok(())
    }
}

/// The mapping at GPU address `addr`: the mapping, the offset into its buffer, and how much of
/// `len` bytes lies in it.
fn lookup<'a>(
    vm: &'a gpuvm::LockedVm<'_, VrustVm>,
    addr: u64,
    len: u64,
) -> Result<(&'a gpuvm::Va<VrustVm>, usize, u64)> {
    let va = vm.find(addr).ok_or(EFAULT)?;
    let in_va = addr - va.addr();
    Ok((
        va,
        usize::try_from(va.offset() + in_va)?,
        len.min(va.size() - in_va),
    ))
}

/// The backend of a file's job queue: the GPU, as one client sees it.
pub(crate) struct GpuQueue {
    /// The device, for unplug: a job that starts after it fails with `ENODEV`.
    dev: ARef<drm::Device<Vrust>>,
    /// Set when the file closes: the job being run stops at its next chunk.
    abort: Atomic<bool>,
}

impl GpuQueue {
    pub(crate) fn new(dev: &drm::Device<Vrust>) -> Self {
        Self {
            dev: dev.into(),
            abort: Atomic::new(false),
        }
    }

    /// Stops the job being run at its next chunk, and fails every later one (the file is
    /// closing).
    pub(crate) fn abort(&self) {
        self.abort.store(true, Relaxed);
    }

    fn chunk_done(&self) -> Result {
        kernel::task::cond_resched();
        if self.abort.load(Relaxed) {
            return Err(ECANCELED);
        }
        Ok(())
    }

    /// Runs the pieces of `w`, in chunks.
    fn execute(&self, w: &Work) -> Result {
        let mut done = 0;
        for p in w.pieces.iter() {
            let mut off = 0;
            while off < p.len {
                let n = (p.len - off).min(WORK_CHUNK as usize);
                // The piece of an empty command has no buffer: it never gets here.
                let to = &w.buffers.get(p.dst.0).ok_or(EINVAL)?.map;
                match p.src {
                    Some((s, soff)) => {
                        let from = &w.buffers.get(s).ok_or(EINVAL)?.map;
                        to.copy_from(p.dst.1 + off, from, soff + off, n)?
                    }
                    None => to.fill(p.dst.1 + off, n, p.value)?,
                }
                off += n;
                self.chunk_done()?;
            }
            if p.ends_cmd {
                done += 1;
                w.done.store(done, Relaxed);
            }
        }
        Ok(())
    }
}

impl job::Backend for GpuQueue {
    type Job = GpuJob;

    fn run(&self, job: &mut GpuJob) -> Result<Option<ARef<Fence>>> {
        if self.abort.load(Relaxed) {
            return Err(ECANCELED);
        }
        // Nothing starts after the unplug. (A section does not cover the whole job: it may
        // take seconds, which would hold up the unplug.)
        drop(self.dev.enter().ok_or(ENODEV)?);
        match job {
            GpuJob::Exec { work, hang } => {
                self.execute(work)?;
                // At a `HANG`, the GPU stops: its fence does not signal until the queue gives
                // up.
                Ok(hang.as_ref().map(UniqueFence::fence))
            }
            GpuJob::Bind(bind) => {
                crate::vm::apply(bind)?;
                Ok(None)
            }
        }
    }

    fn timed_out(&self, job: &mut GpuJob) -> job::TimeoutAction {
        // The hung GPU is reset: the job's fence signals (with `ECANCELED`, which the queue
        // replaces with `ETIME`). (A bind is done when its `run` returns: it never times out.)
        if let GpuJob::Exec { hang, .. } = job {
            drop(hang.take());
        }
        job::TimeoutAction::Stopped
    }

    fn cancel(&self, job: &mut GpuJob) {
        if let GpuJob::Exec { hang, .. } = job {
            drop(hang.take());
        }
    }
}
