/* AffinityNet on a zoo ResNet (affinity_net.h): the registry (backbone first under torchvision names,
 * then PSA's head names, the backbone count unchanged so backbone-only files load), output shape and
 * range on the smallest grid with pairs and on a larger one, the affinities equal to the pair op on
 * the head's features computed from the backbone's stages by hand, gradients reaching the head and
 * the backbone convolutions but not the frozen BN, PSA's early layers frozen (no gradient) while the
 * rest trains, the model file (round trip to the same affinities and metadata; a plain state_dict, a
 * file of another backbone and an unknown backbone refused naming the file), and bad backbone names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "wsss/affinity_net.h"
#include "wsss/error.h"
#include "wsss/random_walk.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

int main(void) {
    wsss_runtime_init();
    wsss_affnet a;
    CHECK(wsss_affnet_build(&a, "resnet18", WSSS_F32) == WSSS_OK, "%s", wsss_error_msg());
    wsss_rng rng;
    wsss_rng_seed(&rng, 3);
    wsss_affnet_reset_parameters(&a, &rng);
    const wsss_params *ps = &a.net.params;
    const int n = wsss_params_count(ps);
    CHECK(strcmp(wsss_params_at(ps, 0)->t->name, "conv1.weight") == 0, "first tensor %s", wsss_params_at(ps, 0)->t->name);
    CHECK(a.net.n_backbone == n - 4 && wsss_params_find(ps, "f8_3.weight") && wsss_params_find(ps, "f9.weight"),
          "%d tensors, %d backbone, head names", n, a.net.n_backbone);
    const wsss_tensor *f9 = wsss_params_find(ps, "f9.weight");
    CHECK(f9 && f9->shape[0] == 448 && f9->shape[1] == 448, "f9 448 x 448");

    const int64_t sizes[2][2] = {{40, 72}, {64, 96}}; /* grids 5 x 9 (one from cell) and 8 x 12 */
    for (int s = 0; s < 2; s++) {
        const int64_t H = sizes[s][0], W = sizes[s][1], h = H / 8, w = W / 8;
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, H, W}, -1, 1, 7 + s);
        wsss_ctx *ctx = wsss_ctx_new();
        wsss_tensor *aff = wsss_affnet_forward(ctx, &a, x, 1);
        const int64_t P = wsss_rw_num_pairs((int)h, (int)w) / WSSS_RW_OFFSETS;
        CHECK(aff->ndim == 3 && aff->shape[0] == 2 && aff->shape[1] == WSSS_RW_OFFSETS && aff->shape[2] == P,
              "%lldx%lld: shape", (long long)H, (long long)W);
        double lo = 1, hi = 0;
        for (int64_t i = 0; i < wsss_tensor_numel(aff); i++) {
            lo = fmin(lo, wsss_tensor_get(aff, i));
            hi = fmax(hi, wsss_tensor_get(aff, i));
        }
        CHECK(lo > 0 && hi <= 1 && lo < hi, "%lldx%lld: affinities in (0, 1]: %g .. %g", (long long)H, (long long)W, lo, hi);
        /* by hand: stages -> head -> pair op with the window written out (rows 0..h-5, cols 4..w-5) */
        wsss_tensor *st[4];
        wsss_resnet_features(ctx, &a.net.resnet, x, 1, st);
        wsss_tensor *f = wsss_affnet_head_forward(ctx, &a.head, st + 1);
        int dy[WSSS_RW_OFFSETS], dx[WSSS_RW_OFFSETS];
        wsss_rw_offsets(dy, dx);
        wsss_tensor *want = wsss_pair_affinity(ctx, f, WSSS_RW_OFFSETS, dy, dx, 0, (int)h - 4, 4, (int)w - 4);
        CHECK(f->shape[2] == h && f->shape[3] == w && f->shape[1] == 448, "features at stride 8, 448 channels");
        check_close("affinities vs by hand", aff, want, 0, 0);
        if (s == 0) {
            CHECK(wsss_backward(ctx, wsss_sum_all(ctx, aff)) == WSSS_OK, "backward: %s", wsss_error_msg());
            const wsss_tensor *g9 = wsss_params_find(ps, "f9.weight")->grad, *gc = wsss_params_find(ps, "conv1.weight")->grad;
            const wsss_tensor *bn = wsss_params_find(ps, "bn1.weight");
            double m9 = 0, mc = 0;
            for (int64_t i = 0; g9 && i < wsss_tensor_numel(g9); i++) m9 = fmax(m9, fabs(wsss_tensor_get(g9, i)));
            for (int64_t i = 0; gc && i < wsss_tensor_numel(gc); i++) mc = fmax(mc, fabs(wsss_tensor_get(gc, i)));
            CHECK(m9 > 0 && mc > 0, "gradients reach f9 (%g) and conv1 (%g)", m9, mc);
            CHECK(bn && !bn->requires_grad && !bn->grad, "frozen BN gets no gradient");
        }
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
    }

    /* ---- PSA's frozen early layers: no gradient to conv1 / layer1, layer2 and the head still get one ---- */
    wsss_affnet_freeze_early_layers(&a);
    {
        wsss_params_zero_grad(&a.net.params, 1);
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){1, 3, 40, 72}, -1, 1, 11);
        wsss_ctx *ctx = wsss_ctx_new();
        CHECK(wsss_backward(ctx, wsss_sum_all(ctx, wsss_affnet_forward(ctx, &a, x, 1))) == WSSS_OK, "backward: %s",
              wsss_error_msg());
        const wsss_tensor *c1 = wsss_params_find(ps, "conv1.weight"), *l1 = wsss_params_find(ps, "layer1.1.conv2.weight");
        const wsss_tensor *l2 = wsss_params_find(ps, "layer2.0.conv1.weight"), *h = wsss_params_find(ps, "f8_3.weight");
        CHECK(!c1->requires_grad && !c1->grad && !l1->requires_grad && !l1->grad, "conv1 and layer1 frozen");
        CHECK(l2->requires_grad && l2->grad && max_abs(l2->grad) > 0 && h->grad && max_abs(h->grad) > 0,
              "layer2 and the head still train");
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
    }

    /* ---- model file ---- */
    const char *tmp = test_tmp_dir("test_affinity_net");
    const char *path = test_path(tmp, "aff.safetensors"), *plain = test_path(tmp, "plain.safetensors");
    CHECK(wsss_affnet_save(&a, "test labels", path) == WSSS_OK, "save: %s", wsss_error_msg());
    {
        wsss_affnet c;
        CHECK(wsss_affnet_open(&c, path) == WSSS_OK, "open: %s", wsss_error_msg());
        CHECK(strcmp(c.backbone, "resnet18") == 0, "backbone %s", c.backbone);
        wsss_tensor *x = rand_tensor(WSSS_F32, 4, (const int64_t[]){2, 3, 48, 80}, -1, 1, 13);
        wsss_ctx *ctx = test_ctx_no_grad();
        wsss_tensor *want = wsss_tensor_clone(wsss_affnet_forward(ctx, &a, x, 0));
        check_close("affinities after save/open", wsss_affnet_forward(ctx, &c, x, 0), want, 0, 0);
        wsss_tensor_free(want);
        wsss_ctx_free(ctx);
        wsss_tensor_free(x);
        wsss_affnet_free(&c);
        wsss_safetensors *st;
        CHECK(wsss_st_open(path, &st) == WSSS_OK, "reopen");
        CHECK(strcmp(wsss_st_meta(st, "wsss_model"), "affinity") == 0 && strcmp(wsss_st_meta(st, "arch"), "resnet18") == 0 &&
                  strcmp(wsss_st_meta(st, "labels"), "test labels") == 0,
              "metadata");
        wsss_st_close(st);

        CHECK(wsss_params_save_safetensors(&a.net.params, plain, 1) == WSSS_OK, "plain save");
        CHECK(wsss_affnet_open(&c, plain) == WSSS_ERR && strstr(wsss_error_msg(), "not a wsss affinity model") &&
                  strstr(wsss_error_msg(), "plain.safetensors"),
              "a plain state_dict refused: '%s'", wsss_error_msg());
        /* the same tensors labelled as another backbone: missing and misshapen tensors, the file named */
        const char *other = test_path(tmp, "other.safetensors");
        snprintf(a.backbone, sizeof a.backbone, "resnet34");
        CHECK(wsss_affnet_save(&a, NULL, other) == WSSS_OK, "save as resnet34");
        CHECK(wsss_affnet_open(&c, other) == WSSS_ERR && strstr(wsss_error_msg(), "other.safetensors") &&
                  strstr(wsss_error_msg(), "layer1.2.conv1.weight"),
              "a resnet18 file labelled resnet34 refused: '%s'", wsss_error_msg());
        snprintf(a.backbone, sizeof a.backbone, "resnet19");
        CHECK(wsss_affnet_save(&a, NULL, other) == WSSS_OK, "save as resnet19");
        CHECK(wsss_affnet_open(&c, other) == WSSS_ERR && strstr(wsss_error_msg(), "other.safetensors"),
              "an unknown backbone refused: '%s'", wsss_error_msg());
        snprintf(a.backbone, sizeof a.backbone, "resnet18");
    }
    wsss_affnet_free(&a);

    wsss_affnet b;
    CHECK(wsss_affnet_build(&b, "vgg16-deeplab", WSSS_F32) != WSSS_OK && strstr(wsss_error_msg(), "not a ResNet"),
          "vgg16-deeplab refused: %s", wsss_error_msg());
    CHECK(wsss_affnet_build(&b, "resnet18-os16", WSSS_F32) != WSSS_OK, "a suffixed name refused");
    CHECK(wsss_affnet_build(&b, "resnet19", WSSS_F32) != WSSS_OK, "resnet19 refused");
    return test_summary("test_affinity_net");
}
