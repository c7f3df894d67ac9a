// SPDX-License-Identifier: GPL-2.0 OR MIT

//! DMA fences: the kernel's cross-driver completion primitive.
//!
//! A fence (`struct dma_fence`) stands for work that completes once: it starts unsignalled and
//! is signalled exactly once, with or without an error. Other drivers and userspace wait for it
//! (through reservation objects, sync objects and sync files), or add callbacks that run when it
//! signals.
//!
//! This module has three sides:
//!
//! * [`Fence`] is any fence, of any driver, shared and reference counted (`ARef<Fence>`): wait,
//!   status, error, [`Callback`]s. It cannot be signalled through this type.
//! * Fences of a Rust driver are made and signalled through one owner: a [`UniqueFence`]
//!   (signalled by its owner alone, with `-ECANCELED` if the owner drops it) or a [`Timeline`]
//!   (an in-order sequence of fences, signalled up to a sequence number; dropping it signals
//!   what is left with `-ECANCELED`). Every fence handed out is therefore eventually signalled.
//! * A fence is allocated when it is made, before anyone else can see it; signalling never
//!   allocates. Signalling requires a [`Signalling`] guard, the lockdep annotation of a fence
//!   signalling critical section (`dma_fence_begin_signalling()`). The guard is taken at the
//!   entry point of the code that signals (an interrupt handler, a work item, a timer), not
//!   tied to the lifetime of a fence, so an allocation or a forbidden lock anywhere on that
//!   path is reported by lockdep while the code that made the fence is unaffected.
//!
//! The layer's fences outlive the module that made them safely: their operations live in the
//! kernel crate (built in), their names in a reference-counted allocation that is freed an RCU
//! grace period after the last of its fences has signalled, and a signalled fence no longer
//! calls its operations at all (the C core detaches them, `dma_fence_signal_timestamp_locked()`).
//!
//! The rules of the C contract (`Documentation/driver-api/dma-buf.rst`, "DMA Fence Signalling
//! Annotations") apply to every driver: a fence must signal in bounded time; the code on the
//! path to signalling must not allocate memory with `GFP_KERNEL`, take a lock that is held
//! while waiting for a fence (a reservation lock, `mmap_lock`), or wait for another fence that
//! could depend on it.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h)

use crate::{
    bindings,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
    },
    time::{
        msecs_to_jiffies,
        Delta, //
    },
    types::{
        NotThreadSafe,
        Opaque, //
    },
};
use core::{
    cell::UnsafeCell,
    marker::PhantomPinned,
    ptr::NonNull, //
};

mod owned;
#[cfg(CONFIG_SYNC_FILE)]
pub mod sync_file;
#[cfg(CONFIG_RUST_DMA_FENCE_KUNIT_TEST)]
mod tests;

pub use owned::{
    FenceNames,
    FenceSlot,
    Timeline,
    UniqueFence, //
};

/// A fence, of any driver: `struct dma_fence`, reference counted.
///
/// # Invariants
///
/// `self.0` is an initialised fence with a reference held for as long as `&self` lives.
#[repr(transparent)]
pub struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: A fence is made to be shared between threads and contexts: its state changes only
// under its lock or through atomic bit operations, and its refcount is atomic.
unsafe impl Send for Fence {}
// SAFETY: As above.
unsafe impl Sync for Fence {}

/// What a fence says about its work ([`Fence::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not signalled yet.
    Pending,
    /// Signalled: the work completed.
    Signalled,
    /// Signalled with an error: the work failed or was cancelled.
    Failed(Error),
}

impl Fence {
    /// The fence `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is an initialised fence with a reference held for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::dma_fence) -> &'a Self {
        // CAST: `Fence` is a transparent wrapper of `struct dma_fence`.
        // SAFETY: By the safety requirements.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Takes over a reference to the fence `ptr`, which the caller owned.
    ///
    /// # Safety
    ///
    /// `ptr` is an initialised fence and the caller gives up one reference to it.
    #[inline]
    pub unsafe fn from_raw_owned(ptr: NonNull<bindings::dma_fence>) -> ARef<Self> {
        // SAFETY: By the safety requirements, the reference is passed on.
        unsafe { ARef::from_raw(ptr.cast()) }
    }

