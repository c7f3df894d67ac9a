// SPDX-License-Identifier: GPL-2.0
/*
 * Configurable pipelines of vrust: the planes, CRTCs, encoders and connectors of an instance
 * made as configfs directories (samples/rust/vrust/config.rs), checked at enable, used through
 * real KMS ioctls with two CRTCs lit at once, changed at run time (connector status, with a
 * hotplug uevent), refused while enabled, removed while a client holds the device open, and
 * made by several threads at once.
 *
 * vkms's configfs has the same objects, with symbolic links where vrust has lists of names;
 * the tests are vrust's.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

/* How long a test waits for an event that must come, in milliseconds. */
#define EVENT_MS 3000

/* An attribute write of a pipeline: "<object>/<attribute>" and its value. */
struct attr {
	const char *path, *value;
};

/* Makes the object directories @dirs of @inst, then writes @attrs; stops at a NULL path. */
static int pipeline_make(const struct vrust_instance *inst, const char *const *dirs,
			 const struct attr *attrs)
{
	char path[192];
	int ret;

	for (; dirs && *dirs; dirs++) {
		snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/%s", inst->name, *dirs);
		if (mkdir(path, 0755))
			return -errno;
	}
	for (; attrs && attrs->path; attrs++) {
		ret = vrust_instance_set(inst, attrs->path, attrs->value);
		if (ret)
			return ret;
	}
	return 0;
}

/* Removes every object directory of @inst. Returns 0 or the first -errno. */
static int pipeline_remove(const struct vrust_instance *inst)
{
	char path[400];
	struct dirent *e;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", inst->name);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/%s", inst->name, e->d_name);
		if (rmdir(path) && !ret)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

/* The pipeline of most tests: one pipe, of the default's shape without the writeback. */
static const char *const one_dirs[] = { "plane0", "crtc0", "encoder0", "connector0", NULL };
static const struct attr one_attrs[] = {
	{ "plane0/plane_type", "1" },
	{ "plane0/possible_crtcs", "crtc0" },
	{ "encoder0/possible_crtcs", "crtc0" },
	{ "connector0/possible_encoders", "encoder0" },
	{},
};

/*
 * Two pipes: crtc0 with a primary, a cursor and a writeback connector, crtc1 with a primary;
 * an overlay for both; encoder0 for crtc0, encoder1 for crtc1; connector0 on encoder0,
 * connector1 on both encoders. Planes are made in the order plane0..plane3.
 */
static const char *const two_dirs[] = {
	"crtc0", "crtc1", "plane0", "plane1", "plane2", "plane3",
	"encoder0", "encoder1", "connector0", "connector1", NULL,
};

static const struct attr two_attrs[] = {
	{ "crtc0/writeback", "1" },
	{ "plane0/plane_type", "1" },
	{ "plane0/possible_crtcs", "crtc0" },
	{ "plane1/plane_type", "1" },
	{ "plane1/possible_crtcs", "crtc1\n" },
	{ "plane2/plane_type", "2" },
	{ "plane2/possible_crtcs", "crtc0" },
	{ "plane3/possible_crtcs", "crtc0 crtc1" },
	{ "encoder0/possible_crtcs", "crtc0" },
	{ "encoder1/possible_crtcs", "crtc1" },
	{ "connector0/possible_encoders", "encoder0" },
	{ "connector1/possible_encoders", "encoder1  encoder0" },
	{},
};

/* The value of property @name of object @obj, or -1. */
static long long prop_value(int fd, __u32 obj, __u32 type, const char *name)
{
	drmModeObjectPropertiesPtr props = drmModeObjectGetProperties(fd, obj, type);
	long long v = -1;

	for (__u32 k = 0; props && k < props->count_props; k++) {
		drmModePropertyPtr pr = drmModeGetProperty(fd, props->props[k]);

		if (pr && !strcmp(pr->name, name))
			v = (long long)props->prop_values[k];
		drmModeFreeProperty(pr);
	}
	drmModeFreeObjectProperties(props);
	return v;
}

/* The number of planes, CRTCs, encoders and connectors @fd sees: 0 or -errno. */
static int counts(int fd, int n[4])
{
	drmModeResPtr res = drmModeGetResources(fd);
	drmModePlaneResPtr planes = drmModeGetPlaneResources(fd);
	int ret = res && planes ? 0 : -errno;

	if (!ret) {
		n[0] = (int)planes->count_planes;
		n[1] = res->count_crtcs;
		n[2] = res->count_encoders;
		n[3] = res->count_connectors;
	}
	drmModeFreeResources(res);
	drmModeFreePlaneResources(planes);
	return ret;
}

