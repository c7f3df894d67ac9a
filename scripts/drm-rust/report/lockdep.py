# SPDX-License-Identifier: GPL-2.0
"""lockdep (PROVE_LOCKING): still on at the end of the userspace boot, /proc/lockdep_stats saved
by init as lockdep_stats saying `debug_locks: 1`."""

import os
import re

from .common import read


def collect(run, res):
    stats = read(os.path.join(run, "lockdep_stats"))
    check = res.suite("lockdep still on after the tests")
    if stats is None:
        check.add("fail", "no /proc/lockdep_stats (is PROVE_LOCKING off?)")
    elif not any(re.match(r"\s*debug_locks:\s+1$", s) for s in stats):
        check.add("fail", "debug_locks is 0: lockdep switched itself off, see console.log")
    else:
        check.add("pass")
