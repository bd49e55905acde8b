/* monitor.c — a resource sampler thread: CPU, memory, context switches, page faults.
 *
 * Sources (Linux, proc(5)):
 *   /proc/self/stat    field 14 utime, 15 stime (clock ticks, sysconf(_SC_CLK_TCK)),
 *                      field 20 num_threads. Field 2 is "(comm)" and may contain spaces
 *                      or ')' itself, so parsing starts after the LAST ')'.
 *   /proc/self/status  "VmRSS:", "VmHWM:" (kB), "voluntary_ctxt_switches:",
 *                      "nonvoluntary_ctxt_switches:"
 *   /proc/stat         "cpuN user nice system idle iowait irq softirq steal ..." (ticks);
 *                      busy = user+nice+system+irq+softirq+steal, total = busy+idle+iowait
 *   getrusage(RUSAGE_SELF)  ru_minflt, ru_majflt, ru_maxrss (kB)
 * Process CPU utilisation over a window = delta(utime or stime) ticks / CLK_TCK / wall
 * seconds x 100, i.e. percent of ONE core (a process with two busy threads reads 200%).
 *
 * Nothing is invented: each reading keeps a "this source worked" flag; a summary figure
 * is flagged absent (has_* = 0) unless its source was read at both ends of the window.
 * Where next: the CLI prints the summary and puts the series in its trace.
 */
#include "tinymlp/monitor.h"

#include "internal.h"
#include "report_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct reading {
    uint64_t t_ns;
    int ok_stat, ok_status, ok_cores, ok_rusage;
    int64_t utime, stime; /* ticks */
    int32_t threads;
    int64_t rss_kb, hwm_kb, vctx, nvctx;
    int n_cores;
    int64_t core_busy[TMLP_MONITOR_MAX_CORES], core_total[TMLP_MONITOR_MAX_CORES];
    int64_t minflt, majflt, maxrss_kb;
} reading;

struct tmlp_monitor {
    uint32_t interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int running;      /* sampler thread exists */
    int stop_flag;    /* guarded by lock */
    reading first, prev, last;
    tmlp_monitor_sample *samples;
    int64_t n, cap;
    int oom;          /* the series could not grow: kept, but truncated */
    int has_summary;
    tmlp_monitor_summary summary;
    double rss_sum;
    int64_t rss_n, rss_peak_kb;
    int max_threads;
};

static int read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0) return 0;
    buf[n] = 0;
    return 1;
}

static void read_stat(reading *r)
{
    char buf[4096];
    if (!read_file("/proc/self/stat", buf, sizeof buf)) return;
    char *p = strrchr(buf, ')');
    if (!p) return;
    /* after ")": field 3 (state) onwards; utime is field 14, stime 15, num_threads 20 */
    long long v[18];
    int field = 3, got = 0;
    char *s = p + 2;
    while (*s && field <= 20) {
        char *end;
        if (field == 3) {
            s = strchr(s, ' ');
            if (!s) return;
            s++;
            field++;
            continue;
        }
        long long x = strtoll(s, &end, 10);
        if (end == s) return;
        v[field - 3] = x;
        got = field;
        s = end;
        while (*s == ' ') s++;
        field++;
    }
    if (got < 20) return;
    r->utime = v[14 - 3];
    r->stime = v[15 - 3];
    r->threads = (int32_t)v[20 - 3];
    r->ok_stat = 1;
}

static int status_field(const char *buf, const char *key, int64_t *out)
{
    const char *p = strstr(buf, key);
    if (!p) return 0;
    p += strlen(key);
    char *end;
    long long x = strtoll(p, &end, 10);
    if (end == p) return 0;
    *out = x;
    return 1;
}

static void read_status(reading *r)
{
    char buf[8192];
    if (!read_file("/proc/self/status", buf, sizeof buf)) return;
    r->ok_status = status_field(buf, "\nVmRSS:", &r->rss_kb) && status_field(buf, "\nVmHWM:", &r->hwm_kb) &&
                   status_field(buf, "\nvoluntary_ctxt_switches:", &r->vctx) &&
                   status_field(buf, "\nnonvoluntary_ctxt_switches:", &r->nvctx);
}

