/* tether-gtk.c: a GTK 4 window listing worker contexts and their sessions
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The application starts a small line-echo service on 127.0.0.1 in the UI's
 * context. Each worker thread runs in a context of its own
 * (tether_run_in_new_context) and fetches through its own GSocketClient,
 * acquired from an object template on the worker with the worker's context
 * pushed. The window lists, from the UI thread, the contexts that have an
 * active manager and the session tether holds for each, refreshed as the
 * workers come and go.
 *
 *   tether-gtk [--workers N]
 *   tether-gtk --self-test --screenshot FILE.png [--workers N]
 *
 * With --self-test the workers fetch once and then stay in their scope until
 * the window, showing one row per worker, has been saved to FILE.png; the
 * saved file is read back and the coloured marker of each row is counted.
 * Then the workers leave, the list must become empty, and the program exits
 * 0 if every check held.
 */

#include <string.h>

#include <gtk/gtk.h>
#include <tether/tether.h>

/* The colour of the marker at the start of each row, counted in the
 * screenshot; solid and opaque so that the software renderer draws it
 * exactly. */
#define MARKER_CSS   "rgb(0,128,255)"
#define MARKER_R     0
#define MARKER_G     128
#define MARKER_B     255
#define MARKER_SIZE  18

#define SELF_TEST_TIMEOUT_SECONDS 30

static TetherTemplate *session_template;

/* ------------------------------------------------------------------------ */
/* The provider: one GSocketClient ("session") per context                  */
/* ------------------------------------------------------------------------ */

static GObject *
session_acquire (GMainContext  *context,
                 gpointer       user_data,
                 GError       **error)
{
  return G_OBJECT (g_socket_client_new ());
}

/* ------------------------------------------------------------------------ */
/* The echo service, in the UI's context                                    */
/* ------------------------------------------------------------------------ */

static void
on_echo_line (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GSocketConnection *connection = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, NULL);
  if (line != NULL)
    {
      g_autofree char *reply = g_strdup_printf ("echo %s\n", line);

      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                 reply, strlen (reply), NULL, NULL, NULL);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_object_unref (source);
  g_object_unref (connection);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  GDataInputStream *in;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, on_echo_line,
                                       g_object_ref (connection));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* State shared by the UI and the workers                                    */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GtkApplication *app;
  GtkWidget      *window;
  GtkWidget      *list;
  GtkWidget      *status;
  GSocketService *service;
  guint16         port;
  guint           n_workers;
  gboolean        self_test;
  char           *screenshot_path;

  /* Touched by the workers: under the lock */
  GMutex          lock;
  GCond           cond;
  gboolean        leave;          /* the workers may leave their scope */
  guint           n_fetched;      /* workers holding their session and done fetching */

  /* UI thread only */
  guint           n_finished;
  guint           n_failed;
  guint           max_rows_seen;
  gboolean        screenshot_taken;
  guint           marker_runs;    /* rows counted in the saved screenshot */
  gboolean        ok;
} App;

typedef struct
{
  App  *app;
  guint number;
  char *reply;
} Worker;

static void
worker_free (gpointer data)
{
  Worker *worker = data;

  g_free (worker->reply);
  g_free (worker);
}

/* ------------------------------------------------------------------------ */
/* The list of live contexts (UI thread)                                     */
/* ------------------------------------------------------------------------ */

static GtkWidget *
make_row (guint         index,
          GMainContext *context,
          GObject      *session)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *marker = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  g_autofree char *text = NULL;
  GtkWidget *label;

  gtk_widget_add_css_class (marker, "row-marker");
  gtk_widget_set_size_request (marker, MARKER_SIZE, MARKER_SIZE);
  gtk_widget_set_valign (marker, GTK_ALIGN_CENTER);

  text = g_strdup_printf ("context %u (%p): %s %s %p", index, (gpointer) context,
                          tether_template_get_name (session_template),
                          session ? G_OBJECT_TYPE_NAME (session) : "(none)",
                          (gpointer) session);
  label = gtk_label_new (text);
  gtk_label_set_xalign (GTK_LABEL (label), 0);

  gtk_box_append (GTK_BOX (box), marker);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  return box;
}

