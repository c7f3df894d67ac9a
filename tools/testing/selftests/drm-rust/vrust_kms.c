// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the KMS interface of vrust (a virtual display: one CRTC with primary, cursor and
 * overlay planes, one encoder, one virtual connector, vblank from a timer) through the atomic
 * and legacy KMS ioctls, measured against the C driver vkms, which behaves the same way for
 * everything standard.
 *
 * Every test runs once per driver (FIXTURE_VARIANT): "kms.vrust.<test>", "kms.vkms.<test>" on
 * vkms's default device (one CRTC, primary and cursor planes), and "kms.vkms_configfs.<test>" on
 * a vkms device made through vkms's configfs with vrust's planes (primary, cursor, overlay).
 * VRUST_KMS_DRIVERS (default "vrust vkms"; VRUST_KMS_DRIVER names a single one) picks the
 * drivers to test ("vkms" picks both vkms variants); the variants of the others skip. A vkms
 * that is not there skips; a vrust without a card node or without a CRTC fails. vrust's tests
 * run on an instance of their own (vrust's configfs); those on vkms's default device switch its
 * display off in the setup and the teardown.
 *
 * The tests find the CRTC, planes and connector in the resources (no fixed ids): modesets and
 * TEST_ONLY commits (checked by reading back properties), page flips with events (atomic and
 * legacy), WAIT_VBLANK, CRTC_GET_SEQUENCE and CRTC_QUEUE_SEQUENCE, the vblank rate, cursor and
 * overlay planes, the exact errno of each class of bad input, concurrent commits from two
 * threads, and (vrust only) an unplug under a pending flip. VRUST_KMS_THREAD_MS sets the time
 * of the concurrency test (default 2000).
 *
 * Needs root (master on the card node); for vrust, configfs and the module loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "vrust_client.h"
#include "kselftest_harness.h"

/* An object id no driver hands out: ids are small idr numbers. */
#define BOGUS_ID	0x7ffffff0u
#define MAX_FBS		16
#define REQ_OBJS	16
#define REQ_PROPS	64
/* How long to wait for an event that must come. */
#define EVENT_MS	3000
#define CURSOR_SIZE	64

/* vkms instances through configfs ---------------------------------------------------------- */

#define VKMS_CONFIGFS	"/sys/kernel/config/vkms"

/* The items of a vkms instance shaped like vrust's display, in the order they are made. */
static const char *const vkms_items[] = {
	"planes/primary", "planes/cursor", "planes/overlay", "crtcs/crtc0", "encoders/encoder0",
	"connectors/connector0",
};

/* Its links: the item's directory, and the item it links to. */
static const char *const vkms_links[][2] = {
	{ "planes/primary/possible_crtcs", "crtcs/crtc0" },
	{ "planes/cursor/possible_crtcs", "crtcs/crtc0" },
	{ "planes/overlay/possible_crtcs", "crtcs/crtc0" },
	{ "encoders/encoder0/possible_crtcs", "crtcs/crtc0" },
	{ "connectors/connector0/possible_encoders", "encoders/encoder0" },
};

/**
 * struct vkms_instance - a vkms device made through configfs
 * @name: its configfs directory and faux device name
 * @items: the items made so far
 * @links: the links made so far
 * @made: the directory exists
 * @enabled: the device is registered
 */
struct vkms_instance {
	char name[48];
	unsigned int items;
	unsigned int links;
	bool made;
	bool enabled;
};

static int vkms_path(char *buf, size_t len, const struct vkms_instance *v, const char *sub)
{
	return snprintf(buf, len, VKMS_CONFIGFS "/%s%s%s", v->name, sub ? "/" : "", sub ? sub : "")
		< (int)len ? 0 : -ENAMETOOLONG;
}

/* Writes @value to the attribute @attr of @v. */
static int vkms_write(const struct vkms_instance *v, const char *attr, const char *value)
{
	char path[256];

	return vkms_path(path, sizeof(path), v, attr) ?: vrust_write_file(path, value);
}

/* Unregisters and removes what vkms_instance_up() made. Returns the first error. */
static int vkms_instance_down(struct vkms_instance *v)
{
	char path[256], link[320];
	int ret = 0;

	if (v->enabled && !vkms_write(v, "enabled", "0\n"))
		v->enabled = false;
	for (; v->links; v->links--) {
		vkms_path(path, sizeof(path), v, vkms_links[v->links - 1][0]);
		snprintf(link, sizeof(link), "%s/%s", path,
			 strrchr(vkms_links[v->links - 1][1], '/') + 1);
		if (unlink(link) && !ret)
			ret = -errno;
	}
	for (; v->items; v->items--) {
		vkms_path(path, sizeof(path), v, vkms_items[v->items - 1]);
		if (rmdir(path) && !ret)
			ret = -errno;
	}
	if (v->made) {
		vkms_path(path, sizeof(path), v, NULL);
		if (rmdir(path) && !ret)
			ret = -errno;
		v->made = false;
	}
	return ret;
}

/*
 * Makes and registers a vkms device with one CRTC, a primary, a cursor and an overlay plane,
 * one encoder and one connected connector. Returns 0, or -errno with nothing left behind.
 */
static int vkms_instance_up(struct vkms_instance *v)
{
	static unsigned int seq;
	char path[256], target[256], link[320];
	int ret;

	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "kstkms%d_%u", (int)getpid(), seq++);
	vkms_path(path, sizeof(path), v, NULL);
	if (mkdir(path, 0755))
		return -errno;
	v->made = true;
	for (; v->items < ARRAY_SIZE(vkms_items); v->items++) {
		vkms_path(path, sizeof(path), v, vkms_items[v->items]);
		if (mkdir(path, 0755)) {
			ret = -errno;
			goto fail;
		}
	}
	ret = vkms_write(v, "planes/primary/type", "1\n") ?:
	      vkms_write(v, "planes/cursor/type", "2\n") ?:
	      vkms_write(v, "planes/overlay/type", "0\n");
	if (ret)
		goto fail;
	for (; v->links < ARRAY_SIZE(vkms_links); v->links++) {
		vkms_path(path, sizeof(path), v, vkms_links[v->links][0]);
		vkms_path(target, sizeof(target), v, vkms_links[v->links][1]);
		snprintf(link, sizeof(link), "%s/%s", path, strrchr(target, '/') + 1);
		if (symlink(target, link)) {
			ret = -errno;
			goto fail;
		}
	}
	ret = vkms_write(v, "enabled", "1\n");
	if (ret)
		goto fail;
	v->enabled = true;
	return 0;
fail:
	vkms_instance_down(v);
	return ret;
}

/* Properties ------------------------------------------------------------------------------ */

/* The ids of the properties of a plane the tests set. */
struct plane_props {
	__u32 fb_id, crtc_id, src_x, src_y, src_w, src_h, crtc_x, crtc_y, crtc_w, crtc_h;
};

/**
 * struct kms_plane - a plane that can show on the test's CRTC
 * @id: its object id, 0 when the driver has no such plane
 * @type: DRM_PLANE_TYPE_*
 * @p: its property ids
 */
struct kms_plane {
	__u32 id;
	__u64 type;
	struct plane_props p;
};

/* Events read from the file but not yet taken by a test. */
struct event_queue {
	char buf[4096];
	size_t len;
	size_t off;
};

/**
 * struct kms - the display of one driver, as the tests see it
 * @driver: the driver's name
 * @vc: for vrust: the test's own instance; its card is @fd
 * @is_vrust: @vc is in use
 * @vi: for vkms made through configfs: the test's own device
 * @is_vkms_cfs: @vi is in use
 * @fd: a file on the card node, master, with the atomic and universal-planes caps
 * @path: the card node
 * @crtc: the CRTC the tests use
 * @crtc_index: its index in the resources (for WAIT_VBLANK)
 * @num_crtcs: the number of CRTCs
 * @conn: a connector that can drive @crtc
 * @mode: the connector's preferred mode
 * @mode_blob: a MODE_ID blob of @mode
 * @primary: the primary plane of @crtc
 * @cursor: a cursor plane of @crtc, or id 0
 * @overlay: an overlay plane of @crtc, or id 0
 * @active: the ACTIVE property of the CRTC
 * @mode_id: its MODE_ID property
 * @conn_crtc: the CRTC_ID property of the connector
 * @fbs: framebuffers the teardown removes
 * @dumbs: the dumb buffers behind them
 * @nfbs: the number of @fbs
 * @evq: events read ahead
 */
struct kms {
	const char *driver;
	struct vrust_client vc;
	bool is_vrust;
	struct vkms_instance vi;
	bool is_vkms_cfs;
	int fd;
	char path[64];
	__u32 crtc;
	int crtc_index;
	int num_crtcs;
	__u32 conn;
	drmModeModeInfo mode;
	__u32 mode_blob;
	struct kms_plane primary, cursor, overlay;
	__u32 active, mode_id, conn_crtc;
	__u32 fbs[MAX_FBS];
	__u32 dumbs[MAX_FBS];
	int nfbs;
	struct event_queue evq;
};

/*
 * The property @name of object @obj (@type DRM_MODE_OBJECT_*): its id into *@id and value
 * into *@value (either may be NULL). Returns 0 or -ENOENT.
 */
static int prop_find(int fd, __u32 obj, __u32 type, const char *name, __u32 *id, __u64 *value)
{
	drmModeObjectPropertiesPtr props = drmModeObjectGetProperties(fd, obj, type);
	int ret = -ENOENT;
	__u32 i;

	if (!props)
		return -errno;
	for (i = 0; i < props->count_props && ret; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name)) {
			if (id)
				*id = p->prop_id;
			if (value)
				*value = props->prop_values[i];
			ret = 0;
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return ret;
}

/* The current value of property @name of @obj, or ~0ULL when it cannot be read. */
static __u64 prop_value(int fd, __u32 obj, __u32 type, const char *name)
{
	__u64 v;

	return prop_find(fd, obj, type, name, NULL, &v) ? ~0ULL : v;
}

static __u64 plane_prop(struct kms *k, const struct kms_plane *pl, const char *name)
{
	return prop_value(k->fd, pl->id, DRM_MODE_OBJECT_PLANE, name);
}

static __u64 crtc_prop(struct kms *k, const char *name)
{
	return prop_value(k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, name);
}

static __u64 conn_prop(struct kms *k, const char *name)
{
	return prop_value(k->fd, k->conn, DRM_MODE_OBJECT_CONNECTOR, name);
}

