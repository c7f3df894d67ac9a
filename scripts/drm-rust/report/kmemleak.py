# SPDX-License-Identifier: GPL-2.0
"""kmemleak (a kernel built with it, KMEMLEAK=1 in the boot's env): the job's scans left no
unreferenced object in kmemleak.log but those of the boot's baseline (kmemleak.txt), and found
the leaks that samples/kmemleak (kmemleak-test.ko) plants on purpose."""

import os
import re

from .common import read

# The stack trace's and the allocator's own frames at the top of a kmemleak backtrace, left out
# of the report.
ALLOC_FRAME_RE = re.compile(
    r"^(save_stack_trace|stack_trace_save|set_track_prepare|__alloc_object|__?create_object|"
    r"kmemleak_|__?kmalloc|kmalloc|kmem_cache_alloc|__kmem_cache_alloc|kvmalloc|__kvmalloc|"
    r"kzalloc|krealloc|__vmalloc|vmalloc|vzalloc|slab_|__slab_|alloc_pages|__alloc_pages|"
    r"pcpu_alloc|__alloc_percpu|kmemdup|kstrdup|__do_kmalloc|___slab|__rust_|"
    r"_RNv\w*alloc)")
# "    function+0x1a/0x40 [module]" (older kernels: "    [<address>] function+0x1a/0x40").
FRAME_RE = re.compile(
    r"^\s+(?:\[<[0-9a-f]+>\]\s+)?([A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(\s+\[\w+\])?")
COMM_RE = re.compile(r'^\s*comm "([^"]*)"')


def leaks(lines):
    """The objects of a kmemleak report: [(header line, comm, [backtrace frames])], a frame being
    a function name, followed by " [module]" for a module's function."""
    out = []
    for line in lines:
        if line.startswith("unreferenced object"):
            out.append([line.strip().rstrip(":"), "?", []])
        elif out:
            m = COMM_RE.match(line)
            if m:
                out[-1][1] = m.group(1)
            m = FRAME_RE.match(line)
            if m:
                out[-1][2].append(m.group(1) + (m.group(2) or ""))
    return out


def planted(frames):
    return any(f.endswith(" [kmemleak_test]") for f in frames)


def collect(run, res, base, job_rc):
    env = read(os.path.join(run, "env")) or []
    if "KMEMLEAK=1" not in env or not job_rc:
        return
    check = res.suite("kmemleak: no unreferenced objects after the tests")
    kmemleak = read(os.path.join(run, "kmemleak.log"))
    err = read(os.path.join(run, "kmemleak.err"))
    if err is not None or kmemleak is None:
        why = " ".join(err or []).strip() or "no kmemleak.log"
        check.add("fail", f"the job could not scan for leaks: {why} (see console.log)")
        return
    found = leaks(kmemleak)
    if "KMEMLEAK_TEST=1" in env:
        # The job loaded samples/kmemleak, which leaks on purpose: no report of those means
        # kmemleak does not work, not that nothing leaked.
        canary = res.suite("kmemleak: finds the leaks planted by kmemleak-test")
        if any(planted(frames) for _, _, frames in found):
            canary.add("pass")
        else:
            canary.add("fail", "kmemleak reported none of the leaks of kmemleak-test.ko: "
                       "is it off, or did insmod fail? (see console.log)")
    for header, comm, frames in found:
        if planted(frames):
            continue
        if base.known_leak(frames):
            res.known.append(f"kmemleak: {header}, comm {comm}")
            continue
        ours = [f for f in frames if not ALLOC_FRAME_RE.match(f)][:4]
        check.add("fail", f"{header}, comm {comm}, allocated in "
                  f"{' < '.join(ours) or '?'} (see kmemleak.log)")
    if not check.failed:
        check.add("pass")