/* Rebuilds the rows from tether's snapshot. Returns the number of rows. */
static guint
refresh_rows (App *app)
{
  g_autoptr(GPtrArray) contexts = tether_dup_managed_contexts ();
  g_autofree char *status = NULL;
  GtkWidget *child;
  guint n_rows = 0;

  while ((child = gtk_widget_get_first_child (app->list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (app->list), child);

  for (guint i = 0; i < contexts->len; i++)
    {
      GMainContext *context = g_ptr_array_index (contexts, i);
      /* Identity only: the session belongs to the worker's context. */
      GObject *session = tether_template_lookup_object (session_template, context);

      if (session == NULL)
        continue;
      gtk_list_box_append (GTK_LIST_BOX (app->list), make_row (++n_rows, context, session));
      g_print ("row %u: context %p, session %s %p\n", n_rows, (gpointer) context,
               G_OBJECT_TYPE_NAME (session), (gpointer) session);
    }

  status = g_strdup_printf ("%u live contexts with a session, %u workers finished",
                            n_rows, app->n_finished);
  gtk_label_set_text (GTK_LABEL (app->status), status);
  app->max_rows_seen = MAX (app->max_rows_seen, n_rows);
  return n_rows;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  GSocketConnection *connection;
  GError            *error;
  gboolean           done;
} Pending;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pending *pending = user_data;

  pending->connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                result, &pending->error);
  pending->done = TRUE;
}

static gboolean on_worker_fetched (gpointer user_data);

/* On the worker, with its own context pushed and managed. */
static gboolean
worker_scope (gpointer   user_data,
              GError   **error)
{
  Worker *worker = user_data;
  App *app = worker->app;
  GMainContext *context = g_main_context_get_thread_default ();
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", app->port);
  g_autofree char *line = g_strdup_printf ("worker %u\n", worker->number);
  g_autoptr(GDataInputStream) in = NULL;
  Pending pending = { 0 };
  GObject *session;
  gboolean ok;

  session = tether_template_acquire_object (session_template, NULL, error);
  if (session == NULL)
    return FALSE;

  /* Fetch through this worker's own session, completing in its context. */
  g_socket_client_connect_to_host_async (G_SOCKET_CLIENT (session), address, 0, NULL,
                                         on_connected, &pending);
  while (!pending.done)
    g_main_context_iteration (context, TRUE);
  if (pending.connection == NULL)
    {
      g_propagate_error (error, pending.error);
      return FALSE;
    }
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (pending.connection)));
  ok = g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (pending.connection)),
                                  line, strlen (line), NULL, NULL, error);
  if (ok)
    {
      worker->reply = g_data_input_stream_read_line (in, NULL, NULL, error);
      ok = worker->reply != NULL;
    }
  g_io_stream_close (G_IO_STREAM (pending.connection), NULL, NULL);
  g_object_unref (pending.connection);
  if (!ok)
    return FALSE;

  /* Tell the UI, then stay in scope until it lets the workers go. */
  g_mutex_lock (&app->lock);
  app->n_fetched++;
  g_mutex_unlock (&app->lock);
  g_idle_add (on_worker_fetched, app);

  g_mutex_lock (&app->lock);
  while (!app->leave)
    g_cond_wait (&app->cond, &app->lock);
  g_mutex_unlock (&app->lock);

  return TRUE;
}

static void
worker_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;

  if (tether_run_in_new_context (worker_scope, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
let_workers_leave (App *app)
{
  g_mutex_lock (&app->lock);
  app->leave = TRUE;
  g_cond_broadcast (&app->cond);
  g_mutex_unlock (&app->lock);
}

/* ------------------------------------------------------------------------ */
/* The self-test: screenshot, read back, count the rows                      */
/* ------------------------------------------------------------------------ */

static gboolean
save_screenshot (App        *app,
                 GError    **error)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (app->window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (app->window);
  int height = gtk_widget_get_height (app->window);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_object_unref (paintable);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window drew nothing");
      return FALSE;
    }

  renderer = gtk_native_get_renderer (GTK_NATIVE (app->window));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, app->screenshot_path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", app->screenshot_path);
      return FALSE;
    }
  return TRUE;
}

/* Counts the vertical runs of marker-coloured pixels in the column through
 * the markers' centre, in the PNG as saved on disk. */
