/* test-soup-session.c: the soup-session provider against a real SoupServer
 *
 * A SoupServer on 127.0.0.1 runs in a thread and context of its own. Four
 * worker threads, each in its own context with a manager, send requests
 * through the session the provider gives their context; every callback
 * must run in the worker's own context and thread, every worker must use
 * its own session and its own connections, and every session must be
 * finalized when its context's scope ends.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libsoup/soup.h>

#include "plugin-test-util.h"
#include "test-gtask-worker.h"

#define N_WORKERS  4
#define N_REQUESTS 3

/* ------------------------------------------------------------------------ */
/* The server                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMutex        lock;
  GCond         cond;
  char         *base_uri;      /* set once listening */
  gint          quit;          /* atomic */

  /* Protected by lock */
  GHashTable   *ports_by_worker;  /* worker id (string) -> GHashTable set of ports */
  GPtrArray    *user_agents;
  guint         n_requests;
} Server;

static void
server_handler (SoupServer        *soup_server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Server *server = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *worker = soup_message_headers_get_one (headers, "X-Worker");
  const char *agent = soup_message_headers_get_one (headers, "User-Agent");
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote));
  g_autofree char *body = NULL;
  GHashTable *ports;

  g_mutex_lock (&server->lock);
  ports = g_hash_table_lookup (server->ports_by_worker, worker != NULL ? worker : "");
  if (ports == NULL)
    {
      ports = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (server->ports_by_worker, g_strdup (worker != NULL ? worker : ""), ports);
    }
  g_hash_table_add (ports, GUINT_TO_POINTER ((guint) port));
  g_ptr_array_add (server->user_agents, g_strdup (agent));
  server->n_requests++;
  g_mutex_unlock (&server->lock);

  body = g_strdup_printf ("{\"path\": \"%s\", \"duration\": %u}", path, 1000 + port % 100);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    body, strlen (body));
}

static gpointer
server_thread (gpointer data)
{
  Server *server = data;
  g_autoptr(SoupServer) soup_server = NULL;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (server->context);

  soup_server = soup_server_new ("server-header", "tether-test-server", NULL);
  soup_server_add_handler (soup_server, "/match", server_handler, server, NULL);
  soup_server_listen_local (soup_server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (soup_server);
  g_assert_nonnull (uris);
  g_mutex_lock (&server->lock);
  server->base_uri = g_uri_to_string (uris->data);
  g_cond_broadcast (&server->cond);
  g_mutex_unlock (&server->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  while (!g_atomic_int_get (&server->quit))
    g_main_context_iteration (server->context, TRUE);

  soup_server_disconnect (soup_server);
  g_clear_object (&soup_server);
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

static Server *
server_start (void)
{
  Server *server = g_new0 (Server, 1);

  g_mutex_init (&server->lock);
  g_cond_init (&server->cond);
  server->context = g_main_context_new ();
  server->ports_by_worker = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) g_hash_table_unref);
  server->user_agents = g_ptr_array_new_with_free_func (g_free);
  server->thread = g_thread_new ("soup-server", server_thread, server);

  g_mutex_lock (&server->lock);
  while (server->base_uri == NULL)
    g_cond_wait (&server->cond, &server->lock);
  g_mutex_unlock (&server->lock);
  g_assert_true (g_str_has_prefix (server->base_uri, "http://127.0.0.1:"));

  return server;
}

static void
server_stop (Server *server)
{
  g_atomic_int_set (&server->quit, TRUE);
  g_main_context_wakeup (server->context);
  g_thread_join (server->thread);
  g_main_context_unref (server->context);
  g_hash_table_unref (server->ports_by_worker);
  g_ptr_array_unref (server->user_agents);
  g_free (server->base_uri);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->cond);
  g_free (server);
}

/* ------------------------------------------------------------------------ */
/* The workers                                                              */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint           id;
  Server         *server;
  TetherTemplate *template;
  GThread        *thread;
  SoupSession    *session;       /* identity only once the scope ended */
  GMainContext   *context;       /* identity only */
  gint            finalized;     /* atomic: the session's weak ref fired */
  guint           pending;
  guint           n_ok;
  guint           n_wrong_context;
} Worker;

