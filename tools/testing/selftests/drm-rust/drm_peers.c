// SPDX-License-Identifier: GPL-2.0
/*
 * The C peers the sample driver is measured against (vkms, vgem) are present in the test
 * kernel and answer the core ioctls the way the tests of the sample expect of a DRM driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

TEST(vkms_version)
{
	char name[32] = {}, desc[128] = {}, date[32] = {};
	struct drm_version v = {
		.name = name, .name_len = sizeof(name) - 1,
		.desc = desc, .desc_len = sizeof(desc) - 1,
		.date = date, .date_len = sizeof(date) - 1,
	};
	int fd = drm_open_driver("vkms", DRM_NODE_PRIMARY);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, DRM_IOCTL_VERSION, &v));
	EXPECT_STREQ("vkms", name);
	EXPECT_EQ(4UL, v.name_len);
	EXPECT_NE(0UL, v.desc_len);
	close(fd);
}

TEST(version_lengths_only)
{
	struct drm_version v = {};
	int fd = drm_open_driver("vgem", DRM_NODE_PRIMARY);

	ASSERT_GE(fd, 0);
	/* With zero-length buffers, VERSION only reports the lengths. */
	ASSERT_EQ(0, ioctl(fd, DRM_IOCTL_VERSION, &v));
	EXPECT_EQ(4UL, v.name_len);
	close(fd);
}

TEST(version_bad_pointer)
{
	struct drm_version v = { .name = (char *)8, .name_len = 4 };
	int fd = drm_open_driver("vgem", DRM_NODE_PRIMARY);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, DRM_IOCTL_VERSION, &v));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST(vgem_render_node)
{
	int fd = drm_open_driver("vgem", DRM_NODE_RENDER);

	ASSERT_GE(fd, 0);
	close(fd);
}

TEST(unknown_driver_ioctl)
{
	int fd = drm_open_driver("vgem", DRM_NODE_PRIMARY);
	char arg[8] = {};

	ASSERT_GE(fd, 0);
	/* A driver ioctl number past the driver's table. */
	EXPECT_EQ(-1, ioctl(fd, DRM_IOWR(DRM_COMMAND_BASE + 0x5f, char[8]), arg));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(vkms_is_kms)
{
	int fd = drm_open_driver("vkms", DRM_NODE_PRIMARY);
	drmModeRes *res;

	ASSERT_GE(fd, 0);
	res = drmModeGetResources(fd);
	ASSERT_NE(NULL, res);
	EXPECT_GE(res->count_crtcs, 1);
	EXPECT_GE(res->count_connectors, 1);
	drmModeFreeResources(res);
	close(fd);
}

TEST_HARNESS_MAIN
