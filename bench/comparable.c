/* comparable.c — may two results files be compared? The guard of `regress` and `compare`.
 *
 * A regression verdict compares two SYSTEMS on one WORKLOAD. If the workloads differ —
 * another model file, other layers, other data, other scenario settings or seeds, so
 * another workload digest — every "improvement" and "regression" is meaningless, so the
 * comparison is refused (exit 2) with one line per difference, unless --force.
 * Differences of the system (build type, compiler, BLAS core, kernels, threads, CPU,
 * host, git revision) are the point of a comparison: they are printed as context only.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"
#include "run.h"

#define MAX_DIFFS 32

typedef struct diffs {
    char line[MAX_DIFFS][512];
    int n;
} diffs;

static void add_diff(diffs *d, const char *what, const char *a, const char *b)
{
    if (d->n < MAX_DIFFS) snprintf(d->line[d->n++], sizeof d->line[0], "%s: %s vs %s", what, a, b);
}

/* Compare the scalar at `path` of a and b; a difference goes to d (or, with ctx, to f as
 * context). Equal when both are absent. */
static void cmp_path(const cJSON *a, const cJSON *b, const char *path, const char *label, diffs *d)
{
    char x[160], y[160];
    ru_json_text(ru_json_at(a, path), "absent", x, sizeof x);
    ru_json_text(ru_json_at(b, path), "absent", y, sizeof y);
    if (strcmp(x, y)) add_diff(d, label, x, y);
}

/* The file part of a path, so the same data in another checkout compares equal. */
static void base_of(const cJSON *v, char *buf, size_t cap)
{
    ru_json_text(v, "absent", buf, cap);
    const char *slash = strrchr(buf, '/');
    if (slash) memmove(buf, slash + 1, strlen(slash + 1) + 1);
}

/* Settings that define a scenario's workload (run.settings.*), by scenario: a setting
 * that the scenario does not use (offline_batch_size of a single-stream run) is no
 * difference. Workers and BLAS threads are the system's, not the workload's. */
static const char *const common_settings[] = {"mode", "min_duration_ms", "max_duration_ms", "min_query_count",
                                              "max_query_count", "warmup_queries", "target_latency_percentile",
                                              "sample_seed", "percentile_method"};

static void cmp_runs(const cJSON *ra, const cJSON *rb, const char *label, diffs *d)
{
    char what[128];
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(ra, "settings");
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(rb, "settings");
    const char *scen = ru_str(ra, "scenario");
    const char *extra[4] = {NULL, NULL, NULL, NULL};
    if (scen && !strcmp(scen, "multi-stream")) extra[0] = "samples_per_query";
    if (scen && !strcmp(scen, "server")) {
        extra[0] = "target_qps";
        extra[1] = "target_latency_ns";
        extra[2] = "schedule_seed";
    }
    if (scen && !strcmp(scen, "offline")) {
        extra[0] = "offline_batch_size";
        extra[1] = "offline_sample_count";
    }
    for (size_t i = 0; i < sizeof common_settings / sizeof common_settings[0] + 4; i++) {
        const char *k = i < sizeof common_settings / sizeof common_settings[0]
                            ? common_settings[i] : extra[i - sizeof common_settings / sizeof common_settings[0]];
        if (!k) continue;
        snprintf(what, sizeof what, "%s setting %s", label, k);
        cmp_path(sa, sb, k, what, d);
    }
    snprintf(what, sizeof what, "%s workload digest", label);
    cmp_path(ra, rb, "workload_digest", what, d);
}

