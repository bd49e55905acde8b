/* cli.h — helpers shared by every bench_mlp subcommand: one-line errors, exit codes,
 * and option values with units.
 *
 * Conventions (every subcommand follows them, so users learn them once):
 *   - Errors are ONE line on stderr, prefixed "bench_mlp: ", naming the option and the
 *     rule that failed:  bench_mlp: --target-qps: must be > 0 (got "-5")
 *   - Exit codes: 0 success, 1 runtime failure (missing file, bad model, out of memory),
 *     2 usage error (unknown option, bad number or unit), 3 regression found (regress),
 *     130 / 143 interrupted by SIGINT (Ctrl-C) / SIGTERM (128 + the signal number; what was
 *     measured is still printed on stdout, marked INVALID; files are left as they were).
 *   - Every parser below returns 0 on success and TMLP_EXIT_USAGE (2) after printing the
 *     error line, so a caller writes:
 *         if ((rc = tmlp_cli_parse_i64("--workers", optarg, 1, 256, &n))) return rc;
 *
 * Units accepted (case-sensitive, a space between number and unit is not allowed):
 *   durations   ns, us (or µs), ms, s, min; a bare number is in the option's default unit
 *               ("--min-duration-ms 2s" == "--min-duration-ms 2000")
 *   counts      optional k (x1000) or M (x1000000) suffix: "--min-queries 10k"
 *   rates       a count, optionally followed by "/s": "--target-qps 2k", "2000/s"
 *   percentiles a fraction in (0, 1) such as 0.99, or a percent with the sign: "99%".
 *               A bare 99 is rejected: LoadGen users routinely pass 99 meaning 0.99.
 */
#ifndef TMLP_BENCH_CLI_H
#define TMLP_BENCH_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "io/atomic_file.h"

#define TMLP_EXIT_OK 0
#define TMLP_EXIT_RUNTIME 1
#define TMLP_EXIT_USAGE 2
#define TMLP_EXIT_REGRESSION 3
#define TMLP_EXIT_INTERRUPTED 130

/* Print "bench_mlp: <message>\n" on stderr. */
void tmlp_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Put `prefix` (kept, not copied; "" = none) after "bench_mlp: " on every error line. */
void tmlp_cli_set_prefix(const char *prefix);
/* Print "bench_mlp: <message> (see 'bench_mlp --help')\n"; returns TMLP_EXIT_USAGE. */
int tmlp_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Integer in [min, max], decimal (or 0x hex), optional k/M suffix. */
int tmlp_cli_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
/* Seeds: any uint64, decimal or 0x hex. */
int tmlp_cli_parse_u64(const char *opt, const char *s, uint64_t *out);
/* Finite double in [min, max]. */
int tmlp_cli_parse_double(const char *opt, const char *s, double min, double max, double *out);
/* A duration, returned in nanoseconds; `default_unit_ns` is the unit of a bare number
 * (1000000 for an option named *-ms). Must be >= 0 and fit in uint64. */
int tmlp_cli_parse_duration_ns(const char *opt, const char *s, uint64_t default_unit_ns,
                               uint64_t *out_ns);
/* A rate in events per second, > 0 ("2000", "2k", "2.5k/s"). */
int tmlp_cli_parse_rate(const char *opt, const char *s, double *out);
/* A percentile as a fraction in (0, 1): "0.99" or "99%". Rejects "99" with an
 * explanation of the percent-vs-fraction trap. */
int tmlp_cli_parse_percentile(const char *opt, const char *s, double *out);
/* Comma-separated integers in [min, max]: "1,8,32,256". At most `cap` values. */
int tmlp_cli_parse_i64_list(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
                            int cap, int *n);
/* The model spec "synthetic:AxBx..." (every command's --model): the widths of a seeded
 * random MLP (tmlp_model_random) into w[0, *n), 2 to `cap` of them, each in 1..65536.
 * The one parser of it; 0, or TMLP_EXIT_USAGE after an error line naming the spec. */
int tmlp_cli_parse_synthetic(const char *spec, int64_t *w, int cap, int *n);

/* --- output files -----------------------------------------------------------------------
 * Every file bench_mlp writes goes through one of these: written to a temporary beside the
 * target and renamed over it only when complete (src/io/atomic_file.h), so a failure, a
 * signal or kill -9 never leaves a truncated file or destroys the previous one. */
typedef struct tmlp_cli_output {
    FILE *f;                /* write here: stdout for "-", else the temporary */
    tmlp_atomic_file *af;   /* NULL for stdout */
    const char *opt, *path; /* for messages */
} tmlp_cli_output;

/* Start writing `path` ("-" = stdout). On failure prints the error line and returns
 * TMLP_EXIT_RUNTIME; o->f is then NULL. */
int tmlp_cli_output_open(tmlp_cli_output *o, const char *opt, const char *path);
/* Make the file appear (checked flush, fsync, rename); stdout is flushed and checked.
 * 0, or TMLP_EXIT_RUNTIME after the error line. Safe on an unopened (zeroed) output. */
int tmlp_cli_output_commit(tmlp_cli_output *o);
/* Discard what was written: the target keeps its previous contents. Safe to repeat. */
void tmlp_cli_output_abort(tmlp_cli_output *o);

/* One file named on the command line: its option and path (NULL path = not given). */
typedef struct tmlp_cli_path {
    const char *opt, *path;
} tmlp_cli_path;
/* Refuse (usage error line, TMLP_EXIT_USAGE) an output that names an input or another
 * output: "--output m.safetensors" would replace the model, "--output a --trace a" would
 * interleave two documents. Files are compared by (device, inode) when they exist, else by
 * their canonical directory and name; "-" (stdout) collides only with another "-". */
int tmlp_cli_check_outputs(const tmlp_cli_path *outs, int n_outs, const tmlp_cli_path *ins,
                           int n_ins);

/* `s` shortened for a message: at most ~80 characters, the middle replaced by "...", so a
 * 100,000-character path does not flood the terminal. Writes into buf (cap >= 96). */
const char *tmlp_cli_short(const char *s, char *buf, size_t cap);

/* --- signals -----------------------------------------------------------------------------
 * SIGINT and SIGTERM are handled alike by every command. The flag is process-wide mutable
 * state, the one kind a signal handler can touch (a sig_atomic_t): the exception to the
 * no-globals rule. Commands that measure (run, report, regress) poll it — the harness reads
 * it through settings.stop — and set tmlp_cli_polls; for the others the handler prints the
 * line and exits at once. A second signal kills the process (SA_RESETHAND). */
extern volatile sig_atomic_t tmlp_cli_stop;  /* the signal number, 0 = none */
extern volatile sig_atomic_t tmlp_cli_polls; /* 1: the running command polls tmlp_cli_stop */
void tmlp_cli_signals_install(void);
/* 128 + the signal (130 SIGINT, 143 SIGTERM) once one arrived, else 0. */
int tmlp_cli_interrupted_exit(void);
/* "SIGINT", "SIGTERM" */
const char *tmlp_cli_signal_name(int sig);

/* Human-readable nanoseconds with 3 significant digits and a unit: "812 ns", "33.1 µs",
 * "2.05 ms", "1.50 s"; "-" for NaN. Writes into buf (cap >= 16). Returns buf. */
char *tmlp_cli_fmt_ns(double ns, char *buf, size_t cap);

#endif
