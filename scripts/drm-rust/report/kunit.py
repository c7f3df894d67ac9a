# SPDX-License-Identifier: GPL-2.0
"""KUnit boots (kunit-<name>.log: KTAP on the console): per-suite results, each boot complete and
free of splats, both judged against the boot's baseline (boots.txt). A canary boot runs the base
kernel's own suites: they are counted as one line."""

import glob
import os

from . import baseline, boots, ktap, splats
from .common import Results, Suite, read


def collect(run, res, variant=None):
    for path in sorted(glob.glob(os.path.join(run, "kunit-*.log")), key=os.path.getmtime):
        boot = os.path.basename(path)[len("kunit-"):-len(".log")]
        row = boots.find("kunit", variant, name=boot)
        base = baseline.load(row["baselines"] if row else [f"kunit-{boot}.txt"], variant)
        is_canary = row is not None and "canary" in row["options"]
        lines = read(path)
        sub = Results()
        plan, got, found = ktap.parse(lines, f"kunit-{boot}", sub)
        canary = Suite(f"kunit: the base's C DRM suites (canary, {len(sub.order)} suites)")
        for name in sub.order:
            s = sub.suites[name]
            # Known failures of the base's own tests do not count against us.
            for note in s.notes:
                if base.known_fail(note):
                    res.known.append(note)
                    s.failed -= 1
                else:
                    canary.notes.append(note)
            if is_canary:
                canary.passed += s.passed
                canary.failed += s.failed
                canary.skipped += s.skipped
                continue
            s.notes = [n for n in s.notes if not base.known_fail(n)]
            s.name = f"kunit: {name}"
            res.put(s)
        if is_canary:
            res.put(canary)
        check = res.suite(f"boot: kunit-{boot}")
        if plan is None:
            check.add("fail", f"no KTAP output in {path}")
        elif plan == 0:
            check.add("fail", f"no KUnit suite ran (does the glob match any suite?), see {path}")
        elif got < plan:
            check.add("fail", f"only {got} of {plan} suites reported (crash or timeout?), see {path}")
        else:
            check.add("pass")
        splats.judge(check, found, base, res.known)
