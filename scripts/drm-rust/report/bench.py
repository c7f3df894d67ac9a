# SPDX-License-Identifier: GPL-2.0
"""make bench: the benchmark lines of each round of boots (RUN/<round>/: the KUnit bench_* boot's
kunit-bench.log, the userspace drm_bench job's console.log), one table row per benchmark and
round, so the run-to-run spread shows. A round without results fails."""

import glob
import os
import re
import sys

from .common import read

KUNIT_RE = re.compile(r".*bench_rust_drm: ([a-z0-9_]*): (.*)")
USER_RE = re.compile(r".*drm_bench: ([a-z_]*): (.*)")


def rounds(run):
    """The round directories of a bench run, in order: RUN/1, RUN/2, ..."""
    dirs = [d for d in glob.glob(os.path.join(run, "*")) if os.path.basename(d).isdigit()]
    return sorted(dirs, key=lambda d: int(os.path.basename(d)))


def lines_of(path, pattern, suffix=""):
    return [(m.group(1) + suffix, m.group(2))
            for m in map(pattern.match, read(path) or []) if m]


def report(run):
    """Prints the table; returns 1 when a round has no result, else 0."""
    table = []
    fail = 0
    for d in rounds(run):
        i = os.path.basename(d)
        log = os.path.join(d, "kunit-bench.log")
        rows = lines_of(log, KUNIT_RE)
        if not rows or not any(re.match(r"^ok .*bench_", line) for line in read(log) or []):
            print(f"boot {i}: no benchmark result (see {log})", file=sys.stderr)
            fail = 1
            continue
        console = os.path.join(d, "console.log")
        user = lines_of(console, USER_RE, " (user)")
        if not user:
            print(f"boot {i}: no userspace benchmark result (see {console})", file=sys.stderr)
            fail = 1
        table += [(i, name, result) for name, result in rows + user]
    # The benchmark column fits the longest name.
    width = max([len("benchmark")] + [len(name) for _, name, _ in table])
    print()
    print(f"{'boot':<6} {'benchmark':<{width}} result")
    for i, name, result in table:
        print(f"{i:<6} {name:<{width}} {result}")
    if not rounds(run):
        print(f"no benchmark boot in {run}", file=sys.stderr)
        fail = 1
    return fail
