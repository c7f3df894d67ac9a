/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the vrust tests: instances through configfs, their device nodes through sysfs,
 * and the vrust ioctls returning 0 or -errno.
 */
#ifndef VRUST_UTIL_H
#define VRUST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xf86drm.h>

#include <drm/vrust_drm.h>

/* Where the instances of vrust live in configfs. */
#define VRUST_CONFIGFS		"/sys/kernel/config/vrust"
/* The faux device of the instance the module creates at load. */
#define VRUST_DEFAULT_FAUX	"vrust"
/* The module's name, as delete_module() wants it. */
#define VRUST_MODULE		"rust_drm_vrust"

/* A driver ioctl number with a user-chosen argument size, to test the core's size handling. */
#define VRUST_IOWR_SIZED(nr, size) \
	DRM_IOC(DRM_IOC_READWRITE, DRM_IOCTL_BASE, DRM_COMMAND_BASE + (nr), (size))

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

/**
 * vrust_write_file() - write a string to a file, as echo does
 * @path: the file
 * @s: the string
 *
 * Return: 0, or -errno.
 */
static inline int vrust_write_file(const char *path, const char *s)
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

/**
 * vrust_instance_init() - give an instance a name unique to this process
 * @inst: the instance, not yet created
 */
static inline void vrust_instance_init(struct vrust_instance *inst)
{
	static unsigned int seq;

	memset(inst, 0, sizeof(*inst));
	snprintf(inst->name, sizeof(inst->name), "kst%d_%u", (int)getpid(), seq++);
	snprintf(inst->faux, sizeof(inst->faux), "vrust-%s", inst->name);
}

/**
 * vrust_instance_mkdir() - create the configfs directory of an instance
 * @inst: the named instance
 *
 * Return: 0, or -errno.
 */
static inline int vrust_instance_mkdir(struct vrust_instance *inst)
{
	char path[128];

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", inst->name);
	if (mkdir(path, 0755))
		return -errno;
	inst->created = true;
	return 0;
}

/**
 * vrust_instance_rmdir() - remove the configfs directory of an instance
 * @inst: the instance
 *
 * Return: 0, or -errno.
 */
static inline int vrust_instance_rmdir(struct vrust_instance *inst)
{
	char path[128];

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s", inst->name);
	if (rmdir(path))
		return -errno;
	inst->created = false;
	return 0;
}

/**
 * vrust_instance_enable() - register (plug) or unplug the DRM device of an instance
 * @inst: the created instance
 * @on: true to register, false to unplug
 *
 * Return: 0, or -errno.
 */
static inline int vrust_instance_enable(struct vrust_instance *inst, bool on)
{
	char path[160];
	int ret;

	snprintf(path, sizeof(path), VRUST_CONFIGFS "/%s/enabled", inst->name);
	ret = vrust_write_file(path, on ? "1\n" : "0\n");
	if (!ret)
		inst->enabled = on;
	return ret;
}

/**
 * vrust_instance_up() - name, create and enable a new instance
 * @inst: the instance
 *
 * On failure nothing is left behind.
 *
 * Return: 0, or -errno.
 */
static inline int vrust_instance_up(struct vrust_instance *inst)
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

/**
 * vrust_instance_destroy() - unplug and remove an instance, as far as it exists
 * @inst: the instance
 *
 * Return: 0, or the first -errno.
 */
static inline int vrust_instance_destroy(struct vrust_instance *inst)
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

/**
 * vrust_is_node_name() - whether a /sys/class/drm entry is a device node of a type
 * @name: the entry's name, e.g. "card1", "renderD128" or "card1-Virtual-1"
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 *
 * Return: true for "card<N>" with DRM_NODE_PRIMARY and "renderD<N>" with DRM_NODE_RENDER.
 */
static inline bool vrust_is_node_name(const char *name, int type)
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
static inline int vrust_find_node(const char *faux, int type, char *node, size_t len)
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

		if (!vrust_is_node_name(de->d_name, type))
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
static inline int vrust_open_node(const char *faux, int type)
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

/**
 * vrust_open_default() - open a device node of the instance the module creates at load
 * @type: DRM_NODE_PRIMARY or DRM_NODE_RENDER
 *
 * Return: an open file descriptor, or -errno.
 */
static inline int vrust_open_default(int type)
{
	return vrust_open_node(VRUST_DEFAULT_FAUX, type);
}

