// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The VM: [`GpuVm`], the driver's [`UniqueVm`] handle, and what the VM keeps for its steps.
//!
//! C header: [`include/drm/drm_gpuvm.h`](srctree/include/drm/drm_gpuvm.h)

use super::{
    graveyard::Graveyard,
    immediate,
    locked::LockedVm,
    sm_ops,
    va::Va,
    vm_bo::{
        self,
        VmBo, //
    },
    DriverGpuVm,
};
use crate::{
    alloc::{
        KBox,
        KVec, //
    },
    bindings,
    drm::{
        gem::DriverObject,
        Device, //
    },
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        LockClassKey,
        Mutex, //
    },
    types::Opaque,
};
use core::{
    cell::UnsafeCell,
    mem::MaybeUninit,
    ops::Deref,
    ptr::NonNull, //
};

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
/// use kernel::drm::gpuvm::{
///     DriverGpuVm, Mapped, OpMap, OpRemap, OpUnmap, Remapped, UniqueVm, Unmapped,
/// };
/// # kernel::drm_doctest_driver!(Gpu, buffer: Buffer);
/// #[derive(Default)]
/// struct Vm {
///     mappings: usize,
/// }
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
///         self.mappings += 1;
///         op.insert(())
///     }
///
///     fn step_unmap<'op>(
///         &mut self,
///         op: OpUnmap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<Unmapped<'op>> {
///         self.mappings -= 1;
///         Ok(op.remove())
///     }
///
///     fn step_remap<'op>(
///         &mut self,
///         op: OpRemap<'op, Self>,
///         _ctx: &mut (),
///     ) -> Result<Remapped<'op>> {
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
/// let mut vas = locked.vas().map(|va| (va.addr() - (1 << 20), va.size(), va.offset()));
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
/// * `vm` is an initialised `struct drm_gpuvm` whose `ops` are `GpuVm::<T>::OPS`, in immediate
///   mode if and only if `immediate::<T>()`, in a `KBox` freed by `vm_free_callback`; `inner`
///   protects its tree of mappings and `T`;
/// * `room` is touched only by the task that holds `inner`, and never through two references at
///   once.
#[repr(C)]
#[pin_data]
pub struct GpuVm<T: DriverGpuVm> {
    vm: Opaque<bindings::drm_gpuvm>,
    #[pin]
    pub(super) inner: Mutex<VmState<T>>,
    pub(super) room: UnsafeCell<Room<T>>,
    /// Mappings removed by [`LockedVm::map`], [`LockedVm::unmap`] and the `UniqueVm`'s drop,
    /// dropped where their data may be: see [`Graveyard`]. (A `Bind` has its own.)
    pub(super) dead_vas: Graveyard<Va<T>>,
    /// Freed VM objects, likewise (outside immediate mode with the removed mappings; in
    /// immediate mode at the VM's next cleanup).
    pub(super) dead_vm_bos: Graveyard<VmBo<T>>,
}

/// What the VM's mutex protects, with its tree of mappings.
pub(super) struct VmState<T> {
    /// The [`UniqueVm`] is gone: no new mappings (they would keep the VM alive forever).
    pub(super) closed: bool,
    pub(super) driver: T,
}

/// The driver's handle of a [`GpuVm`]: dropping it removes every mapping (without calling the
/// steps: the VM is going away) and drops the driver's reference.
pub struct UniqueVm<T: DriverGpuVm>(ARef<GpuVm<T>>);

