/* `wsss data <subcommand>`: dataset tools. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const cli_command k_subs[] = {
    {"check", cmd_data_check, "validate a VOC- or COCO-format dataset and print a summary"},
    {"coco-masks", cmd_data_coco_masks, "rasterise a COCO split's masks into the cache every stage reads"},
    {"fashion-scenes", cmd_data_fashion_scenes, "generate the Fashion-Scenes benchmark dataset"},
    {"fashion-objects", cmd_data_fashion_objects, "generate Fashion-Objects (single-label ImageFolder for pretraining)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out) {
    fprintf(out, "usage: wsss data SUBCOMMAND [options]   (wsss data SUBCOMMAND --help for its options)\n\n"
                 "Dataset tools.\n\nsubcommands:\n");
    cli_command_list(out, k_subs, 26);
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

int cmd_data(int argc, char **argv) {
    if (argc < 2) {
        cli_error("data", "missing SUBCOMMAND (check, coco-masks, fashion-scenes or fashion-objects; see wsss data --help)");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *sub = cli_command_find(k_subs, argv[1]);
    if (sub) return sub->run(argc - 1, argv + 1);
    cli_error("data", "unknown subcommand '%s' (expected check, coco-masks, fashion-scenes or fashion-objects; see wsss data --help)", argv[1]);
    return CLI_EXIT_USAGE;
}
