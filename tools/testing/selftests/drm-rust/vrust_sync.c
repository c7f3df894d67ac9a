// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of vrust's jobs and their synchronisation (include/uapi/drm/vrust_drm.h, the flags,
 * in_syncs and out_sync of EXEC, with the DRM core's sync object ioctls): asynchronous EXECs
 * whose fences go to binary and timeline sync objects, chains of jobs across files through a
 * shared sync object, implicit sync through the buffers' reservation objects with vgem (the C
 * peer) both ways, hung jobs (VRUST_CMD_HANG) that end at the instance's job timeout, files
 * closed and devices unplugged with jobs queued, bad input, and threads submitting at once;
 * and VM_BIND as a job: asynchronous binds held back, ordered with EXECs, failing, cancelled,
 * and from several threads at once.
 *
 * A job that a test must hold back waits for a gate (struct gate): a vgem fence that the test
 * signals itself. Each test gets a fresh instance with a file on its render node, which has the
 * default job timeout; a test that needs a short one writes the instance's job_timeout_ms and
 * opens another file (a file takes the timeout of when it is opened). The teardown closes every
 * file, which cancels the jobs still queued, removes the instance and closes vgem, which
 * signals the gates. Needs root, configfs, the vrust module loaded and vgem built in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <xf86drm.h>
#include <drm/vgem_drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096ULL
#define S		VRUST_VM_START
/* A wait that must end: far longer than any job of these tests takes. */
#define LONG_WAIT_MS	10000
/* A wait that must time out, as what it waits for is held back. */
#define SHORT_WAIT_MS	100
/* The job timeout of the tests of hung jobs, in milliseconds. */
#define HANG_MS		200

/* libdrm's sync object calls return -1 or -errno and set errno either way: -errno, or 0. */
#define DRMCALL(call)	((call) ? -errno : 0)

/* The absolute CLOCK_MONOTONIC time @ms from now, in ns: what the sync object waits take. */
static int64_t deadline_ns(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (int64_t)ms * 1000000LL;
}

/* Sync objects and sync files ---------------------------------------------------------------- */

static int syncobj_new(int fd, __u32 *handle)
{
	return DRMCALL(drmSyncobjCreate(fd, 0, handle));
}

/* Waits up to @ms for the fence of sync object @handle: 0, -ETIME, or another -errno. */
static int syncobj_wait(int fd, __u32 handle, unsigned int ms)
{
	return DRMCALL(drmSyncobjWait(fd, &handle, 1, deadline_ns(ms), 0, NULL));
}

/* Waits up to @ms for point @point of sync object @handle, with DRM_SYNCOBJ_WAIT_FLAGS_*. */
static int timeline_wait(int fd, __u32 handle, __u64 point, unsigned int ms, __u32 flags)
{
	uint64_t p = point;

	return DRMCALL(drmSyncobjTimelineWait(fd, &handle, &p, 1, deadline_ns(ms), flags, NULL));
}

/* The last signalled point of @handle, or with @flags DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED. */
static int timeline_query(int fd, __u32 handle, __u32 flags, __u64 *point)
{
	uint64_t p = 0;
	int ret = DRMCALL(drmSyncobjQuery2(fd, &handle, &p, 1, flags));

	*point = p;
	return ret;
}

/* Status of sync file @sf: 1 signalled, 0 pending, -errno signalled with that error. */
static int sync_file_status(int sf, int *status)
{
	struct sync_file_info info = {};

	if (ioctl(sf, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	*status = info.status;
	return 0;
}

/* The driver name of the one fence of sync file @sf; -E2BIG when it has more than one. */
static int sync_file_driver(int sf, char *name, size_t len)
{
	struct sync_fence_info fences[4] = {};
	struct sync_file_info info = {
		.num_fences = ARRAY_SIZE(fences), .sync_fence_info = (uintptr_t)fences,
	};

	if (ioctl(sf, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	if (info.num_fences != 1)
		return -E2BIG;
	snprintf(name, len, "%s", fences[0].driver_name);
	return 0;
}

/* Waits up to @ms for sync file @sf to signal, then reports its status as sync_file_status(). */
static int sync_file_wait(int sf, int ms, int *status)
{
	struct pollfd p = { .fd = sf, .events = POLLIN };

	if (poll(&p, 1, ms) < 0)
		return -errno;
	return sync_file_status(sf, status);
}

/* The fence of sync object @handle as a new sync file, into *@sf. */
static int syncobj_sync_file(int fd, __u32 handle, int *sf)
{
	*sf = -1;
	return DRMCALL(drmSyncobjExportSyncFile(fd, handle, sf));
}

/* The status of the fence of sync object @handle (through a sync file), as sync_file_status(). */
static int syncobj_status(int fd, __u32 handle, int *status)
{
	int sf, ret = syncobj_sync_file(fd, handle, &sf);

	if (ret)
		return ret;
	ret = sync_file_status(sf, status);
	close(sf);
	return ret;
}

/* Whether sync object @handle has no fence: a wait without WAIT_FOR_SUBMIT is -EINVAL then. */
static bool syncobj_empty(int fd, __u32 handle)
{
	return syncobj_wait(fd, handle, 0) == -EINVAL;
}

/* The gate ------------------------------------------------------------------------------------ */

/**
 * struct gate - a fence the test signals itself, to hold jobs back
 * @vgem: a file of vgem, or -1
 * @bo: a vgem buffer, which carries the fence
 * @dmabuf: the buffer's dma-buf, or -1
 * @fence: the vgem fence while the gate is shut, else 0
 *
 * vgem attaches a fence to one of its buffers (VGEM_FENCE_ATTACH) and signals it when told
 * (VGEM_FENCE_SIGNAL); DMA_BUF_IOCTL_EXPORT_SYNC_FILE takes it out of the buffer's dma-buf as a
 * sync file, which a vrust sync object imports: an in-sync that only the test releases, and
 * that no vrust buffer carries. Nothing else of the uapi does it: a timeline point not submitted
 * yet is no in-sync (EXEC looks the fence up at once, and fails with -EINVAL), and a HANG holds
 * back only the jobs of its own file, and only until the job timeout. vgem signals a fence
 * itself after 10 s (its VGEM_FENCE_SIGNAL then fails with -ETIMEDOUT) and when its file
 * closes, so no test stays stuck behind a gate.
 */
struct gate {
	int vgem;
	__u32 bo;
	int dmabuf;
	__u32 fence;
};

static void gate_preinit(struct gate *g)
{
	g->vgem = -1;
	g->dmabuf = -1;
	g->bo = 0;
	g->fence = 0;
}

/* Opens vgem and makes the gate's buffer; the gate is open. */
static int gate_init(struct gate *g)
{
	struct drm_mode_create_dumb d;
	int ret;

	g->vgem = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	if (g->vgem < 0)
		return g->vgem;
	ret = vrust_dumb_create(g->vgem, 1024, 1, 32, &d);
	if (ret)
		return ret;
	g->bo = d.handle;
	return vrust_prime_export(g->vgem, g->bo, &g->dmabuf);
}

/* Closes vgem, which signals a fence still pending. */
static void gate_fini(struct gate *g)
{
	vrust_close_fd(&g->dmabuf);
	vrust_close_fd(&g->vgem);
}

/* Opens the gate: signals its fence. */
static int gate_open(struct gate *g)
{
	struct drm_vgem_fence_signal s = { .fence = g->fence };

	g->fence = 0;
	return s.fence ? vrust_ioctl(g->vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) : -EINVAL;
}

/* Shuts the gate (a new vgem fence), and makes a sync object of @fd that waits for it. */
static int gate_shut(struct gate *g, int fd, __u32 *syncobj)
{
	struct drm_vgem_fence_attach a = { .handle = g->bo, .flags = VGEM_FENCE_WRITE };
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };
	int ret;

	ret = vrust_ioctl(g->vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &a);
	if (ret)
		return ret;
	g->fence = a.out_fence;
	/* What a reader waits for: the write fence, which is the gate's. */
	ret = vrust_ioctl(g->dmabuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
	if (!ret)
		ret = syncobj_new(fd, syncobj);
	if (!ret)
		ret = DRMCALL(drmSyncobjImportSyncFile(fd, *syncobj, e.fd));
	if (e.fd >= 0)
		close(e.fd);
	return ret;
}

/**
 * struct gate_timer - opens a gate from a thread after a while, for a synchronous EXEC to wait
 * @g: the gate
 * @ms: the delay
 * @ret: gate_open()'s result
 */
struct gate_timer {
	struct gate *g;
	unsigned int ms;
	int ret;
};

static void *gate_open_later(void *arg)
{
	struct gate_timer *t = arg;

	vrust_sleep_ms(t->ms);
	t->ret = gate_open(t->g);
	return NULL;
}

/* EXEC, buffers and files ------------------------------------------------------------------- */

/*
 * EXEC of @count commands on @vm with @flags, after the @nin sync objects at @in, its fence
 * going to sync object @out (0: nowhere) at @point (0: binary). Returns 0 or -errno; with @done,
 * the commands done into *@done, also on failure.
 */
static int exec_job(int fd, __u32 vm, const struct drm_vrust_cmd *cmds, __u32 count, __u32 flags,
		    const struct drm_vrust_sync *in, __u32 nin, __u32 out, __u64 point, __u32 *done)
{
	struct drm_vrust_exec a = {
		.vm_id = vm, .count = count, .cmds = (uintptr_t)cmds, .flags = flags,
		.num_in_syncs = nin, .in_syncs = (uintptr_t)in,
		.out_sync = { .handle = out, .point = point },
	};
	int ret;

	a.done = 0xdead;
	ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a);
	if (done)
		*done = a.done;
	return ret;
}

/* An asynchronous EXEC: exec_job() with VRUST_EXEC_ASYNC. */
static int exec_async(int fd, __u32 vm, const struct drm_vrust_cmd *cmds, __u32 count,
		      const struct drm_vrust_sync *in, __u32 nin, __u32 out, __u64 point)
{
	return exec_job(fd, vm, cmds, count, VRUST_EXEC_ASYNC, in, nin, out, point, NULL);
}

static int bind_job(int fd, __u32 vm, __u32 op, __u32 handle, __u64 offset, __u64 addr,
		    __u64 range, __u32 flags, const struct drm_vrust_sync *in, __u32 nin,
		    __u32 out);

static struct drm_vrust_cmd cmd_hang(void)
{
	return (struct drm_vrust_cmd){ .op = VRUST_CMD_HANG };
}

/* A new buffer of @pages pages of @fd, mapped at GPU address @addr of @vm. */
static int bo_mapped(int fd, __u32 vm, __u64 pages, __u64 addr, __u32 *handle)
{
	int ret = vrust_gem_create(fd, pages * PAGE, 0, handle);

	return ret ? ret : vrust_vm_map(fd, vm, *handle, 0, addr, pages * PAGE);
}

/* Compares @len bytes at @offset of buffer @handle of @fd (read by GEM_PREAD) with @want. */
static void expect_bytes(struct __test_metadata *_metadata, int fd, __u32 handle, __u64 offset,
			 const unsigned char *want, size_t len, const char *what)
{
	unsigned char *got = malloc(len);
	size_t i;

	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, vrust_gem_read(fd, handle, offset, len, got)) TH_LOG("%s: GEM_PREAD", what);
	for (i = 0; i < len && got[i] == want[i]; i++)
		;
	EXPECT_EQ(len, i) TH_LOG("%s: byte %zu is %#x, not %#x", what, i, i < len ? got[i] : 0,
				 i < len ? want[i] : 0);
	free(got);
}

/* expect_bytes() of @len bytes that must all be @value. */
static void expect_value(struct __test_metadata *_metadata, int fd, __u32 handle, __u64 offset,
			 size_t len, unsigned char value, const char *what)
{
	unsigned char *want = malloc(len);

	ASSERT_NE(NULL, want);
	memset(want, value, len);
	expect_bytes(_metadata, fd, handle, offset, want, len, what);
	free(want);
}

/*
 * Writes the instance's job_timeout_ms and opens a file on its render node, which takes it,
 * into @c->fds[@slot]. Returns the file, or -errno.
 */
static int open_with_timeout(struct vrust_client *c, int slot, unsigned int ms)
{
	char value[16];
	int ret;

	snprintf(value, sizeof(value), "%u", ms);
	ret = vrust_instance_set(&c->inst, "job_timeout_ms", value);
	if (ret)
		return ret;
	c->fds[slot] = vrust_open_node(c->inst.faux, DRM_NODE_RENDER);
	return c->fds[slot];
}

FIXTURE(sync)
{
	struct vrust_client f;
	struct gate gate;
};

FIXTURE_SETUP(sync)
{
	gate_preinit(&self->gate);
	ASSERT_EQ(0, vrust_client_open(&self->f, VRUST_CLIENT_RENDER));
}

FIXTURE_TEARDOWN(sync)
{
	/* The files first: what is queued is cancelled, rather than run when vgem goes. */
	EXPECT_EQ(0, vrust_client_close(&self->f));
	gate_fini(&self->gate);
}

/* Tests --------------------------------------------------------------------------------------- */

/*
 * An asynchronous EXEC returns once its job is queued, with done 0; its fence goes to a binary
 * sync object, and once that has signalled the buffers hold what the commands wrote. Held back
 * by a shut gate, such an EXEC returns all the same, and its job runs only once the gate opens.
 */
TEST_F(sync, async_binary_out_sync)
{
	const size_t len = 4 * PAGE;
	unsigned char *want_a = malloc(len), *want_b = malloc(len);
	int fd = self->f.render, status = 0;
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmds[4];
	__u32 vm, a, b, out, out2, done;
	double t0, t;

	ASSERT_NE(NULL, want_a);
	ASSERT_NE(NULL, want_b);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 4, S, &a));
	ASSERT_EQ(0, bo_mapped(fd, vm, 4, S + 16 * PAGE, &b));
	ASSERT_EQ(0, syncobj_new(fd, &out));
	cmds[0] = vrust_cmd_fill(S, len, 0x11);
	cmds[1] = vrust_cmd_fill(S + 100, 3000, 0x22);
	cmds[2] = vrust_cmd_copy(S, S + 16 * PAGE, len);
	cmds[3] = vrust_cmd_fill(S + 17 * PAGE + 5, 7, 0x33);
	ASSERT_EQ(0, exec_job(fd, vm, cmds, 4, VRUST_EXEC_ASYNC, NULL, 0, out, 0, &done));
	EXPECT_EQ(0U, done) TH_LOG("an asynchronous EXEC reports no commands done");
	ASSERT_EQ(0, syncobj_wait(fd, out, LONG_WAIT_MS)) TH_LOG("the out-sync never signalled");
	ASSERT_EQ(0, syncobj_status(fd, out, &status));
	EXPECT_EQ(1, status) TH_LOG("the job's fence signalled with %d", status);
	memset(want_a, 0x11, len);
	memset(want_a + 100, 0x22, 3000);
	memcpy(want_b, want_a, len);
	memset(want_b + PAGE + 5, 0x33, 7);
	expect_bytes(_metadata, fd, a, 0, want_a, len, "buffer a");
	expect_bytes(_metadata, fd, b, 0, want_b, len, "buffer b");

	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	ASSERT_EQ(0, syncobj_new(fd, &out2));
	cmds[0] = vrust_cmd_fill(S + 16 * PAGE, len, 0x44);
	t0 = vrust_now_s();
	ASSERT_EQ(0, exec_job(fd, vm, cmds, 1, VRUST_EXEC_ASYNC, &in, 1, out2, 0, &done));
	t = vrust_now_s() - t0;
	EXPECT_EQ(0U, done);
	EXPECT_EQ(-ETIME, syncobj_wait(fd, out2, SHORT_WAIT_MS))
		TH_LOG("the job ran before its in-sync signalled");
	expect_bytes(_metadata, fd, b, 0, want_b, len, "buffer b, its job held back");
	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd, out2, LONG_WAIT_MS));
	memset(want_b, 0x44, len);
	expect_bytes(_metadata, fd, b, 0, want_b, len, "buffer b, its job released");
	TH_LOG("the EXEC of a job held back returned in %.3f s", t);
	EXPECT_GT(1.0, t) TH_LOG("an asynchronous EXEC waited for its in-sync");
	free(want_a);
	free(want_b);
}

