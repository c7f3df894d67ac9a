// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the Rust DRM layer's benchmarks (suite bench_rust_drm,
 * rust/kernel/drm/tests/bench.rs; prototypes in include/drm/drm_rust_bench.h): the work of each
 * benchmark written the way a C driver does it, so that both can run on the same device and file
 * and be timed against each other: an ioctl handler doing what the Rust test driver's GETPARAM
 * does, a GEM object cycle and a PRIME round trip with the C shmem helpers, a GPU VM driven
 * through the C drm_gpuvm API, a TEST_ONLY atomic commit on a vkms device, the life of a fence
 * with one callback, and no-op jobs through the DRM GPU scheduler.
 */

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <drm/drm_atomic.h>
#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_gpuvm.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_modeset_lock.h>
#include <drm/drm_plane.h>
#include <drm/drm_prime.h>
#include <drm/drm_rust_bench.h>
#include <drm/gpu_scheduler.h>
#include <uapi/drm/nova_drm.h>

#if IS_BUILTIN(CONFIG_DRM_VKMS)
#include "../vkms/vkms_config.h"
#include "../vkms/vkms_drv.h"
#endif

/**
 * drm_rust_bench_peer_getparam - GETPARAM as a C driver implements it
 * @dev: the DRM device
 * @data: a &struct drm_nova_getparam, copied in by the DRM core
 * @file: the calling file
 *
 * Like the Rust handler it is compared with, it runs inside a drm_dev_enter() section and
 * answers parameter 1 from device state.
 *
 * Returns:
 * 0 on success, -ENODEV after unplug, -EINVAL for an unknown parameter.
 */
int drm_rust_bench_peer_getparam(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_nova_getparam *args = data;
	int idx, ret = 0;

	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;

	switch (args->param) {
	case 1:
		args->value = READ_ONCE(dev->registered);
		break;
	default:
		ret = -EINVAL;
	}

	drm_dev_exit(idx);
	return ret;
}

/**
 * drm_rust_bench_peer_gem_cycle - create a shmem object, give it a handle, delete it
 * @dev: the DRM device
 * @file: the file to make the handle in
 * @size: the object's size
 *
 * The work of a C driver's GEM_CREATE followed by GEM_CLOSE, with the C shmem helpers.
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_gem_cycle(struct drm_device *dev, struct drm_file *file, size_t size)
{
	struct drm_gem_shmem_object *shmem;
	u32 handle;
	int ret;

	shmem = drm_gem_shmem_create(dev, size);
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	ret = drm_gem_handle_create(file, &shmem->base, &handle);
	drm_gem_object_put(&shmem->base);
	if (ret)
		return ret;
	return drm_gem_handle_delete(file, handle);
}

/**
 * drm_rust_bench_peer_prime_round_trip - export an object, import it into another device
 * @dev: the exporting device
 * @file: a file of @dev with @handle
 * @handle: the object to export
 * @importer: the importing device
 *
 * The work of PRIME_HANDLE_TO_FD on @dev and PRIME_FD_TO_HANDLE on @importer with the C shmem
 * helpers (the import attaches without mapping, as the Rust layer's does), and of releasing
 * both: the caller flushes the delayed release of the dma-buf.
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_prime_round_trip(struct drm_device *dev, struct drm_file *file,
					 u32 handle, struct drm_device *importer)
{
	struct drm_gem_object *obj;
	struct dma_buf *dmabuf;

	dmabuf = drm_gem_prime_handle_to_dmabuf(dev, file, handle, O_CLOEXEC | O_RDWR);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	obj = drm_gem_shmem_prime_import_no_map(importer, dmabuf);
	dma_buf_put(dmabuf);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	drm_gem_object_put(obj);
	return 0;
}

/*
 * GPUVM: a VM driven through the C drm_gpuvm API the way a C driver does it, with the same
 * work per operation as the Rust layer: the VM's reservation object and the objects involved
 * locked with drm_exec, a VM BO
 * obtained, the split/merge steps allocating, inserting and linking mappings, and a reference
 * to each locked object held across the steps.
 */

