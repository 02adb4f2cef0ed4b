/* tether-gtk-selftest.c: drives the tether-gtk window headless and checks it
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Builds the example's own window (tether-gtk.c, compiled in here without
 * its main()) against an HTTP server of the test's own: it answers every
 * request of a job at once except the last, which it holds until every job
 * has sent its last one. So at one moment all jobs are inside their scope
 * together, each with its context and its session alive, and the window
 * shows them all. Then:
 *
 *   1. clicks Fetch (gtk_widget_activate, as the keyboard does);
 *   2. once the server holds every job's last request: waits for the window
 *      to be laid out and painted, renders it with GTK's own snapshot API
 *      to --screenshot FILE.png, reads that file back and counts, in the
 *      column of the colour swatches, the rows of "Live contexts" (one per
 *      job, in distinct colours) and of "Results" (requests - 1 per job);
 *   3. lets the held requests go; once every job has finished, checks what
 *      the window lists: jobs x requests result rows, all "HTTP 200", as
 *      many distinct contexts and sessions as jobs (they were alive at the
 *      same time, so a provider handing one session to two contexts would
 *      show here), no live context left, nothing held by either template,
 *      every SoupSession finalized;
 *   4. clicks Fetch again with every request held, then "Cancel all",
 *      which cancels each job through the GCancellable read with
 *      tether_template_dup_object(): every job must end cancelled, with
 *      nothing held afterwards.
 *
 * Exits 0 when every check held. Run by meson under xvfb-run (suite gtk).
 *
 *   tether-gtk-selftest --screenshot FILE.png [--jobs N] [--requests N]
 */

#define TETHER_GTK_NO_MAIN
#include "tether-gtk.c"

/* Generous: the machine may be loaded; the test waits for conditions, and
 * this only bounds a hang. */
#define SELF_TEST_TIMEOUT_SECONDS 90

typedef enum
{
  STAGE_START,          /* window not on screen yet */
  STAGE_WAIT_HELD,      /* first round: waiting for every last request */
  STAGE_SHOOT,          /* the tick callback is counting frames */
  STAGE_WAIT_DONE,      /* held requests let go: waiting for the jobs */
  STAGE_WAIT_CANCEL,    /* second round: waiting for every first request */
  STAGE_WAIT_CANCELLED, /* "Cancel all" clicked */
  STAGE_WAIT_CLOSE,     /* third round: waiting for every first request */
  STAGE_DONE,
} Stage;

typedef struct
{
  App         app;
  HttpServer *server;
  char       *screenshot_path;
  GtkApplication *gtk_app;

  /* Server thread only */
  GPtrArray  *held;             /* SoupServerMessage, paused */

  /* Atomic: set by the server thread, read by the UI thread */
  gint        n_waiting;        /* requests held right now */
  gint        hold_all;         /* second round: hold every request */

  /* UI thread only */
  Stage       stage;
  guint       frames;
  guint       paint_attempts;
  guint       closed_with_jobs;
  guint       held_before;
  guint       n_screenshots;    /* one tick callback, one screenshot */
  guint       n_failures;
  guint       poll_id;
  guint       timeout_id;
} SelfTest;

static void
check (SelfTest   *test,
       gboolean    ok,
       const char *format,
       ...) G_GNUC_PRINTF (3, 4);

static void
check (SelfTest   *test,
       gboolean    ok,
       const char *format,
       ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s: %s\n", ok ? "ok" : "FAILED", text);
  if (!ok)
    test->n_failures++;
}

/* ------------------------------------------------------------------------ */
/* The server: holds the requests the test wants held (server thread)        */
/* ------------------------------------------------------------------------ */

static void
on_held_request (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  SelfTest *test = user_data;
  guint job = 0, request = 0;

  if (sscanf (path, "/job/%u/%u", &job, &request) != 2)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  if (!g_atomic_int_get (&test->hold_all) && request != test->app.n_requests)
    {
      on_job_request (server, msg, path, NULL, NULL);   /* at once */
      return;
    }
  soup_server_message_pause (msg);
  g_ptr_array_add (test->held, g_object_ref (msg));
  g_atomic_int_inc (&test->n_waiting);
}

