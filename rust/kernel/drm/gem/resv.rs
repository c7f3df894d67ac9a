// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Reservation locks: the `dma_resv` of GEM objects, alone or several at once.
//!
//! Every GEM object has a reservation object ([`Resv`]), a `ww_mutex` and the fences of the
//! work that uses the buffer. Locking one object is [`Resv::lock`]. Locking several, as a job
//! submission or a VM update must, is [`Exec::lock_all`], over the C `drm_exec`: it takes the
//! locks with one acquire context, backs off and retries on contention (the wait-die
//! protocol that keeps two such lockers from deadlocking), and unlocks them all when its guard
//! is dropped.
//!
//! The fences of a reservation object say who uses the buffer: each comes with a [`Usage`]
//! (a kernel move, a write, a read, bookkeeping). Adding one needs the lock and a reserved
//! slot ([`ResvGuard::add_fence`], [`Exec::add_fence`]); waiting ([`Resv::wait`]), testing and
//! iterating ([`Resv::for_each_fence`]) do not. This is how implicit synchronisation works
//! between drivers: a job waits for the fences of the buffers it uses and adds its own.
//!
//! Not covered yet: eviction or LRU handling, which shmem objects do not need.
//!
//! C headers: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h),
//! [`include/drm/drm_exec.h`](srctree/include/drm/drm_exec.h)

use crate::{
    alloc::KBox,
    bindings,
    dma_fence::Fence,
    drm::gem::{
        shmem::Object,
        DriverObject, //
    },
    error::to_result,
    ffi::c_int,
    prelude::*,
    time::Delta,
    types::{
        NotThreadSafe,
        Opaque, //
    },
};
use core::{
    marker::PhantomData,
    ptr::{
        self,
        NonNull, //
    },
};

/// What a fence in a reservation object stands for (`enum dma_resv_usage`), in the order the
/// C core sorts them: asking for one usage also returns the fences of every usage before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Kernel memory management (moves, clears): everyone waits for these.
    Kernel,
    /// Writes to the buffer: readers wait for these (and for `Kernel`).
    Write,
    /// Reads of the buffer: writers wait for these (and for `Write`, `Kernel`).
    Read,
    /// Neither: the buffer is only kept alive (e.g. a VM's page tables); only eviction waits.
    Bookkeep,
}

impl Usage {
    /// The usage a job waits for before it writes (`true`) or reads (`false`) the buffer
    /// (`dma_resv_usage_rw()`).
    #[inline]
    pub fn to_wait_for(write: bool) -> Self {
        if write {
            Self::Read
        } else {
            Self::Write
        }
    }

    fn raw(self) -> bindings::dma_resv_usage {
        match self {
            Self::Kernel => bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL,
            Self::Write => bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE,
            Self::Read => bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
            Self::Bookkeep => bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
        }
    }
}

/// Adds `fence` to the locked `resv` as `usage`, reserving its slot first: a no-op when the
/// caller reserved it (so no allocation), an allocation otherwise.
///
/// # Safety
///
/// The caller holds `resv`'s lock.
unsafe fn add_fence_locked(resv: &Resv, fence: &Fence, usage: Usage) -> Result {
    // SAFETY: Locked by the caller.
    to_result(unsafe { bindings::dma_resv_reserve_fences(resv.as_raw(), 1) })?;
    // SAFETY: Locked, with a free slot; the object takes its own reference to the fence.
    unsafe { bindings::dma_resv_add_fence(resv.as_raw(), fence.as_raw(), usage.raw()) };
    Ok(())
}

/// A reservation object (`struct dma_resv`).
///
/// # Invariants
///
/// The wrapped `struct dma_resv` is initialised and live for the lifetime of the reference.
#[repr(transparent)]
pub struct Resv(Opaque<bindings::dma_resv>);

// SAFETY: A `dma_resv` is made to be shared between threads; its state is behind its lock.
unsafe impl Send for Resv {}
// SAFETY: As above.
unsafe impl Sync for Resv {}

