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
//! callback must consume to return: the only way to build the [`StepDone`] it returns is to
//! apply the operation to the tree, so a driver cannot forget to insert, remove or link a
//! mapping.
//!
//! Locking:
//!
//! * the tree of mappings is behind the VM's mutex: it is reached only through a [`LockedVm`]
//!   guard, so no mapping can be read or changed concurrently;
//! * the objects' lists of mappings are protected by their reservation locks (the VM is not in
//!   immediate mode): a map or unmap locks, with one `drm_exec` acquire context, the VM's own
//!   reservation object and every object whose mappings it changes, so mapping a shared object
//!   is safe against concurrent users of its reservation lock, and the VM's fences (when the
//!   fence layer adds them) can be updated in the same section;
//! * a removed mapping is gone from the tree when its step returns, so it cannot be used after
//!   removal.
//!
//! Drops: the steps run inside a `drm_exec` acquire context, with reservation locks held, so no
//! driver data is dropped there. The data of removed mappings ([`DriverGpuVm::VaData`]) and of
//! VM objects whose last mapping went ([`DriverGpuVm::VmBoData`]) is kept aside, in room reserved
//! before the steps, and dropped after the reservation locks are released, with the VM still
//! locked. So that data may hold kernel mappings of buffers ([`VMap`]) or the last reference of
//! an object, whose drops take reservation locks. The steps do not allocate either: the new
//! mappings they insert are allocated before them. Dropping the [`UniqueVm`] drops the data of
//! its remaining mappings the same way, one mapping at a time.
//!
//! [`VMap`]: crate::drm::gem::shmem::VMap
//!
//! Not covered yet: immediate mode (changes from the fence signalling path), eviction and
//! validation of external objects, and the ops-list (`drm_gpuvm_sm_map_ops_create`) API.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use crate::{
    alloc::{
        KBox,
        KVec, //
    },
    bindings,
    drm::gem::resv::Exec,
    drm::{
        gem::{
            shmem::Object,
            BaseObject,
            DriverObject, //
        },
        Device,
    },
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        Mutex,
        MutexGuard, //
    },
    types::Opaque,
};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    mem::MaybeUninit,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr::{
        self,
        NonNull, //
    },
};

/// A driver's GPU VM: its state, and the callbacks of the split/merge steps.
///
/// The callbacks run with the VM locked ([`LockedVm`]) and the reservation locks of every
/// object involved held. Each gets one operation and must consume it, which applies it to the
/// tree; between that and returning, the driver updates its own view of the VM (page tables,
/// for a real GPU). An error stops the remaining steps: the steps done so far stay done.
///
/// Inside a step, the task holds a `drm_exec` acquire context: a step must not map or unmap in
/// another VM, drop a [`UniqueVm`], take reservation locks, or drop anything whose drop takes
/// one (a [`VMap`], the last reference of an object). The layer itself drops no driver data
/// there: see the module documentation. The lock order is the VM's mutex first, then
/// reservation locks: never lock a VM while holding a [`ResvGuard`] or an [`Exec`].
///
/// [`VMap`]: crate::drm::gem::shmem::VMap
///
/// [`ResvGuard`]: crate::drm::gem::resv::ResvGuard
pub trait DriverGpuVm: Sized + Send + Unpin + 'static {
    /// The per-object data of the GEM objects this VM maps.
    type Object: DriverObject;
    /// The per-mapping data. Dropped after the reservation locks of the step that removed the
    /// mapping are released.
    type VaData: Send + Sync;
    /// The per-(VM, object) data, made with `Default` when an object is first mapped, and
    /// dropped after the reservation locks of the step that removed its last mapping are
    /// released (so it may hold a kernel mapping of the object, say).
    type VmBoData: Default + Send + Sync;
    /// What the caller of [`LockedVm::map`] and [`LockedVm::unmap`] passes to the steps.
    type StepContext;

    /// A new mapping: consume `op` with [`OpMap::insert`].
    fn step_map<'op>(
        &mut self,
        op: OpMap<'op, Self>,
        ctx: &mut Self::StepContext,
    ) -> Result<StepDone<'op>>;

    /// A mapping to remove entirely: consume `op` with [`OpUnmap::remove`]. Read what the driver
    /// needs of the mapping ([`OpUnmap::va`]) first.
    fn step_unmap<'op>(
        &mut self,
        op: OpUnmap<'op, Self>,
        ctx: &mut Self::StepContext,
    ) -> Result<StepDone<'op>>;

    /// A mapping to cut: the part before and/or after the affected range stay. Consume `op`
    /// with [`OpRemap::remap`].
    fn step_remap<'op>(
        &mut self,
        op: OpRemap<'op, Self>,
        ctx: &mut Self::StepContext,
    ) -> Result<StepDone<'op>>;
}

/// Proof that a step's operation was applied to the tree.
///
/// Only the consuming methods of the operations make one, for their own step (`'op` is
/// unique to each step: a proof kept from another step does not fit).
pub struct StepDone<'op>(PhantomData<fn(&'op ()) -> &'op ()>);

