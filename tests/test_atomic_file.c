/* test_atomic_file.c — tinymlp/file.h (src/io/atomic_file.c): the target holds the old contents or the
 * complete new contents, never a truncated file, and every write failure is reported.
 *
 * Write failures are injected for real, without a hook in the library: RLIMIT_FSIZE makes
 * write(2) fail with EFBIG past a size (SIGXFSZ ignored), and /dev/full fails every write
 * with ENOSPC. tmlp_model_save and tmlp_report_write_file are checked the same way, since
 * they are the library's writers (the "save onto a full disk removed the model").
 * The temporary a killed writer leaves is removed by the next write, and nothing else is.
 * What each kind of target gets (mode and owner kept, hard links and dangling symlinks
 * refused, random temporary names, long names) has a test of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "tinymlp/file.h"
#include "tinymlp/model.h"
#include "tinymlp/report.h"
#include "tmpdir.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    buf[*n] = 0;
    fclose(f);
    return buf;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void assert_contents(const char *path, const char *want)
{
    size_t n = 0;
    char *got = slurp(path, &n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Number of entries in dir other than . and .. : no temporary may be left behind. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Run the next writes with files limited to `bytes` (EFBIG beyond). */
static struct rlimit limit_file_size(rlim_t bytes)
{
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = bytes;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    return old;
}

static void test_commit_replaces(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "out.json", p, sizeof p);
    put(p, "old");
    tmlp_error err = {0};
    assert_int_equal(tmlp_atomic_file_write_all(p, "new contents", 12, NULL, &err), TMLP_OK);
    assert_contents(p, "new contents");
    assert_int_equal(count_entries(t->dir), 1);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    /* the permissions fopen("w") would give, not mkstemp's 0600 */
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0666 & ~um);
}

static void test_abort_keeps_old(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "out.json", p, sizeof p);
    put(p, "old");
    tmlp_atomic_file *af = NULL;
    assert_int_equal(tmlp_atomic_file_open(p, NULL, &af, NULL), TMLP_OK);
    fputs("half a docu", tmlp_atomic_file_stream(af));
    fflush(tmlp_atomic_file_stream(af));
    assert_int_equal(count_entries(t->dir), 2); /* the temporary exists while writing */
    assert_contents(p, "old");
    tmlp_atomic_file_abort(af);
    assert_contents(p, "old");
    assert_int_equal(count_entries(t->dir), 1);
    tmlp_atomic_file_abort(NULL);
}

static void test_write_failure_keeps_old(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "big.json", p, sizeof p);
    put(p, "old");
    size_t n = 256 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    struct rlimit old = limit_file_size(64 * 1024);
    tmlp_error err = {0};
    tmlp_status st = tmlp_atomic_file_write_all(p, big, n, NULL, &err);
    /* and through the stream, where the failure surfaces only at commit's flush */
    tmlp_atomic_file *af = NULL;
    tmlp_error err2 = {0};
    assert_int_equal(tmlp_atomic_file_open(p, NULL, &af, NULL), TMLP_OK);
    for (int i = 0; i < 100; i++) fprintf(tmlp_atomic_file_stream(af), "%.*s\n", 1000, big);
    tmlp_status st2 = tmlp_atomic_file_commit(af, &err2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    free(big);
    assert_int_equal(st, TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "big.json"));
    assert_int_equal(st2, TMLP_ERR_IO);
    assert_non_null(strstr(err2.message, "too large"));
    assert_contents(p, "old");
    assert_int_equal(count_entries(t->dir), 1);
}

static void test_special_file_in_place(void **state)
{
    (void)state;
    tmlp_error err = {0};
    /* /dev/null stays a device (a rename would replace it with a regular file) */
    assert_int_equal(tmlp_atomic_file_write_all("/dev/null", "abc", 3, NULL, &err), TMLP_OK);
    struct stat st;
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* /dev/full: every write fails with ENOSPC, and that must be reported */
    if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) { /* containers may lack it */
        assert_int_equal(tmlp_atomic_file_write_all("/dev/full", "abc", 3, NULL, &err), TMLP_ERR_IO);
        assert_non_null(strstr(err.message, "No space"));
    }
}

static void test_directory_and_missing_dir(void **state)
{
    test_tmpdir *t = *state;
    tmlp_error err = {0};
    tmlp_atomic_file *af = (tmlp_atomic_file *)1;
    assert_int_equal(tmlp_atomic_file_open(t->dir, NULL, &af, &err), TMLP_ERR_IO);
    assert_null(af);
    assert_non_null(strstr(err.message, "directory"));
    char p[4096];
    test_tmpdir_join(t, "no/such/dir/x.json", p, sizeof p);
    assert_int_equal(tmlp_atomic_file_write_all(p, "x", 1, NULL, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "No such file"));
    assert_int_equal(tmlp_atomic_file_open(NULL, NULL, &af, &err), TMLP_ERR_ARG);
    assert_int_equal(count_entries(t->dir), 0);
}

