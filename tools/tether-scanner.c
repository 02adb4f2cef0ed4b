/* tether-scanner.c: examines one provider module for its parent process
 *
 * A private helper ($libdir/tether-1/tether-scanner), run by
 * tether_list_providers_full() and tether-inspect, never by users:
 *
 *   tether-scanner [--load] [--exercise] [--allow-insecure] [--config FILE] -- MODULE
 *
 * It opens MODULE exactly as the loader does (same code: it links the
 * library's objects), writing each stage to its stdout *before* entering
 * it (see core/tether-scan-protocol.c for the records), so that if the
 * module kills the process, the parent knows where. --load also runs init
 * and registers; --exercise then runs two cycles, each in a fresh context:
 * a graceful one (acquire, then release with the context; an async one
 * too when the provider has both acquire functions) and an ungraceful one
 * (acquire, the context dies holding the resource, a purge releases it
 * with context NULL), and unregisters (shutdown).
 *
 * The provider's functions run inside wrappers that write `call` and
 * `return` records around them, so that a hang or a crash names the
 * function at fault (and an acquire_async whose callback never comes is
 * told from one that never returns), and that check each acquire's result
 * here, where a crash costs nothing: a declared resource type is checked
 * without dereferencing anything unchecked, and a resource returned with
 * an error is named with the function that did it.
 *
 * The module's own output to stdout is sent to stderr, so it cannot mix
 * with the records (a module that writes to the records' descriptor is
 * caught by the parent's checks).
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE   /* dl_iterate_phdr */
#endif

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>

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

  if (us >= 0)
    record (tag, value);
}

/* ------------------------------------------------------------------------ */
/* A libtether-1 loaded with the module                                      */
/* ------------------------------------------------------------------------ */

static int
find_libtether (struct dl_phdr_info *info,
                size_t               size,
                void                *data)
{
  const char *name = info->dlpi_name;
  const char *base = name != NULL ? strrchr (name, '/') : NULL;

  base = base != NULL ? base + 1 : name;
  if (base != NULL && g_str_has_prefix (base, "libtether-1.so"))
    {
      *(char **) data = g_strdup (name);
      return 1;
    }
  return 0;
}

/* This helper has tether built in and no libtether-1 of its own: one
 * there after the module was opened came with the module. */
static void
record_links_libtether (void)
{
  g_autofree char *found = NULL;

  dl_iterate_phdr (find_libtether, &found);
  if (found != NULL && found[0] == '/')
    record ("links", found);
}

/* Called by the loader before it enters each stage. */
static void
enter_stage (TetherLoadStage  stage,
             gpointer         user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (current_stage == TETHER_LOAD_STAGE_OPEN)
    {
      open_us = now - stage_start;
      record_links_libtether ();
    }
  current_stage = stage;
  stage_start = now;
  record ("stage", _tether_load_stage_to_string (stage));
}

/* ------------------------------------------------------------------------ */
/* The provider's functions, wrapped                                         */
/* ------------------------------------------------------------------------ */

static TetherProvider real;            /* the module's own functions */
static GType declared_type;            /* its resource type, or G_TYPE_INVALID */
static const char *fault_function;     /* the function the last error came from */
static gint64 acquire_us = -1, release_us = -1, ungraceful_release_us = -1;
static int probe_pipe[2] = { -1, -1 };

/* Whether @size bytes at @address can be read, without reading them here:
 * write(2) copies them in the kernel, which fails with EFAULT instead of a
 * crash. */
static gboolean
readable (const void *address,
          gsize       size)
{
  char drain[64];
  gssize n;

  g_assert (size <= sizeof drain);
  if (probe_pipe[0] < 0 && !g_unix_open_pipe (probe_pipe, O_CLOEXEC, NULL))
    return FALSE;
  do
    n = write (probe_pipe[1], address, size);
  while (n < 0 && errno == EINTR);
  if (n != (gssize) size)
    return FALSE;
  return read (probe_pipe[0], drain, size) == (gssize) size;
}

/* Collects the classes of @type and of every type derived from it. */
static void
collect_classes (GType       type,
                 GHashTable *classes)
{
  g_autofree GType *children = NULL;
  guint n = 0;
  gpointer klass = g_type_class_peek (type);

  if (klass != NULL)
    g_hash_table_add (classes, klass);
  children = g_type_children (type, &n);
  for (guint i = 0; i < n; i++)
    collect_classes (children[i], classes);
}

/* The GObject type of @resource if it is an instance of one, by comparing
 * its class pointer with the classes GLib knows: nothing is dereferenced
 * that was not checked readable, and no GType value comes from @resource. */