static void read_cores(reading *r)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9') continue;
        unsigned long long u = 0, ni = 0, sy = 0, id = 0, io = 0, irq = 0, si = 0, st = 0;
        int id_core;
        int k = sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &id_core, &u, &ni, &sy, &id, &io, &irq,
                       &si, &st);
        if (k < 5 || n >= TMLP_MONITOR_MAX_CORES) continue;
        int64_t busy = (int64_t)(u + ni + sy + irq + si + st);
        r->core_busy[n] = busy;
        r->core_total[n] = busy + (int64_t)(id + io);
        n++;
    }
    fclose(f);
    r->n_cores = n;
    r->ok_cores = n > 0;
}

/* One reading of every source; t_ns is the absolute monotonic time. */
static void take_reading(reading *r)
{
    memset(r, 0, sizeof *r);
    r->threads = -1;
    r->t_ns = tmlp_time_now_ns();
    read_stat(r);
    read_status(r);
    read_cores(r);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        r->minflt = ru.ru_minflt;
        r->majflt = ru.ru_majflt;
        r->maxrss_kb = ru.ru_maxrss;
        r->ok_rusage = 1;
    }
}

/* Record one reading into the series. Only the sampler thread calls this while running,
 * and the stopping thread after the join, so the series needs no lock. */
static void record(tmlp_monitor *m, const reading *cur)
{
    double tck = (double)sysconf(_SC_CLK_TCK);
    tmlp_monitor_sample s = {cur->t_ns, NAN, NAN, -1, cur->threads};
    double dt = (double)(cur->t_ns - m->prev.t_ns) / 1e9;
    if (cur->ok_stat && m->prev.ok_stat && dt > 0 && tck > 0) {
        s.cpu_user_pct = 100.0 * (double)(cur->utime - m->prev.utime) / tck / dt;
        s.cpu_system_pct = 100.0 * (double)(cur->stime - m->prev.stime) / tck / dt;
    }
    if (cur->ok_status) {
        s.rss_bytes = cur->rss_kb * 1024;
        m->rss_sum += (double)s.rss_bytes;
        m->rss_n++;
        if (cur->rss_kb > m->rss_peak_kb) m->rss_peak_kb = cur->rss_kb;
    }
    if (cur->threads > m->max_threads) m->max_threads = cur->threads;
    m->prev = *cur;
    if (m->n == m->cap) {
        int64_t cap = m->cap ? m->cap * 2 : 1024;
        size_t bytes;
        if (!tmlp_size_mul((size_t)cap, sizeof *m->samples, &bytes)) {
            m->oom = 1;
            return;
        }
        tmlp_monitor_sample *ns = tmlp_mem_alloc(NULL, bytes);
        if (!ns) {
            m->oom = 1;
            return;
        }
        if (m->samples) memcpy(ns, m->samples, (size_t)m->n * sizeof *ns);
        tmlp_mem_free(NULL, m->samples);
        m->samples = ns;
        m->cap = cap;
    }
    m->samples[m->n++] = s;
}

