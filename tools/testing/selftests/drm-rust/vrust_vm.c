// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the GPUVM layer through vrust: VM_CREATE/VM_DESTROY, VM_BIND (map and unmap of
 * arbitrary page-aligned ranges, checked after every step against an interval model kept
 * here), VM_QUERY, and EXEC on the software GPU (FILL and COPY through the VM's mappings,
 * checked byte for byte through mmap), with bad input, isolation between clients, limits and
 * release of everything on close.
 *
 * Each test gets a fresh instance with an open render node. Needs root, configfs and the vrust
 * module loaded. VRUST_VM_SEED sets the seed of the random test (printed either way).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define PAGE		4096ULL
/* How long a buffer that a finished job held may take to go (vrust_live_buffers_settle()). */
#define SETTLE_MS	2000
#define S		VRUST_VM_START

/* What a test gets: its instance, with a file on the render node. */
FIXTURE(vm)
{
	struct vrust_client f;
};

FIXTURE_SETUP(vm)
{
	ASSERT_EQ(0, vrust_client_open(&self->f, VRUST_CLIENT_RENDER));
}

FIXTURE_TEARDOWN(vm)
{
	EXPECT_EQ(0, vrust_client_close(&self->f));
}

/* A buffer of @pages pages: its handle, id and a CPU mapping. */
struct bo {
	__u32 handle;
	__u64 id;
	__u64 size;
	unsigned char *map;
};

static int bo_new(int fd, __u64 pages, struct bo *bo)
{
	struct drm_vrust_gem_info info;
	int ret;

	ret = vrust_gem_create(fd, pages * PAGE, 0, &bo->handle);
	if (ret)
		return ret;
	ret = vrust_gem_info(fd, bo->handle, &info);
	if (ret)
		return ret;
	bo->id = info.id;
	bo->size = info.size;
	bo->map = vrust_mmap(fd, info.offset, info.size);
	return bo->map == MAP_FAILED ? -errno : 0;
}

/* The model of a VM: sorted, non-overlapping mappings. */
struct model {
	struct drm_vrust_vm_mapping m[VRUST_VM_MAX_MAPPINGS + 8];
	int n;
};

/* Cuts [a, b) out of the model. */
static void model_cut(struct model *md, __u64 a, __u64 b)
{
	static struct drm_vrust_vm_mapping out[VRUST_VM_MAX_MAPPINGS + 8];
	int i, n = 0;

	for (i = 0; i < md->n; i++) {
		struct drm_vrust_vm_mapping m = md->m[i];
		__u64 e = m.addr + m.range;

		if (e <= a || m.addr >= b) {
			out[n++] = m;
			continue;
		}
		if (m.addr < a)
			out[n++] = (struct drm_vrust_vm_mapping){ m.addr, a - m.addr, m.offset,
								 m.bo_id };
		if (e > b)
			out[n++] = (struct drm_vrust_vm_mapping){ b, e - b, m.offset + (b - m.addr),
								 m.bo_id };
	}
	memcpy(md->m, out, n * sizeof(out[0]));
	md->n = n;
}

static void model_map(struct model *md, __u64 addr, __u64 range, __u64 offset, __u64 id)
{
	int i;

	model_cut(md, addr, addr + range);
	for (i = md->n; i > 0 && md->m[i - 1].addr > addr; i--)
		md->m[i] = md->m[i - 1];
	md->m[i] = (struct drm_vrust_vm_mapping){ addr, range, offset, id };
	md->n++;
}

static __u64 rng_state;

