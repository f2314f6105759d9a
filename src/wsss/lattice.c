/* Permutohedral lattice: elevation, nearest remainder-0 point, ranks, barycentric weights and simplex
 * vertices per point (spec a.4 steps 1-7), a hash map from exact int32 keys to lattice indices,
 * precomputed blur neighbours (step 8), and splat / blur / slice (steps 9-11) over three value
 * buffers, so that a caller can splat the next signal while it still slices the last result. */
#include "wsss/lattice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Above this many floats touched per pass, loops run with OpenMP. */
#define PAR_MIN_WORK 65536

struct wsss_lattice {
    int d;
    int64_t n, m;      /* input points, lattice points */
    int32_t *idx;      /* n x (d+1): lattice index of each simplex vertex */
    float *bary;       /* n x (d+1): barycentric weight of each vertex */
    int32_t *keys;     /* m x d: first d coordinates of each lattice point */
    int32_t *nb;       /* (d+1) x m x 2: neighbours -u_j / +u_j along each axis; m = the zero row */
    int32_t *csr_off;  /* m+1 or NULL until needed: gather splat, entries of point k in [off[k], off[k+1]) */
    int32_t *csr_src;  /* n x (d+1): input point of each entry, in increasing point order */
    float *csr_w;      /* its barycentric weight */
    /* lattice values, (m+1) x vs floats each: the splat target, the blur's other half, and the last
     * blurred result, which stays readable while the next splat fills another buffer */
    float *buf[3];
    size_t buf_cap[3]; /* floats allocated per buffer */
    int splat_buf;     /* buffer being splatted into, or -1 */
    int blurred_buf;   /* buffer holding the last blur's result, or -1 */
    int vs;            /* floats per lattice row of the current splat (v padded to 8) */
    float alpha;       /* slice constant 1 / (1 + 2^-d) */
};

/* ---- hash map: open addressing, linear probing, keys stored in lat->keys ---- */

typedef struct {
    int32_t *slot; /* lattice index or -1 */
    uint64_t mask;
    int64_t cap_keys;
} hmap;

/* whole-key comparisons without early exits, which mispredict on the first probe of every key */
static inline __attribute__((always_inline)) int key_equal(const int32_t *a, const int32_t *b, int d) {
    int32_t diff = 0;
    for (int i = 0; i < d; i++) diff |= a[i] ^ b[i];
    return diff == 0;
}

/* The hash is linear in the key before its final mix, sum_i k_i M_i (mod 2^64), so that the build
 * can step it from one simplex vertex to the next; one independent multiply per coordinate, and
 * the mix makes the low bits, which pick the slot, depend on every coordinate. */
static const uint64_t key_mult[WSSS_LATTICE_MAX_D] = {
    0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull,
    0xFF51AFD7ED558CCDull, 0xC4CEB9FE1A85EC53ull, 0x94D049BB133111EBull, 0xBF58476D1CE4E5B9ull,
    0x2545F4914F6CDD1Dull, 0x9FB21C651E98DF25ull, 0xA0761D6478BD642Full, 0xE7037ED1A0B428DBull,
    0x8EBC6AF09C88C6E3ull, 0x589965CC75374CC3ull, 0x1D8E4E27C47D124Full, 0xDB4F0B9175AE2165ull};

static inline __attribute__((always_inline)) uint64_t hash_linear(const int32_t *k, int d) {
    uint64_t h = 0;
    for (int i = 0; i < d; i++) h += (uint64_t)(int64_t)k[i] * key_mult[i];
    return h;
}

static inline uint64_t hash_mix(uint64_t h) {
    h ^= h >> 32;
    h *= 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 29);
}

static uint64_t hash_key(const int32_t *k, int d) { return hash_mix(hash_linear(k, d)); }

static int32_t hmap_find(const hmap *t, const int32_t *keys, int d, const int32_t *key) {
    for (uint64_t s = hash_key(key, d) & t->mask;; s = (s + 1) & t->mask) {
        int32_t e = t->slot[s];
        if (e < 0) return -1;
        if (key_equal(keys + (int64_t)e * d, key, d)) return e;
    }
}

