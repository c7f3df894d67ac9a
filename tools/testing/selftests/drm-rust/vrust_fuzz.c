// SPDX-License-Identifier: GPL-2.0
/*
 * A structure-aware fuzzer of vrust's uapi (include/uapi/drm/vrust_drm.h) and of the core
 * ioctls the driver gets: random but plausible arguments for every vrust ioctl, GEM_CLOSE, the
 * dumb buffer ioctls, PRIME export and import, the sync object ioctls (create, destroy, export
 * and import, wait), and mmap()/munmap() and CPU access of buffers. Each thread keeps pools of
 * the buffer handles, VM ids, sync objects, dma-buf fds and mappings it made, and picks mostly
 * valid values from them, with some off by one, zero, huge and stale ones. EXECs are
 * synchronous or asynchronous, with in-syncs and out-syncs (binary or timeline points) of those
 * sync objects; sync object fds are published between the threads like the dma-bufs, so that
 * jobs of one file wait for jobs of the other.
 *
 * The instance's job timeout is FUZZ_JOB_TIMEOUT_MS, and a HANG command is rare
 * (HANG_PER_MILLE of the EXECs): a hung job holds its file's queue for a timeout, and a
 * synchronous EXEC of it its thread.
 *
 * Several threads (VRUST_FUZZ_THREADS, default 4) share one file on the primary node; one more
 * thread has its own file on the render node; dma-buf fds are published between them, so that
 * buffers go from file to file. The run stops after VRUST_FUZZ_CALLS calls (default 100000);
 * VRUST_FUZZ_SEED sets the seed (printed either way).
 *
 * Checks: a failing call fails with an errno of the allowed set, a call whose arguments are
 * invalid for sure fails, a few facts of successful calls hold, CPU access of a mapping never
 * faults; once everything is closed, the device's VRUST_PARAM_LIVE_BUFFERS is back to its
 * baseline and MemAvailable within 3%. The second test runs the same fuzzer with failslab and
 * fail_page_alloc failing allocations of the fuzzing threads only (task-filter and
 * /proc/thread-self/make-it-fail), and also checks that faults were injected; it skips when the
 * kernel has no fault injection in debugfs. VRUST_FUZZ_FAIL_PERCENT sets the probability of a
 * fault (default 2).
 *
 * Needs root, configfs, debugfs and the vrust module loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096ULL
/* Fuzzing threads at most, sharing a file; one more has its own. */
#define MAX_THREADS	16
/* Entries of each pool of a thread, and closed values it remembers. */
#define POOL		16
#define STALE		8
/* dma-buf fds published to every thread. */
#define NR_PUBLISHED	16
/* Memory the kernel may write for a thread; a read-only page before, a PROT_NONE page after. */
#define SCRATCH_SIZE	(4ULL << 20)
/* The job timeout of the fuzzed instance, in milliseconds. */
#define FUZZ_JOB_TIMEOUT_MS	50
/* EXECs with a HANG command, per thousand. */
#define HANG_PER_MILLE	5
/* Sync object fds a thread keeps published at most; older ones it closes. */
#define NR_SYNC_FDS	4
/* The longest a sync object wait of the fuzzer lasts, in ms. */
#define SYNC_WAIT_MAX_MS	2
/* The largest buffer the fuzzer means to make: 4 MiB. */
#define BO_MAX_PAGES	1024ULL
/* GPU addresses of valid binds: the first 32 MiB of a VM, so that EXECs stay short. */
#define GPU_WINDOW	(32ULL << 20)
/* Unexpected results printed, at most. */
#define MAX_BAD_LOGGED	20
#define MAX_ERRNO	160
/* MemAvailable may be lower by this much at the end, in percent. */
#define MEM_SLACK_PCT	3

/* What a step of the fuzzer does: an ioctl, or an mmap(), munmap(), close() or CPU access. */
enum fz_op {
	OP_GET_PARAM,
	OP_COUNTER,
	OP_SET_DEVICE_VALUE,
	OP_REVERSE,
	OP_GEM_CREATE,
	OP_GEM_INFO,
	OP_GEM_PWRITE,
	OP_GEM_PREAD,
	OP_VM_CREATE,
	OP_VM_DESTROY,
	OP_VM_BIND,
	OP_VM_QUERY,
	OP_EXEC,
	OP_RAW,
	OP_GEM_CLOSE,
	OP_CREATE_DUMB,
	OP_MAP_DUMB,
	OP_DESTROY_DUMB,
	OP_PRIME_EXPORT,
	OP_PRIME_IMPORT,
	OP_DMABUF_CLOSE,
	OP_MMAP,
	OP_MUNMAP,
	OP_TOUCH,
	OP_SYNCOBJ_CREATE,
	OP_SYNCOBJ_DESTROY,
	OP_SYNCOBJ_EXPORT,
	OP_SYNCOBJ_IMPORT,
	OP_SYNCOBJ_WAIT,
	NR_OPS,
};

static const char *const op_names[NR_OPS] = {
	[OP_GET_PARAM] = "GET_PARAM",
	[OP_COUNTER] = "COUNTER",
	[OP_SET_DEVICE_VALUE] = "SET_DEVICE_VALUE",
	[OP_REVERSE] = "REVERSE",
	[OP_GEM_CREATE] = "GEM_CREATE",
	[OP_GEM_INFO] = "GEM_INFO",
	[OP_GEM_PWRITE] = "GEM_PWRITE",
	[OP_GEM_PREAD] = "GEM_PREAD",
	[OP_VM_CREATE] = "VM_CREATE",
	[OP_VM_DESTROY] = "VM_DESTROY",
	[OP_VM_BIND] = "VM_BIND",
	[OP_VM_QUERY] = "VM_QUERY",
	[OP_EXEC] = "EXEC",
	[OP_RAW] = "raw vrust ioctl",
	[OP_GEM_CLOSE] = "GEM_CLOSE",
	[OP_CREATE_DUMB] = "MODE_CREATE_DUMB",
	[OP_MAP_DUMB] = "MODE_MAP_DUMB",
	[OP_DESTROY_DUMB] = "MODE_DESTROY_DUMB",
	[OP_PRIME_EXPORT] = "PRIME_HANDLE_TO_FD",
	[OP_PRIME_IMPORT] = "PRIME_FD_TO_HANDLE",
	[OP_DMABUF_CLOSE] = "close(dma-buf)",
	[OP_MMAP] = "mmap",
	[OP_MUNMAP] = "munmap",
	[OP_TOUCH] = "CPU access",
	[OP_SYNCOBJ_CREATE] = "SYNCOBJ_CREATE",
	[OP_SYNCOBJ_DESTROY] = "SYNCOBJ_DESTROY",
	[OP_SYNCOBJ_EXPORT] = "SYNCOBJ_HANDLE_TO_FD",
	[OP_SYNCOBJ_IMPORT] = "SYNCOBJ_FD_TO_HANDLE",
	[OP_SYNCOBJ_WAIT] = "SYNCOBJ_(TIMELINE_)WAIT",
};

/* How often each step is chosen, relative to the others. */
static const unsigned int op_weights[NR_OPS] = {
	[OP_GET_PARAM] = 4,
	[OP_COUNTER] = 3,
	[OP_SET_DEVICE_VALUE] = 2,
	[OP_REVERSE] = 4,
	[OP_GEM_CREATE] = 10,
	[OP_GEM_INFO] = 6,
	[OP_GEM_PWRITE] = 5,
	[OP_GEM_PREAD] = 5,
	[OP_VM_CREATE] = 4,
	[OP_VM_DESTROY] = 2,
	[OP_VM_BIND] = 14,
	[OP_VM_QUERY] = 4,
	[OP_EXEC] = 9,
	[OP_RAW] = 2,
	[OP_GEM_CLOSE] = 7,
	[OP_CREATE_DUMB] = 4,
	[OP_MAP_DUMB] = 3,
	[OP_DESTROY_DUMB] = 2,
	[OP_PRIME_EXPORT] = 5,
	[OP_PRIME_IMPORT] = 5,
	[OP_DMABUF_CLOSE] = 3,
	[OP_MMAP] = 5,
	[OP_MUNMAP] = 4,
	[OP_TOUCH] = 4,
	[OP_SYNCOBJ_CREATE] = 3,
	[OP_SYNCOBJ_DESTROY] = 2,
	[OP_SYNCOBJ_EXPORT] = 1,
	[OP_SYNCOBJ_IMPORT] = 1,
	[OP_SYNCOBJ_WAIT] = 2,
};

/* The errnos a failing call may return. */
static const int allowed_errnos[] = {
	EINVAL, ENOENT, ENOMEM, EFAULT, ENOSPC, EACCES, EPERM, EOVERFLOW, ENODEV, E2BIG,
	ERANGE, EINTR, EBADF, ENOTTY, EBUSY, EAGAIN, EOPNOTSUPP,
};

/*
 * More errnos some calls may return: ETIME for an EXEC whose job hung or waited for a job that
 * failed (exec_step() checks which), for a synchronous VM_BIND that waited for one, and for a
 * sync object wait that timed out.
 */
static const int op_errnos[NR_OPS][2] = {
	[OP_EXEC] = { ETIME },
	[OP_VM_BIND] = { ETIME },
	[OP_SYNCOBJ_WAIT] = { ETIME },
};

/* A buffer handle of a thread's pool, with what the thread knows of the buffer. */
struct fz_bo {
	__u32 handle;
	__u64 size;
	__u64 offset;
};

struct fz_dmabuf {
	int fd;
	__u64 size;
};

struct fz_map {
	unsigned char *addr;
	size_t len;
	bool writable;
};

/* A sync object of a thread's pool, and the last timeline point the thread gave it. */
struct fz_sync {
	__u32 handle;
	__u64 point;
};

/**
 * struct fz_pools - what a thread made and has not closed, and what it closed lately
 * @bos: buffer handles in the thread's file
 * @vms: VM ids in the thread's file
 * @bufs: dma-buf fds
 * @maps: CPU mappings of buffers
 * @syncs: sync objects in the thread's file
 * @sync_fds: sync object fds it exported and published (ring), or -1
 * @sync_fd_pos: the next entry of @sync_fds
 * @stale_handles: closed handles (ring)
 * @stale_vms: destroyed VM ids (ring)
 * @stale_fds: closed fd numbers (ring)
 * @stale_syncs: destroyed sync object handles (ring)
 * @binds: GPU ranges mapped lately (ring), where EXEC commands go most of the time
 * @nbinds: entries of @binds in use
 */
struct fz_pools {
	struct fz_bo bos[POOL];
	int nbos;
	__u32 vms[POOL];
	int nvms;
	struct fz_dmabuf bufs[POOL];
	int nbufs;
	struct fz_map maps[POOL];
	int nmaps;
	struct fz_sync syncs[POOL];
	int nsyncs;
	int sync_fds[NR_SYNC_FDS];
	unsigned int sync_fd_pos;
	__u32 stale_handles[STALE];
	__u32 stale_vms[STALE];
	int stale_fds[STALE];
	unsigned int stale_pos;
	__u32 stale_syncs[STALE];
	unsigned int stale_sync_pos;
	struct { __u64 addr, range; } binds[STALE];
	unsigned int nbinds;
};

struct fz_stats {
	__u64 calls[NR_OPS];
	__u64 fails[NR_OPS];
	__u32 errs[NR_OPS][MAX_ERRNO];
};

