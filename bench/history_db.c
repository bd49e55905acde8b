/* history_db.c — open, migrate and write the results history (history_db.h).
 *
 * Invariants:
 *   - PRAGMA user_version is the schema version; it changes only inside the transaction of
 *     the migration that changes the tables, so a crash mid-migration leaves the old
 *     version and the old tables.
 *   - Every write is one BEGIN IMMEDIATE ... COMMIT: the write lock is taken before the
 *     first read of the transaction, so two writers never deadlock on a lock upgrade, and
 *     a run is in the database with all its metrics or not at all.
 *   - WAL journal + busy timeout: readers never block writers, writers queue.
 * To add schema version 2: append {1, "what changed", "ALTER TABLE ..."} to the table of
 * migrations and raise TMLP_HISTORY_SCHEMA_VERSION; docs/history.md lists the versions.
 */
#include "history_db.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports_util.h" /* ru_json_at, ru_json_text */
#include "tinymlp/rng.h"

const tmlp_history_migration tmlp_history_migrations[TMLP_HISTORY_SCHEMA_VERSION] = {
    {0, "runs and metrics tables",
     "CREATE TABLE runs ("
     " id INTEGER PRIMARY KEY,"
     " time TEXT NOT NULL,"          /* UTC of the run, ISO 8601 */
     " recorded_at TEXT NOT NULL,"   /* UTC of the recording */
     " source TEXT NOT NULL,"        /* run | report | ab | import */
     " git TEXT, build TEXT, cpu TEXT, kernels TEXT, blas_core TEXT, host TEXT,"
     " model_kind TEXT, model_layers TEXT, model_input_width TEXT, model_output_width TEXT,"
     " model_params TEXT, model_hash TEXT, model_source TEXT,"
     " data_kind TEXT, data_file TEXT, data_count TEXT, data_width TEXT, data_dtype TEXT,"
     " seed_sample TEXT, seed_schedule TEXT, seed_model TEXT, seed_data TEXT,"
     " workload_key TEXT NOT NULL,"
     " doc_hash TEXT NOT NULL UNIQUE,"
     " guard TEXT NOT NULL);"
     "CREATE INDEX runs_by_workload ON runs(workload_key, id);"
     "CREATE TABLE metrics ("
     " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
     " label TEXT NOT NULL,"         /* the run's label: single-stream, offline b=256 */
     " scenario TEXT NOT NULL,"
     " repetition INTEGER NOT NULL," /* 1..n */
     " metric TEXT NOT NULL,"        /* mean, p50, ..., throughput, accuracy */
     " value REAL NOT NULL,"
     " PRIMARY KEY (run_id, label, repetition, metric));"},
};