/*
 * Handle 0 is never a sync object: destroying it fails, and does not make the next sync object
 * handle 0 (the C core's table used to free its reserved index 0 on that destroy; the fix is
 * patches/0015). An empty command runs: a job that touches no buffer.
 */
TEST_F(sync, handle_zero_and_empty_job)
{
	struct drm_syncobj_destroy d = { .handle = 0 };
	struct drm_vrust_cmd empty = vrust_cmd_fill(S, 0, 1);
	int fd = self->f.render, i;
	__u32 h[4], vm, done = 0;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, syncobj_new(fd, &h[i]));
	for (i = 2; i < 4; i++) {
		EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d));
		ASSERT_EQ(0, syncobj_new(fd, &h[i]));
		EXPECT_NE(0U, h[i]) TH_LOG("sync object %d got handle 0", i);
	}
	EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d));

	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	EXPECT_EQ(0, exec_job(fd, vm, &empty, 1, 0, NULL, 0, h[0], 0, &done));
	EXPECT_EQ(1U, done);
	EXPECT_EQ(0, syncobj_wait(fd, h[0], LONG_WAIT_MS));
}

/*
 * Sync files in and out of EXEC: the job waits for the fence of @in_fence_fd (a sync file of
 * the shut gate's fence) and returns its own fence as a new sync file in @out_fence_fd, which
 * signals when the job is done. A descriptor that is not a sync file is -EINVAL, with nothing
 * queued; without the flag, @out_fence_fd is -1; a failed EXEC makes no sync file.
 */
TEST_F(sync, sync_file_in_and_out)
{
	int fd = self->f.render, status = 0, in_sf = -1, not_sf;
	struct drm_vrust_cmd cmd = vrust_cmd_fill(S, PAGE, 0x5a);
	struct drm_vrust_cmd unmapped = vrust_cmd_fill(S + 64 * PAGE, PAGE, 1);
	struct drm_vrust_exec a;
	__u32 vm, bo, gated;
	char driver[32] = "";

	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 1, S, &bo));
	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &gated));
	ASSERT_EQ(0, syncobj_sync_file(fd, gated, &in_sf));

	a = (struct drm_vrust_exec){
		.vm_id = vm, .count = 1, .cmds = (uintptr_t)&cmd, .in_fence_fd = in_sf,
		.flags = VRUST_EXEC_ASYNC | VRUST_EXEC_IN_FENCE_FD | VRUST_EXEC_OUT_FENCE_FD,
		.out_fence_fd = 12345,
	};
	ASSERT_EQ(0, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a));
	ASSERT_LE(0, a.out_fence_fd) TH_LOG("no out-fence sync file");
	EXPECT_EQ(FD_CLOEXEC, fcntl(a.out_fence_fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, sync_file_driver(a.out_fence_fd, driver, sizeof(driver)));
	EXPECT_STREQ("vrust", driver);
	EXPECT_EQ(0, sync_file_wait(a.out_fence_fd, SHORT_WAIT_MS, &status));
	EXPECT_EQ(0, status) TH_LOG("the job ran before its in-fence signalled");
	expect_value(_metadata, fd, bo, 0, PAGE, 0, "the buffer, its job held back");
	ASSERT_EQ(0, gate_open(&self->gate));
	EXPECT_EQ(0, sync_file_wait(a.out_fence_fd, LONG_WAIT_MS, &status));
	EXPECT_EQ(1, status) TH_LOG("the out-fence signalled with %d", status);
	expect_value(_metadata, fd, bo, 0, PAGE, 0x5a, "the buffer, its job released");
	close(a.out_fence_fd);

	/* A synchronous EXEC returns a signalled sync file. */
	a = (struct drm_vrust_exec){
		.vm_id = vm, .count = 1, .cmds = (uintptr_t)&cmd, .flags = VRUST_EXEC_OUT_FENCE_FD,
	};
	ASSERT_EQ(0, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a));
	ASSERT_LE(0, a.out_fence_fd);
	EXPECT_EQ(0, sync_file_status(a.out_fence_fd, &status));
	EXPECT_EQ(1, status);
	close(a.out_fence_fd);

	/* Not a sync file: a DRM file, a closed descriptor. */
	not_sf = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, not_sf);
	for (int i = 0; i < 3; i++) {
		int bad[] = { not_sf, fd, 1 << 20 };

		a = (struct drm_vrust_exec){
			.vm_id = vm, .count = 1, .cmds = (uintptr_t)&cmd, .in_fence_fd = bad[i],
			.flags = VRUST_EXEC_ASYNC | VRUST_EXEC_IN_FENCE_FD |
				 VRUST_EXEC_OUT_FENCE_FD,
		};
		EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a))
			TH_LOG("in-fence %d", i);
		EXPECT_EQ(-1, a.out_fence_fd) TH_LOG("a failed EXEC returned a sync file");
	}
	close(not_sf);
	/* Without the flag, no sync file; a failed synchronous EXEC, none either. */
	a = (struct drm_vrust_exec){ .vm_id = vm, .count = 1, .cmds = (uintptr_t)&cmd,
				     .out_fence_fd = 7 };
	ASSERT_EQ(0, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a));
	EXPECT_EQ(-1, a.out_fence_fd);
	a = (struct drm_vrust_exec){ .vm_id = vm, .count = 1, .cmds = (uintptr_t)&unmapped,
				     .flags = VRUST_EXEC_OUT_FENCE_FD };
	EXPECT_EQ(-EFAULT, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &a));
	EXPECT_EQ(-1, a.out_fence_fd);
	close(in_sf);
}