/* Opens the primary node of @inst as an atomic client with every plane. */
static int open_atomic(const struct vrust_instance *inst)
{
	int fd = vrust_open_node(inst->faux, DRM_NODE_PRIMARY);

	if (fd < 0)
		return fd;
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
	    drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* An output lit by light(): a connector, its CRTC, the CRTC's primary plane and a buffer. */
struct output {
	__u32 conn, crtc, crtc_index, plane, blob;
	struct vrust_fb fb;
};

/*
 * Adds to @req: connector @o->conn on CRTC @o->crtc with its first mode, and the CRTC's
 * primary plane showing a new buffer of that size filled with @color.
 */
static int output_add(int fd, drmModeAtomicReqPtr req, struct output *o, __u32 color)
{
	drmModeConnectorPtr c = drmModeGetConnector(fd, o->conn);
	drmModeModeInfo mode;
	int ret;

	if (!c)
		return -errno;
	if (!c->count_modes) {
		drmModeFreeConnector(c);
		return -ENOENT;
	}
	mode = c->modes[0];
	drmModeFreeConnector(c);
	ret = vrust_plane_of_type(fd, o->crtc_index, DRM_PLANE_TYPE_PRIMARY, &o->plane);
	if (!ret)
		ret = drmModeCreatePropertyBlob(fd, &mode, sizeof(mode), &o->blob) ? -errno : 0;
	if (!ret)
		ret = vrust_fb_make(fd, mode.hdisplay, mode.vdisplay, DRM_FORMAT_XRGB8888, &o->fb);
	if (ret)
		return ret;
	vrust_fb_fill(&o->fb, 0, 0, o->fb.w, o->fb.h, color);
	ret = vrust_atomic_add(fd, req, o->conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", o->crtc);
	ret = ret ?: vrust_atomic_add(fd, req, o->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", o->blob);
	ret = ret ?: vrust_atomic_add(fd, req, o->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", o->fb.id);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", o->crtc);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "SRC_W",
				      (__u64)o->fb.w << 16);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "SRC_H",
				      (__u64)o->fb.h << 16);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "CRTC_W", o->fb.w);
	ret = ret ?: vrust_atomic_add(fd, req, o->plane, DRM_MODE_OBJECT_PLANE, "CRTC_H", o->fb.h);
	return ret;
}

/*
 * Lights @n outputs in one modeset commit, then flips each to its buffer again with an event,
 * and waits for the @n events, one per CRTC. Returns 0 or -errno.
 */
static int light(int fd, struct output *o, int n)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	unsigned int seen = 0;
	double end;
	int ret = 0;

	for (int i = 0; i < n && !ret; i++)
		ret = output_add(fd, req, &o[i], 0xff000000u | (0x40u << (8 * i)));
	if (!ret && drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		ret = -errno;
	drmModeAtomicFree(req);
	if (ret)
		return ret;
	req = drmModeAtomicAlloc();
	for (int i = 0; i < n && !ret; i++)
		ret = vrust_atomic_add(fd, req, o[i].plane, DRM_MODE_OBJECT_PLANE, "FB_ID",
				       o[i].fb.id);
	if (!ret && drmModeAtomicCommit(fd, req,
					DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT, NULL))
		ret = -errno;
	drmModeAtomicFree(req);
	end = vrust_now_s() + EVENT_MS / 1000.0;
	while (!ret && seen != (1u << n) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct drm_event_vblank ev;
		int left = (int)((end - vrust_now_s()) * 1000);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -ETIMEDOUT;
		if (read(fd, &ev, sizeof(ev)) != sizeof(ev))
			return -EIO;
		for (int i = 0; i < n; i++)
			if (ev.base.type == DRM_EVENT_FLIP_COMPLETE && ev.crtc_id == o[i].crtc)
				seen |= 1u << i;
	}
	return ret;
}

