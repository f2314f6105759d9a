/* WSSS methods behind one small interface, so a method is a file (method_cam.c, method_mcis.c,
 * method_eader.c, method_mcis_eader.c) and not a fork of the classifier stage (train_cls.c) or of `wsss cam`:
 *   build    its networks onto a classifier the zoo made (registered in the same registry, so
 *            checkpoints, model files and the optimizer's groups cover them);
 *   parts    the networks it trains beside the classifier but does not keep in its model file
 *            (EADER's adversary): further trainer parts with their own registry, optimizer and
 *            schedule, and the phase rule that says which part steps when (trainer.h);
 *   loss     one training step's scalar loss on a batch (the stage runs backward and the step);
 *   maps     the localisation maps of a batch of images, or of one image with the split around it
 *            (MCIS's test-time co-attention pairs it with related images).
 * The classifier records its method (classifier.h): the model file's metadata "method" (absent:
 * cam) and the stored run config's "method" say which one built it. */
#ifndef WSSS_METHOD_H
#define WSSS_METHOD_H

#include <stdint.h>

#include "wsss/classifier.h"
#include "wsss/config_table.h"
#include "wsss/dataset.h"
#include "wsss/loader.h"
#include "wsss/trainer.h"

struct wsss_train_cls_config;

typedef enum { WSSS_METHOD_CAM = 0, WSSS_METHOD_MCIS, WSSS_METHOD_EADER, WSSS_METHOD_MCIS_EADER } wsss_method_kind;
/* The words of --method and of the stored settings: cam, mcis, eader, mcis+eader. */
extern const wsss_choice wsss_method_choices[];

/* The networks a method trains beside the classifier (the classifier is trainer part 0). */
typedef struct wsss_method_parts {
    int n;                       /* further parts (0: the classifier alone) */
    wsss_trainer_part part[WSSS_TRAINER_MAX_PARTS - 1];
    const char *first;           /* the classifier's part name with them (e.g. "localizer") */
    wsss_trainer_phase_fn phase; /* which parts step at each step, and its argument */
    void *phase_user;
    void *state;                 /* the method's own: its networks and optimizers */
} wsss_method_parts;

/* A training run as a method's loss sees it. */
typedef struct wsss_method_run {
    const struct wsss_train_cls_config *cfg;
    const wsss_dataset *ds; /* the training split (MCIS reads its un-jittered self-pair views) */
    wsss_classifier *cls;
    const wsss_method_parts *parts; /* its further networks (parts->state) */
    const wsss_trainer *trainer;    /* the step's trainer: t->active says which parts step */
} wsss_method_run;

/* What a method's per-image maps see (test-time settings of `wsss cam`). */
typedef struct wsss_method_maps {
    wsss_ctx *ctx; /* scratch */
    wsss_classifier *cls;
    const wsss_dataset *ds; /* the split being mapped: related images come from it */
    int size;               /* the square input side (MCIS: 256) */
    int related;            /* related images per labelled class (MCIS: 3) */
    uint64_t seed;          /* of their draws */
} wsss_method_maps;

typedef struct wsss_method_ops {
    wsss_method_kind kind;
    const char *name;
    /* The method's recipe: its changes to train-cls's defaults (NULL: none). */
    void (*recipe)(struct wsss_train_cls_config *cfg);
    /* Settings it cannot train with, before any work: WSSS_ERR naming the option (NULL: any). */
    int (*check)(const struct wsss_train_cls_config *cfg);
    /* Add its networks to c (just built by the zoo, parameters zero): c->method_net. WSSS_ERR
     * naming the arch when the classifier cannot take them. NULL: none (then reset/free too). */
    int (*build)(wsss_classifier *c);
    void (*reset)(wsss_classifier *c, wsss_rng *rng);
    void (*free)(wsss_classifier *c);
    /* Start the networks it trains beside classifier c (NULL: none): their parameters from the
     * run's seed or weights files (a resumed run's checkpoint replaces them), an optimizer each,
     * schedule sched; fill mp. WSSS_ERR naming the option or file, before any training. */
    int (*parts_begin)(const struct wsss_train_cls_config *cfg, const wsss_classifier *c,
                       const wsss_lr_schedule *sched, const char *resume_dir, wsss_method_parts *mp);
    void (*parts_end)(wsss_method_parts *mp);
    /* What its batches need from the loader (e.g. pair mode) for classifier c; NULL: nothing more. */
    void (*loader)(const wsss_classifier *c, wsss_loader_opts *lo);
    /* One step's scalar loss on batch b (training mode) in ctx; epoch: 0-based index of the epoch
     * being trained. Fills stats->aux (the caller sets stats->loss). NULL + message on error. */
    wsss_tensor *(*loss)(wsss_ctx *ctx, const wsss_method_run *r, const wsss_batch *b, int64_t epoch,
                         wsss_trainer_stats *stats);
    /* Raw localisation maps N,K,h,w of normalised images x (N,3,H,W), inference. */
    wsss_tensor *(*maps)(wsss_ctx *ctx, wsss_classifier *c, wsss_tensor *x);
    /* The final maps of sample i (its image img) for classes[0..n-1]: *out = persistent F32
     * [n, H, W] in [0,1], as `wsss cam` stores them. NULL: the multi-scale CAM of `maps` (cam.h). */
    int (*image_maps)(const wsss_method_maps *mm, int64_t i, const wsss_image *img, int n, const int *classes,
                      wsss_tensor **out);
} wsss_method_ops;

/* The method of a kind (asserts it is one of wsss_method_choices). */
const wsss_method_ops *wsss_method_get(wsss_method_kind kind);

/* The methods (their files). */
extern const wsss_method_ops wsss_method_cam;
extern const wsss_method_ops wsss_method_mcis;
extern const wsss_method_ops wsss_method_eader;
extern const wsss_method_ops wsss_method_mcis_eader;

#endif
