// SPDX-License-Identifier: GPL-2.0 OR MIT

//! GPUVM: GPU virtual address spaces, their mappings, and the split/merge of mappings.
//!
//! A [`GpuVm<T>`] is a `struct drm_gpuvm` with the driver's VM state `T` next to it. Its
//! mappings ([`Va<T>`], `struct drm_gpuva`) map ranges of the VM to ranges of GEM objects;
//! each (VM, object) pair has a [`VmBo<T>`] (`struct drm_gpuvm_bo`). All three carry driver
//! data.
//!
//! Changing the mappings goes through the C split/merge machinery: [`LockedVm::map`] and
//! [`LockedVm::unmap`] compute the steps that turn the current mappings into the requested
//! ones (a map inside an existing mapping splits it; an unmap in the middle leaves two) and
//! call the driver's [`DriverGpuVm`] step callbacks with each. A step is a typed operation the
//! callback must consume to return: the only way to build the proof it returns ([`Mapped`],
//! [`Unmapped`], [`Remapped`]) is to apply that operation to the tree, so a driver cannot
//! forget to insert, remove or link a mapping.
//!
//! Locking:
//!
//! * the tree of mappings is behind the VM's mutex: it is reached only through a [`LockedVm`]
//!   guard, so no mapping can be read or changed concurrently;
//! * outside immediate mode (below, for it), the objects' lists of mappings are protected by
//!   their reservation locks: a map or unmap locks, with one `drm_exec` acquire context, the
//!   VM's own reservation object and every object whose mappings it changes, so mapping a shared
//!   object is safe against concurrent users of its reservation lock, and the VM's fences can be
//!   updated in the same section;
//! * a removed mapping is gone from the tree when its step returns, so it cannot be used after
//!   removal.
//!
//! Drops: the steps run inside a `drm_exec` acquire context, with reservation locks held, so no
//! driver data is dropped there. The data of removed mappings ([`DriverGpuVm::VaData`]) and of
//! VM objects whose last mapping went ([`DriverGpuVm::VmBoData`]) goes into the VM's graveyard
//! (a lock-free list through the entries themselves: burying allocates nothing), and is dropped
//! after the reservation locks are released, with the VM still locked. So that data may hold
//! kernel mappings of buffers ([`VMap`]) or the last reference of an object, whose drops take
//! reservation locks. The steps do not allocate either: the new mappings they insert are
//! allocated before them. Dropping the [`UniqueVm`] drops the data of its remaining mappings
//! the same way, after unlocking the VM.
//!
//! [`VMap`]: crate::drm::gem::shmem::VMap
//!
//! Immediate mode ([`DriverObject::GPUVM_IMMEDIATE`] of the objects the VMs map), for an
//! asynchronous `VM_BIND`: the mappings
//! change from a job, on the fence signalling path, so that the VM and the GPU's page tables
//! always agree. A change is prepared in the ioctl as a [`Bind`] ([`GpuVm::prepare_map`],
//! [`GpuVm::prepare_unmap`]), which allocates the mappings its steps insert and obtains the VM
//! object of a map beforehand (`drm_gpuvm_bo_obtain_prealloc()`), and applied from the job
//! ([`Bind::apply`]) with the VM locked and no reservation lock: the objects' lists of
//! mappings are behind their `gpuva.lock`, which the layer takes only around the list changes.
//! What the steps remove is dropped when the `Bind` is, where the job queue drops its jobs:
//! outside the signalling path, and after that job's fence. The VM objects whose last mapping
//! goes (deferred by the C core) are freed at the next cleanup of the VM
//! (`drm_gpuvm_bo_deferred_cleanup()`): when any `Bind` of it is dropped, or its `UniqueVm`.
//! Neither a `Bind` may be prepared nor dropped with its VM locked.
//!
//! The files, one per concern: `vm.rs` (the VM, its lifetime and the room of its steps),
//! `locked.rs` (the locked VM: map, unmap and reading the mappings), `bind.rs` (prepared
//! changes, immediate mode), `va.rs` (a mapping), `vm_bo.rs` (a VM-object link),
//! `graveyard.rs` (what waits to be dropped), `sm_ops.rs` (the split/merge steps and their
//! proofs), and the KUnit suites `tests.rs` and `bind_tests.rs` (immediate mode).
//!
//! Not covered yet: eviction and validation of external objects, and the ops-list
//! (`drm_gpuvm_sm_map_ops_create`) API.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use crate::{
    drm::gem::DriverObject,
    prelude::*, //
};

mod bind;
#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod bind_tests;
mod graveyard;
mod locked;
mod sm_ops;
#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;
mod va;
mod vm;
mod vm_bo;

