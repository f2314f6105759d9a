/* CLI plumbing: the subcommand table and one declarative option table per command that drives
 * parsing, range checks, --help and the --resume rules.
 *
 * The contract every command keeps (tests/unit/cli_contract.sh checks it):
 *   exit 0 success or --help, 1 runtime failure, 2 bad usage or bad settings, 130 interrupted
 *   (a training command has written its checkpoint);
 *   every message on stderr starts with "wsss COMMAND: " and names the culprit (option, value,
 *   file) and what was expected. */
#ifndef WSSS_CLI_H
#define WSSS_CLI_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wsss/config_table.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERRUPTED = 130 };

/* CHOICE: one word of a list (wsss_choice, shared with the stored configs); dest receives the enum
 * value, an unknown word is a usage error naming the option, the word and the accepted words. */
typedef enum { CLI_FLAG, CLI_INT, CLI_DOUBLE, CLI_STRING, CLI_CHOICE } cli_kind;

enum {
    CLI_REQUIRED = 1,  /* must be given (unless cli_opt.unless is) */
    CLI_HIDDEN = 2,    /* accepted, not listed by --help: options for tests only */
    CLI_RESUMABLE = 4, /* may differ from the checkpoint's value with --resume (cli_train.c) */
    CLI_MIN_OPEN = 8,  /* DOUBLE: the range excludes min */
    CLI_MAX_OPEN = 16, /* DOUBLE: the range excludes max */
};

typedef struct cli_opt {
    const char *name;    /* long name without dashes, e.g. "out" for --out */
    cli_kind kind;
    void *dest;          /* int* (FLAG, INT, CHOICE: an enum), double*, const char** */
    const char *metavar; /* e.g. "DIR"; NULL for flags */
    const char *help;    /* one line; the range and the default (from *dest) are appended */
    unsigned flags;      /* CLI_REQUIRED ... */
    double min, max;     /* INT and DOUBLE: the accepted values (min < max; inclusive unless *_OPEN) */
    const char *default_text; /* the default as words when *dest is a placeholder ("all", "RUN/...") */
    const char *unless;       /* CLI_REQUIRED unless this other option is given ("a|b": one of these) */
    const wsss_choice *choices; /* CHOICE: the accepted words and their values */
} cli_opt;

/* The same option in every command: one name, one meaning, one help line. */
#define CLI_OPT_QUIET(dest) {"quiet", CLI_FLAG, (dest), NULL, "no progress bar or status lines on stderr", .flags = CLI_RESUMABLE}
#define CLI_OPT_RUN(dest) {"run", CLI_STRING, (dest), "DIR", "run directory: the default paths (RUN/...) derive from it", .flags = 0}
#define CLI_OPT_SKIP_BAD(dest) {"skip-bad", CLI_FLAG, (dest), NULL, "warn about and skip unreadable samples", .flags = 0}
#define CLI_OPT_SPLIT(dest) {"split", CLI_STRING, (dest), "NAME", "split name or list file", .flags = 0}
#define CLI_OPT_CAMS(dest) {"cams", CLI_STRING, (dest), "DIR", "folder of <id>.safetensors maps (default RUN/cams)", .flags = 0}
#define CLI_OPT_BRIEF(dest) {"brief", CLI_FLAG, (dest), NULL, "results only: no per-class table or confusion matrix", .flags = 0}

/* The COCO files of every command that opens a dataset (dataset.h's coco_* options): --data ROOT
 * finds ROOT/annotations/instances_SPLIT.json and ROOT/SPLIT/ by itself; these name other places. */
#define CLI_OPTS_COCO(annotations, images, masks)                                                                     \
    {"coco-annotations", CLI_STRING, (annotations), "FILE",                                                           \
     "COCO annotation file (default DATA/annotations/instances_SPLIT.json)", .flags = 0},                            \
    {"coco-images", CLI_STRING, (images), "DIR", "COCO image folder (default DATA/SPLIT)", .flags = 0},               \
    {"coco-masks", CLI_STRING, (masks), "DIR",                                                                        \
     "COCO mask cache, built when missing or stale (default: beside the annotation file)", .flags = 0}
