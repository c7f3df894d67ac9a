// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The split/merge steps: the operations the driver's step callbacks get ([`OpMap`],
//! [`OpUnmap`], [`OpRemap`]), the proof each returns ([`Mapped`], [`Unmapped`], [`Remapped`]),
//! and the C core's step callback that hands them out.
//!
//! A step's operation is consumed by the one method that applies it to the tree, and only that
//! method makes the step's proof. `'op` is invariant and unique to each step, so the proof a
//! callback returns is that of its own operation: a driver cannot forget to apply a step.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    graveyard::Graveyard,
    immediate,
    va::Va,
    vm::Room,
    DriverGpuVm, //
};
use crate::{
    alloc::KBox,
    bindings::{
        self,
        drm_gpuva_op_type_DRM_GPUVA_OP_MAP as OP_MAP,
        drm_gpuva_op_type_DRM_GPUVA_OP_REMAP as OP_REMAP,
        drm_gpuva_op_type_DRM_GPUVA_OP_UNMAP as OP_UNMAP, //
    },
    drm::gem::shmem::Object,
    error::{
        from_result,
        to_result, //
    },
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
};
use core::{
    marker::PhantomData,
    ptr, //
};

/// Makes a lifetime invariant: a proof or operation of `'op` does not coerce to another
/// lifetime.
type Invariant<'op> = PhantomData<fn(&'op ()) -> &'op ()>;

/// Proof that a map step inserted its mapping into the tree and linked it.
///
/// # Invariants
///
/// Made only by [`OpMap::insert`], once the mapping of the `OpMap<'op, T>` it consumed is in the
/// tree and linked to its VM object.
#[must_use = "the step callback returns it to prove that the mapping was inserted"]
pub struct Mapped<'op>(Invariant<'op>);

/// Proof that an unmap step removed its mapping from the tree and unlinked it.
///
/// # Invariants
///
/// Made only by [`OpUnmap::remove`], once the mapping of the `OpUnmap<'op, T>` it consumed is
/// out of the tree and unlinked.
#[must_use = "the step callback returns it to prove that the mapping was removed"]
pub struct Unmapped<'op>(Invariant<'op>);

/// Proof that a remap step cut its mapping: the old one is removed and unlinked, the parts
/// that stay are inserted and linked.
///
/// # Invariants
///
/// Made only by [`OpRemap::remap`], once the `OpRemap<'op, T>` it consumed is applied to the
/// tree in full.
#[must_use = "the step callback returns it to prove that the mapping was cut"]
pub struct Remapped<'op>(Invariant<'op>);

/// A step's new mapping.
pub struct OpMap<'op, T: DriverGpuVm>(Step<'op, T, bindings::drm_gpuva_op_map>);

impl<'op, T: DriverGpuVm> OpMap<'op, T> {
    /// The start address of the new mapping.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.0.op.va.addr
    }

    /// Its size in bytes.
    #[inline]
    pub fn size(&self) -> u64 {
        self.0.op.va.range
    }

    /// Its offset in the object.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.0.op.gem.offset
    }

    /// The object.
    pub fn object(&self) -> &Object<T::Object> {
        // SAFETY: The request's object, held by the caller of `map` for the call, or by the VM
        // object of the `Bind` being applied.
        unsafe { &*self.0.op.gem.obj.cast::<Object<T::Object>>() }
    }

    /// Inserts the mapping into the tree with data `data`, linked to the request's VM object.
    ///
    /// Allocates nothing (the room was reserved before the steps). Fails with `EEXIST` when the
    /// range is taken, which the split/merge steps never ask for; `data` is then dropped later,
    /// as that of a removed mapping.
    pub fn insert(self, data: T::VaData) -> Result<Mapped<'op>> {
        // SAFETY: `res` is live for the step (type invariant of `Step`).
        let (dead, room, vm_bo) = unsafe {
            (
                &*(*self.0.res).dead,
                (*self.0.res).room,
                (*self.0.res).vm_bo,
            )
        };
        let va = new_va(room, self.0.op, data)?;
        // SAFETY: `va` is new and ours; the request's VM object is live, its VM's tree locked.
        let ret = unsafe { bindings::drm_gpuva_insert((*vm_bo).vm, (*va).as_raw()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: Not inserted: still ours.
            dead.bury(unsafe { KBox::from_raw(va) });
            return Err(e);
        }
        // SAFETY: The mapping is in the tree, not linked; the request's VM object is of its
        // object; outside immediate mode, the object's reservation lock is held.
        unsafe { link::<T>(&[(*va).as_raw()], vm_bo) };
        // INVARIANT: The mapping is in the tree and linked; `self` is consumed.
        Ok(Mapped(PhantomData))
    }
}

