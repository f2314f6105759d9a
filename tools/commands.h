/* Every subcommand is a function in its own tools/cmd_*.c file, listed once here. */
#ifndef WSSS_COMMANDS_H
#define WSSS_COMMANDS_H

#include "cli.h"

int cmd_version(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_data_check(int argc, char **argv);          /* tools/cmd_data_check.c */
int cmd_data_fashion_scenes(int argc, char **argv); /* tools/cmd_data_fashion.c */

/* name, function, one-line summary; keep alphabetical within a stage */
#define WSSS_COMMAND_TABLE \
    X("data", cmd_data, "dataset tools: check, fashion-scenes")                        \
    X("version", cmd_version, "print version, oneDNN version, CPU ISA and threads")

#endif
