#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: set up, build, boot the test kernel for KUnit and for the userspace tests, and
# report. Ends with `N passed, N failed`; exits non-zero when a test failed, a boot timed out or
# crashed, a boot that runs our code logged a kernel splat, or lockdep switched itself off.
#
# Then the KASAN variant of the kernel (KASAN, kmemleak, soft-lockup detector; its own build
# directory, build-kasan) is built and booted for the Rust KUnit suites and the userspace tests;
# its results go to RUN/kasan/ and count as tests named "kasan: ...".
#
# KUNIT_GLOB narrows the KUnit part (e.g. KUNIT_GLOB='rust_drm*'); SKIP_USER=1 skips the
# userspace boots, SKIP_CANARY=1 the boot of the base's C DRM suites, SKIP_VARIANT=1 the KASAN
# variant (build and boots).

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

[ -z "$VARIANT" ] || die "make test builds and boots the kernel variants itself: drop VARIANT=$VARIANT (SKIP_VARIANT=1 skips them)"

"$SCRIPTS/setup.sh"
"$SCRIPTS/build.sh"

RUN="$RUNS/test-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
ln -sfn "$RUN" "$RUNS/latest"

# Style of our files (rustfmt, checkpatch, shellcheck); make lint adds rustdoc and clippy.
"$SCRIPTS/lint.sh" "$RUN" || true

# Our code: the Rust doctests and #[kunit_tests] suites, in a boot held to the no-splat rule.
"$SCRIPTS/boot.sh" kunit "$RUN" rust "${KUNIT_GLOB:-rust*}"
# The base's own C DRM suites, as a canary, in a boot of their own: they WARN on purpose, so that
# boot is judged against baselines/kunit-drm-c.txt (known failures and warning locations).
[ "${SKIP_CANARY:-0}" = 1 ] || "$SCRIPTS/boot.sh" kunit "$RUN" drm-c 'drm*'
# Userspace tests, peer clients and IGT smoke tests.
[ "${SKIP_USER:-0}" = 1 ] || "$SCRIPTS/boot.sh" user "$RUN" test

# The KASAN variant: the same tests of our code, under KASAN, kmemleak and the soft-lockup
# detector. A build failure is reported with the results instead of ending the run.
if [ "${SKIP_VARIANT:-0}" != 1 ]; then
	v=kasan
	mkdir -p "$RUN/$v"
	if VARIANT=$v "$SCRIPTS/build.sh"; then
		VARIANT=$v "$SCRIPTS/boot.sh" kunit "$RUN/$v" rust "${KUNIT_GLOB:-rust*}"
		[ "${SKIP_USER:-0}" = 1 ] || VARIANT=$v PEERS=0 "$SCRIPTS/boot.sh" user "$RUN/$v" test
	else
		echo "the build of variant $v failed: its errors are above in the output of make test (log: $BUILD-$v.log)" >"$RUN/$v/build.failed"
	fi
fi

say "report ($RUN)"
python3 "$SCRIPTS/report.py" "$RUN"
