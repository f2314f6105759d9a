/* CLI plumbing: the subcommand table and one declarative option table per command that drives
 * both parsing and --help. */
#ifndef WSSS_CLI_H
#define WSSS_CLI_H

#include <stdio.h>

typedef enum { CLI_FLAG, CLI_INT, CLI_DOUBLE, CLI_STRING } cli_kind;

typedef struct cli_opt {
    const char *name;    /* long name without dashes, e.g. "out" for --out */
    cli_kind kind;
    void *dest;          /* int* (FLAG, INT), double*, const char** */
    const char *metavar; /* e.g. "DIR"; NULL for flags */
    const char *help;    /* one line; defaults are printed from *dest */
    int required;
} cli_opt;

typedef struct cli_spec {
    const char *command;    /* "data fashion-scenes" */
    const char *positional; /* e.g. "ROOT", "IMAGE..." or NULL if none are accepted */
    const char *summary;    /* one line */
    const cli_opt *opts;
    int n_opts;
    int min_positional, max_positional; /* max < 0: unlimited */
} cli_spec;

/* Parse argv (argv[0] is the command word). On --help prints usage and returns 1 (caller exits 0);
 * on a bad flag prints a clear error and returns -1 (caller exits 2). Positional arguments are
 * collected into *pos (pointing into argv) and counted in *n_pos. */
int cli_parse(const cli_spec *spec, int argc, char **argv, char ***pos, int *n_pos);
void cli_usage(const cli_spec *spec, FILE *out);

typedef int (*cli_command_fn)(int argc, char **argv);
typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *summary;
} cli_command;

#endif
