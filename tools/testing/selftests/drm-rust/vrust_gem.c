// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the GEM layer through vrust: buffers made by GEM_CREATE and MODE_CREATE_DUMB, their
 * mmap() and the kernel's view of them (GEM_PWRITE/GEM_PREAD through vmap), handles, bad input,
 * PRIME with vrust itself and with vgem (the C peer), and instances destroyed while buffers are
 * mapped and exported.
 *
 * Each test gets a fresh instance with an open primary and render node; the teardown closes
 * every file and removes every instance, even after a failure. Needs root, configfs, the vrust
 * module loaded and vgem built in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096UL

FIXTURE(gem)
{
	struct vrust_client f;
};

FIXTURE_SETUP(gem)
{
	ASSERT_EQ(0, vrust_client_open(&self->f, VRUST_CLIENT_CARD | VRUST_CLIENT_RENDER));
}

FIXTURE_TEARDOWN(gem)
{
	EXPECT_EQ(0, vrust_client_close(&self->f));
}

/* A byte pattern that differs per offset and per seed. */
static void pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + seed + (i >> 12));
}

/* Create, mmap, write through the CPU, read back through the kernel's mapping: equal. */
TEST_F(gem, cpu_write_kernel_read)
{
	size_t len = 3 * PAGE;
	unsigned char *want = malloc(len), *got = malloc(len), *map;
	struct drm_vrust_gem_info info;
	__u32 h;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, vrust_gem_create(self->f.render, len - 100, 0, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ(len, info.size);
	EXPECT_EQ(0U, info.flags);
	EXPECT_NE(0ULL, info.offset);
	map = vrust_mmap(self->f.render, info.offset, len);
	ASSERT_NE(MAP_FAILED, map);
	/* New buffers are zeroed. */
	EXPECT_EQ(0, map[0] | map[len - 1]);
	pattern(want, len, 1);
	memcpy(map, want, len);
	memset(got, 0, len);
	EXPECT_EQ(0, vrust_gem_read(self->f.render, h, 0, len, got));
	EXPECT_EQ(0, memcmp(want, got, len));
	/* And the other way: the kernel writes a part, the CPU sees it. */
	pattern(want, PAGE, 9);
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, PAGE + 10, PAGE, want));
	EXPECT_EQ(0, memcmp(map + PAGE + 10, want, PAGE));
	EXPECT_EQ(0, munmap(map, len));
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h));
	free(want);
	free(got);
}

/* Write-combined buffers behave the same to the CPU. */
TEST_F(gem, write_combined)
{
	unsigned char buf[64], back[64] = {};
	struct drm_vrust_gem_info info;
	unsigned char *map;
	__u32 h;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, VRUST_BO_WRITE_COMBINED, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ((__u32)VRUST_BO_WRITE_COMBINED, info.flags);
	pattern(buf, sizeof(buf), 3);
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, 100, sizeof(buf), buf));
	map = vrust_mmap(self->f.render, info.offset, PAGE);
	ASSERT_NE(MAP_FAILED, map);
	memcpy(back, map + 100, sizeof(back));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf)));
	EXPECT_EQ(0, munmap(map, PAGE));
}

