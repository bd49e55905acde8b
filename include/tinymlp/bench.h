/* tinymlp/bench.h — the benchmark harness: MLPerf LoadGen scenarios driving any system
 * under test (SUT), validity rules, early stopping, and a result with every latency.
 *
 * Semantics follow MLPerf LoadGen (docs/harness.md):
 *   single-stream  closed loop, 1 sample per query, the next query issued when the last
 *                  completes; latency from the actual issue time; headline p90.
 *   multi-stream   closed loop, samples_per_query samples per query; query latency =
 *                  last sample done - issue; headline p99.
 *   server         OPEN loop: Poisson arrivals at target_qps generated before the clock
 *                  starts; latency from the SCHEDULED time (queueing counts); headline
 *                  completed samples/s, valid only if the latency bound holds.
 *   offline        one query of N samples issued at t = 0 in batches of
 *                  offline_batch_size; N = offline_sample_count, or LoadGen's
 *                  max(min_query_count, expected QPS x min duration x 1.1); latency
 *                  percentiles are over the samples (completion - query start), as
 *                  LoadGen reports them; headline samples/s.
 *
 * The SUT is a table of callbacks plus a `void *user`. The harness calls `issue` with
 * the samples of one query; the SUT computes (on any thread) and reports each finished
 * sample with tmlp_bench_complete(), which takes the timestamp first. Tests drive a
 * scripted fake SUT; tmlp_model_sut runs a tmlp_model (in the issuing thread for closed
 * loops, on worker threads with a session each for the server and offline).
 *
 * Ownership: tmlp_bench_run_scenario allocates the result; free it with
 * tmlp_bench_result_destroy.
 * Thread-safety: one run at a time per SUT; tmlp_bench_complete may be called from any
 * thread, concurrently.
 */
#ifndef TINYMLP_BENCH_H
#define TINYMLP_BENCH_H

#include "bench_limits.h"
#include "common.h"
#include "data.h"
#include "model.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tmlp_scenario {
    TMLP_SCENARIO_SINGLE_STREAM = 0,
    TMLP_SCENARIO_MULTI_STREAM = 1,
    TMLP_SCENARIO_SERVER = 2,
    TMLP_SCENARIO_OFFLINE = 3
} tmlp_scenario;

typedef enum tmlp_mode {
    TMLP_MODE_PERFORMANCE = 0,
    TMLP_MODE_ACCURACY = 1, /* every sample exactly once, predictions scored */
    TMLP_MODE_FIND_PEAK = 2 /* server only: highest VALID target_qps */
} tmlp_mode;

/* "single-stream", "multi-stream", "server", "offline" — the exact labels of the output. */
TMLP_API const char *tmlp_scenario_name(tmlp_scenario s);
/* Parse a label (case-insensitive). TMLP_ERR_ARG if NULL or unknown; `err` (may be NULL)
 * gets a message naming the accepted labels. */
TMLP_API tmlp_status tmlp_scenario_parse(const char *name, tmlp_scenario *out, tmlp_error *err);
/* "performance", "accuracy", "find-peak" */
TMLP_API const char *tmlp_mode_name(tmlp_mode m);
/* Parse one of those labels; errors and message as tmlp_scenario_parse. */
TMLP_API tmlp_status tmlp_mode_parse(const char *name, tmlp_mode *out, tmlp_error *err);

/* Progress report, passed to settings.progress about every 250 ms from the issuing thread. */
typedef struct tmlp_bench_progress {
    tmlp_scenario scenario;
    uint64_t elapsed_ns;
    uint64_t min_duration_ns;
    int64_t queries_issued;
    int64_t queries_completed;
    double running_p90_ns; /* of completed queries so far; NaN before the first */
} tmlp_bench_progress;

typedef struct tmlp_bench_result tmlp_bench_result; /* defined below */

/* Settings, grouped as LoadGen's test_settings.h groups them: what every run reads, then
 * each scenario's own, then the find-peak search, the stopping rules, and the hooks a
 * caller sets. Get defaults from tmlp_bench_settings_default(scenario); units are in the
 * names; a zero max_* means "no maximum". A scenario ignores the other scenarios' fields. */
