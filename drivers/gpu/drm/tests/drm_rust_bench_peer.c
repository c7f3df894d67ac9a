// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the Rust DRM layer's ioctl dispatch benchmark (suite bench_rust_drm,
 * rust/kernel/drm/bench.rs): an ioctl handler written the way a C driver writes one, doing
 * the same work as the Rust test driver's GETPARAM handler, so that both can be called through
 * drm_ioctl_kernel() on the same file and timed against each other.
 */

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_ioctl.h>
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
