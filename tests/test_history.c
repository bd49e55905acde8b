/* test_history.c — the results history database (bench/history_db.c) and the change-point
 * search of `history trend` (bench/history_trend.c):
 *   - a new database gets the current schema (user_version, both tables, WAL);
 *   - an empty version-0 database (made by sqlite3 itself) is migrated; a newer version
 *     and a file that is not a database are refused;
 *   - a document is recorded with every repetition's metrics, once (the same document
 *     again is a duplicate), and a document without runs is refused;
 *   - 4 writer processes on one file lose nothing;
 *   - kill -9 of a writer in the middle of its writes: PRAGMA integrity_check is "ok" and
 *     every run it reported committed is there, with all its metrics;
 *   - change points: a 20% shift is found at its place; flat noisy series give a change
 *     point at most at the stated rate (alpha); two shifts are both found.
 * Seeds are fixed: the synthetic series are the same on every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "history_db.h"
#include "history_trend.h"
#include "tinymlp/rng.h"
#include "tmpdir.h"

/* A results document like `bench_mlp --format json` writes, reduced to what the history
 * reads: a context (model, data, seeds) and `n_runs` runs of `reps` repetitions whose p50
 * is base_ns + the repetition; `tag` makes documents differ. */
static cJSON *make_doc(int n_runs, int reps, double base_ns, int tag)
{
    cJSON *d = cJSON_CreateObject(), *ctx = cJSON_AddObjectToObject(d, "context");
    cJSON_AddStringToObject(ctx, "host", "testhost");
    cJSON *model = cJSON_AddObjectToObject(ctx, "model");
    cJSON_AddStringToObject(model, "kind", "synthetic");
    cJSON_AddStringToObject(model, "source", "synthetic:16x8x4");
    cJSON *seeds = cJSON_AddObjectToObject(ctx, "seeds");
    cJSON_AddNumberToObject(seeds, "sample", 1);
    cJSON_AddNumberToObject(ctx, "tag", tag);
    cJSON *runs = cJSON_AddArrayToObject(d, "runs");
    static const char *const labels[] = {"single-stream", "offline b=8", "server"};
    for (int r = 0; r < n_runs; r++) {
        cJSON *run = cJSON_CreateObject();
        cJSON_AddStringToObject(run, "label", labels[r % 3]);
        cJSON_AddStringToObject(run, "scenario", r % 3 == 1 ? "offline" : labels[r % 3]);
        cJSON_AddNumberToObject(run, "workload_digest", 1234 + r);
        cJSON *acc = cJSON_AddObjectToObject(run, "accuracy");
        cJSON_AddNumberToObject(acc, "correct", 90);
        cJSON_AddNumberToObject(acc, "total", 100);
        cJSON *ra = cJSON_AddArrayToObject(run, "repetitions");
        for (int k = 0; k < reps; k++) {
            cJSON *rep = cJSON_CreateObject(), *lat = cJSON_AddObjectToObject(rep, "latency_ns");
            cJSON_AddNumberToObject(lat, "count", 1000);
            cJSON_AddNumberToObject(lat, "p50", base_ns + k);
            cJSON_AddNumberToObject(lat, "p99", 2 * base_ns + k);
            cJSON_AddNumberToObject(rep, "throughput_samples_per_s", 1e9 / (base_ns + k));
            cJSON_AddItemToArray(ra, rep);
        }
        cJSON_AddItemToArray(runs, run);
    }
    return d;
}

