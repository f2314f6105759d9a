/* Pseudo labels (pseudo.h). Without the CRF the label rules are checked pixel by pixel against the
 * hand-derived decisions: PSA pair (label = la; la background -> 255; ha background -> 0, with
 * bg = (1 - max)^4 and (1 - max)^32 and ties to background), one power, a constant threshold,
 * min-conf; class ids mapped from plane order. With the CRF (PSA parameters): noisy maps over a
 * two-colour image are cleaned up (holes filled, labels follow the colour edge). */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "wsss/pseudo.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

static int psa_rule(double m, int cls) {
    int la_bg = pow(1 - m, 4) >= m, ha_bg = pow(1 - m, 32) >= m;
    int v = la_bg ? 255 : cls;
    return ha_bg ? 0 : v;
}

/* The label rules of the maps below (plane 0: class 4, x / 100 along the row; plane 1: class 7,
 * 0.55 on row 1) at one pixel, computed as the float stack computes them. */
static int const_rule(float m0, float m1) { /* threshold 0.3 */
    int want = 0;
    float best = 0.3f;
    if (m0 > best) want = 4, best = m0;
    if (m1 > best) want = 7, best = m1;
    return want;
}

static int pow_rule(float m0, float m1) { /* alpha 8, min-conf 0.6 */
    static const int classes[2] = {4, 7};
    float mx = m0 > m1 ? m0 : m1;
    float s[3] = {(float)pow(1.0f - mx, 8.0), m0, m1};
    int arg = 0;
    for (int k = 1; k < 3; k++)
        if (s[k] > s[arg]) arg = k;
    double sum = (double)s[0] + s[1] + s[2];
    int want = arg == 0 ? 0 : classes[arg - 1];
    if (sum <= 0 || s[arg] / sum < 0.6) want = 255;
    return want;
}

/* Pixels of the 101 x 2 label image whose label differs from rule's. */
static int count_wrong(const wsss_image *lab, int (*rule)(float m0, float m1)) {
    int bad = 0;
    for (int y = 0; y < lab->height; y++)
        for (int x = 0; x < lab->width; x++)
            bad += lab->data[y * lab->width + x] != rule((float)(x / 100.0), y == 1 ? 0.55f : 0.0f);
    return bad;
}

