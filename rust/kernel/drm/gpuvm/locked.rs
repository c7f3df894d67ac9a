// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The locked VM: [`LockedVm`], which maps and unmaps through the split/merge steps, and reads
//! the mappings.
//!
//! A map or unmap locks, in one `drm_exec` acquire context, the VM's reservation object and
//! every object whose mappings its steps change, then lets the C core call the steps.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    immediate,
    sm_ops::{
        self,
        StepArgs, //
    },
    va::Va,
    vm::{
        GpuVm,
        Room,
        VmState, //
    },
    DriverGpuVm,
};
use crate::{
    alloc::KVec,
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
    ///
    /// Only for a VM not in immediate mode (it does not build otherwise): it allocates and
    /// takes reservation locks with the VM locked. In immediate mode, prepare a [`Bind`] with
    /// [`GpuVm::prepare_map`] and apply it.
    ///
    /// [`Bind`]: super::Bind
    pub fn map(
        &mut self,
        ctx: &mut T::StepContext<'_>,
        obj: &Object<T::Object>,
        offset: u64,
        addr: u64,
        size: u64,
    ) -> Result {
        const {
            assert!(
                !immediate::<T>(),
                "LockedVm::map is not for immediate mode: use GpuVm::prepare_map"
            )
        }
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
            true,
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
    /// Fails with `EINVAL` when the range is empty, overflows or is not inside the VM, with
    /// `ENOMEM`, and with the steps' errors. A signal does not interrupt it (it waits for the
    /// reservation locks uninterruptibly): drivers unmap on teardown paths, where giving up
    /// would leave mappings behind.
    ///
    /// Only for a VM not in immediate mode, as [`LockedVm::map`]; there, see
    /// [`GpuVm::prepare_unmap`].
    pub fn unmap(&mut self, ctx: &mut T::StepContext<'_>, addr: u64, size: u64) -> Result {
        const {
            assert!(
                !immediate::<T>(),
                "LockedVm::unmap is not for immediate mode: use GpuVm::prepare_unmap"
            )
        }
        if size == 0 || !self.range_valid(addr, size) {
            return Err(EINVAL);
        }
        if self.guard.closed {
            return Err(ENODEV);
        }
        let vm = self.vm.as_raw();
        self.run_steps(
            ctx,
            false,
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
    /// mapping is removed without calling the steps. Their data goes to the VM's graveyards,
    /// which the caller empties after unlocking the VM.
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
            if immediate::<T>() {
                // SAFETY: The mapping is in the locked tree; removed, it is linked and ours; in
                // immediate mode the unlink takes the lock it needs.
                unsafe {
                    bindings::drm_gpuva_remove(va);
                    sm_ops::unlink_and_bury::<T>(&self.vm.dead_vas, va);
                }
                continue;
            }
            // SAFETY: As above; the object is live (the mapping's VM object holds it).
            let obj = unsafe { (*va).gem.obj };
            // SAFETY: The object's reservation lock is taken for the unlink, and a reference
            // held across it, so that the VM object's destruction does not put its last one
            // under the lock.
            unsafe {
                bindings::drm_gem_object_get(obj);
                bindings::dma_resv_lock((*obj).resv, ptr::null_mut());
                bindings::drm_gpuva_remove(va);
                sm_ops::unlink_and_bury::<T>(&self.vm.dead_vas, va);
                bindings::dma_resv_unlock((*obj).resv);
                bindings::drm_gem_object_put(obj);
            }
        }
    }

    /// Runs the steps of one `map` or `unmap`.
    ///
    /// Reserves the room of the steps; locks, in one `drm_exec` acquire context, the VM's
    /// reservation object and what `lock_objects` locks (every object whose mappings the steps
    /// change, and `map_obj`); obtains the VM object of `map_obj`, the object of a map request;
    /// then calls `sm_call`, the C call that runs the steps, with the tree ours, the reservation
    /// locks of every object involved held and a pointer to the steps' [`StepArgs`], valid for
    /// the call. The removed mappings and freed VM objects are dropped after the locks. The
    /// locks are taken interruptibly if `interruptible`.
    ///
    /// Not for immediate mode (`map` and `unmap` do not build there).
    fn run_steps(
        &mut self,
        ctx: &mut T::StepContext<'_>,
        interruptible: bool,
        map_obj: Option<&Object<T::Object>>,
        mut lock_objects: impl FnMut(*mut bindings::drm_exec) -> c_int,
        sm_call: impl FnOnce(*mut StepArgs<'_, T>) -> c_int,
    ) -> Result {
        let room = self.reserve()?;
        let vm = self.vm.as_raw();
        let gpuvm = self.vm;
        let driver = &mut self.guard.driver;
        let steps = Exec::scoped(
            interruptible,
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
                let mut args = StepArgs::new(&gpuvm.dead_vas, driver, ctx, vm_bo, room);
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
        // The removed mappings and freed VM objects: after the reservation locks are released,
        // with the VM still locked (not in immediate mode).
        self.vm.cleanup();
        ret
    }

    /// Whether `[addr, addr + size)` is inside the VM (and does not overflow).
    fn range_valid(&self, addr: u64, size: u64) -> bool {
        self.vm.range_valid(addr, size)
    }

    /// Whether the VM's [`UniqueVm`](super::UniqueVm) is gone: it takes no new mappings
    /// (`ENODEV`).
    pub fn is_closed(&self) -> bool {
        self.guard.closed
    }

    /// The VM that is locked.
    pub(super) fn gpuvm(&self) -> &'a GpuVm<T> {
        self.vm
    }

    /// The driver's state, and whether the VM is closed.
    pub(super) fn state(&mut self) -> (&mut T, bool) {
        let closed = self.guard.closed;
        (&mut self.guard.driver, closed)
    }

    /// Makes sure that the VM's room holds what the steps of one call insert, and returns it for
    /// the steps.
    fn reserve(&mut self) -> Result<*mut Room<T>> {
        // SAFETY: The VM is locked (type invariant), so the room is ours (type invariant of
        // `GpuVm`); `&mut self` makes this the only reference, and no step runs while it lives.
        let room = unsafe { &mut *self.vm.room.get() };
        room.reserve(Room::<T>::MAX_NEW)?;
        Ok(self.vm.room.get())
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
