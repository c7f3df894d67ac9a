// SPDX-License-Identifier: GPL-2.0
/*
 * The client library of the drm-rust userspace tests (vrust_client.h). Every call that can
 * fail returns 0 (or a count) on success and -errno on failure, unless it says otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <xf86drmMode.h>

#include "vrust_client.h"

#define PAGE_SIZE	4096UL

/* Files ------------------------------------------------------------------------------------ */

/* Writes @s to the file @path, as echo does. */
int vrust_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t ret;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, s, len);
	err = ret < 0 ? -errno : (size_t)ret == len ? 0 : -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* Reads the first line of the file @path into @buf (@len bytes), without its newline. */
int vrust_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Closes the file in *@fd unless it is -1, and sets it to -1. Returns close()'s result. */
int vrust_close_fd(int *fd)
{
	int ret = 0;

	if (*fd >= 0)
		ret = close(*fd);
	*fd = -1;
	return ret;
}

/* Instances -------------------------------------------------------------------------------- */

/* Gives @inst, not yet created, a name unique to this process (threads included). */
void vrust_instance_init(struct vrust_instance *inst)
{
	static unsigned int seq;

	memset(inst, 0, sizeof(*inst));
	snprintf(inst->name, sizeof(inst->name), "kst%d_%u", (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	snprintf(inst->faux, sizeof(inst->faux), "vrust-%s", inst->name);
}

/* Creates the configfs directory of @inst. */
int vrust_instance_mkdir(struct vrust_instance *inst)
{
	char path[128];

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", inst->name);
	if (mkdir(path, 0755))
		return -errno;
	inst->created = true;
	return 0;
}

/* Removes the configfs directory of @inst. */
int vrust_instance_rmdir(struct vrust_instance *inst)
{
	char path[128];

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", inst->name);
	if (rmdir(path))
		return -errno;
	inst->created = false;
	return 0;
}

/* Registers (@on) or unplugs the DRM device of @inst. */
int vrust_instance_enable(struct vrust_instance *inst, bool on)
{
	char path[160];
	int ret;

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/enabled", inst->name);
	ret = vrust_write_file(path, on ? "1\n" : "0\n");
	if (!ret)
		inst->enabled = on;
	return ret;
}

/*
 * Writes @value to the configfs attribute @attr of @inst (e.g. "job_timeout_ms", which the
 * files opened afterwards take).
 */
int vrust_instance_set(const struct vrust_instance *inst, const char *attr, const char *value)
{
	char path[192];

	if (snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/%s", inst->name,
		     attr) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return vrust_write_file(path, value);
}

/* Names, creates and enables a new instance; on failure nothing is left behind. */
int vrust_instance_up(struct vrust_instance *inst)
{
	int ret;

	vrust_instance_init(inst);
	ret = vrust_instance_mkdir(inst);
	if (ret)
		return ret;
	ret = vrust_instance_enable(inst, true);
	if (ret)
		vrust_instance_rmdir(inst);
	return ret;
}

/* Unplugs and removes @inst, as far as it exists. Returns the first error. */
int vrust_instance_destroy(struct vrust_instance *inst)
{
	int ret = 0;

	if (inst->enabled)
		ret = vrust_instance_enable(inst, false);
	if (inst->created) {
		int err = vrust_instance_rmdir(inst);

		if (!ret)
			ret = err;
	}
	return ret;
}

/* Hotplug uevents -------------------------------------------------------------------------- */

/* A socket that receives the kernel's uevents, or -errno. */
int vrust_uevent_open(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Whether a "change" uevent with HOTPLUG=1 for card node @devname arrives within @ms. */
bool vrust_hotplug_uevent(int fd, const char *devname, int ms)
{
	double end = vrust_now_s() + ms / 1000.0;
	char buf[4096], want[80];

	snprintf(want, sizeof(want), "DEVNAME=%s", devname);
	for (;;) {
		int left = (int)((end - vrust_now_s()) * 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		bool hotplug = false, dev = false;
		ssize_t n;
		size_t i;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		/* The message is NUL-separated KEY=value fields after "action@path". */
		for (i = 0; i < (size_t)n; i += strlen(buf + i) + 1) {
			hotplug |= !strcmp(buf + i, "HOTPLUG=1");
			dev |= !strcmp(buf + i, want);
		}
		if (hotplug && dev)
			return true;
	}
}

/* Device nodes ----------------------------------------------------------------------------- */

/* Whether a /sys/class/drm entry is "card<N>" (DRM_NODE_PRIMARY) or "renderD<N>". */
static bool is_node_name(const char *name, int type)
{
	const char *prefix = type == DRM_NODE_RENDER ? "renderD" : "card";
	size_t len = strlen(prefix);

	if (strncmp(name, prefix, len) || !name[len])
		return false;
	return strspn(name + len, "0123456789") == strlen(name + len);
}

/**
 * vrust_find_node() - find the device node of a faux device in sysfs
 * @faux: the faux device's name
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 * @node: filled with the node's name, e.g. "card1"
 * @len: size of @node
 *
 * Return: 0, -ENOENT when the device has no such node, or another -errno.
 */
int vrust_find_node(const char *faux, int type, char *node, size_t len)
{
	char link[256], target[256];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *dir;

	dir = opendir("/sys/class/drm");
	if (!dir)
		return -errno;
	while (ret && (de = readdir(dir))) {
		const char *base;
		ssize_t n;

		if (!is_node_name(de->d_name, type))
			continue;
		if (snprintf(link, sizeof(link), "/sys/class/drm/%s/device",
			     de->d_name) >= (int)sizeof(link))
			continue;
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		base = strrchr(target, '/');
		base = base ? base + 1 : target;
		if (!strcmp(base, faux))
			ret = snprintf(node, len, "%s", de->d_name) < (int)len ? 0 : -ENAMETOOLONG;
	}
	closedir(dir);
	return ret;
}

/**
 * vrust_open_node() - open the device node of a faux device
 * @faux: the faux device's name
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 *
 * Waits up to a second for the node to show up in sysfs and /dev/dri.
 *
 * Return: an open file descriptor, or -errno.
 */
int vrust_open_node(const char *faux, int type)
{
	char node[64], path[96];
	int i, fd = -ENOENT;

	for (i = 0; i < 100; i++) {
		if (!vrust_find_node(faux, type, node, sizeof(node))) {
			snprintf(path, sizeof(path), "/dev/dri/%s", node);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0)
				return fd;
			fd = -errno;
			if (fd != -ENOENT)
				return fd;
		}
		usleep(10000);
	}
	return fd;
}

/* Opens a @type node of the instance the module creates at load. */
int vrust_open_default(int type)
{
	return vrust_open_node(VRUST_DEFAULT_FAUX, type);
}

/**
 * drm_open_driver() - open the first device node of a DRM driver, vrust or another
 * @driver: the driver's name as DRM_IOCTL_VERSION reports it
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 *
 * Return: an open file descriptor, or -errno (-ENODEV when no such node exists).
 */
int drm_open_driver(const char *driver, int type)
{
	drmDevicePtr devs[64];
	int n, i, fd = -ENODEV;

	n = drmGetDevices2(0, devs, 64);
	if (n < 0)
		return n;
	/* The count is of all devices, even those that did not fit. */
	if (n > 64)
		n = 64;
	for (i = 0; i < n && fd < 0; i++) {
		drmVersionPtr v;
		int f;

		if (!(devs[i]->available_nodes & (1 << type)))
			continue;
		f = open(devs[i]->nodes[type], O_RDWR | O_CLOEXEC);
		if (f < 0)
			continue;
		v = drmGetVersion(f);
		if (v && !strcmp(v->name, driver))
			fd = f;
		else
			close(f);
		drmFreeVersion(v);
	}
	drmFreeDevices(devs, n);
	return fd;
}

/**
 * vrust_client_close() - close every file of a client and remove its instance
 * @c: the client
 *
 * Return: 0, or -errno of removing the instance.
 */
int vrust_client_close(struct vrust_client *c)
{
	int i;

	vrust_close_fd(&c->card);
	vrust_close_fd(&c->render);
	for (i = 0; i < VRUST_CLIENT_FDS; i++)
		vrust_close_fd(&c->fds[i]);
	return vrust_instance_destroy(&c->inst);
}

/**
 * vrust_client_open() - create a new instance and open its nodes
 * @c: the client
 * @nodes: VRUST_CLIENT_CARD and/or VRUST_CLIENT_RENDER, the nodes to open
 *
 * Every file of @c is -1 but the nodes opened. On failure nothing is left behind.
 *
 * Return: 0, or -errno.
 */
int vrust_client_open(struct vrust_client *c, unsigned int nodes)
{
	int i, ret;

	c->card = -1;
	c->render = -1;
	for (i = 0; i < VRUST_CLIENT_FDS; i++)
		c->fds[i] = -1;
	ret = vrust_instance_up(&c->inst);
	if (ret)
		return ret;
	if (nodes & VRUST_CLIENT_CARD) {
		c->card = vrust_open_node(c->inst.faux, DRM_NODE_PRIMARY);
		ret = c->card < 0 ? c->card : 0;
	}
	if (!ret && (nodes & VRUST_CLIENT_RENDER)) {
		c->render = vrust_open_node(c->inst.faux, DRM_NODE_RENDER);
		ret = c->render < 0 ? c->render : 0;
	}
	if (ret)
		vrust_client_close(c);
	return ret;
}

/* vrust ioctls ----------------------------------------------------------------------------- */

/* ioctl() with the error as return value. */
int vrust_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

/* GET_PARAM of @param (VRUST_PARAM_*) into *@value. */
int vrust_get_param(int fd, __u32 param, __u64 *value)
{
	struct drm_vrust_get_param arg = { .param = param };
	int ret;

	ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_GET_PARAM, &arg);
	if (!ret)
		*value = arg.value;
	return ret;
}

/* COUNTER: adds @add to the file's counter, the counter into *@value. */
int vrust_counter(int fd, __u64 add, __u64 *value)
{
	struct drm_vrust_counter arg = { .add = add };
	int ret;

	ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_COUNTER, &arg);
	if (!ret)
		*value = arg.value;
	return ret;
}

/* SET_DEVICE_VALUE of @value. */
int vrust_set_device_value(int fd, __u64 value)
{
	struct drm_vrust_set_device_value arg = { .value = value };

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &arg);
}