/* The workload differences of a and b into d (the system's are not differences). */
static void workload_diffs(const cJSON *a, const cJSON *b, diffs *d)
{
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(a, "context");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(b, "context");
    /* the model: what it computes, not where the file lies */
    cmp_path(ca, cb, "model.kind", "model kind", d);
    cmp_path(ca, cb, "model.layers", "model layers", d);
    cmp_path(ca, cb, "model.input_width", "model input width", d);
    cmp_path(ca, cb, "model.output_width", "model output width", d);
    cmp_path(ca, cb, "model.params", "model parameters", d);
    cmp_path(ca, cb, "model.file_fnv1a64", "model file hash (FNV-1a 64)", d);
    const char *kind = ru_str(ru_json_at(ca, "model"), "kind");
    if (kind && strcmp(kind, "file")) cmp_path(ca, cb, "model.source", "model", d);
    /* the data */
    cmp_path(ca, cb, "data.kind", "data kind", d);
    char x[160], y[160];
    base_of(ru_json_at(ca, "data.source"), x, sizeof x);
    base_of(ru_json_at(cb, "data.source"), y, sizeof y);
    if (strcmp(x, y)) add_diff(d, "data file", x, y);
    cmp_path(ca, cb, "data.count", "data samples", d);
    cmp_path(ca, cb, "data.width", "data width", d);
    cmp_path(ca, cb, "data.dtype", "data type", d);
    cmp_path(ca, cb, "seeds.sample", "sample seed", d);
    cmp_path(ca, cb, "seeds.schedule", "schedule seed", d);
    cmp_path(ca, cb, "seeds.model", "model seed", d);
    cmp_path(ca, cb, "seeds.data", "data seed", d);
    /* each run present in both */
    const cJSON *runs_a = cJSON_GetObjectItemCaseSensitive(a, "runs"), *rb_, *ra_;
    cJSON_ArrayForEach(ra_, runs_a) {
        const char *label = ru_str(ra_, "label");
        if (!label) continue;
        cJSON_ArrayForEach(rb_, cJSON_GetObjectItemCaseSensitive(b, "runs")) {
            const char *lb = ru_str(rb_, "label");
            if (lb && !strcmp(lb, label)) {
                cmp_runs(ra_, rb_, label, d);
                break;
            }
        }
    }
}

int tmlp_comparable_differences(const cJSON *a, const cJSON *b)
{
    diffs d;
    d.n = 0;
    workload_diffs(a, b, &d);
    return d.n;
}

int tmlp_comparable_check(FILE *f, const cJSON *a, const cJSON *b, const char *an, const char *bn, int force)
{
    diffs d;
    d.n = 0;
    workload_diffs(a, b, &d);
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(a, "context");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(b, "context");
    char x[160], y[160];

    /* the system: context, never a reason to refuse */
    static const char *const sys[][2] = {
        {"host", "host"}, {"cpu", "CPU"}, {"cores", "cores"}, {"build_type", "build type"},
        {"compiler", "compiler"}, {"sanitizers", "sanitizers"}, {"version.git", "git revision"},
        {"blas.core", "BLAS core"}, {"blas.threads", "BLAS threads"}, {"workers", "workers"},
        {"kernels.selected", "kernels"}, {"dispatch", "dispatch"},
        {"repeat_mode", "repeat mode"}};
    int printed = 0;
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        ru_json_text(ru_json_at(ca, sys[i][0]), "absent", x, sizeof x);
        ru_json_text(ru_json_at(cb, sys[i][0]), "absent", y, sizeof y);
        if (!strcmp(x, y)) continue;
        if (!printed++) fprintf(f, "Systems differ (context, not a reason to refuse):\n");
        fprintf(f, "  %s: %s vs %s\n", sys[i][1], x, y);
    }
    if (d.n == 0) return 0;
    if (!force) {
        for (int i = 0; i < d.n; i++)
            tmlp_cli_error("not comparable: %s and %s run different workloads: %s", an, bn, d.line[i]);
        tmlp_cli_error("compare the same workload (or pass --force to compare anyway)");
        return TMLP_EXIT_USAGE;
    }
    fprintf(f, "WARNING: --force: %s and %s run different workloads; the verdicts below compare them anyway:\n",
            an, bn);
    for (int i = 0; i < d.n; i++) fprintf(f, "  %s\n", d.line[i]);
    return 0;
}

const cJSON *tmlp_results_runs(const cJSON *doc, const char *source)
{
    char b[96];
    source = tmlp_cli_short(source ? source : "results", b, sizeof b);
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    if (!cJSON_IsArray(runs)) {
        tmlp_cli_error("%s: no \"runs\" array: not a bench_mlp --format json results file", source);
        return NULL;
    }
    if (cJSON_GetArraySize(runs) < 1) {
        tmlp_cli_error("%s: \"runs\" is empty: the results file holds no run", source);
        return NULL;
    }
    int i = 0;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs) {
        if (!cJSON_IsObject(run) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(run, "scenario"))) {
            tmlp_cli_error("%s: runs[%d] is not a run (no \"scenario\"): not a bench_mlp --format json "
                           "results file", source, i);
            return NULL;
        }
        i++;
    }
    return runs;
}
