/* dist.h for a build without MPI: one process, every collective a no-op; started by an MPI
 * launcher as one of several ranks, it refuses. */
#include "wsss/dist.h"
#include "wsss/error.h"

int wsss_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    int n = wsss_dist_launcher_size();
    if (n > 1)
        return wsss_error_set("built without MPI: this wsss cannot run as one of %d ranks (rebuild with Open MPI: "
                              "apt-get install libopenmpi-dev openmpi-bin, then cmake again; or run it without "
                              "mpirun/srun)",
                              n);
    return WSSS_OK;
}

void wsss_dist_finalize(void) {}
int wsss_dist_rank(void) { return 0; }
int wsss_dist_size(void) { return 1; }
int wsss_dist_local_size(void) { return 1; }
int wsss_dist_built_with_mpi(void) { return 0; }
void wsss_dist_allreduce_sum_f32(float *buf, int64_t n) {
    (void)buf;
    (void)n;
}
void wsss_dist_allreduce_sum_f64(double *buf, int64_t n) {
    (void)buf;
    (void)n;
}
void wsss_dist_broadcast(void *buf, int64_t bytes) {
    (void)buf;
    (void)bytes;
}
void wsss_dist_barrier(void) {}
void wsss_dist_abort(int code) { exit(code); }
