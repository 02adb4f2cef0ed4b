/* tether-gtk.c: a GTK 4 window whose jobs each run in a context of their own
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * "Fetch" starts --jobs jobs on worker threads (GTask). Each job runs inside
 * tether_run_in_new_context(): a fresh GMainContext pushed as the worker's
 * thread-default context, inside a TetherManager scope that holds, for that
 * context,
 *
 *   - "soup-session": a SoupSession from the soup-session provider module,
 *     loaded with tether_load_provider(). A SoupSession binds to the
 *     thread-default context of its creation: every request it runs
 *     completes there. A session made on one thread cannot serve a job that
 *     iterates another thread's context, and one shared session would
 *     dispatch every job's callbacks into one context. tether gives each
 *     job's context its own session and releases it when the job ends;
 *
 *   - "job-status": an ExampleJobStatus per context, from an object template
 *     of this example: the job's number, its progress, and the GCancellable
 *     its requests use.
 *
 * The job sends --requests GET requests through its session, one after the
 * other, iterating its own context until each completes, and hands each
 * result to the UI thread with g_main_context_invoke() on the global default
 * context. Workers never touch GTK.
 *
 * The "Live contexts" list is rebuilt on the UI thread while jobs run, from
 * tether_dup_managed_contexts(). It reads each context's ExampleJobStatus and
 * SoupSession (the module declares its resource type) with
 * tether_template_dup_object(): a reference, so the object stays valid on
 * the UI thread even when the worker's scope ends, and tether releases it,
 * while the row is being built. (tether_template_lookup_object() would return a
 * borrowed pointer, valid only inside the worker's scope: dereferencing it
 * here would be a use-after-free.) "Cancel all" cancels the live jobs the
 * same way.
 *
 * The requests go to a SoupServer the example starts on 127.0.0.1, in a
 * thread of its own, which answers GET /job/J/R?delay=MS after MS
 * milliseconds (the job picks 50 to 800); or, with --url, to that URL.
 *
 *   tether-gtk [--jobs N] [--requests N] [--url URL]
 *
 * The soup-session module is loaded by name from the search path
 * ($TETHER_PROVIDER_PATH, then the installed provider directory), or, run
 * from the build tree with no TETHER_PROVIDER_PATH, from the module built
 * beside it. tether-gtk-selftest.c drives this window headless.
 */

#include <string.h>

#include <gtk/gtk.h>
#include <libsoup/soup.h>
#include <tether/tether.h>

#define SWATCH_SIZE 14

/* ------------------------------------------------------------------------ */
/* ExampleJobStatus: what a job's context holds besides its session          */
/* ------------------------------------------------------------------------ */

#define EXAMPLE_TYPE_JOB_STATUS (example_job_status_get_type ())
G_DECLARE_FINAL_TYPE (ExampleJobStatus, example_job_status, EXAMPLE, JOB_STATUS, GObject)

struct _ExampleJobStatus
{
  GObject parent_instance;

  /* Set on the worker before the object is handed out; read-only after */
  guint         context_number;   /* "context #N" in the window */
  guint         n_requests;
  GCancellable *cancellable;      /* thread-safe: cancelled from the UI */

  /* Written by the worker, read by the UI thread: atomic */
  gint          n_done;           /* requests completed */
  gint          session_number;   /* "session #N", 0 until known */
};

G_DEFINE_FINAL_TYPE (ExampleJobStatus, example_job_status, G_TYPE_OBJECT)

