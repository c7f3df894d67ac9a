// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end userspace benchmark of dumb buffers, run by make bench: the cycle a KMS client
 * goes through for a small buffer (MODE_CREATE_DUMB, MODE_MAP_DUMB, mmap(), a write to each
 * page, munmap(), GEM_CLOSE) on the sample driver and on vkms, in the same boot, interleaved in
 * rounds. Prints per driver the median time per cycle with the range over the rounds, and the
 * ratio sample/vkms.
 *
 * In UML every syscall and page fault costs tens of microseconds, so these numbers measure the
 * whole path more than the layer; the layer alone is timed in the kernel (bench_rust_drm).
 *
 * Also the throughput of the sample's software GPU: EXEC COPY of 8 MiB between two buffers
 * mapped in a GPU VM, against memcpy() of 8 MiB between two buffers in this process.
 *
 * And the page-flip latency of KMS: on each driver that has a connected output, a mode is set
 * with an atomic commit, then FLIP_ROUNDS rounds of FLIPS nonblocking atomic page flips with
 * DRM_MODE_PAGE_FLIP_EVENT, the drivers interleaved round by round; each flip is timed from the
 * commit ioctl to the read() that returns its event. Prints per driver the median, minimum and
 * maximum over all its flips, and the ratio sample/vkms when both ran. A flip waits for the next
 * vblank, so the numbers are about one frame period; the driver's share is the difference. A
 * driver without a device or without KMS is skipped, and said so.
 *
 * And the latency of the sample's job path: an asynchronous EXEC (VRUST_EXEC_ASYNC) of one FILL
 * of a page with an out sync object, timed from the EXEC ioctl to the return of drmSyncobjWait()
 * on the sync object, over EXEC_ROUNDS rounds of EXECS; each round also times as many EXECs
 * without VRUST_EXEC_ASYNC (the ioctl waits for the job's fence in the kernel) for reference.
 * Prints the median, minimum and maximum over all of them, and of the two parts of the
 * asynchronous path: the EXEC ioctl (the submission) and the drmSyncobjWait() after it.
 *
 * Usage: drm_bench [SAMPLE_DRIVER]   (default vrust)
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <xf86drmMode.h>

#include "vrust_client.h"

#define ROUNDS		7
#define CYCLES		300
/* 64x64 pixels of 32 bits: four pages. */
#define WIDTH		64
#define HEIGHT		64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One dumb buffer cycle; returns 0 or -errno. */
static int cycle(int fd)
{
	struct drm_mode_create_dumb create = { .width = WIDTH, .height = HEIGHT, .bpp = 32 };
	struct drm_mode_map_dumb map = {};
	struct drm_gem_close close_arg = {};
	unsigned char *p;
	size_t off;
	int ret;

	if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create))
		return -errno;
	map.handle = create.handle;
	close_arg.handle = create.handle;
	ret = ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map) ? -errno : 0;
	if (!ret) {
		p = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
		if (p == MAP_FAILED) {
			ret = -errno;
		} else {
			for (off = 0; off < create.size; off += 4096)
				p[off] = 1;
			munmap(p, create.size);
		}
	}
	if (ioctl(fd, DRM_IOCTL_GEM_CLOSE, &close_arg) && !ret)
		ret = -errno;
	return ret;
}

/* Times CYCLES cycles on fd; returns microseconds per cycle, or a negative value. */
static double batch(int fd)
{
	double start = now_us();
	int i, ret;

	for (i = 0; i < CYCLES; i++) {
		ret = cycle(fd);
		if (ret)
			return ret;
	}
	return (now_us() - start) / CYCLES;
}

static int cmp_double(const void *a, const void *b);

#define COPY_SIZE	(8u << 20)
#define COPIES		4

/* MB/s of COPIES copies of COPY_SIZE bytes by f(arg). */
static double copy_rate(int (*f)(void *), void *arg)
{
	double start = now_us();
	int i;

	for (i = 0; i < COPIES; i++)
		if (f(arg))
			return -1;
	return (double)COPY_SIZE * COPIES / (now_us() - start);
}

struct exec_copy {
	int fd;
	__u32 vm;
};

static int exec_copy_once(void *p)
{
	struct exec_copy *e = p;
	struct drm_vrust_cmd cmd = {
		.op = VRUST_CMD_COPY, .src = VRUST_VM_START, .dst = VRUST_VM_START + COPY_SIZE,
		.len = COPY_SIZE,
	};
	struct drm_vrust_exec arg = { .vm_id = e->vm, .count = 1, .cmds = (uintptr_t)&cmd };

	return ioctl(e->fd, DRM_IOCTL_VRUST_EXEC, &arg) ? -errno : 0;
}

