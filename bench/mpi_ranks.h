/* mpi_ranks.h — bench_mlp under mpirun (or srun): every rank runs its own model and sessions on
 * its share of the run, rank 0 merges and prints (docs/bench_mlp.md, "More than one machine").
 *
 * All MPI calls of the project are in mpi.c; without MPI (meson -Dmpi=disabled, or Open
 * MPI not found) the same functions exist and describe a one-process run, so workload.c
 * has no #ifdef. The harness never sees MPI: it gets plain hooks in its settings
 * (tinymlp/bench.h: schedule_stride/offset, on_start, on_result) and the library merges
 * (tmlp_bench_merge).
 */
#ifndef TMLP_BENCH_MPI_RANKS_H
#define TMLP_BENCH_MPI_RANKS_H

#include <signal.h>

#include "tinymlp/bench.h"

typedef struct tmlp_mpi tmlp_mpi;

/* Start MPI if a launcher started this process (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * PMIX_RANK or SLURM_STEP_NUM_TASKS in the environment); *out = NULL for a plain
 * process. Returns 0, or TMLP_EXIT_RUNTIME after printing why (e.g. launched as several
 * ranks by a bench_mlp built without MPI). `stop` is the run's interrupt flag: when the
 * merged result of a run says interrupted, every rank sets it, so all stop together. */
int tmlp_mpi_start(tmlp_mpi **out, volatile sig_atomic_t *stop);
/* This rank (0 without MPI), the number of ranks (1), a rank's host name ("" without). */
int tmlp_mpi_rank(const tmlp_mpi *m);
int tmlp_mpi_size(const tmlp_mpi *m);
const char *tmlp_mpi_host(const tmlp_mpi *m, int rank);
/* Every rank passes its exit code so far (0 = ready). Returns, on every rank, the code of
 * the lowest failing rank (0 if none); rank 0 prints one line naming each failing rank and
 * its host. A collective: every rank must call it at the same point. */
int tmlp_mpi_agree(tmlp_mpi *m, int rc);
/* Make *s this rank's part of the run: a barrier before the clock (on_start), the results
 * gathered and merged on rank 0 after every run (on_result: rank 0 gets the merged result
 * with per-rank figures and hosts; the others get their own with the merged verdict), the
 * server's every size-th arrival from rank (schedule_stride/offset), and for the closed
 * loops and the server a per-rank sample seed (rank 0 keeps the seed: 1 rank = 1 process),
 * and for offline performance this rank's share of the one offline query that one process
 * would issue over `sample_count` samples (the full data set; each rank runs on its shard).
 * No-op without MPI or with one rank. */
void tmlp_mpi_settings(tmlp_mpi *m, tmlp_bench_settings *s, int64_t sample_count);
/* MPI_Finalize and free; NULL is fine. */
void tmlp_mpi_finish(tmlp_mpi *m);

#endif
