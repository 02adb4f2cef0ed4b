/* tether-demo.c: the seed's example, in C, with a real HTTP session
 *
 * A pool of worker threads. Each job runs in a fresh GMainContext of its
 * own with a TetherManager around it (tether_run_in_new_context). The
 * manager acquires the job's SoupSession from the "soup-session" provider,
 * loaded as a plugin; the job fetches 5 "match" JSON documents through that
 * session, asynchronously on its own context, and computes the mean match
 * duration. At the end: how many sessions were acquired, how many were
 * released (finalized), and how many leaked.
 *
 * By default the matches come from a small HTTP server the demo starts on
 * 127.0.0.1 in a thread of its own; --url points at another server that
 * answers GET URL/match/ID with a JSON object holding a "duration" number
 * (seconds).
 *
 * The plugin is looked up in $TETHER_PROVIDER_PATH, then in the build tree
 * the demo was built in, then in the installed provider directory.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <tether/tether.h>

#define N_MATCHES 5

static gint n_acquired;   /* atomic: sessions handed to jobs */
static gint n_released;   /* atomic: those sessions finalized */

static TetherTemplate *session_template;
static char *base_url;    /* ends with '/' */

/* ------------------------------------------------------------------------ */
/* The embedded match server                                                */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMutex        lock;
  GCond         cond;
  char         *url;       /* set once listening */
  GError       *error;     /* set if listening failed */
  gint          quit;      /* atomic */
} MatchServer;

static void
match_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  const char *id = strrchr (path, '/') + 1;
  /* A made-up, reproducible duration between 25 and 40 minutes. */
  guint seconds = 1500 + g_str_hash (id) % 900;
  g_autofree char *body = g_strdup_printf ("{\"id\": \"%s\", \"duration\": %u}", id, seconds);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    body, strlen (body));
}

static gpointer
match_server_thread (gpointer data)
{
  MatchServer *self = data;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) error = NULL;
  GSList *uris = NULL;

  g_main_context_push_thread_default (self->context);
  server = soup_server_new ("server-header", "tether-demo-matches", NULL);
  soup_server_add_handler (server, "/match/", match_handler, NULL, NULL);
  if (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    uris = soup_server_get_uris (server);

  g_mutex_lock (&self->lock);
  if (uris != NULL)
    self->url = g_uri_to_string (uris->data);
  else
    self->error = g_steal_pointer (&error);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  while (self->url != NULL && !g_atomic_int_get (&self->quit))
    g_main_context_iteration (self->context, TRUE);

  soup_server_disconnect (server);
  g_clear_object (&server);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static MatchServer *
match_server_start (GError **error)
{
  MatchServer *self = g_new0 (MatchServer, 1);

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->context = g_main_context_new ();
  self->thread = g_thread_new ("match-server", match_server_thread, self);

  g_mutex_lock (&self->lock);
  while (self->url == NULL && self->error == NULL)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);

  if (self->error != NULL)
    {
      g_propagate_error (error, self->error);
      self->error = NULL;
      g_thread_join (self->thread);
      g_main_context_unref (self->context);
      g_free (self);
      return NULL;
    }

  return self;
}

static void
match_server_stop (MatchServer *self)
{
  g_atomic_int_set (&self->quit, TRUE);
  g_main_context_wakeup (self->context);
  g_thread_join (self->thread);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->url);
  g_free (self);
}

/* ------------------------------------------------------------------------ */
/* Loading the provider                                                     */
/* ------------------------------------------------------------------------ */

static TetherTemplate *
load_session_provider (GError **error)
{
  g_auto(GStrv) search_path = tether_get_provider_search_path ();
  g_autoptr(GStrvBuilder) dirs = g_strv_builder_new ();
  g_auto(GStrv) all = NULL;
  g_autoptr(GKeyFile) config = g_key_file_new ();
  guint n = g_strv_length (search_path);

  /* $TETHER_PROVIDER_PATH, then this build tree, then the installed dir. */
  for (guint i = 0; i + 1 < n; i++)
    g_strv_builder_add (dirs, search_path[i]);
#ifdef TETHER_DEMO_PLUGIN_DIR
  g_strv_builder_add (dirs, TETHER_DEMO_PLUGIN_DIR);
#endif
  g_strv_builder_add (dirs, search_path[n - 1]);
  all = g_strv_builder_end (dirs);

  g_key_file_set_string (config, "provider soup-session", "user-agent",
                         "tether-demo/" TETHER_VERSION_S);
  g_key_file_set_integer (config, "provider soup-session", "timeout", 10);

  for (guint i = 0; all[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (all[i], "soup-session.so", NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return tether_load_provider (path, config, error);
    }

  {
    g_autofree char *joined = g_strjoinv (":", all);

    g_set_error (error, TETHER_ERROR, TETHER_ERROR_MODULE_LOAD,
                 "The soup-session provider (soup-session.so) is in none of: %s", joined);
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The job                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const char *summoner;
  GString    *report;
  gboolean    ok;
} Job;

typedef struct
{
  GMainContext *context;
  guint         pending;
  guint         n_fetched;
  double        total_seconds;
  GError       *error;
} Fetch;

static void
session_finalized (gpointer  data,
                   GObject  *where_the_object_was)
{
  g_atomic_int_inc (&n_released);
}

static void
match_fetched (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Fetch *fetch = user_data;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  gsize size;
  const char *data;

  /* The callback runs in the job's own context, for the job's session:
   * acquiring again returns that same session without a lock. */
  g_assert (g_main_context_get_thread_default () == fetch->context);
  g_assert (tether_template_acquire (session_template, NULL, NULL) == (gpointer) source);

  fetch->pending--;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    goto failed;

  data = g_bytes_get_data (body, &size);
  if (!json_parser_load_from_data (parser, data, (gssize) size, &error))
    goto failed;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "duration"))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the match document has no \"duration\"");
      goto failed;
    }

  fetch->total_seconds += json_object_get_double_member (json_node_get_object (root), "duration");
  fetch->n_fetched++;
  return;

