// SPDX-License-Identifier: GPL-2.0

//! GPU virtual address spaces: a VM per `VM_CREATE`, mappings made and cut by `VM_BIND`.
//!
//! A VM is a [`gpuvm::UniqueVm`] of a file, with [`VrustVm`] as its driver state. The layer
//! runs the split/merge steps of a bind and calls the driver once per step (`step_map`,
//! `step_unmap`, `step_remap`); each step returns the proof that it was done, which only the
//! step's own operation can make. vrust has no page tables to update, so its steps only count
//! the mappings, for the limit `VRUST_VM_MAX_MAPPINGS`.
//!
//! The data of a buffer mapped in a VM ([`VmBuffer`]) is the buffer's kernel mapping, which
//! the software GPU ([`crate::gpu`]) makes on first use; each job holds its own reference.

use crate::{
    buffers::{
        Bo,
        VrustBo, //
    },
    driver::Vrust,
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
        atomic::Atomic,
        Arc,
        SetOnce, //
    },
    uapi, //
};

/// The state of a GPU VM: the software GPU has no page tables, it resolves addresses through
/// the VM's mappings when it runs. The state counts the mappings, for the limit.
#[derive(Default)]
pub(crate) struct VrustVm {
    mappings: usize,
}

/// The data of a buffer mapped in a VM (one per VM and buffer): the buffer's kernel mapping,
/// made when `EXEC` first uses it and kept while the buffer is mapped in the VM, as a GPU keeps
/// its page tables (mapping a buffer into the kernel costs far more than a copy). The layer
/// drops it when the buffer's last mapping in the VM goes, after the reservation locks of that
/// bind are released, as dropping a mapping takes its buffer's lock.
pub(crate) struct VmBuffer {
    /// The kernel mapping of the buffer, once made.
    pub(crate) map: SetOnce<shmem::VMap<VrustBo>>,
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
    type StepContext = ();

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
        // Its mappings go when the last user (a running EXEC, say) lets go, outside the table
        // lock.
        drop(vm);
        Ok(0)
    }

    /// `VM_BIND`: maps a range of a buffer at a GPU address, or unmaps a GPU range.
    #[ioctl(DRM_IOCTL_VRUST_VM_BIND, RENDER_ALLOW)]
    pub(crate) fn vm_bind(
        _dev: &drm::Device<Vrust>,
        arg: &uapi::drm_vrust_vm_bind,
        file: &drm::File<Vrust>,
    ) -> Result<u32> {
        let page = PAGE_SIZE as u64;
        if arg.pad != 0 || (arg.addr | arg.range | arg.offset) % page != 0 {
            return Err(EINVAL);
        }
        let vm = file.vm(arg.vm_id)?;
        let mut vm = vm.lock();
        let max = uapi::VRUST_VM_MAX_MAPPINGS as usize;
        match arg.op {
            uapi::VRUST_BIND_MAP => {
                // A map can cut one mapping in two around the new one.
                if vm.mappings + 2 > max {
                    return Err(ENOSPC);
                }
                let bo = Bo::lookup(file, arg.handle)?;
                vm.map(&mut (), &bo, arg.offset, arg.addr, arg.range)?;
            }
            uapi::VRUST_BIND_UNMAP => {
                if arg.handle != 0 || arg.offset != 0 {
                    return Err(EINVAL);
                }
                // An unmap can cut one mapping in two.
                if vm.mappings + 1 > max {
                    return Err(ENOSPC);
                }
                vm.unmap(&mut (), arg.addr, arg.range)?;
            }
            _ => return Err(EINVAL),
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
        let vm = vm.lock();
        let room = usize::try_from(arg.count)?;
        let size = core::mem::size_of::<uapi::drm_vrust_vm_mapping>();
        let mut writer =
            drm::user::user_slice(arg.mappings, room.checked_mul(size).ok_or(EINVAL)?)?.writer();
        let mut total = 0u32;
        for va in vm.vas() {
            if (total as usize) < room {
                writer.write(&uapi::drm_vrust_vm_mapping {
                    addr: va.addr(),
                    range: va.size(),
                    offset: va.offset(),
                    bo_id: va.object().id,
                })?;
            }
            total += 1;
        }
        arg.count = total;
        Ok(0)
    }
}