impl Resv {
    /// # Safety
    ///
    /// `ptr` must be an initialised `struct dma_resv`, live for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::dma_resv) -> &'a Self {
        // SAFETY: Transparent wrapper; live by the safety requirements.
        unsafe { &*ptr.cast() }
    }

    /// The raw `struct dma_resv`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_resv {
        self.0.get()
    }

    /// Waits until every fence of `usage` (and the usages before it) has signalled, at most
    /// `timeout` (`None`: no limit). `ETIME` when the time ran out, `ERESTARTSYS` when
    /// `interruptible` and the caller got a signal. No lock needed; it may sleep.
    pub fn wait(&self, usage: Usage, interruptible: bool, timeout: Option<Delta>) -> Result {
        let t = crate::dma_fence::timeout_jiffies(timeout);
        // SAFETY: The object is initialised (type invariant).
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.as_raw(),
                usage.raw(),
                interruptible,
                t.unsigned_abs(),
            )
        };
        match ret {
            0 => Err(ETIME),
            // CAST: a negative result is an error code.
            r if r < 0 => Err(Error::from_errno(r as i32)),
            _ => Ok(()),
        }
    }

    /// Whether every fence of `usage` (and the usages before it) has signalled.
    pub fn is_idle(&self, usage: Usage) -> bool {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_test_signaled(self.as_raw(), usage.raw()) }
    }

    /// Calls `f` with each fence of `usage` (and the usages before it), without the lock
    /// (under RCU, taking a reference for each call). When the set changes meanwhile, the walk
    /// restarts, so `f` may see a fence more than once.
    pub fn for_each_fence(&self, usage: Usage, mut f: impl FnMut(&Fence) -> Result) -> Result {
        let mut cursor = core::mem::MaybeUninit::<bindings::dma_resv_iter>::uninit();
        let c = cursor.as_mut_ptr();
        // SAFETY: `c` is writable memory for the cursor; the object is initialised.
        unsafe { bindings::dma_resv_iter_begin(c, self.as_raw(), usage.raw()) };
        // SAFETY: The cursor was begun above.
        let mut fence = unsafe { bindings::dma_resv_iter_first_unlocked(c) };
        let mut ret = Ok(());
        while !fence.is_null() {
            // SAFETY: The cursor holds a reference to the fence it returned until the next call.
            ret = f(unsafe { Fence::from_raw(fence) });
            if ret.is_err() {
                break;
            }
            // SAFETY: The cursor is live.
            fence = unsafe { bindings::dma_resv_iter_next_unlocked(c) };
        }
        // SAFETY: Ends the walk begun above, dropping the cursor's reference.
        unsafe { bindings::dma_resv_iter_end(c) };
        ret
    }

    /// Takes the lock, waiting for it without an acquire context.
    ///
    /// To lock more than one reservation object, use [`Exec::lock_all`]: taking a second one
    /// while holding this guard is a lock order violation that lockdep reports.
    pub fn lock(&self) -> ResvGuard<'_> {
        // SAFETY: The object is initialised; without a context the lock cannot fail.
        unsafe { bindings::dma_resv_lock(self.as_raw(), ptr::null_mut()) };
        // INVARIANT: the lock was just taken.
        ResvGuard {
            resv: self,
            _not_send: NotThreadSafe,
        }
    }

    /// Takes the lock, waiting for it interruptibly.
    ///
    /// Fails with `EINTR` when a signal arrives while waiting.
    pub fn lock_interruptible(&self) -> Result<ResvGuard<'_>> {
        // SAFETY: The object is initialised.
        to_result(unsafe {
            bindings::dma_resv_lock_interruptible(self.as_raw(), ptr::null_mut())
        })?;
        // INVARIANT: the lock was just taken.
        Ok(ResvGuard {
            resv: self,
            _not_send: NotThreadSafe,
        })
    }
}

/// Proof that a [`Resv`] is locked by the current task; dropping it unlocks.
///
/// # Invariants
///
/// The current task holds the lock of `resv`.
pub struct ResvGuard<'a> {
    resv: &'a Resv,
    _not_send: NotThreadSafe,
}

impl ResvGuard<'_> {
    /// The locked reservation object.
    #[inline]
    pub fn resv(&self) -> &Resv {
        self.resv
    }

    /// Makes room for `num` more fences, so that adding them while the lock is held cannot
    /// fail. Fails with `ENOMEM`.
    pub fn reserve_fences(&self, num: u32) -> Result {
        // SAFETY: The lock is held (type invariant).
        to_result(unsafe { bindings::dma_resv_reserve_fences(self.resv.as_raw(), num) })
    }

    /// Adds `fence` as `usage`. Reserve its slot beforehand ([`ResvGuard::reserve_fences`]),
    /// and this does not allocate; without one, it allocates the slot and may fail with
    /// `ENOMEM`.
    pub fn add_fence(&self, fence: &Fence, usage: Usage) -> Result {
        // SAFETY: The lock is held (type invariant).
        unsafe { add_fence_locked(self.resv, fence, usage) }
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: The lock is held by this task (type invariant).
        unsafe { bindings::dma_resv_unlock(self.resv.as_raw()) };
    }
}