/* REVERSE of @len bytes from user address @src to @dst. */
int vrust_reverse(int fd, __u64 src, __u64 dst, __u32 len)
{
	struct drm_vrust_reverse arg = { .src = src, .dst = dst, .len = len };

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_REVERSE, &arg);
}

/* The driver name DRM_IOCTL_VERSION reports, NUL-terminated in @name (@len bytes). */
int vrust_driver_name(int fd, char *name, size_t len)
{
	struct drm_version v = { .name = name, .name_len = len - 1 };
	int ret;

	memset(name, 0, len);
	ret = vrust_ioctl(fd, DRM_IOCTL_VERSION, &v);
	if (!ret && v.name_len >= len)
		ret = -E2BIG;
	return ret;
}

/* VRUST_PARAM_LIVE_BUFFERS of the device of @fd: its buffers still allocated, or -1. */
long long vrust_live_buffers(int fd)
{
	__u64 v;

	return vrust_get_param(fd, VRUST_PARAM_LIVE_BUFFERS, &v) ? -1 : (long long)v;
}

/*
 * vrust_live_buffers() once it is @n, or after @ms: a job queue drops a finished job, and the
 * buffers it holds, shortly after the job's fence signals, so a buffer that a job used may go
 * a little after the ioctl that waited for the job returns.
 */
