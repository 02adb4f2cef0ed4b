#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks what the generated API reference promises its reader.

    check-reference.py OUTPUT_DIR SOURCE_ROOT [CONFIG]

- the index's Website and Source links are set, and a relative one names a
  page that exists in OUTPUT_DIR;
- every page of docs/ is a guide listed in CONFIG (the gi-docgen
  configuration the reference was built with), and each has its page, with a title, and the index lists it by that
  title (a page without a `Title:` line is an "Unknown document");
- every relative link and image of every page in OUTPUT_DIR names a file
  that exists, and its #anchor an id in that file;
- no page says "No description available" (a public field, vfunc,
  parameter or return value without documentation);
- the TetherProvider page explains TETHER_PROVIDER_MIN_STRUCT_SIZE (a macro
  introspection cannot evaluate, so it has no page of its own);
- every class page shows a C example in its description;
- the Template class page warns against g_object_new();
- no page carries the sentence of tether_run_in_new_context() that read
  "... at the time only if @func iterates that one.";
- every text in SOURCE_ROOT (headers, core, docs, plugins, tools) that gives
  the provider-name alphabet gives the one the validators enforce: letters,
  digits, '-', '_' and '.'.

Prints one line per check (one per page for the page checks) and
"N passed, N failed"; exits 1 on a failure.
"""

import glob
import html
import os
import re
import sys
import tomllib
from urllib.parse import unquote, urlsplit

results = []


def check(ok, text):
    results.append(ok)
    print(('ok: ' if ok else 'FAILED: ') + text)


def text_of(fragment):
    return html.unescape(re.sub(r'<[^>]+>', '', fragment))


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def main(out_dir, src_root, config_path=None):
    index = read(os.path.join(out_dir, 'index.html'))
    for label in ('Website', 'Source'):
        m = re.search(r'<em>%s</em></td><td><a href="([^"]*)"' % label, index)
        href = m.group(1) if m else ''
        check(href != '', '%s link of the index is set (%r)' % (label, href))
        if href and '://' not in href:
            page = href.split('#')[0]
            check(os.path.exists(os.path.join(out_dir, page)),
                  '%s link names an existing page (%s)' % (label, page))

    pages = {os.path.basename(p): read(p)
             for p in sorted(glob.glob(os.path.join(out_dir, '*.html')))}
    check(len(pages) >= 50, '%d pages generated' % len(pages))

    if config_path:
        with open(config_path, 'rb') as f:
            config = tomllib.load(f)
        guides = config.get('extra', {}).get('content_files', [])
        check(len(guides) >= 5, '%d guides in the configuration' % len(guides))
        left_out = sorted(set(os.path.basename(p) for p in glob.glob(os.path.join(src_root, 'docs', '*.md')))
                          - set(guides))
        check(not left_out, 'every page of docs/ is a guide of the reference (left out: %s)' % (
            ', '.join(left_out) or 'none'))
        for guide in guides:
            name = os.path.splitext(guide)[0] + '.html'
            page = pages.get(name)
            check(page is not None, '%s: generated from %s' % (name, guide))
            if page is None:
                continue
            m = re.search(r'<title>(.*?)</title>', page, re.S)
            title = text_of(m.group(1)).strip() if m else ''
            # gi-docgen titles a guide "Tether – 1: TITLE".
            title = re.sub(r'^Tether\s*[–-]\s*[^:]*:\s*', '', title)
            check(title not in ('', 'Unknown document'),
                  '%s: titled %r' % (name, title))
            listed = re.search(r'<a href="%s">(.*?)</a>' % re.escape(name), index, re.S)
            listed_as = text_of(listed.group(1)).strip() if listed else None
            check(listed_as == title, '%s: the index lists it as %r' % (name, listed_as))
    check('Unknown document' not in index, 'the index has no "Unknown document"')

    ids = {name: set(re.findall(r'\b(?:id|name)="([^"]+)"', page))
           for name, page in pages.items()}
    for name, page in pages.items():
        broken = []
        for attr, target in re.findall(r'\b(href|src)="([^"]*)"', page):
            target = html.unescape(target)
            url = urlsplit(target)
            if url.scheme or target.startswith('//'):
                continue
            path = unquote(url.path) or name
            if not os.path.exists(os.path.join(out_dir, path)):
                broken.append(target)
            elif url.fragment and path.endswith('.html') and url.fragment not in ids.get(path, ()):
                broken.append(target)
        check(not broken, '%s: %d broken relative link(s) %s' % (
            name, len(broken), ' '.join(sorted(set(broken)))))

    missing_docs = {name: page.count('No description available') for name, page in pages.items()}
    for name, n in sorted(missing_docs.items()):
        if n:
            check(False, '%s: %d "No description available"' % (name, n))
    check(sum(missing_docs.values()) == 0, '%d pages, %d "No description available" in all' % (
        len(pages), sum(missing_docs.values())))

    provider = text_of(pages.get('struct.Provider.html', ''))
    check('TETHER_PROVIDER_MIN_STRUCT_SIZE' in provider,
          'struct.Provider.html explains TETHER_PROVIDER_MIN_STRUCT_SIZE')

    classes = sorted(glob.glob(os.path.join(out_dir, 'class.*.html')))
    check(len(classes) >= 2, '%d class pages' % len(classes))
    for path in classes:
        name = os.path.basename(path)
        page = pages[name]
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
    sys.exit(main(*sys.argv[1:4]))
