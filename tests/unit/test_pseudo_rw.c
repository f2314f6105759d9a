/* PSA's random-walk pseudo labels (random_walk.h's label steps).
 *
 * Against PyTorch (scripts/gen_fixtures_rw_pseudo.py, tests/fixtures/rw_pseudo.safetensors, written
 * from refinement.md §b.5): given affinities on the grid and the maps of 2 classes at a size that is
 * not a multiple of 8, the pooled seeds and the walked seeds (<= 1e-5 relative; the C code pools in
 * float32 and walks in double, the reference is float64 throughout) and the labels (exact; only a
 * pixel whose reference top-two channels lie within 1e-5 of each other, a float32 near-tie, may
 * differ; the fixture has none). Cases: PSA's beta 8 / t 256 / bg power 16 on an 8 x 13 grid, other
 * values on the same image, and a 5 x 4 grid with no pairs (the walk is the identity). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/error.h"
#include "wsss/random_walk.h"
#include "wsss/runtime.h"

#define FIX "rw_pseudo.safetensors"

typedef struct rw_case {
    int H, W, beta, t, bg_pow, classes[2];
    wsss_tensor *maps, *aff, *seeds, *walked, *margin, *labels;
} rw_case;

static void case_load(const wsss_safetensors *st, const char *cs, rw_case *c) {
    char key[64];
    snprintf(key, sizeof key, "%s.params", cs);
    int p[7];
    CHECK(fixture_meta_ints(st, key, p, 7) == 7, "%s: 7 parameters", key);
    c->H = p[0], c->W = p[1], c->beta = p[2], c->t = p[3], c->bg_pow = p[4], c->classes[0] = p[5], c->classes[1] = p[6];
    c->maps = fixture_take_case(st, cs, "maps");
    c->aff = fixture_take_case(st, cs, "aff");
    c->seeds = fixture_take_case(st, cs, "seeds");
    c->walked = fixture_take_case(st, cs, "walked");
    c->margin = fixture_take_case(st, cs, "margin");
    c->labels = fixture_take_case(st, cs, "labels");
}

static void case_free(rw_case *c) { FREE_TENSORS(c->maps, c->aff, c->seeds, c->walked, c->margin, c->labels); }

/* got (F32, the reference's shape) against the F64 reference: max error / max |reference| */
static double rel_error(const float *got, const wsss_tensor *want) {
    double err = 0, mx = 0;
    for (int64_t i = 0; i < wsss_tensor_numel(want); i++) {
        const double w = wsss_tensor_get(want, i);
        err = fmax(err, fabs(got[i] - w));
        mx = fmax(mx, fabs(w));
    }
    return err / fmax(mx, 1e-300);
}

/* Labels against the reference: every pixel equal, except near-ties of the reference (counted). */
static void check_labels(const char *what, const uint8_t *got, const rw_case *c) {
    int differ = 0, ties = 0, seen[256] = {0};
    for (int64_t i = 0; i < (int64_t)c->H * c->W; i++) {
        const int near_tie = wsss_tensor_get(c->margin, i) < 1e-5;
        ties += near_tie;
        differ += got[i] != (int)wsss_tensor_get(c->labels, i) && !near_tie;
        seen[got[i]] = 1;
    }
    CHECK(differ == 0, "%s: %d pixels differ from the reference (away from its %d near-ties)", what, differ, ties);
    CHECK(seen[0] && seen[c->classes[0]] && seen[c->classes[1]], "%s: background and both classes present", what);
    printf("  %-28s %dx%d: labels equal the reference (%d near-ties allowed)\n", what, c->H, c->W, ties);
}

static void check_case(const wsss_safetensors *st, const char *cs, void *user) {
    (void)user;
    rw_case c;
    case_load(st, cs, &c);
    const int h = (c.H + 7) / 8, w = (c.W + 7) / 8, L = 3;
    CHECK(wsss_rw_num_pairs(h, w) == wsss_tensor_numel(c.aff), "%s: pair count", cs);
    float *v = malloc(sizeof(float) * L * h * w);
    CHECK(wsss_rw_seeds(c.H, c.W, wsss_f32(c.maps), 2, c.bg_pow, v) == WSSS_OK, "%s", wsss_error_msg());
    const double e_seeds = rel_error(v, c.seeds);
    CHECK(e_seeds <= 1e-5, "%s: seeds: max relative error %.3g", cs, e_seeds);
    CHECK(wsss_rw_walk(h, w, wsss_f32(c.aff), c.beta, c.t, L, v) == WSSS_OK, "%s", wsss_error_msg());
    const double e_walk = rel_error(v, c.walked);
    CHECK(e_walk <= 1e-5, "%s: walked seeds: max relative error %.3g", cs, e_walk);
    printf("  %-6s beta %d t %3d bg %2d: seeds max rel error %.2g, walked %.2g\n", cs, c.beta, c.t, c.bg_pow, e_seeds,
           e_walk);
    uint8_t *lab = malloc((size_t)c.H * c.W);
    CHECK(wsss_rw_labels(c.H, c.W, wsss_f32(c.maps), 2, c.classes, wsss_f32(c.aff), c.beta, c.t, c.bg_pow, lab) ==
              WSSS_OK,
          "%s", wsss_error_msg());
    char what[64];
    snprintf(what, sizeof what, "%s: wsss_rw_labels", cs);
    check_labels(what, lab, &c);
    free(v);
    free(lab);
    case_free(&c);
}

int main(void) {
    wsss_runtime_init();
    CHECK(fixture_each_case(FIX, check_case, NULL) == 3, "3 fixture cases");
    return test_summary("test_pseudo_rw");
}