typedef struct cli_coco {
    const char *annotations, *images, *masks;
} cli_coco;
struct wsss_dataset_opts;
/* A stage's dataset options: the defaults, then split, mask mode, skip_bad and the COCO files. */
void cli_dataset_opts(struct wsss_dataset_opts *o, const char *split, int masks, int skip_bad, const cli_coco *coco);
/* The help line of --data in every command that opens a dataset. */
#define CLI_DATA_HELP "dataset root: VOC layout, or COCO (annotations/instances_SPLIT.json and SPLIT/)"

/* The trainer-loop options of every training command (cfg: its config struct, which names these
 * fields alike; quiet, stop_after: int*). --stop-after is for tests: hidden. */
#define CLI_OPTS_TRAIN_LOOP(cfg, quiet, stop_after)                                                                    \
    {"seed", CLI_INT, &(cfg).seed, "K", "seed (init, data order, augmentation)", .min = 0, .max = INT_MAX},              \
    {"workers", CLI_INT, &(cfg).workers, "N", "data loader threads (0 = auto)", .flags = CLI_RESUMABLE, .min = 0,       \
     .max = 256},                                                                                                      \
    {"log-every", CLI_INT, &(cfg).log_every, "N", "JSONL record every N steps", .flags = CLI_RESUMABLE, .min = 1,       \
     .max = INT_MAX},                                                                                                  \
    CLI_OPT_SKIP_BAD(&(cfg).skip_bad),                                                                                 \
    {"sync-bn", CLI_FLAG, &(cfg).sync_bn, NULL, "under mpirun: batch norm statistics of all ranks' batches (docs/distributed.md)", \
     .flags = 0},                                                                                                      \
    CLI_OPT_QUIET(quiet),                                                                                              \
    {"stop-after", CLI_INT, (stop_after), "N", "tests: checkpoint and stop (exit 130) after N steps (0 = never)",       \
     .flags = CLI_HIDDEN | CLI_RESUMABLE, .min = 0, .max = INT_MAX}

/* The segmentation inference settings of eval-seg and segment (CLI_OPTS_SEG_INFER fills them). */
typedef struct cli_seg_infer {
    const char *scales;
    int no_flip, direct_conv, crf;
} cli_seg_infer;
#define CLI_OPTS_SEG_INFER(si)                                                                                        \
    {"scales", CLI_STRING, &(si).scales, "S,S", "test scales; softmax outputs are averaged", .flags = 0},            \
    {"no-flip", CLI_FLAG, &(si).no_flip, NULL, "do not average with the mirrored image", .flags = 0},                \
    {"direct-conv", CLI_FLAG, &(si).direct_conv, NULL,                                                               \
     "direct convolutions only, as PyTorch computes them (no Winograd): slower", .flags = 0},                        \
    {"crf", CLI_FLAG, &(si).crf, NULL, "dense CRF on the averaged probabilities (MCIS parameters)", .flags = 0}
/* Scales "0.5,0.75,1,1.25,1.5", flip, Winograd, no CRF. */
cli_seg_infer cli_seg_infer_default(void);
/* The library's inference options from the parsed settings; a bad --scales is printed (exit 2). */
struct wsss_seg_infer_opts;
int cli_seg_infer_opts(const char *command, const cli_seg_infer *si, struct wsss_seg_infer_opts *io);

typedef struct cli_spec {
    const char *command;    /* "data fashion-scenes" */
    const char *positional; /* e.g. "ROOT", "IMAGE..." or NULL if none are accepted */
    const char *summary;    /* one paragraph */
    const cli_opt *opts;
    int n_opts;
    int min_positional, max_positional; /* max < 0: unlimited */
    unsigned char *given; /* optional, n_opts entries: set to 1 for each option on the command line */
} cli_spec;

/* Parse argv (argv[0] is the command word). On --help prints usage and returns 1 (exit 0); on a
 * bad option, value or argument count prints what is wrong and returns -1 (exit 2). Positional
 * arguments are collected into *pos (pointing into argv; free it) and counted in *n_pos; pos may be
 * NULL for a command that takes none. */
