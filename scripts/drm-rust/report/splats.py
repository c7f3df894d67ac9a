# SPDX-License-Identifier: GPL-2.0
"""Kernel splats (WARNING, BUG, Oops, lockdep, KASAN, soft lockups, stalls, kmemleak's complaints,
a boot's timeout) in a console log, and the check of the userspace boot: its job finished, and no
splat in its kernel log. KUnit boots judge their splats against a baseline (kunit.py)."""

import glob
import os
import re

from .common import read

SPLAT_RE = re.compile(
    r"WARNING:|BUG:|\bOops\b|Kernel panic|kernel BUG at|general protection fault|"
    r"possible circular locking|possible recursive locking|inconsistent lock state|"
    r"bad unlock balance|suspicious RCU usage|INFO: task \S+ blocked for more than|"
    r"rcu: INFO:|detected stalls? on CPU|BUG: KASAN|KASAN:|UBSAN:|refcount_t:|"
    r"soft lockup|unreferenced object|"
    # kmemleak only announces itself at boot (and its test module, samples/kmemleak, says what
    # it leaks on purpose); anything else it says is a complaint, but one: when the fuzzer's
    # fault injection fails kmemleak's own allocation of a scan area, kmemleak scans the whole
    # object instead, which can hide a leak but never invents one.
    r"kmemleak: (?!Kernel memory leak detector initialized|Automatic memory scanning thread|"
    r"Kmemleak testing$|\w+\(.*\) = (0x)?[0-9a-f]+$|"
    r"Cannot allocate a scan area, scanning the full object$)|"
    r"DEBUG_LOCKS_WARN_ON|list_(add|del) corruption|ODEBUG:|"
    r"sleeping function called from invalid context|drm-rust: boot timed out"
)
LOC_RE = re.compile(r"([\w./-]+\.(?:c|h|rs):\d+)")
# What a kmemleak scan prints in the kernel log; the leaks themselves are judged in kmemleak.log.
KMEMLEAK_SUMMARY_RE = re.compile(r"kmemleak: \d+ new suspected memory leaks")


def splats(lines):
    """Returns the kernel splats of a log as (line, location it names or None, line index).

    Lines right after a splat line (the DEBUG_LOCKS_WARN_ON condition after a WARNING) belong
    to the same splat; the line that names a location represents it.
    """
    out = []
    last = -10
    for i, line in enumerate(lines):
        if not SPLAT_RE.search(line):
            continue
        loc = LOC_RE.search(line)
        if i - last <= 3 and out:
            if out[-1][1] is None and loc:
                out[-1] = (line.strip(), loc.group(1), out[-1][2])
        else:
            out.append((line.strip(), loc.group(1) if loc else None, i))
        last = i
    return out


def judge(check, found, base, known):
    """Judges the splats of a KUnit boot, each attributed to a test (ktap.parse): a WARN the
    baseline knows in that test is not counted, a splat it expects there is required, any other
    splat fails `check`."""
    seen = set()
    for line, loc, test in found:
        exp = base.expected(line, test)
        if exp:
            seen.add(exp)
            check.add("pass")
        elif base.known_warn(loc, test):
            known.append(f"{loc} in {test}")
        else:
            check.add("fail", f"kernel splat in {test or 'boot'}: {line}")
    for text, test in base.expects:
        if (text, test) not in seen:
            check.add("fail", f"{test} did not cause the splat it tests ('{text}'): the annotation it checks is not working")


def collect_user(run, res):
    """The userspace boot: its job ran and exited 0, ran tests (the test job), and its kernel log
    (console.log, dmesg.log) has no splat. Returns the job's exit code ('' when it did not
    finish)."""
    check = res.suite("boot: userspace")
    rc = (read(os.path.join(run, "job.rc")) or [""])[0].strip()
    if not rc:
        check.add("fail", "the job did not finish: see console.log")
    elif rc != "0":
        check.add("fail", f"the job exited with {rc}: see console.log")
    else:
        check.add("pass")
    env = read(os.path.join(run, "env")) or []
    if "JOB=test" in env and not glob.glob(os.path.join(run, "user-*.tap")):
        check.add("fail", "no userspace test ran: see console.log")
    seen = set()
    kmemleak = read(os.path.join(run, "kmemleak.log"))
    for log in ("console.log", "dmesg.log"):
        lines = [line for line in read(os.path.join(run, log)) or []
                 if kmemleak is None or not KMEMLEAK_SUMMARY_RE.search(line)]
        for line, _, _ in splats(lines):
            if line not in seen:
                seen.add(line)
                check.add("fail", f"kernel splat: {line}")
    return rc
