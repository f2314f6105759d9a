/* Training checkpoints: a directory written atomically, so that a crash at any point leaves a
 * loadable checkpoint.
 *
 *   DIR/model.safetensors   parameters + buffers (PyTorch state_dict names)
 *   DIR/optim.safetensors   optimizer state (see wsss_optim_state_add); absent if saved without one
 *   DIR/state.json          format version, step, epoch, lr schedule and last lr, RNG state (exact),
 *                           data-loader position, the run's config text, a timestamp
 *
 * A run that trains several networks (trainer parts, trainer.h) keeps the first one in
 * model/optim.safetensors as above (so a reader of one network, e.g. `wsss cam` on a checkpoint,
 * finds it there unchanged) and every further part NAME in
 *   DIR/part-NAME.safetensors and DIR/part-NAME.optim.safetensors,
 * with state.json's "parts" (each part's name, steps, last lr and schedule) and "phase" (the parts
 * that stepped last). A one-network checkpoint has neither field.
 *
 * Save writes everything into DIR.tmp-<pid>, fsyncs it, then renames it over DIR: when DIR exists
 * it is first renamed to DIR.old-<pid>, and removed after the new one is in place. A crash leaves
 * either DIR (old or new, complete) or DIR.old-<pid> (complete), plus possibly DIR.tmp-<pid>. The
 * next save or load of DIR cleans up after saves whose process is gone (wsss_ckpt_clean_stale);
 * a live process's temporaries are never touched. An existing DIR that is not a wsss checkpoint
 * (no state.json) is never replaced.
 *
 * Load validates everything (missing files, malformed JSON, wrong version, missing or mistyped
 * fields, missing/unexpected tensors, shape mismatches) and the error names the file and field.
 *
 * Layering: a checkpoint sits above the things it saves (nn's params, optim's state) and the file
 * formats it writes them in (io: safetensors, JSON, fs); its code lives with the stages
 * (src/wsss/checkpoint.c), so nn and optim never depend on it. */
#ifndef WSSS_CHECKPOINT_H
#define WSSS_CHECKPOINT_H

#include <stdint.h>

#include "wsss/optim.h"
#include "wsss/params.h"
#include "wsss/rng.h"

#define WSSS_CKPT_VERSION 1
#define WSSS_CKPT_MAX_DATA_POS 16
#define WSSS_CKPT_MAX_PARTS 4
#define WSSS_CKPT_PART_NAME 32 /* part names: 1..31 characters of [a-z0-9_] (they name files) */

/* One network of a multi-part checkpoint. */
typedef struct wsss_ckpt_part {
    char name[WSSS_CKPT_PART_NAME];
    int64_t steps;          /* optimizer steps it took */
    double lr;              /* base lr of its last step (informational) */
    wsss_lr_schedule sched;
} wsss_ckpt_part;

typedef struct wsss_ckpt_state {
    int64_t step;  /* optimizer steps taken */
    int64_t epoch;
    wsss_lr_schedule sched;
    double lr;     /* base lr of the last step (informational) */
    wsss_rng rng;  /* copied exactly (all four words and the Box-Muller spare) */
    int n_data_pos;
    int64_t data_pos[WSSS_CKPT_MAX_DATA_POS]; /* opaque data-loader position */
    char *config;  /* run configuration text; NULL = none. Owned: set with wsss_ckpt_state_set_config */
    char timestamp[32]; /* UTC "YYYY-MM-DDTHH:MM:SSZ": filled by load (save writes the current time) */
    int n_parts;        /* 0: one network (no "parts"); else 2..WSSS_CKPT_MAX_PARTS */
    wsss_ckpt_part parts[WSSS_CKPT_MAX_PARTS];
    unsigned phase;     /* bit i: part i stepped at the last step (0 before the first) */
} wsss_ckpt_state;

void wsss_ckpt_state_init(wsss_ckpt_state *s);  /* zeroed, constant lr 0 */
void wsss_ckpt_state_clear(wsss_ckpt_state *s); /* frees config */
void wsss_ckpt_state_set_config(wsss_ckpt_state *s, const char *config);

/* Save model (parameters and buffers), optimizer (may be NULL) and state to dir atomically. */
int wsss_ckpt_save(const char *dir, const wsss_params *model, const wsss_optim *opt, const wsss_ckpt_state *state);

/* Load into existing objects with the same structure (strict: every tensor must match).
 * opt may be NULL (optimizer state not loaded); a checkpoint saved without optimizer state cannot
 * be loaded into a non-NULL opt. state receives the state (wsss_ckpt_state_clear it afterwards; any
 * previous config it held is freed). On error, model and opt are each either unchanged or fully
 * loaded: discard them. */
int wsss_ckpt_load(const char *dir, wsss_params *model, wsss_optim *opt, wsss_ckpt_state *state);

/* Several networks (state->n_parts of them, >= 2, named by state->parts[i].name): params[i] and
 * opts[i] (opts NULL, or every entry set) as the layout above says. Atomic like wsss_ckpt_save. */
int wsss_ckpt_save_parts(const char *dir, const wsss_params *const *params, const wsss_optim *const *opts,
                         const wsss_ckpt_state *state);
/* Load a checkpoint of n networks named names[0..n) (n = 1: a one-network checkpoint, as
 * wsss_ckpt_load) into params[i] / opts[i] (opts NULL: no optimizer state). The stored parts must
 * be these, in this order: otherwise an error names the stored and the expected parts. Strict
 * like wsss_ckpt_load; on error discard every object. */
int wsss_ckpt_load_parts(const char *dir, int n, const char *const *names, wsss_params *const *params,
                         wsss_optim *const *opts, wsss_ckpt_state *state);
/* Nonzero if name can name a part (1..31 characters of [a-z0-9_]). */
int wsss_ckpt_part_name_ok(const char *name);

/* Leftovers next to DIR of saves whose process is gone (kill -9, power loss): DIR.tmp-<pid> is
 * removed; DIR.old-<pid> is renamed back to DIR when DIR is missing (the save died between its two
 * renames), else removed. Only files a checkpoint holds are deleted (a leftover with other files
 * in it is kept, with a warning). Returns how many leftovers were cleaned. Save and load call it. */
int wsss_ckpt_clean_stale(const char *dir);

/* Only the state (state.json), e.g. to inspect a checkpoint. */
int wsss_ckpt_load_state(const char *dir, wsss_ckpt_state *state);
/* The state.json text of state (malloc'd), as save writes it (with the current time). */
char *wsss_ckpt_state_to_json(const wsss_ckpt_state *state, int has_optimizer);
/* The state.json parser itself, on text[0..len) (file names it in messages): the same validation,
 * state is replaced only on success; *has_optimizer receives the file's has_optimizer flag. */
int wsss_ckpt_state_parse(const char *file, const char *text, size_t len, wsss_ckpt_state *state, int *has_optimizer);

#endif
