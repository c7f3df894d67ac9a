// SPDX-License-Identifier: GPL-2.0
/*
 * Composition, CRCs and writeback, on vrust and on vkms: through the DRM debugfs CRC interface,
 * the CRC of a frame is stable, changes with a pixel, and a frame composed of planes has the CRC
 * of the same picture drawn into the primary plane alone; through a writeback connector, the
 * frame of a known scene is written out pixel for pixel, and bad jobs are refused.
 *
 * Each test runs on both drivers (the fixture's variants); a driver that is not there skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/sync_file.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

#define W 640
#define H 480

struct pipe {
	int fd;
	__u32 crtc, crtc_index, conn, overlay;
	drmModeModeInfo mode;
	char crc_dir[128];
	int crc_data;
	struct vrust_fb primary;
};

/* The first connected connector, its CRTC, a W x H mode, and the CRC directory. */
static int pipe_open(struct pipe *p, const char *driver, char *why, size_t len)
{
	drmModeResPtr res;
	struct stat st;
	bool found = false;

	memset(p, 0, sizeof(*p));
	p->crc_data = -1;
	p->fd = drm_open_driver(driver, DRM_NODE_PRIMARY);
	if (p->fd < 0) {
		snprintf(why, len, "no %s device", driver);
		return -ENODEV;
	}
	drmSetClientCap(p->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	res = drmModeGetResources(p->fd);
	for (int i = 0; res && i < res->count_connectors && !found; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(p->fd, res->connectors[i]);

		for (int m = 0; c && c->connection == DRM_MODE_CONNECTED && m < c->count_modes;
		     m++) {
			if (c->modes[m].hdisplay == W && c->modes[m].vdisplay == H) {
				p->mode = c->modes[m];
				p->conn = c->connector_id;
				/* The first CRTC: index 0. */
				p->crtc = res->crtcs[0];
				p->crtc_index = 0;
				found = true;
				break;
			}
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	if (!found) {
		snprintf(why, len, "%s has no connected connector with a %dx%d mode", driver, W, H);
		return -ENODEV;
	}
	if (fstat(p->fd, &st))
		return -errno;
	snprintf(p->crc_dir, sizeof(p->crc_dir), "/sys/kernel/debug/dri/%u/crtc-%u/crc",
		 minor(st.st_rdev), p->crtc_index);
	if (access(p->crc_dir, F_OK)) {
		snprintf(why, len, "no CRC directory %s", p->crc_dir);
		return -ENODEV;
	}
	if (vrust_plane_of_type(p->fd, p->crtc_index, DRM_PLANE_TYPE_OVERLAY, &p->overlay))
		p->overlay = 0;
	return 0;
}

static int pipe_on(struct pipe *p, struct vrust_fb *fb)
{
	return drmModeSetCrtc(p->fd, p->crtc, fb->id, 0, 0, &p->conn, 1, &p->mode) ? -errno : 0;
}

static int crc_start(struct pipe *p)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/control", p->crc_dir);
	if (vrust_write_file(path, "auto"))
		return -errno;
	snprintf(path, sizeof(path), "%s/data", p->crc_dir);
	p->crc_data = open(path, O_RDONLY | O_CLOEXEC);
	return p->crc_data < 0 ? -errno : 0;
}

/* Reads one CRC line: "0x<frame> 0x<crc>\n" and a NUL, as the C core writes it. */
#define CRC_LINE 23

static int crc_read(struct pipe *p, __u32 *frame, __u32 *crc)
{
	struct pollfd pfd = { .fd = p->crc_data, .events = POLLIN };
	char line[64] = {};
	ssize_t n;

	/* A CRC every frame: two seconds without one is a driver that stopped. */
	if (poll(&pfd, 1, 2000) != 1)
		return -ETIMEDOUT;
	n = read(p->crc_data, line, CRC_LINE);

	if (n != CRC_LINE)
		return n < 0 ? -errno : -EIO;
	if (sscanf(line, "%x %x", frame, crc) != 2)
		return -EINVAL;
	return 0;
}

/* The CRC of what is on the CRTC now: entries of frames up to the next vblank are dropped (they
 * may show what was there before), then three frames in a row must agree.
 */
static int crc_settled(struct pipe *p, __u32 *crc)
{
	__u32 frame, last = 0, prev_frame = 0, v;
	uint64_t seq, ns;
	int same = 0, n = 0;

	if (drmCrtcGetSequence(p->fd, p->crtc, &seq, &ns))
		return -errno;
	for (int i = 0; i < 120; i++) {
		int ret = crc_read(p, &frame, &v);

		if (ret)
			return ret;
		if (i && frame <= prev_frame)
			return -EPROTO;
		prev_frame = frame;
		/* Frame numbers are the low 32 bits of the vblank count. */
		if ((__s32)(frame - (__u32)(seq + 1)) <= 0)
			continue;
		same = (n++ && v == last) ? same + 1 : 0;
		last = v;
		if (same == 2) {
			*crc = v;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

static void pipe_close(struct pipe *p)
{
	if (p->crc_data >= 0)
		close(p->crc_data);
	if (p->fd >= 0) {
		/* Planes stay on their CRTC across clients: none is left for the next test. */
		drmModeSetCursor(p->fd, p->crtc, 0, 0, 0);
		if (p->overlay)
			drmModeSetPlane(p->fd, p->overlay, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
		drmModeSetCrtc(p->fd, p->crtc, 0, 0, 0, NULL, 0, NULL);
		vrust_fb_free(p->fd, &p->primary);
		close(p->fd);
	}
}

FIXTURE(crc) {
	struct pipe p;
};

FIXTURE_VARIANT(crc) {
	const char *driver;
};

FIXTURE_VARIANT_ADD(crc, vrust) {
	.driver = "vrust",
};

FIXTURE_VARIANT_ADD(crc, vkms) {
	.driver = "vkms",
};

FIXTURE_SETUP(crc)
{
	char why[160];

	if (pipe_open(&self->p, variant->driver, why, sizeof(why))) {
		self->p.fd = -1;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, vrust_fb_make(self->p.fd, W, H, DRM_FORMAT_XRGB8888, &self->p.primary));
	vrust_fb_fill(&self->p.primary, 0, 0, W, H, 0x000000ff);
	ASSERT_EQ(0, pipe_on(&self->p, &self->p.primary));
	ASSERT_EQ(0, crc_start(&self->p));
}

FIXTURE_TEARDOWN(crc)
{
	pipe_close(&self->p);
}

/* The same frame has the same CRC, frame after frame; a pixel changes it; putting it back
 * brings the CRC back. Frame numbers go up.
 */
TEST_F(crc, stable_and_sensitive)
{
	__u32 a, b, c;

	ASSERT_EQ(0, crc_settled(&self->p, &a));
	*vrust_fb_px(&self->p.primary, 321, 123) = 0x000000fe;
	ASSERT_EQ(0, crc_settled(&self->p, &b));
	EXPECT_NE(a, b);
	*vrust_fb_px(&self->p.primary, 321, 123) = 0x000000ff;
	ASSERT_EQ(0, crc_settled(&self->p, &c));
	EXPECT_EQ(a, c);
}

/* Every frame has its CRC: consecutive frame numbers. */
TEST_F(crc, consecutive_frames)
{
	__u32 frame, prev, v;

	ASSERT_EQ(0, crc_read(&self->p, &prev, &v));
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(0, crc_read(&self->p, &frame, &v));
		ASSERT_EQ(prev + 1, frame);
		prev = frame;
	}
}

/* The composed frame has the CRC of the same picture drawn into the primary plane: an opaque
 * overlay, a half-transparent (premultiplied) overlay, and a cursor.
 */
static void composition_matches(struct __test_metadata *_metadata, struct pipe *p, __u32 over_px,
				__u32 expect_px)
{
	struct vrust_fb over = {}, ref = {}, cursor = {};
	__u32 composed, drawn;

	if (!p->overlay)
		SKIP(return, "no overlay plane");
	ASSERT_EQ(0, vrust_fb_make(p->fd, 64, 64, DRM_FORMAT_ARGB8888, &over));
	vrust_fb_fill(&over, 0, 0, 64, 64, over_px);
	ASSERT_EQ(0, vrust_fb_make(p->fd, 32, 32, DRM_FORMAT_ARGB8888, &cursor));
	vrust_fb_fill(&cursor, 0, 0, 32, 32, 0xff00ff00);
	vrust_fb_fill(&cursor, 0, 0, 16, 32, 0x00000000);
	ASSERT_EQ(0, drmModeSetPlane(p->fd, p->overlay, p->crtc, over.id, 0, 100, 50, 64, 64,
				     0, 0, 64 << 16, 64 << 16));
	ASSERT_EQ(0, drmModeSetCursor(p->fd, p->crtc, cursor.handle, 32, 32));
	ASSERT_EQ(0, drmModeMoveCursor(p->fd, p->crtc, 600, 400));
	ASSERT_EQ(0, crc_settled(p, &composed));

	/* The same picture, drawn: blue, the overlay's square, the cursor's right half. */
	ASSERT_EQ(0, vrust_fb_make(p->fd, W, H, DRM_FORMAT_XRGB8888, &ref));
	vrust_fb_fill(&ref, 0, 0, W, H, 0x000000ff);
	vrust_fb_fill(&ref, 100, 50, 64, 64, expect_px);
	vrust_fb_fill(&ref, 616, 400, 16, 32, 0x0000ff00);
	ASSERT_EQ(0, drmModeSetPlane(p->fd, p->overlay, p->crtc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	ASSERT_EQ(0, drmModeSetCursor(p->fd, p->crtc, 0, 0, 0));
	ASSERT_EQ(0, drmModeSetCrtc(p->fd, p->crtc, ref.id, 0, 0, &p->conn, 1, &p->mode));
	ASSERT_EQ(0, crc_settled(p, &drawn));
	EXPECT_EQ(drawn, composed);

	drmModeSetCrtc(p->fd, p->crtc, p->primary.id, 0, 0, &p->conn, 1, &p->mode);
	vrust_fb_free(p->fd, &over);
	vrust_fb_free(p->fd, &ref);
	vrust_fb_free(p->fd, &cursor);
}

TEST_F(crc, opaque_planes)
{
	composition_matches(_metadata, &self->p, 0xffff0000, 0x00ff0000);
}

/* Premultiplied red at half alpha over blue: 0x80 red, blue * 127 / 255. */
TEST_F(crc, alpha_planes)
{
	composition_matches(_metadata, &self->p, 0x80800000, 0x0080007f);
}

/* An unknown source name is refused, and the source still works. */
TEST_F(crc, bad_source)
{
	char path[160];
	__u32 v;

	/* While a reader has the data open, the C core refuses any change. */
	snprintf(path, sizeof(path), "%s/control", self->p.crc_dir);
	EXPECT_NE(0, vrust_write_file(path, "auto"));
	close(self->p.crc_data);
	self->p.crc_data = -1;
	/* The driver's check: only "auto". */
	EXPECT_EQ(-EINVAL, vrust_write_file(path, "bogus"));
	ASSERT_EQ(0, crc_start(&self->p));
	EXPECT_EQ(0, crc_settled(&self->p, &v));
}

/* Writeback: the composed frame written into a framebuffer, its out-fence signalled. */

struct wb {
	struct pipe p;
	__u32 wb_conn, primary_plane, mode_blob;
	/* vkms: a job queued right after a fence signals can be lost (below). */
	bool loses_jobs;
};

/* Routes the CRTC to the writeback connector alone, showing `fb` on the primary plane, with
 * `out` (if any) as the writeback framebuffer and `fence` its out-fence.
 */
static int wb_commit(struct wb *w, struct vrust_fb *fb, struct vrust_fb *out, int *fence)
{
	int fd = w->p.fd, ret = 0;
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	const __u32 C = DRM_MODE_OBJECT_CONNECTOR, P = DRM_MODE_OBJECT_PLANE;

	ret |= vrust_atomic_add(fd, req, w->p.conn, C, "CRTC_ID", 0);
	ret |= vrust_atomic_add(fd, req, w->wb_conn, C, "CRTC_ID", w->p.crtc);
	ret |= vrust_atomic_add(fd, req, w->p.crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", w->mode_blob);
	ret |= vrust_atomic_add(fd, req, w->p.crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "FB_ID", fb->id);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "CRTC_ID", w->p.crtc);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "SRC_W", (__u64)W << 16);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "SRC_H", (__u64)H << 16);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "CRTC_W", W);
	ret |= vrust_atomic_add(fd, req, w->primary_plane, P, "CRTC_H", H);
	if (out) {
		ret |= vrust_atomic_add(fd, req, w->wb_conn, C, "WRITEBACK_FB_ID", out->id);
		ret |= vrust_atomic_add(fd, req, w->wb_conn, C, "WRITEBACK_OUT_FENCE_PTR",
			   (__u64)(uintptr_t)fence);
	}
	if (!ret)
		ret = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL) ?
		      -errno : 0;
	drmModeAtomicFree(req);
	return ret;
}

/* Waits for an out-fence: 1 when it signalled without an error, the error, or -ETIMEDOUT. */
static int fence_wait(int fence, int ms)
{
	struct pollfd pfd = { .fd = fence, .events = POLLIN };
	struct sync_file_info info = {};
	int ret = poll(&pfd, 1, ms);

	if (ret != 1)
		return ret == 0 ? -ETIMEDOUT : -errno;
	if (ioctl(fence, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	return info.status;
}

/*
 * vkms signals a writeback job's fence before it clears its "writeback pending" state, and a
 * job that a commit queues in between is never composed: its fence never signals, and every
 * later job of that CRTC waits behind it (a bug of vkms's, vkms_composer_worker()). Before the
 * next job on vkms, wait for a vblank, after which that state is clear.
 */
static void wb_settle(struct wb *w)
{
	drmVBlank vbl = {
		.request = {
			.type = DRM_VBLANK_RELATIVE |
				((w->p.crtc_index << DRM_VBLANK_HIGH_CRTC_SHIFT) &
				 DRM_VBLANK_HIGH_CRTC_MASK),
			.sequence = 1,
		},
	};

	if (w->loses_jobs)
		drmWaitVBlank(w->p.fd, &vbl);
}

FIXTURE(wb) {
	struct wb w;
};

FIXTURE_VARIANT(wb) {
	const char *driver;
};

FIXTURE_VARIANT_ADD(wb, vrust) {
	.driver = "vrust",
};

FIXTURE_VARIANT_ADD(wb, vkms) {
	.driver = "vkms",
};

FIXTURE_SETUP(wb)
{
	char why[160];
	drmModeResPtr res;

	self->w.wb_conn = 0;
	self->w.loses_jobs = !strcmp(variant->driver, "vkms");
	if (pipe_open(&self->w.p, variant->driver, why, sizeof(why))) {
		self->w.p.fd = -1;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, drmSetClientCap(self->w.p.fd, DRM_CLIENT_CAP_ATOMIC, 1));
	ASSERT_EQ(0, drmSetClientCap(self->w.p.fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1));
	res = drmModeGetResources(self->w.p.fd);
	for (int i = 0; res && i < res->count_connectors; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(self->w.p.fd, res->connectors[i]);

		if (c && c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK && !self->w.wb_conn)
			self->w.wb_conn = c->connector_id;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	if (!self->w.wb_conn)
		SKIP(return, "%s has no writeback connector", variant->driver);
	ASSERT_EQ(0, vrust_plane_of_type(self->w.p.fd, self->w.p.crtc_index, DRM_PLANE_TYPE_PRIMARY,
					 &self->w.primary_plane));
	ASSERT_EQ(0, drmModeCreatePropertyBlob(self->w.p.fd, &self->w.p.mode,
					       sizeof(self->w.p.mode), &self->w.mode_blob));
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_XRGB8888, &self->w.p.primary));
}

static int set_gamma(struct wb *w, int n, __u16 (*f)(int i, int n));

FIXTURE_TEARDOWN(wb)
{
	/* A gamma table outlives the client: none is left for the next one. */
	if (self->w.wb_conn)
		set_gamma(&self->w, 0, NULL);
	pipe_close(&self->w.p);
}

/* 0 or 0xff per channel, in 8x8 blocks: blends of these with half alpha are exact at 8 and
 * at 16 bits, so every driver must give the same bytes.
 */
static __u32 pattern(__u32 x, __u32 y)
{
	__u32 k = (x / 8 + y / 8) % 8;

	return (k & 4 ? 0xff0000 : 0) | (k & 2 ? 0xff00 : 0) | (k & 1 ? 0xff : 0);
}

/* The pattern moved by one block: what the job's own commit shows. */
static __u32 pattern2(__u32 x, __u32 y)
{
	return pattern(x + 8, y);
}

static __u32 blend_half_red(__u32 d)
{
	/* Premultiplied 0x80800000 over d: 0x80 + c * 127 / 255 for red, c * 127 / 255 else. */
	__u32 r = 0x80 + ((d >> 16) & 0xff) * 127 / 255, g = ((d >> 8) & 0xff) * 127 / 255;
	__u32 b = (d & 0xff) * 127 / 255;

	return (r << 16) | (g << 8) | b;
}

/* A known scene: the pattern, a half-transparent overlay, a cursor half transparent; the
 * writeback frame equals its composition, pixel by pixel.
 */
TEST_F(wb, frame_matches_scene)
{
	struct vrust_fb out = {}, over = {}, cursor = {}, flip = {};
	int fence = -1, bad = 0;
	__u32 first_x = 0, first_y = 0, got = 0, want = 0;

	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			*vrust_fb_px(&self->w.p.primary, x, y) = pattern(x, y);
	ASSERT_EQ(0, wb_commit(&self->w, &self->w.p.primary, NULL, NULL));
	if (self->w.p.overlay) {
		ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, 64, 64, DRM_FORMAT_ARGB8888, &over));
		vrust_fb_fill(&over, 0, 0, 64, 64, 0x80800000);
		ASSERT_EQ(0, drmModeSetPlane(self->w.p.fd, self->w.p.overlay, self->w.p.crtc,
					     over.id, 0, 100, 50, 64, 64, 0, 0, 64 << 16,
					     64 << 16));
	}
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, 32, 32, DRM_FORMAT_ARGB8888, &cursor));
	vrust_fb_fill(&cursor, 0, 0, 32, 32, 0xff00ff00);
	vrust_fb_fill(&cursor, 0, 0, 16, 32, 0x00000000);
	ASSERT_EQ(0, drmModeSetCursor(self->w.p.fd, self->w.p.crtc, cursor.handle, 32, 32));
	ASSERT_EQ(0, drmModeMoveCursor(self->w.p.fd, self->w.p.crtc, 600, 400));

	/* The job's commit flips the primary plane: the frame must be of this commit. */
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_XRGB8888, &flip));
	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			*vrust_fb_px(&flip, x, y) = pattern2(x, y);
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_XRGB8888, &out));
	vrust_fb_fill(&out, 0, 0, W, H, 0x00123456);
	ASSERT_EQ(0, wb_commit(&self->w, &flip, &out, &fence));
	ASSERT_LE(0, fence);
	ASSERT_EQ(1, fence_wait(fence, 2000));
	close(fence);

	for (__u32 y = 0; y < H; y++) {
		for (__u32 x = 0; x < W; x++) {
			__u32 e = pattern2(x, y);

			if (self->w.p.overlay && x >= 100 && x < 164 && y >= 50 && y < 114)
				e = blend_half_red(e);
			if (x >= 616 && x < 632 && y >= 400 && y < 432)
				e = 0x00ff00;
			if ((*vrust_fb_px(&out, x, y) & 0xffffff) != e && !bad++) {
				first_x = x;
				first_y = y;
				got = *vrust_fb_px(&out, x, y);
				want = e;
			}
		}
	}
	if (bad)
		TH_LOG("%d pixels differ; the first at (%u, %u): %#x, not %#x", bad, first_x,
		       first_y, got, want);
	EXPECT_EQ(0, bad);
	vrust_fb_free(self->w.p.fd, &out);
	vrust_fb_free(self->w.p.fd, &over);
	vrust_fb_free(self->w.p.fd, &cursor);
	vrust_fb_free(self->w.p.fd, &flip);
}

