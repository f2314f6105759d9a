/* Prefetching batch loader: a ring of `prefetch` batch slots filled by worker threads in sequence
 * order and handed to the caller in the same order. Jobs are whole batches; each sample's content
 * depends only on (seed, epoch, position), so the number of workers never changes the output. */
#include "wsss/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "wsss/clock.h"
#include "wsss/error.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

/* Independent streams for the shuffle, the pair choice and the partner's augmentation. */
#define SALT_SHUFFLE 0x53485546464c45ULL
#define SALT_PAIR 0x50414952ULL
#define SALT_PARTNER_AUG 0x504152544e4552ULL

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_READY };

typedef struct slot {
    int state;
    int64_t seq;
    int64_t epoch, start, count, bindex;
    int64_t next;   /* epoch position after the global batch (the loader's position once consumed) */
    int last;
    int64_t *order; /* [batch_size] epoch-order sample indices of this job */
    int err;
    char msg[1024];
    wsss_batch b;
    int cap_n, cap_h, cap_w; /* allocated tensor sizes (0 = none yet) */
} slot;

struct wsss_loader {
    const wsss_dataset *ds;
    wsss_loader_opts o;
    int K;              /* label columns (foreground classes) */
    int load_masks;
    int nworkers, P;
    int rank, ranks;    /* the shard (0 of 1 without) */
    int64_t limit, bpe; /* samples and batches per epoch */

    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *threads;
    int running, stop;
    slot *slots;

    /* producer cursor (under mu) */
    int64_t cur_epoch, cur_pos, next_seq;
    int64_t *cur_order, cur_order_epoch;

    /* consumer side */
    int64_t consumed;
    int holding;
    int64_t pos_epoch, pos_index;
    double wait_s;
    uint8_t *warned; /* [n] bad samples already reported */
};

void wsss_loader_opts_default(wsss_loader_opts *o) {
    memset(o, 0, sizeof *o);
    o->batch_size = 8;
    o->shuffle = 1;
    o->load_masks = 1;
    o->mask_dtype = WSSS_I64;
    wsss_aug_config_default(&o->aug);
}

static int g_test_max_workers;

void wsss_loader_test_override_max_workers(int n) { g_test_max_workers = n > 0 ? n : 0; }

int wsss_loader_max_workers(void) {
    if (g_test_max_workers) return g_test_max_workers;
    int cores = wsss_physical_cores();
    return cores > 1 ? cores - 1 : 1;
}

void wsss_loader_epoch_order(const wsss_loader *l, int64_t epoch, int64_t *order) {
    for (int64_t i = 0; i < l->ds->n; i++) order[i] = i;
    if (!l->o.shuffle) return;
    wsss_rng r;
    wsss_rng_seed3(&r, l->o.seed ^ SALT_SHUFFLE, (uint64_t)epoch, 0);
    wsss_rng_shuffle_i64(&r, order, l->ds->n);
}

int64_t wsss_loader_partner(const wsss_loader *l, int64_t epoch, int64_t position, int64_t sample, int *cls) {
    int ids[WSSS_MAX_CLASSES + 1];
    int k = wsss_dataset_label_ids(l->ds, sample, ids);
    if (k == 0) {
        *cls = 0;
        return sample;
    }
    wsss_rng r;
    wsss_rng_seed3(&r, l->o.seed ^ SALT_PAIR, (uint64_t)epoch, (uint64_t)position);
    int c = ids[wsss_rng_below(&r, k)];
    int64_t count;
    const int64_t *list = wsss_dataset_class_samples(l->ds, c, &count);
    *cls = c;
    return list[wsss_rng_below(&r, count)];
}

/* ---------------------------------------------------------------- batch memory */

static void free_batch_tensors(slot *s) {
    wsss_tensor **ts[6] = {&s->b.images, &s->b.masks, &s->b.labels, &s->b.images2, &s->b.masks2, &s->b.labels2};
    for (int i = 0; i < 6; i++)
        if (*ts[i]) {
            wsss_tensor_free(*ts[i]);
            *ts[i] = NULL;
        }
    s->cap_n = s->cap_h = s->cap_w = 0;
}