static gboolean
count_marker_runs (const char  *path,
                   guint       *out_runs,
                   GError     **error)
{
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, error);
  g_autofree guchar *pixels = NULL;
  gboolean in_run = FALSE;
  guint column_hits = 0;
  gsize stride;
  int width, height;
  guint runs = 0;

  if (texture == NULL)
    return FALSE;
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  stride = (gsize) width * 4;
  pixels = g_malloc (stride * height);
  gdk_texture_download (texture, pixels, stride);  /* CAIRO_FORMAT_ARGB32, native endian */

  /* Find the column: the first x where a marker pixel appears. */
  for (int x = 0; x < width && column_hits == 0; x++)
    for (int y = 0; y < height; y++)
      {
        guint32 p = *(guint32 *) (pixels + y * stride + x * 4);

        if (((p >> 16) & 0xff) == MARKER_R && ((p >> 8) & 0xff) == MARKER_G &&
            (p & 0xff) == MARKER_B && (p >> 24) == 0xff)
          {
            /* Move to the middle of the marker, away from any edge. */
            int mid = MIN (x + MARKER_SIZE / 2, width - 1);

            for (int yy = 0; yy < height; yy++)
              {
                guint32 q = *(guint32 *) (pixels + yy * stride + mid * 4);
                gboolean hit = ((q >> 16) & 0xff) == MARKER_R && ((q >> 8) & 0xff) == MARKER_G &&
                               (q & 0xff) == MARKER_B;

                if (hit && !in_run)
                  runs++;
                in_run = hit;
              }
            column_hits = 1;
            break;
          }
      }

  *out_runs = runs;
  return TRUE;
}

static void
finish_self_test (App *app)
{
  guint rows = refresh_rows (app);

  app->ok = app->n_failed == 0 &&
            app->n_finished == app->n_workers &&
            app->max_rows_seen == app->n_workers &&
            app->screenshot_taken &&
            app->marker_runs == app->n_workers &&
            rows == 0 &&
            tether_template_get_n_held (session_template) == 0;
  g_print ("self-test: %u workers, %u failed, %u rows at most, %u rows in the screenshot, "
           "%u rows at the end, %u sessions held: %s\n",
           app->n_workers, app->n_failed, app->max_rows_seen, app->marker_runs, rows,
           tether_template_get_n_held (session_template), app->ok ? "ok" : "FAILED");
  gtk_window_destroy (GTK_WINDOW (app->window));
}

static gboolean
take_screenshot_after_frames (GtkWidget     *widget,
                              GdkFrameClock *clock,
                              gpointer       user_data)
{
  App *app = user_data;
  static guint frames_mapped;
  static guint attempts;
  g_autoptr(GError) error = NULL;

  /* Wait for the window to be on screen, then let layout and a couple of
   * paints happen with the final rows. */
  attempts++;
  if (gtk_widget_get_mapped (app->window) && gtk_widget_get_width (app->window) > 0)
    frames_mapped++;
  if (frames_mapped < 3)
    return G_SOURCE_CONTINUE;

  if (!save_screenshot (app, &error))
    {
      if (attempts < 200)
        return G_SOURCE_CONTINUE;   /* nothing drawn yet: try next frame */
      g_printerr ("tether-gtk: screenshot: %s\n", error->message);
    }
  else if (!count_marker_runs (app->screenshot_path, &app->marker_runs, &error))
    g_printerr ("tether-gtk: screenshot: %s\n", error->message);
  else
    {
      app->screenshot_taken = TRUE;
      g_print ("screenshot %s: %u rows counted\n", app->screenshot_path, app->marker_runs);
    }

  let_workers_leave (app);
  return G_SOURCE_REMOVE;
}

static gboolean
on_worker_fetched (gpointer user_data)
{
  App *app = user_data;
  guint n_fetched;

  g_mutex_lock (&app->lock);
  n_fetched = app->n_fetched;
  g_mutex_unlock (&app->lock);

  refresh_rows (app);
  if (app->self_test && n_fetched == app->n_workers && !app->screenshot_taken)
    gtk_widget_add_tick_callback (app->window, take_screenshot_after_frames, app, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_worker_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  App *app = user_data;
  Worker *worker = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_printerr ("worker %u failed: %s\n", worker->number, error->message);
      app->n_failed++;
      /* A worker that failed never reaches the gate; do not wait for it. */
      if (app->self_test)
        let_workers_leave (app);
    }
  app->n_finished++;
  refresh_rows (app);

  if (app->self_test && app->n_finished == app->n_workers)
    finish_self_test (app);
}