/* Dumb buffers: made by the C core through the layer, mapped with MODE_MAP_DUMB. */
TEST_F(gem, dumb_buffer)
{
	struct drm_vrust_gem_info info;
	struct drm_mode_create_dumb d;
	unsigned char buf[256];
	__u32 *map;
	__u64 off;

	ASSERT_EQ(0, vrust_dumb_create(self->f.card, 640, 480, 32, &d));
	EXPECT_GE(d.pitch, 640U * 4);
	EXPECT_GE(d.size, (__u64)d.pitch * 480);
	ASSERT_EQ(0, vrust_gem_info(self->f.card, d.handle, &info));
	EXPECT_EQ((__u32)VRUST_BO_DUMB, info.flags);
	ASSERT_EQ(0, vrust_dumb_offset(self->f.card, d.handle, &off));
	EXPECT_EQ(info.offset, off);
	map = vrust_mmap(self->f.card, off, d.size);
	ASSERT_NE(MAP_FAILED, map);
	map[d.pitch / 4 * 479 + 639] = 0xdeadbeef;
	EXPECT_EQ(0, vrust_gem_read(self->f.card, d.handle, (__u64)d.pitch * 479 + 639 * 4 - 252,
				    sizeof(buf), buf));
	EXPECT_EQ(0xdeadbeef, *(__u32 *)(buf + 252));
	EXPECT_EQ(0, munmap(map, d.size));
	EXPECT_EQ(0, vrust_gem_close(self->f.card, d.handle));
	/* Bad geometry: zero, overflowing pitch or size, unknown bpp. */
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 0, 480, 32, &d));
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 640, 0, 32, &d));
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 0xffffffff, 1, 32, &d));
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 65536, 65536, 32, &d));
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 64, 64, 0, &d));
	/* VRUST_BO_MAX_SIZE holds for dumb buffers too: 1 GiB is the most. */
	EXPECT_EQ(-EINVAL, vrust_dumb_create(self->f.card, 16384, 16385, 32, &d));
	ASSERT_EQ(0, vrust_dumb_create(self->f.card, 16384, 16384, 32, &d));
	EXPECT_EQ(VRUST_BO_MAX_SIZE, d.size);
	EXPECT_EQ(0, vrust_gem_close(self->f.card, d.handle));
	/* Dumb buffers are for KMS clients: not on the render node. */
	EXPECT_EQ(-EACCES, vrust_dumb_create(self->f.render, 64, 64, 32, &d));
	EXPECT_EQ(0, vrust_live_buffers(self->f.card));
}

/* Unknown handles: -ENOENT from every ioctl that takes one (GEM_CLOSE says -EINVAL). */
TEST_F(gem, unknown_handles)
{
	static const __u32 handles[] = { 0, 1, 77, 0xffffffff };
	struct drm_vrust_gem_info info;
	unsigned int i;
	char buf[8];
	__u64 off;
	int dmabuf;

	for (i = 0; i < ARRAY_SIZE(handles); i++) {
		__u32 h = handles[i];

		EXPECT_EQ(-ENOENT, vrust_gem_info(self->f.render, h, &info));
		EXPECT_EQ(-ENOENT, vrust_gem_read(self->f.render, h, 0, 8, buf));
		EXPECT_EQ(-ENOENT, vrust_gem_write(self->f.render, h, 0, 8, buf));
		EXPECT_EQ(-ENOENT, vrust_dumb_offset(self->f.card, h, &off));
		EXPECT_EQ(-ENOENT, vrust_prime_export(self->f.render, h, &dmabuf));
		EXPECT_EQ(-EINVAL, vrust_gem_close(self->f.render, h));
	}
}

/* Sizes: zero, above the limit, overflowing; unknown flags. */
TEST_F(gem, bad_sizes_and_flags)
{
	static const __u64 sizes[] = {
		0, VRUST_BO_MAX_SIZE + 1, 1ULL << 62, ~0ULL, ~0ULL - PAGE + 2,
	};
	unsigned int i;
	__u32 h;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		EXPECT_EQ(-EINVAL, vrust_gem_create(self->f.render, sizes[i], 0, &h))
			TH_LOG("size %llu", (unsigned long long)sizes[i]);
	EXPECT_EQ(-EINVAL, vrust_gem_create(self->f.render, PAGE, 1 << 1, &h));
	EXPECT_EQ(-EINVAL, vrust_gem_create(self->f.render, PAGE, 0x80000000, &h));
	/* The largest size works: pages come on first use. */
	ASSERT_EQ(0, vrust_gem_create(self->f.render, VRUST_BO_MAX_SIZE, 0, &h));
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h));
	EXPECT_EQ(0, vrust_live_buffers(self->f.render));
}

