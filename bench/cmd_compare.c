/* cmd_compare.c — `bench_mlp compare A B`: is B faster than A?
 *
 * A and B are either bench_mlp JSON results or text files with one number per line ('#'
 * starts a comment, blank lines are ignored, anything else is an error naming file and
 * line). For JSON results the unit of replication is the RUN: the values compared are one
 * per repetition (`bench_mlp --repeat N` writes them) of one latency figure (--metric,
 * default p50) of one scenario (--scenario NAME, default the first scenario of A that B
 * also has); the two files must run the same workload (comparable.c; --force). The
 * queries of one run share its state and are not independent, so their per-query
 * latencies are used only on request (--per-query), labelled as such.
 *
 * The verdict on two results files is the regression gate's, by construction: the family
 * of every metric of every matched run is built and decided by the one rule
 * (tmlp_gate_build -> tmlp_regress_decide: run-level Welch on logs, noise floor, Holm over
 * the family) exactly as `bench_mlp regress A B` does, and compare reports the chosen
 * metric's line of it (offline: its throughput, the metric the gate judges it by). The
 * tests below stay as a description of the values.
 * For text files (and --per-query) the analysis is tmlp_stats_compare (src/stats/verdict.c):
 * Welch's t (verdict), Student's t, Mann-Whitney U, Cohen's d / Hedges' g, the Welch CI of
 * mean(B) - mean(A) and the Fieller CI of the relative change, all of B - A (negative = B
 * faster, lower latency).
 *
 * Exit codes: 0 done (whatever the verdict), 1 unreadable or malformed input,
 * 2 usage error (unknown option, missing argument, bad number).
 */
#include "commands.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result_check.h"
#include "run.h" /* tmlp_comparable_check */
#include "tinymlp.h"
#include "tinymlp/stats.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_mlp compare [options] A B\n"
            "  A, B: bench_mlp JSON results or text files with one number per line\n"
            "        ('#' comments and blank lines ignored). B is compared to A (baseline);\n"
            "        lower values are better (latencies).\n"
            "options:\n"
            "  --alpha X               significance level of Welch's t-test (default 0.05)\n"
            "  --noise X               text files: noise band of the relative change, 0.01 or 1%%\n"
            "                          (default 1%%)\n"
            "  --threshold X           results files: the regression gate's threshold, 0.05 or 5%%\n"
            "                          (default 5%%); the bar is max(threshold, noise floor), and the\n"
            "                          verdict is the one bench_mlp regress gives on the same files\n"
            "  --confidence X          level of every confidence interval (default 0.95)\n"
            "  --percentile-method M   loadgen|linear|lower|higher|nearest|midpoint|nearest_rank\n"
            "                          (default loadgen)\n"
            "  --scenario NAME         scenario to use from JSON results (default: the first\n"
            "                          scenario of A that B also has); single-stream,\n"
            "                          single_stream and SingleStream are the same\n"
            "  --metric M              JSON results: mean|p50|p90|p99, one value per repetition\n"
            "                          (bench_mlp --repeat N; default p50). The run is the unit:\n"
            "                          a verdict needs >= 3 repetitions a side\n"
            "  --per-query             JSON results: compare the per-query latencies of one run\n"
            "                          instead (they share the run's state: not a verdict about\n"
            "                          runs, labelled so)\n"
            "  --force                 JSON results of different workloads: compare anyway\n"
            "  --format table|json     output format (default table)\n"
            "  --quick                 accepted for uniformity: compare runs nothing long\n"
            "  --version               library version and git revision\n"
            "  -h, --help              this help\n");
}

/* ---- input ---- */

typedef struct {
    const char *path;
    int per_query;   /* JSON: per-query latencies of one run instead of repetitions */
    const char *metric; /* JSON: "mean", "p50", "p90" or "p99" */
    int64_t reps;    /* JSON, per repetition: repetitions found */
    char *text;      /* whole file */
    cJSON *json;     /* non-NULL for a bench_mlp JSON result */
    double *x;       /* the sample */
    int64_t n;
    const char *scenario; /* chosen scenario (JSON only; points into json) */
    const char *label;    /* the chosen run's label (JSON only; points into json) */
} source;

static void source_free(source *s)
{
    free(s->text);
    cJSON_Delete(s->json);
    free(s->x);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_mlp compare: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_RUNTIME;
}

/* The whole file, text or JSON, within the size cap of a results file (result_check.h). */
static int read_file(source *s)
{
    char msg[1024];
    size_t len;
    if (tmlp_result_slurp(s->path, &s->text, &len, msg, sizeof msg)) return fail("%s", msg);
    return 0;
}

static int push(source *s, int64_t *cap, double v)
{
    if (s->n == *cap) {
        int64_t nc = *cap ? *cap * 2 : 256;
        double *nx = (uint64_t)nc > SIZE_MAX / sizeof(double) ? NULL : realloc(s->x, (size_t)nc * sizeof(double));
        if (!nx) return -1;
        s->x = nx;
        *cap = nc;
    }
    s->x[s->n++] = v;
    return 0;
}