/* A job in the commit that turns the CRTC on gets that commit's first frame. */
TEST_F(wb, job_in_modeset)
{
	struct vrust_fb out = {};
	int fence = -1, bad = 0;

	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			*vrust_fb_px(&self->w.p.primary, x, y) = pattern(x, y);
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_XRGB8888, &out));
	ASSERT_EQ(0, wb_commit(&self->w, &self->w.p.primary, &out, &fence));
	ASSERT_EQ(1, fence_wait(fence, 2000));
	close(fence);
	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			bad += (*vrust_fb_px(&out, x, y) & 0xffffff) != pattern(x, y);
	EXPECT_EQ(0, bad);
	vrust_fb_free(self->w.p.fd, &out);
}

/* Sets the CRTC's GAMMA_LUT to a blob of @n entries, each @f(i) on every channel (@n 0: none),
 * in an atomic commit of its own. Returns 0 or -errno.
 */
static int set_gamma(struct wb *w, int n, __u16 (*f)(int i, int n))
{
	struct drm_color_lut lut[256];
	drmModeAtomicReqPtr req;
	__u32 blob = 0;
	int ret;

	for (int i = 0; i < n; i++)
		lut[i] = (struct drm_color_lut){
			.red = f(i, n), .green = f(i, n), .blue = f(i, n),
		};
	if (n && drmModeCreatePropertyBlob(w->p.fd, lut, n * sizeof(lut[0]), &blob))
		return -errno;
	req = drmModeAtomicAlloc();
	ret = vrust_atomic_add(w->p.fd, req, w->p.crtc, DRM_MODE_OBJECT_CRTC, "GAMMA_LUT", blob);
	if (!ret && drmModeAtomicCommit(w->p.fd, req, 0, NULL))
		ret = -errno;
	drmModeAtomicFree(req);
	if (blob)
		drmModeDestroyPropertyBlob(w->p.fd, blob);
	return ret;
}