/*
 * A chain across two files of the device. Job A (file 1) FILLs buffer a, held back by a shut
 * gate. File 2 imports a through PRIME and A's out-sync through a sync object fd; its job C
 * FILLs buffer c, which A does not touch, and its job B COPYs a into buffer b, both with A's
 * out-sync as in-sync. Each file has a queue of its own, and C shares no buffer with A: only
 * its in-sync holds it back. Nothing runs before the gate opens; then all, the bytes right.
 */
TEST_F(sync, chain_across_files)
{
	const size_t len = 4 * PAGE;
	unsigned char *want = malloc(len);
	int fd1 = self->f.render, fd2, dmabuf, sfd, i, status = 0;
	struct drm_vrust_cmd cmds[8];
	struct drm_vrust_sync in = {};
	__u32 vm1, vm2, a, a2, b, c, sa, sa2, sb, sc;

	ASSERT_NE(NULL, want);
	fd2 = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	self->f.fds[0] = fd2;
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd1, &vm1));
	ASSERT_EQ(0, vrust_vm_create(fd2, &vm2));
	ASSERT_EQ(0, bo_mapped(fd1, vm1, 4, S, &a));
	ASSERT_EQ(0, vrust_prime_export(fd1, a, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(fd2, dmabuf, &a2));
	ASSERT_EQ(0, vrust_vm_map(fd2, vm2, a2, 0, S, len));
	ASSERT_EQ(0, bo_mapped(fd2, vm2, 4, S + 16 * PAGE, &b));
	ASSERT_EQ(0, bo_mapped(fd2, vm2, 4, S + 32 * PAGE, &c));

	/* A: eight FILLs of 2 KiB, each with a byte of its own. */
	ASSERT_EQ(0, gate_shut(&self->gate, fd1, &in.handle));
	for (i = 0; i < 8; i++) {
		cmds[i] = vrust_cmd_fill(S + i * 2048, 2048, 0x13 * (i + 1));
		memset(want + i * 2048, 0x13 * (i + 1), 2048);
	}
	ASSERT_EQ(0, syncobj_new(fd1, &sa));
	ASSERT_EQ(0, exec_async(fd1, vm1, cmds, 8, &in, 1, sa, 0));
	ASSERT_EQ(0, DRMCALL(drmSyncobjHandleToFD(fd1, sa, &sfd)));
	ASSERT_EQ(0, DRMCALL(drmSyncobjFDToHandle(fd2, sfd, &sa2)));
	close(sfd);

	in = (struct drm_vrust_sync){ .handle = sa2 };
	ASSERT_EQ(0, syncobj_new(fd2, &sc));
	cmds[0] = vrust_cmd_fill(S + 32 * PAGE, len, 0xcc);
	ASSERT_EQ(0, exec_async(fd2, vm2, cmds, 1, &in, 1, sc, 0));
	ASSERT_EQ(0, syncobj_new(fd2, &sb));
	cmds[0] = vrust_cmd_copy(S, S + 16 * PAGE, len);
	ASSERT_EQ(0, exec_async(fd2, vm2, cmds, 1, &in, 1, sb, 0));

	EXPECT_EQ(-ETIME, syncobj_wait(fd2, sc, SHORT_WAIT_MS))
		TH_LOG("job C ran before job A, its in-sync (of another file)");
	EXPECT_EQ(-ETIME, syncobj_wait(fd2, sb, 0)) TH_LOG("job B ran before job A");
	EXPECT_EQ(-ETIME, syncobj_wait(fd1, sa, 0)) TH_LOG("job A ran before the gate opened");
	expect_value(_metadata, fd1, a, 0, len, 0, "buffer a before the gate opened");
	expect_value(_metadata, fd2, b, 0, len, 0, "buffer b before the gate opened");
	expect_value(_metadata, fd2, c, 0, len, 0, "buffer c before the gate opened");

	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd2, sb, LONG_WAIT_MS)) TH_LOG("job B never ran");
	ASSERT_EQ(0, syncobj_wait(fd2, sc, LONG_WAIT_MS)) TH_LOG("job C never ran");
	EXPECT_EQ(0, syncobj_wait(fd1, sa, 0)) TH_LOG("job B or C ran before job A");
	expect_bytes(_metadata, fd1, a, 0, want, len, "buffer a, written by job A");
	expect_bytes(_metadata, fd2, b, 0, want, len, "buffer b, copied from a by job B");
	expect_value(_metadata, fd2, c, 0, len, 0xcc, "buffer c, filled by job C");
	EXPECT_EQ(0, syncobj_status(fd2, sa2, &status));
	EXPECT_EQ(1, status) TH_LOG("job A's fence, seen from file 2: %d", status);
	EXPECT_EQ(0, syncobj_status(fd2, sb, &status));
	EXPECT_EQ(1, status) TH_LOG("job B's fence: %d", status);
	free(want);
}

/*
 * Timeline out-syncs: job 1 signals point 5 and job 2, held back by a shut gate, point 9 of one
 * sync object. Point 5 signals while 9 waits; the query shows 5, and 9 as the last submitted;
 * once the gate opens, 9. A point between two submitted ones is there (the later one's fence),
 * one beyond the last is not (-EINVAL, or -ETIME waiting for its submission).
 */
TEST_F(sync, timeline_out_sync)
{
	int fd = self->f.render;
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmd;
	__u32 vm, a, tl;
	__u64 point;

	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 3, S, &a));
	ASSERT_EQ(0, syncobj_new(fd, &tl));
	cmd = vrust_cmd_fill(S, PAGE, 0x41);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, NULL, 0, tl, 5));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	cmd = vrust_cmd_fill(S + PAGE, PAGE, 0x42);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, 1, tl, 9));

	ASSERT_EQ(0, timeline_wait(fd, tl, 5, LONG_WAIT_MS, 0)) TH_LOG("point 5 never signalled");
	EXPECT_EQ(-ETIME, timeline_wait(fd, tl, 9, SHORT_WAIT_MS, 0))
		TH_LOG("point 9 signalled before its job could run");
	EXPECT_EQ(-ETIME, timeline_wait(fd, tl, 7, 0, 0))
		TH_LOG("point 7 is point 9's fence, which has not signalled");
	ASSERT_EQ(0, timeline_query(fd, tl, 0, &point));
	EXPECT_EQ(5ULL, point) TH_LOG("the last signalled point");
	ASSERT_EQ(0, timeline_query(fd, tl, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED, &point));
	EXPECT_EQ(9ULL, point) TH_LOG("the last submitted point");
	expect_value(_metadata, fd, a, 0, PAGE, 0x41, "page 0, job 1 done");
	expect_value(_metadata, fd, a, PAGE, PAGE, 0, "page 1, job 2 held back");
	/* Point 9's fence as an in-sync: job 3 comes after job 2. */
	in = (struct drm_vrust_sync){ .handle = tl, .point = 9 };
	cmd = vrust_cmd_copy(S + PAGE, S + 2 * PAGE, PAGE);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, 1, tl, 12));
	/* No point 13 yet: not an in-sync; waited for, it times out unsubmitted. */
	in.point = 13;
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &cmd, 1, &in, 1, 0, 0));
	EXPECT_EQ(-EINVAL, timeline_wait(fd, tl, 13, 0, 0));
	EXPECT_EQ(-ETIME, timeline_wait(fd, tl, 13, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT));

	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, timeline_wait(fd, tl, 12, LONG_WAIT_MS, 0)) TH_LOG("point 12 never signalled");
	ASSERT_EQ(0, timeline_query(fd, tl, 0, &point));
	EXPECT_EQ(12ULL, point);
	EXPECT_EQ(0, timeline_wait(fd, tl, 9, 0, 0));
	expect_value(_metadata, fd, a, PAGE, PAGE, 0x42, "page 1, job 2 done");
	expect_value(_metadata, fd, a, 2 * PAGE, PAGE, 0x42, "page 2, copied by job 3 after job 2");
}

/*
 * Implicit sync with vgem: a vgem buffer, imported into vrust and mapped in a VM, carries a vgem
 * write fence. An asynchronous EXEC that writes the buffer waits for it: its out-sync does not
 * signal and vgem's mapping shows the old bytes, until the test signals the vgem fence; then the
 * out-sync signals and vgem's mapping shows what the job wrote.
 */
TEST_F(sync, implicit_sync_waits_for_vgem)
{
	int fd = self->f.render, vgem, dmabuf;
	struct drm_vgem_fence_attach attach = { .flags = VGEM_FENCE_WRITE };
	struct drm_vgem_fence_signal sig = {};
	struct drm_mode_create_dumb d;
	struct drm_vrust_cmd cmds[2];
	unsigned char *map, *want;
	__u32 vm, h, out;
	__u64 off;
	size_t i;

	vgem = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	self->f.fds[0] = vgem;
	ASSERT_LE(0, vgem) TH_LOG("vgem is not available: %d", vgem);
	ASSERT_EQ(0, vrust_dumb_create(vgem, 1024, 4, 32, &d));
	ASSERT_EQ(0, vrust_dumb_offset(vgem, d.handle, &off));
	map = vrust_mmap(vgem, off, d.size);
	ASSERT_NE(MAP_FAILED, map);
	want = malloc(d.size);
	ASSERT_NE(NULL, want);
	memset(map, 0x5a, d.size);
	ASSERT_EQ(0, vrust_prime_export(vgem, d.handle, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(fd, dmabuf, &h));
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, vrust_vm_map(fd, vm, h, 0, S, d.size));

	attach.handle = d.handle;
	ASSERT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	ASSERT_EQ(0, syncobj_new(fd, &out));
	cmds[0] = vrust_cmd_fill(S, d.size, 0xa7);
	cmds[1] = vrust_cmd_fill(S + PAGE + 3, 16, 0x01);
	ASSERT_EQ(0, exec_async(fd, vm, cmds, 2, NULL, 0, out, 0));
	EXPECT_EQ(-ETIME, syncobj_wait(fd, out, SHORT_WAIT_MS))
		TH_LOG("the job ran before the vgem fence on its buffer signalled");
	for (i = 0; i < d.size && map[i] == 0x5a; i++)
		;
	EXPECT_EQ(d.size, i) TH_LOG("byte %zu written before the vgem fence signalled", i);

	sig.fence = attach.out_fence;
	ASSERT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));
	ASSERT_EQ(0, syncobj_wait(fd, out, LONG_WAIT_MS)) TH_LOG("the job never ran");
	memset(want, 0xa7, d.size);
	memset(want + PAGE + 3, 0x01, 16);
	for (i = 0; i < d.size && map[i] == want[i]; i++)
		;
	EXPECT_EQ(d.size, i) TH_LOG("vgem's mapping: byte %zu is %#x, not %#x", i,
				    i < d.size ? map[i] : 0, i < d.size ? want[i] : 0);
	EXPECT_EQ(0, munmap(map, d.size));
	free(want);
}

