# SPDX-License-Identifier: GPL-2.0
#
## drm-rust: the Rust abstraction layer for Linux DRM drivers, as an overlay on a pinned base
## kernel, built and tested in a UML kernel. See README.md and scripts/drm-rust/README.md.
##
## The boots of each target are declared in scripts/drm-rust/boots.txt.
##
# `make help` prints the lines that start with `##` and the targets' `## ` descriptions, in the
# order of this file.

S := scripts/drm-rust
# CMD is for the test kernel's shell: keep its `$` (e.g. $BIN) away from make's expansion.
override CMD := $(value CMD)
export CMD
export MAKE_TARGET = $(firstword $(MAKECMDGOALS) test)

.PHONY: test run igt shell build kunit bench lint check-configs patches patches-check setup clean-work clean-cache help

test: ## set up, build, run every test; ends with `N passed, N failed`
	@$(S)/test.sh

run: build ## set up, build, boot, and show what the sample driver exposes
	@$(S)/boots.sh run

igt: build ## IGT in UML, per subtest: IGT_TESTS="core_getversion kms_atomic" DRIVER="vrust vkms"
	@test -n "$(IGT_TESTS)" || { echo 'error: name the tests: make igt IGT_TESTS="core_getversion kms_atomic" DRIVER=vkms' >&2; exit 1; }
	@test -n "$(DRIVER)" || { echo 'error: name the driver: make igt IGT_TESTS="..." DRIVER=vkms (or vgem, or the sample)' >&2; exit 1; }
	@$(S)/boots.sh igt

shell: build ## boot the test kernel with a shell (exit to power off), or run CMD="..." in it
	@$(S)/boots.sh shell

build: setup ## set up and build only
	@$(S)/build.sh

patches: setup ## the layer as a git format-patch series with a cover letter (scripts/drm-rust/series.txt)
	@$(S)/patches.sh

patches-check: setup ## the series: git am to a pristine base, checkpatch --strict, a build per patch, htmldocs
	@$(S)/patches-check.sh

setup: ## the toolchain root, the base kernel and the work tree
	@$(S)/setup.sh

kunit: build ## KUnit only: our Rust suites and doctests, or KUNIT_GLOB='rust_drm*'
	@$(S)/boots.sh kunit

bench: build ## benchmarks, in-kernel Rust vs C and vrust vs vkms, over BENCH_BOOTS boots (3)
	@$(S)/boots.sh bench

lint: build ## rustfmt, clippy, rustdoc, checkpatch and shellcheck on our files
	@LINT_FULL=1 $(S)/lint.sh

check-configs: setup ## build with DRM=y, DRM=m, DRM=n, and DRM=y without shmem/GPUVM (CONFIGS=...)
	@$(S)/check-configs.sh

clean-work: ## remove the work tree and build output (the toolchain root and base stay)
	@$(S)/clean.sh work

clean-cache: ## remove every cache: toolchain root, base kernel, work tree, build output, runs
	@$(S)/clean.sh all

help: ## this text
	@awk '/^##/ { sub(/^## ?/, ""); print; next } \
		/^[a-z-]+:.*## / { t = $$0; sub(/:.*/, "", t); d = $$0; sub(/^[^#]*## /, "", d); \
			printf "  make %-15s %s\n", t, d }' $(firstword $(MAKEFILE_LIST))

##
## Variables (also read from the environment): DRM_RUST_CACHE (caches, default
## /var/cache/drm-rust), TOOLCHAIN=root|host, JOBS, BASE_VERSION/BASE_KVER (the pinned base),
## KUNIT_GLOB, BOOTS="<id> ..." (some of a target's boots), SKIP_VARIANT=1 (make test without
## the KASAN variant), SKIP_CANARY=1, SKIP_USER=1, VARIANT=kasan (build, shell, kunit on that
## variant), BENCH_BOOTS, TIMEOUT (seconds, every boot), CONFIGS (for check-configs), V=1 (full
## build output).
