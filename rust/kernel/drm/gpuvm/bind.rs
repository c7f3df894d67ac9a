// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Changes of the mappings prepared beforehand and applied later: [`Bind`], for VMs in
//! immediate mode.
//!
//! An asynchronous `VM_BIND` runs its steps from a job, on the fence signalling path, where
//! nothing may allocate, take a reservation lock or wait for a fence. So the change is prepared
//! in the ioctl, where all of that is allowed ([`GpuVm::prepare_map`],
//! [`GpuVm::prepare_unmap`]): the mappings the steps will insert are allocated, and the VM
//! object of a map is obtained. Applying it ([`Bind::apply`]) then only changes the tree and
//! the lists: the objects' lists of mappings are behind their `gpuva.lock`, which is never
//! held while allocating. What the steps remove is dropped when the `Bind` is dropped, outside
//! the signalling path (a job queue drops its jobs there, see [`drm::job`]).
//!
//! [`drm::job`]: crate::drm::job
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    graveyard::Graveyard,
    immediate,
    locked::LockedVm,
    sm_ops::StepArgs,
    va::Va,
    vm::{
        GpuVm,
        Room, //
    },
    vm_bo::VmBo,
    DriverGpuVm,
};
use crate::{
    bindings,
    drm::gem::{
        shmem::Object,
        BaseObject, //
    },
    error::to_result,
    prelude::*,
    sync::aref::ARef,
};
use core::ptr::NonNull;

/// A change of a VM's mappings, prepared: a map or an unmap, with everything its steps need
/// allocated, to be applied once, from anywhere the VM may be locked: a job's `run` on the
/// fence signalling path too.
///
/// Dropping it, applied or not, drops what its steps removed and runs the VM's cleanup of the
/// VM objects freed: drop it where the driver may sleep and take reservation locks, not on the
/// signalling path, and not with the VM locked (as for [`GpuVm::prepare_map`] and
/// [`GpuVm::prepare_unmap`], which allocate).
///
/// # Examples
///
/// A VM in immediate mode, and a map prepared, then applied and dropped:
///
/// ```
/// # use kernel::{drm, drm::gem, faux, prelude::*};
/// use kernel::drm::gpuvm::{
///     DriverGpuVm, Mapped, OpMap, OpRemap, OpUnmap, Remapped, UniqueVm, Unmapped,
/// };
/// # kernel::drm_doctest_driver!(Gpu, object: gem::shmem::Object<Buffer>);
/// struct Buffer;
///
/// impl gem::DriverObject for Buffer {
///     type Driver = Gpu;
///     // The VMs that map these objects are in immediate mode.
///     const GPUVM_IMMEDIATE: bool = true;
///
///     fn create(
///         _dev: &drm::Device<Gpu>,
///         _size: usize,
///         _origin: gem::Origin<'_>,
///     ) -> impl PinInit<Self, Error> {
///         Ok::<_, Error>(Buffer)
///     }
/// }
///
/// struct Vm;
///
/// impl DriverGpuVm for Vm {
///     type Object = Buffer;
///     type VaData = ();
///     type VmBoData = ();
///     type StepContext<'ctx> = ();
///
///     fn step_map<'op>(
///         &mut self,
///         op: OpMap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<Mapped<'op>> {
///         op.insert(())
///     }
///
///     fn step_unmap<'op>(
///         &mut self,
///         op: OpUnmap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<Unmapped<'op>> {
///         Ok(op.remove())
///     }
///
///     fn step_remap<'op>(
///         &mut self,
///         op: OpRemap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<Remapped<'op>> {
///         op.remap(|_data, _part| ())
///     }
/// }
///
/// # let parent = faux::Registration::new(c"drm-doctest-gpuvm-bind", None)?;
/// # let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
/// let bo = gem::shmem::Object::new(&dev, 4 * 4096, gem::Caching::Cached, Ok::<_, Error>(Buffer))?;
/// let vm = UniqueVm::new(&dev, c"example", 1 << 20, 1 << 30, Vm)?;
///
/// // In the ioctl: everything that allocates.
/// let mut bind = vm.prepare_map(&bo, 0, 1 << 20, 4 * 4096)?;
/// // Later, in a job's `run`: nothing that allocates.
/// bind.apply(&mut vm.lock(), &mut ())?;
/// assert_eq!(vm.lock().vas().count(), 1);
/// // Where the job is dropped.
/// drop(bind);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `immediate::<T>()`; `op` is valid for `vm`: a map's `vm_bo`, until the map is applied, is a
/// VM object of `vm` and the map's object, in that object's list, whose reference the `Bind`
/// owns, and its range is
/// inside the VM and the object; an unmap's range is inside the VM. `room` holds the
/// allocations of every mapping the steps of `op` insert, until it is applied.
pub struct Bind<T: DriverGpuVm> {
    vm: ARef<GpuVm<T>>,
    op: Op,
    room: Room<T>,
    /// What the steps of this `Bind` removed, dropped with it (not by another `Bind`'s drop:
    /// the GPU may use what a mapping's data holds until this `Bind`'s job is done).
    dead: Graveyard<Va<T>>,
    applied: bool,
}

