# SPDX-License-Identifier: GPL-2.0
"""Baselines (baselines/*.txt): the known failures, WARN locations and kmemleak reports of the
base kernel (and of IGT in UML) that a boot is judged against."""

import os

from .common import HERE, read


class Baseline:
    """Known failures and WARN locations of the base's own tests in one boot (baselines/*.txt).

        fail <suite>.<test>[.<param>]       a known failing test (prefix match)
        warn <file>:<line> [in <name>]      a known WARN location, optionally only in tests whose
                                            suite, test or parameter name starts with <name>
        leak <function>                     a known kmemleak report: an unreferenced object
                                            whose allocation backtrace has <function>
        expect <text> in <test>             a splat that <test> must cause: the boot fails
                                            without it (a test of a lockdep annotation)
        timing <test>/<subtest>             an IGT subtest that the sample runs again when it
                                            fails (read by jobs/igt.sh; not a known failure)

    A variant's boots read the main baseline and the variant's own (baselines/<variant>/).
    """

    def __init__(self, *paths):
        self.fails, self.warns, self.leaks, self.expects = [], [], [], []
        for path in paths:
            for line in read(path) or []:
                line = line.split("#", 1)[0].strip()
                if line.startswith("fail "):
                    self.fails.append(line[5:].strip())
                elif line.startswith("warn "):
                    loc, _, test = line[5:].partition(" in ")
                    self.warns.append((loc.strip(), test.strip()))
                elif line.startswith("leak "):
                    self.leaks.append(line[5:].strip())
                elif line.startswith("expect "):
                    text, _, test = line[7:].partition(" in ")
                    self.expects.append((text.strip(), test.strip()))

    def known_fail(self, path):
        return any(path.startswith(f) for f in self.fails)

    def known_leak(self, frames):
        return any(f.split(" ")[0] in self.leaks for f in frames)

    def expected(self, line, test):
        """The `expect` entry that a splat line reported in `test` is, if any."""
        for text, t in self.expects:
            if text in line and (test or "").startswith(t):
                return (text, t)
        return None

    def known_warn(self, loc, test):
        parts = (test or "").split(".")
        return loc is not None and any(
            loc.endswith(w) and (not t or any(p.startswith(t) for p in parts))
            for w, t in self.warns)


def load(names, variant=None):
    """The baseline of a boot: the files its row in boots.txt names, and a variant's own of each."""
    paths = []
    for name in names:
        paths.append(os.path.join(HERE, "baselines", name))
        if variant:
            paths.append(os.path.join(HERE, "baselines", variant, name))
    return Baseline(*paths)