static __u64 rnd(__u64 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* The index in @bos of the buffer with id @id. */
static int bo_index(struct bo *bos, __u64 id)
{
	int i;

	for (i = 0; bos[i].id != id; i++)
		;
	return i;
}

/*
 * 10,000 random binds, each checked against the model through VM_QUERY; then FILL and COPY on
 * the resulting mappings, checked byte for byte.
 */
TEST_F(vm, random_binds_against_model)
{
	static struct model md;
	static struct drm_vrust_vm_mapping got[VRUST_VM_MAX_MAPPINGS];
	const int ops = 10000;
	unsigned char *want[3];
	struct bo bos[3];
	const char *env = getenv("VRUST_VM_SEED");
	__u64 seed = env ? strtoull(env, NULL, 0) : 0x5eed2026;
	int i, b, n, bad = 0;
	__u32 vm;

	rng_state = seed;
	TH_LOG("seed %#llx (set VRUST_VM_SEED to repeat)", (unsigned long long)seed);
	for (b = 0; b < 3; b++)
		ASSERT_EQ(0, bo_new(self->f.render, 32, &bos[b]));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	md.n = 0;
	for (i = 0; i < ops && !bad; i++) {
		__u64 addr = S + rnd(512) * PAGE, range = (1 + rnd(32)) * PAGE;

		if (rnd(3) == 0) {
			ASSERT_EQ(0, vrust_vm_unmap(self->f.render, vm, addr, range));
			model_cut(&md, addr, addr + range);
		} else {
			struct bo *bo = &bos[rnd(3)];
			__u64 offset = rnd(32 - range / PAGE + 1) * PAGE;

			ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, bo->handle, offset, addr,
						  range));
			model_map(&md, addr, range, offset, bo->id);
		}
		n = vrust_vm_query(self->f.render, vm, got, VRUST_VM_MAX_MAPPINGS);
		if (n != md.n || memcmp(got, md.m, n * sizeof(got[0]))) {
			TH_LOG("op %d: %d mappings, model %d", i, n, md.n);
			bad = 1;
		}
	}
	EXPECT_EQ(0, bad);
	TH_LOG("%d operations checked, %d mappings at the end", i, md.n);
	EXPECT_EQ(ops, i);
	ASSERT_LT(0, md.n);

	/*
	 * Then the software GPU on the resulting mappings: random FILLs and COPYs inside mappings,
	 * the expected bytes computed through the model, compared through the CPU mappings.
	 */
	for (b = 0; b < 3; b++) {
		want[b] = malloc(bos[b].size);
		ASSERT_NE(NULL, want[b]);
		memcpy(want[b], bos[b].map, bos[b].size);
	}
	for (i = 0; i < 500; i++) {
		struct drm_vrust_vm_mapping *d = &md.m[rnd(md.n)], *sm = &md.m[rnd(md.n)];
		__u64 len = 1 + rnd(d->range < sm->range ? d->range : sm->range);
		__u64 doff = rnd(d->range - len + 1), soff = rnd(sm->range - len + 1);
		struct drm_vrust_cmd cmd;
		int db = bo_index(bos, d->bo_id), sb = bo_index(bos, sm->bo_id);

		if (rnd(2) || (d->addr + doff < sm->addr + soff + len &&
			       sm->addr + soff < d->addr + doff + len)) {
			cmd = vrust_cmd_fill(d->addr + doff, len, (__u8)i);
			memset(want[db] + d->offset + doff, (__u8)i, len);
		} else {
			cmd = vrust_cmd_copy(sm->addr + soff, d->addr + doff, len);
			memmove(want[db] + d->offset + doff, want[sb] + sm->offset + soff, len);
		}
		ASSERT_EQ(0, vrust_exec(self->f.render, vm, &cmd, 1, NULL));
	}
	for (b = 0; b < 3; b++) {
		EXPECT_EQ(0, memcmp(want[b], bos[b].map, bos[b].size)) TH_LOG("buffer %d", b);
		free(want[b]);
	}
	/* A query with less room reports the total and writes only what fits. */
	memset(got, 0xff, 2 * sizeof(got[0]));
	EXPECT_EQ(md.n, vrust_vm_query(self->f.render, vm, got, 1));
	EXPECT_EQ(md.m[0].addr, got[0].addr);
	EXPECT_EQ(~0ULL, got[1].addr);
	EXPECT_EQ(0, vrust_vm_destroy(self->f.render, vm));
}

