// SPDX-License-Identifier: GPL-2.0
/*
 * drm_demo - print what a DRM driver exposes to userspace.
 *
 * Usage: drm_demo [DRIVER...]
 *
 * For each /dev/dri/card* whose driver is named (all cards when none is), prints the driver's
 * name, version and description, its device nodes, its capabilities and, for KMS drivers, the
 * CRTCs, planes, encoders and connectors with their modes; for the sample, vrust, also a buffer
 * filled by its software GPU through a GPU VM. This is what `make run` shows.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include <drm/vrust_drm.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *plane_type_name(int fd, uint32_t plane_id)
{
	static const char *const names[] = { "overlay", "primary", "cursor" };
	drmModeObjectProperties *props;
	const char *name = "?";
	uint32_t i;

	props = drmModeObjectGetProperties(fd, plane_id, DRM_MODE_OBJECT_PLANE);
	if (!props)
		return name;
	for (i = 0; i < props->count_props; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, "type") && props->prop_values[i] < 3)
			name = names[props->prop_values[i]];
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return name;
}

static void print_kms(int fd)
{
	drmModeRes *res;
	drmModePlaneRes *planes;
	int i, j;

	drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	/* Writeback connectors are only listed to atomic clients. */
	drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1);
	drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1);

	res = drmModeGetResources(fd);
	if (!res) {
		printf("  KMS: none (%s)\n", strerror(errno));
		return;
	}
	printf("  KMS: %d CRTC(s), %d encoder(s), %d connector(s), fb %dx%d .. %dx%d\n",
	       res->count_crtcs, res->count_encoders, res->count_connectors,
	       res->min_width, res->min_height, res->max_width, res->max_height);

	for (i = 0; i < res->count_crtcs; i++) {
		drmModeCrtc *crtc = drmModeGetCrtc(fd, res->crtcs[i]);

		if (!crtc)
			continue;
		printf("    CRTC %u: %s", crtc->crtc_id, crtc->mode_valid ? "active" : "off");
		if (crtc->mode_valid)
			printf(" %s@%u", crtc->mode.name, crtc->mode.vrefresh);
		printf("\n");
		drmModeFreeCrtc(crtc);
	}

	planes = drmModeGetPlaneResources(fd);
	for (i = 0; planes && i < (int)planes->count_planes; i++) {
		drmModePlane *plane = drmModeGetPlane(fd, planes->planes[i]);

		if (!plane)
			continue;
		printf("    plane %u: %-7s possible_crtcs 0x%x, %u format(s):", plane->plane_id,
		       plane_type_name(fd, plane->plane_id), plane->possible_crtcs,
		       plane->count_formats);
		for (j = 0; j < (int)plane->count_formats && j < 8; j++)
			printf(" %.4s", (const char *)&plane->formats[j]);
		printf("%s\n", plane->count_formats > 8 ? " ..." : "");
		drmModeFreePlane(plane);
	}
	drmModeFreePlaneResources(planes);

	for (i = 0; i < res->count_encoders; i++) {
		drmModeEncoder *enc = drmModeGetEncoder(fd, res->encoders[i]);

		if (!enc)
			continue;
		printf("    encoder %u: type %u, possible_crtcs 0x%x\n", enc->encoder_id,
		       enc->encoder_type, enc->possible_crtcs);
		drmModeFreeEncoder(enc);
	}

	for (i = 0; i < res->count_connectors; i++) {
		drmModeConnector *conn = drmModeGetConnector(fd, res->connectors[i]);

		if (!conn)
			continue;
		printf("    connector %u: %s-%u, %s, %d mode(s)\n", conn->connector_id,
		       drmModeGetConnectorTypeName(conn->connector_type) ?: "unknown",
		       conn->connector_type_id,
		       conn->connection == DRM_MODE_CONNECTED ? "connected" :
		       conn->connection == DRM_MODE_DISCONNECTED ? "disconnected" : "unknown",
		       conn->count_modes);
		for (j = 0; j < conn->count_modes && j < 6; j++)
			printf("      %s@%u%s\n", conn->modes[j].name, conn->modes[j].vrefresh,
			       conn->modes[j].type & DRM_MODE_TYPE_PREFERRED ? " (preferred)" : "");
		if (conn->count_modes > 6)
			printf("      ... %d more\n", conn->count_modes - 6);
		drmModeFreeConnector(conn);
	}
	drmModeFreeResources(res);
}

/* The sample driver's own view of the device and of this client, through its GET_PARAM. */
static void print_vrust(int fd)
{
	static const struct { __u32 param; const char *name; } params[] = {
		{ VRUST_PARAM_API_VERSION, "api_version" },
		{ VRUST_PARAM_CLIENT_ID, "client_id" },
		{ VRUST_PARAM_NODE_TYPE, "node_type" },
		{ VRUST_PARAM_OPEN_FILES, "open_files" },
		{ VRUST_PARAM_DEVICE_VALUE, "device_value" },
	};
	size_t i;

	printf("  vrust GET_PARAM:");
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		struct drm_vrust_get_param p = { .param = params[i].param };

		if (drmIoctl(fd, DRM_IOCTL_VRUST_GET_PARAM, &p))
			printf(" %s=error(%s)", params[i].name, strerror(errno));
		else
			printf(" %s=%llu", params[i].name, (unsigned long long)p.value);
	}
	printf("\n");
}

