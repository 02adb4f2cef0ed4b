#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the manual page of tether-inspect against the program.

Usage: check-man-page.py MAN_PAGE TETHER_INSPECT

- every long option `tether-inspect --help` lists is documented in the page;
- the exit statuses of --help and of the page's EXIT STATUS section are the
  same numbers;
- `tether-inspect --version` runs and gives the page's version;
- with groff installed, the page formats without a warning (`groff -man
  -ww -z`); without it, that check is skipped and said so.
Prints one line per check; exits 1 if any fails.
"""
import os
import re
import shutil
import subprocess
import sys

page_path, inspect = sys.argv[1:3]
with open(page_path, encoding="utf-8") as f:
    page = f.read()
env = dict(os.environ, LC_ALL="C.UTF-8")
help_text = subprocess.run([inspect, "--help"], capture_output=True, text=True, env=env,
                           check=True).stdout
failures = []

options = sorted(set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]*)", help_text, re.M)))
# In troff a '-' in an option is written '\-'.
documented = set(re.findall(r"\\-\\-([a-z](?:[a-z]|\\-)*)", page))
documented = {o.replace("\\-", "-") for o in documented}
for option in options:
    if option.startswith("help-"):
        continue   # GLib's --help-all and --help-* groups
    if option not in documented:
        failures.append(f"--{option} is in --help but not in the manual page")
print(f"options: {len(options)} in --help, all in the page: {not failures}")

help_codes = re.findall(r"^\s{2}(\d)\s{2}\S", help_text.split("Exit status", 1)[1], re.M)
section = page.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
page_codes = re.findall(r"^\.B (\d)$", section, re.M)
print(f"exit statuses: --help {help_codes}, page {page_codes}")
if help_codes != page_codes or not help_codes:
    failures.append(f"exit statuses differ: --help {help_codes}, page {page_codes}")

version = subprocess.run([inspect, "--version"], capture_output=True, text=True, env=env)
page_version = re.search(r'^\.TH \S+ 1 "[^"]*" "tether ([^"]+)"', page, re.M)
print(f"--version: {version.stdout.strip()!r} (exit {version.returncode})")
if version.returncode != 0 or page_version is None or \
        not version.stdout.startswith(f"tether-inspect {page_version.group(1)} "):
    failures.append("tether-inspect --version does not give the page's version")

groff = shutil.which("groff")
if groff is None:
    print("groff is not installed: the formatting check is skipped")
else:
    run = subprocess.run([groff, "-man", "-ww", "-z", "-Tutf8", page_path],
                         capture_output=True, text=True, env=env)
    print(f"groff -man -ww -z: exit {run.returncode}, {len(run.stderr.splitlines())} warning lines")
    if run.returncode != 0 or run.stderr.strip():
        failures.append("groff warns:\n" + run.stderr)

for failure in failures:
    print("FAIL: " + failure)
sys.exit(1 if failures else 0)
