/* cmd_ab.c — `bench_mlp ab --model A --model-b B [--split 0.5]`: which model to ship.
 *
 * Both models are loaded and warmed, then ONE stream of queries is routed query by query
 * (seeded router, src/bench/ab.c) to A or B on identical inputs, so drift over time hits
 * both arms alike. Per arm: attempts, errors, latency percentiles, accuracy (labelled
 * data). Then:
 *   - sample-ratio mismatch: chi-square (1 df) of the arm counts against the split; a
 *     p below 0.001 means the routing is broken and no verdict is given;
 *   - the latency verdict of the statistics module (Welch t-test plus the CI of the
 *     relative change of the mean, B vs A) in words;
 *   - accuracy difference with a two-proportion z-test (pooled), when labels exist;
 *   - a recommendation that knows lower latency and higher accuracy are better.
 * Each query is one sample (batch 1) through tmlp_session_forward / _forward_u8.
 *
 * --repeat N runs the whole interleaved stream N times (ABAB... inside each repetition,
 * the same seeds every time). The queries of one stream share its state, so with N >= 3
 * the latency verdict is taken across repetitions (tmlp_regress_compare_runs on each
 * arm's per-repetition mean, p50, p90, p99: Welch on logs, interval of B/A - 1); with
 * fewer it is the within-stream test above, labelled as such.
 */
#include <getopt.h> /* struct option */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "precision.h"
#include "commands.h"
#include "history.h"
#include "reports_util.h"

typedef struct arm_ctx {
    tmlp_session *s;
    const tmlp_dataset *d;
    int64_t out_w;
} arm_ctx;

static tmlp_status arm_infer(void *user, int64_t idx, int32_t *pred)
{
    arm_ctx *a = user;
    tmlp_tensor out;
    tmlp_status st;
    if (a->d->dtype == TMLP_DTYPE_U8) {
        st = tmlp_session_forward_u8(a->s, a->d->u8 + idx * a->d->width, 1, &out, NULL);
    } else {
        tmlp_tensor in = tmlp_tensor_2d(a->d->f32 + idx * a->d->width, 1, a->d->width);
        st = tmlp_session_forward(a->s, &in, &out, NULL);
    }
    if (st != TMLP_OK) return st;
    *pred = (int32_t)tmlp_argmax(out.data, a->out_w);
    return TMLP_OK;
}

#define TMLP_AB_MAX_REPEAT 100