impl<T: DriverGpuVm> UniqueVm<T> {
    /// Creates a VM of `dev` named `name`, covering `[start, start + size)`, with driver
    /// state `data` (behind the VM's mutex: it needs no locks of its own).
    ///
    /// Fails with `EINVAL` when the range is empty or overflows.
    pub fn new(
        dev: &Device<<T::Object as DriverObject>::Driver>,
        name: &'static CStr,
        start: u64,
        size: u64,
        data: T,
    ) -> Result<Self> {
        if size == 0 || start.checked_add(size).is_none() {
            return Err(EINVAL);
        }
        let boxed = KBox::pin_init(
            try_pin_init!(GpuVm::<T> {
                vm: Opaque::zeroed(),
                inner <- {
                    let (name, key) = if immediate::<T>() {
                        immediate_vm_lock_class()
                    } else {
                        vm_lock_class()
                    };
                    Mutex::new(
                        VmState {
                            closed: false,
                            driver: data,
                        },
                        name,
                        key,
                    )
                },
                room: UnsafeCell::new(Room { free: KVec::new() }),
                dead_vas: Graveyard::new(),
                dead_vm_bos: Graveyard::new(),
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
        let flags = if immediate::<T>() {
            bindings::drm_gpuvm_flags_DRM_GPUVM_IMMEDIATE_MODE
        } else {
            0
        };
        // SAFETY: `this` is valid; `drm_gpuvm_init()` takes references to the device and to
        // `r_obj` (a private GEM object that is never given a handle), and sets the refcount to
        // one, which the `ARef` owns. The name is static.
        unsafe {
            bindings::drm_gpuvm_init(
                (*this).vm.get(),
                name.as_char_ptr(),
                flags,
                dev.as_raw(),
                r_obj,
                start,
                size,
                0,
                0,
                &GpuVm::<T>::OPS,
            );
            bindings::drm_gem_object_put(r_obj);
        }
        // INVARIANT: initialised with our ops and the mode of `T`, in a `KBox`.
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
        self.0.lock().close();
        // The data of the mappings, after the VM's lock: in immediate mode it is taken on the
        // fence signalling path, where nothing may wait for what the drops take.
        self.0.cleanup();
    }
}

impl<T: DriverGpuVm> GpuVm<T> {
    const OPS: bindings::drm_gpuvm_ops = {
        let mut ops: bindings::drm_gpuvm_ops = pin_init::zeroed();
        ops.vm_free = Some(vm_free_callback::<T>);
        ops.vm_bo_alloc = Some(vm_bo::alloc_callback::<T>);
        ops.vm_bo_free = Some(vm_bo::free_callback::<T>);
        // One callback for the three kinds of step: it tells them apart by the step's type.
        ops.sm_step_map = Some(sm_ops::step_callback::<T>);
        ops.sm_step_unmap = Some(sm_ops::step_callback::<T>);
        ops.sm_step_remap = Some(sm_ops::step_callback::<T>);
        ops
    };

    /// Locks the VM: its state and its mappings.
    pub fn lock(&self) -> LockedVm<'_, T> {
        LockedVm::new(self)
    }

    /// Cleans up after the VM's changes: frees the VM objects whose last mapping went (deferred
    /// by the C core in immediate mode), and drops their data and that of mappings removed
    /// outside a [`Bind`](super::Bind). The drop of a `Bind` or of the [`UniqueVm`] does it
    /// too; a driver calls it where it wants that done now, e.g. before a synchronous bind
    /// returns, so that an unmapped buffer is gone by then.
    ///
    /// Not on the fence signalling path, and in immediate mode not with the VM locked: the
    /// drops may take reservation locks. (Outside immediate mode, `map` and `unmap` run it with
    /// the VM locked, once the reservation locks are released.)
    pub fn cleanup(&self) {
        if immediate::<T>() {
            // SAFETY: The VM is live; the deferred cleanup takes no lock of the VM's and may be
            // called from any task that may sleep.
            unsafe { bindings::drm_gpuvm_bo_deferred_cleanup(self.as_raw()) };
        }
        self.dead_vas.drop_all();
        self.dead_vm_bos.drop_all();
    }

    /// Whether `[addr, addr + size)` is inside the VM (and does not overflow).
    pub(super) fn range_valid(&self, addr: u64, size: u64) -> bool {
        // SAFETY: The VM is live; the check reads fields that never change.
        unsafe { bindings::drm_gpuvm_range_valid(self.as_raw(), addr, size) }
    }

    /// The C VM.
    #[inline]
    pub(super) fn as_raw(&self) -> *mut bindings::drm_gpuvm {
        self.vm.get()
    }

    /// The start of the VM's address range.
    #[inline]
    pub fn start(&self) -> u64 {
        // SAFETY: Set at init, never changed.
        unsafe { (*self.as_raw()).mm_start }
    }

    /// The size in bytes of the VM's address range.
    #[inline]
    pub fn size(&self) -> u64 {
        // SAFETY: Set at init, never changed.
        unsafe { (*self.as_raw()).mm_range }
    }
}

// SAFETY: The C VM is thread safe given its locking rules, which the layer follows (the tree is
// behind `inner`); `T`, its mapping data and its VM object data are `Send`.
unsafe impl<T: DriverGpuVm> Send for GpuVm<T> {}
// SAFETY: Shared access reaches `T`, the tree and `room` only through `inner` (type invariant);
// the graveyards are lock-free.
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

/// The allocations of the mappings that the steps of a `map` or `unmap` insert, made before
/// they run: by the VM for [`LockedVm::map`] and [`LockedVm::unmap`], by a [`Bind`] for its own.
///
/// [`Bind`]: super::Bind
pub(super) struct Room<T: DriverGpuVm> {
    /// A map inserts at most three mappings (the new one, and a part of a cut mapping on each
    /// side), an unmap at most two.
    pub(super) free: KVec<KBox<MaybeUninit<Va<T>>>>,
}

impl<T: DriverGpuVm> Room<T> {
    /// The most mappings the steps of one call insert.
    pub(super) const MAX_NEW: usize = 3;

    /// A room of `n` allocations.
    pub(super) fn with(n: usize) -> Result<Self> {
        let mut room = Room { free: KVec::new() };
        room.reserve(n)?;
        Ok(room)
    }

    /// Makes sure that the room holds `n` allocations.
    pub(super) fn reserve(&mut self, n: usize) -> Result {
        self.free
            .reserve(n.saturating_sub(self.free.len()), GFP_KERNEL)?;
        while self.free.len() < n {
            self.free.push(KBox::new_uninit(GFP_KERNEL)?, GFP_KERNEL)?;
        }
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
fn vm_lock_class() -> (&'static CStr, Pin<&'static LockClassKey>) {
    (c"drm::gpuvm::GpuVm::inner", crate::static_lock_class!())
}

/// The lockdep class of the mutex of VMs in immediate mode, apart from the others': it is taken
/// on the fence signalling path, the others' are held while the steps' room is allocated.
#[inline(never)]
fn immediate_vm_lock_class() -> (&'static CStr, Pin<&'static LockClassKey>) {
    (
        c"drm::gpuvm::GpuVm::inner (immediate)",
        crate::static_lock_class!(),
    )
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
