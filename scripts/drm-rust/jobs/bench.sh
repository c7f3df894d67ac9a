#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, userspace part: the end-to-end benchmarks on the sample and vkms (dumb buffers,
# EXEC COPY, page-flip latency, EXEC to out-fence latency:
# tools/testing/selftests/drm-rust/drm_bench.c), and composition throughput through writeback
# (drm_compose_bench.c).

"$BIN/drm_bench" "$SAMPLE"
"$BIN/drm_compose_bench" "$SAMPLE"
