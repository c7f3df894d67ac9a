// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Benchmarks of the layer against C doing the same work (KUnit suite `bench_rust_drm`, run by
//! `make bench`; built with `CONFIG_RUST_DRM_BENCH`).
//!
//! Not a test: it asserts nothing about speed, it prints numbers. Each benchmark runs the Rust
//! path and its C peer (`drivers/gpu/drm/tests/drm_rust_bench_peer.c`, declared in
//! `include/drm/drm_rust_bench.h`, which bindgen reads) on the same device and file where they
//! need one, interleaved in rounds, and prints ns/op (jobs/s for the job queue) of each and
//! their ratio:
//!
//! * `ioctl_getparam`: the test driver's `GETPARAM` through `drm_ioctl_kernel()`, the C core's
//!   entry point after the argument copy, against a C handler doing the same work;
//! * `gem_create_close`: a 64 KiB shmem object created, given a handle, and freed by deleting
//!   the handle: [`shmem::Object`] against `drm_gem_shmem_create()`;
//! * `prime_round_trip`: an object exported as a dma-buf and imported into a second device,
//!   both released: [`shmem::Object::export`]/[`shmem::Object::import`] against
//!   `drm_gem_prime_handle_to_dmabuf()`/`drm_gem_shmem_prime_import_no_map()`. The dma-buf's
//!   release is delayed work in a kernel thread; both paths flush it each time, so that the
//!   next export makes a new dma-buf;
//! * `gpuvm_map_unmap_<n>`: a one-page map and its unmap, in a hole of a VM that holds `n`
//!   one-page mappings (1,000 and 100,000): [`gpuvm::LockedVm`] against the same sequence driven
//!   through the C `drm_gpuvm` API (locking with `drm_exec`, split/merge steps). The line also
//!   prints the growth from 1,000 to 100,000 mappings.
//! * `kms_test_only`: a `TEST_ONLY` atomic commit of one CRTC and three planes, built in the
//!   kernel and checked: [`Device::atomic_commit`](crate::drm::Device::atomic_commit) on the
//!   KMS test driver ([`kms`](super::kms)) against the same commit built with the C atomic API
//!   on a vkms device of the same shape, which the C peer creates (three planes, one CRTC, no
//!   writeback). Both pipes are as after boot: CRTC off, no framebuffers, so the check runs
//!   every hook but finds nothing visible. vkms's hooks do more than the test driver's (two
//!   allocations per plane state, one per CRTC state and one in its CRTC check, where the test
//!   driver has one per state), so `kms_test_only_c_build` adds the C commit on the test
//!   driver's own device: the same hooks, and only the building of the commit differs.
//! * `fence_signal_callback`: a fence made, given one callback, signalled and dropped:
//!   [`UniqueFence`] (names made once, outside the loop), a [`Callback`] pinned on the stack and
//!   [`UniqueFence::signal`] against `kmalloc()`, `dma_fence_init64()` (inline lock, a context
//!   of its own from `dma_fence_context_alloc()`), `dma_fence_add_callback()`,
//!   `dma_fence_signal()` and `dma_fence_put()`. The [`Signalling`] section is taken for each
//!   fence, around its signal only: the loop allocates, and an allocation inside a signalling
//!   section is what lockdep reports (the `fence-canary` boot checks that it does), so one
//!   section cannot span the batch. Both paths free a fence with `kfree_rcu()`, after a grace
//!   period: each batch starts once the frees of the batches before are done
//!   (`kvfree_rcu_barrier()`, untimed), so that they do not land in it.
//! * `job_queue_noop`: no-op jobs (run returns at once with no hardware fence) through a
//!   [`job::Queue`] against the same jobs through the C GPU scheduler (`drm_sched`, one entity,
//!   `run_job` returning NULL, `free_job` freeing the job): both with 64 credits and 1 credit a
//!   job, a batch pushing the same number of jobs and waiting for the last one's done
//!   (finished) fence. Printed in jobs per second; the ratio is Rust's rate over C's, so above 1
//!   is Rust ahead. On UML's one CPU the rate of a batch depends on when the queue's work item
//!   gets the CPU: while the batch is being pushed (at the submitter's allocations, then about
//!   one work item run per job) or only once the submitter waits (one run for the batch), so
//!   the rounds of a boot can spread by more than 2x. `job_queue_noop_one` pushes one job and
//!   waits for its fence, the same number of times, on both: one switch to the work item and
//!   back per job, whatever the scheduler decides.
//!
//! The suite's name matches neither `rust*` nor `drm*`, so `make test` does not run it.

