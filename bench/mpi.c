/* mpi.c — the only file that talks MPI (see mpi_ranks.h; named so that <mpi.h> stays Open MPI's). One run on N ranks:
 *
 *   start   MPI_Init; the host of every rank gathered once (per-rank output, messages).
 *   agree   after loading, an MPI_Allgather of each rank's exit code: a rank that could not
 *           load its model or data makes EVERY rank exit with that code, and rank 0 names
 *           the rank and host, instead of N-1 ranks waiting forever in the first barrier.
 *   run     on_start = MPI_Barrier, right before each rank's clock starts (after its
 *           warm-up), so the ranks' run starts agree to the barrier's exit skew (microseconds
 *           on one host, tens of microseconds over a network);
 *           on_result = pack the rank's result (tmlp_bench_result_pack), MPI_Gather the
 *           sizes and MPI_Gatherv the bytes to rank 0, which unpacks, merges
 *           (tmlp_bench_merge: statistics over the union of all latencies) and flags
 *           stragglers; then one MPI_Bcast of {status, valid, interrupted} so every rank
 *           follows the same verdict (find-peak takes the same path everywhere).
 * Cost per run: the per-query records (latency, start, sample count, server issue delay:
 * 32 bytes a query, plus 8 bytes a sample and 4 a prediction) cross the network once, to
 * rank 0. Clocks: each rank measures on its own CLOCK_MONOTONIC from its own start; only
 * the start is synchronised (by the barrier), never the clocks.
 */
#include "mpi_ranks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tinymlp/rng.h"

#define HOST_MAX 64

static int launched_by_mpirun(int *size)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            *size = atoi(v);
            return 1;
        }
    }
    if (getenv("PMIX_RANK")) {
        *size = 0; /* unknown until MPI_Init */
        return 1;
    }
    return 0;
}

#if TMLP_HAVE_MPI
#include <mpi.h>

struct tmlp_mpi {
    int rank, size;
    char (*hosts)[HOST_MAX];
    volatile sig_atomic_t *stop;
    /* the offline settings before the split (tmlp_mpi_settings), put back in the merged
     * result so its settings describe the whole run */
    int64_t offline_sample_count;
    double offline_expected_qps;
};

int tmlp_mpi_start(tmlp_mpi **out, volatile sig_atomic_t *stop)
{
    int env_size = 0;
    *out = NULL;
    if (!launched_by_mpirun(&env_size)) return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        tmlp_cli_error("MPI_Init failed: cannot join the mpirun job");
        return TMLP_EXIT_RUNTIME;
    }
    tmlp_mpi *m = calloc(1, sizeof *m);
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (m) m->hosts = calloc((size_t)size, sizeof *m->hosts);
    /* every rank must reach the allgather; an allocation failure is reported after it */
    char me[HOST_MAX] = {0}, name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    snprintf(me, sizeof me, "%s", name);
    int ok = m && m->hosts, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        tmlp_cli_error("out of memory starting MPI");
        if (m) free(m->hosts);
        free(m);
        MPI_Finalize();
        return TMLP_EXIT_RUNTIME;
    }
    MPI_Allgather(me, HOST_MAX, MPI_CHAR, m->hosts, HOST_MAX, MPI_CHAR, MPI_COMM_WORLD);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    m->size = size;
    m->stop = stop;
    /* every error line of this rank names it: one clear line from the rank that failed */
    static char prefix[HOST_MAX + 48];
    snprintf(prefix, sizeof prefix, "rank %d of %d on %s: ", m->rank, m->size, me);
    tmlp_cli_set_prefix(prefix);
    *out = m;
    return 0;
}

int tmlp_mpi_rank(const tmlp_mpi *m) { return m ? m->rank : 0; }
int tmlp_mpi_size(const tmlp_mpi *m) { return m ? m->size : 1; }
const char *tmlp_mpi_host(const tmlp_mpi *m, int rank)
{
    return m && rank >= 0 && rank < m->size ? m->hosts[rank] : "";
}

