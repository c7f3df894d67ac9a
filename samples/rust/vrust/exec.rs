// SPDX-License-Identifier: GPL-2.0

//! `EXEC`: a job for the GPU, with sync objects in and out and implicit sync on its buffers.
//!
//! In the order a driver must do it:
//!
//! 1. Everything that can fail or allocate: copy the commands and in-syncs in, resolve the
//!    commands under the VM lock ([`gpu::resolve`]), look up the in-sync fences and the
//!    out-sync ([`SyncObj`]), allocate a timeline point ([`ChainNode`]), prepare the job
//!    ([`job::Queue::prepare`]).
//! 2. Lock the reservation objects of the buffers the job touches, with a fence slot each
//!    ([`Exec::scoped`]), and make the job wait for their fences, collected under those locks
//!    ([`job::Prepared::add_resv_dependencies`]): a job that writes waits for readers and
//!    writers, one that reads for writers. This is what makes a vgem fence on a shared buffer
//!    hold the job back.
//! 3. Push the job ([`job::Prepared::push`]): it cannot fail. Publish its fence in the
//!    buffers (write or read) and in the out-sync. None of this allocates.
//! 4. Without `VRUST_EXEC_ASYNC`, wait for the fence.

use crate::{
    driver::Vrust,
    gpu::{
        self,
        GpuJob, //
    },
    user_sized,
};
use kernel::{
    dma_fence::{
        sync_file,
        Status, //
    },
    drm::{
        self,
        gem::resv::{
            Exec,
            Usage, //
        },
        job,
        syncobj::{
            ChainNode,
            SyncObj, //
        },
    },
    prelude::*,
    sync::{
        atomic::Relaxed,
        Arc, //
    },
    time::Delta,
    uapi, //
};

/// Copies `count` uapi values of type `T` in from `addr`, in one copy.
fn copy_in<T: kernel::transmute::FromBytes>(addr: u64, count: u32) -> Result<KVec<T>> {
    let size = core::mem::size_of::<T>();
    // OVERFLOW: `count` is bounded by the callers (at most VRUST_EXEC_MAX_CMDS).
    let len = usize::try_from(count)? * size;
    let mut raw = KVVec::with_capacity(len, user_sized())?;
    drm::user::user_slice(addr, len)?.read_all(&mut raw, user_sized())?;
    let mut out = KVec::with_capacity(count as usize, user_sized())?;
    // Every chunk is one value's size, so each converts.
    for v in raw.chunks_exact(size).filter_map(T::from_bytes_copy) {
        out.push(v, user_sized())?;
    }
    Ok(out)
}

/// The handler of `EXEC`.
pub(crate) struct Gpu;

