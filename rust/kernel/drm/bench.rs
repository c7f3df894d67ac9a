// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Benchmark of the layer's ioctl dispatch (KUnit suite `bench_rust_drm`, run by `make bench`).
//!
//! Not a test: it asserts nothing about speed, it prints numbers. It calls the test driver's
//! `GETPARAM` through `drm_ioctl_kernel()`, the C core's entry point after the argument copy,
//! and a C handler doing the same work (`drivers/gpu/drm/tests/drm_rust_bench_peer.c`) the
//! same way, on the same file, interleaved in rounds, and prints ns/op of each and their ratio.
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
    drm::Driver,
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
}

/// Calls per timed batch.
const CALLS: u64 = 100_000;
/// Batches per handler, alternating between the two.
const ROUNDS: usize = 7;

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

        // Warm up both paths.
        time_batch(&file, desc.func(), desc.flags())?;
        time_batch(&file, peer, desc.flags())?;

        let mut rust = [0u64; ROUNDS];
        let mut c = [0u64; ROUNDS];
        for i in 0..ROUNDS {
            rust[i] = time_batch(&file, desc.func(), desc.flags())?;
            c[i] = time_batch(&file, peer, desc.flags())?;
        }
        let (min_r, max_r) = (
            *rust.iter().min().unwrap_or(&0),
            *rust.iter().max().unwrap_or(&0),
        );
        let (min_c, max_c) = (*c.iter().min().unwrap_or(&0), *c.iter().max().unwrap_or(&0));
        let (r, cc) = (median(&mut rust), median(&mut c));
        // Ratio in thousandths, to print without floating point.
        let ratio = r * 1000 / cc.max(1);
        pr_info!(
            "bench_rust_drm: ioctl_getparam: rust {} ns/op ({}..{}), c {} ns/op ({}..{}), ratio {}.{:03} ({} rounds of {} calls)\n",
            r, min_r, max_r, cc, min_c, max_c, ratio / 1000, ratio % 1000, ROUNDS, CALLS
        );
        Ok(())
    }
}
