/* Dense CRF, mean-field inference (spec a.1-a.3, a.5). Pixels go through each step in blocks of 8:
 * their rows (labels contiguous, pixel-major) take the lattice messages, the block is transposed so
 * that the softmax runs across labels with one vector per label (8 pixels a lane each), and the new
 * rows go straight into the next step's splat while they are in cache. The public arrays are
 * channel-major, like the transposed block: -U enters and Q leaves through it. */
#include "wsss/crf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/lattice.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define PAR_MIN_WORK 65536
#define MAX_ITERATIONS 10000

typedef struct {
    wsss_lattice *lat;
    float compat;
    float *norm;          /* D^-1/2 per pixel */
    const float *blurred; /* this iteration's blurred lattice values (owned by lat) */
    float *splat;         /* the next iteration's splat target (owned by lat) */
} crf_kernel;

struct wsss_crf {
    int h, w;
    int64_t n;
    int n_kernels, cap_kernels;
    crf_kernel *k;
};

wsss_crf_params wsss_crf_params_psa(void) {
    wsss_crf_params p = {3.0, 3.0, 80.0, 13.0, 10.0, 10};
    return p;
}

wsss_crf_params wsss_crf_params_mcis(void) {
    wsss_crf_params p = {3.0, 1.0, 80.0, 4.0, 3.0, 1};
    return p;
}

static int check_positive(const char *what, double v) {
    if (!(isfinite(v) && v > 0)) return wsss_error_set("crf: %s is %g (expected a finite value > 0)", what, v);
    return WSSS_OK;
}

static int check_compat(const char *what, double v) {
    if (!(isfinite(v) && v >= 0)) return wsss_error_set("crf: %s is %g (expected a finite value >= 0)", what, v);
    return WSSS_OK;
}

static int check_iterations(int t) {
    if (t < 0 || t > MAX_ITERATIONS)
        return wsss_error_set("crf: iterations is %d (expected 0..%d)", t, MAX_ITERATIONS);
    return WSSS_OK;
}

int wsss_crf_params_check(const wsss_crf_params *p) {
    if (!p) return wsss_error_set("crf: no parameters given");
    if (check_positive("gaussian sxy", p->gauss_sxy) || check_compat("gaussian compat", p->gauss_compat) ||
        check_positive("bilateral sxy", p->bilat_sxy) || check_positive("bilateral srgb", p->bilat_srgb) ||
        check_compat("bilateral compat", p->bilat_compat) || check_iterations(p->iterations))
        return WSSS_ERR;
    return WSSS_OK;
}

wsss_crf *wsss_crf_new(int h, int w) {
    if (h < 1 || w < 1) {
        wsss_error_set("crf: image size %dx%d (expected height and width >= 1)", h, w);
        return NULL;
    }
    /* lattice indices are int32: every kernel needs h*w*(d+1) < 2^31 */
    if ((int64_t)h * w > INT32_MAX / (WSSS_LATTICE_MAX_D + 1)) {
        wsss_error_set("crf: image size %dx%d has too many pixels (expected at most %d)", h, w,
                       INT32_MAX / (WSSS_LATTICE_MAX_D + 1));
        return NULL;
    }
    wsss_crf *crf = wsss_xcalloc(1, sizeof *crf);
    crf->h = h;
    crf->w = w;
    crf->n = (int64_t)h * w;
    return crf;
}

void wsss_crf_free(wsss_crf *crf) {
    if (!crf) return;
    for (int i = 0; i < crf->n_kernels; i++) {
        wsss_lattice_free(crf->k[i].lat);
        free(crf->k[i].norm);
    }
    free(crf->k);
    free(crf);
}

int wsss_crf_add_kernel(wsss_crf *crf, const float *features, int d, double compat) {
    WSSS_ASSERT(crf && features, "crf kernel arguments");
    if (d < 1 || d > WSSS_LATTICE_MAX_D)
        return wsss_error_set("crf: kernel feature dimension %d (expected 1..%d)", d, WSSS_LATTICE_MAX_D);
    if (check_compat("kernel compat", compat)) return WSSS_ERR;
    wsss_lattice *lat = wsss_lattice_build(features, crf->n, d);
    if (!lat) return wsss_error_prefix("crf");
    /* symmetric normalisation: D = K 1, including the self term */
    float *ones = wsss_xmalloc((size_t)crf->n * sizeof *ones), *norm = wsss_xmalloc((size_t)crf->n * sizeof *norm);
    for (int64_t i = 0; i < crf->n; i++) ones[i] = 1.0f;
    wsss_lattice_filter(lat, ones, 1, NULL, norm, 1, NULL, 1, 1.0f, 0);
    for (int64_t i = 0; i < crf->n; i++) norm[i] = (float)(1.0 / sqrt((double)norm[i] + 1e-20));
    free(ones);
    if (crf->n_kernels == crf->cap_kernels) {
        crf->cap_kernels = crf->cap_kernels ? 2 * crf->cap_kernels : 2;
        crf->k = wsss_xrealloc(crf->k, (size_t)crf->cap_kernels * sizeof *crf->k);
    }
    crf->k[crf->n_kernels++] = (crf_kernel){lat, (float)compat, norm, NULL, NULL};
    return WSSS_OK;
}

