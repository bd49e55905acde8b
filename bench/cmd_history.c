/* cmd_history.c — `bench_mlp history`: the results history kept in SQLite (history_db.h).
 *
 *   history list DB [--format table|json|csv]    one line per recorded run, with its id
 *   history show DB ID [--format table|json]     a run's context and every metric
 *   history import DB RESULT.json...             record existing results files
 *   history export DB --format json|csv          everything, for other tools
 *   history trend DB --metric LABEL.METRIC ...   history_report.c
 *   history gate DB RESULT.json ...              history_report.c
 * and the `--history FILE` hooks of the default run, `report` and `ab` (history.h).
 *
 * Exit codes as everywhere (cli.h): usage errors 2, runtime failures 1 (a missing or
 * corrupt database, a file that is not a results document), one line each.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "history.h"
#include "history_db.h"
#include "reports_util.h"
#include "result_check.h"
#include "tinymlp/rng.h"

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp history SUBCOMMAND DB [ARGS]\n"
          "The results history: runs recorded with --history DB (bench_mlp, report) or imported,\n"
          "kept in one SQLite file (docs/history.md: schema, concurrency, methods).\n"
          "  list DB [--format table|json|csv]   one line per run, with its id\n"
          "  show DB ID [--format table|json]    the run's system, workload and every metric\n"
          "  import DB RESULT.json...            record results files of bench_mlp --format json\n"
          "                                      (or a report's results.json); a file recorded\n"
          "                                      before is skipped\n"
          "  export DB --format json|csv         every run and metric\n"
          "  trend DB --metric LABEL.METRIC [--workload KEY] [--alpha A] [--svg FILE] [--html DIR]\n"
          "                                      the metric (single-stream.p50, offline.throughput)\n"
          "                                      over the comparable runs of one workload, with the\n"
          "                                      between-repetition spread and its change points\n"
          "  gate DB RESULT.json [--last N] [--threshold X] [--alpha A]\n"
          "                                      the run-level verdict of `regress` of RESULT.json\n"
          "                                      against the last N (5) comparable runs recorded\n"
          "  --version                           library version and git revision\n"
          "  -h, --help                          this help\n"
          "Exit status: 0 ok (gate: no regression), 3 gate found a regression, 1 runtime error,\n"
          "2 usage error (gate: no comparable run recorded).\n",
          f);
}

/* ---- the hooks ------------------------------------------------------------------------- */

