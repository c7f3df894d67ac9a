// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency tests of vrust and of the layer below it: threads sharing one file race GEM
 * create and close, PRIME export and import, mmap()/munmap() and CPU access, VM bind, unbind
 * and destroy against EXEC, and the close of the file they use; processes share buffers through
 * PRIME fds; and instances are unplugged and removed in the middle of all of that, while their
 * clients still hold files, mappings and dma-bufs.
 *
 * Every test runs for VRUST_RACE_MS milliseconds (default 2000; the unplug test that long per
 * VRUST_RACE_UNPLUGS rounds, default 4). Each call's result is checked against the errnos the
 * race can explain (a closed handle, a destroyed VM, a closed fd, an unplugged device); data
 * written by one client and read by another is compared where no other client writes it; CPU
 * access of a mapping never faults. After each test, the device's VRUST_PARAM_LIVE_BUFFERS
 * (where the device is still there) and MemAvailable are back to what they were before it.
 *
 * Needs root, configfs and the vrust module loaded. Kernel splats are judged by the test runner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096ULL
#define SLOTS		32
#define MAX_WORKERS	8
#define MAX_LOGGED	16
/* MemAvailable may be lower by this much after a test, in percent. */
#define MEM_SLACK_PCT	3
/* The GPU addresses the VM test binds and runs commands on: 256 pages. */
#define WINDOW_PAGES	256ULL

/* Problems found by any thread or process of a test; shared memory, so children report too. */
struct race_log {
	pthread_mutex_t lock;
	unsigned int bad;
	char msg[MAX_LOGGED][256];
};

static struct race_log *rlog;

static void __printf(1, 2) race_bad(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&rlog->lock);
	if (rlog->bad < MAX_LOGGED) {
		char *s = rlog->msg[rlog->bad];
		int n = snprintf(s, sizeof(rlog->msg[0]), "pid %d: ", (int)getpid());

		va_start(ap, fmt);
		vsnprintf(s + n, sizeof(rlog->msg[0]) - n, fmt, ap);
		va_end(ap);
	}
	rlog->bad++;
	pthread_mutex_unlock(&rlog->lock);
}

/* A list of errnos, ended by 0. */
#define ERRS(...)	((const int[]){ __VA_ARGS__, 0 })
/* Only success will do. */
#define NO_ERRS		((const int[]){ 0 })

/*
 * Checks the result of a call, 0 or -errno, against the errnos the race allows; notes an
 * unexpected one. Returns true when the call succeeded.
 */
static bool __printf(3, 4) check(int ret, const int *allowed, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (!ret)
		return true;
	for (; *allowed; allowed++)
		if (-ret == *allowed)
			return false;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	race_bad("%s failed with %s", what, vrust_errname(-ret));
	return false;
}

/* Workers -------------------------------------------------------------------------------- */

/**
 * struct worker - a thread of a test
 * @tid: the thread
 * @idx: its number in the test
 * @rng: its random state
 * @ctx: the test's shared state
 * @fn: one iteration of its work, run until the test stops it
 * @iters: iterations done
 */
struct worker {
	pthread_t tid;
	int idx;
	__u64 rng;
	void *ctx;
	void (*fn)(struct worker *w);
	unsigned long iters;
};

static atomic_bool stop;

static __u64 rnd(struct worker *w, __u64 n)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return n ? (w->rng * 0x2545f4914f6cdd1dULL) % n : 0;
}

static unsigned int race_ms(void)
{
	return vrust_env_u64("VRUST_RACE_MS", 2000);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop)) {
		w->fn(w);
		w->iters++;
	}
	return NULL;
}

/* Runs @n workers doing @fn on @ctx for @ms milliseconds; returns their iterations. */
static unsigned long run_workers(struct worker *ws, int n, void (*fn)(struct worker *w),
				 void *ctx, unsigned int ms)
{
	unsigned long iters = 0;
	int i, started = 0;

	atomic_store(&stop, false);
	for (i = 0; i < n; i++) {
		ws[i] = (struct worker){ .idx = i, .ctx = ctx, .fn = fn,
					 .rng = 0x9e3779b97f4a7c15ULL * (i + 1) ^ getpid() };
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
			race_bad("pthread_create failed");
			break;
		}
		started++;
	}
	vrust_sleep_ms(ms);
	atomic_store(&stop, true);
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].tid, NULL);
		iters += ws[i].iters;
	}
	return iters;
}

/* Fixture -------------------------------------------------------------------------------- */

/**
 * struct race_fixture - what a test gets
 * @c: the test's instance, with a file on its render node used for the checks only
 * @live_before: VRUST_PARAM_LIVE_BUFFERS before the test
 * @mem_before: MemAvailable before the test, in KiB
 */
struct race_fixture {
	struct vrust_client c;
	long long live_before;
	long mem_before;
};

FIXTURE(race)
{
	struct race_fixture f;
};

/* One round of what the tests do, so that caches that grow once are in the baseline. */
static void warm_up(int fd)
{
	struct drm_vrust_gem_info info;
	__u32 h = 0, h2 = 0, vm = 0;
	void *p;
	int dmabuf = -1;

	if (vrust_gem_create(fd, 16 * PAGE, 0, &h))
		return;
	if (!vrust_gem_info(fd, h, &info)) {
		p = vrust_mmap(fd, info.offset, 16 * PAGE);
		if (p != MAP_FAILED) {
			memset(p, 1, 16 * PAGE);
			munmap(p, 16 * PAGE);
		}
	}
	if (!vrust_prime_export(fd, h, &dmabuf)) {
		if (!vrust_prime_import(fd, dmabuf, &h2) && h2 != h)
			vrust_gem_close(fd, h2);
		close(dmabuf);
	}
	if (!vrust_vm_create(fd, &vm)) {
		vrust_vm_map(fd, vm, h, 0, VRUST_VM_START, 16 * PAGE);
		vrust_vm_destroy(fd, vm);
	}
	vrust_gem_close(fd, h);
}

