/* Placeholder until the data layer lands: replaced by the real command. */
#include <stdio.h>

#include "commands.h"

int cmd_data_fashion_scenes(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "wsss data: this subcommand is not built yet\n");
    return 2;
}