static gboolean
release_held (gpointer user_data)
{
  SelfTest *test = user_data;

  for (guint i = 0; i < test->held->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (test->held, i);
      static const char body[] = "released\n";

      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
                                        body, strlen (body));
      soup_server_message_unpause (msg);
    }
  g_ptr_array_set_size (test->held, 0);
  g_atomic_int_set (&test->n_waiting, 0);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------------ */
/* What the window lists                                                     */
/* ------------------------------------------------------------------------ */

/* The text of column @column of every row of @list that has a swatch. */
static GPtrArray *
column_texts (GtkWidget *list,
              guint      column)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));
      GtkWidget *cell = gtk_widget_get_first_child (box);   /* the swatch */

      if (!gtk_widget_get_visible (cell))
        continue;                                          /* placeholder */
      for (guint i = 0; i <= column && cell != NULL; i++)
        cell = gtk_widget_get_next_sibling (cell);
      g_ptr_array_add (texts, g_strdup (cell != NULL ? gtk_label_get_text (GTK_LABEL (cell)) : ""));
    }
  return texts;
}

static guint
count_distinct (GPtrArray *texts)
{
  g_autoptr(GHashTable) set = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < texts->len; i++)
    g_hash_table_add (set, g_ptr_array_index (texts, i));
  return g_hash_table_size (set);
}

static guint
count_prefixed (GPtrArray  *texts,
                const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < texts->len; i++)
    n += g_str_has_prefix (g_ptr_array_index (texts, i), prefix) ? 1 : 0;
  return n;
}

/* ------------------------------------------------------------------------ */
/* The screenshot                                                            */
/* ------------------------------------------------------------------------ */

/* Returns FALSE with @error set on failure, and FALSE without it if the
 * window has no rendering to give yet. */
static gboolean
save_screenshot (SelfTest  *test,
                 GError   **error)
{
  GtkWidget *window = test->app.window;
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (window);
  int height = gtk_widget_get_height (window);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return FALSE;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, test->screenshot_path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", test->screenshot_path);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  guchar *pixels;               /* CAIRO_FORMAT_ARGB32: native-endian words */
  gsize   stride;
  int     width;
  int     height;
} Image;

static guint32
pixel_at (const Image *image,
          int          x,
          int          y)
{
  guint32 p;

  /* memcpy: the byte buffer has no guint32 alignment to rely on. */
  memcpy (&p, image->pixels + (gsize) y * image->stride + (gsize) x * 4, sizeof p);
  return p;
}

/* The swatches are the only saturated, opaque pixels inside a list. */
static gboolean
is_swatch_colour (guint32 p)
{
  int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

  return (p >> 24) == 0xff && MAX (r, MAX (g, b)) - MIN (r, MIN (g, b)) >= 90;
}

/* Counts the swatches in the column through their centre, within the part
 * of @viewport (a list's scrolled window) on screen, and how many distinct
 * colours they have. */
static gboolean
count_swatches (const Image *image,
                GtkWidget   *window,
                GtkWidget   *viewport,
                GtkWidget   *swatch,
                guint       *out_rows,
                guint       *out_colours)
{
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  graphene_rect_t area, cell;
  gboolean in_run = FALSE;
  guint rows = 0;
  int x;

  if (!gtk_widget_compute_bounds (viewport, window, &area) ||
      !gtk_widget_compute_bounds (swatch, window, &cell))
    return FALSE;
  x = (int) (cell.origin.x + cell.size.width / 2);
  if (x < 0 || x >= image->width)
    return FALSE;

  for (int y = MAX (0, (int) area.origin.y);
       y < MIN (image->height, (int) (area.origin.y + area.size.height)); y++)
    {
      guint32 p = pixel_at (image, x, y);
      gboolean hit = is_swatch_colour (p);

      if (hit && !in_run)
        {
          rows++;
          g_hash_table_add (colours, GUINT_TO_POINTER (p & 0xffffff));
        }
      in_run = hit;
    }
  *out_rows = rows;
  *out_colours = g_hash_table_size (colours);
  return TRUE;
}

