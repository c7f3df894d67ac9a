// SPDX-License-Identifier: GPL-2.0
/*
 * Composition of the sample driver against vkms, run by make bench: the time the kernel takes
 * to compose a 1920x1080 frame into each driver's writeback connector, and the frames per
 * second a client gets that way, in the same boot.
 *
 * Each driver gets a pipe of a primary plane, an overlay and a cursor with a writeback
 * connector: the sample's default instance, and a vkms device made through vkms's configfs
 * (vkms's default device has no overlay). The mode is 1920x1080 at BENCH_HZ, so that a vblank
 * comes every millisecond or so and a frame's time is its composition: each job is one atomic
 * commit that queues a writeback job, which the driver fills at the next vblank by composing
 * the planes, and the out-fence that says the frame is there. A job's composition time is
 * measured in the kernel: from the vblank that starts it (the timestamp of the commit's vblank
 * event) to the signalling of the out-fence (its timestamp, from SYNC_IOC_FILE_INFO), both
 * CLOCK_MONOTONIC: the worker's wake-up, the composition, the conversion to the writeback
 * format and the fence, and none of the ioctls. Both drivers arm the event when the commit is
 * flushed and queue the job just after, so a vblank in between makes the job one vblank (1 ms)
 * later than its event; the rare job taken before its event's vblank is not counted.
 *
 * Between jobs the client waits for the driver to be idle: vkms keeps composing (for its CRC)
 * from a writeback commit until the job is cleaned up, one more frame after the fence, and a job
 * queued behind that frame would be timed with it; vkms also loses a job queued between its
 * fence and the end of its "writeback pending" state. So after each fence both drivers get as
 * many vblanks as the last frame took, and two more.
 *
 * Scenes, each in XRGB8888 and ARGB8888 (the primary plane and the overlay in that format, the
 * cursor ARGB8888): no plane (the background), the 1920x1080 primary plane, with a 1280x720
 * overlay, and with a 64x64 cursor on top, the overlay's pixels half transparent. The frame is
 * written as XRGB8888; the XRGB8888 overlay is opaque (its alpha is ignored), the ARGB8888 one
 * blended. The drivers, scenes and formats are interleaved round by round. Per driver, scene and
 * format, the median composition time over all frames of all rounds is printed with the 10th to
 * 90th percentile, and the ratio vkms/sample of the medians (above 1: the sample is faster);
 * then the best round's jobs per second with the range over rounds. The scenes tell where the
 * time goes: no plane is the floor (the background and the frame written out), and each other
 * scene adds one plane. vkms composes in 16 bits per channel, the sample in 8 where every plane
 * and the output are 8-bit formats.
 *
 * Usage: drm_compose_bench [SAMPLE_DRIVER]   (default vrust)
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <linux/sync_file.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define W		1920
#define H		1080
#define BENCH_HZ	1000
#define ROUNDS		5
#define JOBS		20
#define SCENES		4
#define FORMATS		2

/* The vkms device of the benchmark, made through vkms's configfs. */
#define VKMS_CONFIGFS	"/sys/kernel/config/vkms"
#define VKMS_DEV	"vkms_bench"

static const char *const scene_names[SCENES] = { "no plane", "primary", "+overlay", "+cursor" };
static const __u32 formats[FORMATS] = { DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888 };
static const char *const format_names[FORMATS] = { "XRGB8888", "ARGB8888" };

/* A driver's pipe: its objects, framebuffers per format, and the mode. */
struct pipe {
	const char *name;
	int fd;
	__u32 crtc, wb, planes[3], blob;
	struct vrust_fb fbs[FORMATS][2], cursor, out;
	double fps[SCENES][FORMATS][ROUNDS];
	double ms[SCENES][FORMATS][ROUNDS * JOBS];
	int n[SCENES][FORMATS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int vkms_write(const char *rel, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), VKMS_CONFIGFS "/" VKMS_DEV "/%s", rel);
	return vrust_write_file(path, value);
}

static int vkms_mkdir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), VKMS_CONFIGFS "/" VKMS_DEV "%s%s", *rel ? "/" : "", rel);
	return mkdir(path, 0755) ? -errno : 0;
}

static int vkms_link(const char *from, const char *to)
{
	char src[256], dst[256];

	snprintf(src, sizeof(src), VKMS_CONFIGFS "/" VKMS_DEV "/%s", to);
	snprintf(dst, sizeof(dst), VKMS_CONFIGFS "/" VKMS_DEV "/%s", from);
	return symlink(src, dst) ? -errno : 0;
}