/// A GPU VM of driver state `T`.
///
/// Reference counted: [`ARef<GpuVm<T>>`]; every [`VmBo`] holds a reference too. The driver
/// owns it through a [`UniqueVm`], whose drop removes the remaining mappings, so that the last
/// references can go.
///
/// # Examples
///
/// A VM whose steps count its mappings; a map inside a mapping splits it:
///
/// ```
/// # use kernel::{drm, drm::gem, faux, prelude::*};
/// use kernel::drm::gpuvm::{self, DriverGpuVm, OpMap, OpRemap, OpUnmap, StepDone, UniqueVm};
/// # struct Gpu;
/// # struct Buffer;
/// # impl gem::DriverObject for Buffer {
/// #     type Driver = Gpu;
/// #     fn create(_: &drm::Device<Gpu>, _: usize, _: gem::Origin<'_>)
/// #         -> impl PinInit<Self, Error> { Ok::<_, Error>(Buffer) }
/// # }
/// # struct GpuFile;
/// # impl drm::DriverFile for GpuFile {
/// #     type Driver = Gpu;
/// #     fn open(_: &drm::Device<Gpu>, _: &drm::Client) -> impl PinInit<Self, Error> {
/// #         Ok::<_, Error>(GpuFile)
/// #     }
/// # }
/// # #[vtable]
/// # impl drm::Driver for Gpu {
/// #     type Data = ();
/// #     type File = GpuFile;
/// #     type Object = gem::shmem::Object<Buffer>;
/// #     type ParentDevice<Ctx: kernel::device::DeviceContext> = faux::Device<Ctx>;
/// #     const INFO: drm::DriverInfo = drm::DriverInfo {
/// #         major: 1, minor: 0, patchlevel: 0, name: c"gpu", desc: c"A GPU",
/// #     };
/// #     const IOCTLS: &'static [drm::ioctl::Desc<Self>] = &[];
/// # }
/// #[derive(Default)]
/// struct Vm {
///     mappings: usize,
/// }
///
/// impl DriverGpuVm for Vm {
///     type Object = Buffer;
///     type VaData = ();
///     type VmBoData = ();
///     type StepContext = ();
///
///     fn step_map<'op>(
///         &mut self,
///         op: OpMap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<StepDone<'op>> {
///         self.mappings += 1;
///         op.insert(())
///     }
///
///     fn step_unmap<'op>(
///         &mut self,
///         op: OpUnmap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<StepDone<'op>> {
///         self.mappings -= 1;
///         Ok(op.remove())
///     }
///
///     fn step_remap<'op>(
///         &mut self,
///         op: OpRemap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<StepDone<'op>> {
///         self.mappings += usize::from(op.prev().is_some()) + usize::from(op.next().is_some());
///         self.mappings -= 1;
///         op.remap(|_data, _part| ())
///     }
/// }
///
/// # let parent = faux::Registration::new(c"drm-doctest-gpuvm", None)?;
/// # let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
/// let bo =
///     gem::shmem::Object::new(&dev, 16 * 4096, gem::Caching::Cached, Ok::<_, Error>(Buffer))?;
/// let vm = UniqueVm::new(&dev, c"example", 1 << 20, 1 << 30, Vm::default())?;
///
/// let mut locked = vm.lock();
/// locked.map(&mut (), &bo, 0, 1 << 20, 16 * 4096)?;
/// locked.map(&mut (), &bo, 0, (1 << 20) + 4 * 4096, 4096)?;
/// assert_eq!(locked.mappings, 3);
/// // In address order: the part before, the new mapping, the part after.
/// let mut vas = locked.vas().map(|va| (va.addr() - (1 << 20), va.range(), va.offset()));
/// assert_eq!(vas.next(), Some((0, 4 * 4096, 0)));
/// assert_eq!(vas.next(), Some((4 * 4096, 4096, 0)));
/// assert_eq!(vas.next(), Some((5 * 4096, 11 * 4096, 5 * 4096)));
/// drop(vas);
/// assert!(locked.find((1 << 20) + 4 * 4096).is_some_and(|va| va.offset() == 0));
/// locked.unmap(&mut (), 1 << 20, 16 * 4096)?;
/// assert_eq!(locked.vas().count(), 0);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// * `vm` is an initialised `struct drm_gpuvm` whose `ops` are `GpuVm::<T>::OPS`, in a `KBox`
///   freed by `vm_free_callback`; `inner` protects its tree of mappings and `T`;
/// * `room` and `dead_vm_bos` are touched only by the task that holds `inner`, and never
///   through two references at once: `dead_vm_bos` is apart from `room` because the C core
///   frees VM objects (`vm_bo_free_callback`) from inside calls that the steps make while they
///   use `room`.
#[repr(C)]
#[pin_data]
pub struct GpuVm<T: DriverGpuVm> {
    vm: Opaque<bindings::drm_gpuvm>,
    #[pin]
    inner: Mutex<VmState<T>>,
    room: UnsafeCell<Room<T>>,
    /// Freed VM objects, dropped once the reservation locks are released.
    dead_vm_bos: UnsafeCell<KVec<KBox<VmBo<T>>>>,
}

/// What the steps of a `map` or `unmap` use instead of allocating and dropping, reserved before
/// they run.
struct Room<T: DriverGpuVm> {
    /// Allocations for the mappings the steps insert: a map inserts at most three (the new one,
    /// and a part of a cut mapping on each side), an unmap at most two.
    free: KVec<KBox<MaybeUninit<Va<T>>>>,
    /// Removed mappings, dropped once the reservation locks are released.
    dead_vas: KVec<KBox<Va<T>>>,
}

impl<T: DriverGpuVm> Room<T> {
    /// The most mappings the steps of one call insert.
    const MAX_NEW: usize = 3;

    /// Reserves room for steps that remove at most `removals` mappings, and the VM objects
    /// they free in `dead_vm_bos`.
    fn reserve(&mut self, dead_vm_bos: &mut KVec<KBox<VmBo<T>>>, removals: usize) -> Result {
        while self.free.len() < Self::MAX_NEW {
            self.free.push(KBox::new_uninit(GFP_KERNEL)?, GFP_KERNEL)?;
        }
        // Each removal may free its VM object; a map whose insert fails frees the new one, and
        // drops its new mapping.
        let n = removals.checked_add(Self::MAX_NEW).ok_or(ENOMEM)?;
        self.dead_vas.reserve(n, GFP_KERNEL)?;
        dead_vm_bos.reserve(n, GFP_KERNEL)?;
        Ok(())
    }
}

/// The lockdep class of every VM's mutex, and its name, from one function that is never inlined.
///
/// A static in a generic function is one for all its instances, but a string constant is
/// emitted by every crate that instantiates the function (or inlines a small one), and KASAN
/// keeps identical constants apart; lockdep warns when a class is used with two names, as
/// `new_mutex!` in `UniqueVm::<T>::new` did for a VM type of a driver crate.
#[inline(never)]
fn vm_lock_class() -> (&'static CStr, Pin<&'static crate::sync::LockClassKey>) {
    (c"drm::gpuvm::GpuVm::inner", crate::static_lock_class!())
}

/// What the VM's mutex protects, with its tree of mappings.
struct VmState<T> {
    /// The [`UniqueVm`] is gone: no new mappings (they would keep the VM alive forever).
    closed: bool,
    driver: T,
}

// SAFETY: The C VM is thread safe given its locking rules, which the layer follows (the tree is
// behind `inner`); `T`, its mapping data and its VM object data are `Send`.
unsafe impl<T: DriverGpuVm> Send for GpuVm<T> {}
// SAFETY: Shared access reaches `T`, the tree, `room` and `dead_vm_bos` only through `inner`
// (type invariant).
unsafe impl<T: DriverGpuVm> Sync for GpuVm<T> {}

// SAFETY: `drm_gpuvm_get()`/`drm_gpuvm_put()` maintain the refcount; the VM is freed by
// `vm_free_callback` when it drops to zero.
unsafe impl<T: DriverGpuVm> AlwaysRefCounted for GpuVm<T> {
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::drm_gpuvm_get(self.vm.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::drm_gpuvm_put(obj.as_ref().vm.get()) };
    }
}

/// The driver's handle of a [`GpuVm`]: dropping it removes every mapping (without calling the
/// steps: the VM is going away) and drops the driver's reference.
pub struct UniqueVm<T: DriverGpuVm>(ARef<GpuVm<T>>);

