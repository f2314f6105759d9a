/* JSONL stage logs: writer and reader (see runlog.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wsss/clock.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"

static double unix_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- writer */

struct wsss_runlog {
    FILE *f;
    char *path, *stage;
    double t0;
    wsss_jw w;
    int open_record;
};

int wsss_runlog_open(const char *path, const char *stage, wsss_runlog **out) {
    *out = NULL;
    if (wsss_mkdirs_parent(path) != WSSS_OK) return WSSS_ERR;
    FILE *f = fopen(path, "a");
    if (!f) return wsss_error_set("%s: cannot open the log for appending (%s)", path, strerror(errno));
    wsss_runlog *l = wsss_xcalloc(1, sizeof *l);
    l->f = f;
    l->path = wsss_xstrdup(path);
    l->stage = wsss_xstrdup(stage ? stage : "");
    l->t0 = wsss_now_seconds();
    wsss_jw_init(&l->w, 0);
    *out = l;
    return WSSS_OK;
}

int wsss_runlog_open_stage(const char *run_dir, const char *stage, wsss_runlog **out) {
    char *p = wsss_run_log_path(run_dir, stage);
    int rc = wsss_runlog_open(p, stage, out);
    free(p);
    return rc;
}

void wsss_runlog_close(wsss_runlog *l) {
    if (!l) return;
    fclose(l->f);
    wsss_jw_free(&l->w);
    free(l->path);
    free(l->stage);
    free(l);
}

void wsss_runlog_begin(wsss_runlog *l) {
    WSSS_ASSERT(!l->open_record, "wsss_runlog_begin: previous record not ended");
    free(wsss_jw_take(&l->w));
    l->open_record = 1;
    wsss_jw_obj_begin(&l->w);
    wsss_jw_kv_string(&l->w, "stage", l->stage);
    /* millisecond resolution is plenty and keeps lines short */
    wsss_jw_kv_double(&l->w, "time", round((wsss_now_seconds() - l->t0) * 1000.0) / 1000.0);
    wsss_jw_kv_double(&l->w, "unix", round(unix_seconds() * 1000.0) / 1000.0);
}

void wsss_runlog_kv_int(wsss_runlog *l, const char *key, int64_t v) { wsss_jw_kv_int(&l->w, key, v); }
void wsss_runlog_kv_double(wsss_runlog *l, const char *key, double v) { wsss_jw_kv_double(&l->w, key, v); }
void wsss_runlog_kv_string(wsss_runlog *l, const char *key, const char *v) { wsss_jw_kv_string(&l->w, key, v); }

int wsss_runlog_end(wsss_runlog *l) {
    WSSS_ASSERT(l->open_record, "wsss_runlog_end without begin");
    wsss_jw_obj_end(&l->w);
    l->open_record = 0;
    wsss_jw_append(&l->w, "\n", 1);
    /* one fwrite per line so that concurrent readers see whole lines */
    if (fwrite(l->w.buf, 1, l->w.len, l->f) != l->w.len || fflush(l->f) != 0)
        return wsss_error_set("%s: cannot write the log (%s)", l->path, strerror(errno));
    return WSSS_OK;
}

int wsss_runlog_step(wsss_runlog *l, int64_t step, int64_t epoch, double loss, double lr, double images_per_s) {
    wsss_runlog_begin(l);
    wsss_runlog_kv_int(l, "step", step);
    if (epoch >= 0) wsss_runlog_kv_int(l, "epoch", epoch);
    if (!isnan(loss)) wsss_runlog_kv_double(l, "loss", loss);
    if (!isnan(lr)) wsss_runlog_kv_double(l, "lr", lr);
    if (!isnan(images_per_s)) wsss_runlog_kv_double(l, "images_per_s", images_per_s);
    return wsss_runlog_end(l);
}

int wsss_runlog_event(wsss_runlog *l, const char *event) {
    wsss_runlog_begin(l);
    wsss_runlog_kv_string(l, "event", event);
    return wsss_runlog_end(l);
}

/* ---------------------------------------------------------------- reader */

void wsss_runlog_data_free(wsss_runlog_data *d) {
    for (int i = 0; i < d->n_fields; i++) free(d->fields[i]);
    free(d->fields);
    free(d->values);
    free(d->stage);
    memset(d, 0, sizeof *d);
}

