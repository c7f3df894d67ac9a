# SPDX-License-Identifier: GPL-2.0
#
# drm-rust: the Rust abstraction layer for Linux DRM drivers, as an overlay on a pinned base
# kernel, built and tested in a UML kernel. See README.md.
#
#   make test      set up, build, run every test, print `N passed, N failed`
#   make run       set up, build, boot, and show what the sample driver exposes
#   make igt IGT_TESTS="core_getversion kms_atomic" DRIVER=vkms
#   make shell [CMD="..."]   boot the test kernel with a shell (or run CMD) for debugging
#   make bench     the layer's benchmarks (in-kernel timing, ratio against C)
#   make lint      rustfmt, clippy, rustdoc, checkpatch and shellcheck on our files
#   make check-configs   build with DRM=y, DRM=m, DRM=n, and DRM=y without shmem/GPUVM
#
# Variables (also read from the environment): DRM_RUST_CACHE (caches, default
# /var/cache/drm-rust), TOOLCHAIN=root|host, JOBS, BASE_VERSION/BASE_KVER (the pinned base),
# KUNIT_GLOB, BOOTS="<id> ..." (some of a target's boots, scripts/drm-rust/boots.txt),
# SKIP_VARIANT=1 (make test without the KASAN variant), VARIANT=kasan (build, shell, kunit on
# that variant), CONFIGS (for check-configs), V=1 (full build output).

S := scripts/drm-rust
# CMD is for the test kernel's shell: keep its `$` (e.g. $BIN) away from make's expansion.
override CMD := $(value CMD)
export CMD
export MAKE_TARGET = $(firstword $(MAKECMDGOALS) test)

.PHONY: test run igt shell build kunit bench lint check-configs setup clean-work clean-cache help

test:
	@$(S)/test.sh

run: build
	@$(S)/boots.sh run

igt: build
	@test -n "$(IGT_TESTS)" || { echo 'error: name the tests: make igt IGT_TESTS="core_getversion kms_atomic" DRIVER=vkms' >&2; exit 1; }
	@test -n "$(DRIVER)" || { echo 'error: name the driver: make igt IGT_TESTS="..." DRIVER=vkms (or vgem, or the sample)' >&2; exit 1; }
	@$(S)/boots.sh igt

shell: build
	@$(S)/boots.sh shell

build: setup
	@$(S)/build.sh

setup:
	@$(S)/setup.sh

# KUnit only (our Rust suites and doctests), e.g. make kunit KUNIT_GLOB='rust_drm*'
kunit: build
	@$(S)/boots.sh kunit

# The layer's benchmarks, timed in the kernel, ratios against the C peers (BENCH_BOOTS=3).
bench: build
	@$(S)/boots.sh bench

# Style of our files: rustfmt, checkpatch, shellcheck, and rustdoc and clippy (a rebuild of
# our Rust with CLIPPY=1).
lint: build
	@LINT_FULL=1 $(S)/lint.sh

# The kernel in other configurations (scripts/drm-rust/configs/check/), each built in its own
# directory: fails naming each one that does not build or link. CONFIGS="drm-n drm-m" picks some.
check-configs: setup
	@$(S)/check-configs.sh

# Remove the work tree and build output (the toolchain root and base download stay).
clean-work:
	@$(S)/clean.sh work

# Remove every cache: toolchain root, base kernel, work tree, build output, test runs.
clean-cache:
	@$(S)/clean.sh all

help:
	@sed -n '3,19p' Makefile | sed 's/^# \{0,1\}//'
