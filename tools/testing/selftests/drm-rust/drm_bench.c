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
 * Usage: drm_bench [SAMPLE_DRIVER]   (default vrust)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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
	map.handle = close_arg.handle = create.handle;
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
			.vm_id = vm.vm_id, .op = VRUST_BIND_MAP, .addr = VRUST_VM_START + i * COPY_SIZE,
			.range = COPY_SIZE,
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

int main(int argc, char **argv)
{
	const char *names[2] = { argc > 1 ? argv[1] : "vrust", "vkms" };
	double t[2][ROUNDS], med[2];
	int fds[2], d, r;

	for (d = 0; d < 2; d++) {
		fds[d] = drm_open_driver(names[d], DRM_NODE_PRIMARY);
		if (fds[d] < 0) {
			fprintf(stderr, "drm_bench: cannot open %s: %s\n", names[d], strerror(-fds[d]));
			return 1;
		}
	}
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