FIXTURE_SETUP(race)
{
	pthread_mutexattr_t attr;

	rlog = mmap(NULL, sizeof(*rlog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	ASSERT_NE(MAP_FAILED, rlog);
	memset(rlog, 0, sizeof(*rlog));
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&rlog->lock, &attr);
	ASSERT_EQ(0, vrust_client_open(&self->f.c, VRUST_CLIENT_RENDER));
	warm_up(self->f.c.render);
	self->f.live_before = vrust_live_buffers(self->f.c.render);
	self->f.mem_before = vrust_mem_available_kb();
	vrust_catch_faults(true);
}

FIXTURE_TEARDOWN(race)
{
	vrust_catch_faults(false);
	EXPECT_EQ(0, vrust_client_close(&self->f.c));
}

/* The end of every test: nothing unexpected happened, and everything was given back. */
static void check_end(struct __test_metadata *_metadata, struct race_fixture *f)
{
	/* The queues drop their last jobs, and the buffers they hold, just after the tests. */
	long long live = vrust_live_buffers_settle(f->c.render, f->live_before, 2000);
	long mem = vrust_mem_available_kb();
	unsigned int i;

	for (i = 0; i < rlog->bad && i < MAX_LOGGED; i++)
		TH_LOG("%s", rlog->msg[i]);
	EXPECT_EQ(0U, rlog->bad) TH_LOG("%u unexpected results", rlog->bad);
	ksft_print_msg("LIVE_BUFFERS %lld before, %lld after; "
		       "MemAvailable %ld kB before, %ld kB after\n",
		       f->live_before, live, f->mem_before, mem);
	EXPECT_EQ(f->live_before, live) TH_LOG("buffers leaked");
	EXPECT_LE(f->mem_before - mem, f->mem_before * MEM_SLACK_PCT / 100)
		TH_LOG("memory leaked: %ld kB", f->mem_before - mem);
}

/* GEM create and close ------------------------------------------------------------------- */

/*
 * Handles in slots: taking a handle out of a slot (atomically) makes a thread its owner, the
 * only one to close it, so its GEM_CLOSE must succeed; any thread may use a handle that is in a
 * slot, which another may close meanwhile.
 */
struct slots_ctx {
	int fd;
	int other;
	atomic_uint slot[SLOTS];
	/* For the rounds of concurrent calls on one handle or dma-buf. */
	pthread_barrier_t barrier;
	atomic_uint handle;
	atomic_int dmabuf;
	atomic_uint results[MAX_WORKERS];
};

/* Puts a handle in a slot; closes the handle that was there. */
static void slot_put(struct slots_ctx *c, struct worker *w, __u32 h)
{
	__u32 old = atomic_exchange(&c->slot[rnd(w, SLOTS)], h);

	if (old)
		check(vrust_gem_close(c->fd, old), NO_ERRS, "GEM_CLOSE of owned handle %u", old);
}

static __u32 slot_take(struct slots_ctx *c, struct worker *w)
{
	return atomic_exchange(&c->slot[rnd(w, SLOTS)], 0);
}

static __u32 slot_peek(struct slots_ctx *c, struct worker *w)
{
	return atomic_load(&c->slot[rnd(w, SLOTS)]);
}

/* Creates a buffer of @size bytes and puts it in a slot. */
static void slot_create(struct slots_ctx *c, struct worker *w, __u64 size)
{
	__u32 h = 0;

	if (check(vrust_gem_create(c->fd, size, 0, &h), NO_ERRS, "GEM_CREATE"))
		slot_put(c, w, h);
}

/* Takes a handle out of a slot, if there is one, and closes it as its owner. */
static void slot_close(struct slots_ctx *c, struct worker *w)
{
	__u32 h = slot_take(c, w);

	if (h)
		check(vrust_gem_close(c->fd, h), NO_ERRS, "GEM_CLOSE of owned handle %u", h);
}

static void slots_release(struct slots_ctx *c)
{
	int i;

	for (i = 0; i < SLOTS; i++) {
		__u32 h = atomic_exchange(&c->slot[i], 0);

		if (h)
			check(vrust_gem_close(c->fd, h), NO_ERRS, "GEM_CLOSE of handle %u", h);
	}
}

static void create_close_work(struct worker *w)
{
	struct slots_ctx *c = w->ctx;
	struct drm_vrust_gem_info info;
	unsigned int r = rnd(w, 100);
	unsigned char buf[64];
	__u32 h = 0;
	int dmabuf = -1;

	if (r < 40) {
		slot_create(c, w, (1 + rnd(w, 8)) * PAGE);
		return;
	}
	if (r < 55) {
		slot_close(c, w);
		return;
	}
	h = slot_peek(c, w);
	if (!h)
		return;
	switch (rnd(w, 4)) {
	case 0:
		if (check(vrust_gem_info(c->fd, h, &info), ERRS(ENOENT), "GEM_INFO(%u)", h) &&
		    (!info.size || info.size > 8 * PAGE))
			race_bad("GEM_INFO(%u): size %llu", h, (unsigned long long)info.size);
		break;
	case 1:
		memset(buf, w->idx, sizeof(buf));
		check(vrust_gem_write(c->fd, h, PAGE - sizeof(buf), sizeof(buf), buf), ERRS(ENOENT),
		      "GEM_PWRITE(%u)", h);
		break;
	case 2:
		check(vrust_gem_read(c->fd, h, 0, sizeof(buf), buf), ERRS(ENOENT), "GEM_PREAD(%u)",
		      h);
		break;
	default:
		if (check(vrust_prime_export(c->fd, h, &dmabuf), ERRS(ENOENT), "PRIME export of %u",
			  h))
			close(dmabuf);
		break;
	}
}

/* A worker of the rounds where every worker closes the same handle at once. */
static void *close_same_worker(void *arg)
{
	struct worker *w = arg;
	struct slots_ctx *c = w->ctx;

	for (;;) {
		pthread_barrier_wait(&c->barrier);
		if (atomic_load(&stop))
			return NULL;
		atomic_store(&c->results[w->idx],
			     -vrust_gem_close(c->fd, atomic_load(&c->handle)));
		pthread_barrier_wait(&c->barrier);
	}
}

/* Runs @rounds rounds of @n workers doing @fn at once, each round prepared by @prepare. */
static void barrier_rounds(struct slots_ctx *c, struct worker *ws, int n,
			   void *(*fn)(void *), int (*prepare)(struct slots_ctx *c),
			   void (*judge)(struct slots_ctx *c, int n), unsigned int rounds)
{
	unsigned int i;
	int k;

	atomic_store(&stop, false);
	pthread_barrier_init(&c->barrier, NULL, n + 1);
	for (k = 0; k < n; k++) {
		ws[k] = (struct worker){ .idx = k, .ctx = c };
		if (pthread_create(&ws[k].tid, NULL, fn, &ws[k])) {
			/* The others wait at a barrier that would never open. */
			fprintf(stderr, "pthread_create failed: %s\n", strerror(errno));
			abort();
		}
	}
	for (i = 0; i < rounds; i++) {
		if (prepare(c))
			break;
		pthread_barrier_wait(&c->barrier);
		pthread_barrier_wait(&c->barrier);
		judge(c, n);
	}
	atomic_store(&stop, true);
	pthread_barrier_wait(&c->barrier);
	for (k = 0; k < n; k++)
		pthread_join(ws[k].tid, NULL);
	pthread_barrier_destroy(&c->barrier);
}

static int prepare_close_same(struct slots_ctx *c)
{
	__u32 h = 0;

	if (!check(vrust_gem_create(c->fd, PAGE, 0, &h), NO_ERRS, "GEM_CREATE"))
		return -1;
	atomic_store(&c->handle, h);
	return 0;
}

/* Exactly one of the concurrent GEM_CLOSEs of a handle succeeds; the others say EINVAL. */
static void judge_close_same(struct slots_ctx *c, int n)
{
	int k, ok = 0;

	for (k = 0; k < n; k++) {
		unsigned int e = atomic_load(&c->results[k]);

		if (!e)
			ok++;
		else if (e != EINVAL)
			race_bad("concurrent GEM_CLOSE: %s", vrust_errname(e));
	}
	if (ok != 1)
		race_bad("%d of %d concurrent GEM_CLOSEs of handle %u succeeded", ok, n,
			 atomic_load(&c->handle));
}

/*
 * Threads create buffers, close them, and use the handles others may be closing at that moment
 * (GEM_INFO, PWRITE, PREAD, PRIME export); then rounds in which every thread closes the same
 * handle at once.
 */
TEST_F_TIMEOUT(race, gem_create_close, 120)
{
	static struct slots_ctx c;
	struct worker ws[MAX_WORKERS];
	unsigned long iters;

	memset(&c, 0, sizeof(c));
	c.fd = self->f.c.render;
	iters = run_workers(ws, 4, create_close_work, &c, race_ms());
	slots_release(&c);
	barrier_rounds(&c, ws, 4, close_same_worker, prepare_close_same, judge_close_same, 300);
	ksft_print_msg("%lu create/close/use iterations by 4 threads, then 300 rounds of 4 concurrent GEM_CLOSEs of one handle\n",
		       iters);
	check_end(_metadata, &self->f);
}

/* PRIME export and import ---------------------------------------------------------------- */

#define PRIME_BO_PAGES	4

static void prime_work(struct worker *w)
{
	struct slots_ctx *c = w->ctx;
	struct drm_vrust_gem_info info;
	unsigned int r = rnd(w, 100);
	__u64 v = rnd(w, ~0ULL), back = 0;
	__u32 h = 0, h2 = 0, h3 = 0;
	int dmabuf = -1;

	if (r < 30) {
		slot_create(c, w, PRIME_BO_PAGES * PAGE);
		return;
	}
	if (r < 40) {
		slot_close(c, w);
		return;
	}
	if (r < 75) {
		/*
		 * The owner's round trip: export, import into the other file and back. Nobody
		 * else imports, so the handles are the owner's alone, and it may compare.
		 */
		h = slot_take(c, w);
		if (!h)
			return;
		if (!check(vrust_prime_export(c->fd, h, &dmabuf), NO_ERRS, "PRIME export of %u",
			   h)) {
			slot_put(c, w, h);
			return;
		}
		if (check(vrust_prime_import(c->other, dmabuf, &h2), NO_ERRS, "PRIME import")) {
			if (check(vrust_gem_info(c->other, h2, &info), NO_ERRS,
				  "GEM_INFO of import") && info.size != PRIME_BO_PAGES * PAGE)
				race_bad("import of a %llu-byte buffer has %llu bytes",
					 PRIME_BO_PAGES * PAGE, (unsigned long long)info.size);
			check(vrust_gem_write(c->fd, h, 8 * w->idx, 8, &v), NO_ERRS, "GEM_PWRITE");
			check(vrust_gem_read(c->other, h2, 8 * w->idx, 8, &back), NO_ERRS,
			      "GEM_PREAD");
			if (back != v)
				race_bad("wrote %#llx through a handle, read %#llx through an import",
					 (unsigned long long)v, (unsigned long long)back);
			check(vrust_gem_close(c->other, h2), NO_ERRS, "GEM_CLOSE of import");
		}
		if (check(vrust_prime_import(c->fd, dmabuf, &h3), NO_ERRS, "PRIME self-import") &&
		    h3 != h)
			race_bad("self-import of handle %u gave handle %u", h, h3);
		close(dmabuf);
		slot_put(c, w, h);
		return;
	}
	/* Anyone's handle, maybe being closed: export it and drop the dma-buf. */
	h = slot_peek(c, w);
	if (h && check(vrust_prime_export(c->fd, h, &dmabuf), ERRS(ENOENT), "PRIME export of %u",
		       h))
		close(dmabuf);
}

static void *import_same_worker(void *arg)
{
	struct worker *w = arg;
	struct slots_ctx *c = w->ctx;
	__u32 h = 0;
	int ret;

	for (;;) {
		pthread_barrier_wait(&c->barrier);
		if (atomic_load(&stop))
			return NULL;
		ret = vrust_prime_import(c->other, atomic_load(&c->dmabuf), &h);
		atomic_store(&c->results[w->idx], ret ? 0x80000000 | -ret : h);
		pthread_barrier_wait(&c->barrier);
	}
}

static int prepare_import_same(struct slots_ctx *c)
{
	int dmabuf = -1;
	__u32 h = 0;

	if (!check(vrust_gem_create(c->fd, PAGE, 0, &h), NO_ERRS, "GEM_CREATE"))
		return -1;
	atomic_store(&c->handle, h);
	if (!check(vrust_prime_export(c->fd, h, &dmabuf), NO_ERRS, "PRIME export")) {
		vrust_gem_close(c->fd, h);
		return -1;
	}
	atomic_store(&c->dmabuf, dmabuf);
	return 0;
}

/* Concurrent imports of one dma-buf into one file give one handle, closed once. */
static void judge_import_same(struct slots_ctx *c, int n)
{
	unsigned int first = atomic_load(&c->results[0]);
	int k;

	for (k = 0; k < n; k++) {
		unsigned int r = atomic_load(&c->results[k]);

		if (r & 0x80000000)
			race_bad("concurrent PRIME import failed with %s",
				 vrust_errname(r & 0x7fffffff));
		else if (r != first)
			race_bad("concurrent PRIME imports of one dma-buf: handles %u and %u",
				 first, r);
	}
	if (!(first & 0x80000000)) {
		check(vrust_gem_close(c->other, first), NO_ERRS, "GEM_CLOSE of import");
		if (!vrust_gem_close(c->other, first))
			race_bad("handle %u of concurrent imports closed twice", first);
	}
	close(atomic_load(&c->dmabuf));
	check(vrust_gem_close(c->fd, atomic_load(&c->handle)), NO_ERRS, "GEM_CLOSE");
}

/*
 * Threads export buffers others may be closing, and do round trips (export, import into a
 * second file, back into the first) on their own, checked; then rounds in which every thread
 * imports the same dma-buf into the same file at once.
 */
TEST_F_TIMEOUT(race, prime_export_import, 120)
{
	static struct slots_ctx c;
	struct worker ws[MAX_WORKERS];
	unsigned long iters;

	memset(&c, 0, sizeof(c));
	c.fd = self->f.c.render;
	c.other = vrust_open_node(self->f.c.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, c.other);
	iters = run_workers(ws, 4, prime_work, &c, race_ms());
	slots_release(&c);
	barrier_rounds(&c, ws, 4, import_same_worker, prepare_import_same, judge_import_same,
		       200);
	close(c.other);
	ksft_print_msg("%lu PRIME iterations by 4 threads, then 200 rounds of 4 concurrent imports of one dma-buf\n",
		       iters);
	check_end(_metadata, &self->f);
}

/* mmap, munmap and CPU access ------------------------------------------------------------ */

#define MMAP_BO_PAGES	4

static void mmap_work(struct worker *w)
{
	struct slots_ctx *c = w->ctx;
	struct drm_vrust_gem_info info;
	size_t len = MMAP_BO_PAGES * PAGE;
	unsigned char *p, *back;
	unsigned int r = rnd(w, 100), i;
	int err, sig, value;
	__u32 h = 0;

	if (r < 25) {
		slot_create(c, w, len);
		return;
	}
	if (r < 35) {
		slot_close(c, w);
		return;
	}
	if (r < 65) {
		/* The owner writes through a mapping and reads back through the kernel's. */
		h = slot_take(c, w);
		if (!h)
			return;
		if (!check(vrust_gem_info(c->fd, h, &info), NO_ERRS, "GEM_INFO of owned handle")) {
			slot_put(c, w, h);
			return;
		}
		p = vrust_mmap(c->fd, info.offset, len);
		err = p == MAP_FAILED ? -errno : 0;
		if (!check(err, NO_ERRS, "mmap of owned handle %u", h)) {
			slot_put(c, w, h);
			return;
		}
		value = rnd(w, 256);
		sig = vrust_touch(p, len, value);
		if (sig)
			race_bad("%s writing a mapping", strsignal(sig));
		back = malloc(len);
		if (back && check(vrust_gem_read(c->fd, h, 0, len, back), NO_ERRS, "GEM_PREAD")) {
			for (i = 0; i < len; i += PAGE)
				if (back[i] != value) {
					race_bad("wrote %#x through a mapping, GEM_PREAD read %#x",
						 value, back[i]);
					break;
				}
		}
		free(back);
		if (rnd(w, 3) == 0) {
			/* Closed while mapped: the mapping still works. */
			check(vrust_gem_close(c->fd, h), NO_ERRS, "GEM_CLOSE of mapped handle");
			sig = vrust_touch(p, len, -1);
			if (sig)
				race_bad("%s reading a mapping of a closed handle", strsignal(sig));
			h = 0;
		}
		check(munmap(p, len) ? -errno : 0, NO_ERRS, "munmap");
		if (h)
			slot_put(c, w, h);
		return;
	}
	/* Anyone's buffer, maybe being closed: map it, read it, unmap it. */
	h = slot_peek(c, w);
	if (!h || !check(vrust_gem_info(c->fd, h, &info), ERRS(ENOENT), "GEM_INFO(%u)", h))
		return;
	/* The offset may be gone, or belong to another buffer by now. */
	p = vrust_mmap(c->fd, info.offset, len);
	err = p == MAP_FAILED ? -errno : 0;
	if (!check(err, ERRS(EINVAL, EACCES, ENOENT), "mmap of handle %u", h))
		return;
	sig = vrust_touch(p, len, -1);
	if (sig)
		race_bad("%s reading a mapping", strsignal(sig));
	check(munmap(p, len) ? -errno : 0, NO_ERRS, "munmap");
}

/*
 * Threads map buffers others may be closing or mapping, touch the pages and unmap them; owners
 * write through a mapping and compare with GEM_PREAD, and close handles that are still mapped.
 */
TEST_F_TIMEOUT(race, mmap_munmap_touch, 120)
{
	static struct slots_ctx c;
	struct worker ws[MAX_WORKERS];
	unsigned long iters;

	memset(&c, 0, sizeof(c));
	c.fd = self->f.c.render;
	iters = run_workers(ws, 4, mmap_work, &c, race_ms());
	slots_release(&c);
	ksft_print_msg("%lu mmap iterations by 4 threads\n", iters);
	check_end(_metadata, &self->f);
}

/* VM bind, unbind and destroy against EXEC ---------------------------------------------- */

#define VM_BO_PAGES	16
#define NR_VM_BOS	8

struct vm_ctx {
	int fd;
	atomic_uint vm;
	atomic_uint bos[NR_VM_BOS];
	atomic_ulong vms_destroyed;
	atomic_ulong execs_ok;
};

static __u64 window_addr(struct worker *w, __u64 pages)
{
	return VRUST_VM_START + rnd(w, WINDOW_PAGES - pages + 1) * PAGE;
}

/*
 * Worker 0 replaces the VM (create a new one, destroy the old one), worker 1 the buffers,
 * workers 2 and 3 bind and unbind, the others run commands.
 */
static void vm_work(struct worker *w)
{
	struct vm_ctx *c = w->ctx;
	struct drm_vrust_vm_mapping m[64];
	struct drm_vrust_cmd cmds[8];
	__u32 vm = atomic_load(&c->vm), h, old, done, n, i;
	__u64 pages, off;
	int ret;

	switch (w->idx) {
	case 0:
		/* Often enough to hit calls in flight, seldom enough to let mappings build up. */
		vrust_sleep_ms(5 + rnd(w, 20));
		if (!check(vrust_vm_create(c->fd, &vm), NO_ERRS, "VM_CREATE"))
			return;
		old = atomic_exchange(&c->vm, vm);
		if (check(vrust_vm_destroy(c->fd, old), NO_ERRS, "VM_DESTROY of VM %u", old))
			atomic_fetch_add(&c->vms_destroyed, 1);
		return;
	case 1:
		vrust_sleep_ms(rnd(w, 3));
		if (!check(vrust_gem_create(c->fd, VM_BO_PAGES * PAGE, 0, &h), NO_ERRS,
			   "GEM_CREATE"))
			return;
		old = atomic_exchange(&c->bos[rnd(w, NR_VM_BOS)], h);
		/* Mapped buffers live on in the VM. */
		check(vrust_gem_close(c->fd, old), NO_ERRS, "GEM_CLOSE of handle %u", old);
		return;
	case 2:
	case 3:
		if (rnd(w, 8) == 0) {
			ret = vrust_vm_query(c->fd, vm, m, ARRAY_SIZE(m));
			check(ret < 0 ? ret : 0, ERRS(ENOENT), "VM_QUERY(%u)", vm);
			return;
		}
		pages = 1 + rnd(w, VM_BO_PAGES);
		if (rnd(w, 2)) {
			h = atomic_load(&c->bos[rnd(w, NR_VM_BOS)]);
			off = rnd(w, VM_BO_PAGES - pages + 1) * PAGE;
			/* A bind is a job: ENODEV when the VM is destroyed before it runs. */
			check(vrust_vm_map(c->fd, vm, h, off, window_addr(w, pages), pages * PAGE),
			      ERRS(ENOENT, ENOSPC, ENODEV),
			      "VM_BIND map of handle %u in VM %u", h, vm);
		} else {
			check(vrust_vm_unmap(c->fd, vm, window_addr(w, pages), pages * PAGE),
			      ERRS(ENOENT, ENODEV), "VM_BIND unmap in VM %u", vm);
		}
		return;
	default:
		/* FILLs anywhere, COPYs from the lower half to the upper one. */
		n = 1 + rnd(w, ARRAY_SIZE(cmds));
		for (i = 0; i < n; i++) {
			__u64 len = 1 + rnd(w, rnd(w, 2) ? PAGE : 8 * PAGE);

			if (rnd(w, 2)) {
				cmds[i] = (struct drm_vrust_cmd){
					.op = VRUST_CMD_FILL, .value = rnd(w, 256),
					.dst = window_addr(w, 8), .len = len,
				};
			} else {
				cmds[i] = (struct drm_vrust_cmd){
					.op = VRUST_CMD_COPY,
					.src = VRUST_VM_START +
					       rnd(w, WINDOW_PAGES / 2 * PAGE - len + 1),
					.dst = VRUST_VM_START + WINDOW_PAGES / 2 * PAGE +
					       rnd(w, WINDOW_PAGES / 2 * PAGE - len + 1),
					.len = len,
				};
			}
		}
		done = ~0U;
		if (check(vrust_exec(c->fd, vm, cmds, n, &done), ERRS(EFAULT, ENOENT),
			  "EXEC of %u commands in VM %u", n, vm)) {
			atomic_fetch_add(&c->execs_ok, 1);
			if (done != n)
				race_bad("EXEC of %u commands succeeded with done %u", n, done);
		} else if (done > n) {
			race_bad("EXEC of %u commands failed with done %u", n, done);
		}
		return;
	}
}

/*
 * One thread replaces the VM every few milliseconds, one replaces buffers (closing handles that
 * are bound), two bind and unbind ranges, two run FILL and COPY streams over the same range.
 */
TEST_F_TIMEOUT(race, vm_bind_exec_destroy, 120)
{
	static struct vm_ctx c;
	struct worker ws[MAX_WORKERS];
	unsigned long iters;
	__u32 vm, h;
	int i;

	memset(&c, 0, sizeof(c));
	c.fd = self->f.c.render;
	ASSERT_EQ(0, vrust_vm_create(c.fd, &vm));
	atomic_store(&c.vm, vm);
	for (i = 0; i < NR_VM_BOS; i++) {
		ASSERT_EQ(0, vrust_gem_create(c.fd, VM_BO_PAGES * PAGE, 0, &h));
		atomic_store(&c.bos[i], h);
	}
	iters = run_workers(ws, 6, vm_work, &c, race_ms());
	EXPECT_EQ(0, vrust_vm_destroy(c.fd, atomic_load(&c.vm)));
	for (i = 0; i < NR_VM_BOS; i++)
		EXPECT_EQ(0, vrust_gem_close(c.fd, atomic_load(&c.bos[i])));
	ksft_print_msg("%lu iterations by 6 threads: %lu VMs destroyed under them, %lu EXECs complete\n",
		       iters, atomic_load(&c.vms_destroyed), atomic_load(&c.execs_ok));
	EXPECT_LT(0UL, atomic_load(&c.vms_destroyed));
	EXPECT_LT(0UL, atomic_load(&c.execs_ok));
	check_end(_metadata, &self->f);
}

/* File close ----------------------------------------------------------------------------- */

/*
 * The workers use fd number @x, and only that. Worker 0 changes what is behind it: a new open
 * of the node (dup2() over @x, so the file that was there loses its last reference, maybe
 * while a worker's call or mapping still holds it), a dup of @main (the close of one reference
 * of a file that stays open), or nothing for a moment (close). No other fd is opened meanwhile,
 * so the number is never some other file.
 */
struct close_ctx {
	char path[64];
	int main;
	int x;
	atomic_ulong swaps;
	atomic_ulong closes;
	atomic_ulong ebadf;
};

/* The errnos a worker's call may see: the file changed or is closed. */
#define CLOSE_ERRS	ERRS(EBADF, ENOENT, EINVAL, ENOSPC)

static void close_work(struct worker *w)
{
	struct close_ctx *c = w->ctx;
	struct drm_vrust_gem_info info;
	struct drm_vrust_cmd cmd;
	size_t len = 4 * PAGE;
	unsigned char *p;
	__u32 h = 0, vm = 0, done = 0;
	int f, ret, err, sig;

	if (w->idx == 0) {
		unsigned int r = rnd(w, 100);

		if (r < 60) {
			f = open(c->path, O_RDWR | O_CLOEXEC);
			if (!check(f < 0 ? -errno : 0, NO_ERRS, "open(%s)", c->path))
				return;
		} else if (r < 80) {
			close(c->x);
			atomic_fetch_add(&c->closes, 1);
			if (!rnd(w, 8))
				vrust_sleep_ms(1);
			f = open(c->path, O_RDWR | O_CLOEXEC);
			if (!check(f < 0 ? -errno : 0, NO_ERRS, "open(%s)", c->path))
				return;
		} else {
			f = dup(c->main);
			if (!check(f < 0 ? -errno : 0, NO_ERRS, "dup"))
				return;
		}
		if (f != c->x) {
			if (dup2(f, c->x) < 0)
				race_bad("dup2: %s", strerror(errno));
			close(f);
		}
		atomic_fetch_add(&c->swaps, 1);
		vrust_sleep_ms(rnd(w, 3));
		return;
	}

	ret = vrust_gem_create(c->x, len, 0, &h);
	if (ret == -EBADF)
		atomic_fetch_add(&c->ebadf, 1);
	if (!check(ret, CLOSE_ERRS, "GEM_CREATE"))
		return;
	if (check(vrust_gem_info(c->x, h, &info), CLOSE_ERRS, "GEM_INFO(%u)", h)) {
		/* The mapping holds the file until munmap, which may be its last reference. */
		p = vrust_mmap(c->x, info.offset, len);
		err = p == MAP_FAILED ? -errno : 0;
		if (check(err, ERRS(EBADF, EACCES, EINVAL), "mmap of handle %u", h)) {
			sig = vrust_touch(p, len, w->idx);
			if (sig)
				race_bad("%s writing a mapping", strsignal(sig));
			if (rnd(w, 2))
				vrust_sleep_ms(1);
			check(munmap(p, len) ? -errno : 0, NO_ERRS, "munmap");
		}
	}
	check(vrust_gem_write(c->x, h, 0, 8, &info), CLOSE_ERRS, "GEM_PWRITE(%u)", h);
	if (check(vrust_vm_create(c->x, &vm), CLOSE_ERRS, "VM_CREATE")) {
		/*
		 * After a replacement, @vm may name another worker's VM of the new file, destroyed
		 * while the bind waits in the queue (ENODEV).
		 */
		check(vrust_vm_map(c->x, vm, h, 0, VRUST_VM_START, len),
		      ERRS(EBADF, ENOENT, EINVAL, ENOSPC, ENODEV), "VM_BIND");
		cmd = vrust_cmd_fill(VRUST_VM_START, len, w->idx);
		check(vrust_exec(c->x, vm, &cmd, 1, &done), ERRS(EBADF, ENOENT, EFAULT), "EXEC");
		/* Half of them are left to the file's release. */
		if (rnd(w, 2))
			check(vrust_vm_destroy(c->x, vm), CLOSE_ERRS, "VM_DESTROY(%u)", vm);
	}
	if (rnd(w, 2))
		check(vrust_gem_close(c->x, h), CLOSE_ERRS, "GEM_CLOSE(%u)", h);
}

/*
 * Threads use one fd number for everything (buffers, mappings, VMs, EXEC) while another thread
 * closes it or puts another file behind it; the files that go are released with what their
 * clients left in them.
 */
TEST_F_TIMEOUT(race, file_close, 120)
{
	static struct close_ctx c;
	struct worker ws[MAX_WORKERS];
	char node[32];
	unsigned long iters;

	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, vrust_find_node(self->f.c.inst.faux, DRM_NODE_RENDER, node, sizeof(node)));
	snprintf(c.path, sizeof(c.path), "/dev/dri/%s", node);
	c.main = open(c.path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, c.main);
	c.x = dup(c.main);
	ASSERT_LE(0, c.x);
	iters = run_workers(ws, 5, close_work, &c, race_ms());
	close(c.x);
	close(c.main);
	ksft_print_msg("%lu iterations by 5 threads: fd replaced %lu times, closed %lu times, %lu calls on a closed fd\n",
		       iters, atomic_load(&c.swaps), atomic_load(&c.closes), atomic_load(&c.ebadf));
	EXPECT_LT(0UL, atomic_load(&c.swaps));
	check_end(_metadata, &self->f);
}