/*
 * The other way: a vrust job's fence is in the reservation objects of the buffers it touches,
 * where other drivers see it. The job COPYs from vgem buffer x (imported, and held back by a
 * vgem write fence) to vrust buffer y, exported as a dma-buf and imported into vgem. While it
 * waits, DMA_BUF_IOCTL_EXPORT_SYNC_FILE of y's dma-buf (its write fences) gives a pending sync
 * file of one fence of vrust's, and vgem refuses a fence on y (-EBUSY: a write is pending); once
 * x's fence has signalled and the job has run, that sync file is signalled, vgem takes a fence
 * on y, and y holds x's bytes.
 */
TEST_F(sync, vrust_fence_on_dmabuf)
{
	const size_t len = 4 * PAGE;
	int fd = self->f.render, vgem, xbuf, ybuf, sf, status = 0;
	struct drm_vgem_fence_attach attach = {};
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };
	struct drm_vgem_fence_signal sig = {};
	struct drm_mode_create_dumb d;
	struct drm_vrust_cmd cmd;
	unsigned char *map, *want;
	__u32 vm, hx, hy, vy, out;
	char driver[32];
	__u64 off;
	size_t i;

	vgem = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	self->f.fds[0] = vgem;
	ASSERT_LE(0, vgem) TH_LOG("vgem is not available: %d", vgem);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	/* x: vgem's, with a pattern, at S. */
	ASSERT_EQ(0, vrust_dumb_create(vgem, 1024, 4, 32, &d));
	ASSERT_EQ(len, d.size);
	ASSERT_EQ(0, vrust_dumb_offset(vgem, d.handle, &off));
	map = vrust_mmap(vgem, off, len);
	ASSERT_NE(MAP_FAILED, map);
	want = malloc(len);
	ASSERT_NE(NULL, want);
	for (i = 0; i < len; i++) {
		want[i] = (unsigned char)(i * 7 + (i >> 12) + 1);
		map[i] = want[i];
	}
	EXPECT_EQ(0, munmap(map, len));
	ASSERT_EQ(0, vrust_prime_export(vgem, d.handle, &xbuf));
	self->f.fds[1] = xbuf;
	ASSERT_EQ(0, vrust_prime_import(fd, xbuf, &hx));
	ASSERT_EQ(0, vrust_vm_map(fd, vm, hx, 0, S, len));
	/* y: ours, at S + 16 pages, also vgem's through PRIME. */
	ASSERT_EQ(0, bo_mapped(fd, vm, 4, S + 16 * PAGE, &hy));
	ASSERT_EQ(0, vrust_prime_export(fd, hy, &ybuf));
	self->f.fds[2] = ybuf;
	ASSERT_EQ(0, vrust_prime_import(vgem, ybuf, &vy));
	/* No fence on y yet: its sync file is signalled. */
	ASSERT_EQ(0, vrust_ioctl(ybuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	ASSERT_EQ(0, sync_file_status(e.fd, &status));
	EXPECT_EQ(1, status) TH_LOG("a fence on a new buffer");
	close(e.fd);

	attach.handle = d.handle;
	attach.flags = VGEM_FENCE_WRITE;
	ASSERT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach));
	sig.fence = attach.out_fence;
	ASSERT_EQ(0, syncobj_new(fd, &out));
	cmd = vrust_cmd_copy(S, S + 16 * PAGE, len);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, NULL, 0, out, 0));

	e.fd = -1;
	ASSERT_EQ(0, vrust_ioctl(ybuf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	sf = e.fd;
	self->f.fds[3] = sf;
	ASSERT_EQ(0, sync_file_status(sf, &status));
	EXPECT_EQ(0, status) TH_LOG("the dma-buf of the pending job's buffer has no pending write");
	ASSERT_EQ(0, sync_file_driver(sf, driver, sizeof(driver)))
		TH_LOG("the dma-buf's write fences are not the job's fence alone");
	EXPECT_STREQ("vrust", driver);
	/* A read fence of vgem's waits for no reader, but for the pending write: refused. */
	attach = (struct drm_vgem_fence_attach){ .handle = vy };
	EXPECT_EQ(-EBUSY, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach))
		TH_LOG("vgem did not see the write of the pending vrust job");
	EXPECT_EQ(-ETIME, syncobj_wait(fd, out, 0))
		TH_LOG("the job ran before x's fence signalled");
	expect_value(_metadata, fd, hy, 0, len, 0, "buffer y, before its job ran");

	ASSERT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));
	ASSERT_EQ(0, syncobj_wait(fd, out, LONG_WAIT_MS)) TH_LOG("the job never ran");
	ASSERT_EQ(0, sync_file_wait(sf, LONG_WAIT_MS, &status));
	EXPECT_EQ(1, status) TH_LOG("the job's fence, from the dma-buf, once it ran");
	attach = (struct drm_vgem_fence_attach){ .handle = vy };
	EXPECT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach))
		TH_LOG("vgem still sees a pending write on y after the job ran");
	if (attach.out_fence) {
		sig.fence = attach.out_fence;
		EXPECT_EQ(0, vrust_ioctl(vgem, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig));
	}
	expect_bytes(_metadata, fd, hy, 0, want, len, "buffer y, copied from vgem's x");
	free(want);
}

/*
 * A hung job ends at the job timeout and the next one runs. On a file opened with
 * job_timeout_ms 200 (and kept after the attribute changed to 5000: a file has the timeout of
 * its open): job 1 is [HANG], job 2 [FILL], job 3 [FILL] with job 1's out-sync as in-sync.
 * Job 2's out-sync signals after about 200 ms, its FILL done; job 1's fence failed with -ETIME,
 * and so did job 3's, which never ran: a job whose in-sync failed fails with its error.
 */
TEST_F(sync, hung_job_times_out)
{
	int fd, status = 0;
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmd;
	__u32 vm, a, s1, s2, s3;
	double t0, t;

	fd = open_with_timeout(&self->f, 0, HANG_MS);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vrust_instance_set(&self->f.inst, "job_timeout_ms", "5000"));
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S, &a));
	ASSERT_EQ(0, syncobj_new(fd, &s1));
	ASSERT_EQ(0, syncobj_new(fd, &s2));
	ASSERT_EQ(0, syncobj_new(fd, &s3));
	t0 = vrust_now_s();
	cmd = cmd_hang();
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, NULL, 0, s1, 0));
	cmd = vrust_cmd_fill(S, PAGE, 0x5a);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, NULL, 0, s2, 0));
	in.handle = s1;
	cmd = vrust_cmd_fill(S + PAGE, PAGE, 0x6b);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, 1, s3, 0));

	ASSERT_EQ(0, syncobj_wait(fd, s2, LONG_WAIT_MS))
		TH_LOG("the job after a hung one never ran");
	t = vrust_now_s() - t0;
	TH_LOG("the job after the hung one signalled after %.3f s (job timeout %d ms)", t, HANG_MS);
	EXPECT_LE(HANG_MS / 1000.0 - 0.02, t) TH_LOG("the hung job did not hold the queue");
	EXPECT_GT(2.0, t) TH_LOG("the timeout was not the one of the file's open");
	ASSERT_EQ(0, syncobj_status(fd, s2, &status));
	EXPECT_EQ(1, status);
	expect_value(_metadata, fd, a, 0, PAGE, 0x5a, "the FILL after the hung job");
	ASSERT_EQ(0, syncobj_status(fd, s1, &status));
	EXPECT_EQ(-ETIME, status) TH_LOG("the hung job's fence signalled with %d", status);
	ASSERT_EQ(0, syncobj_wait(fd, s3, LONG_WAIT_MS));
	ASSERT_EQ(0, syncobj_status(fd, s3, &status));
	EXPECT_EQ(-ETIME, status) TH_LOG("the job waiting for the hung one: %d", status);
	expect_value(_metadata, fd, a, PAGE, PAGE, 0, "the FILL whose in-sync failed");
}

/* job_timeout_ms: 10000 at first, 1 to 600000, else -EINVAL; reads back what was written. */
TEST_F(sync, job_timeout_attribute)
{
	static const char *const bad[] = { "0", "600001", "-1", "abc", "4294967297", "1.5", "2 " };
	static const struct {
		const char *in, *out;
	} good[] = { { "1", "1" }, { "600000", "600000" }, { "250\n", "250" } };
	char path[192], buf[32];
	unsigned int i;

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/job_timeout_ms", self->f.inst.name);
	ASSERT_EQ(0, vrust_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(VRUST_DEFAULT_JOB_TIMEOUT_MS, atoi(buf)) TH_LOG("the default: %s", buf);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, vrust_instance_set(&self->f.inst, "job_timeout_ms", bad[i]))
			TH_LOG("job_timeout_ms \"%s\"", bad[i]);
	}
	ASSERT_EQ(0, vrust_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(VRUST_DEFAULT_JOB_TIMEOUT_MS, atoi(buf)) TH_LOG("after bad values: %s", buf);
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		EXPECT_EQ(0, vrust_instance_set(&self->f.inst, "job_timeout_ms", good[i].in));
		ASSERT_EQ(0, vrust_read_file(path, buf, sizeof(buf)));
		EXPECT_STREQ(good[i].out, buf);
	}
}

/*
 * Synchronous EXECs: they report done and return when the job has run, also after in-syncs
 * (a gate opened by a thread 300 ms later); with their fence in an out-sync as well. One with a
 * HANG returns -ETIME at the job timeout (200 ms), done counting the commands before the HANG,
 * which ran; the one after it did not. The file's queue goes on after it.
 */
