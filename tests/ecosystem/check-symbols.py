#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks that libtether exports exactly its public API: every dynamic symbol
# starts with "tether_", none is a private "_tether_" one, each is declared
# with an availability macro in a public header, and every such declaration
# is exported.
#
#   check-symbols.py LIBRARY HEADER...
#
# Prints TAP.

import re
import subprocess
import sys

# Defined by some linkers in every shared object; not part of any API.
LINKER_SYMBOLS = {'_init', '_fini', '_edata', '_end', '__bss_start'}


def public_declarations(headers):
    names = set()
    for path in headers:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        # Drop comments so that doc examples cannot declare anything.
        text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
        for m in re.finditer(r'\bTETHER_AVAILABLE_IN_\w+\s+', text):
            rest = text[m.end():]
            # G_DECLARE_*_TYPE (...) has no semicolon of its own.
            t = re.match(r'G_DECLARE_\w+_TYPE\s*\(\s*\w+\s*,\s*(\w+)', rest)
            if t:
                names.add(t.group(1) + '_get_type')
                continue
            f = re.match(r'[^;(]*?\b(\w+)\s*\(', rest)
            if f:
                names.add(f.group(1))
    return names


def exported_symbols(library):
    out = subprocess.run(['nm', '-D', '--defined-only', library],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] not in LINKER_SYMBOLS:
            names.add(parts[-1].split('@')[0])
    return names


def main():
    library, headers = sys.argv[1], sys.argv[2:]
    exported = exported_symbols(library)
    declared = public_declarations(headers)

    checks = [
        ('library exports symbols', bool(exported), 'no dynamic symbols found'),
        ('headers declare functions', bool(declared), 'no declarations found'),
    ]
    bad_prefix = sorted(s for s in exported if not s.startswith('tether_'))
    checks.append(('every export starts with tether_', not bad_prefix,
                   ', '.join(bad_prefix)))
    private = sorted(s for s in exported if s.startswith('_tether'))
    checks.append(('no private _tether symbol leaks', not private, ', '.join(private)))
    undeclared = sorted(exported - declared)
    checks.append(('every export is declared in a public header', not undeclared,
                   ', '.join(undeclared)))
    missing = sorted(declared - exported)
    checks.append(('every public declaration is exported', not missing,
                   ', '.join(missing)))

    print('TAP version 13')
    print(f'1..{len(checks)}')
    failed = 0
    for i, (name, ok, detail) in enumerate(checks, 1):
        print(f'{"ok" if ok else "not ok"} {i} - {name}')
        if not ok:
            failed += 1
            print(f'# {detail}')
    print(f'# {len(exported)} exported, {len(declared)} declared')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
