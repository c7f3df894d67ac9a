#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetches (once) the pinned base kernel, Debian's $BASE_PKG=$BASE_VERSION, and unpacks its
# source tarball into $BASE_DIR/linux. Never falls back to another version.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

TREE="$BASE_DIR/linux"
STAMP="$BASE_DIR/.extracted"

if stamp_ok "$STAMP" "$BASE_PKG=$BASE_VERSION"; then
	say "base: $BASE_PKG $BASE_VERSION already extracted"
	exit 0
fi

need_root base
need_space 3000
mkdir -p "$BASE_DIR"

deb=$(find "$BASE_DIR" -maxdepth 1 -name "${BASE_PKG}_*.deb" | head -n 1)
if [ -z "$deb" ]; then
	say "base: downloading $BASE_PKG=$BASE_VERSION (about 170 MB)"
	root_mount
	# apt-get download runs in the toolchain root, whose index includes trixie-backports.
	avail=$(in_root / apt-cache madison "$BASE_PKG" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | xargs)
	case " $avail " in
	*" $BASE_VERSION "*) ;;
	*)
		rmdir "$BASE_DIR" 2>/dev/null
		die "pinned base $BASE_PKG=$BASE_VERSION not in the package index (available: ${avail:-none}); to build on another base on purpose, run e.g. 'make test BASE_VERSION=<version> BASE_KVER=<x.y.z>'" ;;
	esac
	tmp="$BASE_DIR/download"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# The download directory must be reachable from inside the root: use its /tmp.
	in_root /tmp apt-get download -q "$BASE_PKG=$BASE_VERSION" ||
		die "downloading $BASE_PKG=$BASE_VERSION failed: check the network, then retry"
	mv "$ROOT"/tmp/"${BASE_PKG}"_*.deb "$BASE_DIR/"
	rmdir "$tmp"
	deb=$(find "$BASE_DIR" -maxdepth 1 -name "${BASE_PKG}_*.deb" | head -n 1)
fi

say "base: unpacking $(basename "$deb")"
rm -rf "$BASE_DIR/deb" "$TREE" "${BASE_DIR:?}/$BASE_PKG"
dpkg-deb -x "$deb" "$BASE_DIR/deb"
tarball=$(find "$BASE_DIR/deb/usr/src" -name 'linux-source-*.tar.xz' | head -n 1)
[ -n "$tarball" ] || die "$deb holds no linux-source tarball: is BASE_PKG=$BASE_PKG right?"
tar -xf "$tarball" -C "$BASE_DIR"
[ -d "$BASE_DIR/$BASE_PKG" ] || die "$(basename "$tarball") did not unpack to $BASE_PKG/"
mv "$BASE_DIR/$BASE_PKG" "$TREE"
rm -rf "$BASE_DIR/deb"

kver=$(make -s -C "$TREE" kernelversion 2>/dev/null || true)
[ "$kver" = "$BASE_KVER" ] ||
	die "the base tree is Linux '$kver', expected $BASE_KVER: set BASE_KVER to match BASE_VERSION"
echo "$BASE_PKG=$BASE_VERSION" >"$STAMP"
say "base: Linux $kver in $TREE"
