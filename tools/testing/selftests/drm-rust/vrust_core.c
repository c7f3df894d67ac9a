// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of vrust, the sample driver of the Rust DRM layer, through its userspace interface
 * (include/uapi/drm/vrust_drm.h): its ioctls, the DRM core's handling of them (argument sizes,
 * permissions, unknown numbers, unplug), its instances in configfs and module unload.
 *
 * Most tests get a fresh instance with an open primary and render node (FIXTURE(instance)); the
 * teardown closes every file and removes every instance a test made, even after a failure.
 * Needs root, configfs at /sys/kernel/config and the module loaded. module.reload needs the
 * module file in VRUST_KO and runs last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xf86drm.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define NR_EXTRA_INSTANCES	3

/*
 * What a test gets: its instance with a file on each node, more files it may open
 * (self->f.fds) and more instances it may create; the teardown closes and removes them all.
 */
FIXTURE(instance)
{
	struct vrust_client f;
	struct vrust_instance extra[NR_EXTRA_INSTANCES];
};

FIXTURE_SETUP(instance)
{
	/* A failing setup gets no teardown: vrust_client_open() cleans up after itself. */
	ASSERT_EQ(0, vrust_client_open(&self->f, VRUST_CLIENT_CARD | VRUST_CLIENT_RENDER))
		TH_LOG("creating instance %s and opening its nodes", self->f.inst.name);
}

FIXTURE_TEARDOWN(instance)
{
	int i, err, ret = vrust_client_close(&self->f);

	for (i = 0; i < NR_EXTRA_INSTANCES; i++) {
		err = vrust_instance_destroy(&self->extra[i]);
		if (!ret)
			ret = err;
	}
	EXPECT_EQ(0, ret);
}

/* Every ioctl fails with -ENODEV on a file of an unplugged device. */
static void expect_all_enodev(struct __test_metadata *_metadata, int fd)
{
	struct drm_vrust_counter counter = {};
	char buf[4] = "abc", out[4] = {};
	char name[16];
	__u64 value;

	EXPECT_EQ(-ENODEV, vrust_driver_name(fd, name, sizeof(name)));
	EXPECT_EQ(-ENODEV, vrust_get_param(fd, VRUST_PARAM_API_VERSION, &value));
	EXPECT_EQ(-ENODEV, vrust_counter(fd, 1, &value));
	EXPECT_EQ(-ENODEV, vrust_set_device_value(fd, 1));
	EXPECT_EQ(-ENODEV, vrust_reverse(fd, (uintptr_t)buf, (uintptr_t)out, 3));
	EXPECT_EQ(0, out[0]);
	/* Also ioctls the device would reject otherwise. */
	EXPECT_EQ(-ENODEV, vrust_ioctl(fd, DRM_IOWR(0x50, struct drm_vrust_counter), &counter));
}

/* COUNTER adds @add to the counter of @fd and succeeds; the counter is @want then. */
static void expect_counter(struct __test_metadata *_metadata, int fd, __u64 add, __u64 want)
{
	__u64 value;

	ASSERT_EQ(0, vrust_counter(fd, add, &value));
	EXPECT_EQ(want, value) TH_LOG("COUNTER adding %llu", (unsigned long long)add);
}

/* DRM_IOCTL_VERSION: the name, a description and major version 1, on both nodes. */
TEST_F(instance, version)
{
	int fds[] = { self->f.card, self->f.render };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		char name[32] = {}, desc[128] = {}, date[32] = {};
		struct drm_version v = {
			.name = name, .name_len = sizeof(name) - 1,
			.desc = desc, .desc_len = sizeof(desc) - 1,
			.date = date, .date_len = sizeof(date) - 1,
		};

		ASSERT_EQ(0, vrust_ioctl(fds[i], DRM_IOCTL_VERSION, &v));
		EXPECT_STREQ("vrust", name);
		EXPECT_EQ(5UL, v.name_len);
		EXPECT_NE(0UL, v.desc_len);
		EXPECT_NE(0, desc[0]);
		EXPECT_EQ(1, v.version_major);
	}
}