int wsss_crf_add_gaussian(wsss_crf *crf, double sxy, double compat) {
    WSSS_ASSERT(crf, "crf");
    if (check_positive("gaussian sxy", sxy) || check_compat("gaussian compat", compat)) return WSSS_ERR;
    float *f = wsss_xmalloc((size_t)crf->n * 2 * sizeof *f);
    for (int y = 0; y < crf->h; y++)
        for (int x = 0; x < crf->w; x++) {
            float *p = f + ((int64_t)y * crf->w + x) * 2;
            p[0] = (float)(x / sxy);
            p[1] = (float)(y / sxy);
        }
    int rc = wsss_crf_add_kernel(crf, f, 2, compat);
    free(f);
    return rc;
}

int wsss_crf_add_bilateral(wsss_crf *crf, const uint8_t *rgb, double sxy, double srgb, double compat) {
    WSSS_ASSERT(crf, "crf");
    if (!rgb) return wsss_error_set("crf: bilateral kernel needs an RGB image");
    if (check_positive("bilateral sxy", sxy) || check_positive("bilateral srgb", srgb) ||
        check_compat("bilateral compat", compat))
        return WSSS_ERR;
    float *f = wsss_xmalloc((size_t)crf->n * 5 * sizeof *f);
    for (int y = 0; y < crf->h; y++)
        for (int x = 0; x < crf->w; x++) {
            int64_t i = (int64_t)y * crf->w + x;
            float *p = f + i * 5;
            p[0] = (float)(x / sxy);
            p[1] = (float)(y / sxy);
            for (int c = 0; c < 3; c++) p[2 + c] = (float)(rgb[i * 3 + c] / srgb);
        }
    int rc = wsss_crf_add_kernel(crf, f, 5, compat);
    free(f);
    return rc;
}

/* e^x for x <= 0 on 8 lanes (GCC vector extensions: AVX, SSE pairs or scalar code, whatever the
 * target has): Cephes expf, i.e. Cody-Waite reduction by ln 2 and a degree-5 polynomial, ~1 ulp.
 * x below -87 is clamped (e^-87 ~ 1.6e-38) so that 2^z stays a normal float; z = round(x log2 e)
 * by the 1.5*2^23 trick (ISO C mode, so the compiler does not reassociate it away). */
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

static inline void exp_nonpos8(f8 *xp) { /* in place: vectors stay out of the call ABI */
    f8 x = *xp;
    const f8 lo = x - x - 87.0f;
    const i8 small = x < lo; /* all-ones lanes where x < -87 */
    x = (f8)(((i8)lo & small) | ((i8)x & ~small));
    const f8 z = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    x = x - z * 0.693359375f - z * -2.12194440e-4f;
    f8 p = x - x + 1.9875691500e-4f;
    p = p * x + 1.3981999507e-3f;
    p = p * x + 8.3334519073e-3f;
    p = p * x + 4.1665795894e-2f;
    p = p * x + 1.6666665459e-1f;
    p = p * x + 5.0000001201e-1f;
    p = p * x * x + x + 1.0f;
    const i8 bits = (__builtin_convertvector(z, i8) + 127) << 23;
    *xp = p * (f8)bits;
}

/* Softmax of 8 pixels at once, one vector per label: u holds L vectors of 8 (label l of pixel j at
 * u[8l + j]), replaced by their softmax over labels, max subtracted first. The sum runs in the order
 * of a row softmax over vectors of 8 labels (per lane c: labels c, c+8, ...; then lanes 0..7): that
 * of the earlier pixel-by-pixel code, so the results kept their bits. */
