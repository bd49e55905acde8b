/* wait.c — may a waiting thread of the harness or of a SUT spin, and for how long?
 *
 * A thread that waits for a few microseconds can either spin (poll a flag, reacting
 * within ~100 ns) or block on a futex (condition variable, clock_nanosleep), which costs
 * a wake-up of a few microseconds — but a spinning thread is a running thread. On a
 * machine with a core to spare that is free speed; on a machine without one the spinner
 * takes the CPU from the very thread it is waiting for: with two cores, one kept busy by
 * another process, single-stream p50 of the shipped model was 42.8 us with the harness
 * and the model SUT's worker both spinning, 17.1 us with neither (issue 9).
 *
 * The two mistakes are not symmetric: refusing to spin when a core was free costs one
 * wake-up per wait (microseconds, measured by bench/bench_handoff); spinning when no core
 * is free can double the measurement. So the rule is conservative and decided once (per
 * run, per SUT creation), never per wait:
 *
 *     spin  iff  usable CPUs - busy elsewhere >= threads of ours that run at once + 1
 *
 *   usable CPUs         the calling thread's affinity mask (taskset, cgroups cpusets),
 *                       else the online count;
 *   busy elsewhere      max(runnable tasks now - 1 (the caller), floor(1-minute load)):
 *                       the snapshot sees a neighbour that started a second ago, the load
 *                       average one that is between bursts (it also remembers our own
 *                       previous run: conservative again);
 *   threads of ours     the caller plus the threads it waits for (harness: the issuer and
 *                       settings.workers; model SUT: its workers and the issuer);
 *   + 1                 room for everything else (the kernel, the shell, a build).
 * On a 2-core machine a harness with one worker never spins. A caller may override the
 * rule (tmlp_bench_settings.wait_spin_ns, tmlp_model_sut_set_idle_spin_ns).
 */
#include "harness_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runnable tasks right now ("procs_running" of /proc/stat, Linux); -1 if unknown. */
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

static int usable_cpus(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int64_t tmlp_wait_spin_budget(int ours, int64_t want_ns, char *why, size_t cap)
{
    int cpus = usable_cpus();
    int running = procs_running();
    double load = -1.0;
    if (getloadavg(&load, 1) != 1) load = -1.0;
    int busy = running > 0 ? running - 1 : 0;
    if (load >= 0.0 && (int)load > busy) busy = (int)load;
    if (ours < 1) ours = 1;
    int spin = want_ns > 0 && cpus - busy >= ours + 1;
    if (why && cap)
        snprintf(why, cap, "auto: %s %.0f us (%d CPUs, %d busy elsewhere, %d threads of ours; spinning needs %d free)",
                 spin ? "spin" : "block, spin", spin ? (double)want_ns * 1e-3 : 0.0, cpus, busy, ours, ours + 1);
    return spin ? want_ns : 0;
}
