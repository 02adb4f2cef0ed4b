/* tether-loader-private.h: private to libtether, never installed.
 *
 * The provider loader is five files, each one concept, calling downwards
 * only (a file calls the ones listed before it, never after):
 *
 *   tether-loader-info.c     the boxed results: TetherLoadFailure and
 *                            TetherProviderInfo (no state)
 *   tether-loader-config.c   the parsers: provider names, configuration
 *                            text, TETHER_PROVIDER_PATH, secure mode (no
 *                            state)
 *   tether-loader.c          opening one module in this process: checks,
 *                            dlopen, entry point, registration (owns
 *                            loader_lock)
 *   tether-loader-dirs.c     loading and listing directories in this
 *                            process, through tether-loader.c
 *   tether-scan.c            listing out of process: runs the
 *                            tether-scanner helper per module and reads
 *                            its records (tether-scan-protocol.c); no lock,
 *                            no global state
 *
 * tools/tether-scanner.c is the helper itself: it links this library's
 * objects and calls tether-loader.c with a stage callback that writes each
 * stage to its parent before entering it, so that a module that kills the
 * helper is reported with the stage it died in.
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tether-provider-private.h"
#include "tether-template-private.h"

G_BEGIN_DECLS

/* GObject data key under which a template made by the loader keeps the
 * resolved path of its module (a string owned by the template). */
#define TETHER_LOADER_MODULE_PATH_KEY "tether-module-path"

#define TETHER_LOADER_CONFIG_GROUP_PREFIX "provider "

/* The environment variable naming the scanner helper, ignored in secure
 * mode; otherwise TETHER_SCANNER_PATH from config.h. */
#define TETHER_SCANNER_ENV "TETHER_SCANNER"

/* tether-loader-info.c ---------------------------------------------------- */

TetherLoadFailure  *_tether_load_failure_new_take   (const char         *path,
                                                     TetherLoadStage     stage,
                                                     GError             *error);

/* Takes @name, @description, @real_path and @resource_type. */
TetherProviderInfo *_tether_provider_info_new_take  (char               *name,
                                                     char               *description,
                                                     char               *real_path,
                                                     guint32             abi_version,
                                                     gboolean            is_async,
                                                     char               *resource_type);

/* The words a message uses for @stage: "in its ELF constructors
 * (dlopen)", "in its entry point tether_provider_entry ()", ... */
const char         *_tether_load_stage_describe     (TetherLoadStage     stage);
/* A short machine name: "open", "entry", "init", ... (the scanner's
 * protocol and tether-inspect use it). */
const char         *_tether_load_stage_to_string    (TetherLoadStage     stage);
gboolean            _tether_load_stage_from_string  (const char         *word,
                                                     TetherLoadStage    *out_stage);

/* tether-loader-config.c -------------------------------------------------- */

/* Whether @name is a valid provider name (the alphabet the core enforces). */
gboolean   _tether_loader_name_is_valid     (const char  *name);

/* Splits a TETHER_PROVIDER_PATH-style value at ':' and keeps, in order, the
 * entries that are absolute paths (empty and relative entries are dropped:
 * a relative entry would make the search depend on the working directory).
 * @value may be NULL. Never returns NULL. */
char     **_tether_loader_parse_search_path (const char  *value);

/* As _tether_loader_parse_search_path(), and adds to @ignored (of
 * TetherLoadFailure, TETHER_ERROR_INVALID_CONFIG) one failure per
 * non-empty entry it dropped, saying why and what to write instead. */
char     **_tether_loader_parse_search_path_full (const char *value,
                                                  GPtrArray  *ignored);

/* Parses provider configuration text (GKeyFile syntax). Every group must be
 * `[provider NAME]` with a valid provider name. Fails with
 * TETHER_ERROR_INVALID_CONFIG. @data need not be NUL-terminated; it may
 * contain NUL bytes (they are refused). @out_config may be NULL. */
gboolean   _tether_loader_parse_config      (const char  *data,
                                             gsize        length,
                                             GKeyFile   **out_config,
                                             GError     **error);

/* The search path as it would be for @env_value and @secure_mode; what
 * tether_get_provider_search_path() uses with the real environment and
 * getauxval (AT_SECURE). */
char     **_tether_loader_search_path_for   (const char  *env_value,
                                             gboolean     secure_mode);

/* The search path, adding to @ignored (nullable) a failure for each entry
 * of TETHER_PROVIDER_PATH that is not used, and one when the whole
 * variable is ignored because the process runs in secure mode. */
char     **_tether_loader_search_path_checked (GPtrArray  *ignored);

/* Whether the process runs in secure mode (setuid, setgid, capabilities):
 * getauxval (AT_SECURE). */
gboolean   _tether_loader_is_secure_mode    (void);

/* tether-loader.c --------------------------------------------------------- */

/* Called by the loader just before it enters @stage. The scanner writes
 * the stage to its parent there; the in-process loader passes NULL. */
typedef void (*TetherLoadStageFunc) (TetherLoadStage  stage,
                                     gpointer         user_data);

/* What a module's vtable says about it, after validation. */
typedef struct
{
  char                 *real_path;
  const TetherProvider *provider;   /* as the module gave it */
  TetherProvider        copy;       /* validated, padded to this layout */
} TetherLoaderModule;

