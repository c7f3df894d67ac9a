// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KUnit tests of the job queue: order, dependencies, errors, credits, timeouts, teardown.

use super::*;
use crate::{
    dma_fence::UniqueFence,
    drm::gem::resv::Usage,
    new_spinlock,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
    },
};

/// Jobs alive: made by the tests, gone when the queue drops them.
static LIVE: Atomic<i64> = Atomic::new(0);

/// How long a test waits for a fence that must signal.
const WAIT: Option<Delta> = Some(Delta::from_millis(2000));

struct TestJob {
    id: u32,
    /// The "hardware" fence, handed to the hardware by `run`: `None` completes in `run`.
    hw: Option<UniqueFence>,
    fail: Option<Error>,
}

impl Drop for TestJob {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Relaxed);
    }
}

/// A fake hardware: records the order jobs ran in and holds their hardware fences.
#[pin_data]
struct Hw {
    #[pin]
    ran: SpinLock<([u32; 16], usize)>,
    #[pin]
    busy: SpinLock<[Option<UniqueFence>; 8]>,
    timeouts: Atomic<u32>,
    cancels: Atomic<u32>,
    /// What `timed_out` answers the first time.
    extend_once: Atomic<bool>,
}

impl Hw {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ran <- new_spinlock!(([0; 16], 0)),
            busy <- new_spinlock!([const { None }; 8]),
            timeouts: Atomic::new(0),
            cancels: Atomic::new(0),
            extend_once: Atomic::new(false),
        }? Error)
    }

    /// The ids of the jobs that ran, in order, as a bit-packed number (4 bits each).
    fn order(&self) -> u64 {
        let g = self.ran.lock();
        g.0[..g.1]
            .iter()
            .fold(0, |acc, id| acc << 4 | u64::from(*id))
    }

    /// Completes job `id` on the hardware with `err`, if it is running.
    fn finish(&self, id: u32, err: Option<Error>) -> bool {
        let f = self.busy.lock()[id as usize % 8].take();
        let Some(f) = f else {
            return false;
        };
        let s = Signalling::begin();
        match err {
            Some(e) => f.signal_error(e, &s),
            None => f.signal(&s),
        }
        true
    }
}

impl Backend for Hw {
    type Job = TestJob;

    fn run(&self, job: &mut TestJob) -> Result<Option<ARef<Fence>>> {
        {
            let mut g = self.ran.lock();
            let i = g.1;
            if i < g.0.len() {
                g.0[i] = job.id;
                g.1 += 1;
            }
        }
        if let Some(e) = job.fail {
            return Err(e);
        }
        Ok(job.hw.take().map(|f| {
            let fence = f.fence();
            self.busy.lock()[job.id as usize % 8] = Some(f);
            fence
        }))
    }

    fn timed_out(&self, job: &mut TestJob) -> TimeoutAction {
        self.timeouts.fetch_add(1, Relaxed);
        if self.extend_once.xchg(false, Relaxed) {
            return TimeoutAction::Extend;
        }
        // Stop it: the hardware fence is dropped, which cancels it.
        drop(self.busy.lock()[job.id as usize % 8].take());
        TimeoutAction::Stopped
    }

    fn cancel(&self, job: &mut TestJob) {
        self.cancels.fetch_add(1, Relaxed);
        drop(self.busy.lock()[job.id as usize % 8].take());
    }
}

fn queue(credits: u32, timeout: Option<Delta>) -> Result<Queue<Hw>> {
    let names = FenceNames::new(c"rust-job-kunit", c"kunit-queue")?;
    let workqueue = None;
    Queue::new(
        Hw::new(),
        &names,
        Config {
            credits,
            timeout,
            workqueue,
        },
    )
}

fn job(id: u32, hw: bool, fail: Option<Error>) -> Result<TestJob> {
    let names = FenceNames::new(c"rust-job-kunit", c"kunit-hw")?;
    let hw = if hw {
        Some(UniqueFence::new(&names)?)
    } else {
        None
    };
    LIVE.fetch_add(1, Relaxed);
    Ok(TestJob { id, hw, fail })
}

