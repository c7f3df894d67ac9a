// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Job queues: GPU jobs run in submission order once their dependencies have signalled.
//!
//! A [`Queue`] takes jobs of one driver [`Backend`]. Each job has a credit cost (its share of
//! the ring or firmware queue) and dependency fences. The queue runs them one after the other,
//! in the order they were pushed: a job starts when every job before it has started, its
//! dependencies have signalled, and its credits fit in what the running jobs leave free. The
//! backend's [`Backend::run`] starts it on the hardware and returns the hardware fence that says
//! when it is done; the queue then signals the job's *done fence*, which the queue made and only
//! the queue can signal, in order, with the job's outcome.
//!
//! # Submission
//!
//! [`Queue::prepare`] allocates everything a job needs ([`Prepared`]); dependencies are added
//! to it ([`Prepared::add_dependency`]), which allocates too. [`Prepared::push`] cannot fail and
//! does not allocate: it gives the job its place and returns its done fence, to be published in
//! sync objects and reservation objects (whose slots were reserved before). A prepared job that
//! is dropped instead was never visible to anyone, so there is nothing to signal.
//!
//! # Rules the queue keeps
//!
//! * An already signalled dependency never delays a job; a dependency the submitter named
//!   ([`Prepared::add_dependency`]) that failed fails the job with its error, without running it;
//!   the fences of the buffers ([`Prepared::add_resv_dependencies`]) only order it.
//! * [`Backend::run`] and [`Backend::timed_out`] are called from the queue's work item, never
//!   under a spinlock, inside a fence signalling section ([`Signalling`]): they must not
//!   allocate or take reservation locks. Jobs (the backend's data) are dropped by another work
//!   item, outside that section, so their drop may take locks and free memory.
//! * The oldest running job, once it has run longer than the queue's timeout (counted from
//!   the start of [`Backend::run`], checked once `run` has returned), gets
//!   [`Backend::timed_out`]: the backend either asks for more time or stops the job on the
//!   hardware, and the job's done fence then signals with `ETIME`; the jobs after it go on (a
//!   later job that has been running as long times out as soon as it is the oldest).
//! * A job with more credits than the queue has is refused at [`Queue::prepare`] (`EINVAL`).
//! * Dropping the [`Queue`] stops it: jobs not started are cancelled (`ECANCELED`); for
//!   running ones the backend is asked to stop them ([`Backend::cancel`]) and each gets up to the
//!   timeout to finish (then [`Backend::timed_out`], whose [`TimeoutAction::Extend`] waits
//!   another period, and `ETIME`); every done fence is signalled; every work item and fence
//!   callback of the queue is gone before the drop returns. The done fences themselves belong
//!   to the kernel crate (see [`dma_fence`](crate::dma_fence)), so they may outlive the driver
//!   module. The drop sleeps: it must not happen in the queue's own work items, so neither a
//!   job nor the backend may own the queue (or what owns it).
//!
//! # Why not `drm_sched`
//!
//! The C scheduler splits a queue into entities and a scheduler, gives every job two fences
//! (scheduled and finished) and two work items, and frees jobs through a `free_job` callback
//! whose timing the driver must reason about; its teardown with jobs in flight depends on the
//! driver's `cancel_job`. Firmware-scheduled GPUs (Nova's GSP, Tyr's CSF) use one entity per
//! scheduler, so the split only adds cost. This queue is the 1:1 case written in Rust: one done
//! fence per job from an in-order [`Timeline`], one work item that runs and completes jobs, one
//! that frees them, and a teardown the type system enforces (the queue's owner is unique, and
//! its drop is synchronous).

use crate::{
    alloc::KBox,
    bindings,
    dma_fence::{
        Fence,
        FenceNames,
        FenceSlot,
        Signalling,
        Status,
        Timeline, //
    },
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
        ArcBorrow,
        LockClassKey,
        SpinLock, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
    types::Opaque,
    workqueue::{
        self,
        impl_has_delayed_work,
        impl_has_work,
        DelayedWork,
        Work,
        WorkItem, //
    },
};
use core::{
    cell::UnsafeCell,
    ptr::{
        self,
        NonNull, //
    },
};