/* Processes sharing buffers -------------------------------------------------------------- */

#define NR_CHILDREN	4
#define NR_SHARED	8
/* Page 0 of a shared buffer is the parent's; page c + 1 is child c's. */
#define SHARED_PAGES	(NR_CHILDREN + 1)

/* What a child sends with a dma-buf fd: the byte its buffer is filled with. */
struct fd_msg {
	int child;
	unsigned char value;
};

static int send_fd(int sock, int fd, const struct fd_msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

/* Receives a message; returns the fd it carries, -1 at the end, or -2 on error. */
static int recv_fd(int sock, struct fd_msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n == 0)
		return -1;
	if (n != sizeof(*m))
		return -2;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -2;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * A child: imports the parent's dma-bufs into its own file, writes its page of them (through
 * the import, or a mapping of the dma-buf) and reads it back, reads the parent's page, uses the
 * parent's handles through the file it inherited, and sends buffers of its own to the parent.
 * Odd children leave at a random moment without closing anything. Returns the exit status.
 */
static int child_main(int c, const char *faux, int parent_fd, const __u32 *handles,
		      const int *dmabufs, int sock, unsigned int ms)
{
	struct worker w = { .rng = 0x51ed2701ULL * (c + 1) ^ getpid() };
	double start = vrust_now_s(), end = start + ms / 1000.0;
	unsigned char buf[64], want;
	struct drm_vrust_gem_info info;
	size_t len = SHARED_PAGES * PAGE;
	unsigned int k, r, sent = 0;
	struct fd_msg m;
	int fd, dmabuf = -1, err, sig;
	unsigned char *p;
	__u32 h = 0;

	fd = vrust_open_node(faux, DRM_NODE_RENDER);
	if (!check(fd < 0 ? fd : 0, NO_ERRS, "child %d: open", c))
		return 1;
	while (vrust_now_s() < end) {
		k = rnd(&w, NR_SHARED);
		r = rnd(&w, 100);
		if (c % 2 && vrust_now_s() > start + ms / 2000.0 && r < 2)
			_exit(0);
		if (r < 40) {
			if (!check(vrust_prime_import(fd, dmabufs[k], &h), NO_ERRS,
				   "child %d: import", c))
				continue;
			want = rnd(&w, 256);
			memset(buf, want, sizeof(buf));
			check(vrust_gem_write(fd, h, (c + 1) * PAGE, sizeof(buf), buf), NO_ERRS,
			      "child %d: GEM_PWRITE", c);
			memset(buf, ~want, sizeof(buf));
			check(vrust_gem_read(fd, h, (c + 1) * PAGE, sizeof(buf), buf), NO_ERRS,
			      "child %d: GEM_PREAD", c);
			if (buf[0] != want || buf[sizeof(buf) - 1] != want)
				race_bad("child %d: wrote %#x into an import, read %#x", c, want,
					 buf[0]);
			check(vrust_gem_read(fd, h, 0, 1, buf), NO_ERRS, "child %d: GEM_PREAD", c);
			if (buf[0] != k)
				race_bad("child %d: the parent's page of buffer %u holds %#x", c, k,
					 buf[0]);
			check(vrust_gem_close(fd, h), NO_ERRS, "child %d: GEM_CLOSE of import", c);
		} else if (r < 55) {
			/* The parent's file and handles; it closes them at some point. */
			check(vrust_gem_info(parent_fd, handles[k], &info), ERRS(ENOENT),
			      "child %d: GEM_INFO through the parent's file", c);
		} else if (r < 75) {
			p = vrust_mmap(dmabufs[k], 0, len);
			err = p == MAP_FAILED ? -errno : 0;
			if (!check(err, NO_ERRS, "child %d: mmap of a dma-buf", c))
				continue;
			want = rnd(&w, 256);
			sig = vrust_touch(p + (c + 1) * PAGE, PAGE, want);
			if (sig)
				race_bad("child %d: %s writing a dma-buf mapping", c,
					 strsignal(sig));
			else if (p[(c + 1) * PAGE] != want || p[0] != k)
				race_bad("child %d: dma-buf mapping of buffer %u: %#x, %#x", c, k,
					 p[(c + 1) * PAGE], p[0]);
			munmap(p, len);
		} else if (r < 90 && sent < 64) {
			/* A buffer of its own, to the parent; gone here before it gets there. */
			if (!check(vrust_gem_create(fd, PAGE, 0, &h), NO_ERRS,
				   "child %d: GEM_CREATE", c))
				continue;
			m = (struct fd_msg){ .child = c, .value = rnd(&w, 256) };
			memset(buf, m.value, sizeof(buf));
			check(vrust_gem_write(fd, h, 0, sizeof(buf), buf), NO_ERRS,
			      "child %d: GEM_PWRITE", c);
			if (check(vrust_prime_export(fd, h, &dmabuf), NO_ERRS, "child %d: export",
				  c)) {
				check(send_fd(sock, dmabuf, &m), NO_ERRS, "child %d: sendmsg", c);
				close(dmabuf);
				sent++;
			}
			check(vrust_gem_close(fd, h), NO_ERRS, "child %d: GEM_CLOSE", c);
		} else {
			/* Its own file goes, with whatever it holds; a new one comes. */
			close(fd);
			fd = vrust_open_node(faux, DRM_NODE_RENDER);
			if (!check(fd < 0 ? fd : 0, NO_ERRS, "child %d: open", c))
				return 1;
		}
	}
	close(fd);
	close(sock);
	return 0;
}