static __u16 lut_invert(int i, int n)
{
	return 0xffff - i * 0xffff / (n - 1);
}

/* The frame of the pattern through the writeback connector: the pixels that differ from
 * @expect(pattern).
 */
static int wb_frame_diff(struct __test_metadata *_metadata, struct wb *w, __u32 (*expect)(__u32))
{
	struct vrust_fb out = {};
	int fence = -1, bad = 0;

	if (vrust_fb_make(w->p.fd, W, H, DRM_FORMAT_XRGB8888, &out))
		return -1;
	EXPECT_EQ(0, wb_commit(w, &w->p.primary, &out, &fence));
	EXPECT_EQ(1, fence_wait(fence, 2000));
	close(fence);
	wb_settle(w);
	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			bad += (*vrust_fb_px(&out, x, y) & 0xffffff) != expect(pattern(x, y));
	vrust_fb_free(w->p.fd, &out);
	return bad;
}

static __u32 inverted(__u32 c)
{
	return ~c & 0xffffff;
}

static __u32 same(__u32 c)
{
	return c;
}

/*
 * The CRTC's gamma table applies to the composed frame: an inverting table of 256 entries, and
 * one of 2 (interpolated between), invert the pattern; the legacy gamma ioctl sets the table
 * too; no table, or a blob that is not a whole number of entries, is refused or changes
 * nothing. The table is removed at the end: it outlives the client.
 */