TEST_F(sync, synchronous_exec)
{
	struct gate_timer timer = { .g = &self->gate, .ms = 300 };
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmds[4];
	__u32 vm, a, out, done;
	int fd, status = 0;
	pthread_t tid;
	double t0, t;

	fd = open_with_timeout(&self->f, 0, HANG_MS);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 4, S, &a));
	cmds[0] = vrust_cmd_fill(S, PAGE, 1);
	cmds[1] = vrust_cmd_fill(S + PAGE, PAGE, 2);
	cmds[2] = cmd_hang();
	cmds[3] = vrust_cmd_fill(S + 2 * PAGE, PAGE, 3);
	t0 = vrust_now_s();
	EXPECT_EQ(-ETIME, exec_job(fd, vm, cmds, 4, 0, NULL, 0, 0, 0, &done));
	t = vrust_now_s() - t0;
	EXPECT_EQ(2U, done) TH_LOG("done of a job that hung at its third command");
	TH_LOG("the EXEC that hung returned after %.3f s (job timeout %d ms)", t, HANG_MS);
	EXPECT_LE(HANG_MS / 1000.0 - 0.02, t);
	EXPECT_GT(5.0, t);
	expect_value(_metadata, fd, a, 0, PAGE, 1, "page 0, before the HANG");
	expect_value(_metadata, fd, a, PAGE, PAGE, 2, "page 1, before the HANG");
	expect_value(_metadata, fd, a, 2 * PAGE, PAGE, 0, "page 2, after the HANG");

	/* The queue goes on, and a synchronous EXEC's fence is in its out-sync, signalled. */
	ASSERT_EQ(0, syncobj_new(fd, &out));
	cmds[0] = vrust_cmd_fill(S + 3 * PAGE, PAGE, 4);
	cmds[1] = vrust_cmd_copy(S, S + 2 * PAGE, PAGE);
	EXPECT_EQ(0, exec_job(fd, vm, cmds, 2, 0, NULL, 0, out, 0, &done));
	EXPECT_EQ(2U, done);
	EXPECT_EQ(0, syncobj_wait(fd, out, 0))
		TH_LOG("the out-sync of a synchronous EXEC that returned");
	ASSERT_EQ(0, syncobj_status(fd, out, &status));
	EXPECT_EQ(1, status);
	expect_value(_metadata, fd, a, 2 * PAGE, PAGE, 1, "page 2, copied");
	expect_value(_metadata, fd, a, 3 * PAGE, PAGE, 4, "page 3, filled");

	/* After an in-sync that a thread signals 300 ms later. */
	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	cmds[0] = vrust_cmd_fill(S, 2 * PAGE, 5);
	ASSERT_EQ(0, pthread_create(&tid, NULL, gate_open_later, &timer));
	t0 = vrust_now_s();
	EXPECT_EQ(0, exec_job(fd, vm, cmds, 1, 0, &in, 1, 0, 0, &done));
	t = vrust_now_s() - t0;
	pthread_join(tid, NULL);
	EXPECT_EQ(0, timer.ret) TH_LOG("opening the gate");
	EXPECT_EQ(1U, done);
	TH_LOG("the EXEC behind a gate opened after %u ms returned after %.3f s", timer.ms, t);
	EXPECT_LE(timer.ms / 1000.0 - 0.05, t)
		TH_LOG("a synchronous EXEC did not wait for its in-sync");
	expect_value(_metadata, fd, a, 0, 2 * PAGE, 5, "pages 0 and 1, after the gate");
}

#define QUEUED		3

/*
 * Closing a file with jobs queued: on a file with job_timeout_ms 2000, job 0 is [HANG] and
 * jobs 1 to 3 FILL a buffer that another file holds too. Their out-syncs are taken out as sync
 * files, which are pending before the close. The close cancels the hung job and the queued
 * ones, in well under the timeout; every sync file is then signalled with an error, the queued
 * FILLs never ran, and the jobs let go of the buffer.
 */
TEST_F(sync, close_with_queued_jobs)
{
	int fd, dmabuf, sf[QUEUED + 1], status[QUEUED + 1] = {}, i;
	struct drm_vrust_cmd cmd;
	__u32 vm, a, shared, so;
	double t0, t;

	fd = open_with_timeout(&self->f, 0, 2000);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, QUEUED, S, &a));
	ASSERT_EQ(0, vrust_prime_export(fd, a, &dmabuf));
	ASSERT_EQ(0, vrust_prime_import(self->f.render, dmabuf, &shared));
	close(dmabuf);
	for (i = 0; i <= QUEUED; i++) {
		cmd = i ? vrust_cmd_fill(S + (i - 1) * PAGE, PAGE, 0x70 + i) : cmd_hang();
		ASSERT_EQ(0, syncobj_new(fd, &so));
		ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, NULL, 0, so, 0)) TH_LOG("job %d", i);
		ASSERT_EQ(0, syncobj_sync_file(fd, so, &sf[i]));
		self->f.fds[1 + i] = sf[i];
	}
	/* Let the HANG start. */
	vrust_sleep_ms(50);
	for (i = 0; i <= QUEUED; i++) {
		ASSERT_EQ(0, sync_file_status(sf[i], &status[i]));
		EXPECT_EQ(0, status[i]) TH_LOG("job %d is not pending behind the hung job", i);
	}
	EXPECT_EQ(1, vrust_live_buffers(self->f.render));

	t0 = vrust_now_s();
	ASSERT_EQ(0, vrust_close_fd(&self->f.fds[0]));
	t = vrust_now_s() - t0;
	TH_LOG("the close with a hung job and %d queued took %.3f s (job timeout 2 s)", QUEUED, t);
	EXPECT_GT(1.0, t) TH_LOG("the close waited for the hung job's timeout");
	for (i = 0; i <= QUEUED; i++) {
		ASSERT_EQ(0, sync_file_status(sf[i], &status[i]));
		TH_LOG("job %d: status %d", i, status[i]);
		EXPECT_GT(0, status[i]) TH_LOG("job %d was not failed by the close", i);
	}
	expect_value(_metadata, self->f.render, shared, 0, QUEUED * PAGE, 0,
		     "the buffer of the cancelled jobs");
	/* The other file's handle is the buffer's last user now. */
	EXPECT_EQ(0, vrust_gem_close(self->f.render, shared));
	EXPECT_EQ(0, vrust_live_buffers(self->f.render))
		TH_LOG("the jobs or the VM of the closed file still hold the buffer");
}

/*
 * Unplugging the device with jobs queued: on a file with job_timeout_ms 300, job 0 is [HANG]
 * and jobs 1 to 3 FILL a buffer, each behind a shut gate too (so that none can run before the
 * unplug, whenever the HANG ends). Sync files of their out-syncs are taken first, as the
 * unplugged device answers every ioctl with -ENODEV. The unplug returns at once; the gate is
 * opened; every sync file then signals, with an error: the hung job at its timeout, the others
 * when their turn comes and the device is gone, and so does a bind queued after them. The
 * buffer, seen through a CPU mapping that outlives the device, was not written.
 */
TEST_F_TIMEOUT(sync, unplug_with_queued_jobs, 60)
{
	int fd, sf[QUEUED + 2], status = 0, i;
	struct drm_vrust_sync in = {};
	struct drm_vrust_gem_info info;
	struct drm_vrust_cmd cmd;
	__u32 vm, a, so;
	unsigned char *map;
	double t0, t;
	size_t j;

	fd = open_with_timeout(&self->f, 0, 300);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, QUEUED, S, &a));
	ASSERT_EQ(0, vrust_gem_info(fd, a, &info));
	map = vrust_mmap(fd, info.offset, QUEUED * PAGE);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	for (i = 0; i <= QUEUED; i++) {
		cmd = i ? vrust_cmd_fill(S + (i - 1) * PAGE, PAGE, 0x70 + i) : cmd_hang();
		ASSERT_EQ(0, syncobj_new(fd, &so));
		ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, i ? 1 : 0, so, 0))
			TH_LOG("job %d", i);
		ASSERT_EQ(0, syncobj_sync_file(fd, so, &sf[i]));
		self->f.fds[1 + i] = sf[i];
	}

	/* A bind queued behind them, which must fail too. */
	ASSERT_EQ(0, syncobj_new(fd, &so));
	ASSERT_EQ(0, bind_job(fd, vm, VRUST_BIND_UNMAP, 0, 0, S, PAGE, VRUST_BIND_ASYNC, &in, 1,
			      so));
	ASSERT_EQ(0, syncobj_sync_file(fd, so, &sf[QUEUED + 1]));
	self->f.fds[QUEUED + 2] = sf[QUEUED + 1];

	t0 = vrust_now_s();
	ASSERT_EQ(0, vrust_instance_enable(&self->f.inst, false));
	t = vrust_now_s() - t0;
	TH_LOG("the unplug with a hung job and %d queued took %.3f s", QUEUED, t);
	EXPECT_GT(1.0, t) TH_LOG("the unplug waited for the jobs");
	cmd = vrust_cmd_fill(S, PAGE, 1);
	EXPECT_EQ(-ENODEV, exec_async(fd, vm, &cmd, 1, NULL, 0, 0, 0));
	ASSERT_EQ(0, gate_open(&self->gate));
	for (i = 0; i <= QUEUED; i++) {
		ASSERT_EQ(0, sync_file_wait(sf[i], LONG_WAIT_MS, &status));
		TH_LOG("job %d: status %d after %.3f s", i, status, vrust_now_s() - t0);
		EXPECT_GT(0, status) TH_LOG("job %d did not fail after the unplug", i);
		EXPECT_TRUE(status == -ENODEV || status == -ECANCELED ||
			    (i == 0 && status == -ETIME))
			TH_LOG("job %d failed with %d", i, status);
	}
	ASSERT_EQ(0, sync_file_wait(sf[QUEUED + 1], LONG_WAIT_MS, &status));
	EXPECT_TRUE(status == -ENODEV || status == -ECANCELED)
		TH_LOG("the bind queued at the unplug ended with %d", status);
	for (j = 0; j < QUEUED * PAGE && !map[j]; j++)
		;
	EXPECT_EQ(QUEUED * PAGE, j) TH_LOG("byte %zu written after the unplug", j);
	EXPECT_EQ(0, munmap(map, QUEUED * PAGE));
	EXPECT_EQ(0, vrust_close_fd(&self->f.fds[0]));
}

/*
 * Bad input to the new fields, each a clean errno before anything is queued: unknown sync
 * objects in and out (-ENOENT), non-zero pads, unknown flags, too many in-syncs (-EINVAL), an
 * in_syncs array the kernel cannot read (-EFAULT), and points without a fence (-EINVAL). None of
 * the failing EXECs ran (page 0 stays zero) or touched its out-sync (it stays without a fence);
 * the valid ones around them run.
 */
