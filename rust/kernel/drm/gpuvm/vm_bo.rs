// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A VM-object link: [`VmBo`], a `struct drm_gpuvm_bo` with the driver's data, and the C core's
//! callbacks that allocate and free it.
//!
//! The C core makes one when an object is first mapped in a VM (`drm_gpuvm_bo_obtain_locked()`;
//! in immediate mode, when a map is prepared: `drm_gpuvm_bo_create()` and
//! `drm_gpuvm_bo_obtain_prealloc()`) and frees it when its last reference goes; each mapping,
//! and a prepared map, holds one.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    graveyard::Buried,
    vm::GpuVm,
    DriverGpuVm, //
};
use crate::{
    alloc::KBox,
    bindings,
    prelude::*,
    sync::atomic::Atomic,
    types::Opaque, //
};
use core::ptr;

/// The (VM, object) pair of mappings, with the driver's data.
#[repr(C)]
pub struct VmBo<T: DriverGpuVm> {
    bo: Opaque<bindings::drm_gpuvm_bo>,
    data: T::VmBoData,
    /// The next freed VM object of the VM's graveyard, once this one is freed.
    dead: Atomic<*mut Self>,
}

// SAFETY: `link` is always `dead`, which only the graveyard uses.
unsafe impl<T: DriverGpuVm> Buried for VmBo<T> {
    fn link(&self) -> &Atomic<*mut Self> {
        &self.dead
    }
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
                dead: Atomic::new(ptr::null_mut()),
            },
        ))
        .cast(),
        Err(_) => ptr::null_mut(),
    }
}

/// `drm_gpuvm_ops.vm_bo_free`: buries the VM object in its VM's graveyard.
///
/// The C core frees VM objects where their data may not be dropped: inside the steps (an
/// acquire context). In immediate mode it frees them at the VM's cleanup, and frees the spare
/// one of `drm_gpuvm_bo_obtain_prealloc()` when the pair exists already; the graveyard serves
/// there too.
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
    vm.dead_vm_bos.bury(boxed);
}