static void *sampler(void *arg)
{
    tmlp_monitor *m = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&m->lock);
    for (;;) {
        next.tv_nsec += (long)m->interval_ms * 1000000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (!m->stop_flag) {
            if (pthread_cond_timedwait(&m->cond, &m->lock, &next) != 0) break; /* timeout */
        }
        if (m->stop_flag) break;
        pthread_mutex_unlock(&m->lock);
        reading cur;
        take_reading(&cur);
        record(m, &cur);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

tmlp_status tmlp_monitor_create(uint32_t interval_ms, tmlp_monitor **out, tmlp_error *err)
{
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: NULL output pointer");
    tmlp_monitor *m = tmlp_mem_calloc(NULL, 1, sizeof *m);
    if (!m) return tmlp_error_set(err, TMLP_ERR_NOMEM, "monitor: out of memory");
    m->interval_ms = interval_ms ? interval_ms : 10;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int locked = pthread_mutex_init(&m->lock, NULL) == 0;
    if (!locked || pthread_cond_init(&m->cond, &ca) != 0) {
        /* half built: undo the mutex if it exists (destroy would also destroy the cond) */
        if (locked) pthread_mutex_destroy(&m->lock);
        pthread_condattr_destroy(&ca);
        tmlp_mem_free(NULL, m);
        return tmlp_error_set(err, TMLP_ERR_NOMEM, "monitor: cannot create a mutex");
    }
    pthread_condattr_destroy(&ca);
    *out = m;
    return TMLP_OK;
}

tmlp_status tmlp_monitor_start(tmlp_monitor *m, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: NULL monitor");
    if (m->running) return tmlp_error_set(err, TMLP_ERR_STATE, "monitor: already running");
    m->n = 0;
    m->oom = 0;
    m->rss_sum = 0;
    m->rss_n = 0;
    m->rss_peak_kb = 0;
    m->max_threads = -1;
    m->stop_flag = 0;
    /* readings keep absolute monotonic times; samples are made relative at the end */
    take_reading(&m->first);
    m->prev = m->first;
    if (m->first.ok_status) {
        m->rss_sum = (double)m->first.rss_kb * 1024;
        m->rss_n = 1;
        m->rss_peak_kb = m->first.rss_kb;
    }
    m->max_threads = m->first.threads;
    if (pthread_create(&m->thread, NULL, sampler, m) != 0)
        return tmlp_error_set(err, TMLP_ERR_IO, "monitor: cannot start the sampler thread");
    m->running = 1;
    return TMLP_OK;
}

tmlp_status tmlp_monitor_stop(tmlp_monitor *m, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: NULL monitor");
    if (!m->running) return tmlp_error_set(err, TMLP_ERR_STATE, "monitor: not running");
    pthread_mutex_lock(&m->lock);
    m->stop_flag = 1;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    m->running = 0;

    reading last;
    take_reading(&last);
    record(m, &last);
    m->last = last;
    uint64_t t0 = m->first.t_ns;
    for (int64_t i = 0; i < m->n; i++) m->samples[i].t_ns -= t0;

    tmlp_monitor_summary *s = &m->summary;
    memset(s, 0, sizeof *s);
    const reading *a = &m->first, *b = &last;
    s->duration_ns = b->t_ns - a->t_ns;
    s->n_samples = m->n;
    double secs = (double)s->duration_ns / 1e9;
    double tck = (double)sysconf(_SC_CLK_TCK);
    s->has_cpu = a->ok_stat && b->ok_stat && secs > 0 && tck > 0;
    s->cpu_user_pct = s->has_cpu ? 100.0 * (double)(b->utime - a->utime) / tck / secs : NAN;
    s->cpu_system_pct = s->has_cpu ? 100.0 * (double)(b->stime - a->stime) / tck / secs : NAN;
    s->has_per_core = a->ok_cores && b->ok_cores && a->n_cores == b->n_cores;
    s->n_cores = s->has_per_core ? a->n_cores : 0;
    for (int c = 0; c < s->n_cores; c++) {
        int64_t tot = b->core_total[c] - a->core_total[c];
        s->core_busy_pct[c] = tot > 0 ? 100.0 * (double)(b->core_busy[c] - a->core_busy[c]) / (double)tot : 0.0;
    }
    s->has_rss = m->rss_n > 0 && b->ok_status && a->ok_status;
    s->rss_mean_bytes = s->has_rss ? m->rss_sum / (double)m->rss_n : NAN;
    s->rss_start_bytes = a->ok_status ? a->rss_kb * 1024 : -1;
    s->rss_peak_bytes = s->has_rss ? m->rss_peak_kb * 1024 : -1;
    s->vm_hwm_bytes = b->ok_status ? b->hwm_kb * 1024 : -1;
    s->has_ctx = a->ok_status && b->ok_status;
    s->voluntary_ctx = s->has_ctx ? b->vctx - a->vctx : -1;
    s->involuntary_ctx = s->has_ctx ? b->nvctx - a->nvctx : -1;
    s->has_rusage = a->ok_rusage && b->ok_rusage;
    s->minor_faults = s->has_rusage ? b->minflt - a->minflt : -1;
    s->major_faults = s->has_rusage ? b->majflt - a->majflt : -1;
    s->maxrss_bytes = b->ok_rusage ? b->maxrss_kb * 1024 : -1;
    s->max_threads = m->max_threads;
    m->has_summary = 1;
    return TMLP_OK;
}

tmlp_status tmlp_monitor_get_summary(const tmlp_monitor *m, tmlp_monitor_summary *out,
                                     tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: get_summary: m is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: get_summary: out is NULL");
    if (!m->has_summary)
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "monitor: get_summary: no window has ended yet (call tmlp_monitor_stop first)");
    *out = m->summary;
    return TMLP_OK;
}