/* Make the slot's tensors hold `count` samples of h x w (reallocating only on a size change). */
static void shape_batch(wsss_loader *l, slot *s, int64_t count, int h, int w) {
    int B = l->o.batch_size;
    if (s->cap_n != B || s->cap_h != h || s->cap_w != w) {
        free_batch_tensors(s);
        int pairs = l->o.pair_mode ? 2 : 1;
        for (int p = 0; p < pairs; p++) {
            wsss_tensor **img = p ? &s->b.images2 : &s->b.images, **msk = p ? &s->b.masks2 : &s->b.masks,
                        **lab = p ? &s->b.labels2 : &s->b.labels;
            *img = wsss_tensor_new4(WSSS_F32, B, 3, h, w);
            if (l->load_masks) *msk = wsss_tensor_new(l->o.mask_dtype, 3, (int64_t[]){B, h, w});
            if (l->ds->has_labels) *lab = wsss_tensor_new(WSSS_F32, 2, (int64_t[]){B, l->K});
        }
        s->cap_n = B;
        s->cap_h = h;
        s->cap_w = w;
    }
    wsss_tensor *ts[6] = {s->b.images, s->b.masks, s->b.labels, s->b.images2, s->b.masks2, s->b.labels2};
    for (int i = 0; i < 6; i++)
        if (ts[i]) ts[i]->shape[0] = count;
}

/* ---------------------------------------------------------------- one sample */

/* Load sample i (image, and mask if wanted; a missing mask becomes all 255). */
static int load_sample(wsss_loader *l, int64_t i, wsss_sample *smp) {
    int what = WSSS_LOAD_IMAGE | (l->load_masks ? WSSS_LOAD_MASK : 0);
    if (wsss_dataset_load(l->ds, i, what, smp) != WSSS_OK) return WSSS_ERR;
    if (l->load_masks && !smp->mask.data) {
        wsss_image_alloc(&smp->mask, smp->image.width, smp->image.height, 1);
        memset(smp->mask.data, WSSS_IGNORE_INDEX, (size_t)smp->image.width * smp->image.height);
    }
    return WSSS_OK;
}

/* With skip_bad, a sample that fails to load is replaced by the next one in `cands` (cyclic),
 * starting after position `at`; each bad sample is reported once. */
static int load_with_replacement(wsss_loader *l, int64_t *sample, const int64_t *cands, int64_t ncand, int64_t at,
                                 wsss_sample *smp) {
    int64_t cur = *sample;
    for (int64_t tries = 0; tries <= ncand; tries++) {
        if (load_sample(l, cur, smp) == WSSS_OK) {
            *sample = cur;
            return WSSS_OK;
        }
        if (!l->o.skip_bad) return WSSS_ERR;
        pthread_mutex_lock(&l->mu);
        int first = !l->warned[cur];
        l->warned[cur] = 1;
        pthread_mutex_unlock(&l->mu);
        if (first) fprintf(stderr, "wsss: warning: %s (sample skipped; replaced by another)\n", wsss_error_msg());
        at++;
        cur = cands ? cands[at % ncand] : (cur + 1) % l->ds->n;
    }
    return wsss_error_set("%s: no sample could be loaded (every candidate failed)", l->ds->root);
}

/* Augment a loaded sample and write it into row k of the batch (image set `which` 1 or 2). */
static int emit(wsss_loader *l, slot *s, int which, int64_t k, int64_t sample, wsss_sample *smp, wsss_rng *r) {
    wsss_aug_record rec;
    wsss_aug_apply(&l->o.aug, r, &smp->image, l->load_masks ? &smp->mask : NULL, &rec);
    int h = smp->image.height, w = smp->image.width;
    if (k == 0 && which == 1) shape_batch(l, s, s->count, h, w);
    if (h != s->cap_h || w != s->cap_w)
        return wsss_error_set("%s: augmented to %dx%d but this batch is %dx%d (add a resize or crop to the "
                              "augmentation, or use batch size 1)",
                              l->ds->image_paths[sample], w, h, s->cap_w, s->cap_h);
    wsss_aug_write_image(&l->o.aug, &smp->image, rec.valid, which == 1 ? s->b.images : s->b.images2, k);
    if (l->load_masks) wsss_aug_write_mask(&smp->mask, which == 1 ? s->b.masks : s->b.masks2, k);
    wsss_tensor *lab = which == 1 ? s->b.labels : s->b.labels2;
    if (lab) wsss_dataset_label_vector(l->ds, sample, wsss_f32(lab) + k * l->K);
    if (which == 1) {
        s->b.samples[k] = sample;
        s->b.ids[k] = l->ds->ids[sample];
    } else {
        s->b.samples2[k] = sample;
        s->b.ids2[k] = l->ds->ids[sample];
    }
    return WSSS_OK;
}