static int memcpy_once(void *p)
{
	unsigned char **bufs = p;

	memcpy(bufs[1], bufs[0], COPY_SIZE);
	/* Keep the copy. */
	__asm__ volatile("" : : "r"(bufs[1]) : "memory");
	return 0;
}

/* The software GPU's EXEC COPY against memcpy(); returns 0 or -errno. */
static int bench_exec_copy(int fd, const char *name)
{
	struct drm_vrust_vm_create vm = {};
	struct drm_vrust_cmd fill = {
		.op = VRUST_CMD_FILL, .value = 7, .dst = VRUST_VM_START, .len = 2 * COPY_SIZE,
	};
	struct drm_vrust_exec ex = { .count = 1, .cmds = (uintptr_t)&fill };
	double gpu[ROUNDS], cpu[ROUNDS];
	unsigned char *bufs[2];
	struct exec_copy e;
	int i, r;

	if (ioctl(fd, DRM_IOCTL_VRUST_VM_CREATE, &vm))
		return -errno;
	for (i = 0; i < 2; i++) {
		struct drm_vrust_gem_create bo = { .size = COPY_SIZE };
		struct drm_vrust_vm_bind bind = {
			.vm_id = vm.vm_id, .op = VRUST_BIND_MAP,
			.addr = VRUST_VM_START + i * COPY_SIZE, .range = COPY_SIZE,
		};

		if (ioctl(fd, DRM_IOCTL_VRUST_GEM_CREATE, &bo))
			return -errno;
		bind.handle = bo.handle;
		if (ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &bind))
			return -errno;
		bufs[i] = malloc(COPY_SIZE);
		if (!bufs[i])
			return -ENOMEM;
		memset(bufs[i], 7, COPY_SIZE);
	}
	/* Allocates the pages of both buffers. */
	ex.vm_id = vm.vm_id;
	if (ioctl(fd, DRM_IOCTL_VRUST_EXEC, &ex))
		return -errno;
	e.fd = fd;
	e.vm = vm.vm_id;
	for (r = 0; r < ROUNDS; r++) {
		gpu[r] = copy_rate(exec_copy_once, &e);
		cpu[r] = copy_rate(memcpy_once, bufs);
		if (gpu[r] < 0)
			return -EIO;
	}
	qsort(gpu, ROUNDS, sizeof(double), cmp_double);
	qsort(cpu, ROUNDS, sizeof(double), cmp_double);
	printf("drm_bench: exec_copy: %s %.0f MB/s (%.0f..%.0f), memcpy %.0f MB/s (%.0f..%.0f), ratio %.3f (%d rounds of %d copies of %u MiB)\n",
	       name, gpu[ROUNDS / 2], gpu[0], gpu[ROUNDS - 1], cpu[ROUNDS / 2], cpu[0],
	       cpu[ROUNDS - 1], gpu[ROUNDS / 2] / cpu[ROUNDS / 2], ROUNDS, COPIES, COPY_SIZE >> 20);
	free(bufs[0]);
	free(bufs[1]);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Page-flip latency ------------------------------------------------------------------------- */

#define FLIP_ROUNDS	4
#define FLIPS		30
/* Flips after the modeset that are not timed. */
#define FLIP_WARMUP	5
/* A flip whose event has not come by then fails the benchmark. */
#define FLIP_TIMEOUT_MS	1000
/* The mode both drivers are asked for first, so that they flip the same buffers. */
#define FLIP_WIDTH	1024
#define FLIP_HEIGHT	768

/* One driver's output and the two framebuffers it flips between. */
struct kms {
	int fd;
	uint32_t crtc, conn, plane;
	uint32_t fb_id_prop;
	drmModeModeInfo mode;
	uint32_t handle[2], fb[2];
	int next;
	bool active;
	double lat[FLIP_ROUNDS * FLIPS];
	int n;
	const char *skip;
	int err;
};

