/* Training checkpoints: a directory written atomically, so that a crash at any point leaves a
 * loadable checkpoint.
 *
 *   DIR/model.safetensors   parameters + buffers (PyTorch state_dict names)
 *   DIR/optim.safetensors   optimizer state (see wsss_optim_state_add); absent if saved without one
 *   DIR/state.json          format version, step, epoch, lr schedule and last lr, RNG state (exact),
 *                           data-loader position, the run's config text, a timestamp
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

/* Leftovers next to DIR of saves whose process is gone (kill -9, power loss): DIR.tmp-<pid> is
 * removed; DIR.old-<pid> is renamed back to DIR when DIR is missing (the save died between its two
 * renames), else removed. Only files a checkpoint holds are deleted (a leftover with other files
 * in it is kept, with a warning). Returns how many leftovers were cleaned. Save and load call it. */
int wsss_ckpt_clean_stale(const char *dir);

/* Only the state (state.json), e.g. to inspect a checkpoint. */
int wsss_ckpt_load_state(const char *dir, wsss_ckpt_state *state);
/* The state.json parser itself, on text[0..len) (file names it in messages): the same validation,
 * state is replaced only on success; *has_optimizer receives the file's has_optimizer flag. */
int wsss_ckpt_state_parse(const char *file, const char *text, size_t len, wsss_ckpt_state *state, int *has_optimizer);

#endif
