/* Progress output.
 *
 * Progress bar: one line on stderr with a bar, done/total, rate, elapsed and ETA, redrawn at most
 * every 0.2 s when stderr is a terminal; otherwise plain lines at most every 10 s (and at the end).
 * wsss_progress_add may be called from many threads at once (e.g. inside an OpenMP loop).
 * WSSS_PROGRESS=0 in the environment silences it. */
#ifndef WSSS_PROGRESS_H
#define WSSS_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

typedef struct wsss_progress {
    char label[48];
    int64_t total;   /* <= 0: unknown (no bar, no ETA) */
    _Atomic int64_t done;
    atomic_flag busy; /* one printer at a time; others skip */
    _Atomic double last_print;
    double t0, interval;
    FILE *out;
    int tty, enabled, printed_width;
    char note[160]; /* shown after the counts (wsss_progress_set_note) */
} wsss_progress;

void wsss_progress_start(wsss_progress *p, const char *label, int64_t total);
/* As start, writing to `out`; tty: 1 redraw in place, 0 plain lines; interval_s between updates. */
void wsss_progress_start_ex(wsss_progress *p, const char *label, int64_t total, FILE *out, int tty, double interval_s);
void wsss_progress_add(wsss_progress *p, int64_t n);
/* A short text shown after the counts from the next update on (e.g. a trainer's per-network
 * losses); set it from the thread that calls add, between adds. */
void wsss_progress_set_note(wsss_progress *p, const char *note);
/* Final line with the total time (always printed when enabled). */
void wsss_progress_finish(wsss_progress *p);

#endif
