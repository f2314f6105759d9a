/* `wsss pretrain`: single-label backbone pretraining on an ImageFolder (pretrain.h). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/pretrain.h"

static int config_from_json(const char *text, void *cfg, void **storage) {
    return wsss_pretrain_config_from_json(text, cfg, storage);
}

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
        {"optim", CLI_STRING, &c.optim, "O", "sgd (with momentum) or adamw", .flags = 0},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum", .flags = CLI_MAX_OPEN, .min = 0, .max = 1},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", .min = 0, .max = 1},
        {"lr-policy", CLI_STRING, &c.lr_policy, "P", "cosine or poly, over all iterations", .flags = 0},
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
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    void *storage = NULL;
    if (resume) {
        int code = cli_train_resume(&spec, resume, &c, sizeof c, config_from_json, &storage, quiet);
        if (code != CLI_EXIT_OK) {
            wsss_pretrain_config_free_storage(storage);
            return code;
        }
        c.ckpt = resume; /* keep checkpointing where the run is being resumed from */
    }
    c.progress = !quiet;
    c.stop_after = stop_after;
    int code;
    if (wsss_pretrain_config_check(&c) != WSSS_OK) {
        code = cli_fail(spec.command, CLI_EXIT_USAGE);
    } else {
        char *ckpt = wsss_pretrain_ckpt_dir(&c);
        code = cli_train_exit(spec.command, wsss_pretrain_run(&c, resume), ckpt);
        free(ckpt);
    }
    wsss_pretrain_config_free_storage(storage);
    return code;
}