static void
session_finalized (gpointer  data,
                   GObject  *where_the_object_was)
{
  Worker *worker = data;

  g_atomic_int_inc (&worker->finalized);
}

static void
request_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Worker *worker = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;

  /* The callback runs in the worker's own context, on the worker's thread,
   * for the worker's own session. */
  if (g_main_context_get_thread_default () != worker->context ||
      g_thread_self () != worker->thread ||
      SOUP_SESSION (source) != worker->session)
    worker->n_wrong_context++;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (g_bytes_get_data (body, NULL), "\"duration\""));
  worker->n_ok++;
  worker->pending--;
}

static gboolean
worker_scope (gpointer   user_data,
              GError   **error)
{
  Worker *worker = user_data;
  GMainContext *context = g_main_context_get_thread_default ();
  g_autofree char *worker_id = g_strdup_printf ("%u", worker->id);
  SoupSession *session;

  worker->context = context;
  worker->thread = g_thread_self ();

  session = tether_template_acquire (worker->template, NULL, error);
  if (session == NULL)
    return FALSE;
  g_assert_true (SOUP_IS_SESSION (session));
  worker->session = session;
  g_object_weak_ref (G_OBJECT (session), session_finalized, worker);

  for (guint i = 0; i < N_REQUESTS; i++)
    {
      g_autofree char *uri = g_strdup_printf ("%smatch/%u-%u", worker->server->base_uri,
                                              worker->id, i);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

      soup_message_headers_append (soup_message_get_request_headers (msg), "X-Worker", worker_id);
      /* Acquiring again in a callback-free loop: the same session. */
      g_assert_true (tether_template_acquire (worker->template, NULL, NULL) == session);
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL,
                                        request_done, worker);
      worker->pending++;
    }

  while (worker->pending > 0)
    g_main_context_iteration (context, TRUE);

  return TRUE;
}

static gpointer
worker_thread (gpointer data)
{
  Worker *worker = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_run_in_new_context (worker_scope, worker, &error));
  g_assert_no_error (error);
  return NULL;
}

static void
test_soup_session_workers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  Worker workers[N_WORKERS] = { 0 };
  GThread *threads[N_WORKERS];
  Server *server;

  test_reset_global_state ();
  template = plugin_test_load ("soup-session",
                               "[provider soup-session]\n"
                               "user-agent=tether-test-agent/1.0\n"
                               "max-conns=2\n"
                               "timeout=10\n",
                               &error);
  g_assert_no_error (error);

  server = server_start ();
  g_test_message ("server at %s", server->base_uri);

  for (guint i = 0; i < N_WORKERS; i++)
    {
      workers[i].id = i + 1;
      workers[i].server = server;
      workers[i].template = template;
      threads[i] = g_thread_new ("soup-worker", worker_thread, &workers[i]);
    }
  for (guint i = 0; i < N_WORKERS; i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < N_WORKERS; i++)
    {
      g_autofree char *id = g_strdup_printf ("%u", workers[i].id);
      GHashTable *ports;

      g_assert_cmpuint (workers[i].n_ok, ==, N_REQUESTS);
      g_assert_cmpuint (workers[i].n_wrong_context, ==, 0);
      /* Released gracefully by the scope's manager, and finalized: the
       * session did not outlive its context's scope. */
      g_assert_cmpint (g_atomic_int_get (&workers[i].finalized), ==, 1);
      for (guint j = 0; j < i; j++)
        g_assert_true (workers[i].context != workers[j].context);

      /* Separate sessions never share a connection: a worker's client
       * ports are its own. */
      g_mutex_lock (&server->lock);
      ports = g_hash_table_lookup (server->ports_by_worker, id);
      g_assert_nonnull (ports);
      for (guint j = 0; j < N_WORKERS; j++)
        {
          g_autofree char *other_id = g_strdup_printf ("%u", workers[j].id);
          GHashTable *other = g_hash_table_lookup (server->ports_by_worker, other_id);
          GHashTableIter iter;
          gpointer port;

          if (j == i)
            continue;
          g_hash_table_iter_init (&iter, ports);
          while (g_hash_table_iter_next (&iter, &port, NULL))
            g_assert_false (g_hash_table_contains (other, port));
        }
      g_mutex_unlock (&server->lock);
    }

  /* The configuration reached the sessions. */
  g_mutex_lock (&server->lock);
  g_assert_cmpuint (server->n_requests, ==, N_WORKERS * N_REQUESTS);
  for (guint i = 0; i < server->user_agents->len; i++)
    g_assert_cmpstr (g_ptr_array_index (server->user_agents, i), ==, "tether-test-agent/1.0");
  g_mutex_unlock (&server->lock);

  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);
  server_stop (server);
  tether_template_unregister (template);
}