impl<T: DriverGpuVm> UniqueVm<T> {
    /// Creates a VM of `dev` named `name`, covering `[start, start + range)`, with driver
    /// state `data` (behind the VM's mutex: it needs no locks of its own).
    ///
    /// Fails with `EINVAL` when the range is empty or overflows.
    pub fn new(
        dev: &Device<<T::Object as DriverObject>::Driver>,
        name: &'static CStr,
        start: u64,
        range: u64,
        data: T,
    ) -> Result<Self> {
        if range == 0 || start.checked_add(range).is_none() {
            return Err(EINVAL);
        }
        let boxed = KBox::pin_init(
            try_pin_init!(GpuVm::<T> {
                vm: Opaque::zeroed(),
                inner <- {
                    let (name, key) = vm_lock_class();
                    Mutex::new(
                        VmState {
                            closed: false,
                            driver: data,
                        },
                        name,
                        key,
                    )
                },
                // Dropping the `UniqueVm` removes mappings one at a time: each may free one VM
                // object, whose drop is deferred to after its reservation lock is released.
                room: UnsafeCell::new(Room {
                    free: KVec::new(),
                    dead_vas: KVec::new(),
                }),
                dead_vm_bos: UnsafeCell::new(KVec::with_capacity(1, GFP_KERNEL)?),
            }? Error),
            GFP_KERNEL,
        )?;
        // The VM's reservation object: a plain C GEM object of the device, the one exception to
        // the invariant of `drm::gem` (see there); it stays private to the VM.
        // SAFETY: The device is live. The function returns NULL on failure.
        let r_obj = unsafe { bindings::drm_gpuvm_resv_object_alloc(dev.as_raw()) };
        if r_obj.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: The VM stays pinned in its box until `vm_free_callback` frees it.
        let this = KBox::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
        // SAFETY: `this` is valid; `drm_gpuvm_init()` takes references to the device and to
        // `r_obj` (a private GEM object that is never given a handle), and sets the refcount to
        // one, which the `ARef` owns. The name is static.
        unsafe {
            bindings::drm_gpuvm_init(
                (*this).vm.get(),
                name.as_char_ptr(),
                0,
                dev.as_raw(),
                r_obj,
                start,
                range,
                0,
                0,
                &GpuVm::<T>::OPS,
            );
            bindings::drm_gem_object_put(r_obj);
        }
        // INVARIANT: initialised with our ops, in a `KBox`.
        // SAFETY: We own the initial reference.
        Ok(UniqueVm(unsafe {
            ARef::from_raw(NonNull::new_unchecked(this))
        }))
    }
}

impl<T: DriverGpuVm> Deref for UniqueVm<T> {
    type Target = GpuVm<T>;

    fn deref(&self) -> &GpuVm<T> {
        &self.0
    }
}

impl<T: DriverGpuVm> Drop for UniqueVm<T> {
    fn drop(&mut self) {
        let mut vm = self.0.lock();
        vm.guard.closed = true;
        vm.clear();
    }
}

impl<T: DriverGpuVm> GpuVm<T> {
    const OPS: bindings::drm_gpuvm_ops = {
        let mut ops: bindings::drm_gpuvm_ops = pin_init::zeroed();
        ops.vm_free = Some(vm_free_callback::<T>);
        ops.vm_bo_alloc = Some(vm_bo_alloc_callback::<T>);
        ops.vm_bo_free = Some(vm_bo_free_callback::<T>);
        ops.sm_step_map = Some(step_map_callback::<T>);
        ops.sm_step_unmap = Some(step_unmap_callback::<T>);
        ops.sm_step_remap = Some(step_remap_callback::<T>);
        ops
    };

    /// Locks the VM: its state and its mappings.
    pub fn lock(&self) -> LockedVm<'_, T> {
        LockedVm {
            vm: self,
            guard: self.inner.lock(),
        }
    }

    fn as_raw(&self) -> *mut bindings::drm_gpuvm {
        self.vm.get()
    }

    /// The start of the VM's address range.
    pub fn start(&self) -> u64 {
        // SAFETY: Set at init, never changed.
        unsafe { (*self.as_raw()).mm_start }
    }

    /// The length of the VM's address range.
    pub fn range(&self) -> u64 {
        // SAFETY: Set at init, never changed.
        unsafe { (*self.as_raw()).mm_range }
    }
}

/// A locked [`GpuVm`]: access to the driver's state (through `Deref`) and to the mappings.
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

/// What the step callbacks get through the C core's `priv` pointer.
struct StepArgs<T: DriverGpuVm> {
    state: *mut T,
    ctx: *mut T::StepContext,
    book: Book<T>,
}