/* Turns every CRTC of @fd off, in one commit. */
static int dark(int fd)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	drmModeResPtr res = drmModeGetResources(fd);
	int ret = res ? 0 : -errno;

	for (int i = 0; !ret && i < res->count_crtcs; i++) {
		ret = vrust_atomic_add(fd, req, res->crtcs[i], DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
		ret = ret ?: vrust_atomic_add(fd, req, res->crtcs[i], DRM_MODE_OBJECT_CRTC,
					      "MODE_ID", 0);
	}
	for (int i = 0; !ret && i < res->count_connectors; i++)
		ret = vrust_atomic_add(fd, req, res->connectors[i], DRM_MODE_OBJECT_CONNECTOR,
				       "CRTC_ID", 0);
	if (!ret && drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		ret = -errno;
	drmModeAtomicFree(req);
	drmModeFreeResources(res);
	return ret;
}

/* A test's own instance, with no objects yet; a client file and a uevent socket. */
FIXTURE(cfg) {
	struct vrust_instance inst;
	int fd, ue;
};

FIXTURE_SETUP(cfg)
{
	self->fd = -1;
	self->ue = -1;
	vrust_instance_init(&self->inst);
	ASSERT_EQ(0, vrust_instance_mkdir(&self->inst)) TH_LOG("no vrust configfs (%s)",
							       VRUST_CONFIGFS);
}

FIXTURE_TEARDOWN(cfg)
{
	vrust_close_fd(&self->fd);
	vrust_close_fd(&self->ue);
	if (self->inst.enabled)
		EXPECT_EQ(0, vrust_instance_enable(&self->inst, false));
	EXPECT_EQ(0, pipeline_remove(&self->inst));
	EXPECT_EQ(0, vrust_instance_destroy(&self->inst));
}

/*
 * Two pipes: the device has the objects the directories describe, connected as they say
 * (plane types and CRTCs, CRTC primaries, encoder CRTCs, connector encoders, a writeback
 * connector on crtc0 only); both CRTCs light at once, each through its own connector, and each
 * flips with its own event; the overlay moves between them. Then the instance is unplugged
 * while the client holds it open: ENODEV, and the directories go.
 */
TEST_F(cfg, two_pipes)
{
	int n[4], wb_conns = 0, kinds[4] = { 1, 1, 2, 0 }, crtcs_of[4] = { 1, 2, 1, 3 };
	drmModePlaneResPtr planes;
	drmModeConnectorPtr c;
	drmModeResPtr res;
	struct output o[2] = {};
	__u32 enc_of[2];
	char path[160];

	ASSERT_EQ(0, pipeline_make(&self->inst, two_dirs, two_attrs));
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/connector1/possible_encoders",
		 self->inst.name);
	ASSERT_EQ(0, vrust_read_file(path, path, sizeof(path)));
	EXPECT_STREQ("encoder1  encoder0", path);
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);

	/* Planes, CRTCs, encoders (one of them the writeback's), connectors. */
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(4, n[0]);
	EXPECT_EQ(2, n[1]);
	EXPECT_EQ(3, n[2]);
	EXPECT_EQ(2, n[3]);
	planes = drmModeGetPlaneResources(self->fd);
	ASSERT_NE(NULL, planes);
	for (int i = 0; i < 4; i++) {
		drmModePlanePtr p = drmModeGetPlane(self->fd, planes->planes[i]);

		ASSERT_NE(NULL, p);
		EXPECT_EQ(crtcs_of[i], (int)p->possible_crtcs) TH_LOG("plane%d", i);
		EXPECT_EQ(kinds[i], prop_value(self->fd, p->plane_id, DRM_MODE_OBJECT_PLANE,
					       "type")) TH_LOG("plane%d", i);
		drmModeFreePlane(p);
	}
	for (__u32 i = 0; i < 2; i++) {
		__u32 primary;

		ASSERT_EQ(0, vrust_plane_of_type(self->fd, i, DRM_PLANE_TYPE_PRIMARY, &primary));
		EXPECT_EQ(planes->planes[i], primary);
	}
	drmModeFreePlaneResources(planes);

	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	for (int i = 0; i < 2; i++) {
		c = drmModeGetConnector(self->fd, res->connectors[i]);
		ASSERT_NE(NULL, c);
		EXPECT_EQ(DRM_MODE_CONNECTED, (int)c->connection);
		EXPECT_EQ(i + 1, c->count_encoders);
		enc_of[i] = c->encoders[0];
		o[i].conn = c->connector_id;
		o[i].crtc = res->crtcs[i];
		o[i].crtc_index = (__u32)i;
		drmModeFreeConnector(c);
	}
	/* connector1 lists encoder1 first, but encoders are in the order they were made. */
	EXPECT_EQ(enc_of[0], enc_of[1]);
	for (int i = 0; i < res->count_encoders; i++) {
		drmModeEncoderPtr e = drmModeGetEncoder(self->fd, res->encoders[i]);

		ASSERT_NE(NULL, e);
		if (e->encoder_id == enc_of[0])
			EXPECT_EQ(1u, e->possible_crtcs);
		drmModeFreeEncoder(e);
	}
	drmModeFreeResources(res);
	ASSERT_EQ(0, drmSetClientCap(self->fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1));
	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	for (int i = 0; i < res->count_connectors; i++) {
		c = drmModeGetConnector(self->fd, res->connectors[i]);
		ASSERT_NE(NULL, c);
		if (c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			wb_conns++;
			ASSERT_EQ(1, c->count_encoders);
			drmModeEncoderPtr e = drmModeGetEncoder(self->fd, c->encoders[0]);

			ASSERT_NE(NULL, e);
			EXPECT_EQ(1u, e->possible_crtcs);
			drmModeFreeEncoder(e);
		}
		drmModeFreeConnector(c);
	}
	EXPECT_EQ(1, wb_conns);
	drmModeFreeResources(res);

	/* Both pipes at once, then the overlay on each in turn. */
	ASSERT_EQ(0, light(self->fd, o, 2));
	for (__u32 i = 0; i < 2; i++) {
		drmModeAtomicReqPtr req = drmModeAtomicAlloc();
		__u32 overlay;

		ASSERT_EQ(0, vrust_plane_of_type(self->fd, i, DRM_PLANE_TYPE_OVERLAY, &overlay));
		/* Off first: the C core does not move a plane between CRTCs in one commit. */
		if (i) {
			drmModeAtomicReqPtr off = drmModeAtomicAlloc();

			EXPECT_EQ(0, vrust_atomic_add(self->fd, off, overlay, DRM_MODE_OBJECT_PLANE,
						      "FB_ID", 0));
			EXPECT_EQ(0, vrust_atomic_add(self->fd, off, overlay, DRM_MODE_OBJECT_PLANE,
						      "CRTC_ID", 0));
			EXPECT_EQ(0, drmModeAtomicCommit(self->fd, off, 0, NULL));
			drmModeAtomicFree(off);
		}
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "FB_ID", o[i].fb.id));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "CRTC_ID", o[i].crtc));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "SRC_W", 64 << 16));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "SRC_H", 64 << 16));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "CRTC_W", 64));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, overlay, DRM_MODE_OBJECT_PLANE,
					      "CRTC_H", 64));
		EXPECT_EQ(0, drmModeAtomicCommit(self->fd, req, 0, NULL))
			TH_LOG("overlay on crtc%u: %s", i, strerror(errno));
		drmModeAtomicFree(req);
	}
	/*
	 * connector1 can take crtc0 too (through encoder0, the layer picks the encoder that fits);
	 * connector0 cannot take crtc1: it has no encoder for it. Each time the other pipe is
	 * turned off, so that only the routing decides.
	 */
	{
		drmModeAtomicReqPtr req = drmModeAtomicAlloc();

		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].conn, DRM_MODE_OBJECT_CONNECTOR,
					      "CRTC_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].conn, DRM_MODE_OBJECT_CONNECTOR,
					      "CRTC_ID", o[0].crtc));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].crtc, DRM_MODE_OBJECT_CRTC,
					      "ACTIVE", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].crtc, DRM_MODE_OBJECT_CRTC,
					      "MODE_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].plane, DRM_MODE_OBJECT_PLANE,
					      "FB_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].plane, DRM_MODE_OBJECT_PLANE,
					      "CRTC_ID", 0));
		EXPECT_EQ(0, drmModeAtomicCommit(self->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET |
						 DRM_MODE_ATOMIC_TEST_ONLY, NULL))
			TH_LOG("connector1 on crtc0: %s", strerror(errno));
		drmModeAtomicFree(req);

		req = drmModeAtomicAlloc();
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[1].conn, DRM_MODE_OBJECT_CONNECTOR,
					      "CRTC_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].conn, DRM_MODE_OBJECT_CONNECTOR,
					      "CRTC_ID", o[1].crtc));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].crtc, DRM_MODE_OBJECT_CRTC,
					      "ACTIVE", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].crtc, DRM_MODE_OBJECT_CRTC,
					      "MODE_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].plane, DRM_MODE_OBJECT_PLANE,
					      "FB_ID", 0));
		EXPECT_EQ(0, vrust_atomic_add(self->fd, req, o[0].plane, DRM_MODE_OBJECT_PLANE,
					      "CRTC_ID", 0));
		EXPECT_EQ(-EINVAL, drmModeAtomicCommit(self->fd, req,
						       DRM_MODE_ATOMIC_ALLOW_MODESET |
						       DRM_MODE_ATOMIC_TEST_ONLY, NULL));
		drmModeAtomicFree(req);
	}

	/* Unplugged under the client, lit: its ioctls fail cleanly, and the objects go. */
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, false));
	EXPECT_EQ(-ENODEV, counts(self->fd, n));
	EXPECT_EQ(0, pipeline_remove(&self->inst));
	vrust_close_fd(&self->fd);
}