static GType
object_type_of (gpointer resource)
{
  g_autoptr(GHashTable) classes = g_hash_table_new (NULL, NULL);
  GTypeInstance *instance = resource;
  GTypeClass *klass;

  if (!readable (instance, sizeof *instance))
    return G_TYPE_INVALID;
  klass = instance->g_class;
  collect_classes (G_TYPE_OBJECT, classes);
  if (klass == NULL || !g_hash_table_contains (classes, klass))
    return G_TYPE_INVALID;
  return klass->g_type;
}

static void
set_fault (GError     **error,
           const char  *function,
           const char  *format,
           ...) G_GNUC_PRINTF (3, 4);

static void
set_fault (GError     **error,
           const char  *function,
           const char  *format,
           ...)
{
  va_list ap;
  g_autofree char *text = NULL;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  fault_function = function;
  g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT, text);
}

/* What tether's own check would do, but naming @function, and checking a
 * declared type without trusting the pointer. */
static gpointer
check_result (const char    *function,
              gpointer       resource,
              GError        *provider_error,
              GMainContext  *context,
              gpointer       provider_data,
              GError       **error)
{
  if (resource != NULL && provider_error != NULL)
    {
      set_fault (error, function,
                 "%s returned a resource and also set an error (%s): it must do one or the "
                 "other, return the resource, or NULL with the error set (the resource was "
                 "released)",
                 function, provider_error->message);
      g_error_free (provider_error);
      if (real.release != NULL)
        real.release (resource, context, TRUE, provider_data);
      return NULL;
    }

  if (resource == NULL && provider_error == NULL)
    {
      set_fault (error, function,
                 "%s returned NULL and set no error: return the resource, or NULL with the "
                 "error set",
                 function);
      return NULL;
    }

  if (resource == NULL)
    {
      fault_function = function;
      g_propagate_error (error, provider_error);
      return NULL;
    }

  if (declared_type != G_TYPE_INVALID)
    {
      GType type = object_type_of (resource);

      if (type == G_TYPE_INVALID)
        {
          /* Not released: the provider's release would take it for one. */
          set_fault (error, function,
                     "%s returned a pointer that is not a GObject instance of type %s, its "
                     "declared resource_type: return an instance of that type, or declare "
                     "no resource_type",
                     function, g_type_name (declared_type));
          return NULL;
        }
      if (!g_type_is_a (type, declared_type))
        {
          set_fault (error, function,
                     "%s returned a %s, which is not a %s, its declared resource_type "
                     "(the resource was released)",
                     function, g_type_name (type),
                     g_type_name (declared_type));
          if (real.release != NULL)
            real.release (resource, context, TRUE, provider_data);
          return NULL;
        }
    }

  return resource;
}

static gpointer
wrapped_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
  GError *local_error = NULL;
  gpointer resource;

  record ("call", "acquire");
  resource = real.acquire (context, provider_data, &local_error);
  record ("return", "acquire");
  return check_result ("acquire", resource, local_error, context, provider_data, error);
}

typedef struct
{
  GAsyncReadyCallback  callback;
  gpointer             user_data;
} AsyncCall;

static GMainContext *async_context;    /* of the acquire_async under way */
static gpointer async_provider_data;

static void
wrapped_callback (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  AsyncCall *call = user_data;

  record ("callback", "acquire_async");
  call->callback (source, result, call->user_data);
  g_free (call);
}

static void
wrapped_acquire_async (GMainContext        *context,
                       gpointer             provider_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  AsyncCall *call = g_new (AsyncCall, 1);

  call->callback = callback;
  call->user_data = user_data;
  async_context = context;
  async_provider_data = provider_data;
  record ("call", "acquire_async");
  real.acquire_async (context, provider_data, cancellable, wrapped_callback, call);
  record ("return", "acquire_async");
}

static gpointer
wrapped_acquire_finish (GAsyncResult  *result,
                        GError       **error)
{
  GError *local_error = NULL;
  gpointer resource;

  record ("call", "acquire_finish");
  resource = real.acquire_finish (result, &local_error);
  record ("return", "acquire_finish");
  return check_result ("acquire_finish", resource, local_error, async_context,
                       async_provider_data, error);
}

static void
wrapped_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
  const char *function = graceful ? "release" : "release-ungraceful";
  gint64 *slot = graceful ? &release_us : &ungraceful_release_us;
  gint64 start;

  record ("call", function);
  start = g_get_monotonic_time ();
  real.release (resource, context, graceful, provider_data);
  *slot = MAX (*slot, g_get_monotonic_time () - start);
  record ("return", function);
}

/* The loader's hook: the copy it registers calls the wrappers. */
static void
wrap_provider (TetherProvider *copy,
               gpointer        user_data)
{
  real = *copy;
  declared_type = copy->resource_type != NULL ? copy->resource_type () : G_TYPE_INVALID;
  if (copy->acquire != NULL)
    copy->acquire = wrapped_acquire;
  if (copy->acquire_async != NULL && copy->acquire_finish != NULL)
    {
      copy->acquire_async = wrapped_acquire_async;
      copy->acquire_finish = wrapped_acquire_finish;
    }
  if (copy->release != NULL)
    copy->release = wrapped_release;
}

