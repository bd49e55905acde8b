/* cmd_plan.c — `bench_mlp plan --target-qps Q --latency-bound-ms X`: how many workers and
 * replicas serve Q queries/s with p99 under X, and how much memory they take.
 *
 * Steps, all measured on this machine:
 *   1. memory: RSS before and after loading the model and creating one session
 *      (resource monitor), next to the computed tmlp_model_param_bytes and
 *      tmlp_session_bytes;
 *   2. service time: 2000 single-sample forwards -> mean S and squared coefficient of
 *      variation Cs^2 = Var(S)/S^2;
 *   3. capacity of one worker: the harness's find-peak (server scenario, 1 worker) gives
 *      P1, the highest target QPS whose run is VALID (p99 within the bound);
 *   4. workers needed = ceil(Q * headroom / P1) with a stated headroom factor (default
 *      1.3: 30% spare for bursts, noisy neighbours and drift); replicas = ceil(workers /
 *      cores per machine), memory per replica = params + workers_per_replica x session;
 *   5. a queueing prediction of p99 versus worker count at Q: M/G/c by the Allen-Cunneen
 *      approximation (src/bench/queueing.c) fed with the measured forward-alone service
 *      times of step 2; a server run at 10% of the peak shows the hand-off overhead the
 *      model leaves out;
 *   6. a check of that model: server runs at 1 and 2 workers on this machine, the measured
 *      p99 next to the predicted one and the relative prediction error.
 * Default runtime is about 10-30 s (find-peak: at most 10 trials of 0.5-2 s each).
 */
#include <getopt.h> /* struct option */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "reports_util.h"

static void print_help(FILE *f)
{
    fputs("Usage: bench_mlp plan --target-qps Q [--latency-bound-ms X] [OPTIONS]\n"
          "Size a deployment: sustainable QPS per worker at the latency bound (find-peak), workers\n"
          "and replicas needed with headroom, memory per replica, and an M/G/c (Allen-Cunneen)\n"
          "prediction of p99 versus worker count, checked against measured runs at 1 and 2 workers.\n"
          "  --target-qps Q        required: the rate to serve (2000, 2k, 2000/s)\n"
          "  --latency-bound-ms X  p99 latency bound (default 10 ms; units accepted: 500us, 2ms)\n"
          "  --headroom H          capacity factor over Q, >= 1 (default 1.3)\n"
          "  --cores N             cores per replica machine (default: this machine's online cores)\n"
          "  --model M, --layers L, --data D   as for the default run\n"
          "  --trial-ms T          length of each find-peak trial (default 500 ms)\n"
          "  --quick               trials of 100 ms (explicit --trial-ms wins)\n"
          "  --version             library version and git revision\n"
          "  -h, --help            this help\n",
          f);
}