static void
example_job_status_finalize (GObject *object)
{
  ExampleJobStatus *self = EXAMPLE_JOB_STATUS (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (example_job_status_parent_class)->finalize (object);
}

static void
example_job_status_class_init (ExampleJobStatusClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = example_job_status_finalize;
}

static void
example_job_status_init (ExampleJobStatus *self)
{
  self->cancellable = g_cancellable_new ();
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct _App App;

struct _App
{
  /* Set up in main() before the window exists; read-only after */
  guint           n_jobs;           /* per click of Fetch */
  guint           n_requests;       /* per job */
  char           *url;              /* --url: every request GETs it */
  char           *server_base;      /* else: http://127.0.0.1:PORT/ */
  TetherTemplate *session_template; /* the soup-session module */
  TetherTemplate *status_template;  /* ExampleJobStatus per context */

  /* Atomic: the workers count what they see */
  gint            context_counter;
  gint            session_counter;
  gint            sessions_alive;   /* SoupSessions not yet finalized */

  /* UI thread only */
  GtkWidget      *window;
  GtkWidget      *fetch_button;
  GtkWidget      *cancel_button;
  GtkWidget      *status_label;
  GtkWidget      *live_list;
  GtkWidget      *results_list;
  guint           next_job;
  guint           n_running;
  guint           n_finished;
  guint           n_failed;
  guint           n_results;
  guint           n_live_rows;      /* rows of the last refresh */
  guint           refresh_id;
};

typedef struct
{
  App    *app;
  guint   number;                   /* "job N" */
  gint64  started;                  /* g_get_monotonic_time() on the UI thread */
} Job;

/* One request's outcome, built on the worker, shown on the UI thread. */
typedef struct
{
  App        *app;
  guint       job;
  guint       request;
  guint       n_requests;
  guint       context_number;
  guint       session_number;
  gpointer    context;              /* identities only: never dereferenced */
  gpointer    session;
  const char *session_type;         /* a type name: static */
  guint       http_status;
  gsize       n_bytes;
  double      scope_ms;             /* from Fetch to the job's scope entered */
  double      request_ms;
  char       *error;
} Result;

static void
result_free (gpointer data)
{
  Result *result = data;

  g_free (result->error);
  g_free (result);
}

/* ------------------------------------------------------------------------ */
/* The HTTP server, in a thread and a context of its own                     */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GThread            *thread;
  GMainContext       *context;
  SoupServerCallback  handler;
  gpointer            handler_data;
  GMutex              lock;
  GCond               cond;
  char               *url;          /* set once listening, under the lock */
  GError             *error;        /* set if listening failed, under the lock */
  gint                quit;         /* atomic */
} HttpServer;

typedef struct
{
  SoupServerMessage *msg;
  char              *body;
} DelayedReply;

static void
delayed_reply_free (gpointer data)
{
  DelayedReply *reply = data;

  g_object_unref (reply->msg);
  g_free (reply->body);
  g_free (reply);
}

static gboolean
send_delayed_reply (gpointer data)
{
  DelayedReply *reply = data;
  gsize length = strlen (reply->body);

  soup_server_message_set_status (reply->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (reply->msg, "text/plain", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&reply->body), length);
  soup_server_message_unpause (reply->msg);
  return G_SOURCE_REMOVE;
}

/* GET /job/J/R?delay=MS: answers after MS milliseconds without blocking the
 * server's context, so that concurrent jobs overlap. */
static void
on_job_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  const char *delay = query != NULL ? g_hash_table_lookup (query, "delay") : NULL;
  DelayedReply *reply = g_new0 (DelayedReply, 1);
  g_autoptr(GSource) timeout = NULL;

  reply->msg = g_object_ref (msg);
  reply->body = g_strdup_printf ("%s served at %.3f s\n", path,
                                 g_get_monotonic_time () / 1e6);
  soup_server_message_pause (msg);
  timeout = g_timeout_source_new (delay != NULL ? (guint) MIN (g_ascii_strtoull (delay, NULL, 10), 10000)
                                                : 0);
  g_source_set_callback (timeout, send_delayed_reply, reply, delayed_reply_free);
  g_source_attach (timeout, g_main_context_get_thread_default ());
}

static gpointer
http_server_thread (gpointer data)
{
  HttpServer *self = data;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) error = NULL;
  GSList *uris = NULL;

  g_main_context_push_thread_default (self->context);
  server = soup_server_new ("server-header", "tether-gtk-example", NULL);
  soup_server_add_handler (server, "/job/", self->handler, self->handler_data, NULL);
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

  while (self->error == NULL && !g_atomic_int_get (&self->quit))
    g_main_context_iteration (self->context, TRUE);

  soup_server_disconnect (server);
  g_clear_object (&server);
  /* Replies still waiting for their delay are freed with the context. */
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static HttpServer *
http_server_start (SoupServerCallback   handler,
                   gpointer             handler_data,
                   GError             **error)
{
  HttpServer *self = g_new0 (HttpServer, 1);

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->handler = handler;
  self->handler_data = handler_data;
  self->context = g_main_context_new ();
  self->thread = g_thread_new ("http-server", http_server_thread, self);

  g_mutex_lock (&self->lock);
  while (self->url == NULL && self->error == NULL)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);

  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      g_thread_join (self->thread);
      g_main_context_unref (self->context);
      g_mutex_clear (&self->lock);
      g_cond_clear (&self->cond);
      g_free (self);
      return NULL;
    }
  return self;
}