static void test_symlink_kept(void **state)
{
    test_tmpdir *t = *state;
    char real[4096], link[4096];
    test_tmpdir_join(t, "real.json", real, sizeof real);
    test_tmpdir_join(t, "link.json", link, sizeof link);
    put(real, "old");
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(tmlp_atomic_file_write_all(link, "new", 3, NULL, NULL), TMLP_OK);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_contents(real, "new");
}

/* Replacing keeps the replaced file's mode (0600 stays 0600) and, as root, its owner. */
static void test_mode_and_owner_kept(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "secret.json", p, sizeof p);
    put(p, "old");
    assert_int_equal(chmod(p, 0600), 0);
    int root = geteuid() == 0;
    if (root) assert_int_equal(chown(p, 12345, 12346), 0);
    assert_int_equal(tmlp_atomic_file_write_all(p, "new", 3, NULL, NULL), TMLP_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    if (root) {
        assert_int_equal(st.st_uid, 12345);
        assert_int_equal(st.st_gid, 12346);
    }
    assert_contents(p, "new");
    assert_int_equal(chmod(p, 0640), 0);
    assert_int_equal(tmlp_atomic_file_write_all(p, "newer", 5, NULL, NULL), TMLP_OK);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(t->dir), 1);
}

/* A file with a second hard link is refused: both names keep the old contents, linked. */
static void test_hard_link_refused(void **state)
{
    test_tmpdir *t = *state;
    char a[4096], b[4096];
    test_tmpdir_join(t, "a.json", a, sizeof a);
    test_tmpdir_join(t, "b.json", b, sizeof b);
    put(a, "old");
    assert_int_equal(link(a, b), 0);
    tmlp_error err = {0};
    assert_int_equal(tmlp_atomic_file_write_all(a, "new", 3, NULL, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "has 2 hard links"));
    assert_contents(a, "old");
    assert_contents(b, "old");
    struct stat sa, sb;
    assert_int_equal(stat(a, &sa), 0);
    assert_int_equal(stat(b, &sb), 0);
    assert_true(sa.st_ino == sb.st_ino && sa.st_nlink == 2);
    assert_int_equal(count_entries(t->dir), 2);
}

/* A dangling symlink is refused: nothing is created where it points, the link stays. */
static void test_dangling_symlink_refused(void **state)
{
    test_tmpdir *t = *state;
    char link_path[4096], where[4096];
    test_tmpdir_join(t, "link.json", link_path, sizeof link_path);
    test_tmpdir_join(t, "nowhere.json", where, sizeof where);
    assert_int_equal(symlink(where, link_path), 0);
    tmlp_error err = {0};
    tmlp_atomic_file *af = (tmlp_atomic_file *)1;
    assert_int_equal(tmlp_atomic_file_open(link_path, NULL, &af, &err), TMLP_ERR_IO);
    assert_null(af);
    assert_non_null(strstr(err.message, "dangling symbolic link"));
    struct stat st;
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(where, &st), -1);
    assert_int_equal(count_entries(t->dir), 1);
}

/* The temporary: beside the target, ".NAME.PID.<16 hex digits>.tmp" with random digits, a
 * regular file (O_NOFOLLOW | O_EXCL), different for each open; NULL when written in place.
 * A link planted at any name the old scheme would use is never followed. */
