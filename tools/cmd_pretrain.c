/* `wsss pretrain`: single-label backbone pretraining on an ImageFolder (pretrain.h). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/pretrain.h"
#include "wsss/train_common.h"

/* the stage's functions on the command's untyped config */
static int check(const void *cfg) { return wsss_pretrain_config_check(cfg); }
static int run(const void *cfg, const char *resume_dir) { return wsss_pretrain_run(cfg, resume_dir); }
static char *ckpt_dir(const void *cfg) { return wsss_pretrain_ckpt_dir(cfg); }

int cmd_pretrain(int argc, char **argv) {
    wsss_pretrain_config c;
    wsss_pretrain_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &c.data, "DIR", "ImageFolder root: DIR/train/<class>/*.jpg|png, DIR/val/<class>/...",
         .flags = CLI_REQUIRED, .unless = "resume"},
        {"split", CLI_STRING, &c.split, "NAME", "training split folder under --data", .flags = 0},
        {"val-split", CLI_STRING, &c.val_split, "NAME", "validation split folder (class folders named as in the training split), scored every epoch",
         .flags = 0},
        {"no-val", CLI_FLAG, &c.no_val, NULL, "no validation split", .flags = 0},
        CLI_OPT_RUN(&c.run),
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/pretrain/ckpt)", .flags = 0},
        {"backbone", CLI_STRING, &c.out, "FILE",
         "the backbone to write: torchvision names, for --backbone-weights (default RUN/pretrain/backbone.safetensors)",
         .flags = 0},
        {"head", CLI_STRING, &c.head, "FILE", "also write the classifier head fc.* with the class names (default none)",
         .flags = 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/pretrain.jsonl)", .flags = 0},
        {"resume", CLI_STRING, &resume, "DIR",
         "continue from a checkpoint with its stored settings (only --epochs, --log-every, --workers, --quiet may change)",
         .flags = 0},
        {"arch", CLI_STRING, &c.arch, "A", "backbone: resnet18|34|50|101|152 or vgg16-deeplab", .flags = 0},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", .flags = CLI_RESUMABLE, .min = 1, .max = 1000000},
        {"batch", CLI_INT, &c.batch, "N", "batch size", .min = 1, .max = 4096},
        {"size", CLI_INT, &c.size, "S", "training crop side (val images are resized to S x S)", .min = 8, .max = 8192},
        {"rrc-min", CLI_DOUBLE, &c.rrc_min, "F", "random resized crop: smallest area fraction (1 = plain resize)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", .min = 0, .max = 1},
        {"optim", CLI_CHOICE, &c.optim, "O", "sgd (with momentum) or adamw", .choices = wsss_train_optim_choices},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum", .flags = CLI_MAX_OPEN, .min = 0, .max = 1},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", .min = 0, .max = 1},
        {"lr-policy", CLI_CHOICE, &c.lr_policy, "P", "cosine or poly, over all iterations", .choices = wsss_pretrain_lr_policy_choices},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", .min = 0, .max = 10},
        {"label-smoothing", CLI_DOUBLE, &c.label_smoothing, "F", "label smoothing of the cross entropy",
         .flags = CLI_MAX_OPEN, .min = 0, .max = 1},
        CLI_OPTS_TRAIN_LOOP(c, &quiet, &stop_after),
    };
    unsigned char given[sizeof opts / sizeof opts[0]];
    const cli_spec spec = {"pretrain", NULL,
                           "Pretrain a backbone as a single-label classifier (GAP + linear, softmax cross entropy) on "
                           "an ImageFolder dataset, e.g. `wsss data fashion-objects`; top-1/top-5 on the val split "
                           "every epoch. Writes the backbone for --backbone-weights. Checkpoints every epoch; Ctrl-C "
                           "saves a checkpoint and exits 130; --resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, given};
    const cli_train_stage t = {&wsss_pretrain_config_table, &c, &c.ckpt, &c.progress, &c.stop_after, &resume, &quiet,
                               &stop_after, check, run, ckpt_dir};
    return cli_train_main(&spec, argc, argv, &t);
}