/**
 * vrust_ioctl() - ioctl() with the error as return value
 * @fd: the file
 * @request: the ioctl number
 * @arg: its argument
 *
 * Return: 0, or -errno.
 */
static inline int vrust_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

/**
 * vrust_get_param() - DRM_IOCTL_VRUST_GET_PARAM
 * @fd: the file
 * @param: one of VRUST_PARAM_*
 * @value: filled with the value on success
 *
 * Return: 0, or -errno.
 */
static inline int vrust_get_param(int fd, __u32 param, __u64 *value)
{
	struct drm_vrust_get_param arg = { .param = param };
	int ret;

	ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_GET_PARAM, &arg);
	if (!ret)
		*value = arg.value;
	return ret;
}

/**
 * vrust_counter() - DRM_IOCTL_VRUST_COUNTER
 * @fd: the file
 * @add: added to the file's counter
 * @value: filled with the counter on success
 *
 * Return: 0, or -errno.
 */
static inline int vrust_counter(int fd, __u64 add, __u64 *value)
{
	struct drm_vrust_counter arg = { .add = add };
	int ret;

	ret = vrust_ioctl(fd, DRM_IOCTL_VRUST_COUNTER, &arg);
	if (!ret)
		*value = arg.value;
	return ret;
}

/**
 * vrust_set_device_value() - DRM_IOCTL_VRUST_SET_DEVICE_VALUE
 * @fd: the file
 * @value: the value to store
 *
 * Return: 0, or -errno.
 */
static inline int vrust_set_device_value(int fd, __u64 value)
{
	struct drm_vrust_set_device_value arg = { .value = value };

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_SET_DEVICE_VALUE, &arg);
}

/**
 * vrust_reverse() - DRM_IOCTL_VRUST_REVERSE with raw addresses
 * @fd: the file
 * @src: user address of the input
 * @dst: user address of the output
 * @len: number of bytes
 *
 * Return: 0, or -errno.
 */
static inline int vrust_reverse(int fd, __u64 src, __u64 dst, __u32 len)
{
	struct drm_vrust_reverse arg = { .src = src, .dst = dst, .len = len };

	return vrust_ioctl(fd, DRM_IOCTL_VRUST_REVERSE, &arg);
}

/**
 * vrust_gem_close() - DRM_IOCTL_GEM_CLOSE
 * @fd: the file
 * @handle: the buffer handle to delete
 *
 * Return: 0, or -errno.
 */
static inline int vrust_gem_close(int fd, __u32 handle)
{
	struct drm_gem_close arg = { .handle = handle };

	return vrust_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &arg);
}

/**
 * vrust_live_buffers() - VRUST_PARAM_LIVE_BUFFERS of the device of a file
 * @fd: the file
 *
 * Return: the number of buffers of the device still allocated, or -1.
 */
static inline long long vrust_live_buffers(int fd)
{
	__u64 v;

	return vrust_get_param(fd, VRUST_PARAM_LIVE_BUFFERS, &v) ? -1 : (long long)v;
}

/**
 * vrust_driver_name() - the driver name DRM_IOCTL_VERSION reports
 * @fd: the file
 * @name: filled with the NUL-terminated name
 * @len: size of @name
 *
 * Return: 0, or -errno.
 */
static inline int vrust_driver_name(int fd, char *name, size_t len)
{
	struct drm_version v = { .name = name, .name_len = len - 1 };
	int ret;

	memset(name, 0, len);
	ret = vrust_ioctl(fd, DRM_IOCTL_VERSION, &v);
	if (!ret && v.name_len >= len)
		ret = -E2BIG;
	return ret;
}

/**
 * vrust_mem_available_kb() - MemAvailable of /proc/meminfo
 *
 * Return: the available memory in KiB, or -1.
 */
static inline long vrust_mem_available_kb(void)
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

/**
 * vrust_unload_module() - remove the vrust module, as rmmod does
 *
 * Retries for up to a second while the module is still referenced.
 *
 * Return: 0, or -errno.
 */
static inline int vrust_unload_module(void)
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

/**
 * vrust_load_module() - load a module file, as insmod does
 * @path: the .ko file
 *
 * Return: 0, or -errno.
 */
static inline int vrust_load_module(const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

#endif /* VRUST_UTIL_H */
