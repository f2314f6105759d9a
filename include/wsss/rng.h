/* Deterministic random numbers (xoshiro256**), with a state that checkpoints can save exactly. */
#ifndef WSSS_RNG_H
#define WSSS_RNG_H

#include <stdint.h>

typedef struct wsss_rng {
    uint64_t s[4];
    /* Box-Muller spare value */
    double spare;
    int has_spare;
} wsss_rng;

void wsss_rng_seed(wsss_rng *r, uint64_t seed);
/* Independent stream for a (seed, a, b) triple, e.g. (seed, epoch, sample index). */
void wsss_rng_seed3(wsss_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t wsss_rng_u64(wsss_rng *r);
uint32_t wsss_rng_u32(wsss_rng *r);
double wsss_rng_uniform(wsss_rng *r);              /* [0, 1) with 53 random bits */
double wsss_rng_range(wsss_rng *r, double lo, double hi); /* [lo, hi) */
int64_t wsss_rng_below(wsss_rng *r, int64_t n);    /* uniform integer in [0, n), unbiased */
double wsss_rng_normal(wsss_rng *r);               /* N(0, 1) */
void wsss_rng_shuffle_i64(wsss_rng *r, int64_t *a, int64_t n);

/* The process-wide generator used for parameter init and dropout when none is passed. */
wsss_rng *wsss_rng_global(void);

#endif
