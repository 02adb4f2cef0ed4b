/* corpus-module.c: provider modules, valid and broken, for the loader tests
 *
 * Built once per CORPUS_* define (see meson.build); each build is one file
 * of the corpus and exercises one rule of the loader.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tether/tether.h>

#include "corpus.h"

#ifndef CORPUS_NAME
# define CORPUS_NAME "corpus-good"
#endif

__attribute__((visibility ("default"))) CorpusCounters corpus_counters;

typedef struct
{
  char *greeting;
} CorpusData;

#ifdef CORPUS_UNRESOLVED
/* Defined nowhere: immediate binding must refuse the module at load. */
extern void corpus_symbol_that_does_not_exist (void);
#endif

/* The modules that kill whoever opens them (corpus/crashing/): only ever
 * examined out of process. */
#if defined (CORPUS_CRASH_CONSTRUCTOR) || defined (CORPUS_EXIT_CONSTRUCTOR)
__attribute__((constructor)) static void
corpus_constructor (void)
{
# ifdef CORPUS_CRASH_CONSTRUCTOR
  raise (SIGSEGV);
# else
  _exit (7);
# endif
}
#endif

#ifdef CORPUS_CHATTY
/* Prints records of the scanner's protocol to stdout: they must not be
 * taken for the helper's. */
__attribute__((constructor)) static void
corpus_chatter (void)
{
  printf ("tether-scanner 1\nname evil\ndescription forged\ndone\n");
  fflush (stdout);
}
#endif

static gpointer
corpus_init (GKeyFile    *config,
             const char  *group,
             GError     **error)
{
  CorpusData *data;

#ifdef CORPUS_OLD_LAYOUT
  /* Past the struct_size this module declares: must never be called. */
  g_error ("init of an old-layout provider was called");
#endif
#ifdef CORPUS_CRASH_INIT
  g_printerr ("corpus: about to crash in init\n");
  raise (SIGSEGV);
#endif
#ifdef CORPUS_INIT_FAILS
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "corpus init refuses on purpose");
  return NULL;
#endif

  /* The loader promises a key file, empty when the application gave none. */
  if (config == NULL)
    g_atomic_int_inc (&corpus_counters.n_init_without_config);

  data = g_new0 (CorpusData, 1);
  data->greeting = config != NULL ? g_key_file_get_string (config, group, "greeting", NULL) : NULL;
  g_atomic_int_inc (&corpus_counters.n_init);
  g_atomic_int_inc (&corpus_counters.live_data);
  return data;
}

static void
corpus_shutdown (gpointer provider_data)
{
  CorpusData *data = provider_data;

  g_atomic_int_inc (&corpus_counters.n_shutdown);
  if (data == NULL)
    return;
  g_atomic_int_add (&corpus_counters.live_data, -1);
  g_free (data->greeting);
  g_free (data);
}

/* Unused in the module without acquire, which is the point of that one. */
G_GNUC_UNUSED static gpointer
corpus_acquire (GMainContext  *context,
                gpointer       provider_data,
                GError       **error)
{
  CorpusData *data = provider_data;
  CorpusResource *resource;

#ifdef CORPUS_UNRESOLVED
  corpus_symbol_that_does_not_exist ();
#endif
#ifdef CORPUS_NULL_NO_ERROR
  return NULL;
#endif

  resource = g_new0 (CorpusResource, 1);
  resource->magic = CORPUS_RESOURCE_MAGIC;
  resource->context = context;
  resource->greeting = data != NULL ? g_strdup (data->greeting) : NULL;
  g_atomic_int_inc (&corpus_counters.n_acquired);

#ifdef CORPUS_VALUE_AND_ERROR
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "corpus sets an error and returns a value");
#endif

  return resource;
}

#ifdef CORPUS_ASYNC_ONLY
/* The asynchronous pair only: GTask returns in @context, which tether made
 * the thread-default context around the call. */
static void
corpus_acquire_async (GMainContext        *context,
                      gpointer             provider_data,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  gpointer resource = corpus_acquire (context, provider_data, &error);

  g_assert (g_task_get_context (task) == context);
  g_task_return_pointer (task, resource, NULL);
}

static gpointer
corpus_acquire_finish (GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
#endif

static void
corpus_release (gpointer      resource,
                GMainContext *context,
                gboolean      graceful,
                gpointer      provider_data)
{
  CorpusResource *res = resource;

  g_assert (res->magic == CORPUS_RESOURCE_MAGIC);
  res->magic = 0;
  g_free (res->greeting);
  g_free (res);
  g_atomic_int_inc (&corpus_counters.n_released);
}

#ifdef CORPUS_ABI_MAJOR
# define CORPUS_ABI ((guint32) ((TETHER_PROVIDER_ABI_MAJOR + 1) << 16))
#else
# define CORPUS_ABI TETHER_PROVIDER_ABI_VERSION
#endif

#if defined (CORPUS_STRUCT_SMALL)
# define CORPUS_SIZE 8
#elif defined (CORPUS_OLD_LAYOUT)
# define CORPUS_SIZE TETHER_PROVIDER_MIN_STRUCT_SIZE
#else
# define CORPUS_SIZE sizeof (TetherProvider)
#endif

static const TetherProvider corpus_provider = {
  .abi_version = CORPUS_ABI,
  .struct_size = CORPUS_SIZE,
  .name = CORPUS_NAME,
  .description = "a module of the loader test corpus",
#if defined (CORPUS_ASYNC_ONLY)
  .acquire_async = corpus_acquire_async,
  .acquire_finish = corpus_acquire_finish,
#elif !defined (CORPUS_NO_ACQUIRE)
  .acquire = corpus_acquire,
#endif
  .release = corpus_release,
  .init = corpus_init,
  .shutdown = corpus_shutdown,
};

#if defined (CORPUS_ABORT_ENTRY) || defined (CORPUS_HANG_ENTRY)
__attribute__((visibility ("default"))) const TetherProvider *tether_provider_entry (void);
__attribute__((visibility ("default"))) const TetherProvider *
tether_provider_entry (void)
{
# ifdef CORPUS_ABORT_ENTRY
  g_printerr ("corpus: the entry point aborts on purpose\n");
  abort ();
# else
  for (;;)
    pause ();
# endif
  return &corpus_provider;
}
#elif defined (CORPUS_NO_ENTRY)
/* Exports something, just not the entry point. */
__attribute__((visibility ("default"))) const TetherProvider *corpus_not_the_entry (void);
__attribute__((visibility ("default"))) const TetherProvider *
corpus_not_the_entry (void)
{
  return &corpus_provider;
}
#else
TETHER_DEFINE_PROVIDER (corpus_provider)
#endif