struct drm_rust_bench_peer_vm {
	struct drm_gpuvm base;
	/* Serialises the map and unmap requests on the VM, as a driver's VM lock does. */
	struct mutex lock;
	struct drm_gpuvm_bo *vm_bo;
};

static int peer_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct drm_rust_bench_peer_vm *vm = priv;
	struct drm_gpuva *va = kzalloc_obj(*va);
	int ret;

	if (!va)
		return -ENOMEM;
	va->va.addr = op->map.va.addr;
	va->va.range = op->map.va.range;
	va->gem.obj = op->map.gem.obj;
	va->gem.offset = op->map.gem.offset;
	ret = drm_gpuva_insert(&vm->base, va);
	if (ret) {
		kfree(va);
		return ret;
	}
	drm_gpuva_link(va, vm->vm_bo);
	return 0;
}

static int peer_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	struct drm_gpuva *va = op->unmap.va;

	drm_gpuva_remove(va);
	drm_gpuva_unlink(va);
	kfree(va);
	return 0;
}

static int peer_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct drm_gpuva *old = op->remap.unmap->va;
	struct drm_gpuva *prev = NULL, *next = NULL;

	if (op->remap.prev) {
		prev = kzalloc_obj(*prev);
		if (!prev)
			return -ENOMEM;
	}
	if (op->remap.next) {
		next = kzalloc_obj(*next);
		if (!next) {
			kfree(prev);
			return -ENOMEM;
		}
	}
	drm_gpuva_remap(prev, next, &op->remap);
	if (prev)
		drm_gpuva_link(prev, old->vm_bo);
	if (next)
		drm_gpuva_link(next, old->vm_bo);
	drm_gpuva_unlink(old);
	kfree(old);
	return 0;
}

static void peer_vm_free(struct drm_gpuvm *gpuvm)
{
	struct drm_rust_bench_peer_vm *vm = container_of(gpuvm, typeof(*vm), base);

	mutex_destroy(&vm->lock);
	kfree(vm);
}

static const struct drm_gpuvm_ops peer_vm_ops = {
	.vm_free = peer_vm_free,
	.sm_step_map = peer_step_map,
	.sm_step_unmap = peer_step_unmap,
	.sm_step_remap = peer_step_remap,
};

/**
 * drm_rust_bench_peer_vm_create - create a VM driven through the C API
 * @dev: the DRM device
 * @start: start of the VM's range
 * @range: length of the VM's range
 *
 * Returns:
 * The VM, or NULL when out of memory.
 */
struct drm_rust_bench_peer_vm *
drm_rust_bench_peer_vm_create(struct drm_device *dev, u64 start, u64 range)
{
	struct drm_rust_bench_peer_vm *vm = kzalloc_obj(*vm);
	struct drm_gem_object *r_obj;

	if (!vm)
		return NULL;
	r_obj = drm_gpuvm_resv_object_alloc(dev);
	if (!r_obj) {
		kfree(vm);
		return NULL;
	}
	mutex_init(&vm->lock);
	drm_gpuvm_init(&vm->base, "bench-peer", 0, dev, r_obj, start, range, 0, 0, &peer_vm_ops);
	drm_gem_object_put(r_obj);
	return vm;
}

/* Takes a reference to every object @exec locked, into @held (room for all of them). */
static struct drm_gem_object **peer_hold(struct drm_exec *exec)
{
	struct drm_gem_object **held, *obj;
	unsigned long i = 0;

	held = kmalloc_array(exec->num_objects + 1, sizeof(*held), GFP_KERNEL);
	if (!held)
		return NULL;
	drm_exec_for_each_locked_object(exec, obj) {
		drm_gem_object_get(obj);
		held[i++] = obj;
	}
	held[i] = NULL;
	return held;
}

static void peer_release(struct drm_gem_object **held)
{
	struct drm_gem_object **p;

	for (p = held; *p; p++)
		drm_gem_object_put(*p);
	kfree(held);
}