typedef struct tmlp_bench_settings {
    /* --- Every scenario ------------------------------------------------------------------ */
    tmlp_scenario scenario;
    tmlp_mode mode;                 /* default PERFORMANCE */
    uint64_t min_duration_ms;       /* default 600000 (LoadGen); bench_mlp passes shorter */
    uint64_t max_duration_ms;       /* 0 = none */
    int64_t min_query_count;        /* single 1024, multi 662, server 270336, offline 1;
                                       offline counts SAMPLES of its one query (LoadGen) */
    int64_t max_query_count;        /* 0 = none */
    int64_t warmup_queries;         /* issued first, excluded from statistics; default 0 */
    double target_latency_percentile; /* fraction in (0,1): 0.90 single, 0.99 multi/server */
    uint64_t sample_seed;           /* which samples (uniform with replacement) */
    tmlp_percentile_method percentile_method; /* default LOADGEN */
    int workers;                    /* informational here: the SUT owns its threads; default 1 */
    int blas_threads;               /* informational here: recorded in the result; default 1 */
    /* 1 (default) = the result keeps every per-query and per-sample record (start_ns,
     * query_samples, sample_done_ns, issue_delay_ns), as traces and tmlp_bench_merge need;
     * 0 = only latencies_ns, the run keeping ~17 bytes per single-sample query
     * (docs/reliability.md) */
    int keep_records;
    /* How long the issuing thread may spin before it blocks while it waits for a
     * closed-loop query or (server) for the next arrival. -1 (default) = decide at the run
     * start: spin 100 us (closed loop; server and offline: 20 us) only when the usable CPUs
     * leave a core free beside the issuer and settings.workers (src/bench/wait.c), else
     * never; 0 = never spin; > 0 = spin at most this long (<= 1 ms). A spinning waiter is a
     * running thread: on a machine without a spare core it takes the CPU from the SUT. */
    int64_t wait_spin_ns;

    /* --- Multi-stream -------------------------------------------------------------------- */
    int64_t samples_per_query;      /* default 8 */

    /* --- Server -------------------------------------------------------------------------- */
    double target_qps;              /* arrival rate, queries/s (> 0); default 1000 */
    uint64_t target_latency_ns;     /* latency bound; default 10 ms */
    uint64_t schedule_seed;         /* the Poisson arrival schedule */
    int64_t max_outstanding_queries;/* issued but not complete; beyond it the run ends
                                       INVALID ("overloaded"); default 65536. The overload
                                       rule (overload_stop) usually ends an overloaded run
                                       long before */
    /* 1 (default) = stop issuing as soon as the run cannot be VALID — more queries over the
     * latency bound, certain or predicted at twice the SUT's measured service rate, than
     * early stopping allows for the whole schedule (docs/harness.md, "Overload") — cancel
     * the queued samples (tmlp_sut.cancel) and end INVALID "overloaded" with the numbers;
     * a run that can still pass is never stopped. 0 = issue the whole schedule, as LoadGen
     * does. */
    int overload_stop;

    /* --- Offline ------------------------------------------------------------------------- */
    int64_t offline_batch_size;     /* default 32 */
    int64_t offline_sample_count;   /* samples in the one query (>= 1 fixes it); 0 = sized
                                       from offline_expected_qps, as LoadGen does */
    /* LoadGen's offline query size. With offline_sample_count == 0 the one query holds
     *     max(min_query_count, ceil(offline_expected_qps x min_duration_s x 1.1))
     * samples (tmlp_workload_offline_samples) — a setting, never a timed calibration, so
     * the same settings give the same workload. 0 = the SUT's sample count (one pass).
     * Default 0. */
    double offline_expected_qps;

    /* --- Find-peak search (server, mode TMLP_MODE_FIND_PEAK) ------------------------------ */
    double find_peak_precision;     /* relative width of the final QPS bracket; default 0.02 */
    int64_t find_peak_max_runs;     /* default 20 */
    double find_peak_min_qps;       /* never try a QPS below this; if none passed above it the
                                       peak is 0 (INVALID). Default 0 = target_qps / 64 */
    uint64_t find_peak_budget_ms;   /* start no new trial once the search has run this long
                                       (the trial in progress finishes); default 0 = none */

    /* --- Stopping rules ------------------------------------------------------------------ */
    double early_stopping_confidence; /* c, default 0.99 */
    uint64_t drain_timeout_ms;      /* stall bound: a run whose SUT completes nothing for
                                       max(drain_timeout_ms, 20 x the mean interval between
                                       its completions so far) ends INVALID ("stalled" or
                                       "never completed"). A SUT that keeps completing is
                                       never cut off. Default 10000 */

    /* --- Hooks (all optional) ------------------------------------------------------------ */
    const volatile int *stop;       /* when *stop != 0, stop issuing, drain, and mark the
                                       run INVALID (interrupted) */
    void (*progress)(void *user, const tmlp_bench_progress *p);
    void *progress_user;

    /* --- One run in several parts (docs/bench_mlp.md, "More than one machine") -----------
     * A run that is one PART of a larger run, e.g. one MPI rank of several. The harness
     * knows nothing of processes; it only offers these plain hooks. */
    int64_t schedule_stride;        /* server: issue only the arrivals schedule_offset,
                                       schedule_offset + stride, ... of the schedule generated
                                       from schedule_seed/target_qps (the global schedule of
                                       all parts); default 1 (0 is read as 1) */
    int64_t schedule_offset;        /* 0 <= offset < stride; default 0 */
    /* called once per run, after the warm-up, just before the clock starts (also when the
     * warm-up failed, so peers waiting in it are released) — a barrier across the parts
     * gives them a common start */
    void (*on_start)(void *user);
    /* called once per run (each find-peak trial too) with the run's result, or with
     * *result == NULL when this part failed (out of memory); it may replace *result, e.g.
     * with the merged result of all parts, so that validity and the find-peak search follow
     * the whole run. A non-OK return fails the run with that status. */
    tmlp_status (*on_result)(void *user, tmlp_bench_result **result, tmlp_error *err);
    void *hook_user;
} tmlp_bench_settings;