    /// The raw `struct dma_fence`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// An already signalled fence (`dma_fence_get_stub()`), for "nothing to wait for".
    pub fn signalled() -> ARef<Self> {
        // SAFETY: Always succeeds and returns a new reference to the static stub fence.
        let ptr = unsafe { bindings::dma_fence_get_stub() };
        // SAFETY: The reference returned above is handed over; the stub is never NULL.
        unsafe { Self::from_raw_owned(NonNull::new_unchecked(ptr)) }
    }

    /// The fence's context: the timeline it belongs to, from `dma_fence_context_alloc()`.
    #[inline]
    pub fn context(&self) -> u64 {
        // SAFETY: Initialised (type invariant); `context` is set once, before publication.
        unsafe { (*self.as_raw()).context }
    }

    /// The fence's sequence number in its context.
    #[inline]
    pub fn seqno(&self) -> u64 {
        // SAFETY: As in `context()`.
        unsafe { (*self.as_raw()).seqno }
    }

    /// Whether the fence has signalled (`dma_fence_is_signaled()`, which may ask the fence's
    /// driver and signal it on the way).
    #[inline]
    pub fn is_signalled(&self) -> bool {
        // SAFETY: Initialised with a reference held (type invariant).
        unsafe { bindings::dma_fence_is_signaled(self.as_raw()) }
    }

    /// Whether the fence is signalled, with its outcome (`dma_fence_get_status()`).
    pub fn status(&self) -> Status {
        // SAFETY: As in `is_signalled()`.
        match unsafe { bindings::dma_fence_get_status(self.as_raw()) } {
            0 => Status::Pending,
            e if e < 0 => Status::Failed(Error::from_errno(e)),
            _ => Status::Signalled,
        }
    }

    /// Waits for the fence to signal (`dma_fence_wait_timeout()`), at most `timeout` (`None`
    /// waits without a limit).
    ///
    /// Returns `Ok(())` once the fence has signalled, whatever its outcome ([`Fence::status`]
    /// tells), `ETIME` when the time ran out, and `ERESTARTSYS` when `interruptible` and the
    /// caller got a signal. A wait may sleep: it must not be done on a fence-signalling path
    /// ([`Signalling`]) or under a lock that such a path takes.
    pub fn wait(&self, interruptible: bool, timeout: Option<Delta>) -> Result {
        let jiffies = timeout_jiffies(timeout);
        // SAFETY: Initialised with a reference held (type invariant).
        let ret =
            unsafe { bindings::dma_fence_wait_timeout(self.as_raw(), interruptible, jiffies) };
        match ret {
            0 => Err(ETIME),
            // CAST: a negative remainder is an error code, which fits in a `c_int`.
            r if r < 0 => Err(Error::from_errno(r as i32)),
            _ => Ok(()),
        }
    }

    /// Whether `self` is later than `other` on the same timeline (`dma_fence_is_later()`);
    /// `false` for fences of different contexts.
    pub fn is_later(&self, other: &Fence) -> bool {
        // SAFETY: Both are initialised fences with references held.
        self.context() == other.context()
            && unsafe { bindings::dma_fence_is_later(self.as_raw(), other.as_raw()) }
    }
}

/// `timeout` in jiffies, `None` being no limit.
pub(crate) fn timeout_jiffies(timeout: Option<Delta>) -> isize {
    match timeout {
        None => isize::MAX,
        Some(d) => {
            let ms = u32::try_from(d.as_millis_ceil().max(0)).unwrap_or(u32::MAX);
            // CAST: `msecs_to_jiffies()` saturates at `MAX_JIFFY_OFFSET`, below `isize::MAX`.
            msecs_to_jiffies(ms) as isize
        }
    }
}

// SAFETY: `dma_fence_get()`/`dma_fence_put()` are the fence's reference count; the fence is
// freed (by its driver's `release` or after an RCU grace period) when it drops to zero.
unsafe impl AlwaysRefCounted for Fence {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `&self` proves a reference is held.
        unsafe { bindings::dma_fence_get(self.as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::dma_fence_put(obj.as_ref().as_raw()) };
    }
}

/// A fence signalling critical section (`dma_fence_begin_signalling()` to
/// `dma_fence_end_signalling()`), for lockdep.
///
/// Take one at the entry point of code that must run for a fence to signal: the interrupt
/// handler, work item or timer callback that signals, or the part of a job's submission past
/// which the job's fence is visible to others. Everything the section covers is checked by
/// lockdep as a fence-signalling path: a `GFP_KERNEL` allocation (`fs_reclaim`), a reservation
/// lock, or a wait for a fence in it is reported, whoever made the fence.
///
/// Signalling a fence of this layer ([`UniqueFence::signal`], [`Timeline::signal_to`]) takes a
/// reference to a guard, so every signal is inside such a section. Sections nest.
///
/// The guard belongs to the thread that took it.
pub struct Signalling {
    cookie: bool,
    _not_send: NotThreadSafe,
}

