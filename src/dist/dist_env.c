/* What the MPI and the no-MPI implementations of dist.h share: the launcher's environment, the
 * per-rank thread policy and the allreduce counters. */
#include <stdlib.h>
#include <string.h>

#include "wsss/dist.h"
#include "wsss/runtime.h"

static wsss_dist_stats g_stats;

/* A positive integer environment variable, or 0. */
static long env_long(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    long x = strtol(v, &end, 10);
    return *end == 0 && x > 0 ? x : 0;
}

int wsss_dist_launcher_size(void) {
    /* Open MPI's mpirun, MPICH/Hydra and srun --mpi=pmi2 (PMI_SIZE), MVAPICH, any srun step */
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE",
                                        "SLURM_STEP_NUM_TASKS", NULL};
    long most = 1;
    for (int i = 0; sizes[i]; i++) {
        long n = env_long(sizes[i]);
        if (n > most) most = n;
    }
    /* PMIx alone (srun --mpi=pmix, prterun) announces the rank, not the size: a rank above 0 is
     * one of several */
    if (most < 2 && env_long("PMIX_RANK") > 0) most = 2;
    return (int)most;
}

int wsss_dist_launched(void) { return wsss_dist_launcher_size() > 1 || getenv("PMIX_RANK") != NULL; }

void wsss_dist_set_rank_threads(int local_size) {
    if (getenv("WSSS_THREADS") && atoi(getenv("WSSS_THREADS")) > 0) return; /* wsss_runtime_init took it */
    long omp = env_long("OMP_NUM_THREADS");
    if (omp > 0) {
        wsss_set_threads((int)omp);
        return;
    }
    int n = wsss_physical_cores() / (local_size > 0 ? local_size : 1);
    wsss_set_threads(n > 0 ? n : 1);
}

void wsss_dist_stats_add(int64_t bytes, double seconds) {
    g_stats.allreduce_calls++;
    g_stats.allreduce_bytes += bytes;
    g_stats.allreduce_seconds += seconds;
}

void wsss_dist_get_stats(wsss_dist_stats *s) { *s = g_stats; }
