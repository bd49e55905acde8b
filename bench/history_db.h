/* history_db.h — the results history: every recorded run of bench_mlp in one SQLite file.
 *
 * A history database holds two tables (docs/history.md has the full schema):
 *   runs     one row per recorded results document: when, where from, the system (git
 *            revision, build, CPU, kernels, BLAS core, host), the workload fingerprint (the
 *            fields of the comparability guard, comparable.c), a hash of the document so the
 *            same document is recorded once, and "guard": the part of the document the guard
 *            reads (context + each run's label, scenario, settings, workload digest);
 *   metrics  one row per (run, run label, repetition, metric): latency mean/p50/p90/p99/...
 *            in ns, throughput in samples/s, accuracy; a run without repetitions is
 *            repetition 1.
 * Versioning: PRAGMA user_version is the schema version. Opening a database migrates it
 * step by step (0 -> 1 -> ...) through a table of migrations, each in one transaction;
 * a database newer than this build is refused.
 * Concurrency and crashes: WAL journal, a busy timeout, and every write in ONE
 * transaction (BEGIN IMMEDIATE), so several processes may record into one file at once and
 * a process killed mid-write leaves every committed run intact and no partial run.
 *
 * This is bench_mlp code: the library (src/) does not know SQLite. Functions return
 * tmlp_status and fill the optional `err` with one line naming the file.
 */
#ifndef TMLP_BENCH_HISTORY_DB_H
#define TMLP_BENCH_HISTORY_DB_H

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "tinymlp/common.h"

/* The schema version this build writes (PRAGMA user_version). */
#define TMLP_HISTORY_SCHEMA_VERSION 1
/* How long a writer waits for another writer's transaction before giving up. */
#define TMLP_HISTORY_BUSY_TIMEOUT_MS 30000

typedef struct tmlp_history {
    sqlite3 *db;
    char path[1024];
} tmlp_history;

/* Open (creating if missing) and migrate the history database at `path`. *out is freed
 * with tmlp_history_close. TMLP_ERR_IO (cannot open, not a database, locked past the
 * timeout), TMLP_ERR_FORMAT (a schema version newer than this build), TMLP_ERR_NOMEM. */
tmlp_status tmlp_history_open(const char *path, tmlp_history **out, tmlp_error *err);
/* NULL is fine. */
void tmlp_history_close(tmlp_history *h);

/* The migrations: entry k takes a database from version k to k + 1 (SQL run inside the
 * migration's transaction). Exposed for the tests. */
typedef struct tmlp_history_migration {
    int from;
    const char *what;
    const char *sql;
} tmlp_history_migration;
extern const tmlp_history_migration tmlp_history_migrations[TMLP_HISTORY_SCHEMA_VERSION];

/* Record a results document ({"context", "runs"}; the JSON of `bench_mlp --format json`,
 * a report's results.json) in one transaction. `source` says where it came from ("run",
 * "report", "ab", "import"), `when` is the time of the run (UTC seconds). *id (may be NULL)
 * gets the run id; *duplicate (may be NULL) is set to 1 when the same document was
 * recorded before (then *id is that run and nothing is written). TMLP_ERR_FORMAT when the
 * document has no runs, TMLP_ERR_IO on a database error. */
tmlp_status tmlp_history_record(tmlp_history *h, const cJSON *doc, const char *source, time_t when, int64_t *id,
                                int *duplicate, tmlp_error *err);

/* The workload fingerprint of a results document: FNV-1a 64 (hex, 16 digits) over the
 * guard's context fields (model kind, layers, widths, parameters, file hash, data kind,
 * file name, count, width, type, the four seeds). Two documents the guard accepts have
 * the same key; the guard itself still decides (per-run settings and digests). */
void tmlp_history_workload_key(const cJSON *doc, char out[17]);
/* FNV-1a 64 (hex) of the document's unformatted JSON text; 0 on out-of-memory. */
int tmlp_history_doc_hash(const cJSON *doc, char out[17]);

/* Number of runs recorded, or -1 on error. */
int64_t tmlp_history_count(tmlp_history *h);

/* Run `sql` and fill err on failure (helpers for the queries of cmd_history.c). */
tmlp_status tmlp_history_exec(tmlp_history *h, const char *sql, tmlp_error *err);
tmlp_status tmlp_history_prepare(tmlp_history *h, const char *sql, sqlite3_stmt **st, tmlp_error *err);

#endif
