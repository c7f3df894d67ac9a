// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim for running IGT's KMS tests in UML.
 *
 * UML has no virtual terminal (CONFIG_VT depends on !UML), so IGT's
 * kmstest_set_vt_graphics_mode() fails to switch the console to graphics mode
 * and the test aborts. This shim answers the console ioctls KDGETMODE and
 * KDSETMODE as a VT would, and passes every other ioctl through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/kd.h>
#include <stdarg.h>
#include <sys/ioctl.h>

static int kd_mode = KD_TEXT;

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, void *);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	switch (request) {
	case KDGETMODE:
		*(int *)arg = kd_mode;
		return 0;
	case KDSETMODE:
		kd_mode = (int)(long)arg;
		return 0;
	}

	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	return real_ioctl(fd, request, arg);
}
