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
    drm::gem::resv::{
        Resv,
        Usage, //
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

    /// Makes the job wait for the fences of `resv` of `usage` (and the usages before it): for a
    /// job that writes the buffer, [`Usage::to_wait_for(true)`](Usage::to_wait_for). This is
    /// implicit synchronisation with every other user of the buffer, other drivers included.
    /// It orders only: a failed fence there does not fail the job (an earlier user's failure
    /// is that user's, and would otherwise spread to every later user of the buffer); of its
    /// fences of one context, only the latest is kept. Call it with the buffer's lock held, the
    /// same lock under which the job's fence is then added, so that no fence added meanwhile
    /// is missed.
    pub fn add_resv_dependencies(&mut self, resv: &Resv, usage: Usage) -> Result {
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

impl<B: Backend> Inner<B> {
    /// A new reference to the queue.
    fn arc(&self) -> Arc<Self> {
        // SAFETY: `self` is inside an `Arc` (the only way an `Inner` is made).
        unsafe { ArcBorrow::from_raw(self) }.into()
    }

    /// Queues the run work item (a no-op when it is already queued), on the queue's
    /// workqueue.
    fn kick(&self) {
        let _ = self.wq.queue().enqueue::<Arc<Self>, 0>(self.arc());
    }

    /// The C callback of a job's dependency or hardware fence: notes it and kicks the queue.
    ///
    /// # Safety
    ///
    /// `cb` is the `cb` field of a `Node<B>` whose queue is alive (the teardown removes every
    /// callback before the queue goes).
    unsafe extern "C" fn fence_cb(_f: *mut bindings::dma_fence, cb: *mut bindings::dma_fence_cb) {
        // SAFETY: By the safety requirements.
        let node = unsafe { crate::container_of!(cb.cast::<Opaque<_>>(), Node<B>, cb) };
        // The queue is taken before `fired` is set: once it is, the run work item may complete
        // the job and the free work item drop the node, so the node is not touched after.
        // SAFETY: The node and its queue are alive until `fired` is set.
        let queue = unsafe { &*(*node).queue }.arc();
        // SAFETY: As above.
        unsafe { (*node).fired.store(true, Release) };
        queue.kick();
    }

    /// Puts the node's callback on `fence`; `false` when the fence has already signalled.
    ///
    /// # Safety
    ///
    /// The caller may touch the node's data, and the callback is on no fence.
    unsafe fn watch(node: *mut Node<B>, fence: &Fence) -> bool {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        // SAFETY: The node is live; nothing else touches `fired` while no callback is on.
        unsafe { (*node).fired.store(false, Relaxed) };
        n.cb_fence = Some(fence.into());
        // SAFETY: `cb` is inside a boxed node that lives until the callback is removed or ran.
        let r = unsafe {
            bindings::dma_fence_add_callback(fence.as_raw(), (*node).cb.get(), Some(Self::fence_cb))
        };
        if r != 0 {
            n.cb_fence = None;
            return false;
        }
        true
    }

    /// Takes the node's callback off its fence, if it is on one; afterwards it neither runs
    /// nor is running (`dma_fence_remove_callback()` takes the fence's lock, under which
    /// callbacks run).
    ///
    /// # Safety
    ///
    /// The caller may touch the node's data.
    unsafe fn unwatch(node: *mut Node<B>) {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        if let Some(f) = n.cb_fence.take() {
            // SAFETY: `cb` was added to `f` (type invariant of `Node`).
            unsafe { bindings::dma_fence_remove_callback(f.as_raw(), (*node).cb.get()) };
        }
    }

    /// Whether the callback's fence, if any, has signalled (it then is off the fence).
    ///
    /// # Safety
    ///
    /// As for [`Inner::unwatch`].
    unsafe fn watched_signalled(node: *mut Node<B>) -> bool {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        if n.cb_fence.is_none() {
            return true;
        }
        // SAFETY: The node is live.
        if !unsafe { (*node).fired.load(Acquire) } {
            return false;
        }
        // The callback ran: off the list. Removing it again waits for a callback that is
        // still returning (it holds the fence's lock) and is otherwise a no-op.
        // SAFETY: As above.
        unsafe { Self::unwatch(node) };
        true
    }

    /// Whether the job's dependencies have all signalled; if not, the callback watches the
    /// first pending one.
    ///
    /// # Safety
    ///
    /// As for [`Inner::unwatch`].
    unsafe fn deps_ready(node: *mut Node<B>) -> bool {
        // SAFETY: By the safety requirements.
        if !unsafe { Self::watched_signalled(node) } {
            return false;
        }
        // SAFETY: As above.
        let n = unsafe { Node::data(node) };
        while let Some((dep, _)) = n.deps.last() {
            if !dep.is_signalled() {
                let dep = dep.clone();
                // SAFETY: The callback is on no fence now.
                if unsafe { Self::watch(node, &dep) } {
                    return false;
                }
            }
            if let Some((d, true)) = n.deps.pop() {
                if let Status::Failed(e) = d.status() {
                    n.dep_error.get_or_insert(e);
                }
            }
        }
        true
    }

    /// The outcome of a started job, if it is complete.
    ///
    /// # Safety
    ///
    /// As for [`Inner::unwatch`].
    unsafe fn outcome(node: *mut Node<B>) -> Option<Result> {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        if let Some(r) = n.forced {
            return Some(r);
        }
        n.hw.as_ref()?;
        // SAFETY: As above.
        if !unsafe { Self::watched_signalled(node) } {
            return None;
        }
        Some(match n.hw.as_ref().map(|hw| hw.status()) {
            Some(Status::Failed(e)) => Err(e),
            _ => Ok(()),
        })
    }

    /// The run work item: completes, times out and starts jobs until nothing can move.
    fn process(&self, section: &Signalling) {
        loop {
            if !self.complete(section) {
                return;
            }
            let start = {
                let st = self.state.lock();
                if st.stopped {
                    return;
                }
                let head = st.head;
                if self.check_timeout.xchg(false, Relaxed) && !head.is_null() && head != st.next_run
                {
                    drop(st);
                    // SAFETY: The head is running; this work item may touch its data.
                    unsafe { self.timeout(head) };
                    continue;
                }
                let node = st.next_run;
                if node.is_null() {
                    break;
                }
                // SAFETY: A live queued node; `credits` never changes.
                if st.used + u64::from(unsafe { (*node).credits }) > u64::from(self.config.credits)
                {
                    break;
                }
                node
            };
            // SAFETY: The first queued node; this work item may touch its data.
            if !unsafe { Self::deps_ready(start) } {
                break;
            }
            {
                let mut st = self.state.lock();
                // SAFETY: As above; `next` is read under the lock.
                unsafe {
                    st.next_run = Node::next(start);
                    st.used += u64::from((*start).credits);
                    Node::data(start).phase = Phase::Running {
                        since: Instant::now(),
                    };
                }
            }
            // SAFETY: As above: started, this work item may touch its data.
            unsafe { self.start(start) };
        }
        self.arm_timeout();
    }

    /// Runs a job that was just moved to the running ones.
    ///
    /// # Safety
    ///
    /// As for [`Inner::unwatch`].
    unsafe fn start(&self, node: *mut Node<B>) {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        if let Some(e) = n.dep_error {
            n.forced = Some(Err(e));
            return;
        }
        match self.backend.run(&mut n.job) {
            Ok(Some(hw)) => {
                n.hw = Some(hw.clone());
                // SAFETY: The callback is on no fence (the dependencies are done).
                unsafe { Self::watch(node, &hw) };
            }
            Ok(None) => n.forced = Some(Ok(())),
            Err(e) => n.forced = Some(Err(e)),
        }
    }

    /// Signals the done fences of the oldest jobs that are complete, in order, and hands them
    /// to the free work item. Returns `false` when the queue is stopped.
    ///
    /// Only the run work item signals, so the order holds without the lock held while
    /// signalling (the callbacks of the done fences run under no lock of the queue).
    fn complete(&self, section: &Signalling) -> bool {
        let (first, last) = {
            let mut st = self.state.lock();
            if st.stopped {
                return false;
            }
            let first = st.head;
            let mut last = ptr::null_mut();
            while !st.head.is_null() && st.head != st.next_run {
                let node = st.head;
                // SAFETY: A running node; this work item may touch its data.
                if unsafe { Self::outcome(node) }.is_none() {
                    break;
                }
                // SAFETY: Unlinking a live node under the lock.
                unsafe {
                    st.head = Node::next(node);
                    st.used -= u64::from((*node).credits);
                }
                st.pending -= 1;
                last = node;
            }
            if st.head.is_null() {
                st.tail = ptr::null_mut();
            }
            (first, last)
        };
        if last.is_null() {
            return true;
        }
        // The chain `first..=last`, unlinked, is ours.
        let mut n = first;
        loop {
            // SAFETY: Ours (unlinked above); its outcome is known.
            let result = unsafe { Self::outcome(n) }.unwrap_or(Err(ECANCELED));
            self.timeline.signal_next(result, section);
            if n == last {
                break;
            }
            // SAFETY: Unlinked nodes are no longer touched by submitters.
            n = unsafe { *(*n).next.get() };
        }
        {
            let mut st = self.state.lock();
            // SAFETY: `last` is ours; the free list is under the lock.
            unsafe { Node::set_next(last, st.free) };
            st.free = first;
        }
        // The free work item takes locks that a job's run may wait behind (a buffer's
        // reservation lock): not on the run work item's workqueue.
        // SAFETY: `system_dfl_wq` is set at boot and never freed.
        let dfl = unsafe { workqueue::Queue::from_raw(bindings::system_dfl_wq) };
        let _ = dfl.enqueue::<Arc<Self>, 1>(self.arc());
        true
    }

    /// Handles the oldest running job after the timeout work item fired.
    ///
    /// # Safety
    ///
    /// `node` is the oldest running job; as for [`Inner::unwatch`].
    unsafe fn timeout(&self, node: *mut Node<B>) {
        let Some(limit) = self.config.timeout else {
            return;
        };
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        let Phase::Running { since } = n.phase else {
            return;
        };
        // SAFETY: As above.
        if unsafe { Self::outcome(node) }.is_some() || since.elapsed() < limit {
            return;
        }
        match self.backend.timed_out(&mut n.job) {
            TimeoutAction::Extend => {
                n.phase = Phase::Running {
                    since: Instant::now(),
                }
            }
            TimeoutAction::Stopped => {
                // SAFETY: As above.
                unsafe { Self::unwatch(node) };
                n.forced = Some(Err(ETIME));
            }
        }
    }

    /// Arms the timeout work item for the oldest running job, unless the queue is stopped.
    fn arm_timeout(&self) {
        let Some(limit) = self.config.timeout else {
            return;
        };
        let st = self.state.lock();
        if st.stopped || st.head.is_null() || st.head == st.next_run {
            return;
        }
        // SAFETY: The head is a running node and the caller is the run work item, the only
        // one to touch its data.
        let Phase::Running { since } = (unsafe { Node::data(st.head) }).phase else {
            return;
        };
        let left = limit - since.elapsed();
        // CAST: `timeout_jiffies` is never negative; one more jiffy rounds the wait up.
        let delay = crate::dma_fence::timeout_jiffies(Some(left)) as usize + 1;
        // Under the lock, so that the teardown (which sets `stopped` under it, then flushes
        // the timeout work item) never finds it queued again afterwards.
        let _ = self
            .wq
            .queue()
            .enqueue_delayed::<Arc<Self>, 2>(self.arc(), delay);
        drop(st);
    }

    /// Drops the completed jobs, outside any signalling section.
    fn free_completed(&self) {
        let mut list = {
            let mut st = self.state.lock();
            core::mem::replace(&mut st.free, ptr::null_mut())
        };
        while !list.is_null() {
            // SAFETY: Unlinked from the queue, owned by the free list, which we took.
            let node = unsafe { KBox::from_raw(list) };
            // SAFETY: The free list is ours; nobody else reads or writes `next` now.
            list = unsafe { *node.next.get() };
            drop(node);
        }
    }
}

impl<B: Backend> WorkItem<0> for Inner<B> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        let section = Signalling::begin();
        this.process(&section);
    }
}

