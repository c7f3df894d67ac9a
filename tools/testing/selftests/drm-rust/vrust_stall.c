// SPDX-License-Identifier: GPL-2.0
/*
 * Tests that no client of vrust can stall anyone else: not the unplug of a DRM device (its own
 * or another's) by parking an ioctl inside a user copy, and not the CPU by one long EXEC.
 *
 * unplug.*: a thread's REVERSE ioctl on instance A reads its source from a page registered
 * with userfaultfd, which this test serves only at the end, so the ioctl sleeps inside the
 * kernel's user copy. Meanwhile instance B, then A itself, are unplugged: each must finish
 * within a second (the handler must not hold the one SRCU section that every DRM device's
 * unplug waits for). Then the page is served and the parked ioctl must complete.
 *
 * exec.*: one EXEC FILLs VRUST_EXEC_MAX_BYTES through a 64 MiB buffer mapped many times in a
 * VM. A 1 s sleep beside it must take under 1.5 s, SIGKILL must end it within a second, and a
 * stream beyond the limit must stop with -E2BIG before its first command.
 *
 * Needs root, configfs, CONFIG_USERFAULTFD and the module loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096
/* The longest an unplug may take while a client is parked in a user copy. */
#define UNPLUG_LIMIT_S	1.0

/**
 * struct parked - a REVERSE ioctl parked on a userfaultfd page
 * @fd: the DRM file it runs on
 * @src: the source page, registered with the userfaultfd
 * @dst: where the reversed bytes go
 * @ret: the ioctl's result (0 or -errno), set when it returns
 * @done: set when it returned
 */
struct parked {
	int fd;
	unsigned char *src;
	unsigned char *dst;
	int ret;
	int done;
};

static void *reverse_thread(void *arg)
{
	struct parked *p = arg;

	p->ret = vrust_reverse(p->fd, (uintptr_t)p->src, (uintptr_t)p->dst, PAGE);
	__atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/**
 * struct timed_unplug - an unplug run on a thread, so that the test sees it hang
 * @inst: the instance to unplug
 * @ret: vrust_instance_enable()'s result
 * @done: set when it returned
 */
struct timed_unplug {
	struct vrust_instance *inst;
	int ret;
	int done;
};

static void *unplug_thread(void *arg)
{
	struct timed_unplug *u = arg;

	u->ret = vrust_instance_enable(u->inst, false);
	__atomic_store_n(&u->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Unplugs @inst on a thread and waits up to @limit seconds for it. Returns the time it took, or
 * a negative value when it did not finish in time; then the thread is left running and *@thread
 * is set so the caller can join it once it unblocked the unplug.
 */
static double unplug_within(struct vrust_instance *inst, double limit, struct timed_unplug *u,
			    pthread_t *thread)
{
	double t0 = vrust_now_s();

	u->inst = inst;
	u->done = 0;
	if (pthread_create(thread, NULL, unplug_thread, u))
		return -1;
	while (!__atomic_load_n(&u->done, __ATOMIC_SEQ_CST)) {
		if (vrust_now_s() - t0 > limit)
			return -1;
		usleep(2000);
	}
	pthread_join(*thread, NULL);
	*thread = 0;
	return vrust_now_s() - t0;
}

static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Waits up to @ms for a page fault on @uffd; returns its address, or 0. */
static uint64_t uffd_wait_fault(int uffd, int ms)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
		return 0;
	return msg.arg.pagefault.address;
}

FIXTURE(unplug)
{
	struct vrust_instance a, b;
	int fd, uffd;
	unsigned char *src, *dst;
};

FIXTURE_SETUP(unplug)
{
	struct uffdio_register reg = { 0 };

	self->fd = -1;
	self->uffd = -1;
	/* The sysctl exists exactly when the kernel has userfaultfd. */
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD is off)");
	self->uffd = uffd_open();
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(-self->uffd));
	ASSERT_EQ(0, vrust_instance_up(&self->a));
	ASSERT_EQ(0, vrust_instance_up(&self->b));
	self->fd = vrust_open_node(self->a.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->fd);
	self->src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->dst = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->src);
	ASSERT_NE(MAP_FAILED, self->dst);
	memset(self->dst, 0, PAGE);
	reg.range.start = (uintptr_t)self->src;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg)) TH_LOG("UFFDIO_REGISTER: %m");
}