/* One arm's mean, p50, p90, p99 (ns) of repetition k into fig[metric][k]. */
static void arm_figures(const tmlp_ab_arm_result *a, double fig[4][TMLP_AB_MAX_REPEAT], int k)
{
    double mean = 0;
    uint64_t *v = malloc(sizeof(uint64_t) * (size_t)(a->n > 0 ? a->n : 1));
    for (int64_t i = 0; v && i < a->n; i++) {
        v[i] = (uint64_t)a->latencies_ns[i];
        mean += (double)v[i] / (double)a->n;
    }
    if (v) qsort(v, (size_t)a->n, sizeof *v, ru_cmp_u64);
    int ok = v && a->n > 0;
    fig[0][k] = ok ? mean : NAN;
    fig[1][k] = ok ? ru_pct_sorted_u64(v, a->n, 0.5) : NAN;
    fig[2][k] = ok ? ru_pct_sorted_u64(v, a->n, 0.9) : NAN;
    fig[3][k] = ok ? ru_pct_sorted_u64(v, a->n, 0.99) : NAN;
    free(v);
}

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp ab --model-b B [--model A] [OPTIONS]\n"
          "Route one interleaved query stream between models A and B (seeded, identical inputs,\n"
          "both warmed first) and say which is faster, by how much, with what confidence.\n"
          "  --model A          default: models/fashion_mlp.safetensors, else " RU_DEFAULT_SYNTHETIC "\n"
          "  --model-b B        the challenger (required unless --precision-b); same input width as A\n"
          "  --precision P, --precision-b P   weight precision of A and B (f32 | bf16 | int8;\n"
          "                     default f32 / A's); B defaults to A's model: `ab --precision-b int8`\n"
          "                     answers \"is INT8 worth it?\" with the latency verdict and the paired\n"
          "                     accuracy difference (McNemar) over every labelled sample\n"
          "  --layers L, --layers-b L   layer lists of .safetensors models without metadata\n"
          "  --data D           fashion | synthetic | PATH (default as the default run)\n"
          "  --split S          fraction of queries routed to B, in (0,1) (default 0.5)\n"
          "  --queries N        measured queries (default 4000)\n"
          "  --warmup N         warm-up queries per arm (default 200)\n"
          "  --route-seed N, --sample-seed N   seeds (default 1, 2)\n"
          "  --alpha A          significance level of the verdict (default 0.05)\n"
          "  --repeat N         run the interleaved stream N times (default 1); with N >= 3 the\n"
          "                     latency verdict is across repetitions (recommended: 5)\n"
          "  --quick            1000 queries, 50 warm-up (explicit options still win)\n"
          "  --history DB       also record both arms' per-repetition latencies in the results\n"
          "                     history DB (`bench_mlp history`, docs/history.md)\n"
          "  --version          library version and git revision\n"
          "  -h, --help         this help\n"
          "Exit status: 0 done (whatever the verdict), 1 runtime error, 2 usage error.\n",
          f);
}

static void print_arm(const char *name, const char *src, const tmlp_ab_arm_result *r)
{
    char a[24], b[24], c[24], d[24];
    uint64_t *v = malloc(sizeof(uint64_t) * (size_t)(r->n > 0 ? r->n : 1));
    double mean = 0;
    for (int64_t i = 0; v && i < r->n; i++) {
        v[i] = (uint64_t)r->latencies_ns[i];
        mean += (double)v[i] / (double)r->n;
    }
    if (v) qsort(v, (size_t)r->n, sizeof *v, ru_cmp_u64);
    printf("| %s | %s | %" PRId64 " | %" PRId64 " | %s | %s | %s | %s | ", name, src, r->attempts, r->errors,
           tmlp_cli_fmt_ns(r->n ? mean : NAN, a, sizeof a), tmlp_cli_fmt_ns(v ? ru_pct_sorted_u64(v, r->n, 0.5) : NAN, b, sizeof b),
           tmlp_cli_fmt_ns(v ? ru_pct_sorted_u64(v, r->n, 0.9) : NAN, c, sizeof c),
           tmlp_cli_fmt_ns(v ? ru_pct_sorted_u64(v, r->n, 0.99) : NAN, d, sizeof d));
    if (r->labeled) printf("%.2f%% (%" PRId64 "/%" PRId64 ") |\n", 100.0 * (double)r->correct / (double)r->labeled, r->correct, r->labeled);
    else printf("n/a (no labels) |\n");
    free(v);
}

/* The options and what the run made. */
typedef struct ab_args {
    const char *ma, *mb, *la, *lb, *data;
    const char *history;         /* --history DB or NULL */
    tmlp_precision pb;
    int pb_set;
    tmlp_ab_settings s;
    double alpha;
    int64_t repeat;
    unsigned given;              /* bit 0 --queries, bit 1 --warmup, bit 2 --quick */
} ab_args;

typedef struct ab_state {
    tmlp_model *A, *B;
    tmlp_dataset *d;
    tmlp_session *sa, *sb;
    tmlp_ab_result *r;           /* repetition 1: tabled and tested within */
    double per[2][4][TMLP_AB_MAX_REPEAT]; /* per arm, metric (mean, p50, p90, p99), repetition */
    char srca[4096], srcb[4096], dsrc[4096];
} ab_state;