static void hmap_rehash(hmap *t, const int32_t *keys, int d, int64_t m, uint64_t new_size) {
    free(t->slot);
    t->slot = wsss_xmalloc(new_size * sizeof *t->slot);
    memset(t->slot, 0xff, new_size * sizeof *t->slot);
    t->mask = new_size - 1;
    for (int64_t e = 0; e < m; e++) {
        uint64_t s = hash_key(keys + e * d, d) & t->mask;
        while (t->slot[s] >= 0) s = (s + 1) & t->mask;
        t->slot[s] = (int32_t)e;
    }
}

static int32_t hmap_add(hmap *t, wsss_lattice *lat, const int32_t *key, uint64_t s);

/* Index of key (whose hash_key is hash), inserting it (as lattice point lat->m) if new. Inlined
 * with d a constant where the build is (see insert_points). */
static inline __attribute__((always_inline)) int32_t hmap_insert(hmap *t, wsss_lattice *lat, const int32_t *key,
                                                                 uint64_t hash, int d) {
    uint64_t s = hash & t->mask;
    for (;; s = (s + 1) & t->mask) {
        int32_t e = t->slot[s];
        if (e < 0) break;
        if (key_equal(lat->keys + (int64_t)e * d, key, d)) return e;
    }
    return hmap_add(t, lat, key, s);
}

/* key as the new lattice point lat->m, in the empty slot s */
static int32_t hmap_add(hmap *t, wsss_lattice *lat, const int32_t *key, uint64_t s) {
    const int d = lat->d;
    if (lat->m == t->cap_keys) {
        t->cap_keys *= 2;
        lat->keys = wsss_xrealloc(lat->keys, (size_t)t->cap_keys * d * sizeof *lat->keys);
    }
    int32_t e = (int32_t)lat->m++;
    memcpy(lat->keys + (int64_t)e * d, key, (size_t)d * sizeof *key);
    t->slot[s] = e;
    if ((uint64_t)lat->m * 2 > t->mask + 1) hmap_rehash(t, lat->keys, d, lat->m, (t->mask + 1) * 2);
    return e;
}

/* ---- build ---- */

/* Steps 1-6 for one point: remainder-0 point r, ranks rho and barycentric weights b[0..d].
 * Float arithmetic, in the order of densecrf v2's lattice: with integer pixel coordinates many points
 * lie exactly on simplex boundaries, and which (zero-weight) vertices they create depends on the
 * rounding there; vertices that exist change the blur of their neighbours (absent ones count 0), so
 * matching the reference's arithmetic keeps results equal to pydensecrf's to float precision. */
static inline __attribute__((always_inline)) void embed_point(const float *f, int d, const float *scale, int32_t *r,
                                                              int *rho, float *b) {
    float e[WSSS_LATTICE_MAX_D + 1], delta[WSSS_LATTICE_MAX_D + 1];
    const int d1 = d + 1;
    const float inv_d1 = 1.0f / (float)d1;
    /* elevation: e_j = sum_{k>j} c_k - j c_j (j >= 1), e_0 = sum_k c_k */
    float sum = 0;
    for (int j = d; j >= 1; j--) {
        float c = f[j - 1] * scale[j];
        e[j] = sum - (float)j * c;
        sum += c;
    }
    e[0] = sum;
    int total = 0;
    for (int i = 0; i < d1; i++) {
        float k = nearbyintf(e[i] * inv_d1);
        r[i] = (int32_t)k * d1;
        total += (int)k;
        rho[i] = 0;
    }
    for (int i = 0; i < d1; i++) delta[i] = e[i] - (float)r[i];
    /* branch-free: the comparisons are data-dependent coin flips for a branch predictor */
    for (int i = 0; i < d1; i++)
        for (int j = i + 1; j < d1; j++) {
            const int less = delta[i] < delta[j];
            rho[i] += less;
            rho[j] += 1 - less;
        }
    for (int i = 0; i < d1; i++) {
        rho[i] += total;
        const int wrap = ((rho[i] < 0) - (rho[i] > d)) * d1;
        rho[i] += wrap;
        r[i] += wrap;
    }
    b[0] = b[d1] = 0; /* by name: GCC cannot see a loop from 0 cover them, and warns */
    for (int i = 1; i < d1; i++) b[i] = 0;
    for (int i = 0; i < d1; i++) {
        float t = (e[i] - (float)r[i]) * inv_d1;
        b[d - rho[i]] += t;
        b[d - rho[i] + 1] -= t;
    }
    b[0] += 1.0f + b[d1];
}