static int64_t count_rows(tmlp_history *h, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(tmlp_history_prepare(h, sql, &st, NULL), TMLP_OK);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_create_schema(void **state)
{
    test_tmpdir *t = *state;
    tmlp_history *h = NULL;
    tmlp_error e = {0};
    assert_int_equal(tmlp_history_open(test_tmpdir_path(t, "h.db"), &h, &e), TMLP_OK);
    assert_int_equal(count_rows(h, "PRAGMA user_version"), TMLP_HISTORY_SCHEMA_VERSION);
    assert_int_equal(count_rows(h, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('runs', "
                                   "'metrics')"), 2);
    sqlite3_stmt *st;
    assert_int_equal(tmlp_history_prepare(h, "PRAGMA journal_mode", &st, NULL), TMLP_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(tmlp_history_count(h), 0);
    tmlp_history_close(h);
    /* opening again changes nothing */
    assert_int_equal(tmlp_history_open(test_tmpdir_path(t, "h.db"), &h, &e), TMLP_OK);
    assert_int_equal(count_rows(h, "PRAGMA user_version"), TMLP_HISTORY_SCHEMA_VERSION);
    tmlp_history_close(h);
    tmlp_history_close(NULL);
}

static void test_migrate_from_v0(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "v0.db", path, sizeof path);
    /* an empty database at version 0, as sqlite3 makes it (any other program could) */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE unrelated (x); DROP TABLE unrelated;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    tmlp_history *h = NULL;
    tmlp_error e = {0};
    assert_int_equal(tmlp_history_open(path, &h, &e), TMLP_OK);
    assert_int_equal(count_rows(h, "PRAGMA user_version"), 1);
    /* each migration's step is named, the table is in order */
    for (int i = 0; i < TMLP_HISTORY_SCHEMA_VERSION; i++) {
        assert_int_equal(tmlp_history_migrations[i].from, i);
        assert_non_null(tmlp_history_migrations[i].what);
    }
    cJSON *d = make_doc(1, 1, 100, 0);
    assert_int_equal(tmlp_history_record(h, d, "import", 0, NULL, NULL, &e), TMLP_OK);
    cJSON_Delete(d);
    tmlp_history_close(h);

    /* a newer schema than this build knows: refused, untouched */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(tmlp_history_open(path, &h, &e), TMLP_ERR_FORMAT);
    assert_null(h);
    assert_non_null(strstr(e.message, "newer"));

    /* a file that is not a database */
    FILE *f = fopen(test_tmpdir_path(t, "text.db"), "w");
    assert_non_null(f);
    fputs("this is not an SQLite database, it is a text file long enough to have a header\n", f);
    fclose(f);
    assert_int_equal(tmlp_history_open(test_tmpdir_path(t, "text.db"), &h, &e), TMLP_ERR_IO);
    assert_non_null(strstr(e.message, "not an SQLite database"));
}

static void test_record(void **state)
{
    test_tmpdir *t = *state;
    tmlp_history *h = NULL;
    tmlp_error e = {0};
    assert_int_equal(tmlp_history_open(test_tmpdir_path(t, "h.db"), &h, &e), TMLP_OK);
    cJSON *d = make_doc(2, 3, 1000, 0);
    int64_t id = 0, id2 = 0;
    int dup = -1;
    assert_int_equal(tmlp_history_record(h, d, "run", 1700000000, &id, &dup, &e), TMLP_OK);
    assert_int_equal(id, 1);
    assert_int_equal(dup, 0);
    /* 2 runs x 3 repetitions x (p50, p99, throughput) + accuracy per run; no "count" */
    assert_int_equal(count_rows(h, "SELECT count(*) FROM metrics"), 2 * 3 * 3 + 2);
    assert_int_equal(count_rows(h, "SELECT count(*) FROM metrics WHERE metric = 'count'"), 0);
    assert_int_equal(count_rows(h, "SELECT value FROM metrics WHERE label = 'single-stream' AND repetition = 3 AND "
                                   "metric = 'p50'"), 1002);
    assert_int_equal(count_rows(h, "SELECT count(*) FROM runs WHERE time = '2023-11-14T22:13:20Z'"), 1);
    /* the same document again: a duplicate, nothing written */
    assert_int_equal(tmlp_history_record(h, d, "import", 0, &id2, &dup, &e), TMLP_OK);
    assert_int_equal(dup, 1);
    assert_int_equal(id2, 1);
    assert_int_equal(tmlp_history_count(h), 1);
    /* the workload key ignores what the guard ignores (the host, a tag) */
    cJSON *d2 = make_doc(2, 3, 1000, 7);
    char k1[17], k2[17];
    tmlp_history_workload_key(d, k1);
    tmlp_history_workload_key(d2, k2);
    assert_string_equal(k1, k2);
    cJSON_Delete(d2);
    /* no runs: refused */
    cJSON *empty = cJSON_CreateObject();
    cJSON_AddArrayToObject(empty, "runs");
    assert_int_equal(tmlp_history_record(h, empty, "import", 0, NULL, NULL, &e), TMLP_ERR_FORMAT);
    cJSON_Delete(empty);
    cJSON_Delete(d);
    tmlp_history_close(h);
}

/* Child: record `n` documents (distinct by tag) into path; exit 0 if all went in. After each
 * commit, write the tag to fd (if >= 0) so the parent knows what is committed. */
static void writer(const char *path, int first_tag, int n, int fd)
{
    tmlp_history *h = NULL;
    tmlp_error e = {0};
    if (tmlp_history_open(path, &h, &e)) {
        fprintf(stderr, "writer: %s\n", e.message);
        _exit(1);
    }
    for (int i = 0; i < n; i++) {
        cJSON *d = make_doc(3, 5, 100 + i, first_tag + i);
        if (tmlp_history_record(h, d, "run", 0, NULL, NULL, &e)) {
            fprintf(stderr, "writer: %s\n", e.message);
            _exit(1);
        }
        cJSON_Delete(d);
        int tag = first_tag + i;
        if (fd >= 0 && write(fd, &tag, sizeof tag) != (ssize_t)sizeof tag) _exit(1);
    }
    tmlp_history_close(h);
    _exit(0);
}

static void test_concurrent_writers(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "c.db", path, sizeof path);
    enum { WRITERS = 4, EACH = 25 };
    pid_t pid[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pid[w] = fork();
        assert_true(pid[w] >= 0);
        if (pid[w] == 0) writer(path, 1000 * (w + 1), EACH, -1);
    }
    for (int w = 0; w < WRITERS; w++) {
        int st;
        assert_int_equal(waitpid(pid[w], &st, 0), pid[w]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    tmlp_history *h = NULL;
    assert_int_equal(tmlp_history_open(path, &h, NULL), TMLP_OK);
    assert_int_equal(tmlp_history_count(h), WRITERS * EACH);
    assert_int_equal(count_rows(h, "SELECT count(*) FROM metrics"), WRITERS * EACH * (3 * 5 * 3 + 3));
    tmlp_history_close(h);
}

static void test_kill9_during_writes(void **state)
{
    test_tmpdir *t = *state;
    char path[4096];
    test_tmpdir_join(t, "k.db", path, sizeof path);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        writer(path, 1, 1000000, fds[1]);
    }
    close(fds[1]);
    /* let it commit some runs, then kill it wherever it is (mid-transaction most likely:
     * the writer spends nearly all its time inside one) */
    int committed = 0, tag;
    while (committed < 30 && read(fds[0], &tag, sizeof tag) == (ssize_t)sizeof tag) committed = tag;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    while (read(fds[0], &tag, sizeof tag) == (ssize_t)sizeof tag) committed = tag; /* reported before the kill */
    close(fds[0]);

    tmlp_history *h = NULL;
    assert_int_equal(tmlp_history_open(path, &h, NULL), TMLP_OK);
    sqlite3_stmt *s;
    assert_int_equal(tmlp_history_prepare(h, "PRAGMA integrity_check", &s, NULL), TMLP_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    int64_t n = tmlp_history_count(h);
    assert_true(n >= committed);      /* every reported commit is there */
    assert_true(n <= committed + 1);  /* and at most the one it committed while being killed */
    /* no partial run: every run has all its metrics */
    assert_int_equal(count_rows(h, "SELECT count(*) FROM runs WHERE (SELECT count(*) FROM metrics WHERE run_id = "
                                   "runs.id) <> 48"), 0);
    tmlp_history_close(h);
}

/* ---- change points ------------------------------------------------------------------ */

/* n values around `level` with multiplicative noise of sd `cv`, shifted by `shift` from
 * index `at` on. */
static void series(double *x, int n, double level, double cv, int at, double shift, tmlp_rng *r)
{
    for (int i = 0; i < n; i++) x[i] = level * (i >= at ? 1 + shift : 1) * exp(cv * tmlp_rng_normal(r));
}

static void test_changepoint_shift_found(void **state)
{
    (void)state;
    tmlp_rng r;
    tmlp_rng_seed(&r, 2024);
    double x[40];
    tmlp_changepoint cp[8];
    for (int trial = 0; trial < 20; trial++) {
        series(x, 40, 1000, 0.03, 20, 0.20, &r); /* 3% noise, +20% from run 20 */
        int n = tmlp_changepoints_find(x, 40, TMLP_CHANGEPOINT_MIN_SEG, 0.05, cp, 8);
        assert_int_equal(n, 1);
        assert_true(cp[0].index >= 19 && cp[0].index <= 21);
        assert_true(cp[0].rel_change > 0.15 && cp[0].rel_change < 0.25);
        assert_true(cp[0].p_adj < 0.05);
    }
    /* a 20% drop too, and two shifts in one series */
    series(x, 40, 1000, 0.03, 25, -0.20, &r);
    assert_int_equal(tmlp_changepoints_find(x, 40, 3, 0.05, cp, 8), 1);
    assert_true(cp[0].index >= 24 && cp[0].index <= 26);
    for (int i = 0; i < 40; i++) x[i] = 1000 * (i >= 12 ? 1.2 : 1) * (i >= 28 ? 1.2 : 1) * exp(0.02 * tmlp_rng_normal(&r));
    assert_int_equal(tmlp_changepoints_find(x, 40, 3, 0.05, cp, 8), 2);
    assert_true(abs(cp[0].index - 12) <= 1 && abs(cp[1].index - 28) <= 1);
}

static void test_changepoint_flat_rate(void **state)
{
    (void)state;
    tmlp_rng r;
    tmlp_rng_seed(&r, 7);
    double x[40];
    tmlp_changepoint cp[8];
    enum { TRIALS = 400 };
    int false_alarms = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        series(x, 40, 1000, 0.05, 40, 0, &r);
        int n = tmlp_changepoints_find(x, 40, TMLP_CHANGEPOINT_MIN_SEG, 0.05, cp, 8);
        assert_true(n >= 0);
        false_alarms += n > 0;
    }
    /* the stated rate is <= alpha = 5% (20 of 400); Bonferroni over overlapping splits
     * is conservative, so far fewer are expected */
    print_message("flat series with a change point: %d of %d (alpha 0.05)\n", false_alarms, TRIALS);
    assert_true(false_alarms <= TRIALS / 20);
    /* constant series: nothing, and bad input is refused */
    for (int i = 0; i < 40; i++) x[i] = 5;
    assert_int_equal(tmlp_changepoints_find(x, 40, 3, 0.05, cp, 8), 0);
    x[3] = 0;
    assert_int_equal(tmlp_changepoints_find(x, 40, 3, 0.05, cp, 8), -1);
    assert_int_equal(tmlp_changepoints_find(x, 5, 3, 0.05, cp, 8), -1);
    x[3] = 5;
    assert_int_equal(tmlp_changepoints_find(x, 5, 3, 0.05, cp, 8), 0); /* too short to split */
    assert_int_equal(tmlp_changepoints_find(x, 40, 1, 0.05, cp, 8), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_IN_TMPDIR(test_create_schema),
        TEST_IN_TMPDIR(test_migrate_from_v0),
        TEST_IN_TMPDIR(test_record),
        TEST_IN_TMPDIR(test_concurrent_writers),
        TEST_IN_TMPDIR(test_kill9_during_writes),
        cmocka_unit_test(test_changepoint_shift_found),
        cmocka_unit_test(test_changepoint_flat_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