impl Signalling {
    /// Begins a fence signalling critical section, ended when the guard is dropped.
    #[inline]
    pub fn begin() -> Self {
        Self {
            // SAFETY: Always safe to call; the cookie is passed back to the matching end.
            cookie: unsafe { bindings::dma_fence_begin_signalling() },
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for Signalling {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `cookie` came from the matching `dma_fence_begin_signalling()`, on this
        // thread (the guard is not `Send`).
        unsafe { bindings::dma_fence_end_signalling(self.cookie) };
    }
}

/// What a [`Callback`] runs when its fence signals.
pub trait OnSignal: Send + Sync {
    /// Called once, when the fence signals. It is not called for a fence that had already
    /// signalled when the callback was registered: [`Callback::register`] returns `false`.
    ///
    /// It runs in the context of whoever signals the fence: possibly an interrupt handler,
    /// with the fence's lock held and interrupts off. It must not sleep, allocate, or take a
    /// lock that is held around a fence's signalling; the usual body sets a flag and queues
    /// work.
    fn signalled(&self, fence: &SignalledFence);
}

/// A fence as its callbacks see it: signalled, with its lock held by the signaller.
///
/// Only what can be read without the fence's lock is offered (waiting, or asking for the
/// status through [`Fence::status`], would take the lock again and deadlock).
#[repr(transparent)]
pub struct SignalledFence(Fence);

impl SignalledFence {
    /// The error the fence was signalled with, if any.
    #[inline]
    pub fn error(&self) -> Option<Error> {
        // SAFETY: The fence is signalled, so `error` no longer changes; the signaller holds a
        // reference while the callbacks run.
        let e = unsafe { (*self.0.as_raw()).error };
        (e < 0).then(|| Error::from_errno(e))
    }

    /// The fence's context ([`Fence::context`]).
    #[inline]
    pub fn context(&self) -> u64 {
        self.0.context()
    }

    /// The fence's sequence number ([`Fence::seqno`]).
    #[inline]
    pub fn seqno(&self) -> u64 {
        self.0.seqno()
    }
}

/// A callback run when a fence signals (`struct dma_fence_cb`), pinned in place.
///
/// Registered on at most one fence at a time; dropping it (or [`Callback::unregister`])
/// removes it from the fence, so its code and data are never used after that.
///
/// # Invariants
///
/// * `fence` is `Some` exactly while `cb` may be on that fence's callback list or the C core
///   may still be running it, and then holds a reference to the fence.
/// * `ran` is set only once the C core is done with `cb`: it unlinks a callback before running
///   it, and `run` sets `ran` as its last access to the callback.
#[pin_data(PinnedDrop)]
pub struct Callback<T: OnSignal> {
    #[pin]
    cb: Opaque<bindings::dma_fence_cb>,
    fence: UnsafeCell<Option<ARef<Fence>>>,
    /// Set when the callback has run since it was last registered.
    ran: Atomic<bool>,
    data: T,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `fence` is only touched through `Pin<&mut Self>` (register, unregister) or by drop;
// the C side only touches `cb` under the fence's lock, and `ran` is atomic. `T` is
// `Send + Sync`.
unsafe impl<T: OnSignal> Send for Callback<T> {}
// SAFETY: Shared references only reach `data`, which is `Sync`, and the atomic `ran`.
unsafe impl<T: OnSignal> Sync for Callback<T> {}

impl<T: OnSignal> Callback<T> {
    /// A callback that is not registered on any fence.
    pub fn new(data: T) -> impl PinInit<Self> {
        pin_init!(Self {
            cb <- Opaque::uninit(),
            fence: UnsafeCell::new(None),
            ran: Atomic::new(false),
            data,
            _pin: PhantomPinned,
        })
    }

    /// The callback's data.
    #[inline]
    pub fn data(&self) -> &T {
        &self.data
    }

    /// Registers the callback on `fence`, removing it first from the fence it was on.
    ///
    /// Returns `true` when it will run when the fence signals, and `false` when the fence has
    /// already signalled (the callback then does not run: the caller goes on at once).
    pub fn register(mut self: Pin<&mut Self>, fence: &Fence) -> bool {
        self.as_mut().unregister();
        let this = self.as_ref();
        // SAFETY: Only `register`/`unregister`/drop touch `fence`, and they have exclusive
        // access; the callback is not on any list (unregistered above).
        let slot = unsafe { &mut *this.fence.get() };
        *slot = Some(fence.into());
        // Not on any list, so not running: nothing else touches `ran` now.
        this.ran.store(false, Relaxed);
        // SAFETY: `cb` is pinned and lives until it is removed (drop unregisters); `fence`
        // is initialised with a reference held in `slot`.
        let ret = unsafe {
            bindings::dma_fence_add_callback(fence.as_raw(), this.cb.get(), Some(Self::run))
        };
        if ret != 0 {
            // INVARIANT: `-ENOENT`: already signalled, the callback is on no list.
            *slot = None;
            return false;
        }
        true
    }

    /// Removes the callback from its fence, if it is on one; after this returns it does not run
    /// and is not running (`dma_fence_remove_callback()` takes the fence's lock, under which
    /// callbacks run). A callback that has run is off its fence already: then only the
    /// reference to the fence is dropped, and the fence's lock is not taken.
    pub fn unregister(self: Pin<&mut Self>) {
        // SAFETY: Exclusive access through `Pin<&mut Self>`.
        let slot = unsafe { &mut *self.fence.get() };
        if let Some(fence) = slot.take() {
            // Acquire: pairs with the release in `run`, after which the C core no longer
            // touches `cb` (type invariant).
            if !self.ran.load(Acquire) {
                // SAFETY: `cb` was added to `fence` (type invariant); removing a callback that
                // ran meanwhile is allowed and returns `false`.
                unsafe { bindings::dma_fence_remove_callback(fence.as_raw(), self.cb.get()) };
            }
        }
    }

    /// The C callback.
    ///
    /// # Safety
    ///
    /// Called by the C core with `cb` the `cb` field of a registered `Callback<T>`.
    unsafe extern "C" fn run(fence: *mut bindings::dma_fence, cb: *mut bindings::dma_fence_cb) {
        // CAST: `Opaque<T>` is transparent over `T`, so `cb` is the field's address.
        // SAFETY: `cb` is the `cb` field of a live `Callback<T>`: it stays alive until it is
        // removed, which waits for this to return, or until its owner sees `ran`, which this
        // sets last.
        let this = unsafe { crate::container_of!(cb.cast::<Opaque<_>>(), Self, cb) };
        // CAST: `SignalledFence` is a transparent wrapper of `Fence`, itself of `dma_fence`.
        // SAFETY: The callback is live (above); the signaller holds a reference to the fence
        // while the callbacks run, with the lock held.
        unsafe { (*this).data.signalled(&*fence.cast::<SignalledFence>()) };
        // INVARIANT: The C core unlinked `cb` before calling this and does not touch it after
        // this returns; nothing here touches the callback after the store, which lets its
        // owner drop it. (The rest of this function runs with the fence's lock held and
        // interrupts off, an RCU read-side section, which a module's unload waits for.)
        // SAFETY: The callback is live until the store is seen.
        unsafe { (*this).ran.store(true, Release) };
    }
}

#[pinned_drop]
impl<T: OnSignal> PinnedDrop for Callback<T> {
    fn drop(self: Pin<&mut Self>) {
        self.unregister();
    }
}

/// Allocates `n` fence contexts (`dma_fence_context_alloc()`), returning the first.
pub(crate) fn context_alloc(n: u32) -> u64 {
    // SAFETY: Always safe to call.
    unsafe { bindings::dma_fence_context_alloc(n) }
}

/// Sets the error of an unsignalled fence (`dma_fence_set_error()`).
///
/// # Safety
///
/// `fence` is initialised, unsignalled, and only the caller signals it.
pub(crate) unsafe fn set_error(fence: *mut bindings::dma_fence, err: Error) {
    // SAFETY: By the safety requirements.
    unsafe { bindings::dma_fence_set_error(fence, err.to_errno()) };
}

/// Signals a fence (`dma_fence_signal()`), inside a signalling section.
///
/// # Safety
///
/// `fence` is initialised with a reference held, and only the caller signals it.
#[inline]
pub(crate) unsafe fn signal_raw(fence: *mut bindings::dma_fence, _section: &Signalling) {
    // SAFETY: By the safety requirements.
    unsafe { bindings::dma_fence_signal(fence) };
}
