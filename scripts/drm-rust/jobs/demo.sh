#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make run: show what the DRM drivers of the test kernel expose. The sample driver ($SAMPLE) is
# shown once it exists; until then the C peer vkms stands in, clearly labelled. Then a picture:
# a scene composed on the driver's planes, taken through its writeback connector, as a PNG file
# in the run directory (the guest sees the host's file system, so the path is the host's).

if [ -n "$SAMPLE" ] && "$BIN/drm_demo" "$SAMPLE" >/dev/null 2>&1; then
	echo "=== the sample driver: $SAMPLE ==="
	"$BIN/drm_demo" "$SAMPLE"
else
	echo "=== the sample driver is not built yet: showing the C peer vkms instead ==="
	"$BIN/drm_demo" vkms
fi

drv=$SAMPLE
[ -n "$drv" ] && "$BIN/drm_demo" "$drv" >/dev/null 2>&1 || drv=vkms
echo "=== the picture: a frame composed by $drv ==="
"$BIN/vrust_picture" "$drv" "$RUN/$drv-frame.png"
