/* The trainer's data-parallel steps: parameter broadcast, the per-step agreement on losses, failures
 * and signals, and the bucketed gradient allreduce (trainer_dist.h). */
#include "wsss/trainer_dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/dist.h"
#include "wsss/error.h"

/* floats per allreduce: big enough that the per-call latency does not matter, small enough that
 * the staging buffer stays modest */
#define BUCKET ((int64_t)4 << 20)

int wsss_trainer_dist_start(wsss_trainer *t) {
    const int n = wsss_dist_size();
    if (n <= 1) return WSSS_OK;
    if (wsss_loader_shards(t->loader) != n)
        return wsss_error_set("trainer: %d ranks, but the loader is split in %d shards (set its shard_rank and "
                              "shard_count)",
                              n, wsss_loader_shards(t->loader));
    for (int i = 0; i < t->n_parts; i++) {
        const wsss_params *ps = t->parts[i].params;
        for (int j = 0; j < ps->n; j++) {
            wsss_tensor *x = wsss_tensor_plain(ps->items[j].t);
            wsss_dist_broadcast(x->data, (int64_t)wsss_tensor_nbytes(x));
            wsss_tensor_bump_version(x);
        }
    }
    return WSSS_OK;
}

/* this rank's share of the global batch */
static double weight_of(const wsss_batch *b) { return b && b->n_global > 0 ? (double)b->n / (double)b->n_global : 0; }

enum { A_LOSS, A_PART, A_AUX = A_PART + WSSS_TRAINER_MAX_PARTS, A_FAILED = A_AUX + WSSS_TRAINER_MAX_AUX, A_STOP, A_N };

/* Tests: WSSS_TEST_NAN_AT=R:S makes rank R's loss NaN at step S (a NaN on one rank only). */
static int injected_nan(const wsss_trainer *t) {
    const char *e = getenv("WSSS_TEST_NAN_AT");
    int r, s;
    return e && sscanf(e, "%d:%d", &r, &s) == 2 && r == wsss_dist_rank() && s == t->step;
}

int wsss_trainer_dist_agree(const wsss_trainer *t, const wsss_batch *b, wsss_trainer_stats *stats, int *failed,
                            int *stop) {
    if (wsss_dist_size() <= 1) return WSSS_OK;
    if (injected_nan(t)) stats->loss = NAN;
    double v[A_N] = {0};
    if (!*failed) {
        const double w = weight_of(b);
        v[A_LOSS] = w * stats->loss;
        for (int i = 0; i < WSSS_TRAINER_MAX_PARTS; i++) v[A_PART + i] = w * stats->part_loss[i];
        for (int i = 0; i < WSSS_TRAINER_MAX_AUX; i++) v[A_AUX + i] = w * stats->aux[i];
    }
    v[A_FAILED] = *failed ? 1 : 0;
    v[A_STOP] = *stop ? 1 : 0;
    wsss_dist_allreduce_sum_f64(v, A_N);
    if (*failed) {
        wsss_error_prefix("rank %d", wsss_dist_rank());
        return WSSS_OK;
    }
    *stop = v[A_STOP] > 0;
    if (v[A_FAILED] > 0) {
        *failed = 1;
        return wsss_error_set("rank %d stops: %d other rank(s) failed at this step (their message is above)",
                              wsss_dist_rank(), (int)v[A_FAILED]);
    }
    stats->loss = v[A_LOSS];
    for (int i = 0; i < WSSS_TRAINER_MAX_PARTS; i++) stats->part_loss[i] = v[A_PART + i];
    for (int i = 0; i < WSSS_TRAINER_MAX_AUX; i++) stats->aux[i] = v[A_AUX + i];
    return WSSS_OK;
}

/* Calls fn(user, param) for every trainable parameter of the active parts, in the same order on
 * every rank. */
static void each_param(wsss_trainer *t, void (*fn)(void *user, wsss_tensor *p), void *user) {
    for (int i = 0; i < t->n_parts; i++) {
        if (!(t->active >> i & 1u)) continue;
        const wsss_params *ps = t->parts[i].params;
        for (int j = 0; j < ps->n; j++) {
            wsss_tensor *p = ps->items[j].t;
            if (ps->items[j].kind == WSSS_KIND_PARAM && p->requires_grad) fn(user, p);
        }
    }
}

