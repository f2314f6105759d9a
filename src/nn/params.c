/* Parameter registry (see include/wsss/params.h). */
#include "wsss/params.h"

#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/json.h"

void wsss_params_init(wsss_params *ps) { memset(ps, 0, sizeof *ps); }

void wsss_params_free(wsss_params *ps) {
    for (int i = 0; i < ps->n; i++) wsss_tensor_free(ps->items[i].t);
    free(ps->items);
    memset(ps, 0, sizeof *ps);
}

static wsss_tensor *add(wsss_params *ps, const char *name, wsss_dtype dt, int ndim, const int64_t *shape,
                        wsss_param_kind kind, int group) {
    WSSS_ASSERT(name && *name, "parameter name must be non-empty");
    if (wsss_params_find(ps, name)) {
        char msg[512];
        snprintf(msg, sizeof msg, "duplicate parameter name \"%s\"", name);
        WSSS_ASSERT(0, msg);
    }
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 64;
        ps->items = wsss_xrealloc(ps->items, sizeof(wsss_param) * (size_t)ps->cap);
    }
    wsss_tensor *t = wsss_tensor_new(dt, ndim, shape);
    wsss_tensor_set_name(t, name);
    t->requires_grad = kind == WSSS_KIND_PARAM;
    ps->items[ps->n].t = t;
    ps->items[ps->n].kind = kind;
    ps->items[ps->n].group = kind == WSSS_KIND_PARAM ? group : -1;
    ps->n++;
    return t;
}

wsss_tensor *wsss_params_add_param(wsss_params *ps, const char *name, wsss_dtype dt, int ndim,
                                   const int64_t *shape, int group) {
    WSSS_ASSERT(dt == WSSS_F32 || dt == WSSS_F64, "parameters must be floating point");
    WSSS_ASSERT(group >= 0, "optimizer group index must be >= 0");
    return add(ps, name, dt, ndim, shape, WSSS_KIND_PARAM, group);
}

wsss_tensor *wsss_params_add_buffer(wsss_params *ps, const char *name, wsss_dtype dt, int ndim,
                                    const int64_t *shape) {
    return add(ps, name, dt, ndim, shape, WSSS_KIND_BUFFER, -1);
}

const wsss_param *wsss_params_find_entry(const wsss_params *ps, const char *name) {
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->items[i].t->name, name) == 0) return &ps->items[i];
    return NULL;
}

wsss_tensor *wsss_params_find(const wsss_params *ps, const char *name) {
    const wsss_param *p = wsss_params_find_entry(ps, name);
    return p ? p->t : NULL;
}

int wsss_params_count(const wsss_params *ps) { return ps->n; }

const wsss_param *wsss_params_at(const wsss_params *ps, int i) {
    WSSS_ASSERT(i >= 0 && i < ps->n, "parameter index out of range");
    return &ps->items[i];
}

int64_t wsss_params_numel(const wsss_params *ps, int trainable_only) {
    int64_t n = 0;
    for (int i = 0; i < ps->n; i++) {
        const wsss_param *p = &ps->items[i];
        if (p->kind != WSSS_KIND_PARAM || (trainable_only && !p->t->requires_grad)) continue;
        n += wsss_tensor_numel(p->t);
    }
    return n;
}