/* GEM_PWRITE/GEM_PREAD ranges: past the end, overflowing, bad pointers, nonzero pad. */
TEST_F(gem, rw_bounds)
{
	struct drm_vrust_gem_rw arg = {};
	char buf[PAGE];
	__u32 h;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, 2 * PAGE, 0, &h));
	EXPECT_EQ(0, vrust_gem_read(self->f.render, h, PAGE, PAGE, buf));
	EXPECT_EQ(0, vrust_gem_read(self->f.render, h, 2 * PAGE, 0, buf));
	EXPECT_EQ(-EINVAL, vrust_gem_read(self->f.render, h, PAGE + 1, PAGE, buf));
	EXPECT_EQ(-EINVAL, vrust_gem_write(self->f.render, h, 2 * PAGE, 1, buf));
	EXPECT_EQ(-EINVAL, vrust_gem_write(self->f.render, h, ~0ULL, 2, buf));
	EXPECT_EQ(-EINVAL, vrust_gem_read(self->f.render, h, 1, ~0ULL, buf));
	EXPECT_EQ(-EFAULT, vrust_gem_write(self->f.render, h, 0, 16, (void *)8));
	EXPECT_EQ(-EFAULT, vrust_gem_read(self->f.render, h, 0, 16, (void *)8));
	arg.handle = h;
	arg.pad = 1;
	arg.size = 1;
	arg.ptr = (uintptr_t)buf;
	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.render, DRM_IOCTL_VRUST_GEM_PREAD, &arg));
}

/*
 * mmap() is limited to the buffer: a longer or shifted mapping is refused, so no access can
 * reach past the end; the mapping's last byte is readable.
 */
TEST_F(gem, mmap_bounds)
{
	struct drm_vrust_gem_info info;
	unsigned char *map;
	__u32 h;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, 2 * PAGE, 0, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ(MAP_FAILED, vrust_mmap(self->f.render, info.offset, 3 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, vrust_mmap(self->f.render, info.offset + PAGE, 2 * PAGE));
	EXPECT_EQ(MAP_FAILED, vrust_mmap(self->f.render, info.offset - PAGE, PAGE));
	map = vrust_mmap(self->f.render, info.offset, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, map);
	vrust_catch_faults(true);
	EXPECT_EQ(0, vrust_touch(map + 2 * PAGE - 1, 1, -1));
	/* Growing the mapping past the buffer is refused too. */
	EXPECT_EQ(MAP_FAILED, mremap(map, 2 * PAGE, 4 * PAGE, 0));
	EXPECT_EQ(0, munmap(map, 2 * PAGE));
	/* Past the mapping: the access faults. */
	EXPECT_NE(0, vrust_touch(map, 1, -1));
	vrust_catch_faults(false);
}

/* A closed handle's offset cannot be mapped any more. */
TEST_F(gem, mmap_closed_handle)
{
	struct drm_vrust_gem_info info;
	__u32 h;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, 0, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, h));
	EXPECT_EQ(MAP_FAILED, vrust_mmap(self->f.render, info.offset, PAGE));
	EXPECT_EQ(0, vrust_live_buffers(self->f.render));
}

/* Two clients cannot use each other's handles, nor map each other's buffers. */
TEST_F(gem, clients_isolated)
{
	struct drm_vrust_gem_info info;
	int other = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	char buf[8];
	__u32 h, h2;
	__u64 off;

	ASSERT_LE(0, other);
	self->f.fds[0] = other;
	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, 0, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	off = info.offset;
	EXPECT_EQ(-ENOENT, vrust_gem_info(other, h, &info));
	EXPECT_EQ(-ENOENT, vrust_gem_read(other, h, 0, 8, buf));
	EXPECT_EQ(-EINVAL, vrust_gem_close(other, h));
	EXPECT_EQ(MAP_FAILED, vrust_mmap(other, off, PAGE));
	EXPECT_EQ(EACCES, errno);
	/* The other client's own first handle is its own buffer. */
	ASSERT_EQ(0, vrust_gem_create(other, 2 * PAGE, 0, &h2));
	ASSERT_EQ(0, vrust_gem_info(other, h2, &info));
	EXPECT_EQ(2 * PAGE, info.size);
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ(PAGE, info.size);
	/* Closing a file frees its buffers. */
	EXPECT_EQ(2, vrust_live_buffers(self->f.render));
	vrust_close_fd(&self->f.fds[0]);
	EXPECT_EQ(1, vrust_live_buffers(self->f.render));
}