/* The instance the module creates at load has both nodes and answers VERSION. */
TEST(default_instance)
{
	static const struct {
		int type;
		__u64 param;
	} nodes[] = {
		{ DRM_NODE_PRIMARY, VRUST_NODE_PRIMARY },
		{ DRM_NODE_RENDER, VRUST_NODE_RENDER },
	};
	char name[16];
	unsigned int i;
	__u64 value;
	int fd;

	for (i = 0; i < ARRAY_SIZE(nodes); i++) {
		fd = vrust_open_default(nodes[i].type);
		ASSERT_LE(0, fd) TH_LOG("node type %d", nodes[i].type);
		EXPECT_EQ(0, vrust_driver_name(fd, name, sizeof(name)));
		EXPECT_STREQ("vrust", name);
		ASSERT_EQ(0, vrust_get_param(fd, VRUST_PARAM_NODE_TYPE, &value));
		EXPECT_EQ(nodes[i].param, value);
		close(fd);
	}
}

TEST_F(instance, get_param_api_version)
{
	__u64 value = 0;

	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_API_VERSION, &value));
	EXPECT_EQ((__u64)VRUST_API_VERSION, value);
	value = 0;
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_API_VERSION, &value));
	EXPECT_EQ((__u64)VRUST_API_VERSION, value);
}

/* Client ids are nonzero and differ between files, on either node. */
TEST_F(instance, get_param_client_id_differs)
{
	__u64 a = 0, b = 0, r = 0;

	self->f.fds[0] = vrust_open_node(self->f.inst.faux, DRM_NODE_PRIMARY);
	ASSERT_LE(0, self->f.fds[0]);
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_CLIENT_ID, &a));
	ASSERT_EQ(0, vrust_get_param(self->f.fds[0], VRUST_PARAM_CLIENT_ID, &b));
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_CLIENT_ID, &r));
	EXPECT_NE(0ULL, a);
	EXPECT_NE(0ULL, b);
	EXPECT_NE(0ULL, r);
	EXPECT_NE(a, b);
	EXPECT_NE(a, r);
	EXPECT_NE(b, r);

	/* And stay the same for a file. */
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_CLIENT_ID, &b));
	EXPECT_EQ(a, b);
}

TEST_F(instance, get_param_node_type)
{
	__u64 value;

	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_NODE_TYPE, &value));
	EXPECT_EQ((__u64)VRUST_NODE_PRIMARY, value);
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_NODE_TYPE, &value));
	EXPECT_EQ((__u64)VRUST_NODE_RENDER, value);
}

/* OPEN_FILES counts the files of the device, on both nodes, as they open and close. */
TEST_F(instance, get_param_open_files)
{
	__u64 before, value;

	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_OPEN_FILES, &before));
	/* Only this test opens the fresh instance: its primary and render file. */
	EXPECT_EQ(2ULL, before);

	self->f.fds[0] = vrust_open_node(self->f.inst.faux, DRM_NODE_PRIMARY);
	self->f.fds[1] = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->f.fds[0]);
	ASSERT_LE(0, self->f.fds[1]);
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_OPEN_FILES, &value));
	EXPECT_EQ(before + 2, value);
	ASSERT_EQ(0, vrust_get_param(self->f.fds[1], VRUST_PARAM_OPEN_FILES, &value));
	EXPECT_EQ(before + 2, value);

	ASSERT_EQ(0, vrust_close_fd(&self->f.fds[0]));
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_OPEN_FILES, &value));
	EXPECT_EQ(before + 1, value);
	ASSERT_EQ(0, vrust_close_fd(&self->f.fds[1]));
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_OPEN_FILES, &value));
	EXPECT_EQ(before, value);
}

TEST_F(instance, get_param_unknown)
{
	static const __u32 params[] = { 0, VRUST_PARAM_LIVE_BUFFERS + 1, 0x100, 0xffffffff };
	struct drm_vrust_get_param arg;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(params); i++) {
		arg = (struct drm_vrust_get_param){ .param = params[i] };
		EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.card, DRM_IOCTL_VRUST_GET_PARAM, &arg))
			TH_LOG("param %#x", params[i]);
	}
}

