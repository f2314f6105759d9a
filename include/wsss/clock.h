/* The process's clock for durations (rates, ETAs, log timestamps): monotonic, so a wall-clock
 * change never makes an interval negative. */
#ifndef WSSS_CLOCK_H
#define WSSS_CLOCK_H

/* Monotonic seconds (an arbitrary origin: only differences mean something). */
double wsss_now_seconds(void);

#endif
