/* Prefetching batch loader over a wsss_dataset.
 *
 * Background worker threads decode and augment the next batches while the caller trains on the
 * current one. Everything a batch holds is a pure function of (seed, epoch, position in epoch):
 *  - the epoch order is a shuffle seeded from (seed, epoch);
 *  - the augmentation of the sample at position p is seeded from (seed, epoch, p);
 *  - pair mode (co-attention, mcis.md §5): the partner of the image at position p picks one of
 *    its positive classes uniformly, then a partner uniformly among all images with that class
 *    (possibly itself), from a generator seeded from (seed, epoch, p).
 * So a loader that seeks to a saved position (epoch, index) yields exactly the batches the
 * original would have, whatever the number of workers.
 *
 * Workers: at most max(1, cores - 1), so workers + the training thread never exceed the cores.
 * Worker threads run their OpenMP regions (if any) with one thread. */
#ifndef WSSS_LOADER_H
#define WSSS_LOADER_H

#include <stdint.h>

#include "wsss/augment.h"
#include "wsss/dataset.h"
#include "wsss/tensor.h"

typedef struct wsss_loader_opts {
    int batch_size;        /* 8 */
    int drop_last;         /* 0: the last batch of an epoch may be smaller */
    int shuffle;           /* 1: per-epoch shuffle; 0: list order */
    uint64_t seed;         /* 0 */
    int workers;           /* 0 = auto (cores - 1, at least 1); larger requests are clamped */
    int prefetch;          /* batches prepared ahead (0 = 2 per worker, at least 2) */
    int pair_mode;         /* 1: every image gets a class-sharing partner (images2, ...) */
    int load_masks;        /* 1: masks tensor (255 where the dataset has no mask for a sample) */
    wsss_dtype mask_dtype; /* WSSS_I64 (default) or WSSS_U8 */
    int skip_bad;          /* 0: a bad file is an error; 1: warn and use the next sample in the
                              epoch order instead (deterministic) */
    wsss_aug_config aug;   /* default: no augmentation, ImageNet normalisation */
    /* Data-parallel shards (shard_count 0 or 1: none). With shard_count = N, batch_size is the
     * global batch and must divide by N: this loader yields rank shard_rank's slice of every global
     * batch (positions first + r*n/N .. first + (r+1)*n/N - 1 of a batch of n), so the N loaders
     * together yield exactly the batches of one unsharded loader. Positions, batch indices and
     * last_in_epoch stay global (a checkpoint's position is valid at any N). */
    int shard_rank, shard_count;
} wsss_loader_opts;

void wsss_loader_opts_default(wsss_loader_opts *o);

/* One batch. Tensors are owned by the loader and valid until the next wsss_loader_next, seek or
 * free; shape[0] = n. */
typedef struct wsss_batch {
    int64_t n;             /* samples in this batch (this shard's) */
    int64_t n_global;      /* samples of the global batch this is a slice of (= n without shards) */
    int64_t epoch;         /* epoch this batch belongs to */
    int64_t index;         /* batch index within the epoch */
    int64_t first;         /* epoch position of its first sample (this shard's) */
    int last_in_epoch;     /* 1 for the epoch's last batch */
    wsss_tensor *images;   /* F32 n,3,H,W normalised */
    wsss_tensor *masks;    /* n,H,W (U8 or I64) or NULL when masks are not loaded */
    wsss_tensor *labels;   /* F32 n,K multi-hot, K = num_classes - 1 (foreground only); NULL if the
                              dataset has no image-level labels */
    int64_t *samples;      /* dataset sample indices [n] */
    const char **ids;      /* [n], pointing into the dataset */
    /* pair mode only (else NULL): the partners, same layout */
    wsss_tensor *images2, *masks2, *labels2;
    int64_t *samples2;
    const char **ids2;
    int *pair_class;       /* [n] the shared class picked for each pair (1-based; 0 if the image
                              has no foreground class: then the partner is the image itself) */
} wsss_batch;

typedef struct wsss_loader wsss_loader;

/* The dataset must outlive the loader. Errors: bad options (returns WSSS_ERR, *out = NULL). */
int wsss_loader_new(const wsss_dataset *ds, const wsss_loader_opts *o, wsss_loader **out);
void wsss_loader_free(wsss_loader *l);

/* Next batch; epochs follow each other without end (check batch->epoch / last_in_epoch).
 * Returns WSSS_ERR (message naming the file) if a sample could not be loaded and skip_bad is 0. */
int wsss_loader_next(wsss_loader *l, const wsss_batch **out);

/* Position of the next sample to be returned: after a batch, the position just past it (a new
 * epoch starts at index 0). Save it with a checkpoint; wsss_loader_seek restores it exactly. */
void wsss_loader_position(const wsss_loader *l, int64_t *epoch, int64_t *index);
int wsss_loader_seek(wsss_loader *l, int64_t epoch, int64_t index);

int64_t wsss_loader_batches_per_epoch(const wsss_loader *l);
int wsss_loader_shards(const wsss_loader *l); /* shard_count (1 without shards) */
int wsss_loader_workers(const wsss_loader *l);
/* Seconds the caller spent blocked in wsss_loader_next waiting for data (since creation). */
double wsss_loader_wait_seconds(const wsss_loader *l);

/* Deterministic pieces, exposed for tests and tools. */
void wsss_loader_epoch_order(const wsss_loader *l, int64_t epoch, int64_t *order); /* [ds->n] */
/* Partner of `sample` at (epoch, position); *cls receives the shared class (0 if none). */
int64_t wsss_loader_partner(const wsss_loader *l, int64_t epoch, int64_t position, int64_t sample, int *cls);
/* The largest worker count the machine allows: max(1, cores - 1). */
int wsss_loader_max_workers(void);
/* Tests only: raise the worker cap to n (0 = back to the machine's cap), so that out-of-order
 * completion by several workers can be exercised on a small machine. */
void wsss_loader_test_override_max_workers(int n);

#endif
