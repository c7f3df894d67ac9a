#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make patches: the layer as a patch series against the pinned base (series.txt).

    series.py REPO BASE_TREE WORK_TREE GIT_TREE OUT

REPO is this repository, BASE_TREE the extracted base kernel, WORK_TREE the work tree (base,
patches/series and the overlay: what the last patch must arrive at), GIT_TREE a git repository
whose commit tagged drm-rust-base holds the base (made by patches.sh). The patches are committed
on the branch drm-rust-series of GIT_TREE, one commit per section of series.txt, and written
with `git format-patch` and a cover letter (series/cover.txt) into OUT. DRM_RUST_AUTHOR="Name
<address>" makes that person the author and signer of every patch.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile

BASE_TAG = "drm-rust-base"
BRANCH = "drm-rust-series"
OVERLAY_DIRS = ("rust", "samples", "include", "Documentation", "drivers", "tools")


def die(msg):
    sys.exit(f"error: {msg}")


def git(tree, *args, env=None, text=True):
    return subprocess.run(["git", "-C", tree, *args], check=True, capture_output=True,
                          text=text, env=env).stdout


# In a hide's text: what comes before it is context, kept, that makes the hidden text unique;
# and "from START to the first END after it" is written START\...END.
CONTEXT = "\0"
THROUGH = "\1"
# The MAINTAINERS entry of the layer, which must cover every file of the series from its patch on.
ENTRY = "DRM RUST ABSTRACTION LAYER (drm-rust)"


def unescape(s):
    return (s.replace("\\n", "\n").replace("\\t", "\t").replace("\\|", CONTEXT)
            .replace("\\...", THROUGH))


def find_hidden(text, hide):
    """Where the hidden part of `hide` is in `text`, (start, end) or None, and how many places
    the start of the hide's text matches."""
    before, _, hidden = hide.rpartition(CONTEXT)
    start, _, end = hidden.partition(THROUGH)
    n = text.count(before + start)
    i = text.find(before + start)
    if i < 0:
        return None, n
    i += len(before)
    if not end:
        return (i, i + len(start)), n
    j = text.find(end, i + len(start))
    if j < 0:
        return None, n
    return (i, j + len(end)), n


def covered(path, patterns):
    """Whether a MAINTAINERS entry with these F: patterns covers `path`."""
    for pat in patterns:
        if pat.endswith("/") and path.startswith(pat):
            return True
        if fnmatch.fnmatchcase(path, pat) and path.count("/") == pat.count("/"):
            return True
    return False


def entry_patterns(maintainers):
    """The F: patterns of the layer's MAINTAINERS entry."""
    lines = maintainers.split("\n")
    if ENTRY not in lines:
        return []
    out = []
    for line in lines[lines.index(ENTRY) + 1:]:
        if not line.strip():
            break
        if line.startswith("F:\t"):
            out.append(line[3:].strip())
    return out


class Patch:
    def __init__(self, name):
        self.name, self.message, self.base, self.files = name, None, [], []
        self.delete, self.hide, self.broken = [], [], []


def parse_manifest(path):
    patches = []
    for n, raw in enumerate(open(path), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([a-z0-9-]+)\]", line)
        if m:
            patches.append(Patch(m.group(1)))
            continue
        key, _, rest = line.partition(" ")
        if not patches:
            die(f"{path}:{n}: '{key}' before the first [name]")
        p = patches[-1]
        if key == "message":
            p.message = rest.strip()
        elif key in ("base", "files", "delete"):
            getattr(p, key).extend(rest.split())
        elif key == "hide":
            file, _, text = rest.partition(" ")
            p.hide.append((file, unescape(text)))
        elif key == "broken":
            fix, until = rest.split()
            p.broken.append((fix, until))
        else:
            die(f"{path}:{n}: unknown key '{key}' (message, base, files, delete, hide, broken)")
    names = [p.name for p in patches]
    if len(set(names)) != len(names):
        die(f"{path}: a patch name is used twice")
    for p in patches:
        if not p.message:
            die(f"{path}: [{p.name}] has no message")
        for _, until in p.broken:
            if until not in names or names.index(until) <= names.index(p.name):
                die(f"{path}: [{p.name}] broken ... {until}: {until} is not a later patch")
    return patches


