// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the KMS part of the Rust DRM layer (rust/kernel/drm/kms/): references to
 * framebuffers, connectors and commits, which the C headers implement as static inline
 * functions.
 *
 * Their only caller is drm::kms, which is built with DRM=y, RUST_DRM_KMS and DRM_KMS_HELPER=y
 * (rust/kernel/drm/mod.rs).
 */

#include <drm/drm_atomic.h>
#include <drm/drm_connector.h>
#include <drm/drm_framebuffer.h>

#if IS_BUILTIN(CONFIG_DRM) && IS_ENABLED(CONFIG_RUST_DRM_KMS) && IS_BUILTIN(CONFIG_DRM_KMS_HELPER)

__rust_helper void rust_helper_drm_framebuffer_get(struct drm_framebuffer *fb)
{
	drm_framebuffer_get(fb);
}

__rust_helper void rust_helper_drm_framebuffer_put(struct drm_framebuffer *fb)
{
	drm_framebuffer_put(fb);
}

__rust_helper void rust_helper_drm_connector_get(struct drm_connector *connector)
{
	drm_connector_get(connector);
}

__rust_helper void rust_helper_drm_connector_put(struct drm_connector *connector)
{
	drm_connector_put(connector);
}

__rust_helper void rust_helper_drm_atomic_commit_put(struct drm_atomic_commit *commit)
{
	drm_atomic_commit_put(commit);
}

#endif