/* The vkms device: planes 0 to 2 primary, overlay and cursor, a CRTC with writeback. */
static int vkms_make(void)
{
	static const char *const dirs[] = {
		"", "planes/primary", "planes/overlay", "planes/cursor", "crtcs/crtc",
		"encoders/encoder", "connectors/connector",
	};
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !ret; i++)
		ret = vkms_mkdir(dirs[i]);
	ret = ret ?: vkms_write("planes/primary/type", "1");
	ret = ret ?: vkms_write("planes/overlay/type", "0");
	ret = ret ?: vkms_write("planes/cursor/type", "2");
	ret = ret ?: vkms_write("crtcs/crtc/writeback", "1");
	ret = ret ?: vkms_link("planes/primary/possible_crtcs/crtc", "crtcs/crtc");
	ret = ret ?: vkms_link("planes/overlay/possible_crtcs/crtc", "crtcs/crtc");
	ret = ret ?: vkms_link("planes/cursor/possible_crtcs/crtc", "crtcs/crtc");
	ret = ret ?: vkms_link("encoders/encoder/possible_crtcs/crtc", "crtcs/crtc");
	ret = ret ?: vkms_link("connectors/connector/possible_encoders/encoder",
			       "encoders/encoder");
	return ret ?: vkms_write("enabled", "1");
}

static void vkms_remove(void)
{
	static const char *const links[] = {
		"planes/primary/possible_crtcs/crtc", "planes/overlay/possible_crtcs/crtc",
		"planes/cursor/possible_crtcs/crtc", "encoders/encoder/possible_crtcs/crtc",
		"connectors/connector/possible_encoders/encoder",
	};
	static const char *const dirs[] = {
		"planes/primary", "planes/overlay", "planes/cursor", "crtcs/crtc",
		"encoders/encoder", "connectors/connector", "",
	};
	char path[256];

	vkms_write("enabled", "0");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), VKMS_CONFIGFS "/" VKMS_DEV "/%s", links[i]);
		unlink(path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), VKMS_CONFIGFS "/" VKMS_DEV "%s%s", *dirs[i] ? "/" : "",
			 dirs[i]);
		rmdir(path);
	}
}

/* 1920x1080 with CEA-861 blanking at BENCH_HZ. */
static drmModeModeInfo bench_mode(void)
{
	drmModeModeInfo m = {
		.hdisplay = W, .hsync_start = 2008, .hsync_end = 2052, .htotal = 2200,
		.vdisplay = H, .vsync_start = 1084, .vsync_end = 1089, .vtotal = 1125,
		.vrefresh = BENCH_HZ,
		.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC,
		.type = DRM_MODE_TYPE_USERDEF,
	};

	m.clock = 2200u * 1125u / 1000u * BENCH_HZ;
	snprintf(m.name, sizeof(m.name), "%ux%u@%u", W, H, BENCH_HZ);
	return m;
}

static int plane_to(int fd, drmModeAtomicReqPtr req, __u32 plane, __u32 crtc,
		    const struct vrust_fb *fb, __u32 w, __u32 h, int x, int y)
{
	const __u32 P = DRM_MODE_OBJECT_PLANE;
	int ret = 0;

	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "FB_ID", fb ? fb->id : 0);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "CRTC_ID", fb ? crtc : 0);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "SRC_W", (__u64)w << 16);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "SRC_H", (__u64)h << 16);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "CRTC_X", x);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "CRTC_Y", y);
	ret = ret ?: vrust_atomic_add(fd, req, plane, P, "CRTC_W", w);
	return ret ?: vrust_atomic_add(fd, req, plane, P, "CRTC_H", h);
}

/* Opens the driver's node, finds its pipe, makes the framebuffers. */
static int pipe_open(struct pipe *p, int fd)
{
	static const __u64 types[3] = { DRM_PLANE_TYPE_PRIMARY, DRM_PLANE_TYPE_OVERLAY,
					DRM_PLANE_TYPE_CURSOR };
	drmModeModeInfo mode = bench_mode();
	drmModeResPtr res;
	int ret = 0;

	p->fd = fd;
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) ||
	    drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1))
		return -errno;
	res = drmModeGetResources(fd);
	if (!res)
		return -errno;
	p->crtc = res->crtcs[0];
	for (int i = 0; i < res->count_connectors && !p->wb; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(fd, res->connectors[i]);

		if (c && c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK)
			p->wb = c->connector_id;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	if (!p->wb)
		return -ENODEV;
	for (int i = 0; i < 3 && !ret; i++)
		ret = vrust_plane_of_type(fd, 0, types[i], &p->planes[i]);
	for (int f = 0; f < FORMATS && !ret; f++) {
		ret = vrust_fb_make(fd, W, H, formats[f], &p->fbs[f][0]);
		ret = ret ?: vrust_fb_make(fd, 1280, 720, formats[f], &p->fbs[f][1]);
		if (ret)
			break;
		for (__u32 y = 0; y < H; y++)
			for (__u32 x = 0; x < W; x++)
				*vrust_fb_px(&p->fbs[f][0], x, y) = 0xff000000u |
								   (x * 255 / W) << 16 |
								   (y * 255 / H) << 8 | 0x60;
		/* Half transparent, premultiplied: 50% of a blue-grey. */
		vrust_fb_fill(&p->fbs[f][1], 0, 0, 1280, 720, 0x80204060u);
	}
	ret = ret ?: vrust_fb_make(fd, 64, 64, DRM_FORMAT_ARGB8888, &p->cursor);
	ret = ret ?: vrust_fb_make(fd, W, H, DRM_FORMAT_XRGB8888, &p->out);
	if (ret)
		return ret;
	vrust_fb_fill(&p->cursor, 0, 0, 64, 64, 0xc0c0c0c0u);
	if (drmModeCreatePropertyBlob(fd, &mode, sizeof(mode), &p->blob))
		return -errno;
	return 0;
}

