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

int tmlp_cmd_plan(int argc, char **argv)
{
    double q = NAN, headroom = 1.3;
    uint64_t bound_ns = 10000000ULL, trial_ns = 500000000ULL;
    int64_t cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model = NULL, *layers = NULL, *data = NULL;
    int quick = 0, trial_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(stdout);
            return 0;
        }
        if (!strcmp(a, "--quick")) {
            quick = 1;
            continue;
        }
        if (i + 1 >= argc) return tmlp_cli_usage_error("plan: unknown option or missing value \"%s\"", a);
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "--target-qps")) rc = tmlp_cli_parse_rate("--target-qps", v, &q);
        else if (!strcmp(a, "--latency-bound-ms")) rc = tmlp_cli_parse_duration_ns("--latency-bound-ms", v, 1000000, &bound_ns);
        else if (!strcmp(a, "--headroom")) rc = tmlp_cli_parse_double("--headroom", v, 1, 100, &headroom);
        else if (!strcmp(a, "--cores")) rc = tmlp_cli_parse_i64("--cores", v, 1, 4096, &cores);
        else if (!strcmp(a, "--trial-ms")) {
            rc = tmlp_cli_parse_duration_ns("--trial-ms", v, 1000000, &trial_ns);
            trial_set = 1;
        }
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--layers")) layers = v;
        else if (!strcmp(a, "--data")) data = v;
        else return tmlp_cli_usage_error("plan: unknown option \"%s\"", a);
        if (rc) return rc;
    }
    if (isnan(q)) return tmlp_cli_usage_error("plan: --target-qps Q is required");
    if (quick && !trial_set) trial_ns = 100000000ULL; /* the shortest trial allowed */
    if (bound_ns == 0) return tmlp_cli_usage_error("--latency-bound-ms: must be > 0");
    if (trial_ns < 100000000ULL) return tmlp_cli_usage_error("--trial-ms: at least 100 ms");
    if (cores < 1) cores = 1;
    uint64_t trial_ms = trial_ns / 1000000ULL;
    char b1[24], b2[24], b3[24];

    tmlp_blas_set_threads(1, NULL);
    tmlp_model *m = NULL;
    tmlp_dataset *d = NULL;
    tmlp_session *sess = NULL;
    tmlp_monitor *mon = NULL;
    tmlp_bench_result *peak = NULL, *v0 = NULL, *v1 = NULL, *v2 = NULL;
    int64_t *svc = NULL;
    char msrc[4096], dsrc[4096];
    int rc = 0;
    /* 1. memory: model + one session, measured as RSS growth */
    tmlp_monitor_summary ms;
    int have_rss = 0;
    int mon_ok = tmlp_monitor_create(5, &mon, NULL) == TMLP_OK && tmlp_monitor_start(mon, NULL) == TMLP_OK;
    if ((rc = ru_load_model(model, layers, &m, msrc, sizeof msrc))) goto done;
    if (tmlp_session_create(m, 1, &sess, NULL) != TMLP_OK) {
        tmlp_cli_error("plan: cannot create a session (out of memory)");
        if (peak->n_reasons > 0) printf("Last trial: %s\n", peak->reasons[0]);
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    if (mon_ok && tmlp_monitor_stop(mon, NULL) == TMLP_OK && tmlp_monitor_get_summary(mon, &ms, NULL) == TMLP_OK &&
        ms.has_rss)
        have_rss = 1;
    if ((rc = ru_load_data(data, m, &d, dsrc, sizeof dsrc))) goto done;
    size_t pbytes = tmlp_model_param_bytes(m), sbytes = tmlp_session_bytes(sess);
    printf("Capacity plan for %s on %s: %.0f QPS with p99 <= %s, headroom factor %.2f\n\n", msrc, dsrc, q,
           tmlp_cli_fmt_ns((double)bound_ns, b1, sizeof b1), headroom);

    /* 2. service time */
    enum { NSVC = 2000 };
    svc = malloc(sizeof(int64_t) * NSVC);
    if (!svc) {
        tmlp_cli_error("plan: out of memory");
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }
    tmlp_rng rng;
    tmlp_rng_seed(&rng, 99);
    for (int i = -200; i < NSVC; i++) {
        int64_t idx = (int64_t)tmlp_rng_below(&rng, (uint64_t)d->count);
        tmlp_tensor out;
        uint64_t t0 = tmlp_time_now_ns();
        if (d->dtype == TMLP_DTYPE_U8) {
            tmlp_session_forward_u8(sess, d->u8 + idx * d->width, 1, &out, NULL);
        } else {
            tmlp_tensor in = tmlp_tensor_2d(d->f32 + idx * d->width, 1, d->width);
            tmlp_session_forward(sess, &in, &out, NULL);
        }
        (void)tmlp_argmax(out.data, out.shape[1]);
        uint64_t dt = tmlp_time_now_ns() - t0;
        if (i >= 0) svc[i] = (int64_t)dt;
    }
    double mean = 0, m2 = 0;
    for (int i = 0; i < NSVC; i++) {
        double x = (double)svc[i], dd = x - mean;
        mean += dd / (i + 1);
        m2 += dd * (x - mean);
    }
    double scv = m2 / (NSVC - 1) / (mean * mean);
    printf("Service time (%d single-sample forwards, 1 BLAS thread): mean %s, Cs^2 = %.3f -> at most %.0f "
           "queries/s per busy worker\n",
           NSVC, tmlp_cli_fmt_ns(mean, b1, sizeof b1), scv, 1e9 / mean);

    /* 3. find-peak, 1 worker */
    double start = 0.5e9 / mean;
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: find-peak with 1 worker from %.0f QPS (trials of %" PRIu64 " ms)...\n", start,
            trial_ms);
    if ((rc = server_run(m, d, 1, start, bound_ns, TMLP_MODE_FIND_PEAK, trial_ms, &peak))) goto done;
    double p1 = peak->peak_qps;
    printf("Find-peak, 1 worker: %d trials (", peak->n_peak_trials);
    for (int i = 0; i < peak->n_peak_trials && i < 64; i++)
        printf("%s%.0f %s", i ? ", " : "", peak->peak_trial_qps[i], peak->peak_trial_valid[i] ? "pass" : "fail");
    printf(") -> %.0f QPS per worker with p99 within the bound\n", p1);
    if (!(p1 > 0)) {
        int64_t *sorted = malloc(sizeof(int64_t) * NSVC);
        double sp99 = NAN;
        if (sorted) {
            memcpy(sorted, svc, sizeof(int64_t) * NSVC);
            qsort(sorted, NSVC, sizeof *sorted, ru_cmp_i64);
            sp99 = (double)sorted[(int)(0.99 * NSVC)];
            free(sorted);
        }
        printf("No trial met the bound with one worker (the lowest tried was %.0f QPS): p99 of the service time "
               "alone is %s against a bound of %s; no plan is possible for this bound on this machine.\n",
               peak->n_peak_trials > 0 ? peak->peak_trial_qps[peak->n_peak_trials - 1] : start,
               tmlp_cli_fmt_ns(sp99, b2, sizeof b2), tmlp_cli_fmt_ns((double)bound_ns, b1, sizeof b1));
        rc = TMLP_EXIT_RUNTIME;
        goto done;
    }

    /* service time as the SUT delivers it (dispatch to the worker thread, forward, argmax,
     * completion): latencies of a server run at 10% of the peak, where queueing is rare */
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: calibration run at 10%% of the peak...\n");
    if ((rc = server_run(m, d, 1, 0.1 * p1, bound_ns, TMLP_MODE_PERFORMANCE, trial_ms, &v0))) goto done;
    const int64_t *qsvc = svc;
    int64_t nq = NSVC;
    double qmean = mean;
    printf("Latency at 10%% of the peak (%.0f QPS, %" PRId64 " queries: hand-off to the worker, wake-up, forward, "
           "completion): mean %s, p50 %s, i.e. %s more than the forward alone; the queueing model below uses the "
           "forward-alone samples and does not include that overhead\n",
           0.1 * p1, v0->n_latencies, tmlp_cli_fmt_ns(v0->latency.mean, b1, sizeof b1),
           tmlp_cli_fmt_ns(v0->latency.p50, b2, sizeof b2), tmlp_cli_fmt_ns(v0->latency.mean - mean, b3, sizeof b3));

    /* 4. workers, replicas, memory */
    int64_t workers = (int64_t)ceil(q * headroom / p1);
    if (workers < 1) workers = 1;
    int64_t per_replica = workers < cores ? workers : cores;
    int64_t replicas = (workers + cores - 1) / cores;
    double mem = (double)pbytes + (double)per_replica * (double)sbytes;
    printf("\nWorkers needed: ceil(%.0f x %.2f / %.0f) = %" PRId64 " (one per core; %" PRId64 " cores per replica) -> "
           "%" PRId64 " replica%s of %" PRId64 " worker%s\n",
           q, headroom, p1, workers, cores, replicas, replicas == 1 ? "" : "s", per_replica, per_replica == 1 ? "" : "s");
    printf("Memory per replica: weights %.2f MB + %" PRId64 " x session %.2f MB = %.2f MB computed",
           (double)pbytes / 1048576.0, per_replica, (double)sbytes / 1048576.0, mem / 1048576.0);
    if (have_rss)
        printf("; measured RSS growth for the model and one session: %.2f MB (allocator and page granularity "
               "included)\n",
               (double)(ms.rss_peak_bytes - ms.rss_start_bytes) / 1048576.0);
    else printf("; RSS not measurable here (/proc/self/status unreadable)\n");

    /* 5. queueing prediction at Q */
    printf("\nM/G/c prediction at %.0f QPS (Allen-Cunneen, measured service-time samples, Poisson arrivals):\n", q);
    printf("| workers | utilisation | P(wait) | mean latency | p99 latency | meets bound |\n|---:|---:|---:|---:|---:|---|\n");
    int64_t cmax = workers + 2 > 4 ? workers + 2 : 4;
    if (cmax > 256) cmax = 256;
    int64_t first_ok = 0;
    for (int64_t c = 1; c <= cmax; c++) {
        tmlp_queue_result qr;
        if (tmlp_queue_mgc(q, qsvc, nq, (int)c, 0.99, &qr, NULL) != TMLP_OK) {
            printf("| %" PRId64 " | %.0f%% | - | unstable | unstable | no |\n", c, 100 * q * qmean / 1e9 / (double)c);
            continue;
        }
        int ok = qr.response_quantile_s * 1e9 <= (double)bound_ns;
        if (ok && !first_ok) first_ok = c;
        printf("| %" PRId64 " | %.0f%% | %.3f | %s | %s | %s |\n", c, 100 * qr.rho, qr.p_wait,
               tmlp_cli_fmt_ns(qr.mean_response_s * 1e9, b1, sizeof b1),
               tmlp_cli_fmt_ns(qr.response_quantile_s * 1e9, b2, sizeof b2), ok ? "yes" : "no");
    }
    if (first_ok)
        printf("The model says %" PRId64 " worker%s suffice%s at %.0f QPS without headroom; the measured plan above "
               "asks for %" PRId64 ".\n",
               first_ok, first_ok == 1 ? "" : "s", first_ok == 1 ? "s" : "", q, workers);

    /* 6. check the model against measured runs at 1 and 2 workers */
    double l1 = 0.7 * p1, l2 = 1.4 * p1;
    fflush(stdout);
    fprintf(stderr, "bench_mlp plan: validation runs at 1 and 2 workers...\n");
    if ((rc = server_run(m, d, 1, l1, bound_ns, TMLP_MODE_PERFORMANCE, 2 * trial_ms, &v1))) goto done;
    if ((rc = server_run(m, d, 2, l2, bound_ns, TMLP_MODE_PERFORMANCE, 2 * trial_ms, &v2))) goto done;
    printf("\nModel check (server runs on this machine, %" PRId64 " cores):\n", (int64_t)sysconf(_SC_NPROCESSORS_ONLN));
    printf("| workers | QPS | measured p99 | predicted p99 | prediction error | run |\n|---:|---:|---:|---:|---:|---|\n");
    tmlp_bench_result *vr[2] = {v1, v2};
    double lam[2] = {l1, l2};
    for (int k = 0; k < 2; k++) {
        tmlp_queue_result qr;
        int ok = tmlp_queue_mgc(lam[k], qsvc, nq, k + 1, 0.99, &qr, NULL) == TMLP_OK;
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
           p1);
done:
    free(svc);
    tmlp_bench_result_destroy(peak);
    tmlp_bench_result_destroy(v0);
    tmlp_bench_result_destroy(v1);
    tmlp_bench_result_destroy(v2);
    tmlp_monitor_destroy(mon);
    tmlp_session_destroy(sess);
    tmlp_dataset_destroy(d);
    tmlp_model_destroy(m);
    return rc;
}