TEST_F(instance, get_param_nonzero_pad)
{
	struct drm_vrust_get_param arg = { .param = VRUST_PARAM_API_VERSION, .pad = 1 };

	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.card, DRM_IOCTL_VRUST_GET_PARAM, &arg));
	arg.pad = 0x80000000;
	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.render, DRM_IOCTL_VRUST_GET_PARAM, &arg));
}

/* An argument pointer the core cannot copy from. */
TEST_F(instance, bad_arg_pointer)
{
	EXPECT_EQ(-EFAULT, vrust_ioctl(self->f.card, DRM_IOCTL_VRUST_GET_PARAM, (void *)8));
	EXPECT_EQ(-EFAULT, vrust_ioctl(self->f.card, DRM_IOCTL_VRUST_COUNTER, (void *)8));
	EXPECT_EQ(-EFAULT, vrust_ioctl(self->f.render, DRM_IOCTL_VRUST_REVERSE, (void *)8));
}

/*
 * A GET_PARAM argument of only 4 bytes (just @param): the core zero-extends it, so @pad
 * reads as 0 and the call succeeds, and copies only those 4 bytes back.
 */
TEST_F(instance, get_param_short_arg)
{
	struct {
		struct drm_vrust_get_param gp;
		__u64 canary;
	} arg;

	memset(&arg, 0xa5, sizeof(arg));
	arg.gp.param = VRUST_PARAM_API_VERSION;
	ASSERT_EQ(0, vrust_ioctl(self->f.card, VRUST_IOWR_SIZED(DRM_VRUST_GET_PARAM, sizeof(__u32)),
				 &arg));
	EXPECT_EQ((__u32)VRUST_PARAM_API_VERSION, arg.gp.param);
	EXPECT_EQ(0xa5a5a5a5U, arg.gp.pad);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, arg.gp.value);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, arg.canary);
}

/* A COUNTER argument of only @add: the addition happens, @value is not written. */
TEST_F(instance, counter_short_arg)
{
	struct drm_vrust_counter arg;

	memset(&arg, 0xa5, sizeof(arg));
	arg.add = 5;
	ASSERT_EQ(0, vrust_ioctl(self->f.card, VRUST_IOWR_SIZED(DRM_VRUST_COUNTER, sizeof(__u64)),
				 &arg));
	EXPECT_EQ(5ULL, arg.add);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, arg.value);
	expect_counter(_metadata, self->f.card, 0, 5ULL);
}

/* A COUNTER argument 8 bytes too long: accepted, and the tail comes back unchanged. */
TEST_F(instance, counter_oversized_arg)
{
	struct {
		struct drm_vrust_counter c;
		__u64 canary;
	} arg = { .c.add = 3, .c.value = 99, .canary = 0x5a5a5a5a12345678ULL };

	ASSERT_EQ(0, vrust_ioctl(self->f.card, VRUST_IOWR_SIZED(DRM_VRUST_COUNTER, sizeof(arg)),
				 &arg));
	EXPECT_EQ(3ULL, arg.c.add);
	EXPECT_EQ(3ULL, arg.c.value);
	EXPECT_EQ(0x5a5a5a5a12345678ULL, arg.canary);
}

/* Every file has its own counter, starting at 0. */
TEST_F(instance, counter_per_file)
{
	int a = self->f.card, r = self->f.render, b;

	self->f.fds[0] = vrust_open_node(self->f.inst.faux, DRM_NODE_PRIMARY);
	b = self->f.fds[0];
	ASSERT_LE(0, b);

	expect_counter(_metadata, a, 0, 0ULL);
	expect_counter(_metadata, a, 5, 5ULL);
	expect_counter(_metadata, b, 7, 7ULL);
	expect_counter(_metadata, a, 1, 6ULL);
	expect_counter(_metadata, b, 0, 7ULL);
	expect_counter(_metadata, r, 2, 2ULL);
	expect_counter(_metadata, a, 0, 6ULL);
}