/*
 * Four processes share the parent's buffers through dma-bufs (and its file, inherited), write
 * their own page of them and check it, and send buffers of their own to the parent, which
 * imports and checks them; the parent closes its handles halfway, and some children exit
 * without closing anything.
 */
TEST_F_TIMEOUT(race, fork_prime, 120)
{
	int socks[NR_CHILDREN][2], dmabufs[NR_SHARED], parent_fd, i, k, status, open_socks;
	unsigned char fill[SHARED_PAGES * PAGE], buf[64];
	pid_t pids[NR_CHILDREN];
	__u32 handles[NR_SHARED], h = 0;
	unsigned int ms = race_ms(), received = 0;
	double start, half;
	bool closed = false;

	parent_fd = vrust_open_node(self->f.c.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, parent_fd);
	for (k = 0; k < NR_SHARED; k++) {
		ASSERT_EQ(0, vrust_gem_create(parent_fd, sizeof(fill), 0, &handles[k]));
		memset(fill, k, sizeof(fill));
		ASSERT_EQ(0, vrust_gem_write(parent_fd, handles[k], 0, sizeof(fill), fill));
		ASSERT_EQ(0, vrust_prime_export(parent_fd, handles[k], &dmabufs[k]));
	}
	for (i = 0; i < NR_CHILDREN; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks[i]));
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (k = 0; k < i; k++)
				close(socks[k][0]);
			close(socks[i][0]);
			_exit(child_main(i, self->f.c.inst.faux, parent_fd, handles, dmabufs,
					 socks[i][1], ms));
		}
		close(socks[i][1]);
	}

	/* Receive and check the children's buffers until they are all gone. */
	start = vrust_now_s();
	half = start + ms / 2000.0;
	open_socks = NR_CHILDREN;
	while (open_socks) {
		struct pollfd pfd[NR_CHILDREN];
		struct fd_msg m;
		int fd;

		for (i = 0; i < NR_CHILDREN; i++)
			pfd[i] = (struct pollfd){ .fd = socks[i][0], .events = POLLIN };
		if (poll(pfd, NR_CHILDREN, 100) < 0)
			break;
		if (!closed && vrust_now_s() > half) {
			for (k = 0; k < NR_SHARED; k++)
				EXPECT_EQ(0, vrust_gem_close(parent_fd, handles[k]));
			closed = true;
		}
		for (i = 0; i < NR_CHILDREN; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP)) || socks[i][0] < 0)
				continue;
			fd = recv_fd(socks[i][0], &m);
			if (fd < 0) {
				if (fd == -2)
					race_bad("receiving from child %d", i);
				close(socks[i][0]);
				socks[i][0] = -1;
				open_socks--;
				continue;
			}
			if (check(vrust_prime_import(parent_fd, fd, &h), NO_ERRS,
				  "import of child %d's", i)) {
				check(vrust_gem_read(parent_fd, h, 0, sizeof(buf), buf), NO_ERRS,
				      "GEM_PREAD of child %d's", i);
				if (buf[0] != m.value || buf[sizeof(buf) - 1] != m.value)
					race_bad("child %d's buffer holds %#x, it wrote %#x", i,
						 buf[0], m.value);
				check(vrust_gem_close(parent_fd, h), NO_ERRS, "GEM_CLOSE");
			}
			close(fd);
			received++;
		}
		if (vrust_now_s() > start + ms / 1000.0 + 30) {
			race_bad("children still running 30 s after their time");
			break;
		}
	}
	for (i = 0; i < NR_CHILDREN; i++) {
		if (socks[i][0] >= 0)
			close(socks[i][0]);
		EXPECT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("child %d: status %#x", i, status);
	}
	if (!closed)
		for (k = 0; k < NR_SHARED; k++)
			EXPECT_EQ(0, vrust_gem_close(parent_fd, handles[k]));
	for (k = 0; k < NR_SHARED; k++)
		close(dmabufs[k]);
	close(parent_fd);
	ksft_print_msg("%d processes sharing %d buffers; %u buffers received from them\n",
		       NR_CHILDREN, NR_SHARED, received);
	EXPECT_LT(0U, received);
	check_end(_metadata, &self->f);
}

