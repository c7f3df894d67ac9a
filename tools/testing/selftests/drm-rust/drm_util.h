/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the drm-rust userspace tests.
 */
#ifndef DRM_RUST_UTIL_H
#define DRM_RUST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

/*
 * drm_open_driver - open the first device node of a DRM driver.
 * @driver: the driver's name as DRM_IOCTL_VERSION reports it
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 *
 * Returns: an open file descriptor, or -errno (-ENODEV when no such node exists).
 */
static inline int drm_open_driver(const char *driver, int type)
{
	drmDevicePtr devs[64];
	int n, i, fd = -ENODEV;

	n = drmGetDevices2(0, devs, 64);
	if (n < 0)
		return n;
	for (i = 0; i < n && fd < 0; i++) {
		drmVersionPtr v;
		int f;

		if (!(devs[i]->available_nodes & (1 << type)))
			continue;
		f = open(devs[i]->nodes[type], O_RDWR | O_CLOEXEC);
		if (f < 0)
			continue;
		v = drmGetVersion(f);
		if (v && !strcmp(v->name, driver))
			fd = f;
		else
			close(f);
		drmFreeVersion(v);
	}
	drmFreeDevices(devs, n);
	return fd;
}

#endif /* DRM_RUST_UTIL_H */