use crate::{
    bindings,
    dma_fence::{
        Callback,
        Fence,
        FenceNames,
        OnSignal,
        SignalledFence,
        Signalling,
        Status,
        UniqueFence, //
    },
    drm::{
        gem::{
            self,
            shmem,
            BaseObject, //
        },
        gpuvm,
        job,
        kms::CommitMode,
        tests::{
            kms::KmsTestDevice,
            GemDevice,
            Minor,
            MockFile,
            TestBo,
            TestDevice,
            TestDriver, //
        },
        Driver, //
    },
    error::to_result,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
    },
    time::{
        Instant,
        Monotonic, //
    },
    uapi,
};
use pin_init::stack_pin_init;

/// Calls per timed batch.
const CALLS: u64 = 100_000;
/// Batches per handler, alternating between the two.
const ROUNDS: usize = 11;

/// Times `CALLS` calls of `func` through `drm_ioctl_kernel()`; returns ns per call.
fn time_batch(file: &MockFile<TestDriver>, func: bindings::drm_ioctl_t, flags: u32) -> Result<u64> {
    let mut arg = uapi::drm_nova_getparam { param: 1, value: 0 };
    let start = Instant::<Monotonic>::now();
    for _ in 0..CALLS {
        // SAFETY: `file` is an open file of a test driver device; `arg` is a live, exclusive
        // `drm_nova_getparam`, the argument of both handlers.
        let ret = unsafe {
            bindings::drm_ioctl_kernel(
                file.as_raw(),
                func,
                core::ptr::from_mut(&mut arg).cast(),
                flags,
            )
        };
        if ret != 0 {
            return Err(EINVAL);
        }
    }
    let ns = u64::try_from(start.elapsed().as_nanos()).map_err(|_| ERANGE)?;
    Ok(ns / CALLS)
}

/// Times `n` calls of `f`, and the release of the files they dropped; returns ns per call.
///
/// Files dropped in a kernel thread (the shmem file of a GEM object, a dma-buf) are released by
/// the delayed fput work: flushing it in the batch charges each batch with its own releases,
/// instead of the batch that happens to run when the work does.
fn time_n(n: u64, mut f: impl FnMut() -> Result) -> Result<u64> {
    let start = Instant::<Monotonic>::now();
    for _ in 0..n {
        f()?;
    }
    // SAFETY: No lock is held.
    unsafe { bindings::flush_delayed_fput() };
    let ns = u64::try_from(start.elapsed().as_nanos()).map_err(|_| ERANGE)?;
    Ok(ns / n)
}

/// Times `f`, which does `n` operations; returns ns per operation.
fn time_ops(n: u64, f: impl FnOnce() -> Result) -> Result<u64> {
    let start = Instant::<Monotonic>::now();
    f()?;
    let ns = u64::try_from(start.elapsed().as_nanos()).map_err(|_| ERANGE)?;
    Ok(ns / n)
}

/// Runs `rust` and `c` (each timing a batch, in ns/op) once to warm up, then in `ROUNDS`
/// interleaved rounds; returns the ns/op of each round of each.
fn rounds(
    mut rust: impl FnMut() -> Result<u64>,
    mut c: impl FnMut() -> Result<u64>,
) -> Result<([u64; ROUNDS], [u64; ROUNDS])> {
    rust()?;
    c()?;
    let mut r = [0u64; ROUNDS];
    let mut cc = [0u64; ROUNDS];
    for i in 0..ROUNDS {
        r[i] = rust()?;
        cc[i] = c()?;
    }
    Ok((r, cc))
}

