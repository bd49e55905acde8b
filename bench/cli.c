/* cli.c — one-line errors and option values with units for bench_mlp (see cli.h).
 *
 * Every parser is strict: the whole string must be consumed, numbers must be finite and
 * in range, and a unit must be one we know. Why strict: a silently ignored suffix
 * ("--min-duration-ms 2sec" read as 2 ms) produces a benchmark that measures the wrong
 * thing and looks fine.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "" normally; "rank 1 of 3 on host: " under MPI (mpi.c), so a line names its rank. */
static const char *g_prefix = "";

void tmlp_cli_set_prefix(const char *prefix) { g_prefix = prefix ? prefix : ""; }

/* One write per line: under mpirun the ranks' stderr streams are merged line by line. */
static void error_line(const char *suffix, const char *fmt, va_list ap)
{
    char line[2048];
    int k = snprintf(line, sizeof line, "bench_mlp: %s", g_prefix);
    if (k < 0 || (size_t)k >= sizeof line) k = 0;
    vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    fprintf(stderr, "%s%s\n", line, suffix);
}

void tmlp_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line("", fmt, ap);
    va_end(ap);
}

int tmlp_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(" (see 'bench_mlp --help')", fmt, ap);
    va_end(ap);
    return TMLP_EXIT_USAGE;
}

/* Parse a finite double prefix; *end points after it. 0 on success. */
static int parse_number_prefix(const char *s, double *v, const char **end)
{
    char *e = NULL;
    if (!s || !*s || *s == ' ' || *s == '\t') return -1;
    errno = 0;
    *v = strtod(s, &e);
    if (e == s || errno == ERANGE || !isfinite(*v)) return -1;
    *end = e;
    return 0;
}

int tmlp_cli_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *e = NULL;
    if (!s || !*s || *s == ' ')
        return tmlp_cli_usage_error("%s: expected an integer, got \"%s\"", opt, s ? s : "");
    errno = 0;
    long long v = strtoll(s, &e, 0);
    if (e == s || errno == ERANGE)
        return tmlp_cli_usage_error("%s: expected an integer, got \"%s\"", opt, s);
    int64_t mult = 1;
    if (*e == 'k') mult = 1000, e++;
    else if (*e == 'M') mult = 1000000, e++;
    if (*e)
        return tmlp_cli_usage_error("%s: unknown unit \"%s\" in \"%s\" (an integer, optionally "
                                    "with k or M)", opt, e, s);
    int64_t r;
    if (__builtin_mul_overflow((int64_t)v, mult, &r))
        return tmlp_cli_usage_error("%s: \"%s\" is too large", opt, s);
    if (r < min || r > max)
        return tmlp_cli_usage_error("%s: must be between %" PRId64 " and %" PRId64 " (got \"%s\")",
                                    opt, min, max, s);
    *out = r;
    return 0;
}

int tmlp_cli_parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *e = NULL;
    if (!s || !*s || *s == '-' || *s == ' ' || *s == '+')
        return tmlp_cli_usage_error("%s: expected an unsigned integer, got \"%s\"", opt,
                                    s ? s : "");
    errno = 0;
    unsigned long long v = strtoull(s, &e, 0);
    if (e == s || *e || errno == ERANGE)
        return tmlp_cli_usage_error("%s: expected an unsigned 64-bit integer, got \"%s\"", opt, s);
    *out = (uint64_t)v;
    return 0;
}

int tmlp_cli_parse_double(const char *opt, const char *s, double min, double max, double *out)
{
    double v;
    const char *e;
    if (parse_number_prefix(s, &v, &e) || *e)
        return tmlp_cli_usage_error("%s: expected a number, got \"%s\"", opt, s ? s : "");
    if (v < min || v > max)
        return tmlp_cli_usage_error("%s: must be between %g and %g (got \"%s\")", opt, min, max, s);
    *out = v;
    return 0;
}

int tmlp_cli_parse_duration_ns(const char *opt, const char *s, uint64_t default_unit_ns,
                               uint64_t *out_ns)
{
    double v;
    const char *e;
    if (parse_number_prefix(s, &v, &e))
        return tmlp_cli_usage_error("%s: expected a duration such as 2000, 2s or 500ms, got "
                                    "\"%s\"", opt, s ? s : "");
    double unit;
    if (!*e) unit = (double)default_unit_ns;
    else if (!strcmp(e, "ns")) unit = 1.0;
    else if (!strcmp(e, "us") || !strcmp(e, "\xC2\xB5s")) unit = 1e3;
    else if (!strcmp(e, "ms")) unit = 1e6;
    else if (!strcmp(e, "s")) unit = 1e9;
    else if (!strcmp(e, "min")) unit = 60e9;
    else
        return tmlp_cli_usage_error("%s: unknown unit \"%s\" in \"%s\" (use ns, us, ms, s or min)",
                                    opt, e, s);
    double ns = v * unit;
    if (ns < 0)
        return tmlp_cli_usage_error("%s: must not be negative (got \"%s\")", opt, s);
    if (ns >= 1.8e19)
        return tmlp_cli_usage_error("%s: \"%s\" is too large", opt, s);
    *out_ns = (uint64_t)llround(ns);
    return 0;
}