TMLP_API tmlp_bench_settings tmlp_bench_settings_default(tmlp_scenario s);

/* One sample of a query: `id` is the harness's response id (pass it back unchanged);
 * `index` selects the sample in the SUT's loaded data set (0 .. sample_count-1). */
typedef struct tmlp_query_sample {
    uint64_t id;
    int64_t index;
} tmlp_query_sample;

typedef struct tmlp_bench_run tmlp_bench_run; /* the run in progress (opaque) */

/* The system under test. */
typedef struct tmlp_sut {
    void *user;
    const char *name;
    int64_t sample_count;   /* samples the SUT has loaded (>= 1) */
    const int32_t *labels;  /* optional: labels[index] for accuracy; NULL = no labels */
    /* Start the work for n samples and return quickly; the SUT owns its threads. The
     * `samples` array is valid only during the call. Called from the harness's issuing
     * thread only. */
    void (*issue)(void *user, tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n);
    /* Optional: called once after the last issue (offline SUTs may start batches here). */
    void (*flush)(void *user, tmlp_bench_run *run);
    /* Optional (added by the harness work): quiesce. Called once at the end of every run,
     * after the bounded drain wait, from the issuing thread. When it returns the SUT must
     * never again call tmlp_bench_complete for `run`: drop queued work, wait for work in
     * flight. With it the run's memory is freed before tmlp_bench_run_scenario returns.
     * Without it, a run whose samples are still outstanding at the end stays allocated
     * until its last outstanding sample completes (late completions are ignored, never
     * a use-after-free); a sample that never completes leaks that one run object. */
    void (*drain)(void *user, tmlp_bench_run *run);
    /* Optional: cancel. Called at most once per
     * run, from the issuing thread, when the harness stops a run early — overloaded
     * (settings.overload_stop) or interrupted (settings.stop) — and before `drain`. The
     * SUT takes every sample of `run` it has not started out of its queue and reports each
     * with tmlp_bench_cancelled() (inside this call or later, from any thread); samples
     * already started complete as usual. Return TMLP_OK, or an error status with `err`
     * (may be NULL) filled: the harness then treats the SUT as one without cancel and
     * records the message. Without it the harness waits for every issued sample (the
     * stall bound still applies): nothing is dropped silently. */
    tmlp_status (*cancel)(void *user, tmlp_bench_run *run, tmlp_error *err);
} tmlp_sut;

