#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configures (from configs/*.config) and builds the UML kernel in $BUILD, incrementally, then
# builds the userspace test programs into $USERBIN.
#
# Usage: build.sh [make targets...]    (default: the kernel, modules and userspace tests)

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

KMAKE=(make -C "$SRC" O="$BUILD" ARCH=um LLVM=1 -j"$JOBS")
FRAGMENTS=("$SCRIPTS"/configs/*.config)
[ -n "${EXTRA_CONFIG:-}" ] && FRAGMENTS+=("$EXTRA_CONFIG")

need_space 2000
mkdir -p "$BUILD" "$USERBIN"
root_mount

kmake() {
	local rc=0
	in_build "$SRC" "${KMAKE[@]}" "$@" 2>&1 |
		python3 "$SCRIPTS/buildfilter.py" "$SRC" "$BUILD" "$WORK/build.log" || rc=$?
	[ "${PIPESTATUS[0]}" = 0 ] && [ $rc = 0 ]
}

if [ "$TOOLCHAIN" = host ]; then
	out=$(make -C "$SRC" O="$BUILD" ARCH=um LLVM=1 rustavailable 2>&1) ||
		die "TOOLCHAIN=host, but the host toolchain cannot build Rust for this kernel: $(echo "$out" | sed -n 's/^\*\*\* \([A-Za-z].*\)/\1/p' | head -n 2 | tr '\n' ' '); use the toolchain root (drop TOOLCHAIN=host)"
fi

# Configuration -----------------------------------------------------------------------------------

key=$(cat "${FRAGMENTS[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$BUILD/.config" ] || ! stamp_ok "$BUILD/.drm-rust-config" "$key"; then
	say "config: $(for f in "${FRAGMENTS[@]}"; do basename "$f"; done | tr '\n' ' ')"
	cat "${FRAGMENTS[@]}" >"$BUILD/.config"
	kmake olddefconfig >/dev/null || die "make olddefconfig failed (log: $WORK/build.log)"
	# Every option a fragment asks for must survive olddefconfig (a missing dependency drops it).
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) want="# ${line%=n} is not set" ;;
		CONFIG_*) want=$line ;;
		*) continue ;;
		esac
		opt=${line%%=*}
		have=$(grep -E "^($opt=|# $opt is not set)" "$BUILD/.config" || echo "# $opt is not set")
		if [ "$want" != "$have" ] && ! { [ "${line#*=}" = n ] && ! grep -q "^$opt=" "$BUILD/.config"; }; then
			echo "config: asked for '$line', got '$have'" >&2
			bad=1
		fi
	done < <(cat "${FRAGMENTS[@]}")
	[ $bad = 0 ] || die "the config fragments in scripts/drm-rust/configs ask for options the kernel did not take (see above): fix their dependencies"
	echo "$key" >"$BUILD/.drm-rust-config"
fi

# Kernel ------------------------------------------------------------------------------------------

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(all)
say "build: make ARCH=um LLVM=1 ${targets[*]} (log: $WORK/build.log)"
kmake "${targets[@]}" || die "kernel build failed: the errors are above (full log: $WORK/build.log)"
[ $# -gt 0 ] && exit 0

rm -rf "$WORK/modules"
kmake INSTALL_MOD_PATH="$WORK/modules" modules_install >/dev/null ||
	die "make modules_install failed (log: $WORK/build.log)"

# Userspace tests ---------------------------------------------------------------------------------

say "build: userspace tests and clients into $USERBIN"
in_root "$REPO" make -s -C "$REPO/tools/testing/selftests/drm-rust" O="$USERBIN" \
	KSFT_DIR="$SRC/tools/testing/selftests" UAPI_DIR="$REPO/include/uapi" ||
	die "building the userspace tests failed (tools/testing/selftests/drm-rust)"