enum { AB_MODEL = 256, AB_MODEL_B, AB_LAYERS, AB_LAYERS_B, AB_DATA, AB_PRECISION_B, AB_SPLIT, AB_QUERIES, AB_WARMUP,
       AB_REPEAT, AB_ROUTE_SEED, AB_SAMPLE_SEED, AB_ALPHA, AB_QUICK, AB_HISTORY, AB_HELP };
static const struct option ab_options[] = {
    {"model", required_argument, NULL, AB_MODEL},         {"model-b", required_argument, NULL, AB_MODEL_B},
    {"layers", required_argument, NULL, AB_LAYERS},       {"layers-b", required_argument, NULL, AB_LAYERS_B},
    {"data", required_argument, NULL, AB_DATA},           {"precision-b", required_argument, NULL, AB_PRECISION_B},
    {"split", required_argument, NULL, AB_SPLIT},         {"queries", required_argument, NULL, AB_QUERIES},
    {"warmup", required_argument, NULL, AB_WARMUP},       {"repeat", required_argument, NULL, AB_REPEAT},
    {"route-seed", required_argument, NULL, AB_ROUTE_SEED}, {"sample-seed", required_argument, NULL, AB_SAMPLE_SEED},
    {"alpha", required_argument, NULL, AB_ALPHA},         {"quick", no_argument, NULL, AB_QUICK},
    {"history", required_argument, NULL, AB_HISTORY},
    {"help", no_argument, NULL, AB_HELP},                 {NULL, 0, NULL, 0}};

/* One option into the ab_args at ctx (a tmlp_cli_option_fn). */
static int ab_option(void *ctx, int c, const char *v)
{
    ab_args *a = ctx;
    unsigned *flags = &a->given;
    int rc = 0;
    switch (c) {
    case AB_MODEL: a->ma = v; break;
    case AB_MODEL_B: a->mb = v; break;
    case AB_LAYERS: a->la = v; break;
    case AB_LAYERS_B: a->lb = v; break;
    case AB_DATA: a->data = v; break;
    case AB_HISTORY: a->history = v; break;
    case AB_PRECISION_B:
        if (tmlp_precision_parse(v, &a->pb, NULL) != TMLP_OK)
            return tmlp_cli_usage_error("--precision-b: '%s' is not one of f32, bf16, int8, auto", v);
        a->pb_set = 1;
        break;
    case AB_SPLIT:
        rc = tmlp_cli_parse_double("--split", v, 0, 1, &a->s.split_b);
        if (!rc && !(a->s.split_b > 0 && a->s.split_b < 1))
            return tmlp_cli_usage_error("--split: must be strictly between 0 and 1 (got \"%s\")", v);
        break;
    case AB_QUERIES:
        rc = tmlp_cli_parse_i64("--queries", v, 20, 100000000, &a->s.queries);
        *flags |= 1;
        break;
    case AB_WARMUP:
        rc = tmlp_cli_parse_i64("--warmup", v, 0, 100000000, &a->s.warmup_queries);
        *flags |= 2;
        break;
    case AB_REPEAT: rc = tmlp_cli_parse_i64("--repeat", v, 1, TMLP_AB_MAX_REPEAT, &a->repeat); break;
    case AB_ROUTE_SEED: rc = tmlp_cli_parse_u64("--route-seed", v, &a->s.route_seed); break;
    case AB_SAMPLE_SEED: rc = tmlp_cli_parse_u64("--sample-seed", v, &a->s.sample_seed); break;
    case AB_ALPHA: rc = tmlp_cli_parse_double("--alpha", v, 1e-12, 0.5, &a->alpha); break;
    case AB_QUICK: *flags |= 4; break;
    default: return -1;
    }
    return rc;
}

