/* The epoch/step loop shared by the pipeline's trainers (train-cls, train-seg, the WSSS methods).
 *
 * The caller builds the model (a wsss_params registry), the optimizer, the lr schedule (in
 * iterations) and a loader; the trainer runs steps until `epochs` epochs are done:
 *
 *   zero grads -> step_fn(user, trainer, batch, lr) (forward + backward) -> optimizer step ->
 *   log (JSONL per step, progress bar with ETA) -> at each epoch end: checkpoint (atomic)
 *
 * Resume: with opts.resume_dir set, init loads parameters, optimizer state, step, epoch, schedule,
 * the trainer's RNG (t->rng, for dropout and other per-step randomness) and the loader position
 * from that checkpoint and seeks the loader, so the continued run equals an uninterrupted one bit
 * for bit (on one thread; oneDNN/OpenMP reductions may differ across thread counts). The one
 * setting a resumed run may change is its length (opts.epochs): a poly or cosine schedule then
 * decays over the caller's max_iter instead of the stored one.
 *
 * Interruption: SIGINT/SIGTERM set a flag; at the next step boundary the trainer saves a
 * checkpoint (mid-epoch position included) and run returns WSSS_TRAINER_INTERRUPTED; the CLI
 * exits with 130. A second signal while saving is ignored; handlers are restored when run returns.
 *
 * Checkpoint state.json holds: step, epoch, schedule, last lr, t->rng, data_pos = {loader epoch,
 * loader index}, and opts.config (the run configuration as text, typically JSON). */
#ifndef WSSS_TRAINER_H
#define WSSS_TRAINER_H

#include <stdint.h>

#include "wsss/loader.h"
#include "wsss/optim.h"
#include "wsss/params.h"
#include "wsss/rng.h"

#define WSSS_TRAINER_INTERRUPTED 130 /* run's return value after a signal (also the exit code) */
#define WSSS_TRAINER_MAX_AUX 6

struct wsss_trainer;
struct wsss_trainer_stats;

typedef struct wsss_trainer_opts {
    const char *stage;      /* log/progress name, e.g. "train-cls" */
    int64_t epochs;         /* total epochs of the run (a resumed run continues to this) */
    const char *ckpt_dir;   /* checkpoint directory (parents created); NULL = never checkpoint */
    const char *resume_dir; /* NULL = fresh start */
    const char *log_path;   /* JSONL log (appended; parents created); NULL = none */
    const char *config;     /* run configuration text stored in checkpoints (may be NULL) */
    const char *note;       /* NULL, or a line the JSONL start/resume record carries as "note" (e.g. how the
                               run departs from its method's reference) */
    int progress;           /* 1 = progress bar on stderr */
    int log_every;          /* JSONL record every N steps (0 = 1); epoch ends are always logged */
    int handle_signals;     /* 1 = install SIGINT/SIGTERM handlers during run */
    int64_t stop_after;     /* > 0: return WSSS_TRAINER_INTERRUPTED (with a checkpoint) after this
                               many steps of this call, as if interrupted (tests) */
    /* NULL, or called at each epoch end after the epoch's last optimizer step and before its
     * checkpoint (t->epoch is still the 0-based index of the epoch just finished), e.g. for a
     * validation pass: the scalars it reports (stats->aux; loss unused) join the JSONL "epoch"
     * record. WSSS_ERR (message set) stops the run without a checkpoint of that epoch. */
    int (*epoch_end)(void *epoch_user, struct wsss_trainer *t, struct wsss_trainer_stats *stats);
    void *epoch_user;
} wsss_trainer_opts;

void wsss_trainer_opts_default(wsss_trainer_opts *o);

/* What a step reports: the loss and optional named scalars (names must outlive the step). */
typedef struct wsss_trainer_stats {
    double loss;
    int n_aux;
    const char *aux_name[WSSS_TRAINER_MAX_AUX];
    double aux[WSSS_TRAINER_MAX_AUX];
} wsss_trainer_stats;

typedef struct wsss_trainer wsss_trainer;

/* One training step's forward + backward on batch (gradients are zero on entry; the trainer steps
 * the optimizer after it). Return WSSS_OK, or WSSS_ERR with a message to stop the run (no
 * checkpoint is written for the failed step). */
typedef int (*wsss_trainer_step_fn)(void *user, wsss_trainer *t, const wsss_batch *batch, double lr,
                                    wsss_trainer_stats *stats);

struct wsss_trainer {
    wsss_trainer_opts opts;
    wsss_params *model;     /* not owned */
    wsss_optim *opt;        /* not owned */
    wsss_loader *loader;    /* not owned */
    wsss_lr_schedule sched; /* in iterations */
    wsss_rng rng;           /* per-run randomness for step functions (dropout ...), checkpointed */
    int64_t step;           /* optimizer steps done */
    int64_t epoch;          /* completed epochs */
    int64_t steps_per_epoch;
    int resumed;            /* 1 if init loaded a checkpoint */
    double last_loss, last_lr;
    double epoch_loss_sum;  /* running sums over the current epoch */
    int64_t epoch_steps;
    double seconds;         /* wall time spent in run (this process) */
    int64_t images;         /* images processed in run (this process) */
};

/* Set up; with opts->resume_dir, load the checkpoint into model/opt, restore state and seek the
 * loader (errors name the checkpoint and the field). seed seeds t->rng on a fresh start. */
int wsss_trainer_init(wsss_trainer *t, const wsss_trainer_opts *opts, wsss_params *model, wsss_optim *opt,
                      const wsss_lr_schedule *sched, wsss_loader *loader, uint64_t seed);
/* Run until opts.epochs epochs are complete. Returns WSSS_OK, WSSS_ERR (message set) or
 * WSSS_TRAINER_INTERRUPTED (checkpoint saved if ckpt_dir is set). */
int wsss_trainer_run(wsss_trainer *t, wsss_trainer_step_fn fn, void *user);
/* Save a checkpoint of the current state to dir (atomic). */
int wsss_trainer_save(const wsss_trainer *t, const char *dir);
void wsss_trainer_free(wsss_trainer *t);

/* Read the config text of a checkpoint (malloc'd; NULL + error if unreadable or absent). Lets a
 * CLI restore a run's settings from --resume DIR alone. */
char *wsss_trainer_ckpt_config(const char *dir);

/* Nonzero once SIGINT/SIGTERM arrived during a run (also usable by long non-training stages that
 * install the handlers with wsss_trainer_signals_install). */
int wsss_trainer_interrupted(void);
void wsss_trainer_signals_install(void);
void wsss_trainer_signals_restore(void);

#endif
