/* tmpdir.h — a scratch directory for tests that write files (header-only; include after
 * cmocka.h). Shared by test_idx, test_safetensors, test_dataset, test_model_io, test_report
 * and test_svg, so each test file keeps only what it tests.
 *
 * As a cmocka fixture (group or per test) the directory lives in the test's state:
 *
 *     static void test_x(void **state)
 *     {
 *         test_tmpdir *t = *state;
 *         write_file(test_tmpdir_path(t, "a.bin"), ...);      // "<dir>/a.bin"
 *     }
 *     ...
 *     return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
 *
 *   test_tmpdir_setup      mkdtemp("$TMPDIR/tmlp_test_XXXXXX", TMPDIR defaulting to /tmp):
 *                          a fresh, empty, private (0700) directory; *state = the heap
 *                          test_tmpdir. Returns -1 (cmocka reports the fixture as failed) if
 *                          it cannot be made.
 *   test_tmpdir_teardown   removes the directory and everything a test left in it, then
 *                          frees the state; -1 if anything could not be removed. A test
 *                          that sets t->keep = 1 (to let a person look at what it wrote)
 *                          leaves the directory in place, its path printed on stderr.
 *   TEST_IN_TMPDIR(f)      cmocka_unit_test_setup_teardown(f, test_tmpdir_setup,
 *                          test_tmpdir_teardown): test f in a directory of its own.
 *   test_tmpdir_path(t, name)
 *                          "<dir>/<name>" in t's one scratch buffer: valid until the next
 *                          call, so a test that needs two paths at once copies the first or
 *                          builds it with test_tmpdir_join into its own buffer.
 *   test_tmpdir_join(t, name, buf, cap)
 *                          the same into buf; both fail the test if the path does not fit.
 *   test_path_join(dst, cap, dir, rel)
 *                          "<dir>/<rel>" into dst; returns 1, or 0 if it does not fit. No
 *                          cmocka assertion, so fixtures may use it too.
 *
 * Removal walks the tree depth-first with nftw(3) (FTW_DEPTH: a directory's entries before
 * the directory; FTW_PHYS: a symbolic link is removed, never followed) and remove(3)s each
 * entry. No shell: system("rm -rf '<dir>'") breaks on a quote in $TMPDIR and hides errors.
 */
#ifndef TMLP_TEST_TMPDIR_H
#define TMLP_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define TEST_IN_TMPDIR(f) cmocka_unit_test_setup_teardown(f, test_tmpdir_setup, test_tmpdir_teardown)

typedef struct test_tmpdir {
    char dir[4096];  /* the directory made by mkdtemp */
    char path[4096]; /* scratch for test_tmpdir_path */
    int keep;        /* 1: teardown leaves the directory and prints where it is */
} test_tmpdir;

static inline int test_path_join(char *dst, size_t cap, const char *dir, const char *rel)
{
    int n = snprintf(dst, cap, "%s/%s", dir, rel);
    return n > 0 && (size_t)n < cap;
}

static inline const char *test_tmpdir_join(const test_tmpdir *t, const char *name, char *buf,
                                           size_t cap)
{
    if (!test_path_join(buf, cap, t->dir, name))
        fail_msg("temporary path %s/%s longer than %zu bytes", t->dir, name, cap - 1);
    return buf;
}

static inline const char *test_tmpdir_path(test_tmpdir *t, const char *name)
{
    return test_tmpdir_join(t, name, t->path, sizeof t->path);
}

static inline int test_tmpdir_setup(void **state)
{
    test_tmpdir *t = calloc(1, sizeof *t);
    if (t == NULL) return -1;
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') base = "/tmp";
    if (!test_path_join(t->dir, sizeof t->dir, base, "tmlp_test_XXXXXX") ||
        mkdtemp(t->dir) == NULL) {
        fprintf(stderr, "cannot make a temporary directory in %s\n", base);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

/* nftw callback: remove one entry (files and links first, a directory once it is empty). */
static inline int test_tmpdir_remove_entry(const char *path, const struct stat *st, int type,
                                           struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static inline int test_tmpdir_teardown(void **state)
{
    test_tmpdir *t = *state;
    if (t == NULL) return 0;
    if (t->keep) {
        fprintf(stderr, "kept %s\n", t->dir);
        free(t);
        *state = NULL;
        return 0;
    }
    int rc = nftw(t->dir, test_tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
    free(t);
    *state = NULL;
    return rc;
}

#endif
