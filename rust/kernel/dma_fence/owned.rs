// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The fences a Rust driver makes: names, single-owner fences, and in-order timelines.

use super::{
    signal_raw,
    Fence,
    Signalling, //
};
use crate::{
    alloc::KBox,
    bindings,
    ffi::c_char,
    prelude::*,
    str::CStr,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        new_spinlock_irq,
        Refcount,
        SpinLockIrq, //
    },
    types::Opaque,
};
use core::ptr::{
    self,
    NonNull, //
};

/// The driver and timeline names of a set of fences, as `dma_fence_driver_name()` and
/// `dma_fence_timeline_name()` report them (in debugfs, traces and sync_file info).
///
/// The names are copied: they do not point into the driver module. An allocation is freed an
/// RCU grace period after its last reference is dropped, which is how the C contract lets
/// readers use a fence's names under `rcu_read_lock()` until the fence has signalled.
///
/// # Invariants
///
/// Allocated by [`FenceNames::new`] as a `KBox<FenceNames>`; `refs` counts the `ARef`s to it,
/// and `driver`/`timeline` end with a NUL.
#[repr(C)]
pub struct FenceNames {
    rcu: Opaque<bindings::callback_head>,
    refs: Refcount,
    driver: KVec<u8>,
    timeline: KVec<u8>,
}

// SAFETY: Immutable after creation but for the atomic refcount.
unsafe impl Send for FenceNames {}
// SAFETY: As above.
unsafe impl Sync for FenceNames {}

impl FenceNames {
    /// Names for fences of driver `driver` on timeline `timeline` (e.g. `c"vrust"` and
    /// `c"vrust-queue-3"`).
    pub fn new(driver: &CStr, timeline: &CStr) -> Result<ARef<Self>> {
        let copy = |s: &CStr| -> Result<KVec<u8>> {
            let mut v = KVec::with_capacity(s.to_bytes_with_nul().len(), GFP_KERNEL)?;
            v.extend_from_slice(s.to_bytes_with_nul(), GFP_KERNEL)?;
            Ok(v)
        };
        let names = KBox::new(
            Self {
                rcu: Opaque::uninit(),
                refs: Refcount::new(1),
                driver: copy(driver)?,
                timeline: copy(timeline)?,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: The one reference, counted in `refs`, is handed to the `ARef`.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(KBox::into_raw(names))) })
    }

    /// The driver name.
    pub fn driver(&self) -> &CStr {
        // SAFETY: NUL-terminated (type invariant), with no NUL before (copied from a `CStr`).
        unsafe { CStr::from_bytes_with_nul_unchecked(&self.driver) }
    }

    /// The timeline name.
    pub fn timeline(&self) -> &CStr {
        // SAFETY: As in `driver()`.
        unsafe { CStr::from_bytes_with_nul_unchecked(&self.timeline) }
    }

    /// Frees the names after a grace period.
    ///
    /// # Safety
    ///
    /// Called by RCU with the `rcu` field of a `FenceNames` whose last reference was dropped.
    unsafe extern "C" fn free(head: *mut bindings::callback_head) {
        // SAFETY: `head` is the `rcu` field of a `FenceNames` allocated as a `KBox`.
        let this = unsafe { crate::container_of!(head.cast::<Opaque<_>>(), Self, rcu) };
        // SAFETY: No references are left (by the safety requirements): the box is ours.
        drop(unsafe { KBox::from_raw(this) });
    }
}

// SAFETY: `refs` counts the references; the last one frees the allocation after a grace
// period, so RCU readers of the names of a just signalled fence keep reading valid memory.
unsafe impl AlwaysRefCounted for FenceNames {
    #[inline]
    fn inc_ref(&self) {
        self.refs.inc();
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, so the object is alive.
        let this = unsafe { obj.as_ref() };
        if this.refs.dec_and_test() {
            // SAFETY: `rcu` is unused until now; `call_rcu()` never sleeps or allocates, so
            // this is fine on a signalling path.
            unsafe { bindings::call_rcu(this.rcu.get(), Some(Self::free)) };
        }
    }
}

/// The allocation of a fence made by this layer.
///
/// `base` is the first field, so the C core's default release (`dma_fence_free()`, which
/// frees the fence with `kfree_rcu()`) frees the whole allocation.
///
/// # Invariants
///
/// While `base` is unsignalled, `names` points to names that its owner holds a reference to.
/// `next` links the pending fences of a [`Timeline`], under its lock.
#[repr(C)]
struct FenceBox {
    base: Opaque<bindings::dma_fence>,
    names: *const FenceNames,
    next: *mut FenceBox,
}

