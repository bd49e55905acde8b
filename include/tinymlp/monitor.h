/* tinymlp/monitor.h — a resource monitor: a sampler thread that reads the process's CPU
 * time, memory, threads, context switches and page faults, and the machine's per-core busy
 * time, while a benchmark runs. A figure a source cannot give (a /proc file missing) is
 * flagged absent, never zero.
 *
 * Ownership: tmlp_monitor_create/tmlp_monitor_destroy (destroy accepts NULL); strings from
 * tmlp_monitor_trace_events are freed with tmlp_report_string_free (common.h).
 * Errors: a trailing optional `tmlp_error *err` (NULL is fine). Thread-safety: one monitor
 * belongs to one thread; while running it samples from its own thread.
 */
#ifndef TINYMLP_MONITOR_H
#define TINYMLP_MONITOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Resource monitor ===================================================================
 * A sampler thread reads, every interval_ms (default 10):
 *   /proc/self/stat    utime, stime (clock ticks), num_threads
 *   /proc/self/status  VmRSS, VmHWM, voluntary_ctxt_switches, nonvoluntary_ctxt_switches
 *   /proc/stat         per-core busy time (user+nice+system+irq+softirq+steal)
 *   getrusage(SELF)    ru_minflt, ru_majflt, ru_maxrss
 * CPU utilization is given as a percentage of ONE core (200% = two cores busy), so a
 * single busy thread reads ~100%. Fields a source could not provide are flagged absent
 * with has_* = 0. */

#define TMLP_MONITOR_MAX_CORES 64

typedef struct tmlp_monitor_sample {
    uint64_t t_ns;              /* since tmlp_monitor_start */
    double cpu_user_pct;        /* over the interval ending here, % of one core; NaN if absent */
    double cpu_system_pct;
    int64_t rss_bytes;          /* VmRSS; -1 if absent */
    int32_t threads;            /* num_threads; -1 if absent */
} tmlp_monitor_sample;

typedef struct tmlp_monitor_summary {
    uint64_t duration_ns;       /* start .. stop */
    int64_t n_samples;
    int has_cpu;                /* /proc/self/stat readable at start and stop */
    double cpu_user_pct, cpu_system_pct; /* mean over the window, % of one core */
    int has_per_core;           /* /proc/stat readable at start and stop */
    int n_cores;
    double core_busy_pct[TMLP_MONITOR_MAX_CORES]; /* each core, all processes, % busy */
    int has_rss;
    double rss_mean_bytes;      /* mean of the sampled VmRSS */
    int64_t rss_start_bytes;    /* VmRSS at start */
    int64_t rss_peak_bytes;     /* max sampled VmRSS */
    int64_t vm_hwm_bytes;       /* VmHWM at stop (kernel's peak; includes pre-start history) */
    int has_ctx;
    int64_t voluntary_ctx, involuntary_ctx; /* switches during the window */
    int has_rusage;
    int64_t minor_faults, major_faults;     /* during the window */
    int64_t maxrss_bytes;       /* getrusage ru_maxrss at stop (process lifetime peak) */
    int max_threads;            /* -1 if absent */
} tmlp_monitor_summary;

typedef struct tmlp_monitor tmlp_monitor;

/* interval_ms = 0 means 10 ms. Errors: TMLP_ERR_NOMEM. */
TMLP_API tmlp_status tmlp_monitor_create(uint32_t interval_ms, tmlp_monitor **out,
                                         tmlp_error *err);
/* Take the baseline reading and start the sampler thread. TMLP_ERR_STATE if already
 * running; TMLP_ERR_IO if the thread cannot start. A monitor may be started again after
 * a stop; the samples of the previous window are discarded. */
TMLP_API tmlp_status tmlp_monitor_start(tmlp_monitor *m, tmlp_error *err);
/* Stop the sampler, take the final reading and compute the summary. */
TMLP_API tmlp_status tmlp_monitor_stop(tmlp_monitor *m, tmlp_error *err);
/* The summary of the last completed window (TMLP_ERR_STATE before the first stop; `err`
 * gets "monitor: get_summary: no window has ended yet ..."). */
TMLP_API tmlp_status tmlp_monitor_get_summary(const tmlp_monitor *m, tmlp_monitor_summary *out,
                                              tmlp_error *err);
/* The time series of the last window: *n samples, valid until the next start/destroy. */
TMLP_API const tmlp_monitor_sample *tmlp_monitor_samples(const tmlp_monitor *m, int64_t *n);
TMLP_API void tmlp_monitor_destroy(tmlp_monitor *m);
/* The time series as Chrome trace counter events ("ph":"C": "cpu %" with user/system,
 * "rss MB", "threads"), comma-separated WITHOUT the enclosing brackets so a trace writer
 * can append them to its "traceEvents" array. ts = ts_offset_us + sample time in us.
 * Absent figures are omitted. *out is "" when there are no samples. */
TMLP_API tmlp_status tmlp_monitor_trace_events(const tmlp_monitor *m, long pid,
                                               double ts_offset_us, char **out, tmlp_error *err);

#ifdef __cplusplus
}
#endif
#endif
