// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Benchmarks of the layer against C doing the same work (KUnit suite `bench_rust_drm`, run by
//! `make bench`; built with `CONFIG_RUST_DRM_BENCH`).
//!
//! Not a test: it asserts nothing about speed, it prints numbers. Each benchmark runs the Rust
//! path and its C peer (`drivers/gpu/drm/tests/drm_rust_bench_peer.c`, declared in
//! `include/drm/drm_rust_bench.h`, which bindgen reads) on the same device and file, interleaved
//! in rounds, and prints ns/op of each and their ratio:
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
//!
//! The suite's name matches neither `rust*` nor `drm*`, so `make test` does not run it.

use crate::{
    bindings,
    drm::{
        gem::{
            self,
            shmem,
            BaseObject, //
        },
        gpuvm,
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
    time::{
        Instant,
        Monotonic, //
    },
    uapi,
};

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

/// Runs `rust` and `c` (each timing a batch, in ns/op) in `ROUNDS` interleaved rounds after a
/// warm-up, prints the medians, ranges, the ratio of the medians and that of the minima under
/// `name`, and returns the medians.
fn compare(
    name: &str,
    what: &str,
    mut rust: impl FnMut() -> Result<u64>,
    mut c: impl FnMut() -> Result<u64>,
) -> Result<(u64, u64)> {
    rust()?;
    c()?;
    let mut r = [0u64; ROUNDS];
    let mut cc = [0u64; ROUNDS];
    for i in 0..ROUNDS {
        r[i] = rust()?;
        cc[i] = c()?;
    }
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
        type StepContext = ();

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
}
