// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the GEM part of the Rust DRM layer (rust/kernel/drm/gem/): object references,
 * mmap offsets, dma-buf references, iosys_map copies, dma_resv locking, and the shmem helpers'
 * GEM object functions, which drm::gem::shmem puts in its objects' function table as they are.
 *
 * Their only callers are drm::gem::{shmem,prime,resv} and drm::gpuvm, which are built with DRM=y
 * and RUST_DRM_GEM_SHMEM_HELPER (a bool, so it can be y with DRM=m: both are checked); the GPUVM
 * helpers, like drm::gpuvm, also need RUST_DRM_GPUVM and DRM_EXEC=y (rust/kernel/drm/mod.rs).
 */

#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_vma_manager.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>

/* Every GEM object type of the layer: plain objects need no shmem helpers. */
#if IS_BUILTIN(CONFIG_DRM)

__rust_helper void rust_helper_drm_gem_object_get(struct drm_gem_object *obj)
{
	drm_gem_object_get(obj);
}

__rust_helper void rust_helper_drm_gem_object_put(struct drm_gem_object *obj)
{
	drm_gem_object_put(obj);
}

__rust_helper u64 rust_helper_drm_vma_node_offset_addr(struct drm_vma_offset_node *node)
{
	return drm_vma_node_offset_addr(node);
}

#endif /* IS_BUILTIN(CONFIG_DRM) */

#if IS_BUILTIN(CONFIG_DRM) && IS_ENABLED(CONFIG_RUST_DRM_GEM_SHMEM_HELPER)

__rust_helper void rust_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}

__rust_helper int rust_helper_dma_resv_lock_interruptible(struct dma_resv *obj,
							  struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock_interruptible(obj, ctx);
}

__rust_helper void rust_helper_iosys_map_memcpy_to(struct iosys_map *dst, size_t dst_offset,
						   const void *src, size_t len)
{
	iosys_map_memcpy_to(dst, dst_offset, src, len);
}

__rust_helper void rust_helper_iosys_map_memcpy_from(void *dst, const struct iosys_map *src,
						     size_t src_offset, size_t len)
{
	iosys_map_memcpy_from(dst, src, src_offset, len);
}

__rust_helper void rust_helper_iosys_map_memset(struct iosys_map *dst, size_t offset, int value,
						size_t len)
{
	iosys_map_memset(dst, offset, value, len);
}

/* The shmem helpers' callbacks, for the function table of drm::gem::shmem::Object. */
#if IS_BUILTIN(CONFIG_DRM_GEM_SHMEM_HELPER)
__rust_helper void
rust_helper_drm_gem_shmem_object_print_info(struct drm_printer *p, unsigned int indent,
					    const struct drm_gem_object *obj)
{
	drm_gem_shmem_object_print_info(p, indent, obj);
}

__rust_helper int rust_helper_drm_gem_shmem_object_pin(struct drm_gem_object *obj)
{
	return drm_gem_shmem_object_pin(obj);
}

__rust_helper void rust_helper_drm_gem_shmem_object_unpin(struct drm_gem_object *obj)
{
	drm_gem_shmem_object_unpin(obj);
}

__rust_helper struct sg_table *
rust_helper_drm_gem_shmem_object_get_sg_table(struct drm_gem_object *obj)
{
	return drm_gem_shmem_object_get_sg_table(obj);
}

__rust_helper int rust_helper_drm_gem_shmem_object_vmap(struct drm_gem_object *obj,
							struct iosys_map *map)
{
	return drm_gem_shmem_object_vmap(obj, map);
}

__rust_helper void rust_helper_drm_gem_shmem_object_vunmap(struct drm_gem_object *obj,
							   struct iosys_map *map)
{
	drm_gem_shmem_object_vunmap(obj, map);
}
#endif /* IS_BUILTIN(CONFIG_DRM_GEM_SHMEM_HELPER) */

#if IS_ENABLED(CONFIG_RUST_DRM_GPUVM) && IS_BUILTIN(CONFIG_DRM_EXEC)
#include <drm/drm_gpuvm.h>

__rust_helper struct drm_gpuvm *rust_helper_drm_gpuvm_get(struct drm_gpuvm *gpuvm)
{
	return drm_gpuvm_get(gpuvm);
}
#endif /* IS_ENABLED(CONFIG_RUST_DRM_GPUVM) && IS_BUILTIN(CONFIG_DRM_EXEC) */

#endif /* IS_BUILTIN(CONFIG_DRM) && IS_ENABLED(CONFIG_RUST_DRM_GEM_SHMEM_HELPER) */