/// A step's mapping to remove.
pub struct OpUnmap<'op, T: DriverGpuVm>(Step<'op, T, bindings::drm_gpuva_op_unmap>);

impl<'op, T: DriverGpuVm> OpUnmap<'op, T> {
    /// The mapping.
    pub fn va(&self) -> &Va<T> {
        // SAFETY: A mapping of the tree, a `Va<T>` (type invariant of `Step`).
        unsafe { &*self.0.op.va.cast::<Va<T>>() }
    }

    /// Removes the mapping from the tree and unlinks it. Its data is dropped later: after the
    /// reservation locks are released, or, in immediate mode, where the [`Bind`] that ran the
    /// step is dropped.
    ///
    /// [`Bind`]: super::Bind
    pub fn remove(self) -> Unmapped<'op> {
        // SAFETY: `res` is live for the step (type invariant of `Step`).
        let dead = unsafe { &*(*self.0.res).dead };
        // SAFETY: The mapping is in the locked tree; outside immediate mode, its object's
        // reservation lock is held.
        unsafe { bindings::drm_gpuva_remove(self.0.op.va) };
        // SAFETY: Out of the tree, still linked, the lock still held.
        unsafe { unlink_and_bury::<T>(dead, self.0.op.va) };
        // INVARIANT: The mapping is out of the tree and unlinked; `self` is consumed.
        Unmapped(PhantomData)
    }
}

/// A step's mapping to cut: the parts before (`prev`) and after (`next`) the affected range
/// stay, as new mappings.
pub struct OpRemap<'op, T: DriverGpuVm>(Step<'op, T, bindings::drm_gpuva_op_remap>);

/// The address range, and the object offset, of a part of an [`OpRemap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// Start address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Object offset.
    pub offset: u64,
}

impl Part {
    /// The range and offset of the C core's part `m`.
    fn of(m: &bindings::drm_gpuva_op_map) -> Self {
        Part {
            addr: m.va.addr,
            size: m.va.range,
            offset: m.gem.offset,
        }
    }
}

impl<'op, T: DriverGpuVm> OpRemap<'op, T> {
    /// The mapping being cut.
    pub fn va(&self) -> &Va<T> {
        // SAFETY: `unmap` and its mapping are set, the mapping is in the tree (type invariant of
        // `Step`).
        unsafe { &*(*self.0.op.unmap).va.cast::<Va<T>>() }
    }

    /// The part before the affected range that stays, if any.
    pub fn prev(&self) -> Option<Part> {
        self.parts()[0].map(Part::of)
    }

    /// The part after the affected range that stays, if any.
    pub fn next(&self) -> Option<Part> {
        self.parts()[1].map(Part::of)
    }

