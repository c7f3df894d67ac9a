// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the Rust DRM layer's benchmarks (suite bench_rust_drm, rust/kernel/drm/bench.rs):
 * the work of each benchmark written the way a C driver does it, so that both can run on the
 * same device and file and be timed against each other: an ioctl handler doing what the Rust
 * test driver's GETPARAM does, a GEM object cycle and a PRIME round trip with the C shmem
 * helpers.
 */

#include <linux/dma-buf.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_prime.h>
#include <uapi/drm/nova_drm.h>

int drm_rust_bench_peer_getparam(struct drm_device *dev, void *data, struct drm_file *file);

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

int drm_rust_bench_peer_gem_cycle(struct drm_device *dev, struct drm_file *file, size_t size);

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

int drm_rust_bench_peer_prime_round_trip(struct drm_device *dev, struct drm_file *file,
					 u32 handle, struct drm_device *importer);

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