static int plane_props_init(int fd, __u32 plane, struct plane_props *p)
{
	static const char *const names[] = {
		"FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H",
		"CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H",
	};
	__u32 *ids[] = {
		&p->fb_id, &p->crtc_id, &p->src_x, &p->src_y, &p->src_w, &p->src_h,
		&p->crtc_x, &p->crtc_y, &p->crtc_w, &p->crtc_h,
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ret = prop_find(fd, plane, DRM_MODE_OBJECT_PLANE, names[i], ids[i], NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* Atomic requests ------------------------------------------------------------------------- */

/* An atomic request, built by hand so that the tests control every field. */
struct req {
	__u32 objs[REQ_OBJS];
	__u32 counts[REQ_OBJS];
	__u32 props[REQ_PROPS];
	__u64 values[REQ_PROPS];
	unsigned int nobjs, nprops;
	__u64 reserved;
};

static void req_init(struct req *r)
{
	memset(r, 0, sizeof(*r));
}

/* Adds @prop = @value of @obj; properties of one object are grouped when added in a row. */
static void req_add(struct req *r, __u32 obj, __u32 prop, __u64 value)
{
	if (r->nprops >= REQ_PROPS || (r->nobjs >= REQ_OBJS && r->objs[r->nobjs - 1] != obj))
		abort();
	if (!r->nobjs || r->objs[r->nobjs - 1] != obj) {
		r->objs[r->nobjs] = obj;
		r->counts[r->nobjs++] = 0;
	}
	r->counts[r->nobjs - 1]++;
	r->props[r->nprops] = prop;
	r->values[r->nprops++] = value;
}

/* DRM_IOCTL_MODE_ATOMIC of @r with @flags and @user_data; 0 or -errno. */
static int req_commit(int fd, struct req *r, __u32 flags, __u64 user_data)
{
	struct drm_mode_atomic arg = {
		.flags = flags,
		.count_objs = r->nobjs,
		.objs_ptr = (uintptr_t)r->objs,
		.count_props_ptr = (uintptr_t)r->counts,
		.props_ptr = (uintptr_t)r->props,
		.prop_values_ptr = (uintptr_t)r->values,
		.reserved = r->reserved,
		.user_data = user_data,
	};

	return vrust_ioctl(fd, DRM_IOCTL_MODE_ATOMIC, &arg);
}

/* A commit of one property. */
static int commit1(int fd, __u32 obj, __u32 prop, __u64 value, __u32 flags)
{
	struct req r;

	req_init(&r);
	req_add(&r, obj, prop, value);
	return req_commit(fd, &r, flags, 0);
}

/* Shows @fb (@fw x @fh, all of it) on plane @pl of the CRTC at (@x, @y), @w x @h. */
static void req_plane(struct kms *k, struct req *r, const struct kms_plane *pl, __u32 fb,
		      __u32 fw, __u32 fh, int x, int y, __u32 w, __u32 h)
{
	req_add(r, pl->id, pl->p.fb_id, fb);
	req_add(r, pl->id, pl->p.crtc_id, fb ? k->crtc : 0);
	req_add(r, pl->id, pl->p.src_x, 0);
	req_add(r, pl->id, pl->p.src_y, 0);
	req_add(r, pl->id, pl->p.src_w, fb ? (__u64)fw << 16 : 0);
	req_add(r, pl->id, pl->p.src_h, fb ? (__u64)fh << 16 : 0);
	req_add(r, pl->id, pl->p.crtc_x, (__u64)(__s64)x);
	req_add(r, pl->id, pl->p.crtc_y, (__u64)(__s64)y);
	req_add(r, pl->id, pl->p.crtc_w, fb ? w : 0);
	req_add(r, pl->id, pl->p.crtc_h, fb ? h : 0);
}

/* Turns the display on with @fb on the whole primary plane, in mode @blob (@m). */
static void req_enable(struct kms *k, struct req *r, __u32 fb, __u32 blob,
		       const drmModeModeInfo *m)
{
	req_add(r, k->crtc, k->active, 1);
	req_add(r, k->crtc, k->mode_id, blob);
	req_add(r, k->conn, k->conn_crtc, k->crtc);
	req_plane(k, r, &k->primary, fb, m->hdisplay, m->vdisplay, 0, 0, m->hdisplay,
		  m->vdisplay);
}

/* Turns everything the tests touch off. */
static void req_disable(struct kms *k, struct req *r)
{
	req_add(r, k->crtc, k->active, 0);
	req_add(r, k->crtc, k->mode_id, 0);
	req_add(r, k->conn, k->conn_crtc, 0);
	req_add(r, k->primary.id, k->primary.p.fb_id, 0);
	req_add(r, k->primary.id, k->primary.p.crtc_id, 0);
	if (k->cursor.id) {
		req_add(r, k->cursor.id, k->cursor.p.fb_id, 0);
		req_add(r, k->cursor.id, k->cursor.p.crtc_id, 0);
	}
	if (k->overlay.id) {
		req_add(r, k->overlay.id, k->overlay.p.fb_id, 0);
		req_add(r, k->overlay.id, k->overlay.p.crtc_id, 0);
	}
}

static int kms_disable(struct kms *k)
{
	struct req r;

	req_init(&r);
	req_disable(k, &r);
	return req_commit(k->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0);
}

/* Framebuffers ---------------------------------------------------------------------------- */

/* A dumb buffer of @w x @h at 32 bpp with an XRGB8888 (or @format) framebuffer on it. */
static int fb_create(struct kms *k, __u32 w, __u32 h, __u32 format, __u32 *fb)
{
	struct drm_mode_create_dumb dumb;
	__u32 handles[4] = {}, pitches[4] = {}, offsets[4] = {};
	int ret;

	if (k->nfbs >= MAX_FBS)
		return -ENOSPC;
	ret = vrust_dumb_create(k->fd, w, h, 32, &dumb);
	if (ret)
		return ret;
	handles[0] = dumb.handle;
	pitches[0] = dumb.pitch;
	ret = drmModeAddFB2(k->fd, w, h, format, handles, pitches, offsets, fb, 0);
	if (ret) {
		struct drm_mode_destroy_dumb d = { .handle = dumb.handle };

		vrust_ioctl(k->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
		return ret;
	}
	k->fbs[k->nfbs] = *fb;
	k->dumbs[k->nfbs++] = dumb.handle;
	return 0;
}

/* A framebuffer of the size of the mode. */
static int fb_mode(struct kms *k, __u32 *fb)
{
	return fb_create(k, k->mode.hdisplay, k->mode.vdisplay, DRM_FORMAT_XRGB8888, fb);
}

/* Creates a framebuffer of the mode and turns the display on with it. */
static int kms_enable(struct kms *k, __u32 *fb)
{
	struct req r;
	int ret = fb_mode(k, fb);

	if (ret)
		return ret;
	req_init(&r);
	req_enable(k, &r, *fb, k->mode_blob, &k->mode);
	return req_commit(k->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0);
}

/* Events ---------------------------------------------------------------------------------- */

/* The largest event the tests read. */
union kms_event {
	struct drm_event base;
	struct drm_event_vblank vbl;
	struct drm_event_crtc_sequence seq;
};

/*
 * The next event of @k's file into *@ev, waiting up to @ms milliseconds. Returns 1, 0 when
 * none came, or -errno.
 */
static int event_next(struct kms *k, union kms_event *ev, int ms)
{
	struct event_queue *q = &k->evq;
	struct drm_event *e;
	ssize_t n;

	if (q->off >= q->len) {
		struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
		int ret = poll(&pfd, 1, ms);

		if (ret < 0)
			return -errno;
		if (!ret)
			return 0;
		n = read(k->fd, q->buf, sizeof(q->buf));
		if (n < 0)
			return -errno;
		q->len = n;
		q->off = 0;
		if (!n)
			return 0;
	}
	e = (struct drm_event *)(q->buf + q->off);
	if (q->len - q->off < sizeof(*e) || e->length < sizeof(*e) ||
	    e->length > q->len - q->off) {
		q->off = q->len;
		return -EPROTO;
	}
	memset(ev, 0, sizeof(*ev));
	memcpy(ev, e, e->length < sizeof(*ev) ? e->length : sizeof(*ev));
	q->off += e->length;
	return 1;
}

/* Reads one event that must come, and checks it is a flip completion of @k's CRTC. */
static void expect_flip_event(struct __test_metadata *_metadata, struct kms *k,
			      __u64 user_data, struct drm_event_vblank *out)
{
	union kms_event ev;

	ASSERT_EQ(1, event_next(k, &ev, EVENT_MS)) TH_LOG("no flip event in %d ms", EVENT_MS);
	EXPECT_EQ((__u32)DRM_EVENT_FLIP_COMPLETE, ev.base.type);
	EXPECT_EQ(sizeof(struct drm_event_vblank), ev.base.length);
	EXPECT_EQ(user_data, ev.vbl.user_data);
	EXPECT_EQ(k->crtc, ev.vbl.crtc_id);
	*out = ev.vbl;
}

/* No event comes within @ms milliseconds. */
static void expect_no_event(struct __test_metadata *_metadata, struct kms *k, int ms)
{
	union kms_event ev;
	int ret = event_next(k, &ev, ms);

	EXPECT_EQ(0, ret) TH_LOG("unexpected event of type %u", ret == 1 ? ev.base.type : 0);
}

/* Vblank ---------------------------------------------------------------------------------- */

/* The CRTC bits of a WAIT_VBLANK request type for the CRTC of index @idx. */
static __u32 vbl_crtc(int idx)
{
	if (idx == 1)
		return _DRM_VBLANK_SECONDARY;
	if (idx > 1)
		return (idx << _DRM_VBLANK_HIGH_CRTC_SHIFT) & _DRM_VBLANK_HIGH_CRTC_MASK;
	return 0;
}

/* WAIT_VBLANK of type @type (plus the CRTC) and @seq; the reply into *@reply. */
static int wait_vblank(struct kms *k, __u32 type, __u32 seq, __u64 signal,
		       struct drm_wait_vblank_reply *reply)
{
	union drm_wait_vblank vbl;
	int ret;

	memset(&vbl, 0, sizeof(vbl));
	vbl.request.type = type | vbl_crtc(k->crtc_index);
	vbl.request.sequence = seq;
	vbl.request.signal = signal;
	ret = vrust_ioctl(k->fd, DRM_IOCTL_WAIT_VBLANK, &vbl);
	if (!ret && reply)
		*reply = vbl.reply;
	return ret;
}

/* SET_CLIENT_CAP of @cap to @value; 0 or -errno. */
static int set_cap(int fd, __u64 cap, __u64 value)
{
	struct drm_set_client_cap arg = { .capability = cap, .value = value };

	return vrust_ioctl(fd, DRM_IOCTL_SET_CLIENT_CAP, &arg);
}

static int get_sequence(int fd, __u32 crtc, struct drm_crtc_get_sequence *gs)
{
	memset(gs, 0, sizeof(*gs));
	gs->crtc_id = crtc;
	return vrust_ioctl(fd, DRM_IOCTL_CRTC_GET_SEQUENCE, gs);
}

static int queue_sequence(int fd, __u32 crtc, __u32 flags, __u64 seq, __u64 user_data,
			  __u64 *target)
{
	struct drm_crtc_queue_sequence qs = {
		.crtc_id = crtc, .flags = flags, .sequence = seq, .user_data = user_data,
	};
	int ret = vrust_ioctl(fd, DRM_IOCTL_CRTC_QUEUE_SEQUENCE, &qs);

	if (!ret && target)
		*target = qs.sequence;
	return ret;
}

/* The refresh rate of @m in Hz, from its timings. */
static double mode_hz(const drmModeModeInfo *m)
{
	return m->htotal && m->vtotal ? m->clock * 1000.0 / ((double)m->htotal * m->vtotal) : 0;
}

static double tv_s(__s64 sec, __s64 usec)
{
	return sec + usec / 1e6;
}

/* Set-up ---------------------------------------------------------------------------------- */

/* Whether @driver is in VRUST_KMS_DRIVERS (or is VRUST_KMS_DRIVER). */
static bool driver_selected(const char *driver)
{
	const char *list = getenv("VRUST_KMS_DRIVER");
	char buf[256], *tok, *save;

	if (!list || !*list)
		list = getenv("VRUST_KMS_DRIVERS");
	if (!list || !*list)
		list = "vrust vkms";
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save))
		if (!strcmp(tok, driver))
			return true;
	return false;
}

/*
 * Frees what kms_open() got; closes the file and removes the test's own vrust or vkms device.
 * Returns 0, or -errno of removing the device.
 */
static int kms_close(struct kms *k)
{
	int i, ret = 0;

	if (k->fd >= 0) {
		for (i = 0; i < k->nfbs; i++) {
			struct drm_mode_destroy_dumb d = { .handle = k->dumbs[i] };

			drmModeRmFB(k->fd, k->fbs[i]);
			vrust_ioctl(k->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
		}
		if (k->mode_blob)
			drmModeDestroyPropertyBlob(k->fd, k->mode_blob);
	}
	k->nfbs = 0;
	if (k->is_vrust) {
		ret = vrust_client_close(&k->vc);
		k->is_vrust = false;
	} else {
		vrust_close_fd(&k->fd);
	}
	if (k->is_vkms_cfs) {
		ret = vkms_instance_down(&k->vi);
		k->is_vkms_cfs = false;
	}
	k->fd = -1;
	return ret;
}

/* The CRTC, connector, planes and properties of the display; 0 or -errno, @why says what. */
static int kms_discover(struct kms *k, char *why, size_t len)
{
	drmModeResPtr res = drmModeGetResources(k->fd);
	drmModePlaneResPtr pres = NULL;
	drmModeConnectorPtr conn = NULL;
	int i, j, ret = -ENODEV;

	if (!res) {
		snprintf(why, len, "GETRESOURCES: %s", strerror(errno));
		return -errno;
	}
	k->num_crtcs = res->count_crtcs;
	if (!res->count_crtcs || !res->count_connectors) {
		snprintf(why, len, "%s has %d CRTCs and %d connectors: no KMS", k->driver,
			 res->count_crtcs, res->count_connectors);
		goto out;
	}
	/* A connector with modes, and a CRTC its encoders can drive. */
	for (i = 0; i < res->count_connectors && !k->crtc; i++) {
		conn = drmModeGetConnector(k->fd, res->connectors[i]);
		if (!conn)
			continue;
		if (conn->count_modes && conn->connection != DRM_MODE_DISCONNECTED) {
			for (j = 0; j < conn->count_encoders && !k->crtc; j++) {
				drmModeEncoderPtr enc = drmModeGetEncoder(k->fd, conn->encoders[j]);
				int c;

				for (c = 0; enc && c < res->count_crtcs; c++) {
					if (enc->possible_crtcs & (1u << c)) {
						k->crtc = res->crtcs[c];
						k->crtc_index = c;
						break;
					}
				}
				drmModeFreeEncoder(enc);
			}
			if (k->crtc) {
				k->conn = conn->connector_id;
				k->mode = conn->modes[0];
				for (j = 0; j < conn->count_modes; j++)
					if (conn->modes[j].type & DRM_MODE_TYPE_PREFERRED) {
						k->mode = conn->modes[j];
						break;
					}
			}
		}
		drmModeFreeConnector(conn);
	}
	if (!k->crtc) {
		snprintf(why, len, "no connected connector with modes and a CRTC");
		goto out;
	}
	/* Its planes: the first of each type that can show on the CRTC. */
	pres = drmModeGetPlaneResources(k->fd);
	if (!pres) {
		snprintf(why, len, "GETPLANERESOURCES: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < (int)pres->count_planes; i++) {
		drmModePlanePtr p = drmModeGetPlane(k->fd, pres->planes[i]);
		struct kms_plane *slot = NULL;
		__u64 type;

		if (!p)
			continue;
		if ((p->possible_crtcs & (1u << k->crtc_index)) &&
		    !prop_find(k->fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type", NULL, &type)) {
			if (type == DRM_PLANE_TYPE_PRIMARY)
				slot = &k->primary;
			else if (type == DRM_PLANE_TYPE_CURSOR)
				slot = &k->cursor;
			else if (type == DRM_PLANE_TYPE_OVERLAY)
				slot = &k->overlay;
		}
		if (slot && !slot->id) {
			slot->id = p->plane_id;
			slot->type = type;
			if (plane_props_init(k->fd, p->plane_id, &slot->p)) {
				snprintf(why, len, "plane %u lacks an atomic property",
					 p->plane_id);
				drmModeFreePlane(p);
				goto out;
			}
		}
		drmModeFreePlane(p);
	}
	if (!k->primary.id) {
		snprintf(why, len, "no primary plane for CRTC %u", k->crtc);
		goto out;
	}
	if (prop_find(k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", &k->active, NULL) ||
	    prop_find(k->fd, k->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", &k->mode_id, NULL) ||
	    prop_find(k->fd, k->conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", &k->conn_crtc, NULL)) {
		snprintf(why, len, "CRTC or connector lacks ACTIVE, MODE_ID or CRTC_ID");
		goto out;
	}
	ret = drmModeCreatePropertyBlob(k->fd, &k->mode, sizeof(k->mode), &k->mode_blob);
	if (ret)
		snprintf(why, len, "CREATEPROPBLOB: %s", strerror(-ret));
out:
	drmModeFreePlaneResources(pres);
	drmModeFreeResources(res);
	return ret;
}

/*
 * Opens the card of @driver with master and the atomic caps, finds its display and turns it
 * off. Returns 0, 1 when the test is to skip, or -errno; @why says why. On failure nothing is
 * left open.
 */
static int kms_open(struct kms *k, const char *driver, bool configfs, char *why, size_t len)
{
	char name[32] = "";
	char *path;
	int ret;

	memset(k, 0, sizeof(*k));
	k->fd = -1;
	k->driver = driver;
	if (!driver_selected(driver)) {
		snprintf(why, len, "%s is not in VRUST_KMS_DRIVERS", driver);
		return 1;
	}
	if (!strcmp(driver, "vrust")) {
		/* An instance of its own, so that nothing another test did shows. */
		ret = vrust_client_open(&k->vc, VRUST_CLIENT_CARD);
		if (ret) {
			snprintf(why, len, "vrust instance: %s", strerror(-ret));
			return ret;
		}
		k->is_vrust = true;
		k->fd = k->vc.card;
	} else if (configfs) {
		/* A vkms device of its own, shaped like vrust's display. */
		if (access(VKMS_CONFIGFS, F_OK)) {
			snprintf(why, len, "no %s: %s", VKMS_CONFIGFS, strerror(errno));
			return 1;
		}
		ret = vkms_instance_up(&k->vi);
		if (ret) {
			snprintf(why, len, "making a vkms device in configfs: %s", strerror(-ret));
			return ret;
		}
		k->is_vkms_cfs = true;
		k->fd = vrust_open_node(k->vi.name, DRM_NODE_PRIMARY);
		if (k->fd < 0) {
			ret = k->fd;
			k->fd = -1;
			snprintf(why, len, "no card node for vkms device %s: %s", k->vi.name,
				 strerror(-ret));
			kms_close(k);
			return ret;
		}
	} else {
		k->fd = drm_open_driver(driver, DRM_NODE_PRIMARY);
		if (k->fd < 0) {
			ret = k->fd;
			k->fd = -1;
			snprintf(why, len, "no %s card node: %s", driver, strerror(-ret));
			return ret == -ENODEV ? 1 : ret;
		}
	}
	ret = vrust_driver_name(k->fd, name, sizeof(name));
	if (ret || strcmp(name, driver)) {
		snprintf(why, len, "the card's driver is '%s', not %s", name, driver);
		ret = -ENODEV;
		goto fail;
	}
	path = drmGetDeviceNameFromFd2(k->fd);
	snprintf(k->path, sizeof(k->path), "%s", path ? path : "");
	free(path);
	if (drmSetClientCap(k->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) ||
	    drmSetClientCap(k->fd, DRM_CLIENT_CAP_ATOMIC, 1)) {
		ret = -errno;
		snprintf(why, len, "SET_CLIENT_CAP(UNIVERSAL_PLANES, ATOMIC): %s%s",
			 strerror(errno), errno == EOPNOTSUPP ? ": no KMS" : "");
		goto fail;
	}
	if (!drmIsMaster(k->fd))
		drmSetMaster(k->fd);
	if (!drmIsMaster(k->fd)) {
		ret = -EACCES;
		snprintf(why, len, "not master of %s", k->path);
		goto fail;
	}
	ret = kms_discover(k, why, len);
	if (ret)
		goto fail;
	ret = kms_disable(k);
	if (ret) {
		snprintf(why, len, "switching the display off: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	kms_close(k);
	return ret;
}

FIXTURE(kms)
{
	struct kms k;
};

FIXTURE_VARIANT(kms)
{
	const char *driver;
	/* Whether the driver has vrust's own buffers and instances. */
	bool vrust;
	/* For vkms: a device of the test's own, made through configfs. */
	bool configfs;
};

FIXTURE_VARIANT_ADD(kms, vrust)
{
	.driver = "vrust",
	.vrust = true,
};

FIXTURE_VARIANT_ADD(kms, vkms)
{
	.driver = "vkms",
};

/* vkms with vrust's planes (primary, cursor, overlay): made through vkms's configfs. */
FIXTURE_VARIANT_ADD(kms, vkms_configfs)
{
	.driver = "vkms",
	.configfs = true,
};

FIXTURE_SETUP(kms)
{
	char why[160] = "";
	int ret = kms_open(&self->k, variant->driver, variant->configfs, why, sizeof(why));

	if (ret == 1)
		SKIP(return, "%s", why);
	/* For vrust, a card without a CRTC fails: vrust has a display. */
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(kms)
{
	if (self->k.fd >= 0)
		kms_disable(&self->k);
	EXPECT_EQ(0, kms_close(&self->k)) TH_LOG("removing the test's device");
}

#define K	(&self->k)

/* Resources and modes --------------------------------------------------------------------- */

/*
 * The resources hold what a display needs, the caps say what the ioctls below rely on, and the
 * connector's modes are sane, one of them preferred: 1024x768 (both drivers' default). vrust's
 * are the standard (DMT) modes up to 3840x2160 and a 3840x2160 mode on top (the DMT list has
 * none): none is larger, and 2560x1600 and 3840x2160 are there.
 */
TEST_F(kms, resources_and_modes)
{
	drmModeConnectorPtr conn = drmModeGetConnector(K->fd, K->conn);
	drmModePlanePtr pl = drmModeGetPlane(K->fd, K->primary.id);
	int i, preferred = 0, max_w = 0, max_h = 0, has_2560 = 0, has_4k = 0;
	uint64_t cap;
	__u32 f;
	bool xrgb = false;

	ASSERT_NE(NULL, conn);
	ASSERT_NE(NULL, pl);
	EXPECT_EQ((int)DRM_MODE_CONNECTED, (int)conn->connection);
	EXPECT_LT(0, conn->count_modes);
	for (i = 0; i < conn->count_modes; i++) {
		drmModeModeInfo *m = &conn->modes[i];
		double hz = mode_hz(m);

		EXPECT_LT(0U, m->clock);
		EXPECT_LE(m->hdisplay, m->htotal);
		EXPECT_LE(m->vdisplay, m->vtotal);
		EXPECT_TRUE(hz > 10 && hz < 250) TH_LOG("mode %s: %.1f Hz", m->name, hz);
		if (m->type & DRM_MODE_TYPE_PREFERRED) {
			preferred++;
			EXPECT_EQ(1024, m->hdisplay);
			EXPECT_EQ(768, m->vdisplay);
		}
		if (m->hdisplay > max_w)
			max_w = m->hdisplay;
		if (m->vdisplay > max_h)
			max_h = m->vdisplay;
		if (m->hdisplay == 2560 && m->vdisplay == 1600)
			has_2560 = 1;
		if (m->hdisplay == 3840 && m->vdisplay == 2160)
			has_4k = 1;
	}
	EXPECT_EQ(1, preferred);
	if (variant->vrust) {
		EXPECT_EQ(1, has_2560);
		EXPECT_EQ(1, has_4k);
		EXPECT_LE(max_w, 3840);
		EXPECT_LE(max_h, 2160);
	}
	for (f = 0; f < pl->count_formats; f++)
		xrgb |= pl->formats[f] == DRM_FORMAT_XRGB8888;
	EXPECT_TRUE(xrgb) TH_LOG("primary plane without XRGB8888");
	EXPECT_NE(0U, pl->possible_crtcs & (1u << K->crtc_index));
	ksft_print_msg("%s: CRTC %u (index %d of %d), connector %u, %d modes up to %dx%d, preferred %s at %.2f Hz; planes: primary %u, cursor %u, overlay %u\n",
		       K->driver, K->crtc, K->crtc_index, K->num_crtcs, K->conn, conn->count_modes,
		       max_w, max_h, K->mode.name, mode_hz(&K->mode), K->primary.id, K->cursor.id,
		       K->overlay.id);
	drmModeFreePlane(pl);
	drmModeFreeConnector(conn);

	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_DUMB_BUFFER, &cap));
	EXPECT_EQ(1ULL, cap);
	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_TIMESTAMP_MONOTONIC, &cap));
	EXPECT_EQ(1ULL, cap);
	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_CRTC_IN_VBLANK_EVENT, &cap));
	EXPECT_EQ(1ULL, cap);
	/* The setup turned it off. */
	EXPECT_EQ(0ULL, crtc_prop(K, "ACTIVE"));
	EXPECT_EQ(0ULL, crtc_prop(K, "MODE_ID"));
}

/* Modesets -------------------------------------------------------------------------------- */

/* The display shows @fb in mode @m: what GETCRTC, GETPLANE, GETENCODER and the props say. */
static void expect_on(struct __test_metadata *_metadata, struct kms *k, __u32 fb, __u32 blob,
		      const drmModeModeInfo *m)
{
	drmModeCrtcPtr crtc = drmModeGetCrtc(k->fd, k->crtc);
	drmModePlanePtr pl = drmModeGetPlane(k->fd, k->primary.id);
	drmModeConnectorPtr conn = drmModeGetConnector(k->fd, k->conn);

	ASSERT_NE(NULL, crtc);
	ASSERT_NE(NULL, pl);
	ASSERT_NE(NULL, conn);
	EXPECT_EQ(1, crtc->mode_valid);
	EXPECT_EQ(m->hdisplay, crtc->mode.hdisplay);
	EXPECT_EQ(m->vdisplay, crtc->mode.vdisplay);
	EXPECT_EQ(m->clock, crtc->mode.clock);
	EXPECT_EQ(fb, crtc->buffer_id);
	EXPECT_EQ(fb, pl->fb_id);
	EXPECT_EQ(k->crtc, pl->crtc_id);
	if (conn->encoder_id) {
		drmModeEncoderPtr enc = drmModeGetEncoder(k->fd, conn->encoder_id);

		ASSERT_NE(NULL, enc);
		EXPECT_EQ(k->crtc, enc->crtc_id);
		drmModeFreeEncoder(enc);
	} else {
		EXPECT_NE(0U, conn->encoder_id) TH_LOG("connector has no encoder while on");
	}
	EXPECT_EQ(1ULL, crtc_prop(k, "ACTIVE"));
	EXPECT_EQ((__u64)blob, crtc_prop(k, "MODE_ID"));
	EXPECT_EQ((__u64)k->crtc, conn_prop(k, "CRTC_ID"));
	EXPECT_EQ((__u64)fb, plane_prop(k, &k->primary, "FB_ID"));
	EXPECT_EQ((__u64)k->crtc, plane_prop(k, &k->primary, "CRTC_ID"));
	EXPECT_EQ((__u64)m->hdisplay << 16, plane_prop(k, &k->primary, "SRC_W"));
	EXPECT_EQ((__u64)m->vdisplay, plane_prop(k, &k->primary, "CRTC_H"));
	drmModeFreeConnector(conn);
	drmModeFreePlane(pl);
	drmModeFreeCrtc(crtc);
}

static void expect_off(struct __test_metadata *_metadata, struct kms *k)
{
	drmModeCrtcPtr crtc = drmModeGetCrtc(k->fd, k->crtc);

	ASSERT_NE(NULL, crtc);
	EXPECT_EQ(0, crtc->mode_valid);
	EXPECT_EQ(0U, crtc->buffer_id);
	drmModeFreeCrtc(crtc);
	EXPECT_EQ(0ULL, crtc_prop(k, "ACTIVE"));
	EXPECT_EQ(0ULL, crtc_prop(k, "MODE_ID"));
	EXPECT_EQ(0ULL, conn_prop(k, "CRTC_ID"));
	EXPECT_EQ(0ULL, plane_prop(k, &k->primary, "FB_ID"));
	EXPECT_EQ(0ULL, plane_prop(k, &k->primary, "CRTC_ID"));
	/* No vblank while off. */
	EXPECT_EQ(-EINVAL, wait_vblank(k, _DRM_VBLANK_RELATIVE, 1, 0, NULL));
}

/*
 * An atomic modeset turns the display on (MODE_ID blob, connector CRTC_ID, primary plane FB,
 * SRC and CRTC rectangles) and vblanks run; a modeset without ALLOW_MODESET is refused; a
 * second mode (the smallest) works too; an atomic disable turns it all off again.
 */
TEST_F(kms, modeset)
{
	drmModeConnectorPtr conn = drmModeGetConnector(K->fd, K->conn);
	drmModeModeInfo small;
	struct drm_wait_vblank_reply reply;
	__u32 fb, fb_small, blob_small;
	struct req r;
	int i;

	ASSERT_NE(NULL, conn);
	small = conn->modes[0];
	for (i = 0; i < conn->count_modes; i++)
		if (conn->modes[i].hdisplay * conn->modes[i].vdisplay <
		    small.hdisplay * small.vdisplay)
			small = conn->modes[i];
	drmModeFreeConnector(conn);

	ASSERT_EQ(0, fb_mode(K, &fb));
	req_init(&r);
	req_enable(K, &r, fb, K->mode_blob, &K->mode);
	/* A modeset needs ALLOW_MODESET, even TEST_ONLY. */
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, 0, 0));
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, DRM_MODE_ATOMIC_TEST_ONLY, 0));
	expect_off(_metadata, K);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	EXPECT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, &reply));

	/* The same state again is no modeset: it needs no flag. */
	EXPECT_EQ(0, req_commit(K->fd, &r, 0, 0));

	/* Another mode, with a framebuffer of its size. */
	ASSERT_EQ(0, fb_create(K, small.hdisplay, small.vdisplay, DRM_FORMAT_XRGB8888,
			       &fb_small));
	ASSERT_EQ(0, drmModeCreatePropertyBlob(K->fd, &small, sizeof(small), &blob_small));
	req_init(&r);
	req_enable(K, &r, fb_small, blob_small, &small);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, 0, 0));
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb_small, blob_small, &small);
	EXPECT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, &reply));

	/* Off, then on again in the preferred mode, then off. */
	ASSERT_EQ(0, kms_disable(K));
	expect_off(_metadata, K);
	EXPECT_EQ(0, drmModeDestroyPropertyBlob(K->fd, blob_small));
	req_init(&r);
	req_enable(K, &r, fb, K->mode_blob, &K->mode);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	/* Disabling is a modeset too. */
	req_init(&r);
	req_disable(K, &r);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, 0, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_off(_metadata, K);
	/* A blocking modeset sends no event of its own. */
	expect_no_event(_metadata, K, 50);
}

