/* `wsss train-aff`: train PSA's AffinityNet on the pseudo labels' sure and uncertain regions
 * (train_aff.h). */
#include "commands.h"
#include "wsss/train_aff.h"

/* the stage's functions on the command's untyped config */
static int check(const void *cfg) { return wsss_train_aff_config_check(cfg); }
static int run(const void *cfg, const char *resume_dir) { return wsss_train_aff_run(cfg, resume_dir); }
static char *ckpt_dir(const void *cfg) { return wsss_train_aff_ckpt_dir(cfg); }

int cmd_train_aff(int argc, char **argv) {
    wsss_train_aff_config c;
    wsss_train_aff_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &c.data, "DIR", CLI_DATA_HELP, .flags = CLI_REQUIRED, .unless = "resume|coco-annotations"},
        {"split", CLI_STRING, &c.split, "NAME", "training split (ImageSets/Segmentation/NAME.txt, a list file, or COCO's NAME)", .flags = 0},
        CLI_OPTS_COCO(&c.coco_annotations, &c.coco_images, &c.coco_masks),
        CLI_OPT_RUN(&c.run),
        {"labels", CLI_STRING, &c.labels, "DIR",
         "label maps <id>.png as wsss pseudo --bg psa writes them: 0 sure background, class id sure foreground, "
         "255 uncertain (default RUN/pseudo)", .flags = 0},
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/aff/ckpt)", .flags = 0},
        {"model", CLI_STRING, &c.out, "FILE", "the trained model to write (default RUN/aff/model.safetensors)", .flags = 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/STAGE.jsonl)", .flags = 0},
        {"stage", CLI_STRING, &c.stage, "NAME", "stage name in logs (default train-aff)", .flags = 0},
        {"resume", CLI_STRING, &resume, "DIR",
         "continue from a checkpoint with its stored settings (only --epochs, --log-every, --workers, --quiet may change)",
         .flags = 0},
        {"arch", CLI_CHOICE, &c.arch, "A",
         "backbone at output stride 8 (the spec's substitute for ResNet-38): resnet18, resnet34, resnet50, resnet101 "
         "or resnet152", .choices = wsss_train_aff_arch_choices},
        {"backbone-weights", CLI_STRING, &c.backbone_weights, "FILE",
         "backbone init: ImageNet weights (torchvision names) or a wsss classifier (default: from scratch)", .flags = 0},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", .flags = CLI_RESUMABLE, .min = 1, .max = 1000000},
        {"batch", CLI_INT, &c.batch, "N", "batch size", .min = 1, .max = 4096},
        {"crop", CLI_INT, &c.crop, "S",
         "random crop side, a multiple of 8 (images are padded up to it); its 8x8 blocks are the affinity cells",
         .min = WSSS_TRAIN_AFF_MIN_CROP, .max = 8192},
        {"scale-min", CLI_DOUBLE, &c.scale_min, "F",
         "random rescale: smallest factor (stands in for PSA's random resize of the long side to 448-768)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 4},
        {"scale-max", CLI_DOUBLE, &c.scale_max, "F", "random rescale: largest factor (>= --scale-min)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 4},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", .min = 0, .max = 1},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate (poly schedule)", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"momentum", CLI_DOUBLE, &c.momentum, "F",
         "SGD momentum; PSA's optimiser runs without (its weight decay lands in the momentum slot), so 0.9 is a "
         "deviation", .flags = CLI_MAX_OPEN, .min = 0, .max = 1},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", .min = 0, .max = 1},
        {"head-lr-mult", CLI_DOUBLE, &c.head_lr_mult, "F", "lr multiplier of the head weights (biases twice that)",
         .min = 0, .max = 1000},
        CLI_OPTS_TRAIN_LOOP(c, &quiet, &stop_after),
    };
    unsigned char given[sizeof opts / sizeof opts[0]];
    const cli_spec spec = {"train-aff", NULL,
                           "Train PSA's AffinityNet (refinement.md b.2-b.4) on the label maps of wsss pseudo --bg psa: "
                           "pairs of 8x8 cells within radius 5 are positive (both sure background, or the same sure "
                           "class) or negative (different sure labels); uncertain cells are ignored. Labels: "
                           WSSS_TRAIN_AFF_LABELS ", a deviation from PSA's average-pooled CRF scores. Colour jitter, random scale/crop/flip, SGD "
                           "with poly lr, head lr x10, BN, conv1 and layer1 frozen. Checkpoints every epoch; Ctrl-C "
                           "saves a checkpoint and exits 130; --resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, given};
    const cli_train_stage t = {&wsss_train_aff_config_table, &c, &c.ckpt, &c.progress, &c.stop_after, &resume, &quiet,
                               &stop_after, check, run, ckpt_dir};
    return cli_train_main(&spec, argc, argv, &t);
}