/* EXEC FILL and COPY through mappings that split buffers, checked through the CPU mappings. */
TEST_F(vm, exec_fill_copy)
{
	struct bo a, b;
	struct drm_vrust_cmd cmds[4];
	unsigned char *want_a, *want_b;
	__u32 vm, done;
	__u64 i;

	ASSERT_EQ(0, bo_new(self->f.render, 16, &a));
	ASSERT_EQ(0, bo_new(self->f.render, 16, &b));
	want_a = calloc(1, a.size);
	want_b = calloc(1, b.size);
	ASSERT_NE(NULL, want_a);
	ASSERT_NE(NULL, want_b);
	for (i = 0; i < a.size; i++) {
		want_a[i] = (unsigned char)(i * 13 + (i >> 12));
		a.map[i] = want_a[i];
	}
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	/* a whole at S; b's two halves swapped at S + 64 pages, adjacent. */
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 16 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, b.handle, 8 * PAGE, S + 64 * PAGE, 8 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, b.handle, 0, S + 72 * PAGE, 8 * PAGE));

	cmds[0] = vrust_cmd_fill(S + 100, 3 * PAGE, 0xab);
	/* Across the two mappings of b: the end of b's upper half, the start of the lower. */
	cmds[1] = vrust_cmd_copy(S + 2 * PAGE + 5, S + 70 * PAGE + 7, 4 * PAGE);
	cmds[2] = vrust_cmd_fill(S + 79 * PAGE, PAGE, 0x11);
	ASSERT_EQ(0, vrust_exec(self->f.render, vm, cmds, 3, &done));
	EXPECT_EQ(3U, done);

	memset(want_a + 100, 0xab, 3 * PAGE);
	for (i = 0; i < 4 * PAGE; i++) {
		__u64 gpu = 70 * PAGE + 7 + i - 64 * PAGE; /* offset in the b region */
		__u64 boff = gpu < 8 * PAGE ? gpu + 8 * PAGE : gpu - 8 * PAGE;

		want_b[boff] = want_a[2 * PAGE + 5 + i];
	}
	memset(want_b + 7 * PAGE, 0x11, PAGE);
	EXPECT_EQ(0, memcmp(want_a, a.map, a.size));
	EXPECT_EQ(0, memcmp(want_b, b.map, b.size));

	/* A copy within one buffer, between its own two places. */
	cmds[0] = vrust_cmd_copy(S, S + 8 * PAGE, 8 * PAGE);
	ASSERT_EQ(0, vrust_exec(self->f.render, vm, cmds, 1, &done));
	memcpy(want_a + 8 * PAGE, want_a, 8 * PAGE);
	EXPECT_EQ(0, memcmp(want_a, a.map, a.size));
	free(want_a);
	free(want_b);
}

/* Unmapped addresses fault cleanly: -EFAULT, and done says where the stream stopped. */
TEST_F(vm, exec_faults_and_bad_commands)
{
	struct drm_vrust_cmd cmds[VRUST_EXEC_MAX_CMDS + 1];
	struct bo a;
	__u32 vm, done;

	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 4 * PAGE));
	cmds[0] = vrust_cmd_fill(S, PAGE, 1);
	cmds[1] = vrust_cmd_fill(S + 8 * PAGE, 1, 2);
	cmds[2] = vrust_cmd_fill(S, PAGE, 3);
	EXPECT_EQ(-EFAULT, vrust_exec(self->f.render, vm, cmds, 3, &done));
	EXPECT_EQ(1U, done);
	EXPECT_EQ(1, a.map[0]);
	/* Running off the end of a mapping faults too. */
	cmds[0] = vrust_cmd_copy(S, S + 3 * PAGE, 2 * PAGE);
	EXPECT_EQ(-EFAULT, vrust_exec(self->f.render, vm, cmds, 1, &done));
	EXPECT_EQ(0U, done);
	/* Below the VM, and wrapping around. */
	cmds[0] = vrust_cmd_fill(0, 1, 0);
	EXPECT_EQ(-EFAULT, vrust_exec(self->f.render, vm, cmds, 1, NULL));
	cmds[0] = vrust_cmd_fill(~0ULL - 1, 4, 0);
	EXPECT_EQ(-EINVAL, vrust_exec(self->f.render, vm, cmds, 1, NULL));
	/* Bad commands. */
	cmds[0] = (struct drm_vrust_cmd){ .op = 77 };
	EXPECT_EQ(-EINVAL, vrust_exec(self->f.render, vm, cmds, 1, NULL));
	cmds[0] = vrust_cmd_copy(S, S + 100, PAGE);
	EXPECT_EQ(-EINVAL, vrust_exec(self->f.render, vm, cmds, 1, NULL));
	memset(cmds, 0, sizeof(cmds));
	for (done = 0; done <= VRUST_EXEC_MAX_CMDS; done++)
		cmds[done] = vrust_cmd_fill(S, 1, 0);
	EXPECT_EQ(-EINVAL, vrust_exec(self->f.render, vm, cmds, VRUST_EXEC_MAX_CMDS + 1, NULL));
	EXPECT_EQ(0, vrust_exec(self->f.render, vm, cmds, VRUST_EXEC_MAX_CMDS, NULL));
	EXPECT_EQ(-EFAULT, vrust_exec(self->f.render, vm, (void *)8, 1, NULL));
	EXPECT_EQ(-ENOENT, vrust_exec(self->f.render, vm + 1, cmds, 1, NULL));
	/* An empty stream is fine. */
	EXPECT_EQ(0, vrust_exec(self->f.render, vm, NULL, 0, &done));
	EXPECT_EQ(0U, done);
}