/*
 * TEST_ONLY commits, valid or not, change nothing: from off, a full enable; from on, a flip,
 * a disable, a mode change, and an invalid one; the properties read back the same and no
 * event comes. TEST_ONLY with an event is refused.
 */
TEST_F(kms, test_only)
{
	__u32 fb, fb2;
	struct req r;

	ASSERT_EQ(0, fb_mode(K, &fb));
	ASSERT_EQ(0, fb_mode(K, &fb2));
	req_init(&r);
	req_enable(K, &r, fb, K->mode_blob, &K->mode);
	EXPECT_EQ(0, req_commit(K->fd, &r,
				DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_off(_metadata, K);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r,
				      DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET |
				      DRM_MODE_PAGE_FLIP_EVENT, 0));

	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);

	/* A flip. */
	EXPECT_EQ(0, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
			     DRM_MODE_ATOMIC_TEST_ONLY));
	EXPECT_EQ(0, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
			     DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_NONBLOCK));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
				   DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_EVENT));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	/* A disable. */
	req_init(&r);
	req_disable(K, &r);
	EXPECT_EQ(0, req_commit(K->fd, &r,
				DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	/* DPMS off through ACTIVE only. */
	EXPECT_EQ(0, commit1(K->fd, K->crtc, K->active, 0,
			     DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	/* Invalid: the plane without a framebuffer but still on the CRTC's rectangle. */
	req_init(&r);
	req_add(&r, K->primary.id, K->primary.p.fb_id, 0);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, DRM_MODE_ATOMIC_TEST_ONLY, 0));
	/* Invalid: a source rectangle outside the framebuffer. */
	EXPECT_EQ(-ENOSPC, commit1(K->fd, K->primary.id, K->primary.p.src_x, 16 << 16,
				   DRM_MODE_ATOMIC_TEST_ONLY));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	EXPECT_EQ(0ULL, plane_prop(K, &K->primary, "SRC_X"));
	/* And no event for any of it. */
	expect_no_event(_metadata, K, 100);
}

/* Page flips ------------------------------------------------------------------------------ */

#define NR_FLIPS	10

/*
 * Nonblocking atomic flips with PAGE_FLIP_EVENT: each sends one FLIP_COMPLETE event with the
 * commit's user_data and the CRTC's id, at a vblank sequence above that of the flip before
 * and of the vblank counter when it was committed; the plane then shows the new framebuffer.
 * A second nonblocking flip while one is pending is refused with EBUSY (or, when the first
 * has completed meanwhile, succeeds and sends its own event).
 */
TEST_F(kms, flip_atomic_event)
{
	struct drm_event_vblank ev, prev = {};
	struct drm_crtc_get_sequence gs;
	__u32 fbs[2], busy = 0;
	int i, ret;

	ASSERT_EQ(0, kms_enable(K, &fbs[0]));
	ASSERT_EQ(0, fb_mode(K, &fbs[1]));
	for (i = 0; i < NR_FLIPS; i++) {
		__u64 cookie = 0xf1f0000000ULL + 2 * i;
		struct req r;

		ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs));
		req_init(&r);
		req_add(&r, K->primary.id, K->primary.p.fb_id, fbs[(i + 1) % 2]);
		ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_NONBLOCK |
					DRM_MODE_PAGE_FLIP_EVENT, cookie)) TH_LOG("flip %d", i);
		/* At once another: refused while the first is pending. */
		req_init(&r);
		req_add(&r, K->primary.id, K->primary.p.fb_id, fbs[i % 2]);
		ret = req_commit(K->fd, &r, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
				 cookie + 1);
		if (ret == -EBUSY)
			busy++;
		else
			ASSERT_EQ(0, ret);
		expect_flip_event(_metadata, K, cookie, &ev);
		EXPECT_LT((__u32)gs.sequence, ev.sequence)
			TH_LOG("flip %d: event sequence %u, counter %llu before", i, ev.sequence,
			       (unsigned long long)gs.sequence);
		if (i)
			EXPECT_LT(prev.sequence, ev.sequence);
		EXPECT_LE(tv_s(prev.tv_sec, prev.tv_usec), tv_s(ev.tv_sec, ev.tv_usec));
		prev = ev;
		if (!ret) {
			/* The second went through after all: its own event, later. */
			expect_flip_event(_metadata, K, cookie + 1, &ev);
			EXPECT_LT(prev.sequence, ev.sequence);
			prev = ev;
		}
		EXPECT_EQ((__u64)fbs[ret ? (i + 1) % 2 : i % 2],
			  plane_prop(K, &K->primary, "FB_ID"));
	}
	ksft_print_msg("%d flips; the second of a pair was refused with EBUSY %u times\n", NR_FLIPS,
		       busy);
	EXPECT_LT(0U, busy) TH_LOG("a flip while one is pending never got EBUSY");

	/* A blocking flip with an event: the event is there by the time it returns. */
	{
		struct req r;

		req_init(&r);
		req_add(&r, K->primary.id, K->primary.p.fb_id, fbs[0]);
		ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_PAGE_FLIP_EVENT, 0x1234abcd5678ULL));
		expect_flip_event(_metadata, K, 0x1234abcd5678ULL, &ev);
		EXPECT_LT(prev.sequence, ev.sequence);
	}
	expect_no_event(_metadata, K, 100);
}