/* Steps 1-7 for every point: simplex vertices (lattice indices, inserted in point order) and
 * barycentric weights. */
static inline __attribute__((always_inline)) void insert_points(wsss_lattice *lat, hmap *t, const float *features,
                                                                const float *scale, int d) {
    const int d1 = d + 1;
    uint64_t key_mult_sum = 0; /* the linear hash's step when every coordinate grows by 1 */
    for (int i = 0; i < d; i++) key_mult_sum += key_mult[i];
    int32_t prev_r[WSSS_LATTICE_MAX_D + 1] = {0};
    int prev_rho[WSSS_LATTICE_MAX_D + 1] = {0};
    for (int64_t p = 0; p < lat->n; p++) {
        int32_t r[WSSS_LATTICE_MAX_D + 1], key[WSSS_LATTICE_MAX_D];
        int rho[WSSS_LATTICE_MAX_D + 1];
        float b[WSSS_LATTICE_MAX_D + 2];
        embed_point(features + p * d, d, scale, r, rho, b);
        for (int k = 0; k < d1; k++) lat->bary[p * d1 + k] = b[k];
        /* neighbouring pixels often fall in the same simplex (the same r and ranks, which fix the
         * vertices): then they share its vertices, and the hash map is skipped */
        int32_t differs = p == 0;
        for (int i = 0; i < d; i++) differs |= (r[i] ^ prev_r[i]) | (rho[i] ^ prev_rho[i]);
        /* (loops, not memcpy: for d not a constant, memcpy would be a libc call) */
        if (!differs) {
            for (int k = 0; k < d1; k++) lat->idx[p * d1 + k] = lat->idx[(p - 1) * d1 + k];
            continue;
        }
        for (int i = 0; i < d; i++) prev_r[i] = r[i], prev_rho[i] = rho[i];
        /* step 7: vertex k is r + k, wrapped by d+1 where the rank exceeds d-k. Vertex 0 is r (ranks
         * are at most d); vertex k adds 1 to every coordinate of vertex k-1 and d+1 less to the one
         * of rank d-k+1, and the linear hash follows. */
        int coord_of_rank[WSSS_LATTICE_MAX_D + 1];
        for (int i = 0; i < d1; i++) {
            WSSS_ASSERT(rho[i] >= 0 && rho[i] <= d, "lattice ranks");
            coord_of_rank[rho[i]] = i;
        }
        for (int i = 0; i < d; i++) key[i] = r[i];
        uint64_t lin = hash_linear(key, d);
        for (int k = 0; k < d1; k++) {
            if (k > 0) {
                const int c = coord_of_rank[d - k + 1];
                for (int i = 0; i < d; i++) key[i] += 1;
                lin += key_mult_sum;
                if (c < d) {
                    key[c] -= d1;
                    lin -= (uint64_t)d1 * key_mult[c];
                }
            }
            lat->idx[p * d1 + k] = hmap_insert(t, lat, key, hash_mix(lin), d);
        }
    }
}

/* Largest |elevated coordinate| accepted: lattice keys stay far inside int32, and float elevation
 * keeps a resolution of 1/16 lattice unit or better. */
#define MAX_ELEVATED 1e6