/* The pipelines that enable refuses: one broken thing each, on top of one_dirs/one_attrs. */
static const struct {
	const char *why;
	const char *dirs[3];
	struct attr attrs[4];
} broken[] = {
	{ "a CRTC without a primary plane", {}, { { "plane0/plane_type", "0" } } },
	{ "a second primary on a CRTC", { "plane1" },
	  { { "plane1/plane_type", "1" }, { "plane1/possible_crtcs", "crtc0" } } },
	{ "a second cursor on a CRTC", { "plane1", "plane2" },
	  { { "plane1/plane_type", "2" }, { "plane1/possible_crtcs", "crtc0" },
	    { "plane2/plane_type", "2" }, { "plane2/possible_crtcs", "crtc0" } } },
	{ "a primary plane of two CRTCs", { "crtc1", "plane1" },
	  { { "plane0/possible_crtcs", "crtc0 crtc1" }, { "plane1/possible_crtcs", "crtc1" },
	    { "encoder0/possible_crtcs", "crtc0 crtc1" } } },
	{ "a plane without a CRTC", { "plane1" }, {} },
	{ "a CRTC of an unknown name", {}, { { "plane0/possible_crtcs", "crtc0 crtc9" } } },
	{ "an encoder named as a CRTC", {}, { { "connector0/possible_encoders", "crtc0" } } },
	{ "a CRTC without an encoder", { "crtc1", "plane1" },
	  { { "plane1/plane_type", "1" }, { "plane1/possible_crtcs", "crtc1" } } },
	{ "an encoder without a CRTC", { "encoder1" }, {} },
	{ "a connector without an encoder", { "connector1" }, {} },
	{ "no connector", {}, {} },
};