int tmlp_cli_parse_rate(const char *opt, const char *s, double *out)
{
    double v;
    const char *e;
    if (parse_number_prefix(s, &v, &e))
        return tmlp_cli_usage_error("%s: expected a rate such as 2000 or 2k, got \"%s\"", opt,
                                    s ? s : "");
    if (*e == 'k') v *= 1e3, e++;
    else if (*e == 'M') v *= 1e6, e++;
    if (!strcmp(e, "/s")) e += 2;
    if (*e)
        return tmlp_cli_usage_error("%s: unknown unit \"%s\" in \"%s\" (a rate per second, "
                                    "e.g. 2000, 2k or 2000/s)", opt, e, s);
    if (!(v > 0))
        return tmlp_cli_usage_error("%s: must be > 0 (got \"%s\")", opt, s);
    *out = v;
    return 0;
}

int tmlp_cli_parse_percentile(const char *opt, const char *s, double *out)
{
    double v;
    const char *e;
    if (parse_number_prefix(s, &v, &e))
        return tmlp_cli_usage_error("%s: expected a fraction such as 0.99 or a percent such as "
                                    "99%%, got \"%s\"", opt, s ? s : "");
    if (!strcmp(e, "%")) {
        if (!(v > 0 && v < 100))
            return tmlp_cli_usage_error("%s: a percent must be strictly between 0%% and 100%% "
                                        "(got \"%s\")", opt, s);
        *out = v / 100.0;
        return 0;
    }
    if (*e)
        return tmlp_cli_usage_error("%s: unknown unit \"%s\" in \"%s\" (write 0.99 or 99%%)", opt,
                                    e, s);
    if (v >= 1 && v < 100)
        return tmlp_cli_usage_error("%s: \"%s\" is ambiguous: percentiles are fractions in (0, 1); "
                                    "write %g or %s%% (LoadGen's percent-vs-fraction trap)", opt,
                                    s, v / 100.0, s);
    if (!(v > 0 && v < 1))
        return tmlp_cli_usage_error("%s: must be a fraction in (0, 1), e.g. 0.99 (got \"%s\")", opt,
                                    s);
    *out = v;
    return 0;
}

int tmlp_cli_parse_i64_list(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
                            int cap, int *n)
{
    char item[64];
    int count = 0;
    const char *p = s ? s : "";
    if (!*p) return tmlp_cli_usage_error("%s: expected a comma-separated list, got \"\"", opt);
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof item)
            return tmlp_cli_usage_error("%s: bad list item in \"%s\"", opt, s);
        if (count >= cap)
            return tmlp_cli_usage_error("%s: at most %d values (got \"%s\")", opt, cap, s);
        memcpy(item, p, len);
        item[len] = '\0';
        int rc = tmlp_cli_parse_i64(opt, item, min, max, &out[count]);
        if (rc) return rc;
        count++;
        if (!comma) break;
        p = comma + 1;
    }
    *n = count;
    return 0;
}

int tmlp_cli_output_open(tmlp_cli_output *o, const char *opt, const char *path)
{
    memset(o, 0, sizeof *o);
    o->opt = opt;
    o->path = path;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    tmlp_error err = {0};
    if (tmlp_atomic_file_open(path, NULL, &o->af, &err) != TMLP_OK) {
        char b[96];
        tmlp_cli_error("%s: cannot write \"%s\": %s", opt, tmlp_cli_short(path, b, sizeof b),
                       err.message[0] ? err.message : "error");
        return TMLP_EXIT_RUNTIME;
    }
    o->f = tmlp_atomic_file_stream(o->af);
    return 0;
}

