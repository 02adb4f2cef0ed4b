/* bench-common.h: timing, statistics, tables and a trivial provider shared
 * by tether's benchmarks
 *
 * SPDX-FileCopyrightText: 2026 The tether authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdio.h>

#include <tether/tether.h>

G_BEGIN_DECLS

/* Options every benchmark understands:
 *   --rounds N   repetitions of each measurement (median and spread are over them)
 *   --quick      small sizes, for a smoke run
 *   --tsv FILE   also write the figures as tab-separated values */
typedef struct
{
  guint     rounds;
  gboolean  quick;
  char     *tsv_path;
  FILE     *tsv;
} BenchOptions;

void      bench_parse_options   (BenchOptions  *options,
                                 int           *argc,
                                 char        ***argv,
                                 const char    *summary,
                                 guint          default_rounds);
void      bench_finish          (BenchOptions  *options);

/* One line of context for reading the figures: cores, CPU, load. */
void      bench_print_header    (const char    *title);

/* CLOCK_MONOTONIC, in nanoseconds. */
gint64    bench_now_ns          (void);

/* Statistics over @n samples (sorted in place). */
typedef struct
{
  double median;
  double min;
  double max;
} BenchStats;

BenchStats bench_stats          (double        *samples,
                                 guint          n);

/* "12.3 (11.9–13.0)" */
char     *bench_format_stats    (BenchStats     stats,
                                 int            decimals);

/* Writes one TSV row: benchmark, case, metric, median, min, max. */
void      bench_tsv_row         (BenchOptions  *options,
                                 const char    *benchmark,
                                 const char    *case_name,
                                 const char    *metric,
                                 BenchStats     stats);

/* "met" / "MISSED" */
const char *bench_verdict       (gboolean       met);

#define BENCH_NOINLINE __attribute__((noinline))

/* Keeps the compiler from dropping a computed value. */
static inline void
bench_sink (gpointer value)
{
  __asm__ __volatile__ ("" : : "r" (value) : "memory");
}

/* A trivial provider: acquire returns a static non-NULL pointer and release
 * does nothing, so that what is timed is tether itself. */
TetherTemplate *bench_trivial_template_new (const char *name);

/* CPU time other processes (and the hypervisor: steal) used on this
 * machine, for telling a round disturbed by them from an undisturbed one.
 * Read /proc/stat's busy time for all CPUs and this process's own CPU time;
 * their difference is what others used. Resolution: one clock tick
 * (usually 10 ms) per CPU. */
typedef struct
{
  double all_busy_s;    /* every CPU's busy time, seconds */
  double self_s;        /* this process's user + system time, seconds */
  gint64 wall_ns;
} BenchCpuSample;

void      bench_cpu_sample      (BenchCpuSample *sample);

/* Fraction of the machine's capacity (cores x wall time) that other
 * processes used between @before and @after; 0 when unknown. */
double    bench_foreign_load    (const BenchCpuSample *before,
                                 const BenchCpuSample *after);

/* Raises the open-file limit (each GMainContext holds an eventfd) to at
 * least @wanted. Returns the limit in force afterwards. */
guint64   bench_raise_fd_limit  (guint64        wanted);

G_END_DECLS
