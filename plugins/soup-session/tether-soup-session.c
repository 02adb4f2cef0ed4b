/* tether-soup-session.c: the "soup-session" provider
 *
 * Resource: one SoupSession (libsoup 3) per GMainContext. The session is
 * created with the context pushed as thread-default, so its I/O and the
 * callbacks of every request started in that context run in that context.
 *
 * Refs its context: YES. libsoup 3 keeps the thread-default context of the
 * session's creation for the session's lifetime, and each queued message
 * refs its caller's context. So the session keeps its context alive: the
 * context dies only after the session is released, which a TetherManager
 * (or tether_template_release) must do. Held by an unmanaged context, the
 * pair leaks together.
 *
 * Graceful release: soup_session_abort() (pending requests complete with
 * G_IO_ERROR_CANCELLED in this context), then the last reference is
 * dropped, closing idle connections.
 * Ungraceful release (context == NULL, janitor thread): drops the reference
 * only; soup_session_abort() would dispatch into the context, which is
 * gone. Because the session refs its context this path is reached only if
 * something else dropped that reference.
 *
 * Acquire fails (TETHER_ERROR_WRONG_CONTEXT) when another thread owns
 * @context: tether could not push it, or it is the global default context
 * a thread without a context of its own fell back to while the main thread
 * iterates it. A session created then would bind to the wrong context, or
 * be driven from two threads.
 *
 * Process singletons: a session's first connection makes GIO's default
 * proxy resolver, and where it is libproxy 0.5's (Debian 13 and later),
 * that makes GLib's network monitor, whose netlink source binds to the
 * thread-default context of that moment, for the life of the process.
 * Made in a job, they would keep that job's context alive (and deliver
 * their signals nowhere). init makes both on the loading thread, in the
 * application's context.
 *
 * Configuration, group [provider soup-session]:
 *   user-agent=STRING   the User-Agent header (default "tether-soup-session/VERSION")
 *   max-conns=N         connections per session and per host (default 10)
 *   timeout=SECONDS     I/O timeout, 0 for none (default 30)
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libsoup/soup.h>

#include <tether/tether.h>

#include "../provider-context-private.h"

typedef struct
{
  char *user_agent;
  gint  max_conns;
  guint timeout;
} SoupSessionConfig;

static void
config_free (gpointer data)
{
  SoupSessionConfig *config = data;

  g_free (config->user_agent);
  g_free (config);
}

static gboolean
read_int (GKeyFile    *keyfile,
          const char  *group,
          const char  *key,
          gint         min,
          gint         max,
          gint        *value,
          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint v;

  if (!g_key_file_has_key (keyfile, group, key, NULL))
    return TRUE;

  v = g_key_file_get_integer (keyfile, group, key, &local_error);
  if (local_error != NULL || v < min || v > max)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "[%s] %s must be an integer from %d to %d", group, key, min, max);
      return FALSE;
    }

  *value = v;
  return TRUE;
}

static gpointer
soup_session_provider_init (GKeyFile    *keyfile,
                            const char  *group,
                            GError     **error)
{
  SoupSessionConfig *config = g_new0 (SoupSessionConfig, 1);
  gint timeout = 30;

  config->max_conns = 10;
  config->user_agent = g_key_file_get_string (keyfile, group, "user-agent", NULL);
  if (config->user_agent == NULL)
    config->user_agent = g_strdup ("tether-soup-session/" TETHER_VERSION_S);

  if (!read_int (keyfile, group, "max-conns", 1, 1024, &config->max_conns, error) ||
      !read_int (keyfile, group, "timeout", 0, 24 * 3600, &timeout, error))
    {
      config_free (config);
      return NULL;
    }
  config->timeout = (guint) timeout;

  /* Here rather than in the first job's context (see the top). */
  g_proxy_resolver_get_default ();
  g_network_monitor_get_default ();

  return config;
}

static gpointer
soup_session_provider_acquire (GMainContext  *context,
                               gpointer       provider_data,
                               GError       **error)
{
  SoupSessionConfig *config = provider_data;

  if (!provider_check_context_owned (context, "a SoupSession", error))
    return NULL;

  return soup_session_new_with_options ("user-agent", config->user_agent,
                                        "max-conns", config->max_conns,
                                        "max-conns-per-host", config->max_conns,
                                        "timeout", config->timeout,
                                        NULL);
}

static void
soup_session_provider_release (gpointer      resource,
                               GMainContext *context,
                               gboolean      graceful,
                               gpointer      provider_data)
{
  SoupSession *session = resource;

  if (graceful)
    soup_session_abort (session);
  g_object_unref (session);
}

static const TetherProvider soup_session_provider = {
  .abi_version = TETHER_PROVIDER_ABI_VERSION,
  .struct_size = sizeof (TetherProvider),
  .name = "soup-session",
  .description = "one SoupSession (libsoup 3) per context; refs its context",
  .acquire = soup_session_provider_acquire,
  .release = soup_session_provider_release,
  .init = soup_session_provider_init,
  .shutdown = config_free,
  /* ABI 1.1: the resource is a SoupSession, so bindings get the object. */
  .resource_type = soup_session_get_type,
};

TETHER_DEFINE_PROVIDER (soup_session_provider)