/* Unplug --------------------------------------------------------------------------------- */

#define CLIENT_MAPS	4
#define CLIENT_PEER_BOS	4

/* Counters of all clients of an unplug round, threads and processes alike (shared memory). */
struct unplug_stats {
	atomic_ulong calls;
	atomic_ulong enodev;
	atomic_ulong after_unplug;
	atomic_ulong reopens;
	atomic_bool unplugged;
	atomic_bool stop;
};

/**
 * struct client - a client of an instance that is unplugged under it
 * @card: the instance's primary node
 * @render: the instance's render node
 * @peer_faux: another instance, which stays: it imports the client's buffers
 * @st: the round's counters
 * @w: its random state
 * @fd: its file on the instance, or -1
 * @fd2: a second file on the instance, or -1
 * @peer: its file on the other instance
 * @maps: its CPU mappings of buffers
 * @peer_bos: its imports in @peer
 */
struct client {
	const char *card;
	const char *render;
	const char *peer_faux;
	struct unplug_stats *st;
	struct worker w;
	int fd;
	int fd2;
	int peer;
	struct { unsigned char *p; size_t len; } maps[CLIENT_MAPS];
	__u32 peer_bos[CLIENT_PEER_BOS];
};

/* What a client's calls may see: the device is gone, or things were closed under them. */
#define UNPLUG_ERRS	ERRS(ENODEV, ENOENT, EINVAL, EACCES, EFAULT, ENOSPC, EBADF)