/* Overflowing the counter fails and leaves it unchanged; reaching UINT64_MAX is fine. */
TEST_F(instance, counter_overflow)
{
	__u64 value;

	expect_counter(_metadata, self->f.card, UINT64_MAX - 1, UINT64_MAX - 1);
	EXPECT_EQ(-EOVERFLOW, vrust_counter(self->f.card, 2, &value));
	EXPECT_EQ(-EOVERFLOW, vrust_counter(self->f.card, UINT64_MAX, &value));
	expect_counter(_metadata, self->f.card, 0, UINT64_MAX - 1);
	expect_counter(_metadata, self->f.card, 1, UINT64_MAX);
	EXPECT_EQ(-EOVERFLOW, vrust_counter(self->f.card, 1, &value));
	expect_counter(_metadata, self->f.card, 0, UINT64_MAX);
}

/* The device value starts at 0 and reads back from every file of the device. */
TEST_F(instance, set_device_value)
{
	__u64 value;

	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0ULL, value);

	ASSERT_EQ(0, vrust_set_device_value(self->f.card, 0xdeadbeefcafef00dULL));
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0xdeadbeefcafef00dULL, value);
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0xdeadbeefcafef00dULL, value);
	self->f.fds[0] = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->f.fds[0]);
	ASSERT_EQ(0, vrust_get_param(self->f.fds[0], VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0xdeadbeefcafef00dULL, value);

	/* The last value stored wins, whichever primary file stores it. */
	self->f.fds[1] = vrust_open_node(self->f.inst.faux, DRM_NODE_PRIMARY);
	ASSERT_LE(0, self->f.fds[1]);
	ASSERT_EQ(0, vrust_set_device_value(self->f.fds[1], 7));
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(7ULL, value);
}

/* SET_DEVICE_VALUE is not allowed on the render node. */
TEST_F(instance, set_device_value_render_eacces)
{
	__u64 value;

	EXPECT_EQ(-EACCES, vrust_set_device_value(self->f.render, 5));
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0ULL, value);

	ASSERT_EQ(0, vrust_set_device_value(self->f.card, 6));
	EXPECT_EQ(-EACCES, vrust_set_device_value(self->f.render, 9));
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(6ULL, value);
}