def split_patch(path):
    """A patches/ entry: (subject, body, {file: section text})."""
    text = open(path).read()
    head, sep, rest = text.partition("\ndiff --git ")
    if not sep:
        die(f"{path} has no diff")
    sections = {}
    for chunk in ("\ndiff --git " + rest).split("\ndiff --git ")[1:]:
        m = re.match(r"a/(\S+) b/(\S+)", chunk)
        # The signature ("-- " and git's version) ends the last section.
        sections[m.group(2)] = "diff --git " + chunk.split("\n-- \n")[0].rstrip("\n") + "\n"
    lines = head.split("\n")
    subject, body, i = None, [], 0
    while i < len(lines):
        if lines[i].startswith("Subject: "):
            subject = re.sub(r"^\[PATCH[^\]]*\]\s*", "", lines[i][len("Subject: "):])
            i += 1
            while i < len(lines) and lines[i].startswith(" "):
                subject += lines[i]
                i += 1
            break
        i += 1
    for line in lines[i:]:
        if line == "---":
            break
        body.append(line)
    author = re.search(r"^From: (.*)$", head, re.M)
    return subject, "\n".join(body).strip("\n"), sections, author.group(1) if author else None


def message_of(repo, p, patch_info):
    if p.message.startswith("patches/"):
        subject, body, _, _ = patch_info[os.path.basename(p.message)[:4]]
    else:
        path = os.path.join(repo, "scripts/drm-rust", p.message)
        if not os.path.exists(path):
            die(f"[{p.name}]: message file scripts/drm-rust/{p.message} does not exist")
        text = open(path).read()
        subject, _, body = text.partition("\n")
        body = body.strip("\n")
    return subject.strip(), body


def overlay_files(repo):
    out = subprocess.run(["git", "-C", repo, "ls-files", "--", *OVERLAY_DIRS], check=True,
                         capture_output=True, text=True).stdout.split()
    return sorted(out)


def glob_match(path, pattern):
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(path, pattern) and path.count("/") == pattern.count("/")


def apply_section(tmp, base_tree, file, sections, broken):
    """The file as base + the patch sections (in order): its text, or None when absent."""
    dst = os.path.join(tmp, file)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.exists(dst):
        os.unlink(dst)
    src = os.path.join(base_tree, file)
    if os.path.exists(src):
        shutil.copyfile(src, dst)
    for what, sec in sections + broken:
        r = subprocess.run(["patch", "-d", tmp, "-p1", "-f", "-s", "-F2", "--no-backup-if-mismatch",
                            "-r", "-"], input=sec, text=True, capture_output=True)
        if r.returncode:
            die(f"{what} does not apply to {file} in the series order: {r.stdout}{r.stderr}"
                "move its change to the patch series.txt puts it in, or split it")
    if not os.path.exists(dst):
        return None
    text = open(dst).read()
    os.unlink(dst)
    return text