static GtkWidget *
first_swatch (GtkWidget *list)
{
  GtkWidget *row = gtk_widget_get_first_child (list);

  if (row == NULL)
    return NULL;
  return gtk_widget_get_first_child (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row)));
}

/* Returns FALSE if the window has no rendering yet: try again after the
 * next frame. */
static gboolean
check_screenshot (SelfTest *test)
{
  App *app = &test->app;
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  GtkWidget *live_view = gtk_widget_get_ancestor (app->live_list, GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *results_view = gtk_widget_get_ancestor (app->results_list, GTK_TYPE_SCROLLED_WINDOW);
  guint live_rows = 0, live_colours = 0, result_rows = 0, result_colours = 0;
  Image image;

  if (!save_screenshot (test, &error))
    {
      if (error == NULL)
        return FALSE;
      check (test, FALSE, "screenshot: %s", error->message);
      return TRUE;
    }
  /* Read back what was written, not what is in memory. */
  texture = gdk_texture_new_from_filename (test->screenshot_path, &error);
  if (texture == NULL)
    {
      check (test, FALSE, "reading %s back: %s", test->screenshot_path, error->message);
      return TRUE;
    }
  image.width = gdk_texture_get_width (texture);
  image.height = gdk_texture_get_height (texture);
  image.stride = (gsize) image.width * 4;
  pixels = g_malloc (image.stride * (gsize) image.height);
  image.pixels = pixels;
  gdk_texture_download (texture, pixels, image.stride);
  test->n_screenshots++;
  g_print ("screenshot %s: %d x %d\n", test->screenshot_path, image.width, image.height);

  if (!count_swatches (&image, app->window, live_view, first_swatch (app->live_list),
                       &live_rows, &live_colours) ||
      !count_swatches (&image, app->window, results_view, first_swatch (app->results_list),
                       &result_rows, &result_colours))
    check (test, FALSE, "screenshot: the lists are not on screen");

  check (test, live_rows == app->n_jobs,
         "screenshot: %u rows under \"Live contexts\" (expected %u)", live_rows, app->n_jobs);
  check (test, live_colours == app->n_jobs,
         "screenshot: %u distinct context colours under \"Live contexts\" (expected %u)",
         live_colours, app->n_jobs);
  check (test, result_rows == app->n_jobs * (app->n_requests - 1),
         "screenshot: %u rows under \"Results\" (expected %u)",
         result_rows, app->n_jobs * (app->n_requests - 1));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The script                                                                */
/* ------------------------------------------------------------------------ */

static void
click (SelfTest  *test,
       GtkWidget *button)
{
  g_print ("clicking \"%s\"\n", gtk_button_get_label (GTK_BUTTON (button)));
  check (test, gtk_widget_activate (button), "the button can be activated");
}

static gboolean
nothing_held (App *app)
{
  guint n_sessions = tether_template_get_n_held (app->session_template);
  guint n_statuses = tether_template_get_n_held (app->status_template);

  return n_sessions == 0 && n_statuses == 0;
}

/* The soup-session module declares its resource type: the view reads each
 * live context's session with tether_template_dup_object(), and shows its
 * type. */
static void
check_live_sessions (SelfTest *test)
{
  App *app = &test->app;
  g_autoptr(GPtrArray) sessions = NULL;
  guint n_typed = 0;

  check (test, tether_template_get_object_type (app->session_template) == SOUP_TYPE_SESSION,
         "the soup-session template holds %s objects",
         g_type_name (tether_template_get_object_type (app->session_template)));
  sessions = column_texts (app->live_list, 2);
  for (guint i = 0; i < sessions->len; i++)
    n_typed += strstr (g_ptr_array_index (sessions, i), "SoupSession") != NULL ? 1 : 0;
  check (test, n_typed == app->n_jobs,
         "%u live rows show their session's type (expected %u)", n_typed, app->n_jobs);
}

static void
check_all_done (SelfTest *test)
{
  App *app = &test->app;
  g_autoptr(GPtrArray) contexts = column_texts (app->results_list, 1);
  g_autoptr(GPtrArray) sessions = column_texts (app->results_list, 2);
  g_autoptr(GPtrArray) outcomes = column_texts (app->results_list, 4);
  guint n_results = app->n_jobs * app->n_requests;

  check (test, app->n_failed == 0, "%u jobs failed", app->n_failed);
  check (test, outcomes->len == n_results, "%u result rows (expected %u)",
         outcomes->len, n_results);
  check (test, count_prefixed (outcomes, "HTTP 200,") == n_results,
         "%u of them say HTTP 200", count_prefixed (outcomes, "HTTP 200,"));
  check (test, count_distinct (contexts) == app->n_jobs,
         "%u distinct contexts served them (expected %u)", count_distinct (contexts), app->n_jobs);
  check (test, count_distinct (sessions) == app->n_jobs,
         "%u distinct sessions served them (expected %u)", count_distinct (sessions), app->n_jobs);
  check (test, app->n_live_rows == 0, "%u live contexts listed at the end", app->n_live_rows);
  check (test, nothing_held (app), "nothing held: %u sessions, %u statuses",
         tether_template_get_n_held (app->session_template),
         tether_template_get_n_held (app->status_template));
}

static void
check_all_cancelled (SelfTest *test)
{
  App *app = &test->app;
  g_autoptr(GPtrArray) outcomes = column_texts (app->results_list, 4);
  guint n_cancelled = outcomes->len - count_prefixed (outcomes, "HTTP 200,");

  check (test, app->n_failed == app->n_jobs, "%u of the %u cancelled jobs ended in error",
         app->n_failed, app->n_jobs);
  check (test, n_cancelled == app->n_jobs, "%u result rows say the request failed (expected %u)",
         n_cancelled, app->n_jobs);
  check (test, app->n_live_rows == 0, "%u live contexts listed after cancelling",
         app->n_live_rows);
  check (test, nothing_held (app), "nothing held after cancelling: %u sessions, %u statuses",
         tether_template_get_n_held (app->session_template),
         tether_template_get_n_held (app->status_template));
}

/* After the frame's layout and paint: what the screenshot renders is what
 * was just painted. (Earlier in a frame, a list rebuilt by the window's
 * refresh timer is not allocated yet, and the window renders nothing.)
 * The window's paintable gives the rendering GTK kept from its last paint;
 * when a frame was not painted (under Xvfb without a window manager this
 * happens now and then), there is none, and the next frame is tried. */
static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  SelfTest *test = user_data;

  test->paint_attempts++;
  if (!check_screenshot (test))
    {
      if (test->paint_attempts < 100)
        {
          gtk_widget_queue_draw (test->app.window);
          return;
        }
      check (test, FALSE, "screenshot: no rendering of the window in %u frames",
             test->paint_attempts);
    }
  else
    g_print ("screenshot taken after %u retries\n", test->paint_attempts - 1);
  g_signal_handlers_disconnect_by_func (clock, on_after_paint, test);
  g_print ("letting the %d held requests go\n", g_atomic_int_get (&test->n_waiting));
  g_main_context_invoke (test->server->context, release_held, test);
  test->stage = STAGE_WAIT_DONE;
}

static gboolean
on_frame (GtkWidget     *widget,
          GdkFrameClock *clock,
          gpointer       user_data)
{
  SelfTest *test = user_data;

  /* Let a few frames be drawn with the final rows; then screenshot at the
   * end of the next one. */
  if (++test->frames < 3)
    return G_SOURCE_CONTINUE;
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), test);
  return G_SOURCE_REMOVE;
}

