/* PSA's random-walk pseudo labels (pseudo_rw.h, random_walk.h's label steps).
 *
 * Against PyTorch (scripts/gen_fixtures_rw_pseudo.py, tests/fixtures/rw_pseudo.safetensors, written
 * from refinement.md §b.5): given affinities on the grid and the maps of 2 classes at a size that is
 * not a multiple of 8, the pooled seeds and the walked seeds (<= 1e-5 relative; the C code pools in
 * float32 and walks in double, the reference is float64 throughout) and the labels (exact; only a
 * pixel whose reference top-two channels lie within 1e-5 of each other, a float32 near-tie, may
 * differ; the fixture has none). Cases: PSA's beta 8 / t 256 / bg power 16 on an 8 x 13 grid, other
 * values on the same image, and a 5 x 4 grid with no pairs (the walk is the identity).
 *
 * The per-image function with a (randomly initialised) AffinityNet: its affinities equal the net's on
 * the image normalised by hand (ImageNet mean/std on RGB / 255) and zero-padded after normalisation,
 * and its labels equal the walk's labels on those; on the small grid it needs no net and gives the
 * reference's labels; no classes: all background; bad options refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/error.h"
#include "wsss/pseudo_rw.h"
#include "wsss/random_walk.h"
#include "wsss/rng.h"
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

/* An RGB image with some structure (a bright square on noise). */
static void test_image(wsss_image *im, int W, int H, uint64_t seed) {
    wsss_rng rng;
    wsss_rng_seed(&rng, seed);
    wsss_image_alloc(im, W, H, 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) {
                const int in_square = y > H / 4 && y < H / 2 && x > W / 3 && x < 2 * W / 3;
                im->data[((size_t)y * W + x) * 3 + k] = (uint8_t)(in_square ? 200 + 40 * wsss_rng_uniform(&rng)
                                                                            : 90 * wsss_rng_uniform(&rng));
            }
}

/* The net's affinities on the image normalised and padded as the spec says, written out here. */
static wsss_tensor *affinities_by_hand(wsss_ctx *ctx, wsss_affnet *net, const wsss_image *im) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const int H = im->height, W = im->width, Hp = (H + 7) / 8 * 8, Wp = (W + 7) / 8 * 8;
    wsss_tensor *x = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){1, 3, Hp, Wp}); /* zeros: the padding */
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < H; y++)
            for (int xx = 0; xx < W; xx++)
                wsss_f32(x)[((int64_t)k * Hp + y) * Wp + xx] =
                    ((float)im->data[((size_t)y * W + xx) * 3 + k] / 255.0f - mean[k]) / std[k];
    wsss_ctx_set_grad_enabled(ctx, 0);
    wsss_ctx_set_blocked(ctx, 1);
    return (wsss_tensor *)wsss_ctx_contiguous(ctx, wsss_affnet_forward(ctx, net, x, 0));
}

