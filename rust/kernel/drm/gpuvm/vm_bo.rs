// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A VM-object link: [`VmBo`], a `struct drm_gpuvm_bo` with the driver's data, and the C core's
//! callbacks that allocate and free it.
//!
//! The C core makes one when an object is first mapped in a VM (`drm_gpuvm_bo_obtain_locked()`)
//! and frees it when its last mapping is unlinked; each mapping holds a reference to it.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    vm::GpuVm,
    DriverGpuVm, //
};
use crate::{
    alloc::KBox,
    bindings,
    prelude::*,
    types::Opaque, //
};
use core::ptr;

/// The (VM, object) pair of mappings, with the driver's data.
#[repr(C)]
pub struct VmBo<T: DriverGpuVm> {
    bo: Opaque<bindings::drm_gpuvm_bo>,
    data: T::VmBoData,
}

impl<T: DriverGpuVm> VmBo<T> {
    /// The driver's data.
    #[inline]
    pub fn data(&self) -> &T::VmBoData {
        &self.data
    }
}

/// `drm_gpuvm_ops.vm_bo_alloc`: a zeroed `VmBo<T>` with default data.
///
/// # Safety
///
/// Called by the C core only.
pub(super) unsafe extern "C" fn alloc_callback<T: DriverGpuVm>() -> *mut bindings::drm_gpuvm_bo {
    // The allocation first, so that a failure drops no driver data inside the acquire context.
    match KBox::<VmBo<T>>::new_uninit(GFP_KERNEL) {
        Ok(slot) => KBox::into_raw(KBox::write(
            slot,
            VmBo::<T> {
                bo: Opaque::zeroed(),
                data: T::VmBoData::default(),
            },
        ))
        .cast(),
        Err(_) => ptr::null_mut(),
    }
}

/// `drm_gpuvm_ops.vm_bo_free`.
///
/// # Safety
///
/// Called by the C core only, once, with a `VmBo<T>` of `alloc_callback`.
pub(super) unsafe extern "C" fn free_callback<T: DriverGpuVm>(vm_bo: *mut bindings::drm_gpuvm_bo) {
    // SAFETY: The VM object holds a reference to its VM, a `GpuVm<T>` (`vm` is its first field),
    // until the C core puts it after this callback. Read before the box takes the object over.
    let vm = unsafe { &*(*vm_bo).vm.cast::<GpuVm<T>>() };
    // SAFETY: By the safety requirements. The C core touches the memory no more after this
    // callback, so it may be freed later.
    let boxed = unsafe { KBox::from_raw(vm_bo.cast::<VmBo<T>>()) };
    // SAFETY: Every put of a VM object is made by the layer with the VM locked (in
    // `LockedVm::run_steps`, the steps it runs, and `LockedVm::close`), so `dead_vm_bos` is
    // ours, and no other reference to it lives during the C calls that free VM objects (type
    // invariant of `GpuVm`).
    let dead = unsafe { &mut *vm.dead_vm_bos.get() };
    if let Err(e) = dead.push_within_capacity(boxed) {
        // Cannot happen: the room has space for every VM object a call frees. Dropping the data
        // here could deadlock; leaking it is the lesser harm.
        crate::warn_on!(true);
        core::mem::forget(e);
    }
}