/**
 * struct fuzzer - one run of the fuzzer
 * @total: calls to make
 * @calls: calls made
 * @published: dma-buf fds any thread may import (they may be closed meanwhile)
 * @published_syncs: sync object fds any thread may import (likewise)
 * @lock: protects @bad and @bad_log
 * @bad: unexpected results
 * @bad_log: the first of them
 * @fault: the threads make their allocations fail (make-it-fail)
 * @fault_errors: threads that could not switch make-it-fail
 */
struct fuzzer {
	__u64 total;
	atomic_ullong calls;
	atomic_int published[NR_PUBLISHED];
	atomic_int published_syncs[NR_PUBLISHED];
	pthread_mutex_t lock;
	unsigned int bad;
	char bad_log[MAX_BAD_LOGGED][448];
	bool fault;
	atomic_int fault_errors;
};

/**
 * struct fz_thread - a fuzzing thread
 * @fz: the run
 * @tid: the thread
 * @idx: its number
 * @fd: its file
 * @node: DRM_NODE_PRIMARY or DRM_NODE_RENDER, the node of @fd
 * @rng: its random state
 * @p: its pools
 * @area: the mapping holding @scratch with its guard pages
 * @scratch: SCRATCH_SIZE bytes of user memory for the kernel to read and write
 * @cmds: room for the commands of an EXEC
 * @desc: the call being made, for messages
 * @expect_fail: the call's arguments are invalid for sure
 * @st: counts of calls and errnos
 */
struct fz_thread {
	struct fuzzer *fz;
	pthread_t tid;
	int idx;
	int fd;
	int node;
	__u64 rng;
	struct fz_pools p;
	unsigned char *area;
	unsigned char *scratch;
	struct drm_vrust_cmd *cmds;
	char desc[320];
	bool expect_fail;
	struct fz_stats st;
};

/* Random numbers: xorshift64*, one state per thread. */
static __u64 rnd64(struct fz_thread *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dULL;
}

/* A number below @n (0 when @n is 0). */
static __u64 rnd(struct fz_thread *t, __u64 n)
{
	return n ? rnd64(t) % n : 0;
}

static bool chance(struct fz_thread *t, unsigned int percent)
{
	return rnd(t, 100) < percent;
}

/* One of @n values. */
static __u64 pick_of(struct fz_thread *t, const __u64 *v, unsigned int n)
{
	return v[rnd(t, n)];
}

#define PICK(t, ...) ({ \
	const __u64 __v[] = { __VA_ARGS__ }; \
	pick_of(t, __v, ARRAY_SIZE(__v)); \
})

/* A 64-bit value that tends to sit at the edges. */
static __u64 pick_u64(struct fz_thread *t)
{
	switch (rnd(t, 4)) {
	case 0:
		return PICK(t, 0, 1, PAGE - 1, PAGE, PAGE + 1, 1ULL << 31, 1ULL << 32, ~0ULL,
			    ~0ULL - 1, 1ULL << 63, (1ULL << 63) - 1, 0xffffffffULL);
	case 1:
		return rnd(t, 1 << 16);
	case 2:
		return 1ULL << rnd(t, 64);
	default:
		return rnd64(t);
	}
}

static bool errno_allowed(enum fz_op op, int e)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(allowed_errnos); i++)
		if (allowed_errnos[i] == e)
			return true;
	for (i = 0; i < ARRAY_SIZE(op_errnos[op]); i++)
		if (op_errnos[op][i] == e)
			return true;
	return false;
}

/* Notes an unexpected result; the first MAX_BAD_LOGGED are kept for the report. */
static void __printf(2, 3) fz_bad(struct fz_thread *t, const char *fmt, ...)
{
	struct fuzzer *fz = t->fz;
	va_list ap;

	pthread_mutex_lock(&fz->lock);
	if (fz->bad < MAX_BAD_LOGGED) {
		char *s = fz->bad_log[fz->bad];
		int n = snprintf(s, sizeof(fz->bad_log[0]), "thread %d, call %llu: ", t->idx,
				 (unsigned long long)atomic_load(&fz->calls));

		va_start(ap, fmt);
		vsnprintf(s + n, sizeof(fz->bad_log[0]) - n, fmt, ap);
		va_end(ap);
	}
	fz->bad++;
	pthread_mutex_unlock(&fz->lock);
}

#define DESC(t, fmt, ...) snprintf((t)->desc, sizeof((t)->desc), fmt, ##__VA_ARGS__)

/* Counts a call that returned @ret (0 or -errno) and checks its errno. */
static void record(struct fz_thread *t, enum fz_op op, int ret)
{
	t->st.calls[op]++;
	atomic_fetch_add_explicit(&t->fz->calls, 1, memory_order_relaxed);
	if (ret) {
		t->st.fails[op]++;
		t->st.errs[op][-ret < MAX_ERRNO ? -ret : 0]++;
		if (!errno_allowed(op, -ret))
			fz_bad(t, "%s failed with %s (%d), not an allowed errno", t->desc,
			       vrust_errname(-ret), ret);
	} else if (t->expect_fail) {
		fz_bad(t, "%s succeeded, but its arguments are invalid", t->desc);
	}
	t->expect_fail = false;
}

static int fz_ioctl(struct fz_thread *t, enum fz_op op, unsigned long req, void *arg)
{
	int ret = vrust_ioctl(t->fd, req, arg);

	record(t, op, ret);
	return ret;
}

/* Pools ------------------------------------------------------------------------------------ */

static void stale_push(struct fz_thread *t, __u32 handle, __u32 vm, int fd)
{
	unsigned int i = t->p.stale_pos++ % STALE;

	if (handle)
		t->p.stale_handles[i] = handle;
	if (vm)
		t->p.stale_vms[i] = vm;
	if (fd >= 0)
		t->p.stale_fds[i] = fd;
}

static struct fz_bo *bo_find(struct fz_thread *t, __u32 handle)
{
	int i;

	for (i = 0; i < t->p.nbos; i++)
		if (t->p.bos[i].handle == handle)
			return &t->p.bos[i];
	return NULL;
}

static void bo_forget(struct fz_thread *t, __u32 handle)
{
	struct fz_bo *bo = bo_find(t, handle);

	if (bo)
		*bo = t->p.bos[--t->p.nbos];
	stale_push(t, handle, 0, -1);
}

static void vm_forget(struct fz_thread *t, __u32 vm)
{
	int i;

	for (i = 0; i < t->p.nvms; i++) {
		if (t->p.vms[i] == vm) {
			t->p.vms[i] = t->p.vms[--t->p.nvms];
			break;
		}
	}
	stale_push(t, 0, vm, -1);
}

static void gem_close_step(struct fz_thread *t, __u32 handle);
static void vm_destroy_step(struct fz_thread *t, __u32 vm);
static void dmabuf_close_step(struct fz_thread *t, int i);
static void munmap_step(struct fz_thread *t, int i);

/* Makes room in a full pool by closing one of its entries (a call of its own). */
static void bo_room(struct fz_thread *t)
{
	if (t->p.nbos == POOL)
		gem_close_step(t, t->p.bos[rnd(t, POOL)].handle);
}

static void bo_add(struct fz_thread *t, __u32 handle, __u64 size, __u64 offset)
{
	bo_room(t);
	if (t->p.nbos < POOL)
		t->p.bos[t->p.nbos++] = (struct fz_bo){ handle, size, offset };
}

/* A buffer handle: mostly one of the pool (then *@bo is its entry), sometimes not. */
static __u32 pick_handle(struct fz_thread *t, struct fz_bo **bo)
{
	unsigned int r = rnd(t, 100);
	struct fz_bo *b = t->p.nbos ? &t->p.bos[rnd(t, t->p.nbos)] : NULL;

	*bo = NULL;
	if (b && r < 75) {
		*bo = b;
		return b->handle;
	}
	if (r < 83)
		return t->p.stale_handles[rnd(t, STALE)];
	if (b && r < 88)
		return b->handle + (chance(t, 50) ? 1 : -1);
	if (r < 92)
		return 0;
	if (r < 96)
		return PICK(t, 0xffffffff, 0x80000000, 0x7fffffff, 0x10000) ^ rnd(t, 2);
	return 1 + rnd(t, 64);
}

/* A VM id: mostly one of the pool, sometimes not. */
static __u32 pick_vm(struct fz_thread *t)
{
	unsigned int r = rnd(t, 100);

	if (t->p.nvms && r < 80)
		return t->p.vms[rnd(t, t->p.nvms)];
	if (r < 87)
		return t->p.stale_vms[rnd(t, STALE)];
	if (t->p.nvms && r < 92)
		return t->p.vms[rnd(t, t->p.nvms)] + (chance(t, 50) ? 1 : -1);
	if (r < 95)
		return 0;
	if (r < 98)
		return PICK(t, 0xffffffff, 0x80000000, VRUST_MAX_VMS_PER_FILE,
			    VRUST_MAX_VMS_PER_FILE + 1);
	return 1 + rnd(t, 8);
}

static struct fz_sync *sync_find(struct fz_thread *t, __u32 handle)
{
	int i;

	for (i = 0; i < t->p.nsyncs; i++)
		if (t->p.syncs[i].handle == handle)
			return &t->p.syncs[i];
	return NULL;
}

static void sync_forget(struct fz_thread *t, __u32 handle)
{
	struct fz_sync *so = sync_find(t, handle);

	if (so)
		*so = t->p.syncs[--t->p.nsyncs];
	t->p.stale_syncs[t->p.stale_sync_pos++ % STALE] = handle;
}

static void syncobj_destroy_step(struct fz_thread *t, __u32 handle);

static void sync_add(struct fz_thread *t, __u32 handle)
{
	if (t->p.nsyncs == POOL)
		syncobj_destroy_step(t, t->p.syncs[rnd(t, POOL)].handle);
	if (t->p.nsyncs < POOL && !sync_find(t, handle))
		t->p.syncs[t->p.nsyncs++] = (struct fz_sync){ handle, 0 };
}

/* A sync object handle: mostly one of the pool (then *@so is its entry), sometimes not. */
static __u32 pick_sync(struct fz_thread *t, struct fz_sync **so)
{
	unsigned int r = rnd(t, 100);
	struct fz_sync *e = t->p.nsyncs ? &t->p.syncs[rnd(t, t->p.nsyncs)] : NULL;

	*so = NULL;
	if (e && r < 80) {
		*so = e;
		return e->handle;
	}
	if (r < 88)
		return t->p.stale_syncs[rnd(t, STALE)];
	if (e && r < 92)
		return e->handle + (chance(t, 50) ? 1 : -1);
	if (r < 95)
		return 0;
	return PICK(t, 0xffffffff, 0x80000000, 1, 2, 0x10000);
}

/* A timeline point of sync object @so (NULL: unknown): mostly 0, else near its last point. */
static __u64 pick_point(struct fz_thread *t, struct fz_sync *so, bool out)
{
	__u64 last = so ? so->point : 0;
	unsigned int r = rnd(t, 100);

	if (r < 55)
		return 0;
	if (r < 80)
		return out ? last + 1 + rnd(t, 3) : 1 + rnd(t, last + 1);
	if (r < 92)
		return last + rnd(t, 3);
	return pick_u64(t);
}

/*
 * A user address for *@len bytes. Mostly in the thread's scratch memory, which the kernel may
 * read and write; sometimes in a CPU mapping of a buffer (then *@len is cut to fit, so that
 * nothing past the mapping is touched), across the end of the scratch memory into its guard
 * page, on its read-only page, or not user memory at all. Lengths beyond the scratch memory
 * always get its start: a kernel that copies more than it should hits the guard page.
 */