/**
 * drm_rust_bench_peer_vm_map - map @range bytes of @obj at @offset to @addr
 * @vm: the VM
 * @obj: the object
 * @offset: offset in @obj
 * @addr: GPU address
 * @range: length
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_vm_map(struct drm_rust_bench_peer_vm *vm, struct drm_gem_object *obj,
			       u64 offset, u64 addr, u64 range)
{
	struct drm_gpuvm_map_req req = {
		.map.va.addr = addr, .map.va.range = range,
		.map.gem.obj = obj, .map.gem.offset = offset,
	};
	struct drm_gem_object **held = NULL;
	struct drm_exec exec;
	int ret;

	mutex_lock(&vm->lock);
	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT | DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_exec_prepare_array(&exec, NULL, 0, 0);
		if (!ret)
			ret = drm_exec_lock_obj(&exec, vm->base.r_obj);
		if (!ret)
			ret = drm_gpuvm_sm_map_exec_lock(&vm->base, &exec, 1, &req);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			goto out;
	}
	held = peer_hold(&exec);
	if (!held) {
		ret = -ENOMEM;
		goto out;
	}
	vm->vm_bo = drm_gpuvm_bo_obtain_locked(&vm->base, obj);
	if (IS_ERR(vm->vm_bo)) {
		ret = PTR_ERR(vm->vm_bo);
		goto out;
	}
	ret = drm_gpuvm_sm_map(&vm->base, vm, &req);
	drm_gpuvm_bo_put(vm->vm_bo);
out:
	drm_exec_fini(&exec);
	if (held)
		peer_release(held);
	mutex_unlock(&vm->lock);
	return ret;
}

/**
 * drm_rust_bench_peer_vm_unmap - unmap [@addr, @addr + @range)
 * @vm: the VM
 * @addr: GPU address
 * @range: length
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_vm_unmap(struct drm_rust_bench_peer_vm *vm, u64 addr, u64 range)
{
	struct drm_gem_object **held = NULL;
	struct drm_exec exec;
	int ret;

	mutex_lock(&vm->lock);
	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT | DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_exec_prepare_array(&exec, NULL, 0, 0);
		if (!ret)
			ret = drm_exec_lock_obj(&exec, vm->base.r_obj);
		if (!ret)
			ret = drm_gpuvm_sm_unmap_exec_lock(&vm->base, &exec, addr, range);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			goto out;
	}
	held = peer_hold(&exec);
	if (!held) {
		ret = -ENOMEM;
		goto out;
	}
	ret = drm_gpuvm_sm_unmap(&vm->base, vm, addr, range);
out:
	drm_exec_fini(&exec);
	if (held)
		peer_release(held);
	mutex_unlock(&vm->lock);
	return ret;
}

/**
 * drm_rust_bench_peer_vm_destroy - unmap everything and drop the VM
 * @vm: the VM
 */
void drm_rust_bench_peer_vm_destroy(struct drm_rust_bench_peer_vm *vm)
{
	drm_rust_bench_peer_vm_unmap(vm, vm->base.mm_start, vm->base.mm_range);
	drm_gpuvm_put(&vm->base);
}

/*
 * KMS: a vkms device of the shape of the Rust layer's KMS test driver
 * (rust/kernel/drm/tests/kms.rs) and a TEST_ONLY commit on it, built the way a C driver or the
 * atomic ioctl builds one.
 *
 * vkms's default device has a primary and a cursor plane and a writeback connector, and eight
 * overlay planes when enable_overlay is set; so the peer makes a device of its own, as vkms's
 * configfs does (a vkms_config, then vkms_create()): a primary, an overlay and a cursor plane, in
 * that order, one CRTC without writeback, one encoder and one connector. vkms is built in, so
 * the peer calls its configuration functions directly; without it the peer has no device.
 */

struct drm_rust_bench_peer_kms {
	struct vkms_config *config;
	struct drm_device *drm;
	struct drm_crtc *crtc;
	struct drm_plane *planes[3];
};

/* Records the CRTC and the planes of @drm in @k; -EINVAL if it has not one and three. */
static int peer_kms_find(struct drm_rust_bench_peer_kms *k, struct drm_device *drm)
{
	struct drm_plane *plane;
	int n = 0;

	if (drm->mode_config.num_crtc != 1)
		return -EINVAL;
	k->drm = drm;
	k->crtc = list_first_entry(&drm->mode_config.crtc_list, struct drm_crtc, head);
	drm_for_each_plane(plane, drm) {
		if (n < ARRAY_SIZE(k->planes))
			k->planes[n] = plane;
		n++;
	}
	return n == ARRAY_SIZE(k->planes) ? 0 : -EINVAL;
}