/// The reservation locks of a set of GEM objects, taken together (`struct drm_exec`).
///
/// # Examples
///
/// Locking two objects, in whatever order other threads lock them:
///
/// ```
/// # use kernel::{drm, drm::gem, faux, prelude::*};
/// # kernel::drm_doctest_driver!(Gpu, buffer: Buffer);
/// # let parent = faux::Registration::new(c"drm-doctest-exec", None)?;
/// # let dev = drm::UnregisteredDevice::<Gpu>::new(parent.as_ref(), Ok(()))?;
/// use kernel::drm::gem::resv::Exec;
///
/// let new_bo = || {
///     gem::shmem::Object::new(&dev, 4096, gem::Caching::Cached, Ok::<_, Error>(Buffer))
/// };
/// let (bo_a, bo_b) = (new_bo()?, new_bo()?);
///
/// let (locked, ()) = Exec::lock_all(true, |exec| {
///     exec.lock(&bo_a)?;
///     exec.prepare(&bo_b, 1)?; // lock, and room for one fence
///     Ok(())
/// })?;
/// assert_eq!(locked.num_locked(), 2);
/// drop(locked); // unlocks both
///
/// // The same, with the locks held for the closure only, and nothing allocated for them.
/// let n = Exec::scoped(true, |exec| exec.lock(&bo_a), |locked, ()| Ok(locked.num_locked()))?;
/// assert_eq!(n, 1);
///
/// // A single object: its own guard.
/// let guard = bo_a.resv().lock_interruptible()?;
/// guard.reserve_fences(1)?;
/// # Ok::<(), Error>(())
/// ```
///
/// The KUnit suite `rust_drm_gem_resv` (`exec_locks` and `exec_keeps_the_first_lock_error`, at
/// the bottom of this file) locks real objects with this, with contention injected by
/// `CONFIG_DEBUG_WW_MUTEX_SLOWPATH`.
///
/// # Invariants
///
/// `exec` is an initialised `struct drm_exec` that stays at its address (in `_storage`, or in
/// the frame of `Exec::scoped`); it is finalised when the `Exec` is dropped. The objects it
/// locks live for `'a`, so it never holds their last reference (freeing an object takes its
/// reservation lock, which would nest in the acquire context).
#[cfg(CONFIG_DRM_EXEC = "y")]
pub struct Exec<'a> {
    exec: NonNull<bindings::drm_exec>,
    /// Where `exec` lives, unless a caller's stack frame holds it ([`Exec::scoped`]).
    _storage: Option<KBox<Opaque<bindings::drm_exec>>>,
    _objects: PhantomData<&'a ()>,
    _not_send: NotThreadSafe,
}

#[cfg(CONFIG_DRM_EXEC = "y")]
impl<'a> Exec<'a> {
    /// Calls `f` to lock a set of objects, until it has locked all of them without contention,
    /// and returns the locks with `f`'s result.
    ///
    /// On contention (another task holds one of the locks and is older), the locks taken so far
    /// are dropped, the contended one is waited for, and `f` is called again from the start: it
    /// must only lock objects (and prepare fence slots), with no other side effect it cannot
    /// repeat. The error of a lock call on contention is `EDEADLK`; `f` passes it on with `?`,
    /// and it never reaches the caller. Once a lock call has failed, every later one of the
    /// round fails with the same error, so a closure that ignores the error cannot go on
    /// locking in the wrong order, and the caller gets the first error of the round (e.g.
    /// `EINTR`) even when `f` ignored it. Locking an object twice is not an error.
    ///
    /// The objects must outlive the returned `Exec`. With `interruptible`, waits can be
    /// interrupted by signals (`EINTR`). Fails with `f`'s error otherwise, after unlocking
    /// everything.
    pub fn lock_all<R>(
        interruptible: bool,
        f: impl FnMut(&mut Locker<'_, 'a>) -> Result<R>,
    ) -> Result<(Self, R)> {
        let storage = KBox::new(Opaque::<bindings::drm_exec>::uninit(), GFP_KERNEL)?;
        // SAFETY: `Opaque::get` never returns NULL.
        let raw = unsafe { NonNull::new_unchecked(storage.get()) };
        // SAFETY: The box lives, unmoved, as long as the `Exec`.
        unsafe { Self::lock_in(raw, Some(storage), interruptible, f) }
    }

