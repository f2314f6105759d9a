/* Stage 1 of the pipeline: train the multi-label image classifier (classifier.h) on a VOC-format
 * dataset's image-level labels, with the shared trainer loop (trainer.h).
 *
 * Recipe: random resized crop (area fraction rrc_min..1, aspect 3/4..4/3) to size x size, or a
 * plain resize when rrc_min >= 1; horizontal flip; optional colour jitter; ImageNet normalisation.
 * Multilabel soft-margin loss (= BCE with logits averaged over classes). SGD with momentum and
 * parameter groups: backbone weights x1 (weight decay), backbone biases x2 (no decay), new head
 * weights x head_lr_mult, head biases x 2*head_lr_mult (or AdamW with the same groups). Poly (power 0.9 over all iterations) or
 * step lr (x gamma at the listed epochs). Class scores: GAP (PSA), or global max / log-mean-exp
 * pooling of the same bias-free CAM plus the bias, which concentrate the gradient on the object
 * instead of spreading it over the background (faster from-scratch learning on small data). */
#ifndef WSSS_TRAIN_CLS_H
#define WSSS_TRAIN_CLS_H

#include <stdint.h>

#include "wsss/classifier.h"
#include "wsss/config_table.h"
#include "wsss/optim.h"

#define WSSS_TRAIN_CLS_MAX_STEPS 8

typedef enum { WSSS_CLS_LOSS_MLSM = 0, WSSS_CLS_LOSS_BCE } wsss_cls_loss;
/* The words of the typed settings (command line and stored config): mlsm, bce; poly, step, constant. */
extern const wsss_choice wsss_cls_loss_choices[];
extern const wsss_choice wsss_cls_lr_policy_choices[];

typedef struct wsss_train_cls_config {
    const char *data;       /* dataset root: VOC layout, or COCO (dataset.h); NULL with coco_annotations */
    const char *coco_annotations, *coco_images, *coco_masks; /* COCO files (dataset.h); NULL: the defaults */
    const char *split;      /* "train" */
    const char *extra_data; /* NULL, or extra labelled folders appended to the split (dataset_extra.h),
                               comma-separated */
    const char *class_map;  /* NULL, or their class names' map to the dataset's (dataset_extra.h) */
    const char *run;        /* run directory (defaults of the paths below derive from it) */
    const char *ckpt;       /* checkpoint dir (default RUN/cls/ckpt) */
    const char *out;        /* final model (default RUN/cls/model.safetensors) */
    const char *log;        /* JSONL log (default RUN/logs/train-cls.jsonl) */
    const char *arch;       /* "resnet18-os16" */
    const char *backbone_weights; /* ImageNet weights (safetensors) or NULL: from scratch */
    int frozen_bn;
    int epochs, batch, size;
    double rrc_min, hflip, jitter;
    wsss_optim_kind optim;  /* sgd (momentum) or adamw (PyTorch defaults for betas/eps) */
    double lr, momentum, weight_decay, head_lr_mult;
    wsss_lr_kind lr_policy; /* WSSS_LR_POLY or WSSS_LR_STEP */
    double lr_power, lr_gamma;
    const char *lr_steps;   /* step policy: comma-separated epochs, e.g. "6,9" */
    wsss_cls_loss loss;
    wsss_pool_kind pool;    /* class scores from the CAM: gap (the model's GAP + linear), gmp (max),
                               lse (log-mean-exp with sharpness lse_r); all + the fc bias */
    double lse_r;
    int method;             /* wsss_method_kind (method.h): cam (the baseline), mcis or eader */
    double bias_lr_mult;    /* lr multiplier of biases over their layer's weights: 2 (Caffe's rule) */
    int nesterov;           /* SGD with Nesterov momentum */
    int bias_decay;         /* weight decay on biases too (MCIS), else on weights only */
    int contrastive_from;   /* mcis: the 0-based epoch from which the contrastive terms count (2) */
    int map_epoch;          /* >= 0: also keep the model after this 0-based epoch (the one MCIS's maps
                               use, 10), in <model>_e<E>.safetensors next to the final model; -1: none */
    /* eader (eader.h, specs/eader.md): the adversary and the erasing */
    const char *adversary_arch;    /* a classifier arch: resnet18 */
    const char *adversary_weights; /* ImageNet weights of its backbone, or NULL: from scratch */
    double alpha, beta;            /* weights of L_am and L_reg: 0.05, 1e-5 */
    int reg;                       /* wsss_eader_reg_choices: mean (0) or sum (1) */
    int block_steps;               /* each network's turn in steps: 200 */
    double mask_slope, mask_center; /* the soft mask's ω and σ0: 100, 0.5 */
    int seed, workers, log_every, progress, skip_bad;
    int sync_bn; /* data-parallel: training-mode batch norm over all ranks' batches (wsss_ctx_set_sync_bn) */
    int64_t stop_after;     /* testing: behave as interrupted after this many steps (0 = off) */
} wsss_train_cls_config;

void wsss_train_cls_config_default(wsss_train_cls_config *c);
/* The defaults with a method's recipe applied (method.h; mcis: specs/mcis.md §5 — 15 epochs of 5
 * pairs at 256, jitter 0.3, SGD-Nesterov lr 1e-3 x 0.1 at epochs 5 and 10, decay 5e-4 on biases
 * too, new layers x10). */
void wsss_train_cls_config_method_default(wsss_train_cls_config *c, int method);
/* The config's JSON form (stored in checkpoints; the typed settings as their words): tag "stage":
 * "train-cls"; read and write it with wsss_cfg_from_json / wsss_cfg_to_json (config_table.h). */
extern const wsss_cfg_table wsss_train_cls_config_table;

/* The settings errors found before any work (ranges, --lr-steps): WSSS_ERR with a message naming
 * the option by its command-line name, the value and what was expected. run checks the same first.
 * The typed settings hold valid values by construction (an enum outside its list is a programmer
 * error: assert). */
int wsss_train_cls_config_check(const wsss_train_cls_config *c);

/* The stage's optimizer over a registry, from c's settings (the shared four groups with bias_lr_mult,
 * Nesterov and --bias-decay applied); head_mult: the new layers' multiplier. */
wsss_optim *wsss_train_cls_optim_new(const wsss_train_cls_config *c, double head_mult, const wsss_params *ps);
/* The new layers' lr multiplier of c: head_lr_mult, or when negative 10 with backbone weights and 1
 * from scratch. */
double wsss_train_cls_head_mult(const wsss_train_cls_config *c);

/* The kept model of --map-epoch E: the final model's path with _eE before .safetensors (malloc'd). */
char *wsss_train_cls_map_model_path(const char *model_path, int epoch);

/* Where the run checkpoints: --ckpt, else RUN/cls/ckpt (malloc'd). */
char *wsss_train_cls_ckpt_dir(const wsss_train_cls_config *c);

/* Train. resume_dir: NULL or a checkpoint directory to continue (its stored config must be used:
 * load it with wsss_trainer_ckpt_config + from_json). Returns WSSS_OK, WSSS_ERR (message set) or
 * WSSS_TRAINER_INTERRUPTED (a checkpoint was saved). */
int wsss_train_cls_run(const wsss_train_cls_config *c, const char *resume_dir);

#endif