static void softmax_block(float *u, int L) {
    f8 mx, x, part[8], s;
    memcpy(&mx, u, sizeof mx);
    for (int l = 1; l < L; l++) {
        memcpy(&x, u + 8 * l, sizeof x);
        const i8 greater = x > mx;
        mx = (f8)(((i8)x & greater) | ((i8)mx & ~greater));
    }
    for (int l = 0; l < L; l++) {
        memcpy(&x, u + 8 * l, sizeof x);
        x -= mx;
        exp_nonpos8(&x);
        memcpy(u + 8 * l, &x, sizeof x);
        if (l < 8) part[l] = x;
        else part[l & 7] += x;
    }
    s = part[0];
    for (int c = 1; c < 8 && c < L; c++) s += part[c];
    const f8 inv = (s - s + 1.0f) / s;
    for (int l = 0; l < L; l++) {
        memcpy(&x, u + 8 * l, sizeof x);
        x *= inv;
        memcpy(u + 8 * l, &x, sizeof x);
    }
}

/* Pixels per block: the vector width of softmax_block. */
#define BLOCK 8

/* dst[c * dst_stride + j] = src[j * src_stride + c] for j, c < 8: an 8 x 8 transpose in registers
 * (unpack pairs, then pairs of pairs, then 128-bit halves; __builtin_shufflevector: GCC 12+, clang) */
