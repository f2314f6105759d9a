/* The stderr progress bar (see progress.h). */
#include "wsss/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsss/clock.h"

void wsss_progress_start_ex(wsss_progress *p, const char *label, int64_t total, FILE *out, int tty, double interval_s) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_flag_clear(&p->busy);
    p->t0 = wsss_now_seconds();
    atomic_init(&p->last_print, p->t0);
    p->interval = interval_s;
    p->out = out;
    p->tty = tty;
    const char *env = getenv("WSSS_PROGRESS");
    p->enabled = !(env && strcmp(env, "0") == 0);
}

void wsss_progress_start(wsss_progress *p, const char *label, int64_t total) {
    int tty = isatty(fileno(stderr));
    wsss_progress_start_ex(p, label, total, stderr, tty, tty ? 0.2 : 10.0);
}

static void fmt_duration(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void print_line(wsss_progress *p, int64_t done, double now, int final) {
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char line[448], e[32], eta[32];
    int k = 0;
    fmt_duration(e, sizeof e, el);
    if (p->total > 0) {
        double f = (double)done / (double)p->total;
        if (f > 1) f = 1;
        if (p->tty) {
            char bar[31];
            int filled = (int)(f * 30);
            for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
            bar[30] = 0;
            k = snprintf(line, sizeof line, "%s [%s] %3d%% %lld/%lld", p->label, bar, (int)(100 * f), (long long)done,
                         (long long)p->total);
        } else {
            k = snprintf(line, sizeof line, "%s %3d%% %lld/%lld", p->label, (int)(100 * f), (long long)done,
                         (long long)p->total);
        }
        fmt_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1);
        k += snprintf(line + k, sizeof line - (size_t)k, " %.1f/s elapsed %s", rate, e);
        if (!final) k += snprintf(line + k, sizeof line - (size_t)k, " eta %s", eta);
    } else {
        k = snprintf(line, sizeof line, "%s %lld %.1f/s elapsed %s", p->label, (long long)done, rate, e);
    }
    if (p->note[0] && k > 0 && (size_t)k < sizeof line) snprintf(line + k, sizeof line - (size_t)k, " | %s", p->note);
    if (p->tty) {
        int w = (int)strlen(line);
        /* pad over a longer previous line */
        fprintf(p->out, "\r%s%*s%s", line, p->printed_width > w ? p->printed_width - w : 0, "", final ? "\n" : "");
        p->printed_width = w;
    } else {
        fprintf(p->out, "%s%s\n", line, final ? " done" : "");
    }
    fflush(p->out);
}

void wsss_progress_add(wsss_progress *p, int64_t n) {
    int64_t done = atomic_fetch_add(&p->done, n) + n;
    if (!p->enabled) return;
    double now = wsss_now_seconds();
    if (now - atomic_load(&p->last_print) < p->interval) return;
    if (atomic_flag_test_and_set(&p->busy)) return;
    if (now - atomic_load(&p->last_print) >= p->interval) {
        atomic_store(&p->last_print, now);
        print_line(p, done, now, 0);
    }
    atomic_flag_clear(&p->busy);
}

void wsss_progress_set_note(wsss_progress *p, const char *note) {
    snprintf(p->note, sizeof p->note, "%s", note ? note : "");
}

void wsss_progress_finish(wsss_progress *p) {
    if (!p->enabled) return;
    while (atomic_flag_test_and_set(&p->busy)) {
    }
    print_line(p, atomic_load(&p->done), wsss_now_seconds(), 1);
    atomic_flag_clear(&p->busy);
}