def main():
    repo, base_tree, work_tree, tree, out = sys.argv[1:6]
    patches = parse_manifest(os.path.join(repo, "scripts/drm-rust/series.txt"))
    names = [p.name for p in patches]
    series = [line.strip() for line in open(os.path.join(repo, "patches/series"))
              if line.strip() and not line.startswith("#")]
    info = {s[:4]: split_patch(os.path.join(repo, "patches", s)) for s in series}
    order = {s[:4]: i for i, s in enumerate(series)}

    # Which patch of the series each base-patch section goes to.
    claimed = {}
    for k, p in enumerate(patches):
        for b in p.base:
            num, _, file = b.partition(":")
            if num not in info:
                die(f"[{p.name}] base {b}: no patches/{num}-* in patches/series")
            if file:
                if file not in info[num][2]:
                    die(f"[{p.name}] base {b}: patches/{num} does not change {file}")
                claimed[(num, file)] = k
    for k, p in enumerate(patches):
        for b in p.base:
            if ":" not in b:
                for file in info[b][2]:
                    claimed.setdefault((b, file), k)
    for num, (_, _, sections, _) in info.items():
        for file in sections:
            if (num, file) not in claimed:
                die(f"patches/{num} changes {file}, which no patch of series.txt takes: "
                    "add 'base {num}' or 'base {num}:{file}' to one")

    # Which patch each overlay file goes to.
    owner = {}
    for f in overlay_files(repo):
        hits = [k for k, p in enumerate(patches) if any(glob_match(f, g) for g in p.files)]
        if not hits:
            die(f"{f} is in no patch of scripts/drm-rust/series.txt: add it to the 'files' of one")
        exact = [k for k in hits if f in patches[k].files]
        if len(hits) > 1 and len(exact) == 1:
            # A file named outright goes where it is named, not where a glob takes it.
            hits = exact
        if len(hits) > 1:
            die(f"{f} is in patches {', '.join(names[k] for k in hits)} of series.txt: keep it in one")
        owner[f] = hits[0]
    for k, p in enumerate(patches):
        for g in p.files:
            if not any(glob_match(f, g) for f in owner):
                die(f"[{p.name}] files {g}: matches no file of the repository")

    final = {}
    for f in owner:
        final[f] = open(os.path.join(repo, f)).read()
    base_files = sorted({f for (_, f) in claimed} |
                        {line.split()[1][2:] for p in patches for fix, _ in p.broken
                         for line in open(os.path.join(repo, "scripts/drm-rust", fix))
                         if line.startswith("+++ ")})
    broken_files = {fix: {line.split()[1][2:] for line in open(os.path.join(repo, "scripts/drm-rust", fix))
                          if line.startswith("+++ ")} for p in patches for fix, _ in p.broken}
    for k, p in enumerate(patches):
        for file, text in p.hide:
            whole = final.get(file)
            if whole is None and file in base_files:
                whole = open(os.path.join(work_tree, file)).read()
            if whole is None:
                die(f"[{p.name}] hide {file}: not a file of the series")
            span, n = find_hidden(whole, text)
            if span is None or n != 1:
                die(f"[{p.name}] hide {file}: the text occurs {n} times in it, not once (or its "
                    f"end is not after its start): {text!r} (put the text before it that makes "
                    "it unique before a \\|)")

    # The author and sign-off of every patch: DRM_RUST_AUTHOR="Name <address>" for a real
    # person's, or the one of patches/.
    default = info[series[0][:4]][3] or "drm-rust <dri-devel@lists.freedesktop.org>"
    author = os.environ.get("DRM_RUST_AUTHOR")
    if not author:
        die("name the author and signer of the patches: DRM_RUST_AUTHOR='Name <address>' make "
            "patches (a mailing list cannot sign off a patch)")
    if not re.fullmatch(r"[^<>]+ <[^<>@\s]+@[^<>\s]+>", author):
        die(f"DRM_RUST_AUTHOR='{author}' is not 'Name <address>'")
    aname, amail = re.fullmatch(r"(.*) <(.*)>", author).groups()
    date = git(repo, "log", "-1", "--format=%cD").strip()
    env = dict(os.environ, GIT_AUTHOR_NAME=aname, GIT_AUTHOR_EMAIL=amail, GIT_AUTHOR_DATE=date,
               GIT_COMMITTER_NAME=aname, GIT_COMMITTER_EMAIL=amail, GIT_COMMITTER_DATE=date)

    git(tree, "checkout", "-q", "-f", "-B", BRANCH, BASE_TAG)
    git(tree, "clean", "-q", "-fdx")
    tmp = tempfile.mkdtemp(prefix="drm-rust-series-")
    try:
        for k, p in enumerate(patches):
            # The latest patch's hides first: a hide inside an earlier one's text goes first.
            later_hides = [(q.name, f, t) for q in reversed(patches[k + 1:]) for f, t in q.hide]
            contents = {}
            for f in sorted(owner):
                if owner[f] <= k:
                    contents[f] = final[f]
            for f in base_files:
                secs = sorted(((order[num], f"patches/{num}", info[num][2][ff])
                               for (num, ff), kk in claimed.items() if ff == f and kk <= k))
                broken = [(fix, [l for l in re.split(r"(?m)^(?=--- a/)",
                                                     open(os.path.join(repo, "scripts/drm-rust", fix)).read())
                                 if l.startswith("--- a/" + f + "\n")])
                          for q in patches[:k + 1] for fix, until in q.broken
                          if names.index(until) > k]
                broken = [(fix, secs_[0]) for fix, secs_ in broken if secs_]
                touched = any(ff == f and kk <= k for (_, ff), kk in claimed.items()) or any(
                    f in broken_files[fix] for q in patches[:k + 1] for fix, _ in q.broken)
                if not touched:
                    continue
                contents[f] = apply_section(tmp, base_tree, f, [(w, s) for _, w, s in secs], broken)
            for name, f, t in later_hides:
                if contents.get(f) is None:
                    continue
                span, _ = find_hidden(contents[f], t)
                if span is None:
                    die(f"[{name}] hide {f}: its text is not in the file after patch {p.name}")
                contents[f] = contents[f][:span[0]] + contents[f][span[1]:]
                # A hide at the end of a file leaves no blank line at its end.
                if contents[f].endswith("\n\n"):
                    contents[f] = contents[f].rstrip("\n") + "\n"
            # A base file that a patch deletes, unless a file of the overlay has come in its place.
            for q in patches[:k + 1]:
                for f in q.delete:
                    if f not in owner or owner[f] > k:
                        contents[f] = None
            # Every file of the layer is in its MAINTAINERS entry from its patch on.
            if contents.get("MAINTAINERS"):
                pats = entry_patterns(contents["MAINTAINERS"])
                for f in sorted(owner):
                    if owner[f] <= k and not covered(f, pats):
                        die(f"[{p.name}] adds {f}, which the MAINTAINERS entry '{ENTRY}' does "
                            "not cover at that patch: add its F: line with a hide to that patch")
            for f, text in contents.items():
                dst = os.path.join(tree, f)
                if os.path.lexists(dst):
                    os.unlink(dst)
                if text is not None:
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with open(dst, "w") as fh:
                        fh.write(text)
            git(tree, "add", "-A", "-f", ".")
            if not git(tree, "status", "--porcelain", "--untracked-files=no").strip():
                die(f"[{p.name}] changes nothing")
            subject, body = message_of(repo, p, info)
            body = "\n".join(line for line in body.split("\n")
                             if line != f"Signed-off-by: {default}").rstrip("\n")
            msg = subject + "\n\n" + body + "\n"
            if f"Signed-off-by: {author}" not in body:
                msg += f"\nSigned-off-by: {author}\n"
            subprocess.run(["git", "-C", tree, "commit", "-q", "-F", "-"], input=msg,
                           text=True, check=True, env=env)
    finally:
        shutil.rmtree(tmp)

    # The last patch's tree is the work tree.
    changed = git(tree, "diff", "--name-only", BASE_TAG, BRANCH).split()
    wanted = set(owner) | set(base_files)
    bad = []
    for f in sorted(wanted | set(changed)):
        mine = os.path.join(tree, f)
        theirs = os.path.join(work_tree, f)
        a = open(mine, "rb").read() if os.path.exists(mine) else None
        b = open(theirs, "rb").read() if os.path.exists(theirs) else None
        if a != b:
            bad.append(f)
    if bad:
        die("the series does not arrive at the work tree; these files differ: " + " ".join(bad)
            + " (run scripts/drm-rust/setup.sh first if the work tree is stale)")

    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    git(tree, "format-patch", "-q", "--cover-letter", "--no-signature", "--subject-prefix=PATCH",
        "-o", out, f"{BASE_TAG}..{BRANCH}", env=env)
    cover = open(os.path.join(repo, "scripts/drm-rust/series/cover.txt")).read()
    csubject, _, cbody = cover.partition("\n")
    files = sorted(os.listdir(out))
    cpath = os.path.join(out, files[0])
    text = open(cpath).read()
    text = text.replace("*** SUBJECT HERE ***", csubject.strip())
    text = text.replace("*** BLURB HERE ***", cbody.strip("\n"))
    open(cpath, "w").write(text)
    print(f"{len(files) - 1} patches and a cover letter in {out}")


if __name__ == "__main__":
    main()