/* Counts a call's result; before the unplug, ENODEV is an error. */
static bool client_check(struct client *cl, int ret, const char *what)
{
	bool unplugged = atomic_load(&cl->st->unplugged);

	atomic_fetch_add(&cl->st->calls, 1);
	if (unplugged)
		atomic_fetch_add(&cl->st->after_unplug, 1);
	if (ret == -ENODEV) {
		atomic_fetch_add(&cl->st->enodev, 1);
		if (!unplugged)
			race_bad("%s: ENODEV before the unplug", what);
		return false;
	}
	return check(ret, UNPLUG_ERRS, "%s", what);
}

static void client_step(struct client *cl)
{
	struct worker *w = &cl->w;
	struct drm_vrust_gem_info info;
	struct drm_vrust_cmd cmd;
	unsigned int r = rnd(w, 100), i = rnd(w, CLIENT_MAPS);
	__u32 h = 0, h2 = 0, vm = 0, done = 0;
	int dmabuf = -1, err, sig, fd;
	size_t len = (1 + rnd(w, 8)) * PAGE;
	unsigned char *p;

	/* The mappings stay usable, whatever happens to the device. */
	for (i = 0; i < CLIENT_MAPS; i++) {
		if (!cl->maps[i].p)
			continue;
		sig = vrust_touch(cl->maps[i].p, cl->maps[i].len, rnd(w, 256));
		if (sig)
			race_bad("%s touching a mapping of the device%s", strsignal(sig),
				 atomic_load(&cl->st->unplugged) ? ", after the unplug" : "");
	}
	if (r < 8) {
		/* A new file: the node may be gone. */
		if (cl->fd >= 0)
			close(cl->fd);
		cl->fd = open(rnd(w, 2) ? cl->card : cl->render, O_RDWR | O_CLOEXEC);
		atomic_fetch_add(&cl->st->reopens, 1);
		if (cl->fd < 0)
			check(-errno, ERRS(ENOENT, ENODEV, ENXIO), "open of a node");
		return;
	}
	/* With the node gone, the second file is left, open since before the unplug. */
	fd = cl->fd >= 0 ? cl->fd : cl->fd2;
	if (fd < 0)
		return;
	if (!client_check(cl, vrust_gem_create(fd, len, 0, &h), "GEM_CREATE"))
		return;
	if (r < 30) {
		i = rnd(w, CLIENT_MAPS);
		if (cl->maps[i].p)
			munmap(cl->maps[i].p, cl->maps[i].len);
		cl->maps[i].p = NULL;
		if (client_check(cl, vrust_gem_info(fd, h, &info), "GEM_INFO")) {
			p = vrust_mmap(fd, info.offset, len);
			err = p == MAP_FAILED ? -errno : 0;
			if (client_check(cl, err, "mmap")) {
				cl->maps[i].p = p;
				cl->maps[i].len = len;
			}
		}
	} else if (r < 60) {
		/* Through a dma-buf into the second file and into the other instance. */
		if (client_check(cl, vrust_prime_export(fd, h, &dmabuf), "PRIME export")) {
			if (cl->fd2 >= 0 && fd != cl->fd2 &&
			    client_check(cl, vrust_prime_import(cl->fd2, dmabuf, &h2),
					 "PRIME import"))
				client_check(cl, vrust_gem_close(cl->fd2, h2),
					     "GEM_CLOSE of import");
			i = rnd(w, CLIENT_PEER_BOS);
			if (cl->peer_bos[i])
				check(vrust_gem_close(cl->peer, cl->peer_bos[i]), NO_ERRS,
				      "GEM_CLOSE in the other instance");
			cl->peer_bos[i] = 0;
			if (check(vrust_prime_import(cl->peer, dmabuf, &h2), NO_ERRS,
				  "PRIME import into the other instance"))
				cl->peer_bos[i] = h2;
			if (rnd(w, 2)) {
				p = vrust_mmap(dmabuf, 0, len);
				err = p == MAP_FAILED ? -errno : 0;
				if (check(err, ERRS(ENODEV), "mmap of a dma-buf")) {
					sig = vrust_touch(p, len, 1);
					if (sig)
						race_bad("%s touching a dma-buf mapping",
							 strsignal(sig));
					munmap(p, len);
				}
			}
			close(dmabuf);
		}
	} else if (r < 85) {
		if (client_check(cl, vrust_vm_create(fd, &vm), "VM_CREATE")) {
			client_check(cl, vrust_vm_map(fd, vm, h, 0, VRUST_VM_START, len),
				     "VM_BIND");
			cmd = vrust_cmd_fill(VRUST_VM_START, len, r);
			client_check(cl, vrust_exec(fd, vm, &cmd, 1, &done), "EXEC");
			if (rnd(w, 2))
				client_check(cl, vrust_vm_destroy(fd, vm), "VM_DESTROY");
		}
	} else {
		client_check(cl, vrust_gem_write(fd, h, 0, 8, &info), "GEM_PWRITE");
	}
	if (rnd(w, 4))
		client_check(cl, vrust_gem_close(fd, h), "GEM_CLOSE");
}