static void
http_server_stop (HttpServer *self)
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
/* Templates                                                                 */
/* ------------------------------------------------------------------------ */

static TetherTemplate *
load_session_provider (GError **error)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();

  g_key_file_set_string (config, "provider soup-session", "user-agent",
                         "tether-gtk/" TETHER_VERSION_S);
  g_key_file_set_integer (config, "provider soup-session", "timeout", 10);

#ifdef TETHER_GTK_PLUGIN_DIR
  /* Run from the build tree, with no search path of the user's: the module
   * built beside the example. */
  if (g_getenv ("TETHER_PROVIDER_PATH") == NULL)
    {
      g_autofree char *path = g_build_filename (TETHER_GTK_PLUGIN_DIR, "soup-session.so", NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return tether_load_provider (path, config, error);
    }
#endif

  /* $TETHER_PROVIDER_PATH, then the installed provider directory. */
  return tether_load_provider_by_name ("soup-session", config, error);
}

/* Runs on the worker, with the job's context pushed. */
static GObject *
job_status_acquire (GMainContext  *context,
                    gpointer       user_data,
                    GError       **error)
{
  App *app = user_data;
  ExampleJobStatus *status = g_object_new (EXAMPLE_TYPE_JOB_STATUS, NULL);

  status->context_number = (guint) g_atomic_int_add (&app->context_counter, 1) + 1;
  status->n_requests = app->n_requests;
  return G_OBJECT (status);
}

static void
session_finalized (gpointer  data,
                   GObject  *where_the_session_was)
{
  App *app = data;

  g_atomic_int_add (&app->sessions_alive, -1);
}

/* ------------------------------------------------------------------------ */
/* The job, on a worker thread                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GBytes *body;
  GError *error;
  gboolean done;
} Pending;

static void
on_body_read (GObject      *source,
              GAsyncResult *async_result,
              gpointer      user_data)
{
  Pending *pending = user_data;

  /* The session completes its requests in the context it was made in: this
   * job's own, iterated by this job's thread. */
  pending->body = soup_session_send_and_read_finish (SOUP_SESSION (source), async_result,
                                                     &pending->error);
  pending->done = TRUE;
}

static gboolean show_result (gpointer data);

static guint
session_number (App         *app,
                SoupSession *session)
{
  guint number = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (session), "tether-gtk-number"));

  if (number == 0)
    {
      number = (guint) g_atomic_int_add (&app->session_counter, 1) + 1;
      g_object_set_data (G_OBJECT (session), "tether-gtk-number", GUINT_TO_POINTER (number));
      g_atomic_int_inc (&app->sessions_alive);
      g_object_weak_ref (G_OBJECT (session), session_finalized, app);
    }
  return number;
}

/* In the job's scope: its context is the thread-default one, its session
 * and its status are acquired. */