    /// Cuts the mapping: removes it and inserts the parts that stay, with the data `split`
    /// gives for each (`prev` first), from the old mapping's data. The old mapping's data is
    /// dropped later, as in [`OpUnmap::remove`].
    ///
    /// Allocates nothing (the room was reserved before the steps), so it does not fail.
    pub fn remap(
        self,
        mut split: impl FnMut(&T::VaData, Part) -> T::VaData,
    ) -> Result<Remapped<'op>> {
        // SAFETY: `res` is live for the step (type invariant of `Step`).
        let (dead, room) = unsafe { (&*(*self.0.res).dead, (*self.0.res).room) };
        let old = self.va();
        let [prev_op, next_op] = self.parts();
        let mut part_va = |m: Option<&bindings::drm_gpuva_op_map>| match m {
            None => Ok(ptr::null_mut()),
            Some(m) => new_va(room, m, split(old.data(), Part::of(m))),
        };
        let prev = part_va(prev_op)?;
        let next = match part_va(next_op) {
            Ok(next) => next,
            Err(e) => {
                if !prev.is_null() {
                    // SAFETY: Made just above, not inserted: ours.
                    dead.bury(unsafe { KBox::from_raw(prev) });
                }
                return Err(e);
            }
        };
        // SAFETY: `unmap` is set (type invariant of `Step`).
        let old_raw = unsafe { (*self.0.op.unmap).va };
        // SAFETY: The old mapping is linked to a VM object, which stays alive while the new
        // parts take their references below.
        let vm_bo = unsafe { (*old_raw).vm_bo };
        let raw = |v: *mut Va<T>| -> *mut bindings::drm_gpuva {
            if v.is_null() {
                ptr::null_mut()
            } else {
                // SAFETY: A new mapping of the room.
                unsafe { (*v).as_raw() }
            }
        };
        // Removes the old mapping from the tree (keeping its memory) and inserts the parts.
        // SAFETY: The parts are new; the tree is locked; `op` is this remap step.
        unsafe { bindings::drm_gpuva_remap(raw(prev), raw(next), self.0.op) };
        // The parts first, so that the VM object keeps a mapping throughout.
        let parts = [raw(prev), raw(next)];
        let parts = if prev.is_null() {
            &parts[1..]
        } else if next.is_null() {
            &parts[..1]
        } else {
            &parts[..]
        };
        // SAFETY: The parts are in the tree, not linked, of the old mapping's object, whose VM
        // object that is; outside immediate mode, the object's reservation lock is held.
        unsafe { link::<T>(parts, vm_bo) };
        // SAFETY: `old_raw` is the old `Va<T>`, removed by `drm_gpuva_remap()`, still linked,
        // the lock still held.
        unsafe { unlink_and_bury::<T>(dead, old_raw) };
        // INVARIANT: The old mapping is out of the tree and unlinked, the parts are in it and
        // linked; `self` is consumed.
        Ok(Remapped(PhantomData))
    }

    /// The C core's parts that stay, before and after the affected range.
    fn parts(&self) -> [Option<&'op bindings::drm_gpuva_op_map>; 2] {
        // SAFETY: The non-NULL parts are valid for `'op` (type invariant of `Step`).
        unsafe { [self.0.op.prev.as_ref(), self.0.op.next.as_ref()] }
    }
}

/// What the operation of each kind of step holds: the C core's operation `O`, and the resources
/// of the `map` or `unmap` that runs the step.
///
/// # Invariants
///
/// `op` is the operation of the step the C core is running, valid for `'op`, with (outside
/// immediate mode) the reservation locks of every object whose mappings it changes held. The
/// mapping of an unmap
/// step is a `Va<T>` of the locked tree; a remap step has its `unmap` set, with such a mapping,
/// and its non-NULL parts are valid. `res` is the `StepResources` of the running call, live for
/// `'op` and reached by the steps only through this pointer.
struct Step<'op, T: DriverGpuVm, O> {
    op: &'op O,
    res: *mut StepResources<T>,
    _op: Invariant<'op>,
}

impl<'op, T: DriverGpuVm, O> Step<'op, T, O> {
    /// The step `op` of the running call whose resources are `res`: the member of its union,
    /// an `O`.
    ///
    /// # Safety
    ///
    /// `op` must be a step whose union member of type `O` is set; that member and `res` must
    /// be as the type invariants say.
    unsafe fn of(op: *mut bindings::drm_gpuva_op, res: *mut StepResources<T>) -> Self {
        // SAFETY: The members of a C union all start at its start; by the safety requirements,
        // the one there is an `O`, valid for `'op`.
        let op = unsafe { &*(&raw const (*op).__bindgen_anon_1).cast::<O>() };
        // INVARIANT: By the safety requirements.
        Step {
            op,
            res,
            _op: PhantomData,
        }
    }
}

