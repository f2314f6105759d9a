/* `wsss pretrain`: single-label backbone pretraining, the stand-in for ImageNet pretraining.
 *
 * Trains a model-zoo backbone (resnet18/34/50/101/152, vgg16-deeplab) with global average pooling
 * and a linear classifier "fc" (K outputs, PyTorch's default init) on a dataset in torchvision's
 * ImageFolder layout (image_folder.h): ROOT/<train split>/<class>/..., and, unless no_val,
 * ROOT/<val split>/<class>/..., whose class folders are training class folders of the same names
 * (it may lack some). Class index = position in the sorted training folder names.
 *
 * Recipe: RandomResizedCrop(size, scale (rrc_min, 1), ratio (3/4, 4/3)) or a plain resize when
 * rrc_min >= 1, horizontal flip, ImageNet normalisation; softmax cross entropy with optional label
 * smoothing; SGD with momentum or AdamW over the shared parameter groups (train_common.h, head
 * multiplier 1: every layer is new); cosine or poly lr over all iterations. The shared trainer
 * (trainer.h) runs it: checkpoint every epoch, exact resume, Ctrl-C -> checkpoint + 130, progress,
 * JSONL. After every epoch the val split is scored (images resized to size x size, BN in eval
 * mode): loss, top-1 and top-5 accuracy (top-min(5, K)) go into the JSONL "epoch" record as
 * val_loss, val_top1, val_top5 and are printed.
 *
 * Output: the backbone as safetensors with torchvision state_dict names and shapes (all parameters
 * and buffers but "fc.*"), the format `train-cls --backbone-weights` and `train-seg
 * --backbone-weights` take; metadata "wsss_model": "backbone", "arch", "num_classes" (K of the
 * pretraining data). Optionally the head: "fc.weight" (K, C), "fc.bias" (K), metadata
 * "wsss_model": "pretrain-head", "arch", "num_classes", "classes" (the folder names, one a line). */
#ifndef WSSS_PRETRAIN_H
#define WSSS_PRETRAIN_H

#include <stdint.h>

#include "wsss/config_table.h"
#include "wsss/optim.h"

/* The words of --lr-policy: cosine, poly. */
extern const wsss_choice wsss_pretrain_lr_policy_choices[];

typedef struct wsss_pretrain_config {
    const char *data;      /* ImageFolder root */
    const char *split;     /* training split folder: "train" */
    const char *val_split; /* validation split folder: "val" */
    int no_val;            /* 1: no validation pass */
    const char *run;       /* run directory (defaults of the paths below derive from it) */
    const char *ckpt;      /* checkpoint dir (default RUN/pretrain/ckpt) */
    const char *out;       /* backbone file (default RUN/pretrain/backbone.safetensors) */
    const char *head;      /* head file or NULL: not written */
    const char *log;       /* JSONL log (default RUN/logs/pretrain.jsonl) */
    const char *arch;      /* "resnet18" */
    int epochs, batch, size;
    double rrc_min, hflip;
    wsss_optim_kind optim; /* sgd (momentum) or adamw */
    double lr, momentum, weight_decay;
    wsss_lr_kind lr_policy; /* cosine or poly */
    double lr_power;
    double label_smoothing;
    int seed, workers, log_every, progress, skip_bad;
    int sync_bn; /* data-parallel: training-mode batch norm over all ranks' batches (wsss_ctx_set_sync_bn) */
    int64_t stop_after;    /* testing: behave as interrupted after this many steps (0 = off) */
} wsss_pretrain_config;

void wsss_pretrain_config_default(wsss_pretrain_config *c);
/* The config's description: its JSON form in checkpoints (config_table.h). */
extern const wsss_cfg_table wsss_pretrain_config_table;

/* Settings errors found before any work: WSSS_ERR with a message naming the option by its
 * command-line name, the value and what was expected. run checks the same first. */
int wsss_pretrain_config_check(const wsss_pretrain_config *c);

/* The checkpoint directory of a config: --ckpt, or RUN/pretrain/ckpt (malloc'd). */
char *wsss_pretrain_ckpt_dir(const wsss_pretrain_config *c);

/* Train. resume_dir: NULL or a checkpoint directory to continue (use its stored config: load it
 * with wsss_trainer_ckpt_config + from_json). Returns WSSS_OK, WSSS_ERR (message set; data errors
 * name the folder or file) or WSSS_TRAINER_INTERRUPTED (a checkpoint was saved). */
int wsss_pretrain_run(const wsss_pretrain_config *c, const char *resume_dir);

#endif