/* ------------------------------------------------------------------------ */
/* The exercise                                                             */
/* ------------------------------------------------------------------------ */

static gint64
timed_since (gint64 start)
{
  return g_get_monotonic_time () - start;
}

static void
acquired_async (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Acquires for @context, which this thread has pushed. */
static gpointer
acquire (TetherTemplate  *template,
         GMainContext    *context,
         gboolean         async,
         GError         **error)
{
  gint64 start = g_get_monotonic_time ();
  gpointer resource;

  enter_stage (TETHER_LOAD_STAGE_ACQUIRE, NULL);
  fault_function = NULL;
  if (async)
    {
      g_autoptr(GAsyncResult) result = NULL;

      tether_template_acquire_async (template, context, NULL, acquired_async, &result);
      while (result == NULL)
        g_main_context_iteration (context, TRUE);
      resource = tether_template_acquire_finish (template, result, error);
    }
  else
    resource = tether_template_acquire (template, context, error);
  acquire_us = MAX (acquire_us, timed_since (start));
  return resource;
}

/* Acquire, then release with the live context. */
static gboolean
graceful_cycle (TetherTemplate  *template,
                gboolean         async,
                GError         **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean ok = FALSE;

  record ("cycle", "graceful");
  g_main_context_push_thread_default (context);
  if (acquire (template, context, async, error) != NULL)
    {
      enter_stage (TETHER_LOAD_STAGE_RELEASE, NULL);
      fault_function = "release";
      ok = tether_template_release (template, context, error);
    }
  g_main_context_pop_thread_default (context);
  return ok;
}

/* Acquire, then let the context die holding the resource: the purge
 * releases it with context NULL, as the janitor would in an application.
 * A resource that holds its context keeps it alive (a reference cycle):
 * then it is released gracefully instead, and the record says so. */
static gboolean
ungraceful_cycle (TetherTemplate  *template,
                  GError         **error)
{
  GMainContext *context = g_main_context_new ();
  gpointer resource;

  record ("cycle", "ungraceful");
  g_main_context_push_thread_default (context);
  resource = acquire (template, context, FALSE, error);
  g_main_context_pop_thread_default (context);
  if (resource == NULL)
    {
      g_main_context_unref (context);
      return FALSE;
    }

  enter_stage (TETHER_LOAD_STAGE_RELEASE, NULL);
  g_main_context_unref (context);
  tether_purge ();
  if (tether_template_get_n_held (template) == 0)
    return TRUE;

  /* Still held: the resource keeps @context alive, so the pointer is
   * still the context's. */
  record ("cycle", "skipped-ungraceful");
  fault_function = "release";
  return tether_template_release (template, context, error);
}

static GError *
exercise (TetherTemplate *template)
{
  GError *error = NULL;
  gboolean ok;

  ok = graceful_cycle (template, real.acquire == NULL, &error);
  if (ok && real.acquire != NULL && real.acquire_async != NULL && real.acquire_finish != NULL)
    ok = graceful_cycle (template, TRUE, &error);
  if (ok)
    ok = ungraceful_cycle (template, &error);
  if (ok)
    record ("exercised", NULL);

  record_time ("time-acquire", acquire_us);
  record_time ("time-release", release_us);
  record_time ("time-release-ungraceful", ungraceful_release_us);
  return error;
}

/* ------------------------------------------------------------------------ */

static int
finish (const GError *error,
        const char   *tag)
{
  if (error != NULL)
    _tether_scan_write_error (proto_fd, tag, NULL, error);
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
    {
      g_autofree char *description = _tether_escape_for_message (copy->description,
                                                            TETHER_SCAN_DESCRIPTION_MAX);

      record ("description", description);
    }
  record ("abi-version", abi);
  record ("struct-size", size);
  if (sync && async)
    record ("acquire", "both");
  else
    record ("acquire", sync ? "sync" : "async");
  /* The type of the resources, by name (a GType means nothing in the
   * parent). Provider code: it runs in the validate stage. */
  if (copy->resource_type != NULL)
    {
      GType type = copy->resource_type ();

      record ("resource-type", type != G_TYPE_INVALID ? g_type_name (type) : "(G_TYPE_INVALID)");
    }
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
    { "exercise", 0, 0, G_OPTION_ARG_NONE, &do_exercise, "A graceful and an ungraceful cycle", NULL },
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

  template = _tether_loader_load (argv[1], config, flags, enter_stage, wrap_provider, NULL, NULL,
                                  &error);
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
    _tether_scan_write_error (proto_fd, "exercise-error",
                              fault_function != NULL ? fault_function : "-", exercise_error);

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