#if IS_BUILTIN(CONFIG_DRM_VKMS)
static struct vkms_config *peer_vkms_config(void)
{
	static const enum drm_plane_type types[] = {
		DRM_PLANE_TYPE_PRIMARY, DRM_PLANE_TYPE_OVERLAY, DRM_PLANE_TYPE_CURSOR,
	};
	struct vkms_config_connector *connector_cfg;
	struct vkms_config_encoder *encoder_cfg;
	struct vkms_config_plane *plane_cfg;
	struct vkms_config_crtc *crtc_cfg;
	struct vkms_config *config;
	int i;

	config = vkms_config_create("rust-drm-bench-vkms");
	if (IS_ERR(config))
		return config;
	crtc_cfg = vkms_config_create_crtc(config);
	if (IS_ERR(crtc_cfg))
		goto err;
	vkms_config_crtc_set_writeback(crtc_cfg, false);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		plane_cfg = vkms_config_create_plane(config);
		if (IS_ERR(plane_cfg))
			goto err;
		vkms_config_plane_set_type(plane_cfg, types[i]);
		if (vkms_config_plane_attach_crtc(plane_cfg, crtc_cfg))
			goto err;
	}
	encoder_cfg = vkms_config_create_encoder(config);
	if (IS_ERR(encoder_cfg) || vkms_config_encoder_attach_crtc(encoder_cfg, crtc_cfg))
		goto err;
	connector_cfg = vkms_config_create_connector(config);
	if (IS_ERR(connector_cfg) ||
	    vkms_config_connector_attach_encoder(connector_cfg, encoder_cfg))
		goto err;
	if (!vkms_config_is_valid(config))
		goto err;
	return config;

err:
	vkms_config_destroy(config);
	return ERR_PTR(-ENOMEM);
}
#endif

/**
 * drm_rust_bench_peer_kms_create - create the vkms device of the KMS benchmark
 *
 * Its CRTC is off and its planes have no framebuffer, as after boot.
 *
 * Returns:
 * The device, or NULL when it could not be made (or vkms is not built in).
 */
struct drm_rust_bench_peer_kms *drm_rust_bench_peer_kms_create(void)
{
#if IS_BUILTIN(CONFIG_DRM_VKMS)
	struct drm_rust_bench_peer_kms *k = kzalloc_obj(*k);

	if (!k)
		return NULL;
	k->config = peer_vkms_config();
	if (IS_ERR(k->config))
		goto err;
	if (vkms_create(k->config)) {
		vkms_config_destroy(k->config);
		goto err;
	}
	if (peer_kms_find(k, &k->config->dev->drm)) {
		drm_rust_bench_peer_kms_destroy(k);
		return NULL;
	}
	return k;
err:
	kfree(k);
#endif
	return NULL;
}

/**
 * drm_rust_bench_peer_kms_of - the KMS benchmark's commit on another device
 * @drm: a device with one CRTC and three planes
 *
 * For timing the C commit on the Rust test driver's device, with the same hooks as the Rust
 * commit: what differs is only how the commit is built.
 *
 * Returns:
 * A handle for drm_rust_bench_peer_kms_test_only(), freed with
 * drm_rust_bench_peer_kms_destroy(), which leaves @drm alone; NULL when out of memory or when
 * @drm has another shape.
 */
struct drm_rust_bench_peer_kms *drm_rust_bench_peer_kms_of(struct drm_device *drm)
{
	struct drm_rust_bench_peer_kms *k = kzalloc_obj(*k);

	if (k && peer_kms_find(k, drm)) {
		kfree(k);
		return NULL;
	}
	return k;
}

/**
 * drm_rust_bench_peer_kms_destroy - free a handle of the KMS benchmark
 * @k: the handle
 *
 * Unregisters and frees the vkms device that drm_rust_bench_peer_kms_create() made.
 */
