/* Stage 5 of the pipeline: train the segmentation network (segmenter.h) on a folder of masks: the
 * pseudo labels of `wsss pseudo` (default RUN/pseudo), or the dataset's ground truth for the
 * fully-supervised upper bound (--gt), with the shared trainer loop (trainer.h).
 *
 * Recipe (refinement.md §c; the defaults are its LargeFOV values: 321 crops, SGD lr 1e-3 with
 * momentum 0.9 and weight decay 5e-4, head x10, scales 0.7-1.3): random rescale by a factor
 * uniform in [scale_min, scale_max] (image bilinear, mask nearest), pad to the crop (image with the
 * ImageNet mean colour, mask with 255), random crop x crop, horizontal flip, ImageNet
 * normalisation. Logits are upsampled (bilinear) to the crop and scored with per-pixel softmax
 * cross-entropy ignoring 255, averaged over valid pixels. SGD with momentum, or AdamW (converges
 * in far fewer steps from scratch, which the CPU demo needs); weight decay on weights only;
 * groups: backbone weights x1, backbone biases x2, head weights x head_lr_mult, head biases
 * x 2*head_lr_mult; poly lr (power lr_power) over all iterations.
 *
 * BN: "frozen" (running statistics; the DeepLab setting for a pretrained backbone), "train" (batch
 * statistics; needed from scratch), or "auto": frozen with --backbone-weights, else train. */
#ifndef WSSS_TRAIN_SEG_H
#define WSSS_TRAIN_SEG_H

#include <stdint.h>

#include "wsss/config_table.h"
#include "wsss/optim.h"

/* BN of the backbone: auto = frozen with backbone weights, else trained. */
typedef enum { WSSS_SEG_BN_AUTO = 0, WSSS_SEG_BN_TRAIN, WSSS_SEG_BN_FROZEN } wsss_seg_bn;
extern const wsss_choice wsss_seg_bn_choices[]; /* auto, train, frozen */

typedef struct wsss_train_seg_config {
    const char *data;             /* dataset root: VOC layout, or COCO (dataset.h); NULL with coco_annotations */
    const char *coco_annotations, *coco_images, *coco_masks; /* COCO files (dataset.h); NULL: the defaults */
    const char *split;            /* "train" */
    const char *masks;            /* mask folder <id>.png; NULL: RUN/pseudo, or the dataset's masks with gt */
    int gt;                       /* upper bound: the dataset's GT masks; default paths under RUN/seg_gt */
    const char *run;              /* run directory */
    const char *ckpt;             /* default RUN/seg/ckpt (gt: RUN/seg_gt/ckpt) */
    const char *out;              /* default RUN/seg/model.safetensors (gt: RUN/seg_gt/...) */
    const char *log;              /* default RUN/logs/<stage>.jsonl */
    const char *stage;            /* default "train-seg" (gt: "train-seg-gt") */
    const char *arch;             /* "resnet18-os8-largefov" */
    int hidden, head_dilation;    /* LargeFOV width and fc6 dilation */
    const char *backbone_weights; /* torchvision / classifier state_dict, or NULL: from scratch */
    wsss_seg_bn bn;
    int epochs, batch, crop;
    double scale_min, scale_max, hflip;
    wsss_optim_kind optim;        /* sgd (momentum) or adamw (decoupled weight decay) */
    double lr, momentum, weight_decay, head_lr_mult, lr_power;
    int seed, workers, log_every, progress, skip_bad;
    int sync_bn; /* data-parallel: training-mode batch norm over all ranks' batches (wsss_ctx_set_sync_bn) */
    int64_t stop_after;           /* testing: behave as interrupted after this many steps (0 = off) */
} wsss_train_seg_config;

void wsss_train_seg_config_default(wsss_train_seg_config *c);
/* The config's JSON form (stored in checkpoints; the typed settings as their words): tag "config":
 * "train-seg"; read and write it with wsss_cfg_from_json / wsss_cfg_to_json (config_table.h). */
extern const wsss_cfg_table wsss_train_seg_config_table;

/* The settings errors found before any work (ranges; typed settings are asserted): WSSS_ERR with a message naming
 * the option by its command-line name, the value and what was expected. run checks the same first. */
int wsss_train_seg_config_check(const wsss_train_seg_config *c);

/* Where the run checkpoints: --ckpt, else RUN/seg/ckpt (gt: RUN/seg_gt/ckpt) (malloc'd). */
char *wsss_train_seg_ckpt_dir(const wsss_train_seg_config *c);

/* Train. resume_dir: NULL or a checkpoint directory (use its stored config). Returns WSSS_OK,
 * WSSS_ERR (message set) or WSSS_TRAINER_INTERRUPTED (a checkpoint was saved). */
int wsss_train_seg_run(const wsss_train_seg_config *c, const char *resume_dir);

#endif
