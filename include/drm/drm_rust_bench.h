/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C peer of the Rust DRM layer's benchmarks (drivers/gpu/drm/tests/drm_rust_bench_peer.c),
 * called by the benchmark suite bench_rust_drm (rust/kernel/drm/tests/bench.rs), which gets
 * these prototypes through bindgen. Built with CONFIG_RUST_DRM_BENCH only.
 */

#ifndef __DRM_RUST_BENCH_H__
#define __DRM_RUST_BENCH_H__

#include <linux/types.h>

struct drm_device;
struct drm_file;
struct drm_gem_object;
struct drm_rust_bench_peer_kms;
struct drm_rust_bench_peer_sched;
struct drm_rust_bench_peer_vm;

int drm_rust_bench_peer_getparam(struct drm_device *dev, void *data, struct drm_file *file);
int drm_rust_bench_peer_gem_cycle(struct drm_device *dev, struct drm_file *file, size_t size);
int drm_rust_bench_peer_prime_round_trip(struct drm_device *dev, struct drm_file *file,
					 u32 handle, struct drm_device *importer);
struct drm_rust_bench_peer_vm *
drm_rust_bench_peer_vm_create(struct drm_device *dev, u64 start, u64 range);
int drm_rust_bench_peer_vm_map(struct drm_rust_bench_peer_vm *vm, struct drm_gem_object *obj,
			       u64 offset, u64 addr, u64 range);
int drm_rust_bench_peer_vm_unmap(struct drm_rust_bench_peer_vm *vm, u64 addr, u64 range);
void drm_rust_bench_peer_vm_destroy(struct drm_rust_bench_peer_vm *vm);
struct drm_rust_bench_peer_kms *drm_rust_bench_peer_kms_create(void);
struct drm_rust_bench_peer_kms *drm_rust_bench_peer_kms_of(struct drm_device *drm);
void drm_rust_bench_peer_kms_destroy(struct drm_rust_bench_peer_kms *k);
int drm_rust_bench_peer_kms_test_only(struct drm_rust_bench_peer_kms *k);
int drm_rust_bench_peer_fence_cycle(void);
struct drm_rust_bench_peer_sched *drm_rust_bench_peer_sched_create(struct drm_device *drm,
								   u32 credits);
int drm_rust_bench_peer_sched_batch(struct drm_rust_bench_peer_sched *s, unsigned int n);
void drm_rust_bench_peer_sched_destroy(struct drm_rust_bench_peer_sched *s);

#endif /* __DRM_RUST_BENCH_H__ */