int tmlp_history_record_doc(const char *db, const cJSON *doc, const char *source)
{
    tmlp_history *h = NULL;
    tmlp_error e = {0};
    int64_t id = 0;
    int dup = 0;
    tmlp_status st = tmlp_history_open(db, &h, &e);
    if (!st) tmlp_cli_inputs_add("--history", db); /* no output of this run may replace it */
    if (st || tmlp_history_record(h, doc, source, time(NULL), &id, &dup, &e)) {
        tmlp_cli_error("--history: %s", e.message);
        tmlp_history_close(h);
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_history_close(h);
    fprintf(stderr, "bench_mlp: --history: %s run %" PRId64 " in %s\n", dup ? "already recorded as" : "recorded as",
            id, db);
    return TMLP_EXIT_OK;
}

/* One arm of an A/B stream as a run of the results document. */
static cJSON *ab_arm_run(const char *label, const tmlp_ab_arm_result *a1, const double *fig, int64_t stride,
                         int64_t repeat, double digest)
{
    static const char *const names[4] = {"mean", "p50", "p90", "p99"};
    cJSON *run = cJSON_CreateObject();
    cJSON_AddStringToObject(run, "label", label);
    cJSON_AddStringToObject(run, "scenario", "ab");
    cJSON_AddNumberToObject(run, "workload_digest", digest);
    cJSON *reps = cJSON_AddArrayToObject(run, "repetitions");
    for (int64_t k = 0; k < repeat; k++) {
        cJSON *rep = cJSON_CreateObject(), *lat = cJSON_AddObjectToObject(rep, "latency_ns");
        cJSON_AddNumberToObject(rep, "repetition", (double)(k + 1));
        for (int m = 0; m < 4; m++)
            if (isfinite(fig[m * stride + k])) cJSON_AddNumberToObject(lat, names[m], fig[m * stride + k]);
        cJSON_AddItemToArray(reps, rep);
    }
    if (a1 && a1->labeled > 0) {
        cJSON *acc = cJSON_AddObjectToObject(run, "accuracy");
        cJSON_AddNumberToObject(acc, "correct", (double)a1->correct);
        cJSON_AddNumberToObject(acc, "total", (double)a1->labeled);
    }
    return run;
}

int tmlp_history_record_ab(const char *db, const char *model_a, const char *model_b, const char *data,
                           const tmlp_ab_settings *s, const tmlp_ab_result *first, const double *figures,
                           int64_t stride, int64_t repeat)
{
    unsigned long failed = tmlp_json_failures();
    cJSON *doc = cJSON_CreateObject(), *ctx = tmlp_context_json(NULL);
    tmlp_json_add(doc, "context", ctx);
    char src[1024];
    snprintf(src, sizeof src, "%s vs %s", model_a, model_b);
    cJSON *model = cJSON_AddObjectToObject(ctx, "model"), *d = cJSON_AddObjectToObject(ctx, "data");
    cJSON_AddStringToObject(model, "kind", "ab");
    cJSON_AddStringToObject(model, "source", src);
    cJSON_AddStringToObject(d, "kind", "ab");
    cJSON_AddStringToObject(d, "source", data);
    cJSON *seeds = cJSON_AddObjectToObject(ctx, "seeds");
    cJSON_AddNumberToObject(seeds, "sample", (double)s->sample_seed);
    cJSON_AddNumberToObject(seeds, "schedule", (double)s->route_seed);
    /* the workload: FNV-1a of what both arms ran (a JSON number keeps 53 bits of it) */
    uint64_t h = tmlp_hash64(TMLP_HASH64_INIT, src, strlen(src) + 1);
    h = tmlp_hash64(h, data, strlen(data) + 1);
    h = tmlp_hash64_u64(h, (uint64_t)s->queries);
    h = tmlp_hash64_u64(h, (uint64_t)s->warmup_queries);
    h = tmlp_hash64_u64(h, (uint64_t)llround(s->split_b * 1e9));
    h = tmlp_hash64_u64(tmlp_hash64_u64(h, s->route_seed), s->sample_seed);
    double digest = (double)(h >> 11);
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    cJSON_AddItemToArray(runs, ab_arm_run("ab A", first ? &first->arm[0] : NULL, figures, stride, repeat, digest));
    cJSON_AddItemToArray(runs, ab_arm_run("ab B", first ? &first->arm[1] : NULL, figures + 4 * stride, stride, repeat,
                                          digest));
    int rc;
    if (!ctx || tmlp_json_failures() != failed) {
        tmlp_cli_error("--history: out of memory building the A/B results");
        rc = TMLP_EXIT_RUNTIME;
    } else {
        rc = tmlp_history_record_doc(db, doc, "ab");
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- shared helpers -------------------------------------------------------------------- */

int tmlp_history_open_existing(const char *path, tmlp_history **h)
{
    tmlp_error e = {0};
    if (access(path, R_OK) != 0) { /* reading commands never create a database */
        tmlp_cli_error("history: %s: %s", path, strerror(errno));
        return TMLP_EXIT_RUNTIME;
    }
    if (tmlp_history_open(path, h, &e)) {
        tmlp_cli_error("history: %s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

static int db_error(tmlp_history *h)
{
    tmlp_cli_error("history: %s: %s", h->path, sqlite3_errmsg(h->db));
    return TMLP_EXIT_RUNTIME;
}

/* "table", "json" or "csv" (those allowed by `allowed`, a string like "table|json"). */
static int parse_format(const char *v, const char *allowed, char *out)
{
    if (!strstr(allowed, v) || (strcmp(v, "table") && strcmp(v, "json") && strcmp(v, "csv")))
        return tmlp_cli_usage_error("--format: '%s' is not one of %s", v, allowed);
    snprintf(out, 8, "%s", v);
    return 0;
}

/* A CSV field: quoted when it holds a comma, quote or newline (RFC 4180). */
static void csv_field(FILE *f, const char *s, int last)
{
    if (!s) s = "";
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* The run columns shown by list and export (guard, doc_hash and the fingerprint stay in
 * the database and in `show`). */
static const char *const run_cols[] = {"id", "time", "source", "git", "build", "cpu", "kernels", "blas_core", "host",
                                       "model_kind", "model_layers", "model_source", "data_kind", "data_file",
                                       "workload_key"};
#define N_RUN_COLS (int)(sizeof run_cols / sizeof run_cols[0])

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* One run row (the columns of `cols`) as a JSON object; NULL on out-of-memory. */
static cJSON *row_json(sqlite3_stmt *st, int ncols)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < ncols; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (sqlite3_column_type(st, i) == SQLITE_INTEGER) cJSON_AddNumberToObject(o, name, (double)sqlite3_column_int64(st, i));
        else if (sqlite3_column_type(st, i) == SQLITE_FLOAT) cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i));
        else if (sqlite3_column_type(st, i) == SQLITE_NULL) cJSON_AddNullToObject(o, name);
        else cJSON_AddStringToObject(o, name, col_text(st, i));
    }
    return o;
}

/* A history document: {"schema_version", "kind", ...}, the version every bench_mlp JSON
 * carries (docs/schema/results-v1.json describes each kind). */
static cJSON *history_doc(const char *kind)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc) {
        cJSON_AddNumberToObject(doc, "schema_version", TMLP_RESULT_SCHEMA_VERSION);
        cJSON_AddStringToObject(doc, "kind", kind);
    }
    return doc;
}

static int print_json(cJSON *doc)
{
    char *txt = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!txt) {
        tmlp_cli_error("history: out of memory building the JSON");
        return TMLP_EXIT_RUNTIME;
    }
    puts(txt);
    cJSON_free(txt);
    return TMLP_EXIT_OK;
}

