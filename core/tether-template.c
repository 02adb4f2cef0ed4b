/* tether-template.c: one resource per GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tether-private.h"

/**
 * TetherTemplate:
 *
 * Keeps at most one resource per [struct@GLib.MainContext], made and freed
 * by a [struct@Tether.Provider] (Pyot's `ResourceTemplate`).
 *
 * The first [method@Tether.Template.acquire] for a context calls the
 * provider; later ones return the same resource, from a per-thread cache
 * that takes no lock. Racing first acquires for one context share a single
 * provider call ("single flight"); a failure reaches every caller and
 * nothing is cached, so the next acquire tries again. Acquires for different
 * contexts never wait for each other.
 *
 * A resource is released gracefully by [method@Tether.Template.release] or
 * by the [class@Tether.Manager] of its context. When its context is
 * finalized first, tether notices (a sentinel source attached to the
 * context), takes the resource off its tables at once and releases it
 * ungracefully from the janitor context or [func@Tether.purge].
 *
 * Creating a template registers it in the global list that managers acquire
 * from, in order; [method@Tether.Template.unregister] takes it out. A
 * template stays alive while it holds resources.
 *
 * ## Thread rules
 *
 * Every method may be called from any thread. A resource returned by an
 * acquire is borrowed: it stays valid until it is released for its context
 * (by the caller's own scope, or by the death of the context). Releasing a
 * context's resources while another thread still uses them is the caller's
 * error, as for any borrowed pointer; what tether guarantees is that no
 * acquire that starts after a release has returned yields the released
 * resource.
 */

struct _TetherTemplate
{
  GObject         parent_instance;

  /* Read-only after construction */
  TetherProvider  provider;              /* full-size copy; fields past the
                                          * provider's struct_size are NULL */
  char           *name;
  char           *description;
  gpointer        provider_data;
  GDestroyNotify  provider_data_destroy;

  /* Atomic. Set to a fresh process-wide value whenever an entry of this
   * template stops being valid; the per-thread cache compares it, so a
   * stale slot can never match, even for a new template or a new context at
   * a reused address. */
  guint64         generation;

  /* Protected by the state lock */
  GHashTable     *entries;               /* set of TetherEntry*, keyed by ->context */
  guint           registered : 1;
};