/*
 * drmModePageFlip with DRM_MODE_PAGE_FLIP_EVENT: FLIP_COMPLETE events with the given user_data
 * and the CRTC, sequences increasing; GETCRTC shows the new framebuffer.
 */
TEST_F(kms, flip_legacy_event)
{
	struct drm_event_vblank ev, prev = {};
	drmModeCrtcPtr crtc;
	__u32 fbs[2];
	int i, ret;

	ASSERT_EQ(0, kms_enable(K, &fbs[0]));
	ASSERT_EQ(0, fb_mode(K, &fbs[1]));
	for (i = 0; i < NR_FLIPS; i++) {
		__u64 cookie = 0xabc000 + i;

		ASSERT_EQ(0, drmModePageFlip(K->fd, K->crtc, fbs[(i + 1) % 2],
					     DRM_MODE_PAGE_FLIP_EVENT, (void *)(uintptr_t)cookie));
		/* One at a time. */
		ret = drmModePageFlip(K->fd, K->crtc, fbs[i % 2], DRM_MODE_PAGE_FLIP_EVENT,
				      (void *)(uintptr_t)cookie);
		if (!ret)
			expect_flip_event(_metadata, K, cookie, &ev);
		else
			EXPECT_EQ(-EBUSY, ret);
		expect_flip_event(_metadata, K, cookie, &ev);
		if (i)
			EXPECT_LT(prev.sequence, ev.sequence);
		prev = ev;
		crtc = drmModeGetCrtc(K->fd, K->crtc);
		ASSERT_NE(NULL, crtc);
		EXPECT_EQ(fbs[ret ? (i + 1) % 2 : i % 2], crtc->buffer_id);
		drmModeFreeCrtc(crtc);
	}
	/* A flip without an event still flips. */
	ASSERT_EQ(0, drmModePageFlip(K->fd, K->crtc, fbs[0], 0, NULL));
	EXPECT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 2, 0, NULL));
	EXPECT_EQ((__u64)fbs[0], plane_prop(K, &K->primary, "FB_ID"));
	expect_no_event(_metadata, K, 100);
}

/* Vblank ---------------------------------------------------------------------------------- */

/*
 * WAIT_VBLANK: a query (relative 0), relative waits (the reply is the target), absolute waits
 * (reply at or just after the target), an absolute target in the past (returns at once, or the
 * next vblank with NEXTONMISS), and events (DRM_EVENT_VBLANK with the signal, the target
 * sequence and the CRTC). Bad request types and a nonexistent CRTC get EINVAL.
 */