long long vrust_live_buffers_settle(int fd, long long n, unsigned int ms)
{
	double end = vrust_now_s() + ms / 1000.0;
	long long live;

	while ((live = vrust_live_buffers(fd)) != n && vrust_now_s() < end)
		vrust_sleep_ms(5);
	return live;
}

/* GEM and PRIME ---------------------------------------------------------------------------- */

/* GEM_CREATE of @size bytes with VRUST_BO_* @flags; the new buffer's handle into *@handle. */
int vrust_gem_create(int fd, __u64 size, __u32 flags, __u32 *handle)
{
	struct drm_vrust_gem_create arg = { .size = size, .flags = flags };
	int ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_GEM_CREATE, &arg);

	if (!ret)
		*handle = arg.handle;
	return ret;
}

/* GEM_INFO of @handle: its size, flags, id and mmap() offset into *@info. */
int vrust_gem_info(int fd, __u32 handle, struct drm_vrust_gem_info *info)
{
	memset(info, 0, sizeof(*info));
	info->handle = handle;
	return vrust_ioctl(fd, DRM_IOCTL_VRUST_GEM_INFO, info);
}

static int gem_rw(int fd, unsigned long request, __u32 handle, __u64 offset, __u64 size,
		  const void *ptr)
{
	struct drm_vrust_gem_rw arg = {
		.handle = handle, .offset = offset, .size = size, .ptr = (uintptr_t)ptr,
	};

	return vrust_ioctl(fd, request, &arg);
}

/* GEM_PREAD: @size bytes at @offset of buffer @handle to @ptr. */
int vrust_gem_read(int fd, __u32 handle, __u64 offset, __u64 size, void *ptr)
{
	return gem_rw(fd, DRM_IOCTL_VRUST_GEM_PREAD, handle, offset, size, ptr);
}