static gboolean
job_scope (gpointer   user_data,
           GError   **error)
{
  Job *job = user_data;
  App *app = job->app;
  GMainContext *context = g_main_context_get_thread_default ();
  double scope_ms = (g_get_monotonic_time () - job->started) / 1000.0;
  ExampleJobStatus *status;
  SoupSession *session;
  guint number;

  /* For this job's context: the manager acquired them on entering (eager
   * templates), or this first use does (on-demand ones), on this thread
   * with this context pushed; later calls are lookups. */
  session = tether_template_acquire (app->session_template, NULL, error);
  if (session == NULL)
    return FALSE;
  status = EXAMPLE_JOB_STATUS (tether_template_acquire_object (app->status_template, NULL, error));
  if (status == NULL)
    return FALSE;
  number = session_number (app, session);
  g_atomic_int_set (&status->session_number, (gint) number);

  for (guint r = 1; r <= app->n_requests; r++)
    {
      g_autofree char *url = NULL;
      g_autoptr(SoupMessage) msg = NULL;
      Pending pending = { 0 };
      Result *result = g_new0 (Result, 1);
      gint64 sent;

      if (app->url != NULL)
        url = g_strdup (app->url);
      else
        url = g_strdup_printf ("%sjob/%u/%u?delay=%u", app->server_base, job->number, r,
                               g_random_int_range (50, 800));

      result->app = app;
      result->job = job->number;
      result->request = r;
      result->n_requests = app->n_requests;
      result->context_number = status->context_number;
      result->session_number = number;
      result->context = context;
      result->session = session;
      result->session_type = G_OBJECT_TYPE_NAME (session);
      result->scope_ms = scope_ms;

      msg = soup_message_new ("GET", url);
      if (msg == NULL)
        {
          result->error = g_strdup_printf ("Not an HTTP URL: %s", url);
          g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, show_result, result, result_free);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Not an HTTP URL: %s", url);
          return FALSE;
        }

      sent = g_get_monotonic_time ();
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, status->cancellable,
                                        on_body_read, &pending);
      while (!pending.done)
        g_main_context_iteration (context, TRUE);
      result->request_ms = (g_get_monotonic_time () - sent) / 1000.0;
      result->http_status = soup_message_get_status (msg);
      if (pending.body != NULL)
        result->n_bytes = g_bytes_get_size (pending.body);
      else
        result->error = g_strdup (pending.error->message);
      g_clear_pointer (&pending.body, g_bytes_unref);
      g_atomic_int_inc (&status->n_done);

      /* To the UI thread: the worker owns its own context, never the
       * default one, so this always queues an idle there. */
      g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, show_result, result, result_free);

      if (pending.error != NULL)
        {
          g_propagate_error (error, pending.error);
          return FALSE;
        }
    }
  return TRUE;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  /* Enters a scope on a new context, runs the job, releases the session and
   * the status on this thread, frees the context. */
  if (tether_run_in_new_context (job_scope, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* ------------------------------------------------------------------------ */
/* The window, on the UI thread                                              */
/* ------------------------------------------------------------------------ */

static void
draw_swatch (GtkDrawingArea *area,
             cairo_t        *cr,
             int             width,
             int             height,
             gpointer        user_data)
{
  /* Saturated colours, one per context number, so that the rows of one
   * context are seen together (and counted by the self-test). */
  static const double palette[][3] = {
    { 0.89, 0.29, 0.20 },
    { 0.16, 0.50, 0.86 },
    { 0.20, 0.66, 0.29 },
    { 0.90, 0.58, 0.05 },
    { 0.58, 0.30, 0.80 },
    { 0.05, 0.62, 0.62 },
    { 0.85, 0.20, 0.55 },
    { 0.45, 0.55, 0.05 },
  };
  guint index = GPOINTER_TO_UINT (user_data) % G_N_ELEMENTS (palette);

  cairo_set_source_rgb (cr, palette[index][0], palette[index][1], palette[index][2]);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
}

static GtkWidget *
make_row (guint              context_number,
          const char *const  *columns,
          gboolean            is_error)
{
  static const int widths[] = { 12, 28, 32, 30, 24 };
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *swatch = gtk_drawing_area_new ();

  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (swatch), SWATCH_SIZE);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (swatch), SWATCH_SIZE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (swatch), draw_swatch,
                                  GUINT_TO_POINTER (context_number), NULL);
  gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), swatch);

  for (guint i = 0; columns[i] != NULL && i < G_N_ELEMENTS (widths); i++)
    {
      GtkWidget *label = gtk_label_new (columns[i]);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      /* Fixed widths, so that the columns line up from row to row. */
      gtk_label_set_width_chars (GTK_LABEL (label), widths[i]);
      if (columns[i + 1] != NULL)
        gtk_label_set_max_width_chars (GTK_LABEL (label), widths[i]);
      else
        gtk_widget_set_hexpand (label, TRUE);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      if (is_error && columns[i + 1] == NULL)
        gtk_widget_add_css_class (label, "error");   /* the theme's red */
      gtk_box_append (GTK_BOX (box), label);
    }

  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  gtk_widget_set_margin_start (box, 8);
  gtk_widget_set_margin_end (box, 8);
  return box;
}

/* Rows only show: not activatable, so not highlighted under the pointer. */
static void
append_row (GtkWidget *list,
            GtkWidget *content)
{
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), content);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_append (GTK_LIST_BOX (list), row);
}

