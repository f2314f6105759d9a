/* Every subcommand is a function in its own tools/cmd_*.c file, listed once here. */
#ifndef WSSS_COMMANDS_H
#define WSSS_COMMANDS_H

#include "cli.h"

int cmd_version(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_data_check(int argc, char **argv);          /* tools/cmd_data_check.c */
int cmd_data_fashion_scenes(int argc, char **argv); /* tools/cmd_data_fashion.c */
int cmd_data_fashion_objects(int argc, char **argv); /* tools/cmd_data_fashion.c */
int cmd_data_coco_masks(int argc, char **argv);     /* tools/cmd_data_coco.c */
int cmd_eval_masks(int argc, char **argv);          /* tools/cmd_eval.c */
int cmd_report(int argc, char **argv);              /* tools/cmd_report.c */
int cmd_pretrain(int argc, char **argv);            /* tools/cmd_pretrain.c */
int cmd_train_cls(int argc, char **argv);           /* tools/cmd_train_cls.c */
int cmd_cam(int argc, char **argv);                 /* tools/cmd_cam.c */
int cmd_eval_cam(int argc, char **argv);            /* tools/cmd_eval_cam.c */
int cmd_pseudo(int argc, char **argv);              /* tools/cmd_pseudo.c */
int cmd_train_aff(int argc, char **argv);           /* tools/cmd_train_aff.c */
int cmd_train_seg(int argc, char **argv);           /* tools/cmd_train_seg.c */
int cmd_eval_seg(int argc, char **argv);            /* tools/cmd_eval_seg.c */
int cmd_segment(int argc, char **argv);             /* tools/cmd_segment.c */
int cmd_forward(int argc, char **argv);             /* tools/cmd_forward.c */

/* name, function, one-line summary; keep alphabetical within a stage */
#define WSSS_COMMAND_TABLE \
    X("data", cmd_data, "dataset tools: check, coco-masks, fashion-scenes, fashion-objects")       \
    X("eval-masks", cmd_eval_masks, "mIoU of predicted masks against ground-truth masks") \
    X("pretrain", cmd_pretrain, "stage 0: pretrain a backbone on single-label ImageFolder data (top-1/top-5)") \
    X("train-cls", cmd_train_cls, "stage 1: train the multi-label classifier (CAM backbone)") \
    X("cam", cmd_cam, "stage 2: class activation maps of a split (multi-scale + flip)") \
    X("eval-cam", cmd_eval_cam, "stage 3: CAM mIoU with the background-threshold sweep") \
    X("pseudo", cmd_pseudo, "stage 4: pseudo labels (background score + dense CRF)") \
    X("train-aff", cmd_train_aff, "stage 4 (PSA): train the AffinityNet on the pseudo labels' sure/unsure regions") \
    X("train-seg", cmd_train_seg, "stage 5: train the segmentation network on pseudo labels or ground truth") \
    X("eval-seg", cmd_eval_seg, "stage 6: segment a split (multi-scale + flip, CRF) and score it (mIoU)") \
    X("segment", cmd_segment, "stage 6: palette masks and colour overlays for any images") \
    X("forward", cmd_forward, "run a model (by arch name) on a tensor file: check converted weights") \
    X("report", cmd_report, "self-contained HTML report of a run directory")          \
    X("version", cmd_version, "print version, oneDNN version, CPU ISA and threads")

#endif