TEST_F(kms, wait_vblank)
{
	struct drm_wait_vblank_reply q, r, r2;
	union kms_event ev;
	__u32 fb, target;
	union drm_wait_vblank vbl;
	double t0;

	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 0, 0, &q));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, &r));
	EXPECT_LT(q.sequence, r.sequence);
	EXPECT_LE(r.sequence - q.sequence, 3U);
	EXPECT_LT(tv_s(q.tval_sec, q.tval_usec), tv_s(r.tval_sec, r.tval_usec));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 3, 0, &r2));
	EXPECT_LE(r.sequence + 3, r2.sequence);

	/* Absolute. */
	target = r2.sequence + 2;
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_ABSOLUTE, target, 0, &r));
	EXPECT_LE(0, (int)(r.sequence - target)) TH_LOG("target %u, reply %u", target, r.sequence);
	EXPECT_GT(3, (int)(r.sequence - target));
	/* In the past: at once, with the current count. */
	t0 = vrust_now_s();
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_ABSOLUTE, r.sequence - 5, 0, &r2));
	EXPECT_LE(0, (int)(r2.sequence - r.sequence));
	EXPECT_GT(0.5, vrust_now_s() - t0);
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 0, 0, &q));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_ABSOLUTE | _DRM_VBLANK_NEXTONMISS, q.sequence - 5,
				 0, &r2));
	EXPECT_LT(q.sequence, r2.sequence);

	/* Events. */
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE | _DRM_VBLANK_EVENT, 2, 0xdead5eed, &r));
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ((__u32)DRM_EVENT_VBLANK, ev.base.type);
	EXPECT_EQ(sizeof(struct drm_event_vblank), ev.base.length);
	EXPECT_EQ(0xdead5eedULL, ev.vbl.user_data);
	EXPECT_EQ(r.sequence, ev.vbl.sequence);
	EXPECT_EQ(K->crtc, ev.vbl.crtc_id);
	target = r.sequence + 3;
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_ABSOLUTE | _DRM_VBLANK_EVENT, target, 42, &r));
	EXPECT_EQ(target, r.sequence);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ((__u32)DRM_EVENT_VBLANK, ev.base.type);
	EXPECT_EQ(42ULL, ev.vbl.user_data);
	EXPECT_EQ(target, ev.vbl.sequence);
	EXPECT_EQ(K->crtc, ev.vbl.crtc_id);
	expect_no_event(_metadata, K, 50);

	/* Bad requests. */
	EXPECT_EQ(-EINVAL, wait_vblank(K, _DRM_VBLANK_RELATIVE | _DRM_VBLANK_SIGNAL, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, wait_vblank(K, _DRM_VBLANK_RELATIVE | 0x00010000, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, wait_vblank(K, _DRM_VBLANK_RELATIVE | 0x100, 1, 0, NULL));
	memset(&vbl, 0, sizeof(vbl));
	vbl.request.type = _DRM_VBLANK_RELATIVE | vbl_crtc(K->num_crtcs + 3);
	vbl.request.sequence = 1;
	EXPECT_EQ(-EINVAL, vrust_ioctl(K->fd, DRM_IOCTL_WAIT_VBLANK, &vbl));
}

/*
 * CRTC_GET_SEQUENCE counts vblanks (the same counter as WAIT_VBLANK, 64 bits, with monotonic
 * timestamps); CRTC_QUEUE_SEQUENCE sends a DRM_EVENT_CRTC_SEQUENCE at the target it returns
 * (relative, absolute, NEXT_ON_MISS), with its user_data. Bad flags are EINVAL, unknown CRTCs
 * ENOENT, and both fail with EINVAL on a CRTC that is off.
 */
TEST_F(kms, crtc_sequence)
{
	struct drm_crtc_get_sequence gs, gs2;
	struct drm_wait_vblank_reply q;
	struct timespec now;
	union kms_event ev;
	__u64 target;
	__u32 fb;

	/* Off. */
	EXPECT_EQ(-EINVAL, get_sequence(K->fd, K->crtc, &gs));
	EXPECT_EQ(-EINVAL, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 1, 1, NULL));
	EXPECT_EQ(-ENOENT, get_sequence(K->fd, BOGUS_ID, &gs));
	EXPECT_EQ(-ENOENT, get_sequence(K->fd, K->conn, &gs));
	EXPECT_EQ(-ENOENT, queue_sequence(K->fd, BOGUS_ID, DRM_CRTC_SEQUENCE_RELATIVE, 1, 1,
					  NULL));

	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs));
	EXPECT_EQ(1U, gs.active);
	clock_gettime(CLOCK_MONOTONIC, &now);
	EXPECT_GE(now.tv_sec * 1000000000LL + now.tv_nsec, gs.sequence_ns);
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 0, 0, &q));
	EXPECT_LE(0, (int)(q.sequence - (__u32)gs.sequence));
	EXPECT_GT(3, (int)(q.sequence - (__u32)gs.sequence));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 2, 0, NULL));
	ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs2));
	EXPECT_LE(gs.sequence + 2, gs2.sequence);
	EXPECT_LT(gs.sequence_ns, gs2.sequence_ns);

	/* Relative. */
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 2,
				    0x5e9000000001ULL, &target));
	EXPECT_LE(gs2.sequence + 2, target);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ((__u32)DRM_EVENT_CRTC_SEQUENCE, ev.base.type);
	EXPECT_EQ(sizeof(struct drm_event_crtc_sequence), ev.base.length);
	EXPECT_EQ(0x5e9000000001ULL, ev.seq.user_data);
	EXPECT_EQ(target, ev.seq.sequence);
	EXPECT_LT(gs2.sequence_ns, ev.seq.time_ns);
	ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs));
	EXPECT_LE(target, gs.sequence);

	/* Absolute. */
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, 0, gs.sequence + 3, 2, &target));
	EXPECT_EQ(gs.sequence + 3, target);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ((__u32)DRM_EVENT_CRTC_SEQUENCE, ev.base.type);
	EXPECT_EQ(2ULL, ev.seq.user_data);
	EXPECT_EQ(target, ev.seq.sequence);
	/*
	 * Absolute in the past: the event comes at once, and the target returned and the
	 * event's sequence are the current one...
	 */
	ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs));
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, 0, gs.sequence - 2, 3, &target));
	EXPECT_LE(gs.sequence, target);
	EXPECT_GT(gs.sequence + 3, target);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ((__u32)DRM_EVENT_CRTC_SEQUENCE, ev.base.type);
	EXPECT_EQ(3ULL, ev.seq.user_data);
	EXPECT_EQ(target, ev.seq.sequence);
	/* ... and with NEXT_ON_MISS at the next vblank. */
	ASSERT_EQ(0, get_sequence(K->fd, K->crtc, &gs));
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_NEXT_ON_MISS,
				    gs.sequence - 2, 4, &target));
	EXPECT_LT(gs.sequence, target);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ(4ULL, ev.seq.user_data);
	EXPECT_EQ(target, ev.seq.sequence);

	/* Several queued at once come in order. */
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 3, 13, NULL));
	ASSERT_EQ(0, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 1, 11, NULL));
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ(11ULL, ev.seq.user_data);
	ASSERT_EQ(1, event_next(K, &ev, EVENT_MS));
	EXPECT_EQ(13ULL, ev.seq.user_data);
	expect_no_event(_metadata, K, 50);

	EXPECT_EQ(-EINVAL, queue_sequence(K->fd, K->crtc, 0x4, 1, 1, NULL));
	EXPECT_EQ(-EINVAL, queue_sequence(K->fd, K->crtc, 0x80000000u, 1, 1, NULL));
	EXPECT_EQ(-ENOENT, queue_sequence(K->fd, K->primary.id, DRM_CRTC_SEQUENCE_RELATIVE, 1, 1,
					  NULL));
}

#define RATE_VBLANKS	30

/*
 * Vblanks come at the mode's refresh rate: over RATE_VBLANKS one-by-one waits, by the
 * kernel's timestamps and by the clock, within 50% of it (UML's timers are coarse and noisy).
 */
TEST_F(kms, vblank_rate)
{
	struct drm_wait_vblank_reply first, r;
	double hz = mode_hz(&K->mode), t0, wall, stamp, by_stamp, by_wall;
	__u32 fb, prev;
	int i;

	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, &first));
	t0 = vrust_now_s();
	prev = first.sequence;
	for (i = 0; i < RATE_VBLANKS; i++) {
		ASSERT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, &r));
		EXPECT_LT(prev, r.sequence);
		prev = r.sequence;
	}
	wall = vrust_now_s() - t0;
	stamp = tv_s(r.tval_sec, r.tval_usec) - tv_s(first.tval_sec, first.tval_usec);
	ASSERT_LT(0, stamp);
	by_stamp = (r.sequence - first.sequence) / stamp;
	by_wall = (r.sequence - first.sequence) / wall;
	ksft_print_msg("%s: mode %.2f Hz; "
		       "%u vblanks in %.3f s: %.2f Hz by their timestamps, %.2f Hz by the clock\n",
		       K->driver, hz, r.sequence - first.sequence, wall, by_stamp, by_wall);
	EXPECT_LE(RATE_VBLANKS, (int)(r.sequence - first.sequence));
	EXPECT_TRUE(by_stamp > hz * 0.5 && by_stamp < hz * 1.5)
		TH_LOG("%.2f Hz by the timestamps, the mode has %.2f Hz", by_stamp, hz);
	EXPECT_TRUE(by_wall > hz * 0.5 && by_wall < hz * 1.5)
		TH_LOG("%.2f Hz by the clock, the mode has %.2f Hz", by_wall, hz);
}

/* Cursor and overlay ---------------------------------------------------------------------- */

/*
 * Moves plane @pl (@w x @h of framebuffer @fb) to each of @n positions with a nonblocking
 * commit and reads the position back.
 */
static void plane_moves(struct __test_metadata *_metadata, struct kms *k,
			const struct kms_plane *pl, __u32 fb, __u32 w, __u32 h,
			const int (*pos)[2], int n)
{
	struct req r;
	int i;

	for (i = 0; i < n; i++) {
		req_init(&r);
		req_plane(k, &r, pl, fb, w, h, pos[i][0], pos[i][1], w, h);
		ASSERT_EQ(0, req_commit(k->fd, &r, 0, 0)) TH_LOG("position %d,%d", pos[i][0],
								 pos[i][1]);
		EXPECT_EQ((__u64)(__s64)pos[i][0], plane_prop(k, pl, "CRTC_X"));
		EXPECT_EQ((__u64)(__s64)pos[i][1], plane_prop(k, pl, "CRTC_Y"));
		EXPECT_EQ((__u64)fb, plane_prop(k, pl, "FB_ID"));
		EXPECT_EQ((__u64)k->crtc, plane_prop(k, pl, "CRTC_ID"));
	}
}

/*
 * The cursor plane: on, moved around (also partly off the screen), flipped with an event,
 * moved with the legacy cursor ioctl, and off; the primary plane stays as it was.
 */
TEST_F(kms, cursor_plane)
{
	int W = K->mode.hdisplay, H = K->mode.vdisplay;
	const int pos[][2] = {
		{ 0, 0 }, { 100, 50 }, { W - CURSOR_SIZE, H - CURSOR_SIZE }, { -20, -30 },
		{ W - 10, H - 10 }, { W / 2, H / 2 },
	};
	struct drm_event_vblank ev;
	__u32 fb, cur[2];
	struct req r;

	if (!K->cursor.id)
		SKIP(return, "%s has no cursor plane", K->driver);
	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, fb_create(K, CURSOR_SIZE, CURSOR_SIZE, DRM_FORMAT_ARGB8888, &cur[0]));
	ASSERT_EQ(0, fb_create(K, CURSOR_SIZE, CURSOR_SIZE, DRM_FORMAT_ARGB8888, &cur[1]));
	plane_moves(_metadata, K, &K->cursor, cur[0], CURSOR_SIZE, CURSOR_SIZE, pos,
		    ARRAY_SIZE(pos));

	/* A flip of the cursor's image, with an event. */
	req_init(&r);
	req_add(&r, K->cursor.id, K->cursor.p.fb_id, cur[1]);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
				99));
	expect_flip_event(_metadata, K, 99, &ev);
	EXPECT_EQ((__u64)cur[1], plane_prop(K, &K->cursor, "FB_ID"));

	/* The legacy cursor ioctl moves the same plane. */
	EXPECT_EQ(0, drmModeMoveCursor(K->fd, K->crtc, 33, 44));
	EXPECT_EQ(33ULL, plane_prop(K, &K->cursor, "CRTC_X"));
	EXPECT_EQ(44ULL, plane_prop(K, &K->cursor, "CRTC_Y"));

	/* Off, the primary untouched. */
	req_init(&r);
	req_plane(K, &r, &K->cursor, 0, 0, 0, 0, 0, 0, 0);
	ASSERT_EQ(0, req_commit(K->fd, &r, 0, 0));
	EXPECT_EQ(0ULL, plane_prop(K, &K->cursor, "FB_ID"));
	EXPECT_EQ(0ULL, plane_prop(K, &K->cursor, "CRTC_ID"));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	expect_no_event(_metadata, K, 50);
}

/* The overlay plane: on over the primary, moved, flipped with an event, off. */
TEST_F(kms, overlay_plane)
{
	int W = K->mode.hdisplay, H = K->mode.vdisplay;
	const int pos[][2] = { { 0, 0 }, { 100, 100 }, { W - 256, H - 256 }, { W / 4, H / 3 } };
	struct drm_event_vblank ev;
	__u32 fb, ov[2];
	struct req r;

	if (!K->overlay.id)
		SKIP(return, "%s has no overlay plane", K->driver);
	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, fb_create(K, 256, 256, DRM_FORMAT_ARGB8888, &ov[0]));
	ASSERT_EQ(0, fb_create(K, 256, 256, DRM_FORMAT_XRGB8888, &ov[1]));
	plane_moves(_metadata, K, &K->overlay, ov[0], 256, 256, pos, ARRAY_SIZE(pos));
	req_init(&r);
	req_add(&r, K->overlay.id, K->overlay.p.fb_id, ov[1]);
	req_add(&r, K->primary.id, K->primary.p.fb_id, fb);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
				5));
	expect_flip_event(_metadata, K, 5, &ev);
	EXPECT_EQ((__u64)ov[1], plane_prop(K, &K->overlay, "FB_ID"));
	req_init(&r);
	req_plane(K, &r, &K->overlay, 0, 0, 0, 0, 0, 0, 0);
	ASSERT_EQ(0, req_commit(K->fd, &r, 0, 0));
	EXPECT_EQ(0ULL, plane_prop(K, &K->overlay, "FB_ID"));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
}

/* Bad input ------------------------------------------------------------------------------- */

/*
 * Unknown object ids are ENOENT everywhere: the GET ioctls, GETPROPERTIES, GETPROPERTY,
 * GETPROPBLOB, RMFB, GETFB, SETPLANE's framebuffer, a page flip's CRTC and framebuffer, and
 * in an atomic commit an unknown object, an object without properties (an encoder), and a
 * property the object does not have.
 */