/* Waits for the @n-th next vblank of the first CRTC. */
static int wait_vblanks(int fd, __u64 n)
{
	drmVBlank vbl = { .request = { .type = DRM_VBLANK_RELATIVE, .sequence = (unsigned int)n } };

	return drmWaitVBlank(fd, &vbl);
}

/* The signalling time of the one fence of sync file @fd, in nanoseconds of CLOCK_MONOTONIC. */
static int fence_time_ns(int fd, __u64 *ns)
{
	struct sync_fence_info fence = { 0 };
	struct sync_file_info info = {
		.num_fences = 1, .sync_fence_info = (__u64)(uintptr_t)&fence,
	};

	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	if (info.num_fences != 1 || fence.status != 1)
		return -EPROTO;
	*ns = fence.timestamp_ns;
	return 0;
}

/* Reads the vblank event of a commit from @fd: its vblank's time in nanoseconds. */
static int event_time_ns(int fd, __u64 *ns)
{
	struct drm_event_vblank ev;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, 10000) != 1)
		return -ETIMEDOUT;
	if (read(fd, &ev, sizeof(ev)) != sizeof(ev))
		return -EIO;
	if (ev.base.type != DRM_EVENT_FLIP_COMPLETE)
		return -EPROTO;
	*ns = ev.tv_sec * 1000000000ull + ev.tv_usec * 1000ull;
	return 0;
}

/*
 * Shows @scene in format @f, CRTC on; then runs JOBS writeback jobs: jobs per second, and
 * the composition time of each counted job in milliseconds appended to @ms, counted in @n.
 */