static int run_job(wsss_loader *l, slot *s, int64_t *epoch_order_buf) {
    int have_order = 0;
    for (int64_t k = 0; k < s->count; k++) {
        int64_t pos = s->start + k, sample = s->order[k];
        wsss_sample smp;
        int rc;
        if (l->o.skip_bad) { /* replacements follow the epoch order */
            if (!have_order) {
                wsss_loader_epoch_order(l, s->epoch, epoch_order_buf);
                have_order = 1;
            }
            rc = load_with_replacement(l, &sample, epoch_order_buf, l->ds->n, pos, &smp);
        } else {
            rc = load_with_replacement(l, &sample, NULL, l->ds->n, pos, &smp);
        }
        if (rc != WSSS_OK) return WSSS_ERR;
        wsss_rng r;
        wsss_rng_seed3(&r, l->o.seed, (uint64_t)s->epoch, (uint64_t)pos);
        rc = emit(l, s, 1, k, sample, &smp, &r);
        wsss_sample_free(&smp);
        if (rc != WSSS_OK) return WSSS_ERR;
        if (!l->o.pair_mode) continue;

        int cls;
        int64_t partner = wsss_loader_partner(l, s->epoch, pos, sample, &cls);
        s->b.pair_class[k] = cls;
        int64_t count = 0, at = 0;
        const int64_t *cands = NULL;
        if (cls > 0) {
            cands = wsss_dataset_class_samples(l->ds, cls, &count);
            while (at < count && cands[at] != partner) at++;
        }
        rc = cands ? load_with_replacement(l, &partner, cands, count, at, &smp)
                   : load_with_replacement(l, &partner, NULL, l->ds->n, 0, &smp);
        if (rc != WSSS_OK) return WSSS_ERR;
        wsss_rng_seed3(&r, l->o.seed ^ SALT_PARTNER_AUG, (uint64_t)s->epoch, (uint64_t)pos);
        rc = emit(l, s, 2, k, partner, &smp, &r);
        wsss_sample_free(&smp);
        if (rc != WSSS_OK) return WSSS_ERR;
    }
    return WSSS_OK;
}

/* ---------------------------------------------------------------- workers */

static void *worker_main(void *arg) {
    wsss_loader *l = arg;
#ifdef _OPENMP
    omp_set_num_threads(1); /* never multiply threads: the training thread owns the cores */
#endif
    int64_t *order_buf = wsss_xmalloc((size_t)l->ds->n * sizeof(int64_t));
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !(l->next_seq < l->consumed + l->P && l->slots[l->next_seq % l->P].state == SLOT_FREE))
            pthread_cond_wait(&l->cv_work, &l->mu);
        if (l->stop) break;
        /* take the next batch of the stream */
        if (l->cur_pos >= l->limit) {
            l->cur_epoch++;
            l->cur_pos = 0;
        }
        if (l->cur_order_epoch != l->cur_epoch) {
            wsss_loader_epoch_order(l, l->cur_epoch, l->cur_order);
            l->cur_order_epoch = l->cur_epoch;
        }
        slot *s = &l->slots[l->next_seq % l->P];
        s->state = SLOT_BUSY;
        s->seq = l->next_seq++;
        s->epoch = l->cur_epoch;
        const int64_t global = l->limit - l->cur_pos < l->o.batch_size ? l->limit - l->cur_pos : l->o.batch_size;
        const int64_t lo = global * l->rank / l->ranks, hi = global * (l->rank + 1) / l->ranks;
        s->start = l->cur_pos + lo;
        s->count = hi - lo;
        s->bindex = l->cur_pos / l->o.batch_size;
        memcpy(s->order, l->cur_order + s->start, (size_t)s->count * sizeof(int64_t));
        l->cur_pos += global;
        s->next = l->cur_pos;
        s->b.n_global = global;
        s->last = l->cur_pos >= l->limit;
        pthread_mutex_unlock(&l->mu);

        s->err = 0;
        s->b.n = s->count;
        s->b.epoch = s->epoch;
        s->b.index = s->bindex;
        s->b.first = s->start;
        s->b.last_in_epoch = s->last;
        if (run_job(l, s, order_buf) != WSSS_OK) {
            s->err = 1;
            snprintf(s->msg, sizeof s->msg, "%s", wsss_error_msg());
        }

        pthread_mutex_lock(&l->mu);
        s->state = SLOT_READY;
        pthread_cond_broadcast(&l->cv_done);
    }
    pthread_mutex_unlock(&l->mu);
    free(order_buf);
    return NULL;
}

