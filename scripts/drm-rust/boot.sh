#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the UML test kernel ($BUILD/linux) inside the toolchain root.
#
#   boot.sh kunit RUN NAME GLOB   KUnit boot: runs the suites matching GLOB, console log to
#                                 RUN/kunit-NAME.log (no root file system is mounted)
#   boot.sh user RUN JOB          hostfs-root boot: init (uml/init.sh) runs jobs/JOB.sh;
#                                 console log to RUN/console.log, results in RUN/
#
# Environment: TIMEOUT (seconds), INTERACTIVE=1 (console on the terminal, for make shell),
# VARIANT (boot that kernel variant, e.g. kasan: $WORK/build-kasan/linux), and what the job
# reads (IGT_TESTS, DRIVER, CMD, PEERS=0: the test job runs the userspace tests only).

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

mode=${1:?usage: boot.sh kunit RUN NAME GLOB | boot.sh user RUN JOB}
RUN=${2:?run directory}
KERNEL="$BUILD/linux"
[ -x "$KERNEL" ] || die "no kernel at $KERNEL: build it first (make build)"
KVER=$(cat "$BUILD/include/config/kernel.release")
mkdir -p "$RUN"
# The test kernel mounts its own /proc, /sys, /dev and /run over the hostfs root.
for p in "$REPO" "$WORK"; do
	case "$p/" in
	/proc/* | /sys/* | /dev/* | /run/*) die "$p is below /proc, /sys, /dev or /run, which the test kernel mounts over: move it (or set DRM_RUST_CACHE)" ;;
	esac
done
root_mount

# UML keeps guest memory in a file under TMPDIR: use tmpfs. The kernel's pid goes to a file
# (the shell that writes it execs the kernel), so that what is left of it can be ended by id.
uml() {
	local log=$1 timeout=$2 rc=0 pidf kpid
	shift 2
	pidf=$(mktemp "$WORK/.uml-pid.XXXXXX")
	# shellcheck disable=SC2016 # $$ and $0 are for the inner shell
	local run_kernel=(sh -c 'echo $$ >"$0" && exec "$@"' "$pidf" "$KERNEL" "$@" con=null "con0=fd:0,fd:1")
	if [ "${INTERACTIVE:-0}" = 1 ]; then
		in_root / env TMPDIR=/dev/shm "${run_kernel[@]}" || rc=$?
	else
		in_root / env TMPDIR=/dev/shm setsid timeout -k 10 "$timeout" "${run_kernel[@]}" \
			</dev/null >"$log" 2>&1 || rc=$?
	fi
	# UML's helper processes can outlive a killed kernel. The kernel makes itself the leader of
	# a session and process group of its own (setsid() in arch/um/os-Linux/main.c), which they
	# are in: end that process group.
	kpid=$(cat "$pidf" 2>/dev/null || true)
	rm -f "$pidf"
	case "$kpid" in '' | *[!0-9]*) ;; *) kill -9 -- "-$kpid" 2>/dev/null || true ;; esac
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "drm-rust: boot timed out after ${timeout}s" >>"$log"
		say "boot timed out after ${timeout}s (log: $log)"
	fi
	return 0
}

case "$mode" in
kunit)
	name=${3:?name} glob=${4:?glob}
	say "boot: KUnit suites '$glob' (log: $RUN/kunit-$name.log)"
	uml "$RUN/kunit-$name.log" "${TIMEOUT:-600}" mem=1G kunit.enable=1 \
		"kunit.filter_glob=$glob" kunit_shutdown=halt log_buf_len=8M
	;;
user)
	job=${3:?job}
	[ -f "$SCRIPTS/jobs/$job.sh" ] || die "no job scripts/drm-rust/jobs/$job.sh"
	# Values for a POSIX sh to source: single-quoted, with embedded quotes escaped.
	q() { local v=${1:-}; printf "'%s'" "${v//\'/\'\\\'\'}"; }
	cat >"$RUN/env" <<-EOF
		JOB=$job
		BIN=$USERBIN
		REPO=$REPO
		SCRIPTS=$SCRIPTS
		MODDIR=$MODULES
		KVER=$KVER
		SAMPLE=${SAMPLE_DRIVER:-vrust}
		IGT_TESTS=$(q "${IGT_TESTS:-}")
		IGT_TIMEOUT=$(q "${IGT_TIMEOUT:-}")
		DRIVER=$(q "${DRIVER:-}")
		CMD=$(q "${CMD:-}")
		VARIANT=$VARIANT
		PEERS=$(q "${PEERS:-1}")
		KMEMLEAK=$(grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "$BUILD/.config" && echo 1 || echo 0)
		KMEMLEAK_TEST=$(grep -q '^CONFIG_SAMPLE_KMEMLEAK=m' "$BUILD/.config" && echo 1 || echo 0)
	EOF
	rm -f "$RUN/job.rc" "$RUN/lockdep_stats" "$RUN/dmesg.log" "$RUN/kmemleak.log" "$RUN/kmemleak.err"
	say "boot: userspace job '$job' (console: $RUN/console.log)"
	if [ "${INTERACTIVE:-0}" = 1 ]; then
		uml /dev/null 0 mem=2G kunit.enable=0 root=/dev/root rootfstype=hostfs rootflags=/ rw \
			init="$SCRIPTS/uml/init.sh" DRM_RUST_RUN="$RUN" loglevel=4
	else
		uml "$RUN/console.log" "${TIMEOUT:-1200}" mem=2G kunit.enable=0 root=/dev/root \
			rootfstype=hostfs rootflags=/ rw init="$SCRIPTS/uml/init.sh" DRM_RUST_RUN="$RUN" \
			log_buf_len=8M ${QUIET:+loglevel=4} &
		pid=$!
		# Show the job's progress lines while it runs.
		if [ "${FOLLOW:-1}" = 1 ]; then
			tail -n +1 -F --pid=$pid "$RUN/console.log" 2>/dev/null |
				grep --line-buffered -E '^(---|===|Subtest|Dynamic subtest|drm-rust:)' || true
		fi
		wait $pid
	fi
	[ -f "$RUN/job.rc" ] || say "boot: the job did not finish (see $RUN/console.log)"
	;;
*)
	die "unknown boot mode '$mode'"
	;;
esac
