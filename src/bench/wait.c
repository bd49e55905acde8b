/* wait.c — may a waiting thread of the harness or of a SUT spin, and for how long?
 *
 * A thread that waits for a few microseconds can either spin (poll a flag, reacting
 * within ~100 ns) or block on a futex (condition variable, clock_nanosleep), which costs
 * a wake-up of a few microseconds — but a spinning thread is a running thread. On a
 * machine with a core to spare that is free speed; on a machine without one the spinner
 * takes the CPU from the very thread it is waiting for. Both mistakes cost several times
 * the forward pass (docs/harness.md, section 4, has the measurements).
 *
 * Single-stream and the server issuer never have the issuer and a worker computing at
 * the same time: the waiter spins while the other computes. So a spinning waiter is
 * harmless exactly when every thread of ours that spins or computes can have a core:
 *
 *     spin  iff  usable CPUs - busy elsewhere >= threads of ours
 *
 *   usable CPUs         the calling thread's affinity mask (taskset, cgroup cpusets),
 *                       else the online count;
 *   busy elsewhere      runnable tasks in 16 snapshots of /proc/stat's procs_running
 *                       250 us apart, minus this process's own running threads (a
 *                       worker spinning in its idle wait is ours, not a neighbour's):
 *                       the most seen in at least a quarter of them. Snapshots, not the
 *                       load average: the 1-minute average lags by a minute and counts
 *                       our own previous run (its worker, a neighbour just stopped). Not
 *                       the maximum: a kernel thread writing back the previous run's
 *                       output, or a program started beside bench_mlp in a pipe, shows
 *                       in one snapshot and would make a run on an idle machine block;
 *   threads of ours     the caller plus the threads it waits for (harness: the issuer and
 *                       settings.workers; model SUT: its workers and the issuer).
 * Decided once (per run, per SUT creation, ~4 ms), never per wait, and recorded; a caller
 * may override it (tmlp_bench_settings.wait_spin_ns, tmlp_model_sut_set_idle_spin_ns).
 * Without /proc (not Linux) nothing is known to be busy and the rule counts CPUs only.
 */
#include "harness_internal.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Runnable tasks right now ("procs_running" of /proc/stat, Linux; the caller is one of
 * them); -1 if unknown. */
static int procs_running(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "procs_running ", 14)) {
            n = atoi(line + 14);
            break;
        }
    fclose(f);
    return n;
}

/* Threads of THIS process that are running or runnable (state R in
 * /proc/self/task/<tid>/stat), the caller included; 0 if unknown. procs_running counts
 * them too, but they are "threads of ours", not "busy elsewhere": a worker spinning in its
 * idle wait when the run starts must not make the harness think the machine is busy. */
static int own_running(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    char path[64], buf[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) {
            const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
            if (p && p[1] == ' ' && p[2] == 'R') n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static int usable_cpus(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#define SNAPSHOTS 16
#define SNAPSHOT_GAP_NS 250000L /* 16 over ~4 ms */

int64_t tmlp_wait_spin_budget(int ours, int64_t want_ns, char *why, size_t cap)
{
    int cpus = usable_cpus();
    /* busy = the most tasks runnable elsewhere in at least a quarter of SNAPSHOTS samples:
     * a neighbour that computes is runnable in nearly all of them; a kernel worker flushing
     * the file the previous run wrote, or a program starting beside us, in one or two. */
    int seen[SNAPSHOTS];
    for (int i = 0; i < SNAPSHOTS; i++) {
        if (i) {
            struct timespec ts = {0, SNAPSHOT_GAP_NS};
            nanosleep(&ts, NULL);
        }
        int total = procs_running(), own = own_running();
        int n = total - (own > 0 ? own : 1); /* minus our running threads (the caller at least) */
        seen[i] = n > 0 ? n : 0;
    }
    int busy = 0;
    for (int b = 1; b <= cpus; b++) {
        int k = 0;
        for (int i = 0; i < SNAPSHOTS; i++) k += seen[i] >= b;
        if (4 * k >= SNAPSHOTS) busy = b;
    }
    if (ours < 1) ours = 1;
    int spin = want_ns > 0 && cpus - busy >= ours;
    if (why && cap)
        snprintf(why, cap, "auto: %s %.0f us (%d CPUs, %d busy elsewhere, %d threads of ours)",
                 spin ? "spin" : "block, spin", spin ? (double)want_ns * 1e-3 : 0.0, cpus, busy, ours);
    return spin ? want_ns : 0;
}

/* Sleep (0.1 ms at a time, at most max_ns) until no other thread of this process runs,
 * so that a run does not start beside one of our own threads still busy from before it.
 * OpenBLAS's pthread workers spin on sched_yield for ~2^28 cycles (~65 ms) after the
 * library loads, even when we only ever give it one thread: on 2 cores a single-stream run
 * that started then had its first ~50 ms of queries at ~30 us instead of ~7 (a 500 ms
 * run's p90: 30 us instead of 9). Returns the ns waited; at once without /proc. */
int64_t tmlp_wait_own_threads_idle(int64_t max_ns)
{
    const uint64_t t0 = tmlp_time_now_ns();
    for (;;) {
        const uint64_t waited = tmlp_time_now_ns() - t0;
        if (own_running() <= 1 || (int64_t)waited >= max_ns) return (int64_t)waited;
        struct timespec ts = {0, 100000L};
        nanosleep(&ts, NULL);
    }
}