wsss_lattice *wsss_lattice_build(const float *features, int64_t n, int d) {
    WSSS_ASSERT(d >= 1 && d <= WSSS_LATTICE_MAX_D, "lattice feature dimension");
    WSSS_ASSERT(n >= 1, "lattice needs at least one point");
    const int d1 = d + 1;
    if (n > INT32_MAX / d1) {
        wsss_error_set("lattice: %lld points with %d features exceed the int32 index range (expected "
                       "n*(d+1) < 2^31)",
                       (long long)n, d);
        return NULL;
    }
    /* step 1, s_k = sqrt(2/3) (d+1) / sqrt(k (k+1)) */
    const float inv_std = (float)(sqrt(2.0 / 3.0) * d1);
    float scale[WSSS_LATTICE_MAX_D + 1];
    for (int k = 1; k <= d; k++) scale[k] = (float)(1.0 / sqrt((double)k * (k + 1)) * inv_std);
    for (int64_t i = 0; i < n * d; i++) {
        double v = features[i];
        if (!isfinite(v) || fabs(v) * scale[1] * 2 * d > MAX_ELEVATED) {
            wsss_error_set("lattice: feature %lld of point %lld is %g (expected finite, |f| < %g)",
                           (long long)(i % d), (long long)(i / d), v, MAX_ELEVATED / (scale[1] * 2.0 * d));
            return NULL;
        }
    }

    wsss_lattice *lat = wsss_xcalloc(1, sizeof *lat);
    lat->d = d;
    lat->n = n;
    lat->alpha = (float)(1.0 / (1.0 + ldexp(1.0, -d)));
    lat->splat_buf = lat->blurred_buf = -1;
    lat->idx = wsss_xmalloc((size_t)(n * d1) * sizeof *lat->idx);
    lat->bary = wsss_xmalloc((size_t)(n * d1) * sizeof *lat->bary);

    hmap t = {0};
    t.cap_keys = 1024;
    lat->keys = wsss_xmalloc((size_t)t.cap_keys * d * sizeof *lat->keys);
    hmap_rehash(&t, lat->keys, d, 0, 4096);

    /* the CRF's kernels: d a constant, so that the small loops over coordinates unroll */
    switch (d) {
    case 2: insert_points(lat, &t, features, scale, 2); break;
    case 5: insert_points(lat, &t, features, scale, 5); break;
    default: insert_points(lat, &t, features, scale, d); break;
    }
    const int64_t m = lat->m;

    /* step 8: neighbours q +- u_j; absent ones point at the zero row m */
    lat->nb = wsss_xmalloc((size_t)(d1 * m * 2) * sizeof *lat->nb);
    for (int64_t q = 0; q < m; q++) {
        const int32_t *k0 = lat->keys + q * d;
        int32_t up[WSSS_LATTICE_MAX_D], dn[WSSS_LATTICE_MAX_D];
        for (int j = 0; j < d1; j++) {
            for (int i = 0; i < d; i++) {
                up[i] = k0[i] - 1; /* q + u_j */
                dn[i] = k0[i] + 1; /* q - u_j */
            }
            if (j < d) {
                up[j] = k0[j] + d;
                dn[j] = k0[j] - d;
            }
            int32_t a = hmap_find(&t, lat->keys, d, dn), c = hmap_find(&t, lat->keys, d, up);
            lat->nb[(j * m + q) * 2 + 0] = a < 0 ? (int32_t)m : a;
            lat->nb[(j * m + q) * 2 + 1] = c < 0 ? (int32_t)m : c;
        }
    }
    free(t.slot);

    return lat;
}

/* For the threaded splat, a gather: entries grouped by lattice point, in increasing input order.
 * Built on first use, since one-thread runs scatter instead. */