static void test_temp_name_unpredictable(void **state)
{
    test_tmpdir *t = *state;
    char p[4096], prefix[4200], planted[4300];
    test_tmpdir_join(t, "out.json", p, sizeof p);
    snprintf(prefix, sizeof prefix, "%s/.out.json.%ld.", t->dir, (long)getpid());
    snprintf(planted, sizeof planted, "%s0.tmp", prefix);
    assert_int_equal(symlink("/nonexistent/victim", planted), 0);
    tmlp_atomic_file *a = NULL, *b = NULL;
    assert_int_equal(tmlp_atomic_file_open(p, NULL, &a, NULL), TMLP_OK);
    assert_int_equal(tmlp_atomic_file_open(p, NULL, &b, NULL), TMLP_OK);
    const char *ta = tmlp_atomic_file_temp_path(a), *tb = tmlp_atomic_file_temp_path(b);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_string_not_equal(ta, tb);
    assert_memory_equal(ta, prefix, strlen(prefix));
    const char *hex = ta + strlen(prefix);
    assert_true(strlen(hex) >= 4 + 9 && strlen(hex) <= 4 + 16); /* 64 random bits, leading zeros dropped */
    struct stat st;
    assert_int_equal(lstat(ta, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    tmlp_atomic_file_abort(a);
    assert_int_equal(tmlp_atomic_file_commit(b, NULL), TMLP_OK);
    assert_int_equal(lstat(planted, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* not ours: left alone */
    tmlp_atomic_file *n = NULL;
    assert_int_equal(tmlp_atomic_file_open("/dev/null", NULL, &n, NULL), TMLP_OK);
    assert_null(tmlp_atomic_file_temp_path(n));
    assert_int_equal(tmlp_atomic_file_commit(n, NULL), TMLP_OK);
    assert_null(tmlp_atomic_file_temp_path(NULL));
}

/* A name over NAME_MAX: the message ends with the reason, whatever the path's length. A
 * valid name of 250 bytes still works (its temporary's name is cut to fit). */
static void test_long_names(void **state)
{
    test_tmpdir *t = *state;
    char name[300], p[8192];
    memset(name, 'n', 299);
    name[299] = 0;
    test_tmpdir_join(t, name, p, sizeof p);
    tmlp_error err = {0};
    assert_int_equal(tmlp_atomic_file_write_all(p, "x", 1, NULL, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "File name too long"));
    char deep[6000];
    int k = snprintf(deep, sizeof deep, "%s/", t->dir);
    for (int i = 0; i < 20; i++) k += snprintf(deep + k, sizeof deep - (size_t)k, "%.250s/", name);
    snprintf(deep + k, sizeof deep - (size_t)k, "x.json");
    assert_int_equal(tmlp_atomic_file_write_all(deep, "x", 1, NULL, &err), TMLP_ERR_IO);
    assert_non_null(strstr(err.message, "File name too long"));
    assert_true(strlen(err.message) < 300);
    name[250] = 0;
    test_tmpdir_join(t, name, p, sizeof p);
    assert_int_equal(tmlp_atomic_file_write_all(p, "ok", 2, NULL, &err), TMLP_OK);
    assert_contents(p, "ok");
    assert_int_equal(count_entries(t->dir), 1);
}

/* The library's writers: a save or report that fails leaves the file that was there. */
static void test_model_save_full_disk_keeps_model(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "m.safetensors", p, sizeof p);
    int64_t small[] = {4, 3, 2}, big[] = {256, 256, 256, 10};
    tmlp_model *m = NULL, *m2 = NULL, *back = NULL;
    tmlp_error err = {0};
    assert_int_equal(tmlp_model_random(small, 3, 1, NULL, &m, &err), TMLP_OK);
    assert_int_equal(tmlp_model_random(big, 4, 2, NULL, &m2, &err), TMLP_OK);
    assert_int_equal(tmlp_model_save(m, p, &err), TMLP_OK);
    struct rlimit old = limit_file_size(16 * 1024); /* the big model is ~530 kB */
    tmlp_status st = tmlp_model_save(m2, p, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(st, TMLP_ERR_IO);
    assert_int_equal(tmlp_model_load(p, NULL, &back, &err), TMLP_OK); /* still the small one */
    assert_int_equal(tmlp_model_input_width(back), 4);
    assert_int_equal(count_entries(t->dir), 1);
    tmlp_model_destroy(back);
    tmlp_model_destroy(m);
    tmlp_model_destroy(m2);
}

static void test_report_write_file_full(void **state)
{
    test_tmpdir *t = *state;
    char p[4096];
    test_tmpdir_join(t, "report.md", p, sizeof p);
    put(p, "old report");
    size_t n = 100000;
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, 'r', n);
    text[n] = 0;
    struct rlimit old = limit_file_size(4096);
    tmlp_error err = {0};
    tmlp_status st = tmlp_report_write_file(p, text, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    free(text);
    assert_int_equal(st, TMLP_ERR_IO);
    assert_contents(p, "old report");
    assert_int_equal(count_entries(t->dir), 1);
}

/* A temporary of a writer that was killed before its commit is removed by the next write
 * to the same target — and nothing else is: not a live writer's (this process's, or one
 * whose PID is held by a process that started before the file was written), not another
 * target's, not a name that is almost the pattern, not a directory or a symbolic link,
 * not another user's file. The dead writer is a child that exited; a "reused PID" is
 * pid 1 with the file's time set to 1970 (pid 1 started at boot, after that). */
static void test_stale_temporaries_cleaned(void **state)
{
    test_tmpdir *t = *state;
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    assert_true(dead > 0);
    waitpid(dead, NULL, 0);
    assert_int_equal(kill(dead, 0), -1); /* gone (its PID is not reused within the test) */
    char target[4096], name[256], p[4096];
    test_tmpdir_join(t, "r.json", target, sizeof target);
    put(target, "old");
    struct { char name[96]; int removed; } f[16];
    int n = 0;
#define FILE_AS(removed_, ...) (snprintf(f[n].name, sizeof f[n].name, __VA_ARGS__), f[n++].removed = (removed_))
    FILE_AS(1, ".r.json.%ld.1a2b3c.tmp", (long)dead);       /* killed writer: removed */
    FILE_AS(1, ".r.json.1.ff.tmp");                          /* pid 1 started after it: removed */
    FILE_AS(0, ".r.json.%ld.ab.tmp", (long)getpid());        /* this process: kept */
    FILE_AS(0, ".r.json.1.fe.tmp");                          /* pid 1 may have written it now: kept */
    FILE_AS(0, ".other.json.%ld.1.tmp", (long)dead);         /* another target: kept */
    FILE_AS(0, ".r.json.x.%ld.1.tmp", (long)dead);           /* target "r.json.x": kept */
    FILE_AS(0, "r.json.%ld.1.tmp", (long)dead);              /* no leading dot: kept */
    FILE_AS(0, ".r.json.%ld.1g.tmp", (long)dead);            /* not hex: kept */
    FILE_AS(0, ".r.json.%ld.tmp", (long)dead);               /* no counter: kept */
    FILE_AS(0, ".r.json.%ld.1.tmp.bak", (long)dead);         /* another suffix: kept */
#undef FILE_AS
    for (int i = 0; i < n; i++) {
        test_tmpdir_join(t, f[i].name, p, sizeof p);
        put(p, "partial");
    }
    struct utimbuf old_time = {1000, 1000};
    test_tmpdir_join(t, ".r.json.1.ff.tmp", p, sizeof p);
    assert_int_equal(utime(p, &old_time), 0);
    /* a directory and a symbolic link with the pattern's name, and (as root) another
     * user's file: kept */
    snprintf(name, sizeof name, ".r.json.%ld.d1.tmp", (long)dead);
    test_tmpdir_join(t, name, p, sizeof p);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(name, sizeof name, ".r.json.%ld.e1.tmp", (long)dead);
    test_tmpdir_join(t, name, p, sizeof p);
    assert_int_equal(symlink(target, p), 0);
    char theirs[4096] = "";
    if (geteuid() == 0) {
        snprintf(name, sizeof name, ".r.json.%ld.f1.tmp", (long)dead);
        test_tmpdir_join(t, name, theirs, sizeof theirs);
        put(theirs, "someone else's");
        assert_int_equal(chown(theirs, 4242, 4242), 0);
    }

    assert_int_equal(tmlp_atomic_file_write_all(target, "new", 3, NULL, NULL), TMLP_OK);
    assert_contents(target, "new");
    for (int i = 0; i < n; i++) {
        test_tmpdir_join(t, f[i].name, p, sizeof p);
        struct stat st;
        int exists = lstat(p, &st) == 0;
        if (exists == f[i].removed) print_message("%s: %s\n", f[i].name, exists ? "still there" : "removed");
        assert_int_equal(exists, !f[i].removed);
    }
    struct stat st;
    snprintf(name, sizeof name, ".r.json.%ld.d1.tmp", (long)dead);
    test_tmpdir_join(t, name, p, sizeof p);
    assert_true(lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(name, sizeof name, ".r.json.%ld.e1.tmp", (long)dead);
    test_tmpdir_join(t, name, p, sizeof p);
    assert_true(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
    if (theirs[0]) assert_int_equal(lstat(theirs, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_IN_TMPDIR(test_commit_replaces),
        TEST_IN_TMPDIR(test_abort_keeps_old),
        TEST_IN_TMPDIR(test_write_failure_keeps_old),
        cmocka_unit_test(test_special_file_in_place),
        TEST_IN_TMPDIR(test_directory_and_missing_dir),
        TEST_IN_TMPDIR(test_symlink_kept),
        TEST_IN_TMPDIR(test_mode_and_owner_kept),
        TEST_IN_TMPDIR(test_hard_link_refused),
        TEST_IN_TMPDIR(test_dangling_symlink_refused),
        TEST_IN_TMPDIR(test_temp_name_unpredictable),
        TEST_IN_TMPDIR(test_long_names),
        TEST_IN_TMPDIR(test_model_save_full_disk_keeps_model),
        TEST_IN_TMPDIR(test_report_write_file_full),
        TEST_IN_TMPDIR(test_stale_temporaries_cleaned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