/// A prepared change.
enum Op {
    Map {
        /// The VM object, whose reference the `Bind` owns until it is applied (the mapping
        /// then holds its own).
        vm_bo: Option<NonNull<bindings::drm_gpuvm_bo>>,
        offset: u64,
        addr: u64,
        size: u64,
    },
    Unmap {
        addr: u64,
        size: u64,
    },
}

// SAFETY: The VM is `Send` and `Sync`; the VM object is reached only through `&mut self` or,
// read-only, its data, which is `Sync` (`DriverGpuVm::VmBoData`).
unsafe impl<T: DriverGpuVm> Send for Bind<T> {}
// SAFETY: As above: shared access reads only the VM object's data.
unsafe impl<T: DriverGpuVm> Sync for Bind<T> {}

impl<T: DriverGpuVm> GpuVm<T> {
    /// Prepares the map of `size` bytes of `obj` at `offset` to `addr`, for immediate mode (it
    /// does not build otherwise).
    ///
    /// Allocates the mappings its steps may insert and obtains the (VM, object) pair, made now
    /// if the object has no mapping in the VM yet: its [`VmBo`] data is there from now on
    /// ([`Bind::vm_bo`]), for the driver to set up what its steps use. Fails with `EINVAL` as
    /// [`LockedVm::map`], and with `ENOMEM`.
    pub fn prepare_map(
        &self,
        obj: &Object<T::Object>,
        offset: u64,
        addr: u64,
        size: u64,
    ) -> Result<Bind<T>> {
        const {
            assert!(
                immediate::<T>(),
                "GpuVm::prepare_map is for immediate mode: set DriverObject::GPUVM_IMMEDIATE, \
                 or use LockedVm::map"
            )
        }
        let end = offset.checked_add(size).ok_or(EINVAL)?;
        if size == 0 || end > obj.size() as u64 || !self.range_valid(addr, size) {
            return Err(EINVAL);
        }
        // SAFETY: `drm` is set at init and never changes.
        if obj.dev().as_raw() != unsafe { (*self.as_raw()).drm } {
            return Err(EINVAL);
        }
        self.check_open()?;
        let room = Room::with(Room::<T>::MAX_NEW)?;
        // SAFETY: The VM and the object are live; the new VM object takes a reference to each.
        let new = unsafe { bindings::drm_gpuvm_bo_create(self.as_raw(), obj.as_raw()) };
        if new.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `new` is a new VM object in no list; the VM is in immediate mode (type
        // invariant of `GpuVm`, as `immediate::<T>()`). This returns the object's VM object of
        // this VM, with a reference that is ours, and frees `new` if that is another one.
        let vm_bo = unsafe { bindings::drm_gpuvm_bo_obtain_prealloc(new) };
        // INVARIANT: `vm_bo` is the VM object of `self` and `obj`, in `obj`'s list; the ranges
        // were checked; the room holds the most a map inserts.
        // SAFETY: Never NULL: `drm_gpuvm_bo_obtain_prealloc()` returns the one it was given or
        // one it found.
        let vm_bo = unsafe { NonNull::new_unchecked(vm_bo) };
        Ok(Bind {
            vm: self.into(),
            op: Op::Map {
                vm_bo: Some(vm_bo),
                offset,
                addr,
                size,
            },
            room,
            dead: Graveyard::new(),
            applied: false,
        })
    }

    /// Prepares the unmap of `[addr, addr + size)`, for immediate mode (it does not build
    /// otherwise). Fails with `EINVAL` as [`LockedVm::unmap`], and with `ENOMEM`.
    pub fn prepare_unmap(&self, addr: u64, size: u64) -> Result<Bind<T>> {
        const {
            assert!(
                immediate::<T>(),
                "GpuVm::prepare_unmap is for immediate mode: set DriverObject::GPUVM_IMMEDIATE, \
                 or use LockedVm::unmap"
            )
        }
        if size == 0 || !self.range_valid(addr, size) {
            return Err(EINVAL);
        }
        self.check_open()?;
        // INVARIANT: The range was checked; an unmap inserts at most the two parts that stay.
        Ok(Bind {
            vm: self.into(),
            op: Op::Unmap { addr, size },
            room: Room::with(2)?,
            dead: Graveyard::new(),
            applied: false,
        })
    }
}

impl<T: DriverGpuVm> GpuVm<T> {
    /// Fails with `ENODEV` when the VM's [`UniqueVm`](super::UniqueVm) is gone: a `Bind` of
    /// it would only fail when applied.
    fn check_open(&self) -> Result {
        if self.inner.lock().closed {
            return Err(ENODEV);
        }
        Ok(())
    }
}

impl<T: DriverGpuVm> Bind<T> {
    /// The VM.
    pub fn vm(&self) -> &GpuVm<T> {
        &self.vm
    }