TEST_F(kms, unknown_ids)
{
	struct drm_mode_get_blob blob = { .blob_id = BOGUS_ID };
	struct drm_mode_fb_cmd getfb = { .fb_id = BOGUS_ID };
	struct drm_mode_get_property gp = { .prop_id = BOGUS_ID };
	struct drm_mode_obj_get_properties op = {
		.obj_id = BOGUS_ID, .obj_type = DRM_MODE_OBJECT_ANY,
	};
	struct drm_mode_crtc crtc = { .crtc_id = BOGUS_ID };
	struct drm_mode_get_plane plane = { .plane_id = BOGUS_ID };
	struct drm_mode_get_encoder enc = { .encoder_id = BOGUS_ID };
	struct drm_mode_get_connector conn = { .connector_id = BOGUS_ID };
	drmModeConnectorPtr c = drmModeGetConnector(K->fd, K->conn);
	__u32 fb, encoder;
	struct req r;

	ASSERT_NE(NULL, c);
	encoder = c->encoders[0];
	drmModeFreeConnector(c);
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETCRTC, &crtc));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETPLANE, &plane));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETENCODER, &enc));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETCONNECTOR, &conn));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETPROPERTY, &gp));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETPROPBLOB, &blob));
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETFB, &getfb));
	EXPECT_EQ(-ENOENT, drmModeRmFB(K->fd, BOGUS_ID));
	/* An id of the wrong type is unknown too. */
	crtc.crtc_id = K->conn;
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETCRTC, &crtc));
	plane.plane_id = K->crtc;
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETPLANE, &plane));
	op.obj_id = K->crtc;
	op.obj_type = DRM_MODE_OBJECT_PLANE;
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op));

	ASSERT_EQ(0, kms_enable(K, &fb));
	EXPECT_EQ(-ENOENT, drmModePageFlip(K->fd, K->crtc, BOGUS_ID, 0, NULL));
	EXPECT_EQ(-ENOENT, drmModePageFlip(K->fd, BOGUS_ID, fb, 0, NULL));
	EXPECT_EQ(-ENOENT, drmModeSetPlane(K->fd, K->primary.id, K->crtc, BOGUS_ID, 0, 0, 0,
					   K->mode.hdisplay, K->mode.vdisplay, 0, 0,
					   K->mode.hdisplay << 16, K->mode.vdisplay << 16));
	EXPECT_EQ(-ENOENT, drmModeSetPlane(K->fd, BOGUS_ID, K->crtc, fb, 0, 0, 0,
					   K->mode.hdisplay, K->mode.vdisplay, 0, 0,
					   K->mode.hdisplay << 16, K->mode.vdisplay << 16));

	/* Atomic: an unknown object, with and without TEST_ONLY. */
	EXPECT_EQ(-ENOENT, commit1(K->fd, BOGUS_ID, K->primary.p.fb_id, fb, 0));
	EXPECT_EQ(-ENOENT, commit1(K->fd, BOGUS_ID, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_TEST_ONLY));
	/* An object without properties. */
	EXPECT_EQ(-ENOENT, commit1(K->fd, encoder, K->primary.p.fb_id, fb, 0));
	/* An unknown property; a property of another object. */
	EXPECT_EQ(-ENOENT, commit1(K->fd, K->primary.id, BOGUS_ID, fb, 0));
	EXPECT_EQ(-ENOENT, commit1(K->fd, K->primary.id, K->active, 1, 0));
	EXPECT_EQ(-ENOENT, commit1(K->fd, K->crtc, K->primary.p.fb_id, fb, 0));
	/* The good part of a request does not happen when a later part fails. */
	req_init(&r);
	req_add(&r, K->crtc, K->active, 0);
	req_add(&r, BOGUS_ID, K->active, 0);
	EXPECT_EQ(-ENOENT, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
}

/*
 * Framebuffers of another file: their ids are the device's, so a master may show one (as the
 * core allows); it cannot remove it (RMFB: ENOENT). Once the other file is closed, its
 * framebuffers are gone, the plane showing one is cleared, and the id is unknown: a commit
 * using it is EINVAL (atomic property value), a legacy flip, SETPLANE, GETFB and RMFB ENOENT.
 */
TEST_F(kms, fb_of_other_file)
{
	struct drm_mode_create_dumb dumb;
	struct drm_mode_fb_cmd getfb = {};
	__u32 handles[4] = {}, pitches[4] = {}, offsets[4] = {};
	__u32 fb, other_fb;
	struct req r;
	int other;

	ASSERT_NE(0, K->path[0]);
	other = open(K->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, vrust_dumb_create(other, K->mode.hdisplay, K->mode.vdisplay, 32, &dumb));
	handles[0] = dumb.handle;
	pitches[0] = dumb.pitch;
	ASSERT_EQ(0, drmModeAddFB2(other, K->mode.hdisplay, K->mode.vdisplay, DRM_FORMAT_XRGB8888,
				   handles, pitches, offsets, &other_fb, 0));
	ASSERT_EQ(0, kms_enable(K, &fb));

	EXPECT_EQ(-ENOENT, drmModeRmFB(K->fd, other_fb));
	EXPECT_EQ(0, commit1(K->fd, K->primary.id, K->primary.p.fb_id, other_fb, 0));
	EXPECT_EQ((__u64)other_fb, plane_prop(K, &K->primary, "FB_ID"));

	/* The other file goes, and its framebuffer with it. */
	close(other);
	EXPECT_EQ(0ULL, plane_prop(K, &K->primary, "FB_ID"));
	ASSERT_EQ(0, kms_disable(K));
	req_init(&r);
	req_enable(K, &r, other_fb, K->mode_blob, &K->mode);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET |
				      DRM_MODE_ATOMIC_TEST_ONLY, 0));
	expect_off(_metadata, K);
	req_init(&r);
	req_enable(K, &r, fb, K->mode_blob, &K->mode);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, other_fb,
				   DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	EXPECT_EQ(-ENOENT, drmModePageFlip(K->fd, K->crtc, other_fb, DRM_MODE_PAGE_FLIP_EVENT,
					   NULL));
	EXPECT_EQ(-ENOENT, drmModeSetPlane(K->fd, K->primary.id, K->crtc, other_fb, 0, 0, 0,
					   K->mode.hdisplay, K->mode.vdisplay, 0, 0,
					   K->mode.hdisplay << 16, K->mode.vdisplay << 16));
	getfb.fb_id = other_fb;
	EXPECT_EQ(-ENOENT, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETFB, &getfb));
	EXPECT_EQ(-ENOENT, drmModeRmFB(K->fd, other_fb));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	expect_no_event(_metadata, K, 50);
}

/* ADDFB2 of one plane of @handle with the given geometry; 0 (and the fb removed) or -errno. */
static int addfb2(int fd, __u32 w, __u32 h, __u32 format, __u32 handle, __u32 pitch,
		  __u32 offset, __u32 flags, __u64 modifier)
{
	struct drm_mode_fb_cmd2 cmd = {
		.width = w, .height = h, .pixel_format = format, .flags = flags,
		.handles = { handle }, .pitches = { pitch }, .offsets = { offset },
		.modifier = { modifier },
	};
	int ret = vrust_ioctl(fd, DRM_IOCTL_MODE_ADDFB2, &cmd);

	if (!ret)
		drmModeRmFB(fd, cmd.fb_id);
	return ret;
}

/* ADDFB2 of @cmd; 0 (and the fb removed) or -errno. */
static int addfb2_cmd(int fd, struct drm_mode_fb_cmd2 *cmd)
{
	int ret = vrust_ioctl(fd, DRM_IOCTL_MODE_ADDFB2, cmd);

	if (!ret)
		drmModeRmFB(fd, cmd->fb_id);
	return ret;
}

/* A known format no plane of the device supports, or 0. */
static __u32 unsupported_format(int fd)
{
	static const __u32 candidates[] = {
		DRM_FORMAT_C8, DRM_FORMAT_XRGB2101010, DRM_FORMAT_Y210, DRM_FORMAT_XYUV8888,
		DRM_FORMAT_RGBX1010102, DRM_FORMAT_VUY888,
	};
	drmModePlaneResPtr pres = drmModeGetPlaneResources(fd);
	__u32 i, j, f, found = 0;

	for (i = 0; pres && i < ARRAY_SIZE(candidates) && !found; i++) {
		bool used = false;

		for (j = 0; j < pres->count_planes && !used; j++) {
			drmModePlanePtr p = drmModeGetPlane(fd, pres->planes[j]);

			for (f = 0; p && f < p->count_formats; f++)
				used |= p->formats[f] == candidates[i];
			drmModeFreePlane(p);
		}
		if (!used)
			found = candidates[i];
	}
	drmModeFreePlaneResources(pres);
	return found;
}

/*
 * ADDFB2 refuses, each with its errno: a buffer too small for the geometry, a pitch below the
 * width, an offset past the buffer (EINVAL), a pitch or offset that overflows 32 bits of
 * height * pitch + offset (ERANGE), an unknown or unsupported format, a modifier without the
 * flag, an unsupported modifier, data for an unused plane, a zero handle, a zero or too large
 * size, unknown flags (EINVAL), and an unknown handle (ENOENT). The valid one works.
 */
TEST_F(kms, addfb2_bad)
{
	drmModeResPtr res = drmModeGetResources(K->fd);
	struct drm_mode_create_dumb dumb;
	struct drm_mode_destroy_dumb destroy;
	struct drm_mode_card_res cr = {};
	struct drm_mode_fb_cmd2 cmd;
	__u32 h, p, unsup, max_w;
	int i;
	uint64_t cap = 0;

	ASSERT_NE(NULL, res);
	max_w = res->max_width;
	drmModeFreeResources(res);
	/* 64 x 64 at 32 bpp. */
	ASSERT_EQ(0, vrust_dumb_create(K->fd, 64, 64, 32, &dumb));
	h = dumb.handle;
	p = dumb.pitch;
	destroy = (struct drm_mode_destroy_dumb){ .handle = h };
	ASSERT_LE(256U, p);
	ASSERT_EQ(0, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0, 0));

	/* Too small: more lines, a larger pitch, an offset. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 65 + dumb.size / p - 64, DRM_FORMAT_XRGB8888, h, p,
				  0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p * 2, 0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, dumb.size, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 4096, 0, 0));
	/* A pitch below width * 4, and zero. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, 64 * 4 - 4, 0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, 0, 0, 0, 0));
	/* Overflowing: height * pitch, and + offset, past 32 bits. */
	EXPECT_EQ(-ERANGE, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, 0x4000000, 0, 0, 0));
	EXPECT_EQ(-ERANGE, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0xffffff00u, 0, 0));
	EXPECT_EQ(-ERANGE, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, 0xfffffffcu, 0, 0, 0));
	/* Formats: unknown, and known but unsupported. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, fourcc_code('N', 'O', 'P', 'E'), h, p, 0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, 0, h, p, 0, 0, 0));
	unsup = unsupported_format(K->fd);
	EXPECT_NE(0U, unsup);
	if (unsup)
		EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, unsup, h, p, 0, 0, 0))
			TH_LOG("format %.4s", (char *)&unsup);
	/* Modifiers: without the flag, and unsupported. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0,
				  I915_FORMAT_MOD_X_TILED));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0,
				  DRM_MODE_FB_MODIFIERS, I915_FORMAT_MOD_X_TILED));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0,
				  DRM_MODE_FB_MODIFIERS, DRM_FORMAT_MOD_INVALID));
	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_ADDFB2_MODIFIERS, &cap));
	EXPECT_EQ(cap ? 0 : -EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0,
					    DRM_MODE_FB_MODIFIERS, DRM_FORMAT_MOD_LINEAR));
	/*
	 * Data for a plane the format does not have: a modifier is refused; handles, pitches
	 * and offsets are refused with DRM_MODE_FB_MODIFIERS, and ignored without it (old
	 * userspace left them uninitialised).
	 */
	cmd = (struct drm_mode_fb_cmd2){
		.width = 64, .height = 64, .pixel_format = DRM_FORMAT_XRGB8888,
		.handles = { h }, .pitches = { p }, .modifier = { 0, I915_FORMAT_MOD_X_TILED },
	};
	EXPECT_EQ(-EINVAL, addfb2_cmd(K->fd, &cmd));
	for (i = 0; i < 3; i++) {
		cmd = (struct drm_mode_fb_cmd2){
			.width = 64, .height = 64, .pixel_format = DRM_FORMAT_XRGB8888,
			.handles = { h }, .pitches = { p },
		};
		if (i == 0)
			cmd.handles[1] = h;
		else if (i == 1)
			cmd.pitches[2] = p;
		else
			cmd.offsets[3] = 64;
		EXPECT_EQ(0, addfb2_cmd(K->fd, &cmd)) TH_LOG("unused plane data %d", i);
		if (cap) {
			cmd.flags = DRM_MODE_FB_MODIFIERS;
			EXPECT_EQ(-EINVAL, addfb2_cmd(K->fd, &cmd))
				TH_LOG("unused plane data %d", i);
		}
	}
	/* Handles. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, 0, p, 0, 0, 0));
	EXPECT_EQ(-ENOENT, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, BOGUS_ID, p, 0, 0, 0));
	/* Sizes. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 0, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 0, DRM_FORMAT_XRGB8888, h, p, 0, 0, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, max_w + 1, 1, DRM_FORMAT_XRGB8888, h, p, 0, 0, 0));
	/* Flags. */
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0x80, 0));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0x80000000u, 0));

	/* None of it left a framebuffer behind; the good one still works. */
	ASSERT_EQ(0, addfb2(K->fd, 64, 64, DRM_FORMAT_XRGB8888, h, p, 0, 0, 0));
	ASSERT_EQ(0, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETRESOURCES, &cr));
	EXPECT_EQ(0U, cr.count_fbs);
	EXPECT_EQ(0, vrust_ioctl(K->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy));
}

