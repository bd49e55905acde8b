/* atomic_file.c — temporary file + checked writes + fsync + rename (see atomic_file.h).
 *
 * Why each step:
 *   - the temporary lives beside the target: rename(2) is atomic only within one file
 *     system, and the same directory is the one place we know the target's file system;
 *   - open(O_CREAT | O_EXCL, 0666) rather than mkstemp: mkstemp creates mode 0600, and a
 *     results file should get the permissions fopen("w") would give (0666 & ~umask);
 *     O_EXCL still guarantees we never write into someone else's file;
 *   - ferror + fflush + fsync + fclose are all checked: a full disk is often reported only
 *     by the flush or the close, and without fsync a crash after rename can leave a
 *     zero-length file on ext4/xfs;
 *   - the directory is fsynced after the rename so the new name is durable (best effort:
 *     some file systems refuse fsync on a directory);
 *   - a writer killed before its commit (kill -9, a second Ctrl-C) leaves its temporary
 *     behind; the next open of the same target removes such leftovers, and only those
 *     (clean_stale below): a regular file, not a link, owned by this user, named exactly
 *     ".BASE.PID.HEX.tmp" for this target, whose writer PID is not this process and is
 *     gone — no such process, or the process now holding that PID started after the file
 *     was last written (so it is a later process that reused the PID). The PID is looked
 *     up in this process's PID namespace.
 */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct tmlp_atomic_file {
    const tmlp_allocator *alloc;
    FILE *f;        /* a stdio stream over fd (fopencookie), so callers keep fprintf */
    int fd;
    int write_errno; /* the first write(2) error, kept for the message */
    char *target;   /* the path renamed over (symlinks resolved) */
    char *tmp;      /* the temporary, or NULL when writing a special file in place */
};

/* The stream's write function: retries short writes and EINTR (bench_mlp installs signal
 * handlers without SA_RESTART), and remembers the first real error — stdio's sticky error
 * flag forgets errno, and "No space left on device" is the message a user needs. */
static ssize_t af_write(void *cookie, const char *buf, size_t n)
{
    tmlp_atomic_file *af = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(af->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!af->write_errno) af->write_errno = w < 0 ? errno : EIO;
            return done > 0 ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int af_close(void *cookie)
{
    tmlp_atomic_file *af = cookie;
    int rc = close(af->fd);
    af->fd = -1;
    return rc;
}

/* A stream over af->fd; closes fd on failure. */
static FILE *af_stream(tmlp_atomic_file *af)
{
    cookie_io_functions_t io = {NULL, af_write, NULL, af_close};
    FILE *f = fopencookie(af, "w", io);
    if (!f) {
        close(af->fd);
        af->fd = -1;
    }
    return f;
}

static void af_free(tmlp_atomic_file *af)
{
    tmlp_mem_free(af->alloc, af->target);
    tmlp_mem_free(af->alloc, af->tmp);
    tmlp_mem_free(af->alloc, af);
}

/* "dir/.base.PID.N.tmp" for target "dir/base" (or ".base.PID.N.tmp" with no slash). */
static int tmp_name(char *buf, size_t cap, const char *target, unsigned long n)
{
    const char *slash = strrchr(target, '/');
    int dir_len = slash ? (int)(slash - target) + 1 : 0;
    const char *base = slash ? slash + 1 : target;
    int w = snprintf(buf, cap, "%.*s.%s.%ld.%lx.tmp", dir_len, target, base, (long)getpid(), n);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

/* If `name` is ".BASE.PID.HEX.tmp" for this base, the PID; else -1. The part between
 * ".BASE." and ".tmp" must be exactly decimal digits, a dot and lowercase hex digits, so
 * another target's temporaries (".BASE.x.PID.HEX.tmp" belongs to "BASE.x") never match. */
static long temp_pid(const char *name, const char *base)
{
    size_t nb = strlen(base), n = strlen(name);
    if (n < nb + 2 + 8 || name[0] != '.' || strncmp(name + 1, base, nb) || name[nb + 1] != '.' ||
        strcmp(name + n - 4, ".tmp"))
        return -1;
    const char *p = name + nb + 2, *end = name + n - 4;
    long pid = 0;
    const char *d = p;
    while (d < end && *d >= '0' && *d <= '9') {
        if (pid > 99999999L) return -1;
        pid = pid * 10 + (*d++ - '0');
    }
    if (d == p || d >= end || *d != '.' || pid < 1) return -1;
    const char *h = ++d;
    while (d < end && ((*d >= '0' && *d <= '9') || (*d >= 'a' && *d <= 'f'))) d++;
    return d == end && d > h ? pid : -1;
}

/* When process `pid` started (seconds since the epoch, Linux /proc); -1 if unknown. */
static double process_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long ticks = 0;
    /* fields are counted from 1 (the pid); the space before field f is the (f - 2)-th after
     * the ')' closing field 2: walk to the one before field 22, starttime */
    for (int field = 3; p && field <= 22; field++) p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1) return -1;
    f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long btime = 0;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return btime && hz > 0 ? (double)btime + (double)ticks / (double)hz : -1;
}

