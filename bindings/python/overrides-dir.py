#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The tether authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints where the gi overrides (gi/overrides/Tether.py) go for an install
# in PREFIX, for the interpreter running this script, and whether that
# interpreter looks there without PYTHONPATH ("found" or "pythonpath").
#
# meson's python module answers with the scheme it picks, which on Debian
# is $prefix/lib/python3/dist-packages: where Debian's python3 looks for
# prefix /usr only. The interpreter's own sys.path says where it looks: a
# site directory under PREFIX (/usr/local/lib/python3.X/dist-packages for
# /usr/local, /usr/lib/python3/dist-packages for /usr) is used if there is
# one; otherwise PREFIX/lib/python3.X/site-packages, which then needs
# PYTHONPATH.

import os
import sys
import sysconfig

prefix = os.path.normpath(sys.argv[1])
for entry in sys.path:
    entry = os.path.normpath(entry) if entry else ''
    # PREFIX/lib*/.../{dist,site}-packages: /usr/local/lib/... is not
    # /usr's, though it is under /usr.
    if (entry.startswith(prefix + os.sep) and
            os.path.relpath(entry, prefix).startswith('lib') and
            os.path.basename(entry) in ('dist-packages', 'site-packages')):
        print(entry)
        print('found')
        break
else:
    print(sysconfig.get_path('purelib', 'posix_prefix',
                             vars={'base': prefix, 'platbase': prefix}))
    print('pythonpath')
