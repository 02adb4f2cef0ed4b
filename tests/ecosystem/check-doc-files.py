#!/usr/bin/python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every header, program and file that docs/*.md tells users about exists in
# a staged install. Run by test-install.sh:
#
#   check-doc-files.py SOURCE_ROOT BUILD_ROOT STAGE KEY=DIR...
#
# with the staged directories (prefix, bindir, libdir, includedir,
# libexecdir, providerdir, pcdir). Prints one line per check:
# "ok<TAB>what" or "not ok<TAB>what<TAB>why".
#
# A name the docs use that is none of these must be in NOT_INSTALLED, with
# the reason, so that a new name is never skipped silently.

import glob
import os
import re
import sys

# Names the docs use for things users build or run from the source tree.
NOT_INSTALLED = {
    'hello.so': 'built by the reader of writing-a-provider.md',
    'soup.so': 'built by the reader of writing-a-provider.md',
    'NAME.so': 'a placeholder',
    'tether-jobs': 'an example, run from the build tree',
    'tether-gtk': 'an example, run from the build tree',
    'tether-demo': 'an example, run from the build tree',
}

PROGRAMS = {'tether-inspect': 'bindir', 'tether-scanner': 'scannerdir'}


def main(argv):
    source_root, build_root, stage = argv[1:4]
    dirs = dict(a.split('=', 1) for a in argv[4:])
    dirs['scannerdir'] = os.path.join(dirs['libdir'], 'tether-1')
    texts = {}
    for path in sorted(glob.glob(os.path.join(source_root, 'docs', '*.md'))):
        with open(path, encoding='utf-8') as f:
            # Source paths (core/x.c, examples/y.c) are not install items.
            texts[os.path.basename(path)] = re.sub(
                r'\b(?:core|examples|plugins|tests|tools|fuzz|bench|bindings|include)/[\w./-]+',
                '', f.read())
    results = []

    def check(what, ok, why=''):
        results.append((what, ok, why))

    def staged(*parts):
        return os.path.join(stage, *[p.lstrip('/') for p in parts])

    def where(name):
        return sorted(doc for doc, text in texts.items() if name in text)

    everything = '\n'.join(texts.values())

    for header in sorted(set(re.findall(r'<(tether/[\w.-]+\.h)>', everything))):
        path = staged(dirs['includedir'], 'tether-1', header)
        check(f'<{header}> ({", ".join(where(header))}) is installed', os.path.isfile(path), path)

    for header in sorted(set(re.findall(r'\b(tether[\w-]*\.h)\b', everything))):
        found = glob.glob(staged('**', header), recursive=True)
        if 'private' in header:
            check(f'{header} (named in {", ".join(where(header))}) is not installed', not found,
                  ' '.join(found))
        else:
            check(f'{header} ({", ".join(where(header))}) is installed', bool(found), header)

    for program in sorted(set(re.findall(r'(?<![\w/.-])(tether-[a-z]+)(?![\w.-])', everything))):
        if program in NOT_INSTALLED:
            continue
        # A source file named without its extension ("tether-error" for
        # core/tether-error.c): not an install item.
        if program not in PROGRAMS and glob.glob(os.path.join(source_root, '*', program + '.[ch]')):
            continue
        if program not in PROGRAMS:
            check(f'{program} ({", ".join(where(program))}) is a known program', False,
                  'add it to PROGRAMS or NOT_INSTALLED in check-doc-files.py')
            continue
        path = staged(dirs[PROGRAMS[program]], program)
        check(f'{program} ({", ".join(where(program))}) is installed', os.access(path, os.X_OK), path)

    for var, rest in sorted(set(re.findall(r'\$(libdir|libexecdir|includedir|prefix)(/[\w./-]+)',
                                           everything))):
        path = staged(dirs[var], rest)
        check(f'${var}{rest} is installed', os.path.exists(path), path)

    for name in sorted(set(re.findall(r'(?<![\w.-])([\w-]+\.(?:so|pc|gir|typelib))\b', everything))):
        if name in NOT_INSTALLED:
            continue
        if name.endswith('.pc'):
            path = staged(dirs['pcdir'], name)
        elif name.startswith('lib'):
            path = staged(dirs['libdir'], name)
        elif name.endswith(('.gir', '.typelib')):
            if not glob.glob(os.path.join(build_root, '**', name), recursive=True):
                continue   # introspection is not built
            found = glob.glob(staged('**', name), recursive=True)
            check(f'{name} ({", ".join(where(name))}) is installed', bool(found), name)
            continue
        else:
            path = staged(dirs['providerdir'], name)
            if not os.path.exists(os.path.join(build_root, 'plugins', name)):
                continue   # a provider whose dependency is missing
        check(f'{name} ({", ".join(where(name))}) is installed', os.path.exists(path), path)

    # The providers docs/plugins.md describes, one section each.
    plugins = texts.get('plugins.md', '')
    shipped = plugins.split('## The providers shipped with tether', 1)[-1].split('\n## ', 1)[0]
    for name in re.findall(r'^### ([\w-]+)$', shipped, flags=re.M):
        if not os.path.exists(os.path.join(build_root, 'plugins', name + '.so')):
            continue
        path = staged(dirs['providerdir'], name + '.so')
        check(f'provider {name} (plugins.md) is installed as {name}.so', os.path.isfile(path), path)

    for what, ok, why in results:
        print(f'ok\t{what}' if ok else f'not ok\t{what}\t{why}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