/*
 * Each broken pipeline is refused with EINVAL (and the reason in the kernel log), and leaves
 * the instance disabled; the same pipeline fixed enables. Bad names and values are refused
 * when written.
 */
TEST_F(cfg, refused)
{
	char path[200], big[5000];

	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		bool no_conn = !strcmp(broken[i].why, "no connector");
		struct attr attrs[5] = {};

		ASSERT_EQ(0, pipeline_make(&self->inst, one_dirs, one_attrs));
		memcpy(attrs, broken[i].attrs, sizeof(broken[i].attrs));
		ASSERT_EQ(0, pipeline_make(&self->inst, broken[i].dirs, attrs))
			TH_LOG("%s", broken[i].why);
		if (no_conn) {
			snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/connector0",
				 self->inst.name);
			ASSERT_EQ(0, rmdir(path));
		}
		EXPECT_EQ(-EINVAL, vrust_instance_enable(&self->inst, true))
			TH_LOG("%s", broken[i].why);
		snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/enabled", self->inst.name);
		ASSERT_EQ(0, vrust_read_file(path, path, sizeof(path)));
		EXPECT_STREQ("0", path);
		ASSERT_EQ(0, pipeline_remove(&self->inst));
	}
	/* The base pipeline is valid. */
	ASSERT_EQ(0, pipeline_make(&self->inst, one_dirs, one_attrs));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, false));

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/display0", self->inst.name);
	EXPECT_EQ(-1, mkdir(path, 0755));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "plane0/plane_type", "3"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "plane0/plane_type", "-1"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "plane0/plane_type", "primary"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "crtc0/writeback", "2"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "connector0/status", "0"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "connector0/status", "4294967297"));
	EXPECT_EQ(-EINVAL, vrust_instance_set(&self->inst, "plane0/possible_crtcs", "crtc0\tx"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	/* configfs cuts a write at a page: the list is the page, too long for a newline. */
	EXPECT_GT(0, vrust_instance_set(&self->inst, "plane0/possible_crtcs", big));
	/* Attributes of one kind are not on another. */
	EXPECT_EQ(-ENOENT, vrust_instance_set(&self->inst, "crtc0/plane_type", "1"));
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/plane0/plane_type", self->inst.name);
	ASSERT_EQ(0, vrust_read_file(path, path, sizeof(path)));
	EXPECT_STREQ("1", path);
}

/*
 * While the instance is enabled its objects cannot be made or changed (EBUSY), except a
 * connector's status; an object removed then is gone from the next enable, not this one.
 */
TEST_F(cfg, busy_while_enabled)
{
	static const char *const overlay[] = { "plane1", NULL };
	static const struct attr overlay_attrs[] = { { "plane1/possible_crtcs", "crtc0" }, {} };
	char path[200];
	int n[4];

	ASSERT_EQ(0, pipeline_make(&self->inst, one_dirs, one_attrs));
	ASSERT_EQ(0, pipeline_make(&self->inst, overlay, overlay_attrs));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(2, n[0]);

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/crtc1", self->inst.name);
	EXPECT_EQ(-1, mkdir(path, 0755));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-EBUSY, vrust_instance_set(&self->inst, "plane0/plane_type", "0"));
	EXPECT_EQ(-EBUSY, vrust_instance_set(&self->inst, "plane1/possible_crtcs", "crtc0"));
	EXPECT_EQ(-EBUSY, vrust_instance_set(&self->inst, "crtc0/writeback", "1"));
	EXPECT_EQ(-EBUSY, vrust_instance_set(&self->inst, "encoder0/possible_crtcs", "crtc0"));
	EXPECT_EQ(0, vrust_instance_set(&self->inst, "connector0/status", "3"));

	/* The overlay's directory goes; the live device keeps its plane. */
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/plane1", self->inst.name);
	ASSERT_EQ(0, rmdir(path));
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(2, n[0]);
	vrust_close_fd(&self->fd);
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, false));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(1, n[0]);
	EXPECT_EQ(1, n[1]);
}

