/* wsss command-line entry point: dispatches to the subcommand table in commands.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "wsss/dist.h"
#include "wsss/error.h"
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

/* The commands that run as several MPI ranks (data-parallel training, docs/distributed.md). */
static int runs_distributed(const char *name) {
    static const char *const names[] = {"pretrain", "train-cls", "train-aff", "train-seg", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

static int run(int argc, char **argv) {
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
    if (c && wsss_dist_size() > 1 && !runs_distributed(c->name)) {
        if (wsss_dist_rank() == 0)
            fprintf(stderr, "wsss %s: runs as one process; only pretrain, train-cls, train-aff and train-seg run "
                            "as %d MPI ranks (start it without mpirun)\n",
                    c->name, wsss_dist_size());
        return CLI_EXIT_USAGE;
    }
    return c ? c->run(argc - 1, argv + 1) : unknown(argv[1]);
}

int main(int argc, char **argv) {
    wsss_runtime_init();
    if (wsss_dist_init(&argc, &argv) != WSSS_OK) {
        fprintf(stderr, "wsss: %s\n", wsss_error_msg());
        return CLI_EXIT_USAGE;
    }
    int rc = run(argc, argv);
    /* several ranks: a failure may have left the others waiting in a collective, so it ends the job
     * (its message is printed); success and an agreed interruption end every rank together */
    if (wsss_dist_size() > 1 && rc != CLI_EXIT_OK && rc != CLI_EXIT_INTERRUPTED) {
        if (wsss_dist_rank() > 0) sleep(1); /* rank 0 speaks first: its message before the job ends */
        wsss_dist_abort(rc);
    }
    wsss_dist_finalize();
    return rc;
}