/// Runs `rust` and `c` (each timing a batch, in ns/op) in `ROUNDS` interleaved rounds after a
/// warm-up, prints the medians, ranges, the ratio of the medians and that of the minima under
/// `name`, and returns the medians.
fn compare(
    name: &str,
    what: &str,
    rust: impl FnMut() -> Result<u64>,
    c: impl FnMut() -> Result<u64>,
) -> Result<(u64, u64)> {
    let (mut r, mut cc) = rounds(rust, c)?;
    let (min_r, max_r) = (*r.iter().min().unwrap_or(&0), *r.iter().max().unwrap_or(&0));
    let (min_c, max_c) = (
        *cc.iter().min().unwrap_or(&0),
        *cc.iter().max().unwrap_or(&0),
    );
    let (mr, mc) = (median(&mut r), median(&mut cc));
    // Ratios in thousandths, to print without floating point: of the medians, and of the
    // minima (the least disturbed round of each, the steadier figure on a shared machine).
    let ratio = mr * 1000 / mc.max(1);
    let min_ratio = min_r * 1000 / min_c.max(1);
    pr_info!(
        "bench_rust_drm: {}: rust {} ns/op ({}..{}), c {} ns/op ({}..{}), ratio {}.{:03}, of minima {}.{:03} ({} rounds of {})\n",
        name, mr, min_r, max_r, mc, min_c, max_c, ratio / 1000, ratio % 1000,
        min_ratio / 1000, min_ratio % 1000, ROUNDS, what
    );
    Ok((mr, mc))
}

/// As [`compare`], for operations counted per second: prints the rates of the median rounds,
/// the ranges, and the ratios Rust/C of the median rates and of the best rounds' (the minima in
/// ns/op); above 1 is Rust ahead.
fn compare_rate(
    name: &str,
    unit: &str,
    what: &str,
    rust: impl FnMut() -> Result<u64>,
    c: impl FnMut() -> Result<u64>,
) -> Result {
    let (mut r, mut cc) = rounds(rust, c)?;
    let rate = |ns: u64| 1_000_000_000 / ns.max(1);
    let (best_r, worst_r) = (*r.iter().min().unwrap_or(&0), *r.iter().max().unwrap_or(&0));
    let (best_c, worst_c) = (
        *cc.iter().min().unwrap_or(&0),
        *cc.iter().max().unwrap_or(&0),
    );
    let (mr, mc) = (median(&mut r), median(&mut cc));
    // Rust's rate over C's is C's time over Rust's, in thousandths.
    let ratio = mc * 1000 / mr.max(1);
    let best_ratio = best_c * 1000 / best_r.max(1);
    pr_info!(
        "bench_rust_drm: {}: rust {} {} ({}..{}), c {} {} ({}..{}), ratio {}.{:03}, of best rounds {}.{:03} ({} rounds of {})\n",
        name, rate(mr), unit, rate(worst_r), rate(best_r), rate(mc), unit, rate(worst_c),
        rate(best_c), ratio / 1000, ratio % 1000, best_ratio / 1000, best_ratio % 1000, ROUNDS,
        what
    );
    Ok(())
}

/// The median of `v`.
fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[macros::kunit_tests(bench_rust_drm)]
mod suite {
    use super::*;

    #[test]
    fn ioctl_dispatch() -> Result {
        let t = TestDevice::new(1)?;
        let file = MockFile::open(&t.dev, Minor::Render)?;
        let desc = &TestDriver::IOCTLS[0];
        let peer: bindings::drm_ioctl_t = Some(bindings::drm_rust_bench_peer_getparam);

        compare(
            "ioctl_getparam",
            "100000 calls",
            || time_batch(&file, desc.func(), desc.flags()),
            || time_batch(&file, peer, desc.flags()),
        )?;
        Ok(())
    }

    /// The size of the benchmark's objects.
    const BO_SIZE: usize = 64 * 1024;
    /// Objects per timed batch.
    const BOS: u64 = 2_000;

    #[test]
    fn gem_create_close() -> Result {
        let t = GemDevice::new(c"rust-drm-bench-gem", false)?;
        let file = MockFile::open(&t.dev, Minor::Primary)?;
        let raw_file = file.file().client().as_raw();
        let rust = || {
            time_n(BOS, || {
                let bo = shmem::Object::<TestBo>::new(
                    &t.dev,
                    BO_SIZE,
                    gem::Caching::Cached,
                    TestBo::new(0),
                )?;
                let handle = bo.create_handle(file.file())?;
                drop(bo);
                gem::delete_handle(file.file(), handle)
            })
        };
        let c = || {
            time_n(BOS, || {
                // SAFETY: The device and file are live; the C peer makes and frees a plain C
                // shmem object, which no Rust code looks up.
                to_result(unsafe {
                    bindings::drm_rust_bench_peer_gem_cycle(t.dev.as_raw(), raw_file, BO_SIZE)
                })
            })
        };
        compare("gem_create_close", "2000 objects", rust, c)?;
        Ok(())
    }

