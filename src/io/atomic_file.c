/* atomic_file.c — temporary file + checked writes + fsync + rename (see tinymlp/file.h).
 *
 * Why each step:
 *   - the temporary lives beside the target: rename(2) is atomic only within one file
 *     system, and the same directory is the one place we know the target's file system;
 *   - its name carries 64 bits from getrandom(2) and it is opened with O_CREAT | O_EXCL |
 *     O_NOFOLLOW (what mkstemp does): nobody can plant a link or a FIFO at a name we will
 *     use. Unlike mkstemp, a new file is created 0666 & ~umask, as fopen("w") would, and a
 *     replaced file's mode, owner and group are copied onto the temporary before any byte
 *     is written (fchown, then fchmod: fchown may clear set-id bits);
 *   - ferror + fflush + fsync + fclose are all checked: a full disk is often reported only
 *     by the flush or the close, and without fsync a crash after rename can leave a
 *     zero-length file on ext4/xfs;
 *   - the directory is fsynced after the rename so the new name is durable (best effort:
 *     some file systems refuse fsync on a directory);
 *   - a writer killed before its commit (kill -9, a crash) leaves its temporary
 *     behind; the next open of the same target removes such leftovers, and only those
 *     (clean_stale below): a regular file, not a link, owned by this user, named exactly
 *     ".BASE.PID.HEX.tmp" for this target, whose writer PID is not this process and is
 *     gone — no such process, or the process now holding that PID started after the file
 *     was last written (so it is a later process that reused the PID). The PID is looked
 *     up in this process's PID namespace.
 */
#include "tinymlp/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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

/* Temporaries name at most this many bytes of the target's name, so ".NAME.PID.HEX.tmp"
 * (33 bytes more at most) fits in NAME_MAX = 255. */
#define TMP_BASE_MAX 200

/* "dir/.base.PID.HEX.tmp" for target "dir/base" (or ".base.PID.HEX.tmp" with no slash). */
static int tmp_name(char *buf, size_t cap, const char *target, unsigned long long n)
{
    const char *slash = strrchr(target, '/');
    int dir_len = slash ? (int)(slash - target) + 1 : 0;
    const char *base = slash ? slash + 1 : target;
    int w = snprintf(buf, cap, "%.*s.%.*s.%ld.%llx.tmp", dir_len, target, TMP_BASE_MAX, base, (long)getpid(), n);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

/* 64 unpredictable bits for a temporary's name. */
static unsigned long long random_bits(void)
{
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r) return r;
    /* no entropy yet (early boot): O_EXCL | O_NOFOLLOW still refuse any planted name */
    return (unsigned long long)tmlp_time_now_ns() * 0x9E3779B97F4A7C15ull ^ (unsigned long long)getpid();
}

/* `path` for a message: long paths keep their first 40 and last 100 bytes, so the reason
 * after them always fits in a tmlp_error. Writes into buf (cap >= 160). */
static const char *msg_path(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    if (n <= 150 || cap < 160) return path;
    snprintf(buf, cap, "%.40s...%s", path, path + n - 100);
    return buf;
}

static tmlp_status io_error(tmlp_error *err, const char *what, const char *path, const char *why)
{
    char b[160];
    return tmlp_error_set(err, TMLP_ERR_IO, "%s %s: %s", what, msg_path(path, b, sizeof b), why);
}

/* If `name` is ".BASE.PID.HEX.tmp" for this base, the PID; else -1. The part between
 * ".BASE." and ".tmp" must be exactly decimal digits, a dot and lowercase hex digits, so
 * another target's temporaries (".BASE.x.PID.HEX.tmp" belongs to "BASE.x") never match. */