/* One number per line; '#' to the end of the line is a comment. */
static int parse_text(source *s)
{
    int64_t cap = 0, lineno = 0;
    char *p = s->text;
    while (*p) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (eol) *eol = '\0';
        lineno++;
        char *hash = strchr(p, '#');
        if (hash) *hash = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1])) *--end = '\0';
        if (*p) {
            char *stop;
            errno = 0;
            double v = strtod(p, &stop);
            if (stop == p || *stop != '\0')
                return fail("%s:%lld: not a number: '%s'", s->path, (long long)lineno, p);
            if (!isfinite(v) || errno == ERANGE)
                return fail("%s:%lld: not a finite number: '%s'", s->path, (long long)lineno, p);
            if (push(s, &cap, v)) return fail("out of memory reading '%s'", s->path);
        }
        p = next;
    }
    if (s->n == 0) return fail("%s: no numbers in the file", s->path);
    return 0;
}

static const cJSON *runs_of(const source *s)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(s->json, "runs");
    return cJSON_IsArray(runs) ? runs : NULL;
}

static const char *scenario_of(const cJSON *run)
{
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(run, "scenario");
    return cJSON_IsString(sc) ? sc->valuestring : "";
}

/* Scenario names match by meaning: "single_stream", "SingleStream" and "single-stream"
 * are one scenario (tmlp_scenario_parse). */
static int same_scenario(const char *a, const char *b)
{
    tmlp_scenario x, y;
    if (tmlp_scenario_parse(a, &x, NULL) == TMLP_OK && tmlp_scenario_parse(b, &y, NULL) == TMLP_OK) return x == y;
    return !strcmp(a, b);
}

static const cJSON *find_run(const source *s, const char *scenario)
{
    const cJSON *run;
    cJSON_ArrayForEach(run, runs_of(s))
    {
        if (!scenario || same_scenario(scenario_of(run), scenario)) return run;
    }
    return NULL;
}

/* One value per repetition of s->metric ("repetitions"; a run without it is one). */
static int load_repetitions(source *s, const cJSON *run)
{
    const cJSON *reps = cJSON_GetObjectItemCaseSensitive(run, "repetitions"), *x;
    int64_t cap = 0;
    if (cJSON_IsArray(reps) && cJSON_GetArraySize(reps) > 0) {
        cJSON_ArrayForEach(x, reps) {
            const cJSON *lat = cJSON_GetObjectItemCaseSensitive(x, "latency_ns");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(lat, s->metric);
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                return fail("%s: run '%s': a repetition has no latency_ns.%s", s->path, s->scenario, s->metric);
            if (push(s, &cap, v->valuedouble)) return fail("out of memory reading '%s'", s->path);
        }
    } else {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "latency_ns"),
                                                          s->metric);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return fail("%s: run '%s' has no latency_ns.%s", s->path, s->scenario, s->metric);
        if (push(s, &cap, v->valuedouble)) return fail("out of memory reading '%s'", s->path);
    }
    s->reps = s->n;
    return 0;
}

static int load_run(source *s, const cJSON *run)
{
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(run, "latencies_ns");
    s->scenario = scenario_of(run);
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(run, "label");
    s->label = cJSON_IsString(label) ? label->valuestring : s->scenario;
    if (!s->per_query) return load_repetitions(s, run);
    if (!cJSON_IsArray(lat))
        return fail("%s: run '%s' has no \"latencies_ns\" array (bench_mlp writes it with --raw-latencies)",
                    s->path, s->scenario);
    int64_t cap = 0, i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, lat)
    {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return fail("%s: run '%s': latencies_ns[%lld] is not a number", s->path, s->scenario,
                        (long long)i);
        if (v->valuedouble < 0) { /* -1: a query that never completed has no latency */
            i++;
            continue;
        }
        if (push(s, &cap, v->valuedouble)) return fail("out of memory reading '%s'", s->path);
        i++;
    }
    if (s->n == 0) return fail("%s: run '%s' has no latencies", s->path, s->scenario);
    return 0;
}

static int open_source(source *s)
{
    int rc = read_file(s);
    if (rc) return rc;
    const char *p = s->text;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '{') {
        s->json = cJSON_Parse(s->text);
        if (!s->json) return fail("%s: malformed JSON near byte %ld", s->path,
                                  (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - s->text : 0));
        char msg[1024];
        if (tmlp_result_check(s->json, s->path, msg, sizeof msg)) return fail("%s", msg);
        return 0;
    }
    return parse_text(s);
}

