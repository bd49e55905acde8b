/* bench_handoff.c — does the harness perturb what it measures?
 *
 * Single-stream through the harness costs one forward pass plus the harness's own
 * bookkeeping, and — when the model SUT queues the query to a worker thread — two thread
 * hand-offs (the issuer wakes the worker, the worker's completion wakes the issuer). With
 * one core busy elsewhere the issuer and the worker share the other core and every query
 * pays two futex wake-ups (docs/performance.md has the figures). The model SUT
 * therefore computes single-stream inline, in the issuing thread (its default dispatch);
 * this program measures both paths against the bare loop, all as p50 of per-query times,
 * batch 1, one worker, one BLAS thread:
 *
 *   a  bare forward: the worker's own work in a plain loop on one thread — gather the
 *      sample's row, tmlp_session_forward_u8 (tmlp_session_forward for f32 data), argmax —
 *      over the harness's sample order (the same rng and sample_seed), shipped model
 *      models/fashion_mlp.safetensors on the Fashion-MNIST test set (synthetic inputs if
 *      the data set is not installed);
 *   i  the harness in single-stream with tmlp_model_sut, default dispatch (inline);
 *   w  the same with the worker path (tmlp_model_sut_set_dispatch WORKERS), default
 *      waits (settings.wait_spin_ns = -1 and the SUT's idle-spin decision at creation).
 *   ratios i / a (targets: <= 1.05 with no neighbour, <= 1.15 with a busy one) and w / a.
 * Each round runs every measurement under two conditions, in alternating order: no
 * neighbour of ours (other people's jobs may still run: the load is printed), and a busy
 * neighbour (a forked child that spins for the duration, killed after). Rounds are
 * interleaved and the table prints the median and the range over rounds: on a shared
 * machine other people's builds move single rounds. The ratios are medians of per-round
 * ratios (a and i of one round ran back to back).
 *
 * Usage: bench_handoff [--rounds N (5)] [--ms M (1000): each measurement's duration]
 * Not a test: nothing here is asserted.
 */
#include "bench_config.h"
#include "tinymlp.h"
#include "tinymlp/bench.h"
#include "tinymlp/blas.h"
#include "tinymlp/rng.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { M_BARE, M_INLINE, M_WORKER, N_MEAS };
enum { C_QUIET, C_BUSY, N_COND };
#define MAX_ROUNDS 64

typedef struct workload {
    tmlp_model *model;
    tmlp_dataset *data;
} workload;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* a: the worker's work (model_sut.c compute()) in a plain loop for `ms`; p50 in ns. */
static double bare_p50(const workload *w, uint64_t sample_seed, int ms)
{
    tmlp_session *s = NULL;
    if (tmlp_session_create(w->model, 1, &s, NULL) != TMLP_OK) return -1.0;
    const tmlp_dataset *d = w->data;
    size_t row = (size_t)d->width;
    size_t cap = 1 << 20, n = 0;
    double *t = malloc(cap * sizeof *t);
    void *x = malloc(row * sizeof(float));
    if (!t || !x) {
        free(t);
        free(x);
        tmlp_session_destroy(s);
        return -1.0;
    }
    tmlp_rng rng;
    tmlp_rng_seed(&rng, sample_seed);
    volatile int64_t sink = 0;
    uint64_t end = tmlp_time_now_ns() + (uint64_t)ms * 1000000ULL;
    for (int i = 0; n < cap; i++) {
        int64_t idx = (int64_t)tmlp_rng_below(&rng, (uint64_t)d->count);
        uint64_t t0 = tmlp_time_now_ns();
        tmlp_tensor out;
        tmlp_status st;
        if (d->dtype == TMLP_DTYPE_U8) {
            memcpy(x, d->u8 + (size_t)idx * row, row);
            st = tmlp_session_forward_u8(s, x, 1, &out, NULL);
        } else {
            memcpy(x, d->f32 + (size_t)idx * row, row * sizeof(float));
            tmlp_tensor in = tmlp_tensor_2d(x, 1, d->width);
            st = tmlp_session_forward(s, &in, &out, NULL);
        }
        sink += st == TMLP_OK ? tmlp_argmax(out.data, out.shape[1]) : -1;
        uint64_t t1 = tmlp_time_now_ns();
        if (i >= 100) t[n++] = (double)(t1 - t0); /* the first 100: warm-up */
        if (t1 >= end && n >= 100) break;
    }
    double p = median(t, (int)n);
    free(t);
    free(x);
    tmlp_session_destroy(s);
    return p;
}

