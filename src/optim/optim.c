/* Optimizer object: parameter registration, group lr/weight decay, step dispatch, and state
 * save/load keyed by parameter name. The update math lives in sgd.c and adamw.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim_internal.h"
#include "wsss/error.h"
#include "wsss/params.h"

wsss_optim_config wsss_optim_sgd_config(double momentum, double dampening, int nesterov) {
    wsss_optim_config c = {0};
    c.kind = WSSS_OPTIM_SGD;
    c.momentum = momentum;
    c.dampening = dampening;
    c.nesterov = nesterov;
    return c;
}

wsss_optim_config wsss_optim_adamw_config(void) {
    wsss_optim_config c = {0};
    c.kind = WSSS_OPTIM_ADAMW;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    return c;
}

wsss_optim *wsss_optim_new(const wsss_optim_config *cfg, int n_groups, const wsss_optim_group *groups) {
    WSSS_ASSERT(cfg->kind == WSSS_OPTIM_SGD || cfg->kind == WSSS_OPTIM_ADAMW, "unknown optimizer kind");
    WSSS_ASSERT(n_groups >= 1 && groups, "an optimizer needs at least one parameter group");
    if (cfg->kind == WSSS_OPTIM_SGD) {
        WSSS_ASSERT(cfg->momentum >= 0 && cfg->dampening >= 0, "SGD momentum/dampening must be >= 0");
        WSSS_ASSERT(!cfg->nesterov || (cfg->momentum > 0 && cfg->dampening == 0),
                    "Nesterov momentum requires a momentum and zero dampening");
    } else {
        WSSS_ASSERT(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1,
                    "AdamW betas must be in [0, 1)");
        WSSS_ASSERT(cfg->eps >= 0, "AdamW eps must be >= 0");
    }
    for (int i = 0; i < n_groups; i++)
        WSSS_ASSERT(groups[i].lr_mult >= 0 && groups[i].weight_decay >= 0,
                    "group lr multiplier and weight decay must be >= 0");
    wsss_optim *o = wsss_xcalloc(1, sizeof *o);
    o->cfg = *cfg;
    o->n_groups = n_groups;
    o->groups = wsss_xmalloc(sizeof *o->groups * (size_t)n_groups);
    memcpy(o->groups, groups, sizeof *o->groups * (size_t)n_groups);
    return o;
}

void wsss_optim_free(wsss_optim *o) {
    if (!o) return;
    for (int i = 0; i < o->n_slots; i++) {
        for (int b = 0; b < 3; b++) wsss_tensor_free(o->slots[i].buf[b]);
        wsss_tensor_free(o->slots[i].step_t);
    }
    free(o->slots);
    free(o->groups);
    free(o);
}

/* The state key of a parameter: its name, or "param<index>" when unnamed. */
static void slot_key(const wsss_optim *o, int i, char *buf, size_t n) {
    const char *name = o->slots[i].param->name;
    if (name && name[0])
        snprintf(buf, n, "%s", name);
    else
        snprintf(buf, n, "param%d", i);
}

void wsss_optim_add_param(wsss_optim *o, wsss_tensor *param, int group) {
    WSSS_ASSERT(param && param->ctx == NULL, "optimizer parameters must be persistent tensors");
    WSSS_ASSERT(param->dtype == WSSS_F32 && wsss_tensor_is_contiguous(param),
                "optimizer parameters must be contiguous F32 tensors");
    WSSS_ASSERT(group >= 0 && group < o->n_groups, "parameter group index out of range");
    for (int i = 0; i < o->n_slots; i++) {
        WSSS_ASSERT(o->slots[i].param != param, "parameter registered twice");
        const char *a = o->slots[i].param->name;
        WSSS_ASSERT(!(a && param->name && a[0] && strcmp(a, param->name) == 0),
                    "two optimizer parameters share a name");
    }
    if (o->n_slots == o->cap_slots) {
        o->cap_slots = o->cap_slots ? 2 * o->cap_slots : 16;
        o->slots = wsss_xrealloc(o->slots, sizeof *o->slots * (size_t)o->cap_slots);
    }
    wsss_optim_slot *s = &o->slots[o->n_slots++];
    memset(s, 0, sizeof *s);
    s->param = param;
    s->group = group;
    s->step_t = wsss_tensor_new(WSSS_I64, 1, (int64_t[]){1});
}

