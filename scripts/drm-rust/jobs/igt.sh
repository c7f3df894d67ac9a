#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make igt: run the IGT tests $IGT_TESTS against each DRM driver in $DRIVER (both space
# separated; several drivers run in the same boot, for a side-by-side comparison).
# Output goes to $RUN/igt-<driver>-<test>.log and .rc; report.py makes the per-subtest table.

IGT_DIR=/usr/libexec/igt-gpu-tools
# UML has no VT: the shim (uml/kd_shim.c) answers KDGETMODE/KDSETMODE so KMS tests can run.
export LD_PRELOAD="$BIN/kd_shim.so"

for drv in $DRIVER; do
	for t in $IGT_TESTS; do
		log="$RUN/igt-$drv-$t"
		if [ ! -x "$IGT_DIR/$t" ]; then
			echo "IGT test $t does not exist in $IGT_DIR" | tee "$log.log"
			echo 127 >"$log.rc"
			continue
		fi
		echo "--- IGT $t on $drv"
		# IGT picks the device whose DRM_IOCTL_VERSION name equals IGT_FORCE_DRIVER.
		IGT_FORCE_DRIVER=$drv timeout 300 "$IGT_DIR/$t" >"$log.log" 2>&1 </dev/null
		echo $? >"$log.rc"
		grep -E '^(Subtest|Dynamic subtest) .*: ' "$log.log" || tail -n 3 "$log.log"
	done
done

# Results are judged from the files left in $RUN, not from this status.
exit 0