static __u64 pick_uptr(struct fz_thread *t, __u64 *len)
{
	unsigned int r = rnd(t, 100);
	struct fz_map *m;
	__u64 off;

	if (*len > SCRATCH_SIZE)
		return (uintptr_t)t->scratch;
	if (r < 70)
		return (uintptr_t)t->scratch + rnd(t, SCRATCH_SIZE - *len + 1);
	if (r < 82 && t->p.nmaps) {
		m = &t->p.maps[rnd(t, t->p.nmaps)];
		off = rnd(t, m->len);
		if (*len > m->len - off)
			*len = m->len - off;
		return (uintptr_t)m->addr + off;
	}
	if (r < 87)
		return (uintptr_t)t->scratch + SCRATCH_SIZE - rnd(t, *len + 1);
	if (r < 90)
		return (uintptr_t)t->scratch - PAGE + rnd(t, PAGE);
	return PICK(t, 0, 8, PAGE, 0xffff888000000000ULL, ~0ULL - 7, 1ULL << 47,
		    (1ULL << 47) - PAGE);
}

/* Steps ------------------------------------------------------------------------------------ */

static void get_param_step(struct fz_thread *t)
{
	struct drm_vrust_get_param a = {};

	a.param = chance(t, 85) ? 1 + rnd(t, 6) : PICK(t, 0, 7, 0x100, 0xffffffff);
	if (a.param < VRUST_PARAM_API_VERSION || a.param > VRUST_PARAM_LIVE_BUFFERS)
		t->expect_fail = true;
	if (chance(t, 3)) {
		a.pad = 1 + rnd(t, 0xffff);
		t->expect_fail = true;
	}
	DESC(t, "GET_PARAM(param %u, pad %u)", a.param, a.pad);
	if (fz_ioctl(t, OP_GET_PARAM, DRM_IOCTL_VRUST_GET_PARAM, &a))
		return;
	if (a.param == VRUST_PARAM_API_VERSION && a.value != VRUST_API_VERSION)
		fz_bad(t, "%s: version %llu", t->desc, (unsigned long long)a.value);
	if (a.param == VRUST_PARAM_NODE_TYPE &&
	    a.value != (t->node == DRM_NODE_RENDER ? VRUST_NODE_RENDER : VRUST_NODE_PRIMARY))
		fz_bad(t, "%s: node type %llu", t->desc, (unsigned long long)a.value);
}

static void counter_step(struct fz_thread *t)
{
	struct drm_vrust_counter a = { .add = chance(t, 80) ? rnd(t, 1000) : pick_u64(t) };

	DESC(t, "COUNTER(add %#llx)", (unsigned long long)a.add);
	if (!fz_ioctl(t, OP_COUNTER, DRM_IOCTL_VRUST_COUNTER, &a) && a.value < a.add)
		fz_bad(t, "%s: counter %#llx is below what was added", t->desc,
		       (unsigned long long)a.value);
}

static void set_device_value_step(struct fz_thread *t)
{
	struct drm_vrust_set_device_value a = { .value = pick_u64(t) };

	/* Primary node only. */
	t->expect_fail = t->node == DRM_NODE_RENDER;
	DESC(t, "SET_DEVICE_VALUE(%#llx) on the %s node", (unsigned long long)a.value,
	     t->node == DRM_NODE_RENDER ? "render" : "primary");
	fz_ioctl(t, OP_SET_DEVICE_VALUE, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &a);
}

static void reverse_step(struct fz_thread *t)
{
	struct drm_vrust_reverse a = {};
	unsigned int r = rnd(t, 100);
	__u64 len;

	if (r < 70)
		len = rnd(t, PAGE + 1);
	else if (r < 88)
		len = rnd(t, VRUST_REVERSE_MAX_LEN + 1);
	else if (r < 92)
		len = VRUST_REVERSE_MAX_LEN;
	else
		len = PICK(t, VRUST_REVERSE_MAX_LEN + 1, 1ULL << 20, 0xffffffff);
	if (len > VRUST_REVERSE_MAX_LEN) {
		a.src = (uintptr_t)t->scratch;
		a.dst = (uintptr_t)t->scratch;
		t->expect_fail = true;
	} else {
		a.dst = pick_uptr(t, &len);
		a.src = pick_uptr(t, &len);
	}
	a.len = len;
	if (chance(t, 2)) {
		a.pad = 1;
		t->expect_fail = true;
	}
	DESC(t, "REVERSE(src %#llx, dst %#llx, len %u, pad %u)", (unsigned long long)a.src,
	     (unsigned long long)a.dst, a.len, a.pad);
	fz_ioctl(t, OP_REVERSE, DRM_IOCTL_VRUST_REVERSE, &a);
}

/* A buffer size: mostly small, sometimes up to 4 MiB; invalid ones are marked. */
static __u64 pick_bo_size(struct fz_thread *t)
{
	unsigned int r = rnd(t, 100);

	if (r < 55)
		return 1 + rnd(t, 16 * PAGE);
	if (r < 80)
		return 1 + rnd(t, 256 << 10);
	if (r < 87)
		return 1 + rnd(t, BO_MAX_PAGES * PAGE);
	if (r < 92)
		return PAGE * (1 + rnd(t, 64));
	t->expect_fail = true;
	return PICK(t, 0, VRUST_BO_MAX_SIZE + 1, VRUST_BO_MAX_SIZE + PAGE, 1ULL << 62, ~0ULL,
		    ~0ULL - PAGE + 2);
}

static void gem_create_step(struct fz_thread *t)
{
	struct drm_vrust_gem_create a = {};

	bo_room(t);
	a.size = pick_bo_size(t);
	if (chance(t, 15))
		a.flags = VRUST_BO_WRITE_COMBINED;
	if (chance(t, 5)) {
		a.flags = PICK(t, VRUST_BO_IMPORTED, VRUST_BO_DUMB, 1u << 31, 0xffffffff, 8);
		t->expect_fail = true;
	}
	DESC(t, "GEM_CREATE(size %#llx, flags %#x)", (unsigned long long)a.size, a.flags);
	if (fz_ioctl(t, OP_GEM_CREATE, DRM_IOCTL_VRUST_GEM_CREATE, &a))
		return;
	if (!a.handle)
		fz_bad(t, "%s: handle 0", t->desc);
	bo_add(t, a.handle, (a.size + PAGE - 1) & ~(PAGE - 1), 0);
}

static void gem_info_step(struct fz_thread *t)
{
	struct drm_vrust_gem_info a = {};
	struct fz_bo *bo;

	a.handle = pick_handle(t, &bo);
	t->expect_fail = !a.handle;
	DESC(t, "GEM_INFO(handle %u)", a.handle);
	if (fz_ioctl(t, OP_GEM_INFO, DRM_IOCTL_VRUST_GEM_INFO, &a))
		return;
	if (!a.size || a.size % PAGE || !a.offset || a.offset % PAGE ||
	    a.flags & ~(VRUST_BO_WRITE_COMBINED | VRUST_BO_IMPORTED | VRUST_BO_DUMB))
		fz_bad(t, "%s: size %#llx, offset %#llx, flags %#x", t->desc,
		       (unsigned long long)a.size, (unsigned long long)a.offset, a.flags);
	bo = bo_find(t, a.handle);
	if (bo) {
		bo->size = a.size;
		bo->offset = a.offset;
	}
}

static void gem_rw_step(struct fz_thread *t, bool write)
{
	struct drm_vrust_gem_rw a = {};
	struct fz_bo *bo;
	__u64 size, room, len;
	unsigned int r;

	a.handle = pick_handle(t, &bo);
	size = bo && bo->size ? bo->size : PAGE * (1 + rnd(t, 4));
	r = rnd(t, 100);
	if (r < 75)
		a.offset = rnd(t, size);
	else if (r < 85)
		a.offset = size;
	else if (r < 90)
		a.offset = size + 1;
	else
		a.offset = pick_u64(t);
	room = a.offset < size ? size - a.offset : 0;
	r = rnd(t, 100);
	if (r < 70)
		len = rnd(t, (room < (64 << 10) ? room : (64 << 10)) + 1);
	else if (r < 82)
		len = room;
	else if (r < 90)
		len = room + 1;
	else
		len = pick_u64(t);
	a.ptr = pick_uptr(t, &len);
	a.size = len;
	if (chance(t, 2)) {
		a.pad = 1 + rnd(t, 0xff);
		t->expect_fail = true;
	}
	if (!a.handle)
		t->expect_fail = true;
	DESC(t, "GEM_%s(handle %u, offset %#llx, size %#llx, ptr %#llx, pad %u)",
	     write ? "PWRITE" : "PREAD", a.handle, (unsigned long long)a.offset,
	     (unsigned long long)a.size, (unsigned long long)a.ptr, a.pad);
	fz_ioctl(t, write ? OP_GEM_PWRITE : OP_GEM_PREAD,
		 write ? DRM_IOCTL_VRUST_GEM_PWRITE : DRM_IOCTL_VRUST_GEM_PREAD, &a);
}

static void vm_create_step(struct fz_thread *t)
{
	struct drm_vrust_vm_create a = {};

	if (t->p.nvms == POOL)
		vm_destroy_step(t, t->p.vms[rnd(t, POOL)]);
	if (chance(t, 3)) {
		a.pad = 1 + rnd(t, 0xff);
		t->expect_fail = true;
	}
	DESC(t, "VM_CREATE(pad %u)", a.pad);
	if (fz_ioctl(t, OP_VM_CREATE, DRM_IOCTL_VRUST_VM_CREATE, &a))
		return;
	if (!a.vm_id)
		fz_bad(t, "%s: VM id 0", t->desc);
	if (t->p.nvms < POOL)
		t->p.vms[t->p.nvms++] = a.vm_id;
}

static void vm_destroy_step(struct fz_thread *t, __u32 vm)
{
	struct drm_vrust_vm_destroy a = { .vm_id = vm };

	if (chance(t, 2)) {
		a.pad = 1;
		t->expect_fail = true;
	}
	if (!a.vm_id)
		t->expect_fail = true;
	DESC(t, "VM_DESTROY(vm %u, pad %u)", a.vm_id, a.pad);
	if (!fz_ioctl(t, OP_VM_DESTROY, DRM_IOCTL_VRUST_VM_DESTROY, &a))
		vm_forget(t, a.vm_id);
}

/* A GPU address: mostly page aligned in the window of valid binds. */
static __u64 pick_gpu_addr(struct fz_thread *t, bool *invalid)
{
	if (chance(t, 88))
		return VRUST_VM_START + rnd(t, GPU_WINDOW / PAGE) * PAGE;
	*invalid = true;
	return PICK(t, 0, VRUST_VM_START - PAGE, VRUST_VM_START + VRUST_VM_SIZE,
		    VRUST_VM_START + 1, ~0ULL & ~(PAGE - 1), 1ULL << 63);
}

static __u64 pick_in_syncs(struct fz_thread *t, __u32 *nin);
static void pick_out_sync(struct fz_thread *t, struct drm_vrust_sync *out, struct fz_sync **so);

