/* history.h — `bench_mlp history` and the `--history FILE` hooks of run, report and ab.
 *
 * cmd_history.c: the subcommand (list, show, import, export) and the hooks;
 * history_report.c: `history trend` (change points, SVG, HTML) and `history gate` (the
 * run-level regression rule of `regress` against the last comparable runs recorded).
 * The database itself is history_db.h; the change-point method history_trend.h.
 * Every function returns a process exit code (cli.h): 0 ok, 1 runtime, 2 usage,
 * 3 regression (gate), after printing one error line.
 */
#ifndef TMLP_BENCH_HISTORY_H
#define TMLP_BENCH_HISTORY_H

#include <cjson/cJSON.h>

#include "run.h"

/* The hooks: record a results document (`source`: "run", "report", "ab") into the history
 * database at `db`, creating it if missing; one line on stderr names the run id.
 * 0 or TMLP_EXIT_RUNTIME after an error line. */
int tmlp_history_record_doc(const char *db, const cJSON *doc, const char *source);
/* `ab`'s hook. The interleaved A/B stream becomes a results document of two runs,
 * "ab A" and "ab B" (scenario "ab"), each with one repetition per stream repetition
 * (latency mean, p50, p90, p99 in ns: figures[(arm * 4 + m) * stride + k] for arm 0/1,
 * metric m and repetition k < repeat) and repetition 1's accuracy (`first`, when
 * labelled). The context is the system's (tmlp_context_json) plus model "A vs B", the data
 * and the seeds; the workload digest hashes models, data, split, queries, warm-up and
 * seeds, so only identical A/B workloads are comparable. 0 or TMLP_EXIT_RUNTIME. */
int tmlp_history_record_ab(const char *db, const char *model_a, const char *model_b, const char *data,
                           const tmlp_ab_settings *s, const tmlp_ab_result *first, const double *figures,
                           int64_t stride, int64_t repeat);

/* Open the existing history database at path (never creating one): 0, or TMLP_EXIT_RUNTIME
 * after "history: PATH: reason". */
struct tmlp_history;
int tmlp_history_open_existing(const char *path, struct tmlp_history **h);

/* history_report.c: argv[0] = "trend" / "gate". */
int tmlp_history_trend(int argc, char **argv);
int tmlp_history_gate(int argc, char **argv);

#endif