/* 0, an exit code, or -1 when --help was printed. */
static int ab_parse(int argc, char **argv, ab_args *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    a->pb = TMLP_PRECISION_AUTO;
    a->s = tmlp_ab_settings_default();
    a->s.queries = 4000;
    a->s.warmup_queries = 200;
    a->alpha = 0.05;
    a->repeat = 1;
    if ((rc = tmlp_cli_getopt(argc, argv, "ab", ab_options, AB_HELP, print_help, ab_option, a, NULL))) return rc;
    if (!a->mb && !a->pb_set)
        return tmlp_cli_usage_error("ab: --model-b B or --precision-b P is required (what to compare against A)");
    if ((a->given & 4) && !(a->given & 1)) a->s.queries = 1000;
    if ((a->given & 4) && !(a->given & 2)) a->s.warmup_queries = 50;
    return 0;
}

/* Both models (B: its own or A's at --precision-b), the data and a session each. */
static int ab_load(ab_args *a, ab_state *st)
{
    int rc = ru_load_model(a->ma, a->la, &st->A, st->srca, sizeof st->srca);
    if (!rc && a->pb_set) { /* B: its own model or A's, at precision pb */
        if (!a->mb) {
            a->mb = st->srca;
            if (!a->lb) a->lb = a->la;
        }
        rc = tmlp_precision_load(a->mb, a->lb, RU_MODEL_SEED, a->pb, &st->B);
        snprintf(st->srcb, sizeof st->srcb, "%s", a->mb);
    } else if (!rc) {
        rc = ru_load_model(a->mb, a->lb, &st->B, st->srcb, sizeof st->srcb);
    }
    if (rc) return rc;
    /* name each arm's precision when they differ (or are not F32) */
    tmlp_kernel_info kia, kib;
    if (tmlp_model_kernel_info(st->A, &kia, NULL) == TMLP_OK && tmlp_model_kernel_info(st->B, &kib, NULL) == TMLP_OK &&
        (kia.precision != TMLP_PRECISION_F32 || kib.precision != TMLP_PRECISION_F32)) {
        size_t la_ = strlen(st->srca), lb_ = strlen(st->srcb);
        snprintf(st->srca + la_, sizeof st->srca - la_, " [%s, %s]", tmlp_precision_name(kia.precision), kia.isa);
        snprintf(st->srcb + lb_, sizeof st->srcb - lb_, " [%s, %s]", tmlp_precision_name(kib.precision), kib.isa);
    }
    if (tmlp_model_input_width(st->A) != tmlp_model_input_width(st->B)) {
        tmlp_cli_error("ab: A takes %" PRId64 " inputs but B takes %" PRId64 ": they cannot see identical inputs",
                       tmlp_model_input_width(st->A), tmlp_model_input_width(st->B));
        return TMLP_EXIT_RUNTIME;
    }
    if ((rc = ru_load_data(a->data, st->A, &st->d, st->dsrc, sizeof st->dsrc))) return rc;
    tmlp_blas_set_threads(1, NULL);
    if (tmlp_session_create(st->A, 1, &st->sa, NULL) != TMLP_OK || tmlp_session_create(st->B, 1, &st->sb, NULL) != TMLP_OK) {
        tmlp_cli_error("ab: cannot create sessions (out of memory)");
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* The interleaved stream, --repeat times: st->r is repetition 1, st->per every one's figures. */
static int ab_measure(ab_args *a, ab_state *st)
{
    arm_ctx ca = {st->sa, st->d, tmlp_model_output_width(st->A)}, cb = {st->sb, st->d, tmlp_model_output_width(st->B)};
    tmlp_ab_arm arm_a = {"A", arm_infer, &ca}, arm_b = {"B", arm_infer, &cb};
    a->s.sample_count = st->d->count;
    a->s.labels = st->d->labels;
    tmlp_error err = {0};
    for (int64_t k = 0; k < a->repeat; k++) {
        tmlp_ab_result *rk = NULL;
        if (tmlp_ab_run(&a->s, &arm_a, &arm_b, &rk, &err) != TMLP_OK) {
            tmlp_cli_error("ab: %s", err.message);
            return TMLP_EXIT_RUNTIME;
        }
        for (int arm = 0; arm < 2; arm++) arm_figures(&rk->arm[arm], st->per[arm], (int)k);
        if (!st->r) st->r = rk;
        else tmlp_ab_result_destroy(rk);
    }
    return 0;
}

/* The header, the arm table and the sample-ratio check (exit 1 on a mismatch). */
static int ab_print_arms(const ab_args *a, const ab_state *st)
{
    const tmlp_ab_result *r = st->r;
    printf("A/B run: %" PRId64 " queries in one interleaved stream (%.3f s), split %.2f to B, route seed %" PRIu64
           ", sample seed %" PRIu64 ", %" PRId64 " warm-up queries per arm, data %s%s\n\n",
           a->s.queries, (double)r->duration_ns / 1e9, a->s.split_b, a->s.route_seed, a->s.sample_seed,
           a->s.warmup_queries, st->dsrc, a->repeat > 1 ? "; the table shows repetition 1" : "");
    printf("| arm | model | attempts | errors | mean | p50 | p90 | p99 | accuracy |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    print_arm("A", st->srca, &r->arm[0]);
    print_arm("B", st->srcb, &r->arm[1]);
    printf("\n");
    tmlp_srm_result srm;
    tmlp_srm_check(r->arm[0].attempts, r->arm[1].attempts, a->s.split_b, 0.001, &srm, NULL);
    printf("Sample ratio: A %" PRId64 " / B %" PRId64 ", expected %.1f / %.1f: chi-square %.3f (1 df), p = %.3g -> %s\n",
           r->arm[0].attempts, r->arm[1].attempts, srm.expected_a, srm.expected_b, srm.chi2, srm.p_value,
           srm.mismatch ? "MISMATCH (p < 0.001): the routing is broken, no verdict" : "ok");
    if (srm.mismatch) return TMLP_EXIT_RUNTIME;
    if (r->arm[0].errors || r->arm[1].errors)
        printf("Warning: %" PRId64 " errors in A and %" PRId64 " in B; latencies are of successful queries only.\n",
               r->arm[0].errors, r->arm[1].errors);
    return 0;
}

/* With >= TMLP_REGRESS_MIN_REPS repetitions: the verdict about runs from each arm's
 * per-repetition figures; c's verdict and relative change then follow the mean. */
static int ab_across_reps(const ab_args *a, const ab_state *st, double noise, tmlp_stats_compare_result *c,
                          const char *sentence)
{
    static const char *const names[4] = {"mean", "p50", "p90", "p99"};
    printf("Latency across %" PRId64 " repetitions (B vs A, Welch on log per-repetition values, %.0f%% CI):\n",
           a->repeat, 100 * (1 - a->alpha));
    tmlp_regress_runs rr[4];
    for (int m = 0; m < 4; m++) {
        if (tmlp_regress_compare_runs(TMLP_LOWER_IS_BETTER, st->per[0][m], a->repeat, st->per[1][m], a->repeat, noise,
                                      a->alpha, &rr[m], NULL) != TMLP_OK) {
            tmlp_cli_error("ab: no latencies in an arm of some repetition");
            return TMLP_EXIT_RUNTIME;
        }
        char x[24], y[24];
        printf("  %-4s  A %s  B %s  %+6.1f%%  [%+.1f%%, %+.1f%%]  p %.2g  between-repetition CV A %.1f%% B %.1f%%\n",
               names[m], tmlp_cli_fmt_ns(rr[m].base, x, sizeof x), tmlp_cli_fmt_ns(rr[m].cur, y, sizeof y),
               100 * rr[m].rel_change, 100 * rr[m].ci_low, 100 * rr[m].ci_high, rr[m].p, 100 * rr[m].cv_base,
               100 * rr[m].cv_cur);
    }
    /* the recommendation follows the mean, as the within-stream test does */
    c->verdict = rr[0].verdict == TMLP_REGRESS_REGRESSION ? TMLP_VERDICT_SLOWER
                 : rr[0].verdict == TMLP_REGRESS_IMPROVEMENT ? TMLP_VERDICT_FASTER : TMLP_VERDICT_NO_CHANGE;
    c->relative_change.estimate = rr[0].rel_change;
    printf("Latency verdict (mean, across repetitions): %s\n",
           c->verdict == TMLP_VERDICT_FASTER ? "B is faster" : c->verdict == TMLP_VERDICT_SLOWER ? "B is slower"
                                                                                               : "no significant change beyond the noise band");
    printf("Within repetition 1 (queries of one stream, for reference only): %s\n", sentence);
    return 0;
}

/* The latency verdict into c (within the stream, or across repetitions). */
static int ab_latency(const ab_args *a, const ab_state *st, tmlp_stats_compare_opts *o, tmlp_stats_compare_result *c)
{
    const tmlp_ab_result *r = st->r;
    double *da = ru_to_double(r->arm[0].latencies_ns, r->arm[0].n);
    double *db = ru_to_double(r->arm[1].latencies_ns, r->arm[1].n);
    *o = tmlp_stats_compare_opts_default();
    o->alpha = a->alpha;
    int rc = !da || !db || tmlp_stats_compare(da, r->arm[0].n, db, r->arm[1].n, o, c, NULL) != TMLP_OK;
    free(da);
    free(db);
    if (rc) {
        tmlp_cli_error("ab: the comparison failed (no successful queries in an arm, or out of memory)");
        return TMLP_EXIT_RUNTIME;
    }
    char sentence[256];
    tmlp_stats_verdict_sentence(c, o->confidence, sentence, sizeof sentence);
    if (a->repeat >= TMLP_REGRESS_MIN_REPS) {
        if ((rc = ab_across_reps(a, st, o->noise, c, sentence))) return rc;
    } else {
        printf("Latency (mean, Welch t-test over the queries of ONE stream: they share its state, so this is not a "
               "verdict about runs; use --repeat 5): %s\n", sentence);
    }
    for (unsigned bit = 0; bit < TMLP_WARN_COUNT; bit++)
        if (c->warnings & (1u << bit))
            printf("  warning %s: %s\n", tmlp_stats_warning_name(1u << bit), tmlp_stats_warning_text(1u << bit));
    return 0;
}

/* Accuracy (two-proportion z-test, pooled) and the recommendation, which knows lower
 * latency and higher accuracy are better. */
static void ab_recommend(const ab_args *a, const tmlp_ab_result *r, const tmlp_stats_compare_opts *o,
                         const tmlp_stats_compare_result *c)
{
    int acc_known = r->arm[0].labeled > 0 && r->arm[1].labeled > 0;
    double acc_diff = NAN, acc_p = NAN, alpha = a->alpha;
    if (acc_known) {
        double n1 = (double)r->arm[0].labeled, n2 = (double)r->arm[1].labeled;
        double p1 = (double)r->arm[0].correct / n1, p2 = (double)r->arm[1].correct / n2;
        double pp = ((double)r->arm[0].correct + (double)r->arm[1].correct) / (n1 + n2);
        double se = sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2));
        acc_diff = p2 - p1;
        acc_p = se > 0 ? erfc(fabs(acc_diff) / se / sqrt(2)) : (acc_diff == 0 ? 1 : 0);
        printf("Accuracy: A %.2f%%, B %.2f%% (B - A = %+.2f points, two-proportion z-test p = %.3g)\n", 100 * p1,
               100 * p2, 100 * acc_diff, acc_p);
    } else {
        printf("Accuracy: not measured (the data has no labels)\n");
    }
    int acc_better = acc_known && acc_p < alpha && acc_diff > 0;
    int acc_worse = acc_known && acc_p < alpha && acc_diff < 0;
    double rel = 100 * c->relative_change.estimate;
    printf("Recommendation: ");
    switch (c->verdict) {
    case TMLP_VERDICT_FASTER:
        if (acc_worse)
            printf("trade-off: B is %.1f%% faster but %.2f points less accurate; choose by which matters more.\n", -rel,
                   -100 * acc_diff);
        else
            printf("adopt B: %.1f%% lower mean latency%s.\n", -rel,
                   acc_better ? " and higher accuracy" : acc_known ? " with no significant accuracy change" : "");
        break;
    case TMLP_VERDICT_SLOWER:
        if (acc_better)
            printf("trade-off: B is %.2f points more accurate but %.1f%% slower; choose by which matters more.\n",
                   100 * acc_diff, rel);
        else
            printf("keep A: B is %.1f%% slower%s.\n", rel,
                   acc_worse ? " and less accurate" : acc_known ? " with no significant accuracy gain" : "");
        break;
    case TMLP_VERDICT_NO_CHANGE:
        if (acc_better) printf("adopt B: same latency within the noise band, %.2f points more accurate.\n", 100 * acc_diff);
        else if (acc_worse) printf("keep A: same latency within the noise band, B is %.2f points less accurate.\n", -100 * acc_diff);
        else printf("no measurable difference (relative change %+.1f%%, within the %.0f%% noise band or not "
                    "significant at %g); either model will do.\n", rel, 100 * o->noise, alpha);
        break;
    default:
        printf("undecided: too few successful queries (A %" PRId64 ", B %" PRId64 ") or zero spread; run more queries.\n",
               r->arm[0].n, r->arm[1].n);
        break;
    }
}

/* The routed queries see each sample in one arm only; the paired test sees every labelled
 * sample in both, which is what tells a 0.1-point accuracy change apart. */
static int ab_paired(const ab_args *a, const ab_state *st, const tmlp_stats_compare_result *c)
{
    tmlp_paired_acc pr;
    int rc = tmlp_paired_run(st->A, st->B, st->d, a->alpha, &pr);
    if (rc) return rc;
    printf("\n");
    tmlp_paired_print(stdout, "A", "B", &pr, a->alpha);
    printf("Together: latency %s (mean %+.1f%%); accuracy B - A %+.2f points [%+.2f, %+.2f], McNemar p = %.3g.\n",
           c->verdict == TMLP_VERDICT_FASTER ? "B faster" : c->verdict == TMLP_VERDICT_SLOWER ? "B slower" : "no significant change",
           100 * c->relative_change.estimate, 100 * pr.diff, 100 * pr.ci_low, 100 * pr.ci_high, pr.mcnemar_p);
    return 0;
}

int tmlp_cmd_ab(int argc, char **argv)
{
    ab_args a;
    int rc = ab_parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    ab_state *st = calloc(1, sizeof *st);
    if (!st) {
        tmlp_cli_error("out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_stats_compare_opts o;
    tmlp_stats_compare_result c;
    if (!(rc = ab_load(&a, st)) && !(rc = ab_measure(&a, st)) && !(rc = ab_print_arms(&a, st)) &&
        !(rc = ab_latency(&a, st, &o, &c))) {
        ab_recommend(&a, st->r, &o, &c);
        if (st->d->labels) rc = ab_paired(&a, st, &c);
        if (!rc && a.history)
            rc = tmlp_history_record_ab(a.history, st->srca, st->srcb, st->dsrc, &a.s, st->r, &st->per[0][0][0],
                                        TMLP_AB_MAX_REPEAT, a.repeat);
    }
    tmlp_ab_result_destroy(st->r);
    tmlp_session_destroy(st->sa);
    tmlp_session_destroy(st->sb);
    tmlp_dataset_destroy(st->d);
    tmlp_model_destroy(st->A);
    tmlp_model_destroy(st->B);
    free(st);
    return rc;
}