/* Choose the run(s) of JSON sources. */
static int select_runs(source *a, source *b, const char *scenario)
{
    if (a->json && b->json && !scenario) {
        const cJSON *run;
        cJSON_ArrayForEach(run, runs_of(a))
        {
            if (find_run(b, scenario_of(run))) {
                scenario = scenario_of(run);
                break;
            }
        }
        if (!scenario) return fail("%s and %s have no scenario in common", a->path, b->path);
    }
    source *side[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!side[i]->json) continue;
        const cJSON *run = find_run(side[i], scenario);
        if (!run) {
            if (scenario) return fail("%s: no run with scenario '%s'", side[i]->path, scenario);
            return fail("%s: no runs", side[i]->path);
        }
        int rc = load_run(side[i], run);
        if (rc) return rc;
    }
    return 0;
}

/* ---- options ---- */

typedef struct {
    tmlp_stats_compare_opts stats;
    const char *scenario;
    const char *metric;
    double threshold;   /* results files: the gate's threshold */
    int json, per_query, force;
    const char *path_a, *path_b;
} options;

static int parse_number(const char *opt, const char *s, double lo, double hi, int allow_percent,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && allow_percent && *end == '%' && end[1] == '\0') {
        v /= 100.0;
        end++;
    }
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "bench_mlp compare: %s: bad value '%s' (expected a number in [%g, %g])\n",
                opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

enum { CMP_ALPHA = 256, CMP_NOISE, CMP_CONFIDENCE, CMP_METHOD, CMP_SCENARIO, CMP_FORMAT, CMP_METRIC, CMP_THRESHOLD,
       CMP_QUICK, CMP_PER_QUERY, CMP_FORCE, CMP_HELP };
static const struct option compare_options[] = {
    {"alpha", required_argument, NULL, CMP_ALPHA},       {"noise", required_argument, NULL, CMP_NOISE},
    {"confidence", required_argument, NULL, CMP_CONFIDENCE},
    {"percentile-method", required_argument, NULL, CMP_METHOD},
    {"scenario", required_argument, NULL, CMP_SCENARIO}, {"format", required_argument, NULL, CMP_FORMAT},
    {"metric", required_argument, NULL, CMP_METRIC},     {"threshold", required_argument, NULL, CMP_THRESHOLD},
    {"quick", no_argument, NULL, CMP_QUICK},             {"per-query", no_argument, NULL, CMP_PER_QUERY},
    {"force", no_argument, NULL, CMP_FORCE},             {"help", no_argument, NULL, CMP_HELP},
    {NULL, 0, NULL, 0}};

/* The options that name a choice: --percentile-method, --metric, --format. 0 or -1 (message printed). */
static int compare_choice(options *o, int c, const char *v)
{
    switch (c) {
    case CMP_METHOD:
        if (tmlp_percentile_method_parse(v, &o->stats.method, NULL) == TMLP_OK) return 0;
        fprintf(stderr, "bench_mlp compare: unknown percentile method '%s'\n", v);
        return -1;
    case CMP_METRIC:
        if (strcmp(v, "mean") && strcmp(v, "p50") && strcmp(v, "p90") && strcmp(v, "p99")) {
            fprintf(stderr, "bench_mlp compare: --metric must be mean, p50, p90 or p99, not '%s'\n", v);
            return -1;
        }
        o->metric = v;
        return 0;
    default: /* CMP_FORMAT */
        if (!strcmp(v, "json")) o->json = 1;
        else if (!strcmp(v, "table")) o->json = 0;
        else {
            fprintf(stderr, "bench_mlp compare: --format must be table or json, not '%s'\n", v);
            return -1;
        }
        return 0;
    }
}

/* One option into o: 0, -1 usage error (message printed), -2 not in the table. */
static int compare_option(options *o, int c, const char *v)
{
    switch (c) {
    case CMP_ALPHA: return parse_number("--alpha", v, 1e-300, 0.5, 1, &o->stats.alpha);
    case CMP_NOISE: return parse_number("--noise", v, 0.0, 10.0, 1, &o->stats.noise);
    case CMP_CONFIDENCE: return parse_number("--confidence", v, 0.5, 0.999999, 1, &o->stats.confidence);
    case CMP_THRESHOLD: return parse_number("--threshold", v, 0.0, 10.0, 1, &o->threshold);
    case CMP_METHOD:
    case CMP_METRIC:
    case CMP_FORMAT: return compare_choice(o, c, v);
    case CMP_SCENARIO: o->scenario = v; return 0;
    case CMP_QUICK: return 0; /* nothing to shorten: compare reads files */
    case CMP_PER_QUERY: o->per_query = 1; return 0;
    case CMP_FORCE: o->force = 1; return 0;
    default: return -2;
    }
}

