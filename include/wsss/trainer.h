/* The epoch/step loop shared by the pipeline's trainers (train-cls, train-seg, the WSSS methods).
 *
 * The caller builds the networks it trains, each a part (a wsss_params registry, its optimizer and
 * its lr schedule in iterations), and a loader; the trainer runs steps until `epochs` epochs are
 * done:
 *
 *   phase rule -> zero grads -> step_fn(user, trainer, batch, lr) (forward + backward) ->
 *   opts.before_step (e.g. gradient synchronisation) -> the active parts' optimizer steps ->
 *   log (JSONL per step, progress bar with ETA) -> at each epoch end: checkpoint (atomic)
 *
 * Parts and phases: a one-network stage has one part (wsss_trainer_init). A method that trains
 * networks against each other (EADER's localizer and adversary) gives several
 * (wsss_trainer_init_parts) and a phase rule, opts.phase: the set of parts that step at each
 * global step (default: all). "Inactive this phase" is not "frozen by design": a parameter the
 * caller froze (requires_grad = 0 before init, e.g. frozen batch norm) stays frozen; the
 * parameters of an inactive part get requires_grad = 0 for that step only (gradients still flow
 * through them to the active parts, none is accumulated for them) and their design value back when
 * the part is active again and when run returns. Every part's gradients are zeroed before each
 * step. t->active tells the step function which parts step.
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
 * loader index}, and opts.config (the run configuration as text, typically JSON); with several
 * parts also each part's steps and schedule and the phase (checkpoint.h), and resuming checks that
 * the phase rule still gives the stored phase.
 *
 * Several data-parallel ranks (dist.h, docs/distributed.md): the loader must be sharded over the
 * ranks (loader.h shard_rank/shard_count; init refuses it otherwise), and init gives every rank
 * rank 0's parameters. Each step the ranks agree, in one allreduce, on the global batch's loss and
 * scalars (each rank's weighted by its share of the batch), on whether any rank failed (all stop
 * with WSSS_ERR) and on whether any rank was signalled (all stop after that step); the gradients of
 * the active parts are then summed with the same weights (trainer_dist.c) before opts.before_step.
 * Only rank 0 logs, shows progress and writes checkpoints (the options are cleared on the others);
 * run returns rank 0's result on every rank. A rank that leaves the loop alone (a failed log or
 * checkpoint write, an epoch_end error) ends the whole job (MPI_Abort). */
#ifndef WSSS_TRAINER_H
#define WSSS_TRAINER_H

#include <stdint.h>

#include "wsss/loader.h"
#include "wsss/optim.h"
#include "wsss/params.h"
#include "wsss/rng.h"

#define WSSS_TRAINER_INTERRUPTED 130 /* run's return value after a signal (also the exit code) */
#define WSSS_TRAINER_MAX_AUX 8
#define WSSS_TRAINER_MAX_PARTS 4

struct wsss_trainer;
struct wsss_trainer_stats;

/* The parts that step at global step `step` (0-based; bit i = part i). */
typedef unsigned (*wsss_trainer_phase_fn)(void *user, int64_t step);

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
    /* NULL (every part steps every step), or the phase rule; it must give a non-empty set */
    wsss_trainer_phase_fn phase;
    void *phase_user;
    /* NULL, or called after the step function's backward and before the optimizer steps (the
     * gradients are final here: e.g. an all-reduce across machines). WSSS_ERR stops the run. */
    int (*before_step)(void *user, struct wsss_trainer *t);
    void *before_step_user;
} wsss_trainer_opts;

void wsss_trainer_opts_default(wsss_trainer_opts *o);

/* What a step reports: the loss and optional named scalars (names must outlive the step); with
 * several parts, each part's own objective (part_loss, set has_part_loss; NaN: not computed this
 * step), logged as "loss_<part name>" and shown by the progress bar. */
typedef struct wsss_trainer_stats {
    double loss;
    int n_aux;
    const char *aux_name[WSSS_TRAINER_MAX_AUX];
    double aux[WSSS_TRAINER_MAX_AUX];
    int has_part_loss;
    double part_loss[WSSS_TRAINER_MAX_PARTS];
} wsss_trainer_stats;

/* One network the trainer trains. */
typedef struct wsss_trainer_part {
    const char *name;       /* log fields and checkpoint files: 1..31 of [a-z0-9_] (one part: any) */
    wsss_params *params;    /* not owned */
    wsss_optim *opt;        /* not owned */
    wsss_lr_schedule sched; /* in global iterations */
    int64_t steps;          /* optimizer steps it took (restored on resume) */
    double last_lr;
    double epoch_loss_sum;  /* its finite part_loss values summed over the current epoch */
    int64_t epoch_loss_n;   /* and their count */
    unsigned char *design;  /* requires_grad of each parameter at init (the trainer's) */
} wsss_trainer_part;

typedef struct wsss_trainer wsss_trainer;

/* One training step's forward + backward on batch (gradients are zero on entry; the trainer steps
 * the optimizer after it). Return WSSS_OK, or WSSS_ERR with a message to stop the run (no
 * checkpoint is written for the failed step). */
typedef int (*wsss_trainer_step_fn)(void *user, wsss_trainer *t, const wsss_batch *batch, double lr,
                                    wsss_trainer_stats *stats);

struct wsss_trainer {
    wsss_trainer_opts opts;
    int n_parts;
    wsss_trainer_part parts[WSSS_TRAINER_MAX_PARTS];
    unsigned active;        /* the parts stepping at the current step (bit i = part i) */
    wsss_loader *loader;    /* not owned */
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

/* Set up one part ("model"); with opts->resume_dir, load the checkpoint into model/opt, restore
 * state and seek the loader (errors name the checkpoint and the field). seed seeds t->rng on a
 * fresh start. */
int wsss_trainer_init(wsss_trainer *t, const wsss_trainer_opts *opts, wsss_params *model, wsss_optim *opt,
                      const wsss_lr_schedule *sched, wsss_loader *loader, uint64_t seed);
/* The same with n parts (name, params, opt and sched of each; steps etc. are set here), their
 * design trainability taken now. The step function's lr is part 0's. */
int wsss_trainer_init_parts(wsss_trainer *t, const wsss_trainer_opts *opts, int n, const wsss_trainer_part *parts,
                            wsss_loader *loader, uint64_t seed);
/* Run until opts.epochs epochs are complete. Returns WSSS_OK, WSSS_ERR (message set) or
 * WSSS_TRAINER_INTERRUPTED (checkpoint saved if ckpt_dir is set). */
int wsss_trainer_run(wsss_trainer *t, wsss_trainer_step_fn fn, void *user);
/* Save a checkpoint of the current state to dir (atomic). */
int wsss_trainer_save(const wsss_trainer *t, const char *dir);
/* Restores the parts' design trainability and frees the trainer's own memory. */
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
