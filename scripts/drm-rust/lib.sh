# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
#
# Shared settings and helpers for the drm-rust build scripts. Sourced, not run.
#
# Every cache lives under $DRM_RUST_CACHE (default /var/cache/drm-rust):
#   root/                 toolchain root (Debian trixie, debootstrap)
#   base/<ver>/           downloaded linux-source .deb and its tarball
#   work/<ver>/src        work tree: base + this repository's overlay + patches
#   work/<ver>/build      kernel build output (O=; build-host with TOOLCHAIN=host, and
#                         build-<variant> for a kernel variant, e.g. build-kasan, and
#                         build-cfg-<name> for make check-configs)
#   work/<ver>/modules    the build's installed modules (modules-host, modules-<variant>)
#   work/<ver>/user       userspace test binaries
#   work/<ver>/runs/<id>  logs and results of each boot

set -euo pipefail

# Every script runs in a mount namespace of its own (the scripts it starts share it): the bind
# mounts into the toolchain root (root_mount) are private to it and vanish with it, so two
# scripts running at the same time (a build and a boot, or two builds) cannot unmount what the
# other one is using.
if [ -z "${DRM_RUST_MOUNT_NS:-}" ] && [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
	export DRM_RUST_MOUNT_NS=$$
	exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPTS="$REPO/scripts/drm-rust"

DRM_RUST_CACHE=${DRM_RUST_CACHE:-/var/cache/drm-rust}
# The pinned base kernel: Debian's linux-source-7.3 from trixie-backports.
BASE_PKG=${BASE_PKG:-linux-source-7.3}
BASE_VERSION=${BASE_VERSION:-7.3.4-1~bpo13+1}
BASE_KVER=${BASE_KVER:-7.3.4}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# root: build the kernel with the toolchain root's compilers; host: with the host's (when
# 'make LLVM=1 ARCH=um rustavailable' accepts them).
TOOLCHAIN=${TOOLCHAIN:-root}
case "$TOOLCHAIN" in root | host) ;; *) echo "error: TOOLCHAIN must be 'root' or 'host', not '$TOOLCHAIN'" >&2 && exit 1 ;; esac
JOBS=${JOBS:-$(nproc)}

ROOT="$DRM_RUST_CACHE/root"
BASE_DIR="$DRM_RUST_CACHE/base/$BASE_VERSION"
# '~' is awkward in make and shell paths; the work tree name avoids it.
WORK="$DRM_RUST_CACHE/work/${BASE_VERSION//\~/_}"
SRC="$WORK/src"
# A kernel variant: the test kernel's config fragments plus configs/variants/<VARIANT>.config
# (e.g. VARIANT=kasan), built and booted by make test after the main kernel.
VARIANT=${VARIANT:-}
case "$VARIANT" in *[!a-z0-9_-]*) echo "error: VARIANT must name a scripts/drm-rust/configs/variants/<name>.config, not '$VARIANT'" >&2 && exit 1 ;; esac
# A host-toolchain build, and a variant, get their own output directory, so switching does not
# rebuild all.
BUILD="$WORK/build"
[ "$TOOLCHAIN" = root ] || BUILD="$WORK/build-$TOOLCHAIN"
[ -z "$VARIANT" ] || BUILD="$BUILD-$VARIANT"
# make check-configs builds other configurations (configs/check/<name>.config) in build-cfg-<name>.
CHECK_CONFIG=${CHECK_CONFIG:-}
case "$CHECK_CONFIG" in *[!a-z0-9_-]*) echo "error: CHECK_CONFIG must name a scripts/drm-rust/configs/check/<name>.config, not '$CHECK_CONFIG'" >&2 && exit 1 ;; esac
[ -z "$CHECK_CONFIG" ] || BUILD="$BUILD-cfg-$CHECK_CONFIG"
# Each build's log and installed modules sit next to it: build.log and modules for the main one.
BUILD_LOG="$BUILD.log"
MODULES="$WORK/modules${BUILD#"$WORK/build"}"
USERBIN="$WORK/user"
RUNS="$WORK/runs"

# Directories of this repository that are kernel-tree paths and get overlaid onto the base.
OVERLAY_DIRS=(rust samples include Documentation drivers tools)

# What the base ships that we own outright (removed from the work tree, ours used).
OWNED_GLOBS=(rust/kernel/drm rust/helpers/drm*.c)

# Progress and errors -------------------------------------------------------------------------

_t0=${_t0:-$(date +%s)}
export _t0

say() {
	printf '==> [%4ss] %s\n' "$(($(date +%s) - _t0))" "$*" >&2
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" = 0 ] ||
		die "must run as root (debootstrap, chroot and bind mounts need it): run 'sudo make $*' or as root"
}

# Fails early when the cache file system is nearly full, instead of deep inside a build.
need_space() {
	local need_mb=$1 dir=$DRM_RUST_CACHE avail
	mkdir -p "$dir"
	avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
	[ "$avail" -ge "$need_mb" ] ||
		die "disk full: $dir has ${avail} MiB free, this step needs about ${need_mb} MiB; free space or move the caches with DRM_RUST_CACHE=/other/dir"
}

# Writes a stamp (a file holding a key) and tests it, so a step reruns only when its inputs change.
stamp_ok() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

# A new run directory for the results of a make target's boots, $RUNS/KIND-<time>, also
# $RUNS/latest; prints its path.
new_run() {
	local run
	run="$RUNS/$1-$(date +%Y%m%d-%H%M%S)"
	mkdir -p "$run"
	ln -sfn "$run" "$RUNS/latest"
	echo "$run"
}

# Chroot handling -----------------------------------------------------------------------------

# Paths bind-mounted into the toolchain root at the same absolute path, so that every path
# (repository, work tree, results) means the same inside and outside the chroot.
_mounted=()

_bind() {
	local src=$1 dst="$ROOT$1"
	mountpoint -q "$dst" 2>/dev/null && return 0
	mkdir -p "$dst"
	mount --bind "$src" "$dst"
	_mounted+=("$dst")
}

root_unmount() {
	local i
	for ((i = ${#_mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${_mounted[$i]}" 2>/dev/null || true
	done
	_mounted=()
}

root_mount() {
	trap root_unmount EXIT
	_bind /proc
	_bind /sys
	_bind /dev
	mountpoint -q "$ROOT/dev/pts" || { mkdir -p "$ROOT/dev/pts" && mount --bind /dev/pts "$ROOT/dev/pts" && _mounted+=("$ROOT/dev/pts"); }
	if [ -d "$WORK" ]; then _bind "$WORK"; fi
	_bind "$REPO"
}

# Runs a command in the toolchain root, in directory $1.
in_root() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # $1 and $@ are for the inner shell
	chroot "$ROOT" /usr/bin/env -i \
		HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		TERM="${TERM:-dumb}" LANG=C.UTF-8 LIBCLANG_PATH=/usr/lib/llvm-19/lib \
		/bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"
}

# Runs a kernel build command: in the toolchain root, or on the host with TOOLCHAIN=host (the
# root is still the userspace of the test kernel either way).
in_build() {
	local dir=$1
	shift
	if [ "$TOOLCHAIN" = host ]; then
		(cd "$dir" && "$@")
	else
		in_root "$dir" "$@"
	fi
}
