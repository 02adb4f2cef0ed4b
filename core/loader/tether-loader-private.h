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

#include "tether-env-private.h"
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

/* The longest message the loader gives, in bytes. */
#define TETHER_LOADER_MESSAGE_MAX 4096

/* Makes @error's message valid UTF-8 (escaping invalid bytes) of at most
 * TETHER_LOADER_MESSAGE_MAX bytes and an ellipsis. */
void                _tether_loader_make_message_safe (GError           **error);

/* What a module that links libtether-1 must change: the guide's advice. */
#define TETHER_LOADER_LINKS_LIBTETHER_ADVICE \
  "a provider module must not link libtether-1: the process that loads it has the " \
  "library already, and a second copy would register tether's types twice. Build it " \
  "against the tether-1 headers only (meson: dependency ('tether-1').partial_dependency " \
  "(compile_args: true); cc: `pkg-config --cflags tether-1`, without --libs)"

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
 * _tether_env_is_secure_mode (). */
char     **_tether_loader_search_path_for   (const char  *env_value,
                                             gboolean     secure_mode);

/* The search path, adding to @ignored (nullable) a failure for each entry
 * of TETHER_PROVIDER_PATH that is not used, and one when the whole
 * variable is ignored because the process runs in secure mode. */
char     **_tether_loader_search_path_checked (GPtrArray  *ignored);

/* tether-loader-path.c ---------------------------------------------------- */

struct stat;

/* Opens the module file @path for reading, once: walks it from "/" holding
 * each directory open, follows symbolic links by hand, and (unless @flags
 * has TETHER_LOAD_ALLOW_INSECURE_PATH) refuses with INSECURE_PATH, naming
 * the fix, any directory on the way that another user could change, and a
 * module or module directory anyone but root or the effective user could
 * write. Returns the descriptor (O_CLOEXEC), the physical path in
 * @out_real_path and the descriptor's stat in @out_stat; or -1 with
 * @error set. */
int              _tether_loader_open_file        (const char           *path,
                                                  TetherLoadFlags       flags,
                                                  char                **out_real_path,
                                                  struct stat          *out_stat,
                                                  GError              **error);

/* The same walk for a directory (a search directory; @what says how the
 * message calls it): every directory on the way, and the directory itself
 * as a module's directory is. */
gboolean         _tether_loader_check_secure     (const char           *path,
                                                  const char           *what,
                                                  GError              **error);

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

/* Called by the loader with the validated vtable copy, before init and
 * registration: the scanner replaces the provider's functions with its own
 * wrappers there. */
typedef void (*TetherLoaderWrapFunc) (TetherProvider *copy,
                                      gpointer        user_data);

/* tether_load_provider_full() with a stage callback, a wrapper of the
 * vtable (both nullable, given @user_data) and the failing stage. */
