// SPDX-License-Identifier: GPL-2.0

//! GPU virtual address spaces: a VM per `VM_CREATE`, mappings made and cut by `VM_BIND`.
//!
//! A VM is a [`gpuvm::UniqueVm`] of a file, with [`VrustVm`] as its driver state, in immediate
//! mode: a bind is a job of the file's queue ([`crate::gpu`]), which changes the VM from the
//! fence signalling path. `VM_BIND` prepares it ([`gpuvm::GpuVm::prepare_map`],
//! [`gpuvm::GpuVm::prepare_unmap`]: everything that allocates, and the buffer's kernel mapping)
//! and queues it; the job applies it ([`gpuvm::Bind::apply`]), and the queue drops it, with
//! what its steps removed, outside that path. So with the VM locked, vrust never allocates,
//! takes a reservation lock or waits (`VM_QUERY` copies out after unlocking,
//! [`crate::gpu::resolve`] allocates between two passes).
//!
//! The layer runs the split/merge steps of a bind and calls the driver once per step
//! (`step_map`, `step_unmap`, `step_remap`); each step returns the proof that it was done,
//! which only the step's own operation can make. vrust has no page tables to update, so its
//! steps only count the mappings, for the limit `VRUST_VM_MAX_MAPPINGS`.
//!
//! The data of a buffer mapped in a VM ([`VmBuffer`]) is the buffer's kernel mapping, made when
//! the bind is prepared; each job holds its own reference.

use crate::{
    buffers::{
        Bo,
        VrustBo, //
    },
    driver::Vrust,
    exec::{
        self,
        Syncs, //
    },
    gpu::GpuJob,
};
use kernel::{
    drm::{
        self,
        gem::{
            shmem,
            BaseObject, //
        },
        gpuvm, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::Atomic,
        Arc,
        SetOnce, //
    },
    uapi, //
};

/// The state of a GPU VM: the software GPU has no page tables, it resolves addresses through
/// the VM's mappings when an `EXEC` is made. The state counts the mappings, for the limit.
#[derive(Default)]
pub(crate) struct VrustVm {
    mappings: usize,
}

/// The data of a buffer mapped in a VM (one per VM and buffer): the buffer's kernel mapping,
/// made when a bind of it is prepared and kept while the buffer is mapped in the VM, as a GPU
/// keeps its page tables (mapping a buffer into the kernel costs far more than a copy). The
/// layer drops it when the buffer's last mapping in the VM goes, where the bind is dropped, as
/// dropping a kernel mapping takes its buffer's lock.
pub(crate) struct VmBuffer {
    /// The kernel mapping of the buffer, once made; each job takes a reference.
    pub(crate) map: SetOnce<Arc<shmem::VMap<VrustBo>>>,
    /// The job being resolved that uses the buffer last, and the buffer's index in it
    /// (`gpu::resolve`, under the VM's lock), so that finding it is not a search.
    pub(crate) in_job: Atomic<u64>,
}

impl Default for VmBuffer {
    fn default() -> Self {
        Self {
            map: SetOnce::default(),
            in_job: Atomic::new(0),
        }
    }
}

impl gpuvm::DriverGpuVm for VrustVm {
    type Object = VrustBo;
    type VaData = ();
    type VmBoData = VmBuffer;
    type StepContext<'ctx> = ();

    fn step_map<'op>(
        &mut self,
        op: gpuvm::OpMap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Mapped<'op>> {
        let done = op.insert(())?;
        self.mappings += 1;
        Ok(done)
    }

    fn step_unmap<'op>(
        &mut self,
        op: gpuvm::OpUnmap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Unmapped<'op>> {
        self.mappings -= 1;
        Ok(op.remove())
    }

    fn step_remap<'op>(
        &mut self,
        op: gpuvm::OpRemap<'op, Self>,
        _ctx: &mut (),
    ) -> Result<gpuvm::Remapped<'op>> {
        let parts = usize::from(op.prev().is_some()) + usize::from(op.next().is_some());
        let done = op.remap(|_data, _part| ())?;
        self.mappings = self.mappings - 1 + parts;
        Ok(done)
    }
}