impl<B: Backend> WorkItem<1> for Inner<B> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        this.free_completed();
    }
}

impl<B: Backend> WorkItem<2> for Inner<B> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        this.check_timeout.store(true, Relaxed);
        this.kick();
    }
}

impl<B: Backend> Inner<B> {
    /// Waits for a running job's hardware fence at teardown, asking the backend to stop the job
    /// and, after each timeout period, whether it has.
    ///
    /// # Safety
    ///
    /// The run work item is idle for good and `node` is ours.
    unsafe fn stop_running(&self, node: *mut Node<B>) {
        // SAFETY: By the safety requirements.
        let n = unsafe { Node::data(node) };
        if !matches!(n.phase, Phase::Running { .. }) || n.forced.is_some() {
            return;
        }
        self.backend.cancel(&mut n.job);
        let Some(hw) = n.hw.clone() else {
            return;
        };
        while hw.wait(false, self.config.timeout).is_err() {
            let section = Signalling::begin();
            if self.backend.timed_out(&mut n.job) == TimeoutAction::Stopped {
                n.forced = Some(Err(ETIME));
                break;
            }
            drop(section);
        }
    }
}

impl<B: Backend> Drop for Queue<B> {
    fn drop(&mut self) {
        crate::task::might_sleep();
        let inner = &*self.inner;
        inner.state.lock().stopped = true;
        // After these, the run work item returns at once whenever it runs, and the timeout one
        // is not queued again (`arm_timeout` checks `stopped` under the lock).
        // SAFETY: The work items are initialised and live in `inner`.
        unsafe {
            // CAST: `DelayedWork` is a transparent wrapper of `struct delayed_work`.
            bindings::flush_delayed_work(ptr::from_ref(&inner.timeout_work).cast_mut().cast());
            bindings::flush_work(Work::raw_get(&inner.run_work));
        }
        let nodes = {
            let mut st = inner.state.lock();
            let h = st.head;
            st.head = ptr::null_mut();
            st.next_run = ptr::null_mut();
            st.tail = ptr::null_mut();
            h
        };
        let next = |n: *mut Node<B>| {
            // SAFETY: Unlinked nodes, ours; no submitter can reach them.
            unsafe { *(*n).next.get() }
        };
        // Every callback off its fence: nothing of the queue runs from a fence any more.
        let mut n = nodes;
        while !n.is_null() {
            // SAFETY: The run work item is idle for good: the nodes are ours.
            unsafe { Inner::unwatch(n) };
            n = next(n);
        }
        // A callback that ran before it was taken off may have queued the run work item.
        // SAFETY: As above.
        unsafe { bindings::flush_work(Work::raw_get(&inner.run_work)) };
        // Running jobs: asked to stop, then given up to the timeout each.
        let mut n = nodes;
        while !n.is_null() {
            // SAFETY: Ours, as above.
            unsafe { inner.stop_running(n) };
            n = next(n);
        }
        {
            let section = Signalling::begin();
            let mut n = nodes;
            while !n.is_null() {
                // SAFETY: Ours, as above.
                let result = match unsafe { Node::data(n) }.phase {
                    Phase::Queued => Err(ECANCELED),
                    // SAFETY: Ours, as above.
                    Phase::Running { .. } => unsafe { Inner::outcome(n) }.unwrap_or(Err(ECANCELED)),
                };
                inner.timeline.signal_next(result, &section);
                n = next(n);
            }
        }
        // The jobs are dropped here, in the dropping thread, with the completed ones.
        let mut n = nodes;
        while !n.is_null() {
            let after = next(n);
            // SAFETY: Ours, as above; each is dropped once.
            drop(unsafe { KBox::from_raw(n) });
            n = after;
        }
        // SAFETY: As above.
        unsafe { bindings::flush_work(Work::raw_get(&inner.free_work)) };
        inner.free_completed();
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;
