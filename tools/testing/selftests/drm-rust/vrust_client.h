/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client library of the drm-rust userspace tests: vrust instances through configfs, their
 * device nodes through sysfs, the vrust and core DRM ioctls (GEM, dumb buffers, PRIME, VM,
 * EXEC) returning 0 or -errno, KMS framebuffers, planes and atomic properties, CPU access of
 * mappings that may fault, and small file, time and environment helpers. Built as vrust_client.o
 * and linked into every test.
 */
#ifndef VRUST_CLIENT_H
#define VRUST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include <drm/vrust_drm.h>

/* Where the instances of vrust live in configfs. */
#define VRUST_CONFIGFS		"/sys/kernel/config/vrust"
/* The faux device of the instance the module creates at load. */
#define VRUST_DEFAULT_FAUX	"vrust"
/* The job timeout of an instance until its job_timeout_ms is written, in milliseconds. */
#define VRUST_DEFAULT_JOB_TIMEOUT_MS	10000
/* The module's name, as delete_module() wants it. */
#define VRUST_MODULE		"rust_drm_vrust"

/* A driver ioctl number with a user-chosen argument size, to test the core's size handling. */
#define VRUST_IOWR_SIZED(nr, size) \
	DRM_IOC(DRM_IOC_READWRITE, DRM_IOCTL_BASE, DRM_COMMAND_BASE + (nr), (size))

/* Files ------------------------------------------------------------------------------------ */

int vrust_write_file(const char *path, const char *s);
int vrust_read_file(const char *path, char *buf, size_t len);
int vrust_close_fd(int *fd);

/* Instances -------------------------------------------------------------------------------- */

/**
 * struct vrust_instance - a vrust instance created by a test
 * @name: the configfs directory name
 * @faux: the name of its faux device, "vrust-<name>"
 * @created: the configfs directory exists
 * @enabled: the DRM device is registered
 */
struct vrust_instance {
	char name[48];
	char faux[64];
	bool created;
	bool enabled;
};

void vrust_instance_init(struct vrust_instance *inst);
int vrust_instance_mkdir(struct vrust_instance *inst);
int vrust_instance_rmdir(struct vrust_instance *inst);
int vrust_instance_enable(struct vrust_instance *inst, bool on);
int vrust_instance_up(struct vrust_instance *inst);
int vrust_instance_destroy(struct vrust_instance *inst);
int vrust_instance_set(const struct vrust_instance *inst, const char *attr, const char *value);

/* Hotplug uevents -------------------------------------------------------------------------- */

int vrust_uevent_open(void);
bool vrust_hotplug_uevent(int fd, const char *devname, int ms);

/* Device nodes ----------------------------------------------------------------------------- */

int vrust_find_node(const char *faux, int type, char *node, size_t len);
int vrust_open_node(const char *faux, int type);
int vrust_open_default(int type);
int drm_open_driver(const char *driver, int type);

/* The files a struct vrust_client can hold beside its two nodes. */
#define VRUST_CLIENT_FDS	8
#ifndef BIT
#define BIT(n)			(1U << (n))
#endif
/* The nodes vrust_client_open() opens. */
#define VRUST_CLIENT_CARD	BIT(0)
#define VRUST_CLIENT_RENDER	BIT(1)

/**
 * struct vrust_client - a test's own instance and its files
 * @inst: the instance
 * @card: a file on its primary node, or -1
 * @render: a file on its render node, or -1
 * @fds: more files a test may open, or -1; vrust_client_close() closes them
 */
struct vrust_client {
	struct vrust_instance inst;
	int card;
	int render;
	int fds[VRUST_CLIENT_FDS];
};

int vrust_client_open(struct vrust_client *c, unsigned int nodes);
int vrust_client_close(struct vrust_client *c);

/* vrust ioctls ----------------------------------------------------------------------------- */