/* Invalid binds: unaligned, empty, overflowing, outside the VM or the buffer, unknown ids. */
TEST_F(vm, invalid_binds)
{
	struct drm_vrust_vm_bind arg = {};
	struct bo a;
	__u32 vm;

	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S + 1, PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S, PAGE + 1));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 1, S, PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 0));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S - PAGE, PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S + VRUST_VM_SIZE, PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, S + VRUST_VM_SIZE - PAGE,
					2 * PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 0, -PAGE, 2 * PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, 2 * PAGE, S, 4 * PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_map(self->f.render, vm, a.handle, -PAGE, S, PAGE));
	EXPECT_EQ(-EINVAL, vrust_vm_unmap(self->f.render, vm, S, 0));
	EXPECT_EQ(-EINVAL, vrust_vm_unmap(self->f.render, vm, -PAGE, 2 * PAGE));
	EXPECT_EQ(-ENOENT, vrust_vm_map(self->f.render, vm, a.handle + 100, 0, S, PAGE));
	EXPECT_EQ(-ENOENT, vrust_vm_map(self->f.render, vm + 1, a.handle, 0, S, PAGE));
	EXPECT_EQ(-ENOENT, vrust_vm_destroy(self->f.render, vm + 1));
	arg.vm_id = vm;
	arg.op = 3;
	arg.range = PAGE;
	arg.addr = S;
	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.render, DRM_IOCTL_VRUST_VM_BIND, &arg));
	arg.op = VRUST_BIND_UNMAP;
	arg.handle = a.handle;
	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.render, DRM_IOCTL_VRUST_VM_BIND, &arg));
	EXPECT_EQ(0, vrust_vm_query(self->f.render, vm, NULL, 0));
}

/* Two clients' VMs are separate: ids are per file, and so are the mappings. */
TEST_F(vm, clients_isolated)
{
	struct drm_vrust_vm_mapping m[2];
	struct bo a;
	__u32 vm, vm2;

	self->f.fds[0] = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->f.fds[0]);
	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 4 * PAGE));
	EXPECT_EQ(-ENOENT, vrust_vm_query(self->f.fds[0], vm, m, 2));
	EXPECT_EQ(-ENOENT, vrust_vm_unmap(self->f.fds[0], vm, S, PAGE));
	EXPECT_EQ(-ENOENT, vrust_vm_destroy(self->f.fds[0], vm));
	ASSERT_EQ(0, vrust_vm_create(self->f.fds[0], &vm2));
	EXPECT_EQ(vm, vm2);
	EXPECT_EQ(0, vrust_vm_query(self->f.fds[0], vm2, m, 2));
	/* The other client's handles are not ours either. */
	EXPECT_EQ(-ENOENT, vrust_vm_map(self->f.fds[0], vm2, a.handle, 0, S, PAGE));
	EXPECT_EQ(1, vrust_vm_query(self->f.render, vm, m, 2));
}

