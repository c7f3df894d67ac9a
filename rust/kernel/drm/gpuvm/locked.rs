// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The locked VM: [`LockedVm`], which maps and unmaps through the split/merge steps, and reads
//! the mappings.
//!
//! A map or unmap locks, in one `drm_exec` acquire context, the VM's reservation object and
//! every object whose mappings its steps change, then lets the C core call the steps.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    sm_ops::StepArgs,
    va::Va,
    vm::{
        GpuVm,
        Room,
        VmState, //
    },
    vm_bo::VmBo,
    DriverGpuVm,
};
use crate::{
    alloc::{
        KBox,
        KVec, //
    },
    bindings,
    drm::gem::{
        resv::Exec,
        shmem::Object,
        BaseObject, //
    },
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::c_int,
    prelude::*,
    sync::MutexGuard,
};
use core::{
    ops::{
        Deref,
        DerefMut, //
    },
    ptr::{
        self,
        NonNull, //
    },
};

/// A locked [`GpuVm`]: access to the driver's state (through `Deref`) and to the mappings.
///
/// # Invariants
///
/// `guard` is the guard of `vm`'s own mutex (`inner`): the task holds the VM's lock.
pub struct LockedVm<'a, T: DriverGpuVm> {
    vm: &'a GpuVm<T>,
    guard: MutexGuard<'a, VmState<T>>,
}

impl<T: DriverGpuVm> Deref for LockedVm<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard.driver
    }
}

impl<T: DriverGpuVm> DerefMut for LockedVm<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard.driver
    }
}

impl<'a, T: DriverGpuVm> LockedVm<'a, T> {
    /// Locks `vm`.
    pub(super) fn new(vm: &'a GpuVm<T>) -> Self {
        // INVARIANT: The guard of `vm`'s own mutex.
        LockedVm {
            vm,
            guard: vm.inner.lock(),
        }
    }

    /// Maps `size` bytes of `obj` at `offset` to `addr`, through the driver's steps.
    ///
    /// Existing mappings in the range are cut or removed first (`step_remap`, `step_unmap`),
    /// then the new one is added (`step_map`). Fails with `EINVAL` when the range is empty,
    /// overflows, is not inside the VM or not inside the object, and with the steps' errors.
    pub fn map(
        &mut self,
        ctx: &mut T::StepContext,
        obj: &Object<T::Object>,
        offset: u64,
        addr: u64,
        size: u64,
    ) -> Result {
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if size == 0 || end > obj.size() as u64 || !self.range_valid(addr, size) {
            return Err(EINVAL);
        }
        if self.guard.closed {
            return Err(ENODEV);
        }
        // SAFETY: `drm` is set at init and never changes.
        if obj.dev().as_raw() != unsafe { (*self.vm.as_raw()).drm } {
            return Err(EINVAL);
        }
        let mut req: bindings::drm_gpuvm_map_req = pin_init::zeroed();
        req.map.va.addr = addr;
        req.map.va.range = size;
        req.map.gem.obj = obj.as_raw();
        req.map.gem.offset = offset;
        let vm = self.vm.as_raw();
        // Both closures use the request; it lives in this frame until the end.
        let req = &raw mut req;
        self.run_steps(
            ctx,
            self.count_intersecting(addr, size),
            Some(obj),
            |exec| {
                // SAFETY: `vm` is live and its tree locked against changes (`&mut self`) until
                // the steps ran; this locks the object and every object the steps touch, all of
                // which outlive the locks (`obj` is borrowed, the others are mapped).
                unsafe { bindings::drm_gpuvm_sm_map_exec_lock(vm, exec, 1, req) }
            },
            // SAFETY: As `run_steps` calls it: with the tree ours and the reservation locks of
            // every object involved held, and `args` valid for the call.
            |args| unsafe { bindings::drm_gpuvm_sm_map(vm, args.cast(), req) },
        )
    }

    /// Removes the mappings of `[addr, addr + size)`, through the driver's steps: mappings
    /// inside it are removed (`step_unmap`), mappings across its edges are cut (`step_remap`).
    ///
    /// Fails with `EINVAL` when the range is empty, overflows or is not inside the VM, and
    /// with the steps' errors.
    pub fn unmap(&mut self, ctx: &mut T::StepContext, addr: u64, size: u64) -> Result {
        if size == 0 || !self.range_valid(addr, size) {
            return Err(EINVAL);
        }
        if self.guard.closed {
            return Err(ENODEV);
        }
        let vm = self.vm.as_raw();
        self.run_steps(
            ctx,
            self.count_intersecting(addr, size),
            None,
            |exec| {
                // SAFETY: `vm` is live and its tree locked; this locks every object whose
                // mappings the steps change, which outlive the locks (they are mapped).
                unsafe { bindings::drm_gpuvm_sm_unmap_exec_lock(vm, exec, addr, size) }
            },
            // SAFETY: As in `map`.
            |args| unsafe { bindings::drm_gpuvm_sm_unmap(vm, args.cast(), addr, size) },
        )
    }

