/* Pseudo labels: background score + dense CRF + uncertain pixels (pseudo.h). */
#include "wsss/pseudo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

void wsss_pseudo_opts_default(wsss_pseudo_opts *o) {
    memset(o, 0, sizeof *o);
    o->bg = WSSS_PSEUDO_BG_PSA;
    o->alpha_low = 4.0;
    o->alpha_high = 32.0;
    o->alpha = 8.0;
    o->threshold = 0.2;
    o->crf = 1;
    o->crf_params = wsss_crf_params_psa();
    o->min_conf = 0.0;
}

const wsss_choice wsss_pseudo_bg_choices[] = {
    {"psa", WSSS_PSEUDO_BG_PSA},     {"pow", WSSS_PSEUDO_BG_POW}, {"const", WSSS_PSEUDO_BG_CONST},
    {"otsu", WSSS_PSEUDO_BG_OTSU},   {NULL, 0}};

const char *wsss_pseudo_bg_name(wsss_pseudo_bg bg) { return wsss_choice_name(wsss_pseudo_bg_choices, (int)bg); }

/* stack[0] = background score (mode bg with exponent alpha or constant t), stack[1+k] = maps. */
static void build_stack(const float *maps, int n, int64_t hw, int pow_mode, double alpha_or_t, float *stack) {
    for (int64_t i = 0; i < hw; i++) {
        float mx = 0.0f;
        for (int k = 0; k < n; k++) {
            float v = maps[(int64_t)k * hw + i];
            if (v > mx) mx = v;
        }
        float base = 1.0f - mx;
        if (base < 0) base = 0;
        stack[i] = pow_mode ? (float)pow(base, alpha_or_t) : (float)alpha_or_t;
    }
    memcpy(stack + hw, maps, sizeof(float) * (size_t)n * (size_t)hw);
}

/* The image's CRF (both kernels' lattices), built once and reused for both PSA stacks. */
static wsss_crf *make_crf(const wsss_pseudo_opts *o, const wsss_image *rgb) {
    wsss_crf *crf = wsss_crf_new(rgb->height, rgb->width);
    if (!crf) return NULL;
    const wsss_crf_params *p = &o->crf_params;
    if ((p->gauss_compat > 0 && wsss_crf_add_gaussian(crf, p->gauss_sxy, p->gauss_compat) != WSSS_OK) ||
        (p->bilat_compat > 0 &&
         wsss_crf_add_bilateral(crf, rgb->data, p->bilat_sxy, p->bilat_srgb, p->bilat_compat) != WSSS_OK)) {
        wsss_crf_free(crf);
        return NULL;
    }
    return crf;
}

/* Q of the score stack: the CRF's marginals, or without the CRF the stack normalised per pixel (the
 * same argmax). The stack is overwritten (the CRF's unary). */
static int stack_q(const wsss_pseudo_opts *o, wsss_crf *crf, float *stack, int L, int64_t hw, float *q) {
    if (crf) {
        int rc = wsss_crf_unary_psa(stack, L, hw, stack); /* unary in place */
        return rc == WSSS_OK ? wsss_crf_inference(crf, stack, L, o->crf_params.iterations, q) : rc;
    }
    for (int64_t i = 0; i < hw; i++) {
        double s = 0;
        for (int l = 0; l < L; l++) s += stack[(int64_t)l * hw + i];
        for (int l = 0; l < L; l++) q[(int64_t)l * hw + i] = s > 0 ? (float)(stack[(int64_t)l * hw + i] / s) : 0.0f;
    }
    return WSSS_OK;
}

/* labels (channel indices 0..n) and the probability of the chosen label. */
static int infer(const wsss_pseudo_opts *o, wsss_crf *crf, float *stack, int L, int64_t hw, uint8_t *lab,
                 float *conf) {
    float *q = wsss_xmalloc(sizeof(float) * (size_t)L * (size_t)hw);
    int rc = stack_q(o, crf, stack, L, hw, q);
    if (rc == WSSS_OK) rc = wsss_crf_argmax(q, L, hw, lab);
    if (rc == WSSS_OK && conf)
        for (int64_t i = 0; i < hw; i++) conf[i] = q[(int64_t)lab[i] * hw + i];
    free(q);
    return rc;
}