static void vm_bind_step(struct fz_thread *t)
{
	struct drm_vrust_vm_bind a = {};
	bool invalid = false;
	struct fz_bo *bo = NULL;
	struct fz_sync *out_so;
	__u64 size, pages;
	unsigned int r = rnd(t, 100);
	int ret;

	t->expect_fail = false;

	a.vm_id = pick_vm(t);
	a.op = r < 55 ? VRUST_BIND_MAP : r < 95 ? VRUST_BIND_UNMAP : PICK(t, 0, 3, 0xffffffff);
	a.addr = pick_gpu_addr(t, &invalid);
	if (a.op == VRUST_BIND_MAP) {
		a.handle = pick_handle(t, &bo);
		size = bo && bo->size ? bo->size : PAGE * (1 + rnd(t, 16));
		pages = size / PAGE;
		r = rnd(t, 100);
		if (r < 85) {
			a.offset = rnd(t, pages) * PAGE;
			a.range = (1 + rnd(t, pages - a.offset / PAGE)) * PAGE;
		} else if (r < 90) {
			a.offset = 0;
			a.range = size + PAGE;
		} else {
			a.offset = PICK(t, 1, PAGE - 1, ~0ULL & ~(PAGE - 1), size);
			a.range = PICK(t, 0, PAGE, PAGE + 1, 1ULL << 40);
		}
		if (!a.handle)
			invalid = true;
	} else {
		a.range = chance(t, 90) ? (1 + rnd(t, GPU_WINDOW / PAGE / 4)) * PAGE :
					  PICK(t, 0, 1, GPU_WINDOW, VRUST_VM_SIZE,
					       ~0ULL & ~(PAGE - 1));
		if (chance(t, 2))
			a.handle = 1 + rnd(t, 4);
		if (chance(t, 2))
			a.offset = PAGE;
		if (a.handle || a.offset)
			invalid = a.op == VRUST_BIND_UNMAP;
	}
	if (chance(t, 2))
		a.pad = 1;
	/* A bind is a job: asynchronous or not, with in- and out-syncs as an EXEC's. */
	if (chance(t, 30))
		a.flags = VRUST_BIND_ASYNC;
	if (chance(t, 2)) {
		a.flags |= 1u << (1 + rnd(t, 31));
		invalid = true;
	}
	a.in_syncs = pick_in_syncs(t, &a.num_in_syncs);
	pick_out_sync(t, &a.out_sync, &out_so);
	if (chance(t, 2))
		a.addr |= 1 + rnd(t, PAGE - 1);
	if (a.op != VRUST_BIND_MAP && a.op != VRUST_BIND_UNMAP)
		invalid = true;
	if (a.pad || !a.vm_id || !a.range || (a.addr | a.range | a.offset) % PAGE ||
	    a.addr < VRUST_VM_START || a.addr >= VRUST_VM_START + VRUST_VM_SIZE)
		invalid = true;
	t->expect_fail |= invalid;
	DESC(t,
	     "VM_BIND(vm %u, op %u, handle %u, flags %#x, pad %u, addr %#llx, range %#llx, offset %#llx, in %u at %#llx, out %u:%llu)",
	     a.vm_id, a.op, a.handle, a.flags, a.pad, (unsigned long long)a.addr,
	     (unsigned long long)a.range, (unsigned long long)a.offset, a.num_in_syncs,
	     (unsigned long long)a.in_syncs, a.out_sync.handle,
	     (unsigned long long)a.out_sync.point);
	ret = fz_ioctl(t, OP_VM_BIND, DRM_IOCTL_VRUST_VM_BIND, &a);
	if (!ret && a.op == VRUST_BIND_MAP) {
		unsigned int i = t->p.nbinds++ % STALE;

		t->p.binds[i].addr = a.addr;
		t->p.binds[i].range = a.range;
	}
	/* As after an EXEC: the sync object has the bind's fence now. */
	if (!ret && out_so && out_so->handle == a.out_sync.handle)
		out_so->point = a.out_sync.point > out_so->point || !a.out_sync.point ?
				a.out_sync.point : out_so->point;
}

static void vm_query_step(struct fz_thread *t)
{
	struct drm_vrust_vm_query a = {};
	unsigned int r = rnd(t, 100);
	__u64 len;

	a.vm_id = pick_vm(t);
	if (r < 60)
		a.count = rnd(t, 65);
	else if (r < 75)
		a.count = VRUST_VM_MAX_MAPPINGS;
	else if (r < 90)
		a.count = 0;
	else
		a.count = PICK(t, 0xffffffff, 0x80000000, 0x08000000) + rnd(t, 2);
	len = (__u64)a.count * sizeof(struct drm_vrust_vm_mapping);
	a.mappings = pick_uptr(t, &len);
	if (len < (__u64)a.count * sizeof(struct drm_vrust_vm_mapping))
		a.count = len / sizeof(struct drm_vrust_vm_mapping);
	t->expect_fail = !a.vm_id;
	DESC(t, "VM_QUERY(vm %u, count %u, mappings %#llx)", a.vm_id, a.count,
	     (unsigned long long)a.mappings);
	fz_ioctl(t, OP_VM_QUERY, DRM_IOCTL_VRUST_VM_QUERY, &a);
}

/*
 * A GPU address for a command: mostly in a range mapped lately (then *@room is what is left of
 * it), else anywhere in the window of binds, or outside.
 */
static __u64 pick_cmd_addr(struct fz_thread *t, __u64 *room)
{
	unsigned int n = t->p.nbinds < STALE ? t->p.nbinds : STALE;
	bool unused = false;
	__u64 off;

	*room = 0;
	if (n && chance(t, 65)) {
		unsigned int i = rnd(t, n);

		off = rnd(t, t->p.binds[i].range);
		*room = t->p.binds[i].range - off;
		return t->p.binds[i].addr + off;
	}
	if (chance(t, 85))
		return VRUST_VM_START + rnd(t, GPU_WINDOW);
	return pick_gpu_addr(t, &unused);
}

/* A command of an EXEC; @small keeps it short, @huge_left allows one long one per EXEC. */
static struct drm_vrust_cmd pick_cmd(struct fz_thread *t, bool small, bool *huge_left)
{
	struct drm_vrust_cmd c = {};
	unsigned int r = rnd(t, 100);
	__u64 room, src_room;

	/* A HANG is chosen apart, and rarely: exec_step(). */
	c.op = r < 48 ? VRUST_CMD_FILL : r < 96 ? VRUST_CMD_COPY :
		PICK(t, 0, VRUST_CMD_HANG + 1, 0xffffffff);
	c.value = rnd64(t);
	c.dst = pick_cmd_addr(t, &room);
	c.src = pick_cmd_addr(t, &src_room);
	if (c.op == VRUST_CMD_COPY && src_room < room)
		room = src_room;
	r = rnd(t, 100);
	if (room && r < 50) {
		/* Within the mapping (at most a page or a MiB), or just past its end. */
		__u64 cap = small ? PAGE : 1 << 20;

		c.len = 1 + rnd(t, (room < cap ? room : cap) + (chance(t, 10) ? PAGE : 0));
		return c;
	}
	r = rnd(t, 100);
	if (small || r < 60) {
		c.len = 1 + rnd(t, PAGE);
	} else if (r < 85) {
		c.len = 1 + rnd(t, 64 << 10);
	} else if (r < 96 || !*huge_left) {
		c.len = 1 + rnd(t, 1 << 20);
	} else {
		/* Cut short by the window of mappings, or invalid. */
		c.len = PICK(t, 1ULL << 40, ~0ULL, GPU_WINDOW, ~0ULL - VRUST_VM_START);
		*huge_left = false;
	}
	return c;
}

/*
 * The in-syncs of an EXEC: mostly none; else a few (sometimes VRUST_EXEC_MAX_SYNCS, or too many)
 * entries written to the scratch memory at any offset, or a pointer from pick_uptr(). Sets
 * *@nin; marks the EXEC as bound to fail when what it surely reads is invalid.
 */
static __u64 pick_in_syncs(struct fz_thread *t, __u32 *nin)
{
	const size_t size = sizeof(struct drm_vrust_sync);
	unsigned int r = rnd(t, 100), i;
	__u64 len, addr;

	if (r < 70) {
		/* None: the pointer is not read. */
		*nin = 0;
		return chance(t, 90) ? 0 : pick_u64(t);
	}
	if (r < 94) {
		*nin = 1 + rnd(t, 4);
	} else if (r < 97) {
		*nin = VRUST_EXEC_MAX_SYNCS;
	} else {
		*nin = PICK(t, VRUST_EXEC_MAX_SYNCS + 1, 0xffffffff, 0x80000000);
		t->expect_fail = true;
		return (uintptr_t)t->scratch;
	}
	len = (__u64)*nin * size;
	if (chance(t, 8)) {
		/* Anywhere: what the kernel reads there, if anything, is not known. */
		addr = pick_uptr(t, &len);
		*nin = len / size;
		return addr;
	}
	addr = (uintptr_t)t->scratch + rnd(t, SCRATCH_SIZE - len + 1);
	for (i = 0; i < *nin; i++) {
		struct drm_vrust_sync in = {};
		struct fz_sync *so;

		in.handle = pick_sync(t, &so);
		in.point = pick_point(t, so, false);
		if (chance(t, 2))
			in.pad = 1 + rnd(t, 0xffff);
		/* Handle 0 is no sync object (-ENOENT). */
		if (!in.handle || in.pad)
			t->expect_fail = true;
		memcpy((void *)(uintptr_t)(addr + i * size), &in, size);
	}
	return addr;
}

/* The out-sync of an EXEC: mostly none, else one of the pool (or not), binary or a point. */
static void pick_out_sync(struct fz_thread *t, struct drm_vrust_sync *out, struct fz_sync **so)
{
	*so = NULL;
	*out = (struct drm_vrust_sync){};
	if (chance(t, 55))
		return;
	out->handle = pick_sync(t, so);
	out->point = pick_point(t, *so, true);
	if (chance(t, 2)) {
		out->pad = 1 + rnd(t, 0xff);
		t->expect_fail = true;
	}
}