TEST_F(wb, gamma)
{
	__u16 r[256], g[256], b[256];
	drmModeCrtcPtr c = drmModeGetCrtc(self->w.p.fd, self->w.p.crtc);
	drmModeAtomicReqPtr req;
	__u32 blob;

	ASSERT_NE(NULL, c);
	EXPECT_EQ(256, c->gamma_size);
	drmModeFreeCrtc(c);
	for (__u32 y = 0; y < H; y++)
		for (__u32 x = 0; x < W; x++)
			*vrust_fb_px(&self->w.p.primary, x, y) = pattern(x, y);
	ASSERT_EQ(0, set_gamma(&self->w, 256, lut_invert));
	EXPECT_EQ(0, wb_frame_diff(_metadata, &self->w, inverted));
	ASSERT_EQ(0, set_gamma(&self->w, 2, lut_invert));
	EXPECT_EQ(0, wb_frame_diff(_metadata, &self->w, inverted));

	/* Legacy gamma: the identity, through the C core's GAMMA_LUT. */
	for (int i = 0; i < 256; i++) {
		r[i] = i * 257;
		g[i] = i * 257;
		b[i] = i * 257;
	}
	ASSERT_EQ(0, drmModeCrtcSetGamma(self->w.p.fd, self->w.p.crtc, 256, r, g, b));
	EXPECT_EQ(0, wb_frame_diff(_metadata, &self->w, same));

	/* 12 bytes: not a whole number of entries. */
	ASSERT_EQ(0, drmModeCreatePropertyBlob(self->w.p.fd, r, 12, &blob));
	req = drmModeAtomicAlloc();
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.p.crtc, DRM_MODE_OBJECT_CRTC,
				      "GAMMA_LUT", blob));
	EXPECT_EQ(-EINVAL, drmModeAtomicCommit(self->w.p.fd, req, 0, NULL));
	drmModeAtomicFree(req);
	drmModeDestroyPropertyBlob(self->w.p.fd, blob);

	ASSERT_EQ(0, set_gamma(&self->w, 0, NULL));
	EXPECT_EQ(0, wb_frame_diff(_metadata, &self->w, same));
}