/// What a [`Backend::timed_out`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAction {
    /// The job is still making progress: give it another timeout period.
    Extend,
    /// The job was stopped on the hardware: its done fence signals with `ETIME` and the
    /// queue goes on with the next job.
    Stopped,
}

/// The driver side of a [`Queue`]: how its jobs run on the hardware.
pub trait Backend: Send + Sync + Sized + 'static {
    /// A job's data, owned by the queue from [`Queue::prepare`] until it is dropped after its
    /// done fence has signalled.
    type Job: Send;

    /// Starts `job`, whose dependencies have signalled and whose credits are free.
    ///
    /// Returns the fence that signals when the hardware is done with it, or `None` when the
    /// job completed within the call; an error fails the job with it. Runs in the queue's work
    /// item, in a fence signalling section: no allocation, no reservation lock, no waiting for
    /// fences.
    fn run(&self, job: &mut Self::Job) -> Result<Option<ARef<Fence>>>;

    /// `job` has run for the queue's timeout without its hardware fence signalling.
    ///
    /// Return [`TimeoutAction::Stopped`] once the hardware no longer works on the job (its
    /// hardware fence is then ignored and the job is dropped), or [`TimeoutAction::Extend`] to
    /// wait another period. Called in a fence signalling section, from the queue's work item
    /// or from the thread dropping the queue.
    fn timed_out(&self, job: &mut Self::Job) -> TimeoutAction;

    /// The queue is being dropped while `job` runs: make the hardware finish or abandon it
    /// soon. Called in the dropping thread, which then waits up to the timeout for the job's
    /// hardware fence. The default does nothing.
    fn cancel(&self, _job: &mut Self::Job) {}
}

/// How a queue is set up.
#[derive(Clone)]
pub struct Config {
    /// The credits of the queue: the running jobs' credits never add up to more.
    pub credits: u32,
    /// How long a job may run before [`Backend::timed_out`]; `None` for no limit.
    pub timeout: Option<Delta>,
    /// The workqueue the queue runs its jobs on, shared with other queues (one per device,
    /// say); `None` gives the queue one of its own.
    pub workqueue: Option<Arc<Workqueue>>,
}

/// A workqueue for job queues: unbound and `WQ_MEM_RECLAIM`, as a fence signalling path must
/// be (memory reclaim may wait for the fences it signals, so it must make progress without
/// allocating a worker). Jobs of several queues may share one.
///
/// # Invariants
///
/// `0` is a workqueue allocated by `alloc_workqueue()`, destroyed on drop.
pub struct Workqueue(NonNull<bindings::workqueue_struct>);

// SAFETY: A workqueue is made to be used from any thread.
unsafe impl Send for Workqueue {}
// SAFETY: As above.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// A new workqueue, named `name` (in the names of its workers).
    pub fn new(name: &CStr) -> Result<Arc<Self>> {
        // SAFETY: `name` is a NUL-terminated string, which the C core copies.
        let wq = unsafe { bindings::drm_job_alloc_wq(name.as_char_ptr()) };
        // On failure, the workqueue is destroyed with the `Self` that `Arc::new` drops.
        Ok(Arc::new(Self(NonNull::new(wq).ok_or(ENOMEM)?), GFP_KERNEL)?)
    }

    fn queue(&self) -> &workqueue::Queue {
        // SAFETY: Live for as long as `self` (type invariant).
        unsafe { workqueue::Queue::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // SAFETY: Allocated by `alloc_workqueue()`; the queues that used it hold a reference
        // until their work items are flushed, so nothing is queued on it any more.
        unsafe { bindings::destroy_workqueue(self.0.as_ptr()) };
    }
}

// The names and lock classes of every queue's lock and work items, made here, outside the
// generic code: a `static` in a generic function is one for all its instances, but a name
// there would be one per instance, and lockdep refuses a class seen with two names.
static STATE_NAME: &CStr = c"drm::job::Queue::state";
static RUN_NAME: &CStr = c"drm::job::Queue::run";
static FREE_NAME: &CStr = c"drm::job::Queue::free";
static TIMEOUT_NAME: &CStr = c"drm::job::Queue::timeout";
static TIMER_NAME: &CStr = c"drm::job::Queue::timeout_timer";

fn class_state() -> Pin<&'static LockClassKey> {
    crate::static_lock_class!()
}