static void exec_step(struct fz_thread *t)
{
	struct drm_vrust_exec a = {};
	bool huge_left = true, small = false, async;
	unsigned int r = rnd(t, 100), i, n;
	struct fz_sync *out_so;
	int ret, hang_at = -1;

	a.vm_id = pick_vm(t);
	if (r < 65) {
		a.count = 1 + rnd(t, 8);
	} else if (r < 72) {
		a.count = 0;
	} else if (r < 85) {
		a.count = 1 + rnd(t, 64);
	} else if (r < 90) {
		a.count = VRUST_EXEC_MAX_CMDS;
		small = true;
	} else {
		a.count = PICK(t, VRUST_EXEC_MAX_CMDS + 1, 0xffffffff, 0x80000000);
		t->expect_fail = true;
	}
	n = a.count <= VRUST_EXEC_MAX_CMDS ? a.count : VRUST_EXEC_MAX_CMDS + 1;
	for (i = 0; i < n; i++)
		t->cmds[i] = pick_cmd(t, small, &huge_left);
#ifdef VRUST_EXEC_MAX_BYTES
	/*
	 * More bytes than one EXEC may move: one long FILL, or (when the limit is small enough to
	 * reach quickly) many FILLs of one page that add up to it.
	 */
	if (chance(t, 2) && a.count && a.count <= VRUST_EXEC_MAX_CMDS) {
		t->cmds[0].op = VRUST_CMD_FILL;
		t->cmds[0].len = (__u64)VRUST_EXEC_MAX_BYTES + 1;
		if ((__u64)VRUST_EXEC_MAX_BYTES <= (64ULL << 20) && chance(t, 50)) {
			a.count = VRUST_EXEC_MAX_CMDS;
			for (i = 0; i < a.count; i++) {
				t->cmds[i] = t->cmds[0];
				t->cmds[i].len = (__u64)VRUST_EXEC_MAX_BYTES / a.count + 1;
			}
		}
	}
#endif
	/* The GPU hangs at this command (if the stream gets there): rare, it costs a timeout. */
	if (a.count && a.count <= VRUST_EXEC_MAX_CMDS && rnd(t, 1000) < HANG_PER_MILLE) {
		hang_at = rnd(t, a.count);
		t->cmds[hang_at] = (struct drm_vrust_cmd){ .op = VRUST_CMD_HANG };
	}
	a.cmds = (uintptr_t)t->cmds;
	r = rnd(t, 100);
	if (r < 3) {
		a.cmds = PICK(t, 0, 8, 0xffff888000000000ULL, ~0ULL - 31);
		hang_at = -1;
	} else if (r < 6 && t->p.nmaps) {
		/* Whatever a buffer holds, as commands; few, as their lengths are anything. */
		struct fz_map *m = &t->p.maps[rnd(t, t->p.nmaps)];

		a.cmds = (uintptr_t)m->addr;
		if (a.count <= VRUST_EXEC_MAX_CMDS)
			a.count = a.count % 4 < m->len / sizeof(struct drm_vrust_cmd) ?
				  a.count % 4 : 0;
		/* It may hold a HANG too (op 3), by chance. */
		hang_at = -2;
	}
	r = rnd(t, 100);
	if (r < 35) {
		a.flags = VRUST_EXEC_ASYNC;
	} else if (r < 38) {
		a.flags = PICK(t, 8, 1u << 31, 0xffffffff, 0x10) | rnd(t, 2);
		t->expect_fail = true;
	}
	/* Sync files in and out: a published sync object or dma-buf fd (often not a sync file). */
	if (chance(t, 10)) {
		a.flags |= VRUST_EXEC_IN_FENCE_FD;
		if (chance(t, 2))
			a.in_fence_fd = t->p.sync_fds[rnd(t, NR_SYNC_FDS)];
		else
			a.in_fence_fd = (int)PICK(t, -1, 0, 1 << 20, t->fd);
	}
	if (chance(t, 10))
		a.flags |= VRUST_EXEC_OUT_FENCE_FD;
	a.out_fence_fd = 0x5eed;
	async = a.flags & VRUST_EXEC_ASYNC;
	a.in_syncs = pick_in_syncs(t, &a.num_in_syncs);
	pick_out_sync(t, &a.out_sync, &out_so);
	if (chance(t, 2)) {
		a.pad = 1;
		t->expect_fail = true;
	}
	if (!a.vm_id)
		t->expect_fail = true;
	a.done = 0xdead;
	DESC(t,
	     "EXEC(vm %u, count %u, cmds %#llx, pad %u, flags %#x, %u in-syncs at %#llx, out-sync %u point %llu pad %u; cmd[0] op %u src %#llx dst %#llx len %#llx; HANG at %d)",
	     a.vm_id, a.count, (unsigned long long)a.cmds, a.pad, a.flags, a.num_in_syncs,
	     (unsigned long long)a.in_syncs, a.out_sync.handle,
	     (unsigned long long)a.out_sync.point, a.out_sync.pad, t->cmds[0].op,
	     (unsigned long long)t->cmds[0].src, (unsigned long long)t->cmds[0].dst,
	     (unsigned long long)t->cmds[0].len, hang_at);
	ret = fz_ioctl(t, OP_EXEC, DRM_IOCTL_VRUST_EXEC, &a);
	/* A sync file only on success, asked for; the kernel says -1 otherwise. */
	if (!ret && (a.flags & VRUST_EXEC_OUT_FENCE_FD)) {
		if (a.out_fence_fd < 0)
			fz_bad(t, "%s succeeded without its out-fence sync file", t->desc);
		else
			close(a.out_fence_fd);
	} else if (a.out_fence_fd != -1 && ret != -ENODEV) {
		/* (-ENODEV: refused by the core, before the driver saw it.) */
		fz_bad(t, "%s: out_fence_fd %d", t->desc, a.out_fence_fd);
	}
	if (async) {
		/* Returns before the job runs: nothing done, and no job outcome. */
		if (a.done)
			fz_bad(t, "%s: done %u, asynchronous", t->desc, a.done);
		if (ret == -ETIME)
			fz_bad(t, "%s failed with ETIME, asynchronous", t->desc);
	} else if (!ret) {
		if (a.done != a.count)
			fz_bad(t, "%s succeeded with done %u", t->desc, a.done);
		if (hang_at >= 0)
			fz_bad(t, "%s succeeded, with a HANG", t->desc);
	} else if (a.count <= VRUST_EXEC_MAX_CMDS && a.done > a.count) {
		fz_bad(t, "%s failed with done %u", t->desc, a.done);
	} else if (ret == -ETIME && hang_at != -2 && a.done &&
		   (hang_at < 0 || a.done != (__u32)hang_at)) {
		/*
		 * The job hung (done: the commands before the HANG) or a job it waited for failed
		 * (then it did not run: done 0).
		 */
		fz_bad(t, "%s failed with ETIME, but done %u", t->desc, a.done);
	}
#ifdef VRUST_EXEC_MAX_BYTES
	/* Stopped before the command that would go beyond the limit. */
	if (ret == -E2BIG && a.done >= a.count)
		fz_bad(t, "%s failed with E2BIG, but done %u", t->desc, a.done);
#endif
	/* The sync object has a fence now; a timeline point, or a binary fence instead of those. */
	if (!ret && out_so && out_so->handle == a.out_sync.handle)
		out_so->point = a.out_sync.point > out_so->point || !a.out_sync.point ?
				a.out_sync.point : out_so->point;
}

/*
 * A vrust ioctl number with an argument size that may not match (the core zero-extends or
 * truncates), or a number the driver does not have. The argument is zero for the driver's own
 * numbers (it is their meaning that is fuzzed elsewhere), random for the others.
 */
static void raw_step(struct fz_thread *t)
{
	__u64 buf[16] = {};
	unsigned int nr = rnd(t, 0x40), size = rnd(t, sizeof(buf) + 1), dir, i;

	dir = PICK(t, DRM_IOC_VOID, DRM_IOC_READ, DRM_IOC_WRITE, DRM_IOC_READWRITE);
	if (nr > DRM_VRUST_EXEC) {
		for (i = 0; i < ARRAY_SIZE(buf); i++)
			buf[i] = pick_u64(t);
		t->expect_fail = true;
	}
	DESC(t, "raw ioctl(nr %#x, dir %u, size %u)", DRM_COMMAND_BASE + nr, dir, size);
	record(t, OP_RAW, vrust_ioctl(t->fd, DRM_IOC(dir, DRM_IOCTL_BASE, DRM_COMMAND_BASE + nr,
						     size), buf));
}

static void gem_close_step(struct fz_thread *t, __u32 handle)
{
	struct drm_gem_close a = { .handle = handle };

	if (chance(t, 2))
		a.pad = 1 + rnd(t, 0xff);
	t->expect_fail = !handle;
	DESC(t, "GEM_CLOSE(handle %u, pad %u)", a.handle, a.pad);
	if (!fz_ioctl(t, OP_GEM_CLOSE, DRM_IOCTL_GEM_CLOSE, &a))
		bo_forget(t, handle);
}

static void create_dumb_step(struct fz_thread *t)
{
	struct drm_mode_create_dumb a = {};
	unsigned int r = rnd(t, 100);

	bo_room(t);
	a.width = 1 + rnd(t, 1024);
	a.height = 1 + rnd(t, 256);
	a.bpp = PICK(t, 8, 16, 24, 32);
	if (r < 6) {
		a.bpp = PICK(t, 1, 7, 12, 33, 64);
	} else if (r < 14) {
		/* Invalid for sure: zero, or overflowing 32-bit sizes. */
		switch (rnd(t, 5)) {
		case 0:
			a.width = 0;
			break;
		case 1:
			a.height = 0;
			break;
		case 2:
			a.bpp = 0;
			break;
		case 3:
			a.width = 0xffffffff;
			a.height = 1;
			a.bpp = 32;
			break;
		default:
			a.width = 65536;
			a.height = 65536;
			a.bpp = 32;
			break;
		}
		t->expect_fail = true;
	}
	if (chance(t, 3))
		a.flags = 1 + rnd(t, 0xff);
	/* KMS clients only. */
	if (t->node == DRM_NODE_RENDER)
		t->expect_fail = true;
	DESC(t, "MODE_CREATE_DUMB(%ux%u, bpp %u, flags %#x)", a.width, a.height, a.bpp, a.flags);
	if (fz_ioctl(t, OP_CREATE_DUMB, DRM_IOCTL_MODE_CREATE_DUMB, &a))
		return;
	/* Below 8 bits per pixel, pixels share bytes. */
	if (!a.handle || a.pitch < ((__u64)a.width * a.bpp + 7) / 8 ||
	    a.size < (__u64)a.pitch * a.height)
		fz_bad(t, "%s: handle %u, pitch %u, size %#llx", t->desc, a.handle, a.pitch,
		       (unsigned long long)a.size);
	bo_add(t, a.handle, a.size, 0);
}

static void map_dumb_step(struct fz_thread *t)
{
	struct drm_mode_map_dumb a = {};
	struct fz_bo *bo;

	a.handle = pick_handle(t, &bo);
	if (chance(t, 3))
		a.pad = 1;
	if (chance(t, 3))
		a.offset = pick_u64(t);
	t->expect_fail = !a.handle || t->node == DRM_NODE_RENDER;
	DESC(t, "MODE_MAP_DUMB(handle %u, pad %u)", a.handle, a.pad);
	if (fz_ioctl(t, OP_MAP_DUMB, DRM_IOCTL_MODE_MAP_DUMB, &a))
		return;
	if (!a.offset || a.offset % PAGE)
		fz_bad(t, "%s: offset %#llx", t->desc, (unsigned long long)a.offset);
	bo = bo_find(t, a.handle);
	if (bo)
		bo->offset = a.offset;
}

static void destroy_dumb_step(struct fz_thread *t)
{
	struct drm_mode_destroy_dumb a = {};
	struct fz_bo *bo;

	a.handle = pick_handle(t, &bo);
	t->expect_fail = !a.handle || t->node == DRM_NODE_RENDER;
	DESC(t, "MODE_DESTROY_DUMB(handle %u)", a.handle);
	if (!fz_ioctl(t, OP_DESTROY_DUMB, DRM_IOCTL_MODE_DESTROY_DUMB, &a))
		bo_forget(t, a.handle);
}

static void prime_export_step(struct fz_thread *t)
{
	struct drm_prime_handle a = { .flags = DRM_CLOEXEC | DRM_RDWR };
	struct fz_bo *bo;
	unsigned int r = rnd(t, 100);

	if (t->p.nbufs == POOL)
		dmabuf_close_step(t, rnd(t, POOL));
	a.handle = pick_handle(t, &bo);
	if (r < 5) {
		a.flags = DRM_CLOEXEC;
	} else if (r < 10) {
		a.flags |= PICK(t, 1, 0x100, 1u << 31, 0xffffffff) & ~(DRM_CLOEXEC | DRM_RDWR);
		a.flags |= 1u << 30;
		t->expect_fail = true;
	}
	if (!a.handle)
		t->expect_fail = true;
	a.fd = -1;
	DESC(t, "PRIME_HANDLE_TO_FD(handle %u, flags %#x)", a.handle, a.flags);
	if (fz_ioctl(t, OP_PRIME_EXPORT, DRM_IOCTL_PRIME_HANDLE_TO_FD, &a))
		return;
	if (a.fd < 0) {
		fz_bad(t, "%s: fd %d", t->desc, a.fd);
		return;
	}
	if (t->p.nbufs < POOL)
		t->p.bufs[t->p.nbufs++] = (struct fz_dmabuf){ a.fd, bo ? bo->size : 0 };
	else
		close(a.fd);
	atomic_store(&t->fz->published[rnd(t, NR_PUBLISHED)], a.fd);
}

