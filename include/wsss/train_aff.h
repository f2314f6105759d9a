/* `wsss train-aff`: train PSA's AffinityNet (affinity_net.h; refinement.md §b.2-§b.4) on the pseudo
 * labels' sure and uncertain regions, with the shared trainer loop (trainer.h).
 *
 * Training labels: the label maps `wsss pseudo --bg psa` writes (RUN/pseudo, or --labels DIR): 0 =
 * sure background (the high-background CRF says background), a class id = sure foreground (the
 * low-background CRF says that class), 255 = uncertain. This is refinement.md §b.1's low-storage
 * option, a deviation from PSA, which keeps both CRF score stacks and average-pools them 8 x 8: here
 * each 8 x 8 block of the training crop takes the most frequent label of its pixels
 * (wsss_aff_cell_labels_from_map; padding and uncertain pixels count as 255). The runs say so in
 * the status line, the JSONL start record ("note") and the model file ("labels" metadata).
 *
 * Per crop (§b.2): random rescale by a factor uniform in [scale_min, scale_max] (the project's
 * stand-in for PSA's RandomResizeLong(448, 768)), pad to the crop (image black, so that padding
 * normalises to -mean/std as in PSA; labels 255), random crop x crop, horizontal flip, colour
 * jitter (brightness, contrast, saturation 0.3, hue 0.1; applied after the crop, where PSA jitters
 * the whole image first, so contrast's grey mean also sees the crop's padding), ImageNet
 * normalisation. Cells: crop/8 x crop/8; pairs: PSA's radius-5 set (random_walk.h), so the crop
 * must be a multiple of 8 and at least 72 (a 5 x 9 grid holds the first "from" cell). Loss: PSA's
 * balanced loss over the batch's pairs (wsss_aff_loss).
 *
 * Optimisation (§b.4): SGD, poly lr (power 0.9) over epochs x steps from lr 0.1, groups backbone
 * weights x1 (weight decay), backbone biases x2 (none), head weights x head_lr_mult (10, decay),
 * head biases x 2*head_lr_mult; momentum 0 by default (PSA's optimiser passes its weight decay where
 * SGD takes the momentum, so it runs plain SGD; momentum 0.9 is a deviation). Frozen: every BN, the
 * stem and layer1 (the substitute's analogue of conv1a and b2). Defaults: resnet50, 8 epochs, batch
 * 8, crop 448, scales 0.7-1.3, flip 0.5. */
#ifndef WSSS_TRAIN_AFF_H
#define WSSS_TRAIN_AFF_H

#include <stdint.h>

#include "wsss/config_table.h"

/* How the cell labels are made: the status line, the JSONL "note" and the model's "labels" metadata. */
#define WSSS_TRAIN_AFF_LABELS "argmax maps, 8x8 block majority (refinement.md b.1 low-storage option)"
/* The smallest crop: a 5 x 9 cell grid holds one "from" cell of the radius-5 pairs. */
#define WSSS_TRAIN_AFF_MIN_CROP 72

/* The backbones: resnet18, resnet34, resnet50, resnet101, resnet152 (values: the depth). */
extern const wsss_choice wsss_train_aff_arch_choices[];

typedef struct wsss_train_aff_config {
    const char *data;             /* dataset root: VOC layout, or COCO (dataset.h); NULL with coco_annotations */
    const char *coco_annotations, *coco_images, *coco_masks; /* COCO files (dataset.h); NULL: the defaults */
    const char *split;            /* "train" */
    const char *labels;           /* label maps <id>.png; NULL: RUN/pseudo */
    const char *run;              /* run directory */
    const char *ckpt;             /* default RUN/aff/ckpt */
    const char *out;              /* default RUN/aff/model.safetensors */
    const char *log;              /* default RUN/logs/<stage>.jsonl */
    const char *stage;            /* default "train-aff" */
    int arch;                     /* backbone depth, one of wsss_train_aff_arch_choices (50) */
    const char *backbone_weights; /* torchvision / wsss classifier state_dict, or NULL: from scratch */
    int epochs, batch, crop;
    double scale_min, scale_max, hflip;
    double lr, momentum, weight_decay, head_lr_mult, lr_power;
    int seed, workers, log_every, progress, skip_bad;
    int sync_bn; /* data-parallel: training-mode batch norm over all ranks' batches (wsss_ctx_set_sync_bn) */
    int64_t stop_after;           /* testing: behave as interrupted after this many steps (0 = off) */
} wsss_train_aff_config;

void wsss_train_aff_config_default(wsss_train_aff_config *c);
/* The config's JSON form (stored in checkpoints): tag "config": "train-aff" (config_table.h). */
extern const wsss_cfg_table wsss_train_aff_config_table;

/* The settings errors found before any work: WSSS_ERR with a message naming the option by its
 * command-line name, the value and what was expected. run checks the same first. */
int wsss_train_aff_config_check(const wsss_train_aff_config *c);

/* Where the run checkpoints: --ckpt, else RUN/aff/ckpt (malloc'd). */
char *wsss_train_aff_ckpt_dir(const wsss_train_aff_config *c);

/* Train. resume_dir: NULL or a checkpoint directory (use its stored config). Returns WSSS_OK,
 * WSSS_ERR (message set; a missing label folder, unfit backbone weights ... before training) or
 * WSSS_TRAINER_INTERRUPTED (a checkpoint was saved). */
int wsss_train_aff_run(const wsss_train_aff_config *c, const char *resume_dir);

#endif