static tmlp_status fail(tmlp_error *err, tmlp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tmlp_status fail(tmlp_error *err, tmlp_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

tmlp_status tmlp_history_exec(tmlp_history *h, const char *sql, tmlp_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(h->db, sql, NULL, NULL, &msg) == SQLITE_OK) return TMLP_OK;
    tmlp_status st = fail(err, TMLP_ERR_IO, "%s: %s", h->path, msg ? msg : sqlite3_errmsg(h->db));
    sqlite3_free(msg);
    return st;
}

tmlp_status tmlp_history_prepare(tmlp_history *h, const char *sql, sqlite3_stmt **st, tmlp_error *err)
{
    if (sqlite3_prepare_v2(h->db, sql, -1, st, NULL) == SQLITE_OK) return TMLP_OK;
    return fail(err, TMLP_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
}

static int user_version(tmlp_history *h)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Bring the schema to TMLP_HISTORY_SCHEMA_VERSION, one migration per transaction. The
 * version is read again inside each transaction: another process may have migrated. */
static tmlp_status migrate(tmlp_history *h, tmlp_error *err)
{
    /* up to date: no write lock (readers of a current database never wait for writers) */
    if (user_version(h) == TMLP_HISTORY_SCHEMA_VERSION) return TMLP_OK;
    for (;;) {
        tmlp_status st = tmlp_history_exec(h, "BEGIN IMMEDIATE", err);
        if (st) return st;
        int v = user_version(h);
        if (v < 0) {
            tmlp_history_exec(h, "ROLLBACK", NULL);
            return fail(err, TMLP_ERR_IO, "%s: cannot read the schema version: %s", h->path, sqlite3_errmsg(h->db));
        }
        if (v > TMLP_HISTORY_SCHEMA_VERSION) {
            tmlp_history_exec(h, "ROLLBACK", NULL);
            return fail(err, TMLP_ERR_FORMAT, "%s: schema version %d is newer than this bench_mlp's %d: use a newer "
                        "bench_mlp", h->path, v, TMLP_HISTORY_SCHEMA_VERSION);
        }
        if (v == TMLP_HISTORY_SCHEMA_VERSION) return tmlp_history_exec(h, "COMMIT", err);
        char set[64];
        snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
        if ((st = tmlp_history_exec(h, tmlp_history_migrations[v].sql, err)) ||
            (st = tmlp_history_exec(h, set, err)) || (st = tmlp_history_exec(h, "COMMIT", err))) {
            tmlp_history_exec(h, "ROLLBACK", NULL);
            return st;
        }
    }
}

/* Journal mode WAL, set once per file: the mode persists in the file, and connections of
 * other processes that open a new file at the same moment may each try to switch it (the
 * switch rewrites the header and the wal-index; the loser gets SQLITE_BUSY or SQLITE_IOERR,
 * which the busy timeout does not cover). So: read the mode, switch only when it is not WAL,
 * and retry the switch for up to ~2 s while another process is doing the same. */
static tmlp_status set_wal(tmlp_history *h, tmlp_error *err)
{
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(h->db, "PRAGMA journal_mode", -1, &st, NULL);
        int is_wal = rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
                     !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        if (is_wal) return TMLP_OK;
        rc = sqlite3_exec(h->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        int code = rc & 0xff;
        if (rc == SQLITE_OK && attempt < 200) continue; /* read it back: WAL, or not (a read-only place) */
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED && code != SQLITE_IOERR) || attempt >= 200)
            return fail(err, TMLP_ERR_IO, "%s: cannot switch the history database to WAL: %s", h->path,
                        rc == SQLITE_OK ? "the journal mode stays another" : sqlite3_errmsg(h->db));
        struct timespec ts = {0, 10 * 1000 * 1000}; /* 10 ms */
        nanosleep(&ts, NULL);
    }
}

tmlp_status tmlp_history_open(const char *path, tmlp_history **out, tmlp_error *err)
{
    *out = NULL;
    tmlp_history *h = calloc(1, sizeof *h);
    if (!h) return fail(err, TMLP_ERR_NOMEM, "history: out of memory");
    snprintf(h->path, sizeof h->path, "%s", path);
    if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        tmlp_status st = fail(err, TMLP_ERR_IO, "%s: cannot open the history database: %s", path,
                              h->db ? sqlite3_errmsg(h->db) : "out of memory");
        tmlp_history_close(h);
        return st;
    }
    sqlite3_busy_timeout(h->db, TMLP_HISTORY_BUSY_TIMEOUT_MS);
    /* WAL: readers do not block the writer; synchronous=FULL: a committed run survives a
     * power cut, not only a killed process. journal_mode answers with the mode it set. */
    tmlp_status st = set_wal(h, err);
    if (!st) st = tmlp_history_exec(h, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", err);
    if (!st) st = migrate(h, err);
    if (st) {
        if (err && strstr(err->message, "not a database"))
            fail(err, TMLP_ERR_IO, "%s: not an SQLite database (a history file is one)", path);
        tmlp_history_close(h);
        return st;
    }
    *out = h;
    return TMLP_OK;
}

void tmlp_history_close(tmlp_history *h)
{
    if (!h) return;
    sqlite3_close(h->db);
    free(h);
}

