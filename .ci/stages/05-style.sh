#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Stage: clang-format (.clang-format) on the C lines changed since a base
# commit, never on whole files. One test per changed C file: it fails if
# clang-format would change one of its changed lines in a way that is more
# than spacing inside a line.
#
#   bash .ci/stages/05-style.sh [BASE]
#
# BASE (or $STYLE_BASE) defaults to HEAD~1: in CI the checkout is a fresh
# clone of main, so HEAD~1 is the commit before the one under test, and for
# a merge commit it is main before the merge, so the whole merged branch is
# checked. Locally, `bash .ci/stages/05-style.sh main` checks a branch.
#
# Why spacing inside a line (and the indentation of continuation lines) is
# let through: the code aligns parameter names in prototypes and
# definitions, declarations in headers, and trailing comments, by hand,
# which clang-format cannot express. Everything else is checked: line
# structure, brace placement and indentation, the space before a
# parenthesis, after a cast, around operators. The full
# suggestion is printed for every failing file; apply it with
# `git clang-format BASE`.
source "$(dirname "$0")/common.bash"

stage_packages clang-format

base=${1:-${STYLE_BASE:-HEAD~1}}
if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  echo "style: base $base does not exist (shallow clone?); nothing to check"
  echo "0 passed, 0 failed, 0 skipped"
  exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

git clang-format --diff --extensions c,h "$base" -- \
  core include tests plugins bench fuzz examples tools >"$out/diff" 2>"$out/stderr"
rc=$?
# git-clang-format exits 1 when it has changes to suggest; anything else
# non-zero is a failure to run.
if [ "$rc" -gt 1 ]; then
  cat "$out/stderr" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

mapfile -t changed < <(git diff --name-only --diff-filter=ACMR "$base" -- \
  core include tests plugins bench fuzz examples tools | grep -E '\.(c|h)$')

python3 - "$out/diff" "${changed[@]}" <<'PY'
import re, sys

diff_path, files = sys.argv[1], sys.argv[2:]

def norm(line):
    # Spacing inside a line, and the indentation of anything but a brace,
    # is the author's: collapse it. A brace keeps its indentation (GNU
    # braces are indented by 2 under their statement).
    m = re.match(r'^(\s*)(.*?)\s*$', line)
    lead, body = m.group(1), m.group(2)
    body = re.sub(r'\s+', ' ', body)
    # Written without the space in this code base, as in GLib.
    body = re.sub(r'\b(g_autoptr|g_auto|g_autolist|g_autoslist|g_autoqueue|__attribute__|__has_feature|defined) \(', r'\1(', body)
    return (lead if body[:1] in '{}' else ' ') + body

hunks = {}   # file -> list of (removed, added, text)
cur = None
with open(diff_path, encoding='utf-8', errors='replace') as f:
    for line in f:
        line = line.rstrip('\n')
        if line.startswith('+++ b/'):
            cur = line[6:]
            hunks.setdefault(cur, [])
        elif line.startswith('@@'):
            hunks.setdefault(cur, []).append([[], [], [line]])
        elif cur and hunks.get(cur) and line[:1] in '+- ' and not line.startswith(('---', '+++')):
            h = hunks[cur][-1]
            h[2].append(line)
            if line.startswith('-'):
                h[0].append(line[1:])
            elif line.startswith('+'):
                h[1].append(line[1:])

passed = failed = 0
for path in files:
    bad = [h for h in hunks.get(path, [])
           if [norm(l) for l in h[0]] != [norm(l) for l in h[1]]]
    if bad:
        failed += 1
        print(f'FAIL {path}: clang-format would change {len(bad)} hunk(s):')
        for h in bad:
            print('\n'.join(h[2]))
    else:
        passed += 1
        print(f'ok   {path}')

print(f'{passed} passed, {failed} failed, 0 skipped')
sys.exit(1 if failed else 0)
PY
