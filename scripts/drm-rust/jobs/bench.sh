#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, userspace part: the end-to-end dumb buffer benchmark on the sample and vkms.

"$BIN/drm_bench" "$SAMPLE"
