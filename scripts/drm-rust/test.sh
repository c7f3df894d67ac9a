#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: set up, build, boot the test kernel for KUnit and for the userspace tests, and
# report. Ends with `N passed, N failed`; exits non-zero when a test failed, a boot timed out or
# crashed, a boot that runs our code logged a kernel splat, or lockdep switched itself off.
#
# KUNIT_GLOB narrows the KUnit part (e.g. KUNIT_GLOB='rust_drm*'); SKIP_USER=1 skips the
# userspace boot, SKIP_CANARY=1 the boot of the base's C DRM suites.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

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
# boot is judged against baselines/drm-kunit.txt (known failures and warning locations).
[ "${SKIP_CANARY:-0}" = 1 ] || "$SCRIPTS/boot.sh" kunit "$RUN" drm-c 'drm*'
# Userspace tests, peer clients and IGT smoke tests.
[ "${SKIP_USER:-0}" = 1 ] || "$SCRIPTS/boot.sh" user "$RUN" test

say "report ($RUN)"
python3 "$SCRIPTS/report.py" "$RUN"