TetherTemplate  *_tether_loader_load             (const char           *path,
                                                  GKeyFile             *config,
                                                  TetherLoadFlags       flags,
                                                  TetherLoadStageFunc   stage_func,
                                                  TetherLoaderWrapFunc  wrap_func,
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

#define TETHER_SCAN_PROTOCOL_VERSION 2

/* Bounds on what the parent reads from a helper (tether-scan.c) and on
 * each record (tether-scan-protocol.c). */
#define TETHER_SCAN_RECORDS_MAX      (256 * 1024)  /* record bytes; then killed */
#define TETHER_SCAN_OUTPUT_MAX       (1024 * 1024) /* module output; then killed */
#define TETHER_SCAN_OUTPUT_KEEP      (4 * 1024)    /* of which the tail is kept */
#define TETHER_SCAN_LINE_MAX         (16 * 1024)
#define TETHER_SCAN_PATH_MAX         4096
#define TETHER_SCAN_DESCRIPTION_MAX  1024
#define TETHER_SCAN_ERROR_MAX        (TETHER_LOADER_MESSAGE_MAX + 64)
#define TETHER_SCAN_MAX_CALLS        256

/* Which of the exercise's two cycles was under way. */
typedef enum
{
  TETHER_SCAN_CYCLE_NONE,
  TETHER_SCAN_CYCLE_GRACEFUL,     /* acquire, then release with the context */
  TETHER_SCAN_CYCLE_UNGRACEFUL,   /* acquire, the context dies, purge */
} TetherScanCycle;

/* Where the last provider function the helper named was. */
typedef enum
{
  TETHER_SCAN_FUNCTION_NONE,
  TETHER_SCAN_FUNCTION_RUNNING,      /* called, not returned */
  TETHER_SCAN_FUNCTION_RETURNED,     /* returned (acquire_async: no callback yet) */
  TETHER_SCAN_FUNCTION_CALLED_BACK,  /* acquire_async's callback came */
} TetherScanFunctionState;

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
  char            *links_libtether; /* a libtether-1 the module pulled in, or NULL */
  /* Microseconds each stage took, -1 when it did not run. */
  gint64           open_us;
  gint64           init_us;
  gint64           acquire_us;
  gint64           release_us;
  gint64           ungraceful_release_us;
  gint64           shutdown_us;
  gboolean         exercised;     /* both cycles ran and succeeded */
  gboolean         ungraceful_skipped; /* the resource keeps its context alive */
  TetherScanCycle  cycle;         /* the cycle last begun */
  char            *function;      /* the provider function last named, or NULL */
  TetherScanFunctionState function_state;
  guint            n_calls;
  /* Why the module failed to load (TETHER_ERROR), or NULL. */
  GError          *error;
  /* Why the exercise failed, or NULL; the stage, and the provider
   * function at fault (nullable). */
  GError          *exercise_error;
  TetherLoadStage  exercise_stage;
  char            *exercise_function;
  /* The helper died (signal, exit without "done"), hung, flooded its
   * output, or wrote records that are not valid. */
  gboolean         crashed;
  gboolean         timed_out;
  gboolean         flooded;
  gboolean         invalid_records;
  int              signal;        /* 0 unless killed by a signal */
  char            *output_tail;   /* last lines the module printed, or NULL */
  guint64          output_bytes;  /* all it printed, kept or not */
} TetherScanResult;

/* A result for @path (nullable) with nothing known yet: every time -1. */
TetherScanResult *_tether_scan_result_new        (const char       *path);
void              _tether_scan_result_free       (TetherScanResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherScanResult, _tether_scan_result_free)

typedef enum
{
  TETHER_SCAN_LIST     = 0,       /* open and validate, as listing does */
  TETHER_SCAN_LOAD     = 1 << 0,  /* then init and register */
  TETHER_SCAN_EXERCISE = 1 << 1,  /* then a graceful and an ungraceful cycle */
} TetherScanMode;

/* The helper to run: $TETHER_SCANNER (not in secure mode) or the installed
 * one. Never NULL. */
char             *_tether_scan_get_helper_path   (void);

/* Examines @path in a fresh helper process (in a process group of its
 * own, killed whole at the end), killing it after @timeout_ms or when it
 * writes more than TETHER_SCAN_OUTPUT_MAX bytes of output or
 * TETHER_SCAN_RECORDS_MAX of records. Never returns NULL; a helper that
 * could not run gives a result with @error set (stage
 * TETHER_LOAD_STAGE_NONE). @config_path (nullable) is given to init. */
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
/* `TAG [FUNCTION ]DOMAIN CODE MESSAGE`; @function nullable. */
void              _tether_scan_write_error       (int              fd,
                                                  const char      *tag,
                                                  const char      *function,
                                                  const GError    *error);

typedef enum
{
  TETHER_SCAN_RECORDS_NOT_OURS,   /* no version line: not our helper */
  TETHER_SCAN_RECORDS_INCOMPLETE, /* well-formed so far, no `done` */
  TETHER_SCAN_RECORDS_COMPLETE,   /* `done`, and everything @mode needs */
  TETHER_SCAN_RECORDS_INVALID,    /* something no helper writes */
} TetherScanRecords;

/* Fills @result from the helper's records, checking every one (see
 * tether-scan-protocol.c); @out_problem (nullable) gets what is wrong
 * with INVALID records, in words fit for a message. */
TetherScanRecords _tether_scan_parse_records     (const char      *data,
                                                  gsize            length,
                                                  TetherScanMode   mode,
                                                  TetherScanResult *result,
                                                  char           **out_problem);

G_END_DECLS