/*
 * vrust only: ADDFB2 over vrust's own GEM buffers (GEM_CREATE) works and the framebuffer can be
 * flipped to; one too small is EINVAL.
 */
TEST_F(kms, addfb2_vrust_gem)
{
	__u32 pitch = K->mode.hdisplay * 4, bo, small, fb, fb2;
	__u64 size = (__u64)pitch * K->mode.vdisplay;
	struct drm_event_vblank ev;

	if (!variant->vrust)
		SKIP(return, "%s has no vrust GEM buffers", K->driver);
	ASSERT_EQ(0, vrust_gem_create(K->fd, size, 0, &bo));
	ASSERT_EQ(0, vrust_gem_create(K->fd, size / 2, 0, &small));
	EXPECT_EQ(-EINVAL, addfb2(K->fd, K->mode.hdisplay, K->mode.vdisplay, DRM_FORMAT_XRGB8888,
				  small, pitch, 0, 0, 0));
	{
		__u32 handles[4] = { bo }, pitches[4] = { pitch }, offsets[4] = {};

		ASSERT_EQ(0, drmModeAddFB2(K->fd, K->mode.hdisplay, K->mode.vdisplay,
					   DRM_FORMAT_XRGB8888, handles, pitches, offsets,
					   &fb2, 0));
	}
	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
			     DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	expect_flip_event(_metadata, K, 0, &ev);
	EXPECT_EQ((__u64)fb2, plane_prop(K, &K->primary, "FB_ID"));
	/* The framebuffer holds the buffer: closing the handle does not take it away. */
	EXPECT_EQ(0, vrust_gem_close(K->fd, bo));
	ASSERT_EQ(0, drmModePageFlip(K->fd, K->crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, NULL));
	expect_flip_event(_metadata, K, 0, &ev);
	ASSERT_EQ(0, drmModePageFlip(K->fd, K->crtc, fb2, DRM_MODE_PAGE_FLIP_EVENT, NULL));
	expect_flip_event(_metadata, K, 0, &ev);
	ASSERT_EQ(0, kms_disable(K));
	EXPECT_EQ(0, drmModeRmFB(K->fd, fb2));
	EXPECT_EQ(0, vrust_gem_close(K->fd, small));
}

/*
 * A value outside what a property allows, and the names it goes by: for every settable
 * property of the CRTC, the connector and the primary plane, a value past its range, outside
 * its enum or bitmask, or an unknown blob or object id, is EINVAL, as is setting an immutable
 * property (even to its value); and by name: rotation with two rotations or an unknown bit,
 * alpha above 0xffff, CRTC_ID of a nonexistent CRTC or of a non-CRTC object, MODE_ID of a blob
 * that is no mode. Nothing changes.
 */
TEST_F(kms, property_out_of_range)
{
	const struct { __u32 obj, type; } objs[] = {
		{ K->crtc, DRM_MODE_OBJECT_CRTC },
		{ K->conn, DRM_MODE_OBJECT_CONNECTOR },
		{ K->primary.id, DRM_MODE_OBJECT_PLANE },
	};
	__u32 fb, id, blob, o, i, j, tested = 0;
	__u64 v;
	int ret;

	ASSERT_EQ(0, kms_enable(K, &fb));
	for (o = 0; o < ARRAY_SIZE(objs); o++) {
		drmModeObjectPropertiesPtr props =
			drmModeObjectGetProperties(K->fd, objs[o].obj, objs[o].type);

		ASSERT_NE(NULL, props);
		for (i = 0; i < props->count_props; i++) {
			drmModePropertyPtr p = drmModeGetProperty(K->fd, props->props[i]);
			bool have = true;
			__u64 bad = 0;

			ASSERT_NE(NULL, p);
			if (p->flags & DRM_MODE_PROP_IMMUTABLE) {
				bad = props->prop_values[i];
			} else if (drm_property_type_is(p, DRM_MODE_PROP_RANGE)) {
				if (p->values[1] != ~0ULL)
					bad = p->values[1] + 1;
				else if (p->values[0])
					bad = p->values[0] - 1;
				else
					have = false;
			} else if (drm_property_type_is(p, DRM_MODE_PROP_SIGNED_RANGE)) {
				if ((__s64)p->values[1] != INT64_MAX)
					bad = p->values[1] + 1;
				else
					have = false;
			} else if (drm_property_type_is(p, DRM_MODE_PROP_ENUM)) {
				for (j = 0; j < (__u32)p->count_enums; j++)
					if (p->enums[j].value >= bad)
						bad = p->enums[j].value + 1;
			} else if (drm_property_type_is(p, DRM_MODE_PROP_BITMASK)) {
				__u64 mask = 0;

				for (j = 0; j < (__u32)p->count_enums; j++)
					mask |= 1ULL << p->enums[j].value;
				have = ~mask != 0;
				bad = have ? ~mask & -~mask : 0;
			} else if (drm_property_type_is(p, DRM_MODE_PROP_BLOB) ||
				   drm_property_type_is(p, DRM_MODE_PROP_OBJECT)) {
				bad = BOGUS_ID;
			} else {
				have = false;
			}
			if (have) {
				ret = commit1(K->fd, objs[o].obj, p->prop_id, bad,
					      DRM_MODE_ATOMIC_TEST_ONLY |
					      DRM_MODE_ATOMIC_ALLOW_MODESET);
				EXPECT_EQ(-EINVAL, ret) TH_LOG("object %u property %s = %#llx",
							       objs[o].obj, p->name,
							       (unsigned long long)bad);
				ret = commit1(K->fd, objs[o].obj, p->prop_id, bad,
					      DRM_MODE_ATOMIC_ALLOW_MODESET);
				EXPECT_EQ(-EINVAL, ret) TH_LOG("object %u property %s = %#llx",
							       objs[o].obj, p->name,
							       (unsigned long long)bad);
				tested++;
			}
			drmModeFreeProperty(p);
		}
		drmModeFreeObjectProperties(props);
	}
	ksft_print_msg("%u properties tested with a value they do not allow\n", tested);
	EXPECT_LE(10U, tested);

	/* By name. */
	if (!prop_find(K->fd, K->primary.id, DRM_MODE_OBJECT_PLANE, "rotation", &id, &v)) {
		EXPECT_EQ((__u64)DRM_MODE_ROTATE_0, v);
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, id,
					   DRM_MODE_ROTATE_0 | DRM_MODE_ROTATE_180, 0));
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, id, 1ULL << 40, 0));
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, id, 0, 0));
	}
	if (!prop_find(K->fd, K->primary.id, DRM_MODE_OBJECT_PLANE, "alpha", &id, NULL))
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, id, 0x10000, 0));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.crtc_id, BOGUS_ID, 0));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.crtc_id, K->conn, 0));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->conn, K->conn_crtc, BOGUS_ID,
				   DRM_MODE_ATOMIC_ALLOW_MODESET));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->conn, K->conn_crtc, K->primary.id,
				   DRM_MODE_ATOMIC_ALLOW_MODESET));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, K->crtc, 0));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->crtc, K->mode_id, BOGUS_ID,
				   DRM_MODE_ATOMIC_ALLOW_MODESET));
	{
		char junk[7] = "abcdef";

		ASSERT_EQ(0, drmModeCreatePropertyBlob(K->fd, junk, sizeof(junk), &blob));
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->crtc, K->mode_id, blob,
					   DRM_MODE_ATOMIC_ALLOW_MODESET));
		EXPECT_EQ(0, drmModeDestroyPropertyBlob(K->fd, blob));
	}
	/* A mode blob with a nonsense mode. */
	{
		drmModeModeInfo m = K->mode;

		m.htotal = m.hdisplay - 1;
		ASSERT_EQ(0, drmModeCreatePropertyBlob(K->fd, &m, sizeof(m), &blob));
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->crtc, K->mode_id, blob,
					   DRM_MODE_ATOMIC_ALLOW_MODESET));
		EXPECT_EQ(0, drmModeDestroyPropertyBlob(K->fd, blob));
	}
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	expect_no_event(_metadata, K, 50);
}

/*
 * Flips on a CRTC that is off. With no framebuffer on the primary plane: a legacy flip is
 * EBUSY (the core's answer to a flip before the first modeset), an atomic commit asking for an
 * event EINVAL. With the CRTC inactive but its mode and framebuffer kept (DPMS off): atomic and
 * legacy flips are EINVAL, with or without an event, and so is WAIT_VBLANK. Nothing turns on,
 * and no event comes.
 */
TEST_F(kms, flip_disabled_crtc)
{
	__u32 fb;
	struct req r;

	ASSERT_EQ(0, fb_mode(K, &fb));
	EXPECT_EQ(-EBUSY, drmModePageFlip(K->fd, K->crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, NULL));
	EXPECT_EQ(-EBUSY, drmModePageFlip(K->fd, K->crtc, fb, 0, NULL));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->crtc, K->active, 0,
				   DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->crtc, K->active, 0, DRM_MODE_PAGE_FLIP_EVENT));
	req_init(&r);
	req_plane(K, &r, &K->primary, fb, K->mode.hdisplay, K->mode.vdisplay, 0, 0,
		  K->mode.hdisplay, K->mode.vdisplay);
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, DRM_MODE_ATOMIC_NONBLOCK |
				      DRM_MODE_PAGE_FLIP_EVENT, 0));
	expect_off(_metadata, K);

	/* DPMS off. */
	req_init(&r);
	req_enable(K, &r, fb, K->mode_blob, &K->mode);
	ASSERT_EQ(0, req_commit(K->fd, &r, DRM_MODE_ATOMIC_ALLOW_MODESET, 0));
	ASSERT_EQ(0, commit1(K->fd, K->crtc, K->active, 0, DRM_MODE_ATOMIC_ALLOW_MODESET));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_PAGE_FLIP_EVENT));
	EXPECT_EQ(-EINVAL, drmModePageFlip(K->fd, K->crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, NULL));
	EXPECT_EQ(-EINVAL, drmModePageFlip(K->fd, K->crtc, fb, 0, NULL));
	EXPECT_EQ(-EINVAL, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, NULL));
	EXPECT_EQ(-EINVAL, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 1, 1, NULL));
	EXPECT_EQ(0ULL, crtc_prop(K, "ACTIVE"));
	EXPECT_EQ((__u64)K->mode_blob, crtc_prop(K, "MODE_ID"));
	expect_no_event(_metadata, K, 100);
}

/*
 * The atomic ioctl needs the atomic cap: a master without it gets EINVAL, also for TEST_ONLY;
 * a file that is not master gets EACCES; legacy ioctls still work without the cap.
 */
TEST_F(kms, non_atomic_client)
{
	__u32 fb;
	int other;

	ASSERT_EQ(0, kms_enable(K, &fb));
	other = open(K->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, other);
	/* Not master. */
	EXPECT_EQ(0, set_cap(other, DRM_CLIENT_CAP_ATOMIC, 1));
	EXPECT_EQ(-EACCES, commit1(other, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_TEST_ONLY));
	EXPECT_EQ(0, set_cap(other, DRM_CLIENT_CAP_ATOMIC, 0));
	/* Master, without the cap. */
	ASSERT_EQ(0, drmDropMaster(K->fd));
	ASSERT_EQ(0, drmSetMaster(other));
	EXPECT_EQ(-EINVAL, commit1(other, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_TEST_ONLY));
	EXPECT_EQ(-EINVAL, commit1(other, K->primary.id, K->primary.p.fb_id, fb, 0));
	/* The legacy path works. */
	EXPECT_EQ(0, drmModePageFlip(other, K->crtc, fb, 0, NULL));
	/* With the cap, the same commit is fine. */
	EXPECT_EQ(0, set_cap(other, DRM_CLIENT_CAP_ATOMIC, 1));
	EXPECT_EQ(0, commit1(other, K->primary.id, K->primary.p.fb_id, fb,
			     DRM_MODE_ATOMIC_TEST_ONLY));
	/* The cap takes only 0, 1 and 2. */
	EXPECT_EQ(-EINVAL, set_cap(other, DRM_CLIENT_CAP_ATOMIC, 3));
	EXPECT_EQ(0, drmDropMaster(other));
	close(other);
	ASSERT_EQ(0, drmSetMaster(K->fd));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
}

/*
 * Flags the ioctls do not know, or combinations they refuse, are EINVAL: atomic unknown flags,
 * a reserved field, ASYNC without the driver's support, TEST_ONLY with an event; legacy flips
 * with unknown flags, a target sequence without a target flag, both target flags, ASYNC
 * without support.
 */