/// The handlers of the VM ioctls.
pub(crate) struct Vms;

#[drm::ioctl::handlers]
impl Vms {
    /// `VM_CREATE`: a new VM of the calling file.
    #[ioctl(DRM_IOCTL_VRUST_VM_CREATE, RENDER_ALLOW)]
    pub(crate) fn vm_create(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_vm_create,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let mut table = file.vms.lock();
        if table.vms.len() >= uapi::VRUST_MAX_VMS_PER_FILE as usize {
            return Err(ENOSPC);
        }
        let vm = gpuvm::UniqueVm::new(
            &file.dev,
            c"vrust",
            uapi::VRUST_VM_START.into(),
            uapi::VRUST_VM_SIZE,
            VrustVm::default(),
        )?;
        table.next_id = table.next_id.checked_add(1).ok_or(ENOSPC)?;
        let id = table.next_id;
        table
            .vms
            .push((id, Arc::new(vm, GFP_KERNEL)?), GFP_KERNEL)?;
        arg.vm_id = id;
        Ok(0)
    }

    /// `VM_DESTROY`: removes a VM from the calling file.
    #[ioctl(DRM_IOCTL_VRUST_VM_DESTROY, RENDER_ALLOW)]
    pub(crate) fn vm_destroy(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_vm_destroy,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        if arg.pad != 0 {
            return Err(EINVAL);
        }
        let vm = {
            let mut table = file.vms.lock();
            let i = table
                .vms
                .iter()
                .position(|(id, _)| *id == arg.vm_id)
                .ok_or(ENOENT)?;
            table.vms.remove(i)?
        };
        // Its mappings go when the last user (an `EXEC` being resolved, say) lets go, outside
        // the table lock. Queued binds hold the VM itself, not the `UniqueVm`: they fail with
        // `ENODEV`.
        drop(vm);
        Ok(0)
    }

    /// `VM_BIND`: maps a range of a buffer at a GPU address, or unmaps a GPU range, from a job
    /// of the file's queue; waits for it unless `VRUST_BIND_ASYNC`.
    #[ioctl(DRM_IOCTL_VRUST_VM_BIND, RENDER_ALLOW)]
    pub(crate) fn vm_bind(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_vm_bind,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let page = PAGE_SIZE as u64;
        if arg.pad != 0
            || arg.flags & !uapi::VRUST_BIND_ASYNC != 0
            || (arg.addr | arg.range | arg.offset) % page != 0
        {
            return Err(EINVAL);
        }
        let syncs = Syncs::new(file, arg.in_syncs, arg.num_in_syncs, &arg.out_sync)?;
        // Before the buffer is mapped into the kernel, which costs.
        exec::queue_room(file)?;
        let vm = file.vm(arg.vm_id)?;
        let bind = match arg.op {
            uapi::VRUST_BIND_MAP => {
                let bo = Bo::lookup(file, arg.handle)?;
                let bind = vm.prepare_map(&bo, arg.offset, arg.addr, arg.range)?;
                // The kernel mapping the GPU uses, made now: the job may not make it.
                if let Some(pair) = bind.vm_bo() {
                    let map = &pair.data().map;
                    if map.as_ref().is_none() && !map.populate(Arc::new(bo.vmap()?, GFP_KERNEL)?) {
                        // Another bind of the buffer is setting it: wait until it is set, so
                        // that the mapping never lacks it (that bind sleeps nowhere there).
                        while map.as_ref().is_none() {
                            kernel::task::cond_resched();
                        }
                    }
                }
                bind
            }
            uapi::VRUST_BIND_UNMAP => {
                if arg.handle != 0 || arg.offset != 0 {
                    return Err(EINVAL);
                }
                vm.prepare_unmap(arg.addr, arg.range)?
            }
            _ => return Err(EINVAL),
        };
        let gpuvm: ARef<gpuvm::GpuVm<VrustVm>> = bind.vm().into();
        // The VM may go while the bind waits (`VM_DESTROY`): the bind holds what it needs.
        drop(vm);
        let fence = exec::submit(file, GpuJob::Bind(bind), syncs)?;
        if arg.flags & uapi::VRUST_BIND_ASYNC == 0 {
            exec::wait_for(&fence)?;
            // What the bind unmapped goes now, not when the queue drops the job: a buffer
            // whose last mapping this was is gone when the ioctl returns.
            gpuvm.cleanup();
        }
        Ok(0)
    }

