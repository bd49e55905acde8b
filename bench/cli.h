/* cli.h — helpers shared by every bench_mlp subcommand: one-line errors, exit codes,
 * and option values with units.
 *
 * Conventions (every subcommand follows them, so users learn them once):
 *   - Errors are ONE line on stderr, prefixed "bench_mlp: ", naming the option and the
 *     rule that failed:  bench_mlp: --target-qps: must be > 0 (got "-5")
 *   - Exit codes: 0 success, 1 runtime failure (missing file, bad model, out of memory),
 *     2 usage error (unknown option, bad number or unit), 3 regression found (regress),
 *     130 interrupted by Ctrl-C (what was measured is still printed, marked INVALID).
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

#include <stdint.h>
#include <stdio.h>

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

/* Open `path` for writing ("-" = stdout). On failure prints the error line with
 * strerror and returns TMLP_EXIT_RUNTIME. */
int tmlp_cli_open_output(const char *opt, const char *path, FILE **out);

/* Human-readable nanoseconds with 3 significant digits and a unit: "812 ns", "33.1 µs",
 * "2.05 ms", "1.50 s"; "-" for NaN. Writes into buf (cap >= 16). Returns buf. */
char *tmlp_cli_fmt_ns(double ns, char *buf, size_t cap);

#endif