/// What the step callback gets through the C core's `priv` pointer.
pub(super) struct StepArgs<'c, T: DriverGpuVm> {
    state: *mut T,
    ctx: *mut T::StepContext<'c>,
    res: StepResources<T>,
}

/// What the steps' operations apply themselves with: the VM (for its graveyards), the VM object
/// of a map request, and the room reserved for the steps.
struct StepResources<T: DriverGpuVm> {
    /// Where the steps bury what they remove: the VM's graveyard, or a
    /// [`Bind`](super::Bind)'s own, so that it goes with that `Bind`.
    dead: *const Graveyard<Va<T>>,
    /// The VM object of a map request (NULL for an unmap, whose steps insert no new mapping
    /// of their own).
    vm_bo: *mut bindings::drm_gpuvm_bo,
    /// The room reserved for the steps: the VM's, or a [`Bind`](super::Bind)'s.
    room: *mut Room<T>,
}

impl<'c, T: DriverGpuVm> StepArgs<'c, T> {
    /// The arguments of the steps of one `map` or `unmap`, for the VM state `state`, the
    /// caller's `ctx`, the request's `vm_bo` (NULL for an unmap), the reserved `room` and the
    /// graveyard `dead` of what the steps remove.
    pub(super) fn new(
        dead: &Graveyard<Va<T>>,
        state: &mut T,
        ctx: &mut T::StepContext<'c>,
        vm_bo: *mut bindings::drm_gpuvm_bo,
        room: *mut Room<T>,
    ) -> Self {
        StepArgs {
            state,
            ctx,
            res: StepResources { dead, vm_bo, room },
        }
    }
}

/// `drm_gpuvm_ops.sm_step_map`, `.sm_step_unmap` and `.sm_step_remap`: hands the step `op` to
/// the driver's hook of its kind, and turns the result into the C return value.
///
/// # Safety
///
/// Called by the C core only, from the `drm_gpuvm_sm_map()` or `drm_gpuvm_sm_unmap()` of
/// `LockedVm::run_steps` or `Bind::apply`: `priv_` is the `StepArgs<T>` of that call, and `op`
/// a step of the VM's locked tree, valid during the call, with (outside immediate mode) the
/// reservation locks of every object whose mappings it changes held.
pub(super) unsafe extern "C" fn step_callback<T: DriverGpuVm>(
    op: *mut bindings::drm_gpuva_op,
    priv_: *mut c_void,
) -> c_int {
    let args = priv_.cast::<StepArgs<'_, T>>();
    // SAFETY: By the safety requirements: the state and context are exclusively borrowed by
    // `run_steps` for the C call, and reached only here; the step's operation reaches the
    // resources, a distinct field, through their raw pointer.
    let (vm, ctx, res) = unsafe { (&mut *(*args).state, &mut *(*args).ctx, &raw mut (*args).res) };
    // SAFETY: `op` is valid during the call (safety requirements).
    let kind = unsafe { (*op).op };
    // The C core sets the step's type (`op_map_cb()`, `op_unmap_cb()` and `op_remap_cb()` in
    // `drm_gpuvm.c`), which says which member of its union is set. Each hook returns the proof
    // of its own step, which carries nothing further.
    from_result(|| {
        match kind {
            // SAFETY: A map step of the running call (safety requirements), with its resources.
            OP_MAP => _ = vm.step_map(OpMap(unsafe { Step::of(op, res) }), ctx)?,
            // SAFETY: As above, an unmap step.
            OP_UNMAP => _ = vm.step_unmap(OpUnmap(unsafe { Step::of(op, res) }), ctx)?,
            // SAFETY: As above, a remap step.
            OP_REMAP => _ = vm.step_remap(OpRemap(unsafe { Step::of(op, res) }), ctx)?,
            // The C core makes no other kind of step.
            _ => {
                crate::warn_on!(true);
                return Err(EINVAL);
            }
        }
        Ok(0)
    })
}