static void build_csr(wsss_lattice *lat) {
    const int d1 = lat->d + 1;
    const int64_t n = lat->n, m = lat->m;
    lat->csr_off = wsss_xcalloc((size_t)m + 1, sizeof *lat->csr_off);
    lat->csr_src = wsss_xmalloc((size_t)(n * d1) * sizeof *lat->csr_src);
    lat->csr_w = wsss_xmalloc((size_t)(n * d1) * sizeof *lat->csr_w);
    for (int64_t e = 0; e < n * d1; e++) lat->csr_off[lat->idx[e] + 1]++;
    for (int64_t q = 0; q < m; q++) lat->csr_off[q + 1] += lat->csr_off[q];
    int32_t *fill = wsss_xmalloc((size_t)m * sizeof *fill);
    memcpy(fill, lat->csr_off, (size_t)m * sizeof *fill);
    for (int64_t p = 0; p < n; p++)
        for (int k = 0; k < d1; k++) {
            const int32_t pos = fill[lat->idx[p * d1 + k]]++;
            lat->csr_src[pos] = (int32_t)p;
            lat->csr_w[pos] = lat->bary[p * d1 + k];
        }
    free(fill);
}

void wsss_lattice_free(wsss_lattice *lat) {
    if (!lat) return;
    free(lat->idx);
    free(lat->bary);
    free(lat->keys);
    free(lat->nb);
    free(lat->csr_off);
    free(lat->csr_src);
    free(lat->csr_w);
    for (int b = 0; b < 3; b++) free(lat->buf[b]);
    free(lat);
}

int64_t wsss_lattice_n_points(const wsss_lattice *lat) { return lat->m; }
int wsss_lattice_dim(const wsss_lattice *lat) { return lat->d; }

/* ---- filtering ---- */

/* 8 floats, one vector register (AVX) or a pair (SSE); loaded and stored with memcpy, unaligned */
typedef float f8 __attribute__((vector_size(32)));

/* dst[0..v) += w * src[0..v). When v is a multiple of 8 (callers pad their rows), fixed blocks of 8
 * let the compiler emit whole vector operations with no scalar tail. */
static inline void axpy(float *restrict dst, float w, const float *restrict src, int v) {
    if ((v & 7) == 0) {
        for (int l = 0; l < v; l += 8)
            for (int k = 0; k < 8; k++) dst[l + k] += w * src[l + k];
    } else {
        for (int l = 0; l < v; l++) dst[l] += w * src[l];
    }
}

/* buffer b with room for the current splat's (m+1) x vs floats; its row m (every absent neighbour)
 * is zero */
static float *values_buffer(wsss_lattice *lat, int b) {
    const size_t need = (size_t)((lat->m + 1) * lat->vs);
    if (need > lat->buf_cap[b]) {
        free(lat->buf[b]);
        lat->buf[b] = wsss_xmalloc(need * sizeof(float));
        lat->buf_cap[b] = need;
    }
    memset(lat->buf[b] + lat->m * lat->vs, 0, (size_t)lat->vs * sizeof(float));
    return lat->buf[b];
}

/* the splat target for v values per point, a buffer other than the last blurred result; zeroed
 * unless the caller writes every row itself */
static float *splat_target(wsss_lattice *lat, int v, int zero) {
    WSSS_ASSERT(v >= 1, "lattice value count");
    lat->vs = (v + 7) & ~7;
    lat->splat_buf = lat->blurred_buf == 0 ? 1 : 0;
    float *A = values_buffer(lat, lat->splat_buf);
    if (zero) memset(A, 0, (size_t)(lat->m * lat->vs) * sizeof *A);
    return A;
}

float *wsss_lattice_splat_begin(wsss_lattice *lat, int v) { return splat_target(lat, v, 1); }

/* values row idx[k] += (bary[k] * sc) * src[l .. l+8*nv) for each vertex k: the nv source vectors
 * stay in registers across the vertices (the sums are those of axpy) */