static void
update_status_line (App *app)
{
  g_autofree char *text = NULL;

  text = g_strdup_printf ("%u running · %u finished · %u failed · %u results · "
                          "sessions held by tether %u, alive %d · %s",
                          app->n_running, app->n_finished, app->n_failed, app->n_results,
                          tether_template_get_n_held (app->session_template),
                          g_atomic_int_get (&app->sessions_alive),
                          app->url != NULL ? app->url : app->server_base);
  gtk_label_set_text (GTK_LABEL (app->status_label), text);
}

/* Rebuilds "Live contexts" from what tether holds right now. */
static void
refresh_live_contexts (App *app)
{
  g_autoptr(GPtrArray) contexts = NULL;
  gboolean session_is_object;
  GtkWidget *child;

  if (app->window == NULL)
    return;   /* closed: jobs still finishing are only counted */

  contexts = tether_dup_managed_contexts ();
  /* The soup-session module declares its resource type (SoupSession), so
   * its template hands out references too. A module built for provider
   * ABI 1.0 declares none: its resources are opaque, never read here. */
  session_is_object = tether_template_get_object_type (app->session_template) != G_TYPE_INVALID;

  while ((child = gtk_widget_get_first_child (app->live_list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (app->live_list), child);

  app->n_live_rows = 0;
  for (guint i = 0; i < contexts->len; i++)
    {
      GMainContext *context = g_ptr_array_index (contexts, i);
      /* A reference: the worker may leave its scope (and tether release
       * the status) while this row is being built. */
      g_autoptr(ExampleJobStatus) status =
        (ExampleJobStatus *) tether_template_dup_object (app->status_template, context);
      g_autoptr(GObject) session = NULL;
      g_autofree char *context_text = NULL;
      g_autofree char *progress_text = NULL;
      g_autofree char *session_text = NULL;
      g_autofree char *cancel_text = NULL;
      const char *columns[6] = { NULL };
      gboolean cancelled;
      gint session_no;

      if (status == NULL)
        continue;   /* another manager's context, or not acquired yet */
      if (session_is_object)
        session = tether_template_dup_object (app->session_template, context);

      session_no = g_atomic_int_get (&status->session_number);
      context_text = g_strdup_printf ("context #%u (%p)", status->context_number,
                                      (gpointer) context);
      progress_text = g_strdup_printf ("%d of %u done", g_atomic_int_get (&status->n_done),
                                       status->n_requests);
      if (session != NULL)
        {
          /* The number the job gave its session, read from the session. */
          session_no = GPOINTER_TO_INT (g_object_get_data (session, "tether-gtk-number"));
          session_text = g_strdup_printf ("%s #%d (%p)", G_OBJECT_TYPE_NAME (session),
                                          session_no, (gpointer) session);
        }
      else
        session_text = g_strdup_printf ("session #%d", session_no);
      cancelled = g_cancellable_is_cancelled (status->cancellable);
      cancel_text = g_strdup (cancelled ? "cancelling" : "running");
      columns[0] = cancel_text;
      columns[1] = context_text;
      columns[2] = session_text;
      columns[3] = progress_text;
      append_row (app->live_list, make_row (status->context_number, columns, FALSE));
      app->n_live_rows++;
    }

  if (app->n_live_rows == 0)
    {
      const char *columns[] = { "no job running", NULL };
      GtkWidget *row = make_row (0, columns, FALSE);

      /* No swatch for the placeholder. */
      gtk_widget_set_visible (gtk_widget_get_first_child (row), FALSE);
      append_row (app->live_list, row);
    }
  update_status_line (app);
}

static gboolean
on_refresh_tick (gpointer user_data)
{
  App *app = user_data;

  refresh_live_contexts (app);
  if (app->n_running > 0)
    return G_SOURCE_CONTINUE;
  app->refresh_id = 0;
  return G_SOURCE_REMOVE;
}

/* On the UI thread: a result from a worker. */
static gboolean
show_result (gpointer data)
{
  Result *result = data;
  App *app = result->app;
  g_autofree char *job_text = NULL;
  g_autofree char *where_text = NULL;
  g_autofree char *session_text = NULL;
  g_autofree char *timing_text = NULL;
  g_autofree char *outcome_text = NULL;
  const char *columns[6] = { NULL };

  job_text = g_strdup_printf ("job %u · %u/%u", result->job, result->request, result->n_requests);
  where_text = g_strdup_printf ("context #%u (%p)", result->context_number, result->context);
  session_text = g_strdup_printf ("%s #%u (%p)", result->session_type, result->session_number,
                                  result->session);
  timing_text = g_strdup_printf ("%.1f ms (scope after %.1f ms)", result->request_ms,
                                 result->scope_ms);
  if (result->error != NULL)
    outcome_text = g_strdup (result->error);
  else
    outcome_text = g_strdup_printf ("HTTP %u, %" G_GSIZE_FORMAT " bytes",
                                    result->http_status, result->n_bytes);
  columns[0] = job_text;
  columns[1] = where_text;
  columns[2] = session_text;
  columns[3] = timing_text;
  columns[4] = outcome_text;

  app->n_results++;
  if (app->window == NULL)
    return G_SOURCE_REMOVE;
  append_row (app->results_list,
              make_row (result->context_number, columns, result->error != NULL));
  refresh_live_contexts (app);
  return G_SOURCE_REMOVE;
}

/* On the UI thread: the task was made there. */
static void
on_job_done (GObject      *source,
             GAsyncResult *async_result,
             gpointer      user_data)
{
  App *app = user_data;
  Job *job = g_task_get_task_data (G_TASK (async_result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (async_result), &error))
    {
      g_printerr ("tether-gtk: job %u: %s\n", job->number, error->message);
      app->n_failed++;
    }
  app->n_running--;
  app->n_finished++;
  refresh_live_contexts (app);
}

static void
on_fetch_clicked (GtkButton *button,
                  gpointer   user_data)
{
  App *app = user_data;

  for (guint i = 0; i < app->n_jobs; i++)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, on_job_done, app);
      Job *job = g_new0 (Job, 1);

      job->app = app;
      job->number = ++app->next_job;
      job->started = g_get_monotonic_time ();
      g_task_set_task_data (task, job, g_free);
      g_task_run_in_thread (task, job_thread);
      app->n_running++;
    }

  if (app->refresh_id == 0 && app->window != NULL)
    app->refresh_id = g_timeout_add (200, on_refresh_tick, app);
  refresh_live_contexts (app);
}