/* Prediction codes a SUT may pass to tmlp_bench_complete besides a class index: */
#define TMLP_PRED_NONE (-1)      /* no prediction (counted wrong in accuracy mode) */
#define TMLP_PRED_NONFINITE (-2) /* the outputs were NaN or Inf: counted in result.nonfinite,
                                    and an accuracy run with any is INVALID */

/* Report n finished samples. Takes the completion timestamp first, then records.
 * `predictions` (optional, n values) are class indices scored against sut->labels.
 * Safe to call from any thread. Unknown or repeated ids are counted as errors. */
TMLP_API void tmlp_bench_complete(tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n,
                                  const int32_t *predictions);

/* Report n samples the SUT dropped without computing them, from its `cancel` callback (or
 * later, from any thread). They count in result.cancelled, never as completed, lost or
 * late-but-done; a query with a cancelled sample never completes (latency -1). Unknown or
 * repeated ids are counted as errors, like tmlp_bench_complete's. */
TMLP_API void tmlp_bench_cancelled(tmlp_bench_run *run, const tmlp_query_sample *samples, int64_t n);

/* The scenario of the run in progress (a SUT may serve closed loops differently, as
 * tmlp_model_sut does); TMLP_SCENARIO_SINGLE_STREAM for NULL. */
TMLP_API tmlp_scenario tmlp_bench_run_get_scenario(const tmlp_bench_run *run);

/* Latency figures in nanoseconds (percentiles by the run's method). */
typedef struct tmlp_latency_summary {
    int64_t count;
    double min, max, mean;
    double p50, p90, p95, p97, p99, p999;
} tmlp_latency_summary;

/* Check states: 1 = Yes, 0 = No, -1 = does not apply. */
#define TMLP_CHECK_NA (-1)
#define TMLP_MAX_REASONS 8

