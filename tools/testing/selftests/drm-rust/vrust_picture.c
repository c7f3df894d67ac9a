// SPDX-License-Identifier: GPL-2.0
/*
 * The picture of make run: sets a mode on a driver with a writeback connector (vrust, or vkms
 * to compare), composes a scene on its three planes (a gradient on the primary plane, a
 * translucent overlay, an arrow on the cursor plane), takes the frame through the writeback
 * connector and writes it as a PNG file.
 *
 *   vrust_picture <driver> <file.png>
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"

/* PNG, with the image data in stored (uncompressed) deflate blocks: no zlib needed. -------- */

static __u32 crc_table[256];

static void crc_init(void)
{
	for (__u32 n = 0; n < 256; n++) {
		__u32 c = n;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

static __u32 crc_update(__u32 crc, const unsigned char *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

static void be32(unsigned char *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int chunk(FILE *f, const char *type, const unsigned char *data, __u32 len)
{
	unsigned char hdr[8], tail[4];
	__u32 crc;

	be32(hdr, len);
	memcpy(hdr + 4, type, 4);
	crc = crc_update(0xffffffff, hdr + 4, 4);
	crc = crc_update(crc, data, len) ^ 0xffffffff;
	be32(tail, crc);
	return fwrite(hdr, 8, 1, f) == 1 && (!len || fwrite(data, len, 1, f) == 1) &&
	       fwrite(tail, 4, 1, f) == 1 ? 0 : -EIO;
}

/* Writes `w` x `h` XRGB8888 pixels (`pitch` bytes per line) as an RGB PNG file. */
static int png_write(const char *path, const __u32 *px, __u32 pitch, __u32 w, __u32 h)
{
	size_t raw_len = (size_t)h * (1 + 3 * w), blocks = (raw_len + 65534) / 65535;
	size_t z_len = 2 + raw_len + 5 * blocks + 4;
	unsigned char *raw = malloc(raw_len), *z = malloc(z_len), ihdr[13] = {};
	__u32 a = 1, b = 0;
	size_t at = 0, done = 0;
	FILE *f;
	int ret;

	if (!raw || !z) {
		free(raw);
		free(z);
		return -ENOMEM;
	}
	for (__u32 y = 0; y < h; y++) {
		const __u32 *line = (const __u32 *)((const char *)px + (size_t)y * pitch);
		unsigned char *o = raw + (size_t)y * (1 + 3 * w);

		*o++ = 0; /* filter: none */
		for (__u32 x = 0; x < w; x++) {
			*o++ = line[x] >> 16;
			*o++ = line[x] >> 8;
			*o++ = line[x];
		}
	}
	/* zlib: header, stored blocks, Adler-32. */
	z[at++] = 0x78;
	z[at++] = 0x01;
	while (done < raw_len) {
		size_t n = raw_len - done < 65535 ? raw_len - done : 65535;

		z[at++] = done + n == raw_len;
		z[at++] = n;
		z[at++] = n >> 8;
		z[at++] = ~n;
		z[at++] = ~n >> 8;
		memcpy(z + at, raw + done, n);
		at += n;
		done += n;
	}
	for (size_t i = 0; i < raw_len; i++) {
		a = (a + raw[i]) % 65521;
		b = (b + a) % 65521;
	}
	be32(z + at, (b << 16) | a);
	at += 4;

	be32(ihdr, w);
	be32(ihdr + 4, h);
	ihdr[8] = 8;	/* bits per channel */
	ihdr[9] = 2;	/* RGB */
	crc_init();
	f = fopen(path, "wb");
	ret = f ? 0 : -errno;
	if (!ret && fwrite("\x89PNG\r\n\x1a\n", 8, 1, f) != 1)
		ret = -EIO;
	if (!ret)
		ret = chunk(f, "IHDR", ihdr, sizeof(ihdr));
	if (!ret)
		ret = chunk(f, "IDAT", z, at);
	if (!ret)
		ret = chunk(f, "IEND", NULL, 0);
	if (f && fclose(f) && !ret)
		ret = -errno;
	free(raw);
	free(z);
	return ret;
}

/* The scene ------------------------------------------------------------------------------ */

static int fail(const char *what, int err)
{
	fprintf(stderr, "vrust_picture: %s: %s\n", what, strerror(-err));
	return 1;
}

static int plane_to(int fd, drmModeAtomicReqPtr req, __u32 plane, __u32 crtc,
		    struct vrust_fb *fb, int x, int y)
{
	const __u32 P = DRM_MODE_OBJECT_PLANE;
	int ret = 0;

	ret |= vrust_atomic_add(fd, req, plane, P, "FB_ID", fb->id);
	ret |= vrust_atomic_add(fd, req, plane, P, "CRTC_ID", crtc);
	ret |= vrust_atomic_add(fd, req, plane, P, "SRC_W", (__u64)fb->w << 16);
	ret |= vrust_atomic_add(fd, req, plane, P, "SRC_H", (__u64)fb->h << 16);
	ret |= vrust_atomic_add(fd, req, plane, P, "CRTC_X", x);
	ret |= vrust_atomic_add(fd, req, plane, P, "CRTC_Y", y);
	ret |= vrust_atomic_add(fd, req, plane, P, "CRTC_W", fb->w);
	ret |= vrust_atomic_add(fd, req, plane, P, "CRTC_H", fb->h);
	return ret;
}

int main(int argc, char **argv)
{
	struct vrust_fb primary = {}, overlay = {}, cursor = {}, out = {};
	__u32 conn = 0, wb = 0, crtc, blob, p_plane, o_plane = 0, c_plane = 0, w, h;
	drmModeModeInfo mode = {};
	drmModeAtomicReqPtr req;
	drmModeResPtr res;
	int fd, fence = -1, ret = 0;
	struct pollfd pfd;

	if (argc != 3) {
		fprintf(stderr, "usage: vrust_picture <driver> <file.png>\n");
		return 2;
	}
	fd = drm_open_driver(argv[1], DRM_NODE_PRIMARY);
	if (fd < 0)
		return fail(argv[1], fd);
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) ||
	    drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1))
		return fail("atomic and writeback client caps", -errno);
	res = drmModeGetResources(fd);
	if (!res)
		return fail("resources", -errno);
	crtc = res->crtcs[0];
	for (int i = 0; i < res->count_connectors; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(fd, res->connectors[i]);

		if (c && c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK && !wb) {
			wb = c->connector_id;
		} else if (c && c->connection == DRM_MODE_CONNECTED && !conn && c->count_modes) {
			conn = c->connector_id;
			mode = c->modes[0];
			for (int m = 0; m < c->count_modes; m++)
				if (c->modes[m].type & DRM_MODE_TYPE_PREFERRED)
					mode = c->modes[m];
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	if (!wb || !conn)
		return fail("a connected output and a writeback connector", -ENODEV);
	w = mode.hdisplay;
	h = mode.vdisplay;
	if (vrust_plane_of_type(fd, 0, DRM_PLANE_TYPE_PRIMARY, &p_plane))
		return fail("primary plane", -ENODEV);
	vrust_plane_of_type(fd, 0, DRM_PLANE_TYPE_OVERLAY, &o_plane);
	vrust_plane_of_type(fd, 0, DRM_PLANE_TYPE_CURSOR, &c_plane);

	/* A gradient; a translucent panel, premultiplied; an arrow, opaque, its rest clear. */
	ret |= vrust_fb_make(fd, w, h, DRM_FORMAT_XRGB8888, &primary);
	ret |= vrust_fb_make(fd, w / 2, h / 3, DRM_FORMAT_ARGB8888, &overlay);
	ret |= vrust_fb_make(fd, 64, 64, DRM_FORMAT_ARGB8888, &cursor);
	ret |= vrust_fb_make(fd, w, h, DRM_FORMAT_XRGB8888, &out);
	if (ret)
		return fail("framebuffers", ret);
	for (__u32 y = 0; y < h; y++)
		for (__u32 x = 0; x < w; x++)
			*vrust_fb_px(&primary, x, y) = ((x * 255 / w) << 16) |
						       ((y * 255 / h) << 8) |
						       (((x + y) / 16 % 2) ? 0x60 : 0x90);
	for (__u32 y = 0; y < overlay.h; y++)
		for (__u32 x = 0; x < overlay.w; x++)
			*vrust_fb_px(&overlay, x, y) = y < 24 ? 0xe0e0e0e0 : 0xa0102050;
	for (__u32 y = 0; y < 64; y++)
		for (__u32 x = 0; x < 64; x++)
			*vrust_fb_px(&cursor, x, y) = x > y || x + y / 2 > 48 ? 0 :
						      x == 0 || x == y || x + y / 2 == 48 ?
						      0xff000000 : 0xffffffff;

	if (drmModeCreatePropertyBlob(fd, &mode, sizeof(mode), &blob))
		return fail("mode blob", -errno);
	req = drmModeAtomicAlloc();
	ret |= vrust_atomic_add(fd, req, conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	ret |= vrust_atomic_add(fd, req, wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", crtc);
	ret |= vrust_atomic_add(fd, req, crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", blob);
	ret |= vrust_atomic_add(fd, req, crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	ret |= plane_to(fd, req, p_plane, crtc, &primary, 0, 0);
	if (o_plane)
		ret |= plane_to(fd, req, o_plane, crtc, &overlay, w / 4, h / 3);
	if (c_plane)
		ret |= plane_to(fd, req, c_plane, crtc, &cursor, w * 2 / 3, h / 2);
	ret |= vrust_atomic_add(fd, req, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_FB_ID", out.id);
	ret |= vrust_atomic_add(fd, req, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_OUT_FENCE_PTR",
				(__u64)(uintptr_t)&fence);
	if (ret)
		return fail("the commit's properties", ret);
	if (drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		return fail("the commit", -errno);
	drmModeAtomicFree(req);
	pfd = (struct pollfd){ .fd = fence, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1)
		return fail("the writeback fence", -ETIMEDOUT);
	ret = png_write(argv[2], out.px, out.pitch, w, h);
	if (ret)
		return fail(argv[2], ret);
	/* Everything off again: the display outlives this client, and the next one (that may not
	 * see writeback connectors) must not find the CRTC routed to one.
	 */
	req = drmModeAtomicAlloc();
	ret |= vrust_atomic_add(fd, req, wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	ret |= vrust_atomic_add(fd, req, crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
	ret |= vrust_atomic_add(fd, req, crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	for (int i = 0; i < 3; i++) {
		__u32 plane = i == 0 ? p_plane : i == 1 ? o_plane : c_plane;

		if (!plane)
			continue;
		ret |= vrust_atomic_add(fd, req, plane, DRM_MODE_OBJECT_PLANE, "FB_ID", 0);
		ret |= vrust_atomic_add(fd, req, plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", 0);
	}
	if (ret || drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL))
		return fail("turning the display off", ret ? ret : -errno);
	drmModeAtomicFree(req);
	printf("%s: a %ux%u frame (gradient, %s%s) taken through the writeback connector: %s\n",
	       argv[1], w, h, o_plane ? "translucent overlay, " : "",
	       c_plane ? "cursor" : "no cursor", argv[2]);
	close(fence);
	close(fd);
	return 0;
}
