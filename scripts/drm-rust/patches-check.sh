#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches-check: makes the series (patches.sh) and checks it, each check failing loudly:
#
#   am          the series applies with `git am` to a pristine base, and arrives at the tree
#               the series was made from
#   checkpatch  scripts/checkpatch.pl --strict is clean on every patch
#   bisect      the kernel builds after every patch, with the test kernel's config, with no
#               compiler warning in a file the patch changes; the last patch's config has
#               nova-drm, Tyr, the sample and the layer's tests on
#   htmldocs    `make htmldocs SPHINXDIRS=gpu` with the Sphinx of the kernel's
#               Documentation/sphinx/requirements.txt (in a venv, from PyPI) warns about
#               nothing in Documentation/gpu/rust/ or our Rust files, built from the applied
#               series
#
# series.py itself checks that every file is in one patch, that the MAINTAINERS entry covers each
# file from its patch on, and that the last patch arrives at the work tree. The patches are signed
# by DRM_RUST_AUTHOR ("Name <address>"); without it, by a placeholder, for the checks only.
#
# rustfmt, clippy and rustdoc of the final tree are make lint's. PATCHES_CHECKS="am checkpatch"
# runs some of the checks only; BISECT_FROM=N starts the builds at patch N (the earlier ones are
# applied unbuilt). The bisect builds take 20 to 70 seconds a patch after a first, cold build of
# the base (13 minutes on 2 cores); the log of each is in $WORK/series/logs.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

SERIES="$WORK/series"
TREE_GIT="$SERIES/tree"
AM="$SERIES/am"
OUT="$SERIES/out"
LOGS="$SERIES/logs"
SBUILD="$SERIES/build"
VENV="$DRM_RUST_CACHE/sphinx-venv"
CHECKS=${PATCHES_CHECKS:-am checkpatch bisect htmldocs}
GIT_ID=(-c user.name=drm-rust -c user.email=drm-rust@localhost)

DRM_RUST_AUTHOR=${DRM_RUST_AUTHOR:-"drm-rust check <drm-rust-check@example.org>"} \
	SERIES_OUT=$OUT "$SCRIPTS/patches.sh" >/dev/null || die "make patches failed"