int cli_parse(const cli_spec *spec, int argc, char **argv, char ***pos, int *n_pos);
/* cli_parse for a command of exactly one argument (spec: min = max = 1 positional): *arg points into argv. */
int cli_parse_one_arg(const cli_spec *spec, int argc, char **argv, const char **arg);
/* The exit code for cli_parse's nonzero result. */
static inline int cli_parse_exit(int rc) { return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE; }
void cli_usage(const cli_spec *spec, FILE *out);
/* Index of the option named name in spec, or -1. */
int cli_find(const cli_spec *spec, const char *name);

/* "wsss COMMAND: <message>\n" on stderr: the one prefix of every CLI message. */
void cli_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_error with the library's last message (wsss_error_msg); returns code. */
int cli_fail(const char *command, int code);

/* Text of an option's accepted range ("1..4096", "0 <= P <= 1") into buf. */
void cli_range_text(const cli_opt *o, char *buf, size_t cap);
/* Text of *o->dest as a value ("6", "0.05", "on", a string or "(unset)") into buf. */
void cli_value_text(const cli_opt *o, const void *value, char *buf, size_t cap);

/* With --resume DIR: cfg holds the checkpoint's configuration, cli_cfg a copy of the same struct as
 * the command line left it (option dests point into cfg; cfg_size bytes). Given options marked
 * CLI_RESUMABLE are applied to cfg; any other given option whose dest lies in cfg must equal the
 * stored value, else each is named with both values and -1 is returned (exit 2). */
int cli_resume_merge(const cli_spec *spec, void *cfg, const void *cli_cfg, size_t cfg_size, const char *resume_dir);

/* A training command's --resume DIR: read the checkpoint's configuration (described by table) into
 * cfg, with strings in *storage, and merge the command line into it (cli_resume_merge). Returns
 * CLI_EXIT_OK, CLI_EXIT_FAILURE (unreadable checkpoint) or CLI_EXIT_USAGE (refused options); the
 * messages are printed (and, unless quiet, that the run resumes). */
int cli_train_resume(const cli_spec *spec, const char *resume_dir, const wsss_cfg_table *table, void *cfg,
                     void **storage, int quiet);
/* A training command after its option table: parse, --resume DIR (the checkpoint's settings and
 * the command line merged), the settings check (exit 2), the run and its exit code (cli_train_exit).
 * cfg's ckpt, progress and stop_after fields and the command's --resume, --quiet and --stop-after
 * values are reached through the pointers. */
typedef struct cli_train_stage {
    const wsss_cfg_table *table; /* the config's description (its JSON form in checkpoints) */
    void *cfg;
    const char **ckpt;         /* cfg's checkpoint dir: a resumed run keeps checkpointing where it was */
    int *progress;             /* cfg's status output switch */
    int64_t *stop_after;       /* cfg's test hook */
    const char *const *resume; /* the options' values, set by the parse */
    const int *quiet, *stop_after_opt;
    int (*check)(const void *cfg);
    int (*run)(const void *cfg, const char *resume_dir);
    char *(*ckpt_dir)(const void *cfg); /* where the run checkpoints (malloc'd), for the exit message */
} cli_train_stage;
int cli_train_main(const cli_spec *spec, int argc, char **argv, const cli_train_stage *t);
/* The same where the defaults depend on the parsed settings (e.g. a method's recipe): defaults
 * writes them into a struct like cfg, and a fresh run takes them for every option not given. */
int cli_train_main_defaults(const cli_spec *spec, int argc, char **argv, const cli_train_stage *t,
                            void (*defaults)(void *defaults, const void *cfg));
/* The exit code of a training run's result (WSSS_OK, WSSS_ERR or WSSS_TRAINER_INTERRUPTED), with
 * its message: 0, 1, or 130 once the checkpoint in ckpt_dir is written. */
int cli_train_exit(const char *command, int run_rc, const char *ckpt_dir);

typedef int (*cli_command_fn)(int argc, char **argv);
typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *summary;
} cli_command;
/* Command tables end with {NULL}, as the wsss_choice lists do. */
/* The entry of table named name, or NULL. */
const cli_command *cli_command_find(const cli_command *table, const char *name);
/* The table's "  NAME  summary" lines of a usage text, names padded to width. */
void cli_command_list(FILE *out, const cli_command *table, int width);

#endif