int wsss_runlog_field(const wsss_runlog_data *d, const char *name) {
    for (int i = 0; i < d->n_fields; i++)
        if (strcmp(d->fields[i], name) == 0) return i;
    return -1;
}

/* Columns grow as new fields appear: values are kept row-major with a fixed capacity of columns,
 * re-laid out when that capacity is exceeded. */
typedef struct reader {
    wsss_runlog_data *d;
    int64_t cap_rows;
    int cap_fields;
} reader;

static int add_field(reader *r, const char *name) {
    wsss_runlog_data *d = r->d;
    if (d->n_fields == r->cap_fields) {
        int nc = r->cap_fields ? 2 * r->cap_fields : 8;
        double *v = wsss_xmalloc(sizeof(double) * (size_t)(r->cap_rows ? r->cap_rows : 1) * (size_t)nc);
        /* rows 0..n_records (the row being filled included) */
        for (int64_t i = 0; i <= d->n_records && i < r->cap_rows; i++)
            for (int j = 0; j < nc; j++) v[i * nc + j] = j < d->n_fields ? d->values[i * r->cap_fields + j] : NAN;
        free(d->values);
        d->values = v;
        d->fields = wsss_xrealloc(d->fields, sizeof(char *) * (size_t)nc);
        r->cap_fields = nc;
    }
    d->fields[d->n_fields] = wsss_xstrdup(name);
    return d->n_fields++;
}

static void add_record(reader *r, const wsss_json *obj) {
    wsss_runlog_data *d = r->d;
    if (d->n_records == r->cap_rows) {
        int64_t nr = r->cap_rows ? 2 * r->cap_rows : 64;
        int cf = r->cap_fields ? r->cap_fields : 8;
        if (!r->cap_fields) {
            d->fields = wsss_xmalloc(sizeof(char *) * (size_t)cf);
            r->cap_fields = cf;
        }
        d->values = wsss_xrealloc(d->values, sizeof(double) * (size_t)nr * (size_t)cf);
        r->cap_rows = nr;
    }
    double *row = d->values + d->n_records * r->cap_fields;
    for (int j = 0; j < r->cap_fields; j++) row[j] = NAN;
    for (int k = 0; k < obj->n; k++) {
        const wsss_json *v = obj->items[k];
        if (!d->stage && strcmp(obj->keys[k], "stage") == 0 && v->type == WSSS_JSON_STRING)
            d->stage = wsss_xstrdup(v->str);
        if (v->type != WSSS_JSON_NUMBER && v->type != WSSS_JSON_NULL) continue;
        int j = wsss_runlog_field(d, obj->keys[k]);
        if (j < 0) {
            if (v->type == WSSS_JSON_NULL) continue; /* a column appears with its first number */
            j = add_field(r, obj->keys[k]);
            row = d->values + d->n_records * r->cap_fields;
        }
        row[j] = v->type == WSSS_JSON_NUMBER ? v->number : NAN;
    }
    d->n_records++;
}

int wsss_runlog_read(const char *path, wsss_runlog_data *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t n;
    if (wsss_file_read_all(path, &buf, &n) != WSSS_OK) return WSSS_ERR;
    reader r = {out, 0, 0};
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && buf[e] != '\n') e++;
        size_t s = i;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\r')) s++;
        if (s < e) {
            /* a log line is small; the value bound keeps a hostile file's DOM small too */
            wsss_json *v = wsss_json_parse_limited((const char *)buf + s, e - s, 100000);
            if (v && v->type == WSSS_JSON_OBJECT) add_record(&r, v);
            else out->n_bad_lines++;
            wsss_json_free(v);
        }
        i = e + 1;
    }
    free(buf);
    wsss_error_clear();
    /* compact to [n_records][n_fields] */
    if (out->n_records && r.cap_fields != out->n_fields) {
        double *v = wsss_xmalloc(sizeof(double) * (size_t)out->n_records * (size_t)(out->n_fields ? out->n_fields : 1));
        for (int64_t a = 0; a < out->n_records; a++)
            for (int b = 0; b < out->n_fields; b++) v[a * out->n_fields + b] = out->values[a * r.cap_fields + b];
        free(out->values);
        out->values = v;
    }
    return WSSS_OK;
}
