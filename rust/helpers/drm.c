// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the Rust DRM layer: wrappers for static inline functions and macros of the DRM
 * core that bindgen cannot call. rust/helpers/helpers.c includes this file only; the helpers of
 * each DRM object live in their own rust/helpers/drm_*.c, included below.
 */

#include <drm/drm_device.h>

/*
 * Each helper is built under the same conditions as the Rust code that calls it. The Rust DRM
 * layer is part of the kernel crate, which is always built in, so it exists only with DRM=y
 * (`#[cfg(CONFIG_DRM = "y")]` in rust/kernel/lib.rs): IS_BUILTIN(), not IS_ENABLED(), whose
 * DRM=m would have built-in code call into the drm module.
 */
#if IS_BUILTIN(CONFIG_DRM)

__rust_helper bool rust_helper_drm_dev_registered(const struct drm_device *dev)
{
	return READ_ONCE(dev->registered);
}

#endif /* IS_BUILTIN(CONFIG_DRM) */

#include "drm_gem.c"
#include "drm_job.c"
#include "drm_kms.c"
#include "drm_syncobj.c"