fn class_run() -> Pin<&'static LockClassKey> {
    crate::static_lock_class!()
}

fn class_free() -> Pin<&'static LockClassKey> {
    crate::static_lock_class!()
}

fn class_timeout() -> Pin<&'static LockClassKey> {
    crate::static_lock_class!()
}

fn class_timer() -> Pin<&'static LockClassKey> {
    crate::static_lock_class!()
}

/// Where a job is.
#[derive(Clone, Copy)]
enum Phase {
    /// Pushed, not started.
    Queued,
    /// Started at `since`.
    Running { since: Instant<Monotonic> },
}

/// A job in the queue.
///
/// # Invariants
///
/// * `cb` is on the callback list of `data.cb_fence` exactly while that is `Some` and no
///   callback has run; the callback touches only `fired` and `queue`.
/// * `next` is read and written under the queue's lock only.
/// * `data` is only accessed by the owner of the [`Prepared`] job, then by the queue's run
///   work item, then (once that work item is idle for good, or the job completed) by the
///   teardown or the free work item; never by two of them at once.
struct Node<B: Backend> {
    cb: Opaque<bindings::dma_fence_cb>,
    /// Set by the callback when the fence it watches signalled.
    fired: Atomic<bool>,
    queue: *const Inner<B>,
    next: UnsafeCell<*mut Node<B>>,
    credits: u32,
    data: UnsafeCell<NodeData<B>>,
}

/// The parts of a job that only one party at a time touches (see [`Node`]).
struct NodeData<B: Backend> {
    job: B::Job,
    /// Dependencies not yet known to have signalled, each with whether its error fails the
    /// job; of those that only order, at most one per fence context.
    deps: KVec<(ARef<Fence>, bool)>,
    /// The error of a failed dependency, which fails the job.
    dep_error: Option<Error>,
    /// The fence the callback watches: the first pending dependency, or the hardware fence.
    cb_fence: Option<ARef<Fence>>,
    /// The hardware fence, once started; `None` when the job completed in `run`.
    hw: Option<ARef<Fence>>,
    /// The outcome, when known without the hardware fence (run failed, timed out).
    forced: Option<Result>,
    phase: Phase,
}

impl<B: Backend> Node<B> {
    /// The node's data.
    ///
    /// # Safety
    ///
    /// The caller is the one party that may touch `data` now (type invariant), and `node` is
    /// live.
    #[allow(clippy::mut_from_ref)]
    unsafe fn data<'a>(node: *mut Self) -> &'a mut NodeData<B> {
        // SAFETY: By the safety requirements.
        unsafe { &mut *(*node).data.get() }
    }

    /// The next node.
    ///
    /// # Safety
    ///
    /// The queue's lock is held and `node` is live.
    unsafe fn next(node: *mut Self) -> *mut Self {
        // SAFETY: By the safety requirements.
        unsafe { *(*node).next.get() }
    }

    /// Sets the next node.
    ///
    /// # Safety
    ///
    /// As for [`Node::next`].
    unsafe fn set_next(node: *mut Self, next: *mut Self) {
        // SAFETY: By the safety requirements.
        unsafe { *(*node).next.get() = next };
    }
}

/// The jobs of a queue, a list in push order: `head` (oldest not completed) to `next_run`
/// (the running ones), `next_run` to `tail` (the queued ones); and the completed ones, to free.
struct State<B: Backend> {
    stopped: bool,
    used: u64,
    /// Jobs pushed and not completed.
    pending: usize,
    head: *mut Node<B>,
    next_run: *mut Node<B>,
    tail: *mut Node<B>,
    free: *mut Node<B>,
}

// SAFETY: The nodes are owned by the list; their contents are `Send`.
unsafe impl<B: Backend> Send for State<B> {}

#[pin_data]
struct Inner<B: Backend> {
    #[pin]
    backend: B,
    config: Config,
    wq: Arc<Workqueue>,
    timeline: Pin<KBox<Timeline>>,
    #[pin]
    state: SpinLock<State<B>>,
    /// Set by the timeout work item for the run work item to look at the oldest job.
    check_timeout: Atomic<bool>,
    #[pin]
    run_work: Work<Inner<B>, 0>,
    #[pin]
    free_work: Work<Inner<B>, 1>,
    #[pin]
    timeout_work: DelayedWork<Inner<B>, 2>,
}