/* GEM_PWRITE: @size bytes from @ptr to @offset of buffer @handle. */
int vrust_gem_write(int fd, __u32 handle, __u64 offset, __u64 size, const void *ptr)
{
	return gem_rw(fd, DRM_IOCTL_VRUST_GEM_PWRITE, handle, offset, size, ptr);
}

/* GEM_CLOSE of @handle. */
int vrust_gem_close(int fd, __u32 handle)
{
	struct drm_gem_close arg = { .handle = handle };

	return vrust_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &arg);
}

/*
 * A shared, writable mapping of @len bytes of a buffer of @fd at its fake @offset (or of a
 * dma-buf, at 0). Returns MAP_FAILED with errno set on failure.
 */
void *vrust_mmap(int fd, __u64 offset, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
}

/* MODE_CREATE_DUMB of @width x @height at @bpp; its handle, pitch and size into *@dumb. */
int vrust_dumb_create(int fd, __u32 width, __u32 height, __u32 bpp,
		      struct drm_mode_create_dumb *dumb)
{
	memset(dumb, 0, sizeof(*dumb));
	dumb->width = width;
	dumb->height = height;
	dumb->bpp = bpp;
	return vrust_ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, dumb);
}

/* MODE_MAP_DUMB of @handle: its mmap() offset into *@offset. */
int vrust_dumb_offset(int fd, __u32 handle, __u64 *offset)
{
	struct drm_mode_map_dumb arg = { .handle = handle };
	int ret = vrust_ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &arg);

	if (!ret)
		*offset = arg.offset;
	return ret;
}

/* PRIME_HANDLE_TO_FD of @handle, read-write and close-on-exec; the dma-buf into *@dmabuf. */
int vrust_prime_export(int fd, __u32 handle, int *dmabuf)
{
	struct drm_prime_handle arg = { .handle = handle, .flags = DRM_CLOEXEC | DRM_RDWR };
	int ret = vrust_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &arg);

	if (!ret)
		*dmabuf = arg.fd;
	return ret;
}

/* PRIME_FD_TO_HANDLE of @dmabuf; the buffer's handle in @fd into *@handle. */
int vrust_prime_import(int fd, int dmabuf, __u32 *handle)
{
	struct drm_prime_handle arg = { .fd = dmabuf };
	int ret = vrust_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &arg);

	if (!ret)
		*handle = arg.handle;
	return ret;
}

/* VM and EXEC ------------------------------------------------------------------------------ */

/* VM_CREATE; the new VM's id into *@vm. */
int vrust_vm_create(int fd, __u32 *vm)
{
	struct drm_vrust_vm_create arg = {};
	int ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_CREATE, &arg);

	if (!ret)
		*vm = arg.vm_id;
	return ret;
}

/* VM_DESTROY of @vm. */
int vrust_vm_destroy(int fd, __u32 vm)
{
	struct drm_vrust_vm_destroy arg = { .vm_id = vm };

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_DESTROY, &arg);
}

/* VM_BIND map: @range bytes of buffer @handle from @offset at GPU address @addr of @vm. */
int vrust_vm_map(int fd, __u32 vm, __u32 handle, __u64 offset, __u64 addr, __u64 range)
{
	struct drm_vrust_vm_bind arg = {
		.vm_id = vm, .op = VRUST_BIND_MAP, .handle = handle,
		.addr = addr, .range = range, .offset = offset,
	};

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &arg);
}

/* VM_BIND unmap of the GPU range [@addr, @addr + @range) of @vm. */
int vrust_vm_unmap(int fd, __u32 vm, __u64 addr, __u64 range)
{
	struct drm_vrust_vm_bind arg = {
		.vm_id = vm, .op = VRUST_BIND_UNMAP, .addr = addr, .range = range,
	};

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_BIND, &arg);
}

/* VM_QUERY of @vm into @m (@room entries). Returns the number of mappings of the VM. */
int vrust_vm_query(int fd, __u32 vm, struct drm_vrust_vm_mapping *m, __u32 room)
{
	struct drm_vrust_vm_query arg = { .vm_id = vm, .count = room, .mappings = (uintptr_t)m };
	int ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_VM_QUERY, &arg);

	return ret ? ret : (int)arg.count;
}