int tmlp_cli_output_commit(tmlp_cli_output *o)
{
    if (!o->f) return 0;
    FILE *f = o->f;
    o->f = NULL;
    if (!o->af) { /* stdout: main() checks it again at exit */
        if (fflush(f) != 0 || ferror(f)) {
            tmlp_cli_error("%s: cannot write the results to standard output: %s", o->opt,
                           strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        return 0;
    }
    tmlp_error err = {0};
    tmlp_status st = tmlp_atomic_file_commit(o->af, &err);
    o->af = NULL;
    if (st != TMLP_OK) {
        tmlp_cli_error("%s: %s (the previous file, if any, is unchanged)", o->opt, err.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

void tmlp_cli_output_abort(tmlp_cli_output *o)
{
    if (o->af) tmlp_atomic_file_abort(o->af);
    o->af = NULL;
    o->f = NULL;
}

/* Identity of a path: (dev, ino) if it exists, else "<canonical dir>/<name>". */
typedef struct path_id {
    int exists;
    dev_t dev;
    ino_t ino;
    char canon[PATH_MAX + 256];
} path_id;

static void path_identify(const char *path, path_id *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (stat(path, &st) == 0) {
        id->exists = 1;
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        return;
    }
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    const char *base = slash ? slash + 1 : path;
    snprintf(id->canon, sizeof id->canon, "%s/%s", realpath(dir, real) ? real : dir, base);
}

static int same_path(const char *a, const char *b)
{
    if (!strcmp(a, "-") || !strcmp(b, "-")) return !strcmp(a, b);
    path_id x, y;
    path_identify(a, &x);
    path_identify(b, &y);
    if (x.exists != y.exists) return 0;
    if (x.exists) return x.dev == y.dev && x.ino == y.ino;
    return !strcmp(x.canon, y.canon);
}

int tmlp_cli_check_outputs(const tmlp_cli_path *outs, int n_outs, const tmlp_cli_path *ins,
                           int n_ins)
{
    char b[96];
    for (int i = 0; i < n_outs; i++) {
        if (!outs[i].path) continue;
        for (int j = 0; j < n_ins; j++)
            if (ins[j].path && strcmp(outs[i].path, "-") && same_path(outs[i].path, ins[j].path))
                return tmlp_cli_usage_error("%s \"%s\" names the same file as %s: refusing to "
                                            "overwrite an input", outs[i].opt,
                                            tmlp_cli_short(outs[i].path, b, sizeof b), ins[j].opt);
        for (int j = 0; j < i; j++)
            if (outs[j].path && same_path(outs[i].path, outs[j].path))
                return tmlp_cli_usage_error("%s \"%s\" names the same file as %s: two outputs "
                                            "would overwrite each other", outs[i].opt,
                                            tmlp_cli_short(outs[i].path, b, sizeof b), outs[j].opt);
    }
    return 0;
}

const char *tmlp_cli_short(const char *s, char *buf, size_t cap)
{
    size_t n = s ? strlen(s) : 0;
    if (!s) s = "";
    if (n <= 80 || cap < 96) {
        if (n <= 80) return s;
        snprintf(buf, cap, "%.*s...", (int)(cap > 4 ? cap - 4 : 0), s);
        return buf;
    }
    /* keep the start (where it is) and the end (the file name) */
    snprintf(buf, cap, "%.30s...%s", s, s + n - 47);
    return buf;
}

volatile sig_atomic_t tmlp_cli_stop;
volatile sig_atomic_t tmlp_cli_polls;

const char *tmlp_cli_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

static void on_signal(int sig)
{
    tmlp_cli_stop = sig;
    if (tmlp_cli_polls) return;
    /* A command that does not poll: say so and leave now (async-signal-safe calls only). */
    static const char msg_int[] = "bench_mlp: interrupted by SIGINT\n";
    static const char msg_term[] = "bench_mlp: interrupted by SIGTERM\n";
    if (sig == SIGINT) (void)!write(STDERR_FILENO, msg_int, sizeof msg_int - 1);
    else (void)!write(STDERR_FILENO, msg_term, sizeof msg_term - 1);
    _exit(128 + sig);
}

void tmlp_cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int tmlp_cli_interrupted_exit(void) { return tmlp_cli_stop ? 128 + tmlp_cli_stop : 0; }

char *tmlp_cli_fmt_ns(double ns, char *buf, size_t cap)
{
    static const char *const units[] = {"ns", "\xC2\xB5s", "ms", "s"};
    if (isnan(ns)) {
        snprintf(buf, cap, "-");
        return buf;
    }
    int u = 0;
    double v = ns;
    while (u < 3 && fabs(v) >= 999.5) {
        v /= 1000.0;
        u++;
    }
    if (u == 0 || fabs(v) >= 99.95) snprintf(buf, cap, "%.0f %s", v, units[u]);
    else if (fabs(v) >= 9.995) snprintf(buf, cap, "%.1f %s", v, units[u]);
    else snprintf(buf, cap, "%.2f %s", v, units[u]);
    return buf;
}

int tmlp_cli_parse_synthetic(const char *spec, int64_t *w, int cap, int *n)
{
    if (strncmp(spec, "synthetic:", 10)) return tmlp_cli_usage_error("--model: \"%s\" is not synthetic:AxBx..", spec);
    const char *p = spec + 10;
    int count = 0;
    for (;;) {
        char *e = NULL;
        errno = 0;
        long long v = strtoll(p, &e, 10);
        if (e == p || errno || v < 1 || v > 65536 || count >= cap)
            return tmlp_cli_usage_error("--model: bad synthetic spec \"%s\" (widths 1..65536 joined "
                                        "by x, 2 to %d of them, e.g. synthetic:784x512x512x10)",
                                        spec, cap);
        w[count++] = v;
        if (*e == '\0') break;
        if (*e != 'x')
            return tmlp_cli_usage_error("--model: bad synthetic spec \"%s\" (e.g. "
                                        "synthetic:784x512x512x10)", spec);
        p = e + 1;
    }
    if (count < 2)
        return tmlp_cli_usage_error("--model: synthetic spec \"%s\" needs at least an input and an "
                                    "output width", spec);
    *n = count;
    return 0;
}