TEST_F(sync, bad_inputs)
{
	static struct drm_vrust_sync in[VRUST_EXEC_MAX_SYNCS + 1];
	const __u32 bad_flags[] = { 2, 1u << 31, ~0u, ~0u & ~VRUST_EXEC_ASYNC };
	struct drm_vrust_cmd bad = vrust_cmd_fill(S, PAGE, 0xee);
	struct drm_vrust_cmd good = vrust_cmd_fill(S + PAGE, PAGE, 0x11);
	struct drm_vrust_exec arg;
	int fd = self->f.render;
	__u32 vm, a, o, ok, gone, empty, tl, done, i, f;
	unsigned char *pages;

	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S, &a));
	ASSERT_EQ(0, syncobj_new(fd, &o));
	ASSERT_EQ(0, DRMCALL(drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &ok)));
	ASSERT_EQ(0, syncobj_new(fd, &empty));
	ASSERT_EQ(0, syncobj_new(fd, &tl));
	/* Made and destroyed last: a handle is reused by the next sync object made. */
	ASSERT_EQ(0, syncobj_new(fd, &gone));
	ASSERT_EQ(0, DRMCALL(drmSyncobjDestroy(fd, gone)));
	ASSERT_EQ(0, exec_async(fd, vm, &good, 1, NULL, 0, tl, 2));
	ASSERT_EQ(0, timeline_wait(fd, tl, 2, LONG_WAIT_MS, 0));

	/* Unknown sync objects, in both modes. */
	for (f = 0; f <= VRUST_EXEC_ASYNC; f++) {
		in[0] = (struct drm_vrust_sync){ .handle = gone };
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, in, 1, o, 0, &done));
		EXPECT_EQ(0U, done);
		in[0].handle = 0;
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, in, 1, o, 0, NULL));
		in[0].handle = 0xdeadbeef;
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, in, 1, o, 0, NULL));
		/* The second of two. */
		in[0].handle = ok;
		in[1] = (struct drm_vrust_sync){ .handle = gone };
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, in, 2, o, 0, NULL));
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, NULL, 0, gone, 0, &done))
			TH_LOG("an unknown out-sync");
		EXPECT_EQ(0U, done);
		EXPECT_EQ(-ENOENT, exec_job(fd, vm, &bad, 1, f, NULL, 0, gone, 3, NULL));
	}
	/* Pads. */
	in[0] = (struct drm_vrust_sync){ .handle = ok, .pad = 1 };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 1, o, 0)) TH_LOG("in_syncs[0].pad 1");
	in[0].pad = 0x80000000;
	EXPECT_EQ(-EINVAL, exec_job(fd, vm, &bad, 1, 0, in, 1, o, 0, NULL));
	in[0].pad = 0;
	in[1] = (struct drm_vrust_sync){ .handle = ok, .pad = 7 };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 2, o, 0)) TH_LOG("in_syncs[1].pad 7");
	arg = (struct drm_vrust_exec){
		.vm_id = vm, .count = 1, .cmds = (uintptr_t)&bad, .flags = VRUST_EXEC_ASYNC,
		.out_sync = { .handle = o, .pad = 1 },
	};
	EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &arg)) TH_LOG("out_sync.pad 1");
	arg.out_sync.pad = 0;
	arg.pad = 1;
	EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &arg)) TH_LOG("pad 1");
	/* Flags. */
	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		EXPECT_EQ(-EINVAL, exec_job(fd, vm, &bad, 1, bad_flags[i], NULL, 0, o, 0, NULL))
			TH_LOG("flags %#x", bad_flags[i]);
	}
	/* How many in-syncs: at most VRUST_EXEC_MAX_SYNCS. */
	for (i = 0; i <= VRUST_EXEC_MAX_SYNCS; i++)
		in[i] = (struct drm_vrust_sync){ .handle = ok };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, VRUST_EXEC_MAX_SYNCS + 1, o, 0));
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, ~0u, o, 0));
	EXPECT_EQ(0, exec_job(fd, vm, &good, 1, 0, in, VRUST_EXEC_MAX_SYNCS, 0, 0, &done))
		TH_LOG("VRUST_EXEC_MAX_SYNCS in-syncs");
	EXPECT_EQ(1U, done);
	/* An in_syncs array the kernel cannot read: not user memory, or running into a hole. */
	EXPECT_EQ(-EFAULT, exec_async(fd, vm, &bad, 1, (void *)8, 1, o, 0));
	EXPECT_EQ(-EFAULT, exec_async(fd, vm, &bad, 1, (void *)(uintptr_t)~0xfffULL, 1, o, 0));
	pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + PAGE, PAGE, PROT_NONE));
	memcpy(pages + PAGE - sizeof(in[0]), &in[0], sizeof(in[0]));
	EXPECT_EQ(0, exec_async(fd, vm, &good, 1, (void *)(pages + PAGE - sizeof(in[0])), 1, 0, 0))
		TH_LOG("one in-sync at the end of a page");
	EXPECT_EQ(-EFAULT, exec_async(fd, vm, &bad, 1, (void *)(pages + PAGE - sizeof(in[0])), 2,
				      o, 0)) TH_LOG("the second in-sync in a PROT_NONE page");
	EXPECT_EQ(0, munmap(pages, 2 * PAGE));
	/* Points: the sync object must have a fence for it. */
	in[0] = (struct drm_vrust_sync){ .handle = empty };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 1, o, 0)) TH_LOG("no fence at all");
	in[0].point = 1;
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 1, o, 0)) TH_LOG("no fence, point 1");
	in[0] = (struct drm_vrust_sync){ .handle = tl, .point = 3 };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 1, o, 0))
		TH_LOG("beyond the last point");
	EXPECT_EQ(-EINVAL, exec_job(fd, vm, &bad, 1, 0, in, 1, o, 0, NULL));
	in[0] = (struct drm_vrust_sync){ .handle = ok, .point = 1 };
	EXPECT_EQ(-EINVAL, exec_async(fd, vm, &bad, 1, in, 1, o, 0)) TH_LOG("a point of a binary");
	in[0] = (struct drm_vrust_sync){ .handle = tl, .point = 2 };
	in[1] = (struct drm_vrust_sync){ .handle = tl, .point = 1 };
	in[2] = (struct drm_vrust_sync){ .handle = tl };
	EXPECT_EQ(0, exec_job(fd, vm, &good, 1, 0, in, 3, 0, 0, NULL)) TH_LOG("signalled points");
	/* An unknown VM, with valid in-syncs. */
	EXPECT_EQ(-ENOENT, exec_async(fd, vm + 1, &bad, 1, in, 1, o, 0));

	EXPECT_TRUE(syncobj_empty(fd, o)) TH_LOG("a failed EXEC left a fence in its out-sync");
	expect_value(_metadata, fd, a, 0, PAGE, 0, "page 0, of the failed EXECs");
	expect_value(_metadata, fd, a, PAGE, PAGE, 0x11, "page 1, of the valid EXECs");
}

/*
 * An asynchronous EXEC runs whole or not at all: a stop that a synchronous EXEC reports after
 * running the commands before it (-EFAULT for an unmapped address, -EINVAL for a bad command,
 * -E2BIG beyond VRUST_EXEC_MAX_PIECES) fails it with nothing queued, done 0 and its out-sync
 * untouched. The same stream run synchronously runs its first commands.
 */
TEST_F(sync, async_stop_queues_nothing)
{
	static struct drm_vrust_cmd cmds[VRUST_EXEC_MAX_CMDS];
	const unsigned int span = VRUST_EXEC_MAX_PIECES / VRUST_EXEC_MAX_CMDS + 1;
	int fd = self->f.render;
	__u32 vm, a, one, o, done;
	unsigned int i;

	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S, &a));
	ASSERT_EQ(0, syncobj_new(fd, &o));
	cmds[0] = vrust_cmd_fill(S, PAGE, 1);
	cmds[1] = vrust_cmd_fill(S + 64 * PAGE, 1, 2);
	EXPECT_EQ(-EFAULT, exec_job(fd, vm, cmds, 2, VRUST_EXEC_ASYNC, NULL, 0, o, 0, &done));
	EXPECT_EQ(0U, done);
	cmds[1] = (struct drm_vrust_cmd){ .op = 77 };
	EXPECT_EQ(-EINVAL, exec_job(fd, vm, cmds, 2, VRUST_EXEC_ASYNC, NULL, 0, o, 0, &done));
	cmds[1] = vrust_cmd_copy(S, S + 100, PAGE);
	EXPECT_EQ(-EINVAL, exec_job(fd, vm, cmds, 2, VRUST_EXEC_ASYNC, NULL, 0, o, 0, &done));
	cmds[1] = vrust_cmd_fill(S, (__u64)VRUST_EXEC_MAX_BYTES + 1, 2);
	EXPECT_EQ(-EINVAL, exec_job(fd, vm, cmds, 2, VRUST_EXEC_ASYNC, NULL, 0, o, 0, &done));

	/*
	 * Pieces: a one-page buffer mapped at @span pages in a row, and VRUST_EXEC_MAX_CMDS FILLs
	 * over all of them, @span pieces each: more than VRUST_EXEC_MAX_PIECES.
	 */
	ASSERT_EQ(0, vrust_gem_create(fd, PAGE, 0, &one));
	for (i = 0; i < span; i++)
		ASSERT_EQ(0, vrust_vm_map(fd, vm, one, 0, S + (256 + i) * PAGE, PAGE));
	for (i = 0; i < VRUST_EXEC_MAX_CMDS; i++)
		cmds[i] = vrust_cmd_fill(S + 256 * PAGE, span * PAGE, 3);
	cmds[0] = vrust_cmd_fill(S, PAGE, 1);
	EXPECT_EQ(-E2BIG, exec_job(fd, vm, cmds, VRUST_EXEC_MAX_CMDS, VRUST_EXEC_ASYNC, NULL, 0, o,
				   0, &done));
	EXPECT_EQ(0U, done);
	EXPECT_TRUE(syncobj_empty(fd, o)) TH_LOG("a failed EXEC left a fence in its out-sync");
	expect_value(_metadata, fd, a, 0, PAGE, 0, "the first command of the failed EXECs");

	/* Synchronous: the commands before the stop run, and the out-sync gets their fence. */
	cmds[1] = vrust_cmd_fill(S + 64 * PAGE, 1, 2);
	EXPECT_EQ(-EFAULT, exec_job(fd, vm, cmds, 2, 0, NULL, 0, o, 0, &done));
	EXPECT_EQ(1U, done);
	EXPECT_EQ(0, syncobj_wait(fd, o, 0));
	expect_value(_metadata, fd, a, 0, PAGE, 1, "the command before the stop");
}

#define SUBMITTERS	4
#define JOBS		200

/**
 * struct submitter - a thread queueing JOBS jobs on a shared file
 * @tid: the thread
 * @idx: its number
 * @fd: the file
 * @vm: the VM
 * @binary: the out-syncs of its even jobs
 * @timeline: the out-sync of its odd jobs, at the job's number as point
 * @ret: the first failure, or 0
 * @failed: the job that failed
 * @busy: how often the queue was full (-EBUSY) and the job submitted again
 */