static void select_runs_sql(char *sql, size_t cap, const char *extra)
{
    size_t n = (size_t)snprintf(sql, cap, "SELECT ");
    for (int i = 0; i < N_RUN_COLS && n < cap; i++)
        n += (size_t)snprintf(sql + n, cap - n, "%s%s", i ? ", " : "", run_cols[i]);
    if (n < cap) snprintf(sql + n, cap - n, ", (SELECT count(DISTINCT label) FROM metrics WHERE run_id = runs.id) AS "
                                            "scenarios, (SELECT max(repetition) FROM metrics WHERE run_id = runs.id) "
                                            "AS repetitions FROM runs %s ORDER BY id", extra);
}

/* Every run of h, oldest first, as the listing selects them; 0 or an exit code. */
static int prepare_runs(tmlp_history *h, sqlite3_stmt **st)
{
    char sql[1024];
    tmlp_error e = {0};
    select_runs_sql(sql, sizeof sql, "");
    if (tmlp_history_prepare(h, sql, st, &e)) {
        tmlp_cli_error("history: %s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* ---- list -------------------------------------------------------------------------------- */

static int cmd_list(tmlp_history *h, const char *fmt)
{
    sqlite3_stmt *st;
    int prc = prepare_runs(h, &st);
    if (prc) return prc;
    int ncols = sqlite3_column_count(st), rc = SQLITE_ROW;
    cJSON *doc = !strcmp(fmt, "json") ? history_doc("tinymlp-history-list") : NULL;
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "runs") : NULL;
    if (doc && !arr) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    if (!strcmp(fmt, "json") && !doc) {
        sqlite3_finalize(st);
        return print_json(NULL);
    }
    if (!strcmp(fmt, "csv"))
        for (int i = 0; i < ncols; i++) csv_field(stdout, sqlite3_column_name(st, i), i == ncols - 1);
    if (!strcmp(fmt, "table"))
        printf("%-5s %-20s %-7s %-16s %-15s %-8s %-10s %-30s %-16s %s\n", "id", "time (UTC)", "source", "git", "build",
               "kernels", "BLAS core", "model", "workload", "scenarios x repetitions");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (arr) {
            cJSON_AddItemToArray(arr, row_json(st, ncols));
        } else if (!strcmp(fmt, "csv")) {
            for (int i = 0; i < ncols; i++) csv_field(stdout, col_text(st, i), i == ncols - 1);
        } else {
            const char *model = *col_text(st, 11) ? col_text(st, 11) : col_text(st, 10);
            printf("%-5s %-20s %-7s %-16s %-15s %-8s %-10s %-30.30s %-16s %s x %s\n", col_text(st, 0), col_text(st, 1),
                   col_text(st, 2), col_text(st, 3), col_text(st, 4), col_text(st, 6), col_text(st, 7), model,
                   col_text(st, 14), col_text(st, 15), col_text(st, 16));
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(doc);
        return db_error(h);
    }
    return doc ? print_json(doc) : TMLP_EXIT_OK;
}

/* ---- show -------------------------------------------------------------------------------- */

/* The metrics of run `id` as a JSON array, or printed as a table when arr is NULL. */
static int show_metrics(tmlp_history *h, int64_t id, cJSON *arr)
{
    sqlite3_stmt *st;
    tmlp_error e = {0};
    if (tmlp_history_prepare(h, "SELECT label, scenario, repetition, metric, value FROM metrics WHERE run_id = ? "
                                "ORDER BY rowid", &st, &e)) {
        tmlp_cli_error("history: %s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    sqlite3_bind_int64(st, 1, id);
    int rc;
    if (!arr) printf("\n%-20s %-14s %-10s %-12s %s\n", "label", "scenario", "repetition", "metric", "value");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (arr) {
            cJSON_AddItemToArray(arr, row_json(st, 5));
        } else {
            printf("%-20s %-14s %-10d %-12s %.6g\n", col_text(st, 0), col_text(st, 1), sqlite3_column_int(st, 2),
                   col_text(st, 3), sqlite3_column_double(st, 4));
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_error(h);
}

static int cmd_show(tmlp_history *h, const char *idtext, const char *fmt)
{
    int64_t id;
    int rc = tmlp_cli_parse_i64("ID", idtext, 1, INT64_MAX, &id);
    if (rc) return rc;
    sqlite3_stmt *st;
    tmlp_error e = {0};
    if (tmlp_history_prepare(h, "SELECT * FROM runs WHERE id = ?", &st, &e)) {
        tmlp_cli_error("history: %s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    sqlite3_bind_int64(st, 1, id);
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (s != SQLITE_DONE) return db_error(h);
        tmlp_cli_error("history show: %s has no run %" PRId64 " (see `bench_mlp history list %s`)", h->path, id, h->path);
        return TMLP_EXIT_RUNTIME;
    }
    int ncols = sqlite3_column_count(st);
    if (!strcmp(fmt, "json")) {
        cJSON *o = row_json(st, ncols);
        sqlite3_finalize(st);
        cJSON *g = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "guard") : NULL;
        if (g) cJSON_AddItemToObject(o, "guard", cJSON_Parse(g->valuestring ? g->valuestring : "null"));
        cJSON_Delete(g);
        cJSON *m = cJSON_AddArrayToObject(o, "metrics");
        if ((rc = show_metrics(h, id, m))) {
            cJSON_Delete(o);
            return rc;
        }
        cJSON *doc = history_doc("tinymlp-history-run");
        if (!doc || !o) {
            cJSON_Delete(doc);
            cJSON_Delete(o);
            return print_json(NULL);
        }
        cJSON_AddItemToObject(doc, "run", o);
        return print_json(doc);
    }
    for (int i = 0; i < ncols; i++)
        if (strcmp(sqlite3_column_name(st, i), "guard")) printf("%-20s %s\n", sqlite3_column_name(st, i), col_text(st, i));
    sqlite3_finalize(st);
    return show_metrics(h, id, NULL);
}

/* ---- import ------------------------------------------------------------------------------ */

/* One results file: a document with runs, recorded at the file's modification time. */
static int import_one(tmlp_history *h, const char *path)
{
    char b[96];
    cJSON *doc = ru_read_json(path);
    if (!doc) return TMLP_EXIT_RUNTIME;
    if (!tmlp_results_runs(doc, path)) {
        cJSON_Delete(doc);
        return TMLP_EXIT_RUNTIME;
    }
    struct stat sb;
    time_t when = stat(path, &sb) == 0 ? sb.st_mtime : time(NULL);
    tmlp_error e = {0};
    int64_t id = 0;
    int dup = 0;
    tmlp_status s = tmlp_history_record(h, doc, "import", when, &id, &dup, &e);
    cJSON_Delete(doc);
    if (s) {
        tmlp_cli_error("history import: %s: %s", tmlp_cli_short(path, b, sizeof b), e.message);
        return TMLP_EXIT_RUNTIME;
    }
    printf("%s: %s run %" PRId64 "\n", path, dup ? "already recorded as" : "recorded as", id);
    return 0;
}

static int cmd_import(tmlp_history *h, int n, char **files)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int r = import_one(h, files[i]);
        if (r) rc = r; /* the others are still recorded; the exit says one failed */
    }
    return rc;
}

/* ---- export ------------------------------------------------------------------------------ */

static int export_csv(tmlp_history *h)
{
    sqlite3_stmt *st;
    tmlp_error e = {0};
    if (tmlp_history_prepare(h, "SELECT r.id AS run_id, r.time, r.source, r.git, r.build, r.cpu, r.kernels, "
                                "r.blas_core, r.host, r.workload_key, m.label, m.scenario, m.repetition, m.metric, "
                                "m.value FROM runs r JOIN metrics m ON m.run_id = r.id ORDER BY r.id, m.rowid",
                             &st, &e)) {
        tmlp_cli_error("history: %s", e.message);
        return TMLP_EXIT_RUNTIME;
    }
    int ncols = sqlite3_column_count(st), rc;
    for (int i = 0; i < ncols; i++) csv_field(stdout, sqlite3_column_name(st, i), i == ncols - 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            char num[32];
            const char *t = col_text(st, i);
            if (sqlite3_column_type(st, i) == SQLITE_FLOAT) {
                snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, i));
                t = num;
            }
            csv_field(stdout, t, i == ncols - 1);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_error(h);
}

static int export_json(tmlp_history *h)
{
    sqlite3_stmt *st;
    int prc = prepare_runs(h, &st);
    if (prc) return prc;
    cJSON *doc = history_doc("tinymlp-history");
    cJSON_AddNumberToObject(doc, "history_schema_version", TMLP_HISTORY_SCHEMA_VERSION);
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    int ncols = sqlite3_column_count(st), rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = row_json(st, ncols);
        cJSON_AddItemToArray(runs, o);
        int r = show_metrics(h, sqlite3_column_int64(st, 0), cJSON_AddArrayToObject(o, "metrics"));
        if (r) {
            sqlite3_finalize(st);
            cJSON_Delete(doc);
            return r;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(doc);
        return db_error(h);
    }
    return print_json(doc);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

enum { OPT_FORMAT = 256, OPT_HELP, OPT_QUICK };

/* The options of list, show, import and export: --format (where it applies). Positional
 * arguments are left in argv[optind..]. */
static int parse_simple(int argc, char **argv, const char *formats, char *fmt, int *help)
{
    static const struct option opts[] = {{"format", required_argument, NULL, OPT_FORMAT},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {"quick", no_argument, NULL, OPT_QUICK},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (!formats) return tmlp_cli_usage_error("history %s: no --format option", argv[0]);
            if (parse_format(optarg, formats, fmt)) return TMLP_EXIT_USAGE;
            break;
        case 'h':
        case OPT_HELP: *help = 1; break;
        case OPT_QUICK: break; /* accepted by every command; nothing here is long */
        case ':': return tmlp_cli_usage_error("history %s: %s needs a value", argv[0], argv[optind - 1]);
        default: return tmlp_cli_usage_error("history %s: unknown option \"%s\"", argv[0], argv[optind - 1]);
        }
    }
    return 0;
}

int tmlp_cmd_history(int argc, char **argv)
{
    if (argc < 2) return tmlp_cli_usage_error("history: needs a subcommand: list, show, import, export, trend or gate");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--quick")) {
        print_help(stdout);
        return 0;
    }
    const char *sub = argv[1];
    int sargc = argc - 1;
    char **sargv = argv + 1;
    if (!strcmp(sub, "trend")) return tmlp_history_trend(sargc, sargv);
    if (!strcmp(sub, "gate")) return tmlp_history_gate(sargc, sargv);
    const char *formats = !strcmp(sub, "list") ? "table|json|csv" : !strcmp(sub, "show") ? "table|json"
                          : !strcmp(sub, "export") ? "json|csv" : NULL;
    if (!formats && strcmp(sub, "import"))
        return tmlp_cli_usage_error("history: unknown subcommand \"%s\" (list, show, import, export, trend, gate)", sub);
    char fmt[8] = "";
    int help = 0, rc = parse_simple(sargc, sargv, formats, fmt, &help);
    if (rc) return rc;
    if (help) {
        print_help(stdout);
        return 0;
    }
    int npos = sargc - optind;
    char **pos = sargv + optind;
    if (!strcmp(sub, "export") && !fmt[0])
        return tmlp_cli_usage_error("history export: --format json|csv is required");
    if (!fmt[0]) snprintf(fmt, sizeof fmt, "table");
    int want = !strcmp(sub, "show") ? 2 : 1;
    if (!strcmp(sub, "import") ? npos < 2 : npos != want)
        return tmlp_cli_usage_error("history %s: needs %s", sub, !strcmp(sub, "show") ? "DB ID"
                                                                 : !strcmp(sub, "import") ? "DB RESULT.json..." : "DB");
    tmlp_history *h = NULL;
    if (!strcmp(sub, "import")) {
        tmlp_error e = {0};
        if (tmlp_history_open(pos[0], &h, &e)) { /* import creates the database */
            tmlp_cli_error("history: %s", e.message);
            return TMLP_EXIT_RUNTIME;
        }
    } else if ((rc = tmlp_history_open_existing(pos[0], &h))) {
        return rc;
    }
    if (!strcmp(sub, "list")) rc = cmd_list(h, fmt);
    else if (!strcmp(sub, "show")) rc = cmd_show(h, pos[1], fmt);
    else if (!strcmp(sub, "import")) rc = cmd_import(h, npos - 1, pos + 1);
    else rc = !strcmp(fmt, "csv") ? export_csv(h) : export_json(h);
    tmlp_history_close(h);
    return rc;
}