typedef struct flat {
    float *buf;         /* staging bucket [BUCKET] */
    int64_t used;       /* floats in it */
    float scale;        /* this rank's weight */
    wsss_tensor **seg;  /* the gradients whose values are in the bucket, in order */
    int64_t *seg_at;    /* where each one's piece starts in its gradient */
    int64_t *seg_n;     /* and its length */
    int nseg, capseg;
    float *presence;    /* first pass: 1 per parameter with a gradient */
    int npres, cappres;
} flat;

static void count_presence(void *user, wsss_tensor *p) {
    flat *f = user;
    if (f->npres == f->cappres) {
        f->cappres = f->cappres ? 2 * f->cappres : 256;
        f->presence = wsss_xrealloc(f->presence, (size_t)f->cappres * sizeof(float));
    }
    f->presence[f->npres++] = p->grad ? 1.0f : 0.0f;
}

static void give_missing(void *user, wsss_tensor *p) {
    flat *f = user;
    if (!p->grad && f->presence[f->npres] > 0) p->grad = wsss_tensor_new(WSSS_F32, p->ndim, p->shape);
    f->npres++;
}

/* reduce the bucket and copy the sums back into the gradients */
static void flush(flat *f) {
    if (!f->used) return;
    wsss_dist_allreduce_sum_f32(f->buf, f->used);
    int64_t at = 0;
    for (int k = 0; k < f->nseg; k++) {
        memcpy(wsss_f32(f->seg[k]) + f->seg_at[k], f->buf + at, (size_t)f->seg_n[k] * sizeof(float));
        wsss_tensor_bump_version(f->seg[k]);
        at += f->seg_n[k];
    }
    f->used = 0;
    f->nseg = 0;
}

static void pack(void *user, wsss_tensor *p) {
    flat *f = user;
    if (!p->grad) return;
    wsss_tensor *g = p->grad;
    const float *src = wsss_f32(g);
    const int64_t n = wsss_tensor_numel(g);
    for (int64_t at = 0; at < n;) {
        if (f->used == BUCKET) flush(f);
        int64_t k = n - at < BUCKET - f->used ? n - at : BUCKET - f->used;
        float *dst = f->buf + f->used;
        for (int64_t i = 0; i < k; i++) dst[i] = src[at + i] * f->scale;
        if (f->nseg == f->capseg) {
            f->capseg = f->capseg ? 2 * f->capseg : 64;
            f->seg = wsss_xrealloc(f->seg, (size_t)f->capseg * sizeof *f->seg);
            f->seg_at = wsss_xrealloc(f->seg_at, (size_t)f->capseg * sizeof *f->seg_at);
            f->seg_n = wsss_xrealloc(f->seg_n, (size_t)f->capseg * sizeof *f->seg_n);
        }
        f->seg[f->nseg] = g;
        f->seg_at[f->nseg] = at;
        f->seg_n[f->nseg] = k;
        f->nseg++;
        f->used += k;
        at += k;
    }
}

void wsss_trainer_dist_grads(wsss_trainer *t, const wsss_batch *b) {
    if (wsss_dist_size() <= 1) return;
    flat f;
    memset(&f, 0, sizeof f);
    each_param(t, count_presence, &f);
    wsss_dist_allreduce_sum_f32(f.presence, f.npres);
    f.npres = 0;
    each_param(t, give_missing, &f);
    f.buf = wsss_xmalloc((size_t)BUCKET * sizeof(float));
    f.scale = (float)weight_of(b);
    each_param(t, pack, &f);
    flush(&f);
    free(f.buf);
    free(f.seg);
    free(f.seg_at);
    free(f.seg_n);
    free(f.presence);
}

int wsss_trainer_dist_finish(int rc) {
    if (wsss_dist_size() <= 1) return rc;
    int r0 = rc;
    wsss_dist_broadcast(&r0, sizeof r0);
    if (wsss_dist_rank() == 0 || r0 == rc) return rc;
    if (r0 == WSSS_ERR) return wsss_error_set("rank 0 failed (its message is above)");
    return r0;
}