void wsss_optim_add_params(wsss_optim *o, const wsss_params *reg) {
    for (int i = 0; i < wsss_params_count(reg); i++) {
        const wsss_param *e = wsss_params_at(reg, i);
        if (e->kind == WSSS_KIND_PARAM) wsss_optim_add_param(o, e->t, e->group);
    }
}

void wsss_optim_step(wsss_optim *o, double base_lr) {
    for (int i = 0; i < o->n_slots; i++) {
        wsss_optim_slot *s = &o->slots[i];
        if (!s->param->grad || !s->param->requires_grad) continue; /* PyTorch skips grad=None */
        WSSS_ASSERT(wsss_tensor_same_shape(s->param->grad, s->param) && s->param->grad->dtype == WSSS_F32 &&
                        wsss_tensor_is_contiguous(s->param->grad),
                    "parameter gradient must be a contiguous F32 tensor of the parameter's shape");
        const wsss_optim_group *g = &o->groups[s->group];
        const double lr = base_lr * g->lr_mult;
        s->step++;
        if (o->cfg.kind == WSSS_OPTIM_SGD)
            wsss_optim_sgd_update(&o->cfg, s, lr, g->weight_decay);
        else
            wsss_optim_adamw_update(&o->cfg, s, lr, g->weight_decay);
        wsss_tensor_bump_version(s->param); /* invalidates weights cached in kernel layouts */
    }
}

void wsss_optim_zero_grad(wsss_optim *o) {
    for (int i = 0; i < o->n_slots; i++)
        if (o->slots[i].param->grad) wsss_tensor_fill(o->slots[i].param->grad, 0.0);
}

int wsss_optim_n_bufs(const wsss_optim *o) {
    if (o->cfg.kind == WSSS_OPTIM_SGD) return o->cfg.momentum != 0.0 ? 1 : 0;
    return o->cfg.amsgrad ? 3 : 2;
}