static void client_init(struct client *cl, int n)
{
	int i;

	cl->w.rng = 0x2545f4914f6cdd1dULL * (n + 1) ^ getpid();
	cl->fd = open(n % 2 ? cl->card : cl->render, O_RDWR | O_CLOEXEC);
	cl->fd2 = open(cl->render, O_RDWR | O_CLOEXEC);
	check(cl->fd < 0 || cl->fd2 < 0 ? -ENOENT : 0, NO_ERRS, "client %d: open", n);
	cl->peer = vrust_open_node(cl->peer_faux, DRM_NODE_RENDER);
	check(cl->peer < 0 ? cl->peer : 0, NO_ERRS, "client %d: open of the other instance", n);
	for (i = 0; i < CLIENT_MAPS; i++)
		cl->maps[i].p = NULL;
	memset(cl->peer_bos, 0, sizeof(cl->peer_bos));
}

/* Lets go of everything, as a client does when it is done. */
static void client_fini(struct client *cl)
{
	int i;

	for (i = 0; i < CLIENT_MAPS; i++)
		if (cl->maps[i].p)
			check(munmap(cl->maps[i].p, cl->maps[i].len) ? -errno : 0, NO_ERRS,
			      "munmap");
	for (i = 0; i < CLIENT_PEER_BOS; i++)
		if (cl->peer_bos[i])
			check(vrust_gem_close(cl->peer, cl->peer_bos[i]), NO_ERRS,
			      "GEM_CLOSE in the other instance");
	if (cl->fd >= 0)
		close(cl->fd);
	if (cl->fd2 >= 0)
		close(cl->fd2);
	if (cl->peer >= 0)
		close(cl->peer);
}

