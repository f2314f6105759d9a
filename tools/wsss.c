/* wsss command-line entry point: dispatches to the subcommand table in commands.h. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "wsss/runtime.h"

static const cli_command k_commands[] = {
#define X(name, fn, summary) {name, fn, summary},
    WSSS_COMMAND_TABLE
#undef X
    {NULL, NULL, NULL},
};

static void usage(FILE *out) {
    fprintf(out, "usage: wsss COMMAND [options]   (wsss COMMAND --help or wsss help COMMAND for its options)\n\n"
                 "commands:\n");
    cli_command_list(out, k_commands, 20);
    fprintf(out, "  %-20s %s\n", "--version", "same as 'wsss version'");
    fprintf(out, "\nexit codes: 0 success, 1 failure, 2 bad usage or settings, 130 interrupted\n");
}

static const cli_command *find(const char *name) { return cli_command_find(k_commands, name); }

static int unknown(const char *name) {
    fprintf(stderr, "wsss: unknown command '%s' (see wsss --help)\n", name);
    return CLI_EXIT_USAGE;
}

/* `wsss help CMD [SUB]`: the command's own --help. */
static int help(int argc, char **argv) {
    if (argc < 1) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = find(argv[0]);
    if (!c) return unknown(argv[0]);
    char *args[4] = {argv[0], argc > 1 ? argv[1] : "--help", "--help", NULL};
    return c->run(argc > 1 ? 3 : 2, args);
}

int main(int argc, char **argv) {
    wsss_runtime_init();
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "help") == 0) return help(argc - 2, argv + 2);
    const cli_command *c = find(strcmp(argv[1], "--version") == 0 ? "version" : argv[1]);
    return c ? c->run(argc - 1, argv + 1) : unknown(argv[1]);
}
