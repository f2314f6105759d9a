/* `wsss data fashion-scenes` and `wsss data fashion-objects`: generate the Fashion-Scenes benchmark and
 * Fashion-Objects, the ImageNet stand-in for backbone pretraining (specs/fashion-scenes.md). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/fashion_objects.h"
#include "wsss/fashion_scenes.h"

/* The options both generators take that do not parse straight into their settings' fields. */
typedef struct fashion_cli {
    const char *classes;
    int n_train, n_val, seed, quiet;
} fashion_cli;

/* After parsing: the class list, counts, seed and progress flag into the settings' fields. */
static int fashion_cli_finish(const char *command, const fashion_cli *c, int classes[10], int *n_classes,
                              int64_t *n_train, int64_t *n_val, uint64_t *seed, int *progress) {
    if (c->classes && wsss_fashion_parse_classes(c->classes, classes, n_classes) != WSSS_OK)
        return cli_fail(command, CLI_EXIT_USAGE);
    *n_train = c->n_train;
    *n_val = c->n_val;
    *seed = (uint64_t)c->seed;
    *progress = !c->quiet;
    return CLI_EXIT_OK;
}

int cmd_data_fashion_scenes(int argc, char **argv) {
    wsss_fashion_opts o;
    wsss_fashion_opts_default(&o);
    /* options parse into o's fields, except those of other types (counts, seed, flags) */
    fashion_cli c = {NULL, (int)o.n_train, (int)o.n_val, 0, 0};
    const cli_opt opts[] = {
        {"out", CLI_STRING, &o.out_dir, "DIR", "output directory (VOC layout)", .flags = CLI_REQUIRED},
        {"train", CLI_INT, &c.n_train, "N", "number of train scenes (items from the Fashion-MNIST train file)", .min = 0,
         .max = 10000000},
        {"val", CLI_INT, &c.n_val, "N", "number of val scenes (items from the t10k file)", .min = 0, .max = 10000000},
        {"size", CLI_INT, &o.size, "S", "canvas side in pixels", .min = 16, .max = 4096},
        {"seed", CLI_INT, &c.seed, "K", "seed: same seed, same bytes", .min = 0, .max = INT_MAX},
        {"mnist-dir", CLI_STRING, &o.mnist_dir, "DIR", "directory with the Fashion-MNIST *-ubyte.gz files", .flags = 0},
        {"scale-min", CLI_DOUBLE, &o.scale_min, "F", "smallest item upscale factor", .flags = CLI_MIN_OPEN, .min = 0, .max = 100},
        {"scale-max", CLI_DOUBLE, &o.scale_max, "F", "largest item upscale factor (>= --scale-min)", .flags = CLI_MIN_OPEN,
         .min = 0, .max = 100},
        {"min-visible", CLI_DOUBLE, &o.min_visible, "F", "items with less visible area (fraction of canvas) become 255",
         .min = 0, .max = 1},
        {"max-distractors", CLI_INT, &o.max_distractors, "N", "0..N background distractor shapes per scene", .min = 0, .max = 64},
        {"classes", CLI_STRING, &c.classes, "LIST",
         "only these Fashion-MNIST classes, comma-separated ids 1..10 (a smaller, easier benchmark; renumbered 1..n "
         "in the listed order); default all",
         .flags = 0},
        {"jpeg-quality", CLI_INT, &o.jpeg_quality, "Q", "JPEG quality", .min = 1, .max = 100},
        CLI_OPT_QUIET(&c.quiet),
    };
    const cli_spec spec = {"data fashion-scenes", NULL,
                           "Generate the Fashion-Scenes WSSS benchmark (scenes of Fashion-MNIST items) as a VOC-format dataset.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    rc = fashion_cli_finish(spec.command, &c, o.classes, &o.n_classes, &o.n_train, &o.n_val, &o.seed, &o.progress);
    if (rc) return rc;
    if (wsss_fashion_opts_check(&o) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_USAGE);
    int64_t hist[2][WSSS_FASHION_NUM_CLASSES];
    if (wsss_fashion_generate(&o, hist) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_FAILURE);
    static const char *const names[2] = {"train", "val"};
    for (int s = 0; s < 2; s++) {
        printf("%s scenes by number of labels:", names[s]);
        for (int k = 1; k <= 4; k++) printf(" %d:%lld", k, (long long)hist[s][k]);
        printf("\n");
    }
    return CLI_EXIT_OK;
}

int cmd_data_fashion_objects(int argc, char **argv) {
    wsss_fashion_objects_opts o;
    wsss_fashion_objects_opts_default(&o);
    /* options parse into o's fields, except those of other types (counts, seed, flags) */
    fashion_cli c = {NULL, (int)o.n_train, (int)o.n_val, 0, 0};
    const cli_opt opts[] = {
        {"out", CLI_STRING, &o.out_dir, "DIR", "output directory (ImageFolder: DIR/train/<class>/, DIR/val/<class>/)",
         .flags = CLI_REQUIRED},
        {"train", CLI_INT, &c.n_train, "N",
         "number of train images, one per item of the train pool (training file items 0..49,999); -1: all", .min = -1,
         .max = 10000000},
        {"val", CLI_INT, &c.n_val, "N", "number of val images, one per item of the val pool (t10k items 5,000..9,999); -1: all",
         .min = -1, .max = 10000000},
        {"size", CLI_INT, &o.size, "S", "canvas side in pixels", .min = 16, .max = 4096},
        {"seed", CLI_INT, &c.seed, "K", "seed: same seed, same bytes", .min = 0, .max = INT_MAX},
        {"mnist-dir", CLI_STRING, &o.mnist_dir, "DIR", "directory with the Fashion-MNIST *-ubyte.gz files", .flags = 0},
        {"fill-min", CLI_DOUBLE, &o.fill_min, "F", "smallest item bounding-box side, a fraction of the canvas side",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"fill-max", CLI_DOUBLE, &o.fill_max, "F", "largest item bounding-box side, a fraction of the canvas side (>= --fill-min)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1},
        {"jitter", CLI_DOUBLE, &o.jitter, "F", "largest offset of the item's centre from the canvas centre (fraction of the side)",
         .min = 0, .max = 0.5},
        {"max-distractors", CLI_INT, &o.max_distractors, "N", "0..N background distractor shapes per image", .min = 0, .max = 64},
        {"classes", CLI_STRING, &c.classes, "LIST",
         "only these Fashion-MNIST classes, comma-separated ids 1..10 (as fashion-scenes --classes); default all",
         .flags = 0},
        {"jpeg-quality", CLI_INT, &o.jpeg_quality, "Q", "JPEG quality", .min = 1, .max = 100},
        {"label-noise", CLI_DOUBLE, &o.label_noise, "P",
         "put each train image in a random other class's folder with probability P (noisy web-like labels; same "
         "images)", .min = 0, .max = 1},
        CLI_OPT_QUIET(&c.quiet),
    };
    const cli_spec spec = {"data fashion-objects", NULL,
                           "Generate Fashion-Objects (one centred Fashion-MNIST item per image, for backbone pretraining) "
                           "as a torchvision ImageFolder.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    rc = fashion_cli_finish(spec.command, &c, o.classes, &o.n_classes, &o.n_train, &o.n_val, &o.seed, &o.progress);
    if (rc) return rc;
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
