/* tether-scanner.c: examines one provider module for its parent process
 *
 * A private helper ($libexecdir/tether-1/tether-scanner), run by
 * tether_list_providers_full() and tether-inspect, never by users:
 *
 *   tether-scanner [--load] [--exercise] [--allow-insecure] [--config FILE] -- MODULE
 *
 * It opens MODULE exactly as the loader does (same code: it links the
 * library's objects), writing each stage to its stdout *before* entering
 * it (see core/tether-scan-protocol.c for the records), so that if the
 * module kills the process, the parent knows where. --load also runs init
 * and registers; --exercise then acquires and releases once in a fresh
 * context, and unregisters (shutdown). The module's own output to stdout
 * is sent to stderr, so it cannot corrupt the records.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tether-loader-private.h"

/* A sanitizer build must let a module's SIGSEGV kill the process, as it
 * would without the sanitizer: the parent reports the signal. An unused
 * function otherwise. */
const char *__asan_default_options (void);
__attribute__((visibility ("default"), used)) const char *
__asan_default_options (void)
{
  return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:detect_leaks=0";
}

static int proto_fd = -1;
static gint64 stage_start;
static TetherLoadStage current_stage = TETHER_LOAD_STAGE_NONE;
static gint64 open_us = -1;

static void
record (const char *tag,
        const char *value)
{
  _tether_scan_write_record (proto_fd, tag, value);
}

static void
record_time (const char *tag,
             gint64      us)
{
  g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, us);

  record (tag, value);
}

/* Called by the loader before it enters each stage. */
static void
enter_stage (TetherLoadStage  stage,
             gpointer         user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (current_stage == TETHER_LOAD_STAGE_OPEN)
    open_us = now - stage_start;
  current_stage = stage;
  stage_start = now;
  record ("stage", _tether_load_stage_to_string (stage));
}

static int
finish (const GError *error,
        const char   *tag)
{
  if (error != NULL)
    _tether_scan_write_error (proto_fd, tag, error);
  record ("done", NULL);
  return EXIT_SUCCESS;
}

static void
record_provider (const TetherLoaderModule *module)
{
  const TetherProvider *copy = &module->copy;
  g_autofree char *abi = g_strdup_printf ("%u", module->provider->abi_version);
  g_autofree char *size = g_strdup_printf ("%u", module->provider->struct_size);
  gboolean sync = copy->acquire != NULL;
  gboolean async = copy->acquire_async != NULL && copy->acquire_finish != NULL;

  record ("real-path", module->real_path);
  record ("name", copy->name);
  if (copy->description != NULL)
    record ("description", copy->description);
  record ("abi-version", abi);
  record ("struct-size", size);
  if (sync && async)
    record ("acquire", "both");
  else
    record ("acquire", sync ? "sync" : "async");
#if TETHER_PROVIDER_ABI_MINOR >= 1
  /* ABI 1.1: the type of the resources, by name (a GType means nothing in
   * the parent). Provider code: it runs in the validate stage. */
  if (TETHER_PROVIDER_ABI_VERSION_MINOR (module->provider->abi_version) >= 1 &&
      copy->resource_type != NULL)
    {
      GType type = copy->resource_type ();

      record ("resource-type", type != G_TYPE_INVALID ? g_type_name (type) : "(G_TYPE_INVALID)");
    }
#else
  /* The provider ABI declares no resource type before 1.1. */
#endif
}

/* Acquires and releases once in a fresh context, which this thread owns. */
static GError *
exercise (TetherTemplate *template)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  GError *error = NULL;
  gpointer resource;
  gint64 start;

  g_main_context_push_thread_default (context);

  enter_stage (TETHER_LOAD_STAGE_ACQUIRE, NULL);
  start = g_get_monotonic_time ();
  resource = tether_template_acquire (template, context, &error);
  record_time ("time-acquire", g_get_monotonic_time () - start);

  if (resource != NULL)
    {
      enter_stage (TETHER_LOAD_STAGE_RELEASE, NULL);
      start = g_get_monotonic_time ();
      if (tether_template_release (template, context, &error))
        record ("exercised", NULL);
      record_time ("time-release", g_get_monotonic_time () - start);
    }

  g_main_context_pop_thread_default (context);
  return error;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) exercise_error = NULL;
  g_autoptr(GKeyFile) config = NULL;
  g_autofree char *config_path = NULL;
  gboolean load = FALSE, do_exercise = FALSE, allow_insecure = FALSE;
  TetherLoadFlags flags;
  g_auto(TetherLoaderModule) module = { 0 };
  TetherTemplate *template;
  const GOptionEntry entries[] = {
    { "load", 0, 0, G_OPTION_ARG_NONE, &load, "Run init and register, as loading does", NULL },
    { "exercise", 0, 0, G_OPTION_ARG_NONE, &do_exercise, "Acquire and release once", NULL },
    { "allow-insecure", 0, 0, G_OPTION_ARG_NONE, &allow_insecure, "TETHER_LOAD_ALLOW_INSECURE_PATH", NULL },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration for init", "FILE" },
    { NULL }
  };

  /* No core file for a module's crash: the parent reports it. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  /* The records go to the real stdout; whatever the module prints to
   * stdout lands on stderr with its other output. */
  proto_fd = dup (STDOUT_FILENO);
  if (proto_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    return EXIT_FAILURE;

  option_context = g_option_context_new ("-- MODULE");
  g_option_context_set_summary (option_context,
                                "Examines one tether provider module for tether-inspect and "
                                "tether_list_providers_full (); not meant to be run by hand.");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("tether-scanner: %s\n", error != NULL ? error->message : "one MODULE expected");
      return 2;
    }

  record ("tether-scanner", G_STRINGIFY (TETHER_SCAN_PROTOCOL_VERSION));
  flags = allow_insecure ? TETHER_LOAD_ALLOW_INSECURE_PATH : TETHER_LOAD_NONE;
  tether_set_unmanaged_warning_enabled (FALSE);

  if (config_path != NULL)
    {
      config = tether_provider_config_new_from_file (config_path, &error);
      if (config == NULL)
        return finish (error, "error");
    }

  if (!load)
    {
      if (!_tether_loader_open_module (argv[1], flags, enter_stage, NULL, &module, NULL, &error))
        return finish (error, "error");
      record_time ("time-open", open_us);
      record_provider (&module);
      return finish (NULL, NULL);
    }

  template = _tether_loader_load (argv[1], config, flags, enter_stage, NULL, NULL, &error);
  if (open_us >= 0)
    record_time ("time-open", open_us);
  if (template == NULL)
    return finish (error, "error");
  if (current_stage == TETHER_LOAD_STAGE_INIT)
    record_time ("time-init", g_get_monotonic_time () - stage_start);

  /* The vtable as the loader validated it, for the description. */
  if (!_tether_loader_open_module (argv[1], flags, NULL, NULL, &module, NULL, &error))
    return finish (error, "error");
  record_provider (&module);

  if (do_exercise)
    exercise_error = exercise (template);
  if (exercise_error != NULL)
    _tether_scan_write_error (proto_fd, "exercise-error", exercise_error);

  enter_stage (TETHER_LOAD_STAGE_SHUTDOWN, NULL);
  {
    gint64 start = g_get_monotonic_time ();

    /* Unregistered and the last reference dropped: shutdown runs now. */
    tether_template_unregister (template);
    g_object_unref (template);
    tether_purge ();
    record_time ("time-shutdown", g_get_monotonic_time () - start);
  }

  return finish (NULL, NULL);
}