/* A context that another thread owns cannot get a session: tether cannot
 * push it, and a session created here would bind to this thread's context
 * instead. The provider refuses; nothing is held. */
typedef struct
{
  GMainContext *context;
  GMutex        lock;
  GCond         cond;
  gboolean      owned;
  gboolean      done;
} Owner;

static gpointer
owner_thread (gpointer data)
{
  Owner *owner = data;

  g_assert_true (g_main_context_acquire (owner->context));
  g_mutex_lock (&owner->lock);
  owner->owned = TRUE;
  g_cond_broadcast (&owner->cond);
  while (!owner->done)
    g_cond_wait (&owner->cond, &owner->lock);
  g_mutex_unlock (&owner->lock);
  g_main_context_release (owner->context);
  return NULL;
}

static void
test_soup_session_foreign_context (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;
  Owner owner = { .context = g_main_context_new () };
  GThread *thread;
  gpointer session;

  test_reset_global_state ();
  template = plugin_test_load ("soup-session", NULL, &error);
  g_assert_no_error (error);

  /* Nobody owns it: tether pushes it around the provider's acquire. */
  session = tether_template_acquire (template, owner.context, &error);
  g_assert_no_error (error);
  g_assert_true (SOUP_IS_SESSION (session));
  g_assert_true (tether_template_release (template, owner.context, &error));

  g_mutex_init (&owner.lock);
  g_cond_init (&owner.cond);
  thread = g_thread_new ("owner", owner_thread, &owner);
  g_mutex_lock (&owner.lock);
  while (!owner.owned)
    g_cond_wait (&owner.cond, &owner.lock);
  g_mutex_unlock (&owner.lock);

  session = tether_template_acquire (template, owner.context, &error);
  g_assert_null (session);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_CONTEXT);
  g_assert_nonnull (strstr (error->message, "another thread owns that context"));
  g_test_message ("%s", error->message);
  g_assert_cmpuint (tether_template_get_n_held (template), ==, 0);

  g_mutex_lock (&owner.lock);
  owner.done = TRUE;
  g_cond_broadcast (&owner.cond);
  g_mutex_unlock (&owner.lock);
  g_thread_join (thread);
  g_mutex_clear (&owner.lock);
  g_cond_clear (&owner.cond);
  g_main_context_unref (owner.context);
  tether_template_unregister (template);
}

/* A GTask worker without a context of its own is refused the main
 * thread's (test-gtask-worker.h). */
static void
test_soup_session_gtask_worker (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherTemplate) template = NULL;

  test_reset_global_state ();
  template = plugin_test_load ("soup-session", NULL, &error);
  g_assert_no_error (error);

  test_gtask_worker_check (template);
  tether_template_unregister (template);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tether_set_unmanaged_warning_enabled (FALSE);

  g_test_add_func ("/providers/soup-session/four-workers", test_soup_session_workers);
  g_test_add_func ("/providers/soup-session/foreign-context", test_soup_session_foreign_context);
  g_test_add_func ("/providers/soup-session/gtask-worker-global-default",
                   test_soup_session_gtask_worker);

  return g_test_run ();
}
