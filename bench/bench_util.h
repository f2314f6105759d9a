/* Helpers shared by the benchmark programs (define BENCH_NAME, e.g. "bench_crf", before including):
 * the process CPU clock, and die(): the library's last error after BENCH_NAME and what failed, exit 1.
 * Wall-clock time is wsss_now_seconds (wsss/clock.h). Header-only: each benchmark is one program. */
#ifndef WSSS_BENCH_UTIL_H
#define WSSS_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wsss/clock.h"
#include "wsss/error.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

static inline double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline void die(const char *what) {
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, wsss_error_msg());
    exit(1);
}

#endif