/// The layer's bookkeeping during the steps of a `map` or `unmap`.
struct Book<T: DriverGpuVm> {
    /// The VM object of a map request.
    vm_bo: *mut bindings::drm_gpuvm_bo,
    /// The VM's room, reserved for the steps.
    room: *mut Room<T>,
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

impl<'a, T: DriverGpuVm> LockedVm<'a, T> {
    /// The VM's room and freed VM objects, outside the steps.
    fn room(&mut self) -> (&mut Room<T>, &mut KVec<KBox<VmBo<T>>>) {
        // SAFETY: The VM is locked (`self.guard`), so both are ours (type invariant of
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

    /// The number of mappings that intersect `[addr, addr + range)`: the most a `map` or
    /// `unmap` of that range removes.
    fn count_range(&self, addr: u64, range: u64) -> usize {
        let end = addr.saturating_add(range);
        // SAFETY: The tree is locked (`&self`).
        let first = unsafe { bindings::drm_gpuva_find_first(self.vm.as_raw(), addr, range) };
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

    /// Maps `range` bytes of `obj` at `offset` to `addr`, through the driver's steps.
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
        range: u64,
    ) -> Result {
        let end = offset.checked_add(range).ok_or(EINVAL)?;
        if range == 0 || end > obj.size() as u64 || !self.range_valid(addr, range) {
            return Err(EINVAL);
        }
        if self.guard.closed {
            return Err(ENODEV);
        }
        // SAFETY: `drm` is set at init and never changes.
        if obj.dev().as_raw() != unsafe { (*self.vm.as_raw()).drm } {
            return Err(EINVAL);
        }
        let room = self.reserve(self.count_range(addr, range))?;
        let mut req: bindings::drm_gpuvm_map_req = pin_init::zeroed();
        req.map.va.addr = addr;
        req.map.va.range = range;
        req.map.gem.obj = obj.as_raw();
        req.map.gem.offset = offset;
        let vm = self.vm.as_raw();
        let state = &mut self.guard.driver;
        // Both closures use the request; it lives in this frame until the end.
        let req = &raw mut req;
        let steps = Exec::scoped(
            true,
            |l| {
                l.call_raw(|exec| {
                    // SAFETY: `vm` is live; its reservation object lives as long as it.
                    unsafe { bindings::drm_exec_lock_obj(exec, (*vm).r_obj) }
                })?;
                l.call_raw(|exec| {
                    // SAFETY: `vm` is live and its tree locked against changes (`&mut self`)
                    // until the steps ran; this locks the object and every object the steps
                    // touch, all of which outlive the locks (`obj` is borrowed, the others are
                    // mapped).
                    unsafe { bindings::drm_gpuvm_sm_map_exec_lock(vm, exec, 1, req) }
                })
            },
            |exec, ()| {
                let held = hold(exec)?;
                // SAFETY: The object's reservation lock is held.
                let vm_bo = from_err_ptr(unsafe {
                    bindings::drm_gpuvm_bo_obtain_locked(vm, obj.as_raw())
                })?;
                let mut args = StepArgs::<T> {
                    state,
                    ctx,
                    book: Book { vm_bo, room },
                };
                // SAFETY: The tree is ours (`self`), the reservation locks of every object
                // involved are held; `args` outlives the call.
                let ret = unsafe { bindings::drm_gpuvm_sm_map(vm, (&raw mut args).cast(), req) };
                // The mappings hold their own references to the VM object.
                // SAFETY: The object's reservation lock is still held, as the put may destroy
                // the VM object.
                unsafe { bindings::drm_gpuvm_bo_put(vm_bo) };
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

    /// Removes the mappings of `[addr, addr + range)`, through the driver's steps: mappings
    /// inside it are removed (`step_unmap`), mappings across its edges are cut (`step_remap`).
    ///
    /// Fails with `EINVAL` when the range is empty, overflows or is not inside the VM, and
    /// with the steps' errors.
    pub fn unmap(&mut self, ctx: &mut T::StepContext, addr: u64, range: u64) -> Result {
        if range == 0 || !self.range_valid(addr, range) {
            return Err(EINVAL);
        }
        if self.guard.closed {
            return Err(ENODEV);
        }
        let room = self.reserve(self.count_range(addr, range))?;
        let vm = self.vm.as_raw();
        let state = &mut self.guard.driver;
        let steps = Exec::scoped(
            true,
            |l| {
                l.call_raw(|exec| {
                    // SAFETY: `vm` is live; its reservation object lives as long as it.
                    unsafe { bindings::drm_exec_lock_obj(exec, (*vm).r_obj) }
                })?;
                l.call_raw(|exec| {
                    // SAFETY: `vm` is live and its tree locked; this locks every object whose
                    // mappings the steps change, which outlive the locks (they are mapped).
                    unsafe { bindings::drm_gpuvm_sm_unmap_exec_lock(vm, exec, addr, range) }
                })
            },
            |exec, ()| {
                let held = hold(exec)?;
                let mut args = StepArgs::<T> {
                    state,
                    ctx,
                    book: Book {
                        vm_bo: ptr::null_mut(),
                        room,
                    },
                };
                // SAFETY: As in `map`.
                let ret = unsafe {
                    bindings::drm_gpuvm_sm_unmap(vm, (&raw mut args).cast(), addr, range)
                };
                Ok((held, ret))
            },
        );
        let ret = steps.and_then(|(held, ret)| {
            drop(held);
            to_result(ret)
        });
        self.drop_dead();
        ret
    }

    fn range_valid(&self, addr: u64, range: u64) -> bool {
        // SAFETY: The VM is live; the check reads immutable fields.
        unsafe { bindings::drm_gpuvm_range_valid(self.vm.as_raw(), addr, range) }
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

    /// Removes every mapping without calling the steps.
    fn clear(&mut self) {
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
}

/// A mapping of a [`GpuVm`], with the driver's data.
///
/// # Invariants
///
/// `va` is a `struct drm_gpuva` in its VM's tree and linked to a VM object, from
/// [`OpMap::insert`] or [`OpRemap::remap`] until it is removed.
#[repr(C)]
pub struct Va<T: DriverGpuVm> {
    va: Opaque<bindings::drm_gpuva>,
    data: T::VaData,
}

impl<T: DriverGpuVm> Va<T> {
    /// The start address.
    pub fn addr(&self) -> u64 {
        // SAFETY: Fixed while the mapping is in the tree.
        unsafe { (*self.va.get()).va.addr }
    }

    /// The length in bytes.
    pub fn range(&self) -> u64 {
        // SAFETY: As above.
        unsafe { (*self.va.get()).va.range }
    }

    /// The offset in the object.
    pub fn offset(&self) -> u64 {
        // SAFETY: As above.
        unsafe { (*self.va.get()).gem.offset }
    }

    fn obj_raw(&self) -> *mut bindings::drm_gem_object {
        // SAFETY: As above.
        unsafe { (*self.va.get()).gem.obj }
    }

    /// The mapped object.
    pub fn object(&self) -> &Object<T::Object> {
        // SAFETY: The VM object the mapping is linked to holds a reference to the object, which
        // is of the VM's object type (the layer maps only those).
        unsafe { &*self.obj_raw().cast::<Object<T::Object>>() }
    }

    /// The VM object of the mapping: its (VM, object) data.
    pub fn vm_bo(&self) -> &VmBo<T> {
        // SAFETY: Linked mappings hold a reference to their VM object, a `VmBo<T>`.
        unsafe { &*(*self.va.get()).vm_bo.cast::<VmBo<T>>() }
    }

    /// The driver's data.
    pub fn data(&self) -> &T::VaData {
        &self.data
    }
}

/// The (VM, object) pair of mappings, with the driver's data.
#[repr(C)]
pub struct VmBo<T: DriverGpuVm> {
    bo: Opaque<bindings::drm_gpuvm_bo>,
    data: T::VmBoData,
}

impl<T: DriverGpuVm> VmBo<T> {
    /// The driver's data.
    pub fn data(&self) -> &T::VmBoData {
        &self.data
    }
}

/// A step's new mapping.
pub struct OpMap<'op, T: DriverGpuVm> {
    op: &'op bindings::drm_gpuva_op_map,
    book: *mut Book<T>,
    _op: PhantomData<&'op ()>,
}

impl<'op, T: DriverGpuVm> OpMap<'op, T> {
    /// The start address of the new mapping.
    pub fn addr(&self) -> u64 {
        self.op.va.addr
    }
    /// Its length.
    pub fn range(&self) -> u64 {
        self.op.va.range
    }
    /// Its offset in the object.
    pub fn offset(&self) -> u64 {
        self.op.gem.offset
    }
    /// The object.
    pub fn object(&self) -> &Object<T::Object> {
        // SAFETY: The request's object, held by the caller of `map` for the call.
        unsafe { &*self.op.gem.obj.cast::<Object<T::Object>>() }
    }

    /// Inserts the mapping into the tree with data `data`, linked to the request's VM object.
    ///
    /// Allocates nothing (the room was reserved before the steps). Fails with `EEXIST` when the
    /// range is taken, which the split/merge steps never ask for; `data` is then dropped after
    /// the reservation locks are released.
    pub fn insert(self, data: T::VaData) -> Result<StepDone<'op>> {
        // SAFETY: `book` is the live step bookkeeping.
        let room = unsafe { (*self.book).room };
        let va = new_va(room, self.op, data)?;
        // SAFETY: `book` is the live step bookkeeping, `va` is new and ours; the tree is locked.
        let ret = unsafe {
            let raw = (*va).va.get();
            bindings::drm_gpuva_insert((*(*self.book).vm_bo).vm, raw)
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: Not inserted: still ours.
            defer_va(room, unsafe { KBox::from_raw(va) });
            return Err(e);
        }
        // SAFETY: The mapping is in the tree; the object's reservation lock is held.
        unsafe { bindings::drm_gpuva_link((*va).va.get(), (*self.book).vm_bo) };
        Ok(StepDone(PhantomData))
    }
}

/// A new mapping of range and object `m`, with data `data`, in one of the room's allocations.
/// Returns it leaked, for the C core.
///
/// The room has an allocation for every mapping a call inserts ([`Room::MAX_NEW`]), so this
/// cannot fail; should it run out all the same, it fails with `ENOMEM` and warns (`data` is
/// then dropped here).
fn new_va<T: DriverGpuVm>(
    room: *mut Room<T>,
    m: &bindings::drm_gpuva_op_map,
    data: T::VaData,
) -> Result<*mut Va<T>> {
    let mut raw: bindings::drm_gpuva = pin_init::zeroed();
    raw.va.addr = m.va.addr;
    raw.va.range = m.va.range;
    raw.gem.obj = m.gem.obj;
    raw.gem.offset = m.gem.offset;
    let va = Va::<T> {
        va: Opaque::new(raw),
        data,
    };
    // SAFETY: The room of the locked VM, reached by the steps only through this pointer, one
    // use at a time; nothing else refers to it during the steps (type invariant of `GpuVm`).
    let Some(slot) = (unsafe { (*room).free.pop() }) else {
        crate::warn_on!(true);
        return Err(ENOMEM);
    };
    Ok(KBox::into_raw(KBox::write(slot, va)))
}

/// Keeps a removed mapping, to be dropped after the reservation locks are released.
fn defer_va<T: DriverGpuVm>(room: *mut Room<T>, va: KBox<Va<T>>) {
    // SAFETY: As in `new_va`.
    let dead = unsafe { &mut (*room).dead_vas };
    if let Err(e) = dead.push_within_capacity(va) {
        // Cannot happen: the room has space for every mapping a call removes. Dropping the data
        // here could deadlock; leaking it is the lesser harm.
        crate::warn_on!(true);
        core::mem::forget(e);
    }
}

/// A step's mapping to remove.
pub struct OpUnmap<'op, T: DriverGpuVm> {
    op: &'op bindings::drm_gpuva_op_unmap,
    book: *mut Book<T>,
    _op: PhantomData<&'op ()>,
}

impl<'op, T: DriverGpuVm> OpUnmap<'op, T> {
    /// The mapping.
    pub fn va(&self) -> &Va<T> {
        // SAFETY: A mapping of the tree, a `Va<T>`.
        unsafe { &*self.op.va.cast::<Va<T>>() }
    }

    /// Removes the mapping from the tree and unlinks it. Its data is dropped after the
    /// reservation locks are released.
    pub fn remove(self) -> StepDone<'op> {
        // SAFETY: `book` is the live step bookkeeping.
        let room = unsafe { (*self.book).room };
        // SAFETY: The mapping is in the locked tree, its object's reservation lock held.
        unsafe { bindings::drm_gpuva_remove(self.op.va) };
        // SAFETY: Out of the tree, still linked, the lock still held.
        unsafe { unlink_removed::<T>(room, self.op.va) };
        StepDone(PhantomData)
    }
}

/// A step's mapping to cut: the parts before (`prev`) and after (`next`) the affected range
/// stay, as new mappings.
pub struct OpRemap<'op, T: DriverGpuVm> {
    op: &'op bindings::drm_gpuva_op_remap,
    book: *mut Book<T>,
    _op: PhantomData<&'op ()>,
}

/// The address range, and the object offset, of a part of an [`OpRemap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// Start address.
    pub addr: u64,
    /// Length.
    pub range: u64,
    /// Object offset.
    pub offset: u64,
}

impl<'op, T: DriverGpuVm> OpRemap<'op, T> {
    /// The mapping being cut.
    pub fn va(&self) -> &Va<T> {
        // SAFETY: `unmap` and its mapping are set for remap steps; the mapping is in the tree.
        unsafe { &*(*self.op.unmap).va.cast::<Va<T>>() }
    }

