#include "wsss/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void wsss_rng_seed(wsss_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

void wsss_rng_seed3(wsss_rng *r, uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xd1b54a32d192ed03ULL);
    h = splitmix64(&x);
    x = h ^ (b * 0x8cb92ba72f3d8dd7ULL);
    wsss_rng_seed(r, splitmix64(&x));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t wsss_rng_u64(wsss_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t wsss_rng_u32(wsss_rng *r) { return (uint32_t)(wsss_rng_u64(r) >> 32); }

double wsss_rng_uniform(wsss_rng *r) { return (double)(wsss_rng_u64(r) >> 11) * 0x1.0p-53; }

double wsss_rng_range(wsss_rng *r, double lo, double hi) { return lo + (hi - lo) * wsss_rng_uniform(r); }

int64_t wsss_rng_below(wsss_rng *r, int64_t n) {
    if (n <= 1) return 0;
    uint64_t un = (uint64_t)n;
    uint64_t limit = UINT64_MAX - UINT64_MAX % un; /* reject the biased tail */
    uint64_t v;
    do v = wsss_rng_u64(r);
    while (v >= limit);
    return (int64_t)(v % un);
}

double wsss_rng_normal(wsss_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do u1 = wsss_rng_uniform(r);
    while (u1 <= 0.0);
    u2 = wsss_rng_uniform(r);
    double mag = sqrt(-2.0 * log(u1));
    r->spare = mag * sin(2.0 * M_PI * u2);
    r->has_spare = 1;
    return mag * cos(2.0 * M_PI * u2);
}

void wsss_rng_shuffle_i64(wsss_rng *r, int64_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = wsss_rng_below(r, i + 1);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

wsss_rng *wsss_rng_global(void) {
    static wsss_rng g;
    static int init;
    if (!init) {
        wsss_rng_seed(&g, 0x5eed);
        init = 1;
    }
    return &g;
}
