#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Makes or refreshes the work tree $SRC = base + this repository's overlay + patches/series.
#
# * The base files are hard links into the extracted base (cheap, made once).
# * What we own outright (rust/kernel/drm, rust/helpers/drm*.c) is removed from the base.
# * Every file under the repository's kernel-tree directories is a symlink into the repository,
#   so editing a file here is seen by the next build with no copy step; removed files vanish.
# * patches/series is applied to fresh copies of the files it touches; when the series
#   changes, only files whose patched content changed are replaced.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

TREE="$BASE_DIR/linux"
MARK="$SRC/.drm-rust-base"
PATCHED="$WORK/patched-files"
# Which patch changes which file ("<file> <patch>" lines), for the build output: an error in a
# patched base file names the patch to fix (buildfilter.py).
PATCHED_BY="$SRC/.drm-rust-patched-by"
PATCH_STAMP="$WORK/patches.stamp"

[ -f "$BASE_DIR/.extracted" ] || die "base $BASE_VERSION is not extracted: run scripts/drm-rust/base.sh (make test does)"

if [ -d "$SRC" ] && ! stamp_ok "$MARK" "$BASE_PKG=$BASE_VERSION"; then
	die "stale work tree $SRC: made from '$(cat "$MARK" 2>/dev/null || echo an unknown or unfinished base)', not $BASE_PKG=$BASE_VERSION; remove it with 'make clean-work' and rerun"
fi

if [ ! -d "$SRC" ]; then
	say "work tree: linking base $BASE_VERSION into $SRC"
	need_space 500
	rm -rf "$SRC.tmp"
	mkdir -p "$WORK"
	cp -al "$TREE" "$SRC.tmp"
	for g in "${OWNED_GLOBS[@]}"; do
		# shellcheck disable=SC2086 # the glob must expand
		rm -rf "$SRC.tmp"/$g
	done
	rm -f "$PATCHED" "$PATCH_STAMP"
	echo "$BASE_PKG=$BASE_VERSION" >"$SRC.tmp/.drm-rust-base"
	mv "$SRC.tmp" "$SRC"
fi

# Patches ---------------------------------------------------------------------------------------

series="$REPO/patches/series"
key=$(cd "$REPO/patches" && grep -v '^#' series | xargs cat series 2>/dev/null | sha256sum | cut -c1-16)
if ! stamp_ok "$PATCH_STAMP" "$key"; then
	say "work tree: applying patches/series"
	# Apply the series to pristine copies of the files it touches, in a staging tree; then
	# update only the work tree files whose content changed, so that an edit to one patch (or
	# to a commit message) does not make the build redo everything the others touch.
	stage="$WORK/patch-stage"
	rm -rf "$stage"
	mkdir -p "$stage"
	: >"$PATCHED.new"
	: >"$PATCHED_BY.new"
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		[ -f "$REPO/patches/$p" ] || die "patches/series names $p, which does not exist"
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$REPO/patches/$p" | while read -r f; do
			echo "$f" >>"$PATCHED.new"
			echo "$f $p" >>"$PATCHED_BY.new"
			if [ ! -e "$stage/$f" ] && [ -f "$TREE/$f" ]; then
				mkdir -p "$(dirname "$stage/$f")"
				cp "$TREE/$f" "$stage/$f"
			fi
		done
		if ! out=$(patch -d "$stage" -p1 -f -s --no-backup-if-mismatch <"$REPO/patches/$p" 2>&1); then
			echo "$out" >&2
			die "patches/$p does not apply to base $BASE_VERSION: fix the patch (it is applied with 'patch -p1' to the base's files)"
		fi
	done <"$series"
	# Files the previous series touched but this one does not go back to the base's version.
	if [ -f "$PATCHED" ]; then
		sort -u "$PATCHED.new" | comm -23 "$PATCHED" - | while read -r f; do
			rm -f "$SRC/$f"
			if [ -e "$TREE/$f" ]; then ln "$TREE/$f" "$SRC/$f"; fi
		done
	fi
	sort -u "$PATCHED.new" | while read -r f; do
		if ! cmp -s "$stage/$f" "$SRC/$f"; then
			rm -f "$SRC/$f"
			cp "$stage/$f" "$SRC/$f"
		fi
	done
	sort -u "$PATCHED.new" >"$PATCHED"
	mv "$PATCHED_BY.new" "$PATCHED_BY"
	rm -rf "$PATCHED.new" "$stage"
	echo "$key" >"$PATCH_STAMP"
fi

# Overlay -----------------------------------------------------------------------------------------

# Dangling symlinks are files removed from the repository: drop them (and bring back the base's
# file if there was one that we do not own).
find "$SRC" -xtype l -print | while read -r l; do
	rm -f "$l"
	rel=${l#"$SRC"/}
	owned=0
	for g in "${OWNED_GLOBS[@]}"; do
		# shellcheck disable=SC2053 # glob match intended
		[[ $rel == $g || $rel == $g/* ]] && owned=1
	done
	if [ $owned = 0 ] && [ -e "$TREE/$rel" ]; then ln "$TREE/$rel" "$l"; fi
done

# What we own outright is ours only: a base file there (left by a work tree made when the globs
# were narrower) goes.
for g in "${OWNED_GLOBS[@]}"; do
	# shellcheck disable=SC2086 # the glob must expand
	find "$SRC"/$g -type f -print 2>/dev/null | while read -r f; do rm -f "$f"; done
done

n=0
for d in "${OVERLAY_DIRS[@]}"; do
	[ -d "$REPO/$d" ] || continue
	while IFS= read -r -d '' f; do
		rel=${f#"$REPO"/}
		dst="$SRC/$rel"
		if [ "$(readlink "$dst" 2>/dev/null)" != "$f" ]; then
			mkdir -p "$(dirname "$dst")"
			rm -rf "$dst"
			ln -s "$f" "$dst"
		fi
		n=$((n + 1))
	done < <(find "$REPO/$d" -type f -print0)
done
say "work tree: $n files of ours linked into $SRC"