const char *wsss_optim_buf_name(const wsss_optim *o, int i) {
    static const char *const sgd[] = {"momentum_buffer"};
    static const char *const adam[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    WSSS_ASSERT(i >= 0 && i < wsss_optim_n_bufs(o), "optimizer buffer index out of range");
    return o->cfg.kind == WSSS_OPTIM_SGD ? sgd[i] : adam[i];
}

static const char *kind_name(wsss_optim_kind k) { return k == WSSS_OPTIM_SGD ? "sgd" : "adamw"; }

#define STATE_FORMAT "wsss-optim-1"

void wsss_optim_state_add(const wsss_optim *o, wsss_st_writer *w) {
    char key[512], name[600], val[64];
    wsss_st_writer_meta(w, "format", STATE_FORMAT);
    wsss_st_writer_meta(w, "optimizer", kind_name(o->cfg.kind));
    snprintf(val, sizeof val, "%d", wsss_optim_n_bufs(o));
    wsss_st_writer_meta(w, "n_buffers", val);
    for (int i = 0; i < o->n_slots; i++) {
        const wsss_optim_slot *s = &o->slots[i];
        slot_key(o, i, key, sizeof key);
        ((int64_t *)s->step_t->data)[0] = s->step;
        snprintf(name, sizeof name, "%s.step", key);
        wsss_st_writer_add(w, name, s->step_t);
        for (int b = 0; b < wsss_optim_n_bufs(o); b++) {
            if (!s->buf[b]) continue; /* no step yet */
            snprintf(name, sizeof name, "%s.%s", key, wsss_optim_buf_name(o, b));
            wsss_st_writer_add(w, name, s->buf[b]);
        }
    }
}

int wsss_optim_state_save(const wsss_optim *o, const char *path) {
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_optim_state_add(o, w);
    int rc = wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    return rc;
}

/* Index of the slot whose key is the first `len` bytes of `name`, or -1. */
static int find_slot(const wsss_optim *o, const char *name, size_t len) {
    char key[512];
    for (int i = 0; i < o->n_slots; i++) {
        slot_key(o, i, key, sizeof key);
        if (strlen(key) == len && memcmp(key, name, len) == 0) return i;
    }
    return -1;
}

int wsss_optim_state_load(wsss_optim *o, const wsss_safetensors *st) {
    const char *path = st->path ? st->path : "optimizer state";
    const char *fmt = wsss_st_meta(st, "format");
    if (!fmt || strcmp(fmt, STATE_FORMAT) != 0)
        return wsss_error_set("%s: metadata 'format' is '%s', expected '%s'", path, fmt ? fmt : "(missing)",
                              STATE_FORMAT);
    const char *kind = wsss_st_meta(st, "optimizer");
    if (!kind || strcmp(kind, kind_name(o->cfg.kind)) != 0)
        return wsss_error_set("%s: metadata 'optimizer' is '%s', expected '%s'", path,
                              kind ? kind : "(missing)", kind_name(o->cfg.kind));
    const int nb = wsss_optim_n_bufs(o);
    const char *nbs = wsss_st_meta(st, "n_buffers");
    char want_nb[16];
    snprintf(want_nb, sizeof want_nb, "%d", nb);
    if (!nbs || strcmp(nbs, want_nb) != 0)
        return wsss_error_set("%s: metadata 'n_buffers' is '%s', expected '%s' (momentum/amsgrad setting differs)",
                              path, nbs ? nbs : "(missing)", want_nb);

    /* Every entry must belong to a registered parameter: a stray entry means the model differs. */
    for (int e = 0; e < st->n_entries; e++) {
        const char *name = st->entries[e].name;
        const char *dot = strrchr(name, '.');
        int ok = 0;
        if (dot && find_slot(o, name, (size_t)(dot - name)) >= 0) {
            if (strcmp(dot + 1, "step") == 0) ok = 1;
            for (int b = 0; b < nb; b++)
                if (strcmp(dot + 1, wsss_optim_buf_name(o, b)) == 0) ok = 1;
        }
        if (!ok)
            return wsss_error_set("%s: tensor '%s' is not the state of any parameter of this model/optimizer",
                                  path, name);
    }

    /* Load everything into temporaries first so that a failure leaves the optimizer unchanged. */
    const int n = o->n_slots;
    int64_t *steps = wsss_xcalloc((size_t)(n ? n : 1), sizeof *steps);
    wsss_tensor **bufs = wsss_xcalloc((size_t)(n ? n : 1) * 3, sizeof *bufs);
    int rc = WSSS_OK;
    char key[512], name[600];
    for (int i = 0; i < n && rc == WSSS_OK; i++) {
        const wsss_optim_slot *s = &o->slots[i];
        slot_key(o, i, key, sizeof key);
        snprintf(name, sizeof name, "%s.step", key);
        const wsss_st_entry *e = wsss_st_find(st, name);
        if (!e) {
            rc = wsss_error_set("%s: tensor '%s' missing (no optimizer state for parameter '%s')", path, name, key);
            break;
        }
        if (e->dtype != WSSS_I64 || e->ndim != 1 || e->shape[0] != 1) {
            rc = wsss_error_set("%s: tensor '%s' must be I64 of shape [1]", path, name);
            break;
        }
        wsss_tensor *t = wsss_st_load(st, name);
        if (!t) {
            rc = WSSS_ERR;
            break;
        }
        steps[i] = ((int64_t *)t->data)[0];
        wsss_tensor_free(t);
        if (steps[i] < 0) {
            rc = wsss_error_set("%s: tensor '%s' is %lld, expected a step count >= 0", path, name,
                                (long long)steps[i]);
            break;
        }
        for (int b = 0; b < nb; b++) {
            snprintf(name, sizeof name, "%s.%s", key, wsss_optim_buf_name(o, b));
            int present = wsss_st_find(st, name) != NULL;
            if (steps[i] == 0) {
                if (present) {
                    rc = wsss_error_set("%s: tensor '%s' present but '%s.step' is 0", path, name, key);
                    break;
                }
                continue;
            }
            if (!present) {
                rc = wsss_error_set("%s: tensor '%s' missing (parameter '%s' has taken %lld steps)", path, name,
                                    key, (long long)steps[i]);
                break;
            }
            bufs[3 * i + b] = wsss_tensor_new(WSSS_F32, s->param->ndim, s->param->shape);
            /* names the file, the tensor and both shapes */
            if (wsss_st_load_into(st, name, bufs[3 * i + b]) != WSSS_OK) {
                rc = WSSS_ERR;
                break;
            }
        }
    }
    if (rc == WSSS_OK) {
        for (int i = 0; i < n; i++) {
            wsss_optim_slot *s = &o->slots[i];
            s->step = steps[i];
            for (int b = 0; b < 3; b++) {
                wsss_tensor_free(s->buf[b]);
                s->buf[b] = bufs[3 * i + b];
                bufs[3 * i + b] = NULL;
            }
        }
    }
    for (int i = 0; i < 3 * n; i++) wsss_tensor_free(bufs[i]);
    free(bufs);
    free(steps);
    return rc;
}
