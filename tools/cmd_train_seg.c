/* `wsss train-seg`: train the segmentation network on pseudo labels or ground truth (stage 5;
 * train_seg.h). */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/train_seg.h"
#include "wsss/trainer.h"

int cmd_train_seg(int argc, char **argv) {
    wsss_train_seg_config c;
    wsss_train_seg_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &c.data, "DIR", "dataset root (VOC layout): images and split lists", 0},
        {"split", CLI_STRING, &c.split, "NAME", "training split (ImageSets/Segmentation/NAME.txt) or a list file", 0},
        {"run", CLI_STRING, &c.run, "DIR", "run directory (default paths below derive from it)", 0},
        {"masks", CLI_STRING, &c.masks, "DIR", "training masks <id>.png, 255 = ignore (default RUN/pseudo; with --gt the dataset's)", 0},
        {"gt", CLI_FLAG, &c.gt, NULL, "fully-supervised upper bound: the dataset's ground truth, outputs under RUN/seg_gt", 0},
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/seg/ckpt, --gt: RUN/seg_gt/ckpt)", 0},
        {"out", CLI_STRING, &c.out, "FILE", "final model (default RUN/seg/model.safetensors, --gt: RUN/seg_gt/...)", 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/STAGE.jsonl)", 0},
        {"stage", CLI_STRING, &c.stage, "NAME", "stage name in logs (default train-seg, --gt: train-seg-gt)", 0},
        {"resume", CLI_STRING, &resume, "DIR", "continue from a checkpoint with its stored settings", 0},
        {"arch", CLI_STRING, &c.arch, "A", "BACKBONE[-os16|-os8]-largefov|-aspp (backbone resnet18..152, vgg16-deeplab)", 0},
        {"hidden", CLI_INT, &c.hidden, "N", "LargeFOV fc6/fc7 channels (DeepLab: 1024)", 0},
        {"head-dilation", CLI_INT, &c.head_dilation, "D", "LargeFOV fc6 dilation (DeepLab: 12 for 321 crops)", 0},
        {"backbone-weights", CLI_STRING, &c.backbone_weights, "FILE",
         "backbone init: ImageNet weights (torchvision names) or a wsss classifier (default: from scratch)", 0},
        {"bn", CLI_STRING, &c.bn, "MODE", "BN: auto (frozen with --backbone-weights), train or frozen", 0},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", 0},
        {"batch", CLI_INT, &c.batch, "N", "batch size", 0},
        {"crop", CLI_INT, &c.crop, "S", "random crop side (images are padded up to it)", 0},
        {"scale-min", CLI_DOUBLE, &c.scale_min, "F", "random rescale: smallest factor", 0},
        {"scale-max", CLI_DOUBLE, &c.scale_max, "F", "random rescale: largest factor", 0},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", 0},
        {"optim", CLI_STRING, &c.optim, "O", "sgd (with momentum) or adamw", 0},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate (poly schedule)", 0},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", 0},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum (adamw: unused)", 0},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", 0},
        {"head-lr-mult", CLI_DOUBLE, &c.head_lr_mult, "F", "lr multiplier of the head weights (biases twice that)", 0},
        {"seed", CLI_INT, &c.seed, "K", "seed (init, data order, augmentation)", 0},
        {"workers", CLI_INT, &c.workers, "N", "data loader threads (0 = auto)", 0},
        {"log-every", CLI_INT, &c.log_every, "N", "JSONL record every N steps", 0},
        {"skip-bad", CLI_FLAG, &c.skip_bad, NULL, "warn about and skip unreadable samples", 0},
        {"quiet", CLI_FLAG, &quiet, NULL, "no progress output", 0},
        {"stop-after", CLI_INT, &stop_after, "N", "testing: checkpoint and stop (exit 130) after N steps", 0},
    };
    const cli_spec spec = {"train-seg", NULL,
                           "Train the segmentation network (DeepLab-LargeFOV / ASPP) on a folder of masks: pseudo "
                           "labels, or the ground truth with --gt. Cross-entropy ignoring 255, random scale/crop/flip, "
                           "poly lr, head lr x10. Checkpoints every epoch; Ctrl-C saves a checkpoint and exits 130; "
                           "--resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0};
    char **pos;
    int np;
    int rc = cli_parse(&spec, argc, argv, &pos, &np);
    if (rc) return rc > 0 ? 0 : 2;
    free(pos);
    void *storage = NULL;
    if (resume) {
        char *txt = wsss_trainer_ckpt_config(resume);
        if (!txt || wsss_train_seg_config_from_json(txt, &c, &storage) != WSSS_OK) {
            fprintf(stderr, "wsss train-seg: --resume %s: %s\n", resume, wsss_error_msg());
            free(txt);
            wsss_train_seg_config_free_storage(storage);
            return 1;
        }
        free(txt);
        c.ckpt = resume; /* keep checkpointing where the run is resumed from */
        if (!quiet) fprintf(stderr, "train-seg: resuming from %s with its stored settings\n", resume);
    } else if (!c.data) {
        fprintf(stderr, "wsss train-seg: --data DIR is required (or --resume DIR)\n");
        return 2;
    }
    c.progress = !quiet;
    c.stop_after = stop_after;
    rc = wsss_train_seg_run(&c, resume);
    int code = 0;
    if (rc == WSSS_TRAINER_INTERRUPTED) {
        fprintf(stderr, "train-seg: stopped; checkpoint saved, continue with --resume\n");
        code = 130;
    } else if (rc != WSSS_OK) {
        fprintf(stderr, "wsss train-seg: %s\n", wsss_error_msg());
        code = 1;
    }
    wsss_train_seg_config_free_storage(storage);
    return code;
}
