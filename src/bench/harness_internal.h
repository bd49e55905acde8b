/* harness_internal.h (private) — the pieces of the benchmark harness that talk to each
 * other: the workload generator (schedule.c), the validity rules (validity.c), one run
 * (harness.c) and the find-peak search (find_peak.c). Tests include this header to check
 * the schedule and the verdicts without a clock.
 */
#ifndef TMLP_HARNESS_INTERNAL_H
#define TMLP_HARNESS_INTERNAL_H

#include "tinymlp/bench.h"
#include "tinymlp/rng.h"

/* --- Sorting (sort.c) ----------------------------------------------------------------- */

/* Sort x[0, n) ascending in place with no allocation (introsort; glibc's qsort mallocs a
 * copy of the array, a third 8-byte array per query at a run's peak). */
void tmlp_sort_doubles(double *x, int64_t n);

/* --- Workload (schedule.c) ---------------------------------------------------------- */

/* Where the sample indices of a run come from. Performance queries draw uniformly with
 * replacement from [0, count) with tmlp_rng seeded by sample_seed; accuracy mode walks
 * 0, 1, ..., count-1 in order. Warm-up queries use their own stream (seeded from
 * sample_seed ^ TMLP_WARMUP_SEED_XOR), so the measured workload does not depend on the
 * number of warm-up queries. */
#define TMLP_WARMUP_SEED_XOR 0x9e3779b97f4a7c15ULL
typedef struct tmlp_sampler {
    tmlp_rng rng;
    int64_t count;
    int sequential;
    int64_t next;
} tmlp_sampler;

void tmlp_sampler_init(tmlp_sampler *s, uint64_t seed, int64_t count, int sequential);
int64_t tmlp_sampler_next(tmlp_sampler *s);

/* Server arrival schedule in integer nanoseconds from the run start: t[0] = 0 and
 * t[i] = t[i-1] + round(1e9 * Exp(qps)) (tmlp_rng_exponential seeded by seed). With
 * exact_count > 0 exactly that many arrivals; otherwise arrivals until both
 * count >= max(min_queries, 1) and t[last] >= min_duration_ns, cut at max_queries /
 * max_duration_ns when those are non-zero. *out is malloc'ed (free()). */
tmlp_status tmlp_schedule_generate(uint64_t seed, double qps, int64_t exact_count, int64_t min_queries,
                                   uint64_t min_duration_ns, int64_t max_queries,
                                   uint64_t max_duration_ns, int64_t **out, int64_t *n_out,
                                   tmlp_error *err);

/* Queries the digest covers for a closed-loop scenario: max(min_query_count, 1), cut at
 * max_query_count. (A longer run issues the same first queries: the stream is prefix-stable.) */
int64_t tmlp_workload_planned_queries(const tmlp_bench_settings *s);

/* tmlp_workload_offline_samples (bench.h) refuses a plan above this (memory: ~33 bytes/sample). */
#define TMLP_OFFLINE_MAX_PLANNED TMLP_BENCH_MAX_OFFLINE_SAMPLES

/* FNV-1a over the scenario, the mode, the query shape, the SUT's sample count, the sample
 * indices of the planned queries in order and (server) every scheduled time. */
uint64_t tmlp_workload_digest(const tmlp_bench_settings *s, int64_t sample_count,
                              const int64_t *schedule, int64_t n_schedule);

/* --- Overload (overload.c) ------------------------------------------------------------
 * Can a server run still be VALID? (the rule is explained at the top of overload.c) */
#define TMLP_OVERLOAD_MIN_BUSY 16   /* busy completions before the service rate is trusted */
enum { TMLP_OVERLOAD_NONE = 0, TMLP_OVERLOAD_CERTAIN = 1, TMLP_OVERLOAD_PREDICTED = 2 };
typedef struct tmlp_overload {
    int64_t allowed;        /* queries over the bound the run may have and pass (-1: none) */
    int64_t late_done;      /* measured queries completed over the bound */
    int64_t late_open;      /* outstanding queries past their deadline (tmlp_overload_scan) */
    int64_t late_predicted; /* outstanding queries finishing past their deadline at twice the
                               service rate, late_open included (tmlp_overload_scan) */
    int64_t outstanding;    /* outstanding queries seen by the scan */
    double service_qps;     /* measured while busy; NaN = not known yet (no prediction) */
} tmlp_overload;