static inline __attribute__((always_inline)) void transpose8(const float *src, int src_stride, float *dst, int dst_stride) {
    f8 r[8], t[8], u[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) memcpy(&r[j], src + j * src_stride, sizeof r[j]);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j += 2) {
        t[j] = __builtin_shufflevector(r[j], r[j + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[j + 1] = __builtin_shufflevector(r[j], r[j + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j += 4)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            u[j + h] = __builtin_shufflevector(t[j + h], t[j + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[j + h + 2] = __builtin_shufflevector(t[j + h], t[j + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    /* u[0..3] hold columns 0, 2, 1, 3 of rows 0-3 (low half) and 4, 6, 5, 7 (high half); u[4..7]
     * the same of rows 4-7 */
    static const int col_of[4] = {0, 2, 1, 3};
#pragma GCC unroll 8
    for (int h = 0; h < 4; h++) {
        const f8 lo = __builtin_shufflevector(u[h], u[h + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        const f8 hi = __builtin_shufflevector(u[h], u[h + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(dst + col_of[h] * dst_stride, &lo, sizeof lo);
        memcpy(dst + (col_of[h] + 4) * dst_stride, &hi, sizeof hi);
    }
}

/* What one step of mean field reads and writes: -U pixel-major (n x ld; step 0 fills it from the
 * channel-major unaries), the kernels, and the step number. */
typedef struct {
    const wsss_crf *crf;
    const float *unary;
    float *neg_u;
    int L, ld, step;
} mf_step;

/* cols[8l + j] = 0 for the padding labels L <= l < ld (vector stores: memset is a libc call) */
static inline void zero_padding(float *cols, int L, int ld) {
    const f8 zero = {0};
    for (int l = L; l < ld; l++) memcpy(cols + BLOCK * l, &zero, sizeof zero);
}

/* rows (8 x ld) = -U of the pixels i0 .. i0+cnt-1 and cols the same label by label; they are read
 * straight from the channel-major unaries (8 pixels of a label are contiguous there) and kept in
 * neg_u for the later steps */
static void unary_block(const mf_step *s, int64_t i0, int cnt, float *rows, float *cols) {
    const int64_t n = s->crf->n;
    for (int l = 0; l < s->L; l++) {
        const float *u = s->unary + (int64_t)l * n + i0;
        if (i0 + 3 * BLOCK <= n) __builtin_prefetch(u + 2 * BLOCK); /* L streams at once: help them */
        for (int j = 0; j < BLOCK; j++) cols[BLOCK * l + j] = j < cnt ? -u[j] : 0.0f;
    }
    zero_padding(cols, s->L, s->ld);
    for (int l = 0; l < s->ld; l += 8) transpose8(cols + BLOCK * l, BLOCK, rows + l, s->ld);
    memcpy(s->neg_u + i0 * s->ld, rows, (size_t)cnt * s->ld * sizeof *rows);
}

/* rows = -U + sum_m compat_m D_m^-1/2 slice_m for the pixels i0 .. i0+cnt-1, cols the same label by
 * label */
static void message_block(const mf_step *s, int64_t i0, int cnt, float *rows, float *cols) {
    const wsss_crf *crf = s->crf;
    const int ld = s->ld;
    /* -U and the norms stream from memory a block's work apart, too slowly for the hardware's
     * prefetcher: ask for the block after next now */
    if (i0 + 3 * BLOCK <= crf->n) {
        for (int64_t f = 0; f < (int64_t)BLOCK * ld; f += 16) __builtin_prefetch(s->neg_u + (i0 + 2 * BLOCK) * ld + f);
        for (int m = 0; m < crf->n_kernels; m++) __builtin_prefetch(crf->k[m].norm + i0 + 2 * BLOCK);
    }
    memcpy(rows, s->neg_u + i0 * ld, (size_t)cnt * ld * sizeof *rows);
    if (cnt < BLOCK) memset(rows + (size_t)cnt * ld, 0, (size_t)(BLOCK - cnt) * ld * sizeof *rows);
    for (int m = 0; m < crf->n_kernels; m++) {
        const crf_kernel *k = &crf->k[m];
        if (k->compat != 0) wsss_lattice_slice_add(k->lat, k->blurred, i0, cnt, ld, k->compat, k->norm + i0, rows, ld);
    }
    for (int l = 0; l < ld; l += 8) transpose8(rows + l, ld, cols + BLOCK * l, BLOCK);
}

/* One mean-field step of the pixels i0 .. i0+cnt-1 (cnt <= BLOCK): cols = their new Q label by label
 * (cols[8l + j]) and, if want_rows, rows = the same pixel by pixel (stride ld, zero padding). */
static void update_block(const mf_step *s, int64_t i0, int cnt, int want_rows, float *rows, float *cols) {
    if (s->step == 0) unary_block(s, i0, cnt, rows, cols);
    else message_block(s, i0, cnt, rows, cols);
    softmax_block(cols, s->L);
    if (!want_rows) return;
    zero_padding(cols, s->L, s->ld); /* the padding labels go back as zeros */
    for (int l = 0; l < s->ld; l += 8) transpose8(cols + BLOCK * l, BLOCK, rows + l, s->ld);
}

int wsss_crf_inference(wsss_crf *crf, const float *unary, int L, int iterations, float *q) {
    WSSS_ASSERT(crf && unary && q, "crf inference arguments");
    if (L < 1) return wsss_error_set("crf: %d labels (expected >= 1)", L);
    if (check_iterations(iterations)) return WSSS_ERR;
    const int64_t n = crf->n;
    for (int64_t i = 0; i < n * L; i++)
        if (!isfinite(unary[i]))
            return wsss_error_set("crf: unary of label %lld at pixel %lld is %g (expected finite)",
                                  (long long)(i / n), (long long)(i % n), unary[i]);

    /* pixel-major rows padded to a multiple of 8 labels with zeros, which the lattice filters
     * like any label (zeros stay zeros) so its loops need no tail */
    const int ld = (L + 7) & ~7;
    float *neg_u = wsss_xmalloc((size_t)(n * ld) * sizeof(float));
    int active = 0;
    for (int m = 0; m < crf->n_kernels; m++) active += crf->k[m].compat != 0;
    if (!active) iterations = 0;
    /* One thread splats each block of new Q rows into the lattices while they are hot, so Q is never
     * stored whole. Threads store Q rows, and the lattice then gathers them (same sums, same bits). */
    int threaded = n * ld > PAR_MIN_WORK && iterations > 0;
#ifdef _OPENMP
    threaded &= omp_get_max_threads() > 1 && !omp_in_parallel();
#else
    threaded = 0;
#endif
    float *cur = threaded ? wsss_xmalloc((size_t)(n * ld) * sizeof *cur) : NULL;
    const int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
    /* step t: Q_t = softmax(-U + messages of Q_{t-1}), Q_0 = softmax(-U) */
    for (int t = 0; t <= iterations; t++) {
        const int last = t == iterations;
        const mf_step step = {crf, unary, neg_u, L, ld, t};
        for (int m = 0; m < crf->n_kernels && !last && !threaded; m++) {
            crf_kernel *k = &crf->k[m];
            if (k->compat != 0) k->splat = wsss_lattice_splat_begin(k->lat, ld);
        }
#pragma omp parallel if (threaded)
        {
            float *rows = wsss_xmalloc((size_t)(2 * BLOCK * ld) * sizeof *rows), *cols = rows + BLOCK * ld;
#pragma omp for schedule(static)
            for (int64_t b = 0; b < n_blocks; b++) {
                const int64_t i0 = b * BLOCK;
                const int cnt = (int)(n - i0 < BLOCK ? n - i0 : BLOCK);
                update_block(&step, i0, cnt, !last, rows, cols);
                if (last && cnt == BLOCK) { /* a constant size: a vector store, not a libc call */
                    for (int l = 0; l < L; l++) memcpy(q + (int64_t)l * n + i0, cols + BLOCK * l, BLOCK * sizeof *q);
                } else if (last) {
                    for (int l = 0; l < L; l++)
                        memcpy(q + (int64_t)l * n + i0, cols + BLOCK * l, (size_t)cnt * sizeof *q);
                } else if (threaded) {
                    memcpy(cur + i0 * ld, rows, (size_t)cnt * ld * sizeof *cur);
                } else {
                    for (int m = 0; m < crf->n_kernels; m++) {
                        const crf_kernel *k = &crf->k[m];
                        if (k->compat != 0) wsss_lattice_splat_add(k->lat, k->splat, i0, cnt, rows, ld, k->norm + i0, ld);
                    }
                }
            }
            free(rows);
        }
        for (int m = 0; m < crf->n_kernels && !last; m++) {
            crf_kernel *k = &crf->k[m];
            if (k->compat != 0)
                k->blurred = threaded ? wsss_lattice_splat_blur(k->lat, cur, ld, k->norm, ld) : wsss_lattice_blur(k->lat);
        }
    }
    free(neg_u);
    free(cur);
    return WSSS_OK;
}

int wsss_crf_run(const uint8_t *rgb, int h, int w, const float *unary, int L, const wsss_crf_params *p,
                 float *q) {
    if (wsss_crf_params_check(p)) return WSSS_ERR;
    wsss_crf *crf = wsss_crf_new(h, w);
    if (!crf) return WSSS_ERR;
    int rc = WSSS_OK;
    if (p->gauss_compat > 0) rc = wsss_crf_add_gaussian(crf, p->gauss_sxy, p->gauss_compat);
    if (rc == WSSS_OK && p->bilat_compat > 0)
        rc = wsss_crf_add_bilateral(crf, rgb, p->bilat_sxy, p->bilat_srgb, p->bilat_compat);
    if (rc == WSSS_OK) rc = wsss_crf_inference(crf, unary, L, p->iterations, q);
    wsss_crf_free(crf);
    return rc;
}

int wsss_crf_unary_psa(const float *p, int L, int64_t n, float *u) {
    WSSS_ASSERT(p && u, "crf unary arguments");
    if (L < 1 || n < 1) return wsss_error_set("crf: unary of %d labels x %lld pixels (expected >= 1 each)", L, (long long)n);
    for (int64_t i = 0; i < n * L; i++)
        if (isnan(p[i]))
            return wsss_error_set("crf: probability of label %lld at pixel %lld is NaN", (long long)(i / n),
                                  (long long)(i % n));
    for (int64_t i = 0; i < n * L; i++) {
        float v = p[i] < 1e-5f ? 1e-5f : p[i] > 1.0f ? 1.0f : p[i];
        u[i] = -logf(v);
    }
    return WSSS_OK;
}

int wsss_crf_unary_mcis(const float *p, int L, int64_t n, float *u) {
    WSSS_ASSERT(p && u, "crf unary arguments");
    if (L < 1 || n < 1) return wsss_error_set("crf: unary of %d labels x %lld pixels (expected >= 1 each)", L, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int l = 0; l < L; l++) {
            float v = p[(int64_t)l * n + i];
            if (!(isfinite(v) && v >= 0))
                return wsss_error_set("crf: probability of label %d at pixel %lld is %g (expected finite, >= 0)", l,
                                      (long long)i, v);
            s += v;
        }
        if (!(s > 0)) return wsss_error_set("crf: probabilities at pixel %lld sum to 0 (expected a positive sum)", (long long)i);
    }
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int l = 0; l < L; l++) s += p[(int64_t)l * n + i];
        for (int l = 0; l < L; l++) {
            double v = p[(int64_t)l * n + i] / s;
            u[(int64_t)l * n + i] = (float)-log(v < 1e-4 ? 1e-4 : v);
        }
    }
    return WSSS_OK;
}

int wsss_crf_argmax(const float *q, int L, int64_t n, uint8_t *labels) {
    WSSS_ASSERT(q && labels, "crf argmax arguments");
    if (L < 1 || L > 256) return wsss_error_set("crf: %d labels (expected 1..256 for 8-bit label maps)", L);
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int l = 1; l < L; l++)
            if (q[(int64_t)l * n + i] > q[(int64_t)best * n + i]) best = l;
        labels[i] = (uint8_t)best;
    }
    return WSSS_OK;
}