static gboolean
on_self_test_timeout (gpointer user_data)
{
  App *app = user_data;

  g_printerr ("tether-gtk: self-test timed out\n");
  app->n_failed++;
  let_workers_leave (app);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* The application                                                           */
/* ------------------------------------------------------------------------ */

static void
on_activate (GtkApplication *gtk_app,
             gpointer        user_data)
{
  App *app = user_data;
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  g_autoptr(GError) error = NULL;
  GtkWidget *box, *scrolled;

  gtk_css_provider_load_from_data (css,
    ".row-marker { background: " MARKER_CSS "; border-radius: 0; }", -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  app->window = gtk_application_window_new (gtk_app);
  gtk_window_set_title (GTK_WINDOW (app->window), "tether: live contexts");
  gtk_window_set_default_size (GTK_WINDOW (app->window), 640, 80 + 40 * app->n_workers);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  app->status = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (app->status), 0);
  gtk_widget_set_margin_start (app->status, 6);
  gtk_widget_set_margin_top (app->status, 6);
  app->list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (app->list), GTK_SELECTION_NONE);
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), app->list);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), app->status);
  gtk_box_append (GTK_BOX (box), scrolled);
  gtk_window_set_child (GTK_WINDOW (app->window), box);
  refresh_rows (app);
  gtk_window_present (GTK_WINDOW (app->window));

  app->service = g_socket_service_new ();
  app->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (app->service), NULL, &error);
  if (app->port == 0)
    {
      g_printerr ("tether-gtk: cannot listen: %s\n", error->message);
      app->n_failed++;
      gtk_window_destroy (GTK_WINDOW (app->window));
      return;
    }
  g_signal_connect (app->service, "incoming", G_CALLBACK (on_incoming), NULL);
  g_socket_service_start (app->service);

  if (app->self_test)
    g_timeout_add_seconds (SELF_TEST_TIMEOUT_SECONDS, on_self_test_timeout, app);
  else
    let_workers_leave (app);   /* interactive: workers fetch and leave */

  for (guint i = 0; i < app->n_workers; i++)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, on_worker_done, app);
      Worker *worker = g_new0 (Worker, 1);

      worker->app = app;
      worker->number = i + 1;
      g_task_set_task_data (task, worker, worker_free);
      g_task_run_in_thread (task, worker_thread);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) gtk_app = NULL;
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  App app = { 0 };
  gint n_workers = 3;
  gboolean self_test = FALSE;
  char *screenshot = NULL;
  GOptionEntry entries[] = {
    { "workers", 'w', 0, G_OPTION_ARG_INT, &n_workers, "Worker threads (default 3)", "N" },
    { "self-test", 0, 0, G_OPTION_ARG_NONE, &self_test, "Check the window and exit", NULL },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &screenshot,
      "Where --self-test saves the window", "FILE" },
    { NULL }
  };
  int status;

  options = g_option_context_new ("- worker threads and their contexts, live");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("tether-gtk: %s\n", error->message);
      return 2;
    }
  if (n_workers < 1 || n_workers > 16 || (self_test && screenshot == NULL))
    {
      g_printerr ("tether-gtk: --workers must be 1 to 16; --self-test needs --screenshot\n");
      return 2;
    }

  session_template = tether_template_new_for_object ("fetch-session",
                                                     "a GSocketClient per worker context",
                                                     G_TYPE_SOCKET_CLIENT,
                                                     session_acquire, NULL, NULL,
                                                     NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  g_mutex_init (&app.lock);
  g_cond_init (&app.cond);
  app.n_workers = (guint) n_workers;
  app.self_test = self_test;
  app.screenshot_path = screenshot;

  gtk_app = gtk_application_new ("org.example.TetherGtk", G_APPLICATION_NON_UNIQUE);
  app.app = gtk_app;
  g_signal_connect (gtk_app, "activate", G_CALLBACK (on_activate), &app);
  status = g_application_run (G_APPLICATION (gtk_app), 1, argv);

  /* Workers still in scope (interactive close, or a failed self-test) are
   * let go and waited for: their tasks hold the application alive. */
  let_workers_leave (&app);
  while (app.n_finished < app.n_workers && app.port != 0)
    g_main_context_iteration (NULL, TRUE);

  if (app.service != NULL)
    {
      g_socket_service_stop (app.service);
      g_socket_listener_close (G_SOCKET_LISTENER (app.service));
      g_object_unref (app.service);
    }
  tether_template_unregister (session_template);
  g_clear_object (&session_template);
  g_mutex_clear (&app.lock);
  g_cond_clear (&app.cond);
  g_free (screenshot);

  if (self_test)
    return (status == 0 && app.ok) ? 0 : 1;
  return status;
}
