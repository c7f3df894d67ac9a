#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clean.sh work   remove the work tree, build output and runs of the pinned base
# clean.sh all    remove every cache under $DRM_RUST_CACHE

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

# Never delete through a bind mount into the host's /dev, /proc or the repository.
unmount_below() {
	local m
	findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r | while read -r m; do
		umount -l "$m" || die "cannot unmount $m: stop the boot or build using it, then retry"
	done
	if findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | grep -q .; then
		die "something is still mounted below $1: not deleting"
	fi
}

case "${1:?work or all}" in
work)
	unmount_below "$DRM_RUST_CACHE"
	say "removing $WORK"
	rm -rf "$WORK"
	;;
all)
	unmount_below "$DRM_RUST_CACHE"
	say "removing $DRM_RUST_CACHE"
	rm -rf "${DRM_RUST_CACHE:?}"
	;;
*) die "clean.sh: say 'work' or 'all'" ;;
esac
