/* Stage logs.
 *
 * Run log: an append-only JSONL file (one JSON object per line, flushed per line, so a crash loses
 * at most the line being written) at RUN_DIR/logs/<stage>.jsonl. Every record has
 *   "stage": S, "time": seconds since the logger was opened (monotonic), "unix": wall-clock seconds
 * and then the fields the stage adds. Field names the report understands:
 *   "step" (x axis of curves; the record number when absent), "epoch", "lr",
 *   "loss" and any other numeric field whose name starts with "loss" (plotted together),
 *   "images_per_s", "event" (a string such as "start", "end", "eval" for non-step records).
 * Other numeric fields are kept by the reader (and tabulated), strings other than stage/event are
 * ignored by the report. Stage names the pipeline uses (the report lists them in this order first):
 *   "train-cls", "cam", "affinity", "pseudo", "train-seg", "eval-seg". */
#ifndef WSSS_RUNLOG_H
#define WSSS_RUNLOG_H

#include <stdint.h>

#include "wsss/json.h"

/* ---- writer ---- */
typedef struct wsss_runlog wsss_runlog;

/* Open (create or append to) path; parent directories are created. */
int wsss_runlog_open(const char *path, const char *stage, wsss_runlog **out);
/* RUN_DIR/logs/<stage>.jsonl */
int wsss_runlog_open_stage(const char *run_dir, const char *stage, wsss_runlog **out);
void wsss_runlog_close(wsss_runlog *log); /* NULL is fine */

/* Build one record: begin (writes stage/time/unix), any kv calls, end (writes the line and
 * flushes). Not thread-safe: one thread logs. */
void wsss_runlog_begin(wsss_runlog *log);
void wsss_runlog_kv_int(wsss_runlog *log, const char *key, int64_t v);
void wsss_runlog_kv_double(wsss_runlog *log, const char *key, double v); /* non-finite -> null */
void wsss_runlog_kv_string(wsss_runlog *log, const char *key, const char *v);
int wsss_runlog_end(wsss_runlog *log); /* WSSS_ERR (with the path) if the write failed */

/* Convenience for a training step: step, epoch, loss, lr, images_per_s (a negative epoch and NaN
 * loss / lr / images_per_s are left out). */
int wsss_runlog_step(wsss_runlog *log, int64_t step, int64_t epoch, double loss, double lr, double images_per_s);
/* A record {"event": event} (e.g. "start", "end"). */
int wsss_runlog_event(wsss_runlog *log, const char *event);

/* ---- reader ---- */
typedef struct wsss_runlog_data {
    char *stage;        /* from the first record with one (NULL if none) */
    int64_t n_records;  /* objects read */
    int n_fields;
    char **fields;      /* numeric field names in first-seen order */
    double *values;     /* [n_records][n_fields], NaN where a record lacks the field (or has null) */
    int64_t n_bad_lines; /* lines that are not a JSON object (e.g. a torn last line), skipped */
} wsss_runlog_data;

/* Read a JSONL log. A missing file or a read error is WSSS_ERR; bad lines are counted, not errors. */
int wsss_runlog_read(const char *path, wsss_runlog_data *out);
void wsss_runlog_data_free(wsss_runlog_data *d);
int wsss_runlog_field(const wsss_runlog_data *d, const char *name); /* column index or -1 */
static inline double wsss_runlog_value(const wsss_runlog_data *d, int64_t rec, int field) {
    return d->values[rec * d->n_fields + field];
}

#endif