/* 10,000 create/touch/close cycles: every buffer is freed, and the memory comes back. */
TEST_F(gem, create_close_cycles)
{
	const int cycles = 10000;
	long before, after;
	char buf[PAGE];
	int i, failed = 0;
	__u32 h;

	memset(buf, 0x5a, sizeof(buf));
	/* One cycle first, so that caches that grow once are in the baseline. */
	ASSERT_EQ(0, vrust_gem_create(self->f.render, 16 * PAGE, 0, &h));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, h));
	before = vrust_mem_available_kb();
	ASSERT_LT(0, before);
	for (i = 0; i < cycles && !failed; i++) {
		failed |= vrust_gem_create(self->f.render, 16 * PAGE, 0, &h);
		/* Allocates a page of the buffer. */
		failed |= vrust_gem_write(self->f.render, h, 5 * PAGE, PAGE, buf);
		failed |= vrust_gem_close(self->f.render, h);
	}
	EXPECT_EQ(0, failed) TH_LOG("cycle %d failed", i);
	EXPECT_EQ(0, vrust_live_buffers(self->f.render));
	after = vrust_mem_available_kb();
	TH_LOG("MemAvailable: %ld kB before, %ld kB after %d cycles", before, after, cycles);
	EXPECT_LE(before - after, before / 100);
}

/*
 * GEM_PWRITE and GEM_PREAD touch only the pages of their range: a byte written at the end of a
 * 256 MiB buffer costs a page, not the whole buffer (which vmap() would allocate and pin).
 */
TEST_F(gem, small_rw_touches_few_pages)
{
	const __u64 size = 256ULL << 20;
	long before, after;
	unsigned char c = 0xa5, back = 0;
	__u32 h;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, 0, &h));
	ASSERT_EQ(0, vrust_gem_write(self->f.render, h, 7, 1, &c));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, h));
	before = vrust_mem_available_kb();
	ASSERT_LT(0, before);
	ASSERT_EQ(0, vrust_gem_create(self->f.render, size, 0, &h));
	ASSERT_EQ(0, vrust_gem_write(self->f.render, h, size - 1, 1, &c));
	ASSERT_EQ(0, vrust_gem_read(self->f.render, h, size - 1, 1, &back));
	EXPECT_EQ(c, back);
	ASSERT_EQ(0, vrust_gem_read(self->f.render, h, 0, 1, &back));
	EXPECT_EQ(0, back);
	after = vrust_mem_available_kb();
	TH_LOG("MemAvailable: %ld kB before, %ld kB after two one-byte accesses to a %llu MiB buffer",
	       before, after, (unsigned long long)(size >> 20));
	EXPECT_LT(before - after, 16 * 1024) TH_LOG("a one-byte access allocated the whole buffer");
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h));
}

/* PRIME within vrust: a self-import gives the same handle; another file gets the same buffer. */
TEST_F(gem, prime_self_import)
{
	int other = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	struct drm_vrust_gem_info info;
	char msg[] = "shared", back[sizeof(msg)] = {};
	__u32 h, h2, h3;
	int dmabuf;

	ASSERT_LE(0, other);
	self->f.fds[0] = other;
	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, 0, &h));
	ASSERT_EQ(0, vrust_prime_export(self->f.render, h, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(self->f.render, dmabuf, &h2));
	EXPECT_EQ(h, h2);
	ASSERT_EQ(0, vrust_prime_import(other, dmabuf, &h3));
	ASSERT_EQ(0, vrust_gem_info(other, h3, &info));
	/* The same buffer, not an import: no new object. */
	EXPECT_EQ(0U, info.flags);
	EXPECT_EQ(1, vrust_live_buffers(self->f.render));
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, 8, sizeof(msg), msg));
	EXPECT_EQ(0, vrust_gem_read(other, h3, 8, sizeof(back), back));
	EXPECT_STREQ(msg, back);
	/* Importing something that is not a dma-buf fails cleanly. */
	EXPECT_EQ(-EINVAL, vrust_prime_import(self->f.render, self->f.card, &h2));
	EXPECT_EQ(-EBADF, vrust_prime_import(self->f.render, 1000, &h2));
}

