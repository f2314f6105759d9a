/* `wsss data <subcommand>`: dataset tools. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int cmd_data(int argc, char **argv) {
    static const struct {
        const char *name;
        cli_command_fn run;
        const char *summary;
    } subs[] = {
        {"check", cmd_data_check, "validate a VOC-format dataset and print a summary"},
        {"fashion-scenes", cmd_data_fashion_scenes, "generate the Fashion-Scenes benchmark dataset"},
        {"fashion-objects", cmd_data_fashion_objects, "generate Fashion-Objects (single-label ImageFolder for pretraining)"},
    };
    if (argc >= 2) {
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
            if (strcmp(argv[1], subs[i].name) == 0) return subs[i].run(argc - 1, argv + 1);
    }
    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    FILE *out = help ? stdout : stderr;
    if (argc >= 2 && !help) fprintf(stderr, "wsss data: unknown subcommand '%s'\n", argv[1]);
    fprintf(out, "usage: wsss data SUBCOMMAND [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        fprintf(out, "  %-16s %s\n", subs[i].name, subs[i].summary);
    return help ? 0 : 2;
}