int tmlp_mpi_agree(tmlp_mpi *m, int rc)
{
    if (!m) return rc;
    int *all = calloc((size_t)m->size, sizeof *all);
    int stack_rc[1];
    int *buf = all ? all : stack_rc;
    if (all) MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    else MPI_Allreduce(&rc, buf, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    int n = all ? m->size : 1, first = 0, bad = 0;
    for (int i = 0; i < n; i++)
        if (buf[i] != 0) {
            if (!bad) first = buf[i];
            bad++;
        }
    if (bad && m->rank == 0) {
        char names[512] = "";
        size_t used = 0;
        for (int i = 0; all && i < m->size && used < sizeof names - 1; i++)
            if (all[i] != 0) {
                int k = snprintf(names + used, sizeof names - used, "%srank %d on %s", used ? ", " : "", i,
                                 m->hosts[i]);
                if (k > 0) used += (size_t)k;
            }
        tmlp_cli_error("%d of %d ranks could not start (%s): every rank exits %d", bad, m->size,
                       all ? names : "see their messages above", first);
    }
    free(all);
    return first;
}

/* --- the run hooks -------------------------------------------------------------------------- */

static void barrier(void *user)
{
    (void)user;
    MPI_Barrier(MPI_COMM_WORLD);
}

/* What rank 0 tells every rank after the merge. */
typedef struct verdict {
    int status;      /* tmlp_status */
    int valid;
    int interrupted;
    char message[TMLP_ERROR_MAX];
} verdict;

/* Rank 0 cannot receive the others' records: end the job rather than leave them waiting. */
static void root_out_of_memory(const char *what)
{
    tmlp_cli_error("out of memory receiving %s: ending the MPI job", what);
    MPI_Abort(MPI_COMM_WORLD, TMLP_EXIT_RUNTIME);
}

static tmlp_status gather_merge(void *user, tmlp_bench_result **res, tmlp_error *err)
{
    tmlp_mpi *m = user;
    void *mine = NULL;
    size_t mine_len = 0;
    /* a rank whose run failed (or cannot pack) sends 0 bytes: rank 0 reports it */
    if (*res && tmlp_bench_result_pack(*res, &mine, &mine_len, NULL) != TMLP_OK) mine_len = 0;
    if (mine_len > (size_t)INT32_MAX) mine_len = 0; /* MPI counts are int */
    int len = (int)mine_len;
    int *lens = NULL, *displs = NULL;
    char *all = NULL;
    verdict v = {TMLP_OK, 0, 0, ""};
    int zeroed = 0; /* rank 0 receives nothing: the records are too large for one gather */
    if (m->rank == 0) {
        lens = calloc((size_t)m->size, sizeof *lens);
        displs = calloc((size_t)m->size, sizeof *displs);
        if (!lens || !displs) root_out_of_memory("the ranks' result sizes");
    }
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (m->rank == 0) {
        long long total = 0;
        for (int i = 0; i < m->size; i++) {
            displs[i] = (int)(total < INT32_MAX ? total : 0);
            total += lens[i];
            if (lens[i] == 0 && v.status == TMLP_OK) {
                v.status = TMLP_ERR_NOMEM;
                snprintf(v.message, sizeof v.message, "rank %d on %s: its run failed or its result is "
                         "too large to send", i, m->hosts[i]);
            }
        }
        if (total > INT32_MAX) {
            v.status = TMLP_ERR_NOMEM;
            snprintf(v.message, sizeof v.message, "the ranks' records (%lld bytes) exceed one MPI gather "
                     "(2 GiB): shorten the run", total);
            /* receive nothing; the verdict tells every rank */
            for (int i = 0; i < m->size; i++) lens[i] = displs[i] = 0;
            total = 0;
            zeroed = 1;
        }
        all = malloc(total > 0 ? (size_t)total : 1);
        if (!all) root_out_of_memory("the ranks' records");
    }
    /* the send counts must match what rank 0 expects */
    MPI_Bcast(&zeroed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Gatherv(mine, zeroed ? 0 : len, MPI_BYTE, all, lens, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(mine);

    tmlp_bench_result *merged = NULL;
    if (m->rank == 0 && v.status == TMLP_OK) {
        tmlp_bench_result **parts = calloc((size_t)m->size, sizeof *parts);
        tmlp_error e = {0};
        if (!parts) v.status = TMLP_ERR_NOMEM;
        for (int i = 0; parts && i < m->size && v.status == TMLP_OK; i++)
            v.status = tmlp_bench_result_unpack(all + displs[i], (size_t)lens[i], &parts[i], &e);
        if (v.status == TMLP_OK)
            v.status = tmlp_bench_merge((const tmlp_bench_result *const *)parts, m->size, &merged, &e);
        if (v.status != TMLP_OK && !v.message[0]) snprintf(v.message, sizeof v.message, "%s", e.message);
        for (int i = 0; parts && i < m->size; i++) tmlp_bench_result_destroy(parts[i]);
        free(parts);
        if (merged && merged->settings.scenario == TMLP_SCENARIO_OFFLINE) {
            merged->settings.offline_sample_count = m->offline_sample_count;
            merged->settings.offline_expected_qps = m->offline_expected_qps;
        }
        if (merged) {
            for (int i = 0; i < m->size; i++)
                snprintf(merged->parts[i].host, sizeof merged->parts[i].host, "%s", m->hosts[i]);
            tmlp_bench_stragglers(merged->parts, m->size);
            v.valid = merged->valid;
            v.interrupted = merged->interrupted;
        }
    }
    free(all);
    free(lens);
    free(displs);
    MPI_Bcast(&v, (int)sizeof v, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (v.status != TMLP_OK) {
        tmlp_bench_result_destroy(merged);
        if (err) {
            err->code = (tmlp_status)v.status;
            snprintf(err->message, sizeof err->message, "merging the ranks' results: %s",
                     v.message[0] ? v.message : tmlp_status_str((tmlp_status)v.status));
        }
        return (tmlp_status)v.status;
    }
    if (v.interrupted && m->stop) *m->stop = 1; /* all ranks skip the remaining runs together */
    if (m->rank == 0) {
        tmlp_bench_result_destroy(*res);
        *res = merged;
    } else if (*res) {
        (*res)->valid = v.valid;
        (*res)->interrupted = v.interrupted;
    }
    return TMLP_OK;
}

void tmlp_mpi_settings(tmlp_mpi *m, tmlp_bench_settings *s, int64_t sample_count)
{
    if (!m || m->size < 2) return;
    if (s->scenario == TMLP_SCENARIO_OFFLINE) { /* every offline row has the same sizing options */
        m->offline_sample_count = s->offline_sample_count;
        m->offline_expected_qps = s->offline_expected_qps;
    }
    if (s->scenario == TMLP_SCENARIO_OFFLINE && s->mode != TMLP_MODE_ACCURACY) {
        /* The offline query is the whole run's, sized as one process would size it from the
         * full sample set (LoadGen's rule, a setting); each rank issues its share of it on
         * its own shard. Accuracy needs nothing: one pass over each shard is one pass. */
        int64_t total = tmlp_workload_offline_samples(s, sample_count), first, count;
        tmlp_bench_shard(total, m->rank, m->size, &first, &count);
        s->offline_sample_count = count > 0 ? count : 1;
    }
    s->on_start = barrier;
    s->on_result = gather_merge;
    s->hook_user = m;
    if (s->scenario == TMLP_SCENARIO_SERVER) {
        s->schedule_stride = m->size;
        s->schedule_offset = m->rank;
    }
    /* closed loops and the server: each rank its own sample stream (offline ranks own a
     * shard of the sample set instead, see workload.c) */
    if (s->scenario != TMLP_SCENARIO_OFFLINE && m->rank > 0)
        s->sample_seed = tmlp_hash64_u64(s->sample_seed, (uint64_t)m->rank);
    /* find-peak: every rank must take the same search path; the time budget reads each
     * rank's own clock and could end the search on one rank only, so under MPI the search
     * is bounded by its run count (and each trial by max_duration_ms) alone */
    s->find_peak_budget_ms = 0;
}

void tmlp_mpi_finish(tmlp_mpi *m)
{
    if (!m) return;
    tmlp_cli_set_prefix("");
    free(m->hosts);
    free(m);
    MPI_Finalize();
}

#else /* built without MPI: one process, unless a launcher started several */

struct tmlp_mpi {
    int unused;
};

int tmlp_mpi_start(tmlp_mpi **out, volatile sig_atomic_t *stop)
{
    (void)stop;
    int size = 0;
    *out = NULL;
    if (launched_by_mpirun(&size) && size != 1) {
        tmlp_cli_error("started by mpirun/srun as %d ranks, but this bench_mlp was built without MPI: "
                       "install libopenmpi-dev and rebuild (meson setup -Dmpi=enabled), or run one process",
                       size);
        return TMLP_EXIT_RUNTIME;
    }
    return 0;
}

int tmlp_mpi_rank(const tmlp_mpi *m) { (void)m; return 0; }
int tmlp_mpi_size(const tmlp_mpi *m) { (void)m; return 1; }
const char *tmlp_mpi_host(const tmlp_mpi *m, int rank) { (void)m; (void)rank; return ""; }
int tmlp_mpi_agree(tmlp_mpi *m, int rc) { (void)m; return rc; }
void tmlp_mpi_settings(tmlp_mpi *m, tmlp_bench_settings *s, int64_t sample_count)
{
    (void)m;
    (void)s;
    (void)sample_count;
}
void tmlp_mpi_finish(tmlp_mpi *m) { (void)m; }

#endif