    fn part(m: *const bindings::drm_gpuva_op_map) -> Option<Part> {
        // SAFETY: A non-NULL part is valid during the step.
        (!m.is_null()).then(|| unsafe {
            Part {
                addr: (*m).va.addr,
                range: (*m).va.range,
                offset: (*m).gem.offset,
            }
        })
    }

    /// The part before the affected range that stays, if any.
    pub fn prev(&self) -> Option<Part> {
        Self::part(self.op.prev)
    }

    /// The part after the affected range that stays, if any.
    pub fn next(&self) -> Option<Part> {
        Self::part(self.op.next)
    }

    /// Cuts the mapping: removes it and inserts the parts that stay, with the data `split`
    /// gives for each (`prev` first), from the old mapping's data. The old mapping's data is
    /// dropped after the reservation locks are released.
    ///
    /// Allocates nothing (the room was reserved before the steps), so it does not fail.
    pub fn remap(
        self,
        mut split: impl FnMut(&T::VaData, Part) -> T::VaData,
    ) -> Result<StepDone<'op>> {
        // SAFETY: `book` is the live step bookkeeping.
        let room = unsafe { (*self.book).room };
        let old = self.va();
        let mut part_va = |room: *mut Room<T>, m: *const bindings::drm_gpuva_op_map| {
            match Self::part(m) {
                None => Ok(ptr::null_mut()),
                // SAFETY: A non-NULL part is valid during the step.
                Some(p) => new_va(room, unsafe { &*m }, split(&old.data, p)),
            }
        };
        let prev = part_va(room, self.op.prev)?;
        let next = match part_va(room, self.op.next) {
            Ok(next) => next,
            Err(e) => {
                if !prev.is_null() {
                    // SAFETY: Made just above, not inserted: ours.
                    defer_va(room, unsafe { KBox::from_raw(prev) });
                }
                return Err(e);
            }
        };
        // SAFETY: `unmap` is set for remap steps.
        let old_raw = unsafe { (*self.op.unmap).va };
        // SAFETY: The old mapping is linked to a VM object, which stays alive while the new
        // parts take their references below.
        let vm_bo = unsafe { (*old_raw).vm_bo };
        let raw = |v: *mut Va<T>| -> *mut bindings::drm_gpuva {
            if v.is_null() {
                ptr::null_mut()
            } else {
                // SAFETY: A new mapping of the room.
                unsafe { (*v).va.get() }
            }
        };
        // Removes the old mapping from the tree (keeping its memory) and inserts the parts.
        // SAFETY: The parts are new; the tree is locked; `op` is this remap step.
        unsafe {
            bindings::drm_gpuva_remap(raw(prev), raw(next), self.op);
            if !prev.is_null() {
                bindings::drm_gpuva_link(raw(prev), vm_bo);
            }
            if !next.is_null() {
                bindings::drm_gpuva_link(raw(next), vm_bo);
            }
        }
        // SAFETY: `old_raw` is the old `Va<T>`, removed by `drm_gpuva_remap()`, still linked,
        // its object's reservation lock held.
        unsafe { unlink_removed::<T>(room, old_raw) };
        Ok(StepDone(PhantomData))
    }
}

