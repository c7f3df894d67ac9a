#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-configs: builds the kernel in the configurations the layer must build in, each in its
# own build directory ($WORK/build-cfg-<name>, incremental): the test kernel's fragments
# (configs/*.config) plus configs/check/<name>.config, which sets DRM=y, DRM=m, DRM=n, or DRM=y
# without the GEM shmem helpers and GPUVM. Fails naming every configuration that does not build
# or link. Not part of make test (each configuration is a full kernel build, ~7 min from scratch).
#
# Usage: check-configs.sh [NAME...]    (default: every configs/check/*.config; also CONFIGS="...")

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

unset VARIANT
CHECKS="$SCRIPTS/configs/check"
names=("$@")
if [ ${#names[@]} = 0 ] && [ -n "${CONFIGS:-}" ]; then read -r -a names <<<"$CONFIGS"; fi
if [ ${#names[@]} = 0 ]; then
	for f in "$CHECKS"/*.config; do names+=("$(basename "$f" .config)"); done
fi
for name in "${names[@]}"; do
	[ -f "$CHECKS/$name.config" ] ||
		die "no configuration '$name': name one of: $(for f in "$CHECKS"/*.config; do basename "$f" .config; done | tr '\n' ' ')(files scripts/drm-rust/configs/check/<name>.config)"
done

# What a configuration is, from the second line of its fragment.
describe() {
	sed -n '2s/^# make check-configs: //p' "$CHECKS/$1.config"
}

ok=()
bad=()
for name in "${names[@]}"; do
	t0=$(date +%s)
	say "check-configs: $name: $(describe "$name")"
	if CHECK_CONFIG=$name EXTRA_CONFIG="$CHECKS/$name.config" "$SCRIPTS/build.sh" all; then
		ok+=("$name")
		say "check-configs: $name: builds and links ($(($(date +%s) - t0)) s)"
	else
		bad+=("$name")
		say "check-configs: $name: FAILED ($(($(date +%s) - t0)) s, log: $WORK/build-cfg-$name.log)"
	fi
done

echo
for name in "${ok[@]}"; do printf '  ok      %-16s %s\n' "$name" "$(describe "$name")"; done
for name in "${bad[@]}"; do printf '  FAILED  %-16s %s\n' "$name" "$(describe "$name")"; done
if [ ${#bad[@]} -gt 0 ]; then
	die "the kernel does not build in configuration(s): ${bad[*]} (scripts/drm-rust/configs/check/<name>.config): the errors are above, the logs are $WORK/build-cfg-<name>.log; guard the code that fails with the CONFIG of what it calls (rust/helpers/drm*.c: #if, rust/kernel/drm: #[cfg])"
fi
say "check-configs: ${#ok[@]} configurations build and link"