    #[test]
    fn prime_round_trip() -> Result {
        let a = GemDevice::new(c"rust-drm-bench-prime-a", false)?;
        let b = GemDevice::new(c"rust-drm-bench-prime-b", false)?;
        let file = MockFile::open(&a.dev, Minor::Primary)?;
        let raw_file = file.file().client().as_raw();
        let bo =
            shmem::Object::<TestBo>::new(&a.dev, BO_SIZE, gem::Caching::Cached, TestBo::new(0))?;
        let handle = bo.create_handle(file.file())?;
        let flush = || {
            // SAFETY: No lock is held.
            unsafe { bindings::flush_delayed_fput() }
        };
        let rust = || {
            time_n(BOS, || {
                let buf = shmem::Object::<TestBo>::export(file.file(), handle)?;
                let imported = shmem::Object::<TestBo>::import(&b.dev, &buf)?;
                drop((imported, buf));
                flush();
                Ok(())
            })
        };
        let c = || {
            time_n(BOS, || {
                // SAFETY: The devices and the file are live and `handle` is a handle of the
                // file; the import is a plain C object of `b`, which no Rust code looks up.
                to_result(unsafe {
                    bindings::drm_rust_bench_peer_prime_round_trip(
                        a.dev.as_raw(),
                        raw_file,
                        handle,
                        b.dev.as_raw(),
                    )
                })?;
                flush();
                Ok(())
            })
        };
        compare("prime_round_trip", "2000 round trips", rust, c)?;
        Ok(())
    }

    /// The VM state of the GPUVM benchmark: mappings without data, like the C peer's.
    struct BenchVm;

    impl gpuvm::DriverGpuVm for BenchVm {
        type Object = TestBo;
        type VaData = ();
        type VmBoData = ();
        type StepContext<'ctx> = ();