fn push(q: &Queue<Hw>, j: TestJob, credits: u32, deps: &[&ARef<Fence>]) -> Result<ARef<Fence>> {
    let mut p = q.prepare(j, credits)?;
    for d in deps {
        p.add_dependency((*d).clone())?;
    }
    Ok(p.push())
}

#[macros::kunit_tests(rust_drm_job)]
mod kunit {
    use super::*;

    /// Jobs run in push order once their dependencies have signalled; a job without
    /// dependencies waits for the jobs before it. An already signalled dependency never blocks.
    #[test]
    fn order_and_dependencies() -> Result {
        let live = LIVE.load(Relaxed);
        let q = queue(8, None)?;
        let names = FenceNames::new(c"rust-job-kunit", c"external")?;
        let ext = UniqueFence::new(&names)?;
        let ext_fence = ext.fence();
        let signalled = Fence::signalled();
        let a = push(&q, job(1, false, None)?, 1, &[&ext_fence, &signalled])?;
        let b = push(&q, job(2, false, None)?, 1, &[])?;
        let c = push(&q, job(3, false, None)?, 1, &[&signalled])?;
        assert!(b.is_later(&a) && c.is_later(&b));
        // Nothing can run before the external fence.
        assert_eq!(c.wait(false, Some(Delta::from_millis(50))), Err(ETIME));
        assert_eq!(q.backend().order(), 0);
        ext.signal(&Signalling::begin());
        c.wait(false, WAIT)?;
        assert_eq!(q.backend().order(), 0x123);
        for f in [&a, &b, &c] {
            assert_eq!(f.status(), Status::Signalled);
        }
        // A job with only an already signalled dependency runs at once.
        let d = push(&q, job(4, false, None)?, 1, &[&signalled])?;
        d.wait(false, WAIT)?;
        drop(q);
        assert_eq!(LIVE.load(Relaxed), live);
        Ok(())
    }

    /// A failed dependency fails the job without running it; a failed `run` and a failed
    /// hardware fence fail their jobs; the jobs after them run.
    #[test]
    fn errors() -> Result {
        let q = queue(8, None)?;
        let names = FenceNames::new(c"rust-job-kunit", c"external")?;
        let dep = UniqueFence::new(&names)?;
        let dep_fence = dep.fence();
        dep.signal_error(EIO, &Signalling::begin());
        let a = push(&q, job(1, false, None)?, 1, &[&dep_fence])?;
        let b = push(&q, job(2, false, Some(EINVAL))?, 1, &[])?;
        let c = push(&q, job(3, true, None)?, 1, &[])?;
        let d = push(&q, job(4, false, None)?, 1, &[])?;
        b.wait(false, WAIT)?;
        assert_eq!(a.status(), Status::Failed(EIO));
        assert_eq!(b.status(), Status::Failed(EINVAL));
        // Job 3 runs on the hardware; 4 completes in `run` but signals after 3 only.
        while !q.backend().finish(3, Some(ENOSPC)) {
            crate::task::cond_resched();
            crate::time::delay::fsleep(Delta::from_millis(1));
        }
        d.wait(false, WAIT)?;
        assert_eq!(c.status(), Status::Failed(ENOSPC));
        assert_eq!(d.status(), Status::Signalled);
        // Job 1 never ran.
        assert_eq!(q.backend().order(), 0x234);
        Ok(())
    }

