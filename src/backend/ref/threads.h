/* The thread count the reference kernels split work by: OpenMP's current maximum (as set by the
 * runtime's one threading policy), 1 without OpenMP. */
#ifndef WSSS_BACKEND_REF_THREADS_H
#define WSSS_BACKEND_REF_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int wsss_ref_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif
