#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs boots of the test kernel as boots.txt declares them, then reports on them: the one way
# every make target that boots the kernel (test, kunit, igt, bench, run, shell) does it.
#
#   boots.sh TARGET [RUN]   the boots of make TARGET, in the order of boots.txt, into the run
#                           directory RUN (default: a new one, $RUNS/TARGET-<time>), then
#                           TARGET's report on RUN (report.py; exits non-zero when it fails)
#   boots.sh list [TARGET]  the boots of the table (or of TARGET): id, kind, what it runs, targets
#
# BOOTS="<id> ..." picks some of TARGET's boots (e.g. make test BOOTS="drm-c kasan/rust"; an id is
# a boot's name, or <variant>/<name>). SKIP_VARIANT=1 skips the boots of kernel variants (and
# their builds), SKIP_CANARY=1 the canary boots, SKIP_USER=1 the userspace boots. KUNIT_GLOB
# replaces the suites of the boots named rust. TIMEOUT (seconds) replaces every boot's timeout.
#
# A variant's kernel (build-<variant>) is built before its first boot; when that build fails,
# RUN/<variant>/build.failed says so, its boots are left out, and the report fails. VARIANT=<name>
# boots that variant's kernel for the boots of the test kernel (make kunit VARIANT=kasan).
#
# make bench runs its boots BENCH_BOOTS times (default 3), round i into RUN/i, and prints every
# benchmark result of every round, so the run-to-run spread shows. The numbers come from the test
# kernel, with its debugging options (lockdep, debug objects): compare ratios, not times.

# shellcheck source=scripts/drm-rust/lib.sh
. "$(dirname "$0")/lib.sh"

TABLE="$SCRIPTS/boots.txt"

# rows [TARGET]: the rows of the table (of TARGET) into the array ROWS, without comments and
# blank lines.
rows() {
	local name kind runs base variant timeout targets options
	ROWS=()
	while read -r name kind runs base variant timeout targets options; do
		case "$name" in '' | '#'*) continue ;; esac
		[ -n "$options" ] || die "$TABLE: the row of boot '$name' has fewer than 8 columns"
		case "$options" in *' '*) die "$TABLE: the row of boot '$name' has more than 8 columns" ;; esac
		[ "$variant" = - ] || [ -f "$SCRIPTS/configs/variants/$variant.config" ] ||
			die "$TABLE: boot '$name' names variant '$variant', but there is no configs/variants/$variant.config"
		local t
		for t in ${targets//,/ }; do
			case "$t" in test | kunit | igt | bench | run | shell) ;;
			*) die "$TABLE: boot '$name' names target '$t' (not one of test, kunit, igt, bench, run, shell)" ;;
			esac
		done
		if [ -z "${1:-}" ] || [[ ",$targets," == *",$1,"* ]]; then
			ROWS+=("$name $kind $runs $base $variant $timeout $targets $options")
		fi
	done <"$TABLE"
}

# picked ID KIND VARIANT OPTIONS: whether this boot of the target is to run (BOOTS, SKIP_*).
picked() {
	if [ -n "${BOOTS:-}" ] && [[ " $BOOTS " != *" $1 "* ]]; then return 1; fi
	if [ "$3" != - ] && [ "${SKIP_VARIANT:-0}" = 1 ]; then return 1; fi
	if [[ ",$4," == *",canary,"* ]] && [ "${SKIP_CANARY:-0}" = 1 ]; then return 1; fi
	if [ "$2" = user ] && [ "${SKIP_USER:-0}" = 1 ]; then return 1; fi
	return 0
}

