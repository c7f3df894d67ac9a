#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything before the build: toolchain root, base kernel, work tree. Each step is cached and
# cheap when there is nothing to do.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

need_root "${MAKE_TARGET:-test}"
"$SCRIPTS/toolchain.sh"
"$SCRIPTS/base.sh"
"$SCRIPTS/worktree.sh"