/// The operations of every fence of this layer. They live in the kernel crate, which is built
/// in, so they outlive any module; having no `release` and no `wait`, they are detached from a
/// fence when it signals.
static OPS: bindings::dma_fence_ops = {
    let mut ops: bindings::dma_fence_ops = pin_init::zeroed();
    ops.get_driver_name = Some(driver_name);
    ops.get_timeline_name = Some(timeline_name);
    ops
};

/// The names of an unsignalled fence of this layer.
///
/// # Safety
///
/// `fence` is the `base` of a [`FenceBox`], unsignalled or signalled less than an RCU grace
/// period ago with the caller in an RCU read-side section (the C contract of the callbacks).
unsafe fn names<'a>(fence: *mut bindings::dma_fence) -> &'a FenceNames {
    // CAST: `base` is the first field of the `repr(C)` `FenceBox`.
    // SAFETY: `names` was valid while the fence was unsignalled and is freed no earlier than a
    // grace period after it signalled (type invariants of `FenceBox` and `FenceNames`).
    unsafe { &*(*fence.cast::<FenceBox>()).names }
}

/// `get_driver_name` of our fences.
///
/// # Safety
///
/// Called by the C core on a fence of this layer, within the contract of [`names()`].
unsafe extern "C" fn driver_name(fence: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: The C core calls this on our fences only, within the contract of `names()`.
    unsafe { names(fence) }.driver().as_char_ptr()
}

/// `get_timeline_name` of our fences.
///
/// # Safety
///
/// As for [`driver_name()`].
unsafe extern "C" fn timeline_name(fence: *mut bindings::dma_fence) -> *const c_char {
    // SAFETY: As in `driver_name()`.
    unsafe { names(fence) }.timeline().as_char_ptr()
}

/// Allocates a fence box, not initialised yet.
fn alloc_box(names: *const FenceNames) -> Result<*mut FenceBox> {
    let b = KBox::new(
        FenceBox {
            base: Opaque::uninit(),
            names,
            next: ptr::null_mut(),
        },
        GFP_KERNEL,
    )?;
    Ok(KBox::into_raw(b))
}

/// The memory of a timeline fence, allocated ahead of [`Timeline::publish`].
///
/// Dropping an unpublished slot frees it: no fence exists yet, so there is nothing to signal.
///
/// # Invariants
///
/// `0` is a fence allocation of this layer, not initialised.
pub struct FenceSlot(*mut FenceBox);

// SAFETY: Plain memory, owned by the slot.
unsafe impl Send for FenceSlot {}
// SAFETY: A shared slot offers nothing.
unsafe impl Sync for FenceSlot {}

impl FenceSlot {
    /// Allocates a fence for a later [`Timeline::publish`].
    pub fn new() -> Result<Self> {
        Ok(Self(alloc_box(ptr::null())?))
    }

    fn into_raw(self) -> *mut FenceBox {
        let b = self.0;
        core::mem::forget(self);
        b
    }
}

impl Drop for FenceSlot {
    fn drop(&mut self) {
        // SAFETY: Never initialised (type invariant): a plain allocation of ours.
        drop(unsafe { KBox::from_raw(self.0) });
    }
}

/// Initialises the fence of `b` and returns the reference `dma_fence_init64()` made.
///
/// # Safety
///
/// `b` comes from [`alloc_box`] and is not initialised yet.
unsafe fn init_box(b: *mut FenceBox, context: u64, seqno: u64) -> ARef<Fence> {
    // SAFETY: `b` is a valid allocation; the inline lock is used (no external lock).
    unsafe {
        bindings::dma_fence_init64(
            Opaque::cast_into(ptr::addr_of!((*b).base)),
            &OPS,
            ptr::null_mut(),
            context,
            seqno,
        )
    };
    // SAFETY: Initialised above with a refcount of one, which is handed over.
    unsafe { Fence::from_raw_owned(NonNull::new_unchecked(b.cast())) }
}

