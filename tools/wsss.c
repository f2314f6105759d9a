/* wsss command-line entry point: dispatches to the subcommand table in commands.h. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "wsss/runtime.h"

static const cli_command k_commands[] = {
#define X(name, fn, summary) {name, fn, summary},
    WSSS_COMMAND_TABLE
#undef X
};

static void usage(FILE *out) {
    fprintf(out, "usage: wsss COMMAND [options]   (wsss COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        fprintf(out, "  %-20s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(out, "  %-20s %s\n", "--version", "same as 'wsss version'");
}

int main(int argc, char **argv) {
    wsss_runtime_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    const char *name = strcmp(argv[1], "--version") == 0 ? "version" : argv[1];
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++) {
        if (strcmp(k_commands[i].name, name) == 0) return k_commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "wsss: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