# run_boot DIR NAME KIND RUNS VARIANT TIMEOUT OPTIONS: one boot (a row of the table), its
# results in DIR, or DIR/VARIANT for a variant's boot.
run_boot() {
	local dir=$1 name=$2 kind=$3 runs=$4 variant=$5 timeout=$6 options=$7 o
	local env=() opts=()
	IFS=, read -r -a opts <<<"$options"
	for o in "${opts[@]}"; do
		case "$o" in *=*) env+=("$o") ;; esac
	done
	if [ "$variant" != - ]; then
		dir="$dir/$variant"
		env+=("VARIANT=$variant")
	fi
	case "${TIMEOUT:-1}" in '' | *[!0-9]* | 0) die "TIMEOUT must be a number of seconds above 0, not '${TIMEOUT:-}'" ;; esac
	[ "$timeout" = - ] || env+=("TIMEOUT=${TIMEOUT:-$timeout}")
	mkdir -p "$dir"
	local boot
	case "$kind" in
	kunit)
		[ "$name" != rust ] || runs=${KUNIT_GLOB:-$runs}
		boot=(kunit "$dir" "$name" "$runs")
		;;
	user) boot=(user "$dir" "$runs") ;;
	*) die "$TABLE: boot $name: unknown kind '$kind' (kunit or user)" ;;
	esac
	# A boot that could not even start is counted, and the other boots still run.
	env "${env[@]}" "$SCRIPTS/boot.sh" "${boot[@]}" ||
		echo "boot.sh stopped before the boot ran: its error is above in the output of make $target" >"$dir/$name.boot-failed"
}

target=${1:?usage: boots.sh TARGET [RUN] | boots.sh list [TARGET]}
if [ "$target" = list ]; then
	rows "${2:-}"
	printf '%-12s %-6s %-8s %s\n' id kind runs targets
	for row in "${ROWS[@]}"; do
		read -r name kind runs _ variant _ targets _ <<<"$row"
		[ "$variant" = - ] || name="$variant/$name"
		printf '%-12s %-6s %-8s %s\n' "$name" "$kind" "$runs" "$targets"
	done
	exit 0
fi

rows "$target"
[ ${#ROWS[@]} -gt 0 ] || die "boots.txt has no boot for make $target"
# The boots to run. Every boot BOOTS names must be one of the target's, and something must be
# left to run: a filter that picks nothing would report only the lint, and pass.
ids=" "
PICKED=()
for row in "${ROWS[@]}"; do
	read -r name kind _ _ variant _ _ options <<<"$row"
	id=$name
	[ "$variant" = - ] || id="$variant/$name"
	ids+="$id "
	if picked "$id" "$kind" "$variant" "$options"; then PICKED+=("$row"); fi
done
for b in ${BOOTS:-}; do
	[[ "$ids" == *" $b "* ]] || die "BOOTS names '$b', which is not a boot of make $target: pick from${ids% }"
done
[ ${#PICKED[@]} -gt 0 ] || die "no boot of make $target is left to run (BOOTS='${BOOTS:-}', SKIP_VARIANT=${SKIP_VARIANT:-0}, SKIP_CANARY=${SKIP_CANARY:-0}, SKIP_USER=${SKIP_USER:-0})"
RUN=${2:-$(new_run "$target")}
rounds=1
[ "$target" != bench ] || rounds=${BENCH_BOOTS:-3}

built=" "
failed=" "
for ((i = 1; i <= rounds; i++)); do
	dir=$RUN
	[ "$target" != bench ] || dir="$RUN/$i"
	for row in "${PICKED[@]}"; do
		read -r name kind runs _ variant timeout _ options <<<"$row"
		# A variant's kernel: built once, before its first boot.
		if [ "$variant" != - ] && [[ "$built$failed" != *" $variant "* ]]; then
			mkdir -p "$dir/$variant"
			if VARIANT=$variant "$SCRIPTS/build.sh"; then
				built+="$variant "
			else
				echo "the build of variant $variant failed: its errors are above in the output of make $target (log: $BUILD-$variant.log)" >"$dir/$variant/build.failed"
				failed+="$variant "
			fi
		fi
		[[ "$failed" != *" $variant "* ]] || continue
		run_boot "$dir" "$name" "$kind" "$runs" "$variant" "$timeout" "$options"
	done
done

case "$target" in
shell) ;;
run)
	# What the demo job printed, without the kernel's lines.
	sed -n '/^===/,/drm-rust: job demo done/p' "$RUN/console.log" | grep -v '^\[\|drm-rust: job\|^reboot:'
	;;
*)
	say "report ($RUN)"
	report=()
	case "$target" in igt | bench) report=("--$target") ;; esac
	python3 "$SCRIPTS/report.py" "$RUN" "${report[@]}"
	;;
esac