struct submitter {
	pthread_t tid;
	int idx;
	int fd;
	__u32 vm;
	__u32 binary[JOBS];
	__u32 timeline;
	int ret;
	int failed;
	int busy;
};

/* The byte job @j of thread @i FILLs its page with. */
static unsigned char job_byte(int i, int j)
{
	return (unsigned char)(i * 53 + j * 7 + 1);
}

/* Where thread @i's buffer is; the common buffer is after the last. */
static __u64 thread_addr(int i)
{
	return S + (__u64)i * JOBS * PAGE;
}

/*
 * Job j: FILLs page j of the thread's buffer, and the thread's 64 bytes of the common buffer
 * with j (which all threads' jobs write: they wait for each other, implicitly); after the
 * thread's job j - 1, through its out-sync.
 */
static void *submit_jobs(void *arg)
{
	struct submitter *s = arg;
	int j;

	for (j = 0; j < JOBS && !s->ret; j++) {
		struct drm_vrust_cmd cmds[2] = {
			vrust_cmd_fill(thread_addr(s->idx) + j * PAGE, PAGE, job_byte(s->idx, j)),
			vrust_cmd_fill(thread_addr(SUBMITTERS) + s->idx * 64, 64, j),
		};
		struct drm_vrust_sync prev = {};

		/* After job j - 1: binary[j - 1] when j - 1 is even, else point j - 1. */
		if (j && (j - 1) % 2)
			prev = (struct drm_vrust_sync){ .handle = s->timeline, .point = j - 1 };
		else if (j)
			prev = (struct drm_vrust_sync){ .handle = s->binary[j - 1] };
		/* A full queue (VRUST_EXEC_MAX_QUEUED) is -EBUSY: wait a little, submit again. */
		for (int tries = 0; tries < 10000; tries++) {
			s->ret = exec_async(s->fd, s->vm, cmds, 2, &prev, j ? 1 : 0,
					    j % 2 ? s->timeline : s->binary[j], j % 2 ? j : 0);
			if (s->ret != -EBUSY)
				break;
			s->busy++;
			usleep(1000);
		}
		s->failed = j;
	}
	return NULL;
}

/*
 * Threads submitting at once on one file: SUBMITTERS threads queue JOBS asynchronous EXECs each,
 * with out-syncs (binary and timeline) and in-syncs. Every fence then signals without error,
 * every page holds its job's byte, and each thread's part of the common buffer the byte of its
 * last job: the jobs of a thread ran in its order.
 */
TEST_F_TIMEOUT(sync, threads_submit_at_once, 120)
{
	static struct submitter subs[SUBMITTERS];
	static __u32 all[SUBMITTERS * JOBS / 2];
	unsigned char *want = malloc(JOBS * PAGE);
	int fd = self->f.render, i, j, n = 0, status = 0, bad;
	__u32 vm, bufs[SUBMITTERS], common;
	unsigned char last[64];
	__u64 point;
	double t0;

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	for (i = 0; i < SUBMITTERS; i++) {
		struct submitter *s = &subs[i];

		ASSERT_EQ(0, bo_mapped(fd, vm, JOBS, thread_addr(i), &bufs[i]));
		*s = (struct submitter){ .idx = i, .fd = fd, .vm = vm };
		for (j = 0; j < JOBS; j += 2) {
			ASSERT_EQ(0, syncobj_new(fd, &s->binary[j]));
			all[n++] = s->binary[j];
		}
		ASSERT_EQ(0, syncobj_new(fd, &s->timeline));
	}
	ASSERT_EQ(0, bo_mapped(fd, vm, 1, thread_addr(SUBMITTERS), &common));
	t0 = vrust_now_s();
	for (i = 0; i < SUBMITTERS; i++)
		ASSERT_EQ(0, pthread_create(&subs[i].tid, NULL, submit_jobs, &subs[i]));
	for (i = 0; i < SUBMITTERS; i++)
		pthread_join(subs[i].tid, NULL);
	for (i = 0; i < SUBMITTERS; i++) {
		EXPECT_EQ(0, subs[i].ret) TH_LOG("thread %d, job %d: %s", i, subs[i].failed,
						 vrust_errname(-subs[i].ret));
	}
	ASSERT_EQ(0, DRMCALL(drmSyncobjWait(fd, all, n, deadline_ns(60000),
					    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL)))
		TH_LOG("the binary out-syncs did not all signal");
	for (i = 0; i < SUBMITTERS; i++) {
		ASSERT_EQ(0, timeline_wait(fd, subs[i].timeline, JOBS - 1, LONG_WAIT_MS, 0));
		ASSERT_EQ(0, timeline_query(fd, subs[i].timeline, 0, &point));
		EXPECT_EQ((__u64)JOBS - 1, point) TH_LOG("thread %d's timeline", i);
	}
	TH_LOG("%d jobs of %d threads done in %.2f s; queue full %d times", SUBMITTERS * JOBS,
	       SUBMITTERS, vrust_now_s() - t0,
	       subs[0].busy + subs[1].busy + subs[2].busy + subs[3].busy);
	for (i = 0, bad = 0; i < n; i++)
		if (syncobj_status(fd, all[i], &status) || status != 1)
			bad++;
	EXPECT_EQ(0, bad) TH_LOG("%d jobs failed or their fences could not be read", bad);
	for (i = 0; i < SUBMITTERS; i++) {
		for (j = 0; j < JOBS; j++)
			memset(want + j * PAGE, job_byte(i, j), PAGE);
		expect_bytes(_metadata, fd, bufs[i], 0, want, JOBS * PAGE, "a thread's buffer");
		memset(last, JOBS - 1, sizeof(last));
		expect_bytes(_metadata, fd, common, i * 64, last, sizeof(last),
			     "a thread's part of the common buffer, its last job's");
	}
	free(want);
}

/* Binds ---------------------------------------------------------------------------------------- */

/*
 * VM_BIND of @op with @flags, after the @nin sync objects at @in, its fence going to sync object
 * @out (0: nowhere). Returns 0 or -errno.
 */
static int bind_job(int fd, __u32 vm, __u32 op, __u32 handle, __u64 offset, __u64 addr,
		    __u64 range, __u32 flags, const struct drm_vrust_sync *in, __u32 nin, __u32 out)
{
	struct drm_vrust_vm_bind a = {
		.vm_id = vm, .op = op, .handle = handle, .flags = flags, .addr = addr,
		.range = range, .offset = offset, .num_in_syncs = nin, .in_syncs = (uintptr_t)in,
		.out_sync = { .handle = out },
	};

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &a);
}

/*
 * An asynchronous bind held back by a gate returns at once and changes nothing until the gate
 * opens: the VM shows the old mappings, and an EXEC submitted meanwhile resolves against them
 * (-EFAULT at the address the bind will map). A bind queued after it waits for it, in the
 * order of the file's jobs. Once the gate opens, both apply, and their out-syncs signal.
 */
TEST_F(sync, async_bind_held_back)
{
	int fd = self->f.render, status = 0;
	struct drm_vrust_vm_mapping m[4];
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmd;
	__u32 vm, a, b, out1, out2;
	double t0, t;

	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 4, S, &a));
	ASSERT_EQ(0, vrust_gem_create(fd, 4 * PAGE, 0, &b));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	ASSERT_EQ(0, syncobj_new(fd, &out1));
	ASSERT_EQ(0, syncobj_new(fd, &out2));
	t0 = vrust_now_s();
	ASSERT_EQ(0, bind_job(fd, vm, VRUST_BIND_MAP, b, 0, S + 64 * PAGE, 4 * PAGE,
			      VRUST_BIND_ASYNC, &in, 1, out1));
	/* No in-sync of its own: it waits for the bind before it, in the file's queue. */
	ASSERT_EQ(0, bind_job(fd, vm, VRUST_BIND_UNMAP, 0, 0, S, 4 * PAGE, VRUST_BIND_ASYNC,
			      NULL, 0, out2));
	t = vrust_now_s() - t0;
	EXPECT_GT(1.0, t) TH_LOG("the asynchronous binds waited: %.3f s", t);
	EXPECT_EQ(-ETIME, syncobj_wait(fd, out1, SHORT_WAIT_MS));
	/* Neither ran: the unmap waits for the map, in the file's queue. */
	ASSERT_EQ(1, vrust_vm_query(fd, vm, m, 4)) TH_LOG("a bind ran before its gate opened");
	EXPECT_EQ(S, m[0].addr);
	cmd = vrust_cmd_fill(S + 64 * PAGE, PAGE, 0x61);
	EXPECT_EQ(-EFAULT, exec_async(fd, vm, &cmd, 1, NULL, 0, 0, 0))
		TH_LOG("an EXEC saw a bind that has not run");

	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd, out2, LONG_WAIT_MS));
	ASSERT_EQ(0, syncobj_status(fd, out1, &status));
	EXPECT_EQ(1, status);
	ASSERT_EQ(0, syncobj_status(fd, out2, &status));
	EXPECT_EQ(1, status);
	ASSERT_EQ(1, vrust_vm_query(fd, vm, m, 4));
	EXPECT_EQ(S + 64 * PAGE, m[0].addr);
	EXPECT_EQ(4 * PAGE, m[0].range);
	EXPECT_EQ(0, vrust_exec(fd, vm, &cmd, 1, NULL));
	expect_value(_metadata, fd, b, 0, PAGE, 0x61, "the buffer the bind mapped");
}

/*
 * An EXEC already queued keeps the buffers it resolved: it copies from buffer a while held back
 * by a gate; an asynchronous unmap of a queued after it, and the close of a's handle, do not
 * change what it reads. Once it has run, the buffer goes.
 */
