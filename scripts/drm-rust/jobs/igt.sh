#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make igt: run IGT tests ($IGT_TESTS, space separated) against the DRM driver $DRIVER.
# Each test's output goes to $RUN/igt-<driver>-<test>.log; report.py turns it into per-subtest results.

IGT_DIR=/usr/libexec/igt-gpu-tools
# UML has no VT: the shim answers KDGETMODE/KDSETMODE so KMS tests can run.
export LD_PRELOAD="$BIN/kd_shim.so"
export IGT_FORCE_DRIVER="$DRIVER"

for t in $IGT_TESTS; do
	if [ ! -x "$IGT_DIR/$t" ]; then
		echo "IGT test $t does not exist in $IGT_DIR" | tee "$RUN/igt-$DRIVER-$t.log"
		echo 127 >"$RUN/igt-$DRIVER-$t.rc"
		continue
	fi
	echo "--- IGT $t on $DRIVER"
	timeout 300 "$IGT_DIR/$t" >"$RUN/igt-$DRIVER-$t.log" 2>&1
	echo $? >"$RUN/igt-$DRIVER-$t.rc"
	grep -E '^(Subtest|Dynamic subtest) .*: ' "$RUN/igt-$DRIVER-$t.log" || tail -n 3 "$RUN/igt-$DRIVER-$t.log"
done
