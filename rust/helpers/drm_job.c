// SPDX-License-Identifier: GPL-2.0

/*
 * C helpers of the job queues of the Rust DRM layer (rust/kernel/drm/job.rs): the workqueue
 * they run on, which alloc_workqueue(), a macro, makes.
 */

#include <linux/workqueue.h>

#if IS_BUILTIN(CONFIG_DRM)

/*
 * An unbound WQ_MEM_RECLAIM workqueue: a job queue's work items signal fences, which memory
 * reclaim may wait for.
 */
__rust_helper struct workqueue_struct *rust_helper_drm_job_alloc_wq(const char *name)
{
	return alloc_workqueue("%s", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, name);
}

#endif /* IS_BUILTIN(CONFIG_DRM) */