void wsss_params_zero_grad(wsss_params *ps, int drop) {
    for (int i = 0; i < ps->n; i++) {
        wsss_tensor *t = ps->items[i].t;
        if (!t->grad) continue;
        if (drop) {
            WSSS_ASSERT(t->grad->ctx == NULL, "parameter gradient owned by a context");
            wsss_tensor_free(t->grad);
            t->grad = NULL;
        } else {
            wsss_tensor_fill(t->grad, 0.0);
        }
    }
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int wsss_params_set_trainable(wsss_params *ps, const char *prefix, int on) {
    int matched = 0;
    for (int i = 0; i < ps->n; i++) {
        wsss_param *p = &ps->items[i];
        if (p->kind != WSSS_KIND_PARAM || !starts_with(p->t->name, prefix ? prefix : "")) continue;
        p->t->requires_grad = on ? 1 : 0;
        matched++;
    }
    return matched;
}

/* ---------------------------------------------------------------- saving */

void wsss_params_to_writer(const wsss_params *ps, wsss_st_writer *w, const char *prefix, int with_buffers) {
    wsss_jw name;
    wsss_jw_init(&name, 0);
    for (int i = 0; i < ps->n; i++) {
        const wsss_param *p = &ps->items[i];
        if (p->kind == WSSS_KIND_BUFFER && !with_buffers) continue;
        name.len = 0;
        name.buf[0] = 0;
        if (prefix) wsss_jw_append(&name, prefix, strlen(prefix));
        wsss_jw_append(&name, p->t->name, strlen(p->t->name));
        wsss_st_writer_add(w, name.buf, p->t);
    }
    wsss_jw_free(&name);
}

int wsss_params_save_safetensors(const wsss_params *ps, const char *path, int with_buffers) {
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_params_to_writer(ps, w, NULL, with_buffers);
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    return rc;
}

/* ---------------------------------------------------------------- loading */

typedef struct {
    wsss_jw missing, unexpected, shape, dtype;
    int n_missing, n_unexpected, n_shape, n_dtype;
} problems;

static void list_add(wsss_jw *l, int *count, const char *fmt_name, const char *extra) {
    wsss_jw_append(l, *count ? ", " : "", *count ? 2 : 0);
    wsss_jw_append(l, fmt_name, strlen(fmt_name));
    if (extra) wsss_jw_append(l, extra, strlen(extra));
    (*count)++;
}

static int in_scope(const wsss_param *p, const wsss_params_load_opts *o) {
    if (o->skip_buffers && p->kind == WSSS_KIND_BUFFER) return 0;
    return starts_with(p->t->name, o->prefix ? o->prefix : "");
}

static int ignored_file_name(const char *name, const wsss_params_load_opts *o) {
    if (!o->ignore_file_prefixes) return 0;
    for (const char *const *q = o->ignore_file_prefixes; *q; q++)
        if (starts_with(name, *q)) return 1;
    return 0;
}

int wsss_params_load_st(wsss_params *ps, const wsss_safetensors *st, const wsss_params_load_opts *opts,
                        char **report) {
    wsss_params_load_opts dflt = {0};
    const wsss_params_load_opts *o = opts ? opts : &dflt;
    const char *prefix = o->prefix ? o->prefix : "";
    size_t plen = strlen(prefix);
    if (report) *report = NULL;

    problems pr;
    memset(&pr, 0, sizeof pr);
    wsss_jw_init(&pr.missing, 0);
    wsss_jw_init(&pr.unexpected, 0);
    wsss_jw_init(&pr.shape, 0);
    wsss_jw_init(&pr.dtype, 0);
    /* which file entries are matched by a registry entry */
    unsigned char *used = wsss_xcalloc((size_t)st->n_entries + 1, 1);
    const wsss_st_entry **match = wsss_xcalloc((size_t)ps->n + 1, sizeof *match);

    for (int i = 0; i < ps->n; i++) {
        const wsss_param *p = &ps->items[i];
        if (!in_scope(p, o)) continue;
        const char *fname = p->t->name + plen;
        const wsss_st_entry *e = wsss_st_find(st, fname);
        if (!e) {
            list_add(&pr.missing, &pr.n_missing, fname, NULL);
            continue;
        }
        used[e - st->entries] = 1;
        char s1[96], s2[96], extra[256];
        int ok_shape = e->ndim == p->t->ndim;
        for (int d = 0; ok_shape && d < e->ndim; d++) ok_shape = e->shape[d] == p->t->shape[d];
        if (!ok_shape) {
            snprintf(extra, sizeof extra, " (file %s, model %s)", wsss_st_shape_str(e, s1, sizeof s1),
                     wsss_shape_str(p->t, s2, sizeof s2));
            list_add(&pr.shape, &pr.n_shape, fname, extra);
            continue;
        }
        if (!wsss_st_dtype_convertible(e->dtype, p->t->dtype)) {
            snprintf(extra, sizeof extra, " (file %s, model %s)", wsss_dtype_name(e->dtype),
                     wsss_dtype_name(p->t->dtype));
            list_add(&pr.dtype, &pr.n_dtype, fname, extra);
            continue;
        }
        match[i] = e;
    }
    for (int k = 0; k < st->n_entries; k++) {
        if (used[k] || ignored_file_name(st->entries[k].name, o)) continue;
        list_add(&pr.unexpected, &pr.n_unexpected, st->entries[k].name, NULL);
    }

    int n_problems = pr.n_missing + pr.n_unexpected + pr.n_shape + pr.n_dtype;
    /* one line per kind of problem; the error message joins them with "; " */
    wsss_jw rep, err;
    wsss_jw_init(&rep, 0);
    wsss_jw_init(&err, 0);
    const char *titles[4] = {"missing", "unexpected", "shape mismatch", "dtype mismatch"};
    int counts[4] = {pr.n_missing, pr.n_unexpected, pr.n_shape, pr.n_dtype};
    const char *lists[4] = {pr.missing.buf, pr.unexpected.buf, pr.shape.buf, pr.dtype.buf};
    for (int k = 0; k < 4; k++) {
        if (!counts[k]) continue;
        wsss_jw_printf(&rep, "%s %d: %s\n", titles[k], counts[k], lists[k]);
        wsss_jw_printf(&err, "%s%s %d: %s", err.len ? "; " : "", titles[k], counts[k], lists[k]);
    }
    int rc = WSSS_OK;
    if (o->strict && n_problems) {
        /* nothing is loaded: a partial load would leave the model in a mixed state */
        if (*prefix)
            wsss_error_set("%s: state_dict does not match the model (names under \"%s\"): %s", st->path,
                           prefix, err.buf);
        else
            wsss_error_set("%s: state_dict does not match the model: %s", st->path, err.buf);
        rc = WSSS_ERR;
    } else {
        for (int i = 0; i < ps->n && rc == WSSS_OK; i++) {
            if (!match[i]) continue;
            wsss_tensor *t = ps->items[i].t;
            if (wsss_st_load_convert(st, match[i]->name, t)) rc = WSSS_ERR;
        }
    }
    if (report && n_problems) *report = wsss_jw_take(&rep);
    wsss_jw_free(&rep);
    wsss_jw_free(&err);
    wsss_jw_free(&pr.missing);
    wsss_jw_free(&pr.unexpected);
    wsss_jw_free(&pr.shape);
    wsss_jw_free(&pr.dtype);
    free(used);
    free(match);
    return rc;
}

int wsss_params_load_safetensors(wsss_params *ps, const char *path, int strict, char **report) {
    if (report) *report = NULL;
    wsss_safetensors *st;
    if (wsss_st_open(path, &st)) return WSSS_ERR;
    wsss_params_load_opts o = {0};
    o.strict = strict;
    int rc = wsss_params_load_st(ps, st, &o, report);
    wsss_st_close(st);
    return rc;
}