    /// The fences of a buffer hold a job back but do not fail it; `pending` counts the jobs
    /// whose done fence has not signalled.
    #[test]
    fn implicit_dependencies_order_only() -> Result {
        use crate::{
            drm::{
                gem::resv::Exec,
                tests::{
                    bo,
                    GemDevice, //
                },
            },
            page::PAGE_SIZE,
        };
        let t = GemDevice::new(c"rust-job-kunit-resv", false)?;
        let obj = bo(&t, PAGE_SIZE, 0)?;
        let names = FenceNames::new(c"rust-job-kunit", c"other-driver")?;
        let writer = UniqueFence::new(&names)?;
        Exec::scoped(
            true,
            |l| l.prepare(&obj, 1),
            |exec, ()| exec.add_fence(&obj, writer.as_fence(), Usage::Write),
        )?;
        let q = queue(8, None)?;
        let mut p = q.prepare(job(1, false, None)?, 1)?;
        p.add_resv_dependencies(obj.resv(), Usage::to_wait_for(true))?;
        let done = p.push();
        assert_eq!(done.wait(false, Some(Delta::from_millis(50))), Err(ETIME));
        assert_eq!((q.backend().order(), q.pending()), (0, 1));
        writer.signal_error(EIO, &Signalling::begin());
        done.wait(false, WAIT)?;
        assert_eq!(done.status(), Status::Signalled);
        assert_eq!((q.backend().order(), q.pending()), (1, 0));
        Ok(())
    }

    /// The running jobs' credits never exceed the queue's; a job beyond them is refused.
    #[test]
    fn credits() -> Result {
        let q = queue(2, None)?;
        assert_eq!(q.prepare(job(9, false, None)?, 3).err(), Some(EINVAL));
        assert_eq!(q.prepare(job(9, false, None)?, 0).err(), Some(EINVAL));
        let a = push(&q, job(1, true, None)?, 1, &[])?;
        let b = push(&q, job(2, true, None)?, 1, &[])?;
        let c = push(&q, job(3, false, None)?, 2, &[])?;
        // 1 and 2 take both credits: 3 waits.
        assert_eq!(c.wait(false, Some(Delta::from_millis(50))), Err(ETIME));
        assert_eq!(q.backend().order(), 0x12);
        assert!(q.backend().finish(1, None));
        assert_eq!(c.wait(false, Some(Delta::from_millis(50))), Err(ETIME));
        assert!(q.backend().finish(2, None));
        c.wait(false, WAIT)?;
        assert_eq!(q.backend().order(), 0x123);
        assert_eq!(
            (a.status(), b.status()),
            (Status::Signalled, Status::Signalled)
        );
        Ok(())
    }

    /// A hung job times out with `ETIME` (after one extension) and the next job runs.
    #[test]
    fn timeout() -> Result {
        let q = queue(4, Some(Delta::from_millis(30)))?;
        q.backend().extend_once.store(true, Relaxed);
        let a = push(&q, job(1, true, None)?, 1, &[])?;
        let b = push(&q, job(2, false, None)?, 1, &[])?;
        b.wait(false, WAIT)?;
        assert_eq!(a.status(), Status::Failed(ETIME));
        assert_eq!(b.status(), Status::Signalled);
        assert_eq!(q.backend().timeouts.load(Relaxed), 2);
        Ok(())
    }

    /// Dropping the queue cancels the queued jobs, stops the running ones, signals every done
    /// fence with an error and drops every job.
    #[test]
    fn teardown() -> Result {
        let live = LIVE.load(Relaxed);
        let q = queue(4, Some(Delta::from_millis(500)))?;
        let names = FenceNames::new(c"rust-job-kunit", c"external")?;
        let never = UniqueFence::new(&names)?;
        let never_fence = never.fence();
        let a = push(&q, job(1, true, None)?, 1, &[])?;
        let b = push(&q, job(2, false, None)?, 1, &[&never_fence])?;
        let c = push(&q, job(3, false, None)?, 1, &[])?;
        // Job 1 is running on the hardware.
        while q.backend().order() == 0 {
            crate::time::delay::fsleep(Delta::from_millis(1));
        }
        drop(q);
        assert_eq!(a.status(), Status::Failed(ECANCELED));
        assert_eq!(b.status(), Status::Failed(ECANCELED));
        assert_eq!(c.status(), Status::Failed(ECANCELED));
        assert_eq!(LIVE.load(Relaxed), live);
        // The external fence lost its waiter and can still be signalled.
        never.signal(&Signalling::begin());
        Ok(())
    }
}