static void start_workers(wsss_loader *l) {
    l->stop = 0;
    for (int i = 0; i < l->nworkers; i++) {
        int rc = pthread_create(&l->threads[i], NULL, worker_main, l);
        WSSS_ASSERT(rc == 0, "cannot create a loader thread");
    }
    l->running = 1;
}

static void stop_workers(wsss_loader *l) {
    if (!l->running) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->nworkers; i++) pthread_join(l->threads[i], NULL);
    l->running = 0;
}

/* ---------------------------------------------------------------- public API */

int wsss_loader_new(const wsss_dataset *ds, const wsss_loader_opts *o, wsss_loader **out) {
    *out = NULL;
    if (o->batch_size < 1) return wsss_error_set("loader: batch size %d, expected >= 1", o->batch_size);
    if (ds->n < 1) return wsss_error_set("%s: the dataset has no samples", ds->root);
    if (o->mask_dtype != WSSS_U8 && o->mask_dtype != WSSS_I64)
        return wsss_error_set("loader: mask dtype %s, expected u8 or i64", wsss_dtype_name(o->mask_dtype));
    if (o->pair_mode && !ds->has_labels)
        return wsss_error_set("%s: pair mode needs image-level labels (cls_labels.txt or masks)", ds->root);
    if (o->drop_last && ds->n < o->batch_size)
        return wsss_error_set("%s: %lld samples, fewer than one batch of %d with drop_last", ds->root,
                              (long long)ds->n, o->batch_size);
    const int ranks = o->shard_count > 1 ? o->shard_count : 1;
    if (ranks > 1 && (o->shard_rank < 0 || o->shard_rank >= ranks))
        return wsss_error_set("loader: shard %d of %d", o->shard_rank, ranks);
    if (o->batch_size % ranks)
        return wsss_error_set("--batch %d is the global batch and must divide by the %d ranks (each takes an "
                              "equal slice)",
                              o->batch_size, ranks);
    const int64_t tail = (o->drop_last ? ds->n / o->batch_size * o->batch_size : ds->n) % o->batch_size;
    if (tail > 0 && tail < ranks)
        return wsss_error_set("%s: the last batch of an epoch holds %lld samples, fewer than the %d ranks (every "
                              "rank needs one; use another --batch)",
                              ds->root, (long long)tail, ranks);
    wsss_loader *l = wsss_xcalloc(1, sizeof *l);
    l->ds = ds;
    l->rank = ranks > 1 ? o->shard_rank : 0;
    l->ranks = ranks;
    l->o = *o;
    l->K = ds->num_classes - 1;
    l->load_masks = o->load_masks && ds->mask_paths != NULL;
    int maxw = wsss_loader_max_workers();
    l->nworkers = o->workers <= 0 || o->workers > maxw ? maxw : o->workers;
    l->P = o->prefetch > 0 ? o->prefetch : 2 * l->nworkers;
    if (l->P < 2) l->P = 2;
    l->limit = o->drop_last ? ds->n / o->batch_size * o->batch_size : ds->n;
    l->bpe = (l->limit + o->batch_size - 1) / o->batch_size;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_done, NULL);
    l->threads = wsss_xcalloc((size_t)l->nworkers, sizeof(pthread_t));
    l->slots = wsss_xcalloc((size_t)l->P, sizeof(slot));
    for (int i = 0; i < l->P; i++) {
        slot *s = &l->slots[i];
        size_t B = (size_t)o->batch_size;
        s->order = wsss_xmalloc(B * sizeof(int64_t));
        s->b.samples = wsss_xmalloc(B * sizeof(int64_t));
        s->b.ids = wsss_xmalloc(B * sizeof(char *));
        if (o->pair_mode) {
            s->b.samples2 = wsss_xmalloc(B * sizeof(int64_t));
            s->b.ids2 = wsss_xmalloc(B * sizeof(char *));
            s->b.pair_class = wsss_xmalloc(B * sizeof(int));
        }
    }
    l->cur_order = wsss_xmalloc((size_t)ds->n * sizeof(int64_t));
    l->cur_order_epoch = -1;
    l->warned = wsss_xcalloc((size_t)ds->n, 1);
    start_workers(l);
    *out = l;
    return WSSS_OK;
}

