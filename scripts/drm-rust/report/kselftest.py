# SPDX-License-Identifier: GPL-2.0
"""TAP of the userspace side: the userspace tests (user-<test>.tap, kselftest harness), the peer
clients (peers.tap) and the style checks of make test (lint.tap, from lint.sh)."""

import glob
import os

from . import ktap
from .common import read


def collect_lint(run, res):
    lint = read(os.path.join(run, "lint.tap"))
    if lint is not None:
        ktap.parse(lint, "lint (make lint for details)", res)


def failures(res):
    return sum(s.failed for s in res.suites.values())


def collect(run, res):
    """Every userspace test must report its whole plan, and at least one result, and exit with
    success (0) or skip (4, KSFT_SKIP) unless it reported a failure."""
    for path in sorted(glob.glob(os.path.join(run, "user-*.tap"))):
        name = os.path.basename(path)[len("user-"):-len(".tap")]
        before, failed_before = res.total(), failures(res)
        plan, got, _ = ktap.parse(read(path), f"user: {name}", res)
        if plan is None or got < plan:
            res.suite(f"user: {name}").add("fail", f"incomplete: {got} of {plan} results, see {path}")
        elif res.total() == before:
            res.suite(f"user: {name}").add("fail", f"no results in {path}")
        rc = (read(path[:-len(".tap")] + ".rc") or [""])[0].strip()
        if rc not in ("", "0", "4") and failures(res) == failed_before:
            # Every result passed, yet the test failed: it crashed or timed out after them.
            res.suite(f"user: {name}").add("fail", f"exited {rc} after its results, see {path}")
    peers = read(os.path.join(run, "peers.tap"))
    if peers is not None:
        ktap.parse(peers, "peer clients", res)
