# SPDX-License-Identifier: GPL-2.0
"""Turns the logs of a test run into a per-suite summary and the closing `N passed, N failed`.

Usage: report.py RUN_DIR [--igt | --bench]

One collector per source of results, each reading its files from RUN_DIR:
  kunit.py      kunit-<name>.log   KUnit boots (KTAP on the console), each judged against its
                                   baselines in boots.txt (known failures and WARNs of the base)
  kselftest.py  user-<test>.tap    userspace tests (kselftest harness, TAP); peers.tap, the peer
                                   clients; lint.tap, the style checks
  igt.py        igt-<drv>-<t>.log  IGT runs (and .rc, the exit code); --igt: the per-subtest table
  splats.py     console.log, dmesg.log, job.rc   the userspace boot: its job finished, no splat
  kmemleak.py   kmemleak.log       the suspected leaks after the job's kmemleak scans
                                   (kmemleak.err: why it could not scan), judged against the
                                   boot's baseline (kmemleak.txt)
  lockdep.py    lockdep_stats      lockdep still on (`debug_locks: 1`) after the tests
  bench.py      <round>/           --bench: the benchmark table of make bench
  (here)        <boot>.boot-failed a boot that boot.sh could not start
A kernel variant's boots (configs/variants/) are in RUN_DIR/<variant>/: their tests are counted
as "<variant>: ...", and their baselines are the main ones plus baselines/<variant>/<file> if
there is one; build.failed when its build failed.

Every boot that runs our code must be free of kernel splats (among them KASAN reports, soft
lockups and kmemleak's complaints); a splat or a leak counts as a failed test.
Exits 1 when anything failed.
"""

import glob
import os
import sys

from . import baseline, bench, boots, igt, kmemleak, kselftest, kunit, lockdep, splats
from .common import HERE, Results, Suite, read


def collect(run, igt_only=False, variant=None):
    """Judges the boots of one kernel (a run directory, or its <variant>/ subdirectory)."""
    res = Results()
    kselftest.collect_lint(run, res)
    for path in sorted(glob.glob(os.path.join(run, "*.boot-failed"))):
        name = os.path.basename(path)[:-len(".boot-failed")]
        res.suite(f"boot: {name}").add("fail", " ".join(read(path) or []).strip())
    kunit.collect(run, res, variant)
    if os.path.exists(os.path.join(run, "console.log")):
        env = read(os.path.join(run, "env")) or []
        job = next((line[4:] for line in env if line.startswith("JOB=")), None)
        row = boots.find("user", variant, runs=job)
        base = baseline.load(row["baselines"] if row else ["igt-uml.txt", "kmemleak.txt"], variant)
        kselftest.collect(run, res)
        igt.collect(run, res, base, igt_only)
        rc = splats.collect_user(run, res)
        kmemleak.collect(run, res, base, rc)
        lockdep.collect(run, res)
    return res


def collect_variants(run, res):
    """The boots of the kernel variants, under their own names."""
    for cfg in sorted(glob.glob(os.path.join(HERE, "configs", "variants", "*.config"))):
        variant = os.path.basename(cfg)[:-len(".config")]
        vrun = os.path.join(run, variant)
        if not os.path.isdir(vrun):
            continue
        vres = collect(vrun, variant=variant)
        failed = read(os.path.join(vrun, "build.failed"))
        if failed is not None:
            vres.suites["build"] = Suite("build")
            vres.suites["build"].add("fail", " ".join(failed).strip())
            vres.order.insert(0, "build")
        elif not vres.order:
            vres.suite("boots").add("fail", f"no result of the variant's boots in {vrun}")
        for name in vres.order:
            s = vres.suites[name]
            s.name = f"{variant}: {name}"
            res.put(s)
        res.known.extend(f"{variant}: {k}" for k in vres.known)
        res.again.extend(f"{variant}: {k}" for k in vres.again)


def summary(res):
    """Prints the table of suites and the closing line; returns the exit code."""
    width = max([len(n) for n in res.order] + [20])
    print(f"{'suite':{width}} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for name in res.order:
        s = res.suites[name]
        if s.total() == 0:
            continue
        print(f"{name:{width}} {s.passed:7} {s.failed:7} {s.skipped:8}")
        for note in s.notes[:10]:
            print(f"    FAILED: {note}")
        if len(s.notes) > 10:
            print(f"    ... and {len(s.notes) - 10} more")
    if res.known:
        print(f"known failures and WARNs of the base kernel and of IGT in UML, not counted (baselines/): "
              f"{len(res.known)}")
    for again in res.again:
        print(f"a subtest that failed once (a C peer's, or a timing one), counted as passed when run again: {again}")
    passed = sum(s.passed for s in res.suites.values())
    failed = sum(s.failed for s in res.suites.values())
    skipped = sum(s.skipped for s in res.suites.values())
    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


def main(argv):
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    run = argv[1]
    if "--bench" in argv:
        return bench.report(run)
    res = collect(run, "--igt" in argv)
    collect_variants(run, res)
    return summary(res)