static void check_with_net(void) {
    wsss_affnet net;
    CHECK(wsss_affnet_build(&net, "resnet18", WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    wsss_rng rng;
    wsss_rng_seed(&rng, 5);
    wsss_affnet_reset_parameters(&net, &rng);
    wsss_pseudo_rw_opts o;
    wsss_pseudo_rw_opts_default(&o);
    CHECK(o.beta == 8 && o.steps == 256 && o.bg_power == 16, "PSA's defaults");
    wsss_ctx *ctx = wsss_ctx_new(), *hand = wsss_ctx_new();
    wsss_safetensors *st = fixture_open(FIX);

    /* the big case's maps on an image of their size: the walk over the net's affinities */
    rw_case c;
    case_load(st, "big", &c);
    wsss_image im, out;
    test_image(&im, c.W, c.H, 9);
    wsss_tensor *want_aff = affinities_by_hand(hand, &net, &im);
    const wsss_tensor *got_aff = wsss_pseudo_rw_affinities(ctx, &net, &im);
    CHECK(got_aff->ndim == 3 && got_aff->shape[1] == WSSS_RW_OFFSETS &&
              wsss_tensor_numel(got_aff) == wsss_rw_num_pairs((c.H + 7) / 8, (c.W + 7) / 8),
          "affinities [1, 34, P] on the padded image's grid");
    const double e_aff = check_close_scaled("affinities vs normalised and zero-padded by hand", got_aff, want_aff, 1e-6);
    uint8_t *want = malloc((size_t)c.H * c.W);
    CHECK(wsss_rw_labels(c.H, c.W, wsss_f32(c.maps), 2, c.classes, wsss_f32(want_aff), 8, 256, 16, want) == WSSS_OK,
          "%s", wsss_error_msg());
    CHECK(wsss_pseudo_rw_label(&net, ctx, &o, &im, wsss_f32(c.maps), 2, c.classes, &out) == WSSS_OK, "%s",
          wsss_error_msg());
    int differ = 0, fg = 0;
    for (int64_t i = 0; i < (int64_t)c.H * c.W; i++) differ += out.data[i] != want[i], fg += out.data[i] != 0;
    CHECK(out.width == c.W && out.height == c.H && out.channels == 1 && differ == 0,
          "labels with the net: %d pixels differ from the walk on the net's affinities", differ);
    CHECK(fg > 0, "labels with the net: some foreground");
    printf("  with a resnet18 AffinityNet %dx%d: affinities max rel error %.2g, labels equal, %d foreground pixels\n",
           c.H, c.W, e_aff, fg);
    wsss_image_free(&out);
    wsss_image_free(&im);
    free(want);

    /* no classes: all background */
    test_image(&im, c.W, c.H, 10);
    CHECK(wsss_pseudo_rw_label(&net, ctx, &o, &im, NULL, 0, NULL, &out) == WSSS_OK, "%s", wsss_error_msg());
    int nonzero = 0;
    for (int64_t i = 0; i < (int64_t)c.H * c.W; i++) nonzero += out.data[i] != 0;
    CHECK(out.data && nonzero == 0, "no classes: %d pixels not background", nonzero);
    wsss_image_free(&out);

    /* bad options and sizes */
    wsss_pseudo_rw_opts bad = o;
    bad.beta = 0;
    CHECK(wsss_pseudo_rw_label(&net, ctx, &bad, &im, wsss_f32(c.maps), 2, c.classes, &out) != WSSS_OK &&
              strstr(wsss_error_msg(), "beta") && !out.data,
          "beta 0 refused: %s", wsss_error_msg());
    bad = o, bad.steps = -1;
    CHECK(wsss_pseudo_rw_check(&bad) != WSSS_OK && strstr(wsss_error_msg(), "steps"), "steps -1: %s", wsss_error_msg());
    bad = o, bad.bg_power = NAN;
    CHECK(wsss_pseudo_rw_check(&bad) != WSSS_OK && strstr(wsss_error_msg(), "background"), "bg power NaN: %s",
          wsss_error_msg());
    CHECK(wsss_pseudo_rw_label(&net, ctx, &o, &im, wsss_f32(c.maps), 255, c.classes, &out) != WSSS_OK && !out.data,
          "255 classes refused");
    wsss_image_free(&im);
    case_free(&c);

    /* the small case: no pairs on its grid, the identity walk, the reference's labels */
    case_load(st, "small", &c);
    test_image(&im, c.W, c.H, 11);
    CHECK(wsss_pseudo_rw_label(&net, ctx, &o, &im, wsss_f32(c.maps), 2, c.classes, &out) == WSSS_OK, "%s",
          wsss_error_msg());
    check_labels("small: wsss_pseudo_rw_label", out.data, &c);
    wsss_image_free(&out);
    wsss_image_free(&im);
    case_free(&c);

    wsss_st_close(st);
    wsss_ctx_free(ctx);
    wsss_ctx_free(hand);
    wsss_affnet_free(&net);
}

int main(void) {
    wsss_runtime_init();
    CHECK(fixture_each_case(FIX, check_case, NULL) == 3, "3 fixture cases");
    check_with_net();
    return test_summary("test_pseudo_rw");
}
