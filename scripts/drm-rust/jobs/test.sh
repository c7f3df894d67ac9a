#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make test, userspace part: runs the userspace tests (kselftest harness, KTAP output) and the
# peer clients inside the test kernel. Each suite leaves <suite>.tap in $RUN; report.py reads
# them, the kernel log and the lockdep state.

# The userspace tests, as listed by their Makefile.
while read -r t; do
	echo "--- userspace test $t"
	timeout 600 "$BIN/$t" >"$RUN/user-$t.tap" 2>&1 </dev/null
	echo "--- userspace test $t: exit $?"
done <"$BIN/tests.list"

# Peer clients: libdrm's test programs and drm_info against the C peers. A client passes when
# it exits 0; its output is kept in peer-<name>.log.
n=0
peer() {
	name=$1
	shift
	n=$((n + 1))
	if timeout 120 "$@" >"$RUN/peer-$name.log" 2>&1; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # exit $?, see peer-$name.log"
	fi >>"$RUN/peers.tap"
}
peer drm_info drm_info
peer modetest-vkms-info modetest -M vkms -c -p -e
peer proptest-vkms proptest -M vkms
peer drm_demo "$BIN/drm_demo"
echo "1..$n" >>"$RUN/peers.tap"

# IGT core tests on the C peers, the same way make igt runs them.
for d in vkms vgem; do
	DRIVER=$d IGT_TESTS="core_getversion core_getclient" sh "$SCRIPTS/jobs/igt.sh"
done