/* EXEC of @count commands in @vm; with @done, the number that ran into *@done, also on failure. */
int vrust_exec(int fd, __u32 vm, const struct drm_vrust_cmd *cmds, __u32 count, __u32 *done)
{
	struct drm_vrust_exec arg = { .vm_id = vm, .count = count, .cmds = (uintptr_t)cmds };
	int ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_EXEC, &arg);

	if (done)
		*done = arg.done;
	return ret;
}

/* An EXEC command that fills @len bytes at GPU address @dst with @value. */
struct drm_vrust_cmd vrust_cmd_fill(__u64 dst, __u64 len, __u8 value)
{
	return (struct drm_vrust_cmd){ .op = VRUST_CMD_FILL, .value = value, .dst = dst,
				       .len = len };
}

/* An EXEC command that copies @len bytes from GPU address @src to @dst. */
struct drm_vrust_cmd vrust_cmd_copy(__u64 src, __u64 dst, __u64 len)
{
	return (struct drm_vrust_cmd){ .op = VRUST_CMD_COPY, .src = src, .dst = dst, .len = len };
}

/* CPU access that may fault ---------------------------------------------------------------- */

/* Where a fault in vrust_try_access() returns to. */
struct fault_ctx {
	sigjmp_buf jb;
};

/* The vrust_try_access() running on this thread, or NULL. */
static __thread struct fault_ctx *fault_ctx;

static void on_fault(int sig)
{
	if (fault_ctx)
		siglongjmp(fault_ctx->jb, sig);
	/* Not in vrust_try_access(): a fault of the test itself, which must kill it. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/**
 * vrust_catch_faults() - install (or remove) the SIGBUS and SIGSEGV handler that
 *			  vrust_try_access() needs
 * @on: true to install it, false for the default action
 *
 * The handler is the process's, and children made by fork() inherit it; it ends only faults
 * inside vrust_try_access(), any other fault still kills the process.
 */
void vrust_catch_faults(bool on)
{
	struct sigaction sa = { .sa_handler = on ? on_fault : SIG_DFL };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/**
 * vrust_try_access() - run a function that touches memory, stopping it at its first fault
 * @fn: the function
 * @arg: its argument
 *
 * Needs vrust_catch_faults(true). After a fault, @fn does not finish: what it wrote through
 * @arg before the fault stays.
 *
 * Return: the signal (SIGBUS or SIGSEGV) that stopped @fn, or 0.
 */
int vrust_try_access(void (*fn)(void *arg), void *arg)
{
	struct fault_ctx ctx;
	int sig;

	sig = sigsetjmp(ctx.jb, 1);
	if (!sig) {
		fault_ctx = &ctx;
		fn(arg);
	}
	fault_ctx = NULL;
	return sig;
}

struct touch_args {
	unsigned char *p;
	size_t len;
	int value;
};

static void touch_pages(void *arg)
{
	struct touch_args *a = arg;
	size_t off;

	for (off = 0; off < a->len; off += PAGE_SIZE) {
		if (a->value >= 0)
			__atomic_store_n(a->p + off, (unsigned char)a->value, __ATOMIC_RELAXED);
		else
			(void)__atomic_load_n(a->p + off, __ATOMIC_RELAXED);
	}
}

/**
 * vrust_touch() - read, or write, one byte in each page of a range
 * @p: the start of the range
 * @len: its length
 * @value: the byte to write, or -1 to read
 *
 * Needs vrust_catch_faults(true).
 *
 * Return: the signal the access raised, or 0.
 */
int vrust_touch(unsigned char *p, size_t len, int value)
{
	struct touch_args a = { .p = p, .len = len, .value = value };

	return vrust_try_access(touch_pages, &a);
}

/* Time, environment, memory, module -------------------------------------------------------- */

/* The monotonic clock, in seconds. */
double vrust_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleeps @ms milliseconds, through signals. */
void vrust_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The number in the environment variable @name (as strtoull() reads it), or @def when it
 * is unset or empty.
 */
__u64 vrust_env_u64(const char *name, __u64 def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* The name of the (positive) errno @e, e.g. "ENOENT", or "unknown errno". */
const char *vrust_errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "unknown errno";
}

/* MemAvailable of /proc/meminfo, in KiB, or -1. */
long vrust_mem_available_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Loads the module file @path, as insmod does. */
int vrust_load_module(const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Removes the vrust module, as rmmod does; retries for a second while it is in use. */
int vrust_unload_module(void)
{
	int i, ret = 0;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, VRUST_MODULE, O_NONBLOCK))
			return 0;
		ret = -errno;
		if (ret != -EAGAIN)
			break;
		usleep(10000);
	}
	return ret;
}