/// A new mapping of range and object `m`, with data `data`, in one of the room's allocations.
/// Returns it leaked, for the C core.
///
/// The room has an allocation for every mapping a call inserts ([`Room::MAX_NEW`]), so this
/// cannot fail; should it run out all the same, it fails with `ENOMEM` and warns, and `data`
/// is leaked: dropping it there could deadlock (or, in immediate mode, wait on the fence
/// signalling path).
fn new_va<T: DriverGpuVm>(
    room: *mut Room<T>,
    m: &bindings::drm_gpuva_op_map,
    data: T::VaData,
) -> Result<*mut Va<T>> {
    // SAFETY: The room of the steps, reached by them only through this pointer, one use at a
    // time; nothing else refers to it during the steps (type invariants of `GpuVm` and `Bind`).
    let Some(slot) = (unsafe { (*room).free.pop() }) else {
        crate::warn_on!(true);
        core::mem::forget(data);
        return Err(ENOMEM);
    };
    Ok(KBox::into_raw(KBox::write(slot, Va::<T>::new(m, data))))
}

/// Links the mappings `vas` to `vm_bo`, under the lock of the object's list of mappings: its
/// reservation lock, held by the caller, or in immediate mode its `gpuva.lock`, taken here.
///
/// # Safety
///
/// The mappings must be in the locked tree of `vm_bo`'s VM, not linked, of `vm_bo`'s object;
/// outside immediate mode, the object's reservation lock must be held.
unsafe fn link<T: DriverGpuVm>(
    vas: &[*mut bindings::drm_gpuva],
    vm_bo: *mut bindings::drm_gpuvm_bo,
) {
    // SAFETY: The VM object is live (safety requirements) and holds its object.
    let lock = unsafe { &raw mut (*(*vm_bo).obj).gpuva.lock };
    if immediate::<T>() {
        // SAFETY: The object's mutex, initialised with it. Nothing is allocated under it.
        unsafe { bindings::mutex_lock(lock) };
    }
    for &va in vas {
        // SAFETY: By the safety requirements, with the list's lock held.
        unsafe { bindings::drm_gpuva_link(va, vm_bo) };
    }
    if immediate::<T>() {
        // SAFETY: Locked above.
        unsafe { bindings::mutex_unlock(lock) };
    }
}

/// Unlinks a mapping already removed from the tree and buries it in `dead`.
///
/// In immediate mode the C core takes the object's `gpuva.lock` for the unlink and defers
/// freeing the VM object, should this be its last mapping, to `drm_gpuvm_bo_deferred_cleanup()`.
///
/// # Safety
///
/// `va` must be a boxed `Va<T>`, out of its VM's tree, linked; outside immediate mode, its
/// object's reservation lock must be held, and the object held by a reference other than the
/// mapping's.
pub(super) unsafe fn unlink_and_bury<T: DriverGpuVm>(
    dead: &Graveyard<Va<T>>,
    va: *mut bindings::drm_gpuva,
) {
    if immediate::<T>() {
        // SAFETY: By the safety requirements; the VM is in immediate mode (type invariant of
        // `GpuVm`).
        unsafe { bindings::drm_gpuva_unlink_defer(va) };
    } else {
        // SAFETY: By the safety requirements. The unlink may drop the VM object's last
        // reference, which buries it (`vm_bo::free_callback`) and puts a reference of the
        // object that is not its last.
        unsafe { bindings::drm_gpuva_unlink(va) };
    }
    // SAFETY: Boxed by the layer, unlinked and out of the tree: ours again.
    dead.bury(unsafe { KBox::from_raw(va.cast::<Va<T>>()) });
}