/// A fence that only its owner signals.
///
/// Made with [`UniqueFence::new`], it has a context of its own (so no ordering is implied
/// with any other fence). Share it with [`UniqueFence::fence`]; signal it with
/// [`UniqueFence::signal`] or [`UniqueFence::signal_error`], which consume it. If the owner
/// drops it unsignalled, it is signalled with `-ECANCELED`.
///
/// # Invariants
///
/// `fence` is a fence of this layer whose `names` are `names`; it is unsignalled until the
/// owner signals it.
pub struct UniqueFence {
    fence: ARef<Fence>,
    names: ARef<FenceNames>,
}

impl UniqueFence {
    /// A new unsignalled fence named by `names`. This allocates; signalling it later does not.
    pub fn new(names: &FenceNames) -> Result<Self> {
        let b = alloc_box(names)?;
        // SAFETY: `b` was just allocated and is not initialised.
        let fence = unsafe { init_box(b, super::context_alloc(1), 1) };
        // INVARIANT: the fence's names are the ones referenced here.
        Ok(Self {
            fence,
            names: names.into(),
        })
    }

    /// The fence, shared.
    #[inline]
    pub fn fence(&self) -> ARef<Fence> {
        self.fence.clone()
    }

    /// The fence, borrowed.
    #[inline]
    pub fn as_fence(&self) -> &Fence {
        &self.fence
    }

    /// Signals the fence: its work completed.
    pub fn signal(self, section: &Signalling) {
        // SAFETY: Only the owner signals the fence, which is unsignalled (type invariant).
        unsafe { signal_raw(self.fence.as_raw(), section) };
        core::mem::forget(self.finish());
    }

    /// Signals the fence with an error: its work failed with `err`.
    pub fn signal_error(self, err: Error, section: &Signalling) {
        // SAFETY: Unsignalled and only the owner signals it (type invariant).
        unsafe { super::set_error(self.fence.as_raw(), err) };
        self.signal(section);
    }

    /// Drops the references of a signalled fence, returning what must be forgotten.
    fn finish(self) -> Self {
        // SAFETY: Read out once; `self` is forgotten by the caller, so nothing is dropped twice.
        let (fence, names) = unsafe { (ptr::read(&self.fence), ptr::read(&self.names)) };
        drop(fence);
        drop(names);
        self
    }
}

impl Drop for UniqueFence {
    fn drop(&mut self) {
        let section = Signalling::begin();
        // SAFETY: Not signalled yet (the signalling methods forget `self`); only the owner
        // signals it.
        unsafe { super::set_error(self.fence.as_raw(), ECANCELED) };
        // SAFETY: As above.
        unsafe { signal_raw(self.fence.as_raw(), &section) };
    }
}

/// The pending fences of a timeline, oldest first, each holding a reference.
struct Pending {
    next_seqno: u64,
    head: *mut FenceBox,
    tail: *mut FenceBox,
}

// SAFETY: The raw pointers are fences owned by the list, which are `Send`.
unsafe impl Send for Pending {}

/// An in-order timeline of fences: one fence context whose fences are signalled oldest first.
///
/// [`Timeline::new_fence`] makes the next fence (sequence numbers 1, 2, ...). The owner signals
/// them in order, [`Timeline::signal_next`] one at a time (with or without an error) or
/// [`Timeline::signal_to`] everything up to a sequence number; a fence is never signalled
/// before an older one. Dropping the timeline signals every fence that is left with
/// `-ECANCELED`.
///
/// All methods take `&self`. The signalling ones may be called from any context, interrupt
/// handlers included: the pending list is behind an interrupt-safe spinlock, and signalling
/// takes nothing else. [`Timeline::new_fence`] allocates; [`Timeline::publish`] does not.
///
/// # Examples
///
/// ```
/// use kernel::dma_fence::{FenceNames, Signalling, Status, Timeline};
///
/// let names = FenceNames::new(c"example", c"ring0")?;
/// let timeline = Timeline::new(&names)?;
/// let a = timeline.new_fence()?;
/// let b = timeline.new_fence()?;
/// assert!(b.is_later(&a));
///
/// let section = Signalling::begin();
/// timeline.signal_to(a.seqno(), &section);
/// assert_eq!(a.status(), Status::Signalled);
/// assert_eq!(b.status(), Status::Pending);
/// drop(section);
///
/// drop(timeline);
/// assert_eq!(b.status(), Status::Failed(ECANCELED));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// The fences on `pending` are fences of this layer with context `context` and names `names`,
/// unsignalled, in increasing sequence order, each holding the reference it was made with.
#[pin_data(PinnedDrop)]
pub struct Timeline {
    names: ARef<FenceNames>,
    context: u64,
    #[pin]
    pending: SpinLockIrq<Pending>,
}

