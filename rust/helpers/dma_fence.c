// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the Rust fence layer (rust/kernel/dma_fence.rs): the static inline functions of
 * dma-fence.h and dma-resv.h that it calls. It is built with DMA_SHARED_BUFFER, like the C code.
 */

#include <linux/dma-fence.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>

#ifdef CONFIG_DMA_SHARED_BUFFER

__rust_helper struct dma_fence *rust_helper_dma_fence_get(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

__rust_helper void rust_helper_dma_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

__rust_helper bool rust_helper_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

__rust_helper void rust_helper_dma_fence_set_error(struct dma_fence *fence, int error)
{
	dma_fence_set_error(fence, error);
}

__rust_helper bool rust_helper_dma_fence_is_later(struct dma_fence *f1,
						  struct dma_fence *f2)
{
	return dma_fence_is_later(f1, f2);
}

/* Real functions with CONFIG_LOCKDEP, static inline stubs without. */
__rust_helper bool rust_helper_dma_fence_begin_signalling(void)
{
	return dma_fence_begin_signalling();
}

__rust_helper void rust_helper_dma_fence_end_signalling(bool cookie)
{
	dma_fence_end_signalling(cookie);
}

__rust_helper struct dma_fence_chain *rust_helper_dma_fence_chain_alloc(void)
{
	return dma_fence_chain_alloc();
}

__rust_helper void rust_helper_dma_fence_chain_free(struct dma_fence_chain *chain)
{
	dma_fence_chain_free(chain);
}

__rust_helper void rust_helper_dma_resv_iter_begin(struct dma_resv_iter *cursor,
						   struct dma_resv *obj,
						   enum dma_resv_usage usage)
{
	dma_resv_iter_begin(cursor, obj, usage);
}

__rust_helper struct ww_acquire_ctx *rust_helper_dma_resv_locking_ctx(struct dma_resv *obj)
{
	return dma_resv_locking_ctx(obj);
}

__rust_helper void rust_helper_dma_resv_iter_end(struct dma_resv_iter *cursor)
{
	dma_resv_iter_end(cursor);
}

#endif /* CONFIG_DMA_SHARED_BUFFER */