    /// As [`lock_all`](Self::lock_all), with the `drm_exec` on this function's stack rather
    /// than allocated: `body` runs with the locks (and `lock`'s result), which are dropped when
    /// it returns. For hot paths: it allocates nothing beyond what `drm_exec` does.
    pub fn scoped<R, S>(
        interruptible: bool,
        lock: impl FnMut(&mut Locker<'_, 'a>) -> Result<R>,
        body: impl FnOnce(&Exec<'a>, R) -> Result<S>,
    ) -> Result<S> {
        let storage = Opaque::<bindings::drm_exec>::uninit();
        // SAFETY: `Opaque::get` never returns NULL.
        let raw = unsafe { NonNull::new_unchecked(storage.get()) };
        // SAFETY: `storage` stays in this frame, unmoved, until after the `Exec` is dropped
        // below; `body` only borrows the `Exec`.
        let (exec, r) = unsafe { Self::lock_in(raw, None, interruptible, lock) }?;
        let out = body(&exec, r);
        drop(exec);
        out
    }

    /// # Safety
    ///
    /// `raw` must be valid for writes and stay at its address until the returned `Exec` is
    /// dropped (it is `storage`, or the caller keeps it).
    unsafe fn lock_in<R>(
        raw: NonNull<bindings::drm_exec>,
        storage: Option<KBox<Opaque<bindings::drm_exec>>>,
        interruptible: bool,
        mut f: impl FnMut(&mut Locker<'_, 'a>) -> Result<R>,
    ) -> Result<(Self, R)> {
        let mut flags = bindings::DRM_EXEC_IGNORE_DUPLICATES;
        if interruptible {
            flags |= bindings::DRM_EXEC_INTERRUPTIBLE_WAIT;
        }
        let raw_ptr = raw.as_ptr();
        // SAFETY: `raw` is valid for writes and stays put (safety requirements).
        unsafe { bindings::drm_exec_init(raw_ptr, flags, 0) };
        // INVARIANT: initialised above, finalised by `Drop`.
        let this = Exec {
            exec: raw,
            _storage: storage,
            _objects: PhantomData,
            _not_send: NotThreadSafe,
        };
        let mut result = None;
        // SAFETY: `raw` is initialised; `drm_exec_cleanup()` starts the acquire context, and
        // after contention unlocks everything for the next round.
        while unsafe { bindings::drm_exec_cleanup(raw_ptr) } {
            // Wait for the object of the last round's contention first, whether or not `f`
            // locks it again: otherwise a round that locks nothing would retry forever.
            // SAFETY: `raw` is initialised; with no objects this only takes the contended lock.
            to_result(unsafe { bindings::drm_exec_prepare_array(raw_ptr, ptr::null_mut(), 0, 0) })?;
            let mut locker = Locker {
                exec: &this,
                failed: None,
            };
            let ret = f(&mut locker);
            if this.is_contended() {
                result = None;
                continue;
            }
            // The first failed lock call of the round wins over what `f` made of it.
            match (locker.failed, ret) {
                (Some(e), _) | (None, Err(e)) => return Err(e),
                (None, Ok(r)) => result = Some(r),
            }
        }
        // `drm_exec_cleanup()` returns false only after a round without contention, which set
        // `result` unless `f` failed, which returned above.
        let r = result.ok_or(EINVAL)?;
        Ok((this, r))
    }

    fn is_contended(&self) -> bool {
        // SAFETY: `exec` is initialised; only this task touches it.
        !unsafe { (*self.exec.as_ptr()).contended }.is_null()
    }

    /// The number of objects locked.
    pub fn num_locked(&self) -> usize {
        // SAFETY: `exec` is initialised; only this task touches it.
        unsafe { (*self.exec.as_ptr()).num_objects as usize }
    }

    /// Adds `fence` as `usage` to `obj`, which must be locked in this set (else `EINVAL`).
    /// Objects locked with [`Locker::prepare`] have their slots reserved, and then this does
    /// not allocate; otherwise it allocates the slot and may fail with `ENOMEM`.
    pub fn add_fence<D: DriverObject>(
        &self,
        obj: &Object<D>,
        fence: &Fence,
        usage: Usage,
    ) -> Result {
        let resv = obj.resv();
        // SAFETY: `exec` is initialised; its `ticket` is the acquire context of its locks.
        let ticket = unsafe { &raw mut (*self.exec.as_ptr()).ticket };
        // SAFETY: Reading the lock owner's context of an initialised object is always allowed.
        if unsafe { bindings::dma_resv_locking_ctx(resv.as_raw()) } != ticket {
            return Err(EINVAL);
        }
        // SAFETY: Locked by this task, in this set (checked above).
        unsafe { add_fence_locked(resv, fence, usage) }
    }

    /// The objects locked, each with a reference the `Exec` holds.
    pub(crate) fn locked_objects(
        &self,
    ) -> impl Iterator<Item = *mut bindings::drm_gem_object> + '_ {
        // SAFETY: `exec` is initialised; `objects` holds `num_objects` entries.
        let objects = unsafe { (*self.exec.as_ptr()).objects };
        // SAFETY: As above; the array does not change while `&self` is borrowed.
        (0..self.num_locked()).map(move |i| unsafe { *objects.add(i) })
    }
}

