/* tether-demo.c: the seed's example, in C
 *
 * A pool of worker threads. Each job runs in a fresh GMainContext of its
 * own with a TetherManager around it (tether_run_in_new_context), gets its
 * own "session" and "queue" resources, fetches the durations of 5 matches
 * asynchronously on its own context, and computes their mean. At the end:
 * how many resources were acquired, released, and leaked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include <tether/tether.h>

static gint n_acquired;
static gint n_released;
static gint next_id;

/* ------------------------------------------------------------------------ */
/* Two in-process providers                                                 */
/* ------------------------------------------------------------------------ */

/* A stand-in for an HTTP session: like SoupSession it belongs to the
 * context it was created in, and keeps a reference on it. */
typedef struct
{
  guint         id;
  GMainContext *context;
  guint         requests;
} DemoSession;

static gpointer
session_acquire (GMainContext  *context,
                 gpointer       provider_data,
                 GError       **error)
{
  DemoSession *session = g_new0 (DemoSession, 1);

  session->id = (guint) g_atomic_int_add (&next_id, 1) + 1;
  session->context = g_main_context_ref_thread_default ();
  g_assert (session->context == context);
  g_atomic_int_inc (&n_acquired);

  return session;
}

static void
session_release (gpointer      resource,
                 GMainContext *context,
                 gboolean      graceful,
                 gpointer      provider_data)
{
  DemoSession *session = resource;

  g_print ("    release session #%u (%u requests, %s)\n",
           session->id, session->requests, graceful ? "graceful" : "purged");
  g_main_context_unref (session->context);
  g_free (session);
  g_atomic_int_inc (&n_released);
}

static const TetherProvider session_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "demo-session",
  .description = "a pretend HTTP session bound to its context",
  .acquire = session_acquire,
  .release = session_release,
};

/* A work queue: a counter of jobs in flight on this context. */
static gpointer
queue_acquire (GMainContext  *context,
               gpointer       provider_data,
               GError       **error)
{
  g_atomic_int_inc (&n_acquired);
  return g_new0 (guint, 1);
}

static void
queue_release (gpointer      resource,
               GMainContext *context,
               gboolean      graceful,
               gpointer      provider_data)
{
  g_free (resource);
  g_atomic_int_inc (&n_released);
}

static const TetherProvider queue_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "demo-queue",
  .description = "a per-context work counter",
  .acquire = queue_acquire,
  .release = queue_release,
};

static TetherTemplate *session_template;
static TetherTemplate *queue_template;

/* ------------------------------------------------------------------------ */
/* The job                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *summoner;
  double      mean_ms;
  GString    *report;
} Job;

typedef struct
{
  guint pending;
  guint total_ms;
} Fetch;

static gboolean
match_fetched (gpointer data)
{
  Fetch *fetch = data;
  DemoSession *session = tether_template_acquire (session_template, NULL, NULL);
  guint *queue = tether_template_acquire (queue_template, NULL, NULL);

  /* The callback runs in the worker's own context: same session. */
  g_assert (session->context == g_main_context_get_thread_default ());
  session->requests++;
  (*queue)--;
  fetch->total_ms += 1500000 + g_random_int_range (0, 900000);
  fetch->pending--;

  return G_SOURCE_REMOVE;
}

static gboolean
average_match_duration (gpointer   user_data,
                        GError   **error)
{
  Job *job = user_data;
  GMainContext *context = g_main_context_get_thread_default ();
  DemoSession *session;
  guint *queue;
  Fetch fetch = { 0, 0 };

  /* Resources were acquired for this context by the manager. */
  session = tether_template_acquire (session_template, NULL, error);
  if (session == NULL)
    return FALSE;
  queue = tether_template_acquire (queue_template, NULL, error);
  if (queue == NULL)
    return FALSE;

  for (guint i = 0; i < 5; i++)
    {
      GSource *source = g_timeout_source_new (g_random_int_range (1, 20));

      g_source_set_callback (source, match_fetched, &fetch, NULL);
      g_source_attach (source, context);
      g_source_unref (source);
      fetch.pending++;
      (*queue)++;
    }

  while (fetch.pending > 0)
    g_main_context_iteration (context, TRUE);

  job->mean_ms = fetch.total_ms / 5.0 / 1000.0;
  g_string_append_printf (job->report,
                          "  %-10s thread %p context %p session #%u (%u requests) mean %.1f s\n",
                          job->summoner, (void *) g_thread_self (), (void *) context,
                          session->id, session->requests, job->mean_ms);
  return TRUE;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job *job = data;
  g_autoptr(GError) error = NULL;

  if (!tether_run_in_new_context (average_match_duration, job, &error))
    g_string_append_printf (job->report, "  %-10s failed: %s\n", job->summoner, error->message);
}

int
main (int   argc,
      char *argv[])
{
  static const char *summoners[] = {
    "Ahri", "Braum", "Caitlyn", "Darius", "Ekko", "Fiora", "Garen", "Heimer",
  };
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  gint n_threads = 4;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads, "Worker threads (default 4)", "N" },
    { NULL }
  };
  Job jobs[G_N_ELEMENTS (summoners)];
  GThreadPool *pool;
  gint leaked;

  option_context = g_option_context_new ("- tether demo: one session per worker context");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }

  session_template = tether_template_new (&session_provider, NULL);
  queue_template = tether_template_new (&queue_provider, NULL);

  g_print ("tether %s demo: %u jobs on %d worker threads, each in its own context\n",
           TETHER_VERSION_S, (guint) G_N_ELEMENTS (summoners), n_threads);

  pool = g_thread_pool_new (run_job, NULL, n_threads, TRUE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (summoners); i++)
    {
      jobs[i].summoner = summoners[i];
      jobs[i].report = g_string_new (NULL);
      g_thread_pool_push (pool, &jobs[i], NULL);
    }
  g_thread_pool_free (pool, FALSE, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (summoners); i++)
    {
      g_print ("%s", jobs[i].report->str);
      g_string_free (jobs[i].report, TRUE);
    }

  tether_purge ();
  leaked = g_atomic_int_get (&n_acquired) - g_atomic_int_get (&n_released);
  g_print ("acquired %d, released %d, leaked %d\n",
           g_atomic_int_get (&n_acquired), g_atomic_int_get (&n_released), leaked);

  tether_template_unregister (session_template);
  tether_template_unregister (queue_template);
  g_object_unref (session_template);
  g_object_unref (queue_template);

  return leaked == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