G_DEFINE_FINAL_TYPE (TetherTemplate, tether_template, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_REGISTERED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Protected by the state lock */
static GPtrArray *registered_templates;  /* owned references, registration order */
static GPtrArray *all_templates;         /* every live template, no references */

/* ------------------------------------------------------------------------ */
/* Flights: one provider acquire under way for one (template, context)      */
/* ------------------------------------------------------------------------ */

/* Reference counts of flights and waiters. GLib's g_atomic_ref_count_*()
 * are functions inside libglib, whose atomics ThreadSanitizer cannot see, so
 * the free after the last unref looked like a race with the other holders'
 * last accesses; the g_atomic_int_*() macros expand to compiler atomics in
 * this file, which TSan instruments. Same semantics. */
#define ref_count_init(rc) g_atomic_int_set ((rc), 1)
#define ref_count_inc(rc)  g_atomic_int_inc (rc)
#define ref_count_dec(rc)  g_atomic_int_dec_and_test (rc)

/* An asynchronous caller waiting for a flight. One reference is the
 * flight's, one the cancellable connection's: a handler that already ran is
 * not disconnected (see flight_complete()), so its data must outlive the
 * flight. */
typedef struct
{
  gint          ref_count;   /* atomic */
  TetherFlight *flight;      /* no reference; only read while !done */
  GTask        *task;        /* owned until returned */
  GCancellable *cancellable; /* the caller's, owned */
  gulong        handler;
  gboolean      done;        /* protected by the state lock */
} Waiter;

static void
waiter_unref (gpointer data)
{
  Waiter *waiter = data;

  if (!ref_count_dec (&waiter->ref_count))
    return;

  g_assert (waiter->task == NULL);
  g_clear_object (&waiter->cancellable);
  g_free (waiter);
}

struct _TetherFlight
{
  gint             ref_count;     /* atomic */

  /* Read-only after creation */
  TetherTemplate  *template;      /* owned */
  GMainContext    *context;       /* owned: a context cannot die under an acquire */
  GCancellable    *cancellable;   /* owned; given to the provider's acquire_async */

  /* Protected by the state lock */
  TetherEntry     *entry;         /* the entry in the table while acquiring */
  TetherCond       cond;          /* signalled when done */
  GThread         *leader;        /* thread inside a synchronous provider acquire */
  GThread         *creator;       /* thread that started the flight */
  gboolean         for_thread_default; /* @context was the creator's thread-default */
  GPtrArray       *waiters;       /* Waiter*, asynchronous callers */
  guint            n_live_waiters;/* waiters not yet cancelled */
  guint            n_sync_waiters;
  gboolean         async_driven;  /* the result arrives through @context */
  gboolean         abandoned;     /* every caller left; the provider was cancelled */
  gint             done;          /* atomic */
  gpointer         resource;
  GError          *error;
};

static TetherFlight *
flight_ref (TetherFlight *flight)
{
  ref_count_inc (&flight->ref_count);
  return flight;
}

/* Never under the state lock: it may drop the last reference of a context. */
static void
flight_unref (TetherFlight *flight)
{
  if (!ref_count_dec (&flight->ref_count))
    return;

  g_assert (flight->waiters == NULL || flight->waiters->len == 0);
  g_clear_pointer (&flight->waiters, g_ptr_array_unref);
  g_clear_error (&flight->error);
  g_clear_object (&flight->cancellable);
  tether_cond_clear (&flight->cond);
  g_main_context_unref (flight->context);
  g_object_unref (flight->template);
  g_free (flight);
}

/* ------------------------------------------------------------------------ */
/* Entry tables                                                             */
/* ------------------------------------------------------------------------ */

static guint
entry_hash (gconstpointer data)
{
  const TetherEntry *entry = data;

  return g_direct_hash (entry->context);
}

static gboolean
entry_equal (gconstpointer a,
             gconstpointer b)
{
  return ((const TetherEntry *) a)->context == ((const TetherEntry *) b)->context;
}

static inline TetherEntry *
entry_lookup_locked (TetherTemplate *self,
                     GMainContext   *context)
{
  TetherEntry probe = { .context = context };

  return g_hash_table_lookup (self->entries, &probe);
}

static inline guint64
template_generation (TetherTemplate *self)
{
  return __atomic_load_n (&self->generation, __ATOMIC_ACQUIRE);
}

static void
template_invalidate_locked (TetherTemplate *self)
{
  __atomic_store_n (&self->generation, _tether_next_generation_locked (), __ATOMIC_RELEASE);
}

/* Puts @resource in this thread's cache if it is still what @self holds for
 * @context: a flight's result may have been released again by the time its
 * waiter wakes up. */
static void
cache_store_if_held_locked (TetherTemplate *self,
                            GMainContext   *context,
                            gpointer        resource)
{
  TetherEntry *entry = entry_lookup_locked (self, context);

  if (entry != NULL && entry->flight == NULL && entry->resource == resource)
    _tether_cache_store (self, context, resource, template_generation (self));
}

/* Takes a held entry off the table. Its reference on the template passes to
 * the caller. */
static void
entry_remove_locked (TetherTemplate *self,
                     TetherEntry    *entry)
{
  TetherContextRecord *record;

  g_hash_table_remove (self->entries, entry);
  if (entry->flight == NULL)
    template_invalidate_locked (self);

  record = _tether_context_record_lookup_locked (entry->context);
  if (record != NULL)
    {
      g_assert (record->n_entries > 0);
      record->n_entries--;
    }
}

/* Called from the sentinel's notify: moves the held entry of the dead
 * @context, if any, to @dead. */
void
_tether_template_take_dead_locked (TetherTemplate *self,
                                   GMainContext   *context,
                                   GArray         *dead)
{
  TetherEntry *entry = entry_lookup_locked (self, context);
  TetherDeadResource item;

  if (entry == NULL)
    return;

  /* A flight holds a reference on its context, so a context cannot die
   * while an acquire for it is under way. */
  g_assert (entry->flight == NULL);

  g_hash_table_remove (self->entries, entry);
  template_invalidate_locked (self);

  item.template = self;   /* the entry's reference */
  item.resource = entry->resource;
  g_array_append_val (dead, item);
  g_free (entry);
}

guint
_tether_template_collect_held_locked (TetherTemplate *self,
                                      GMainContext   *context,
                                      GPtrArray      *out)
{
  TetherEntry *entry = entry_lookup_locked (self, context);

  if (entry == NULL || entry->flight != NULL)
    return 0;

  g_ptr_array_add (out, self);
  return 1;
}

GPtrArray *
_tether_templates_locked (void)
{
  if (registered_templates == NULL)
    registered_templates = g_ptr_array_new_with_free_func (g_object_unref);
  return registered_templates;
}

GPtrArray *
_tether_all_templates_locked (void)
{
  if (all_templates == NULL)
    all_templates = g_ptr_array_new ();
  return all_templates;
}

gboolean
_tether_template_is_registered_locked (TetherTemplate *self)
{
  return self->registered;
}

/* ------------------------------------------------------------------------ */
/* Calling the provider                                                     */
/* ------------------------------------------------------------------------ */

static void
provider_release (TetherTemplate *self,
                  gpointer        resource,
                  GMainContext   *context,
                  gboolean        graceful)
{
  gboolean entered = FALSE;

  if (self->provider.release == NULL)
    return;

  if (graceful)
    entered = _tether_context_enter (context);
  self->provider.release (resource, graceful ? context : NULL, graceful, self->provider_data);
  if (graceful)
    _tether_context_leave (context, entered);
}

void
_tether_release_dead (GArray *dead)
{
  for (guint i = 0; i < dead->len; i++)
    {
      TetherDeadResource *item = &g_array_index (dead, TetherDeadResource, i);

      provider_release (item->template, item->resource, NULL, FALSE);
      g_object_unref (item->template);
    }
}

/* Checks what a provider's acquire gave back. Returns the resource, or NULL
 * with @error set to what every waiter will see. */
static gpointer
validate_result (TetherTemplate  *self,
                 GMainContext    *context,
                 gpointer         resource,
                 GError          *provider_error,
                 GError         **error)
{
  if (resource != NULL && provider_error == NULL)
    return resource;

  if (resource == NULL && provider_error != NULL)
    {
      g_propagate_error (error, provider_error);
      return NULL;
    }

  if (resource == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
                   "Provider '%s' returned no resource for context %p and set no error",
                   self->name, context);
      return NULL;
    }

  /* A resource and an error: report both, keep nothing. */
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_RESULT,
               "Provider '%s' returned a resource for context %p and also set an error "
               "(the resource was released): %s",
               self->name, context, provider_error->message);
  g_error_free (provider_error);
  provider_release (self, resource, context, TRUE);

  return NULL;
}

static void flight_restart_waiter (TetherTemplate *self,
                                   GMainContext   *context,
                                   GTask          *task);

/* Records the outcome of a flight and hands it to every waiter. Not under
 * the state lock. */