void drm_rust_bench_peer_kms_destroy(struct drm_rust_bench_peer_kms *k)
{
#if IS_BUILTIN(CONFIG_DRM_VKMS)
	if (k->config) {
		vkms_destroy(k->config);
		vkms_config_destroy(k->config);
	}
#endif
	kfree(k);
}

/**
 * drm_rust_bench_peer_kms_test_only - a TEST_ONLY commit of the CRTC and the three planes
 * @k: the device
 *
 * What DRM_IOCTL_MODE_ATOMIC with DRM_MODE_ATOMIC_TEST_ONLY does with a commit that names the
 * CRTC and the planes without changing a property: the commit is allocated, the states of the
 * objects duplicated under their locks (backing off on -EDEADLK), the whole checked (vkms's
 * atomic_check, hence drm_atomic_helper_check() and the CRTC and plane hooks), then freed.
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_kms_test_only(struct drm_rust_bench_peer_kms *k)
{
	struct drm_modeset_acquire_ctx ctx;
	struct drm_atomic_commit *commit;
	struct drm_crtc_state *crtc_state;
	struct drm_plane_state *plane_state;
	int i, ret;

	drm_modeset_acquire_init(&ctx, 0);
	commit = drm_atomic_commit_alloc(k->drm);
	if (!commit) {
		ret = -ENOMEM;
		goto out;
	}
	commit->acquire_ctx = &ctx;
retry:
	crtc_state = drm_atomic_get_crtc_state(commit, k->crtc);
	ret = PTR_ERR_OR_ZERO(crtc_state);
	for (i = 0; !ret && i < ARRAY_SIZE(k->planes); i++) {
		plane_state = drm_atomic_get_plane_state(commit, k->planes[i]);
		ret = PTR_ERR_OR_ZERO(plane_state);
	}
	if (!ret)
		ret = drm_atomic_check_only(commit);
	if (ret == -EDEADLK) {
		drm_atomic_commit_clear(commit);
		ret = drm_modeset_backoff(&ctx);
		if (!ret)
			goto retry;
	}
	drm_atomic_commit_put(commit);
out:
	drm_modeset_drop_locks(&ctx);
	drm_modeset_acquire_fini(&ctx);
	return ret;
}

/*
 * Fences: the life of a fence that a C driver makes for one piece of work, as the Rust layer's
 * UniqueFence does it (rust/kernel/dma_fence/owned.rs): allocated with kmalloc(), a fence
 * context of its own, the fence's inline lock, the C core's default release (kfree_rcu()).
 */

struct peer_fence {
	struct dma_fence base;
};

/* A callback on one fence that counts its runs. */
struct peer_fence_waiter {
	struct dma_fence_cb cb;
	atomic_t runs;
};

static const char *peer_fence_name(struct dma_fence *fence)
{
	return "drm-rust-bench";
}

static const struct dma_fence_ops peer_fence_ops = {
	.get_driver_name = peer_fence_name,
	.get_timeline_name = peer_fence_name,
};

static void peer_fence_signalled(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct peer_fence_waiter *w = container_of(cb, struct peer_fence_waiter, cb);

	atomic_inc(&w->runs);
}

/**
 * drm_rust_bench_peer_fence_cycle - make a fence, add a callback, signal it, drop it
 *
 * The fence is allocated and initialised on a context of its own, a callback is added to it,
 * the fence is signalled (the callback runs) and its only reference is dropped, which frees it
 * after an RCU grace period.
 *
 * Returns:
 * 0 on success, -ENOMEM, or -EINVAL if the callback did not run exactly once.
 */
int drm_rust_bench_peer_fence_cycle(void)
{
	struct peer_fence_waiter w = { .runs = ATOMIC_INIT(0) };
	struct peer_fence *f = kmalloc_obj(*f);
	int ret;

	if (!f)
		return -ENOMEM;
	dma_fence_init64(&f->base, &peer_fence_ops, NULL, dma_fence_context_alloc(1), 1);
	ret = dma_fence_add_callback(&f->base, &w.cb, peer_fence_signalled);
	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
	return !ret && atomic_read(&w.runs) == 1 ? 0 : -EINVAL;
}

