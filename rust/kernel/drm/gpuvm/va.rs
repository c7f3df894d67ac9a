// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A mapping of a VM: [`Va`], a `struct drm_gpuva` with the driver's data.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    graveyard::Buried,
    vm_bo::VmBo,
    DriverGpuVm, //
};
use crate::{
    bindings,
    drm::gem::shmem::Object,
    sync::atomic::Atomic,
    types::Opaque, //
};
use core::ptr;

/// A mapping of a [`GpuVm`](super::GpuVm), with the driver's data.
///
/// # Invariants
///
/// From [`OpMap::insert`] or [`OpRemap::remap`] until it is removed, `va` is a
/// `struct drm_gpuva` in its VM's tree and linked to a VM object; the layer hands out
/// references to a `Va` only in that time.
///
/// [`OpMap::insert`]: super::OpMap::insert
/// [`OpRemap::remap`]: super::OpRemap::remap
#[repr(C)]
pub struct Va<T: DriverGpuVm> {
    va: Opaque<bindings::drm_gpuva>,
    data: T::VaData,
    /// The next removed mapping of the VM's graveyard, once this one is removed.
    dead: Atomic<*mut Self>,
}

// SAFETY: `link` is always `dead`, which only the graveyard uses.
unsafe impl<T: DriverGpuVm> Buried for Va<T> {
    fn link(&self) -> &Atomic<*mut Self> {
        &self.dead
    }
}

impl<T: DriverGpuVm> Va<T> {
    /// A mapping of the range and object of `m`, with data `data`, not yet in a tree.
    pub(super) fn new(m: &bindings::drm_gpuva_op_map, data: T::VaData) -> Self {
        let mut raw: bindings::drm_gpuva = pin_init::zeroed();
        raw.va.addr = m.va.addr;
        raw.va.range = m.va.range;
        raw.gem.obj = m.gem.obj;
        raw.gem.offset = m.gem.offset;
        Va {
            va: Opaque::new(raw),
            data,
            dead: Atomic::new(ptr::null_mut()),
        }
    }

    /// The C mapping.
    #[inline]
    pub(super) fn as_raw(&self) -> *mut bindings::drm_gpuva {
        self.va.get()
    }

    /// The start address.
    #[inline]
    pub fn addr(&self) -> u64 {
        // SAFETY: Fixed while the mapping is in the tree.
        unsafe { (*self.as_raw()).va.addr }
    }

    /// The size in bytes.
    #[inline]
    pub fn size(&self) -> u64 {
        // SAFETY: As above.
        unsafe { (*self.as_raw()).va.range }
    }

    /// The offset in the object.
    #[inline]
    pub fn offset(&self) -> u64 {
        // SAFETY: As above.
        unsafe { (*self.as_raw()).gem.offset }
    }

    /// The mapped object.
    pub fn object(&self) -> &Object<T::Object> {
        // SAFETY: Fixed while the mapping is in the tree. The VM object the mapping is linked to
        // holds a reference to the object, which is of the VM's object type (the layer maps
        // only those).
        unsafe { &*(*self.as_raw()).gem.obj.cast::<Object<T::Object>>() }
    }

    /// The VM object of the mapping: its (VM, object) data.
    pub fn vm_bo(&self) -> &VmBo<T> {
        // SAFETY: Linked mappings hold a reference to their VM object, a `VmBo<T>`.
        unsafe { &*(*self.as_raw()).vm_bo.cast::<VmBo<T>>() }
    }

    /// The driver's data.
    #[inline]
    pub fn data(&self) -> &T::VaData {
        &self.data
    }
}
