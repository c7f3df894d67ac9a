#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches: the layer as a `git format-patch` series against the pinned base, with a cover
# letter, into $SERIES_OUT (default $WORK/series/out). The series is declared in
# scripts/drm-rust/series.txt and made by series.py on the branch drm-rust-series of a git
# repository of the base ($WORK/series/tree, made on the first run: a few minutes).

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

SERIES="$WORK/series"
TREE_GIT="$SERIES/tree"
OUT=${SERIES_OUT:-$SERIES/out}
GIT_ID=(-c user.name=drm-rust -c user.email=drm-rust@localhost -c core.autocrlf=false)

"$SCRIPTS/setup.sh"

if ! git -C "$TREE_GIT" rev-parse -q --verify refs/tags/drm-rust-base >/dev/null 2>&1; then
	say "patches: a git repository of base $BASE_VERSION in $TREE_GIT (once)"
	need_space 3000
	rm -rf "$TREE_GIT"
	mkdir -p "$SERIES"
	cp -a "$BASE_DIR/linux" "$TREE_GIT.tmp"
	(
		cd "$TREE_GIT.tmp"
		rm -f .drm-rust-base
		git init -q
		# The base's own .gitignore files would hide files of the tarball from `git add`.
		git "${GIT_ID[@]}" add -A -f .
		git "${GIT_ID[@]}" commit -q -m "base: $BASE_PKG $BASE_VERSION"
		git tag drm-rust-base
	) || die "making the git repository of the base failed"
	mv "$TREE_GIT.tmp" "$TREE_GIT"
fi

say "patches: the series of scripts/drm-rust/series.txt into $OUT"
python3 "$SCRIPTS/series.py" "$REPO" "$BASE_DIR/linux" "$SRC" "$TREE_GIT" "$OUT" ||
	die "making the series failed: see the error above"
ls "$OUT"