impl_has_work! {
    impl{B: Backend} HasWork<Inner<B>, 0> for Inner<B> { self.run_work }
    impl{B: Backend} HasWork<Inner<B>, 1> for Inner<B> { self.free_work }
}
impl_has_delayed_work! {
    impl{B: Backend} HasDelayedWork<Inner<B>, 2> for Inner<B> { self.timeout_work }
}

/// A job queue with backend `B`. See the [module documentation](self).
///
/// The owner is unique; submitters borrow it. Dropping it tears the queue down (it sleeps, up
/// to the timeout per running job).
///
/// # Examples
///
/// A backend whose "hardware" completes each job within [`Backend::run`]:
///
/// ```
/// use kernel::{dma_fence::{Fence, FenceNames, Status}, drm::job, prelude::*};
/// use kernel::sync::{aref::ARef, atomic::{Atomic, Relaxed}};
///
/// struct Cpu(Atomic<u32>);
///
/// impl job::Backend for Cpu {
///     type Job = u32;
///     fn run(&self, job: &mut u32) -> Result<Option<ARef<Fence>>> {
///         self.0.fetch_add(*job, Relaxed);
///         Ok(None)
///     }
///     fn timed_out(&self, _job: &mut u32) -> job::TimeoutAction {
///         // Never called: the jobs complete in `run`.
///         job::TimeoutAction::Stopped
///     }
/// }
///
/// let names = FenceNames::new(c"example", c"cpu")?;
/// let config = job::Config { credits: 4, timeout: None, workqueue: None };
/// let queue = job::Queue::new(Ok(Cpu(Atomic::new(0))), &names, config)?;
/// let first = queue.prepare(1, 1)?.push();
/// let mut second = queue.prepare(2, 1)?;
/// second.add_dependency(first.clone())?;
/// let second = second.push();
/// second.wait(false, None)?;
/// assert_eq!(first.status(), Status::Signalled);
/// assert_eq!(queue.backend().0.load(Relaxed), 3);
/// // Too many credits for the queue.
/// assert_eq!(queue.prepare(3, 5).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
pub struct Queue<B: Backend> {
    inner: Arc<Inner<B>>,
}

/// A job ready to be pushed: allocated, with its dependencies. See [`Queue::prepare`].
pub struct Prepared<'q, B: Backend> {
    queue: &'q Queue<B>,
    node: KBox<Node<B>>,
    slot: FenceSlot,
}

impl<B: Backend> Queue<B> {
    /// A new queue with `backend`, its done fences named by `names`.
    pub fn new(
        backend: impl PinInit<B, Error>,
        names: &FenceNames,
        config: Config,
    ) -> Result<Self> {
        if config.credits == 0 {
            return Err(EINVAL);
        }
        let wq = match &config.workqueue {
            Some(wq) => wq.clone(),
            None => Workqueue::new(c"drm-job")?,
        };
        let timeline = Timeline::new(names)?;
        let inner = Arc::pin_init(
            try_pin_init!(Inner::<B> {
                backend <- backend,
                config,
                wq,
                timeline,
                state <- SpinLock::new(State {
                    stopped: false,
                    used: 0,
                    pending: 0,
                    head: ptr::null_mut(),
                    next_run: ptr::null_mut(),
                    tail: ptr::null_mut(),
                    free: ptr::null_mut(),
                }, STATE_NAME, class_state()),
                check_timeout: Atomic::new(false),
                run_work <- Work::new(RUN_NAME, class_run()),
                free_work <- Work::new(FREE_NAME, class_free()),
                timeout_work <- DelayedWork::new(
                    TIMEOUT_NAME,
                    class_timeout(),
                    TIMER_NAME,
                    class_timer(),
                ),
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Self { inner })
    }

    /// The backend.
    #[inline]
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// The number of jobs pushed whose done fence has not signalled yet: queued and running.
    /// A driver bounds what one client may queue with it (the queue itself does not: credits
    /// bound the running jobs only).
    pub fn pending(&self) -> usize {
        self.inner.state.lock().pending
    }

    /// The fence context of the queue's done fences.
    #[inline]
    pub fn context(&self) -> u64 {
        self.inner.timeline.context()
    }

    /// Prepares `job` with a cost of `credits` (at least one, at most the queue's credits,
    /// else `EINVAL`). Allocates the job and its done fence; on failure, `job` is dropped.
    pub fn prepare(&self, job: B::Job, credits: u32) -> Result<Prepared<'_, B>> {
        if credits == 0 || credits > self.inner.config.credits {
            return Err(EINVAL);
        }
        let node = KBox::new(
            Node {
                cb: Opaque::uninit(),
                fired: Atomic::new(false),
                queue: &*self.inner,
                next: UnsafeCell::new(ptr::null_mut()),
                credits,
                data: UnsafeCell::new(NodeData {
                    job,
                    deps: KVec::new(),
                    dep_error: None,
                    cb_fence: None,
                    hw: None,
                    forced: None,
                    phase: Phase::Queued,
                }),
            },
            GFP_KERNEL,
        )?;
        Ok(Prepared {
            queue: self,
            node,
            slot: FenceSlot::new()?,
        })
    }
}

impl<B: Backend> Prepared<'_, B> {
    fn data(&mut self) -> &mut NodeData<B> {
        self.node.data.get_mut()
    }