/// Unlinks a mapping already removed from the tree and keeps it in `room`, to be dropped after
/// the reservation locks are released.
///
/// # Safety
///
/// `va` must be a boxed `Va<T>` out of the tree, linked, whose object's reservation lock is
/// held; `room` must be the room of its VM, not otherwise referred to during the call.
unsafe fn unlink_removed<T: DriverGpuVm>(room: *mut Room<T>, va: *mut bindings::drm_gpuva) {
    // SAFETY: By the safety requirements. The unlink may drop the VM object's last reference,
    // which defers it into the VM's `dead_vm_bos` (not `room`); the object itself is held by the
    // references `hold` took for the running `map`/`unmap`.
    unsafe { bindings::drm_gpuva_unlink(va) };
    // SAFETY: Boxed by the layer, unlinked and out of the tree: ours again.
    defer_va(room, unsafe { KBox::from_raw(va.cast::<Va<T>>()) });
}

/// `drm_gpuvm_ops.vm_free`: frees the VM once its last reference is gone.
///
/// # Safety
///
/// Called by the C core only, once, for a `GpuVm<T>` whose refcount dropped to zero.
unsafe extern "C" fn vm_free_callback<T: DriverGpuVm>(vm: *mut bindings::drm_gpuvm) {
    // SAFETY: `vm` is the first field of a boxed `GpuVm<T>` that no one reaches any more.
    drop(unsafe { KBox::from_raw(vm.cast::<GpuVm<T>>()) });
}