typedef struct tmlp_bench_result {
    tmlp_bench_settings settings;   /* as run (stop/progress pointers cleared) */
    int valid;
    int check_min_duration, check_min_queries, check_latency_bound, check_early_stopping;
    int n_reasons;
    char reasons[TMLP_MAX_REASONS][256];   /* why INVALID, each with what to change */
    int interrupted;

    int64_t queries;                /* measured queries (warm-up excluded) */
    int64_t samples;                /* measured samples */
    int64_t errors;                 /* unknown/repeated completions, samples never completed */
    uint64_t duration_ns;           /* as the min-duration check measures it (see docs/harness.md) */
    double throughput_samples_per_s;
    tmlp_latency_summary latency;

    /* early stopping */
    double es_percentile;           /* 0.90 single-stream, 0.99 otherwise */
    int64_t es_min_queries;         /* queries needed at all */
    int64_t es_overlatency_queries; /* t: allowed (single/multi) or observed (server) */
    double es_estimate_ns;          /* single/multi: the early-stopping percentile estimate */
    char es_text[256];              /* one sentence, LoadGen style */

    uint64_t workload_digest;       /* hash of the schedule and sample order */

    int64_t correct, labeled;       /* accuracy: labeled == 0 means "no labels" (null) */
    int32_t *predictions;           /* accuracy mode: predictions[index], -1 if none; else NULL */
    int64_t n_predictions;

    /* per measured query, in issue order */
    int64_t n_latencies;
    int64_t *latencies_ns;          /* query latency; -1 if the query never completed */
    int64_t *start_ns;              /* query start (scheduled time for server, issue time
                                       otherwise), relative to the run start */
    int64_t *query_samples;         /* samples in each query */

    /* server */
    double scheduled_qps, completed_qps;
    tmlp_latency_summary issue_delay;      /* actual - scheduled issue time */
    int64_t *issue_delay_ns;               /* per query, issue order */

    /* find-peak: the QPS values tried and whether each was VALID, in order */
    int n_peak_trials;
    double peak_trial_qps[64];
    int peak_trial_valid[64];
    double peak_qps;                       /* highest VALID target_qps found, 0 if none */

    /* added by the harness work */
    int64_t completed_queries;      /* measured queries that completed (<= queries) */
    int64_t never_completed;        /* samples still outstanding when the drain timed out */
    int overloaded;                 /* server: stopped at max_outstanding_queries */
    uint64_t run_start_ns;          /* tmlp_time_now_ns() at the run start (trace export) */

    /* added by the integration work: per measured SAMPLE, in issue order (the samples of
     * measured query 0 first, then query 1, ...; query_samples gives the split), the
     * completion time relative to the run start (the clock of start_ns); -1 if the sample
     * never completed. A sample's latency is sample_done_ns[i] - start_ns[its query]. */
    int64_t n_sample_done;          /* == samples */
    int64_t *sample_done_ns;

    /* find-peak: how the search ended, one sentence ("converged: ...", "QPS floor ...",
     * "time budget ...", "run limit ..."); "" for other modes */
    char peak_note[256];

    /* Early stopping and the offline plan */
    double es_estimate_p99_ns;      /* single-stream: LoadGen's second early-stopping estimate,
                                       at p = 0.99 (NaN if too few queries or other scenarios);
                                       es_estimate_ns holds the p90 one */
    int64_t es_p99_min_queries;     /* single-stream: queries the p99 estimate needs (662) */
    int64_t offline_samples_planned;/* offline: samples in the one query, as sized */
    /* the issuer's spin budget this run used (0 = it only
     * blocked) and why, one line, e.g. "auto: block, spin 0 us (2 CPUs, 1 busy
     * elsewhere, 2 threads of ours)" */
    int64_t wait_spin_ns;
    char wait_policy[192];
    /* a result merged from parts (tmlp_bench_merge) keeps
     * each part's figures here, in part order; NULL / 0 for a one-process result */
    int n_parts;
    struct tmlp_bench_part_summary *parts;
    /* measured samples the SUT reported with
     * TMLP_PRED_NONFINITE (NaN/Inf outputs); an accuracy run with any is INVALID */
    int64_t nonfinite;
    /* how an overloaded server run ended
     * (settings.overload_stop, docs/harness.md "Overload") — every scheduled query is
     * accounted for: queries = issued; unissued_queries were scheduled but never issued;
     * of the issued samples, cancelled ones were dropped by the SUT's cancel callback
     * before they started, never_completed ones were still outstanding at the end, the
     * rest completed. */
    int64_t unissued_queries;       /* server: scheduled queries not issued (stopped early) */
    int64_t cancelled;              /* measured samples cancelled by the SUT (tmlp_bench_cancelled) */
    double service_qps;             /* the SUT's completion rate while it was busy (samples/s,
                                       NaN if not measured): what it can serve */
    uint64_t stopped_at_ns;         /* when the issuer stopped early (from the run start); 0 = it did not */
} tmlp_bench_result;

/* Run one scenario (or a find-peak search) against `sut`. Returns TMLP_OK with a result
 * even when the run is INVALID; errors are bad settings (TMLP_ERR_ARG, message names the
 * field and the rule) and TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_bench_run_scenario(const tmlp_bench_settings *settings, const tmlp_sut *sut,
                                             tmlp_bench_result **out, tmlp_error *err);
TMLP_API void tmlp_bench_result_destroy(tmlp_bench_result *r);

/* Append one reason (printf-style, cut at 255 bytes) to r->reasons; ignored past
 * TMLP_MAX_REASONS. For tools that judge a result further (bench_mlp's repetitions add
 * "repetition 2: ..."); it does not change r->valid. */