FIXTURE_TEARDOWN(unplug)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->uffd >= 0)
		close(self->uffd);
	vrust_instance_destroy(&self->a);
	vrust_instance_destroy(&self->b);
}

/*
 * The whole sequence of issue "an ioctl handler holds the global unplug SRCU": parked ioctl on A,
 * unplug B, unplug A, serve the page, the ioctl completes.
 */
TEST_F_TIMEOUT(unplug, while_parked_in_user_copy, 60)
{
	struct uffdio_copy copy = { 0 };
	struct timed_unplug ub = { 0 }, ua = { 0 };
	pthread_t rev, tb = 0, ta = 0;
	struct parked p = { .fd = self->fd, .src = self->src, .dst = self->dst };
	unsigned char *page;
	double t_b, t_a;
	int i;

	ASSERT_EQ(0, pthread_create(&rev, NULL, reverse_thread, &p));
	/* The fault proves that the ioctl is inside the kernel's user copy, parked. */
	ASSERT_EQ((uintptr_t)self->src, uffd_wait_fault(self->uffd, 5000))
		TH_LOG("the REVERSE ioctl did not fault on the registered page");
	usleep(50000);
	ASSERT_FALSE(__atomic_load_n(&p.done, __ATOMIC_SEQ_CST));

	t_b = unplug_within(&self->b, UNPLUG_LIMIT_S, &ub, &tb);
	t_a = t_b < 0 ? -1 : unplug_within(&self->a, UNPLUG_LIMIT_S, &ua, &ta);
	EXPECT_FALSE(__atomic_load_n(&p.done, __ATOMIC_SEQ_CST))
		TH_LOG("the parked ioctl returned before its page was served");

	/* Serve the page: the copy resumes and the ioctl completes, unplugged or not. */
	page = aligned_alloc(PAGE, PAGE);
	ASSERT_NE(NULL, page);
	for (i = 0; i < PAGE; i++)
		page[i] = i & 0xff;
	copy.dst = (uintptr_t)self->src;
	copy.src = (uintptr_t)page;
	copy.len = PAGE;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_COPY, &copy)) TH_LOG("UFFDIO_COPY: %m");
	pthread_join(rev, NULL);
	/* An unplug that hung behind the parked ioctl is unblocked now. */
	if (tb)
		pthread_join(tb, NULL);
	if (ta)
		pthread_join(ta, NULL);

	TH_LOG("unplug of B took %.3f s, of A %.3f s, while a client was parked (limit %.1f s)",
	       t_b, t_a, UNPLUG_LIMIT_S);
	EXPECT_LE(0, t_b) TH_LOG("the unplug of another device waited for a parked ioctl");
	EXPECT_LE(0, t_a) TH_LOG("the unplug of the device waited for its parked ioctl");
	EXPECT_EQ(0, ub.ret);
	EXPECT_EQ(0, ua.ret);
	/* The handler ran to its end: the bytes are reversed. */
	EXPECT_EQ(0, p.ret) TH_LOG("the parked REVERSE failed: %s", strerror(-p.ret));
	if (!p.ret) {
		for (i = 0; i < PAGE; i++)
			if (self->dst[i] != page[PAGE - 1 - i])
				break;
		EXPECT_EQ(PAGE, i) TH_LOG("REVERSE wrote wrong bytes at %d", i);
	}
	/* Unplugged: the next ioctl gets -ENODEV. */
	EXPECT_EQ(-ENODEV, vrust_reverse(self->fd, (uintptr_t)self->dst, (uintptr_t)self->dst, 8));
	free(page);
}

/* EXEC ------------------------------------------------------------------------------------ */

#define BO_SIZE		(64ULL << 20)

#ifndef VRUST_EXEC_MAX_BYTES
/* An older uapi without the limit: test as if it had today's. */
#define VRUST_EXEC_MAX_BYTES	(64ULL << 30)
#endif
/* The EXEC tests mean something only if the largest EXEC outlasts what they measure. */
#define EXEC_MIN_S	1.5

FIXTURE(exec)
{
	int fd;
	__u32 vm;
};

FIXTURE_SETUP(exec)
{
	__u64 n = VRUST_EXEC_MAX_BYTES / BO_SIZE, i;
	__u32 handle;

	self->fd = vrust_open_default(DRM_NODE_RENDER);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vrust_gem_create(self->fd, BO_SIZE, 0, &handle));
	ASSERT_EQ(0, vrust_vm_create(self->fd, &self->vm));
	/* The buffer mapped back to back, so that one FILL covers the whole limit. */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, vrust_vm_map(self->fd, self->vm, handle, 0,
					  VRUST_VM_START + i * BO_SIZE, BO_SIZE));
}