static inline __attribute__((always_inline)) void splat_vectors(float *values, int vs, int d1, const int32_t *idx,
                                                                const float *bary, float sc, const float *src, int l,
                                                                int nv) {
    f8 x[4], y;
#pragma GCC unroll 4
    for (int c = 0; c < nv; c++) memcpy(&x[c], src + l + 8 * c, sizeof y);
    for (int k = 0; k < d1; k++) {
        const float w = bary[k] * sc;
        float *dst = values + (int64_t)idx[k] * vs + l;
#pragma GCC unroll 4
        for (int c = 0; c < nv; c++) {
            memcpy(&y, dst + 8 * c, sizeof y);
            y += w * x[c];
            memcpy(dst + 8 * c, &y, sizeof y);
        }
    }
}

/* splat_add for rows of exactly nv vectors (v = 8 nv, a constant once inlined): no dispatch on v per
 * point, and the row stride is a constant */
static inline __attribute__((always_inline)) void splat_rows(const wsss_lattice *lat, float *values, int64_t p0,
                                                             int64_t count, const float *in, int64_t in_stride,
                                                             const float *in_scale, int nv) {
    const int d1 = lat->d + 1;
    for (int64_t j = 0; j < count; j++)
        splat_vectors(values, 8 * nv, d1, lat->idx + (p0 + j) * d1, lat->bary + (p0 + j) * d1,
                      in_scale ? in_scale[j] : 1.0f, in + j * in_stride, 0, nv);
}

void wsss_lattice_splat_add(const wsss_lattice *lat, float *values, int64_t p0, int64_t count, const float *in,
                            int64_t in_stride, const float *in_scale, int v) {
    WSSS_ASSERT(p0 >= 0 && count >= 0 && p0 + count <= lat->n && in_stride >= v && (v + 7) / 8 * 8 == lat->vs,
                "lattice splat arguments");
    switch ((v & 7) == 0 && v <= 32 ? v / 8 : 0) {
    case 1: splat_rows(lat, values, p0, count, in, in_stride, in_scale, 1); return;
    case 2: splat_rows(lat, values, p0, count, in, in_stride, in_scale, 2); return;
    case 3: splat_rows(lat, values, p0, count, in, in_stride, in_scale, 3); return;
    case 4: splat_rows(lat, values, p0, count, in, in_stride, in_scale, 4); return;
    default: break;
    }
    const int d1 = lat->d + 1, vs = lat->vs;
    for (int64_t j = 0; j < count; j++) {
        const float sc = in_scale ? in_scale[j] : 1.0f;
        const float *src = in + j * in_stride;
        const int32_t *idx = lat->idx + (p0 + j) * d1;
        const float *bary = lat->bary + (p0 + j) * d1;
        if ((v & 7) == 0) {
            /* up to 4 vectors per pass over the vertices; constant counts unroll */
            int l = 0;
            for (; l + 32 <= v; l += 32) splat_vectors(values, vs, d1, idx, bary, sc, src, l, 4);
            switch ((v - l) / 8) {
            case 3: splat_vectors(values, vs, d1, idx, bary, sc, src, l, 3); break;
            case 2: splat_vectors(values, vs, d1, idx, bary, sc, src, l, 2); break;
            case 1: splat_vectors(values, vs, d1, idx, bary, sc, src, l, 1); break;
            default: break;
            }
        } else {
            for (int k = 0; k < d1; k++) axpy(values + (int64_t)idx[k] * vs, bary[k] * sc, src, v);
        }
    }
}

