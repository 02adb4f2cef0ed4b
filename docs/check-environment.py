#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks docs/environment.md against the sources that read the environment.

Usage: check-environment.py SOURCE_ROOT

Finds every environment variable read in core/, tools/ and plugins/
(g_getenv, getenv, secure_getenv, _tether_env_get_path, _tether_env_is_ignored,
by name or through a #define) and fails when:
- a variable read is not a row of the table in docs/environment.md;
- a row names a variable nothing reads;
- a variable the table says is ignored in secure mode is read with anything
  but _tether_env_get_path () / _tether_env_is_ignored () (outside
  core/tether-env.c, which implements them), or a variable read through
  _tether_env_get_path () is not marked ignored in the table.
Prints what it found; exits 1 on the first kind of failure it meets.
"""
import os
import re
import sys

root = sys.argv[1]
failures = []

READERS = {
    "g_getenv": "raw",
    "getenv": "raw",
    "secure_getenv": "raw",
    "_tether_env_get_path": "checked",
    "_tether_env_is_ignored": "checked",
}
call_re = re.compile(r"\b(" + "|".join(READERS) + r")\s*\(\s*([A-Za-z_][A-Za-z0-9_]*|\"[^\"]*\")\s*\)")
define_re = re.compile(r"^\s*#\s*define\s+([A-Z_][A-Z0-9_]*)\s+\"([^\"]+)\"", re.M)

sources = []
for sub in ("core", "tools", "plugins", "include"):
    for dirpath, _, files in os.walk(os.path.join(root, sub)):
        for name in files:
            if name.endswith((".c", ".h")):
                sources.append(os.path.join(dirpath, name))

defines = {}
texts = {}
for path in sources:
    with open(path, encoding="utf-8") as f:
        texts[path] = f.read()
    for macro, value in define_re.findall(texts[path]):
        defines[macro] = value

reads = {}   # name -> set of (kind, file)
for path, text in texts.items():
    rel = os.path.relpath(path, root)
    for func, arg in call_re.findall(text):
        if arg.startswith('"'):
            name = arg.strip('"')
        elif arg in defines:
            name = defines[arg]
        else:
            continue   # a variable argument: the helper's own body
        reads.setdefault(name, set()).add((READERS[func], rel))

page = os.path.join(root, "docs", "environment.md")
if not os.path.exists(page):
    print(f"FAIL: {page} does not exist: it must list every variable tether reads")
    sys.exit(1)
rows = {}
with open(page, encoding="utf-8") as f:
    for line in f:
        m = re.match(r"^\|\s*`([A-Z_][A-Z0-9_]*)`\s*\|(.*)\|\s*$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split("|")]
            rows[m.group(1)] = "**ignored**" in cells[-1]

for name in sorted(reads):
    kinds = reads[name]
    where = ", ".join(sorted({f for _, f in kinds}))
    print(f"{name}: read in {where}; documented: {name in rows}"
          f"{'; ignored in secure mode' if rows.get(name) else ''}")
    if name not in rows:
        failures.append(f"{name} is read ({where}) but not listed in docs/environment.md")
        continue
    raw = sorted(f for k, f in kinds if k == "raw" and not f.endswith("core/tether-env.c"))
    checked = sorted(f for k, f in kinds if k == "checked")
    if rows[name] and raw:
        failures.append(f"{name} is ignored in secure mode per docs/environment.md, but "
                        f"{', '.join(raw)} reads it with g_getenv (): use _tether_env_get_path ()")
    if not rows[name] and checked:
        failures.append(f"{name} is read through _tether_env_get_path () ({', '.join(checked)}) "
                        f"but docs/environment.md does not say it is ignored in secure mode")

for name in sorted(rows):
    if name not in reads:
        failures.append(f"docs/environment.md lists {name}, which nothing in core/, tools/ or "
                        f"plugins/ reads")

for failure in failures:
    print("FAIL: " + failure)
print(f"{len(reads)} variables read, {len(rows)} documented, {len(failures)} problems")
sys.exit(1 if failures else 0)