int main(void) {
    wsss_runtime_init();
    /* ---- rules without CRF: one row of 101 pixels with map values 0.00 .. 1.00 ---- */
    const int W = 101, H = 2;
    wsss_image rgb;
    wsss_image_alloc(&rgb, W, H, 3);
    float *maps = calloc((size_t)2 * W * H, sizeof(float));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            maps[y * W + x] = (float)(x / 100.0);                  /* class 4 */
            maps[W * H + y * W + x] = y == 1 ? 0.55f : 0.0f;       /* class 7 (row 1 only) */
        }
    const int classes[2] = {4, 7};
    wsss_pseudo_opts o;
    wsss_pseudo_opts_default(&o);
    CHECK(o.bg == WSSS_PSEUDO_BG_PSA && o.alpha_low == 4 && o.alpha_high == 32 && o.crf == 1 &&
              o.crf_params.iterations == 10 && o.crf_params.bilat_srgb == 13,
          "defaults: PSA pair 4/32 with the PSA CRF");
    o.crf = 0;
    wsss_image lab;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_OK, "psa no-crf: %s", wsss_error_msg());
    int bad = 0, n255 = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double m0 = x / 100.0, m1 = y == 1 ? 0.55 : 0.0;
            double m = m0 > m1 ? m0 : m1;
            int cls = m1 > m0 ? 7 : 4; /* ties go to the earlier plane */
            if (m1 == m0) cls = 4;
            int want = psa_rule((float)m, cls);
            /* the float stack: recompute with the stored float values */
            float fm = (float)m;
            float la = (float)pow(1.0f - fm, 4.0), ha = (float)pow(1.0f - fm, 32.0);
            int la_bg = la >= fm, ha_bg = ha >= fm;
            want = ha_bg ? 0 : la_bg ? 255 : cls;
            bad += lab.data[y * W + x] != want;
            n255 += lab.data[y * W + x] == 255;
        }
    CHECK(bad == 0, "PSA rule: %d of %d pixels differ", bad, W * H);
    CHECK(n255 > 0 && lab.data[0] == 0 && lab.data[W - 1] == 4 && lab.data[W + 30] == 7,
          "all three outcomes occur (255 band, bg, classes)");
    wsss_image_free(&lab);
    /* the two score stacks behind those labels: without the CRF each is the stack normalised per
     * pixel; combined by the rule they give the same labels */
    {
        const int64_t hw = (int64_t)W * H;
        float *la = malloc(sizeof(float) * 3 * hw), *ha = malloc(sizeof(float) * 3 * hw);
        CHECK(wsss_pseudo_psa_stacks(&o, &rgb, maps, 2, la, ha) == WSSS_OK, "stacks: %s", wsss_error_msg());
        double err = 0;
        int same = 1;
        CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_OK, "psa labels again");
        for (int64_t i = 0; i < hw; i++) {
            const double m0 = maps[i], m1 = maps[hw + i], m = fmax(m0, m1);
            const double bl = pow(1 - (float)m, 4), bh = pow(1 - (float)m, 32);
            err = fmax(err, fabs(la[i] - bl / (bl + m0 + m1)));
            err = fmax(err, fabs(ha[2 * hw + i] - m1 / (bh + m0 + m1)));
            int a = 0, b = 0;
            for (int l = 1; l < 3; l++) {
                if (la[l * hw + i] > la[a * hw + i]) a = l;
                if (ha[l * hw + i] > ha[b * hw + i]) b = l;
            }
            same &= lab.data[i] == (b == 0 ? 0 : a == 0 ? 255 : classes[a - 1]);
        }
        CHECK(err < 1e-6, "stacks: max error %.3g against the normalised stacks", err);
        CHECK(same, "the PSA labels are the stacks' rule");
        wsss_image_free(&lab);
        free(la);
        free(ha);
    }

    o.bg = WSSS_PSEUDO_BG_CONST;
    o.threshold = 0.3;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_OK, "const");
    bad = count_wrong(&lab, const_rule);
    CHECK(bad == 0, "constant threshold rule: %d pixels differ", bad);
    wsss_image_free(&lab);

    o.bg = WSSS_PSEUDO_BG_POW;
    o.alpha = 8;
    o.min_conf = 0.6;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_OK, "pow");
    bad = count_wrong(&lab, pow_rule);
    CHECK(bad == 0, "power background + min-conf rule: %d pixels differ", bad);
    wsss_image_free(&lab);

    /* no classes: all background */
    CHECK(wsss_pseudo_label(&o, &rgb, NULL, 0, NULL, &lab) == WSSS_OK && lab.width == W && lab.height == H, "n = 0");
    int nz = 0;
    for (int i = 0; i < W * H; i++) nz += lab.data[i] != 0;
    CHECK(nz == 0, "no labelled class -> all background");
    wsss_image_free(&lab);
    o.min_conf = 2;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_ERR, "min-conf > 1 rejected");
    o.min_conf = 0;
    o.crf = 1;
    o.crf_params.bilat_srgb = 0;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 2, classes, &lab) == WSSS_ERR && strstr(wsss_error_msg(), "srgb"),
          "bad CRF parameter rejected: '%s'", wsss_error_msg());
    wsss_error_clear();
    free(maps);
    wsss_image_free(&rgb);

    /* ---- CRF: left half dark red, right half light blue; class 3 map 0.8 on the right half with
     * 15% of its pixels weak (0.15), and a 0.8 spill 3 px into the left half ---- */
    const int S = 40;
    wsss_image_alloc(&rgb, S, S, 3);
    maps = calloc((size_t)S * S, sizeof(float));
    wsss_rng r;
    wsss_rng_seed(&r, 3);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            uint8_t *p = rgb.data + ((size_t)y * S + x) * 3;
            int right = x >= S / 2;
            int noise = (int)wsss_rng_below(&r, 11) - 5;
            p[0] = (uint8_t)((right ? 60 : 170) + noise);
            p[1] = (uint8_t)((right ? 120 : 30) + noise);
            p[2] = (uint8_t)((right ? 220 : 40) + noise);
            float m = x >= S / 2 - 3 ? 0.8f : 0.02f;
            if (right && wsss_rng_uniform(&r) < 0.15) m = 0.15f; /* weak spots: background wins alone */
            maps[y * S + x] = m;
        }
    const int c3[1] = {3};
    wsss_image raw, crf;
    wsss_pseudo_opts_default(&o);
    o.bg = WSSS_PSEUDO_BG_POW;
    o.alpha = 4;
    o.crf = 0;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 1, c3, &raw) == WSSS_OK, "raw");
    o.crf = 1;
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 1, c3, &crf) == WSSS_OK, "crf: %s", wsss_error_msg());
    int raw_right = 0, crf_right = 0, raw_spill = 0, crf_spill = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            if (x >= S / 2) {
                raw_right += raw.data[y * S + x] == 3;
                crf_right += crf.data[y * S + x] == 3;
            } else {
                raw_spill += raw.data[y * S + x] == 3;
                crf_spill += crf.data[y * S + x] == 3;
            }
        }
    const int half = S * S / 2;
    printf("right half labelled class 3: %d/%d raw, %d/%d CRF; left-half spill: %d raw, %d CRF\n", raw_right, half,
           crf_right, half, raw_spill, crf_spill);
    CHECK(raw_right < half * 0.9 && crf_right >= half * 0.98, "CRF fills the holes (%d -> %d of %d)", raw_right,
          crf_right, half);
    CHECK(raw_spill == 3 * S && crf_spill <= S / 2, "CRF removes the spill over the colour edge (%d -> %d)", raw_spill,
          crf_spill);
    /* PSA pair with CRF: right half class 3 or 255, left half background or 255, edges respected */
    wsss_pseudo_opts_default(&o);
    wsss_image_free(&crf);
    CHECK(wsss_pseudo_label(&o, &rgb, maps, 1, c3, &crf) == WSSS_OK, "psa crf");
    int wrong = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int v = crf.data[y * S + x];
            wrong += x >= S / 2 ? (v == 0) : (v == 3);
        }
    CHECK(wrong <= S / 2, "PSA pair with CRF: %d pixels on the wrong side", wrong);
    wsss_image_free(&raw);
    wsss_image_free(&crf);
    wsss_image_free(&rgb);
    free(maps);
    return test_summary("test_pseudo");
}