TEST_F(sync, async_unmap_after_exec)
{
	const size_t len = 2 * PAGE;
	unsigned char *data = malloc(len);
	int fd = self->f.render;
	struct drm_vrust_vm_mapping m[4];
	struct drm_vrust_sync in = {};
	struct drm_vrust_cmd cmd;
	__u32 vm, a, b, out1, out2;

	ASSERT_NE(NULL, data);
	memset(data, 0x5a, len);
	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S, &a));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S + 64 * PAGE, &b));
	ASSERT_EQ(0, vrust_gem_write(fd, a, 0, len, data));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	ASSERT_EQ(0, syncobj_new(fd, &out1));
	ASSERT_EQ(0, syncobj_new(fd, &out2));
	cmd = vrust_cmd_copy(S, S + 64 * PAGE, len);
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, 1, out1, 0));
	ASSERT_EQ(0, bind_job(fd, vm, VRUST_BIND_UNMAP, 0, 0, S, len, VRUST_BIND_ASYNC, NULL, 0,
			      out2));
	ASSERT_EQ(0, vrust_gem_close(fd, a));
	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd, out2, LONG_WAIT_MS));
	expect_bytes(_metadata, fd, b, 0, data, len, "what the EXEC copied");
	ASSERT_EQ(1, vrust_vm_query(fd, vm, m, 4));
	EXPECT_EQ(S + 64 * PAGE, m[0].addr);
	EXPECT_EQ(1, vrust_live_buffers_settle(fd, 1, LONG_WAIT_MS))
		TH_LOG("the unmapped, closed buffer did not go");

	/*
	 * Once more, with the VM destroyed while the EXEC is held back: then only the queued job
	 * holds buffer a, which must live until the job has run.
	 */
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, bo_mapped(fd, vm, 2, S, &a));
	ASSERT_EQ(0, vrust_vm_map(fd, vm, b, 0, S + 64 * PAGE, len));
	memset(data, 0x3c, len);
	ASSERT_EQ(0, vrust_gem_write(fd, a, 0, len, data));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	ASSERT_EQ(0, exec_async(fd, vm, &cmd, 1, &in, 1, out1, 0));
	ASSERT_EQ(0, vrust_gem_close(fd, a));
	ASSERT_EQ(0, vrust_vm_destroy(fd, vm));
	EXPECT_EQ(2, vrust_live_buffers(fd)) TH_LOG("the queued EXEC does not hold its buffer");
	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd, out1, LONG_WAIT_MS));
	expect_bytes(_metadata, fd, b, 0, data, len, "what the EXEC copied from a");
	EXPECT_EQ(1, vrust_live_buffers_settle(fd, 1, LONG_WAIT_MS)) TH_LOG("buffer a did not go");
	free(data);
}

/*
 * What a bind refuses before it is queued (-EINVAL: unknown flags, a non-zero pad, too many
 * in-syncs, an out-sync pad; -ENOENT: an unknown sync object), with nothing queued or changed;
 * and what fails once queued: a bind whose VM is destroyed before it runs fails its fence
 * (-ENODEV). A valid synchronous bind still works after.
 */
TEST_F(sync, bind_errors)
{
	struct drm_vrust_sync in[VRUST_EXEC_MAX_SYNCS + 1] = {}, gate_in = {};
	struct drm_vrust_vm_bind arg = {};
	int fd = self->f.render, status = 0;
	__u32 vm, vm2, a, out;

	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, vrust_gem_create(fd, PAGE, 0, &a));
	ASSERT_EQ(0, syncobj_new(fd, &out));
	EXPECT_EQ(-EINVAL, bind_job(fd, vm, VRUST_BIND_MAP, a, 0, S, PAGE, 1 << 5, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, bind_job(fd, vm, VRUST_BIND_MAP, a, 0, S, PAGE, 0, in,
				    VRUST_EXEC_MAX_SYNCS + 1, 0));
	in[0].handle = 12345;
	EXPECT_EQ(-ENOENT, bind_job(fd, vm, VRUST_BIND_MAP, a, 0, S, PAGE, 0, in, 1, 0));
	EXPECT_EQ(-ENOENT, bind_job(fd, vm, VRUST_BIND_MAP, a, 0, S, PAGE, 0, NULL, 0, 12345));
	arg = (struct drm_vrust_vm_bind){ .vm_id = vm, .op = VRUST_BIND_MAP, .handle = a,
					  .addr = S, .range = PAGE, .pad = 1 };
	EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &arg));
	arg.pad = 0;
	arg.out_sync.handle = out;
	arg.out_sync.pad = 1;
	EXPECT_EQ(-EINVAL, vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &arg));
	arg.in_syncs = 8;
	arg.num_in_syncs = 1;
	arg.out_sync.pad = 0;
	EXPECT_EQ(-EFAULT, vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &arg));
	EXPECT_EQ(0, vrust_vm_query(fd, vm, NULL, 0));
	EXPECT_TRUE(syncobj_empty(fd, out)) TH_LOG("a refused bind touched its out-sync");

	/* Queued behind a gate, its VM destroyed before it runs. */
	ASSERT_EQ(0, vrust_vm_create(fd, &vm2));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &gate_in.handle));
	ASSERT_EQ(0, bind_job(fd, vm2, VRUST_BIND_MAP, a, 0, S, PAGE, VRUST_BIND_ASYNC, &gate_in,
			      1, out));
	ASSERT_EQ(0, vrust_vm_destroy(fd, vm2));
	ASSERT_EQ(0, gate_open(&self->gate));
	ASSERT_EQ(0, syncobj_wait(fd, out, LONG_WAIT_MS));
	ASSERT_EQ(0, syncobj_status(fd, out, &status));
	EXPECT_EQ(-ENODEV, status) TH_LOG("the bind of a destroyed VM signalled %d", status);
	/* A valid synchronous bind still works. */
	EXPECT_EQ(0, bind_job(fd, vm, VRUST_BIND_MAP, a, 0, S, PAGE, 0, NULL, 0, 0));
	EXPECT_EQ(1, vrust_vm_query(fd, vm, NULL, 0));
}

/* Closing a file with binds queued behind a gate: they are cancelled, and everything goes. */
#define BINDS_QUEUED	(VRUST_CLIENT_FDS - 1)
TEST_F(sync, close_with_queued_binds)
{
	struct drm_vrust_sync in = {};
	int fd, i, sf[BINDS_QUEUED], status = 0;
	__u32 vm, a, so;

	ASSERT_EQ(0, gate_init(&self->gate)) TH_LOG("vgem is not available");
	fd = self->f.render;
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, vrust_gem_create(fd, 8 * PAGE, 0, &a));
	ASSERT_EQ(0, gate_shut(&self->gate, fd, &in.handle));
	for (i = 0; i < BINDS_QUEUED; i++) {
		ASSERT_EQ(0, syncobj_new(fd, &so));
		ASSERT_EQ(0, bind_job(fd, vm, i % 2 ? VRUST_BIND_UNMAP : VRUST_BIND_MAP,
				      i % 2 ? 0 : a, 0, S + i * PAGE, 2 * PAGE,
				      VRUST_BIND_ASYNC, &in, 1, so)) TH_LOG("bind %d", i);
		ASSERT_EQ(0, syncobj_sync_file(fd, so, &sf[i]));
		self->f.fds[1 + i] = sf[i];
	}
	EXPECT_EQ(0, vrust_gem_close(fd, a));
	EXPECT_EQ(1, vrust_live_buffers(fd)) TH_LOG("the queued binds do not hold the buffer");
	ASSERT_EQ(0, vrust_close_fd(&self->f.render));
	for (i = 0; i < BINDS_QUEUED; i++) {
		ASSERT_EQ(0, sync_file_status(sf[i], &status));
		EXPECT_GT(0, status) TH_LOG("bind %d was not failed by the close", i);
	}
	self->f.render = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->f.render);
	EXPECT_EQ(0, vrust_live_buffers(self->f.render)) TH_LOG("the cancelled binds leaked");
}

/**
 * struct binder - a thread of binds_from_threads
 * @fd: the shared file
 * @vm: the shared VM
 * @bo: the one buffer every thread maps
 * @i: the thread's index: its GPU range
 * @ret: 0, or the first error
 */
struct binder {
	int fd;
	__u32 vm, bo;
	int i, ret;
};

#define BINDERS		4
#define BINDS		100

/* bind_job(), again while the file's queue is full (-EBUSY: VRUST_EXEC_MAX_QUEUED). */
static int bind_retry(int fd, __u32 vm, __u32 op, __u32 handle, __u64 offset, __u64 addr,
		      __u64 range, __u32 flags)
{
	int ret;

	while ((ret = bind_job(fd, vm, op, handle, offset, addr, range, flags, NULL, 0, 0)) ==
	       -EBUSY)
		vrust_sleep_ms(1);
	return ret;
}

/* Bind @n of a thread maps 2 pages into slot n % 16; every fifth then unmaps the first page. */
static __u64 slot_addr(int i, int n)
{
	return S + (__u64)i * 1024 * PAGE + (n % 16) * 4 * PAGE;
}

static void *bind_many(void *arg)
{
	struct binder *b = arg;
	int n;

	for (n = 0; n < BINDS && !b->ret; n++) {
		b->ret = bind_retry(b->fd, b->vm, VRUST_BIND_MAP, b->bo, (n % 4) * PAGE,
				    slot_addr(b->i, n), 2 * PAGE, n % 3 ? VRUST_BIND_ASYNC : 0);
		if (!b->ret && n % 5 == 4)
			b->ret = bind_retry(b->fd, b->vm, VRUST_BIND_UNMAP, 0, 0,
					    slot_addr(b->i, n), PAGE, VRUST_BIND_ASYNC);
	}
	return NULL;
}

/*
 * Threads bind one buffer into one VM at once, synchronously and not: every bind of the buffer
 * finds or makes the one VM object of the pair while others are being applied. Once a final
 * synchronous bind has run, each thread's range holds what its binds leave.
 */
TEST_F_TIMEOUT(sync, binds_from_threads, 120)
{
	struct drm_vrust_vm_mapping *m = calloc(4096, sizeof(*m));
	struct binder b[BINDERS];
	pthread_t th[BINDERS];
	int fd = self->f.render, i, n;
	__u32 vm, bo;

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vrust_vm_create(fd, &vm));
	ASSERT_EQ(0, vrust_gem_create(fd, 8 * PAGE, 0, &bo));
	for (i = 0; i < BINDERS; i++) {
		b[i] = (struct binder){ .fd = fd, .vm = vm, .bo = bo, .i = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, bind_many, &b[i]));
	}
	for (i = 0; i < BINDERS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, b[i].ret) TH_LOG("thread %d", i);
	}
	/* A synchronous bind runs after every bind queued before it. */
	ASSERT_EQ(0, vrust_vm_map(fd, vm, bo, 0, S + 8192 * PAGE, PAGE));
	n = vrust_vm_query(fd, vm, m, 4096);
	/* Per thread, one mapping per slot: what the slot's last bind left. */
	ASSERT_EQ(BINDERS * 16 + 1, n);
	for (i = 0; i < BINDERS * 16; i++) {
		int last = BINDS - 1 - (BINDS - 1 - i % 16) % 16;
		__u64 at = slot_addr(i / 16, last), cut = last % 5 == 4 ? PAGE : 0;

		EXPECT_EQ(at + cut, m[i].addr) TH_LOG("thread %d, slot %d", i / 16, i % 16);
		EXPECT_EQ(2 * PAGE - cut, m[i].range) TH_LOG("thread %d, slot %d", i / 16, i % 16);
		EXPECT_EQ((last % 4) * PAGE + cut, m[i].offset);
	}
	free(m);
}

TEST_HARNESS_MAIN