/* Jobs one after the other each get a frame; a job whose CRTC goes off at once still signals
 * its fence (done, or with an error).
 */
TEST_F(wb, jobs_in_a_row_and_disable)
{
	struct vrust_fb out = {};
	int fence = -1, ret;
	drmModeAtomicReqPtr req;

	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_XRGB8888, &out));
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, wb_commit(&self->w, &self->w.p.primary, &out, &fence));
		ASSERT_EQ(1, fence_wait(fence, 2000));
		close(fence);
		wb_settle(&self->w);
	}
	ASSERT_EQ(0, wb_commit(&self->w, &self->w.p.primary, &out, &fence));
	req = drmModeAtomicAlloc();
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.wb_conn,
				      DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0));
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.primary_plane,
				      DRM_MODE_OBJECT_PLANE, "FB_ID", 0));
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.primary_plane,
				      DRM_MODE_OBJECT_PLANE, "CRTC_ID", 0));
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.p.crtc, DRM_MODE_OBJECT_CRTC,
				      "ACTIVE", 0));
	ASSERT_EQ(0, vrust_atomic_add(self->w.p.fd, req, self->w.p.crtc, DRM_MODE_OBJECT_CRTC,
				      "MODE_ID", 0));
	ASSERT_EQ(0, drmModeAtomicCommit(self->w.p.fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL));
	drmModeAtomicFree(req);
	ret = fence_wait(fence, 2000);
	EXPECT_NE(-ETIMEDOUT, ret);
	EXPECT_NE(0, ret);
	close(fence);
	vrust_fb_free(self->w.p.fd, &out);
}

/* Bad jobs are refused at the check: a framebuffer of the wrong size, a format the
 * connector does not write (RGB888, which the planes read).
 */
TEST_F(wb, bad_jobs)
{
	struct vrust_fb small = {}, rgb888 = {};
	int fence = -1;

	ASSERT_EQ(0, wb_commit(&self->w, &self->w.p.primary, NULL, NULL));
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W / 2, H / 2, DRM_FORMAT_XRGB8888, &small));
	EXPECT_EQ(-EINVAL, wb_commit(&self->w, &self->w.p.primary, &small, &fence));
	ASSERT_EQ(0, vrust_fb_make(self->w.p.fd, W, H, DRM_FORMAT_RGB888, &rgb888));
	EXPECT_EQ(-EINVAL, wb_commit(&self->w, &self->w.p.primary, &rgb888, &fence));

	vrust_fb_free(self->w.p.fd, &small);
	vrust_fb_free(self->w.p.fd, &rgb888);
}

TEST_HARNESS_MAIN