#[drm::ioctl::handlers]
impl Gpu {
    /// `EXEC`: queues a job of `count` commands on VM `vm_id` after the fences of `in_syncs`,
    /// its fence going to `out_sync`; waits for it unless `VRUST_EXEC_ASYNC`.
    #[ioctl(DRM_IOCTL_VRUST_EXEC, RENDER_ALLOW)]
    pub(crate) fn exec(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_exec,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        arg.done = 0;
        arg.out_fence_fd = -1;
        let wait = arg.flags & uapi::VRUST_EXEC_ASYNC == 0;
        let flags =
            uapi::VRUST_EXEC_ASYNC | uapi::VRUST_EXEC_IN_FENCE_FD | uapi::VRUST_EXEC_OUT_FENCE_FD;
        if arg.pad != 0
            || arg.flags & !flags != 0
            || arg.count > uapi::VRUST_EXEC_MAX_CMDS
            || arg.num_in_syncs > uapi::VRUST_EXEC_MAX_SYNCS
            || arg.out_sync.pad != 0
        {
            return Err(EINVAL);
        }
        // Copied in before any lock is taken.
        let cmds = copy_in::<uapi::drm_vrust_cmd>(arg.cmds, arg.count)?;
        let in_syncs = copy_in::<uapi::drm_vrust_sync>(arg.in_syncs, arg.num_in_syncs)?;

        let (work, hang, stop) = {
            let vm = file.vm(arg.vm_id)?;
            let vm = vm.lock();
            gpu::resolve(&vm, cmds.iter().copied())?
        };
        if !wait {
            // An asynchronous job runs whole or not at all.
            stop?;
        }
        let mut deps = KVec::with_capacity(in_syncs.len(), GFP_KERNEL)?;
        for s in in_syncs.iter() {
            if s.pad != 0 {
                return Err(EINVAL);
            }
            deps.push(SyncObj::find_fence(file, s.handle, s.point)?, GFP_KERNEL)?;
        }
        if arg.flags & uapi::VRUST_EXEC_IN_FENCE_FD != 0 {
            deps.push(sync_file::fence_of_fd(arg.in_fence_fd)?, GFP_KERNEL)?;
        }
        let out = match arg.out_sync.handle {
            0 => None,
            h => {
                let point = arg.out_sync.point;
                let chain = if point != 0 {
                    Some(ChainNode::new()?)
                } else {
                    None
                };
                Some((SyncObj::lookup(file, h)?, chain, point))
            }
        };

        let queue = &file.queue;
        // Checked before the push, so concurrent EXECs of one file may go a few beyond.
        // CAST: a small constant.
        if queue.pending() >= uapi::VRUST_EXEC_MAX_QUEUED as usize {
            return Err(EBUSY);
        }
        // The descriptor of the out-fence sync file is reserved while the EXEC can still fail.
        let out_fd = if arg.flags & uapi::VRUST_EXEC_OUT_FENCE_FD != 0 {
            Some(sync_file::FdReservation::new()?)
        } else {
            None
        };
        let work = Arc::new(work, GFP_KERNEL)?;
        let mut job = queue.prepare(
            GpuJob {
                work: work.clone(),
                hang,
            },
            1,
        )?;
        for d in deps {
            job.add_dependency(d)?;
        }
        let fence = Exec::scoped(
            true,
            |l| {
                for b in work.buffers.iter() {
                    l.prepare(b.map.object(), 1)?;
                }
                Ok(())
            },
            |exec, ()| {
                for b in work.buffers.iter() {
                    job.add_resv_dependencies(
                        b.map.object().resv(),
                        Usage::to_wait_for(b.written),
                    )?;
                }
                let fence = job.push();
                for b in work.buffers.iter() {
                    let usage = if b.written { Usage::Write } else { Usage::Read };
                    // Cannot fail: the slot was reserved by `prepare` and the object is locked.
                    let _ = exec.add_fence(b.map.object(), &fence, usage);
                }
                Ok(fence)
            },
        )?;
        if let Some((syncobj, chain, point)) = out {
            match chain {
                Some(chain) => syncobj.add_point(chain, &fence, point),
                None => syncobj.replace_fence(Some(&fence)),
            }
        }
        // The sync file allocates, so it can only be made now that the job is queued (which
        // only fails for memory); its descriptor is installed last, when nothing else can fail.
        let out_fd = out_fd.map(|r| r.create(&fence)).transpose()?;
        let install = |arg: &mut uapi::drm_vrust_exec| {
            if let Some(fd) = out_fd {
                // CAST: descriptor numbers fit in an `int`.
                arg.out_fence_fd = fd.install() as i32;
            }
        };
        if !wait {
            install(arg);
            return Ok(0);
        }
        // Waits in slices, so that only a fatal signal stops the wait: restarting the EXEC on
        // another signal would queue its job again.
        loop {
            match fence.wait(false, Some(Delta::from_millis(20))) {
                Ok(()) => break,
                Err(e) if e == ETIME => {
                    if kernel::current!().fatal_signal_pending() {
                        return Err(EINTR);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        arg.done = work.done.load(Relaxed);
        if let Status::Failed(e) = fence.status() {
            return Err(e);
        }
        stop?;
        install(arg);
        Ok(0)
    }
}

/// The queue of a file: one job at a time on the GPU, so one credit; on the device's
/// workqueue.
pub(crate) fn new_queue(
    dev: &drm::Device<Vrust>,
    id: u64,
    timeout_ms: u32,
) -> Result<job::Queue<gpu::GpuQueue>> {
    let timeline = kernel::str::CString::try_from_fmt(fmt!("vrust-file-{id}"))?;
    let names = kernel::dma_fence::FenceNames::new(c"vrust", &timeline)?;
    let config = job::Config {
        credits: 1,
        timeout: Some(Delta::from_millis(i64::from(timeout_ms))),
        // One workqueue for the device's files: one GPU.
        workqueue: Some(dev.gpu_wq.clone()),
    };
    job::Queue::new(Ok(gpu::GpuQueue::new(dev)), &names, config)
}