static long temp_pid(const char *name, const char *base)
{
    size_t nb = strlen(base) > TMP_BASE_MAX ? TMP_BASE_MAX : strlen(base), n = strlen(name);
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

/* Give the temporary the replaced file's owner, group and mode (see the opening). Owner
 * and group are best effort: only root may give a file away, and a group we are not in
 * is refused; the mode is always ours to set. */
static void copy_metadata(int fd, const struct stat *old)
{
    if (old->st_uid != geteuid() || old->st_gid != getegid())
        if (fchown(fd, old->st_uid, old->st_gid) != 0) (void)!fchown(fd, (uid_t)-1, old->st_gid);
    (void)fchmod(fd, old->st_mode & 07777);
}

/* A device, FIFO or terminal: write in place (see the header). */
static tmlp_status open_in_place(tmlp_atomic_file *af, const char *path, tmlp_error *err)
{
    af->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (af->fd < 0 || !(af->f = af_stream(af))) return io_error(err, "cannot write", path, strerror(errno));
    return TMLP_OK;
}

/* Where a write to `path` lands: *kind 0 = missing, 1 = regular file (*st filled), 2 =
 * special file; the resolved target (symlinks followed) in *target. Refusals return
 * TMLP_ERR_IO with the message. */
static tmlp_status resolve_target(const char *path, const tmlp_allocator *alloc, struct stat *st, int *kind,
                                  char **target, tmlp_error *err)
{
    struct stat lst;
    *kind = 0;
    *target = NULL;
    if (lstat(path, &lst) != 0) {
        if (errno != ENOENT) return io_error(err, "cannot write", path, strerror(errno));
    } else if (S_ISLNK(lst.st_mode) && stat(path, st) != 0) {
        if (errno == ENOENT)
            return io_error(err, "cannot write", path,
                            "it is a dangling symbolic link (what it points to does not exist); "
                            "remove the link or name the file to create");
        return io_error(err, "cannot write", path, strerror(errno));
    } else {
        if (!S_ISLNK(lst.st_mode)) *st = lst;
        if (S_ISDIR(st->st_mode)) return io_error(err, "cannot write", path, "it is a directory");
        *kind = S_ISREG(st->st_mode) ? 1 : 2;
        if (*kind == 1 && st->st_nlink > 1) {
            char why[200];
            snprintf(why, sizeof why,
                     "it has %lu hard links; replacing it would detach the others and writing in "
                     "place would not be atomic: remove the other links or write elsewhere",
                     (unsigned long)st->st_nlink);
            return io_error(err, "cannot replace", path, why);
        }
    }
    /* a symlink to a regular file: replace the file it points to, keep the link */
    char *resolved = *kind == 1 && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
    *target = tmlp_mem_strdup(alloc, resolved ? resolved : path);
    free(resolved);
    return *target ? TMLP_OK : tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening a file");
}

/* Create the temporary beside af->target: random name, O_EXCL | O_NOFOLLOW. */
static tmlp_status create_temp(tmlp_atomic_file *af, const char *path, const struct stat *old, tmlp_error *err)
{
    size_t cap = strlen(af->target) + 64;
    if (!(af->tmp = tmlp_mem_alloc(af->alloc, cap)))
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening a file");
    clean_stale(af->target);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        if (tmp_name(af->tmp, cap, af->target, random_bits())) {
            errno = ENAMETOOLONG;
            break;
        }
        /* a replaced file's contents may be private: 0600 until its own mode is copied */
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, old ? 0600 : 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        tmlp_mem_free(af->alloc, af->tmp);
        af->tmp = NULL;
        return io_error(err, "cannot write", path, strerror(e));
    }
    if (old) copy_metadata(fd, old);
    af->fd = fd;
    if (!(af->f = af_stream(af))) {
        int e = errno;
        unlink(af->tmp);
        return io_error(err, "cannot write", path, strerror(e));
    }
    return TMLP_OK;
}

tmlp_status tmlp_atomic_file_open(const char *path, const tmlp_allocator *alloc,
                                  tmlp_atomic_file **out, tmlp_error *err)
{
    if (out) *out = NULL;
    if (!path || !*path || !out) return tmlp_error_set(err, TMLP_ERR_ARG, "atomic file: NULL or empty path");
    tmlp_atomic_file *af = tmlp_mem_calloc(alloc, 1, sizeof *af);
    if (!af) return tmlp_error_set(err, TMLP_ERR_NOMEM, "out of memory opening a file");
    af->alloc = alloc;
    af->fd = -1;
    struct stat st;
    int kind;
    tmlp_status s = resolve_target(path, alloc, &st, &kind, &af->target, err);
    if (!s) s = kind == 2 ? open_in_place(af, path, err) : create_temp(af, path, kind == 1 ? &st : NULL, err);
    if (s) {
        af_free(af);
        return s;
    }
    *out = af;
    return TMLP_OK;
}

FILE *tmlp_atomic_file_stream(tmlp_atomic_file *af) { return af ? af->f : NULL; }

const char *tmlp_atomic_file_temp_path(const tmlp_atomic_file *af) { return af ? af->tmp : NULL; }

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
        tmlp_status st = io_error(err, "cannot write", af->target, strerror(e));
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
        return io_error(err, "cannot write", path, strerror(e));
    }
    return tmlp_atomic_file_commit(af, err);
}