mapfile -t PATCHES < <(find "$OUT" -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort)
[ ${#PATCHES[@]} -gt 0 ] || die "make patches wrote no patch into $OUT"
rm -rf "$LOGS"
mkdir -p "$LOGS"
root_mount

ok=()
bad=()
result() { # NAME STATUS DETAIL
	if [ "$2" = 0 ]; then ok+=("$1"); else bad+=("$1: $3"); fi
}

# A pristine base to apply the series to: a worktree of the base's repository.
fresh_am_tree() {
	if [ ! -d "$AM/.git" ] && [ ! -f "$AM/.git" ]; then
		git -C "$TREE_GIT" worktree prune
		git -C "$TREE_GIT" worktree add -q --detach "$AM" drm-rust-base ||
			die "git worktree add $AM failed"
	fi
	git -C "$AM" am --abort >/dev/null 2>&1 || true
	{ git -C "$AM" checkout -q -f --detach drm-rust-base && git -C "$AM" clean -q -fdx; } ||
		die "resetting $AM to the base failed"
}

apply_one() { # PATCH
	git "${GIT_ID[@]}" -C "$AM" am -q --whitespace=error-all "$1" >"$LOGS/am.log" 2>&1
}

if [[ " $CHECKS " == *" am "* ]]; then
	say "patches-check: git am of ${#PATCHES[@]} patches onto a pristine base"
	fresh_am_tree
	st=0 why=''
	for p in "${PATCHES[@]}"; do
		if ! apply_one "$p"; then
			st=1 why="$(basename "$p") does not apply: $(head -n 3 "$LOGS/am.log" | tr '\n' ' ')"
			break
		fi
	done
	if [ $st = 0 ] && ! git -C "$AM" diff --quiet drm-rust-series --; then
		st=1 why="the applied series differs from the branch it was made from: $(git -C "$AM" diff --stat drm-rust-series -- | tail -n 1)"
	fi
	result "am: the series applies to a pristine base with git am" $st "$why"
fi

if [[ " $CHECKS " == *" checkpatch "* ]]; then
	say "patches-check: checkpatch --strict on each patch"
	st=0 why=''
	for p in "${PATCHES[@]}"; do
		log="$LOGS/checkpatch-$(basename "$p" .patch).log"
		# FILE_PATH_CHANGES asks whether MAINTAINERS needs an update for an added file: the
		# check below looks at the entry instead. LONG_LINE_STRING is a user-visible string
		# longer than a line, which coding-style.rst says not to break (it could no longer be
		# grepped for). The userspace tests call libdrm, whose API is CamelCase
		# (drmModeGetResources()): CAMELCASE is not checked in them.
		ignore=FILE_PATH_CHANGES,LONG_LINE_STRING
		if ! grep '^+++ b/' "$p" | grep -qv '^+++ b/\(tools/testing/selftests/\|MAINTAINERS\)'; then
			ignore+=,CAMELCASE
		fi
		in_root "$SRC" perl scripts/checkpatch.pl --strict --terse -q \
			--ignore "$ignore" "$p" >"$log" 2>&1 || true
		if ! grep -q '^total: 0 errors, 0 warnings, 0 checks' "$log"; then
			st=1 why+="$(basename "$p"): $(grep -v '^total' "$log" | head -n 2 | tr '\n' ' ')$(grep '^total' "$log") "
		fi
	done
	result "checkpatch: --strict is clean on every patch" $st "$why"
fi

if [[ " $CHECKS " == *" bisect "* ]]; then
	say "patches-check: the kernel builds after every patch (logs: $LOGS/build-*.log)"
	fresh_am_tree
	mkdir -p "$SBUILD"
	from=${BISECT_FROM:-1}
	st=0 why='' n=0
	for p in "${PATCHES[@]}"; do
		n=$((n + 1))
		name=$(basename "$p" .patch)
		apply_one "$p" || { st=1 why="$name does not apply"; break; }
		[ "$n" -ge "$from" ] || continue
		# A patch that changes no file the kernel build reads is not built.
		if ! grep '^+++ b/' "$p" | grep -qv '^+++ b/\(Documentation/\|MAINTAINERS\|tools/testing/\)'; then
			say "patches-check: $name: changes no file of the kernel build"
			continue
		fi
		t0=$(date +%s)
		cat "$SCRIPTS"/configs/*.config >"$SBUILD/.config"
		log="$LOGS/build-$name.log"
		if in_build "$AM" make -C "$AM" O="$SBUILD" ARCH=um LLVM=1 -j"$JOBS" olddefconfig all >"$log" 2>&1; then
			# A warning in a file the patch changes (C: "path:line:col: warning:", Rust:
			# "warning: ..." then "--> path:line:col").
			warned=$(grep '^+++ b/' "$p" | sed 's|^+++ b/||' | while read -r f; do
				grep -E -A3 '(^|: )warning[:[]' "$log" | grep -E "(^|/|> )$f:[0-9]+:[0-9]+" | head -n 1 || true
			done)
			if [ -n "$warned" ]; then
				st=1 why+="$name builds with warnings in its files: $(echo "$warned" | head -n 2 | tr '\n' ' ') "
				say "patches-check: $name: builds, with warnings in its files (log: $log)"
			else
				say "patches-check: $name: builds ($(($(date +%s) - t0)) s)"
			fi
		else
			st=1 why+="$name does not build (log: $log) "
			grep -m 5 -E 'error(\[E[0-9]+\])?:|Error [0-9]' "$log" >&2 || tail -n 5 "$log" >&2
			say "patches-check: $name: FAILED ($(($(date +%s) - t0)) s)"
		fi
	done
	if [ $st = 0 ] && [ "$n" = ${#PATCHES[@]} ]; then
		for opt in DRM_NOVA=m DRM_TYR=m SAMPLE_RUST_DRM_VRUST=m RUST_DRM_KUNIT_TEST=y RUST_DRM_KMS=y; do
			if ! grep -qx "CONFIG_$opt" "$SBUILD/.config"; then
				st=1 why+="the last patch's config does not have CONFIG_$opt, so the build did not test it "
			fi
		done
	fi
	result "bisect: the kernel builds after each of ${#PATCHES[@]} patches" $st "$why"
fi

if [[ " $CHECKS " == *" htmldocs "* ]]; then
	say "patches-check: make htmldocs SPHINXDIRS=gpu (log: $LOGS/htmldocs.log)"
	req="$SRC/Documentation/sphinx/requirements.txt"
	if [ ! -x "$VENV/bin/sphinx-build" ] || ! cmp -s "$req" "$VENV/requirements.txt"; then
		rm -rf "$VENV"
		{ python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$req" &&
			cp "$req" "$VENV/requirements.txt"; } ||
			die "installing Sphinx from $req into $VENV failed: check the network (PyPI)"
	fi
	# The documentation as the applied series has it.
	if [ "$(git -C "$AM" rev-list --count drm-rust-base..HEAD 2>/dev/null)" != ${#PATCHES[@]} ]; then
		fresh_am_tree
		for p in "${PATCHES[@]}"; do apply_one "$p" || die "$(basename "$p") does not apply"; done
	fi
	rm -rf "$SERIES/htmldocs"
	st=0 why=''
	if ! PATH="$VENV/bin:$PATH" make -C "$AM" O="$SERIES/htmldocs" SPHINXDIRS=gpu htmldocs \
		>"$LOGS/htmldocs.log" 2>&1; then
		st=1 why="make htmldocs failed: $(tail -n 3 "$LOGS/htmldocs.log" | tr '\n' ' ')"
	fi
	# Warnings about our files: the pages, and the Rust and C files the pages or MAINTAINERS name.
	if grep -E 'WARNING|ERROR|CRITICAL' "$LOGS/htmldocs.log" | grep -E 'gpu/rust/|rust/kernel/(drm|dma_fence)|rust/helpers/d|vrust' >"$LOGS/htmldocs-ours.log"; then
		st=1 why+="$(wc -l <"$LOGS/htmldocs-ours.log") warnings about our files: $(head -n 3 "$LOGS/htmldocs-ours.log" | tr '\n' ' ')"
	fi
	[ -f "$SERIES/htmldocs/Documentation/output/gpu/rust/index.html" ] ||
		[ -n "$(find "$SERIES/htmldocs" -path '*gpu/rust/index.html' -print -quit 2>/dev/null)" ] || {
		st=1
		why+="no HTML of Documentation/gpu/rust/index.rst was written"
	}
	result "htmldocs: Documentation/gpu/rust/ builds with no warning" $st "$why"
fi

echo
for r in "${ok[@]}"; do echo "  ok      $r"; done
for r in "${bad[@]}"; do echo "  FAILED  $r"; done
[ ${#bad[@]} = 0 ] || die "patches-check: ${#bad[@]} check(s) failed (above); the series is in $OUT, the logs in $LOGS"
say "patches-check: ${#ok[@]} checks pass; the series is in $OUT"
