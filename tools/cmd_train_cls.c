/* `wsss train-cls`: train the multi-label classifier (stage 1; train_cls.h). */

#include "commands.h"
#include "wsss/eader.h"
#include "wsss/method.h"
#include "wsss/train_cls.h"
#include "wsss/train_common.h"

/* the stage's functions on the command's untyped config */
static int check(const void *cfg) { return wsss_train_cls_config_check(cfg); }
static int run(const void *cfg, const char *resume_dir) { return wsss_train_cls_run(cfg, resume_dir); }
static char *ckpt_dir(const void *cfg) { return wsss_train_cls_ckpt_dir(cfg); }
/* a method's recipe for the options not given */
static void method_defaults(void *defaults, const void *cfg) {
    wsss_train_cls_config_method_default(defaults, ((const wsss_train_cls_config *)cfg)->method);
}

int cmd_train_cls(int argc, char **argv) {
    wsss_train_cls_config c;
    wsss_train_cls_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"method", CLI_CHOICE, &c.method, "M",
         "cam (the baseline), mcis (co-attention on class-sharing pairs; its recipe changes the defaults: "
         "vgg16-deeplab, 15 epochs, batch 5, size 256, no crop or flip, jitter 0.3, lr 1e-3 x0.1 at epochs 5,10, "
         "Nesterov, weight decay 5e-4 on biases too, head x10) or eader (adversarial erasing against a second "
         "classifier, see --adversary-arch; its recipe: resnet101, 10 epochs, batch 16 with the last one kept, size "
         "448, crop area from 0.08, lr 0.01 constant, weight decay 1e-4 on every parameter, no head or bias "
         "multipliers, bce), or mcis+eader (eader with mcis's co-attention classifier as the localizer and mcis's "
         "recipe)",
         .choices = wsss_method_choices},
        {"data", CLI_STRING, &c.data, "DIR", CLI_DATA_HELP, .flags = CLI_REQUIRED, .unless = "resume|coco-annotations"},
        {"split", CLI_STRING, &c.split, "NAME", "training split (ImageSets/Segmentation/NAME.txt, a list file, or COCO's NAME)", .flags = 0},
        CLI_OPTS_COCO(&c.coco_annotations, &c.coco_images, &c.coco_masks),
        {"extra-data", CLI_STRING, &c.extra_data, "DIR[,DIR]",
         "extra labelled images appended to the split: VOC-format folders or ImageFolders (ROOT/train/CLASS/...), "
         "their classes matched to the dataset's by name", .flags = 0},
        {"class-map", CLI_STRING, &c.class_map, "FILE",
         "--extra-data: lines 'extra class = dataset class' for names that differ", .flags = 0},
        CLI_OPT_RUN(&c.run),
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/cls/ckpt)", .flags = 0},
        {"model", CLI_STRING, &c.out, "FILE", "the trained classifier to write (default RUN/cls/model.safetensors)", .flags = 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/train-cls.jsonl)", .flags = 0},
        {"resume", CLI_STRING, &resume, "DIR",
         "continue from a checkpoint with its stored settings (only --epochs, --log-every, --workers, --quiet may change)",
         .flags = 0},
        {"arch", CLI_STRING, &c.arch, "A", "backbone: resnet18|34|50|101[-os16|-os8] or vgg16-deeplab", .flags = 0},
        {"backbone-weights", CLI_STRING, &c.backbone_weights, "FILE",
         "ImageNet weights, safetensors with torchvision names (default: from scratch)", .flags = 0},
        {"frozen-bn", CLI_FLAG, &c.frozen_bn, NULL, "use running BN statistics (with pretrained weights)", .flags = 0},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", .flags = CLI_RESUMABLE, .min = 1, .max = 1000000},
        {"batch", CLI_INT, &c.batch, "N", "batch size", .min = 1, .max = 4096},
        {"size", CLI_INT, &c.size, "S", "training crop side", .min = 8, .max = 8192},
        {"rrc-min", CLI_DOUBLE, &c.rrc_min, "F", "random resized crop: smallest area fraction (1 = plain resize)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", .min = 0, .max = 1},
        {"jitter", CLI_DOUBLE, &c.jitter, "F", "colour jitter strength (brightness/contrast/saturation; hue F/3)",
         .min = 0, .max = 0.5},
        {"optim", CLI_CHOICE, &c.optim, "O", "sgd (with momentum) or adamw", .choices = wsss_train_optim_choices},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum", .flags = CLI_MAX_OPEN, .min = 0, .max = 1},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights; biases with --bias-decay)", .min = 0,
         .max = 1},
        /* 0|1 rather than flags: the mcis recipe turns them on, and a user may turn them off */
        {"bias-decay", CLI_INT, &c.bias_decay, "0|1", "weight decay on biases too", .min = 0, .max = 1},
        {"nesterov", CLI_INT, &c.nesterov, "0|1", "SGD with Nesterov momentum", .min = 0, .max = 1},
        {"bias-lr-mult", CLI_DOUBLE, &c.bias_lr_mult, "F", "lr multiplier of the biases over their layer's weights",
         .min = 0, .max = 100},
        {"head-lr-mult", CLI_DOUBLE, &c.head_lr_mult, "F",
         "lr multiplier of the new head, its bias times --bias-lr-mult too (negative: 10 with --backbone-weights, else 1)", .min = -1,
         .max = 1000},
        {"lr-policy", CLI_CHOICE, &c.lr_policy, "P", "poly, step or constant", .choices = wsss_cls_lr_policy_choices},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", .min = 0, .max = 10},
        {"lr-steps", CLI_STRING, &c.lr_steps, "E,E", "step policy: epochs at which lr is multiplied by gamma (default none)",
         .flags = 0},
        {"lr-gamma", CLI_DOUBLE, &c.lr_gamma, "F", "step policy factor", .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"loss", CLI_CHOICE, &c.loss, "L", "mlsm (multilabel soft margin) or bce", .choices = wsss_cls_loss_choices},
        {"pool", CLI_CHOICE, &c.pool, "P", "class scores from the CAM: gap (PSA), gmp (max) or lse (log-mean-exp)",
         .choices = wsss_pool_choices},
        {"lse-r", CLI_DOUBLE, &c.lse_r, "R", "lse pooling sharpness (small: like gap, large: like gmp)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 100},
        {"contrastive-from", CLI_INT, &c.contrastive_from, "E",
         "mcis: the 0-based epoch from which the contrastive co-attention terms count", .min = 0, .max = 1000000},
        {"map-epoch", CLI_INT, &c.map_epoch, "E",
         "also keep the model after this 0-based epoch as MODEL_eE.safetensors (mcis: 10, the one its maps use; -1 or beyond "
         "the run: none)", .min = -1, .max = 1000000},
        {"adversary-arch", CLI_STRING, &c.adversary_arch, "A",
         "eader: the adversary, a classifier arch like --arch", .flags = 0},
        {"adversary-weights", CLI_STRING, &c.adversary_weights, "FILE",
         "eader: ImageNet weights of the adversary's backbone, safetensors with torchvision names (default: from "
         "scratch)", .flags = 0},
        {"alpha", CLI_DOUBLE, &c.alpha, "F",
         "eader: weight in the localizer's loss of the adversary's probability for the erased class", .min = 0,
         .max = 100},
        {"beta", CLI_DOUBLE, &c.beta, "F", "eader: weight of the attention regulariser (0: none)", .min = 0,
         .max = 100},
        {"reg", CLI_CHOICE, &c.reg, "R",
         "eader: the regulariser, mean (of all attention values) or sum (each map's sum, averaged over the maps)",
         .choices = wsss_eader_reg_choices},
        {"block-steps", CLI_INT, &c.block_steps, "N",
         "eader: steps of each network's turn, the localizer's first, running on across epochs", .min = 1,
         .max = INT_MAX},
        {"mask-slope", CLI_DOUBLE, &c.mask_slope, "F", "eader: slope of the soft erasing mask sigmoid(F (A - C))",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 10000},
        {"mask-center", CLI_DOUBLE, &c.mask_center, "C", "eader: the attention value where the soft mask is one half",
         .flags = CLI_MIN_OPEN | CLI_MAX_OPEN, .min = 0, .max = 1},
        CLI_OPTS_TRAIN_LOOP(c, &quiet, &stop_after),
    };
    unsigned char given[sizeof opts / sizeof opts[0]];
    const cli_spec spec = {"train-cls", NULL,
                           "Train the multi-label image classifier (CAM backbone) on image-level labels. "
                           "Checkpoints every epoch; Ctrl-C saves a checkpoint and exits 130; --resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, given};
    const cli_train_stage t = {&wsss_train_cls_config_table, &c, &c.ckpt, &c.progress, &c.stop_after, &resume, &quiet,
                               &stop_after, check, run, ckpt_dir};
    return cli_train_main_defaults(&spec, argc, argv, &t, method_defaults);
}