const float *wsss_lattice_blur(wsss_lattice *lat) {
    WSSS_ASSERT(lat->splat_buf >= 0, "lattice blur without a splat");
    const int d1 = lat->d + 1, vs = lat->vs;
    const int64_t m = lat->m;
    /* ping-pong between the splat buffer and the one that is neither it nor the last result */
    int a = lat->splat_buf, b = 0;
    while (b == a || b == lat->blurred_buf) b++;
    values_buffer(lat, b);
    const int par = m * vs > PAR_MIN_WORK;
    /* step 10, blur along axes 0..d, [1 2 1]/2, from the old values only */
    for (int j = 0; j < d1; j++) {
        const int32_t *nb = lat->nb + (int64_t)j * m * 2;
        const float *A = lat->buf[a];
        float *B = lat->buf[b];
#pragma omp parallel for schedule(static) if (par)
        for (int64_t q = 0; q < m; q++) {
            const float *restrict c = A + q * vs, *restrict lo = A + (int64_t)nb[2 * q] * vs,
                                  *restrict hi = A + (int64_t)nb[2 * q + 1] * vs;
            float *restrict o = B + q * vs;
            for (int l = 0; l < vs; l += 8) { /* whole vectors: GCC left the plain loop scalar */
                f8 vc, vlo, vhi;
                memcpy(&vc, c + l, sizeof vc);
                memcpy(&vlo, lo + l, sizeof vlo);
                memcpy(&vhi, hi + l, sizeof vhi);
                vc += 0.5f * (vlo + vhi);
                memcpy(o + l, &vc, sizeof vc);
            }
        }
        const int t = a;
        a = b;
        b = t;
    }
    lat->blurred_buf = a;
    lat->splat_buf = -1;
    return lat->buf[a];
}

const float *wsss_lattice_splat_blur(wsss_lattice *lat, const float *in, int64_t in_stride,
                                     const float *in_scale, int v) {
    WSSS_ASSERT(v >= 1 && in_stride >= v, "lattice splat strides");
    const int64_t m = lat->m;
    const int vs = (v + 7) & ~7;
    const int par = m * vs > PAR_MIN_WORK;

    /* step 9, splat. Each lattice row sums its entries in increasing (point, vertex) order either
     * way, so both forms give identical bits: serially a scatter in point order (streams the input,
     * writes a lattice that mostly stays in cache), with threads a gather per lattice row. */
    int serial = !par;
#ifdef _OPENMP
    serial |= omp_get_max_threads() == 1 || omp_in_parallel();
#endif
    float *A = splat_target(lat, v, serial);
    if (serial) {
        wsss_lattice_splat_add(lat, A, 0, lat->n, in, in_stride, in_scale, v);
    } else {
        if (!lat->csr_off) build_csr(lat);
#pragma omp parallel for schedule(static)
        for (int64_t q = 0; q < m; q++) {
            float *dst = A + q * vs;
            for (int l = 0; l < vs; l++) dst[l] = 0;
            for (int32_t e = lat->csr_off[q]; e < lat->csr_off[q + 1]; e++) {
                const int32_t p = lat->csr_src[e];
                const float w = lat->csr_w[e] * (in_scale ? in_scale[p] : 1.0f);
                axpy(dst, w, in + (int64_t)p * in_stride, v);
            }
        }
    }
    return wsss_lattice_blur(lat);
}

/* o[l .. l+8*nv) += sum_k (s * bary[k]) * row idx[k] of blurred from l: the nv vectors of 8
 * accumulate in registers, vertex after vertex (the order of the scalar form below) */
