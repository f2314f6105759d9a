/* Reference elementwise kernels: broadcast geometry helpers plus the float/double bodies from
 * elementwise_impl.h. */
#include "backend/ref/elementwise.h"

#include <math.h>
#include <string.h>

#include "backend/ref/threads.h"

/* Below this many elements a loop stays on one thread (thread start-up costs more). */
#define WSSS_EW_PAR_MIN 32768

void wsss_bcast_simplify(wsss_bcast *g) {
    const int D = WSSS_BCAST_DIMS;
    int64_t sh[WSSS_BCAST_DIMS], st[4][WSSS_BCAST_DIMS];
    int n = 0;
    /* drop size-1 dims (their strides never matter), keeping order */
    for (int d = 0; d < D; d++) {
        if (g->shape[d] == 1) continue;
        sh[n] = g->shape[d];
        for (int k = 0; k < 4; k++) st[k][n] = g->st[k][d];
        n++;
    }
    /* merge dim i into i+1 when every operand steps through both as through one dim */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0) {
            int ok = 1;
            for (int k = 0; k < 4; k++)
                if (st[k][m - 1] != st[k][i] * sh[i]) ok = 0;
            if (ok) {
                sh[m - 1] *= sh[i];
                for (int k = 0; k < 4; k++) st[k][m - 1] = st[k][i];
                continue;
            }
        }
        sh[m] = sh[i];
        for (int k = 0; k < 4; k++) st[k][m] = st[k][i];
        m++;
    }
    /* right-align again, padding with size-1 dims */
    for (int d = 0; d < D; d++) {
        int s = d - (D - m);
        g->shape[d] = s >= 0 ? sh[s] : 1;
        for (int k = 0; k < 4; k++) g->st[k][d] = s >= 0 ? st[k][s] : 0;
    }
}

/* Chooses the dim split across threads: the longest one the destination is not reduced over (so
 * tasks write disjoint elements), and the number of tasks. Returns the element count. */
static int64_t wsss_ew_plan(const wsss_bcast *g, int reducing, int *p, int *tasks) {
    int64_t total = 1;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) total *= g->shape[d];
    *p = 0;
    *tasks = 1;
    if (total < WSSS_EW_PAR_MIN) return total;
    int best = -1;
    for (int d = 0; d < WSSS_BCAST_DIMS; d++) {
        if (g->shape[d] < 2 || (reducing && g->st[2][d] == 0)) continue;
        if (best < 0 || g->shape[d] > g->shape[best]) best = d;
    }
    if (best < 0) return total;
    int64_t t = (int64_t)wsss_ref_max_threads() * 4;
    if (t > g->shape[best]) t = g->shape[best];
    *p = best;
    *tasks = (int)t;
    return total;
}

#define REF_TEMPLATE "backend/ref/elementwise_impl.h"
#include "backend/ref/for_each_real.h"
