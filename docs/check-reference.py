#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks what the generated API reference promises its reader.

    check-reference.py OUTPUT_DIR SOURCE_ROOT

- the index's Website and Source links are set, and a relative one names a
  page that exists in OUTPUT_DIR;
- every class page has no "No description available" and shows a C example
  in its description;
- the Template class page warns against g_object_new();
- no page carries the sentence of tether_run_in_new_context() that read
  "... at the time only if @func iterates that one.";
- every text in SOURCE_ROOT (headers, core, docs, plugins, tools) that gives
  the provider-name alphabet gives the one the validators enforce: letters,
  digits, '-', '_' and '.'.

Prints one line per check and "N passed, N failed"; exits 1 on a failure.
"""

import glob
import html
import os
import re
import sys

results = []


def check(ok, text):
    results.append(ok)
    print(('ok: ' if ok else 'FAILED: ') + text)


def text_of(fragment):
    return html.unescape(re.sub(r'<[^>]+>', '', fragment))


def main(out_dir, src_root):
    with open(os.path.join(out_dir, 'index.html'), encoding='utf-8') as f:
        index = f.read()
    for label in ('Website', 'Source'):
        m = re.search(r'<em>%s</em></td><td><a href="([^"]*)"' % label, index)
        href = m.group(1) if m else ''
        check(href != '', '%s link of the index is set (%r)' % (label, href))
        if href and '://' not in href:
            page = href.split('#')[0]
            check(os.path.exists(os.path.join(out_dir, page)),
                  '%s link names an existing page (%s)' % (label, page))

    classes = sorted(glob.glob(os.path.join(out_dir, 'class.*.html')))
    check(len(classes) >= 2, '%d class pages' % len(classes))
    for path in classes:
        name = os.path.basename(path)
        with open(path, encoding='utf-8') as f:
            page = f.read()
        n = page.count('No description available')
        check(n == 0, '%s: %d "No description available"' % (name, n))
        # The class description comes before the class structure.
        description = page.split('id="class-struct"')[0]
        # gi-docgen highlights the fenced code blocks of a doc comment; the
        # declaration at the top of the page is a plain <pre>.
        check('class="codehilite"' in description,
              '%s: a code example in the description' % name)

    with open(os.path.join(out_dir, 'class.Template.html'), encoding='utf-8') as f:
        template = text_of(f.read())
    check('g_object_new' in template,
          'class.Template.html warns against g_object_new()')

    garbled = 0
    for path in glob.glob(os.path.join(out_dir, '*.html')):
        with open(path, encoding='utf-8') as f:
            if 'at the time only if' in text_of(f.read()):
                garbled += 1
    check(garbled == 0, '%d pages with the garbled run_in_new_context sentence' % garbled)

    # "letters, digits, ..." up to the end of the enumeration.
    alphabet = re.compile(r'letters,\s+(?:\*\s+)?digits,?(.{0,60})', re.S)
    n_texts = 0
    for pattern in ('include/tether/*.h', 'core/*.c', 'core/*.h', 'docs/*.md',
                    'plugins/*/*.c', 'tools/*.c'):
        for path in sorted(glob.glob(os.path.join(src_root, pattern))):
            with open(path, encoding='utf-8') as f:
                source = f.read()
            for m in alphabet.finditer(source):
                tail = re.sub(r'\s*\*\s*', ' ', m.group(1))
                n_texts += 1
                has_dot = re.search(r"[`'\"]\.[`'\"]", tail) is not None
                check(has_dot, '%s:%d gives the name alphabet with "."' % (
                    os.path.relpath(path, src_root), source.count('\n', 0, m.start()) + 1))
    check(n_texts >= 4, '%d texts give the name alphabet' % n_texts)

    failed = results.count(False)
    print('%d passed, %d failed' % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
