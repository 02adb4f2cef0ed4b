// SPDX-FileCopyrightText: 2026 The tether authors
// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the reference of each dependency lives, for links out of tether's.
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
]
