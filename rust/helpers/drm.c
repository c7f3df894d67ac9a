// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the Rust DRM layer: wrappers for static inline functions and macros of the DRM
 * core that bindgen cannot call. rust/helpers/helpers.c includes this file only; the helpers of
 * each DRM object live in their own rust/helpers/drm_*.c, included below.
 */

#include <drm/drm_device.h>

__rust_helper bool rust_helper_drm_dev_registered(const struct drm_device *dev)
{
	return READ_ONCE(dev->registered);
}

#include "drm_gem.c"