static void prime_import_step(struct fz_thread *t)
{
	struct drm_prime_handle a = {};
	unsigned int r = rnd(t, 100);
	__u64 size = 0;
	int i;

	bo_room(t);
	if (t->p.nbufs && r < 70) {
		i = rnd(t, t->p.nbufs);
		a.fd = t->p.bufs[i].fd;
		size = t->p.bufs[i].size;
	} else if (r < 82) {
		/* Another thread's, maybe closed by now: anything may be behind the number. */
		a.fd = atomic_load(&t->fz->published[rnd(t, NR_PUBLISHED)]);
	} else if (r < 88) {
		a.fd = t->p.stale_fds[rnd(t, STALE)];
	} else if (r < 93) {
		/* Not a dma-buf. */
		a.fd = t->fd;
		t->expect_fail = true;
	} else {
		a.fd = PICK(t, -1, 1 << 30, 0x7fffffff);
		t->expect_fail = true;
	}
	DESC(t, "PRIME_FD_TO_HANDLE(fd %d)", a.fd);
	if (fz_ioctl(t, OP_PRIME_IMPORT, DRM_IOCTL_PRIME_FD_TO_HANDLE, &a))
		return;
	if (!a.handle)
		fz_bad(t, "%s: handle 0", t->desc);
	if (!bo_find(t, a.handle))
		bo_add(t, a.handle, size, 0);
}

static void dmabuf_close_step(struct fz_thread *t, int i)
{
	int fd = t->p.bufs[i].fd;

	DESC(t, "close(dma-buf fd %d)", fd);
	record(t, OP_DMABUF_CLOSE, close(fd) ? -errno : 0);
	t->p.bufs[i] = t->p.bufs[--t->p.nbufs];
	stale_push(t, 0, 0, fd);
}

static void mmap_step(struct fz_thread *t)
{
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED, fd;
	struct fz_bo *bo = NULL;
	__u64 off, len, size;
	void *addr;
	int ret;

	if (t->p.nmaps == POOL)
		munmap_step(t, rnd(t, POOL));
	if (t->p.nbufs && chance(t, 35)) {
		struct fz_dmabuf *b = &t->p.bufs[rnd(t, t->p.nbufs)];

		fd = b->fd;
		size = b->size ? b->size : PAGE;
		off = chance(t, 90) ? 0 : PICK(t, PAGE, size, 1ULL << 40);
	} else {
		if (!t->p.nbos)
			return;
		bo = &t->p.bos[rnd(t, t->p.nbos)];
		if (!bo->offset) {
			struct drm_vrust_gem_info a = { .handle = bo->handle };

			DESC(t, "GEM_INFO(handle %u) for mmap", a.handle);
			if (fz_ioctl(t, OP_GEM_INFO, DRM_IOCTL_VRUST_GEM_INFO, &a))
				return;
			bo->size = a.size;
			bo->offset = a.offset;
		}
		fd = t->fd;
		size = bo->size;
		off = chance(t, 85) ? bo->offset :
				      PICK(t, 0, PAGE, bo->offset + PAGE, bo->offset - PAGE,
					   1ULL << 44);
	}
	len = chance(t, 85) ? size : PICK(t, 0, PAGE, size + PAGE, 1ULL << 40);
	if (chance(t, 10))
		prot = PROT_READ;
	/* Private writable mappings are accounted: not a huge one, it only makes noise. */
	if (chance(t, 3) && len <= size + PAGE)
		flags = MAP_PRIVATE;
	t->expect_fail = !len;
	DESC(t, "mmap(len %#llx, prot %#x, flags %#x, %s fd %d, offset %#llx)",
	     (unsigned long long)len, prot, flags, bo ? "DRM" : "dma-buf", fd,
	     (unsigned long long)off);
	addr = mmap(NULL, len, prot, flags, fd, off);
	ret = addr == MAP_FAILED ? -errno : 0;
	record(t, OP_MMAP, ret);
	if (ret)
		return;
	if (t->p.nmaps < POOL)
		t->p.maps[t->p.nmaps++] = (struct fz_map){ addr, len, prot & PROT_WRITE };
	else
		munmap(addr, len);
}

static void munmap_step(struct fz_thread *t, int i)
{
	struct fz_map *m = &t->p.maps[i];
	size_t len = m->len;
	int ret;

	/* Sometimes only the first page: the mapping is split. */
	if (m->len > PAGE && chance(t, 15))
		len = PAGE;
	DESC(t, "munmap(%p, len %#zx of %#zx)", m->addr, len, m->len);
	ret = munmap(m->addr, len) ? -errno : 0;
	record(t, OP_MUNMAP, ret);
	if (ret)
		return;
	if (len < m->len) {
		m->addr += len;
		m->len -= len;
	} else {
		*m = t->p.maps[--t->p.nmaps];
	}
}

/**
 * struct touch_args - a few random accesses to a mapping, run by vrust_try_access()
 * @t: the thread, for its random numbers
 * @m: the mapping
 * @n: the number of accesses
 * @page: the page of the last access, the one that faulted if one did
 */
struct touch_args {
	struct fz_thread *t;
	struct fz_map *m;
	unsigned int n;
	unsigned int page;
};