/* One server run (performance) at qps with `workers` workers; returns the result. */
static int server_run(const tmlp_model *m, const tmlp_dataset *d, int workers, double qps, uint64_t bound_ns,
                      tmlp_mode mode, uint64_t trial_ms, tmlp_bench_result **out)
{
    tmlp_model_sut *ms = NULL;
    tmlp_error err = {0};
    if (tmlp_model_sut_create(m, d, workers, 1, &ms, &err) != TMLP_OK) {
        tmlp_cli_error("plan: cannot create the model SUT: %s", err.message);
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SERVER);
    s.mode = mode;
    s.target_qps = qps;
    s.target_latency_ns = bound_ns;
    s.min_duration_ms = trial_ms;
    s.max_duration_ms = trial_ms * 4; /* bounds the whole plan: <= 10 trials x 4 x trial */
    s.min_query_count = 662;
    s.warmup_queries = 50;
    s.workers = workers;
    s.drain_timeout_ms = 2000;
    s.find_peak_precision = 0.05;
    s.find_peak_max_runs = 10;
    tmlp_status st = tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(ms), out, &err);
    tmlp_model_sut_destroy(ms);
    if (st != TMLP_OK) {
        tmlp_cli_error("plan: server run failed: %s", err.message);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

/* The options. */
typedef struct plan_args {
    double q, headroom;          /* --target-qps, --headroom */
    uint64_t bound_ns, trial_ms; /* --latency-bound-ms; trial length after --quick/--trial-ms */
    int64_t cores;               /* cores per replica machine, >= 1 */
    const char *model, *layers, *data;
    uint64_t trial_ns;           /* --trial-ms as given (ns) */
    unsigned given;              /* bit 0 --trial-ms, bit 1 --quick */
} plan_args;

enum { PLAN_SVC = 2000 }; /* single-sample forwards timed for the service time */

/* What the run measured; every pointer owned and freed by plan_free. */
typedef struct plan_state {
    tmlp_model *m;
    tmlp_dataset *d;
    tmlp_session *sess;
    tmlp_monitor *mon;
    tmlp_monitor_summary ms;
    int have_rss;                /* ms holds the RSS growth of loading the model + one session */
    size_t pbytes, sbytes;       /* computed parameter and session bytes */
    tmlp_bench_result *peak, *v0, *v1, *v2;
    int64_t *svc;                /* PLAN_SVC forward-alone service times (ns) */
    double mean, scv;            /* their mean (ns) and squared coefficient of variation */
    double p1;                   /* find-peak QPS of one worker */
    int64_t workers;             /* workers needed at q with headroom */
    char msrc[4096], dsrc[4096];
} plan_state;

enum { PLAN_TARGET_QPS = 256, PLAN_BOUND, PLAN_HEADROOM, PLAN_CORES, PLAN_TRIAL_MS, PLAN_MODEL, PLAN_LAYERS, PLAN_DATA,
       PLAN_QUICK, PLAN_HELP };
static const struct option plan_options[] = {
    {"target-qps", required_argument, NULL, PLAN_TARGET_QPS}, {"latency-bound-ms", required_argument, NULL, PLAN_BOUND},
    {"headroom", required_argument, NULL, PLAN_HEADROOM},     {"cores", required_argument, NULL, PLAN_CORES},
    {"trial-ms", required_argument, NULL, PLAN_TRIAL_MS},     {"model", required_argument, NULL, PLAN_MODEL},
    {"layers", required_argument, NULL, PLAN_LAYERS},         {"data", required_argument, NULL, PLAN_DATA},
    {"quick", no_argument, NULL, PLAN_QUICK},                 {"help", no_argument, NULL, PLAN_HELP},
    {NULL, 0, NULL, 0}};

/* One option into the plan_args at ctx (a tmlp_cli_option_fn). */
static int plan_option(void *ctx, int c, const char *v)
{
    plan_args *a = ctx;
    switch (c) {
    case PLAN_TARGET_QPS: return tmlp_cli_parse_rate("--target-qps", v, &a->q);
    case PLAN_BOUND: return tmlp_cli_parse_duration_ns("--latency-bound-ms", v, 1000000, &a->bound_ns);
    case PLAN_HEADROOM: return tmlp_cli_parse_double("--headroom", v, 1, 100, &a->headroom);
    case PLAN_CORES: return tmlp_cli_parse_i64("--cores", v, 1, 4096, &a->cores);
    case PLAN_TRIAL_MS: a->given |= 1; return tmlp_cli_parse_duration_ns("--trial-ms", v, 1000000, &a->trial_ns);
    case PLAN_MODEL: a->model = v; return 0;
    case PLAN_LAYERS: a->layers = v; return 0;
    case PLAN_DATA: a->data = v; return 0;
    case PLAN_QUICK: a->given |= 2; return 0;
    default: return -1;
    }
}

/* 0, an exit code, or -1 when --help was printed. */
static int plan_parse(int argc, char **argv, plan_args *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    a->q = NAN;
    a->headroom = 1.3;
    a->bound_ns = 10000000ULL;
    a->trial_ns = 500000000ULL;
    a->cores = sysconf(_SC_NPROCESSORS_ONLN);
    if ((rc = tmlp_cli_getopt(argc, argv, "plan", plan_options, PLAN_HELP, print_help, plan_option, a, NULL)))
        return rc;
    if (isnan(a->q)) return tmlp_cli_usage_error("plan: --target-qps Q is required");
    if ((a->given & 2) && !(a->given & 1)) a->trial_ns = 100000000ULL; /* the shortest trial allowed */
    if (a->bound_ns == 0) return tmlp_cli_usage_error("--latency-bound-ms: must be > 0");
    if (a->trial_ns < 100000000ULL) return tmlp_cli_usage_error("--trial-ms: at least 100 ms");
    if (a->cores < 1) a->cores = 1;
    a->trial_ms = a->trial_ns / 1000000ULL;
    return 0;
}

/* Step 1: the model, one session and the data; the RSS growth of the first two. */
static int plan_load(const plan_args *a, plan_state *st)
{
    char b1[24];
    int rc;
    int mon_ok = tmlp_monitor_create(5, &st->mon, NULL) == TMLP_OK && tmlp_monitor_start(st->mon, NULL) == TMLP_OK;
    if ((rc = ru_load_model(a->model, a->layers, &st->m, st->msrc, sizeof st->msrc))) return rc;
    if (tmlp_session_create(st->m, 1, &st->sess, NULL) != TMLP_OK) {
        tmlp_cli_error("plan: cannot create a session (out of memory)");
        return TMLP_EXIT_RUNTIME;
    }
    if (mon_ok && tmlp_monitor_stop(st->mon, NULL) == TMLP_OK &&
        tmlp_monitor_get_summary(st->mon, &st->ms, NULL) == TMLP_OK && st->ms.has_rss)
        st->have_rss = 1;
    if ((rc = ru_load_data(a->data, st->m, &st->d, st->dsrc, sizeof st->dsrc))) return rc;
    st->pbytes = tmlp_model_param_bytes(st->m);
    st->sbytes = tmlp_session_bytes(st->sess);
    printf("Capacity plan for %s on %s: %.0f QPS with p99 <= %s, headroom factor %.2f\n\n", st->msrc, st->dsrc, a->q,
           tmlp_cli_fmt_ns((double)a->bound_ns, b1, sizeof b1), a->headroom);
    return 0;
}

/* Step 2: PLAN_SVC timed single-sample forwards (after 200 untimed) -> mean S and
 * Cs^2 = Var(S)/S^2 (Welford). */
static int plan_service(plan_state *st)
{
    char b1[24];
    const tmlp_dataset *d = st->d;
    st->svc = malloc(sizeof(int64_t) * PLAN_SVC);
    if (!st->svc) {
        tmlp_cli_error("plan: out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 99);
    for (int i = -200; i < PLAN_SVC; i++) {
        int64_t idx = (int64_t)tmlp_rng_below(&rng, (uint64_t)d->count);
        tmlp_tensor out;
        uint64_t t0 = tmlp_time_now_ns();
        if (d->dtype == TMLP_DTYPE_U8) {
            tmlp_session_forward_u8(st->sess, d->u8 + idx * d->width, 1, &out, NULL);
        } else {
            tmlp_tensor in = tmlp_tensor_2d(d->f32 + idx * d->width, 1, d->width);
            tmlp_session_forward(st->sess, &in, &out, NULL);
        }
        (void)tmlp_argmax(out.data, out.shape[1]);
        uint64_t dt = tmlp_time_now_ns() - t0;
        if (i >= 0) st->svc[i] = (int64_t)dt;
    }
    double mean = 0, m2 = 0;
    for (int i = 0; i < PLAN_SVC; i++) {
        double x = (double)st->svc[i], dd = x - mean;
        mean += dd / (i + 1);
        m2 += dd * (x - mean);
    }
    st->mean = mean;
    st->scv = m2 / (PLAN_SVC - 1) / (mean * mean);
    printf("Service time (%d single-sample forwards, 1 BLAS thread): mean %s, Cs^2 = %.3f -> at most %.0f "
           "queries/s per busy worker\n",
           PLAN_SVC, tmlp_cli_fmt_ns(mean, b1, sizeof b1), st->scv, 1e9 / mean);
    return 0;
}

/* Step 3 when no trial passed: the service time's own p99 against the bound; an exit code. */
static int plan_no_peak(const plan_args *a, const plan_state *st, double start)
{
    char b1[24], b2[24];
    int64_t *sorted = malloc(sizeof(int64_t) * PLAN_SVC);
    double sp99 = NAN;
    if (sorted) {
        memcpy(sorted, st->svc, sizeof(int64_t) * PLAN_SVC);
        qsort(sorted, PLAN_SVC, sizeof *sorted, ru_cmp_i64);
        sp99 = (double)sorted[(int)(0.99 * PLAN_SVC)];
        free(sorted);
    }
    const tmlp_bench_result *pk = st->peak;
    printf("No trial met the bound with one worker (the lowest tried was %.0f QPS): p99 of the service time "
           "alone is %s against a bound of %s; no plan is possible for this bound on this machine.\n",
           pk->n_peak_trials > 0 ? pk->peak_trial_qps[pk->n_peak_trials - 1] : start,
           tmlp_cli_fmt_ns(sp99, b2, sizeof b2), tmlp_cli_fmt_ns((double)a->bound_ns, b1, sizeof b1));
    return TMLP_EXIT_RUNTIME;
}

/* Step 3: find-peak with 1 worker -> p1; then a server run at 10% of it, where queueing is
 * rare, shows the service time as the SUT delivers it (dispatch to the worker thread,
 * forward, argmax, completion). */
static int plan_peak(const plan_args *a, plan_state *st)
{
    char b1[24], b2[24], b3[24];
    double start = 0.5e9 / st->mean;
    int rc;
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: find-peak with 1 worker from %.0f QPS (trials of %" PRIu64 " ms)...\n", start,
            a->trial_ms);
    if ((rc = server_run(st->m, st->d, 1, start, a->bound_ns, TMLP_MODE_FIND_PEAK, a->trial_ms, &st->peak)))
        return rc;
    const tmlp_bench_result *pk = st->peak;
    double p1 = st->p1 = pk->peak_qps;
    printf("Find-peak, 1 worker: %d trials (", pk->n_peak_trials);
    for (int i = 0; i < pk->n_peak_trials && i < 64; i++)
        printf("%s%.0f %s", i ? ", " : "", pk->peak_trial_qps[i], pk->peak_trial_valid[i] ? "pass" : "fail");
    printf(") -> %.0f QPS per worker with p99 within the bound\n", p1);
    if (!(p1 > 0)) return plan_no_peak(a, st, start);
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: calibration run at 10%% of the peak...\n");
    if ((rc = server_run(st->m, st->d, 1, 0.1 * p1, a->bound_ns, TMLP_MODE_PERFORMANCE, a->trial_ms, &st->v0)))
        return rc;
    const tmlp_bench_result *v0 = st->v0;
    printf("Latency at 10%% of the peak (%.0f QPS, %" PRId64 " queries: hand-off to the worker, wake-up, forward, "
           "completion): mean %s, p50 %s, i.e. %s more than the forward alone; the queueing model below uses the "
           "forward-alone samples and does not include that overhead\n",
           0.1 * p1, v0->n_latencies, tmlp_cli_fmt_ns(v0->latency.mean, b1, sizeof b1),
           tmlp_cli_fmt_ns(v0->latency.p50, b2, sizeof b2),
           tmlp_cli_fmt_ns(v0->latency.mean - st->mean, b3, sizeof b3));
    return 0;
}

/* Step 4: workers = ceil(q x headroom / p1), replicas of at most `cores` workers, memory
 * per replica = params + workers_per_replica x session. */
static void plan_size(const plan_args *a, plan_state *st)
{
    double q = a->q;
    int64_t cores = a->cores;
    int64_t workers = (int64_t)ceil(q * a->headroom / st->p1);
    if (workers < 1) workers = 1;
    st->workers = workers;
    int64_t per_replica = workers < cores ? workers : cores;
    int64_t replicas = (workers + cores - 1) / cores;
    double mem = (double)st->pbytes + (double)per_replica * (double)st->sbytes;
    printf("\nWorkers needed: ceil(%.0f x %.2f / %.0f) = %" PRId64 " (one per core; %" PRId64 " cores per replica) -> "
           "%" PRId64 " replica%s of %" PRId64 " worker%s\n",
           q, a->headroom, st->p1, workers, cores, replicas, replicas == 1 ? "" : "s", per_replica,
           per_replica == 1 ? "" : "s");
    printf("Memory per replica: weights %.2f MB + %" PRId64 " x session %.2f MB = %.2f MB computed",
           (double)st->pbytes / 1048576.0, per_replica, (double)st->sbytes / 1048576.0, mem / 1048576.0);
    if (st->have_rss)
        printf("; measured RSS growth for the model and one session: %.2f MB (allocator and page granularity "
               "included)\n",
               (double)(st->ms.rss_peak_bytes - st->ms.rss_start_bytes) / 1048576.0);
    else printf("; RSS not measurable here (/proc/self/status unreadable)\n");
}

/* Step 5: M/G/c (Allen-Cunneen) p99 at q for 1..max(workers + 2, 4) workers, fed with the
 * forward-alone service times. */
static void plan_predict(const plan_args *a, const plan_state *st)
{
    char b1[24], b2[24];
    double q = a->q;
    printf("\nM/G/c prediction at %.0f QPS (Allen-Cunneen, measured service-time samples, Poisson arrivals):\n", q);
    printf("| workers | utilisation | P(wait) | mean latency | p99 latency | meets bound |\n|---:|---:|---:|---:|---:|---|\n");
    int64_t cmax = st->workers + 2 > 4 ? st->workers + 2 : 4;
    if (cmax > 256) cmax = 256;
    int64_t first_ok = 0;
    for (int64_t c = 1; c <= cmax; c++) {
        tmlp_queue_result qr;
        if (tmlp_queue_mgc(q, st->svc, PLAN_SVC, (int)c, 0.99, &qr, NULL) != TMLP_OK) {
            printf("| %" PRId64 " | %.0f%% | - | unstable | unstable | no |\n", c,
                   100 * q * st->mean / 1e9 / (double)c);
            continue;
        }
        int ok = qr.response_quantile_s * 1e9 <= (double)a->bound_ns;
        if (ok && !first_ok) first_ok = c;
        printf("| %" PRId64 " | %.0f%% | %.3f | %s | %s | %s |\n", c, 100 * qr.rho, qr.p_wait,
               tmlp_cli_fmt_ns(qr.mean_response_s * 1e9, b1, sizeof b1),
               tmlp_cli_fmt_ns(qr.response_quantile_s * 1e9, b2, sizeof b2), ok ? "yes" : "no");
    }
    if (first_ok)
        printf("The model says %" PRId64 " worker%s suffice%s at %.0f QPS without headroom; the measured plan above "
               "asks for %" PRId64 ".\n",
               first_ok, first_ok == 1 ? "" : "s", first_ok == 1 ? "s" : "", q, st->workers);
}

/* Step 6: the model against measured server runs at 1 and 2 workers (0.7 and 1.4 x p1). */
static int plan_check(const plan_args *a, plan_state *st)
{
    char b1[24], b2[24];
    double l1 = 0.7 * st->p1, l2 = 1.4 * st->p1;
    int rc;
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: validation runs at 1 and 2 workers...\n");
    if ((rc = server_run(st->m, st->d, 1, l1, a->bound_ns, TMLP_MODE_PERFORMANCE, 2 * a->trial_ms, &st->v1))) return rc;
    if ((rc = server_run(st->m, st->d, 2, l2, a->bound_ns, TMLP_MODE_PERFORMANCE, 2 * a->trial_ms, &st->v2))) return rc;
    printf("\nModel check (server runs on this machine, %" PRId64 " cores):\n", (int64_t)sysconf(_SC_NPROCESSORS_ONLN));
    printf("| workers | QPS | measured p99 | predicted p99 | prediction error | run |\n|---:|---:|---:|---:|---:|---|\n");
    tmlp_bench_result *vr[2] = {st->v1, st->v2};
    double lam[2] = {l1, l2};
    for (int k = 0; k < 2; k++) {
        tmlp_queue_result qr;
        int ok = tmlp_queue_mgc(lam[k], st->svc, PLAN_SVC, k + 1, 0.99, &qr, NULL) == TMLP_OK;
        double meas = vr[k]->latency.p99, pred = ok ? qr.response_quantile_s * 1e9 : NAN;
        printf("| %d | %.0f | %s | %s | ", k + 1, lam[k], tmlp_cli_fmt_ns(meas, b1, sizeof b1),
               ok ? tmlp_cli_fmt_ns(pred, b2, sizeof b2) : "unstable");
        if (ok && meas > 0) printf("%+.1f%% |", 100 * (pred - meas) / meas);
        else printf("- |");
        printf(" %s |\n", vr[k]->valid ? "VALID" : "INVALID");
    }
    printf("Prediction error = (predicted - measured) / measured. The model ignores the harness's dispatch "
           "overhead and contention between workers for cores and memory bandwidth; a large error means the "
           "measured find-peak figure (%.0f QPS per worker) is the one to plan with.\n",
           st->p1);
    return 0;
}

static void plan_free(plan_state *st)
{
    free(st->svc);
    tmlp_bench_result_destroy(st->peak);
    tmlp_bench_result_destroy(st->v0);
    tmlp_bench_result_destroy(st->v1);
    tmlp_bench_result_destroy(st->v2);
    tmlp_monitor_destroy(st->mon);
    tmlp_session_destroy(st->sess);
    tmlp_dataset_destroy(st->d);
    tmlp_model_destroy(st->m);
}

int tmlp_cmd_plan(int argc, char **argv)
{
    plan_args a;
    int rc = plan_parse(argc, argv, &a);
    if (rc) return rc == -1 ? 0 : rc;
    tmlp_blas_set_threads(1, NULL);
    plan_state *st = calloc(1, sizeof *st);
    if (!st) {
        tmlp_cli_error("plan: out of memory");
        return TMLP_EXIT_RUNTIME;
    }
    if (!(rc = plan_load(&a, st)) && !(rc = plan_service(st)) && !(rc = plan_peak(&a, st))) {
        plan_size(&a, st);
        plan_predict(&a, st);
        rc = plan_check(&a, st);
    }
    plan_free(st);
    free(st);
    return rc;
}
