/* Data-parallel processes: the few collective operations the trainer needs, over MPI when the
 * build found it (src/dist/dist_mpi.c) and for one process otherwise (src/dist/dist_none.c: size 1,
 * every collective a no-op). No other file knows which of the two it is linked with.
 *
 * A process started by an MPI launcher (mpirun, srun) is one rank of `size`; rank 0 alone writes
 * logs, checkpoints and models. A build without MPI that finds itself started as one of several
 * ranks (the launcher's environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_STEP_NUM_TASKS, PMIX_RANK
 * ...) refuses in
 * wsss_dist_init instead of running N copies of the same training side by side.
 *
 * Every collective must be called by all ranks in the same order (MPI's rule). A rank that dies
 * ends the job: the launcher (mpirun) kills the others and names the lost rank. */
#ifndef WSSS_DIST_H
#define WSSS_DIST_H

#include <stdint.h>

/* Start (once, before any other call; argc/argv may be NULL). Without MPI under a multi-rank
 * launcher: WSSS_ERR, "built without MPI: ..." (the CLI exits 2). With several ranks, sets the
 * threads of this rank to cores / ranks on this node unless WSSS_THREADS or OMP_NUM_THREADS
 * says otherwise. */
int wsss_dist_init(int *argc, char ***argv);
/* End (after the last collective; a no-op if init was not called or failed). */
void wsss_dist_finalize(void);

int wsss_dist_rank(void);       /* 0 .. size-1 (0 without MPI) */
int wsss_dist_size(void);       /* ranks in the job (1 without MPI) */
int wsss_dist_local_size(void); /* ranks on this node (1 without MPI) */
int wsss_dist_built_with_mpi(void);

/* In place: buf becomes the sum over ranks (every rank gets it). */
void wsss_dist_allreduce_sum_f32(float *buf, int64_t n);
void wsss_dist_allreduce_sum_f64(double *buf, int64_t n);
/* In place: rank 0's bytes to every rank. */
void wsss_dist_broadcast(void *buf, int64_t bytes);
void wsss_dist_barrier(void);
/* End every rank of the job with this exit code (after printing the reason yourself). */
void wsss_dist_abort(int code);

/* Time spent in and bytes passed to the float allreduces since init (for benchmarks and logs). */
typedef struct wsss_dist_stats {
    int64_t allreduce_calls;
    int64_t allreduce_bytes;
    double allreduce_seconds;
} wsss_dist_stats;
void wsss_dist_get_stats(wsss_dist_stats *s);

/* ---- shared by both implementations (src/dist/dist_env.c) ---- */
/* The number of ranks the launcher's environment announces (1 if none). */
int wsss_dist_launcher_size(void);
/* Started by an MPI launcher: several ranks announced, or a PMIx server's rank (rank 0 of
 * `srun --mpi=pmix` sees PMIX_RANK=0): the MPI build initialises MPI then, and only then. */
int wsss_dist_launched(void);
/* The thread policy of a rank among local_size on its node (see wsss_dist_init). */
void wsss_dist_set_rank_threads(int local_size);
/* Counters of the float allreduce, kept by the implementation. */
void wsss_dist_stats_add(int64_t bytes, double seconds);

#endif