/* The checks every mode shares (message on error). */
static int check_opts(const wsss_pseudo_opts *o, int n) {
    if (n < 0 || n > 254) return wsss_error_set("pseudo labels: %d classes in one image (expected 0..254)", n);
    if (o->crf && wsss_crf_params_check(&o->crf_params) != WSSS_OK) return WSSS_ERR;
    if (!(o->alpha_low > 0 && o->alpha_high > 0 && o->alpha > 0 && o->threshold >= 0 && o->min_conf >= 0 &&
          o->min_conf <= 1))
        return wsss_error_set("pseudo labels: alphas must be > 0, the threshold >= 0, min-conf in [0, 1]");
    return WSSS_OK;
}

int wsss_pseudo_psa_stacks(const wsss_pseudo_opts *o, const wsss_image *rgb, const float *maps, int n, float *la,
                           float *ha) {
    WSSS_ASSERT(rgb->channels == 3 && rgb->data, "RGB image");
    if (check_opts(o, n) != WSSS_OK) return WSSS_ERR;
    const int64_t hw = (int64_t)rgb->width * rgb->height;
    const int L = n + 1;
    wsss_crf *crf = NULL;
    if (o->crf && !(crf = make_crf(o, rgb))) return WSSS_ERR;
    float *stack = wsss_xmalloc(sizeof(float) * (size_t)L * (size_t)hw);
    build_stack(maps, n, hw, 1, o->alpha_low, stack);
    int rc = stack_q(o, crf, stack, L, hw, la);
    if (rc == WSSS_OK) {
        build_stack(maps, n, hw, 1, o->alpha_high, stack);
        rc = stack_q(o, crf, stack, L, hw, ha);
    }
    if (crf) wsss_crf_free(crf);
    free(stack);
    return rc;
}

int wsss_pseudo_label(const wsss_pseudo_opts *o, const wsss_image *rgb, const float *maps, int n, const int *classes,
                      wsss_image *out) {
    memset(out, 0, sizeof *out);
    WSSS_ASSERT(rgb->channels == 3 && rgb->data, "RGB image");
    if (check_opts(o, n) != WSSS_OK) return WSSS_ERR;
    const int64_t hw = (int64_t)rgb->width * rgb->height;
    wsss_image_alloc(out, rgb->width, rgb->height, 1);
    if (n == 0) return WSSS_OK; /* all background */
    const int L = n + 1;
    const size_t planes = sizeof(float) * (size_t)L * (size_t)hw;
    uint8_t *lab = wsss_xmalloc((size_t)hw);
    int rc = WSSS_OK;
    if (o->bg == WSSS_PSEUDO_BG_PSA) {
        /* foreground only where even the inflated background loses, background only where even the
         * shrunk one wins, 255 between */
        float *la = wsss_xmalloc(planes), *ha = wsss_xmalloc(planes);
        uint8_t *hlab = wsss_xmalloc((size_t)hw);
        rc = wsss_pseudo_psa_stacks(o, rgb, maps, n, la, ha);
        if (rc == WSSS_OK) rc = wsss_crf_argmax(la, L, hw, lab);
        if (rc == WSSS_OK) rc = wsss_crf_argmax(ha, L, hw, hlab);
        for (int64_t i = 0; rc == WSSS_OK && i < hw; i++)
            out->data[i] = hlab[i] == 0 ? 0 : lab[i] == 0 ? 255 : (uint8_t)classes[lab[i] - 1];
        free(la);
        free(ha);
        free(hlab);
    } else {
        const int pow_mode = o->bg == WSSS_PSEUDO_BG_POW;
        float *stack = wsss_xmalloc(planes), *conf = wsss_xmalloc(sizeof(float) * (size_t)hw);
        wsss_crf *crf = NULL;
        if (o->crf && !(crf = make_crf(o, rgb))) rc = WSSS_ERR;
        if (rc == WSSS_OK) {
            build_stack(maps, n, hw, pow_mode, pow_mode ? o->alpha : o->threshold, stack);
            rc = infer(o, crf, stack, L, hw, lab, conf);
        }
        for (int64_t i = 0; rc == WSSS_OK && i < hw; i++) {
            uint8_t v = lab[i] == 0 ? 0 : (uint8_t)classes[lab[i] - 1];
            if (o->min_conf > 0 && conf[i] < o->min_conf) v = 255;
            out->data[i] = v;
        }
        if (crf) wsss_crf_free(crf);
        free(stack);
        free(conf);
    }
    free(lab);
    if (rc != WSSS_OK) wsss_image_free(out);
    return rc;
}