static void
finish (SelfTest *test)
{
  test->stage = STAGE_DONE;
  g_clear_handle_id (&test->poll_id, g_source_remove);
  g_clear_handle_id (&test->timeout_id, g_source_remove);
  gtk_window_destroy (GTK_WINDOW (test->app.window));
}

/* Polls the window's state on the UI thread; waits for conditions, not
 * for time. */
static gboolean
on_poll (gpointer user_data)
{
  SelfTest *test = user_data;
  App *app = &test->app;
  guint n_waiting = (guint) g_atomic_int_get (&test->n_waiting);

  switch (test->stage)
    {
      case STAGE_START:
        if (!gtk_widget_get_mapped (app->window))
          break;
        click (test, app->fetch_button);
        test->stage = STAGE_WAIT_HELD;
        break;

      case STAGE_WAIT_HELD:
        if (n_waiting < app->n_jobs || app->n_results < app->n_jobs * (app->n_requests - 1))
          break;
        refresh_live_contexts (app);
        check (test, app->n_live_rows == app->n_jobs,
               "%u live contexts listed while every job waits (expected %u)",
               app->n_live_rows, app->n_jobs);
        check (test, tether_template_get_n_held (app->session_template) == app->n_jobs,
               "tether holds %u sessions (expected %u)",
               tether_template_get_n_held (app->session_template), app->n_jobs);
        check_live_sessions (test);
        /* One tick callback, for one screenshot. */
        test->stage = STAGE_SHOOT;
        gtk_widget_add_tick_callback (app->window, on_frame, test, NULL);
        break;

      case STAGE_SHOOT:
        break;

      case STAGE_WAIT_DONE:
        if (app->n_running > 0 || g_atomic_int_get (&app->sessions_alive) > 0)
          break;
        check_all_done (test);
        check (test, (guint) g_atomic_int_get (&app->session_counter) == app->n_jobs,
               "%d sessions made for %u jobs, all finalized",
               g_atomic_int_get (&app->session_counter), app->n_jobs);
        /* Second round: every request held, then "Cancel all". */
        app->n_failed = 0;
        g_atomic_int_set (&test->hold_all, TRUE);
        click (test, app->fetch_button);
        test->stage = STAGE_WAIT_CANCEL;
        break;

      case STAGE_WAIT_CANCEL:
        if (n_waiting < app->n_jobs)
          break;
        click (test, app->cancel_button);
        test->stage = STAGE_WAIT_CANCELLED;
        break;

      case STAGE_WAIT_CANCELLED:
        if (app->n_running > 0 || g_atomic_int_get (&app->sessions_alive) > 0)
          break;
        check_all_cancelled (test);
        /* Third round: the window is closed while every job waits. */
        app->n_failed = 0;
        /* The cancelled round's requests are still held (their clients
         * gone): count the new ones on top. */
        test->held_before = n_waiting;
        click (test, app->fetch_button);
        test->stage = STAGE_WAIT_CLOSE;
        break;

      case STAGE_WAIT_CLOSE:
        if (n_waiting < test->held_before + app->n_jobs)
          break;
        g_print ("closing the window with %u jobs running\n", app->n_running);
        test->closed_with_jobs = app->n_running;
        finish (test);
        return G_SOURCE_REMOVE;

      case STAGE_DONE:
      default:
        return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  SelfTest *test = user_data;

  test->timeout_id = 0;
  check (test, FALSE, "still at stage %d after %d s", test->stage, SELF_TEST_TIMEOUT_SECONDS);
  /* Let everything go, so that the jobs can end and the test exit. */
  g_main_context_invoke (test->server->context, release_held, test);
  g_atomic_int_set (&test->hold_all, FALSE);
  finish (test);
  return G_SOURCE_REMOVE;
}

static void
on_activate_after (GtkApplication *gtk_app,
                   gpointer        user_data)
{
  SelfTest *test = user_data;

  gtk_window_set_default_size (GTK_WINDOW (test->app.window), 1040, 640);
  test->poll_id = g_timeout_add (20, on_poll, test);
  test->timeout_id = g_timeout_add_seconds (SELF_TEST_TIMEOUT_SECONDS, on_timeout, test);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  SelfTest test = { 0 };
  gint n_jobs = 4, n_requests = 3;
  GOptionEntry entries[] = {
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &n_jobs, "Jobs per click of Fetch (default 4)", "N" },
    { "requests", 'r', 0, G_OPTION_ARG_INT, &n_requests, "Requests per job (default 3)", "N" },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &test.screenshot_path,
      "Where to save the window (PNG)", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  int status;

  options = g_option_context_new ("- check the tether-gtk window headless");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("tether-gtk-selftest: %s\n", error->message);
      return 2;
    }
  /* Two requests at least: the screenshot shows the first ones' results. */
  if (n_jobs < 1 || n_jobs > 8 || n_requests < 2 || n_requests > 5 || test.screenshot_path == NULL)
    {
      g_printerr ("tether-gtk-selftest: --jobs takes 1 to 8, --requests 2 to 5; "
                  "--screenshot FILE is needed\n");
      return 2;
    }
  test.app.n_jobs = (guint) n_jobs;
  test.app.n_requests = (guint) n_requests;
  test.held = g_ptr_array_new_with_free_func (g_object_unref);

  if (!app_init (&test.app, &error))
    {
      g_printerr ("tether-gtk-selftest: %s\n", error->message);
      app_finish (&test.app);
      return 1;
    }
  test.server = http_server_start (on_held_request, &test, &error);
  if (test.server == NULL)
    {
      g_printerr ("tether-gtk-selftest: cannot start the HTTP server: %s\n", error->message);
      app_finish (&test.app);
      return 1;
    }
  test.app.server_base = g_strdup (test.server->url);
  g_print ("server %s, %u jobs of %u requests, provider module %s\n", test.app.server_base,
           test.app.n_jobs, test.app.n_requests,
           tether_template_get_name (test.app.session_template));

  test.gtk_app = gtk_application_new ("org.example.TetherGtkSelfTest", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (test.gtk_app, "activate", G_CALLBACK (on_activate), &test.app);
  g_signal_connect_after (test.gtk_app, "activate", G_CALLBACK (on_activate_after), &test);
  status = g_application_run (G_APPLICATION (test.gtk_app), 1, argv);

  /* The jobs of the third round are still running: the example cancels
   * them and waits, its widgets gone (G_DEBUG=fatal-criticals makes any
   * use of them fatal). */
  check (&test, test.closed_with_jobs == test.app.n_jobs,
         "the window was closed with %u jobs running", test.closed_with_jobs);
  {
    TetherTemplate *session_template = g_object_ref (test.app.session_template);
    TetherTemplate *status_template = g_object_ref (test.app.status_template);
    guint n_sessions, n_statuses;

    app_finish (&test.app);
    check (&test, test.app.n_running == 0 && test.app.n_failed == test.closed_with_jobs,
           "after closing: %u running, %u ended cancelled", test.app.n_running,
           test.app.n_failed);
    n_sessions = tether_template_get_n_held (session_template);
    n_statuses = tether_template_get_n_held (status_template);
    check (&test, n_sessions == 0 && n_statuses == 0,
           "after closing: nothing held (%u sessions, %u statuses)", n_sessions, n_statuses);
    g_object_unref (session_template);
    g_object_unref (status_template);
  }
  /* Every session was released on its worker before the job returned. */
  check (&test, g_atomic_int_get (&test.app.sessions_alive) == 0,
         "%d of %d sessions still alive at exit", g_atomic_int_get (&test.app.sessions_alive),
         g_atomic_int_get (&test.app.session_counter));
  http_server_stop (test.server);
  /* The server thread is joined: the cancelled round's requests, still
   * held (their clients gone), can be dropped from here. */
  g_ptr_array_unref (test.held);
  g_clear_object (&test.gtk_app);
  g_free (test.app.server_base);
  g_free (test.screenshot_path);

  check (&test, test.n_screenshots == 1, "%u screenshot taken (expected 1)", test.n_screenshots);
  check (&test, status == 0, "the application exited with %d", status);
  g_print ("%s: %u checks failed\n", test.n_failures == 0 ? "PASS" : "FAIL", test.n_failures);
  return test.n_failures == 0 ? 0 : 1;
}
