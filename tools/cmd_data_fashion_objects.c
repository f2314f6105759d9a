/* `wsss data fashion-objects`: generate Fashion-Objects, the ImageNet stand-in for backbone
 * pretraining (specs/fashion-scenes.md), as a torchvision ImageFolder. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/fashion_objects.h"

int cmd_data_fashion_objects(int argc, char **argv) {
    wsss_fashion_objects_opts o;
    wsss_fashion_objects_opts_default(&o);
    /* options parse into o's fields, except those of other types (counts, seed, flags) */
    const char *classes = NULL;
    int n_train = (int)o.n_train, n_val = (int)o.n_val, seed = 0, quiet = 0;
    const cli_opt opts[] = {
        {"out", CLI_STRING, &o.out_dir, "DIR", "output directory (ImageFolder: DIR/train/<class>/, DIR/val/<class>/)",
         .flags = CLI_REQUIRED},
        {"train", CLI_INT, &n_train, "N",
         "number of train images, one per item of the train pool (training file items 0..49,999); -1: all", .min = -1,
         .max = 10000000},
        {"val", CLI_INT, &n_val, "N", "number of val images, one per item of the val pool (t10k items 5,000..9,999); -1: all",
         .min = -1, .max = 10000000},
        {"size", CLI_INT, &o.size, "S", "canvas side in pixels", .min = 16, .max = 4096},
        {"seed", CLI_INT, &seed, "K", "seed: same seed, same bytes", .min = 0, .max = INT_MAX},
        {"mnist-dir", CLI_STRING, &o.mnist_dir, "DIR", "directory with the Fashion-MNIST *-ubyte.gz files", .flags = 0},
        {"fill-min", CLI_DOUBLE, &o.fill_min, "F", "smallest item bounding-box side, a fraction of the canvas side",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"fill-max", CLI_DOUBLE, &o.fill_max, "F", "largest item bounding-box side, a fraction of the canvas side (>= --fill-min)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"jitter", CLI_DOUBLE, &o.jitter, "F", "largest offset of the item's centre from the canvas centre (fraction of the side)",
         .min = 0, .max = 0.5},
        {"max-distractors", CLI_INT, &o.max_distractors, "N", "0..N background distractor shapes per image", .min = 0, .max = 64},
        {"classes", CLI_STRING, &classes, "LIST",
         "only these Fashion-MNIST classes, comma-separated ids 1..10 (as fashion-scenes --classes); default all",
         .flags = 0},
        {"jpeg-quality", CLI_INT, &o.jpeg_quality, "Q", "JPEG quality", .min = 1, .max = 100},
        {"label-noise", CLI_DOUBLE, &o.label_noise, "P",
         "put each train image in a random other class's folder with probability P (noisy web-like labels; same "
         "images)", .min = 0, .max = 1},
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"data fashion-objects", NULL,
                           "Generate Fashion-Objects (one centred Fashion-MNIST item per image, for backbone pretraining) "
                           "as a torchvision ImageFolder.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    if (classes && wsss_fashion_parse_classes(classes, o.classes, &o.n_classes) != WSSS_OK)
        return cli_fail(spec.command, CLI_EXIT_USAGE);
    o.n_train = n_train;
    o.n_val = n_val;
    o.seed = (uint64_t)seed;
    o.progress = !quiet;
    if (wsss_fashion_objects_check_opts(&o) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_USAGE);
    int64_t counts[2][WSSS_FASHION_NUM_CLASSES];
    if (wsss_fashion_objects_generate(&o, counts) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_FAILURE);
    static const char *const names[2] = {"train", "val"};
    const int K = o.n_classes ? o.n_classes : 10;
    for (int s = 0; s < 2; s++) {
        printf("%s images by class:", names[s]);
        for (int c = 1; c <= K; c++) {
            char *folder = wsss_fashion_objects_class_folder(&o, c);
            printf(" %s:%lld", folder, (long long)counts[s][c]);
            free(folder);
        }
        printf("\n");
    }
    return CLI_EXIT_OK;
}