/* A dma-buf stays valid after the handle it came from is closed. */
TEST_F(gem, dmabuf_outlives_handle)
{
	char msg[] = "still here";
	unsigned char *map;
	__u32 h, h2;
	int dmabuf;

	ASSERT_EQ(0, vrust_gem_create(self->f.render, PAGE, 0, &h));
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, 0, sizeof(msg), msg));
	ASSERT_EQ(0, vrust_prime_export(self->f.render, h, &dmabuf));
	self->f.fds[0] = dmabuf;
	ASSERT_EQ(0, vrust_gem_close(self->f.render, h));
	EXPECT_EQ(1, vrust_live_buffers(self->f.render));
	map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, dmabuf, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_STREQ(msg, (char *)map);
	EXPECT_EQ(0, munmap(map, PAGE));
	/* Imported again, it is the same buffer. */
	ASSERT_EQ(0, vrust_prime_import(self->f.render, dmabuf, &h2));
	EXPECT_EQ(1, vrust_live_buffers(self->f.render));
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h2));
	vrust_close_fd(&self->f.fds[0]);
	EXPECT_EQ(0, vrust_live_buffers(self->f.render));
}

/* PRIME with vgem: vrust's buffer into vgem and back, vgem's buffer into vrust; same bytes. */
TEST_F(gem, prime_vgem)
{
	int vgem = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	size_t len = 4 * PAGE;
	unsigned char *want = malloc(len), *got = malloc(len), *map;
	struct drm_vrust_gem_info info;
	struct drm_mode_create_dumb d;
	__u32 h, vh, back;
	int dmabuf, dmabuf2;
	__u64 off;

	ASSERT_LE(0, vgem) TH_LOG("vgem is not available: %d", vgem);
	self->f.fds[0] = vgem;
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);

	/* vrust -> vgem: vgem maps our pages. */
	pattern(want, len, 5);
	ASSERT_EQ(0, vrust_gem_create(self->f.render, len, 0, &h));
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, 0, len, want));
	ASSERT_EQ(0, vrust_prime_export(self->f.render, h, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(vgem, dmabuf, &vh));
	/*
	 * vgem's export of the import is our dma-buf again (vgem does not let imports be mapped
	 * through MODE_MAP_DUMB; the dma-buf's mmap goes to the exporter, us).
	 */
	ASSERT_EQ(0, vrust_prime_export(vgem, vh, &dmabuf2));
	self->f.fds[2] = dmabuf2;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf2, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, memcmp(want, map, len));
	map[123] ^= 0xff;
	want[123] ^= 0xff;
	EXPECT_EQ(0, munmap(map, len));
	/* ... and back: we import it as our own buffer, which has the CPU's change. */
	ASSERT_EQ(0, vrust_prime_import(self->f.render, dmabuf2, &back));
	EXPECT_EQ(h, back);
	EXPECT_EQ(0, vrust_gem_read(self->f.render, h, 0, len, got));
	EXPECT_EQ(0, memcmp(want, got, len));

	/* vgem -> vrust: an import, read through the kernel's mapping of vgem's pages. */
	ASSERT_EQ(0, vrust_dumb_create(vgem, 1024, 4, 32, &d));
	ASSERT_EQ(0, vrust_dumb_offset(vgem, d.handle, &off));
	map = vrust_mmap(vgem, off, d.size);
	ASSERT_NE(MAP_FAILED, map);
	pattern(want, d.size, 11);
	memcpy(map, want, d.size);
	EXPECT_EQ(0, munmap(map, d.size));
	vrust_close_fd(&self->f.fds[1]);
	ASSERT_EQ(0, vrust_prime_export(vgem, d.handle, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(self->f.render, dmabuf, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ((__u32)VRUST_BO_IMPORTED, info.flags);
	EXPECT_EQ(d.size, info.size);
	memset(got, 0, len);
	EXPECT_EQ(0, vrust_gem_read(self->f.render, h, 0, d.size, got));
	EXPECT_EQ(0, memcmp(want, got, d.size));
	/* Writes through our mapping land in vgem's pages, seen through vgem's mmap. */
	EXPECT_EQ(0, vrust_gem_write(self->f.render, h, 0, 4, "abcd"));
	map = vrust_mmap(vgem, off, d.size);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, memcmp("abcd", map, 4));
	EXPECT_EQ(0, munmap(map, d.size));
	/* Our mmap of the import goes to the exporter. */
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	map = vrust_mmap(self->f.render, info.offset, d.size);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, memcmp("abcd", map, 4));
	EXPECT_EQ(0, memcmp(want + 4, map + 4, d.size - 4));
	EXPECT_EQ(0, munmap(map, d.size));
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h));
	free(want);
	free(got);
}

