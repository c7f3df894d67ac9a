// SPDX-License-Identifier: GPL-2.0

//! `EXEC`: a job for the GPU, with sync objects in and out and implicit sync on its buffers.
//!
//! In the order a driver must do it:
//!
//! 1. Everything that can fail or allocate: copy the commands in, resolve them through the VM
//!    ([`gpu::resolve`]), copy the in-syncs in and look up the in-sync fences and the
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
        Fence,
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
        aref::ARef,
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

/// The sync objects of a job: the fences it waits for, and where its fence goes (with the
/// timeline point, allocated beforehand), looked up before the job is prepared.
pub(crate) struct Syncs {
    deps: KVec<ARef<Fence>>,
    out: Option<(ARef<SyncObj>, Option<ChainNode>, u64)>,
}

impl Syncs {
    /// The `count` in-syncs at user address `addr`, and the out-sync `out` (handle 0: none).
    pub(crate) fn new(
        file: &drm::File<Vrust>,
        addr: u64,
        count: u32,
        out: &uapi::drm_vrust_sync,
    ) -> Result<Self> {
        if count > uapi::VRUST_EXEC_MAX_SYNCS || out.pad != 0 {
            return Err(EINVAL);
        }
        let in_syncs = copy_in::<uapi::drm_vrust_sync>(addr, count)?;
        // One more, for an EXEC's in-fence sync file.
        let mut deps = KVec::with_capacity(in_syncs.len() + 1, GFP_KERNEL)?;
        for s in in_syncs.iter() {
            if s.pad != 0 {
                return Err(EINVAL);
            }
            deps.push(SyncObj::find_fence(file, s.handle, s.point)?, GFP_KERNEL)?;
        }
        let out = match out.handle {
            0 => None,
            h => {
                let chain = if out.point != 0 {
                    Some(ChainNode::new()?)
                } else {
                    None
                };
                Some((SyncObj::lookup(file, h)?, chain, out.point))
            }
        };
        Ok(Self { deps, out })
    }

    /// Makes the job wait for `fence` too.
    fn add(&mut self, fence: ARef<Fence>) -> Result {
        self.deps.push(fence, GFP_KERNEL)?;
        Ok(())
    }

    /// Gives the job its dependencies.
    fn wait_in(&mut self, job: &mut job::Prepared<'_, gpu::GpuQueue>) -> Result {
        for d in self.deps.drain_all() {
            job.add_dependency(d)?;
        }
        Ok(())
    }

    /// Puts the job's `fence` into the out-sync. Allocates nothing.
    fn publish(self, fence: &Fence) {
        if let Some((syncobj, chain, point)) = self.out {
            match chain {
                Some(chain) => syncobj.add_point(chain, fence, point),
                None => syncobj.replace_fence(Some(fence)),
            }
        }
    }
}

/// Checks that the file's queue has room for one more job.
pub(crate) fn queue_room(file: &drm::File<Vrust>) -> Result {
    // Checked before the push, so concurrent jobs of one file may go a few beyond.
    // CAST: a small constant.
    if file.queue.pending() >= uapi::VRUST_EXEC_MAX_QUEUED as usize {
        return Err(EBUSY);
    }
    Ok(())
}

/// Queues `job`, which touches no buffer of its own (a bind), on the file's queue after the
/// fences of `syncs`, and puts its fence into the out-sync.
pub(crate) fn submit(
    file: &drm::File<Vrust>,
    job: GpuJob,
    mut syncs: Syncs,
) -> Result<ARef<Fence>> {
    queue_room(file)?;
    let mut job = file.queue.prepare(job, 1)?;
    syncs.wait_in(&mut job)?;
    let fence = job.push();
    syncs.publish(&fence);
    Ok(fence)
}

/// Waits for the fence of a synchronous job, and returns its error. Waits in slices, so that
/// only a fatal signal stops the wait: restarting the ioctl on another signal would queue its
/// job again.
pub(crate) fn wait_for(fence: &Fence) -> Result {
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
    match fence.status() {
        Status::Failed(e) => Err(e),
        _ => Ok(()),
    }
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

        let (work, hang, stop) = gpu::resolve(&*file.vm(arg.vm_id)?, &cmds)?;
        if !wait {
            // An asynchronous job runs whole or not at all.
            stop?;
        }
        let mut syncs = Syncs::new(file, arg.in_syncs, arg.num_in_syncs, &arg.out_sync)?;
        if arg.flags & uapi::VRUST_EXEC_IN_FENCE_FD != 0 {
            syncs.add(sync_file::fence_of_fd(arg.in_fence_fd)?)?;
        }
        queue_room(file)?;
        // The descriptor of the out-fence sync file is reserved while the EXEC can still fail.
        let out_fd = if arg.flags & uapi::VRUST_EXEC_OUT_FENCE_FD != 0 {
            Some(sync_file::FdReservation::new()?)
        } else {
            None
        };
        let work = Arc::new(work, GFP_KERNEL)?;
        let mut job = file.queue.prepare(
            GpuJob::Exec {
                work: work.clone(),
                hang,
            },
            1,
        )?;
        syncs.wait_in(&mut job)?;
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
        syncs.publish(&fence);
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
        let ran = wait_for(&fence);
        if ran == Err(EINTR) {
            return ran.map(|()| 0);
        }
        arg.done = work.done.load(Relaxed);
        ran?;
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
