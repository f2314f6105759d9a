/* `wsss data fashion-scenes`: generate the Fashion-Scenes benchmark (specs/fashion-scenes.md). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/fashion_scenes.h"

int cmd_data_fashion_scenes(int argc, char **argv) {
    wsss_fashion_opts o;
    wsss_fashion_opts_default(&o);
    /* options parse into o's fields, except those of other types (counts, seed, flags) */
    const char *classes = NULL;
    int n_train = (int)o.n_train, n_val = (int)o.n_val, seed = 0, quiet = 0;
    const cli_opt opts[] = {
        {"out", CLI_STRING, &o.out_dir, "DIR", "output directory (VOC layout)", .flags = CLI_REQUIRED},
        {"train", CLI_INT, &n_train, "N", "number of train scenes (items from the Fashion-MNIST train file)", .min = 0,
         .max = 10000000},
        {"val", CLI_INT, &n_val, "N", "number of val scenes (items from the t10k file)", .min = 0, .max = 10000000},
        {"size", CLI_INT, &o.size, "S", "canvas side in pixels", .min = 16, .max = 4096},
        {"seed", CLI_INT, &seed, "K", "seed: same seed, same bytes", .min = 0, .max = INT_MAX},
        {"mnist-dir", CLI_STRING, &o.mnist_dir, "DIR", "directory with the Fashion-MNIST *-ubyte.gz files", .flags = 0},
        {"scale-min", CLI_DOUBLE, &o.scale_min, "F", "smallest item upscale factor", .flags = CLI_MIN_OPEN, .min = 0, .max = 100},
        {"scale-max", CLI_DOUBLE, &o.scale_max, "F", "largest item upscale factor (>= --scale-min)", .flags = CLI_MIN_OPEN,
         .min = 0, .max = 100},
        {"min-visible", CLI_DOUBLE, &o.min_visible, "F", "items with less visible area (fraction of canvas) become 255",
         .min = 0, .max = 1},
        {"max-distractors", CLI_INT, &o.max_distractors, "N", "0..N background distractor shapes per scene", .min = 0, .max = 64},
        {"classes", CLI_STRING, &classes, "LIST",
         "only these Fashion-MNIST classes, comma-separated ids 1..10 (a smaller, easier benchmark; renumbered 1..n "
         "in the listed order); default all",
         .flags = 0},
        {"jpeg-quality", CLI_INT, &o.jpeg_quality, "Q", "JPEG quality", .min = 1, .max = 100},
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"data fashion-scenes", NULL,
                           "Generate the Fashion-Scenes WSSS benchmark (scenes of Fashion-MNIST items) as a VOC-format dataset.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    if (classes && wsss_fashion_parse_classes(classes, o.classes, &o.n_classes) != WSSS_OK)
        return cli_fail(spec.command, CLI_EXIT_USAGE);
    o.n_train = n_train;
    o.n_val = n_val;
    o.seed = (uint64_t)seed;
    o.progress = !quiet;
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