failed:
  if (fetch->error == NULL)
    fetch->error = g_steal_pointer (&error);
}

static gboolean
average_match_duration (gpointer   user_data,
                        GError   **error)
{
  Job *job = user_data;
  GMainContext *context = g_main_context_get_thread_default ();
  Fetch fetch = { .context = context };
  SoupSession *session;

  /* The manager acquired this context's session already. */
  session = tether_template_acquire (session_template, NULL, error);
  if (session == NULL)
    return FALSE;
  g_atomic_int_inc (&n_acquired);
  g_object_weak_ref (G_OBJECT (session), session_finalized, NULL);

  for (guint i = 0; i < N_MATCHES; i++)
    {
      g_autofree char *url = g_strdup_printf ("%smatch/%s-%u", base_url, job->summoner, i);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

      if (msg == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Bad URL %s", url);
          break;
        }
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL,
                                        match_fetched, &fetch);
      fetch.pending++;
    }

  while (fetch.pending > 0)
    g_main_context_iteration (context, TRUE);

  if (fetch.error != NULL)
    {
      g_propagate_prefixed_error (error, fetch.error, "fetching matches: ");
      return FALSE;
    }
  if (fetch.n_fetched != N_MATCHES)
    return FALSE;

  g_string_append_printf (job->report,
                          "  %-8s context %p  session %p  mean of %u matches %.1f min\n",
                          job->summoner, (void *) context, (void *) session,
                          fetch.n_fetched, fetch.total_seconds / fetch.n_fetched / 60.0);
  return TRUE;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job *job = data;
  g_autoptr(GError) error = NULL;

  job->ok = tether_run_in_new_context (average_match_duration, job, &error);
  if (!job->ok)
    g_string_append_printf (job->report, "  %-8s failed: %s\n", job->summoner,
                            error != NULL ? error->message : "no error given");
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
  g_autofree char *url = NULL;
  gint n_threads = 4;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads, "Worker threads (default 4)", "N" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &url,
      "Fetch matches from URL/match/ID instead of the embedded server on 127.0.0.1", "URL" },
    { NULL }
  };
  Job jobs[G_N_ELEMENTS (summoners)];
  MatchServer *server = NULL;
  GThreadPool *pool;
  guint n_failed = 0;
  gint leaked;

  option_context = g_option_context_new ("- tether demo: one HTTP session per worker context");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }
  if (n_threads < 1 || n_threads > 64)
    {
      g_printerr ("--threads takes 1 to 64\n");
      return EXIT_FAILURE;
    }

  session_template = load_session_provider (&error);
  if (session_template == NULL)
    {
      g_printerr ("tether-demo: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (url == NULL)
    {
      server = match_server_start (&error);
      if (server == NULL)
        {
          g_printerr ("tether-demo: cannot start the match server: %s\n", error->message);
          return EXIT_FAILURE;
        }
      url = g_strdup (server->url);
    }
  base_url = g_str_has_suffix (url, "/") ? g_strdup (url) : g_strconcat (url, "/", NULL);

  g_print ("tether %s demo: %u jobs on %d worker threads, each in its own context\n"
           "  provider  %s (plugin)\n"
           "  matches   %s%s\n",
           TETHER_VERSION_S, (guint) G_N_ELEMENTS (summoners), n_threads,
           tether_template_get_name (session_template),
           base_url, server != NULL ? " (embedded server)" : "");

  pool = g_thread_pool_new (run_job, NULL, n_threads, TRUE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (summoners); i++)
    {
      jobs[i].summoner = summoners[i];
      jobs[i].report = g_string_new (NULL);
      jobs[i].ok = FALSE;
      g_thread_pool_push (pool, &jobs[i], NULL);
    }
  g_thread_pool_free (pool, FALSE, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (summoners); i++)
    {
      g_print ("%s", jobs[i].report->str);
      g_string_free (jobs[i].report, TRUE);
      n_failed += jobs[i].ok ? 0 : 1;
    }

  tether_purge ();
  leaked = g_atomic_int_get (&n_acquired) - g_atomic_int_get (&n_released);
  g_print ("sessions: acquired %d, released %d, leaked %d; still held by tether: %u\n",
           g_atomic_int_get (&n_acquired), g_atomic_int_get (&n_released), leaked,
           tether_template_get_n_held (session_template));
  if (tether_template_get_n_held (session_template) != 0)
    leaked = MAX (leaked, 1);

  tether_template_unregister (session_template);
  g_clear_object (&session_template);
  if (server != NULL)
    match_server_stop (server);
  g_free (base_url);

  return leaked == 0 && n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
