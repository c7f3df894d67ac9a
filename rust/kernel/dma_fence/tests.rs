// SPDX-License-Identifier: GPL-2.0 OR MIT

//! KUnit tests of the fence layer: owners, timelines, callbacks, waits and names.

use super::*;
use crate::{
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::Delta,
};

/// A callback that counts its runs and remembers the status it saw.
struct Count {
    runs: Atomic<u32>,
    last_error: Atomic<i32>,
}

impl OnSignal for Count {
    fn signalled(&self, fence: &SignalledFence) {
        self.runs.fetch_add(1, Relaxed);
        let err = fence.error().map_or(0, |e| e.to_errno());
        self.last_error.store(err, Relaxed);
    }
}

fn counter() -> Result<Pin<KBox<Callback<Count>>>> {
    KBox::pin_init(
        Callback::new(Count {
            runs: Atomic::new(0),
            last_error: Atomic::new(0),
        }),
        GFP_KERNEL,
    )
}

fn names() -> Result<ARef<FenceNames>> {
    FenceNames::new(c"rust-fence-kunit", c"kunit-timeline")
}

#[macros::kunit_tests(rust_dma_fence)]
mod kunit {
    use super::*;

    /// A unique fence signals once, through its owner; a callback sees it once.
    #[test]
    fn unique_signal() -> Result {
        let f = UniqueFence::new(&*names()?)?;
        let shared = f.fence();
        let mut cb = counter()?;
        assert!(cb.as_mut().register(&shared));
        assert_eq!(shared.status(), Status::Pending);
        assert_eq!(shared.wait(false, Some(Delta::from_millis(1))), Err(ETIME));
        f.signal(&Signalling::begin());
        assert_eq!(shared.status(), Status::Signalled);
        assert_eq!(cb.data().runs.load(Relaxed), 1);
        assert_eq!(cb.data().last_error.load(Relaxed), 0);
        assert_eq!(shared.wait(true, None), Ok(()));
        // Already signalled: the callback does not run again and says so.
        assert!(!cb.as_mut().register(&shared));
        assert_eq!(cb.data().runs.load(Relaxed), 1);
        Ok(())
    }

    /// An error reaches the fence and its callbacks; a dropped owner cancels.
    #[test]
    fn unique_errors() -> Result {
        let n = names()?;
        let a = UniqueFence::new(&n)?;
        let b = UniqueFence::new(&n)?;
        let (fa, fb) = (a.fence(), b.fence());
        assert_ne!(fa.context(), fb.context());
        let mut cb = counter()?;
        assert!(cb.as_mut().register(&fb));
        a.signal_error(EIO, &Signalling::begin());
        assert_eq!(fa.status(), Status::Failed(EIO));
        drop(b);
        assert_eq!(fb.status(), Status::Failed(ECANCELED));
        assert_eq!(cb.data().runs.load(Relaxed), 1);
        assert_eq!(cb.data().last_error.load(Relaxed), ECANCELED.to_errno());
        Ok(())
    }

    /// A removed callback does not run.
    #[test]
    fn callback_unregister() -> Result {
        let f = UniqueFence::new(&*names()?)?;
        let mut cb = counter()?;
        assert!(cb.as_mut().register(f.as_fence()));
        cb.as_mut().unregister();
        f.signal(&Signalling::begin());
        assert_eq!(cb.data().runs.load(Relaxed), 0);
        // Dropped while registered: removed from the fence, which signals later without it.
        let g = UniqueFence::new(&*names()?)?;
        let mut cb = counter()?;
        assert!(cb.as_mut().register(g.as_fence()));
        drop(cb);
        drop(g);
        Ok(())
    }

    /// A timeline signals in order, up to a sequence number or one at a time, and its drop
    /// cancels what is left.
    #[test]
    fn timeline_order() -> Result {
        let t = Timeline::new(&*names()?)?;
        let mut fences = KVec::new();
        for _ in 0..5 {
            fences.push(t.new_fence()?, GFP_KERNEL)?;
        }
        for (i, f) in fences.iter().enumerate() {
            assert_eq!(f.context(), t.context());
            assert_eq!(f.seqno(), i as u64 + 1);
        }
        let s = Signalling::begin();
        t.signal_to(2, &s);
        // Read into an array: nothing in a signalling section may allocate.
        let mut st = [Status::Pending; 5];
        for (i, f) in fences.iter().enumerate() {
            st[i] = f.status();
        }
        assert_eq!(
            st,
            [
                Status::Signalled,
                Status::Signalled,
                Status::Pending,
                Status::Pending,
                Status::Pending
            ]
        );
        assert_eq!(t.signal_next(Err(EIO), &s), Some(3));
        assert_eq!(fences[2].status(), Status::Failed(EIO));
        assert_eq!(fences[3].status(), Status::Pending);
        // Signalling up to an already signalled number does nothing.
        t.signal_to(1, &s);
        assert_eq!(fences[3].status(), Status::Pending);
        drop(s);
        assert!(!t.is_idle());
        drop(t);
        assert_eq!(fences[3].status(), Status::Failed(ECANCELED));
        assert_eq!(fences[4].status(), Status::Failed(ECANCELED));
        Ok(())
    }

    /// An empty timeline has nothing to signal.
    #[test]
    fn timeline_empty() -> Result {
        let t = Timeline::new(&*names()?)?;
        assert!(t.is_idle());
        assert_eq!(t.signal_next(Ok(()), &Signalling::begin()), None);
        Ok(())
    }

    /// The names of an unsignalled fence are the ones given, read as the C core reads them.
    #[test]
    fn names_reported() -> Result {
        let n = names()?;
        let f = UniqueFence::new(&n)?;
        let rcu = crate::sync::rcu::read_lock();
        // SAFETY: The fence is initialised with a reference held; read under RCU as required.
        let (d, t) = unsafe {
            (
                CStr::from_char_ptr(bindings::dma_fence_driver_name(f.as_fence().as_raw())),
                CStr::from_char_ptr(bindings::dma_fence_timeline_name(f.as_fence().as_raw())),
            )
        };
        assert_eq!(d.to_bytes(), b"rust-fence-kunit");
        assert_eq!(t.to_bytes(), b"kunit-timeline");
        drop(rcu);
        drop(n);
        // The fence keeps the names alive while unsignalled.
        assert_eq!(f.as_fence().status(), Status::Pending);
        Ok(())
    }

    /// The stub fence is signalled.
    #[test]
    fn stub() {
        assert_eq!(Fence::signalled().status(), Status::Signalled);
    }
}

/// The canary of the signalling annotation, in a suite of its own: lockdep must report the
/// allocation below. Lockdep switches itself off after its first report, so the suite runs in
/// a boot of its own (`fence-canary` in `scripts/drm-rust/boots.txt`), which fails unless the
/// report is there; its name keeps it out of the `rust*` suites.
#[macros::kunit_tests(canary_dma_fence_signalling)]
mod canary {
    use super::*;

    /// A `GFP_KERNEL` allocation inside a signalling section: reclaim may wait for fences, so
    /// lockdep reports a circular dependency between `fs_reclaim` and `dma_fence_map`.
    #[test]
    fn allocation_in_section() -> Result {
        let section = Signalling::begin();
        let v = KVec::<u8>::with_capacity(64, GFP_KERNEL)?;
        drop(v);
        drop(section);
        Ok(())
    }
}
