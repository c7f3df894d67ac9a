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
//! * An already signalled dependency never delays a job; a dependency that failed fails the job
//!   with its error, without running it.
//! * [`Backend::run`] and [`Backend::timed_out`] are called from the queue's work item, never
//!   under a spinlock, inside a fence signalling section ([`Signalling`]): they must not
//!   allocate or take reservation locks. Jobs (the backend's data) are dropped by another work
//!   item, outside that section, so their drop may take locks and free memory.
//! * A job running longer than the queue's timeout gets [`Backend::timed_out`]: the backend
//!   either asks for more time or stops the job on the hardware, and the job's done fence then
//!   signals with `ETIMEDOUT`; the jobs after it go on.
//! * A job with more credits than the queue has is refused at [`Queue::prepare`] (`EINVAL`).
//! * Dropping the [`Queue`] stops it: jobs not started are cancelled (`ECANCELED`); for
//!   running ones the backend is asked to stop them ([`Backend::cancel`]) and each gets up to the
//!   timeout to finish (then `ETIMEDOUT`); every done fence is signalled; every work item and
//!   fence callback of the queue is gone before the drop returns. The done fences themselves
//!   belong to the kernel crate (see [`dma_fence`](crate::dma_fence)), so they may outlive the
//!   driver module.
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
    drm::gem::resv::{
        Resv,
        Usage, //
    },
    dma_fence::{
        Fence,
        FenceNames,
        FenceSlot,
        Signalling,
        Status,
        Timeline, //
    },
    new_spinlock,
    new_work,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
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
        new_delayed_work,
        DelayedWork,
        Work,
        WorkItem, //
    },
};
use core::ptr;

/// What a [`Backend::timed_out`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAction {
    /// The job is still making progress: give it another timeout period.
    Extend,
    /// The job was stopped on the hardware: its done fence signals with `ETIMEDOUT` and the
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
    /// hardware fence is then ignored), or [`TimeoutAction::Extend`] to wait another period.
    /// Same context as [`Backend::run`]. The default stops nothing and extends nothing: it
    /// reports the job as stopped.
    fn timed_out(&self, _job: &mut Self::Job) -> TimeoutAction {
        TimeoutAction::Stopped
    }

    /// The queue is being dropped while `job` runs: make the hardware finish or abandon it
    /// soon. Called in the dropping thread, which then waits up to the timeout for the job's
    /// hardware fence. The default does nothing.
    fn cancel(&self, _job: &mut Self::Job) {}
}

/// How a queue is set up.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The credits of the queue: the running jobs' credits never add up to more.
    pub credits: u32,
    /// How long a job may run before [`Backend::timed_out`]; `None` for no limit.
    pub timeout: Option<Delta>,
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
/// `cb` is on the callback list of `cb_fence` exactly while `cb_fence` is `Some` (and no
/// callback has run); only the queue's run work item (or the teardown, once that work item is
/// idle) reads or writes the fields but `fired` and `next`; `next` is under the queue's lock.
struct Node<B: Backend> {
    job: B::Job,
    credits: u32,
    /// Dependencies not yet known to have signalled.
    deps: KVec<ARef<Fence>>,
    /// The error of a failed dependency, which fails the job.
    dep_error: Option<Error>,
    cb: Opaque<bindings::dma_fence_cb>,
    cb_fence: Option<ARef<Fence>>,
    /// Set by the callback when `cb_fence` signalled.
    fired: Atomic<bool>,
    /// The hardware fence, once started; `None` when the job completed in `run`.
    hw: Option<ARef<Fence>>,
    /// The outcome, when known without the hardware fence (run failed, timed out).
    forced: Option<Result>,
    phase: Phase,
    queue: *const Inner<B>,
    next: *mut Node<B>,
}