TMLP_API void tmlp_bench_add_reason(tmlp_bench_result *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Samples in the one offline query that tmlp_bench_run_scenario will issue for `s` against
 * a SUT of sample_count samples (LoadGen's rule; offline_expected_qps above): accuracy mode:
 * sample_count; offline_sample_count if > 0; else max(min_query_count,
 * ceil(offline_expected_qps x min_duration_s x 1.1)), or max(min_query_count, sample_count)
 * without an expected QPS. A plan above TMLP_BENCH_MAX_OFFLINE_SAMPLES returns that bound + 1
 * (the settings check refuses it). Pure arithmetic: a tool prints the plan or splits it
 * into parts before the run. */
TMLP_API int64_t tmlp_workload_offline_samples(const tmlp_bench_settings *s, int64_t sample_count);

/* --- Memory a run needs ------------------------------------------------------------------
 *
 * What tmlp_bench_run_scenario will keep for the run described by `settings` against a SUT
 * of sample_count samples, estimated from the settings alone (docs/reliability.md, "Memory
 * per query"): queries x bytes per query, the bytes per query counted from the records the
 * harness keeps for that scenario and keep_records (single-stream without records: 17).
 *
 * The number of queries is known before the run for the server (the schedule: target_qps x
 * min_duration, at least min_query_count, cut by the max_* settings), offline (the planned
 * sample count), accuracy mode (the data set) and warm-up. A closed loop runs until both
 * minimums are met, so its count depends on the SUT's speed: the estimate assumes
 * closed_loop_qps queries per second (<= 0: TMLP_BENCH_ESTIMATE_QPS, above what the null
 * SUT reaches), an upper bound; min_query_count alone (cut by the max_* settings) gives a
 * lower one. find-peak: the first trial (at target_qps) only.
 *
 * Fixed costs (program, BLAS, the data set, the SUT's buffers) are not counted. */
#define TMLP_BENCH_ESTIMATE_QPS 4e6

typedef struct tmlp_bench_memory_estimate {
    int64_t queries;          /* queries recorded (warm-up included), at closed_loop_qps */
    int64_t queries_min;      /* the fewest the settings allow (== queries unless closed loop) */
    double bytes_per_query;   /* records per query at the peak, the schedule included */
    uint64_t peak_bytes;      /* at the run's peak (running or building the result) */
    uint64_t peak_bytes_min;  /* the same for queries_min: the run needs at least this */
    uint64_t result_bytes;    /* what the result keeps after the run (latencies, records,
                                 predictions), at `queries` */
} tmlp_bench_memory_estimate;

/* Fill *out. Errors: TMLP_ERR_ARG (NULL settings or out, sample_count < 1, an unknown
 * scenario). Pure arithmetic: no allocation, thread-safe. */
TMLP_API tmlp_status tmlp_bench_estimate_memory(const tmlp_bench_settings *settings, int64_t sample_count,
                                                double closed_loop_qps, tmlp_bench_memory_estimate *out,
                                                tmlp_error *err);

/* --- One run in several parts (processes, machines) ------------------------------------
 *
 * A run too big for one process is split into k PARTS (MPI ranks, say): each part runs
 * the harness on its share — a shard of the sample set (tmlp_bench_shard), every k-th
 * server arrival (settings.schedule_stride/offset), or its own closed loop — against a
 * common start (settings.on_start), and the k results are merged into one with
 * tmlp_bench_merge. The merged result is what one process would report from the union of
 * the per-query records: percentiles, the latency bound and early stopping are computed
 * over all the latencies, never averaged. The library moves no bytes between processes:
 * tmlp_bench_result_pack/unpack give a flat buffer any transport can carry (bench_mlp
 * uses MPI, bench/mpi.c). Nothing here needs MPI. */

/* One part's own figures, kept in a merged result (latencies in ns). */
typedef struct tmlp_bench_part_summary {
    int64_t queries, samples;
    double throughput_samples_per_s;
    double p50_ns, p99_ns;
    uint64_t duration_ns;
    int valid;
    int straggler;       /* set by tmlp_bench_stragglers: 1 if p99 or throughput is out of line */
    char host[64];       /* the caller's label for where the part ran ("" if unknown) */
} tmlp_bench_part_summary;

/* Contiguous split of n items into `parts` shares: part p gets [*first, *first + *count),
 * the first n % parts parts one item more. Deterministic: the same n and parts give the
 * same split. 0 <= part < parts. */
TMLP_API void tmlp_bench_shard(int64_t n, int part, int parts, int64_t *first, int64_t *count);

/* Merge k part results of ONE run (same scenario, mode and settings; parts[i] ran as part
 * i) into a new result (free with tmlp_bench_result_destroy):
 *   - per-query arrays: the union, ordered by start time (ties: part, then issue order),
 *     so a server run's queries come back in global schedule order;
 *   - counts (queries, samples, errors, correct, labeled, never_completed, cancelled,
 *     unissued_queries) and service_qps summed; stopped_at_ns the earliest part's; flags
 *     (interrupted, overloaded) or-ed; a part's overload or stall reason kept as "part i: ...";
 *   - latency and issue-delay summaries (offline: over the samples, as a one-process
 *     offline run reports them), validity, the latency bound and early stopping
 *     recomputed over the union (tmlp_bench_validate on the merged latencies);
 *     offline_samples_planned summed;
 *   - duration = the longest part's (all parts share the start); throughput = completed
 *     samples / (last completion - common start) (server: completed queries as one process);
 *   - predictions (accuracy) concatenated in part order — with contiguous shards
 *     (tmlp_bench_shard) that is the global sample order;
 *   - workload_digest = FNV-1a over k and each part's digest in order (the same parts and
 *     split give the same digest);
 *   - parts[i] = each part's own summary (host left empty for the caller).
 * Errors: TMLP_ERR_ARG (k < 1, NULL part, parts of different scenarios or modes),
 * TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_bench_merge(const tmlp_bench_result *const *parts, int k, tmlp_bench_result **out,
                                      tmlp_error *err);

/* A part's own figures (host ""). */
TMLP_API tmlp_bench_part_summary tmlp_bench_part_summarize(const tmlp_bench_result *r);

/* Flag stragglers among k >= 3 parts: a part whose p99 or throughput lies more than 3 MAD
 * (median absolute deviation) from the parts' median, and more than 5% of the median
 * (so identical-within-noise parts with a MAD near 0 are not flagged). Sets straggler on
 * each part; returns how many are flagged (0 when k < 3). */
TMLP_API int tmlp_bench_stragglers(tmlp_bench_part_summary *parts, int k);

/* A result as one flat buffer (malloc'ed; free()) and back, to carry it between processes
 * of the SAME build on machines of the same byte order (the fixed part is the struct's
 * bytes). The per-query records travel when the result has them (settings.keep_records;
 * tmlp_bench_merge needs them), the latencies always. The per-part summaries of a merged
 * result are not packed. unpack checks the magic and every length: TMLP_ERR_FORMAT on a
 * truncated or foreign buffer. */
TMLP_API tmlp_status tmlp_bench_result_pack(const tmlp_bench_result *r, void **buf, size_t *len,
                                            tmlp_error *err);
TMLP_API tmlp_status tmlp_bench_result_unpack(const void *buf, size_t len, tmlp_bench_result **out,
                                              tmlp_error *err);

/* A view of `inner` that holds only its samples [first, first + count) — one part's shard
 * of the sample set: index i of the view is index first + i of inner (labels too). Issue
 * calls are forwarded in calls of at most max_issue samples (a translation buffer of that
 * size, allocated here). `inner` (and what it points to) must outlive the view. */
typedef struct tmlp_sut_shard tmlp_sut_shard;
TMLP_API tmlp_status tmlp_sut_shard_create(const tmlp_sut *inner, int64_t first, int64_t count,
                                           int64_t max_issue, tmlp_sut_shard **out, tmlp_error *err);
/* The view as a tmlp_sut (callbacks and user pointer) to hand to the harness. Valid until
 * tmlp_sut_shard_destroy. NULL for NULL. */
TMLP_API const tmlp_sut *tmlp_sut_shard_callbacks(tmlp_sut_shard *s);
TMLP_API void tmlp_sut_shard_destroy(tmlp_sut_shard *s);

/* --- Ready-made SUTs ------------------------------------------------------------------- */

/* A tmlp_model over a data set: `workers` threads, each with its own session of
 * max_batch rows, plus one more session for the issuing thread; queries are computed as
 * one forward per query (or per offline batch), predictions are the argmax of each output
 * row. Samples are passed as row pointers into the data set (tmlp_session_forward_rows;
 * U8 data through tmlp_session_forward_u8_rows, the model's preprocessing), never copied
 * into a batch. Where the forward runs is the dispatch (tmlp_model_sut_set_dispatch): by
 * default single-stream and multi-stream compute in the issuing thread inside `issue`
 * and server and offline queue to the workers. The model and data set must outlive the
 * SUT. */
typedef struct tmlp_model_sut tmlp_model_sut;
TMLP_API tmlp_status tmlp_model_sut_create(const tmlp_model *model, const tmlp_dataset *data,
                                           int workers, int64_t max_batch, tmlp_model_sut **out,
                                           tmlp_error *err);
/* The callbacks and user pointer to hand to the harness, i.e. this SUT as a tmlp_sut:
 *     tmlp_bench_run_scenario(&settings, tmlp_model_sut_callbacks(m), &result, &err);
 * Valid until tmlp_model_sut_destroy. NULL for NULL. */
TMLP_API const tmlp_sut *tmlp_model_sut_callbacks(tmlp_model_sut *m);
/* An idle worker spins at most this long for new work before it sleeps on a condition
 * variable. Decided at creation by the rule of settings.wait_spin_ns (30 us when the
 * usable CPUs leave one free beside the workers and the issuer, else 0). set: -1 decides
 * again now, 0 never spins, > 0 spins at most that long (capped at 1 ms); call it between
 * runs. get returns the budget in force (0 for NULL). */
TMLP_API int64_t tmlp_model_sut_idle_spin_ns(const tmlp_model_sut *m);
TMLP_API void tmlp_model_sut_set_idle_spin_ns(tmlp_model_sut *m, int64_t ns);
/* Run every forward of the SUT (each worker's session and the inline path's) on `threads`
 * intra-op threads (tmlp_session_set_threads; 0 = auto). Call before the first run.
 * Errors as tmlp_session_set_threads. */
TMLP_API tmlp_status tmlp_model_sut_set_threads(tmlp_model_sut *m, int threads, tmlp_error *err);
/* Threads per worker's forward (1 unless set). */
TMLP_API int tmlp_model_sut_threads(const tmlp_model_sut *m);
/* Where tmlp_model_sut computes a query:
 *   AUTO     in the issuing thread for single-stream and multi-stream (closed loops: one
 *            query in flight, so a worker adds two thread hand-offs and nothing else), on
 *            the workers for server and offline (queries overlap);
 *   INLINE   always in the issuing thread, inside `issue` (LoadGen allows a SUT to
 *            complete a query inside IssueQuery); a server or offline run then issues
 *            one query at a time, as fast as the forward allows;
 *   WORKERS  always through the queue to the worker threads (the path a SUT with its own
 *            threads, or a measurement of the hand-off, needs). */
typedef enum tmlp_sut_dispatch {
    TMLP_DISPATCH_AUTO = 0,
    TMLP_DISPATCH_INLINE = 1,
    TMLP_DISPATCH_WORKERS = 2
} tmlp_sut_dispatch;
/* "auto", "inline", "workers" */
TMLP_API const char *tmlp_sut_dispatch_name(tmlp_sut_dispatch d);
/* Parse one of those labels; TMLP_ERR_ARG (err may be NULL) for NULL or another. */
TMLP_API tmlp_status tmlp_sut_dispatch_parse(const char *name, tmlp_sut_dispatch *out, tmlp_error *err);
/* Set the dispatch (default AUTO); call it between runs. TMLP_ERR_ARG for NULL m or an
 * unknown value. get returns the dispatch in force (AUTO for NULL). */
TMLP_API tmlp_status tmlp_model_sut_set_dispatch(tmlp_model_sut *m, tmlp_sut_dispatch d, tmlp_error *err);
TMLP_API tmlp_sut_dispatch tmlp_model_sut_dispatch(const tmlp_model_sut *m);
TMLP_API void tmlp_model_sut_destroy(tmlp_model_sut *m);

/* A no-op SUT that completes every sample inside `issue`: measures the harness itself. */
TMLP_API tmlp_sut tmlp_null_sut(int64_t sample_count);

#ifdef __cplusplus
}
#endif
#endif