static void *client_thread(void *arg)
{
	struct client *cl = arg;

	while (!atomic_load(&cl->st->stop))
		client_step(cl);
	client_fini(cl);
	return NULL;
}

#define UNPLUG_THREADS	4
#define UNPLUG_PROCS	2

/*
 * Rounds: a new instance gets clients (threads of this process and other processes) that make,
 * map, export, import (into a second file and into another instance), bind and run buffers and
 * reopen the nodes; in the middle of that it is unplugged, then removed while they still hold
 * their files, mappings and dma-bufs; they go on a while, then let go of everything.
 */
TEST_F_TIMEOUT(race, unplug, 300)
{
	unsigned int rounds = vrust_env_u64("VRUST_RACE_UNPLUGS", 4), ms = race_ms(), n;
	struct client cls[UNPLUG_THREADS + UNPLUG_PROCS];
	pthread_t tids[UNPLUG_THREADS];
	pid_t pids[UNPLUG_PROCS];
	struct unplug_stats *st;
	struct vrust_instance doomed;
	char card[64], render[64], node[32];
	unsigned long enodev = 0, after = 0, calls = 0;
	double t_unplug = 0, t_rmdir = 0, t0;
	int i, status;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st);
	for (n = 0; n < rounds; n++) {
		memset(st, 0, sizeof(*st));
		ASSERT_EQ(0, vrust_instance_up(&doomed));
		if (vrust_find_node(doomed.faux, DRM_NODE_PRIMARY, node, sizeof(node)) ||
		    (snprintf(card, sizeof(card), "/dev/dri/%s", node), 0) ||
		    vrust_find_node(doomed.faux, DRM_NODE_RENDER, node, sizeof(node))) {
			vrust_instance_destroy(&doomed);
			ASSERT_TRUE(false) TH_LOG("no nodes for %s", doomed.faux);
		}
		snprintf(render, sizeof(render), "/dev/dri/%s", node);
		for (i = 0; i < UNPLUG_THREADS + UNPLUG_PROCS; i++)
			cls[i] = (struct client){ .card = card, .render = render,
						  .peer_faux = self->f.c.inst.faux, .st = st };
		for (i = 0; i < UNPLUG_PROCS; i++) {
			struct client *cl = &cls[UNPLUG_THREADS + i];

			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (!pids[i]) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				client_init(cl, UNPLUG_THREADS + i);
				while (!atomic_load(&st->stop))
					client_step(cl);
				client_fini(cl);
				_exit(0);
			}
		}
		for (i = 0; i < UNPLUG_THREADS; i++) {
			client_init(&cls[i], i);
			ASSERT_EQ(0, pthread_create(&tids[i], NULL, client_thread, &cls[i]));
		}

		/* In the middle of it all: unplug, then remove, with the clients still busy. */
		vrust_sleep_ms(ms / 4 + rand() % (ms / 4 + 1));
		t0 = vrust_now_s();
		atomic_store(&st->unplugged, true);
		EXPECT_EQ(0, vrust_instance_enable(&doomed, false)) TH_LOG("unplug");
		t_unplug += vrust_now_s() - t0;
		vrust_sleep_ms(ms / 4);
		t0 = vrust_now_s();
		EXPECT_EQ(0, vrust_instance_rmdir(&doomed)) TH_LOG("rmdir");
		t_rmdir += vrust_now_s() - t0;
		vrust_sleep_ms(ms / 4);
		atomic_store(&st->stop, true);
		for (i = 0; i < UNPLUG_THREADS; i++)
			pthread_join(tids[i], NULL);
		for (i = 0; i < UNPLUG_PROCS; i++) {
			EXPECT_EQ(pids[i], waitpid(pids[i], &status, 0));
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("client process %d: status %#x", i, status);
		}
		vrust_instance_destroy(&doomed);
		ksft_print_msg("round %u: %lu calls, %lu after the unplug, %lu of them ENODEV, %lu reopens\n",
			       n, atomic_load(&st->calls), atomic_load(&st->after_unplug),
			       atomic_load(&st->enodev), atomic_load(&st->reopens));
		calls += atomic_load(&st->calls);
		after += atomic_load(&st->after_unplug);
		enodev += atomic_load(&st->enodev);
	}
	munmap(st, sizeof(*st));
	ksft_print_msg("%u unplugs raced by %d threads and %d processes: %lu calls, %lu after the unplug, %lu ENODEV; unplug took %.1f ms, rmdir %.1f ms on average\n",
		       rounds, UNPLUG_THREADS, UNPLUG_PROCS, calls, after, enodev,
		       rounds ? t_unplug * 1000 / rounds : 0, rounds ? t_rmdir * 1000 / rounds : 0);
	/* The clients were there when it happened. */
	EXPECT_LT(0UL, enodev);
	check_end(_metadata, &self->f);
}

TEST_HARNESS_MAIN