void wsss_loader_free(wsss_loader *l) {
    if (!l) return;
    stop_workers(l);
    for (int i = 0; i < l->P; i++) {
        slot *s = &l->slots[i];
        free_batch_tensors(s);
        free(s->order);
        free(s->b.samples);
        free(s->b.ids);
        free(s->b.samples2);
        free(s->b.ids2);
        free(s->b.pair_class);
    }
    free(l->slots);
    free(l->threads);
    free(l->cur_order);
    free(l->warned);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_work);
    pthread_cond_destroy(&l->cv_done);
    free(l);
}

int wsss_loader_next(wsss_loader *l, const wsss_batch **out) {
    *out = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->holding) { /* hand the previous batch's slot back to the workers */
        l->slots[l->consumed % l->P].state = SLOT_FREE;
        l->consumed++;
        l->holding = 0;
        pthread_cond_broadcast(&l->cv_work);
    }
    slot *s = &l->slots[l->consumed % l->P];
    double t0 = wsss_now_seconds();
    while (!(s->state == SLOT_READY && s->seq == l->consumed)) pthread_cond_wait(&l->cv_done, &l->mu);
    l->wait_s += wsss_now_seconds() - t0;
    l->holding = 1;
    if (s->last) {
        l->pos_epoch = s->epoch + 1;
        l->pos_index = 0;
    } else {
        l->pos_epoch = s->epoch;
        l->pos_index = s->next;
    }
    pthread_mutex_unlock(&l->mu);
    if (s->err) return wsss_error_set("%s", s->msg);
    *out = &s->b;
    return WSSS_OK;
}

void wsss_loader_position(const wsss_loader *l, int64_t *epoch, int64_t *index) {
    *epoch = l->pos_epoch;
    *index = l->pos_index;
}

int wsss_loader_seek(wsss_loader *l, int64_t epoch, int64_t index) {
    if (epoch < 0 || index < 0 || index > l->ds->n)
        return wsss_error_set("loader: position (epoch %lld, index %lld) out of range (index 0..%lld)",
                              (long long)epoch, (long long)index, (long long)l->ds->n);
    stop_workers(l);
    for (int i = 0; i < l->P; i++) l->slots[i].state = SLOT_FREE;
    l->consumed = 0;
    l->next_seq = 0;
    l->holding = 0;
    l->cur_epoch = epoch;
    l->cur_pos = index;
    l->pos_epoch = epoch;
    l->pos_index = index;
    if (index >= l->limit) { /* in the dropped tail: the position is the next epoch's start */
        l->pos_epoch = epoch + 1;
        l->pos_index = 0;
    }
    start_workers(l);
    return WSSS_OK;
}

int64_t wsss_loader_batches_per_epoch(const wsss_loader *l) { return l->bpe; }
int wsss_loader_workers(const wsss_loader *l) { return l->nworkers; }
int wsss_loader_shards(const wsss_loader *l) { return l->ranks; }

double wsss_loader_wait_seconds(const wsss_loader *l) {
    pthread_mutex_lock((pthread_mutex_t *)&l->mu);
    double w = l->wait_s;
    pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
    return w;
}