/* Another instance has its own device value. */
TEST_F(instance, device_value_per_instance)
{
	__u64 value;

	ASSERT_EQ(0, vrust_set_device_value(self->f.card, 42));
	ASSERT_EQ(0, vrust_instance_up(&self->extra[0]));
	self->f.fds[0] = vrust_open_node(self->extra[0].faux, DRM_NODE_PRIMARY);
	ASSERT_LE(0, self->f.fds[0]);

	ASSERT_EQ(0, vrust_get_param(self->f.fds[0], VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0ULL, value);
	ASSERT_EQ(0, vrust_set_device_value(self->f.fds[0], 43));
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(42ULL, value);
	ASSERT_EQ(0, vrust_get_param(self->f.fds[0], VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(43ULL, value);
}

/* Three more instances at once, each a device of its own with its own value. */
TEST_F(instance, three_instances)
{
	char name[16];
	__u64 value;
	int i;

	for (i = 0; i < NR_EXTRA_INSTANCES; i++) {
		ASSERT_EQ(0, vrust_instance_up(&self->extra[i]));
		self->f.fds[2 * i] = vrust_open_node(self->extra[i].faux, DRM_NODE_PRIMARY);
		self->f.fds[2 * i + 1] = vrust_open_node(self->extra[i].faux, DRM_NODE_RENDER);
		ASSERT_LE(0, self->f.fds[2 * i]);
		ASSERT_LE(0, self->f.fds[2 * i + 1]);
	}
	for (i = 0; i < NR_EXTRA_INSTANCES; i++) {
		ASSERT_EQ(0, vrust_driver_name(self->f.fds[2 * i], name, sizeof(name)));
		EXPECT_STREQ("vrust", name);
		ASSERT_EQ(0, vrust_set_device_value(self->f.fds[2 * i], 100 + i));
	}
	for (i = 0; i < NR_EXTRA_INSTANCES; i++) {
		ASSERT_EQ(0, vrust_get_param(self->f.fds[2 * i + 1], VRUST_PARAM_DEVICE_VALUE,
					     &value));
		EXPECT_EQ((__u64)(100 + i), value);
		/* Each device counts only its own two files. */
		ASSERT_EQ(0, vrust_get_param(self->f.fds[2 * i], VRUST_PARAM_OPEN_FILES, &value));
		EXPECT_EQ(2ULL, value);
	}
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0ULL, value);
}

/* 1000 bytes come back reversed; nothing past dst + len is written, src is not changed. */
TEST_F(instance, reverse)
{
	unsigned char src[1000], dst[1000 + 64];
	unsigned int i, bad = 0;

	for (i = 0; i < sizeof(src); i++)
		src[i] = i * 7 + 3;
	memset(dst, 0xee, sizeof(dst));
	ASSERT_EQ(0, vrust_reverse(self->f.card, (uintptr_t)src, (uintptr_t)dst, sizeof(src)));
	for (i = 0; i < sizeof(src); i++) {
		if (dst[i] != src[sizeof(src) - 1 - i])
			bad++;
		if (src[i] != (unsigned char)(i * 7 + 3))
			bad++;
	}
	EXPECT_EQ(0U, bad);
	bad = 0;
	for (i = sizeof(src); i < sizeof(dst); i++)
		if (dst[i] != 0xee)
			bad++;
	EXPECT_EQ(0U, bad);
}

TEST_F(instance, reverse_render_node)
{
	char src[] = "abcd", dst[] = "xxxxx";

	ASSERT_EQ(0, vrust_reverse(self->f.render, (uintptr_t)src, (uintptr_t)dst, 4));
	EXPECT_STREQ("dcbax", dst);
}

TEST_F(instance, reverse_len_zero)
{
	char src[] = "abcd", dst[] = "xxxx";

	EXPECT_EQ(0, vrust_reverse(self->f.card, (uintptr_t)src, (uintptr_t)dst, 0));
	EXPECT_STREQ("xxxx", dst);
}

/* VRUST_REVERSE_MAX_LEN bytes are accepted, one more is not. */
TEST_F(instance, reverse_max_len)
{
	const unsigned int max = VRUST_REVERSE_MAX_LEN;
	unsigned char *src, *dst;
	unsigned int i, bad = 0;

	src = malloc(max + 1);
	dst = malloc(max + 1);
	if (!src || !dst) {
		free(src);
		free(dst);
		ASSERT_TRUE(false) TH_LOG("out of memory");
	}
	for (i = 0; i <= max; i++)
		src[i] = i ^ (i >> 8);

	memset(dst, 0xee, max + 1);
	EXPECT_EQ(-EINVAL, vrust_reverse(self->f.card, (uintptr_t)src, (uintptr_t)dst, max + 1));
	for (i = 0; i <= max; i++)
		if (dst[i] != 0xee)
			bad++;
	EXPECT_EQ(0U, bad);

	EXPECT_EQ(-EINVAL, vrust_reverse(self->f.card, (uintptr_t)src, (uintptr_t)dst, UINT32_MAX));

	EXPECT_EQ(0, vrust_reverse(self->f.card, (uintptr_t)src, (uintptr_t)dst, max));
	bad = 0;
	for (i = 0; i < max; i++)
		if (dst[i] != src[max - 1 - i])
			bad++;
	EXPECT_EQ(0U, bad);
	EXPECT_EQ(0xee, dst[max]);

	free(src);
	free(dst);
}

/* A range wrapping around the end of the address space, as source or destination. */
TEST_F(instance, reverse_wrapping_range)
{
	char buf[16] = "0123456789abcde", out[16] = {};

	EXPECT_EQ(-EOVERFLOW, vrust_reverse(self->f.card, UINT64_MAX - 4, (uintptr_t)out, 16));
	EXPECT_EQ(0, out[0]);
	EXPECT_EQ(-EOVERFLOW, vrust_reverse(self->f.card, (uintptr_t)buf, UINT64_MAX - 4, 16));
}

TEST_F(instance, reverse_bad_pointer)
{
	char buf[16] = "0123456789abcde", out[16] = {};

	EXPECT_EQ(-EFAULT, vrust_reverse(self->f.card, 8, (uintptr_t)out, 16));
	EXPECT_EQ(0, out[0]);
	EXPECT_EQ(-EFAULT, vrust_reverse(self->f.card, (uintptr_t)buf, 8, 16));
	EXPECT_STREQ("0123456789abcde", buf);
}

TEST_F(instance, reverse_nonzero_pad)
{
	char src[] = "abcd", dst[] = "xxxx";
	struct drm_vrust_reverse arg = {
		.src = (uintptr_t)src, .dst = (uintptr_t)dst, .len = 4, .pad = 1,
	};

	EXPECT_EQ(-EINVAL, vrust_ioctl(self->f.card, DRM_IOCTL_VRUST_REVERSE, &arg));
	EXPECT_STREQ("xxxx", dst);
}

/* The number of vrust's ioctls. */
#define VRUST_NR_IOCTLS		(DRM_VRUST_EXEC + 1)

/* Driver ioctl numbers past vrust's table: -EINVAL from the core, on both nodes. */
TEST_F(instance, ioctl_past_driver_table)
{
	int fds[] = { self->f.card, self->f.render };
	struct drm_vrust_counter arg;
	unsigned int i, nr, bad = 0;
	int ret;

	for (i = 0; i < 2; i++) {
		for (nr = DRM_COMMAND_BASE + VRUST_NR_IOCTLS; nr < DRM_COMMAND_END; nr++) {
			memset(&arg, 0, sizeof(arg));
			ret = vrust_ioctl(fds[i], DRM_IOWR(nr, struct drm_vrust_counter), &arg);
			if (ret != -EINVAL) {
				TH_LOG("fd %u, nr %#x: %d", i, nr, ret);
				bad++;
			}
		}
	}
	EXPECT_EQ(0U, bad);
}

/* The number of a vrust ioctl with another type than 'd' is no DRM ioctl. */
TEST_F(instance, ioctl_wrong_type)
{
	const unsigned long wrong = _IOWR('x', DRM_COMMAND_BASE, struct drm_vrust_get_param);
	const unsigned long right = _IOWR('d', DRM_COMMAND_BASE, struct drm_vrust_get_param);
	struct drm_vrust_get_param arg = { .param = VRUST_PARAM_API_VERSION };

	EXPECT_EQ(-ENOTTY, vrust_ioctl(self->f.card, wrong, &arg));
	EXPECT_EQ(-ENOTTY, vrust_ioctl(self->f.render, wrong, &arg));
	/* The same number with type 'd' is GET_PARAM. */
	ASSERT_EQ(0, vrust_ioctl(self->f.card, right, &arg));
	EXPECT_EQ((__u64)VRUST_API_VERSION, arg.value);
}

/* Unplugging the device with files open: everything fails with -ENODEV, close works. */
TEST_F(instance, unplug_enodev)
{
	char node[64];

	ASSERT_EQ(0, vrust_instance_enable(&self->f.inst, false));
	expect_all_enodev(_metadata, self->f.card);
	expect_all_enodev(_metadata, self->f.render);
	EXPECT_EQ(-ENOENT, vrust_find_node(self->f.inst.faux, DRM_NODE_PRIMARY, node,
					   sizeof(node)));
	EXPECT_EQ(-ENOENT, vrust_find_node(self->f.inst.faux, DRM_NODE_RENDER, node, sizeof(node)));
	EXPECT_EQ(0, vrust_close_fd(&self->f.card));
	EXPECT_EQ(0, vrust_close_fd(&self->f.render));
}

/* Removing the instance altogether with files open. */
TEST_F(instance, destroy_with_open_fds)
{
	char path[128];

	ASSERT_EQ(0, vrust_instance_enable(&self->f.inst, false));
	ASSERT_EQ(0, vrust_instance_rmdir(&self->f.inst));
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", self->f.inst.name);
	EXPECT_EQ(-1, access(path, F_OK));
	expect_all_enodev(_metadata, self->f.card);
	expect_all_enodev(_metadata, self->f.render);
	EXPECT_EQ(0, vrust_close_fd(&self->f.card));
	EXPECT_EQ(0, vrust_close_fd(&self->f.render));
}

/* An instance can be created again under the name of a removed one. */
TEST_F(instance, recreate_same_name)
{
	char name[16];
	__u64 value;

	ASSERT_EQ(0, vrust_set_device_value(self->f.card, 11));
	ASSERT_EQ(0, vrust_instance_enable(&self->f.inst, false));
	EXPECT_EQ(-ENODEV, vrust_get_param(self->f.card, VRUST_PARAM_API_VERSION, &value));
	EXPECT_EQ(0, vrust_close_fd(&self->f.card));
	EXPECT_EQ(0, vrust_close_fd(&self->f.render));
	ASSERT_EQ(0, vrust_instance_rmdir(&self->f.inst));

	ASSERT_EQ(0, vrust_instance_mkdir(&self->f.inst));
	ASSERT_EQ(0, vrust_instance_enable(&self->f.inst, true));
	self->f.card = vrust_open_node(self->f.inst.faux, DRM_NODE_PRIMARY);
	ASSERT_LE(0, self->f.card);
	self->f.render = vrust_open_node(self->f.inst.faux, DRM_NODE_RENDER);
	ASSERT_LE(0, self->f.render);
	ASSERT_EQ(0, vrust_driver_name(self->f.card, name, sizeof(name)));
	EXPECT_STREQ("vrust", name);
	/* A new device: its value starts over. */
	ASSERT_EQ(0, vrust_get_param(self->f.render, VRUST_PARAM_DEVICE_VALUE, &value));
	EXPECT_EQ(0ULL, value);
	ASSERT_EQ(0, vrust_get_param(self->f.card, VRUST_PARAM_OPEN_FILES, &value));
	EXPECT_EQ(2ULL, value);
}

/*
 * The module tests, with no instance and no file of their own: a fixture declared after
 * FIXTURE(instance) so that they run after its tests (TEST()s run first).
 */
FIXTURE(module) {};
FIXTURE_SETUP(module) {}
FIXTURE_TEARDOWN(module) {}

/*
 * With no file open and no instance of the tests left, the module unloads, loads again and
 * brings back its default instance and configfs.
 */
TEST_F(module, reload)
{
	const char *ko = getenv("VRUST_KO");
	struct vrust_instance inst;
	char name[16], node[64];
	int fd, ret;

	if (!ko || !*ko)
		SKIP(return, "VRUST_KO (the module file) is not set");

	/* An open file holds the module: unloading fails cleanly and the file keeps working. */
	fd = vrust_open_default(DRM_NODE_RENDER);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, syscall(SYS_delete_module, VRUST_MODULE, O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) TH_LOG("errno %d", errno);
	EXPECT_EQ(0, vrust_driver_name(fd, name, sizeof(name)));
	EXPECT_STREQ("vrust", name);
	close(fd);

	ret = vrust_unload_module();
	ASSERT_EQ(0, ret) TH_LOG("delete_module(%s): %s", VRUST_MODULE, strerror(-ret));
	EXPECT_EQ(-ENOENT, vrust_find_node(VRUST_DEFAULT_FAUX, DRM_NODE_PRIMARY, node,
					   sizeof(node)));
	EXPECT_EQ(-1, access(VRUST_CONFIGFS, F_OK));

	ret = vrust_load_module(ko);
	ASSERT_EQ(0, ret) TH_LOG("finit_module(%s): %s", ko, strerror(-ret));

	fd = vrust_open_default(DRM_NODE_PRIMARY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vrust_driver_name(fd, name, sizeof(name)));
	EXPECT_STREQ("vrust", name);
	close(fd);
	fd = vrust_open_default(DRM_NODE_RENDER);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vrust_driver_name(fd, name, sizeof(name)));
	EXPECT_STREQ("vrust", name);
	close(fd);

	/* configfs works again. */
	ASSERT_EQ(0, vrust_instance_up(&inst));
	fd = vrust_open_node(inst.faux, DRM_NODE_PRIMARY);
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		EXPECT_EQ(0, vrust_driver_name(fd, name, sizeof(name)));
		EXPECT_STREQ("vrust", name);
		close(fd);
	}
	EXPECT_EQ(0, vrust_instance_destroy(&inst));
}

TEST_HARNESS_MAIN
