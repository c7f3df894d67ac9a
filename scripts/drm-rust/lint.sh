#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style checks of this repository's files, in the toolchain root:
#   sources     every tracked file under rust/ is source (.rs, .c, .h, ...): no stray files
#   rustfmt     our Rust files, and the base's Rust files as patches/ changes them (the ported
#               drivers), with the kernel's .rustfmt.toml
#   checkpatch  the patch series and our C files (among them scripts/drm-rust/uml/)
#   scripts     checked with shellcheck
#   rustdoc     `make rustdoc`: no warning may name one of our files    (LINT_FULL=1)
#   clippy      our Rust rebuilt with CLIPPY=1: no warning in our files (LINT_FULL=1)
#
# Usage: lint.sh [RUN_DIR]   with RUN_DIR, results also go to RUN_DIR/lint.tap for report.py.
# Needs a work tree and (for LINT_FULL=1) a configured build: make build first.

# shellcheck disable=SC2317 # the check functions are called through check()
# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

run=${1:-}
root_mount
tap=$(mktemp)
n=0
failed=0

check() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name" >>"$tap"
		say "lint: $name: ok"
	else
		echo "not ok $n $name" >>"$tap"
		failed=1
		say "lint: $name: FAILED"
		echo "$out" | sed 's/^/    /' | head -n 60 >&2
	fi
}

mapfile -t rust_files < <(cd "$REPO" && find rust samples -name '*.rs' | sort)
mapfile -t c_files < <(cd "$REPO" && find rust/helpers drivers include tools scripts/drm-rust/uml -name '*.[ch]' 2>/dev/null | sort)
mapfile -t patches < <(grep -v '^#' "$REPO/patches/series" | sed "s|^|$REPO/patches/|")
# The base's Rust files that the series changes, as the work tree has them.
mapfile -t patched_rust < <(grep '\.rs$' "$WORK/patched-files" 2>/dev/null)

# The work tree links every file under rust/ into the kernel, so a file there that is not source
# (an editor's or a shell's leftover) is a mistake. The kinds below are the source kinds of the
# kernel's own rust/ directory.
sources_check() {
	local f files bad=0
	# Tracked files; outside a git checkout (or one git refuses to read), every file.
	if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
		mapfile -d '' -t files < <(git -C "$REPO" ls-files -z -- rust)
	else
		mapfile -d '' -t files < <(cd "$REPO" && find rust -type f -print0)
	fi
	for f in "${files[@]}"; do
		[ -e "$REPO/$f" ] || continue
		case "${f##*/}" in
		*.rs | *.c | *.h | *.S | Makefile | Kconfig | Kconfig.*) ;;
		*)
			echo "$f: not a source file (.rs, .c, .h, .S, Makefile, Kconfig): remove it with 'git rm $f', or, if it is source, add its kind to sources_check in scripts/drm-rust/lint.sh"
			bad=1
			;;
		esac
	done
	[ ${#files[@]} -gt 0 ] || { echo "no files under rust/ found in $REPO"; bad=1; }
	return "$bad"
}

rustfmt_check() {
	in_root "$SRC" rustfmt --check --edition 2021 --config-path .rustfmt.toml "${rust_files[@]}" || return 1
	[ ${#patched_rust[@]} = 0 ] ||
		in_root "$SRC" rustfmt --check --edition 2021 --config-path .rustfmt.toml "${patched_rust[@]}"
}

checkpatch() {
	in_root "$SRC" perl scripts/checkpatch.pl --no-tree -q --terse "${patches[@]}" &&
		in_root "$REPO" perl "$SRC/scripts/checkpatch.pl" --no-tree -q --terse \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f "${c_files[@]}"
}

shellcheck_all() {
	in_root "$REPO" shellcheck -x scripts/drm-rust/*.sh scripts/drm-rust/jobs/*.sh scripts/drm-rust/uml/*.sh .ci/run
}

# Warnings of a build step that name one of our files, or a base file that patches/ changes
# (buildfilter.py notes those).
ours() {
	awk -v repo="$REPO/" '
		/^(warning|error)/ { if (keep) printf "%s", block; block = ""; keep = 0; inb = 1 }
		inb { block = block $0 "\n"; if (index($0, repo) || index($0, "patched by patches/")) keep = 1 }
		END { if (keep) printf "%s", block }'
}

# Runs a kernel make target ($1: its log name, then make arguments) and fails when a warning or
# error names one of our files, or the build fails.
kmake_ours() {
	local log="$WORK/$1.log" out
	shift
	out=$(in_root "$SRC" make -C "$SRC" O="$BUILD" ARCH=um LLVM=1 -j"$JOBS" "$@" 2>&1 |
		python3 "$SCRIPTS/buildfilter.py" "$SRC" "$BUILD" "$log")
	[ -z "$(echo "$out" | ours)" ] || { echo "$out" | ours; return 1; }
	! grep -q 'Error [0-9]' "$log"
}

rustdoc_check() {
	kmake_ours rustdoc rustdoc
}

clippy_check() {
	# Rebuild our Rust (and what depends on it) under clippy.
	touch "${rust_files[@]/#/$REPO/}"
	kmake_ours clippy CLIPPY=1
}

check "sources: only source files under rust/" sources_check
check "rustfmt: ${#rust_files[@]} Rust files, ${#patched_rust[@]} patched ones" rustfmt_check
check "checkpatch: ${#patches[@]} patches, ${#c_files[@]} C files" checkpatch
check "shellcheck: scripts" shellcheck_all
if [ "${LINT_FULL:-0}" = 1 ]; then
	check "rustdoc: no warning in our files" rustdoc_check
	check "clippy: no warning in our files" clippy_check
fi

echo "1..$n" >>"$tap"
if [ -n "$run" ]; then cp "$tap" "$run/lint.tap"; fi
rm -f "$tap"
exit $failed