    /// The (VM, object) pair of a map, with its data, until the map is applied.
    pub fn vm_bo(&self) -> Option<&VmBo<T>> {
        match self.op {
            Op::Map {
                vm_bo: Some(vm_bo), ..
            } => {
                // SAFETY: The `Bind` holds a reference to the VM object (type invariant), a
                // `VmBo<T>`.
                Some(unsafe { &*vm_bo.as_ptr().cast::<VmBo<T>>() })
            }
            _ => None,
        }
    }

    /// The GPU address range the `Bind` changes: start and size in bytes.
    pub fn range(&self) -> (u64, u64) {
        match self.op {
            Op::Map { addr, size, .. } | Op::Unmap { addr, size } => (addr, size),
        }
    }

    /// Whether the `Bind` is a map (else an unmap).
    pub fn is_map(&self) -> bool {
        matches!(self.op, Op::Map { .. })
    }

    /// Applies the change to `vm`, the locked VM of the `Bind`, through the driver's steps.
    ///
    /// Allocates nothing, takes no reservation lock and waits for nothing: it may run on the
    /// fence signalling path, from a job. The steps' data of removed mappings is dropped with
    /// the `Bind`. Fails with `EINVAL` when `vm` is another VM or the `Bind` was applied
    /// before, with `ENODEV` when the VM's [`UniqueVm`](super::UniqueVm) is gone, and with the
    /// steps' errors (the steps done stay done).
    pub fn apply(&mut self, vm: &mut LockedVm<'_, T>, ctx: &mut T::StepContext<'_>) -> Result {
        if !core::ptr::eq(vm.gpuvm(), &*self.vm) || self.applied {
            return Err(EINVAL);
        }
        self.applied = true;
        let raw = self.vm.as_raw();
        let (driver, closed) = vm.state();
        if closed {
            return Err(ENODEV);
        }
        match self.op {
            Op::Map {
                vm_bo: Some(vm_bo),
                offset,
                addr,
                size,
            } => {
                let mut req: bindings::drm_gpuvm_map_req = pin_init::zeroed();
                req.map.va.addr = addr;
                req.map.va.range = size;
                // SAFETY: The VM object is live (type invariant) and holds its object.
                req.map.gem.obj = unsafe { (*vm_bo.as_ptr()).obj };
                req.map.gem.offset = offset;
                let mut args =
                    StepArgs::new(&self.dead, driver, ctx, vm_bo.as_ptr(), &mut self.room);
                // SAFETY: The tree is locked (`vm`); the request is valid (type invariant); the
                // steps get `args`, valid for the call, with the room and the VM object the
                // map needs; in immediate mode the steps take the objects' `gpuva.lock`s.
                let ret = to_result(unsafe {
                    bindings::drm_gpuvm_sm_map(raw, (&raw mut args).cast(), &req)
                });
                // The new mapping holds the VM object now: the `Bind`'s reference goes, so
                // that the pair goes with its last mapping, not with the `Bind`. The put
                // takes the object's `gpuva.lock` at most, and defers a destruction to the
                // VM's cleanup.
                // SAFETY: The reference the `Bind` owns (type invariant), given up here.
                unsafe { bindings::drm_gpuvm_bo_put_deferred(vm_bo.as_ptr()) };
                self.op = Op::Map {
                    vm_bo: None,
                    offset,
                    addr,
                    size,
                };
                ret
            }
            // Applied before: refused above.
            Op::Map { vm_bo: None, .. } => Err(EINVAL),
            Op::Unmap { addr, size } => {
                let mut args = StepArgs::new(
                    &self.dead,
                    driver,
                    ctx,
                    core::ptr::null_mut(),
                    &mut self.room,
                );
                // SAFETY: As above, for an unmap, whose steps insert no mapping of their own.
                to_result(unsafe {
                    bindings::drm_gpuvm_sm_unmap(raw, (&raw mut args).cast(), addr, size)
                })
            }
        }
    }
}

impl<T: DriverGpuVm> Drop for Bind<T> {
    fn drop(&mut self) {
        self.dead.drop_all();
        if let Op::Map {
            vm_bo: Some(vm_bo), ..
        } = self.op
        {
            // SAFETY: The reference the `Bind` owns (type invariant); in immediate mode its last
            // put defers the VM object's destruction to the cleanup below.
            unsafe { bindings::drm_gpuvm_bo_put_deferred(vm_bo.as_ptr()) };
        }
        self.vm.cleanup();
    }
}