        fn step_map<'op>(
            &mut self,
            op: gpuvm::OpMap<'op, Self>,
            _ctx: &mut (),
        ) -> Result<gpuvm::Mapped<'op>> {
            op.insert(())
        }

        fn step_unmap<'op>(
            &mut self,
            op: gpuvm::OpUnmap<'op, Self>,
            _ctx: &mut (),
        ) -> Result<gpuvm::Unmapped<'op>> {
            Ok(op.remove())
        }

        fn step_remap<'op>(
            &mut self,
            op: gpuvm::OpRemap<'op, Self>,
            _ctx: &mut (),
        ) -> Result<gpuvm::Remapped<'op>> {
            op.remap(|_data, _part| ())
        }
    }

    /// Pairs per timed batch.
    const PAIRS: u64 = 2_000;

    #[test]
    fn gpuvm_map_unmap() -> Result {
        const PAGE: u64 = crate::page::PAGE_SIZE as u64;
        const START: u64 = 1 << 20;
        const RANGE: u64 = 1 << 40;
        let t = GemDevice::new(c"rust-drm-bench-gpuvm", false)?;
        let bo = shmem::Object::<TestBo>::new(
            &t.dev,
            PAGE as usize,
            gem::Caching::Cached,
            TestBo::new(0),
        )?;
        let mut per_n = [(0u64, 0u64); 2];
        for (slot, n) in [1_000u64, 100_000].into_iter().enumerate() {
            let vm = gpuvm::UniqueVm::new(&t.dev, c"bench", START, RANGE, BenchVm)?;
            // SAFETY: The device is live.
            let cvm =
                unsafe { bindings::drm_rust_bench_peer_vm_create(t.dev.as_raw(), START, RANGE) };
            if cvm.is_null() {
                return Err(ENOMEM);
            }
            // One-page mappings every other page; the holes between them are what the timed
            // pairs map and unmap.
            let mut populated = Ok(());
            for i in 0..n {
                let addr = START + 2 * i * PAGE;
                populated = populated.and_then(|()| vm.lock().map(&mut (), &bo, 0, addr, PAGE));
                populated = populated.and_then(|()| {
                    // SAFETY: `cvm` is live and `bo` outlives it.
                    to_result(unsafe {
                        bindings::drm_rust_bench_peer_vm_map(cvm, bo.as_raw(), 0, addr, PAGE)
                    })
                });
            }
            let hole = |k: u64| START + (2 * ((k * 7919) % n) + 1) * PAGE;
            let mut k = 0;
            let rust = || {
                time_n(PAIRS, || {
                    k += 1;
                    let mut l = vm.lock();
                    l.map(&mut (), &bo, 0, hole(k), PAGE)?;
                    l.unmap(&mut (), hole(k), PAGE)
                })
            };
            let mut kc = 0;
            let c = || {
                time_n(PAIRS, || {
                    kc += 1;
                    // SAFETY: `cvm` is live and `bo` outlives it.
                    to_result(unsafe {
                        bindings::drm_rust_bench_peer_vm_map(cvm, bo.as_raw(), 0, hole(kc), PAGE)
                    })?;
                    // SAFETY: As above.
                    to_result(unsafe {
                        bindings::drm_rust_bench_peer_vm_unmap(cvm, hole(kc), PAGE)
                    })
                })
            };
            let result = populated.and_then(|()| {
                let name = if n == 1_000 {
                    "gpuvm_map_unmap_1k"
                } else {
                    "gpuvm_map_unmap_100k"
                };
                compare(name, "2000 map+unmap pairs", rust, c)
            });
            drop(vm);
            // SAFETY: `cvm` is live; nothing uses it afterwards.
            unsafe { bindings::drm_rust_bench_peer_vm_destroy(cvm) };
            per_n[slot] = result?;
        }
        let growth = |a: u64, b: u64| b * 1000 / a.max(1);
        let (gr, gc) = (
            growth(per_n[0].0, per_n[1].0),
            growth(per_n[0].1, per_n[1].1),
        );
        pr_info!(
            "bench_rust_drm: gpuvm_growth: rust {}.{:03}x, c {}.{:03}x from 1,000 to 100,000 mappings\n",
            gr / 1000, gr % 1000, gc / 1000, gc % 1000
        );
        Ok(())
    }

    /// Commits per timed batch.
    const COMMITS: u64 = 5_000;

    #[test]
    fn kms_test_only() -> Result {
        let t = KmsTestDevice::new(c"rust-drm-bench-kms")?;
        let d = t.display()?;
        // SAFETY: No lock is held; the device is destroyed below.
        let peer = unsafe { bindings::drm_rust_bench_peer_kms_create() };
        if peer.is_null() {
            pr_info!("bench_rust_drm: kms_test_only: skipped, no vkms device\n");
            return Ok(());
        }
        let mut rust = || {
            time_n(COMMITS, || {
                t.dev.atomic_commit(CommitMode::TestOnly, |c| {
                    c.crtc_mut(&d.crtc)?;
                    c.plane_mut(&d.primary)?;
                    c.plane_mut(&d.overlay)?;
                    c.plane_mut(&d.cursor)?;
                    Ok(())
                })
            })
        };
        let c = || {
            time_n(COMMITS, || {
                // SAFETY: `peer` is live until destroyed below.
                to_result(unsafe { bindings::drm_rust_bench_peer_kms_test_only(peer) })
            })
        };
        let result = compare("kms_test_only", "5000 commits", &mut rust, c);
        // SAFETY: `peer` is live and not used afterwards.
        unsafe { bindings::drm_rust_bench_peer_kms_destroy(peer) };
        result?;

        // SAFETY: The device is live; the handle is destroyed below, before the device.
        let same = unsafe { bindings::drm_rust_bench_peer_kms_of(t.dev.as_raw()) };
        if same.is_null() {
            return Err(EINVAL);
        }
        let c = || {
            time_n(COMMITS, || {
                // SAFETY: `same` is live until destroyed below, and so is its device.
                to_result(unsafe { bindings::drm_rust_bench_peer_kms_test_only(same) })
            })
        };
        let result = compare("kms_test_only_c_build", "5000 commits", &mut rust, c);
        // SAFETY: `same` is live and not used afterwards; it leaves the device alone.
        unsafe { bindings::drm_rust_bench_peer_kms_destroy(same) };
        result.map(|_| ())
    }

    /// Fences per timed batch.
    const FENCES: u64 = 20_000;

    /// A fence callback that counts its runs, as the C peer's does.
    struct Runs(Atomic<u32>);

    impl OnSignal for Runs {
        fn signalled(&self, _fence: &SignalledFence) {
            self.0.fetch_add(1, Relaxed);
        }
    }

    /// Times `FENCES` calls of `f`, after the fences freed before are gone.
    ///
    /// A fence is freed an RCU grace period after its last reference (`kfree_rcu()`, on both
    /// paths): waiting for the frees of the batch before, untimed, keeps them out of this one.
    fn time_fences(f: impl FnMut() -> Result) -> Result<u64> {
        // SAFETY: No lock is held.
        unsafe { bindings::kvfree_rcu_barrier() };
        time_n(FENCES, f)
    }

    #[test]
    fn fence_signal_callback() -> Result {
        let names = FenceNames::new(c"drm-rust-bench", c"drm-rust-bench")?;
        let rust = || {
            time_fences(|| {
                let fence = UniqueFence::new(&names)?;
                stack_pin_init!(let cb = Callback::new(Runs(Atomic::new(0))));
                let added = cb.as_mut().register(fence.as_fence());
                fence.signal(&Signalling::begin());
                // Dropping `cb` drops the last reference to the fence.
                if !added || cb.data().0.load(Relaxed) != 1 {
                    return Err(EINVAL);
                }
                Ok(())
            })
        };
        let c = || {
            time_fences(|| {
                // SAFETY: Always safe to call; the fence is the C peer's own.
                to_result(unsafe { bindings::drm_rust_bench_peer_fence_cycle() })
            })
        };
        compare("fence_signal_callback", "20000 fences", rust, c)?;
        Ok(())
    }

    /// The backend of the job queue benchmark: jobs that are done when `run` returns.
    struct Noop;

    impl job::Backend for Noop {
        type Job = ();

        fn run(&self, _job: &mut ()) -> Result<Option<ARef<Fence>>> {
            Ok(None)
        }

        fn timed_out(&self, _job: &mut ()) -> job::TimeoutAction {
            // The queue has no timeout.
            job::TimeoutAction::Stopped
        }
    }

    /// Jobs per timed batch.
    const JOBS: u32 = 2_000;
    /// The credits of both queues; a job costs one.
    const JOB_CREDITS: u32 = 64;

    #[test]
    fn job_queue_noop() -> Result {
        let t = GemDevice::new(c"rust-drm-bench-jobs", false)?;
        let names = FenceNames::new(c"drm-rust-bench", c"drm-rust-bench-jobs")?;
        let config = job::Config {
            credits: JOB_CREDITS,
            timeout: None,
            workqueue: None,
        };
        let queue = job::Queue::new(Ok(Noop), &names, config)?;
        // SAFETY: The device is live; the scheduler is destroyed below, before it.
        let peer =
            unsafe { bindings::drm_rust_bench_peer_sched_create(t.dev.as_raw(), JOB_CREDITS) };
        if peer.is_null() {
            return Err(ENOMEM);
        }
        let rust = || {
            time_ops(JOBS.into(), || {
                let mut last = None;
                for _ in 0..JOBS {
                    last = Some(queue.prepare((), 1)?.push());
                }
                let last = last.ok_or(EINVAL)?;
                last.wait(false, None)?;
                match last.status() {
                    Status::Signalled => Ok(()),
                    _ => Err(EIO),
                }
            })
        };
        let c = || {
            time_ops(JOBS.into(), || {
                // SAFETY: `peer` is live until destroyed below.
                to_result(unsafe { bindings::drm_rust_bench_peer_sched_batch(peer, JOBS) })
            })
        };
        let rust_one = || {
            time_ops(JOBS.into(), || {
                for _ in 0..JOBS {
                    let done = queue.prepare((), 1)?.push();
                    done.wait(false, None)?;
                    if done.status() != Status::Signalled {
                        return Err(EIO);
                    }
                }
                Ok(())
            })
        };
        let c_one = || {
            time_ops(JOBS.into(), || {
                for _ in 0..JOBS {
                    // SAFETY: `peer` is live until destroyed below.
                    to_result(unsafe { bindings::drm_rust_bench_peer_sched_batch(peer, 1) })?;
                }
                Ok(())
            })
        };
        let one = "2000 jobs, one at a time";
        let result = compare_rate("job_queue_noop", "jobs/s", "2000 jobs", rust, c)
            .and_then(|()| compare_rate("job_queue_noop_one", "jobs/s", one, rust_one, c_one));
        // SAFETY: `peer` is live and not used afterwards.
        unsafe { bindings::drm_rust_bench_peer_sched_destroy(peer) };
        drop(queue);
        result
    }
}
