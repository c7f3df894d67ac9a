#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the layer's benchmarks, timed in the kernel (KUnit suites bench_*, which make test
# does not run), and the end-to-end userspace benchmark of dumb buffers on the sample and vkms
# (drm_bench). Each boot prints one line per benchmark; this runs BENCH_BOOTS boots (default 3)
# of each kind and prints every result, so the run-to-run spread shows.
#
# The numbers come from the test kernel, with its debugging options (lockdep, debug objects):
# compare ratios, not absolute times.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

"$SCRIPTS/setup.sh"
"$SCRIPTS/build.sh"

RUN="$RUNS/bench-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
ln -sfn "$RUN" "$RUNS/latest"
boots=${BENCH_BOOTS:-3}
for i in $(seq 1 "$boots"); do
	"$SCRIPTS/boot.sh" kunit "$RUN" "bench$i" 'bench_*'
	mkdir -p "$RUN/user$i"
	QUIET=1 FOLLOW=0 "$SCRIPTS/boot.sh" user "$RUN/user$i" bench
done

# show BOOT LINES: prints "name|result" lines as table rows of boot BOOT.
show() {
	while IFS='|' read -r name result; do
		printf '%-6s %-22s %s\n' "$1" "$name" "$result"
	done <<<"$2"
}

echo
printf "%-6s %-22s %s\n" boot benchmark result
fail=0
for i in $(seq 1 "$boots"); do
	log="$RUN/kunit-bench$i.log"
	lines=$(sed -n 's/.*bench_rust_drm: \([a-z0-9_]*\): \(.*\)/\1|\2/p' "$log")
	if [ -z "$lines" ] || ! grep -q '^ok .*bench_' "$log"; then
		echo "boot $i: no benchmark result (see $log)" >&2
		fail=1
		continue
	fi
	show "$i" "$lines"
	user=$(sed -n 's/.*drm_bench: \([a-z_]*\): \(.*\)/\1 (user)|\2/p' "$RUN/user$i/console.log")
	if [ -z "$user" ]; then
		echo "boot $i: no userspace benchmark result (see $RUN/user$i/console.log)" >&2
		fail=1
		continue
	fi
	show "$i" "$user"
done
exit $fail