/* Remove the temporaries killed writers left for `target` (see the file's opening). */
static void clean_stale(const char *target)
{
    const char *slash = strrchr(target, '/');
    char dir[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == target) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - target) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
    else return;
    const char *base = slash ? slash + 1 : target;
    DIR *d = opendir(dir);
    if (!d) return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name, base);
        if (pid < 0 || pid == (long)getpid()) continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        int gone = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        if (!gone) { /* a process holds that PID: the writer only if it started before the last write */
            double started = process_start(pid);
            gone = started >= 0 && started > (double)st.st_mtime + 1.0;
        }
        if (gone) (void)unlinkat(dfd, e->d_name, 0);
    }
    closedir(d);
}

tmlp_status tmlp_atomic_file_open(const char *path, const tmlp_allocator *alloc,
                                  tmlp_atomic_file **out, tmlp_error *err)
{
    if (out) *out = NULL;
    if (!path || !*path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "atomic file: NULL or empty path");
    tmlp_atomic_file *af = tmlp_mem_calloc(alloc, 1, sizeof *af);
    if (!af) return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening %s", path);
    af->alloc = alloc;
    af->fd = -1;

    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        af_free(af);
        return tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: it is a directory", path);
    }
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device, FIFO or terminal: write in place (see the header). */
        if (!(af->target = tmlp_mem_strdup(alloc, path))) {
            af_free(af);
            return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening %s", path);
        }
        af->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (af->fd < 0 || !(af->f = af_stream(af))) {
            int e = errno;
            af_free(af);
            return tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: %s", path, strerror(e));
        }
        *out = af;
        return TMLP_OK;
    }

    /* Follow a symlink so the file it points to is replaced and the link kept. */
    char *resolved = exists ? realpath(path, NULL) : NULL;
    af->target = tmlp_mem_strdup(alloc, resolved ? resolved : path);
    free(resolved);
    size_t cap = af->target ? strlen(af->target) + 64 : 0;
    af->tmp = af->target ? tmlp_mem_alloc(alloc, cap) : NULL;
    if (!af->target || !af->tmp) {
        af_free(af);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening %s", path);
    }
    clean_stale(af->target);
    int fd = -1;
    unsigned long n = (unsigned long)tmlp_time_now_ns();
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++, n += 7919) {
        if (tmp_name(af->tmp, cap, af->target, n)) {
            errno = ENAMETOOLONG;
            break;
        }
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        af_free(af);
        return tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    af->fd = fd;
    af->f = af_stream(af);
    if (!af->f) {
        int e = errno;
        unlink(af->tmp);
        af_free(af);
        return tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    *out = af;
    return TMLP_OK;
}

FILE *tmlp_atomic_file_stream(tmlp_atomic_file *af) { return af ? af->f : NULL; }

void tmlp_atomic_file_abort(tmlp_atomic_file *af)
{
    if (!af) return;
    if (af->f) fclose(af->f);
    else if (af->fd >= 0) close(af->fd);
    if (af->tmp) unlink(af->tmp);
    af_free(af);
}

/* fsync the directory holding `path` so a completed rename survives a crash. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

tmlp_status tmlp_atomic_file_commit(tmlp_atomic_file *af, tmlp_error *err)
{
    if (!af) return tmlp_error_set(err, TMLP_ERR_ARG, "atomic file: NULL handle");
    FILE *f = af->f;
    af->f = NULL;
    int e = 0;
    if (fflush(f) != 0 || ferror(f)) e = af->write_errno ? af->write_errno : EIO;
    /* fsync: EINVAL means the special file cannot be synced, which is fine */
    if (!e && fsync(af->fd) != 0 && errno != EINVAL && errno != EROFS) e = errno;
    if (fclose(f) != 0 && !e) e = errno;
    if (!e && af->tmp && rename(af->tmp, af->target) != 0) e = errno;
    if (e) {
        tmlp_status st = tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: %s", af->target, strerror(e));
        if (af->tmp) unlink(af->tmp);
        af_free(af);
        return st;
    }
    if (af->tmp) sync_dir(af->target);
    af_free(af);
    return TMLP_OK;
}

tmlp_status tmlp_atomic_file_write_all(const char *path, const void *data, size_t n,
                                       const tmlp_allocator *alloc, tmlp_error *err)
{
    tmlp_atomic_file *af;
    tmlp_status st = tmlp_atomic_file_open(path, alloc, &af, err);
    if (st) return st;
    if (n && fwrite(data, 1, n, af->f) != n) {
        int e = af->write_errno ? af->write_errno : EIO;
        tmlp_atomic_file_abort(af);
        return tmlp_error_set(err, TMLP_ERR_IO, "cannot write %s: %s", path, strerror(e));
    }
    return tmlp_atomic_file_commit(af, err);
}