static void touch_some(void *arg)
{
	struct touch_args *a = arg;
	struct fz_map *m = a->m;
	unsigned int i;

	for (i = 0; i < a->n; i++) {
		unsigned char *p = m->addr + rnd(a->t, m->len);

		a->page = (p - m->addr) / PAGE;
		if (m->writable)
			__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
		else
			(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	}
}

/* Reads or writes a few pages of a mapping; returns the signal that raised, or 0. */
static int touch_pages(struct fz_thread *t, struct fz_map *m, unsigned int *page)
{
	struct touch_args a = { .t = t, .m = m, .n = 1 + rnd(t, 8) };
	int sig;

	sig = vrust_try_access(touch_some, &a);
	*page = a.page;
	return sig;
}

static void touch_step(struct fz_thread *t)
{
	unsigned int page = 0;
	struct fz_map *m;
	int sig;

	if (!t->p.nmaps)
		return;
	m = &t->p.maps[rnd(t, t->p.nmaps)];
	DESC(t, "CPU access of mapping %p, len %#zx", m->addr, m->len);
	sig = touch_pages(t, m, &page);
	record(t, OP_TOUCH, sig ? -EFAULT : 0);
	if (sig)
		fz_bad(t, "%s: %s at page %u", t->desc, strsignal(sig), page);
}

/* Sync objects ----------------------------------------------------------------------------- */

static void syncobj_create_step(struct fz_thread *t)
{
	struct drm_syncobj_create a = {};

	if (chance(t, 30))
		a.flags = DRM_SYNCOBJ_CREATE_SIGNALED;
	if (chance(t, 4)) {
		a.flags |= PICK(t, 2, 4, 1u << 31, 0xfffffffe);
		t->expect_fail = true;
	}
	DESC(t, "SYNCOBJ_CREATE(flags %#x)", a.flags);
	if (fz_ioctl(t, OP_SYNCOBJ_CREATE, DRM_IOCTL_SYNCOBJ_CREATE, &a))
		return;
	if (!a.handle)
		fz_bad(t, "%s: handle 0", t->desc);
	sync_add(t, a.handle);
}

static void syncobj_destroy_step(struct fz_thread *t, __u32 handle)
{
	struct drm_syncobj_destroy a = { .handle = handle };

	if (chance(t, 2)) {
		a.pad = 1 + rnd(t, 0xff);
		t->expect_fail = true;
	}
	if (!handle)
		t->expect_fail = true;
	DESC(t, "SYNCOBJ_DESTROY(handle %u, pad %u)", a.handle, a.pad);
	if (!fz_ioctl(t, OP_SYNCOBJ_DESTROY, DRM_IOCTL_SYNCOBJ_DESTROY, &a))
		sync_forget(t, handle);
}

/* A sync object (or, sometimes, its fence as a sync file) as an fd, published to every thread. */
static void syncobj_export_step(struct fz_thread *t)
{
	struct drm_syncobj_handle a = { .fd = -1 };
	int *slot = &t->p.sync_fds[t->p.sync_fd_pos % NR_SYNC_FDS];
	struct fz_sync *so;

	a.handle = pick_sync(t, &so);
	if (chance(t, 15))
		a.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE;
	if (chance(t, 3)) {
		a.flags |= PICK(t, 4, 1u << 31, 0xfffffffc);
		t->expect_fail = true;
	}
	if (chance(t, 3)) {
		a.pad = 1;
		t->expect_fail = true;
	}
	if (!a.handle)
		t->expect_fail = true;
	DESC(t, "SYNCOBJ_HANDLE_TO_FD(handle %u, flags %#x, pad %u)", a.handle, a.flags, a.pad);
	if (fz_ioctl(t, OP_SYNCOBJ_EXPORT, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a))
		return;
	if (a.fd < 0) {
		fz_bad(t, "%s: fd %d", t->desc, a.fd);
		return;
	}
	if (*slot >= 0)
		close(*slot);
	*slot = a.fd;
	t->p.sync_fd_pos++;
	atomic_store(&t->fz->published_syncs[rnd(t, NR_PUBLISHED)], a.fd);
}

/*
 * A sync object fd into a handle of the thread's file: mostly another thread's (maybe closed by
 * now), sometimes not one at all; or a sync file's fence into a sync object of the pool.
 */
static void syncobj_import_step(struct fz_thread *t)
{
	struct drm_syncobj_handle a = {};
	unsigned int r = rnd(t, 100);
	struct fz_sync *so;

	if (r < 60) {
		a.fd = atomic_load(&t->fz->published_syncs[rnd(t, NR_PUBLISHED)]);
	} else if (r < 75) {
		a.fd = t->p.sync_fds[rnd(t, NR_SYNC_FDS)];
	} else if (r < 82) {
		a.fd = atomic_load(&t->fz->published[rnd(t, NR_PUBLISHED)]);
	} else if (r < 90) {
		/* A DRM file: neither a sync object nor a sync file. */
		a.fd = t->fd;
		t->expect_fail = true;
	} else {
		a.fd = PICK(t, -1, 1 << 30, 0x7fffffff);
		t->expect_fail = true;
	}
	if (chance(t, 15)) {
		a.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
		a.handle = pick_sync(t, &so);
	}
	if (chance(t, 3)) {
		a.pad = 1;
		t->expect_fail = true;
	}
	DESC(t, "SYNCOBJ_FD_TO_HANDLE(fd %d, flags %#x, handle %u, pad %u)", a.fd, a.flags,
	     a.handle, a.pad);
	if (fz_ioctl(t, OP_SYNCOBJ_IMPORT, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &a) || a.flags)
		return;
	if (!a.handle)
		fz_bad(t, "%s: handle 0", t->desc);
	sync_add(t, a.handle);
}

/* The absolute CLOCK_MONOTONIC time @ms from now, in ns. */
static __s64 deadline_ns(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000000000LL + ts.tv_nsec + (__s64)ms * 1000000LL;
}

/* A wait of at most SYNC_WAIT_MAX_MS for a few sync objects, binary or timeline points. */
static void syncobj_wait_step(struct fz_thread *t)
{
	const __u32 valid = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
			    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
			    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE |
			    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;
	bool timeline = chance(t, 60);
	__u32 handles[4], count = 1 + rnd(t, 4), flags, i;
	__u64 points[4];
	__s64 timeout;

	for (i = 0; i < count; i++) {
		struct fz_sync *so;

		handles[i] = pick_sync(t, &so);
		points[i] = timeline ? pick_point(t, so, false) : 0;
		/* Not a sync object (-ENOENT). */
		if (!handles[i])
			t->expect_fail = true;
	}
	if (chance(t, 3)) {
		/* Nothing to wait for: a success. */
		count = 0;
		t->expect_fail = false;
	}
	flags = chance(t, 50) ? 0 : rnd64(t) & valid;
	/* WAIT_AVAILABLE is for timeline points only. */
	if (!timeline && (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE))
		t->expect_fail = true;
	if (chance(t, 3)) {
		flags |= 1u << (4 + rnd(t, 28));
		t->expect_fail = true;
	}
	timeout = chance(t, 30) ? 0 : deadline_ns(rnd(t, SYNC_WAIT_MAX_MS + 1));
	DESC(t, "SYNCOBJ_%sWAIT(%u handles, first %u point %llu, flags %#x, timeout %lld)",
	     timeline ? "TIMELINE_" : "", count, handles[0], (unsigned long long)points[0], flags,
	     (long long)timeout);
	if (timeline) {
		struct drm_syncobj_timeline_wait a = {
			.handles = (uintptr_t)handles, .points = (uintptr_t)points,
			.timeout_nsec = timeout, .count_handles = count, .flags = flags,
			.deadline_nsec = deadline_ns(0),
		};

		fz_ioctl(t, OP_SYNCOBJ_WAIT, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &a);
	} else {
		struct drm_syncobj_wait a = {
			.handles = (uintptr_t)handles, .timeout_nsec = timeout,
			.count_handles = count, .flags = flags, .deadline_nsec = deadline_ns(0),
		};

		fz_ioctl(t, OP_SYNCOBJ_WAIT, DRM_IOCTL_SYNCOBJ_WAIT, &a);
	}
}

static unsigned int total_weight(void)
{
	unsigned int op, w = 0;

	for (op = 0; op < NR_OPS; op++)
		w += op_weights[op];
	return w;
}

static void step(struct fz_thread *t)
{
	unsigned int w = rnd(t, total_weight()), op;

	for (op = 0; op < NR_OPS - 1 && w >= op_weights[op]; op++)
		w -= op_weights[op];

	switch (op) {
	case OP_GET_PARAM:
		get_param_step(t);
		break;
	case OP_COUNTER:
		counter_step(t);
		break;
	case OP_SET_DEVICE_VALUE:
		set_device_value_step(t);
		break;
	case OP_REVERSE:
		reverse_step(t);
		break;
	case OP_GEM_CREATE:
		gem_create_step(t);
		break;
	case OP_GEM_INFO:
		gem_info_step(t);
		break;
	case OP_GEM_PWRITE:
	case OP_GEM_PREAD:
		gem_rw_step(t, op == OP_GEM_PWRITE);
		break;
	case OP_VM_CREATE:
		vm_create_step(t);
		break;
	case OP_VM_DESTROY:
		vm_destroy_step(t, pick_vm(t));
		break;
	case OP_VM_BIND:
		vm_bind_step(t);
		break;
	case OP_VM_QUERY:
		vm_query_step(t);
		break;
	case OP_EXEC:
		exec_step(t);
		break;
	case OP_RAW:
		raw_step(t);
		break;
	case OP_GEM_CLOSE: {
		struct fz_bo *bo;

		gem_close_step(t, pick_handle(t, &bo));
		break;
	}
	case OP_CREATE_DUMB:
		create_dumb_step(t);
		break;
	case OP_MAP_DUMB:
		map_dumb_step(t);
		break;
	case OP_DESTROY_DUMB:
		destroy_dumb_step(t);
		break;
	case OP_PRIME_EXPORT:
		prime_export_step(t);
		break;
	case OP_PRIME_IMPORT:
		prime_import_step(t);
		break;
	case OP_DMABUF_CLOSE:
		if (t->p.nbufs)
			dmabuf_close_step(t, rnd(t, t->p.nbufs));
		break;
	case OP_MMAP:
		mmap_step(t);
		break;
	case OP_MUNMAP:
		if (t->p.nmaps)
			munmap_step(t, rnd(t, t->p.nmaps));
		break;
	case OP_SYNCOBJ_CREATE:
		syncobj_create_step(t);
		break;
	case OP_SYNCOBJ_DESTROY: {
		struct fz_sync *so;

		syncobj_destroy_step(t, pick_sync(t, &so));
		break;
	}
	case OP_SYNCOBJ_EXPORT:
		syncobj_export_step(t);
		break;
	case OP_SYNCOBJ_IMPORT:
		syncobj_import_step(t);
		break;
	case OP_SYNCOBJ_WAIT:
		syncobj_wait_step(t);
		break;
	default:
		touch_step(t);
		break;
	}
}

/*
 * Sets make-it-fail of the thread that opened @fd (/proc/thread-self/make-it-fail). Opened
 * beforehand, as an open() allocates, and can fail once the thread's allocations fail; the
 * write itself allocates nothing. Returns 0 or -errno.
 */
static int set_make_it_fail(int fd, bool on)
{
	return pwrite(fd, on ? "1" : "0", 1, 0) == 1 ? 0 : -errno;
}

/* Closes everything a thread still has, with its allocations no longer failing. */
static void thread_cleanup(struct fz_thread *t)
{
	int i;

	for (i = 0; i < t->p.nmaps; i++)
		if (munmap(t->p.maps[i].addr, t->p.maps[i].len))
			fz_bad(t, "cleanup: munmap(%p, %#zx) failed with %s", t->p.maps[i].addr,
			       t->p.maps[i].len, vrust_errname(errno));
	for (i = 0; i < t->p.nbufs; i++)
		close(t->p.bufs[i].fd);
	/* Handles and VMs go with the file; closing them here runs those paths too. */
	for (i = 0; i < t->p.nbos; i++)
		vrust_gem_close(t->fd, t->p.bos[i].handle);
	for (i = 0; i < t->p.nvms; i++)
		vrust_vm_destroy(t->fd, t->p.vms[i]);
	for (i = 0; i < t->p.nsyncs; i++)
		drmSyncobjDestroy(t->fd, t->p.syncs[i].handle);
	for (i = 0; i < NR_SYNC_FDS; i++)
		if (t->p.sync_fds[i] >= 0)
			close(t->p.sync_fds[i]);
	t->p.nmaps = 0;
	t->p.nbufs = 0;
	t->p.nbos = 0;
	t->p.nvms = 0;
	t->p.nsyncs = 0;
}

static void *fuzz_thread(void *arg)
{
	struct fz_thread *t = arg;
	struct fuzzer *fz = t->fz;
	int fail = -1;

	if (fz->fault) {
		fail = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
		if (fail < 0 || set_make_it_fail(fail, true)) {
			atomic_fetch_add(&fz->fault_errors, 1);
			return NULL;
		}
	}
	while (atomic_load_explicit(&fz->calls, memory_order_relaxed) < fz->total)
		step(t);
	if (fail >= 0) {
		if (set_make_it_fail(fail, false))
			atomic_fetch_add(&fz->fault_errors, 1);
		close(fail);
	}
	thread_cleanup(t);
	return NULL;
}

/* The thread's scratch memory: [read-only page][SCRATCH_SIZE][PROT_NONE page], prefaulted. */
static int thread_memory(struct fz_thread *t)
{
	size_t len = SCRATCH_SIZE + 2 * PAGE;
	size_t cmds = (VRUST_EXEC_MAX_CMDS + 1) * sizeof(struct drm_vrust_cmd);

	t->area = mmap(NULL, len + cmds, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (t->area == MAP_FAILED)
		return -errno;
	memset(t->area, 0x5a, len + cmds);
	t->scratch = t->area + PAGE;
	t->cmds = (void *)(t->area + len);
	if (mprotect(t->area, PAGE, PROT_READ) ||
	    mprotect(t->scratch + SCRATCH_SIZE, PAGE, PROT_NONE))
		return -errno;
	return 0;
}

static void thread_memory_free(struct fz_thread *t)
{
	if (t->area && t->area != MAP_FAILED)
		munmap(t->area, SCRATCH_SIZE + 2 * PAGE +
		       (VRUST_EXEC_MAX_CMDS + 1) * sizeof(struct drm_vrust_cmd));
	t->area = NULL;
}

/* Settings ---------------------------------------------------------------------------------- */

/* Fault injection through debugfs ---------------------------------------------------------- */

#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc"
/* The faults each facility may inject: more than a run needs; what is left counts them. */
#define FAULT_BUDGET	1000000000

/**
 * struct fi_setting - a debugfs file of a fault injection facility, set for the run
 * @dir: the facility
 * @name: the file
 * @value: what the run writes; NULL for the probability, set from the environment
 * @old: the value before, restored at the end
 * @saved: @old was read
 */
struct fi_setting {
	const char *dir;
	const char *name;
	const char *value;
	char old[32];
	bool saved;
};

#define STR_(x)		#x
#define STR(x)		STR_(x)
#define FI_BUDGET_STR	STR(FAULT_BUDGET)
#define FI(d, n, v)	{ .dir = (d), .name = (n), .value = (v) }

/* In the order of writing: the probability, which switches a facility on, comes last. */
static const struct fi_setting fi_template[] = {
	FI(FAILSLAB, "task-filter", "Y"),
	FI(FAILSLAB, "verbose", "0"),
	FI(FAILSLAB, "interval", "1"),
	FI(FAILSLAB, "space", "0"),
	FI(FAILSLAB, "times", FI_BUDGET_STR),
	FI(FAILSLAB, "ignore-gfp-wait", "N"),
	FI(FAILSLAB, "cache-filter", "N"),
	FI(FAIL_PAGE_ALLOC, "task-filter", "Y"),
	FI(FAIL_PAGE_ALLOC, "verbose", "0"),
	FI(FAIL_PAGE_ALLOC, "interval", "1"),
	FI(FAIL_PAGE_ALLOC, "space", "0"),
	FI(FAIL_PAGE_ALLOC, "times", FI_BUDGET_STR),
	FI(FAIL_PAGE_ALLOC, "ignore-gfp-wait", "N"),
	FI(FAIL_PAGE_ALLOC, "ignore-gfp-highmem", "N"),
	FI(FAIL_PAGE_ALLOC, "min-order", "0"),
	FI(FAILSLAB, "probability", NULL),
	FI(FAIL_PAGE_ALLOC, "probability", NULL),
};

#define NR_FI_SETTINGS	ARRAY_SIZE(fi_template)

static int fi_path(char *path, size_t len, const struct fi_setting *s)
{
	return snprintf(path, len, "%s/%s", s->dir, s->name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* The faults a facility injected since its "times" was set to FAULT_BUDGET, or -1. */
static long long fi_injected(const char *dir)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "%s/times", dir);
	if (vrust_read_file(path, buf, sizeof(buf)))
		return -1;
	return FAULT_BUDGET - strtoll(buf, NULL, 0);
}

/* Fixture ---------------------------------------------------------------------------------- */

/**
 * struct fuzz_fixture - what a test gets
 * @inst: the test's instance
 * @watch: a file of the instance that fuzzes nothing, to read LIVE_BUFFERS
 * @fi: the fault injection settings, once saved
 * @fi_active: @fi were written and must be restored
 */
struct fuzz_fixture {
	struct vrust_instance inst;
	int watch;
	struct fi_setting fi[NR_FI_SETTINGS];
	bool fi_active;
};

FIXTURE(fuzz)
{
	struct fuzz_fixture f;
};

FIXTURE_SETUP(fuzz)
{
	int ret;

	self->f.watch = -1;
	ASSERT_EQ(0, vrust_instance_up(&self->f.inst));
	/* Before the files open: a file takes the timeout of when it is opened. */
	ret = vrust_instance_set(&self->f.inst, "job_timeout_ms", STR(FUZZ_JOB_TIMEOUT_MS));
	if (ret)
		vrust_instance_destroy(&self->f.inst);
	ASSERT_EQ(0, ret) TH_LOG("setting job_timeout_ms to %d", FUZZ_JOB_TIMEOUT_MS);
}

/* Puts back the fault injection settings, the probability first. */
static int fi_restore(struct fuzz_fixture *f)
{
	char path[128];
	int i, ret = 0;

	for (i = NR_FI_SETTINGS - 1; i >= 0; i--) {
		struct fi_setting *s = &f->fi[i];
		int err;

		if (!s->saved || fi_path(path, sizeof(path), s))
			continue;
		err = vrust_write_file(path, s->old);
		if (err && !ret)
			ret = err;
	}
	f->fi_active = false;
	return ret;
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->f.fi_active)
		EXPECT_EQ(0, fi_restore(&self->f)) TH_LOG("restoring the fault injection settings");
	if (self->f.watch >= 0)
		close(self->f.watch);
	EXPECT_EQ(0, vrust_instance_destroy(&self->f.inst));
}

/* Prints the counts of a run: calls, failures and their errnos, per step. */
static void print_stats(struct fz_thread *threads, int n, double secs)
{
	static struct fz_stats sum;
	__u64 calls = 0, fails = 0;
	char line[512];
	int i, op, e;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < n; i++) {
		for (op = 0; op < NR_OPS; op++) {
			sum.calls[op] += threads[i].st.calls[op];
			sum.fails[op] += threads[i].st.fails[op];
			for (e = 0; e < MAX_ERRNO; e++)
				sum.errs[op][e] += threads[i].st.errs[op][e];
		}
	}
	for (op = 0; op < NR_OPS; op++) {
		int len;

		calls += sum.calls[op];
		fails += sum.fails[op];
		len = snprintf(line, sizeof(line), "%-20s %7llu calls %7llu failed", op_names[op],
			       (unsigned long long)sum.calls[op],
			       (unsigned long long)sum.fails[op]);
		for (e = 0; e < MAX_ERRNO && len < (int)sizeof(line) - 32; e++)
			if (sum.errs[op][e])
				len += snprintf(line + len, sizeof(line) - len, " %s %u",
						e ? vrust_errname(e) : "(errno too big)",
						sum.errs[op][e]);
		ksft_print_msg("  %s\n", line);
	}
	ksft_print_msg("%llu calls, %llu failed, in %.1f s\n", (unsigned long long)calls,
		       (unsigned long long)fails, secs);
}

