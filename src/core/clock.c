/* Monotonic seconds (see clock.h). */
#include "wsss/clock.h"

#include <time.h>

double wsss_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