/* The id of the property @name of a KMS object, or 0; its value in *@value. */
static uint32_t prop_id(int fd, uint32_t obj, uint32_t type, const char *name, uint64_t *value)
{
	drmModeObjectPropertiesPtr props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0, i;

	for (i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name)) {
			id = p->prop_id;
			if (value)
				*value = props->prop_values[i];
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

static int add_prop(drmModeAtomicReqPtr req, int fd, uint32_t obj, uint32_t type,
		    const char *name, uint64_t value)
{
	uint32_t id = prop_id(fd, obj, type, name, NULL);

	if (!id)
		return -ENOENT;
	return drmModeAtomicAddProperty(req, obj, id, value) < 0 ? -ENOMEM : 0;
}

/* libdrm returns -errno from its mode ioctls, older versions -1 with errno set. */
static int commit(int fd, drmModeAtomicReqPtr req, uint32_t flags)
{
	int ret = drmModeAtomicCommit(fd, req, flags, NULL);

	if (!ret)
		return 0;
	return ret == -1 ? -errno : ret;
}

/* The first connected connector, a CRTC it can use and that CRTC's primary plane. */
static const char *kms_find_output(struct kms *k)
{
	drmModeResPtr res = drmModeGetResources(k->fd);
	drmModePlaneResPtr planes;
	int crtc_index = -1, i, j;
	const char *why = NULL;

	if (!res)
		return "no KMS resources";
	for (i = 0; i < res->count_connectors && crtc_index < 0; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(k->fd, res->connectors[i]);
		int m = -1;

		if (!c)
			continue;
		if (c->connection == DRM_MODE_CONNECTED && c->count_modes) {
			for (j = 0; j < c->count_modes && m < 0; j++)
				if (c->modes[j].hdisplay == FLIP_WIDTH &&
				    c->modes[j].vdisplay == FLIP_HEIGHT)
					m = j;
			for (j = 0; j < c->count_modes && m < 0; j++)
				if (c->modes[j].type & DRM_MODE_TYPE_PREFERRED)
					m = j;
			k->mode = c->modes[m < 0 ? 0 : m];
			k->conn = c->connector_id;
			for (j = 0; j < c->count_encoders && crtc_index < 0; j++) {
				drmModeEncoderPtr e = drmModeGetEncoder(k->fd, c->encoders[j]);
				int n;

				for (n = 0; e && n < res->count_crtcs && crtc_index < 0; n++)
					if (e->possible_crtcs & (1u << n))
						crtc_index = n;
				drmModeFreeEncoder(e);
			}
		}
		drmModeFreeConnector(c);
	}
	if (crtc_index < 0) {
		why = res->count_crtcs ? "no connected connector with a mode and a CRTC" :
					 "no CRTC";
		goto out;
	}
	k->crtc = res->crtcs[crtc_index];
	planes = drmModeGetPlaneResources(k->fd);
	for (i = 0; planes && i < (int)planes->count_planes && !k->plane; i++) {
		drmModePlanePtr p = drmModeGetPlane(k->fd, planes->planes[i]);
		uint64_t type = 0;

		if (p && (p->possible_crtcs & (1u << crtc_index)) &&
		    prop_id(k->fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type", &type) &&
		    type == DRM_PLANE_TYPE_PRIMARY)
			k->plane = p->plane_id;
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(planes);
	if (k->plane)
		k->fb_id_prop = prop_id(k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", NULL);
	if (!k->plane)
		why = "no primary plane for the CRTC";
	else if (!k->fb_id_prop)
		why = "the primary plane has no FB_ID property";
out:
	drmModeFreeResources(res);
	return why;
}

/* Two framebuffers of the mode's size, then the mode set by one blocking atomic commit. */
static int kms_setup(struct kms *k)
{
	uint32_t w = k->mode.hdisplay, h = k->mode.vdisplay, blob = 0;
	drmModeAtomicReqPtr req;
	int i, ret = 0;

	for (i = 0; i < 2; i++) {
		struct drm_mode_create_dumb create = { .width = w, .height = h, .bpp = 32 };
		uint32_t handles[4] = {}, pitches[4] = {}, offsets[4] = {};

		if (ioctl(k->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create))
			return -errno;
		k->handle[i] = create.handle;
		handles[0] = create.handle;
		pitches[0] = create.pitch;
		if (drmModeAddFB2(k->fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets,
				  &k->fb[i], 0))
			return -errno;
	}
	if (drmModeCreatePropertyBlob(k->fd, &k->mode, sizeof(k->mode), &blob))
		return -errno;
	req = drmModeAtomicAlloc();
	if (!req)
		return -ENOMEM;
	ret = add_prop(req, k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", blob);
	ret = ret ?: add_prop(req, k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	ret = ret ?: add_prop(req, k->fd, k->conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", k->crtc);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", k->fb[0]);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", k->crtc);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_X", 0);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_Y", 0);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_W",
			      (uint64_t)w << 16);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_H",
			      (uint64_t)h << 16);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_X", 0);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_Y", 0);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_W", w);
	ret = ret ?: add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_H", h);
	ret = ret ?: commit(k->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET);
	drmModeAtomicFree(req);
	drmModeDestroyPropertyBlob(k->fd, blob);
	if (!ret)
		k->active = true;
	k->next = 1;
	return ret;
}

/* One page flip to the other framebuffer; *us is the time from the commit to its event. */
static int kms_flip(struct kms *k, double *us)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	double start = 0;
	int ret = -ENOMEM, tries;

	if (!req)
		return -ENOMEM;
	if (drmModeAtomicAddProperty(req, k->plane, k->fb_id_prop, k->fb[k->next]) < 0)
		goto out;
	/* The commit before may still be cleaning up after its event: try again. */
	for (tries = 0; tries < 100; tries++) {
		start = now_us();
		ret = commit(k->fd, req, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT);
		if (ret != -EBUSY)
			break;
		usleep(1000);
	}
	if (ret)
		goto out;
	for (;;) {
		struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
		char buf[1024];
		ssize_t len, off;
		bool flipped = false;

		ret = poll(&pfd, 1, FLIP_TIMEOUT_MS);
		if (ret <= 0) {
			ret = ret ? -errno : -ETIMEDOUT;
			goto out;
		}
		len = read(k->fd, buf, sizeof(buf));
		if (len < 0) {
			ret = -errno;
			goto out;
		}
		for (off = 0; off + (ssize_t)sizeof(struct drm_event) <= len;) {
			struct drm_event *e = (struct drm_event *)(buf + off);

			if (e->type == DRM_EVENT_FLIP_COMPLETE)
				flipped = true;
			if (e->length < sizeof(*e))
				break;
			off += e->length;
		}
		if (flipped)
			break;
	}
	*us = now_us() - start;
	k->next ^= 1;
	ret = 0;
out:
	drmModeAtomicFree(req);
	return ret;
}

/* Switches the output off again and frees the framebuffers. */
static void kms_teardown(struct kms *k)
{
	drmModeAtomicReqPtr req = k->active ? drmModeAtomicAlloc() : NULL;
	int i;

	if (req) {
		add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", 0);
		add_prop(req, k->fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", 0);
		add_prop(req, k->fd, k->conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
		add_prop(req, k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
		add_prop(req, k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
		commit(k->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET);
		drmModeAtomicFree(req);
	}
	for (i = 0; i < 2; i++) {
		struct drm_gem_close close_arg = { .handle = k->handle[i] };

		if (k->fb[i])
			drmModeRmFB(k->fd, k->fb[i]);
		if (k->handle[i])
			ioctl(k->fd, DRM_IOCTL_GEM_CLOSE, &close_arg);
	}
}

/*
 * The page-flip latency on each driver of names[] whose file in fds[] is open (-errno if not),
 * interleaved round by round. Returns 0, or 1 when a driver with an output failed to flip.
 */
static int bench_flip(const char *const names[2], const int fds[2])
{
	struct kms k[2] = {};
	char line[512];
	int d, r, i, ret, len, failed = 0, ran = 0;
	double warm;

	for (d = 0; d < 2; d++) {
		k[d].fd = fds[d];
		if (fds[d] < 0) {
			k[d].skip = "no such device";
			continue;
		}
		if (drmSetClientCap(fds[d], DRM_CLIENT_CAP_ATOMIC, 1)) {
			k[d].skip = "no atomic modesetting";
			continue;
		}
		k[d].skip = kms_find_output(&k[d]);
		if (k[d].skip)
			continue;
		ret = kms_setup(&k[d]);
		for (i = 0; !ret && i < FLIP_WARMUP; i++)
			ret = kms_flip(&k[d], &warm);
		if (ret) {
			k[d].err = ret;
			fprintf(stderr,
				"drm_bench: flip_latency: the modeset or first flips failed on %s: %s\n",
				names[d], strerror(-ret));
		}
	}
	for (r = 0; r < FLIP_ROUNDS; r++)
		for (d = 0; d < 2; d++)
			for (i = 0; !k[d].skip && !k[d].err && i < FLIPS; i++) {
				ret = kms_flip(&k[d], &k[d].lat[k[d].n]);
				if (ret) {
					k[d].err = ret;
					fprintf(stderr,
						"drm_bench: flip_latency: flip %d failed on %s: %s\n",
						k[d].n, names[d], strerror(-ret));
				} else {
					k[d].n++;
				}
			}
	len = snprintf(line, sizeof(line), "drm_bench: flip_latency:");
	for (d = 0; d < 2; d++) {
		len += snprintf(line + len, sizeof(line) - len, "%s %s ", d ? "," : "", names[d]);
		if (k[d].skip) {
			len += snprintf(line + len, sizeof(line) - len, "skipped (%s)", k[d].skip);
		} else if (k[d].err) {
			failed = 1;
			len += snprintf(line + len, sizeof(line) - len, "failed (%s)",
					strerror(-k[d].err));
		} else {
			qsort(k[d].lat, k[d].n, sizeof(double), cmp_double);
			len += snprintf(line + len, sizeof(line) - len,
					"%.0f us/flip (%.0f..%.0f) at %dx%d@%d",
					k[d].lat[k[d].n / 2], k[d].lat[0], k[d].lat[k[d].n - 1],
					k[d].mode.hdisplay, k[d].mode.vdisplay, k[d].mode.vrefresh);
			ran |= 1 << d;
		}
		kms_teardown(&k[d]);
	}
	if (ran == 3)
		len += snprintf(line + len, sizeof(line) - len, ", ratio %.3f",
				k[0].lat[k[0].n / 2] / k[1].lat[k[1].n / 2]);
	printf("%s (%d rounds of %d nonblocking atomic page flips with event per driver, commit ioctl to event, median (min..max) over the flips)\n",
	       line, FLIP_ROUNDS, FLIPS);
	return failed;
}

/* EXEC to out-fence latency ------------------------------------------------------------------ */

#define EXEC_ROUNDS	7
#define EXECS		100
/* A job whose fence has not signalled by then fails the benchmark. */
#define EXEC_TIMEOUT_NS	1000000000LL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The median (min..max) of the n values of v, sorted on the way. */
static int print_spread(char *buf, size_t len, double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return snprintf(buf, len, "%.1f us (%.1f..%.1f)", v[n / 2], v[0], v[n - 1]);
}

/*
 * The EXEC latency on the sample: EXEC_ROUNDS rounds of EXECS asynchronous EXECs of one FILL of
 * a page with an out sync object, each waited for with drmSyncobjWait(), then EXECS synchronous
 * ones; returns 0 or -errno.
 */
static int bench_exec_latency(int fd, const char *name)
{
	static double lat[EXEC_ROUNDS * EXECS], sub[EXEC_ROUNDS * EXECS];
	static double waits[EXEC_ROUNDS * EXECS], sync[EXEC_ROUNDS * EXECS];
	struct drm_vrust_cmd fill = {
		.op = VRUST_CMD_FILL, .value = 1, .dst = VRUST_VM_START, .len = 4096,
	};
	struct drm_vrust_gem_create bo = { .size = 4096 };
	struct drm_vrust_vm_create vm = {};
	struct drm_vrust_vm_bind bind = {
		.op = VRUST_BIND_MAP, .addr = VRUST_VM_START, .range = 4096,
	};
	struct drm_vrust_exec ex = { .count = 1, .cmds = (uintptr_t)&fill };
	int r, i, n = 0, len, ret;
	uint32_t syncobj;
	char line[512];
	int64_t t0, t1, t2;

	if (ioctl(fd, DRM_IOCTL_VRUST_VM_CREATE, &vm) || ioctl(fd, DRM_IOCTL_VRUST_GEM_CREATE, &bo))
		return -errno;
	bind.vm_id = vm.vm_id;
	ex.vm_id = vm.vm_id;
	bind.handle = bo.handle;
	if (ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &bind))
		return -errno;
	ret = drmSyncobjCreate(fd, 0, &syncobj);
	if (ret)
		return ret == -1 ? -errno : ret;
	/* Allocates the buffer's page. */
	if (ioctl(fd, DRM_IOCTL_VRUST_EXEC, &ex)) {
		ret = -errno;
		goto out;
	}
	for (r = 0; r < EXEC_ROUNDS; r++) {
		for (i = 0; i < EXECS; i++) {
			ex.flags = VRUST_EXEC_ASYNC;
			ex.out_sync.handle = syncobj;
			t0 = now_ns();
			if (ioctl(fd, DRM_IOCTL_VRUST_EXEC, &ex)) {
				ret = -errno;
				goto out;
			}
			t1 = now_ns();
			ret = drmSyncobjWait(fd, &syncobj, 1, t1 + EXEC_TIMEOUT_NS, 0, NULL);
			if (ret) {
				ret = ret == -1 ? -errno : ret;
				goto out;
			}
			t2 = now_ns();
			lat[n + i] = (t2 - t0) / 1e3;
			sub[n + i] = (t1 - t0) / 1e3;
			waits[n + i] = (t2 - t1) / 1e3;
		}
		for (i = 0; i < EXECS; i++) {
			ex.flags = 0;
			ex.out_sync.handle = 0;
			t0 = now_ns();
			if (ioctl(fd, DRM_IOCTL_VRUST_EXEC, &ex)) {
				ret = -errno;
				goto out;
			}
			sync[n + i] = (now_ns() - t0) / 1e3;
		}
		n += EXECS;
	}
	len = snprintf(line, sizeof(line), "drm_bench: exec_fence_latency: %s ", name);
	len += print_spread(line + len, sizeof(line) - len, lat, n);
	len += snprintf(line + len, sizeof(line) - len, ", of it the EXEC ioctl ");
	len += print_spread(line + len, sizeof(line) - len, sub, n);
	len += snprintf(line + len, sizeof(line) - len, " and drmSyncobjWait() ");
	len += print_spread(line + len, sizeof(line) - len, waits, n);
	len += snprintf(line + len, sizeof(line) - len, ", synchronous EXEC ");
	print_spread(line + len, sizeof(line) - len, sync, n);
	printf("%s (%d rounds of %d async EXECs of one 4 KiB FILL with an out syncobj, EXEC ioctl to drmSyncobjWait() return, and %d sync EXECs, median (min..max) over the EXECs)\n",
	       line, EXEC_ROUNDS, EXECS, EXECS);
	ret = 0;
out:
	drmSyncobjDestroy(fd, syncobj);
	return ret;
}

/* The dumb buffer cycle on both drivers, then EXEC COPY on the sample; returns 0 or 1. */
static int bench_dumb_exec(const char *const names[2], const int fds[2])
{
	double t[2][ROUNDS], med[2];
	int d, r;

	/* Warm up both. */
	for (d = 0; d < 2; d++)
		if (batch(fds[d]) < 0) {
			fprintf(stderr, "drm_bench: a dumb buffer cycle failed on %s\n", names[d]);
			return 1;
		}
	for (r = 0; r < ROUNDS; r++)
		for (d = 0; d < 2; d++)
			t[d][r] = batch(fds[d]);
	for (d = 0; d < 2; d++) {
		qsort(t[d], ROUNDS, sizeof(double), cmp_double);
		med[d] = t[d][ROUNDS / 2];
	}
	printf("drm_bench: dumb_cycle: %s %.1f us/op (%.1f..%.1f), %s %.1f us/op (%.1f..%.1f), ratio %.3f (%d rounds of %d cycles of %dx%dx32 create+map+mmap+touch+close)\n",
	       names[0], med[0], t[0][0], t[0][ROUNDS - 1], names[1], med[1], t[1][0],
	       t[1][ROUNDS - 1], med[0] / med[1], ROUNDS, CYCLES, WIDTH, HEIGHT);
	r = bench_exec_copy(fds[0], names[0]);
	if (r) {
		fprintf(stderr, "drm_bench: EXEC COPY on %s failed: %s\n", names[0], strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *const names[2] = { argc > 1 ? argv[1] : "vrust", "vkms" };
	int fds[2], d, ret = 0;

	for (d = 0; d < 2; d++) {
		fds[d] = drm_open_driver(names[d], DRM_NODE_PRIMARY);
		if (fds[d] < 0) {
			fprintf(stderr, "drm_bench: cannot open %s: %s\n", names[d],
				strerror(-fds[d]));
			ret = 1;
		}
	}
	if (!ret)
		ret = bench_dumb_exec(names, fds);
	if (!ret) {
		ret = bench_exec_latency(fds[0], names[0]);
		if (ret) {
			fprintf(stderr, "drm_bench: exec_fence_latency on %s failed: %s\n",
				names[0], strerror(-ret));
			ret = 1;
		}
	}
	/* The page flips run on whichever drivers are there, and skip those without an output. */
	if (bench_flip(names, fds))
		ret = 1;
	return ret;
}