/// The jobs of a queue, a list in push order: `head` (oldest not completed) to `next_run`
/// (the running ones), `next_run` to `tail` (the queued ones); and the completed ones, to free.
struct State<B: Backend> {
    stopped: bool,
    used: u32,
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
/// The owner is unique; submitters borrow it. Dropping it tears the queue down (it may sleep,
/// up to the timeout per running job).
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
/// }
///
/// let names = FenceNames::new(c"example", c"cpu")?;
/// let config = job::Config { credits: 4, timeout: None };
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
    pub fn new(backend: impl PinInit<B, Error>, names: &FenceNames, config: Config) -> Result<Self> {
        if config.credits == 0 {
            return Err(EINVAL);
        }
        let timeline = Timeline::new(names)?;
        let inner = Arc::pin_init(
            try_pin_init!(Inner::<B> {
                backend <- backend,
                config,
                timeline,
                state <- new_spinlock!(State {
                    stopped: false,
                    used: 0,
                    head: ptr::null_mut(),
                    next_run: ptr::null_mut(),
                    tail: ptr::null_mut(),
                    free: ptr::null_mut(),
                }),
                check_timeout: Atomic::new(false),
                run_work <- new_work!("drm::job::Queue::run"),
                free_work <- new_work!("drm::job::Queue::free"),
                timeout_work <- new_delayed_work!("drm::job::Queue::timeout"),
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

    /// The fence context of the queue's done fences.
    #[inline]
    pub fn context(&self) -> u64 {
        self.inner.timeline.context()
    }

    /// Prepares `job` with a cost of `credits` (at least one, at most the queue's credits,
    /// else `EINVAL`). Allocates the job and its done fence.
    pub fn prepare(&self, job: B::Job, credits: u32) -> Result<Prepared<'_, B>> {
        if credits == 0 || credits > self.inner.config.credits {
            return Err(EINVAL);
        }
        let node = KBox::new(
            Node {
                job,
                credits,
                deps: KVec::new(),
                dep_error: None,
                cb: Opaque::uninit(),
                cb_fence: None,
                fired: Atomic::new(false),
                hw: None,
                forced: None,
                phase: Phase::Queued,
                queue: &*self.inner,
                next: ptr::null_mut(),
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
    /// The job's data.
    #[inline]
    pub fn job(&mut self) -> &mut B::Job {
        &mut self.node.job
    }

    /// Makes the job wait for `fence`. A fence that has already signalled, or one of this
    /// queue's own done fences (which signal in order anyway), adds nothing.
    pub fn add_dependency(&mut self, fence: ARef<Fence>) -> Result {
        if fence.context() == self.queue.context() || fence.is_signalled() {
            if let Status::Failed(e) = fence.status() {
                self.node.dep_error.get_or_insert(e);
            }
            return Ok(());
        }
        self.node.deps.push(fence, GFP_KERNEL)?;
        Ok(())
    }

    /// Makes the job wait for the fences of `resv` of `usage` (and the usages before it): for a
    /// job that writes the buffer, [`Usage::to_wait_for(true)`](Usage::to_wait_for). This is
    /// implicit synchronisation with every other user of the buffer, other drivers included.
    pub fn add_resv_dependencies(&mut self, resv: &Resv, usage: Usage) -> Result {
        resv.for_each_fence(usage, |f| self.add_dependency(f.into()))
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
                // SAFETY: `tail` is a live node of the list; `next` is under the lock.
                unsafe { (*st.tail).next = node };
            }
            st.tail = node;
            if st.next_run.is_null() {
                st.next_run = node;
            }
        }
        inner.kick();
        fence
    }
}

impl<B: Backend> Inner<B> {
    /// Queues the run work item (a no-op when it is already queued).
    fn kick(&self) {
        // SAFETY: `self` is inside an `Arc` (the only way an `Inner` is made).
        let arc: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
        let _ = workqueue::system().enqueue::<Arc<Self>, 0>(arc);
    }

    /// The C callback of a job's dependency or hardware fence: notes it and kicks the queue.
    ///
    /// # Safety
    ///
    /// `cb` is the `cb` field of a `Node<B>` whose queue is alive (the teardown removes every
    /// callback before the queue goes).
    unsafe extern "C" fn fence_cb(_f: *mut bindings::dma_fence, cb: *mut bindings::dma_fence_cb) {
        // SAFETY: By the safety requirements.
        let node = unsafe { &*crate::container_of!(cb.cast::<Opaque<_>>(), Node<B>, cb) };
        node.fired.store(true, Relaxed);
        // SAFETY: The queue is alive (safety requirements).
        unsafe { &*node.queue }.kick();
    }

    /// Puts the node's callback on `fence`; `false` when the fence has already signalled.
    ///
    /// # Safety
    ///
    /// Called by the run work item (or the idle teardown), with the callback on no fence.
    unsafe fn watch(node: *mut Node<B>, fence: &Fence) -> bool {
        // SAFETY: The node is live and only this caller touches these fields.
        let n = unsafe { &mut *node };
        n.fired.store(false, Relaxed);
        n.cb_fence = Some(fence.into());
        // SAFETY: `cb` is inside a boxed node that lives until the callback is removed or ran.
        let r = unsafe {
            bindings::dma_fence_add_callback(fence.as_raw(), n.cb.get(), Some(Self::fence_cb))
        };
        if r != 0 {
            n.cb_fence = None;
            return false;
        }
        true
    }

    /// Removes the node's callback, if any; afterwards it neither runs nor is running.
    ///
    /// # Safety
    ///
    /// As for [`Inner::watch`].
    unsafe fn unwatch(node: *mut Node<B>) {
        // SAFETY: As above.
        let n = unsafe { &mut *node };
        if let Some(f) = n.cb_fence.take() {
            // SAFETY: `cb` was added to `f` (type invariant of `Node`).
            unsafe { bindings::dma_fence_remove_callback(f.as_raw(), n.cb.get()) };
        }
    }

    /// Whether the job's dependencies have all signalled; if not, the callback watches the
    /// first pending one.
    ///
    /// # Safety
    ///
    /// As for [`Inner::watch`].
    unsafe fn deps_ready(node: *mut Node<B>) -> bool {
        // SAFETY: As above.
        let n = unsafe { &mut *node };
        if n.cb_fence.is_some() {
            if !n.fired.load(Relaxed) {
                return false;
            }
            n.cb_fence = None;
        }
        while let Some(dep) = n.deps.last() {
            if !dep.is_signalled() {
                let dep = dep.clone();
                // SAFETY: The callback is on no fence now.
                if unsafe { Self::watch(node, &dep) } {
                    return false;
                }
            }
            if let Some(d) = n.deps.pop() {
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
    /// As for [`Inner::watch`].
    unsafe fn outcome(node: *mut Node<B>) -> Option<Result> {
        // SAFETY: As above.
        let n = unsafe { &mut *node };
        if let Some(r) = n.forced {
            return Some(r);
        }
        let hw = n.hw.as_ref()?;
        if n.cb_fence.is_some() && !n.fired.load(Relaxed) {
            return None;
        }
        Some(match hw.status() {
            Status::Failed(e) => Err(e),
            _ => Ok(()),
        })
    }

    /// The run work item: completes, times out and starts jobs until nothing can move.
    fn process(&self, section: &Signalling) {
        loop {
            let start = {
                let mut st = self.state.lock();
                if st.stopped {
                    return;
                }
                self.complete(&mut st, section);
                let head = st.head;
                if self.check_timeout.xchg(false, Relaxed) && !head.is_null() && head != st.next_run {
                    drop(st);
                    // SAFETY: The head is running; only this work item touches its fields.
                    unsafe { self.timeout(head) };
                    continue;
                }
                let node = st.next_run;
                if node.is_null() {
                    break;
                }
                // SAFETY: A live queued node.
                if st.used + unsafe { (*node).credits } > self.config.credits {
                    break;
                }
                node
            };
            // SAFETY: The first queued node; only this work item touches its fields.
            if !unsafe { Self::deps_ready(start) } {
                break;
            }
            {
                let mut st = self.state.lock();
                // SAFETY: As above; `next` is read under the lock.
                unsafe {
                    st.next_run = (*start).next;
                    st.used += (*start).credits;
                    (*start).phase = Phase::Running {
                        since: Instant::now(),
                    };
                }
            }
            // SAFETY: As above: started, only this work item touches it.
            unsafe { self.start(start) };
        }
        self.arm_timeout();
    }

    /// Runs a job that was just moved to the running ones.
    ///
    /// # Safety
    ///
    /// As for [`Inner::watch`].
    unsafe fn start(&self, node: *mut Node<B>) {
        // SAFETY: As above.
        let n = unsafe { &mut *node };
        if let Some(e) = n.dep_error {
            n.forced = Some(Err(e));
            return;
        }
        match self.backend.run(&mut n.job) {
            Ok(Some(hw)) => {
                n.hw = Some(hw.clone());
                // SAFETY: The callback is on no fence (dependencies are done).
                unsafe { Self::watch(node, &hw) };
            }
            Ok(None) => n.forced = Some(Ok(())),
            Err(e) => n.forced = Some(Err(e)),
        }
    }

    /// Signals the done fences of the oldest jobs that are complete, in order, and moves them
    /// to be freed.
    fn complete(&self, st: &mut State<B>, section: &Signalling) {
        let mut freed = false;
        while !st.head.is_null() && st.head != st.next_run {
            let node = st.head;
            // SAFETY: A running node; only this work item touches its fields.
            let Some(result) = (unsafe { Self::outcome(node) }) else {
                break;
            };
            // SAFETY: Unlinking a live node under the lock.
            unsafe {
                st.head = (*node).next;
                if st.head.is_null() {
                    st.tail = ptr::null_mut();
                }
                st.used -= (*node).credits;
                (*node).next = st.free;
            }
            st.free = node;
            self.timeline.signal_next(result, section);
            freed = true;
        }
        if freed {
            // SAFETY: As in `kick()`.
            let arc: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
            let _ = workqueue::system().enqueue::<Arc<Self>, 1>(arc);
        }
    }

    /// Handles the oldest running job after the timeout work item fired.
    ///
    /// # Safety
    ///
    /// `node` is the oldest running job; as for [`Inner::watch`].
    unsafe fn timeout(&self, node: *mut Node<B>) {
        let Some(limit) = self.config.timeout else {
            return;
        };
        // SAFETY: By the safety requirements.
        let n = unsafe { &mut *node };
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
                n.forced = Some(Err(ETIMEDOUT));
            }
        }
    }

    /// Arms the timeout work item for the oldest running job.
    fn arm_timeout(&self) {
        let Some(limit) = self.config.timeout else {
            return;
        };
        let since = {
            let st = self.state.lock();
            if st.head.is_null() || st.head == st.next_run {
                return;
            }
            // SAFETY: The head is a running node; `phase` is only written by this work item,
            // which is the caller.
            match unsafe { (*st.head).phase } {
                Phase::Running { since } => since,
                Phase::Queued => return,
            }
        };
        let left = limit - since.elapsed();
        // CAST: `timeout_jiffies` is never negative; one more jiffy rounds the wait up.
        let delay = crate::dma_fence::timeout_jiffies(Some(left)) as usize + 1;
        // SAFETY: As in `kick()`.
        let arc: Arc<Self> = unsafe { ArcBorrow::from_raw(self) }.into();
        let _ = workqueue::system().enqueue_delayed::<Arc<Self>, 2>(arc, delay);
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
            list = node.next;
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

impl<B: Backend> Drop for Queue<B> {
    fn drop(&mut self) {
        let inner = &*self.inner;
        inner.state.lock().stopped = true;
        // After these, the run work item returns at once whenever it runs.
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
        // Every callback off its fence: nothing of the queue runs from a fence any more.
        let mut n = nodes;
        while !n.is_null() {
            // SAFETY: The run work item is idle for good: the nodes are ours.
            unsafe {
                Inner::unwatch(n);
                n = (*n).next;
            }
        }
        // SAFETY: As above.
        unsafe { bindings::flush_work(Work::raw_get(&inner.run_work)) };
        // Running jobs: asked to stop, then given up to the timeout each.
        let mut n = nodes;
        while !n.is_null() {
            // SAFETY: Ours, as above.
            let node = unsafe { &mut *n };
            if matches!(node.phase, Phase::Running { .. }) && node.forced.is_none() {
                inner.backend.cancel(&mut node.job);
                if let Some(hw) = &node.hw {
                    if hw.wait(false, inner.config.timeout).is_err() {
                        let _ = inner.backend.timed_out(&mut node.job);
                        node.forced = Some(Err(ETIMEDOUT));
                    }
                }
            }
            n = node.next;
        }
        {
            let section = Signalling::begin();
            let mut n = nodes;
            while !n.is_null() {
                // SAFETY: Ours, as above.
                let node = unsafe { &mut *n };
                let result = match node.phase {
                    Phase::Queued => Err(ECANCELED),
                    // SAFETY: Ours, as above.
                    Phase::Running { .. } => unsafe { Inner::outcome(n) }.unwrap_or(Err(ECANCELED)),
                };
                inner.timeline.signal_next(result, &section);
                n = node.next;
            }
        }
        // The jobs are dropped here, in the dropping thread, with the completed ones.
        let mut n = nodes;
        while !n.is_null() {
            // SAFETY: Ours, as above; each is dropped once.
            let node = unsafe { KBox::from_raw(n) };
            n = node.next;
            drop(node);
        }
        // SAFETY: As above.
        unsafe { bindings::flush_work(Work::raw_get(&inner.free_work)) };
        inner.free_completed();
    }
}

#[cfg(CONFIG_RUST_DRM_KUNIT_TEST)]
mod tests;
