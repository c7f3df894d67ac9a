# SPDX-License-Identifier: GPL-2.0
"""IGT runs of a userspace boot (igt-<driver>-<test>.log and .rc, from jobs/igt.sh): per-subtest
results per driver, the sample against vkms test by test, and for make igt the side-by-side
table and the time of each test binary (.time). A test run with a subtest selection
(TEST:PATTERN in IGT_TESTS) logs only the subtests it ran, the same ones for every driver.
Subtests that fail in UML for every driver are in the boot's baseline (boots.txt: igt-uml.txt).
A subtest that failed and was run again (jobs/igt.sh, igt-<drv>-<test>.retry.log: any of a C
peer's, the sample's `timing` ones) counts with its second result; the first failure is listed
with the known ones."""

import glob
import os
import re

from .common import Suite, read

START_RE = re.compile(r"^Starting subtest: (\S+)")
SUB_RE = re.compile(r"^(Subtest|Dynamic subtest) (\S+): (SUCCESS|FAIL|SKIP|CRASH|TIMEOUT)")


def results(log_lines, rc, suite, known=lambda name: False, again=None):
    """Per-subtest IGT results; a test without subtests is judged by its exit code.

    A subtest with dynamic subtests is counted through them (as `subtest/dynamic`), not itself.
    A failure that `known(name)` accepts is not counted; the names of those are returned second.
    `again` maps the subtests of a second run to their results: a failure that passed there
    counts as a pass, and is returned third.
    """
    rows = []
    started = []
    current, dynamic = None, 0
    for line in log_lines:
        m = START_RE.match(line)
        if m:
            current, dynamic = m.group(1), 0
            started.append(current)
            continue
        m = SUB_RE.match(line)
        if not m:
            continue
        if m.group(1) == "Dynamic subtest":
            dynamic += 1
            rows.append((f"{current}/{m.group(2)}", m.group(3)))
        elif not dynamic:
            rows.append((m.group(2), m.group(3)))
    # A subtest that started and never said how it ended: the test died in it.
    for name in started:
        if not any(r == name or r.startswith(name + "/") for r, _ in rows):
            rows.append((name, "FAIL (no result: the test died in it)"))
    if not rows:
        rows.append(("(whole test)", {0: "SUCCESS", 77: "SKIP"}.get(rc, f"FAIL (exit {rc})")))
    elif rc not in (0, 77) and all(r in ("SUCCESS", "SKIP") for _, r in rows):
        # Every subtest passed or skipped, yet the test failed: it crashed or timed out after them.
        rows.append(("(whole test)", f"FAIL (exit {rc})"))
    known_failed, passed_again = [], []
    for i, (name, res) in enumerate(rows):
        status = {"SUCCESS": "pass", "SKIP": "skip"}.get(res, "fail")
        if status == "fail" and again and again.get(name) == "SUCCESS":
            passed_again.append(f"{name}: {res}")
            rows[i] = (name, "SUCCESS")
            suite.add("pass", f"{name}: passed when run again")
            continue
        if status == "fail" and known(name):
            known_failed.append(name)
            continue
        suite.add(status, f"{name}: {res}")
    return rows, known_failed, passed_again


def collect(run, res, base, igt_only=False):
    table, drivers = {}, []
    logs = [p for p in glob.glob(os.path.join(run, "igt-*.log")) if not p.endswith(".retry.log")]
    for path in sorted(logs, key=os.path.getmtime):
        name = os.path.basename(path)[len("igt-"):-len(".log")]
        drv, test = name.split("-", 1)
        rc_lines = read(path[:-4] + ".rc") or ["255"]
        again = None
        retry = read(path[:-4] + ".retry.log")
        if retry is not None:
            retry_rc = read(path[:-4] + ".retry.rc") or ["255"]
            again = dict(results(retry, int(retry_rc[0] or 255), Suite("retry"))[0])
        rows, known, flaked = results(read(path), int(rc_lines[0] or 255),
                                      res.suite(f"igt: {test} on {drv}"),
                                      lambda sub, t=test: base.known_fail(f"{t}/{sub}"), again)
        res.known.extend(f"IGT {test}/{sub} on {drv}" for sub in known)
        res.again.extend(f"IGT {test}/{sub} on {drv}" for sub in flaked)
        if drv not in drivers:
            drivers.append(drv)
        for sub, result in rows:
            table.setdefault((test, sub), {})[drv] = result
    # The sample must pass at least what vkms passes, test by test.
    sample = os.environ.get("SAMPLE_DRIVER", "vrust")
    if sample in drivers and "vkms" in drivers:
        cmp = res.suite(f"igt: {sample} passes at least what vkms passes")
        for t in dict.fromkeys(test for test, _ in table):
            n = {d: sum(r.get(d) == "SUCCESS" for (tt, _), r in table.items() if tt == t)
                 for d in (sample, "vkms")}
            if n[sample] >= n["vkms"]:
                cmp.add("pass")
            else:
                cmp.add("fail", f"{t}: {sample} {n[sample]} < vkms {n['vkms']} subtests passed")
    if igt_only and table:
        print(f"  {'test':24} {'subtest':52} " + " ".join(f"{d:>10}" for d in drivers))
        for (test, sub), result in table.items():
            print(f"  {test:24} {sub:52} " + " ".join(f"{result.get(d, '-'):>10}" for d in drivers))
        print(f"  {'SUCCESS per driver':77} " + " ".join(
            f"{sum(r.get(d) == 'SUCCESS' for r in table.values()):>10}" for d in drivers))
    if igt_only and table:
        # How long each test binary ran (jobs/igt.sh leaves igt-<driver>-<test>.time, seconds).
        times = {}
        for path in glob.glob(os.path.join(run, "igt-*.time")):
            drv, test = os.path.basename(path)[len("igt-"):-len(".time")].split("-", 1)
            times.setdefault(test, {})[drv] = (read(path) or ["?"])[0].strip()
        if times:
            print(f"  {'seconds per test binary':77} " + " ".join(f"{d:>10}" for d in drivers))
            for test in dict.fromkeys(t for t, _ in table):
                if test in times:
                    print(f"  {test:77} " + " ".join(
                        f"{times[test].get(d, '-'):>10}" for d in drivers))
    if igt_only and not glob.glob(os.path.join(run, "igt-*.log")):
        res.suite("igt").add("fail", "no IGT test ran")
