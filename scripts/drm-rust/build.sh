#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configures (from configs/*.config) and builds the UML kernel in $BUILD, incrementally, then
# builds the userspace test programs, and what the test kernel's userspace needs besides them
# (uml/: init's power-off, IGT's VT shim), into $USERBIN.
#
# Usage: build.sh [make targets...]    (default: the kernel, modules and userspace tests)
#
# VARIANT=<name> builds a kernel variant instead: the same fragments plus
# configs/variants/<name>.config, in its own $BUILD (e.g. build-kasan), with its own modules; it
# shares the userspace test programs of the main kernel, and does not build them.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

KMAKE=(make -C "$SRC" O="$BUILD" ARCH=um LLVM=1 -j"$JOBS")
FRAGMENTS=("$SCRIPTS"/configs/*.config)
if [ -n "$VARIANT" ]; then
	[ -f "$SCRIPTS/configs/variants/$VARIANT.config" ] ||
		die "VARIANT=$VARIANT, but there is no scripts/drm-rust/configs/variants/$VARIANT.config: name one of: $(for f in "$SCRIPTS"/configs/variants/*.config; do basename "$f" .config; done | tr '\n' ' ')"
	FRAGMENTS+=("$SCRIPTS/configs/variants/$VARIANT.config")
fi
[ -n "${EXTRA_CONFIG:-}" ] && FRAGMENTS+=("$EXTRA_CONFIG")

need_space 2000
mkdir -p "$BUILD" "$USERBIN"
root_mount

kmake() {
	local rc=0
	in_build "$SRC" "${KMAKE[@]}" "$@" 2>&1 |
		python3 "$SCRIPTS/buildfilter.py" "$SRC" "$BUILD" "$BUILD_LOG" || rc=$?
	[ "${PIPESTATUS[0]}" = 0 ] && [ $rc = 0 ]
}

if [ "$TOOLCHAIN" = host ]; then
	out=$(make -C "$SRC" O="$BUILD" ARCH=um LLVM=1 rustavailable 2>&1) ||
		die "TOOLCHAIN=host, but the host toolchain cannot build Rust for this kernel: $(echo "$out" | sed -n 's/^\*\*\* \([A-Za-z].*\)/\1/p' | head -n 2 | tr '\n' ' '); use the toolchain root (drop TOOLCHAIN=host)"
fi

# Configuration -----------------------------------------------------------------------------------

key=$(cat "${FRAGMENTS[@]}" | sha256sum | cut -c1-16)
if [ ! -f "$BUILD/.config" ] || ! stamp_ok "$BUILD/.drm-rust-config" "$key"; then
	say "config${VARIANT:+ of variant $VARIANT}: $(for f in "${FRAGMENTS[@]}"; do basename "$f"; done | tr '\n' ' ')"
	cat "${FRAGMENTS[@]}" >"$BUILD/.config"
	kmake olddefconfig >/dev/null || die "make olddefconfig failed (log: $BUILD_LOG)"
	# Every option a fragment asks for must survive olddefconfig (a missing dependency drops it).
	# When fragments disagree (a variant's fragment comes last), the last word counts.
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
	done < <(cat "${FRAGMENTS[@]}" | grep '^CONFIG_' | tac | awk -F= '!seen[$1]++' | tac)
	[ $bad = 0 ] || die "the config fragments in scripts/drm-rust/configs ask for options the kernel did not take (see above): fix their dependencies"
	echo "$key" >"$BUILD/.drm-rust-config"
fi

# Kernel ------------------------------------------------------------------------------------------

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(all)
say "build${VARIANT:+ of variant $VARIANT}: make ARCH=um LLVM=1 ${targets[*]} (log: $BUILD_LOG)"
kmake "${targets[@]}" || die "kernel build${VARIANT:+ of variant $VARIANT} failed: the errors are above (full log: $BUILD_LOG)"
[ $# -gt 0 ] && exit 0

rm -rf "$MODULES"
kmake INSTALL_MOD_PATH="$MODULES" modules_install >/dev/null ||
	die "make modules_install failed (log: $BUILD_LOG)"
[ -z "$VARIANT" ] || exit 0

# Userspace tests ---------------------------------------------------------------------------------

say "build: userspace tests and clients, and the UML plumbing, into $USERBIN"
in_root "$REPO" make -s -C "$REPO/tools/testing/selftests/drm-rust" O="$USERBIN" \
	KSFT_DIR="$SRC/tools/testing/selftests" UAPI_DIR="$REPO/include/uapi" ||
	die "building the userspace tests failed (tools/testing/selftests/drm-rust)"
in_root "$REPO" make -s -C "$SCRIPTS/uml" O="$USERBIN" ||
	die "building the UML plumbing failed (scripts/drm-rust/uml)"