/* The harness in single-stream over tmlp_model_sut (1 worker, batch 1) with the given
 * dispatch and the default waits; p50 in ns. `policy` gets the wait decisions. */
static double harness_p50(const workload *w, int ms, tmlp_sut_dispatch dispatch, char *policy, size_t cap)
{
    tmlp_model_sut *m = NULL;
    tmlp_error err = {0};
    if (tmlp_model_sut_create(w->model, w->data, 1, 1, &m, &err) != TMLP_OK ||
        tmlp_model_sut_set_dispatch(m, dispatch, &err) != TMLP_OK) {
        fprintf(stderr, "bench_handoff: %s\n", err.message);
        tmlp_model_sut_destroy(m);
        return -1.0;
    }
    tmlp_bench_settings s = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = (uint64_t)ms;
    s.min_query_count = 100;
    s.warmup_queries = 100;
    tmlp_bench_result *r = NULL;
    double p = -1.0;
    if (tmlp_bench_run_scenario(&s, tmlp_model_sut_callbacks(m), &r, &err) == TMLP_OK) {
        p = r->latency.p50;
        if (policy)
            snprintf(policy, cap, "harness %s; worker idle spin %.0f us", r->wait_policy,
                     (double)tmlp_model_sut_idle_spin_ns(m) * 1e-3);
    } else {
        fprintf(stderr, "bench_handoff: %s\n", err.message);
    }
    tmlp_bench_result_destroy(r);
    tmlp_model_sut_destroy(m);
    return p;
}

/* The busy neighbour: a child process that spins until killed (and dies with us). */
static pid_t neighbour_start(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile uint64_t x = 0;
        for (;;) x++;
    }
    if (pid > 0) sleep_ms(100); /* let it be scheduled and seen as runnable */
    return pid;
}