/* Buffers closed while mapped live until unmapped; closing the file releases everything. */
TEST_F(vm, release_on_close)
{
	long before, during, after;
	struct drm_vrust_cmd c;
	struct bo a, b;
	__u32 vm, vm2;
	int fd2;

	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, bo_new(self->f.render, 4, &b));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 4 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, b.handle, 0, S + 4 * PAGE, 4 * PAGE));
	munmap(a.map, a.size);
	munmap(b.map, b.size);
	ASSERT_EQ(0, vrust_gem_close(self->f.render, a.handle));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, b.handle));
	EXPECT_EQ(2, vrust_live_buffers_settle(self->f.render, 2, SETTLE_MS));
	/* Still usable by the GPU. */
	c = vrust_cmd_fill(S, 8 * PAGE, 5);
	EXPECT_EQ(0, vrust_exec(self->f.render, vm, &c, 1, NULL));
	ASSERT_EQ(0, vrust_vm_unmap(self->f.render, vm, S, 4 * PAGE));
	EXPECT_EQ(1, vrust_live_buffers_settle(self->f.render, 1, SETTLE_MS));
	ASSERT_EQ(0, vrust_vm_destroy(self->f.render, vm));
	EXPECT_EQ(0, vrust_live_buffers_settle(self->f.render, 0, SETTLE_MS));

	/*
	 * A file closed with VMs and mappings left releases them all, and the memory: 16 MiB,
	 * filled by the GPU, so that its pages exist.
	 */
	before = vrust_mem_available_kb();
	fd2 = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bo_new(fd2, 4096, &a));
	ASSERT_EQ(0, vrust_vm_create(fd2, &vm));
	ASSERT_EQ(0, vrust_vm_create(fd2, &vm2));
	ASSERT_EQ(0, vrust_vm_map(fd2, vm, a.handle, 0, S, 4096 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(fd2, vm2, a.handle, 4 * PAGE, S, 4 * PAGE));
	c = vrust_cmd_fill(S, 4096 * PAGE, 9);
	EXPECT_EQ(0, vrust_exec(fd2, vm, &c, 1, NULL));
	munmap(a.map, a.size);
	during = vrust_mem_available_kb();
	EXPECT_EQ(1, vrust_live_buffers_settle(self->f.render, 1, SETTLE_MS));
	close(fd2);
	EXPECT_EQ(0, vrust_live_buffers_settle(self->f.render, 0, SETTLE_MS));
	after = vrust_mem_available_kb();
	TH_LOG("MemAvailable: %ld kB before, %ld kB with the buffer, %ld kB after", before, during,
	       after);
	EXPECT_GE(before - during, 8 * 1024L);
	EXPECT_LE(before - after, before / 100);
}

/*
 * The software GPU keeps a kernel mapping of each buffer bound in its VM data, made when the
 * bind is prepared; the layer drops it (which takes the buffer's reservation lock) outside the
 * VM's lock, at the cleanup after the bind that removed the buffer's last mapping: from an
 * unmap, from the unmap steps of a map, from a remap followed by an unmap, from VM_DESTROY and
 * from close. Each buffer's handle is closed first, so that the
 * VM's references are its last: LIVE_BUFFERS shows when it goes.
 */
