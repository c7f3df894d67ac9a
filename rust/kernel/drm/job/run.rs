// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The queue at work: the run work item (dependencies, starts, completions in order,
//! timeouts), the fence callbacks that wake it, the free work item, and the teardown.

use super::*;

impl<B: Backend> Inner<B> {
    /// A new reference to the queue.
    fn arc(&self) -> Arc<Self> {
        // SAFETY: `self` is inside an `Arc` (the only way an `Inner` is made).
        unsafe { ArcBorrow::from_raw(self) }.into()
    }

    /// Queues the run work item (a no-op when it is already queued), on the queue's
    /// workqueue.
    pub(super) fn kick(&self) {
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