static inline __attribute__((always_inline)) void slice_vectors(const float *blurred, int vs, int d1, const int32_t *idx,
                                                                const float *bary, float s, int l, int nv, float *o) {
    f8 acc[4], x;
#pragma GCC unroll 4
    for (int c = 0; c < nv; c++) memcpy(&acc[c], o + l + 8 * c, sizeof x);
    for (int k = 0; k < d1; k++) {
        const float w = s * bary[k], *src = blurred + (int64_t)idx[k] * vs + l;
#pragma GCC unroll 4
        for (int c = 0; c < nv; c++) {
            memcpy(&x, src + 8 * c, sizeof x);
            acc[c] += w * x;
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < nv; c++) memcpy(o + l + 8 * c, &acc[c], sizeof x);
}

/* slice_add for rows of exactly nv vectors (v = 8 nv), as splat_rows */
static inline __attribute__((always_inline)) void slice_rows(const wsss_lattice *lat, const float *blurred, int64_t p0,
                                                             int64_t count, float gain, const float *gain_scale,
                                                             float *out, int64_t out_stride, int nv) {
    const int d1 = lat->d + 1;
    for (int64_t j = 0; j < count; j++) {
        const float s = (gain_scale ? gain * gain_scale[j] : gain) * lat->alpha;
        slice_vectors(blurred, 8 * nv, d1, lat->idx + (p0 + j) * d1, lat->bary + (p0 + j) * d1, s, 0, nv,
                      out + j * out_stride);
    }
}

void wsss_lattice_slice_add(const wsss_lattice *lat, const float *blurred, int64_t p0, int64_t count, int v,
                            float gain, const float *gain_scale, float *out, int64_t out_stride) {
    /* step 11, alpha = 1 / (1 + 2^-d) */
    const int d1 = lat->d + 1, vs = (v + 7) & ~7;
    /* the vertices and weights of points two ranges ahead (callers go through points in order) */
    if (p0 + 3 * count <= lat->n)
        for (int64_t f = 0; f < count * d1; f += 16) {
            __builtin_prefetch(lat->idx + (p0 + 2 * count) * d1 + f);
            __builtin_prefetch(lat->bary + (p0 + 2 * count) * d1 + f);
        }
    switch ((v & 7) == 0 && v <= 32 ? v / 8 : 0) {
    case 1: slice_rows(lat, blurred, p0, count, gain, gain_scale, out, out_stride, 1); return;
    case 2: slice_rows(lat, blurred, p0, count, gain, gain_scale, out, out_stride, 2); return;
    case 3: slice_rows(lat, blurred, p0, count, gain, gain_scale, out, out_stride, 3); return;
    case 4: slice_rows(lat, blurred, p0, count, gain, gain_scale, out, out_stride, 4); return;
    default: break;
    }
    for (int64_t j = 0; j < count; j++) {
        const float s = (gain_scale ? gain * gain_scale[j] : gain) * lat->alpha;
        const int32_t *idx = lat->idx + (p0 + j) * d1;
        const float *bary = lat->bary + (p0 + j) * d1;
        float *o = out + j * out_stride;
        if ((v & 7) == 0) {
            /* up to 4 vectors per pass over the vertices; constant counts unroll */
            int l = 0;
            for (; l + 32 <= v; l += 32) slice_vectors(blurred, vs, d1, idx, bary, s, l, 4, o);
            switch ((v - l) / 8) {
            case 3: slice_vectors(blurred, vs, d1, idx, bary, s, l, 3, o); break;
            case 2: slice_vectors(blurred, vs, d1, idx, bary, s, l, 2, o); break;
            case 1: slice_vectors(blurred, vs, d1, idx, bary, s, l, 1, o); break;
            default: break;
            }
        } else {
            for (int k = 0; k < d1; k++) axpy(o, s * bary[k], blurred + (int64_t)idx[k] * vs, v);
        }
    }
}

void wsss_lattice_filter(wsss_lattice *lat, const float *in, int64_t in_stride, const float *in_scale,
                         float *out, int64_t out_stride, const float *out_scale, int v, float gain,
                         int accumulate) {
    WSSS_ASSERT(out_stride >= v, "lattice filter strides");
    const float *blurred = wsss_lattice_splat_blur(lat, in, in_stride, in_scale, v);
    const int64_t n = lat->n, chunk = 64; /* points per slice_add call */
#pragma omp parallel for schedule(static) if (n * v > PAR_MIN_WORK)
    for (int64_t p0 = 0; p0 < n; p0 += chunk) {
        const int64_t count = n - p0 < chunk ? n - p0 : chunk;
        float *o = out + p0 * out_stride;
        if (!accumulate)
            for (int64_t j = 0; j < count; j++)
                for (int l = 0; l < v; l++) o[j * out_stride + l] = 0;
        wsss_lattice_slice_add(lat, blurred, p0, count, v, gain, out_scale ? out_scale + p0 : NULL, o, out_stride);
    }
}