int64_t tmlp_history_count(tmlp_history *h)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(h->db, "SELECT count(*) FROM runs", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- reading the document ---------------------------------------------------------- */

/* The fingerprint columns, in column order, with their context paths. data.source is
 * reduced to its file name (the guard compares the file, not the checkout). */
static const char *const key_paths[] = {"model.kind", "model.layers", "model.input_width", "model.output_width",
                                        "model.params", "model.file_fnv1a64", "model.source", "data.kind",
                                        "data.source", "data.count", "data.width", "data.dtype", "seeds.sample",
                                        "seeds.schedule", "seeds.model", "seeds.data"};
#define N_KEYS (sizeof key_paths / sizeof key_paths[0])

static void key_text(const cJSON *ctx, size_t i, char *buf, size_t cap)
{
    ru_json_text(ru_json_at(ctx, key_paths[i]), "", buf, cap);
    if (!strcmp(key_paths[i], "data.source")) {
        const char *slash = strrchr(buf, '/');
        if (slash) memmove(buf, slash + 1, strlen(slash + 1) + 1);
    }
    /* the guard compares a model's source only when it is not a file (synthetic:...) */
    if (!strcmp(key_paths[i], "model.source")) {
        char kind[32];
        ru_json_text(ru_json_at(ctx, "model.kind"), "", kind, sizeof kind);
        if (!strcmp(kind, "file")) buf[0] = '\0';
    }
}

void tmlp_history_workload_key(const cJSON *doc, char out[17])
{
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context");
    uint64_t hash = TMLP_HASH64_INIT;
    char buf[512];
    for (size_t i = 0; i < N_KEYS; i++) {
        key_text(ctx, i, buf, sizeof buf);
        hash = tmlp_hash64(hash, buf, strlen(buf) + 1); /* the NUL separates the fields */
    }
    snprintf(out, 17, "%016llx", (unsigned long long)hash);
}

int tmlp_history_doc_hash(const cJSON *doc, char out[17])
{
    char *txt = cJSON_PrintUnformatted(doc);
    if (!txt) return 0;
    uint64_t hash = tmlp_hash64(TMLP_HASH64_INIT, txt, strlen(txt));
    cJSON_free(txt);
    snprintf(out, 17, "%016llx", (unsigned long long)hash);
    return 1;
}

/* The guard's view of doc: its context and, per run, what comparable.c reads. */
static char *guard_text(const cJSON *doc)
{
    cJSON *g = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(g, "runs");
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context"), *r;
    if (ctx) cJSON_AddItemToObject(g, "context", cJSON_Duplicate(ctx, 1));
    static const char *const keep[] = {"label", "scenario", "settings", "workload_digest", "valid"};
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "runs")) {
        cJSON *x = cJSON_CreateObject();
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keep[k]);
            if (v) cJSON_AddItemToObject(x, keep[k], cJSON_Duplicate(v, 1));
        }
        cJSON_AddItemToArray(runs, x);
    }
    char *txt = runs ? cJSON_PrintUnformatted(g) : NULL;
    cJSON_Delete(g);
    return txt;
}

/* ---- writing ------------------------------------------------------------------------ */

static void iso_utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static tmlp_status insert_run(tmlp_history *h, const cJSON *doc, const char *source, time_t when,
                              const char *doc_hash, int64_t *id, tmlp_error *err)
{
    static const char *const sys_paths[] = {"version.git", "build_type", "cpu", "kernels.kernel", "blas.core",
                                            "host"};
    char sql[1024] = "INSERT INTO runs (time, recorded_at, source, git, build, cpu, kernels, blas_core, host, "
                     "model_kind, model_layers, model_input_width, model_output_width, model_params, model_hash, "
                     "model_source, data_kind, data_file, data_count, data_width, data_dtype, seed_sample, "
                     "seed_schedule, seed_model, seed_data, workload_key, doc_hash, guard) VALUES (?";
    for (int i = 1; i < 28; i++) strcat(sql, ",?");
    strcat(sql, ")");
    sqlite3_stmt *st;
    tmlp_status s = tmlp_history_prepare(h, sql, &st, err);
    if (s) return s;
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(doc, "context");
    char t[32], now[32], buf[512], key[17];
    iso_utc(when, t);
    iso_utc(time(NULL), now);
    int k = 1;
    sqlite3_bind_text(st, k++, t, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, source, -1, SQLITE_TRANSIENT);
    for (size_t i = 0; i < sizeof sys_paths / sizeof sys_paths[0]; i++) {
        ru_json_text(ru_json_at(ctx, sys_paths[i]), "", buf, sizeof buf);
        sqlite3_bind_text(st, k++, buf, -1, SQLITE_TRANSIENT);
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        key_text(ctx, i, buf, sizeof buf);
        /* the column keeps a file model's path (for people); the key leaves it out */
        if (!strcmp(key_paths[i], "model.source")) ru_json_text(ru_json_at(ctx, key_paths[i]), "", buf, sizeof buf);
        sqlite3_bind_text(st, k++, buf, -1, SQLITE_TRANSIENT);
    }
    tmlp_history_workload_key(doc, key);
    sqlite3_bind_text(st, k++, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, doc_hash, -1, SQLITE_TRANSIENT);
    char *guard = guard_text(doc);
    if (!guard) {
        sqlite3_finalize(st);
        return fail(err, TMLP_ERR_NOMEM, "%s: out of memory", h->path);
    }
    sqlite3_bind_text(st, k++, guard, -1, free);
    if (sqlite3_step(st) != SQLITE_DONE) s = fail(err, TMLP_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(h->db);
    return s;
}

static tmlp_status insert_metric(sqlite3_stmt *st, int64_t id, const char *label, const char *scen, int rep,
                                 const char *metric, double v)
{
    if (!isfinite(v)) return TMLP_OK;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, scen, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, rep);
    sqlite3_bind_text(st, 5, metric, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 6, v);
    return sqlite3_step(st) == SQLITE_DONE ? TMLP_OK : TMLP_ERR_IO;
}