TEST_F(kms, bad_flags)
{
	__u32 fb, fb2;
	uint64_t async = 0;
	struct req r;
	struct drm_mode_crtc_page_flip_target flip;

	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, fb_mode(K, &fb2));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2, 0x8000));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2, 0x80000000u));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
				   DRM_MODE_PAGE_FLIP_TARGET_ABSOLUTE));
	EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
				   DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_EVENT));
	req_init(&r);
	req_add(&r, K->primary.id, K->primary.p.fb_id, fb2);
	r.reserved = 1;
	EXPECT_EQ(-EINVAL, req_commit(K->fd, &r, 0, 0));
	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP, &async));
	if (!async)
		EXPECT_EQ(-EINVAL, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
					   DRM_MODE_PAGE_FLIP_ASYNC | DRM_MODE_ATOMIC_NONBLOCK));

	EXPECT_EQ(-EINVAL, drmModePageFlip(K->fd, K->crtc, fb2, 0x80, NULL));
	EXPECT_EQ(-EINVAL, drmModePageFlip(K->fd, K->crtc, fb2, DRM_MODE_ATOMIC_TEST_ONLY, NULL));
	memset(&flip, 0, sizeof(flip));
	flip.crtc_id = K->crtc;
	flip.fb_id = fb2;
	flip.flags = DRM_MODE_PAGE_FLIP_EVENT;
	flip.sequence = 5;
	EXPECT_EQ(-EINVAL, vrust_ioctl(K->fd, DRM_IOCTL_MODE_PAGE_FLIP, &flip));
	flip.flags = DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_PAGE_FLIP_TARGET;
	EXPECT_EQ(-EINVAL, vrust_ioctl(K->fd, DRM_IOCTL_MODE_PAGE_FLIP, &flip));
	EXPECT_EQ(0, drmGetCap(K->fd, DRM_CAP_ASYNC_PAGE_FLIP, &async));
	if (!async)
		EXPECT_EQ(-EINVAL, drmModePageFlip(K->fd, K->crtc, fb2, DRM_MODE_PAGE_FLIP_ASYNC,
						   NULL));
	expect_on(_metadata, K, fb, K->mode_blob, &K->mode);
	expect_no_event(_metadata, K, 100);
}

/* Unplug ---------------------------------------------------------------------------------- */

/*
 * vrust only: the instance is unplugged while its master has a flip pending; the unplug
 * completes, every later ioctl of the file is ENODEV, the pending event either comes or not
 * (but nothing else does), and the file closes cleanly.
 */
/* Hotplug ---------------------------------------------------------------------------------- */

/*
 * vrust's connector follows the instance's "connected" attribute: a change sends a hotplug
 * uevent for the card, and a probe then sees the new status (and no modes while disconnected);
 * writing the same value again sends none; a bad value is EINVAL.
 */
TEST_F(kms, hotplug)
{
	char attr[160], devname[64];
	int ue, modes = -1;

	if (!variant->vrust)
		SKIP(return, "%s's connector status is not set by the test", K->driver);
	snprintf(attr, sizeof(attr), "%s/%s/connected", VRUST_CONFIGFS, K->vc.inst.name);
	snprintf(devname, sizeof(devname), "%s", K->path + strlen("/dev/"));
	ue = vrust_uevent_open();
	ASSERT_LE(0, ue) TH_LOG("uevent socket: %s", strerror(-ue));

	EXPECT_EQ((int)DRM_MODE_CONNECTED, vrust_connector_status(K->fd, K->conn, &modes));
	EXPECT_LT(0, modes);
	ASSERT_EQ(0, vrust_write_file(attr, "0"));
	EXPECT_TRUE(vrust_hotplug_uevent(ue, devname, EVENT_MS))
		TH_LOG("no hotplug uevent for %s", devname);
	EXPECT_EQ((int)DRM_MODE_DISCONNECTED, vrust_connector_status(K->fd, K->conn, &modes));
	EXPECT_EQ(0, modes);

	/* The same value again: no change, no event. */
	ASSERT_EQ(0, vrust_write_file(attr, "0"));
	EXPECT_FALSE(vrust_hotplug_uevent(ue, devname, 300));
	EXPECT_EQ(-EINVAL, vrust_write_file(attr, "2"));

	ASSERT_EQ(0, vrust_write_file(attr, "1"));
	EXPECT_TRUE(vrust_hotplug_uevent(ue, devname, EVENT_MS))
		TH_LOG("no hotplug uevent for %s", devname);
	EXPECT_EQ((int)DRM_MODE_CONNECTED, vrust_connector_status(K->fd, K->conn, &modes));
	EXPECT_LT(0, modes);
	close(ue);
}

TEST_F(kms, unplug_pending_flip)
{
	struct drm_get_cap gc = { .capability = DRM_CAP_DUMB_BUFFER };
	struct drm_mode_card_res cr = {};
	struct drm_crtc_get_sequence gs;
	union kms_event ev;
	__u32 fb, fb2;
	double t0;
	int ret, events = 0;

	if (!variant->vrust)
		SKIP(return,
		     "%s does not unplug its devices (drm_dev_unregister() leaves open files working)",
		     K->driver);
	ASSERT_EQ(0, kms_enable(K, &fb));
	ASSERT_EQ(0, fb_mode(K, &fb2));
	ASSERT_EQ(0, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb2,
			     DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	t0 = vrust_now_s();
	ASSERT_EQ(0, vrust_instance_enable(&K->vc.inst, false));
	ksft_print_msg("unplug with a flip pending took %.1f ms\n", (vrust_now_s() - t0) * 1000);

	EXPECT_EQ(-ENODEV, vrust_ioctl(K->fd, DRM_IOCTL_MODE_GETRESOURCES, &cr));
	EXPECT_EQ(-ENODEV, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT));
	EXPECT_EQ(-ENODEV, commit1(K->fd, K->primary.id, K->primary.p.fb_id, fb,
				   DRM_MODE_ATOMIC_TEST_ONLY));
	EXPECT_EQ(-ENODEV, drmModePageFlip(K->fd, K->crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, NULL));
	EXPECT_EQ(-ENODEV, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, NULL));
	EXPECT_EQ(-ENODEV, get_sequence(K->fd, K->crtc, &gs));
	EXPECT_EQ(-ENODEV, queue_sequence(K->fd, K->crtc, DRM_CRTC_SEQUENCE_RELATIVE, 1, 1, NULL));
	EXPECT_EQ(-ENODEV, drmModeRmFB(K->fd, fb2));
	EXPECT_EQ(-ENODEV, vrust_ioctl(K->fd, DRM_IOCTL_GET_CAP, &gc));
	/* The pending flip's event, at most. */
	while ((ret = event_next(K, &ev, 300)) == 1) {
		events++;
		EXPECT_EQ((__u32)DRM_EVENT_FLIP_COMPLETE, ev.base.type);
		EXPECT_EQ(K->crtc, ev.vbl.crtc_id);
	}
	EXPECT_EQ(0, ret);
	EXPECT_GE(1, events);
	ksft_print_msg("%d flip event(s) after the unplug\n", events);
	/* The framebuffers went with the device; close is clean. */
	K->nfbs = 0;
	K->mode_blob = 0;
	EXPECT_EQ(0, close(K->fd));
	K->fd = -1;
	K->vc.card = -1;
}

/* Threads --------------------------------------------------------------------------------- */

struct thread_ctx {
	struct kms *k;
	__u32 fbs[3];
	atomic_bool stop;
	atomic_uint bad;
	atomic_uint hang;
	unsigned int flips, flip_busy, events, seq_back;
	unsigned int tests, test_busy, commits, commit_busy;
	char msg[160];
};

static void thread_bad(struct thread_ctx *c, const char *what, int ret)
{
	if (atomic_fetch_add(&c->bad, 1) == 0)
		snprintf(c->msg, sizeof(c->msg), "%s: %s", what, vrust_errname(-ret));
}

/* Nonblocking flips with events, each waited for. */
static void *flipper(void *arg)
{
	struct thread_ctx *c = arg;
	struct kms *k = c->k;
	__u32 last_seq = 0, i = 0;
	union kms_event ev;
	struct req r;
	int ret;

	while (!atomic_load(&c->stop)) {
		req_init(&r);
		req_add(&r, k->primary.id, k->primary.p.fb_id, c->fbs[i++ % 2]);
		ret = req_commit(k->fd, &r, DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
				 1000 + i);
		if (ret == -EBUSY) {
			c->flip_busy++;
			usleep(1000);
			continue;
		}
		if (ret) {
			thread_bad(c, "flip", ret);
			break;
		}
		c->flips++;
		ret = event_next(k, &ev, EVENT_MS);
		if (ret != 1) {
			atomic_fetch_add(&c->hang, 1);
			thread_bad(c, "no flip event", ret ? ret : -ETIMEDOUT);
			break;
		}
		if (ev.base.type != DRM_EVENT_FLIP_COMPLETE || ev.vbl.user_data != 1000 + i ||
		    ev.vbl.crtc_id != k->crtc) {
			thread_bad(c, "wrong event", -EPROTO);
			break;
		}
		if (last_seq && ev.vbl.sequence <= last_seq)
			c->seq_back++;
		last_seq = ev.vbl.sequence;
		c->events++;
	}
	return NULL;
}

/* TEST_ONLY commits, nonblocking and blocking commits without events, legacy flips. */
static void *tester(void *arg)
{
	struct thread_ctx *c = arg;
	struct kms *k = c->k;
	unsigned int i = 0;
	struct req r;
	int ret;

	while (!atomic_load(&c->stop)) {
		unsigned int what = i++ % 8;
		__u32 fb = c->fbs[2 - (i / 8) % 2];

		if (what < 5) {
			req_init(&r);
			req_add(&r, k->primary.id, k->primary.p.fb_id, c->fbs[what % 3]);
			ret = req_commit(k->fd, &r, DRM_MODE_ATOMIC_TEST_ONLY, 0);
			c->tests++;
			if (ret == -EBUSY)
				c->test_busy++;
			else if (ret)
				thread_bad(c, "TEST_ONLY", ret);
			continue;
		}
		if (what == 5) {
			req_init(&r);
			req_add(&r, k->primary.id, k->primary.p.fb_id, fb);
			ret = req_commit(k->fd, &r, DRM_MODE_ATOMIC_NONBLOCK, 0);
		} else if (what == 6) {
			req_init(&r);
			req_add(&r, k->primary.id, k->primary.p.fb_id, fb);
			ret = req_commit(k->fd, &r, 0, 0);
		} else {
			ret = drmModePageFlip(k->fd, k->crtc, fb, 0, NULL);
		}
		c->commits++;
		if (ret == -EBUSY)
			c->commit_busy++;
		else if (ret)
			thread_bad(c, "commit", ret);
	}
	return NULL;
}

/*
 * Two threads share the master file: one flips with events and waits for each, the other
 * makes TEST_ONLY commits, nonblocking and blocking commits and legacy flips. Every call
 * returns 0 or EBUSY, every accepted flip gets its event in order, and neither thread hangs.
 */
TEST_F_TIMEOUT(kms, threads, 120)
{
	unsigned int ms = vrust_env_u64("VRUST_KMS_THREAD_MS", 2000);
	static struct thread_ctx c;
	struct timespec deadline;
	pthread_t tf, tt;
	int jf, jt;

	memset(&c, 0, sizeof(c));
	c.k = K;
	ASSERT_EQ(0, kms_enable(K, &c.fbs[0]));
	ASSERT_EQ(0, fb_mode(K, &c.fbs[1]));
	ASSERT_EQ(0, fb_mode(K, &c.fbs[2]));
	ASSERT_EQ(0, pthread_create(&tf, NULL, flipper, &c));
	ASSERT_EQ(0, pthread_create(&tt, NULL, tester, &c));
	vrust_sleep_ms(ms);
	atomic_store(&c.stop, true);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	jf = pthread_timedjoin_np(tf, NULL, &deadline);
	jt = pthread_timedjoin_np(tt, NULL, &deadline);
	ASSERT_EQ(0, jf) TH_LOG("the flipping thread hangs");
	ASSERT_EQ(0, jt) TH_LOG("the committing thread hangs");
	ksft_print_msg("%u flips (%u EBUSY), %u events; "
		       "%u TEST_ONLY (%u EBUSY), %u other commits (%u EBUSY)\n",
		       c.flips, c.flip_busy, c.events, c.tests, c.test_busy, c.commits,
		       c.commit_busy);
	EXPECT_EQ(0U, atomic_load(&c.bad)) TH_LOG("%s", c.msg);
	EXPECT_EQ(0U, atomic_load(&c.hang));
	EXPECT_EQ(c.flips, c.events);
	EXPECT_EQ(0U, c.seq_back);
	EXPECT_LT(0U, c.flips);
	EXPECT_LT(0U, c.tests - c.test_busy);
	EXPECT_LT(0U, c.commits - c.commit_busy);
	/* Quiet afterwards, and still working. */
	expect_no_event(_metadata, K, 100);
	EXPECT_EQ(0, wait_vblank(K, _DRM_VBLANK_RELATIVE, 1, 0, NULL));
}

TEST_HARNESS_MAIN