void             _tether_loader_module_clear     (TetherLoaderModule   *module);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TetherLoaderModule, _tether_loader_module_clear)

/* Refuses @path (a "module" or "directory", says @what) when anyone but
 * root or the caller could have written it: INSECURE_PATH, with the fix. */
gboolean         _tether_loader_check_secure     (const char           *path,
                                                  const char           *what,
                                                  GError              **error);

/* DUPLICATE_NAME for the module at @path whose provider @name was first
 * registered (or, when @listing, listed) from @first: an absolute path,
 * or words such as "by the application (tether_template_new)". */
GError          *_tether_loader_duplicate_error  (const char           *path,
                                                  const char           *name,
                                                  const char           *first,
                                                  gboolean              listing);

/* Checks and opens @path and validates its vtable: everything
 * tether_list_providers() does for one file. On failure, @out_stage (may
 * be NULL) says where. */
gboolean         _tether_loader_open_module      (const char           *path,
                                                  TetherLoadFlags       flags,
                                                  TetherLoadStageFunc   stage_func,
                                                  gpointer              user_data,
                                                  TetherLoaderModule   *out_module,
                                                  TetherLoadStage      *out_stage,
                                                  GError              **error);

/* tether_load_provider_full() with a stage callback and the failing stage. */
TetherTemplate  *_tether_loader_load             (const char           *path,
                                                  GKeyFile             *config,
                                                  TetherLoadFlags       flags,
                                                  TetherLoadStageFunc   stage_func,
                                                  gpointer              user_data,
                                                  TetherLoadStage      *out_stage,
                                                  GError              **error);

/* tether-loader-dirs.c ---------------------------------------------------- */

/* Calls @func for every `*.so` file in @dirs (NULL: the search path, whose
 * ignored entries become failures), each directory's files in name order.
 * Directories that cannot be used are added to @failures. */
typedef void (*TetherLoaderModuleFunc) (const char *path,
                                        gpointer    user_data,
                                        GPtrArray  *failures);

void             _tether_loader_foreach_module   (const char *const    *dirs,
                                                  TetherLoadFlags       flags,
                                                  TetherLoaderModuleFunc func,
                                                  gpointer              user_data,
                                                  GPtrArray            *failures);

/* tether-scan.c, tether-scan-protocol.c ----------------------------------- */

#define TETHER_SCAN_PROTOCOL_VERSION 1

/* How one module fared in the scanner. */
typedef struct
{
  char            *path;          /* as given */
  char            *real_path;     /* nullable: symbolic links resolved */
  TetherLoadStage  stage;         /* the last stage the helper entered */
  /* The vtable, when the helper got that far (name != NULL). */
  char            *name;
  char            *description;
  char            *resource_type; /* GType name of the resources, or NULL */
  guint32          abi_version;
  guint32          struct_size;
  gboolean         has_sync;      /* acquire */
  gboolean         has_async;     /* acquire_async + acquire_finish */
  /* Microseconds each stage took, -1 when it did not run. */
  gint64           open_us;
  gint64           init_us;
  gint64           acquire_us;
  gint64           release_us;
  gint64           shutdown_us;
  gboolean         exercised;     /* acquire and release ran and succeeded */
  /* Why the module failed to load (TETHER_ERROR), or NULL. */
  GError          *error;
  /* Why acquire or release failed when exercised, or NULL, and which. */
  GError          *exercise_error;
  TetherLoadStage  exercise_stage;
  /* The helper died (signal, exit without "done") or hung. */
  gboolean         crashed;
  gboolean         timed_out;
  int              signal;        /* 0 unless killed by a signal */
  char            *output_tail;   /* last lines the module printed, or NULL */
} TetherScanResult;

void              _tether_scan_result_free       (TetherScanResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherScanResult, _tether_scan_result_free)

typedef enum
{
  TETHER_SCAN_LIST     = 0,       /* open and validate, as listing does */
  TETHER_SCAN_LOAD     = 1 << 0,  /* then init and register */
  TETHER_SCAN_EXERCISE = 1 << 1,  /* then acquire and release once */
} TetherScanMode;

/* The helper to run: $TETHER_SCANNER (not in secure mode) or the installed
 * one. Never NULL. */
char             *_tether_scan_get_helper_path   (void);

/* Examines @path in a fresh helper process, killing it after @timeout_ms.
 * Never returns NULL; a helper that could not run gives a result with
 * @error set (stage TETHER_LOAD_STAGE_NONE). @config_path (nullable) is
 * given to init. */
TetherScanResult *_tether_scan_module            (const char      *path,
                                                  TetherScanMode   mode,
                                                  TetherLoadFlags  flags,
                                                  const char      *config_path,
                                                  guint            timeout_ms,
                                                  gint64          *out_elapsed_us);

/* The protocol: one record per line, `TAG VALUE`, VALUE escaped with
 * g_strescape(). The helper writes; the parent parses into a result. */
void              _tether_scan_write_record      (int              fd,
                                                  const char      *tag,
                                                  const char      *value);
void              _tether_scan_write_error       (int              fd,
                                                  const char      *tag,
                                                  const GError    *error);
/* Fills @result from the helper's output; returns whether the helper
 * reached its "done" record. */
gboolean          _tether_scan_parse_records     (const char      *data,
                                                  gsize            length,
                                                  TetherScanResult *result);

G_END_DECLS