static void
flight_complete (TetherFlight *flight,
                 gpointer      resource,
                 GError       *provider_error)
{
  TetherTemplate *self = flight->template;
  GMainContext *context = flight->context;
  g_autoptr(GPtrArray) waiters = NULL;
  g_autoptr(GPtrArray) tasks = NULL;
  GError *error = NULL;
  GSource *detach = NULL;
  TetherEntry *failed_entry = NULL;
  gboolean restart = FALSE;

  resource = validate_result (self, context, resource, provider_error, &error);

  TETHER_STATE_LOCK ();
  {
    TetherEntry *entry = flight->entry;
    TetherContextRecord *record = _tether_context_record_lookup_locked (context);

    flight->entry = NULL;
    flight->leader = NULL;

    if (resource != NULL)
      {
        entry->resource = resource;
        entry->serial = _tether_next_serial_locked ();
        entry->flight = NULL;

        /* Remember, for the thread-exit leak check, an unmanaged resource
         * of the creating thread's own thread-default context (decided
         * before tether pushed the context for the provider). */
        if (record != NULL && record->manager == NULL &&
            flight->for_thread_default && flight->creator == g_thread_self ())
          _tether_thread_watch_context_locked (context, record->id);
      }
    else
      {
        entry_remove_locked (self, entry);
        failed_entry = entry;
        detach = _tether_context_record_maybe_detach_locked (record);
      }

    flight->resource = resource;
    flight->error = error;
    g_atomic_int_set (&flight->done, TRUE);
    tether_cond_broadcast (&flight->cond);

    restart = flight->abandoned && error != NULL;
    waiters = g_steal_pointer (&flight->waiters);
    tasks = g_ptr_array_new_with_free_func (g_object_unref);
    for (guint i = 0; waiters != NULL && i < waiters->len; i++)
      {
        Waiter *waiter = g_ptr_array_index (waiters, i);

        /* A waiter whose handler already ran (done) keeps its connection:
         * disconnecting from inside that handler would deadlock, and the
         * cancel that ran it cannot run it again until it is reset. Its
         * handler is 0 from here on so it is not disconnected below. */
        if (!waiter->done)
          {
            waiter->done = TRUE;
            g_ptr_array_add (tasks, g_steal_pointer (&waiter->task));
          }
        else
          waiter->handler = 0;
      }
  }
  TETHER_STATE_UNLOCK ();

  if (flight->async_driven)
    g_main_context_wakeup (context);

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);

      if (waiter == NULL)
        continue;
      /* Waits for a handler running in another thread; it will see done. */
      if (waiter->cancellable != NULL && waiter->handler != 0)
        g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      waiter_unref (waiter);
    }
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (resource != NULL)
        g_task_return_pointer (task, resource, NULL);
      else if (restart)
        flight_restart_waiter (self, context, g_object_ref (task));
      else
        g_task_return_error (task, g_error_copy (error));
    }

  _tether_context_record_finish_detach (detach);

  if (failed_entry != NULL)
    {
      g_free (failed_entry);
      g_object_unref (self);   /* the entry's reference */
    }
}

static void
flight_async_done (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  TetherFlight *flight = user_data;
  GError *error = NULL;
  gpointer resource;

  resource = flight->template->provider.acquire_finish (result, &error);
  flight_complete (flight, resource, error);
  flight_unref (flight);
}

/* Runs the provider for @flight on this thread, with the flight's context
 * pushed as thread-default when this thread can own it. A synchronous
 * provider completes the flight before this returns; an asynchronous one
 * completes it later, in the context. */
static void
flight_run_provider (TetherFlight *flight)
{
  TetherTemplate *self = flight->template;
  gboolean entered;

  entered = _tether_context_enter (flight->context);

  if (self->provider.acquire != NULL)
    {
      GError *error = NULL;
      gpointer resource;

      TETHER_STATE_LOCK ();
      flight->leader = g_thread_self ();
      TETHER_STATE_UNLOCK ();

      resource = self->provider.acquire (flight->context, self->provider_data, &error);
      flight_complete (flight, resource, error);
    }
  else
    {
      self->provider.acquire_async (flight->context,
                                    self->provider_data,
                                    flight->cancellable,
                                    flight_async_done,
                                    flight_ref (flight));
    }

  _tether_context_leave (flight->context, entered);
}

static gboolean
flight_run_provider_in_context (gpointer data)
{
  flight_run_provider (data);
  return G_SOURCE_REMOVE;
}

/* Starts the provider for an asynchronous caller. When another thread owns
 * the context, the provider runs from an idle source in the context, so it
 * binds to the context and never blocks the caller. */
static void
flight_start_async (TetherFlight *flight)
{
  if (g_main_context_acquire (flight->context))
    {
      flight_run_provider (flight);
      g_main_context_release (flight->context);
    }
  else
    {
      GSource *source = g_idle_source_new ();

      g_source_set_static_name (source, "[tether] start acquire");
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, flight_run_provider_in_context,
                             flight_ref (flight), (GDestroyNotify) flight_unref);
      g_source_attach (source, flight->context);
      g_source_unref (source);
    }
}

/* Creates the entry and flight for a first acquire. */
static TetherFlight *
flight_new_locked (TetherTemplate *self,
                   GMainContext   *context,
                   gboolean        async_driven,
                   gboolean       *out_warn)
{
  TetherContextRecord *record;
  TetherFlight *flight;
  TetherEntry *entry;

  record = _tether_context_record_ensure_locked (context);

  *out_warn = FALSE;
  if (record->manager == NULL && !record->warned &&
      g_hash_table_size (self->entries) > 0 &&
      _tether_unmanaged_warning_enabled ())
    {
      record->warned = TRUE;
      *out_warn = TRUE;
    }

  flight = g_new0 (TetherFlight, 1);
  ref_count_init (&flight->ref_count);
  flight->template = g_object_ref (self);
  flight->context = g_main_context_ref (context);
  /* Only an asynchronous provider acquire can be cancelled. */
  if (self->provider.acquire == NULL)
    flight->cancellable = g_cancellable_new ();
  flight->async_driven = async_driven || self->provider.acquire == NULL;
  flight->creator = g_thread_self ();
  flight->for_thread_default = context == g_main_context_get_thread_default ();
  tether_cond_init (&flight->cond);

  entry = g_new0 (TetherEntry, 1);
  entry->context = context;
  entry->flight = flight;
  flight->entry = entry;

  g_hash_table_add (self->entries, entry);
  g_object_ref (self);  /* the entry's reference */
  record->n_entries++;

  return flight;
}

static void
warn_unmanaged (TetherTemplate *self,
                GMainContext   *context)
{
  g_warning ("Template '%s' is being acquired for context %p, a second distinct context "
             "with no active TetherManager: its resources can only be released "
             "ungracefully, when the context is destroyed. Use a TetherManager (or "
             "tether_run_in_new_context()) in each thread, or silence this with "
             "tether_set_unmanaged_warning_enabled() or TETHER_UNMANAGED_WARNING=0",
             self->name, context);
}

