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

#include "tinymlp/file.h"


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

/* One option of a subcommand: c is the option's value in the getopt_long table, v its
 * argument (NULL for a flag). Returns 0, an exit code after printing the error, or -1 for
 * a c it does not know. */
typedef int (*tmlp_cli_option_fn)(void *ctx, int c, const char *v);
struct option;
/* The getopt_long loop every subcommand shares: from argv[1], "-h" and the option whose
 * value is help_id print help(stdout); the others go to fn(ctx, ...). Errors name the
 * command: "CMD: option --x needs a value", "CMD: unknown option \"--x\"", "CMD: unexpected
 * argument \"x\"" (operands are refused when operands is 0; else *operands gets optind).
 * Returns 0, -1 when the help was printed, or the exit code of the first bad option. */
int tmlp_cli_getopt(int argc, char **argv, const char *cmd, const struct option *opts, int help_id,
                    void (*help)(FILE *), tmlp_cli_option_fn fn, void *ctx, int *operands);

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
 * target and renamed over it only when complete (tinymlp/file.h), so a failure, a signal
 * or kill -9 never leaves a truncated file or destroys the previous one. open and commit
 * both refuse a target that is an input of this run (tmlp_cli_inputs_check below). */
typedef struct tmlp_cli_output {
    FILE *f;                /* write here: stdout for "-", else the temporary */
    tmlp_atomic_file *af;   /* NULL for stdout */
    const char *opt, *path; /* for messages */
    int temp_slot;          /* the signal handler's record of the temporary (cli.c), 0 = none */
} tmlp_cli_output;

/* Start writing `path` ("-" = stdout). On failure prints the error line and returns
 * TMLP_EXIT_RUNTIME (TMLP_EXIT_USAGE for an input); o->f is then NULL. */
int tmlp_cli_output_open(tmlp_cli_output *o, const char *opt, const char *path);
/* Make the file appear (checked flush, fsync, rename); stdout is flushed and checked.
 * 0, or TMLP_EXIT_RUNTIME / TMLP_EXIT_USAGE after the error line. Safe on an unopened
 * (zeroed) output. */
int tmlp_cli_output_commit(tmlp_cli_output *o);
/* Discard what was written: the target keeps its previous contents. Safe to repeat. */
void tmlp_cli_output_abort(tmlp_cli_output *o);

/* --- an output directory, swapped in whole ---------------------------------------------
 * `report --output DIR` writes every file into a temporary sibling ".DIR.PID.XXXXXX"
 * (mkdtemp, mode 0700 while it fills) and only then swaps it in:
 *   - DIR missing: rename(2) the sibling to DIR (mode 0777 & ~umask);
 *   - DIR existing: its plain files that the new report does not write (a results file it
 *     was made --from, a note) are hard-linked into the sibling, the sibling gets DIR's mode
 *     and (where permitted) owner, then renameat2(RENAME_EXCHANGE) swaps the two in one
 *     step (else DIR is renamed aside and the sibling renamed in, DIR put back if that
 *     fails) and the old directory is removed.
 * DIR as a symlink to a directory: the directory it points to is replaced, the link kept.
 * Refused before anything runs: DIR that is not a directory, DIR holding a subdirectory
 * (a report writes none, and it would be lost). Any failure removes the sibling and leaves
 * DIR as it was; the signal handler removes the sibling too. A sibling left by kill -9 is
 * removed by the next open of the same DIR once no process has its PID (and only if it
 * is this user's real directory holding no subdirectory). */
typedef struct tmlp_cli_outdir {
    char target[4096]; /* the directory replaced (symlinks resolved) */
    char work[4096];   /* the sibling being filled; "" when none */
    const char *opt, *path;
    int existed;
} tmlp_cli_outdir;
/* Check `path` and create the sibling. 0, or TMLP_EXIT_RUNTIME / TMLP_EXIT_USAGE after
 * one error line. */
int tmlp_cli_outdir_open(tmlp_cli_outdir *d, const char *opt, const char *path);
/* Swap the sibling in (see above). Every file written is checked against the inputs of
 * the run first. 0, or an exit code after one error line (DIR unchanged). */
int tmlp_cli_outdir_commit(tmlp_cli_outdir *d);
/* Remove the sibling and everything in it; DIR unchanged. Safe to repeat. */
void tmlp_cli_outdir_abort(tmlp_cli_outdir *d);

/* --- the inputs of this run ---------------------------------------------------------------
 * Every file this bench_mlp process reads as an input — the model (the default one too),
 * data files and the labels file found beside them, the files behind --data fashion,
 * baselines, --from files, a history database — is added here when it is opened, by
 * (device, inode). Every output is checked against the set when it is opened and again
 * when it is committed (a later phase may have read more inputs), by (device, inode), so
 * "./m", a symlink to m and a hard link to m are all m.
 *
 * The set is process-wide, like the signal flag below, and only grows: report and regress
 * run several workloads in one process, and together their inputs are the inputs of the
 * invocation. At most TMLP_CLI_MAX_INPUTS distinct files are kept (later ones still get
 * a (device, inode) slot while any is free, else a note on stderr). */
#define TMLP_CLI_MAX_INPUTS 64
/* Add the file at `path` (stat(2), symlinks followed) as read for option `opt`, e.g.
 * "--model", "the default model", "--data (labels beside it)". Paths that name no file
 * ("synthetic", "null") are ignored. Never fails: the check is a safety net. */
void tmlp_cli_inputs_add(const char *opt, const char *path);
/* The same for a file already open on `fd` (fstat); `path` is for messages. */
void tmlp_cli_inputs_add_fd(const char *opt, int fd, const char *path);
/* 0 if writing `path` for option `opt` replaces no input; else prints one line naming
 * both options and both paths and returns TMLP_EXIT_USAGE. "-" is never an input. */
int tmlp_cli_inputs_check(const char *opt, const char *path);
/* Forget every input (tests). */
void tmlp_cli_inputs_clear(void);

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
 * line and exits at once. A second signal exits at once too. Whenever the handler exits it
 * first removes what an interrupted write would leave: the temporary of every open
 * tmlp_cli_output and the directory registered with tmlp_cli_temp_dir_set. */
extern volatile sig_atomic_t tmlp_cli_stop;  /* the signal number, 0 = none */
extern volatile sig_atomic_t tmlp_cli_polls; /* 1: the running command polls tmlp_cli_stop */
void tmlp_cli_signals_install(void);
/* 128 + the signal (130 SIGINT, 143 SIGTERM) once one arrived, else 0. */
int tmlp_cli_interrupted_exit(void);
/* "SIGINT", "SIGTERM" */
const char *tmlp_cli_signal_name(int sig);
/* A directory of temporaries (report's, before it is swapped in) that the handler removes
 * with its plain files if it exits; NULL = none. The string must stay valid while set. */
void tmlp_cli_temp_dir_set(const char *dir);

/* Human-readable nanoseconds with 3 significant digits and a unit: "812 ns", "33.1 µs",
 * "2.05 ms", "1.50 s"; "-" for NaN. Writes into buf (cap >= 16). Returns buf. */
char *tmlp_cli_fmt_ns(double ns, char *buf, size_t cap);

#endif