/* 0 ok, 1 help shown, -1 usage error (message printed). Files and options may come in
 * any order; "-" is a file (stdin), "--" ends the options. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->stats = tmlp_stats_compare_opts_default();
    o->metric = "p50";
    o->threshold = 0.05;
    int c, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", compare_options, NULL)) != -1) {
        if (c == 'h' || c == CMP_HELP) {
            usage(stdout);
            return 1;
        }
        if (c == ':') {
            fprintf(stderr, "bench_mlp compare: %s needs a value\n", argv[optind - 1]);
            return -1;
        }
        if ((rc = compare_option(o, c, optarg)) == -2) {
            fprintf(stderr, "bench_mlp compare: unknown option '%s'\n", argv[optind - 1]);
            return -1;
        }
        if (rc) return -1;
    }
    if (optind < argc) o->path_a = argv[optind];
    if (optind + 1 < argc) o->path_b = argv[optind + 1];
    if (optind + 2 < argc) {
        fprintf(stderr, "bench_mlp compare: unexpected argument '%s'\n", argv[optind + 2]);
        return -1;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "bench_mlp compare: expected two files A and B\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- warnings (collected for both formats) ---- */

#define MAX_WARNINGS 64
typedef struct {
    char msg[MAX_WARNINGS][200];
    int n;
} warnings;