/* KMS ---------------------------------------------------------------------------------- */
int vrust_fb_make(int fd, __u32 w, __u32 h, __u32 format, struct vrust_fb *fb)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = 32 };
	struct drm_mode_map_dumb m = {};
	__u32 handles[4] = {}, pitches[4] = {}, offsets[4] = {};

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -errno;
	fb->handle = c.handle;
	fb->pitch = c.pitch;
	fb->size = c.size;
	fb->w = w;
	fb->h = h;
	m.handle = c.handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return -errno;
	fb->px = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.offset);
	if (fb->px == MAP_FAILED)
		return -errno;
	handles[0] = c.handle;
	pitches[0] = c.pitch;
	if (drmModeAddFB2(fd, w, h, format, handles, pitches, offsets, &fb->id, 0))
		return -errno;
	return 0;
}

void vrust_fb_free(int fd, struct vrust_fb *fb)
{
	if (fb->id)
		drmModeRmFB(fd, fb->id);
	if (fb->px && fb->px != MAP_FAILED)
		munmap(fb->px, fb->size);
	if (fb->handle) {
		struct drm_mode_destroy_dumb d = { .handle = fb->handle };

		drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	}
	memset(fb, 0, sizeof(*fb));
}

__u32 *vrust_fb_px(struct vrust_fb *fb, __u32 x, __u32 y)
{
	return &fb->px[y * (fb->pitch / 4) + x];
}

void vrust_fb_fill(struct vrust_fb *fb, __u32 x, __u32 y, __u32 w, __u32 h, __u32 v)
{
	for (__u32 j = y; j < y + h && j < fb->h; j++)
		for (__u32 i = x; i < x + w && i < fb->w; i++)
			*vrust_fb_px(fb, i, j) = v;
}

int vrust_plane_of_type(int fd, __u32 crtc_index, __u64 type, __u32 *plane)
{
	drmModePlaneResPtr res = drmModeGetPlaneResources(fd);
	int ret = -ENOENT;

	for (__u32 i = 0; res && i < res->count_planes && ret; i++) {
		drmModePlanePtr p = drmModeGetPlane(fd, res->planes[i]);
		drmModeObjectPropertiesPtr props;

		if (!p)
			continue;
		props = drmModeObjectGetProperties(fd, p->plane_id, DRM_MODE_OBJECT_PLANE);
		for (__u32 k = 0; props && k < props->count_props; k++) {
			drmModePropertyPtr pr = drmModeGetProperty(fd, props->props[k]);

			if (pr && !strcmp(pr->name, "type") && props->prop_values[k] == type &&
			    (p->possible_crtcs & (1u << crtc_index))) {
				*plane = p->plane_id;
				ret = 0;
			}
			drmModeFreeProperty(pr);
		}
		drmModeFreeObjectProperties(props);
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(res);
	return ret;
}

/*
 * The status of connector @conn (DRM_MODE_CONNECTED and so on) as a probe sees it, and in
 * *@modes (unless NULL) its number of modes, -1 on error. Returns the status or -errno.
 */
int vrust_connector_status(int fd, __u32 conn, int *modes)
{
	drmModeConnectorPtr c = drmModeGetConnector(fd, conn);
	int status;

	if (modes)
		*modes = -1;
	if (!c)
		return -errno;
	status = c->connection;
	if (modes)
		*modes = c->count_modes;
	drmModeFreeConnector(c);
	return status;
}

int vrust_prop_id(int fd, __u32 obj, __u32 type, const char *name, __u32 *id)
{
	drmModeObjectPropertiesPtr props = drmModeObjectGetProperties(fd, obj, type);
	int ret = -ENOENT;

	for (__u32 k = 0; props && k < props->count_props && ret; k++) {
		drmModePropertyPtr pr = drmModeGetProperty(fd, props->props[k]);

		if (pr && !strcmp(pr->name, name)) {
			*id = pr->prop_id;
			ret = 0;
		}
		drmModeFreeProperty(pr);
	}
	drmModeFreeObjectProperties(props);
	return ret;
}

int vrust_atomic_add(int fd, drmModeAtomicReqPtr req, __u32 obj, __u32 type, const char *name,
		     __u64 value)
{
	__u32 id;

	if (vrust_prop_id(fd, obj, type, name, &id))
		return -ENOENT;
	return drmModeAtomicAddProperty(req, obj, id, value) < 0 ? -EINVAL : 0;
}