/* One repetition's figures: every latency of its latency_ns (not the count), and its
 * throughput. */
static tmlp_status insert_figures(sqlite3_stmt *st, int64_t id, const char *label, const char *scen, int rep,
                                  const cJSON *o)
{
    const cJSON *x;
    tmlp_status s = TMLP_OK;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(o, "latency_ns")) {
        if (cJSON_IsNumber(x) && x->string && strcmp(x->string, "count") && !s) s = insert_metric(st, id, label, scen, rep, x->string, x->valuedouble);
    }
    x = cJSON_GetObjectItemCaseSensitive(o, "throughput_samples_per_s");
    if (cJSON_IsNumber(x) && !s) s = insert_metric(st, id, label, scen, rep, "throughput", x->valuedouble);
    return s;
}

static tmlp_status insert_metrics(tmlp_history *h, const cJSON *doc, int64_t id, tmlp_error *err)
{
    sqlite3_stmt *st;
    tmlp_status s = tmlp_history_prepare(h, "INSERT OR REPLACE INTO metrics (run_id, label, scenario, repetition, "
                                            "metric, value) VALUES (?,?,?,?,?,?)", &st, err);
    if (s) return s;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "runs")) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(r, "label"), *sc = cJSON_GetObjectItemCaseSensitive(r, "scenario");
        const char *scen = cJSON_IsString(sc) ? sc->valuestring : "";
        const char *label = cJSON_IsString(l) ? l->valuestring : scen;
        const cJSON *reps = cJSON_GetObjectItemCaseSensitive(r, "repetitions"), *x;
        int rep = 0;
        if (cJSON_IsArray(reps) && cJSON_GetArraySize(reps) > 0) {
            cJSON_ArrayForEach(x, reps) if (!s) s = insert_figures(st, id, label, scen, ++rep, x);
        } else if (!s) {
            s = insert_figures(st, id, label, scen, 1, r);
        }
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(r, "accuracy");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(acc, "correct"), *t = cJSON_GetObjectItemCaseSensitive(acc, "total");
        if (!s && cJSON_IsNumber(c) && cJSON_IsNumber(t) && t->valuedouble > 0)
            s = insert_metric(st, id, label, scen, 1, "accuracy", c->valuedouble / t->valuedouble);
    }
    if (s) s = fail(err, TMLP_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    sqlite3_finalize(st);
    return s;
}

/* The id of the run recorded from the document with this hash, or 0. */
static int64_t find_doc(tmlp_history *h, const char *doc_hash)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT id FROM runs WHERE doc_hash = ?", -1, &st, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_text(st, 1, doc_hash, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

tmlp_status tmlp_history_record(tmlp_history *h, const cJSON *doc, const char *source, time_t when, int64_t *id,
                                int *duplicate, tmlp_error *err)
{
    int64_t rid = 0;
    char hash[17];
    if (duplicate) *duplicate = 0;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) < 1)
        return fail(err, TMLP_ERR_FORMAT, "not a results document: no \"runs\" to record");
    if (!tmlp_history_doc_hash(doc, hash)) return fail(err, TMLP_ERR_NOMEM, "%s: out of memory", h->path);
    tmlp_status s = tmlp_history_exec(h, "BEGIN IMMEDIATE", err);
    if (s) return s;
    int64_t old = find_doc(h, hash);
    if (old) {
        tmlp_history_exec(h, "ROLLBACK", NULL);
        if (duplicate) *duplicate = 1;
        if (id) *id = old;
        return TMLP_OK;
    }
    if (!(s = insert_run(h, doc, source, when, hash, &rid, err)) && !(s = insert_metrics(h, doc, rid, err)))
        s = tmlp_history_exec(h, "COMMIT", err);
    if (s) {
        tmlp_history_exec(h, "ROLLBACK", NULL);
        return s;
    }
    if (id) *id = rid;
    return TMLP_OK;
}