    /// The mappings, in address order.
    pub fn vas(&self) -> impl Iterator<Item = &Va<T>> + '_ {
        let head = {
            // SAFETY: Only a place is computed.
            unsafe { &raw mut (*self.vm.as_raw()).rb.list }
        };
        // SAFETY: The list is initialised; it changes only with the tree, which `&self` locks.
        let mut pos = unsafe { (*head).next };
        core::iter::from_fn(move || {
            if pos == head {
                return None;
            }
            // SAFETY: `pos` is the `rb.entry` of a `drm_gpuva` in the tree, which is a `Va<T>`
            // (the layer inserts only those) that lives while it is in the tree.
            let va = unsafe {
                let raw = crate::container_of!(pos, bindings::drm_gpuva, rb.entry);
                pos = (*pos).next;
                &*raw.cast::<Va<T>>()
            };
            Some(va)
        })
    }

    /// The mapping that contains `addr`, if any.
    pub fn find(&self, addr: u64) -> Option<&Va<T>> {
        // SAFETY: The tree is locked (`&self`).
        let va = unsafe { bindings::drm_gpuva_find_first(self.vm.as_raw(), addr, 1) };
        // SAFETY: Every mapping in the tree is a live `Va<T>`.
        NonNull::new(va).map(|va| unsafe { &*va.as_ptr().cast::<Va<T>>() })
    }

    /// Closes the VM for its [`UniqueVm`](super::UniqueVm)'s drop: no new mappings, and every
    /// mapping is removed without calling the steps.
    pub(super) fn close(&mut self) {
        self.guard.closed = true;
        // SAFETY: Only a place is computed.
        let head = unsafe { &raw mut (*self.vm.as_raw()).rb.list };
        loop {
            // SAFETY: The list is initialised and ours (the VM is locked).
            let first = unsafe { (*head).next };
            if first == head {
                break;
            }
            // SAFETY: The first entry is the `rb.entry` of a mapping, a boxed `Va<T>` of the tree.
            let va = unsafe { crate::container_of!(first, bindings::drm_gpuva, rb.entry) };
            // SAFETY: As above; the object is live (the mapping's VM object holds it).
            let obj = unsafe { (*va).gem.obj };
            // SAFETY: The object's reservation lock is taken for the unlink, which may destroy
            // the VM object (into `dead_vm_bos`, which has space for one: reserved at creation,
            // and emptied below) and its reference to the object: ours keeps it until after the
            // unlock. The mapping is then out of the tree and unlinked, and ours to free.
            let va = unsafe {
                bindings::drm_gem_object_get(obj);
                bindings::dma_resv_lock((*obj).resv, ptr::null_mut());
                bindings::drm_gpuva_remove(va);
                bindings::drm_gpuva_unlink(va);
                bindings::dma_resv_unlock((*obj).resv);
                KBox::from_raw(va.cast::<Va<T>>())
            };
            // The mapping's data and the VM object's data go after the unlock, before the
            // object reference (which may be the last).
            drop(va);
            self.drop_dead();
            // SAFETY: The reference taken above.
            unsafe { bindings::drm_gem_object_put(obj) };
        }
    }

    /// Runs the steps of one `map` or `unmap`, which removes at most `removals` mappings.
    ///
    /// Reserves the room of the steps; locks, in one `drm_exec` acquire context, the VM's
    /// reservation object and what `lock_objects` locks (every object whose mappings the steps
    /// change, and `map_obj`); obtains the VM object of `map_obj`, the object of a map request;
    /// then calls `sm_call`, the C call that runs the steps, with the tree ours, the reservation
    /// locks of every object involved held and a pointer to the steps' [`StepArgs`], valid for
    /// the call. The removed mappings and freed VM objects are dropped after the locks.
    fn run_steps(
        &mut self,
        ctx: &mut T::StepContext,
        removals: usize,
        map_obj: Option<&Object<T::Object>>,
        mut lock_objects: impl FnMut(*mut bindings::drm_exec) -> c_int,
        sm_call: impl FnOnce(*mut StepArgs<T>) -> c_int,
    ) -> Result {
        let room = self.reserve(removals)?;
        let vm = self.vm.as_raw();
        let driver = &mut self.guard.driver;
        let steps = Exec::scoped(
            true,
            |l| {
                l.call_raw(|exec| {
                    // SAFETY: `vm` is live; its reservation object lives as long as it.
                    unsafe { bindings::drm_exec_lock_obj(exec, (*vm).r_obj) }
                })?;
                l.call_raw(&mut lock_objects)
            },
            |exec, ()| {
                let held = hold(exec)?;
                let vm_bo = match map_obj {
                    // SAFETY: The object's reservation lock is held (`lock_objects` locks it).
                    Some(obj) => from_err_ptr(unsafe {
                        bindings::drm_gpuvm_bo_obtain_locked(vm, obj.as_raw())
                    })?,
                    None => ptr::null_mut(),
                };
                let mut args = StepArgs::new(driver, ctx, vm_bo, room);
                let ret = sm_call(&raw mut args);
                if !vm_bo.is_null() {
                    // The mappings hold their own references to the VM object.
                    // SAFETY: The object's reservation lock is still held, as the put may
                    // destroy the VM object.
                    unsafe { bindings::drm_gpuvm_bo_put(vm_bo) };
                }
                Ok((held, ret))
            },
        );
        // After the locks: the references first, then the driver data of what the steps removed.
        let ret = steps.and_then(|(held, ret)| {
            drop(held);
            to_result(ret)
        });
        self.drop_dead();
        ret
    }

    /// Whether `[addr, addr + size)` is inside the VM (and does not overflow).
    fn range_valid(&self, addr: u64, size: u64) -> bool {
        // SAFETY: The VM is live; the check reads immutable fields.
        unsafe { bindings::drm_gpuvm_range_valid(self.vm.as_raw(), addr, size) }
    }

    /// The number of mappings that intersect `[addr, addr + size)`: the most a `map` or
    /// `unmap` of that range removes.
    fn count_intersecting(&self, addr: u64, size: u64) -> usize {
        let end = addr.saturating_add(size);
        // SAFETY: The tree is locked (`&self`).
        let first = unsafe { bindings::drm_gpuva_find_first(self.vm.as_raw(), addr, size) };
        if first.is_null() {
            return 0;
        }
        // SAFETY: Only a place is computed.
        let head = unsafe { &raw mut (*self.vm.as_raw()).rb.list };
        // SAFETY: `first` is a mapping of the locked tree.
        let mut pos = unsafe { &raw mut (*first).rb.entry };
        let mut n = 0;
        while pos != head {
            // SAFETY: `pos` is the `rb.entry` of a mapping of the locked tree, in address order.
            let va = unsafe { crate::container_of!(pos, bindings::drm_gpuva, rb.entry) };
            // SAFETY: As above.
            if unsafe { (*va).va.addr } >= end {
                break;
            }
            n += 1;
            // SAFETY: As above.
            pos = unsafe { (*pos).next };
        }
        n
    }

    /// The VM's room and freed VM objects, outside the steps.
    fn room(&mut self) -> (&mut Room<T>, &mut KVec<KBox<VmBo<T>>>) {
        // SAFETY: The VM is locked (type invariant), so both are ours (type invariant of
        // `GpuVm`); `&mut self` makes these the only references, and no step runs while they
        // live.
        unsafe { (&mut *self.vm.room.get(), &mut *self.vm.dead_vm_bos.get()) }
    }

    /// Reserves room for a call that removes at most `removals` mappings, and returns the room
    /// for its steps.
    fn reserve(&mut self, removals: usize) -> Result<*mut Room<T>> {
        let (room, dead_vm_bos) = self.room();
        room.reserve(dead_vm_bos, removals)?;
        Ok(self.vm.room.get())
    }

    /// Drops the removed mappings and freed VM objects of the last steps: after the
    /// reservation locks are released, with the VM still locked.
    fn drop_dead(&mut self) {
        // Out of the room while the driver's drops run; their memory stays reserved.
        let (room, dead_vm_bos) = self.room();
        let (mut vas, mut vm_bos) = (
            core::mem::take(&mut room.dead_vas),
            core::mem::take(dead_vm_bos),
        );
        vas.clear();
        vm_bos.clear();
        let (room, dead_vm_bos) = self.room();
        room.dead_vas = vas;
        *dead_vm_bos = vm_bos;
    }
}

/// A GEM object reference, put on drop.
struct ObjRef(*mut bindings::drm_gem_object);

impl Drop for ObjRef {
    fn drop(&mut self) {
        // SAFETY: The reference was taken in `hold`.
        unsafe { bindings::drm_gem_object_put(self.0) };
    }
}

/// Takes a reference to every object `exec` locked.
///
/// Taken before any step runs (so no step can fail for want of memory after changing the tree)
/// and put after the locks are dropped: no step and no drop of driver data puts the last
/// reference of a locked object inside the acquire context, whose release would take its
/// reservation lock again.
fn hold(exec: &Exec<'_>) -> Result<KVec<ObjRef>> {
    let mut held = KVec::with_capacity(exec.num_locked(), GFP_KERNEL)?;
    for obj in exec.locked_objects() {
        // SAFETY: The exec holds a reference to each object it locked.
        unsafe { bindings::drm_gem_object_get(obj) };
        // Cannot fail: the capacity is there.
        let _ = held.push(ObjRef(obj), GFP_KERNEL);
    }
    Ok(held)
}
