#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the UML test kernel (booted with a hostfs root: the toolchain root). Mounts the
# virtual file systems, runs the job that boot.sh wrote into the run directory, saves the
# kernel log and the lockdep state there, and powers off.
#
# The kernel command line passes DRM_RUST_RUN=<run directory> into the environment.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# /tmp stays the toolchain root's own: the repository or the caches may live below it.
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t configfs configfs /sys/kernel/config

RUN=${DRM_RUST_RUN:?DRM_RUST_RUN not set on the kernel command line}
# What boot.sh passes to the job (BIN, REPO, SCRIPTS, IGT_TESTS, ...), exported.
set -a
# shellcheck source=/dev/null
. "$RUN/env"
set +a
export RUN

# The sample driver is a module: load it for every job (the tests unload and reload it).
VRUST_KO=$(find "$MODDIR" -name rust_drm_vrust.ko 2>/dev/null | head -n 1)
export VRUST_KO
if [ -n "$VRUST_KO" ]; then
	insmod "$VRUST_KO" || echo "drm-rust: insmod $VRUST_KO failed" >/dev/kmsg
fi

echo "drm-rust: job $JOB starting" >/dev/kmsg
sh "$SCRIPTS/jobs/$JOB.sh" "$@"
echo "$?" >"$RUN/job.rc"
echo "drm-rust: job $JOB done" >/dev/kmsg

cat /proc/lockdep_stats >"$RUN/lockdep_stats" 2>/dev/null
dmesg >"$RUN/dmesg.log" 2>/dev/null
# uml_poweroff (uml/uml_poweroff.c): when init exits instead, the kernel panics.
exec "$BIN/uml_poweroff"
