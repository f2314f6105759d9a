/* The trainer's data-parallel steps (trainer.c; include/wsss/dist.h underneath). At one rank every
 * function is a no-op that leaves the trainer exactly as it was.
 *
 * At N ranks each rank's loader yields its slice of the global batch (loader.h: shard_rank /
 * shard_count); a step's loss on rank r is its mean over its n_r samples, so the global batch's
 * mean is sum_r (n_r / n) * loss_r, and the same weights average the gradients. */
#ifndef WSSS_TRAINER_DIST_H
#define WSSS_TRAINER_DIST_H

#include "wsss/trainer.h"

/* At init: refuse a loader that is not sharded over the job's ranks; give every rank rank 0's
 * parameters and buffers. */
int wsss_trainer_dist_start(wsss_trainer *t);

/* One step's agreement (every rank calls it once per step, whatever happened locally): the stats
 * become the global batch's weighted means; *failed (this rank's step failed: its stats are not
 * used) and *stop (a signal here) become "on any rank". Returns WSSS_ERR when another rank failed
 * (message naming how many), WSSS_OK otherwise. b may be NULL when the loader failed.
 * Tests: the environment variable WSSS_TEST_NAN_AT=R:S makes rank R's loss NaN at step S. */
int wsss_trainer_dist_agree(const wsss_trainer *t, const wsss_batch *b, wsss_trainer_stats *stats, int *failed,
                            int *stop);

/* The gradients of the active parts' trainable parameters become their weighted sum over ranks
 * (one flat buffer, reduced in buckets); a gradient that some rank lacks (no sample reached its
 * parameter) is zero there, and absent only where it is absent on every rank. */
void wsss_trainer_dist_grads(wsss_trainer *t, const wsss_batch *b);

/* At the end of run: every rank returns rank 0's result (rank 0 alone saved the checkpoint). */
int wsss_trainer_dist_finish(int rc);

#endif