const tmlp_monitor_sample *tmlp_monitor_samples(const tmlp_monitor *m, int64_t *n)
{
    if (!m || m->running) {
        if (n) *n = 0;
        return NULL;
    }
    if (n) *n = m->n;
    return m->samples;
}

void tmlp_monitor_destroy(tmlp_monitor *m)
{
    if (!m) return;
    if (m->running) tmlp_monitor_stop(m, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    tmlp_mem_free(NULL, m->samples);
    tmlp_mem_free(NULL, m);
}

tmlp_status tmlp_monitor_trace_events(const tmlp_monitor *m, long pid, double ts_offset_us,
                                      char **out, tmlp_error *err)
{
    if (!m) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: trace_events: m is NULL");
    if (!out) return tmlp_error_set(err, TMLP_ERR_ARG, "monitor: trace_events: out is NULL");
    if (m->running)
        return tmlp_error_set(err, TMLP_ERR_STATE,
                              "monitor: trace_events: the monitor is running (call tmlp_monitor_stop first)");
    tmlp_strbuf b = {0};
    tmlp_strbuf_puts(&b, "");
    int first = 1;
    for (int64_t i = 0; i < m->n; i++) {
        const tmlp_monitor_sample *s = &m->samples[i];
        double ts = ts_offset_us + (double)s->t_ns / 1e3;
        if (!isnan(s->cpu_user_pct)) {
            tmlp_strbuf_printf(&b, "%s{\"name\":\"cpu %%\",\"ph\":\"C\",\"pid\":%ld,\"ts\":%.3f,"
                                   "\"args\":{\"user\":%.2f,\"system\":%.2f}}",
                               first ? "" : ",\n", pid, ts, s->cpu_user_pct, s->cpu_system_pct);
            first = 0;
        }
        if (s->rss_bytes >= 0) {
            tmlp_strbuf_printf(&b, "%s{\"name\":\"rss MB\",\"ph\":\"C\",\"pid\":%ld,\"ts\":%.3f,"
                                   "\"args\":{\"rss\":%.3f}}",
                               first ? "" : ",\n", pid, ts, (double)s->rss_bytes / 1048576.0);
            first = 0;
        }
        if (s->threads >= 0) {
            tmlp_strbuf_printf(&b, "%s{\"name\":\"threads\",\"ph\":\"C\",\"pid\":%ld,\"ts\":%.3f,"
                                   "\"args\":{\"threads\":%d}}",
                               first ? "" : ",\n", pid, ts, (int)s->threads);
            first = 0;
        }
    }
    char *t = tmlp_strbuf_take(&b);
    if (!t) return tmlp_error_set(err, TMLP_ERR_NOMEM, "monitor: trace_events: out of memory");
    *out = t;
    return TMLP_OK;
}