/*
 * A connector's status, written while the instance is enabled, reaches a probe and sends a
 * hotplug uevent for the card when it changes (and none when it does not); written while the
 * instance is disabled, it is the status the device starts with.
 */
TEST_F(cfg, connector_status)
{
	char devname[80], node[64];
	drmModeResPtr res;
	__u32 conn;

	ASSERT_EQ(0, pipeline_make(&self->inst, one_dirs, one_attrs));
	ASSERT_EQ(0, vrust_instance_set(&self->inst, "connector0/status", "2"));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(1, res->count_connectors);
	conn = res->connectors[0];
	drmModeFreeResources(res);
	EXPECT_EQ(DRM_MODE_DISCONNECTED, vrust_connector_status(self->fd, conn, NULL));

	ASSERT_EQ(0, vrust_find_node(self->inst.faux, DRM_NODE_PRIMARY, node, sizeof(node)));
	snprintf(devname, sizeof(devname), "dri/%s", node);
	self->ue = vrust_uevent_open();
	ASSERT_LE(0, self->ue) TH_LOG("uevent socket: %s", strerror(-self->ue));

	ASSERT_EQ(0, vrust_instance_set(&self->inst, "connector0/status", "1"));
	EXPECT_TRUE(vrust_hotplug_uevent(self->ue, devname, EVENT_MS));
	EXPECT_EQ(DRM_MODE_CONNECTED, vrust_connector_status(self->fd, conn, NULL));
	ASSERT_EQ(0, vrust_instance_set(&self->inst, "connector0/status", "1\n"));
	EXPECT_FALSE(vrust_hotplug_uevent(self->ue, devname, 300));
	ASSERT_EQ(0, vrust_instance_set(&self->inst, "connector0/status", "3"));
	EXPECT_TRUE(vrust_hotplug_uevent(self->ue, devname, EVENT_MS));
	EXPECT_EQ(DRM_MODE_UNKNOWNCONNECTION, vrust_connector_status(self->fd, conn, NULL));
	/* The instance's "connected" is the default pipeline's: not this connector's. */
	ASSERT_EQ(0, vrust_instance_set(&self->inst, "connected", "0"));
	EXPECT_FALSE(vrust_hotplug_uevent(self->ue, devname, 300));
	EXPECT_EQ(DRM_MODE_UNKNOWNCONNECTION, vrust_connector_status(self->fd, conn, NULL));
}

/*
 * Two encoders that can both drive both CRTCs, and two connectors that can both use both
 * encoders: the layer gives each connector of a commit an encoder of its own, so both pipes
 * light at once, and again with the connectors swapped.
 */
TEST_F(cfg, shared_encoders)
{
	static const char *const dirs[] = {
		"crtc0", "crtc1", "plane0", "plane1", "encoder0", "encoder1",
		"connector0", "connector1", NULL,
	};
	static const struct attr attrs[] = {
		{ "plane0/plane_type", "1" },
		{ "plane0/possible_crtcs", "crtc0" },
		{ "plane1/plane_type", "1" },
		{ "plane1/possible_crtcs", "crtc1" },
		{ "encoder0/possible_crtcs", "crtc0 crtc1" },
		{ "encoder1/possible_crtcs", "crtc1 crtc0" },
		{ "connector0/possible_encoders", "encoder0 encoder1" },
		{ "connector1/possible_encoders", "encoder0 encoder1" },
		{},
	};
	struct output o[2] = {};
	drmModeResPtr res;

	ASSERT_EQ(0, pipeline_make(&self->inst, dirs, attrs));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(2, res->count_connectors);
	for (int i = 0; i < 2; i++) {
		o[i].conn = res->connectors[i];
		o[i].crtc = res->crtcs[i];
		o[i].crtc_index = (__u32)i;
	}
	ASSERT_EQ(0, light(self->fd, o, 2));
	ASSERT_EQ(0, dark(self->fd));
	/* connector0 on crtc1, connector1 on crtc0. */
	for (int i = 0; i < 2; i++) {
		o[i].crtc = res->crtcs[1 - i];
		o[i].crtc_index = (__u32)(1 - i);
	}
	drmModeFreeResources(res);
	ASSERT_EQ(0, light(self->fd, o, 2));
	EXPECT_EQ(0, dark(self->fd));
}