    /// `VM_QUERY`: the mappings of a VM, as many as `count` has room for, and their number.
    #[ioctl(DRM_IOCTL_VRUST_VM_QUERY, RENDER_ALLOW)]
    pub(crate) fn vm_query(
        _dev: &drm::Device<Vrust>,
        arg: &mut uapi::drm_vrust_vm_query,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let vm = file.vm(arg.vm_id)?;
        let room = usize::try_from(arg.count)?;
        let size = core::mem::size_of::<uapi::drm_vrust_vm_mapping>();
        let mut writer =
            drm::user::user_slice(arg.mappings, room.checked_mul(size).ok_or(EINVAL)?)?.writer();
        // Read into memory allocated beforehand, and copied out after unlocking: the VM's lock
        // is taken on the fence signalling path, where a fault of the copy may not wait.
        let mut out = KVec::with_capacity(
            room.min(uapi::VRUST_VM_MAX_MAPPINGS as usize),
            crate::user_sized(),
        )?;
        let mut total = 0u32;
        for va in vm.lock().vas() {
            // Fails only past `room` (or past `VRUST_VM_MAX_MAPPINGS`, which the VM never
            // holds more than): those are counted, not copied.
            let _ = out.push_within_capacity(uapi::drm_vrust_vm_mapping {
                addr: va.addr(),
                range: va.size(),
                offset: va.offset(),
                bo_id: va.object().id,
            });
            total += 1;
        }
        for m in out.iter() {
            writer.write(m)?;
        }
        arg.count = total;
        Ok(0)
    }
}

/// Applies a bind from its job, with the VM locked: on the fence signalling path, so nothing
/// here allocates. A bind that could make the VM hold more than `VRUST_VM_MAX_MAPPINGS`
/// mappings fails with `ENOSPC` and changes nothing; one of a destroyed VM with `ENODEV`.
pub(crate) fn apply(bind: &mut gpuvm::Bind<VrustVm>) -> Result {
    let vm: ARef<gpuvm::GpuVm<VrustVm>> = bind.vm().into();
    let mut vm = vm.lock();
    // A destroyed VM first: its mapping count is that of before its destruction.
    if vm.is_closed() {
        return Err(ENODEV);
    }
    // What the bind adds: the new mapping of a map, and one more when a single mapping spans
    // the range with room on both sides, as it is cut in two; what it removes: the mappings
    // inside the range. (A walk of at most `VRUST_VM_MAX_MAPPINGS`, allocating nothing.)
    let (addr, size) = bind.range();
    let end = addr.saturating_add(size);
    let cut = vm
        .find(addr)
        .is_some_and(|va| va.addr() < addr && va.addr().saturating_add(va.size()) > end);
    let inside = vm
        .vas()
        .filter(|va| va.addr() >= addr && va.addr().saturating_add(va.size()) <= end)
        .count();
    let new = (usize::from(bind.is_map()) + usize::from(cut)).saturating_sub(inside);
    if vm.mappings + new > uapi::VRUST_VM_MAX_MAPPINGS as usize {
        return Err(ENOSPC);
    }
    bind.apply(&mut vm, &mut ())
}