static void warn(warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(warnings *w, const char *fmt, ...)
{
    if (w->n >= MAX_WARNINGS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg[w->n++], sizeof w->msg[0], fmt, ap);
    va_end(ap);
}

static void collect_warnings(const tmlp_stats_compare_result *r, const source *a, const source *b,
                             warnings *w)
{
    const unsigned side[2] = {r->a.warnings, r->b.warnings};
    for (int s = 0; s < 2; s++)
        for (unsigned i = 0; i < TMLP_WARN_COUNT; i++)
            if (side[s] & (1u << i))
                warn(w, "%s %s: %s", s ? "B" : "A", tmlp_stats_warning_name(1u << i),
                     tmlp_stats_warning_text(1u << i));
    for (unsigned i = 0; i < TMLP_WARN_COUNT; i++)
        if (r->warnings & (1u << i))
            warn(w, "%s: %s", tmlp_stats_warning_name(1u << i), tmlp_stats_warning_text(1u << i));
    if (!!a->json != !!b->json)
        warn(w, "units: one input is a bench_mlp JSON result (nanoseconds) and the other a text "
                "file; make sure they use the same unit");
}

/* ---- JSON output (hand-written: 17 significant digits, non-finite -> null) ---- */

typedef struct {
    FILE *f;
    warnings *w;
    char path[64];
} jw;

static void jnum(jw *j, const char *key, double v, int last)
{
    if (isfinite(v)) fprintf(j->f, "\"%s\": %.17g", key, v);
    else {
        fprintf(j->f, "\"%s\": null", key);
        warn(j->w, "non_finite: %s%s is %s, written as null", j->path, key,
             isnan(v) ? "not a number" : "infinite");
    }
    fputs(last ? "" : ", ", j->f);
}

/* One interval as a member line: "  \"name\": {level, estimate, low, high},". */
static void jinterval(jw *j, const char *name, const tmlp_stats_interval *ci)
{
    snprintf(j->path, sizeof j->path, "%s.", name);
    fprintf(j->f, "  \"%s\": {", name);
    jnum(j, "level", ci->level, 0);
    jnum(j, "estimate", ci->estimate, 0);
    jnum(j, "low", ci->low, 0);
    jnum(j, "high", ci->high, 1);
    fputs("},\n", j->f);
}

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* ---- the gate's verdict on two results files (one rule with bench_mlp regress) ---- */

typedef struct {
    const tmlp_gate *g;
    const tmlp_gate_item *it; /* the reported metric's line of the family */
} gate_view;

static tmlp_rep_metric metric_of(const char *name)
{
    for (int m = 0; m < TMLP_RM_COUNT; m++)
        if (!strcmp(tmlp_rep_metric_name((tmlp_rep_metric)m), name)) return (tmlp_rep_metric)m;
    return TMLP_RM_P50;
}

/* "slower", "faster" or "no_change": the gate's verdict in compare's words (a throughput
 * regression is B slower too). */
static const char *gate_verdict(const tmlp_gate_item *it)
{
    if (it->m.verdict == TMLP_REGRESS_REGRESSION) return "slower";
    if (it->m.verdict == TMLP_REGRESS_IMPROVEMENT) return "faster";
    return "no_change";
}

static void gate_sentence(const gate_view *gv, double alpha, char *buf, size_t cap)
{
    const tmlp_gate_item *it = gv->it;
    const tmlp_regress_runs *r = &it->m.runs;
    int thr = it->metric == TMLP_RM_THROUGHPUT;
    double mag = 100.0 * fabs(r->rel_change);
    char bar[96], test[160];
    snprintf(bar, sizeof bar, "the %.1f%% bar (%s)", 100.0 * r->threshold_used,
             r->floor_applied ? "noise floor" : "threshold");
    if (r->tested)
        snprintf(test, sizeof test, "%.0f%% CI %+.1f%% to %+.1f%%, p = %.2g, Holm p = %.2g over %d metrics",
                 100.0 * (1.0 - alpha), 100.0 * r->ci_low, 100.0 * r->ci_high, r->p, it->m.adj_p, gv->g->tested);
    else
        snprintf(test, sizeof test, "not enough repetitions for a test (%lld vs %lld, need %d): threshold only",
                 (long long)r->n_base, (long long)r->n_cur, TMLP_REGRESS_MIN_REPS);
    if (it->m.verdict == TMLP_REGRESS_UNCHANGED)
        snprintf(buf, cap, "No change beyond %.60s: %.40s %+.1f%% (%.150s)", bar, thr ? "throughput" : it->label,
                 100.0 * r->rel_change, test);
    else if (thr)
        snprintf(buf, cap, "B's throughput is %.1f%% %s (%.150s), beyond %.60s", mag, r->rel_change < 0 ? "lower" : "higher",
                 test, bar);
    else
        snprintf(buf, cap, "B is %.1f%% %s (%.150s), beyond %.60s", mag, r->rel_change > 0 ? "slower" : "faster", test,
                 bar);
}

static void gate_table(const options *o, const gate_view *gv)
{
    const tmlp_gate_item *it = gv->it;
    const tmlp_regress_runs *r = &it->m.runs;
    char sentence[320];
    printf("\n  the gate's rule (bench_mlp regress on these files gives the same verdict): run-level Welch\n"
           "  on the logs of the repetition values, bar = max(threshold %.1f%%, noise floor), Holm over\n"
           "  the %d metrics of the %d runs both files have\n", 100.0 * o->threshold, gv->g->n, gv->g->matched);
    printf("  metric                 %s %s, %lld vs %lld repetitions (geometric means %.6g -> %.6g)\n", it->label,
           tmlp_rep_metric_name(it->metric), (long long)r->n_base, (long long)r->n_cur, r->base, r->cur);
    if (r->tested) {
        printf("  relative change        %+.2f%% (%g%% CI %+.2f%% to %+.2f%%)\n", 100.0 * r->rel_change,
               100.0 * (1.0 - o->stats.alpha), 100.0 * r->ci_low, 100.0 * r->ci_high);
        printf("  Welch on logs          p = %.3g, Holm-adjusted p = %.3g\n", r->p, it->m.adj_p);
        printf("  bar                    %.2f%% (%s; noise floor %.2f%%)\n", 100.0 * r->threshold_used,
               r->floor_applied ? "the noise floor" : "the threshold", 100.0 * r->noise_floor);
    } else {
        printf("  relative change        %+.2f%% (not enough repetitions for a test: threshold %.1f%% alone)\n",
               100.0 * r->rel_change, 100.0 * o->threshold);
    }
    gate_sentence(gv, o->stats.alpha, sentence, sizeof sentence);
    printf("\n  verdict: %s  [%s]\n", sentence, gate_verdict(it));
}

static void gate_json(jw *j, const options *o, const gate_view *gv)
{
    const tmlp_gate_item *it = gv->it;
    const tmlp_regress_runs *r = &it->m.runs;
    FILE *f = j->f;
    snprintf(j->path, sizeof j->path, "gate.");
    fputs("  \"gate\": {\"rule\": \"run-level Welch on log values, bar max(threshold, noise floor), Holm over the "
          "family (bench_mlp regress)\", \"label\": ", f);
    jstr(f, it->label);
    fprintf(f, ", \"metric\": \"%s\", \"family\": %d, \"tested_in_family\": %d, \"runs_matched\": %d, "
               "\"n_a\": %lld, \"n_b\": %lld, \"tested\": %s, ", tmlp_rep_metric_name(it->metric), gv->g->n,
            gv->g->tested, gv->g->matched, (long long)r->n_base, (long long)r->n_cur, r->tested ? "true" : "false");
    jnum(j, "threshold", o->threshold, 0);
    jnum(j, "geomean_a", r->base, 0);
    jnum(j, "geomean_b", r->cur, 0);
    jnum(j, "relative_change", r->rel_change, 0);
    if (r->tested) {
        jnum(j, "ci_low", r->ci_low, 0);
        jnum(j, "ci_high", r->ci_high, 0);
        jnum(j, "p", r->p, 0);
        jnum(j, "holm_p", it->m.adj_p, 0);
        jnum(j, "noise_floor", r->noise_floor, 0);
    }
    jnum(j, "bar", r->threshold_used, 0);
    int regressions = 0, improvements = 0;
    for (int i = 0; i < gv->g->n; i++) {
        regressions += gv->g->item[i].m.verdict == TMLP_REGRESS_REGRESSION;
        improvements += gv->g->item[i].m.verdict == TMLP_REGRESS_IMPROVEMENT;
    }
    fprintf(f, "\"bar_is_noise_floor\": %s, \"regress_verdict\": \"%s\", \"family_regressions\": %d, "
               "\"family_improvements\": %d},\n", r->floor_applied ? "true" : "false",
            tmlp_regress_verdict_name(it->m.verdict), regressions, improvements);
}

static void json_sample(jw *j, const char *name, const tmlp_stats_sample *s)
{
    snprintf(j->path, sizeof j->path, "%s.", name);
    fprintf(j->f, "  \"%s\": {\"n\": %lld, ", name, (long long)s->summary.n);
    jnum(j, "mean", s->summary.mean, 0);
    jnum(j, "sd", s->summary.sd, 0);
    jnum(j, "sem", s->summary.sem, 0);
    jnum(j, "cv", s->summary.cv, 0);
    jnum(j, "median", s->summary.median, 0);
    jnum(j, "mad", s->summary.mad, 0);
    jnum(j, "min", s->summary.min, 0);
    jnum(j, "max", s->summary.max, 0);
    jnum(j, "p50", s->p50, 0);
    jnum(j, "p90", s->p90, 0);
    jnum(j, "p99", s->p99, 0);
    snprintf(j->path, sizeof j->path, "%s.ci_mean.", name);
    fputs("\"ci_mean\": {", j->f);
    jnum(j, "level", s->ci_mean.level, 0);
    jnum(j, "low", s->ci_mean.low, 0);
    jnum(j, "high", s->ci_mean.high, 1);
    fprintf(j->f, "}, \"outliers\": {\"mild\": %lld, \"severe\": %lld, \"mad\": %lld, "
                  "\"slow_first\": %s}},\n",
            (long long)s->outliers.mild, (long long)s->outliers.severe, (long long)s->outliers.n_mad,
            s->outliers.slow_first ? "true" : "false");
}

static void json_ttest(jw *j, const char *name, const tmlp_stats_ttest *t)
{
    snprintf(j->path, sizeof j->path, "%s.", name);
    fprintf(j->f, "  \"%s\": {", name);
    jnum(j, "t", t->t, 0);
    jnum(j, "df", t->df, 0);
    jnum(j, "p", t->p_two_sided, 0);
    jnum(j, "mean_diff", t->mean_diff, 0);
    jnum(j, "se", t->se, 1);
    fputs("},\n", j->f);
}

static void output_json(const options *o, const source *a, const source *b,
                        const tmlp_stats_compare_result *r, warnings *w, const gate_view *gv)
{
    jw j = {stdout, w, ""};
    FILE *f = stdout;
    char sentence[320];
    if (gv) gate_sentence(gv, o->stats.alpha, sentence, sizeof sentence);
    else tmlp_stats_verdict_sentence(r, o->stats.confidence, sentence, sizeof sentence);
    fprintf(f, "{\n  \"schema_version\": %d,\n  \"inputs\": {\"a\": ", TMLP_RESULT_SCHEMA_VERSION);
    jstr(f, a->path);
    fputs(", \"b\": ", f);
    jstr(f, b->path);
    if (a->scenario || b->scenario) {
        fputs(", \"scenario\": ", f);
        jstr(f, a->scenario ? a->scenario : b->scenario);
    }
    fputs("},\n  \"options\": {", f);
    jnum(&j, "alpha", o->stats.alpha, 0);
    jnum(&j, "noise", o->stats.noise, 0);
    jnum(&j, "confidence", o->stats.confidence, 0);
    fprintf(f, "\"percentile_method\": \"%s\"},\n", tmlp_percentile_method_name(o->stats.method));
    json_sample(&j, "a", &r->a);
    json_sample(&j, "b", &r->b);
    json_ttest(&j, "welch", &r->welch);
    json_ttest(&j, "student", &r->student);
    snprintf(j.path, sizeof j.path, "mann_whitney.");
    fputs("  \"mann_whitney\": {", f);
    jnum(&j, "u1", r->mwu.u1, 0);
    jnum(&j, "u2", r->mwu.u2, 0);
    jnum(&j, "z", r->mwu.z, 0);
    jnum(&j, "p", r->mwu.p, 0);
    jnum(&j, "prob_superiority", r->mwu.prob_superiority, 0);
    fprintf(f, "\"method\": \"%s\"},\n", r->mwu.exact_used ? "exact" : "asymptotic");
    snprintf(j.path, sizeof j.path, "effect.");
    fputs("  \"effect\": {", f);
    jnum(&j, "cohen_d", r->effect.cohen_d, 0);
    jnum(&j, "hedges_g", r->effect.hedges_g, 0);
    jnum(&j, "d_av", r->effect.d_av, 0);
    fprintf(f, "\"magnitude\": \"%s\"},\n", tmlp_stats_magnitude_name(r->effect.magnitude));
    jinterval(&j, "ci_mean_diff", &r->ci_mean_diff);
    jinterval(&j, "relative_change", &r->relative_change);
    if (gv) gate_json(&j, o, gv);
    fprintf(f, "  \"verdict\": \"%s\",\n  \"sentence\": ", gv ? gate_verdict(gv->it) : tmlp_stats_verdict_name(r->verdict));
    jstr(f, sentence);
    fputs(",\n  \"warnings\": [", f);
    for (int i = 0; i < w->n; i++) {
        fputs(i ? ", " : "", f);
        jstr(f, w->msg[i]);
    }
    fputs("]\n}\n", f);
}

/* ---- table output ---- */

static void row(const char *label, const char *va, const char *vb)
{
    printf("  %-22s %-26s %-26s\n", label, va, vb);
}

static void fmt(char *buf, size_t n, double v)
{
    if (isfinite(v)) snprintf(buf, n, "%.6g", v);
    else snprintf(buf, n, "-");
}

/* "p = 0.0123", or a bound when the p-value underflowed to 0 */
static void pstr(char *buf, size_t n, double p)
{
    if (p == 0.0) snprintf(buf, n, "p < 1e-300");
    else snprintf(buf, n, "p = %.3g", p);
}

static void output_table(const options *o, const source *a, const source *b,
                         const tmlp_stats_compare_result *r, warnings *w, const gate_view *gv)
{
    const tmlp_stats_sample *s[2] = {&r->a, &r->b};
    char v[2][64], label[64];
    double lvl = 100.0 * o->stats.confidence;
    printf("bench_mlp compare: A = %s, B = %s", a->path, b->path);
    if (a->scenario || b->scenario) printf(" (scenario %s)", a->scenario ? a->scenario : b->scenario);
    printf("\n  units: %s; percentiles: %s method; B - A, lower is better\n",
           a->json || b->json ? "nanoseconds (bench_mlp JSON)" : "as in the input files",
           tmlp_percentile_method_name(o->stats.method));
    if (a->json && b->json && !o->per_query)
        printf("  values: one per RUN, the %s latency of each repetition (%lld vs %lld repetitions)\n", o->metric,
               (long long)a->reps, (long long)b->reps);
    else if (a->json || b->json)
        printf("  values: the per-QUERY latencies of one run (--per-query): they share the run's state, so "
               "this is not a verdict about runs\n");
    printf("\n");
    row("", "A", "B");
    for (int k = 0; k < 2; k++) snprintf(v[k], sizeof v[k], "%lld", (long long)s[k]->summary.n);
    row("n", v[0], v[1]);
    snprintf(label, sizeof label, "mean +- %g%% CI", lvl);
    for (int k = 0; k < 2; k++) {
        if (isfinite(s[k]->ci_mean.half_width))
            snprintf(v[k], sizeof v[k], "%.6g +- %.3g", s[k]->summary.mean, s[k]->ci_mean.half_width);
        else snprintf(v[k], sizeof v[k], "%.6g +- -", s[k]->summary.mean);
    }
    row(label, v[0], v[1]);
    struct {
        const char *name;
        double va, vb;
    } rows[] = {{"median", s[0]->summary.median, s[1]->summary.median},
                {"p90", s[0]->p90, s[1]->p90},
                {"p99", s[0]->p99, s[1]->p99},
                {"sd", s[0]->summary.sd, s[1]->summary.sd},
                {"min", s[0]->summary.min, s[1]->summary.min},
                {"max", s[0]->summary.max, s[1]->summary.max}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fmt(v[0], sizeof v[0], rows[i].va);
        fmt(v[1], sizeof v[1], rows[i].vb);
        row(rows[i].name, v[0], v[1]);
    }
    for (int k = 0; k < 2; k++) {
        if (isfinite(s[k]->summary.cv)) snprintf(v[k], sizeof v[k], "%.2f%%", 100.0 * s[k]->summary.cv);
        else snprintf(v[k], sizeof v[k], "-");
    }
    row("cv", v[0], v[1]);
    for (int k = 0; k < 2; k++)
        snprintf(v[k], sizeof v[k], "%lld mild, %lld severe", (long long)s[k]->outliers.mild,
                 (long long)s[k]->outliers.severe);
    row("outliers (Tukey)", v[0], v[1]);

    if (gv) { /* results files: the gate's rule decides; its block replaces the query-style tests */
        if (w->n) {
            printf("\n  warnings:\n");
            for (int i = 0; i < w->n; i++) printf("    - %s\n", w->msg[i]);
        }
        gate_table(o, gv);
        return;
    }
    char p[3][32];
    pstr(p[0], sizeof p[0], r->welch.p_two_sided);
    pstr(p[1], sizeof p[1], r->student.p_two_sided);
    pstr(p[2], sizeof p[2], r->mwu.p);
    printf("\n  Welch t-test           t = %.4g, df = %.4g, %s\n", r->welch.t, r->welch.df, p[0]);
    printf("  Student t-test         t = %.4g, df = %.4g, %s\n", r->student.t, r->student.df, p[1]);
    printf("  Mann-Whitney U         U1 (A) = %.6g, z = %.4g, %s (%s), P(A > B) = %.3f\n",
           r->mwu.u1, r->mwu.z, p[2], r->mwu.exact_used ? "exact" : "asymptotic",
           r->mwu.prob_superiority);
    printf("  effect size            Cohen's d = %.3g, Hedges' g = %.3g (%s%s)\n", r->effect.cohen_d,
           r->effect.hedges_g, tmlp_stats_magnitude_name(r->effect.magnitude),
           r->effect.magnitude == TMLP_MAGNITUDE_UNDEFINED || r->effect.magnitude == TMLP_MAGNITUDE_NEGLIGIBLE
               ? ""
               : (r->effect.cohen_d < 0 ? ", B faster" : ", B slower"));
    printf("  mean(B) - mean(A)      %.6g (%g%% CI %.6g to %.6g)\n", r->ci_mean_diff.estimate, lvl,
           r->ci_mean_diff.low, r->ci_mean_diff.high);
    printf("  relative change        %+.2f%% (%g%% CI %+.2f%% to %+.2f%%)\n",
           100.0 * r->relative_change.estimate, lvl, 100.0 * r->relative_change.low,
           100.0 * r->relative_change.high);
    if (w->n) {
        printf("\n  warnings:\n");
        for (int i = 0; i < w->n; i++) printf("    - %s\n", w->msg[i]);
    }
    char sentence[256];
    tmlp_stats_verdict_sentence(r, o->stats.confidence, sentence, sizeof sentence);
    printf("\n  verdict: %s  [%s]\n", sentence, tmlp_stats_verdict_name(r->verdict));
}

int tmlp_cmd_compare(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc > 0) return 0;
    if (rc < 0) return EXIT_USAGE;
    source a = {0}, b = {0};
    a.path = o.path_a;
    b.path = o.path_b;
    a.per_query = b.per_query = o.per_query;
    a.metric = b.metric = o.metric;
    rc = open_source(&a);
    if (!rc) rc = open_source(&b);
    if (!rc && a.json && b.json) {
        /* same workload, or exit 2 (context and --force notes go where the table goes) */
        int g = tmlp_comparable_check(o.json ? stderr : stdout, a.json, b.json, a.path, b.path, o.force);
        if (g) {
            source_free(&a);
            source_free(&b);
            return EXIT_USAGE;
        }
    }
    /* runs are the unit: a verdict needs TMLP_REGRESS_MIN_REPS repetitions a side */
    if (!o.per_query && a.json && b.json) o.stats.min_samples = TMLP_REGRESS_MIN_REPS;
    if (!rc && (a.json || b.json)) rc = select_runs(&a, &b, o.scenario);
    if (!rc) {
        tmlp_stats_compare_result r;
        tmlp_status st = tmlp_stats_compare(a.x, a.n, b.x, b.n, &o.stats, &r, NULL);
        if (st != TMLP_OK) {
            rc = fail("analysis failed: %s", tmlp_status_str(st));
        } else {
            warnings w = {.n = 0};
            collect_warnings(&r, &a, &b, &w);
            if (o.scenario && !a.json && !b.json)
                warn(&w, "--scenario %s ignored: both inputs are text files", o.scenario);
            if (!o.per_query && a.json && b.json && (a.n < TMLP_REGRESS_MIN_REPS || b.n < TMLP_REGRESS_MIN_REPS))
                warn(&w, "not enough repetitions for a test (%lld vs %lld; need %d a side): run both with --repeat 5",
                     (long long)a.n, (long long)b.n, TMLP_REGRESS_MIN_REPS);
            gate_view gv = {NULL, NULL}, *gvp = NULL;
            tmlp_gate *g = NULL;
            if (!o.per_query && a.json && b.json) {
                /* the family of every matched run, decided by regress's one rule */
                g = calloc(1, sizeof *g);
                if (!g) rc = fail("out of memory");
                else if (tmlp_gate_build(NULL, a.json, b.json, o.threshold, o.stats.alpha, g)) rc = EXIT_RUNTIME;
                if (!rc) {
                    gv.g = g;
                    gv.it = tmlp_gate_find(g, a.label, metric_of(o.metric));
                    if (!gv.it) { /* offline is gated by its throughput */
                        gv.it = tmlp_gate_find(g, a.label, TMLP_RM_THROUGHPUT);
                        if (gv.it)
                            warn(&w, "%s is judged by its throughput, not its %s latency (as bench_mlp regress "
                                     "does): the verdict is the throughput's", a.label, o.metric);
                    }
                    if (!gv.it) rc = fail("%s and %s: run '%s' has no %s values to compare", a.path, b.path, a.label,
                                          o.metric);
                    gvp = &gv;
                }
            }
            if (!rc && o.json) output_json(&o, &a, &b, &r, &w, gvp);
            else if (!rc) output_table(&o, &a, &b, &r, &w, gvp);
            free(g);
        }
    }
    source_free(&a);
    source_free(&b);
    return rc;
}
