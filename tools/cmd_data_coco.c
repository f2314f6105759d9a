/* `wsss data coco-masks`: make a COCO split's mask cache current (coco.h) where the stages will read
 * it, e.g. for a dataset in a folder the stages cannot write: build it elsewhere with --out DIR and
 * give the stages --coco-masks DIR. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/coco.h"
#include "wsss/dataset.h"
#include "wsss/error.h"

int cmd_data_coco_masks(int argc, char **argv) {
    const char *data = NULL, *split = "train", *out = NULL;
    cli_coco coco = {0};
    int skip_bad = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", "COCO dataset root (annotations/instances_SPLIT.json and SPLIT/)",
         .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        {"coco-annotations", CLI_STRING, &coco.annotations, "FILE",
         "COCO annotation file (default DATA/annotations/instances_SPLIT.json)", .flags = 0},
        {"coco-images", CLI_STRING, &coco.images, "DIR", "COCO image folder (default DATA/SPLIT)", .flags = 0},
        {"out", CLI_STRING, &out, "DIR", "the cache folder (default: beside the annotation file)", .flags = 0},
        CLI_OPT_SKIP_BAD(&skip_bad),
    };
    const cli_spec spec = {"data coco-masks", NULL,
                           "Rasterise the masks of a COCO split (polygons and RLE; crowds 255) into a folder of "
                           "VOC-palette PNGs with a stamp of the annotation file, unless it is already current. "
                           "Every stage reads that cache; give it --coco-masks DIR when it is not the default.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    coco.masks = out;
    wsss_dataset_opts o;
    cli_dataset_opts(&o, split, WSSS_MASKS_REQUIRED, skip_bad, &coco);
    wsss_dataset *ds;
    if (wsss_dataset_open(data, &o, &ds) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_FAILURE);
    int code = CLI_EXIT_OK;
    if (ds->label_source != WSSS_LABELS_FROM_ANNOTATIONS) {
        cli_error(spec.command, "%s: not a COCO dataset for split %s (no annotations/instances_%s.json, or an "
                                "ImageSets/Segmentation/%s.txt list makes it VOC)",
                  ds->root, split, split, split);
        code = CLI_EXIT_FAILURE;
    } else {
        char *dir = out ? wsss_xstrdup(out) : wsss_coco_masks_default_dir(ds->list_path);
        printf("annotations  %s\n", ds->list_path);
        printf("masks        %s\n", dir);
        printf("images       %lld with a mask, %lld skipped (problems)\n", (long long)ds->n, (long long)ds->n_skipped);
        printf("classes      %d (background and %d categories in id order)\n", ds->num_classes, ds->num_classes - 1);
        free(dir);
    }
    wsss_dataset_free(ds);
    return code;
}
