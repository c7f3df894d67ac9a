#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make igt: run the IGT tests $IGT_TESTS against each DRM driver in $DRIVER (both space
# separated; several drivers run in the same boot, for a side-by-side comparison).
# Output goes to $RUN/igt-<driver>-<test>.log and .rc; report.py makes the per-subtest table.
#
# An entry of IGT_TESTS is a test, or TEST:PATTERN to run only some of its subtests: PATTERN goes
# to IGT's --run-subtest (globs, comma separated: kms_flip:basic-*,plain-flip-ts-check). Each
# driver runs the same selection, so the sample is compared with vkms subtest for subtest. Name a
# test once per IGT_TESTS (its log is named by the test). IGT_TIMEOUT (seconds, default 300)
# bounds each test binary; its wall time goes to igt-<driver>-<test>.time.
#
# The C peers (IGT_RETRY, default "vkms vgem") are the yardstick, and their UML timing flakes
# are not the sample's: a subtest that fails on a peer runs once more, alone, into
# igt-<driver>-<test>.retry.log, and report.py counts the second result. The sample's first
# result counts, except for the subtests that time how promptly the host runs UML rather than
# what a driver does (`timing` in baselines/igt-uml.txt): those run once more on every driver.

set -f
IGT_DIR=/usr/libexec/igt-gpu-tools
# UML has no VT: the shim (uml/kd_shim.c) answers KDGETMODE/KDSETMODE so KMS tests can run.
export LD_PRELOAD="$BIN/kd_shim.so"

for drv in $DRIVER; do
	for entry in $IGT_TESTS; do
		t=${entry%%:*}
		set --
		if [ "$t" != "$entry" ]; then
			sel=${entry#*:}
			# An empty selection would run every subtest: refuse it rather than widen the run.
			[ -n "$sel" ] || sel='(empty selection)'
			set -- --run-subtest "$sel"
		fi
		log="$RUN/igt-$drv-$t"
		if [ ! -x "$IGT_DIR/$t" ]; then
			echo "IGT test $t does not exist in $IGT_DIR" | tee "$log.log"
			echo 127 >"$log.rc"
			continue
		fi
		echo "--- IGT $t on $drv${1:+ (subtests $2)}"
		start=$(date +%s)
		# IGT picks the device whose DRM_IOCTL_VERSION name equals IGT_FORCE_DRIVER.
		IGT_FORCE_DRIVER=$drv timeout "${IGT_TIMEOUT:-300}" "$IGT_DIR/$t" "$@" >"$log.log" 2>&1 </dev/null
		echo $? >"$log.rc"
		echo $(($(date +%s) - start)) >"$log.time"
		grep -E '^(Subtest|Dynamic subtest) .*: ' "$log.log" || tail -n 3 "$log.log"
		echo "--- IGT $t on $drv: exit $(cat "$log.rc"), $(cat "$log.time") s"
		# Which failed subtests run again: all of a peer's, the timing ones of the sample.
		case " ${IGT_RETRY-vkms vgem} " in
		*" $drv "*) only='' retry=1 ;;
		*)
			only=$(sed -n 's|^timing[[:space:]]\{1,\}'"$t"'/\([^[:space:]#]*\).*|\1|p' \
				"$SCRIPTS/baselines/igt-uml.txt" | tr '\n' ' ')
			retry=${only:+1}
			;;
		esac
		if [ -n "$retry" ]; then
			# A subtest with dynamic subtests reports FAIL itself when one of them fails. A
			# timing entry names a subtest or the start of its name.
			failed=$(awk -v only="$only" '/^Subtest [^ ]+: (FAIL|CRASH|TIMEOUT)/ {
				sub(":$", "", $2)
				ok = only == ""
				n = split(only, o, " ")
				for (i = 1; i <= n; i++)
					if (index($2, o[i]) == 1)
						ok = 1
				if (ok) { printf "%s%s", sep, $2; sep = "," } }' "$log.log")
			if [ -n "$failed" ]; then
				echo "--- IGT $t on $drv: running $failed again (the second result counts)"
				IGT_FORCE_DRIVER=$drv timeout "${IGT_TIMEOUT:-300}" "$IGT_DIR/$t" \
					--run-subtest "$failed" >"$log.retry.log" 2>&1 </dev/null
				echo $? >"$log.retry.rc"
				grep -E '^(Subtest|Dynamic subtest) .*: ' "$log.retry.log" ||
					tail -n 3 "$log.retry.log"
			fi
		fi
	done
done

# Results are judged from the files left in $RUN, not from this status.
exit 0