/*
 * The sample's buffers and GPU: a 1 MiB buffer, mapped in a GPU VM, filled by the software GPU
 * and read back through mmap().
 */
static void demo_vrust_gpu(int fd)
{
	const __u64 size = 1 << 20;
	struct drm_vrust_gem_create bo = { .size = size };
	struct drm_vrust_gem_info info = {};
	struct drm_vrust_vm_create vm = {};
	struct drm_vrust_vm_destroy destroy = {};
	struct drm_vrust_vm_bind bind = { .op = VRUST_BIND_MAP, .addr = VRUST_VM_START };
	struct drm_vrust_cmd cmd = {
		.op = VRUST_CMD_FILL, .value = 0x5a, .dst = VRUST_VM_START, .len = size,
	};
	struct drm_vrust_exec exec = { .count = 1, .cmds = (uintptr_t)&cmd };
	struct drm_gem_close close_bo = {};
	unsigned char *map;
	__u64 i, seen = 0;

	if (drmIoctl(fd, DRM_IOCTL_VRUST_GEM_CREATE, &bo)) {
		printf("  GEM: GEM_CREATE failed: %s\n", strerror(errno));
		return;
	}
	info.handle = bo.handle;
	close_bo.handle = bo.handle;
	bind.handle = bo.handle;
	if (drmIoctl(fd, DRM_IOCTL_VRUST_GEM_INFO, &info))
		goto close_bo;
	printf("  GEM: a %llu KiB buffer, handle %u, id %llu, mmap offset %#llx\n",
	       (unsigned long long)info.size >> 10, bo.handle, (unsigned long long)info.id,
	       (unsigned long long)info.offset);
	if (drmIoctl(fd, DRM_IOCTL_VRUST_VM_CREATE, &vm)) {
		printf("  GPUVM: VM_CREATE failed: %s\n", strerror(errno));
		goto close_bo;
	}
	bind.vm_id = vm.vm_id;
	exec.vm_id = vm.vm_id;
	destroy.vm_id = vm.vm_id;
	bind.range = size;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, info.offset);
	if (map == MAP_FAILED || drmIoctl(fd, DRM_IOCTL_VRUST_VM_BIND, &bind) ||
	    drmIoctl(fd, DRM_IOCTL_VRUST_EXEC, &exec)) {
		printf("  GPUVM: mmap, VM_BIND or EXEC failed: %s\n", strerror(errno));
	} else {
		for (i = 0; i < size; i++)
			seen += map[i] == 0x5a;
		printf("  GPUVM: VM %u maps it at %#llx; "
		       "EXEC FILL 0x5a: %llu of %llu bytes seen through mmap()\n",
		       vm.vm_id, (unsigned long long)bind.addr, (unsigned long long)seen,
		       (unsigned long long)size);
	}
	if (map != MAP_FAILED)
		munmap(map, size);
	drmIoctl(fd, DRM_IOCTL_VRUST_VM_DESTROY, &destroy);
close_bo:
	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &close_bo);
}

static void print_card(const char *path, int fd, drmVersion *v)
{
	static const struct { uint64_t cap; const char *name; } caps[] = {
		{ DRM_CAP_DUMB_BUFFER, "dumb_buffer" },
		{ DRM_CAP_PRIME, "prime" },
		{ DRM_CAP_SYNCOBJ, "syncobj" },
		{ DRM_CAP_SYNCOBJ_TIMELINE, "syncobj_timeline" },
		{ DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP, "atomic_async_page_flip" },
		{ DRM_CAP_CRTC_IN_VBLANK_EVENT, "crtc_in_vblank_event" },
	};
	char *render;
	uint64_t val;
	size_t i;

	printf("%s: driver %s %d.%d.%d, \"%s\"\n", path, v->name, v->version_major,
	       v->version_minor, v->version_patchlevel, v->desc);
	render = drmGetRenderDeviceNameFromFd(fd);
	printf("  nodes: %s (primary)%s%s%s\n", path, render ? ", " : "", render ?: "",
	       render ? " (render)" : ", no render node");
	free(render);
	printf("  caps:");
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		if (!drmGetCap(fd, caps[i].cap, &val))
			printf(" %s=%llu", caps[i].name, (unsigned long long)val);
	printf("\n");
	if (!strcmp(v->name, "vrust")) {
		print_vrust(fd);
		demo_vrust_gpu(fd);
	}
	print_kms(fd);
}

static int wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	struct dirent **ents;
	int n, i, shown = 0;

	n = scandir("/dev/dri", &ents, NULL, by_name);
	if (n < 0) {
		perror("/dev/dri");
		return 1;
	}
	for (i = 0; i < n; i++) {
		char path[300];
		drmVersion *v;
		int fd;

		if (strncmp(ents[i]->d_name, "card", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/dri/%s", ents[i]->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			continue;
		}
		v = drmGetVersion(fd);
		if (v && wanted(v->name, argc, argv)) {
			print_card(path, fd, v);
			shown++;
		}
		drmFreeVersion(v);
		close(fd);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (!shown) {
		fprintf(stderr, "no DRM device of driver(s)");
		for (i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, " found in /dev/dri\n");
		return 1;
	}
	return 0;
}
