#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rundir.sh KIND     make a new run directory for a boot and print its path
# rundir.sh latest-run   print the newest run directory

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:?kind}" = latest-run ]; then
	readlink -f "$RUNS/latest"
	exit
fi
run="$RUNS/$1-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
ln -sfn "$run" "$RUNS/latest"
echo "$run"