FIXTURE_TEARDOWN(exec)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* EXEC of @count FILLs of @len bytes at the start of the VM. */
static int exec_fill(int fd, __u32 vm, __u64 len, __u32 count, __u32 *done)
{
	struct drm_vrust_cmd cmds[2];
	__u32 i;

	for (i = 0; i < count; i++)
		cmds[i] = vrust_cmd_fill(VRUST_VM_START, len, 0x5a);
	return vrust_exec(fd, vm, cmds, count, done);
}

/*
 * Times the largest EXEC, run by this task; then forks a child that runs it again and starts
 * it. Returns the child, with *@t_exec set to the time of the first run and *@t0 to when the
 * child was told to start: a kernel that keeps the CPU for the whole EXEC delays every sleep
 * of the parent that ends meanwhile, so the parent measures from that time. Returns 0, with
 * the test skipped, when the EXEC is too short to outlast what the test measures.
 */
static pid_t start_largest_exec(struct __test_metadata *_metadata, int fd, __u32 vm,
				double *t_exec, double *t0)
{
	int pipefd[2];
	pid_t pid;
	char c;

	*t0 = vrust_now_s();
	ASSERT_EQ(0, exec_fill(fd, vm, VRUST_EXEC_MAX_BYTES, 1, NULL));
	*t_exec = vrust_now_s() - *t0;
	if (*t_exec < EXEC_MIN_S)
		SKIP(return 0, "the largest EXEC takes %.2f s, too short to test this", *t_exec);

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(ENOTCONN);
		_exit(-exec_fill(fd, vm, VRUST_EXEC_MAX_BYTES, 1, NULL));
	}
	close(pipefd[0]);
	*t0 = vrust_now_s();
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	close(pipefd[1]);
	return pid;
}

TEST_F_TIMEOUT(exec, stops_beyond_the_byte_limit, 120)
{
	__u32 done = 99;

	/* One command longer than the limit can never run. */
	EXPECT_EQ(-EINVAL, exec_fill(self->fd, self->vm, VRUST_EXEC_MAX_BYTES + 1, 1, &done));
	EXPECT_EQ(0U, done);
	/* Two half-limit commands fit; a third byte does not. */
	EXPECT_EQ(0, exec_fill(self->fd, self->vm, VRUST_EXEC_MAX_BYTES / 2, 2, &done));
	EXPECT_EQ(2U, done);
	EXPECT_EQ(-E2BIG, exec_fill(self->fd, self->vm, VRUST_EXEC_MAX_BYTES / 2 + 1, 2, &done));
	EXPECT_EQ(1U, done);
}

TEST_F_TIMEOUT(exec, sleep_beside_the_largest_exec, 120)
{
	double t0, t_exec, t_sleep;
	int status;
	pid_t pid;

	pid = start_largest_exec(_metadata, self->fd, self->vm, &t_exec, &t0);
	if (!pid)
		return;
	usleep(1000000);
	t_sleep = vrust_now_s() - t0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the EXEC beside the sleep failed (status %#x)", status);
	TH_LOG("the largest EXEC (%llu GiB) takes %.2f s; a 1 s sleep beside it took %.2f s",
	       (unsigned long long)(VRUST_EXEC_MAX_BYTES >> 30), t_exec, t_sleep);
	EXPECT_GT(1.5, t_sleep) TH_LOG("one EXEC kept the CPU from another task");
}

TEST_F_TIMEOUT(exec, sigkill_ends_the_largest_exec, 120)
{
	double t0, t_exec, t_kill;
	int status;
	pid_t pid;

	pid = start_largest_exec(_metadata, self->fd, self->vm, &t_exec, &t0);
	if (!pid)
		return;
	usleep(200000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* From when the kill was due: a late wakeup of this task counts too. */
	t_kill = vrust_now_s() - t0 - 0.2;
	TH_LOG("SIGKILL ended the EXEC %.3f s after it was due (child status %#x)", t_kill, status);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the EXEC ran to its end before the kill was delivered (status %#x)",
		       status);
	EXPECT_GT(1.0, t_kill) TH_LOG("an EXEC did not stop for a fatal signal");
}

TEST_HARNESS_MAIN
