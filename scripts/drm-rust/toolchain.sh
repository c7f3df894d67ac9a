#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Makes (once) the toolchain root: Debian trixie with trixie-backports rustc/rust-src, bindgen,
# clang/lld 19, kernel build tools, libdrm clients and IGT 2.5 from sid. The root doubles as the
# hostfs root file system that the UML kernel boots into.
#
# Usage: toolchain.sh            make or update the root
#        toolchain.sh --check    exit 0 when the root is complete

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

# Packages of the root. Editing a list updates an existing root in place (no re-debootstrap).
PKGS_BUILD=(bindgen clang lld llvm libclang-dev gcc make flex bison bc libelf-dev libssl-dev
	python3 cpio kmod xz-utils rsync git patch pkg-config shellcheck)
PKGS_BACKPORTS=(rustc rust-src rustfmt rust-clippy)
PKGS_USER=(libdrm-dev libdrm-tests drm-info kbd procps util-linux zlib1g-dev strace)
PKGS_SID=(igt-gpu-tools igt-gpu-tools-tests)
# Packages taken from sid (IGT 2.5 and the libdrm it needs, which libdrm-dev must match); pinned to 500.
SID_PINNED="igt-gpu-tools igt-gpu-tools-tests intel-gpu-tools libxv1 libdrm* libpciaccess* pci.ids"

STAMP="$ROOT/.drm-rust-root"
KEY="v1 ${PKGS_BUILD[*]} | ${PKGS_BACKPORTS[*]} | ${PKGS_USER[*]} | ${PKGS_SID[*]} | $SID_PINNED"

if [ "${1:-}" = --check ]; then
	stamp_ok "$STAMP" "$KEY"
	exit
fi

if stamp_ok "$STAMP" "$KEY"; then
	say "toolchain root: up to date ($ROOT)"
	exit 0
fi

need_root toolchain
need_space 4000

host_apt_install() {
	local update=ok
	say "installing $1 on the host (apt-get install $1)"
	# A failing third-party source makes 'apt-get update' fail as a whole: only the install
	# decides.
	apt-get update -qq >/dev/null 2>&1 || update=failed
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; then
		[ $update = ok ] ||
			die "$2 not found, and the host's package index is unreachable ('apt-get update' failed): check the network or the host's apt sources, or install $1 by hand"
		die "$2 not found and 'apt-get install $1' failed: install it by hand (apt-get install $1)"
	fi
}

command -v debootstrap >/dev/null || host_apt_install debootstrap debootstrap
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] ||
	host_apt_install debian-archive-keyring "the Debian archive keyring"

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
	say "toolchain root: debootstrap trixie into $ROOT (about 30 s, 220 MB)"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	if ! debootstrap --variant=minbase --include=ca-certificates \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$ROOT" "$DEBIAN_MIRROR" >"$DRM_RUST_CACHE/debootstrap.log" 2>&1; then
		tail -n 5 "$DRM_RUST_CACHE/debootstrap.log" >&2
		rm -rf "$ROOT"
		die "debootstrap failed (log: $DRM_RUST_CACHE/debootstrap.log): is $DEBIAN_MIRROR reachable? Set DEBIAN_MIRROR=... to use another mirror"
	fi
fi

root_mount

cat >"$ROOT/etc/apt/sources.list.d/drm-rust.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_MIRROR
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
Check-Valid-Until: no
EOF

cat >"$ROOT/etc/apt/preferences.d/drm-rust" <<EOF
Package: *
Pin: release n=sid
Pin-Priority: -10

Package: $SID_PINNED
Pin: release n=sid
Pin-Priority: 500
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

apt_root() {
	in_root / env DEBIAN_FRONTEND=noninteractive apt-get -y -q \
		-o Dpkg::Progress-Fancy=0 -o APT::Color=0 "$@"
}

say "toolchain root: apt-get update"
apt_root update >"$DRM_RUST_CACHE/apt.log" 2>&1 || {
	tail -n 5 "$DRM_RUST_CACHE/apt.log" >&2
	die "package index unreachable from the toolchain root (log: $DRM_RUST_CACHE/apt.log): check the network or set DEBIAN_MIRROR"
}

install_step() {
	local what=$1
	shift
	say "toolchain root: installing $what"
	if ! apt_root install --no-install-recommends "$@" >>"$DRM_RUST_CACHE/apt.log" 2>&1; then
		tail -n 15 "$DRM_RUST_CACHE/apt.log" >&2
		die "installing $what into the toolchain root failed (log: $DRM_RUST_CACHE/apt.log)"
	fi
}

install_step "build tools (clang/lld 19, bindgen, make, ...)" "${PKGS_BUILD[@]}"
install_step "rustc, rust-src, rustfmt, clippy from trixie-backports" -t trixie-backports "${PKGS_BACKPORTS[@]}"
install_step "libdrm clients and userspace test dependencies" "${PKGS_USER[@]}"
install_step "IGT 2.5 from sid" "${PKGS_SID[@]}"
apt_root clean >/dev/null 2>&1 || true

say "toolchain root: $(in_root / rustc --version), $(in_root / bindgen --version), $(in_root / clang-19 --version | head -n 1)"
echo "$KEY" >"$STAMP"