pub use self::bind::Bind;
pub use self::locked::LockedVm;
pub use self::sm_ops::{
    Mapped,
    OpMap,
    OpRemap,
    OpUnmap,
    Part,
    Remapped,
    Unmapped, //
};
pub use self::va::Va;
pub use self::vm::{
    GpuVm,
    UniqueVm, //
};
pub use self::vm_bo::VmBo;

/// A driver's GPU VM: its state, and the callbacks of the split/merge steps.
///
/// The callbacks run with the VM locked ([`LockedVm`]) and, outside immediate mode, the
/// reservation locks of every object involved held. Each gets one operation and must consume
/// it, which applies it to the tree and yields the proof the callback returns; between that and
/// returning, the driver updates its own view of the VM (page tables, for a real GPU). An error
/// stops the remaining steps: the steps done so far stay done.
///
/// Outside immediate mode, inside a step, the task holds a `drm_exec` acquire context: a step
/// must not map or unmap in
/// another VM, drop a [`UniqueVm`], take reservation locks, or drop anything whose drop takes
/// one (a [`VMap`], the last reference of an object). The layer itself drops no driver data
/// there: see the module documentation. The lock order is the VM's mutex first, then
/// reservation locks: never lock a VM while holding a [`ResvGuard`] or an [`Exec`].
///
/// In immediate mode, the steps run where [`Bind::apply`] is called, on the fence signalling
/// path for an asynchronous bind, with no reservation lock held: a step must not allocate,
/// take a reservation lock, wait for a fence, or drop anything whose drop does (lockdep
/// reports it, as for any code on that path).
///
/// [`VMap`]: crate::drm::gem::shmem::VMap
///
/// [`ResvGuard`]: crate::drm::gem::resv::ResvGuard
///
/// [`Exec`]: crate::drm::gem::resv::Exec
pub trait DriverGpuVm: Sized + Send + Unpin + 'static {
    /// The per-object data of the GEM objects this VM maps.
    type Object: DriverObject;
    /// The per-mapping data. Dropped after the reservation locks of the step that removed the
    /// mapping are released; in immediate mode, with the [`Bind`] whose step removed it.
    type VaData: Send + Sync;
    /// The per-(VM, object) data, made with `Default` when an object is first mapped (in
    /// immediate mode: when a map of it is prepared, also for a pair that exists already, whose
    /// new data is then dropped at once), and dropped after the reservation locks of the step
    /// that removed its last mapping are released (so it may hold a kernel mapping of the
    /// object, say). In immediate mode the C core defers that drop to the next cleanup of the
    /// VM: the drop of any [`Bind`] of it, or of its [`UniqueVm`].
    type VmBoData: Default + Send + Sync;
    /// What the caller of [`LockedVm::map`], [`LockedVm::unmap`] and [`Bind::apply`] passes to
    /// the steps, for the length of that call: it may borrow (a page table, the scatter-gather
    /// table of the object being mapped, fetched before the VM is locked).
    type StepContext<'ctx>;

    /// A new mapping: consume `op` with [`OpMap::insert`], which returns the [`Mapped`] proof.
    fn step_map<'op>(
        &mut self,
        op: OpMap<'op, Self>,
        ctx: &mut Self::StepContext<'_>,
    ) -> Result<Mapped<'op>>;

    /// A mapping to remove entirely: consume `op` with [`OpUnmap::remove`], which returns the
    /// [`Unmapped`] proof. Read what the driver needs of the mapping ([`OpUnmap::va`]) first.
    fn step_unmap<'op>(
        &mut self,
        op: OpUnmap<'op, Self>,
        ctx: &mut Self::StepContext<'_>,
    ) -> Result<Unmapped<'op>>;

    /// A mapping to cut: the part before and/or after the affected range stay. Consume `op`
    /// with [`OpRemap::remap`], which returns the [`Remapped`] proof.
    fn step_remap<'op>(
        &mut self,
        op: OpRemap<'op, Self>,
        ctx: &mut Self::StepContext<'_>,
    ) -> Result<Remapped<'op>>;
}

/// Whether VMs of `T` are in immediate mode: the mappings change from the fence signalling
/// path, through [`Bind`]s prepared beforehand (see the module documentation). The VM's lock is
/// then taken on that path, so nothing may allocate, take a reservation lock or wait for a
/// fence with the VM locked, the steps included. Otherwise the mappings change through
/// [`LockedVm::map`] and [`LockedVm::unmap`], in process context.
///
/// The mode of the objects ([`DriverObject::GPUVM_IMMEDIATE`]): all VMs that map an object
/// must agree on it (`include/drm/drm_gem.h`), so it is the objects' type that decides.
pub(crate) const fn immediate<T: DriverGpuVm>() -> bool {
    <T::Object as DriverObject>::GPUVM_IMMEDIATE
}
