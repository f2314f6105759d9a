/* dist.h over MPI (Open MPI, MPICH): MPI is started only under a launcher (wsss_dist_launched), so
 * a plain `wsss ...` never touches MPI and runs exactly as a build without it. */
#include <mpi.h>
#include <stdlib.h>

#include "wsss/clock.h"
#include "wsss/dist.h"
#include "wsss/error.h"

static int g_started, g_rank, g_size = 1, g_local = 1;

/* MPI counts are int: long buffers go in pieces */
#define PIECE (1 << 30)

int wsss_dist_init(int *argc, char ***argv) {
    if (g_started || !wsss_dist_launched()) return WSSS_OK;
    int provided = 0;
    /* only the training thread calls MPI (the loader's workers never do) */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return wsss_error_set("MPI_Init_thread failed");
    g_started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &g_local);
    MPI_Comm_free(&local);
    if (g_size > 1) wsss_dist_set_rank_threads(g_local);
    return WSSS_OK;
}

void wsss_dist_finalize(void) {
    if (!g_started) return;
    MPI_Finalize();
    g_started = 0;
}

int wsss_dist_rank(void) { return g_rank; }
int wsss_dist_size(void) { return g_size; }
int wsss_dist_local_size(void) { return g_local; }
int wsss_dist_built_with_mpi(void) { return 1; }

void wsss_dist_allreduce_sum_f32(float *buf, int64_t n) {
    if (g_size <= 1) return;
    double t0 = wsss_now_seconds();
    for (int64_t at = 0; at < n; at += PIECE) {
        int k = (int)(n - at < PIECE ? n - at : PIECE);
        MPI_Allreduce(MPI_IN_PLACE, buf + at, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    wsss_dist_stats_add(n * (int64_t)sizeof(float), wsss_now_seconds() - t0);
}

void wsss_dist_allreduce_sum_f64(double *buf, int64_t n) {
    if (g_size <= 1) return;
    for (int64_t at = 0; at < n; at += PIECE) {
        int k = (int)(n - at < PIECE ? n - at : PIECE);
        MPI_Allreduce(MPI_IN_PLACE, buf + at, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
}

void wsss_dist_broadcast(void *buf, int64_t bytes) {
    if (g_size <= 1) return;
    for (int64_t at = 0; at < bytes; at += PIECE) {
        int k = (int)(bytes - at < PIECE ? bytes - at : PIECE);
        MPI_Bcast((char *)buf + at, k, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

void wsss_dist_barrier(void) {
    if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void wsss_dist_abort(int code) {
    if (g_started) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}