    /// The job's data.
    #[inline]
    pub fn job(&mut self) -> &mut B::Job {
        &mut self.data().job
    }

    /// Makes the job wait for `fence`, a dependency the submitter named (an in-sync): the job
    /// starts only after it has signalled, and fails with its error without running if it
    /// failed. A fence that has already signalled adds nothing but its error.
    pub fn add_dependency(&mut self, fence: ARef<Fence>) -> Result {
        self.add(fence, true)
    }

    /// Makes the job wait for the fences of `resv` of `usage` (and the usages before it): for a job
    /// that writes the buffer,
    /// [`Usage::to_wait_for(true)`](crate::drm::gem::resv::Usage::to_wait_for). This is implicit
    /// synchronisation with every other user of the buffer, other drivers included. It orders only:
    /// a failed fence there does not fail the job (an earlier user's failure is that user's, and
    /// would otherwise spread to every later user of the buffer); of its fences of one context,
    /// only the latest is kept. Call it with the buffer's lock held, the same lock under which the
    /// job's fence is then added, so that no fence added meanwhile is missed.
    #[cfg(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)]
    pub fn add_resv_dependencies(
        &mut self,
        resv: &crate::drm::gem::resv::Resv,
        usage: crate::drm::gem::resv::Usage,
    ) -> Result {
        resv.for_each_fence(usage, |f| self.add(f.into(), false))
    }

    fn add(&mut self, fence: ARef<Fence>, propagate: bool) -> Result {
        let d = self.data();
        if fence.is_signalled() {
            if let (Status::Failed(e), true) = (fence.status(), propagate) {
                d.dep_error.get_or_insert(e);
            }
            return Ok(());
        }
        // Of the fences that only order (a buffer's: unbounded in number), one per context: a
        // later fence of a context signals after the earlier ones. The submitter's own are all
        // kept, as each one's error fails the job.
        if let Some((old, _)) = d
            .deps
            .iter_mut()
            .find(|(f, p)| !propagate && !*p && f.context() == fence.context())
        {
            if fence.is_later(old) {
                *old = fence;
            }
            return Ok(());
        }
        d.deps.push((fence, propagate), GFP_KERNEL)?;
        Ok(())
    }

    /// Pushes the job at the end of its queue and returns its done fence. Cannot fail, does
    /// not allocate.
    pub fn push(self) -> ARef<Fence> {
        let inner = &*self.queue.inner;
        let node = KBox::into_raw(self.node);
        let fence;
        {
            let mut st = inner.state.lock();
            // The sequence number is taken under the queue's lock, so done fences are in push
            // order. The queue is not stopped: that happens in its drop, and `self` borrows it.
            fence = inner.timeline.publish(self.slot);
            if st.tail.is_null() {
                st.head = node;
            } else {
                // SAFETY: `tail` is a live node of the list; the lock is held.
                unsafe { Node::set_next(st.tail, node) };
            }
            st.tail = node;
            st.pending += 1;
            if st.next_run.is_null() {
                st.next_run = node;
            }
        }
        inner.kick();
        fence
    }
}

mod run;

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;