static int run(struct pipe *p, int scene, int f, double *fps, double *ms, int *n)
{
	const __u32 C = DRM_MODE_OBJECT_CONNECTOR;
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	int fd = p->fd, ret = 0;
	double t0;

	ret = ret ?: vrust_atomic_add(fd, req, p->wb, C, "CRTC_ID", p->crtc);
	ret = ret ?: vrust_atomic_add(fd, req, p->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", p->blob);
	ret = ret ?: vrust_atomic_add(fd, req, p->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	ret = ret ?: plane_to(fd, req, p->planes[0], p->crtc, scene >= 1 ? &p->fbs[f][0] : NULL,
			      W, H, 0, 0);
	ret = ret ?: plane_to(fd, req, p->planes[1], p->crtc, scene >= 2 ? &p->fbs[f][1] : NULL,
			      1280, 720, 320, 180);
	ret = ret ?: plane_to(fd, req, p->planes[2], p->crtc, scene >= 3 ? &p->cursor : NULL,
			      64, 64, 900, 500);
	if (!ret && drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		ret = -errno;
	drmModeAtomicFree(req);
	if (ret)
		return ret;
	t0 = now_s();
	for (int j = 0; j < JOBS && !ret; j++) {
		__u64 start = 0, end = 0;
		int fence = -1;
		struct pollfd pfd;

		/* The connector's CRTC comes into the commit with it, for the vblank event. */
		req = drmModeAtomicAlloc();
		ret = vrust_atomic_add(fd, req, p->wb, C, "WRITEBACK_FB_ID", p->out.id);
		ret = ret ?: vrust_atomic_add(fd, req, p->wb, C, "WRITEBACK_OUT_FENCE_PTR",
					      (__u64)(uintptr_t)&fence);
		if (!ret && drmModeAtomicCommit(fd, req, DRM_MODE_PAGE_FLIP_EVENT, NULL))
			ret = -errno;
		drmModeAtomicFree(req);
		if (ret)
			break;
		pfd = (struct pollfd){ .fd = fence, .events = POLLIN };
		if (poll(&pfd, 1, 10000) != 1)
			ret = -ETIMEDOUT;
		ret = ret ?: fence_time_ns(fence, &end);
		ret = ret ?: event_time_ns(fd, &start);
		close(fence);
		if (!ret && end >= start)
			ms[(*n)++] = (end - start) / 1e6;
		/* Idle: as many vblanks as this frame took, and two more. */
		if (!ret && wait_vblanks(fd, (end > start ? (end - start) / 1000000 : 0) + 2))
			ret = -errno;
	}
	*fps = JOBS / (now_s() - t0);
	return ret;
}

/* Everything off: the display outlives this client. */
static void pipe_off(struct pipe *p)
{
	drmModeAtomicReqPtr req = drmModeAtomicAlloc();
	int ret = 0;

	ret = ret ?: vrust_atomic_add(p->fd, req, p->wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	ret = ret ?: vrust_atomic_add(p->fd, req, p->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
	ret = ret ?: vrust_atomic_add(p->fd, req, p->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	for (int i = 0; i < 3 && !ret; i++)
		ret = plane_to(p->fd, req, p->planes[i], p->crtc, NULL, 0, 0, 0, 0);
	if (ret || drmModeAtomicCommit(p->fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		fprintf(stderr, "drm_compose_bench: %s: turning the display off failed\n", p->name);
	drmModeAtomicFree(req);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct pipe pipes[2] = { { .name = argc > 1 ? argv[1] : "vrust" }, { .name = "vkms" } };
	int ret, fd;

	vkms_remove();
	ret = vkms_make();
	if (ret) {
		fprintf(stderr, "drm_compose_bench: the vkms device (%s/%s): %s\n", VKMS_CONFIGFS,
			VKMS_DEV, strerror(-ret));
		vkms_remove();
		return 1;
	}
	for (int d = 0; d < 2 && !ret; d++) {
		fd = d ? vrust_open_node(VKMS_DEV, DRM_NODE_PRIMARY) :
			 argc > 1 ? drm_open_driver(pipes[d].name, DRM_NODE_PRIMARY) :
			 vrust_open_default(DRM_NODE_PRIMARY);
		ret = fd < 0 ? fd : pipe_open(&pipes[d], fd);
		if (ret)
			fprintf(stderr, "drm_compose_bench: %s: %s\n", pipes[d].name,
				strerror(-ret));
	}
	for (int r = 0; r < ROUNDS && !ret; r++)
		for (int s = 0; s < SCENES && !ret; s++)
			for (int f = 0; f < FORMATS && !ret; f++)
				for (int d = 0; d < 2 && !ret; d++) {
					ret = run(&pipes[d], s, f, &pipes[d].fps[s][f][r],
						  pipes[d].ms[s][f], &pipes[d].n[s][f]);
					if (ret)
						fprintf(stderr,
							"drm_compose_bench: %s, %s %s: %s\n",
							pipes[d].name, scene_names[s],
							format_names[f], strerror(-ret));
				}
	for (int d = 0; d < 2; d++)
		if (pipes[d].fd > 0) {
			pipe_off(&pipes[d]);
			close(pipes[d].fd);
		}
	vkms_remove();
	if (ret)
		return 1;

	printf("composition at %ux%u (a mode of %u Hz) into writeback, %d rounds of %d frames:\n"
	       "  kernel time per frame, vblank to out-fence: median of the counted frames [10th-90th percentile];\n"
	       "  jobs per second a client gets, an idle wait after each: best round [range]\n",
	       W, H, BENCH_HZ, ROUNDS, JOBS);
	for (int s = 0; s < SCENES; s++)
		for (int f = 0; f < FORMATS; f++) {
			double med[2], best[2];

			printf("  %-9s %s:", scene_names[s], format_names[f]);
			for (int d = 0; d < 2; d++) {
				double *m = pipes[d].ms[s][f], *v = pipes[d].fps[s][f];
				const int n = pipes[d].n[s][f];

				if (n < ROUNDS * JOBS / 2) {
					fprintf(stderr,
						"drm_compose_bench: %s, %s %s: only %d of %d frames timed\n",
						pipes[d].name, scene_names[s], format_names[f], n,
						ROUNDS * JOBS);
					return 1;
				}
				qsort(m, n, sizeof(*m), cmp_double);
				qsort(v, ROUNDS, sizeof(*v), cmp_double);
				med[d] = m[n / 2];
				best[d] = v[ROUNDS - 1];
				printf("  %s %5.1f ms [%.1f-%.1f] %5.1f/s [%.1f-%.1f]",
				       pipes[d].name, med[d], m[n / 10], m[n - 1 - n / 10],
				       best[d], v[0], v[ROUNDS - 1]);
			}
			printf("  time vkms/%s %.2fx, jobs %s/vkms %.2fx\n", pipes[0].name,
			       med[1] / med[0], pipes[0].name, best[0] / best[1]);
		}
	return 0;
}