TEST_F(vm, kernel_mappings_dropped)
{
	struct drm_vrust_cmd c = vrust_cmd_fill(S, 12 * PAGE, 3);
	struct bo a, b, d;
	__u32 vm;
	int fd2;

	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, bo_new(self->f.render, 4, &b));
	ASSERT_EQ(0, bo_new(self->f.render, 4, &d));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, 4 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, b.handle, 0, S + 4 * PAGE, 4 * PAGE));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, d.handle, 0, S + 8 * PAGE, 4 * PAGE));
	munmap(a.map, a.size);
	munmap(b.map, b.size);
	munmap(d.map, d.size);
	ASSERT_EQ(0, vrust_gem_close(self->f.render, a.handle));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, b.handle));
	ASSERT_EQ(0, vrust_gem_close(self->f.render, d.handle));
	/* The GPU uses all three. */
	ASSERT_EQ(0, vrust_exec(self->f.render, vm, &c, 1, NULL));
	EXPECT_EQ(3, vrust_live_buffers_settle(self->f.render, 3, SETTLE_MS));

	/* Unmap step: a's only mapping. */
	ASSERT_EQ(0, vrust_vm_unmap(self->f.render, vm, S, 4 * PAGE));
	EXPECT_EQ(2, vrust_live_buffers_settle(self->f.render, 2, SETTLE_MS));
	/* Remap (b cut in two), then the unmap steps of a map over both parts: b goes. */
	ASSERT_EQ(0, vrust_vm_unmap(self->f.render, vm, S + 5 * PAGE, PAGE));
	EXPECT_EQ(2, vrust_live_buffers_settle(self->f.render, 2, SETTLE_MS));
	ASSERT_EQ(0, bo_new(self->f.render, 4, &a));
	ASSERT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S + 4 * PAGE, 4 * PAGE));
	munmap(a.map, a.size);
	ASSERT_EQ(0, vrust_gem_close(self->f.render, a.handle));
	EXPECT_EQ(2, vrust_live_buffers_settle(self->f.render, 2, SETTLE_MS));
	c = vrust_cmd_fill(S + 4 * PAGE, 8 * PAGE, 4);
	ASSERT_EQ(0, vrust_exec(self->f.render, vm, &c, 1, NULL));
	/* VM_DESTROY with two used buffers mapped. */
	ASSERT_EQ(0, vrust_vm_destroy(self->f.render, vm));
	EXPECT_EQ(0, vrust_live_buffers_settle(self->f.render, 0, SETTLE_MS));

	/* Close with a used buffer mapped in a VM. */
	fd2 = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vrust_vm_create(fd2, &vm));
	ASSERT_EQ(0, bo_new(fd2, 4, &a));
	ASSERT_EQ(0, vrust_vm_map(fd2, vm, a.handle, 0, S, 4 * PAGE));
	munmap(a.map, a.size);
	c = vrust_cmd_fill(S, 4 * PAGE, 5);
	ASSERT_EQ(0, vrust_exec(fd2, vm, &c, 1, NULL));
	EXPECT_EQ(1, vrust_live_buffers_settle(self->f.render, 1, SETTLE_MS));
	close(fd2);
	EXPECT_EQ(0, vrust_live_buffers_settle(self->f.render, 0, SETTLE_MS));
}

/* The per-VM mapping limit: -ENOSPC, and the VM stays usable. */
TEST_F(vm, mapping_limit)
{
	struct bo a, b;
	__u32 vm;
	int i, ret = 0;

	ASSERT_EQ(0, bo_new(self->f.render, 1, &a));
	ASSERT_EQ(0, vrust_vm_create(self->f.render, &vm));
	for (i = 0; i < VRUST_VM_MAX_MAPPINGS + 1 && !ret; i++)
		ret = vrust_vm_map(self->f.render, vm, a.handle, 0, S + 2 * i * PAGE, PAGE);
	/* Every map until the limit, not one more. */
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(VRUST_VM_MAX_MAPPINGS + 1, i);
	EXPECT_EQ(VRUST_VM_MAX_MAPPINGS, vrust_vm_query(self->f.render, vm, NULL, 0));
	/* At the limit: a map that replaces a mapping, and an unmap, still work. */
	EXPECT_EQ(0, vrust_vm_map(self->f.render, vm, a.handle, 0, S, PAGE));
	EXPECT_EQ(0, vrust_vm_unmap(self->f.render, vm, S, PAGE));
	EXPECT_EQ(VRUST_VM_MAX_MAPPINGS - 1, vrust_vm_query(self->f.render, vm, NULL, 0));
	/* A 3-page mapping takes the last place; cutting its middle page would need one more. */
	ASSERT_EQ(0, bo_new(self->f.render, 3, &b));
	EXPECT_EQ(0, vrust_vm_map(self->f.render, vm, b.handle, 0, S + 2 * i * PAGE, 3 * PAGE));
	EXPECT_EQ(-ENOSPC, vrust_vm_unmap(self->f.render, vm, S + (2 * i + 1) * PAGE, PAGE));
	EXPECT_EQ(VRUST_VM_MAX_MAPPINGS, vrust_vm_query(self->f.render, vm, NULL, 0));
	EXPECT_EQ(0, vrust_vm_unmap(self->f.render, vm, S + 2 * i * PAGE, 3 * PAGE));
	EXPECT_EQ(VRUST_VM_MAX_MAPPINGS - 1, vrust_vm_query(self->f.render, vm, NULL, 0));
	/* VMs per file are limited too. */
	for (i = 1, ret = 0; i < VRUST_MAX_VMS_PER_FILE + 1 && !ret; i++)
		ret = vrust_vm_create(self->f.render, &vm);
	EXPECT_EQ(-ENOSPC, ret);
}

TEST_HARNESS_MAIN
