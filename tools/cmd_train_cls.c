/* `wsss train-cls`: train the multi-label classifier (stage 1; train_cls.h). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/models.h"
#include "wsss/train_cls.h"
#include "wsss/trainer.h"

int cmd_train_cls(int argc, char **argv) {
    wsss_train_cls_config c;
    wsss_train_cls_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &c.data, "DIR", "dataset root (VOC layout)", 0},
        {"split", CLI_STRING, &c.split, "NAME", "training split (ImageSets/Segmentation/NAME.txt) or a list file", 0},
        {"run", CLI_STRING, &c.run, "DIR", "run directory (default paths below derive from it)", 0},
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/cls/ckpt)", 0},
        {"out", CLI_STRING, &c.out, "FILE", "final model (default RUN/cls/model.safetensors)", 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/train-cls.jsonl)", 0},
        {"resume", CLI_STRING, &resume, "DIR", "continue from a checkpoint with its stored settings", 0},
        {"arch", CLI_STRING, &c.arch, "A", "backbone: resnet18|34|50|101[-os16|-os8] or vgg16-deeplab", 0},
        {"backbone-weights", CLI_STRING, &c.backbone_weights, "FILE",
         "ImageNet weights, safetensors with torchvision names (default: from scratch)", 0},
        {"frozen-bn", CLI_FLAG, &c.frozen_bn, NULL, "use running BN statistics (with pretrained weights)", 0},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", 0},
        {"batch", CLI_INT, &c.batch, "N", "batch size", 0},
        {"size", CLI_INT, &c.size, "S", "training crop side", 0},
        {"rrc-min", CLI_DOUBLE, &c.rrc_min, "F", "random resized crop: smallest area fraction (1 = plain resize)", 0},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", 0},
        {"jitter", CLI_DOUBLE, &c.jitter, "F", "colour jitter strength (brightness/contrast/saturation; hue F/3)", 0},
        {"optim", CLI_STRING, &c.optim, "O", "sgd (with momentum) or adamw", 0},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate", 0},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum", 0},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", 0},
        {"head-lr-mult", CLI_DOUBLE, &c.head_lr_mult, "F", "lr multiplier of the new head, its bias twice (-1: 10 with --backbone-weights, else 1)", 0},
        {"lr-policy", CLI_STRING, &c.lr_policy, "P", "poly or step", 0},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", 0},
        {"lr-steps", CLI_STRING, &c.lr_steps, "E,E", "step policy: epochs at which lr is multiplied by gamma", 0},
        {"lr-gamma", CLI_DOUBLE, &c.lr_gamma, "F", "step policy factor", 0},
        {"loss", CLI_STRING, &c.loss, "L", "mlsm (multilabel soft margin) or bce", 0},
        {"pool", CLI_STRING, &c.pool, "P", "class scores from the CAM: gap (PSA), gmp (max) or lse (log-mean-exp)", 0},
        {"lse-r", CLI_DOUBLE, &c.lse_r, "R", "lse pooling sharpness (small: like gap, large: like gmp)", 0},
        {"seed", CLI_INT, &c.seed, "K", "seed (init, data order, augmentation)", 0},
        {"workers", CLI_INT, &c.workers, "N", "data loader threads (0 = auto)", 0},
        {"log-every", CLI_INT, &c.log_every, "N", "JSONL record every N steps", 0},
        {"skip-bad", CLI_FLAG, &c.skip_bad, NULL, "warn about and skip unreadable samples", 0},
        {"quiet", CLI_FLAG, &quiet, NULL, "no progress output", 0},
        {"stop-after", CLI_INT, &stop_after, "N", "testing: checkpoint and stop (exit 130) after N steps", 0},
    };
    const cli_spec spec = {"train-cls", NULL,
                           "Train the multi-label image classifier (CAM backbone) on image-level labels. "
                           "Checkpoints every epoch; Ctrl-C saves a checkpoint and exits 130; --resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0};
    char **pos;
    int np;
    int rc = cli_parse(&spec, argc, argv, &pos, &np);
    if (rc) return rc > 0 ? 0 : 2;
    free(pos);
    void *storage = NULL;
    if (resume) {
        char *txt = wsss_trainer_ckpt_config(resume);
        if (!txt || wsss_train_cls_config_from_json(txt, &c, &storage) != WSSS_OK) {
            fprintf(stderr, "wsss train-cls: --resume %s: %s\n", resume, wsss_error_msg());
            free(txt);
            wsss_train_cls_config_free_storage(storage);
            return 1;
        }
        free(txt);
        c.ckpt = resume; /* keep checkpointing where the run is being resumed from */
        fprintf(stderr, "train-cls: resuming from %s with its stored settings\n", resume);
    } else if (!c.data) {
        fprintf(stderr, "wsss train-cls: --data DIR is required (or --resume DIR)\n");
        return 2;
    }
    c.progress = !quiet;
    c.stop_after = stop_after;
    rc = wsss_train_cls_run(&c, resume);
    int code = 0;
    if (rc == WSSS_TRAINER_INTERRUPTED) {
        fprintf(stderr, "train-cls: stopped; checkpoint saved, continue with --resume\n");
        code = 130;
    } else if (rc != WSSS_OK) {
        fprintf(stderr, "wsss train-cls: %s\n", wsss_error_msg());
        code = 1;
    }
    wsss_train_cls_config_free_storage(storage);
    return code;
}