static void
on_cancel_clicked (GtkButton *button,
                   gpointer   user_data)
{
  App *app = user_data;
  g_autoptr(GPtrArray) contexts = tether_dup_managed_contexts ();

  for (guint i = 0; i < contexts->len; i++)
    {
      g_autoptr(GObject) status = tether_template_dup_object (app->status_template,
                                                              g_ptr_array_index (contexts, i));

      /* g_cancellable_cancel() is thread-safe; the reference keeps the
       * cancellable valid even if the job has just ended. */
      if (status != NULL)
        g_cancellable_cancel (EXAMPLE_JOB_STATUS (status)->cancellable);
    }
  refresh_live_contexts (app);
}

static GtkWidget *
make_section (const char *title,
              GtkWidget  *list,
              gboolean    expand)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *heading = gtk_label_new (NULL);
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", title);

  gtk_label_set_markup (GTK_LABEL (heading), markup);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), list);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  if (expand)
    gtk_widget_set_vexpand (scrolled, TRUE);
  else
    {
      gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
      gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 220);
    }
  gtk_box_append (GTK_BOX (box), heading);
  gtk_box_append (GTK_BOX (box), scrolled);
  return box;
}

/* The window is gone; jobs may still be finishing (see app_finish()). */
static void
on_window_destroy (GtkWidget *window,
                   gpointer   user_data)
{
  App *app = user_data;

  g_clear_handle_id (&app->refresh_id, g_source_remove);
  app->window = NULL;
  app->fetch_button = app->cancel_button = NULL;
  app->status_label = app->live_list = app->results_list = NULL;
}