/// `drm_gpuvm_ops.vm_bo_alloc`: a zeroed `VmBo<T>` with default data.
///
/// # Safety
///
/// Called by the C core only.
unsafe extern "C" fn vm_bo_alloc_callback<T: DriverGpuVm>() -> *mut bindings::drm_gpuvm_bo {
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
/// Called by the C core only, once, with a `VmBo<T>` of `vm_bo_alloc_callback`.
unsafe extern "C" fn vm_bo_free_callback<T: DriverGpuVm>(vm_bo: *mut bindings::drm_gpuvm_bo) {
    // SAFETY: The VM object holds a reference to its VM, a `GpuVm<T>` (`vm` is its first field),
    // until the C core puts it after this callback. Read before the box takes the object over.
    let vm = unsafe { &*(*vm_bo).vm.cast::<GpuVm<T>>() };
    // SAFETY: By the safety requirements. The C core touches the memory no more after this
    // callback, so it may be freed later.
    let boxed = unsafe { KBox::from_raw(vm_bo.cast::<VmBo<T>>()) };
    // SAFETY: Every put of a VM object is made by the layer with the VM locked (in `map`,
    // `unmap`, their steps, and `clear`), so `dead_vm_bos` is ours, and no other reference to
    // it lives during the C calls that free VM objects (type invariant of `GpuVm`).
    let dead = unsafe { &mut *vm.dead_vm_bos.get() };
    if let Err(e) = dead.push_within_capacity(boxed) {
        // Cannot happen: the room has space for every VM object a call frees. Dropping the data
        // here could deadlock; leaking it is the lesser harm.
        crate::warn_on!(true);
        core::mem::forget(e);
    }
}

/// Runs a driver step and turns its result into the C return value.
///
/// # Safety
///
/// `priv_` must be the `StepArgs<T>` of the running `map` or `unmap`.
unsafe fn run_step<T: DriverGpuVm>(
    priv_: *mut c_void,
    f: impl FnOnce(&mut T, &mut T::StepContext, *mut Book<T>) -> Result,
) -> c_int {
    let args = priv_.cast::<StepArgs<T>>();
    // SAFETY: By the safety requirements: the state and context are exclusively borrowed by
    // `map`/`unmap` for the C call, and reached only here; the step's operation reaches the
    // bookkeeping, a distinct field, through its raw pointer.
    let (state, ctx, book) = unsafe {
        (
            &mut *(*args).state,
            &mut *(*args).ctx,
            &raw mut (*args).book,
        )
    };
    match f(state, ctx, book) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_gpuvm_ops.sm_step_map`.
///
/// # Safety
///
/// Called by the C core only, from `drm_gpuvm_sm_map()` of `LockedVm::map`.
unsafe extern "C" fn step_map_callback<T: DriverGpuVm>(
    op: *mut bindings::drm_gpuva_op,
    priv_: *mut c_void,
) -> c_int {
    // SAFETY: `priv_` is our `StepArgs`; `op` is a map step, valid during the call.
    unsafe {
        run_step::<T>(priv_, |state, ctx, book| {
            let op = OpMap {
                op: &(*op).__bindgen_anon_1.map,
                book,
                _op: PhantomData,
            };
            state.step_map(op, ctx).map(|_| ())
        })
    }
}

/// `drm_gpuvm_ops.sm_step_unmap`.
///
/// # Safety
///
/// Called by the C core only, from `drm_gpuvm_sm_map()` or `drm_gpuvm_sm_unmap()` of a
/// `LockedVm`.
unsafe extern "C" fn step_unmap_callback<T: DriverGpuVm>(
    op: *mut bindings::drm_gpuva_op,
    priv_: *mut c_void,
) -> c_int {
    // SAFETY: As in `step_map_callback`, for an unmap step.
    unsafe {
        run_step::<T>(priv_, |state, ctx, book| {
            let op = OpUnmap {
                op: &(*op).__bindgen_anon_1.unmap,
                book,
                _op: PhantomData,
            };
            state.step_unmap(op, ctx).map(|_| ())
        })
    }
}

/// `drm_gpuvm_ops.sm_step_remap`.
///
/// # Safety
///
/// As for `step_unmap_callback`, for a remap step.
unsafe extern "C" fn step_remap_callback<T: DriverGpuVm>(
    op: *mut bindings::drm_gpuva_op,
    priv_: *mut c_void,
) -> c_int {
    // SAFETY: As in `step_map_callback`, for a remap step.
    unsafe {
        run_step::<T>(priv_, |state, ctx, book| {
            let op = OpRemap {
                op: &(*op).__bindgen_anon_1.remap,
                book,
                _op: PhantomData,
            };
            state.step_remap(op, ctx).map(|_| ())
        })
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gpuvm)]
mod tests {
    use super::*;
    use crate::drm::{
        gem::Caching,
        tests::{
            GemDevice,
            TestBo,
            LIVE_BOS, //
        },
    };
    use crate::sync::atomic::Relaxed;

    /// A VM that logs its steps and tags each mapping.
    #[derive(Default)]
    struct TestVm {
        maps: u32,
        unmaps: u32,
        remaps: u32,
    }

    impl DriverGpuVm for TestVm {
        type Object = TestBo;
        type VaData = u32;
        type VmBoData = ();
        type StepContext = u32;

        fn step_map<'op>(&mut self, op: OpMap<'op, Self>, tag: &mut u32) -> Result<StepDone<'op>> {
            self.maps += 1;
            op.insert(*tag)
        }

        fn step_unmap<'op>(
            &mut self,
            op: OpUnmap<'op, Self>,
            _tag: &mut u32,
        ) -> Result<StepDone<'op>> {
            self.unmaps += 1;
            Ok(op.remove())
        }

        fn step_remap<'op>(
            &mut self,
            op: OpRemap<'op, Self>,
            _tag: &mut u32,
        ) -> Result<StepDone<'op>> {
            self.remaps += 1;
            // The parts keep the tag of the mapping they come from.
            op.remap(|tag, _part| *tag)
        }
    }

    const PAGE: u64 = 4096;
    const VM_START: u64 = 0x10_0000;
    const VM_RANGE: u64 = 0x100_0000;

    /// A mapping as (addr, range, offset, tag, which object).
    type Row = (u64, u64, u64, u32, usize);

    /// The mappings.
    fn state(vm: &LockedVm<'_, TestVm>, objs: &[&Object<TestBo>]) -> Result<KVec<Row>> {
        let mut v = KVec::new();
        for va in vm.vas() {
            let which = objs
                .iter()
                .position(|o| core::ptr::eq(*o, va.object()))
                .ok_or(EINVAL)?;
            v.push(
                (va.addr(), va.range(), va.offset(), *va.data(), which),
                GFP_KERNEL,
            )?;
        }
        Ok(v)
    }

    fn setup() -> Result<(GemDevice, UniqueVm<TestVm>)> {
        let t = GemDevice::new(c"rust-drm-kunit-gpuvm", false)?;
        let vm = UniqueVm::new(&t.dev, c"kunit", VM_START, VM_RANGE, TestVm::default())?;
        Ok((t, vm))
    }

    fn bo(t: &GemDevice, pages: u64) -> Result<ARef<Object<TestBo>>> {
        Object::new(
            &t.dev,
            (pages * PAGE) as usize,
            Caching::Cached,
            TestBo::new(0),
        )
    }

    #[test]
    fn split_and_unmap_cases() -> Result {
        let (t, vm) = setup()?;
        let (a, b) = (bo(&t, 64)?, bo(&t, 64)?);
        let objs = [&*a, &*b];
        let mut l = vm.lock();
        let s = VM_START;

        // A map inside an existing mapping splits it in three.
        l.map(&mut 1, &a, 0, s, 16 * PAGE)?;
        l.map(&mut 2, &b, 8 * PAGE, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 4 * PAGE, 0, 1, 0),
                (s + 4 * PAGE, 4 * PAGE, 8 * PAGE, 2, 1),
                (s + 8 * PAGE, 8 * PAGE, 8 * PAGE, 1, 0),
            ]
        );
        assert_eq!((l.maps, l.remaps), (2, 1));

        // Unmap of a middle part of one mapping leaves two.
        l.unmap(&mut 0, s + 10 * PAGE, 2 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 4 * PAGE, 0, 1, 0),
                (s + 4 * PAGE, 4 * PAGE, 8 * PAGE, 2, 1),
                (s + 8 * PAGE, 2 * PAGE, 8 * PAGE, 1, 0),
                (s + 12 * PAGE, 4 * PAGE, 12 * PAGE, 1, 0),
            ]
        );

        // An unmap across several: cuts the first and last, removes those inside.
        l.unmap(&mut 0, s + 2 * PAGE, 12 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 2 * PAGE, 0, 1, 0),
                (s + 14 * PAGE, 2 * PAGE, 14 * PAGE, 1, 0)
            ]
        );

        // A map over the exact range of a mapping replaces it; at an edge, it cuts.
        l.map(&mut 3, &b, 0, s, 2 * PAGE)?;
        l.map(&mut 4, &b, 0, s + 15 * PAGE, 4 * PAGE)?;
        assert_eq!(
            &state(&l, &objs)?[..],
            &[
                (s, 2 * PAGE, 0, 3, 1),
                (s + 14 * PAGE, PAGE, 14 * PAGE, 1, 0),
                (s + 15 * PAGE, 4 * PAGE, 0, 4, 1),
            ]
        );
        assert!(l.find(s + 15 * PAGE + 5).is_some_and(|va| *va.data() == 4));
        assert!(l.find(s + 3 * PAGE).is_none());
        // Unmapping where nothing is mapped is fine.
        l.unmap(&mut 0, s + 100 * PAGE, PAGE)?;
        Ok(())
    }

    #[test]
    fn invalid_ranges() -> Result {
        let (t, vm) = setup()?;
        let a = bo(&t, 4)?;
        let mut l = vm.lock();
        let s = VM_START;
        for (off, addr, range) in [
            (0, s, 0),                          // empty
            (0, s - PAGE, 2 * PAGE),            // starts before the VM
            (0, s + VM_RANGE - PAGE, 2 * PAGE), // ends after it
            (0, u64::MAX - PAGE, 2 * PAGE),     // overflows
            (2 * PAGE, s, 4 * PAGE),            // past the end of the object
            (u64::MAX, s, PAGE),                // offset overflows
        ] {
            assert_eq!(l.map(&mut 0, &a, off, addr, range), Err(EINVAL));
        }
        assert_eq!(l.unmap(&mut 0, s, 0), Err(EINVAL));
        assert_eq!(l.unmap(&mut 0, u64::MAX, 2), Err(EINVAL));
        assert_eq!(l.vas().count(), 0);
        Ok(())
    }

    #[test]
    fn lifetimes() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let (t, vm) = setup()?;
        let a = bo(&t, 8)?;
        {
            let mut l = vm.lock();
            l.map(&mut 1, &a, 0, VM_START, 8 * PAGE)?;
            l.map(&mut 2, &a, 0, VM_START + 0x10000, 8 * PAGE)?;
            // Both mappings share one VM object.
            let mut vas = l.vas().map(|va| ptr::from_ref(va.vm_bo()));
            let (first, second) = (vas.next(), vas.next());
            assert!(first.is_some() && first == second && vas.next().is_none());
        }
        // The object, dropped while mapped, lives while a mapping does.
        drop(a);
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);
        vm.lock().unmap(&mut 0, VM_START, 8 * PAGE)?;
        assert_eq!(LIVE_BOS.load(Relaxed), base + 1);
        // Dropping the VM with a mapping left removes it, and the object goes.
        let stray: ARef<GpuVm<TestVm>> = (&*vm).into();
        drop(vm);
        assert_eq!(LIVE_BOS.load(Relaxed), base);
        // A reference kept past the `UniqueVm` cannot add mappings, which would keep the VM
        // alive forever.
        let b = bo(&t, 1)?;
        assert_eq!(stray.lock().map(&mut 0, &b, 0, VM_START, PAGE), Err(ENODEV));
        assert_eq!(stray.lock().unmap(&mut 0, VM_START, PAGE), Err(ENODEV));
        assert_eq!(stray.lock().vas().count(), 0);
        drop((stray, b));
        assert_eq!(LIVE_BOS.load(Relaxed), base);
        drop(t);
        Ok(())
    }

    /// A VM whose data has drops that take reservation locks: each VM object keeps a kernel
    /// mapping of its object, each mapping a reference of another object (its last, once the
    /// test lets go of it).
    #[derive(Default)]
    struct HoldingVm;

    type Held = Option<ARef<Object<TestBo>>>;

    impl DriverGpuVm for HoldingVm {
        type Object = TestBo;
        type VaData = Held;
        type VmBoData = crate::sync::SetOnce<crate::drm::gem::shmem::VMap<TestBo>>;
        type StepContext = Held;

        fn step_map<'op>(&mut self, op: OpMap<'op, Self>, h: &mut Held) -> Result<StepDone<'op>> {
            op.insert(h.take())
        }

        fn step_unmap<'op>(
            &mut self,
            op: OpUnmap<'op, Self>,
            _: &mut Held,
        ) -> Result<StepDone<'op>> {
            Ok(op.remove())
        }

        fn step_remap<'op>(
            &mut self,
            op: OpRemap<'op, Self>,
            _: &mut Held,
        ) -> Result<StepDone<'op>> {
            // The parts hold nothing: the old mapping's reference is the last one.
            op.remap(|_, _| None)
        }
    }

    /// Gives the VM object of the mapping at `addr` a kernel mapping of its object.
    fn give_kernel_map(vm: &mut LockedVm<'_, HoldingVm>, addr: u64) -> Result {
        let va = vm.find(addr).ok_or(ENOENT)?;
        assert!(va.vm_bo().data().populate(va.object().vmap()?));
        Ok(())
    }

    /// Every step kind, and the drop of the VM, drops data whose drop takes a reservation lock:
    /// the layer defers those drops until the locks of the steps are released.
    #[test]
    fn drops_after_the_locks() -> Result {
        let base = LIVE_BOS.load(Relaxed);
        let t = GemDevice::new(c"rust-drm-kunit-gpuvm", false)?;
        let vm = UniqueVm::new(&t.dev, c"kunit", VM_START, VM_RANGE, HoldingVm)?;
        let (a, b) = (bo(&t, 16)?, bo(&t, 16)?);
        let s = VM_START;
        let mut l = vm.lock();
        let live = || LIVE_BOS.load(Relaxed) - base;

        // Unmap step: the mapping holds the last reference of `c`; its VM object a kernel
        // mapping of `a`.
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s, 16 * PAGE)?;
        give_kernel_map(&mut l, s)?;
        assert_eq!(live(), 3);
        l.unmap(&mut None, s, 16 * PAGE)?;
        assert_eq!(live(), 2);

        // Remap step (a map in the middle cuts the mapping; the old one's data goes).
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s, 16 * PAGE)?;
        l.map(&mut None, &b, 0, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(live(), 2);
        // Unmap steps inside a map: `b`'s mapping is replaced; `b`'s VM object, with a kernel
        // mapping of `b`, goes with its last mapping.
        give_kernel_map(&mut l, s + 4 * PAGE)?;
        l.map(&mut Some(bo(&t, 1)?), &a, 0, s + 4 * PAGE, 4 * PAGE)?;
        assert_eq!(live(), 3);
        give_kernel_map(&mut l, s)?;

        // One unmap that frees many VM objects at once, each with a kernel mapping: the room
        // reserved before the steps holds them all (a shortfall would warn).
        let mut many = KVec::new();
        for i in 0..16u64 {
            let o = bo(&t, 1)?;
            let at = s + (64 + i) * PAGE;
            l.map(&mut Some(bo(&t, 1)?), &o, 0, at, PAGE)?;
            give_kernel_map(&mut l, at)?;
            many.push(o, GFP_KERNEL)?;
        }
        drop(many);
        assert_eq!(live(), 3 + 32);
        l.unmap(&mut None, s + 64 * PAGE, 16 * PAGE)?;
        assert_eq!(live(), 3);
        drop(l);

        // Dropping the VM removes the rest: data and kernel mappings go one mapping at a time.
        drop(vm);
        assert_eq!(live(), 2);
        drop((a, b));
        assert_eq!(live(), 0);
        Ok(())
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// The model: non-overlapping (start, end, offset, tag, object) intervals, sorted.
    type Model = KVec<Row>;

    /// Cuts `[a, b)` out of the model.
    fn model_cut(m: &Model, a: u64, b: u64) -> Result<Model> {
        let mut out = KVec::new();
        for &(s, e, off, tag, o) in m.iter() {
            if e <= a || s >= b {
                out.push((s, e, off, tag, o), GFP_KERNEL)?;
                continue;
            }
            if s < a {
                out.push((s, a, off, tag, o), GFP_KERNEL)?;
            }
            if e > b {
                out.push((b, e, off + (b - s), tag, o), GFP_KERNEL)?;
            }
        }
        Ok(out)
    }

    #[test]
    fn random_against_model() -> Result {
        let (t, vm) = setup()?;
        let (a, b) = (bo(&t, 64)?, bo(&t, 64)?);
        let objs = [&*a, &*b];
        let mut rng = Rng(0x5eed_1234_abcd);
        let mut model = Model::new();
        let mut l = vm.lock();
        const SPAN: u64 = 256;
        for i in 0..2000u32 {
            let addr = VM_START + rng.below(SPAN) * PAGE;
            let range = (1 + rng.below(24)) * PAGE;
            if rng.below(3) == 0 {
                l.unmap(&mut 0, addr, range)?;
                model = model_cut(&model, addr, addr + range)?;
            } else {
                let which = rng.below(2) as usize;
                let offset = rng.below(64 - range / PAGE + 1) * PAGE;
                let mut tag = i;
                l.map(&mut tag, objs[which], offset, addr, range)?;
                model = model_cut(&model, addr, addr + range)?;
                model.push((addr, addr + range, offset, i, which), GFP_KERNEL)?;
                model.sort_unstable_by_key(|m| m.0);
            }
            let got = state(&l, &objs)?;
            assert_eq!(got.len(), model.len());
            for (g, m) in got.iter().zip(model.iter()) {
                assert_eq!(*g, (m.0, m.1 - m.0, m.2, m.3, m.4));
            }
        }
        Ok(())
    }
}