/* The largest number of over-bound queries with which `total` queries still pass the
 * server's early stopping at percentile p and confidence c; -1 if none does. */
int64_t tmlp_overload_allowed_late(double p, double c, int64_t total);
/* Count o->late_open, o->late_predicted and o->outstanding over queries [from, to) of a
 * server run: left[q] != 0 marks an outstanding query, origin[q] its scheduled time (ns,
 * the clock of now_ns). Reads o->service_qps. */
void tmlp_overload_scan(tmlp_overload *o, const int64_t *origin, const int32_t *left, int64_t from, int64_t to,
                        int64_t bound_ns, int64_t now_ns);
/* TMLP_OVERLOAD_CERTAIN, _PREDICTED (the run cannot / will not be VALID) or _NONE. */
int tmlp_overload_verdict(const tmlp_overload *o);

/* --- Validity (validity.c) ----------------------------------------------------------- */

/* What happened during a run besides the latencies. */
typedef struct tmlp_bench_outcome {
    int interrupted;
    int overloaded;
    int64_t overload_outstanding;  /* queries outstanding when the issuer stopped */
    double overload_at_s;          /* when (seconds from the run start) */
    int64_t never_completed;       /* samples still outstanding after the drain wait */
    int64_t incomplete_queries;    /* measured queries that never completed */
    int stalled;                   /* closed loop: a query did not complete in the stall bound */
    int overload_rule;             /* TMLP_OVERLOAD_CERTAIN / _PREDICTED: why the issuer stopped
                                      (0 = max_outstanding_queries, when overloaded) */
    tmlp_overload overload;        /* the counts when it stopped */
    int64_t overload_total;        /* queries scheduled in all */
    char cancel_error[160];        /* the SUT's cancel callback failed with this message */
    uint64_t stall_ns;             /* the stall bound that ended the run (0 = none did) */
} tmlp_bench_outcome;

/* Fill r's checks, early-stopping fields, reasons and `valid` from r->settings,
 * r->queries, r->duration_ns, r->errors, and the ascending latencies of the n completed
 * measured queries. */
void tmlp_bench_validate(tmlp_bench_result *r, const double *sorted, int64_t n,
                         const tmlp_bench_outcome *o);

/* Percentile summary of n ascending values (count 0 and NaNs if n == 0). */
tmlp_latency_summary tmlp_bench_summarize(const double *sorted, int64_t n, tmlp_percentile_method m);

/* --- Runs (harness.c, find_peak.c) ---------------------------------------------------- */

/* Checks the settings against the rules documented in bench.h. */
tmlp_status tmlp_bench_settings_check(const tmlp_bench_settings *s, const tmlp_sut *sut, tmlp_error *err);
/* One scenario run in performance or accuracy mode (no find-peak). */
tmlp_status tmlp_bench_run_once(const tmlp_bench_settings *s, const tmlp_sut *sut,
                                tmlp_bench_result **out, tmlp_error *err);
/* The find-peak search (server). */
tmlp_status tmlp_bench_find_peak(const tmlp_bench_settings *s, const tmlp_sut *sut,
                                 tmlp_bench_result **out, tmlp_error *err);

/* --- Waiting (wait.c) ------------------------------------------------------------------ */

/* How long a waiting thread may spin before it blocks: want_ns if the usable CPUs minus
 * those busy elsewhere leave one for each of `ours` (the caller's threads that spin or
 * compute), else 0. Reads the affinity mask and /proc/stat 5 times over ~1 ms: call it
 * once per run or SUT, not per wait. `why` (optional) gets one line saying what was
 * decided and from which counts. */
int64_t tmlp_wait_spin_budget(int ours, int64_t want_ns, char *why, size_t cap);
/* wait.c: sleep until no other thread of this process runs (at most max_ns); ns waited. */
int64_t tmlp_wait_own_threads_idle(int64_t max_ns);

#endif