static void
on_activate (GtkApplication *gtk_app,
             gpointer        user_data)
{
  App *app = user_data;
  GtkWidget *header, *box;

  app->window = gtk_application_window_new (gtk_app);
  gtk_window_set_title (GTK_WINDOW (app->window), "tether: one SoupSession per job context");
  gtk_window_set_default_size (GTK_WINDOW (app->window), 1000, 600);
  g_signal_connect (app->window, "destroy", G_CALLBACK (on_window_destroy), app);

  header = gtk_header_bar_new ();
  app->fetch_button = gtk_button_new_with_mnemonic ("_Fetch");
  gtk_widget_add_css_class (app->fetch_button, "suggested-action");
  g_signal_connect (app->fetch_button, "clicked", G_CALLBACK (on_fetch_clicked), app);
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), app->fetch_button);
  app->cancel_button = gtk_button_new_with_mnemonic ("_Cancel all");
  g_signal_connect (app->cancel_button, "clicked", G_CALLBACK (on_cancel_clicked), app);
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), app->cancel_button);
  gtk_window_set_titlebar (GTK_WINDOW (app->window), header);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 10);
  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  gtk_widget_set_margin_start (box, 10);
  gtk_widget_set_margin_end (box, 10);
  app->status_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (app->status_label), 0);
  gtk_label_set_wrap (GTK_LABEL (app->status_label), TRUE);
  app->live_list = gtk_list_box_new ();
  app->results_list = gtk_list_box_new ();
  gtk_box_append (GTK_BOX (box), app->status_label);
  gtk_box_append (GTK_BOX (box), make_section ("Live contexts", app->live_list, FALSE));
  gtk_box_append (GTK_BOX (box), make_section ("Results", app->results_list, TRUE));
  gtk_window_set_child (GTK_WINDOW (app->window), box);

  refresh_live_contexts (app);
  gtk_window_present (GTK_WINDOW (app->window));
}

/* ------------------------------------------------------------------------ */
/* Setting up and tearing down                                               */
/* ------------------------------------------------------------------------ */

static gboolean
app_init (App      *app,
          GError  **error)
{
  app->session_template = load_session_provider (error);
  if (app->session_template == NULL)
    return FALSE;
  app->status_template = tether_template_new_for_object ("job-status",
                                                         "what a job's context is doing",
                                                         EXAMPLE_TYPE_JOB_STATUS,
                                                         job_status_acquire, app, NULL,
                                                         NULL, NULL, NULL, error);
  return app->status_template != NULL;
}

/* After the application returned: jobs still running (the window was
 * closed) are cancelled and waited for; their tasks call back in the
 * default context, iterated here. */
static void
app_finish (App *app)
{
  if (app->status_template != NULL && app->n_running > 0)
    {
      on_cancel_clicked (NULL, app);
      while (app->n_running > 0)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_handle_id (&app->refresh_id, g_source_remove);

  if (app->status_template != NULL)
    tether_template_unregister (app->status_template);
  if (app->session_template != NULL)
    tether_template_unregister (app->session_template);
  g_clear_object (&app->status_template);
  g_clear_object (&app->session_template);
}

#ifndef TETHER_GTK_NO_MAIN
int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) gtk_app = NULL;
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  HttpServer *server = NULL;
  App app = { 0 };
  gint n_jobs = 4, n_requests = 3;
  GOptionEntry entries[] = {
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &n_jobs, "Jobs per click of Fetch (default 4)", "N" },
    { "requests", 'r', 0, G_OPTION_ARG_INT, &n_requests, "Requests per job (default 3)", "N" },
    { "url", 'u', 0, G_OPTION_ARG_STRING, &app.url,
      "GET this URL instead of the example's own server on 127.0.0.1", "URL" },
    G_OPTION_ENTRY_NULL
  };
  int status;

  options = g_option_context_new ("- jobs on worker threads, one context and session each");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("tether-gtk: %s\n", error->message);
      return 2;
    }
  if (n_jobs < 1 || n_jobs > 32 || n_requests < 1 || n_requests > 20)
    {
      g_printerr ("tether-gtk: --jobs takes 1 to 32, --requests 1 to 20\n");
      return 2;
    }
  app.n_jobs = (guint) n_jobs;
  app.n_requests = (guint) n_requests;

  if (!app_init (&app, &error))
    {
      g_printerr ("tether-gtk: %s\n", error->message);
      app_finish (&app);
      return 1;
    }
  if (app.url == NULL)
    {
      server = http_server_start (on_job_request, NULL, &error);
      if (server == NULL)
        {
          g_printerr ("tether-gtk: cannot start the HTTP server: %s\n", error->message);
          app_finish (&app);
          return 1;
        }
      app.server_base = g_strdup (server->url);
    }

  gtk_app = gtk_application_new ("org.example.TetherGtk", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (gtk_app, "activate", G_CALLBACK (on_activate), &app);
  status = g_application_run (G_APPLICATION (gtk_app), argc, argv);

  app_finish (&app);
  if (server != NULL)
    http_server_stop (server);
  g_free (app.server_base);
  g_free (app.url);
  return status;
}
#endif