int vrust_ioctl(int fd, unsigned long request, void *arg);
int vrust_get_param(int fd, __u32 param, __u64 *value);
int vrust_counter(int fd, __u64 add, __u64 *value);
int vrust_set_device_value(int fd, __u64 value);
int vrust_reverse(int fd, __u64 src, __u64 dst, __u32 len);
int vrust_driver_name(int fd, char *name, size_t len);
long long vrust_live_buffers(int fd);
long long vrust_live_buffers_settle(int fd, long long n, unsigned int ms);

/* GEM and PRIME ---------------------------------------------------------------------------- */

int vrust_gem_create(int fd, __u64 size, __u32 flags, __u32 *handle);
int vrust_gem_info(int fd, __u32 handle, struct drm_vrust_gem_info *info);
int vrust_gem_read(int fd, __u32 handle, __u64 offset, __u64 size, void *ptr);
int vrust_gem_write(int fd, __u32 handle, __u64 offset, __u64 size, const void *ptr);
int vrust_gem_close(int fd, __u32 handle);
void *vrust_mmap(int fd, __u64 offset, size_t len);
int vrust_dumb_create(int fd, __u32 width, __u32 height, __u32 bpp,
		      struct drm_mode_create_dumb *dumb);
int vrust_dumb_offset(int fd, __u32 handle, __u64 *offset);
int vrust_prime_export(int fd, __u32 handle, int *dmabuf);
int vrust_prime_import(int fd, int dmabuf, __u32 *handle);

/* VM and EXEC ------------------------------------------------------------------------------ */

int vrust_vm_create(int fd, __u32 *vm);
int vrust_vm_destroy(int fd, __u32 vm);
int vrust_vm_map(int fd, __u32 vm, __u32 handle, __u64 offset, __u64 addr, __u64 range);
int vrust_vm_unmap(int fd, __u32 vm, __u64 addr, __u64 range);
int vrust_vm_query(int fd, __u32 vm, struct drm_vrust_vm_mapping *m, __u32 room);
int vrust_exec(int fd, __u32 vm, const struct drm_vrust_cmd *cmds, __u32 count, __u32 *done);
struct drm_vrust_cmd vrust_cmd_fill(__u64 dst, __u64 len, __u8 value);
struct drm_vrust_cmd vrust_cmd_copy(__u64 src, __u64 dst, __u64 len);

/* KMS -------------------------------------------------------------------------------------- */

/* A dumb buffer (32 bits per pixel) as a framebuffer of a format, mapped. */
struct vrust_fb {
	__u32 id, handle, pitch;
	__u32 w, h;
	__u32 *px;
	size_t size;
};

int vrust_fb_make(int fd, __u32 w, __u32 h, __u32 format, struct vrust_fb *fb);
void vrust_fb_free(int fd, struct vrust_fb *fb);
__u32 *vrust_fb_px(struct vrust_fb *fb, __u32 x, __u32 y);
void vrust_fb_fill(struct vrust_fb *fb, __u32 x, __u32 y, __u32 w, __u32 h, __u32 v);
int vrust_plane_of_type(int fd, __u32 crtc_index, __u64 type, __u32 *plane);
int vrust_connector_status(int fd, __u32 conn, int *modes);
int vrust_prop_id(int fd, __u32 obj, __u32 type, const char *name, __u32 *id);
int vrust_atomic_add(int fd, drmModeAtomicReqPtr req, __u32 obj, __u32 type, const char *name,
		     __u64 value);

/* CPU access that may fault ---------------------------------------------------------------- */

void vrust_catch_faults(bool on);
int vrust_try_access(void (*fn)(void *arg), void *arg);
int vrust_touch(unsigned char *p, size_t len, int value);

/* Time, environment, memory, module -------------------------------------------------------- */

double vrust_now_s(void);
void vrust_sleep_ms(unsigned int ms);
__u64 vrust_env_u64(const char *name, __u64 def);
const char *vrust_errname(int e);
long vrust_mem_available_kb(void);
int vrust_load_module(const char *path);
int vrust_unload_module(void);

#endif /* VRUST_CLIENT_H */