/* Waits, as a synchronous caller, for a flight another caller leads. Called
 * with the state lock held; returns with it released. */
static gpointer
flight_wait_locked (TetherFlight  *flight,
                    gboolean      *out_retry,
                    GError       **error)
{
  TetherTemplate *self = flight->template;
  gpointer resource;

  flight_ref (flight);
  flight->n_sync_waiters++;

  /* An asynchronous acquire completes only when its context is iterated.
   * If this thread can own the context, iterate it rather than wait for a
   * thread that may never come. */
  if (flight->async_driven && !g_atomic_int_get (&flight->done))
    {
      TETHER_STATE_UNLOCK ();
      if (g_main_context_acquire (flight->context))
        {
          while (!g_atomic_int_get (&flight->done))
            g_main_context_iteration (flight->context, TRUE);
          g_main_context_release (flight->context);
        }
      TETHER_STATE_LOCK ();
    }

  while (!g_atomic_int_get (&flight->done))
    tether_cond_wait (&flight->cond, &_tether_state_lock);

  flight->n_sync_waiters--;
  resource = flight->resource;
  *out_retry = flight->abandoned && resource == NULL;

  if (resource != NULL)
    cache_store_if_held_locked (self, flight->context, resource);
  else if (!*out_retry)
    g_propagate_error (error, g_error_copy (flight->error));

  TETHER_STATE_UNLOCK ();

  flight_unref (flight);

  return resource;
}

/* The slow path of every synchronous acquire. @context is alive for the
 * duration of the call (the caller's guarantee). */
gpointer
_tether_template_acquire_full (TetherTemplate  *self,
                               GMainContext    *context,
                               gboolean        *out_led,
                               GError         **error)
{
  TetherFlight *flight;
  TetherEntry *entry;
  gboolean warn;
  gpointer resource;

  if (out_led != NULL)
    *out_led = FALSE;

retry:
  TETHER_STATE_LOCK ();

  entry = entry_lookup_locked (self, context);

  if (entry != NULL && entry->flight == NULL)
    {
      resource = entry->resource;
      _tether_cache_store (self, context, resource, template_generation (self));
      TETHER_STATE_UNLOCK ();
      return resource;
    }

  if (entry != NULL)
    {
      gboolean again = FALSE;

      if (entry->flight->leader == g_thread_self ())
        {
          TETHER_STATE_UNLOCK ();
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_RECURSIVE,
                       "Template '%s' was asked for context %p from inside its own acquire",
                       self->name, context);
          return NULL;
        }

      resource = flight_wait_locked (entry->flight, &again, error);
      if (again)
        goto retry;
      return resource;
    }

  /* An async-only provider can serve a synchronous caller only if this
   * thread can own the context and iterate it until the result arrives.
   * Checked before a flight is published: WOULD_BLOCK is this caller's
   * answer, not an outcome to share with callers that join (an async caller
   * or the context's owner could be served). */
  if (self->provider.acquire == NULL && !g_main_context_acquire (context))
    {
      TETHER_STATE_UNLOCK ();
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_BLOCK,
                   "Template '%s' only acquires asynchronously and context %p "
                   "is owned by another thread; use "
                   "tether_template_acquire_async() or acquire from that thread",
                   self->name, context);
      return NULL;
    }

  flight = flight_new_locked (self, context, FALSE, &warn);

  TETHER_STATE_UNLOCK ();

  if (warn)
    warn_unmanaged (self, context);

  if (out_led != NULL)
    *out_led = TRUE;

  if (self->provider.acquire != NULL)
    {
      flight_run_provider (flight);
    }
  else
    {
      /* We own the context (acquired above): start the async acquire with
       * the context pushed, and iterate it until the flight is done. */
      g_main_context_push_thread_default (context);
      flight_run_provider (flight);
      while (!g_atomic_int_get (&flight->done))
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_main_context_release (context);
    }

  g_assert (g_atomic_int_get (&flight->done));

  TETHER_STATE_LOCK ();
  resource = flight->resource;
  if (resource == NULL)
    g_propagate_error (error, g_error_copy (flight->error));
  else
    cache_store_if_held_locked (self, context, resource);
  TETHER_STATE_UNLOCK ();

  flight_unref (flight);

  return resource;
}