/**
 * struct fuzz_result - the figures of a run
 * @calls: calls made
 * @enomem: calls that failed with ENOMEM
 * @slab_faults: faults injected by failslab, or -1
 * @page_faults: faults injected by fail_page_alloc, or -1
 */
struct fuzz_result {
	__u64 calls;
	__u64 enomem;
	long long slab_faults;
	long long page_faults;
};

/*
 * Runs the fuzzer on the fixture's instance: the threads; then, with @fault, counts the faults
 * injected and switches fault injection off; then checks that everything was given back.
 */
static void run_fuzzer(struct __test_metadata *_metadata, struct fuzz_fixture *f, bool fault,
		       struct fuzz_result *res)
{
	static struct fz_thread threads[MAX_THREADS + 1];
	static struct fuzzer fz;
	__u64 seed = vrust_env_u64("VRUST_FUZZ_SEED", (__u64)time(NULL) ^ getpid());
	unsigned int nshared = vrust_env_u64("VRUST_FUZZ_THREADS", 4);
	long mem_before, mem_after;
	long long live_before, live_after;
	int shared = -1, solo = -1, i, n, op;
	double t0;

	memset(&fz, 0, sizeof(fz));
	memset(threads, 0, sizeof(threads));
	fz.total = vrust_env_u64("VRUST_FUZZ_CALLS", 100000);
	fz.fault = fault;
	pthread_mutex_init(&fz.lock, NULL);
	for (i = 0; i < NR_PUBLISHED; i++) {
		atomic_store(&fz.published[i], -1);
		atomic_store(&fz.published_syncs[i], -1);
	}
	ASSERT_LE(1U, nshared);
	ASSERT_GE((unsigned int)MAX_THREADS, nshared);
	n = nshared + 1;
	ksft_print_msg("seed %#llx (VRUST_FUZZ_SEED=%#llx repeats it), %llu calls, %u threads on one file of the primary node and 1 on its own file of the render node%s\n",
		       (unsigned long long)seed, (unsigned long long)seed,
		       (unsigned long long)fz.total, nshared,
		       fault ? ", allocations of the fuzzing threads failing" : "");

	/* The shared file first: it becomes the DRM master, as a KMS client's would. */
	shared = vrust_open_node(f->inst.faux, DRM_NODE_PRIMARY);
	ASSERT_LE(0, shared);
	solo = vrust_open_node(f->inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, solo);
	f->watch = vrust_open_node(f->inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, f->watch);
	live_before = vrust_live_buffers(f->watch);
	ASSERT_LE(0, live_before);
	mem_before = vrust_mem_available_kb();
	ASSERT_LT(0, mem_before);

	vrust_catch_faults(true);
	for (i = 0; i < n; i++) {
		struct fz_thread *t = &threads[i];

		t->fz = &fz;
		t->idx = i;
		t->fd = i < (int)nshared ? shared : solo;
		t->node = i < (int)nshared ? DRM_NODE_PRIMARY : DRM_NODE_RENDER;
		t->rng = seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		if (!t->rng)
			t->rng = 1;
		memset(t->p.stale_fds, 0xff, sizeof(t->p.stale_fds));
		memset(t->p.sync_fds, 0xff, sizeof(t->p.sync_fds));
		ASSERT_EQ(0, thread_memory(t));
	}
	t0 = vrust_now_s();
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i].tid, NULL, fuzz_thread, &threads[i]));
	for (i = 0; i < n; i++)
		pthread_join(threads[i].tid, NULL);
	print_stats(threads, n, vrust_now_s() - t0);
	vrust_catch_faults(false);

	res->calls = atomic_load(&fz.calls);
	res->enomem = 0;
	for (i = 0; i < n; i++)
		for (op = 0; op < NR_OPS; op++)
			res->enomem += threads[i].st.errs[op][ENOMEM];
	res->slab_faults = -1;
	res->page_faults = -1;
	if (fault) {
		res->slab_faults = fi_injected(FAILSLAB);
		res->page_faults = fi_injected(FAIL_PAGE_ALLOC);
		EXPECT_EQ(0, fi_restore(f)) TH_LOG("switching fault injection off");
	}
	for (i = 0; i < (int)fz.bad && i < MAX_BAD_LOGGED; i++)
		TH_LOG("%s", fz.bad_log[i]);
	EXPECT_EQ(0U, fz.bad) TH_LOG("%u unexpected results (seed %#llx)", fz.bad,
				     (unsigned long long)seed);
	EXPECT_EQ(0, atomic_load(&fz.fault_errors)) TH_LOG("setting make-it-fail failed");

	/* Everything closed: every buffer is freed, and the memory comes back. */
	for (i = 0; i < n; i++)
		thread_memory_free(&threads[i]);
	close(shared);
	close(solo);
	live_after = vrust_live_buffers(f->watch);
	mem_after = vrust_mem_available_kb();
	ksft_print_msg("LIVE_BUFFERS %lld before, %lld after; "
		       "MemAvailable %ld kB before, %ld kB after\n",
		       live_before, live_after, mem_before, mem_after);
	EXPECT_EQ(live_before, live_after) TH_LOG("buffers leaked");
	EXPECT_LE(mem_before - mem_after, mem_before * MEM_SLACK_PCT / 100)
		TH_LOG("memory leaked: %ld kB", mem_before - mem_after);
}

/* The fuzzer, with nothing failing on purpose. */
TEST_F_TIMEOUT(fuzz, threads, 300)
{
	struct fuzz_result res;

	run_fuzzer(_metadata, &self->f, false, &res);
}

/*
 * The fuzzer with failslab and fail_page_alloc failing the allocations of the fuzzing threads
 * (make-it-fail is set by each of them, and task-filter keeps every other task out).
 */
TEST_F_TIMEOUT(fuzz, fault_injection, 300)
{
	__u64 percent = vrust_env_u64("VRUST_FUZZ_FAIL_PERCENT", 2);
	struct fuzz_result res;
	char path[128], buf[32];
	unsigned int i;

	for (i = 0; i < NR_FI_SETTINGS; i++) {
		struct fi_setting *s = &self->f.fi[i];

		*s = fi_template[i];
		ASSERT_EQ(0, fi_path(path, sizeof(path), s));
		if (access(path, W_OK))
			SKIP(return,
			     "no fault injection: %s: %s (needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS and debugfs)",
			     path, strerror(errno));
	}
	if (access("/proc/thread-self/make-it-fail", W_OK))
		SKIP(return, "no /proc/thread-self/make-it-fail: %s", strerror(errno));
	for (i = 0; i < NR_FI_SETTINGS; i++) {
		struct fi_setting *s = &self->f.fi[i];

		fi_path(path, sizeof(path), s);
		ASSERT_EQ(0, vrust_read_file(path, s->old, sizeof(s->old)))
			TH_LOG("reading %s", path);
		s->saved = true;
	}
	self->f.fi_active = true;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)percent);
	for (i = 0; i < NR_FI_SETTINGS; i++) {
		struct fi_setting *s = &self->f.fi[i];

		fi_path(path, sizeof(path), s);
		ASSERT_EQ(0, vrust_write_file(path, s->value ? s->value : buf))
			TH_LOG("writing %s", path);
	}
	ksft_print_msg("failslab and fail_page_alloc: probability %llu%%, interval 1, task-filter Y\n",
		       (unsigned long long)percent);

	run_fuzzer(_metadata, &self->f, true, &res);

	ksft_print_msg("faults injected: %lld by failslab, %lld by fail_page_alloc; "
		       "%llu calls failed with ENOMEM\n",
		       res.slab_faults, res.page_faults, (unsigned long long)res.enomem);
	EXPECT_LE(0, res.slab_faults);
	EXPECT_LE(0, res.page_faults);
	EXPECT_LT(0, res.slab_faults + res.page_faults) TH_LOG("no fault was injected");
}

TEST_HARNESS_MAIN
