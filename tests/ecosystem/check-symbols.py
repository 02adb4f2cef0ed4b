#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks that libtether exports exactly its public API: every dynamic symbol
# starts with "tether_", none is a private "_tether_" one, each is declared
# with an availability macro in a public header, and every such declaration
# is exported. With --symbols, also that the Debian symbols file lists
# exactly the exported symbols, each with the version its availability
# macro names (TETHER_AVAILABLE_IN_ALL: 0.1.0; TETHER_AVAILABLE_IN_0_2 and
# TETHER_DEPRECATED_IN_0_2*: 0.2.0), so that neither the file nor the
# macros can drift from the library.
#
#   check-symbols.py [--symbols FILE] LIBRARY HEADER...
#
# Prints TAP.

import re
import subprocess
import sys

# Defined by some linkers in every shared object; not part of any API.
LINKER_SYMBOLS = {'_init', '_fini', '_edata', '_end', '__bss_start'}

# The release TETHER_AVAILABLE_IN_ALL stands for.
FIRST_RELEASE = '0.1.0'


def version_of(macro):
    """The release an availability macro names: X.Y.0 for *_IN_X_Y*."""
    m = re.match(r'TETHER_(?:AVAILABLE|DEPRECATED)_IN_(\d+)_(\d+)', macro)
    return '%s.%s.0' % m.groups() if m else FIRST_RELEASE


def public_declarations(headers):
    """Maps each declared function to the release its macro names."""
    names = {}
    for path in headers:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        # Drop comments so that doc examples cannot declare anything.
        text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
        # Nor the macros that define the availability macros.
        text = re.sub(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', '', text, flags=re.M)
        for m in re.finditer(r'\b((?:TETHER_AVAILABLE_IN|TETHER_DEPRECATED_IN)_\w+)'
                             r'(?:\s*\(\s*\w*\s*\))?\s+', text):
            rest = text[m.end():]
            # G_DECLARE_*_TYPE (...) has no semicolon of its own.
            t = re.match(r'G_DECLARE_\w+_TYPE\s*\(\s*\w+\s*,\s*(\w+)', rest)
            if t:
                names[t.group(1) + '_get_type'] = version_of(m.group(1))
                continue
            f = re.match(r'[^;(]*?\b(\w+)\s*\(', rest)
            if f:
                names[f.group(1)] = version_of(m.group(1))
    return names


def symbols_file(path):
    """Maps each symbol of a Debian symbols file to its version."""
    listed = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'^\s+(\S+)@Base\s+(\S+)', line)
            if m:
                listed[m.group(1)] = m.group(2)
    return listed


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
    args = sys.argv[1:]
    symbols_path = None
    if args[0] == '--symbols':
        symbols_path, args = args[1], args[2:]
    library, headers = args[0], args[1:]
    exported = exported_symbols(library)
    declared_versions = public_declarations(headers)
    declared = set(declared_versions)

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

    if symbols_path:
        listed = symbols_file(symbols_path)
        checks.append(('the symbols file lists symbols', bool(listed), symbols_path))
        unlisted = sorted(exported - set(listed))
        checks.append(('every export is in the symbols file', not unlisted,
                       'add to %s: %s' % (symbols_path, ', '.join(unlisted))))
        stale = sorted(set(listed) - exported)
        checks.append(('every symbol of the symbols file is exported', not stale,
                       ', '.join(stale)))
        wrong = sorted('%s: %s in the file, %s by its macro' % (n, listed[n], declared_versions[n])
                       for n in set(listed) & set(declared_versions)
                       if listed[n] != declared_versions[n])
        checks.append(('each symbol\'s version is the release its macro names', not wrong,
                       '; '.join(wrong)))

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