static inline GMainContext *
resolve_context (GMainContext *context)
{
  if (context != NULL)
    return context;

  context = g_main_context_get_thread_default ();
  return context ? context : g_main_context_default ();
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */
/* ------------------------------------------------------------------------ */

static void
tether_template_finalize (GObject *object)
{
  TetherTemplate *self = (TetherTemplate *)object;

  TETHER_STATE_LOCK ();
  g_ptr_array_remove_fast (_tether_all_templates_locked (), self);
  TETHER_STATE_UNLOCK ();

  /* Entries hold references on the template, so none is left. */
  g_assert (g_hash_table_size (self->entries) == 0);
  g_clear_pointer (&self->entries, g_hash_table_unref);

  if (self->provider_data_destroy != NULL)
    self->provider_data_destroy (self->provider_data);

  g_free (self->name);
  g_free (self->description);

  G_OBJECT_CLASS (tether_template_parent_class)->finalize (object);
}

static void
tether_template_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TetherTemplate *self = TETHER_TEMPLATE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;

    case PROP_REGISTERED:
      g_value_set_boolean (value, tether_template_is_registered (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_template_class_init (TetherTemplateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tether_template_finalize;
  object_class->get_property = tether_template_get_property;

  /**
   * TetherTemplate:name:
   *
   * The provider's name.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherTemplate:description:
   *
   * The provider's description, if it has one.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherTemplate:registered:
   *
   * Whether the template is in the global list that managers acquire from.
   * Not notified: read it with [method@Tether.Template.is_registered].
   */
  properties[PROP_REGISTERED] =
    g_param_spec_boolean ("registered", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_template_init (TetherTemplate *self)
{
  self->entries = g_hash_table_new (entry_hash, entry_equal);
}

/* A provider's name is used in messages, configuration groups and file
 * listings: keep it to a safe alphabet. */
static gboolean
provider_name_is_valid (const char *name)
{
  if (name == NULL || !g_ascii_isalpha (name[0]))
    return FALSE;

  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;

  return strlen (name) <= 128;
}

/* Checks a provider vtable the way the plugin loader does, so that both
 * paths refuse the same things with the same codes. */
gboolean
_tether_provider_validate (const TetherProvider  *provider,
                           TetherProvider        *out_copy,
                           GError               **error)
{
  gsize size;

  if (TETHER_PROVIDER_ABI_VERSION_MAJOR (provider->abi_version) != TETHER_PROVIDER_ABI_MAJOR)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ABI_MISMATCH,
                   "Provider ABI version %u.%u is not supported (this tether speaks %u.x)",
                   TETHER_PROVIDER_ABI_VERSION_MAJOR (provider->abi_version),
                   TETHER_PROVIDER_ABI_VERSION_MINOR (provider->abi_version),
                   TETHER_PROVIDER_ABI_MAJOR);
      return FALSE;
    }

  if (provider->struct_size < TETHER_PROVIDER_MIN_STRUCT_SIZE)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_STRUCT_TOO_SMALL,
                   "Provider struct_size %u is smaller than the oldest supported layout (%u bytes)",
                   provider->struct_size, (guint) TETHER_PROVIDER_MIN_STRUCT_SIZE);
      return FALSE;
    }

  if (provider->name == NULL || provider->name[0] == '\0')
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "Provider has an empty name");
      return FALSE;
    }

  if (!provider_name_is_valid (provider->name))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_NAME,
                   "Provider name '%s' is not valid: use ASCII letters, digits, '-', '_' "
                   "and '.', starting with a letter, at most 128 characters",
                   provider->name);
      return FALSE;
    }

  /* A newer core reads an older, smaller struct: what it lacks is NULL. A
   * newer provider's extra fields are ignored. Only whole fields are
   * copied: a struct_size that ends inside a pointer would otherwise copy
   * part of it (every field past the header is pointer-sized). */
  memset (out_copy, 0, sizeof *out_copy);
  size = MIN ((gsize) provider->struct_size, sizeof *out_copy);
  size -= size % sizeof (gpointer);
  memcpy (out_copy, provider, size);
  out_copy->struct_size = sizeof *out_copy;

  if (out_copy->acquire == NULL &&
      (out_copy->acquire_async == NULL || out_copy->acquire_finish == NULL))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NO_ACQUIRE,
                   "Provider '%s' has neither acquire nor the complete "
                   "acquire_async/acquire_finish pair",
                   provider->name);
      return FALSE;
    }

  return TRUE;
}

TetherTemplate *
_tether_template_new_validated (const TetherProvider *copy,
                                gpointer              provider_data,
                                GDestroyNotify        provider_data_destroy)
{
  TetherTemplate *self;

  self = g_object_new (TETHER_TYPE_TEMPLATE, NULL);
  self->provider = *copy;
  self->name = g_strdup (copy->name);
  self->description = g_strdup (copy->description);
  self->provider.name = self->name;
  self->provider.description = self->description;
  self->provider_data = provider_data;
  self->provider_data_destroy = provider_data_destroy;

  TETHER_STATE_LOCK ();
  self->generation = _tether_next_generation_locked ();
  g_ptr_array_add (_tether_all_templates_locked (), self);
  g_ptr_array_add (_tether_templates_locked (), g_object_ref (self));
  self->registered = TRUE;
  TETHER_STATE_UNLOCK ();

  return self;
}

/**
 * tether_template_new:
 * @provider: the provider's vtable; copied, so it need not outlive the call
 * @provider_data: (nullable): passed to every provider function
 *
 * Creates a template for @provider and registers it at the end of the global
 * template list, like Pyot's `ResourceTemplate` constructor. Managers acquire
 * registered templates in registration order.
 *
 * @provider must be valid: the right ABI major version, a `struct_size` no
 * smaller than %TETHER_PROVIDER_MIN_STRUCT_SIZE, a valid name, and `acquire`
 * or the `acquire_async`/`acquire_finish` pair. An invalid provider is a
 * programmer error (a critical is logged and %NULL returned);
 * `tether_load_provider()` reports the same problems as #GError for modules.
 *
 * The global list holds a reference until [method@Tether.Template.unregister];
 * the one returned is the caller's. @provider's `init` hook is not called.
 *
 * Callable from any thread.
 *
 * Returns: (transfer full) (nullable): a new registered template, or %NULL
 *   if @provider is invalid
 */
TetherTemplate *
tether_template_new (const TetherProvider *provider,
                     gpointer              provider_data)
{
  return tether_template_new_full (provider, provider_data, NULL);
}

/**
 * tether_template_new_full:
 * @provider: the provider's vtable; copied, so it need not outlive the call
 * @provider_data: (nullable): passed to every provider function
 * @provider_data_destroy: (nullable): frees @provider_data when the template
 *   is finalized
 *
 * Like [ctor@Tether.Template.new], and takes ownership of @provider_data.
 * The template is finalized, and @provider_data_destroy called, on whichever
 * thread drops the last reference, once it is unregistered and holds no
 * resource.
 *
 * Returns: (transfer full) (nullable): a new registered template, or %NULL
 *   if @provider is invalid
 */
TetherTemplate *
tether_template_new_full (const TetherProvider *provider,
                          gpointer              provider_data,
                          GDestroyNotify        provider_data_destroy)
{
  g_autoptr(GError) error = NULL;
  TetherProvider copy;

  g_return_val_if_fail (provider != NULL, NULL);

  if (!_tether_provider_validate (provider, &copy, &error))
    {
      g_critical ("tether_template_new: invalid provider: %s", error->message);
      return NULL;
    }

  return _tether_template_new_validated (&copy, provider_data, provider_data_destroy);
}

/**
 * tether_template_get_name:
 * @self: a #TetherTemplate
 *
 * Gets the name of the template's provider. Callable from any thread.
 *
 * Returns: (transfer none): the name
 */
