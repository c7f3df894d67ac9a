// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the sync object part of the Rust DRM layer (rust/kernel/drm/syncobj.rs):
 * references and the current fence, which drm_syncobj.h implements as static inline functions.
 */

#include <drm/drm_syncobj.h>

#if IS_BUILTIN(CONFIG_DRM)

__rust_helper void rust_helper_drm_syncobj_get(struct drm_syncobj *obj)
{
	drm_syncobj_get(obj);
}

__rust_helper void rust_helper_drm_syncobj_put(struct drm_syncobj *obj)
{
	drm_syncobj_put(obj);
}

__rust_helper struct dma_fence *rust_helper_drm_syncobj_fence_get(struct drm_syncobj *obj)
{
	return drm_syncobj_fence_get(obj);
}

#endif /* IS_BUILTIN(CONFIG_DRM) */
