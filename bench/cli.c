/* cli.c — one-line errors and option values with units for bench_mlp (see cli.h).
 *
 * Every parser is strict: the whole string must be consumed, numbers must be finite and
 * in range, and a unit must be one we know. Why strict: a silently ignored suffix
 * ("--min-duration-ms 2sec" read as 2 ms) produces a benchmark that measures the wrong
 * thing and looks fine.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

int tmlp_cli_getopt(int argc, char **argv, const char *cmd, const struct option *opts, int help_id,
                    void (*help)(FILE *), tmlp_cli_option_fn fn, void *ctx, int *operands)
{
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h' || c == help_id) {
            help(stdout);
            return -1;
        }
        if (c == ':') return tmlp_cli_usage_error("%s: option %s needs a value", cmd, argv[optind - 1]);
        if (c == '?' || (rc = fn(ctx, c, optarg)) == -1)
            return tmlp_cli_usage_error("%s: unknown option \"%s\"", cmd, argv[optind - 1]);
        if (rc) return rc;
    }
    if (operands) *operands = optind;
    else if (optind < argc) return tmlp_cli_usage_error("%s: unexpected argument \"%s\"", cmd, argv[optind]);
    return 0;
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

/* --- temporaries the signal handler removes ---------------------------------------------
 * Copies of the paths in static storage, so the handler never reads memory that commit
 * frees; a slot is in use while its flag is set. A late unlink after a commit's rename
 * finds nothing: the name was random and is gone. */
#define MAX_TEMPS 8
static char g_temp_paths[MAX_TEMPS][PATH_MAX];
static volatile sig_atomic_t g_temp_used[MAX_TEMPS];
static char g_temp_dir[PATH_MAX];
static volatile sig_atomic_t g_temp_dir_used;

/* Register a temporary: its slot + 1, or 0 when none is free or it is too long. */
static int temp_register(const char *tmp)
{
    if (!tmp || strlen(tmp) >= PATH_MAX) return 0;
    for (int i = 0; i < MAX_TEMPS; i++) {
        if (g_temp_used[i]) continue;
        memcpy(g_temp_paths[i], tmp, strlen(tmp) + 1);
        g_temp_used[i] = 1;
        return i + 1;
    }
    return 0;
}

static void temp_unregister(int slot)
{
    if (slot > 0 && slot <= MAX_TEMPS) g_temp_used[slot - 1] = 0;
}

void tmlp_cli_temp_dir_set(const char *dir)
{
    g_temp_dir_used = 0;
    if (!dir || strlen(dir) >= PATH_MAX) return;
    memcpy(g_temp_dir, dir, strlen(dir) + 1);
    g_temp_dir_used = 1;
}

/* Remove the plain files of `dir`, then `dir` (async-signal-safe: raw getdents64). */
static void remove_dir_files(const char *dir)
{
    struct dent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
    };
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    char buf[4096] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n;) {
            struct dent64 *d = (struct dent64 *)(void *)(buf + off);
            if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) (void)unlinkat(fd, d->d_name, 0);
            off += d->d_reclen;
        }
    close(fd);
    (void)rmdir(dir);
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
    int rc = tmlp_cli_inputs_check(opt, path);
    if (rc) return rc;
    tmlp_error err = {0};
    if (tmlp_atomic_file_open(path, NULL, &o->af, &err) != TMLP_OK) {
        tmlp_cli_error("%s: %s", opt, err.message[0] ? err.message : "cannot write the file");
        return TMLP_EXIT_RUNTIME;
    }
    o->f = tmlp_atomic_file_stream(o->af);
    o->temp_slot = temp_register(tmlp_atomic_file_temp_path(o->af));
    return 0;
}

int tmlp_cli_output_commit(tmlp_cli_output *o)
{
    if (!o->f) return 0;
    FILE *f = o->f;
    if (!o->af) { /* stdout: main() checks it again at exit */
        o->f = NULL;
        if (fflush(f) != 0 || ferror(f)) {
            tmlp_cli_error("stdout: cannot write the results to standard output: %s", strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        return 0;
    }
    /* an input read after the open (a later phase) must not be replaced either */
    int rc = tmlp_cli_inputs_check(o->opt, o->path);
    if (rc) {
        tmlp_cli_output_abort(o);
        return rc;
    }
    o->f = NULL;
    temp_unregister(o->temp_slot);
    o->temp_slot = 0;
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
    temp_unregister(o->temp_slot);
    o->temp_slot = 0;
    if (o->af) tmlp_atomic_file_abort(o->af);
    o->af = NULL;
    o->f = NULL;
}

/* --- an output directory, swapped in whole (see cli.h) ------------------------------------ */

/* Split `path` (no trailing slash) into its directory part ("" or ending in '/') and base. */
static const char *base_of(const char *path, int *dir_len)
{
    const char *slash = strrchr(path, '/');
    *dir_len = slash ? (int)(slash - path) + 1 : 0;
    return slash ? slash + 1 : path;
}

/* 1 if `dir` holds no subdirectory (so removing its entries removes everything). */
static int outdir_check_entries_quiet(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    struct dirent *e;
    struct stat st;
    int flat = 1;
    while (flat && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)))
            flat = 0;
    closedir(dp);
    return flat;
}