#[cfg(CONFIG_DRM_EXEC = "y")]
impl Drop for Exec<'_> {
    fn drop(&mut self) {
        // SAFETY: `exec` is initialised (type invariant); this unlocks and puts every object,
        // none of them for the last time (the objects outlive `'a`).
        unsafe { bindings::drm_exec_fini(self.exec.as_ptr()) };
    }
}

/// The argument of the closure of [`Exec::lock_all`]: locks objects that live for `'a` into
/// the set.
#[cfg(CONFIG_DRM_EXEC = "y")]
pub struct Locker<'e, 'a> {
    exec: &'e Exec<'a>,
    /// The error of the first lock call of this round that failed: the round is over.
    failed: Option<Error>,
}

#[cfg(CONFIG_DRM_EXEC = "y")]
impl<'a> Locker<'_, 'a> {
    /// Runs one lock call, unless an earlier one of the round failed.
    fn call(&mut self, f: impl FnOnce(*mut bindings::drm_exec) -> c_int) -> Result {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let ret = if self.exec.is_contended() {
            Err(EDEADLK)
        } else {
            to_result(f(self.exec.exec.as_ptr()))
        };
        if let Err(e) = ret {
            self.failed = Some(e);
        }
        ret
    }

    /// Runs a C call that locks objects with the raw `struct drm_exec` (e.g.
    /// `drm_gpuvm_sm_map_exec_lock()`), with the same contention handling as [`lock`].
    ///
    /// The objects the call locks must outlive the [`Exec`], as those of [`lock`] do.
    ///
    /// [`lock`]: Self::lock
    pub(crate) fn call_raw(&mut self, f: impl FnOnce(*mut bindings::drm_exec) -> c_int) -> Result {
        self.call(f)
    }

    /// Locks `obj` and keeps a reference to it until the [`Exec`] is dropped.
    ///
    /// Fails with `EDEADLK` on contention (pass it on), and `EINTR` when interrupted.
    pub fn lock<D: DriverObject>(&mut self, obj: &'a Object<D>) -> Result {
        // SAFETY: `exec` is initialised and `obj` live; the C core takes its own reference.
        self.call(|exec| unsafe { bindings::drm_exec_lock_obj(exec, obj.as_raw()) })
    }

    /// Locks `obj` as [`lock`](Self::lock) does, and makes room for `num_fences` fences.
    pub fn prepare<D: DriverObject>(&mut self, obj: &'a Object<D>, num_fences: u32) -> Result {
        // SAFETY: As in `lock`.
        self.call(|exec| unsafe { bindings::drm_exec_prepare_obj(exec, obj.as_raw(), num_fences) })
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
#[macros::kunit_tests(rust_drm_gem_resv)]
mod tests {
    use super::*;
    use crate::{
        drm::tests::{
            bo,
            GemDevice, //
        },
        page::PAGE_SIZE,
    };

    #[test]
    fn exec_locks() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let objs = [
            bo(&t, PAGE_SIZE, 0)?,
            bo(&t, PAGE_SIZE, 1)?,
            bo(&t, PAGE_SIZE, 2)?,
        ];
        let mut rounds = 0;
        for _ in 0..50 {
            let (locked, r) = Exec::lock_all(true, |l| {
                rounds += 1;
                l.lock(&objs[2])?;
                l.prepare(&objs[0], 2)?;
                l.lock(&objs[1])?;
                // Twice is not an error.
                l.lock(&objs[2])?;
                Ok(7)
            })?;
            assert_eq!((locked.num_locked(), r), (3, 7));
        }
        // Every round that did not finish was retried (contention is injected with
        // CONFIG_DEBUG_WW_MUTEX_SLOWPATH).
        assert!(rounds >= 50);
        // An error unlocks everything: the locks can be taken again.
        assert_eq!(
            Exec::lock_all(false, |l| {
                l.lock(&objs[0])?;
                Err::<(), _>(ENOSPC)
            })
            .err(),
            Some(ENOSPC)
        );
        let g = objs[0].resv().lock_interruptible()?;
        g.reserve_fences(1)?;
        drop(g);
        drop(objs[1].resv().lock());
        Ok(())
    }

    /// The first failed lock call of a round is the caller's error, even when the closure
    /// ignores it and passes on a later one, or returns `Ok`.
    #[test]
    fn exec_keeps_the_first_lock_error() -> Result {
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let a = bo(&t, PAGE_SIZE, 0)?;
        let failing_lock =
            |l: &mut crate::drm::gem::resv::Locker<'_, '_>| l.call_raw(|_| EINTR.to_errno());
        let passes_on_the_second = Exec::lock_all(true, |l| {
            let _ = failing_lock(l);
            l.lock(&a)
        });
        assert_eq!(passes_on_the_second.err(), Some(EINTR));
        let ignores_all = Exec::lock_all(true, |l| {
            let _ = failing_lock(l);
            let _ = l.lock(&a);
            Ok(())
        });
        assert_eq!(ignores_all.err(), Some(EINTR));
        // Nothing stayed locked.
        drop(a.resv().lock());
        Ok(())
    }

    /// Fences added with their usage are what waits and walks see, usage by usage; an object
    /// not locked in an `Exec` cannot get a fence through it.
    #[test]
    fn fences() -> Result {
        use crate::dma_fence::{
            FenceNames,
            Signalling,
            UniqueFence, //
        };
        let t = GemDevice::new(c"rust-drm-kunit-gem", false)?;
        let (a, b) = (bo(&t, PAGE_SIZE, 0)?, bo(&t, PAGE_SIZE, 1)?);
        let names = FenceNames::new(c"rust-drm-kunit", c"resv")?;
        let (w, r) = (UniqueFence::new(&names)?, UniqueFence::new(&names)?);
        assert!(a.resv().is_idle(Usage::Bookkeep));
        Exec::scoped(
            true,
            |l| l.prepare(&a, 2),
            |exec, ()| {
                exec.add_fence(&a, w.as_fence(), Usage::Write)?;
                exec.add_fence(&a, r.as_fence(), Usage::Read)?;
                // `b` is not in this set.
                assert_eq!(exec.add_fence(&b, w.as_fence(), Usage::Write), Err(EINVAL));
                Ok(())
            },
        )?;
        let count = |usage| -> Result<u32> {
            let mut n = 0;
            a.resv().for_each_fence(usage, |_| {
                n += 1;
                Ok(())
            })?;
            Ok(n)
        };
        // A reader waits for writers only; a writer for both.
        assert_eq!(count(Usage::to_wait_for(false))?, 1);
        assert_eq!(count(Usage::to_wait_for(true))?, 2);
        assert_eq!(count(Usage::Kernel)?, 0);
        assert!(b.resv().is_idle(Usage::Bookkeep));
        assert_eq!(
            a.resv().wait(
                Usage::Write,
                false,
                Some(crate::time::Delta::from_millis(1))
            ),
            Err(ETIME)
        );
        w.signal(&Signalling::begin());
        assert!(a.resv().is_idle(Usage::Write));
        assert!(!a.resv().is_idle(Usage::Read));
        drop(r);
        a.resv().wait(Usage::Bookkeep, true, None)?;
        // Through a plain lock too, with the slot reserved first.
        let g = b.resv().lock();
        g.reserve_fences(1)?;
        g.add_fence(&crate::dma_fence::Fence::signalled(), Usage::Kernel)?;
        drop(g);
        assert!(b.resv().is_idle(Usage::Kernel));
        Ok(())
    }
}