/*
 * The instance is destroyed while a buffer is mapped, exported to vgem and open by handle:
 * ioctls fail with -ENODEV, the mapping and the dma-buf keep working, and the memory comes back
 * once the last user is gone.
 */
TEST_F(gem, destroy_while_mapped_and_exported)
{
	int vgem = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	size_t len = 4096 * PAGE;
	struct drm_vrust_gem_info info;
	unsigned char *map, *vmap_;
	long before, during, after;
	int dmabuf, dmabuf2;
	__u32 h, vh;

	ASSERT_LE(0, vgem);
	self->f.fds[0] = vgem;
	/* One round first, so that caches that grow once are in the baseline. */
	ASSERT_EQ(0, vrust_gem_create(self->f.render, len, 0, &h));
	EXPECT_EQ(0, vrust_gem_close(self->f.render, h));
	before = vrust_mem_available_kb();

	ASSERT_EQ(0, vrust_gem_create(self->f.render, len, 0, &h));
	ASSERT_EQ(0, vrust_gem_info(self->f.render, h, &info));
	map = vrust_mmap(self->f.render, info.offset, len);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 0x77, len);
	during = vrust_mem_available_kb();
	ASSERT_EQ(0, vrust_prime_export(self->f.render, h, &dmabuf));
	self->f.fds[1] = dmabuf;
	ASSERT_EQ(0, vrust_prime_import(vgem, dmabuf, &vh));

	ASSERT_EQ(0, vrust_instance_destroy(&self->f.inst));
	EXPECT_EQ(-ENODEV, vrust_gem_info(self->f.render, h, &info));
	EXPECT_EQ(-ENODEV, vrust_gem_create(self->f.render, PAGE, 0, &h));
	/* The CPU mapping and the exported buffer still reach the pages. */
	EXPECT_EQ(0x77, map[len - 1]);
	map[0] = 0x11;
	ASSERT_EQ(0, vrust_prime_export(vgem, vh, &dmabuf2));
	self->f.fds[2] = dmabuf2;
	vmap_ = mmap(NULL, len, PROT_READ, MAP_SHARED, dmabuf2, 0);
	ASSERT_NE(MAP_FAILED, vmap_);
	EXPECT_EQ(0x11, vmap_[0]);
	EXPECT_EQ(0, munmap(vmap_, len));

	/* Let go of everything; the pages are freed with the last user. */
	EXPECT_EQ(0, munmap(map, len));
	vrust_close_fd(&self->f.card);
	vrust_close_fd(&self->f.render);
	vrust_close_fd(&self->f.fds[1]);
	vrust_close_fd(&self->f.fds[2]);
	EXPECT_EQ(0, vrust_gem_close(vgem, vh));
	after = vrust_mem_available_kb();
	TH_LOG("MemAvailable: %ld kB before, %ld kB with the buffer, %ld kB after", before,
	       during, after);
	EXPECT_GE(before - during, (long)(len / 1024 / 2));
	EXPECT_LE(before - after, before / 100);
}

TEST_HARNESS_MAIN