const char *
tether_template_get_name (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->name;
}

/**
 * tether_template_get_description:
 * @self: a #TetherTemplate
 *
 * Gets the description of the template's provider. Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the description
 */
const char *
tether_template_get_description (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->description;
}

/**
 * tether_template_get_provider_data:
 * @self: a #TetherTemplate
 *
 * Gets the data given to the provider's functions. Callable from any thread.
 *
 * Returns: (transfer none) (nullable): the provider data
 */
gpointer
tether_template_get_provider_data (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  return self->provider_data;
}

/**
 * tether_template_is_registered:
 * @self: a #TetherTemplate
 *
 * Whether @self is in the global template list. Callable from any thread.
 *
 * Returns: %TRUE until [method@Tether.Template.unregister] is called
 */
gboolean
tether_template_is_registered (TetherTemplate *self)
{
  gboolean registered;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  TETHER_STATE_LOCK ();
  registered = self->registered;
  TETHER_STATE_UNLOCK ();

  return registered;
}

/**
 * tether_template_unregister:
 * @self: a #TetherTemplate
 *
 * Takes @self out of the global template list: managers that enter after
 * this no longer acquire it. Resources it holds stay held, and can still be
 * released by [method@Tether.Template.release], by a manager's release or
 * by a purge; @self can still be acquired directly.
 *
 * Drops the global list's reference. Callable from any thread.
 *
 * Returns: %TRUE if @self was registered, %FALSE if it already was not
 */
gboolean
tether_template_unregister (TetherTemplate *self)
{
  gboolean was_registered;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);

  g_object_ref (self);

  TETHER_STATE_LOCK ();
  was_registered = self->registered;
  if (was_registered)
    {
      self->registered = FALSE;
      g_ptr_array_remove (_tether_templates_locked (), self);
    }
  TETHER_STATE_UNLOCK ();

  g_object_unref (self);

  return was_registered;
}

/**
 * tether_dup_templates:
 *
 * Lists the registered templates in registration order (Pyot's
 * `resource_templates`). The list is a snapshot. Callable from any thread.
 *
 * Returns: (transfer container) (element-type TetherTemplate): a new array
 *   holding a reference on each template; free it with g_ptr_array_unref()
 */
GPtrArray *
tether_dup_templates (void)
{
  GPtrArray *templates;
  GPtrArray *registered;

  TETHER_STATE_LOCK ();
  registered = _tether_templates_locked ();
  templates = g_ptr_array_new_full (registered->len, g_object_unref);
  for (guint i = 0; i < registered->len; i++)
    g_ptr_array_add (templates, g_object_ref (g_ptr_array_index (registered, i)));
  TETHER_STATE_UNLOCK ();

  return templates;
}

/**
 * tether_template_acquire:
 * @self: a #TetherTemplate
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context (as g_main_context_ref_thread_default()
 *   resolves it)
 * @error: return location for a #GError
 *
 * Gets the resource @self holds for @context, acquiring it from the provider
 * the first time.
 *
 * When the resource is held, this reads a per-thread cache and takes no
 * lock. Otherwise, if no acquire for @context is under way, the provider's
 * `acquire` runs on this thread (with @context pushed as thread-default when
 * this thread can own it); if one is under way, this call waits for it and
 * shares its outcome. A failure is returned to every waiting caller and
 * nothing is cached.
 *
 * A template whose provider only has `acquire_async` is served too: when
 * this thread can own @context (it is the thread-default context, or no
 * thread owns it), the asynchronous acquire is started and @context is
 * iterated until it completes, which dispatches other sources of @context
 * in the meantime; when another thread owns @context, this fails with
 * %TETHER_ERROR_WOULD_BLOCK.
 *
 * A provider calling this for the very resource it is acquiring gets
 * %TETHER_ERROR_RECURSIVE; acquiring other templates from inside a provider
 * is fine.
 *
 * @context must stay alive for the duration of the call. Callable from any
 * thread. The first acquire for a second distinct context without an active
 * manager logs a warning (see [func@Tether.set_unmanaged_warning_enabled]).
 *
 * Returns: (transfer none) (nullable): the resource, valid until it is
 *   released for @context; %NULL with @error set on failure
 */
gpointer
tether_template_acquire (TetherTemplate  *self,
                         GMainContext    *context,
                         GError         **error)
{
  static GType template_type;   /* atomic; 0 until the first valid call */
  GType type = __atomic_load_n (&template_type, __ATOMIC_RELAXED);
  gpointer resource;

  /* The hit path checks the type inline: TetherTemplate is final, so a
   * template's class is exactly its type. That spares a call through the PLT
   * to tether_template_get_type() on every call; anything else takes the
   * full check and its critical. */
  if (G_UNLIKELY (type == 0 || self == NULL ||
                  ((GTypeInstance *) self)->g_class == NULL ||
                  ((GTypeInstance *) self)->g_class->g_type != type))
    {
      g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
      __atomic_store_n (&template_type, TETHER_TYPE_TEMPLATE, __ATOMIC_RELAXED);
    }
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  context = resolve_context (context);

  resource = _tether_cache_lookup (self, context, template_generation (self));
  if (G_LIKELY (resource != NULL))
    return resource;

  return _tether_template_acquire_full (self, context, NULL, error);
}

static void
on_waiter_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  TetherFlight *flight = waiter->flight;
  GCancellable *abandon = NULL;
  GTask *task = NULL;

  TETHER_STATE_LOCK ();
  if (!waiter->done)
    {
      waiter->done = TRUE;
      task = g_steal_pointer (&waiter->task);
      flight->n_live_waiters--;

      /* The last caller left: cancel the provider's acquire too. A sync
       * caller that joins later retries once the cancelled flight ends. */
      if (flight->n_live_waiters == 0 && flight->n_sync_waiters == 0 &&
          flight->cancellable != NULL && !g_atomic_int_get (&flight->done))
        {
          flight->abandoned = TRUE;
          abandon = g_object_ref (flight->cancellable);
        }
    }
  TETHER_STATE_UNLOCK ();

  if (task != NULL)
    {
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }

  /* This may complete the flight synchronously; flight_complete() leaves
   * the connection of this (done) waiter alone, so no deadlock. */
  if (abandon != NULL)
    {
      g_cancellable_cancel (abandon);
      g_object_unref (abandon);
    }
}