/* The index in @res of the encoder connector @conn is routed through, -1 for none. */
static int encoder_of(int fd, drmModeResPtr res, __u32 conn)
{
	drmModeConnectorPtr c = drmModeGetConnector(fd, conn);
	int index = -1;

	if (!c)
		return -2;
	for (int i = 0; i < res->count_encoders; i++)
		if (res->encoders[i] == c->encoder_id)
			index = i;
	drmModeFreeConnector(c);
	return index;
}

/*
 * Encoder routing as a matching: connector0 may use encoder0 or encoder1, connector1 only
 * encoder0. Lit together, connector0 must leave encoder0 to connector1, even when it held it
 * before. A connector outside the commit keeps its encoder: an atomic commit that needs it is
 * refused, a legacy SETCRTC turns that connector off, as the C core does.
 */
TEST_F(cfg, encoder_matching)
{
	static const char *const dirs[] = {
		"crtc0", "crtc1", "plane0", "plane1", "encoder0", "encoder1",
		"connector0", "connector1", NULL,
	};
	static const struct attr attrs[] = {
		{ "plane0/plane_type", "1" },
		{ "plane0/possible_crtcs", "crtc0" },
		{ "plane1/plane_type", "1" },
		{ "plane1/possible_crtcs", "crtc1" },
		{ "encoder0/possible_crtcs", "crtc0 crtc1" },
		{ "encoder1/possible_crtcs", "crtc0 crtc1" },
		{ "connector0/possible_encoders", "encoder0 encoder1" },
		{ "connector1/possible_encoders", "encoder0" },
		{},
	};
	struct output o[2] = {};
	drmModeConnectorPtr c;
	drmModeResPtr res;

	ASSERT_EQ(0, pipeline_make(&self->inst, dirs, attrs));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(2, res->count_encoders);
	for (int i = 0; i < 2; i++) {
		o[i].conn = res->connectors[i];
		o[i].crtc = res->crtcs[i];
		o[i].crtc_index = (__u32)i;
	}
	/* Both at once: connector0 on encoder1. */
	ASSERT_EQ(0, light(self->fd, o, 2));
	EXPECT_EQ(1, encoder_of(self->fd, res, o[0].conn));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[1].conn));
	ASSERT_EQ(0, dark(self->fd));

	/* connector1 lit first keeps encoder0: connector0 alone gets encoder1. */
	ASSERT_EQ(0, light(self->fd, &o[1], 1));
	EXPECT_EQ(0, light(self->fd, &o[0], 1));
	EXPECT_EQ(1, encoder_of(self->fd, res, o[0].conn));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[1].conn));
	EXPECT_EQ(1, prop_value(self->fd, o[1].crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE"));
	ASSERT_EQ(0, dark(self->fd));

	/* connector0 alone takes encoder0; connector1 alone cannot have it. */
	ASSERT_EQ(0, light(self->fd, &o[0], 1));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[0].conn));
	EXPECT_EQ(-EINVAL, light(self->fd, &o[1], 1));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[0].conn));
	/* With connector0 in the commit, it moves to encoder1. */
	EXPECT_EQ(0, light(self->fd, o, 2));
	EXPECT_EQ(1, encoder_of(self->fd, res, o[0].conn));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[1].conn));
	ASSERT_EQ(0, dark(self->fd));

	/* The legacy SETCRTC takes encoder0 from connector0 and turns crtc0 off. */
	ASSERT_EQ(0, light(self->fd, &o[0], 1));
	c = drmModeGetConnector(self->fd, o[1].conn);
	ASSERT_NE(NULL, c);
	ASSERT_LT(0, c->count_modes);
	EXPECT_EQ(0, drmModeSetCrtc(self->fd, o[1].crtc, o[0].fb.id, 0, 0, &o[1].conn, 1,
				    &c->modes[0]));
	drmModeFreeConnector(c);
	EXPECT_EQ(-1, encoder_of(self->fd, res, o[0].conn));
	EXPECT_EQ(0, encoder_of(self->fd, res, o[1].conn));
	EXPECT_EQ(0, prop_value(self->fd, o[0].crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE"));
	EXPECT_EQ(1, prop_value(self->fd, o[1].crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE"));
	drmModeFreeResources(res);
	EXPECT_EQ(0, dark(self->fd));
}

/*
 * The limits: 31 objects of a kind (a 32nd directory is ENOSPC), and 32 connectors with the
 * writeback ones: 31 CRTCs with writeback and 2 connectors are refused, 1 connector is not.
 */
TEST_F(cfg, limits)
{
	char name[32], list[31 * 8], path[200];
	size_t len = 0;
	int n[4];

	for (int i = 0; i < 31; i++) {
		const char *const dir[] = { name, NULL };

		snprintf(name, sizeof(name), "crtc%d", i);
		ASSERT_EQ(0, pipeline_make(&self->inst, dir, NULL));
		snprintf(path, sizeof(path), "crtc%d/writeback", i);
		ASSERT_EQ(0, vrust_instance_set(&self->inst, path, "1"));
		len += snprintf(list + len, sizeof(list) - len, "%s ", name);
		snprintf(name, sizeof(name), "plane%d", i);
		ASSERT_EQ(0, pipeline_make(&self->inst, dir, NULL));
		snprintf(path, sizeof(path), "plane%d/plane_type", i);
		ASSERT_EQ(0, vrust_instance_set(&self->inst, path, "1"));
		snprintf(path, sizeof(path), "plane%d/possible_crtcs", i);
		snprintf(name, sizeof(name), "crtc%d", i);
		ASSERT_EQ(0, vrust_instance_set(&self->inst, path, name));
	}
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/crtc31", self->inst.name);
	EXPECT_EQ(-1, mkdir(path, 0755));
	EXPECT_EQ(ENOSPC, errno);
	const char *const rest[] = { "encoder0", "connector0", "connector1", NULL };
	const struct attr rest_attrs[] = {
		{ "encoder0/possible_crtcs", list },
		{ "connector0/possible_encoders", "encoder0" },
		{ "connector1/possible_encoders", "encoder0" },
		{},
	};

	ASSERT_EQ(0, pipeline_make(&self->inst, rest, rest_attrs));
	EXPECT_EQ(-EINVAL, vrust_instance_enable(&self->inst, true));
	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/connector1", self->inst.name);
	ASSERT_EQ(0, rmdir(path));
	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(31, n[0]);
	EXPECT_EQ(31, n[1]);
	EXPECT_EQ(32, n[2]);
	EXPECT_EQ(1, n[3]);
}

/*
 * One thread's work in several_threads: its own two-pipe instance, made, lit, unplugged
 * while lit and open, and removed, @rounds times. Returns NULL or a static reason.
 */
static void *pipeline_rounds(void *arg)
{
	int rounds = (int)(long)arg;

	for (int r = 0; r < rounds; r++) {
		struct vrust_instance inst;
		struct output o[2] = {};
		drmModeResPtr res;
		const char *why = NULL;
		int fd;

		vrust_instance_init(&inst);
		if (vrust_instance_mkdir(&inst))
			return "mkdir";
		if (pipeline_make(&inst, two_dirs, two_attrs) ||
		    vrust_instance_enable(&inst, true)) {
			why = "make and enable";
			goto out;
		}
		fd = open_atomic(&inst);
		if (fd < 0) {
			why = "open";
			goto out;
		}
		res = drmModeGetResources(fd);
		for (int i = 0; res && i < 2; i++) {
			o[i].conn = res->connectors[i];
			o[i].crtc = res->crtcs[i];
			o[i].crtc_index = (__u32)i;
		}
		drmModeFreeResources(res);
		if (!res || light(fd, o, 2))
			why = "light";
		if (vrust_instance_set(&inst, "connector1/status", "2"))
			why = "status";
		if (vrust_instance_enable(&inst, false))
			why = "unplug";
		close(fd);
out:
		if (pipeline_remove(&inst) || vrust_instance_destroy(&inst))
			why = why ?: "remove";
		if (why)
			return (void *)why;
	}
	return NULL;
}

/* Four threads make, light, unplug and remove instances of two pipes at once. */
TEST(several_threads)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pipeline_rounds, (void *)3L));
	for (int i = 0; i < 4; i++) {
		void *why;

		ASSERT_EQ(0, pthread_join(t[i], &why));
		EXPECT_EQ(NULL, why) TH_LOG("thread %d: %s", i, (const char *)why);
	}
}

/* The default pipeline, which dark() leaves as it found it: lit and turned off again. */
TEST_F(cfg, default_pipeline)
{
	struct output o = {};
	drmModeResPtr res;
	int n[4];

	ASSERT_EQ(0, vrust_instance_enable(&self->inst, true));
	self->fd = open_atomic(&self->inst);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, counts(self->fd, n));
	EXPECT_EQ(3, n[0]);
	EXPECT_EQ(1, n[1]);
	EXPECT_EQ(2, n[2]);
	EXPECT_EQ(1, n[3]);
	res = drmModeGetResources(self->fd);
	ASSERT_NE(NULL, res);
	o.conn = res->connectors[0];
	o.crtc = res->crtcs[0];
	drmModeFreeResources(res);
	ASSERT_EQ(0, light(self->fd, &o, 1));
	EXPECT_EQ(0, dark(self->fd));
}

TEST_HARNESS_MAIN
