#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: set up, build, check the style of our files, run the boots of make test (boots.txt:
# the KUnit suites of our code, the base's C DRM suites as a canary, the userspace tests with the
# peer clients and IGT, then the same tests of our code on the KASAN variant) and report. Ends
# with `N passed, N failed`; exits non-zero when a test failed, a boot timed out or crashed, a
# boot that runs our code logged a kernel splat, kmemleak found a leak, or lockdep switched
# itself off.
#
# KUNIT_GLOB narrows the KUnit part (e.g. KUNIT_GLOB='rust_drm*'); BOOTS="<id> ..." runs some of
# the boots only; SKIP_USER=1 skips the userspace boots, SKIP_CANARY=1 the boot of the base's C
# DRM suites, SKIP_VARIANT=1 the KASAN variant (build and boots). See boots.sh.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

[ -z "$VARIANT" ] || die "make test builds and boots the kernel variants itself: drop VARIANT=$VARIANT (SKIP_VARIANT=1 skips them)"

"$SCRIPTS/setup.sh"
"$SCRIPTS/build.sh"

RUN=$(new_run test)

# Style of our files (rustfmt, checkpatch, shellcheck); make lint adds rustdoc and clippy.
# A failed check is in RUN/lint.tap, counted by the report; a lint that could not finish must
# be counted too.
if ! "$SCRIPTS/lint.sh" "$RUN" && [ ! -s "$RUN/lint.tap" ]; then
	printf 'not ok 1 lint: lint.sh stopped before it wrote its results (see its output above)\n1..1\n' >"$RUN/lint.tap"
fi

exec "$SCRIPTS/boots.sh" test "$RUN"
