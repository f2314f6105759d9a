/* What the training stages (train-cls, train-seg and the WSSS methods built on them) do the same
 * way around the trainer loop (trainer.h): the model's start (seeded init, backbone weights), the
 * optimizer over the four parameter groups, the shuffled training loader, and the run itself up to
 * the final model file. */
#ifndef WSSS_TRAIN_COMMON_H
#define WSSS_TRAIN_COMMON_H

#include <stdint.h>

#include "wsss/config_table.h"
#include "wsss/loader.h"
#include "wsss/models.h"
#include "wsss/optim.h"
#include "wsss/params.h"
#include "wsss/trainer.h"

/* The words of --optim: sgd (momentum) -> WSSS_OPTIM_SGD, adamw (PyTorch defaults for betas/eps)
 * -> WSSS_OPTIM_ADAMW. */
extern const wsss_choice wsss_train_optim_choices[];
/* The settings error of a stage's config check: "--OPTION VALUE: out of range (expected EXPECTED)";
 * returns WSSS_ERR. Messages name options by their command-line names and carry no stage prefix
 * (the caller adds its own). */
int wsss_train_setting_error(const char *option, double value, const char *expected);
/* The checks of the settings every training stage has (in this order): --epochs >= 1, --batch >= 1,
 * --lr > 0, --weight-decay >= 0, 0 <= --momentum < 1, 0 <= --flip <= 1. */
int wsss_train_check_common(int epochs, int batch, double lr, double weight_decay, double momentum, double hflip);
/* The segmentation-style stages' random rescale: 0 < --scale-min <= 4, --scale-min <= --scale-max <= 4. */
int wsss_train_check_scales(double scale_min, double scale_max);
/* The classification stages' input crop: --size >= 8, 0 < --rrc-min <= 1. */
int wsss_train_check_crop(int size, double rrc_min);
/* Their augmentation: a random resized crop to size x size with area fraction in [rrc_min, 1] (a
 * plain resize when rrc_min is 1), then a horizontal flip with probability hflip. */
void wsss_train_loader_crop(wsss_loader_opts *lo, int size, double rrc_min, double hflip);
/* The optimizer over a model's registry with the groups its layers are registered in: backbone
 * weights x1 with weight decay, backbone biases x2 without, new head weights x head_mult with
 * decay, head biases x 2*head_mult without. */
wsss_optim *wsss_train_optim_new(wsss_optim_kind kind, double momentum, double weight_decay, double head_mult,
                                 const wsss_params *model);
/* Loader defaults plus shuffled batches of `batch` (the last partial batch dropped when the split
 * has a full one: constant batch statistics), seed, workers, skip_bad. */
void wsss_train_loader_opts(wsss_loader_opts *lo, int64_t n_images, int batch, int seed, int workers, int skip_bad);
/* Batch norm in training needs more than one value per channel: refuse, before any training, a
 * ResNet with trained BN whose smallest batch (the loader's, from n_images) times its last feature
 * map (ceil(side / output stride) squared) is a single value. side: the training input side, given by
 * the option side_option (for the message). */
int wsss_train_check_bn_values(const wsss_model *m, const wsss_loader_opts *lo, int64_t n_images, int side,
                               const char *side_option);

/* A stage's folder of training masks as an absolute path (malloc'd; the dataset would resolve a
 * relative one against its root): given (the option --OPTION), else RUN/pseudo. NULL with a
 * message naming the folder when it is none; for the default, the message says to run `wsss
 * pseudo` first (with pseudo_args, e.g. " --bg psa", or "") or to pass --OPTION DIR. */
char *wsss_train_mask_dir(const char *given, const char *run, const char *option, const char *pseudo_args);

/* A fresh model's start: parameters initialised from rng stream (seed, stream) (each stage its own
 * stream), then the backbone weights file if given and the run is not resumed (a resumed run
 * loads its checkpoint instead). */
int wsss_train_model_start(wsss_model *m, int seed, uint64_t stream, const char *backbone_weights,
                           const char *resume_dir);

/* A stage once its model, loader, optimizer and schedule exist: the trainer loop (checkpoints,
 * JSONL log, resume), then the final model file. */
typedef struct wsss_train_loop {
    const char *stage;       /* "train-cls": log records and status lines */
    const char *ckpt_dir, *resume_dir, *log_path;
    const char *config_json; /* stored in checkpoints */
    int epochs, log_every, progress, seed;
    int sync_bn;             /* the step context synchronises training-mode batch norm across ranks */
    int64_t stop_after;
    const char *announce;    /* status line once the trainer is set up (", resumed" added) or NULL */
    const char *note;        /* NULL, or the JSONL start record's "note" (wsss_trainer_opts.note) */
    wsss_params *params;
    wsss_optim *opt;
    const wsss_lr_schedule *sched;
    wsss_loader *loader;
    wsss_trainer_step_fn step;
    void *step_user;
    wsss_ctx **step_ctx;     /* the step's graph context, made for the run (oneDNN layouts kept) */
    const char *out;         /* final model file, written by save(model, out) after a complete run */
    int (*save)(const void *model, const char *path);
    const void *model;
    const char *written;     /* the final status line's words for what save wrote, or NULL: "model written to OUT" */
    /* optional, as wsss_trainer_opts.epoch_end: e.g. a validation pass after every epoch */
    int (*epoch_end)(void *epoch_user, wsss_trainer *t, wsss_trainer_stats *stats);
    void *epoch_user;
    /* optional: networks trained beside params (trainer parts 1.., e.g. a method's adversary), the
     * first one's part name then (default "model") and the phase rule (trainer.h) */
    int n_extra;
    const wsss_trainer_part *extra;
    const char *part_name;
    wsss_trainer_phase_fn phase;
    void *phase_user;
} wsss_train_loop;

/* WSSS_OK, WSSS_ERR (message set) or WSSS_TRAINER_INTERRUPTED (a checkpoint was saved). */
int wsss_train_loop_run(const wsss_train_loop *l);

#endif