impl Timeline {
    /// A new timeline with a context of its own, its fences named by `names`.
    pub fn new(names: &FenceNames) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            try_pin_init!(Self {
                names: names.into(),
                context: super::context_alloc(1),
                pending <- new_spinlock_irq!(Pending {
                    next_seqno: 1,
                    head: ptr::null_mut(),
                    tail: ptr::null_mut(),
                }),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The timeline's fence context.
    #[inline]
    pub fn context(&self) -> u64 {
        self.context
    }

    /// Makes the timeline's next fence, unsignalled. This allocates; signalling does not.
    pub fn new_fence(&self) -> Result<ARef<Fence>> {
        Ok(self.publish(FenceSlot::new()?))
    }

    /// Makes the timeline's next fence in an allocation made beforehand, so that the sequence
    /// number is taken at the moment of publication (under the caller's own ordering, e.g. a
    /// job queue's lock) without allocating there.
    pub fn publish(&self, slot: FenceSlot) -> ARef<Fence> {
        let b = slot.into_raw();
        // SAFETY: `b` is an allocation of ours, not initialised yet; point it at our names.
        unsafe { (*b).names = &*self.names };
        let mut p = self.pending.lock();
        let seqno = p.next_seqno;
        p.next_seqno += 1;
        // SAFETY: `b` is not initialised.
        let fence = unsafe { init_box(b, self.context, seqno) };
        // INVARIANT: the list keeps the reference `init_box` made; the caller gets another.
        let shared = fence.clone();
        core::mem::forget(fence);
        if p.tail.is_null() {
            p.head = b;
        } else {
            // SAFETY: `tail` is a live fence of the list, which we hold the lock of.
            unsafe { (*p.tail).next = b };
        }
        p.tail = b;
        shared
    }

    /// Signals the oldest unsignalled fence, with `result`'s error if it is one; returns its
    /// sequence number, or `None` if no fence is pending.
    pub fn signal_next(&self, result: Result, section: &Signalling) -> Option<u64> {
        let mut p = self.pending.lock();
        let b = p.head;
        if b.is_null() {
            return None;
        }
        // SAFETY: `b` is on the list, so a live unsignalled fence of ours.
        let seqno = unsafe { Self::pop_signal(&mut p, result, section) };
        Some(seqno)
    }

    /// Signals every pending fence with a sequence number up to `seqno`, oldest first.
    pub fn signal_to(&self, seqno: u64, section: &Signalling) {
        let mut p = self.pending.lock();
        // SAFETY: `head` is a live fence of the list whenever it is non-NULL.
        while !p.head.is_null() && unsafe { (*Opaque::cast_into(&(*p.head).base)).seqno } <= seqno {
            // SAFETY: The list is not empty.
            unsafe { Self::pop_signal(&mut p, Ok(()), section) };
        }
    }

    /// Whether no fence is pending.
    pub fn is_idle(&self) -> bool {
        self.pending.lock().head.is_null()
    }

    /// Unlinks the head of `p` and signals it, under the lock so that signals stay in order.
    ///
    /// # Safety
    ///
    /// `p.head` is not NULL.
    unsafe fn pop_signal(p: &mut Pending, result: Result, section: &Signalling) -> u64 {
        let b = p.head;
        // SAFETY: `b` is a live fence of the list (by the safety requirements).
        unsafe {
            p.head = (*b).next;
            if p.head.is_null() {
                p.tail = ptr::null_mut();
            }
            let raw = Opaque::cast_into(ptr::addr_of!((*b).base));
            let seqno = (*raw).seqno;
            if let Err(e) = result {
                super::set_error(raw, e);
            }
            signal_raw(raw, section);
            // The list's reference, given up: the fence is freed once nobody else holds one.
            bindings::dma_fence_put(raw);
            seqno
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Timeline {
    fn drop(self: Pin<&mut Self>) {
        let section = Signalling::begin();
        let mut p = self.pending.lock();
        while !p.head.is_null() {
            // SAFETY: The list is not empty.
            unsafe { Self::pop_signal(&mut p, Err(ECANCELED), &section) };
        }
    }
}
