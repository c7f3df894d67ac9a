#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make run: show what the DRM drivers of the test kernel expose. The sample driver ($SAMPLE) is
# shown once it exists; until then the C peer vkms stands in, clearly labelled.

if [ -n "$SAMPLE" ] && "$BIN/drm_demo" "$SAMPLE" >/dev/null 2>&1; then
	echo "=== the sample driver: $SAMPLE ==="
	"$BIN/drm_demo" "$SAMPLE"
else
	echo "=== the sample driver is not built yet: showing the C peer vkms instead ==="
	"$BIN/drm_demo" vkms
fi