static void neighbour_stop(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int load_shipped(workload *w, const char **data_name)
{
    char path[4096];
    tmlp_error err = {0};
    snprintf(path, sizeof path, "%s/models/fashion_mlp.safetensors", TMLP_SOURCE_DIR);
    if (tmlp_model_load(path, NULL, &w->model, &err) != TMLP_OK) {
        fprintf(stderr, "bench_handoff: %s: %s\n", path, err.message);
        return 1;
    }
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", TMLP_FASHION_MNIST_DIR);
    *data_name = "Fashion-MNIST test set";
    if (access(images, R_OK) != 0 || tmlp_dataset_load_idx(images, labels, NULL, &w->data, &err) != TMLP_OK) {
        *data_name = "synthetic inputs (Fashion-MNIST not installed)";
        if (tmlp_dataset_synthetic(4096, tmlp_model_input_width(w->model), 1, NULL, &w->data, &err) != TMLP_OK) {
            fprintf(stderr, "bench_handoff: %s\n", err.message);
            return 1;
        }
    }
    return 0;
}

static void print_row(const char *name, double v[N_COND][MAX_ROUNDS], int rounds, double scale, const char *unit)
{
    printf("  %-40s", name);
    for (int c = 0; c < N_COND; c++) {
        double tmp[MAX_ROUNDS];
        double lo = v[c][0], hi = v[c][0];
        for (int i = 0; i < rounds; i++) {
            tmp[i] = v[c][i];
            if (v[c][i] < lo) lo = v[c][i];
            if (v[c][i] > hi) hi = v[c][i];
        }
        double med = median(tmp, rounds);
        printf(" | %7.2f%s [%6.2f, %6.2f]", med * scale, unit, lo * scale, hi * scale);
    }
    printf("\n");
}

static double median_of(const double *v, int n)
{
    double tmp[MAX_ROUNDS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    return median(tmp, n);
}

int main(int argc, char **argv)
{
    int rounds = 5, ms = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc) ms = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_handoff [--rounds N (5)] [--ms M (1000)]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || ms < 10) {
        fprintf(stderr, "bench_handoff: need 1 <= --rounds <= %d and --ms >= 10\n", MAX_ROUNDS);
        return 2;
    }
    tmlp_blas_set_threads(1, NULL);
    workload shipped = {0};
    const char *data_name = "";
    if (load_shipped(&shipped, &data_name)) return 1;
    uint64_t seed = tmlp_bench_settings_default(TMLP_SCENARIO_SINGLE_STREAM).sample_seed;

    static double v[N_MEAS][N_COND][MAX_ROUNDS];
    static double ratio[2][N_COND][MAX_ROUNDS];
    char policy[N_COND][512] = {{0}};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double load[3] = {0};
    getloadavg(load, 3);
    char cpu[256] = "unknown CPU";
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci) {
        char line[512];
        while (fgets(line, sizeof line, ci))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = 0;
                break;
            }
        fclose(ci);
    }
    printf("bench_handoff: %d rounds x %d conditions, %d ms per measurement; %s, %ld CPUs online, "
           "load %.2f %.2f %.2f\n", rounds, N_COND, ms, cpu, cpus, load[0], load[1], load[2]);
    printf("model models/fashion_mlp.safetensors, %s, batch 1, 1 worker, 1 BLAS thread\n\n", data_name);
    fflush(stdout);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < N_COND; k++) {
            int c = (r + k) % 2; /* alternate which condition goes first */
            pid_t nb = c == C_BUSY ? neighbour_start() : 0;
            if (c == C_BUSY && nb < 0) {
                perror("bench_handoff: fork");
                return 1;
            }
            v[M_BARE][c][r] = bare_p50(&shipped, seed, ms);
            v[M_INLINE][c][r] = harness_p50(&shipped, ms, TMLP_DISPATCH_AUTO, policy[c], sizeof policy[c]);
            v[M_WORKER][c][r] = harness_p50(&shipped, ms, TMLP_DISPATCH_WORKERS, NULL, 0);
            neighbour_stop(nb);
            ratio[0][c][r] = v[M_INLINE][c][r] / v[M_BARE][c][r];
            ratio[1][c][r] = v[M_WORKER][c][r] / v[M_BARE][c][r];
        }
        fprintf(stderr, "round %d/%d done\n", r + 1, rounds);
    }

    printf("p50 per query, median over %d interleaved rounds [min, max]; shared machine: other\n"
           "people's work moves single rounds\n\n", rounds);
    printf("  %-40s | %-26s | %-26s\n", "", "no neighbour", "busy neighbour (1 core)");
    print_row("a  bare forward loop", v[M_BARE], rounds, 1e-3, "us");
    print_row("i  harness, inline (default)", v[M_INLINE], rounds, 1e-3, "us");
    print_row("   ratio i / a", ratio[0], rounds, 1.0, "  ");
    print_row("w  harness, worker thread", v[M_WORKER], rounds, 1e-3, "us");
    print_row("   ratio w / a", ratio[1], rounds, 1.0, "  ");
    printf("\n(ratios are medians of per-round ratios, not ratios of the medians above)\n");
    static const double target[N_COND] = {1.05, 1.15};
    for (int c = 0; c < N_COND; c++) {
        double med = median_of(ratio[0][c], rounds);
        printf("%s: i / a = %.3f: target <= %.2f %s\n", c == C_QUIET ? "no neighbour  " : "busy neighbour", med,
               target[c], med <= target[c] ? "met" : "NOT met");
    }
    printf("wait policy of i, last round:\n  no neighbour:   %s\n  busy neighbour: %s\n", policy[C_QUIET],
           policy[C_BUSY]);
    tmlp_model_destroy(shipped.model);
    tmlp_dataset_destroy(shipped.data);
    return 0;
}