/*
 * Jobs: the DRM GPU scheduler driving jobs that need no hardware, the way a C driver with one
 * entity per scheduler (a firmware-scheduled GPU) sets it up: the scheduler's own ordered
 * submission workqueue, no timeout, run_job returning NULL (the job is done when it returns).
 */

struct drm_rust_bench_peer_sched {
	struct drm_gpu_scheduler sched;
	struct drm_gpu_scheduler *sched_list[1];
	struct drm_sched_entity entity;
};

struct peer_job {
	struct drm_sched_job base;
};

static struct dma_fence *peer_run_job(struct drm_sched_job *job)
{
	return NULL;
}

static enum drm_gpu_sched_stat peer_timedout_job(struct drm_sched_job *job)
{
	/* There is no timeout: never called. */
	return DRM_GPU_SCHED_STAT_RESET;
}

static void peer_free_job(struct drm_sched_job *job)
{
	drm_sched_job_cleanup(job);
	kfree(container_of(job, struct peer_job, base));
}

static void peer_cancel_job(struct drm_sched_job *job)
{
	/* No hardware fence to signal: run_job returned none. */
}

static const struct drm_sched_backend_ops peer_sched_ops = {
	.run_job = peer_run_job,
	.timedout_job = peer_timedout_job,
	.free_job = peer_free_job,
	.cancel_job = peer_cancel_job,
};

/**
 * drm_rust_bench_peer_sched_create - a scheduler and its one entity
 * @drm: the device the scheduler reports on
 * @credits: the scheduler's credit limit
 *
 * Returns:
 * The scheduler, or NULL when it could not be made.
 */
struct drm_rust_bench_peer_sched *drm_rust_bench_peer_sched_create(struct drm_device *drm,
								   u32 credits)
{
	struct drm_rust_bench_peer_sched *s = kzalloc_obj(*s);
	struct drm_sched_init_args args = {
		.ops = &peer_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		.credit_limit = credits,
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = "drm-rust-bench",
		.dev = drm->dev,
	};

	if (!s)
		return NULL;
	if (drm_sched_init(&s->sched, &args))
		goto err;
	s->sched_list[0] = &s->sched;
	if (drm_sched_entity_init(&s->entity, DRM_SCHED_PRIORITY_NORMAL, s->sched_list, 1, NULL)) {
		drm_sched_fini(&s->sched);
		goto err;
	}
	return s;
err:
	kfree(s);
	return NULL;
}

/**
 * drm_rust_bench_peer_sched_batch - push @n no-op jobs and wait for the last one
 * @s: the scheduler
 * @n: the number of jobs
 *
 * Each job costs one credit. Each job is allocated, initialised, armed and pushed to the
 * entity, and a reference to its finished fence is taken (a driver publishes it), the previous
 * job's being dropped; then the last job's finished fence is waited for.
 *
 * Returns:
 * 0 on success, or a negative error code.
 */
int drm_rust_bench_peer_sched_batch(struct drm_rust_bench_peer_sched *s, unsigned int n)
{
	struct dma_fence *last = NULL;
	struct peer_job *job;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		job = kmalloc_obj(*job);
		if (!job) {
			ret = -ENOMEM;
			break;
		}
		ret = drm_sched_job_init(&job->base, &s->entity, 1, NULL, 0);
		if (ret) {
			kfree(job);
			break;
		}
		drm_sched_job_arm(&job->base);
		dma_fence_put(last);
		last = dma_fence_get(&job->base.s_fence->finished);
		drm_sched_entity_push_job(&job->base);
	}
	if (last) {
		dma_fence_wait(last, false);
		if (!ret && dma_fence_get_status(last) != 1)
			ret = -EIO;
		dma_fence_put(last);
	}
	return ret;
}

/**
 * drm_rust_bench_peer_sched_destroy - tear down the entity and the scheduler
 * @s: the scheduler
 *
 * Waits for the entity's jobs; the scheduler frees the jobs it has not freed yet.
 */
void drm_rust_bench_peer_sched_destroy(struct drm_rust_bench_peer_sched *s)
{
	drm_sched_entity_destroy(&s->entity);
	drm_sched_fini(&s->sched);
	kfree(s);
}
