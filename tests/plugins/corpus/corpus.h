/* corpus.h: what the corpus modules share with the loader tests
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#define CORPUS_RESOURCE_MAGIC 0xc0a9b05u

/* Each module file has its own copy, exported as `corpus_counters`. All
 * fields are atomic. */
typedef struct
{
  gint n_init;
  gint n_shutdown;
  gint n_acquired;   /* resources handed out, including ones tether refused */
  gint n_released;
  gint live_data;    /* provider data made by init and not yet shut down */
  gint n_init_without_config;   /* init calls that got config == NULL */
} CorpusCounters;

/* What the valid corpus modules return from acquire. */
typedef struct
{
  guint         magic;
  GMainContext *context;
  char         *greeting;   /* the "greeting" key of the module's group, or NULL */
} CorpusResource;
