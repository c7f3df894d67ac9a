// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Benchmarks of the layer against C doing the same work (KUnit suite `bench_rust_drm`, run by
//! `make bench`).
//!
//! Not a test: it asserts nothing about speed, it prints numbers. Each benchmark runs the Rust
//! path and its C peer (`drivers/gpu/drm/tests/drm_rust_bench_peer.c`) on the same device and
//! file, interleaved in rounds, and prints ns/op of each and their ratio:
//!
//! * `ioctl_getparam`: the test driver's `GETPARAM` through `drm_ioctl_kernel()`, the C core's
//!   entry point after the argument copy, against a C handler doing the same work;
//! * `gem_create_close`: a 64 KiB shmem object created, given a handle, and freed by deleting
//!   the handle: [`shmem::Object`] against `drm_gem_shmem_create()`;
//! * `prime_round_trip`: an object exported as a dma-buf and imported into a second device,
//!   both released: [`shmem::Object::export`]/[`shmem::Object::import`] against
//!   `drm_gem_prime_handle_to_dmabuf()`/`drm_gem_shmem_prime_import_no_map()`. The dma-buf's
//!   release is delayed work in a kernel thread; both paths flush it each time, so that the
//!   next export makes a new dma-buf.
//!
//! The suite's name matches neither `rust*` nor `drm*`, so `make test` does not run it.

use crate::ffi::{
    c_int,
    c_void, //
};
use crate::{
    bindings,
    drm::testing::{
        Minor,
        MockFile,
        TestDevice,
        TestDriver, //
    },
    drm::{
        gem::{
            self,
            shmem, //
        },
        testing::{
            GemDevice,
            TestBo, //
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

#[expect(
    improper_ctypes,
    reason = "only pointers to the C structs cross, as in the C prototype"
)]
extern "C" {
    /// The C peer handler.
    fn drm_rust_bench_peer_getparam(
        dev: *mut bindings::drm_device,
        data: *mut c_void,
        file: *mut bindings::drm_file,
    ) -> c_int;

    /// The C peer of a GEM object cycle.
    fn drm_rust_bench_peer_gem_cycle(
        dev: *mut bindings::drm_device,
        file: *mut bindings::drm_file,
        size: usize,
    ) -> c_int;

    /// The C peer of a PRIME round trip.
    fn drm_rust_bench_peer_prime_round_trip(
        dev: *mut bindings::drm_device,
        file: *mut bindings::drm_file,
        handle: u32,
        importer: *mut bindings::drm_device,
    ) -> c_int;
}

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
/// warm-up, and prints the medians, ranges and ratio under `name`.
fn compare(
    name: &str,
    what: &str,
    mut rust: impl FnMut() -> Result<u64>,
    mut c: impl FnMut() -> Result<u64>,
) -> Result {
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
    // Ratio in thousandths, to print without floating point.
    let ratio = mr * 1000 / mc.max(1);
    pr_info!(
        "bench_rust_drm: {}: rust {} ns/op ({}..{}), c {} ns/op ({}..{}), ratio {}.{:03} ({} rounds of {})\n",
        name, mr, min_r, max_r, mc, min_c, max_c, ratio / 1000, ratio % 1000, ROUNDS, what
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
        let peer: bindings::drm_ioctl_t = Some(drm_rust_bench_peer_getparam);

        compare(
            "ioctl_getparam",
            "100000 calls",
            || time_batch(&file, desc.func(), desc.flags()),
            || time_batch(&file, peer, desc.flags()),
        )
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
                    drm_rust_bench_peer_gem_cycle(t.dev.as_raw(), raw_file, BO_SIZE)
                })
            })
        };
        compare("gem_create_close", "2000 objects", rust, c)
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
                    drm_rust_bench_peer_prime_round_trip(
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
        compare("prime_round_trip", "2000 round trips", rust, c)
    }
}
