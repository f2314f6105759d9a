/* `wsss train-seg`: train the segmentation network on pseudo labels or ground truth (stage 5;
 * train_seg.h). */
#include "commands.h"
#include "wsss/train_common.h"
#include "wsss/train_seg.h"

/* the stage's functions on the command's untyped config */
static int check(const void *cfg) { return wsss_train_seg_config_check(cfg); }
static int run(const void *cfg, const char *resume_dir) { return wsss_train_seg_run(cfg, resume_dir); }
static char *ckpt_dir(const void *cfg) { return wsss_train_seg_ckpt_dir(cfg); }

int cmd_train_seg(int argc, char **argv) {
    wsss_train_seg_config c;
    wsss_train_seg_config_default(&c);
    const char *resume = NULL;
    int quiet = 0, stop_after = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &c.data, "DIR", CLI_DATA_HELP, .flags = CLI_REQUIRED, .unless = "resume|coco-annotations"},
        {"split", CLI_STRING, &c.split, "NAME", "training split (ImageSets/Segmentation/NAME.txt, a list file, or COCO's NAME)", .flags = 0},
        CLI_OPTS_COCO(&c.coco_annotations, &c.coco_images, &c.coco_masks),
        CLI_OPT_RUN(&c.run),
        {"masks", CLI_STRING, &c.masks, "DIR", "training masks <id>.png, 255 = ignore (default RUN/pseudo; with --gt the dataset's)", .flags = 0},
        {"gt", CLI_FLAG, &c.gt, NULL, "fully-supervised upper bound: the dataset's ground truth, outputs under RUN/seg_gt", .flags = 0},
        {"ckpt", CLI_STRING, &c.ckpt, "DIR", "checkpoint directory (default RUN/seg/ckpt, --gt: RUN/seg_gt/ckpt)", .flags = 0},
        {"model", CLI_STRING, &c.out, "FILE",
         "the trained model to write (default RUN/seg/model.safetensors, --gt: RUN/seg_gt/...)", .flags = 0},
        {"log", CLI_STRING, &c.log, "FILE", "JSONL log (default RUN/logs/STAGE.jsonl)", .flags = 0},
        {"stage", CLI_STRING, &c.stage, "NAME", "stage name in logs (default train-seg, --gt: train-seg-gt)", .flags = 0},
        {"resume", CLI_STRING, &resume, "DIR",
         "continue from a checkpoint with its stored settings (only --epochs, --log-every, --workers, --quiet may change)",
         .flags = 0},
        {"arch", CLI_STRING, &c.arch, "A",
         "BACKBONE[-os16|-os8]-largefov|-aspp|-deeplabv3plus (backbone resnet18..152, vgg16-deeplab; "
         "DeepLab v3+ on ResNets, default output stride 16)",
         .flags = 0},
        {"hidden", CLI_INT, &c.hidden, "N", "head width: LargeFOV fc6/fc7 channels, or DeepLab v3+'s ASPP and decoder "
         "channels", .min = 1, .max = 65536, .default_text = "LargeFOV 1024, DeepLab v3+ 256"},
        {"head-dilation", CLI_INT, &c.head_dilation, "D",
         "LargeFOV fc6 dilation, or DeepLab v3+'s smallest ASPP rate R (rates R, 2R, 3R); small images want smaller",
         .min = 1, .max = 1024, .default_text = "LargeFOV 12 (for 321 crops), DeepLab v3+ 6 at output stride 16 and 12 at 8"},
        {"backbone-weights", CLI_STRING, &c.backbone_weights, "FILE",
         "backbone init: ImageNet weights (torchvision names) or a wsss classifier (default: from scratch)", .flags = 0},
        {"bn", CLI_CHOICE, &c.bn, "MODE", "BN: auto (frozen with --backbone-weights), train or frozen",
         .choices = wsss_seg_bn_choices},
        {"epochs", CLI_INT, &c.epochs, "N", "epochs", .flags = CLI_RESUMABLE, .min = 1, .max = 1000000},
        {"batch", CLI_INT, &c.batch, "N", "batch size", .min = 1, .max = 4096},
        {"crop", CLI_INT, &c.crop, "S", "random crop side (images are padded up to it)", .min = 8, .max = 8192},
        {"scale-min", CLI_DOUBLE, &c.scale_min, "F", "random rescale: smallest factor", .flags = CLI_MIN_OPEN, .min = 0,
         .max = 4},
        {"scale-max", CLI_DOUBLE, &c.scale_max, "F", "random rescale: largest factor (>= --scale-min)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 4},
        {"flip", CLI_DOUBLE, &c.hflip, "P", "horizontal flip probability", .min = 0, .max = 1},
        {"optim", CLI_CHOICE, &c.optim, "O", "sgd (with momentum) or adamw", .choices = wsss_train_optim_choices},
        {"lr", CLI_DOUBLE, &c.lr, "F", "base learning rate (poly schedule)", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"lr-power", CLI_DOUBLE, &c.lr_power, "F", "poly power", .flags = CLI_MIN_OPEN, .min = 0, .max = 10},
        {"momentum", CLI_DOUBLE, &c.momentum, "F", "SGD momentum (adamw: unused)", .flags = CLI_MAX_OPEN, .min = 0,
         .max = 1},
        {"weight-decay", CLI_DOUBLE, &c.weight_decay, "F", "weight decay (weights only)", .min = 0, .max = 1},
        {"head-lr-mult", CLI_DOUBLE, &c.head_lr_mult, "F", "lr multiplier of the head weights (biases twice that)",
         .min = 0, .max = 1000},
        CLI_OPTS_TRAIN_LOOP(c, &quiet, &stop_after),
    };
    unsigned char given[sizeof opts / sizeof opts[0]];
    const cli_spec spec = {"train-seg", NULL,
                           "Train the segmentation network (DeepLab-LargeFOV / ASPP) on a folder of masks: pseudo "
                           "labels, or the ground truth with --gt. Cross-entropy ignoring 255, random scale/crop/flip, "
                           "poly lr, head lr x10. Checkpoints every epoch; Ctrl-C saves a checkpoint and exits 130; "
                           "--resume continues exactly.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, given};
    const cli_train_stage t = {&wsss_train_seg_config_table, &c, &c.ckpt, &c.progress, &c.stop_after, &resume, &quiet,
                               &stop_after, check, run, ckpt_dir};
    return cli_train_main(&spec, argc, argv, &t);
}