/* Refuse a directory holding a subdirectory: the swap would lose it. */
static int outdir_check_entries(const tmlp_cli_outdir *d)
{
    DIR *dp = opendir(d->target);
    char b[96];
    if (!dp) {
        tmlp_cli_error("%s \"%s\": cannot read the directory: %s", d->opt, tmlp_cli_short(d->path, b, sizeof b),
                       strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    struct dirent *e;
    struct stat st;
    int rc = 0;
    while (!rc && (e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            tmlp_cli_error("%s \"%s\": holds the directory \"%s\", which a report does not write: refusing to "
                           "replace it (name a new directory or an earlier report's)",
                           d->opt, tmlp_cli_short(d->path, b, sizeof b), e->d_name);
            rc = TMLP_EXIT_RUNTIME;
        }
    closedir(dp);
    return rc;
}

/* Remove the siblings ".BASE.PID.XXXXXX" of `target` that a killed report left: real
 * directories owned by this user, holding no subdirectory, whose PID has no process (a
 * live PID, even a reused one, keeps its directory: never a running report's). */
static void outdir_clean_stale(const char *target)
{
    int dir_len;
    const char *base = base_of(target, &dir_len);
    char parent[4096], prefix[256], p[8192];
    snprintf(parent, sizeof parent, "%.*s", dir_len ? dir_len : 1, dir_len ? target : ".");
    int np = snprintf(prefix, sizeof prefix, ".%.200s.", base);
    DIR *dp = opendir(parent);
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp))) {
        const char *n = e->d_name;
        if (strncmp(n, prefix, (size_t)np)) continue;
        char *end;
        long pid = strtol(n + np, &end, 10);
        struct stat st;
        if (end == n + np || pid < 1 || *end != '.' || strlen(end + 1) != 6 || pid == (long)getpid() ||
            fstatat(dirfd(dp), n, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
            continue;
        snprintf(p, sizeof p, "%s/%s", parent, n);
        if (outdir_check_entries_quiet(p)) remove_dir_files(p);
    }
    closedir(dp);
}

int tmlp_cli_outdir_open(tmlp_cli_outdir *d, const char *opt, const char *path)
{
    memset(d, 0, sizeof *d);
    d->opt = opt;
    d->path = path;
    char b[96];
    const char *shown = tmlp_cli_short(path, b, sizeof b);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            tmlp_cli_error("%s \"%s\": exists and is not a directory", opt, shown);
            return TMLP_EXIT_RUNTIME;
        }
        if (!realpath(path, d->target)) {
            tmlp_cli_error("%s \"%s\": %s", opt, shown, strerror(errno));
            return TMLP_EXIT_RUNTIME;
        }
        d->existed = 1;
        int rc = outdir_check_entries(d);
        if (rc) return rc;
    } else if (errno == ENOENT && lstat(path, &st) != 0) {
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/') n--;
        if (n >= sizeof d->target) {
            tmlp_cli_error("%s \"%s\": %s", opt, shown, strerror(ENAMETOOLONG));
            return TMLP_EXIT_RUNTIME;
        }
        memcpy(d->target, path, n);
        d->target[n] = '\0';
    } else {
        tmlp_cli_error("%s \"%s\": %s", opt, shown,
                       errno == ENOENT ? "a dangling symbolic link (what it points to does not exist)" : strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    int dir_len;
    const char *base = base_of(d->target, &dir_len);
    outdir_clean_stale(d->target);
    /* ".BASE.PID.XXXXXX" with BASE cut to 200 bytes fits in NAME_MAX */
    int w = snprintf(d->work, sizeof d->work, "%.*s.%.200s.%ld.XXXXXX", dir_len, d->target, base, (long)getpid());
    if (!*base || w < 0 || (size_t)w >= sizeof d->work) {
        d->work[0] = '\0';
        tmlp_cli_error("%s \"%s\": %s", opt, shown, *base ? strerror(ENAMETOOLONG) : "not a directory name");
        return TMLP_EXIT_RUNTIME;
    }
    if (!mkdtemp(d->work)) {
        int e = errno;
        d->work[0] = '\0';
        tmlp_cli_error("%s \"%s\": cannot create a directory beside it: %s", opt, shown, strerror(e));
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_cli_temp_dir_set(d->work);
    return 0;
}

/* Every file written must not replace an input of the run; then the old directory's plain
 * files the report does not write are linked in, and the sibling takes the old mode. */
static int outdir_prepare(tmlp_cli_outdir *d, int wfd)
{
    char b[96], p[8192];
    const char *shown = tmlp_cli_short(d->path, b, sizeof b);
    DIR *dp = opendir(d->work);
    if (!dp) {
        tmlp_cli_error("%s \"%s\": %s", d->opt, shown, strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(dp))) {
        snprintf(p, sizeof p, "%s/%s", d->target, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) rc = tmlp_cli_inputs_check(d->opt, p);
    }
    closedir(dp);
    if (rc) return rc;
    struct stat st;
    if (!d->existed) {
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(wfd, 0777 & ~mask) == 0) return 0;
        tmlp_cli_error("%s \"%s\": %s", d->opt, shown, strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    int tfd = open(d->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd < 0 || fstat(tfd, &st) != 0 || !(dp = fdopendir(tfd))) {
        tmlp_cli_error("%s \"%s\": %s", d->opt, shown, strerror(errno));
        if (tfd >= 0) close(tfd);
        return TMLP_EXIT_RUNTIME;
    }
    while (!rc && (e = readdir(dp))) {
        struct stat est;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            fstatat(wfd, e->d_name, &est, AT_SYMLINK_NOFOLLOW) == 0) /* the new report writes it */
            continue;
        if (linkat(tfd, e->d_name, wfd, e->d_name, 0) != 0) {
            tmlp_cli_error("%s \"%s\": cannot keep \"%s\" in the new report: %s", d->opt, shown, e->d_name,
                           strerror(errno));
            rc = TMLP_EXIT_RUNTIME;
        }
    }
    closedir(dp);
    if (rc) return rc;
    if (st.st_uid != geteuid() || st.st_gid != getegid())
        if (fchown(wfd, st.st_uid, st.st_gid) != 0) (void)!fchown(wfd, (uid_t)-1, st.st_gid);
    if (fchmod(wfd, st.st_mode & 07777) != 0) {
        tmlp_cli_error("%s \"%s\": %s", d->opt, shown, strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* Replace d->target by d->work; afterwards d->work names the old directory (or nothing). */
static int outdir_swap(tmlp_cli_outdir *d)
{
    if (!d->existed) return rename(d->work, d->target) == 0 ? 0 : -1;
#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, d->work, AT_FDCWD, d->target, RENAME_EXCHANGE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
    /* no exchange on this file system: rename DIR aside (onto an empty directory of our
     * own), the sibling in, and DIR back if that fails */
    int dir_len;
    const char *base = base_of(d->target, &dir_len);
    char aside[sizeof d->work];
    snprintf(aside, sizeof aside, "%.*s.%.200s.old.XXXXXX", dir_len, d->target, base);
    if (!mkdtemp(aside)) return -1;
    if (rename(d->target, aside) != 0) {
        int e = errno;
        rmdir(aside);
        errno = e;
        return -1;
    }
    if (rename(d->work, d->target) != 0) {
        int e = errno;
        (void)rename(aside, d->target);
        errno = e;
        return -1;
    }
    remove_dir_files(aside);
    d->existed = 0; /* d->work is gone: nothing left to remove */
    d->work[0] = '\0';
    return 0;
}

int tmlp_cli_outdir_commit(tmlp_cli_outdir *d)
{
    if (!d->work[0]) return 0;
    char b[96];
    int wfd = open(d->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (wfd < 0) {
        tmlp_cli_error("%s \"%s\": %s", d->opt, tmlp_cli_short(d->path, b, sizeof b), strerror(errno));
        tmlp_cli_outdir_abort(d);
        return TMLP_EXIT_RUNTIME;
    }
    int rc = outdir_prepare(d, wfd);
    if (!rc) (void)fsync(wfd);
    close(wfd);
    if (!rc && outdir_swap(d) != 0) {
        tmlp_cli_error("%s \"%s\": cannot put the new report in place: %s (the previous one is unchanged)", d->opt,
                       tmlp_cli_short(d->path, b, sizeof b), strerror(errno));
        rc = TMLP_EXIT_RUNTIME;
    }
    if (rc) {
        tmlp_cli_outdir_abort(d);
        return rc;
    }
    /* d->work now holds the old report (exchanged) or nothing */
    if (d->existed && d->work[0]) remove_dir_files(d->work);
    d->work[0] = '\0';
    tmlp_cli_temp_dir_set(NULL);
    int dir_len;
    base_of(d->target, &dir_len);
    char parent[sizeof d->target];
    snprintf(parent, sizeof parent, "%.*s", dir_len ? dir_len : 1, dir_len ? d->target : ".");
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd >= 0) {
        (void)fsync(pfd);
        close(pfd);
    }
    return 0;
}

void tmlp_cli_outdir_abort(tmlp_cli_outdir *d)
{
    if (!d->work[0]) return;
    remove_dir_files(d->work);
    d->work[0] = '\0';
    tmlp_cli_temp_dir_set(NULL);
}

/* --- the inputs of this run (see cli.h) ---------------------------------------------------- */
typedef struct input_file {
    dev_t dev;
    ino_t ino;
    char opt[48];
    char *path; /* malloc'd; NULL when out of memory (the message then says "?") */
} input_file;
static input_file g_inputs[TMLP_CLI_MAX_INPUTS];
static int g_n_inputs;

static void inputs_add_stat(const char *opt, const struct stat *st, const char *path)
{
    for (int i = 0; i < g_n_inputs; i++)
        if (g_inputs[i].dev == st->st_dev && g_inputs[i].ino == st->st_ino) return;
    if (g_n_inputs >= TMLP_CLI_MAX_INPUTS) {
        char b[96];
        tmlp_cli_error("note: more than %d input files; \"%s\" is not protected from being overwritten",
                       TMLP_CLI_MAX_INPUTS, tmlp_cli_short(path, b, sizeof b));
        return;
    }
    input_file *in = &g_inputs[g_n_inputs++];
    in->dev = st->st_dev;
    in->ino = st->st_ino;
    snprintf(in->opt, sizeof in->opt, "%s", opt ? opt : "an input");
    in->path = path ? strdup(path) : NULL;
}

void tmlp_cli_inputs_add(const char *opt, const char *path)
{
    struct stat st;
    if (path && strcmp(path, "-") && stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) inputs_add_stat(opt, &st, path);
}

void tmlp_cli_inputs_add_fd(const char *opt, int fd, const char *path)
{
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) inputs_add_stat(opt, &st, path);
}

int tmlp_cli_inputs_check(const char *opt, const char *path)
{
    struct stat st;
    if (!path || !strcmp(path, "-") || stat(path, &st) != 0) return 0;
    /* /dev/null and other special files are written in place and hold no input */
    if (!S_ISREG(st.st_mode)) return 0;
    for (int i = 0; i < g_n_inputs; i++) {
        if (g_inputs[i].dev != st.st_dev || g_inputs[i].ino != st.st_ino) continue;
        char b1[96], b2[96];
        tmlp_cli_error("%s \"%s\" is the same file as %s \"%s\": refusing to overwrite an input",
                       opt, tmlp_cli_short(path, b1, sizeof b1), g_inputs[i].opt,
                       g_inputs[i].path ? tmlp_cli_short(g_inputs[i].path, b2, sizeof b2) : "?");
        return TMLP_EXIT_USAGE;
    }
    return 0;
}

void tmlp_cli_inputs_clear(void)
{
    for (int i = 0; i < g_n_inputs; i++) free(g_inputs[i].path);
    g_n_inputs = 0;
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

/* What an interrupted write leaves: the open outputs' temporaries, report's directory. */
static void remove_temporaries(void)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (g_temp_used[i]) (void)unlink(g_temp_paths[i]);
    if (g_temp_dir_used) remove_dir_files(g_temp_dir);
}

static void on_signal(int sig)
{
    int again = tmlp_cli_stop != 0;
    tmlp_cli_stop = sig;
    if (tmlp_cli_polls && !again) return;
    /* A command that does not poll, or a second signal: clean up, say so and leave now
     * (async-signal-safe calls only). */
    remove_temporaries();
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
    sa.sa_flags = 0; /* a second signal runs the handler again: it cleans up and exits */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
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