/* Queues @task on the flight for (@self, @context), starting one if there
 * is none. Consumes @task. */
static void
acquire_async_internal (TetherTemplate *self,
                        GMainContext   *context,
                        GTask          *task)
{
  TetherFlight *flight = NULL;
  TetherEntry *entry;
  Waiter *waiter;
  GCancellable *cancellable = NULL;
  gboolean lead = FALSE;
  gboolean warn = FALSE;

  TETHER_STATE_LOCK ();

  entry = entry_lookup_locked (self, context);
  if (entry != NULL && entry->flight == NULL)
    {
      gpointer resource = entry->resource;

      TETHER_STATE_UNLOCK ();
      g_task_return_pointer (task, resource, NULL);
      g_object_unref (task);
      return;
    }

  if (entry != NULL)
    flight = entry->flight;
  else
    {
      flight = flight_new_locked (self, context, TRUE, &warn);
      lead = TRUE;
    }

  waiter = g_new0 (Waiter, 1);
  ref_count_init (&waiter->ref_count);
  waiter->flight = flight;
  waiter->task = task;
  if (g_task_get_cancellable (task) != NULL)
    waiter->cancellable = g_object_ref (g_task_get_cancellable (task));
  if (flight->waiters == NULL)
    flight->waiters = g_ptr_array_new ();
  g_ptr_array_add (flight->waiters, waiter);
  flight->n_live_waiters++;

  /* Once the lock is released, the flight may complete on another thread
   * and drop its reference, the only one so far: take ours first, one for
   * this function and one for the cancellable connection. */
  if (waiter->cancellable != NULL)
    {
      cancellable = g_object_ref (waiter->cancellable);
      ref_count_inc (&waiter->ref_count);
      ref_count_inc (&waiter->ref_count);
    }

  TETHER_STATE_UNLOCK ();

  /* If the flight completes before this connects, the handler finds the
   * waiter done; if the cancellable is already cancelled, it runs now. */
  if (cancellable != NULL)
    {
      gboolean completed;
      gulong handler;

      handler = g_cancellable_connect (cancellable,
                                       G_CALLBACK (on_waiter_cancelled),
                                       waiter, waiter_unref);

      TETHER_STATE_LOCK ();
      completed = waiter->done;
      if (!completed)
        waiter->handler = handler;
      TETHER_STATE_UNLOCK ();

      /* Completed (or cancelled) while connecting: nobody else will
       * disconnect, and we are not inside the handler. */
      if (completed && handler != 0)
        g_cancellable_disconnect (cancellable, handler);

      g_object_unref (cancellable);
      waiter_unref (waiter);
    }

  if (warn)
    warn_unmanaged (self, context);

  if (lead)
    {
      flight_start_async (flight);
      flight_unref (flight);
    }
}

static void
flight_restart_waiter (TetherTemplate *self,
                       GMainContext   *context,
                       GTask          *task)
{
  acquire_async_internal (self, context, task);
}

/**
 * tether_template_acquire_async:
 * @self: a #TetherTemplate
 * @context: (nullable): the context to acquire for, or %NULL for the calling
 *   thread's thread-default context
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the resource is ready
 * @user_data: (closure): data for @callback
 *
 * Gets the resource @self holds for @context, acquiring it asynchronously
 * the first time. Racing callers, synchronous or not, share one provider
 * acquire.
 *
 * The provider's `acquire_async` (or, lacking it, its `acquire`) is started
 * at once with @context pushed as thread-default when this thread can own
 * @context, and otherwise from an idle source attached to @context, so it
 * runs in the thread iterating @context; its completion is dispatched in
 * @context.
 *
 * @callback is invoked in the thread-default main context of the thread that
 * called this function. Cancelling @cancellable fails this call with
 * %G_IO_ERROR_CANCELLED; the provider's acquire is cancelled only when every
 * caller waiting for it has left. A reference on @context is held until the
 * acquire completes.
 *
 * Callable from any thread.
 */
void
tether_template_acquire_async (TetherTemplate      *self,
                               GMainContext        *context,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  gpointer resource;

  g_return_if_fail (TETHER_IS_TEMPLATE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  context = resolve_context (context);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_template_acquire_async);
  g_task_set_name (task, "[tether] tether_template_acquire_async");

  resource = _tether_cache_lookup (self, context, template_generation (self));
  if (resource != NULL)
    {
      g_task_return_pointer (task, resource, NULL);
      g_object_unref (task);
      return;
    }

  acquire_async_internal (self, context, task);
}

/**
 * tether_template_acquire_finish:
 * @self: a #TetherTemplate
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes [method@Tether.Template.acquire_async].
 *
 * Returns: (transfer none) (nullable): the resource, valid until it is
 *   released for its context; %NULL with @error set on failure
 */
gpointer
tether_template_acquire_finish (TetherTemplate  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_template_acquire_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tether_template_lookup:
 * @self: a #TetherTemplate
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 *
 * Gets the resource @self holds for @context without ever acquiring one.
 * Takes no lock when the resource is in this thread's cache. Callable from
 * any thread.
 *
 * Returns: (transfer none) (nullable): the held resource, or %NULL if none is
 *   held (or one is still being acquired)
 */
gpointer
tether_template_lookup (TetherTemplate *self,
                        GMainContext   *context)
{
  gpointer resource;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), NULL);

  context = resolve_context (context);

  resource = _tether_cache_lookup (self, context, template_generation (self));
  if (resource != NULL)
    return resource;

  return _tether_template_lookup_ref (self, context, NULL);
}

/* Looks up the held resource of (@self, @context) under the state lock and,
 * if @ref_func is not NULL, applies it there, before a concurrent release
 * could take the resource off the table and free it. @context is resolved. */
gpointer
_tether_template_lookup_ref (TetherTemplate *self,
                             GMainContext   *context,
                             gpointer      (*ref_func) (gpointer))
{
  TetherEntry *entry;
  gpointer resource;

  TETHER_STATE_LOCK ();
  entry = entry_lookup_locked (self, context);
  resource = (entry != NULL && entry->flight == NULL) ? entry->resource : NULL;
  if (resource != NULL && ref_func != NULL)
    resource = ref_func (resource);
  TETHER_STATE_UNLOCK ();

  return resource;
}

GMainContext *
_tether_resolve_context (GMainContext *context)
{
  return resolve_context (context);
}

/* Releases the held resource of (@self, @context) gracefully. With
 * @only_if_held, nothing held is not an error. */
gboolean
_tether_template_release_full (TetherTemplate  *self,
                               GMainContext    *context,
                               gboolean         only_if_held,
                               GError         **error)
{
  TetherEntry *entry;
  GSource *detach = NULL;
  gpointer resource;

  TETHER_STATE_LOCK ();
  entry = entry_lookup_locked (self, context);
  if (entry == NULL || entry->flight != NULL)
    {
      gboolean in_flight = entry != NULL;

      TETHER_STATE_UNLOCK ();
      if (only_if_held)
        return TRUE;
      if (in_flight)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing yet for context %p: it is still being acquired",
                     self->name, context);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_ACQUIRED,
                     "Template '%s' holds nothing for context %p",
                     self->name, context);
      return FALSE;
    }

  entry_remove_locked (self, entry);
  detach = _tether_context_record_maybe_detach_locked (
             _tether_context_record_lookup_locked (context));
  TETHER_STATE_UNLOCK ();

  resource = entry->resource;
  g_free (entry);

  provider_release (self, resource, context, TRUE);
  _tether_context_record_finish_detach (detach);
  g_object_unref (self);   /* the entry's reference */

  return TRUE;
}

/**
 * tether_template_release:
 * @self: a #TetherTemplate
 * @context: (nullable): the context, or %NULL for the calling thread's
 *   thread-default context
 * @error: return location for a #GError
 *
 * Releases, gracefully, the resource @self holds for @context: it is taken
 * off the tables, then the provider's `release` runs on this thread with
 * `graceful == TRUE` and @context (pushed as thread-default when this thread
 * can own it). The next acquire for @context acquires anew.
 *
 * @context must be alive for the duration of the call. Callable from any
 * thread; see the thread rules of [class@Tether.Template] about resources
 * still in use elsewhere.
 *
 * Returns: %TRUE if a resource was released; %FALSE with
 *   %TETHER_ERROR_NOT_ACQUIRED if nothing is held for @context (Pyot's
 *   `ValueError`)
 */
gboolean
tether_template_release (TetherTemplate  *self,
                         GMainContext    *context,
                         GError         **error)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _tether_template_release_full (self, resolve_context (context), FALSE, error);
}

typedef struct
{
  TetherTemplate *template;
  TetherEntry    *entry;
} HeldEntry;

static gint
compare_serial_descending (gconstpointer a,
                           gconstpointer b)
{
  const HeldEntry *ha = a;
  const HeldEntry *hb = b;

  return (ha->entry->serial < hb->entry->serial) - (ha->entry->serial > hb->entry->serial);
}

/* Releases everything held for @context, most recently acquired first, and
 * ends @manager's hold on the context if @manager is not NULL. Returns how
 * many resources were released. */
guint
_tether_release_context (GMainContext  *context,
                         TetherManager *manager)
{
  g_autoptr(GArray) held = g_array_new (FALSE, FALSE, sizeof (HeldEntry));
  TetherContextRecord *record;
  GPtrArray *templates;
  GSource *detach;

  TETHER_STATE_LOCK ();
  record = _tether_context_record_lookup_locked (context);
  templates = _tether_all_templates_locked ();
  for (guint i = 0; record != NULL && record->n_entries > 0 && i < templates->len; i++)
    {
      HeldEntry item = { g_ptr_array_index (templates, i), NULL };

      item.entry = entry_lookup_locked (item.template, context);
      if (item.entry == NULL || item.entry->flight != NULL)
        continue;

      entry_remove_locked (item.template, item.entry);
      g_array_append_val (held, item);
    }

  g_array_sort (held, compare_serial_descending);

  if (manager != NULL && record != NULL && record->manager == manager)
    record->manager = NULL;
  detach = _tether_context_record_maybe_detach_locked (record);
  TETHER_STATE_UNLOCK ();

  for (guint i = 0; i < held->len; i++)
    {
      HeldEntry *item = &g_array_index (held, HeldEntry, i);

      provider_release (item->template, item->entry->resource, context, TRUE);
      g_clear_pointer (&item->entry, g_free);
    }

  _tether_context_record_finish_detach (detach);

  /* The entries' references, dropped last: a template may finalize here. */
  for (guint i = 0; i < held->len; i++)
    g_object_unref (g_array_index (held, HeldEntry, i).template);

  return held->len;
}

/**
 * tether_template_purge:
 * @self: a #TetherTemplate
 *
 * Releases at once, ungracefully, the resources @self held for contexts that
 * no longer exist and that the janitor has not released yet (Pyot's
 * `ResourceTemplate.purge()`). The provider's `release` runs on this thread
 * with `graceful == FALSE` and `context == NULL`. Callable from any thread.
 *
 * Returns: the number of resources released
 */
guint
tether_template_purge (TetherTemplate *self)
{
  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), 0);

  return _tether_purge_queue_drain (self);
}

/**
 * tether_template_get_n_held:
 * @self: a #TetherTemplate
 *
 * Counts the contexts @self holds a resource for (acquired and not yet
 * released or taken off by a context's death). A snapshot; callable from
 * any thread.
 *
 * Returns: the number of held resources
 */
guint
tether_template_get_n_held (TetherTemplate *self)
{
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  g_return_val_if_fail (TETHER_IS_TEMPLATE (self), 0);

  TETHER_STATE_LOCK ();
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (((TetherEntry *) key)->flight == NULL)
      n++;
  TETHER_STATE_UNLOCK ();

  return n;
}
