/* Multi-scale + flip CAMs (cam.h) of a hand-built "model" equal maps computed by hand in this test:
 * PIL-bilinear rescaling (augment.h, itself checked against Pillow), ImageNet normalisation, the
 * model (a stride-2 subsampling 1x1 linear map with known weights), ReLU, bilinear upsampling with
 * half-pixel centres, flip back, sum, per-class max (or min-max) normalisation; only the labelled
 * classes get planes. Also: CAM file round trip and validation errors. */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "wsss/cam.h"
#include "wsss/ops.h"
#include "wsss/runtime.h"
#include "wsss/safetensors.h"

#define K 3
static const double k_w[K][3] = {{0.8, -0.3, 0.1}, {-0.5, 0.9, 0.4}, {0.2, 0.3, -0.7}};
static const double k_b[K] = {0.05, -0.1, 0.2};
static const double k_mean[3] = {0.485, 0.456, 0.406}, k_std[3] = {0.229, 0.224, 0.225};

/* The model: out[n,k,y,x] = b_k + sum_c w_kc * in[n,c,2y,2x], size ceil(h/2) x ceil(w/2). */
static wsss_tensor *toy_model(void *user, wsss_ctx *ctx, wsss_tensor *x) {
    int *calls = user;
    (*calls)++;
    const int64_t N = x->shape[0], h = x->shape[2], w = x->shape[3], oh = (h + 1) / 2, ow = (w + 1) / 2;
    wsss_tensor *o = wsss_ctx_tensor(ctx, WSSS_F32, 4, (int64_t[]){N, K, oh, ow});
    for (int64_t n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t xx = 0; xx < ow; xx++) {
                    double v = k_b[k];
                    for (int c = 0; c < 3; c++) v += k_w[k][c] * wsss_f32(x)[((n * 3 + c) * h + 2 * y) * w + 2 * xx];
                    wsss_f32(o)[((n * K + k) * oh + y) * ow + xx] = (float)v;
                }
    return o;
}

/* The recipe by hand, for classes cls[0..n-1]. */
static wsss_tensor *expected(const wsss_image *img, const double *scales, int ns, int flip, int n, const int *cls,
                             int minmax) {
    const int H = img->height, W = img->width;
    double *sum = calloc((size_t)n * H * W, sizeof(double));
    for (int si = 0; si < ns; si++) {
        int hs = (int)lround(H * scales[si]), ws = (int)lround(W * scales[si]);
        wsss_image sc;
        if (hs == H && ws == W) {
            wsss_image_alloc(&sc, W, H, 3);
            memcpy(sc.data, img->data, (size_t)W * H * 3);
        } else {
            wsss_image_resize_bilinear(img, 0, 0, W, H, ws, hs, 1, &sc);
        }
        for (int f = 0; f <= flip; f++) {
            const int oh = (hs + 1) / 2, ow = (ws + 1) / 2;
            double *cam = malloc(sizeof(double) * (size_t)oh * ow);
            for (int k = 0; k < n; k++) {
                const int kk = cls[k] - 1;
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++) {
                        int sx = 2 * x, sy = 2 * y;
                        if (f) sx = ws - 1 - sx; /* the model saw the mirrored image */
                        double v = k_b[kk];
                        for (int c = 0; c < 3; c++)
                            v += k_w[kk][c] * (float)(((float)sc.data[((size_t)sy * ws + sx) * 3 + c] / 255.0f -
                                                       (float)k_mean[c]) / (float)k_std[c]);
                        cam[y * ow + x] = v > 0 ? v : 0;
                    }
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        int xo = f ? W - 1 - x : x; /* flip back */
                        sum[((size_t)k * H + y) * W + xo] += test_bilinear_at(cam, oh, ow, H, W, y, x);
                    }
            }
            free(cam);
        }
        wsss_image_free(&sc);
    }
    wsss_tensor *t = wsss_tensor_new(WSSS_F32, 3, (int64_t[]){n, H, W});
    for (int k = 0; k < n; k++) {
        double mx = -1e300, mn = 1e300;
        for (int i = 0; i < H * W; i++) {
            double v = sum[(size_t)k * H * W + i];
            mx = v > mx ? v : mx;
            mn = v < mn ? v : mn;
        }
        for (int i = 0; i < H * W; i++) {
            double v = sum[(size_t)k * H * W + i];
            wsss_f32(t)[(size_t)k * H * W + i] = (float)(minmax ? (v - mn) / (mx - mn + 1e-5) : v / (mx + 1e-5));
        }
    }
    free(sum);
    return t;
}

int main(void) {
    wsss_runtime_init();
    const int H = 10, W = 13;
    wsss_image img;
    wsss_image_alloc(&img, W, H, 3);
    wsss_rng r;
    wsss_rng_seed(&r, 5);
    for (int i = 0; i < W * H * 3; i++) img.data[i] = (uint8_t)wsss_rng_below(&r, 256);
    wsss_ctx *ctx = wsss_ctx_new();
    const int cls[2] = {1, 3};
    int calls = 0;

    wsss_cam_opts o;
    wsss_cam_opts_default(&o);
    CHECK(o.n_scales == 4 && o.scales[0] == 1 && o.scales[1] == 0.5 && o.scales[2] == 1.5 && o.scales[3] == 2 &&
              o.flip == 1,
          "defaults are PSA's scales 1, 0.5, 1.5, 2 with flip");
    /* default: 4 scales x flip, max normalisation */
    wsss_tensor *got = NULL;
    CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &img, 2, cls, &got) == WSSS_OK, "compute: %s", wsss_error_msg());
    wsss_tensor *want = expected(&img, o.scales, 4, 1, 2, cls, 0);
    double e1 = check_close("multi-scale + flip, max norm", got, want, 1e-5, 1e-5);
    CHECK(calls == 4, "one forward per scale (image and mirror batched): %d", calls);
    for (int k = 0; k < 2; k++) {
        float mx = 0;
        for (int i = 0; i < H * W; i++) mx = fmaxf(mx, wsss_f32(got)[k * H * W + i]);
        CHECK(mx > 0.9999f && mx <= 1.0f, "plane %d max %g", k, mx);
    }
    wsss_tensor_free(got);
    wsss_tensor_free(want);

    /* other scales, no flip, min-max normalisation, a single class */
    CHECK(wsss_cam_parse_scales("1.25,0.7", &o) == WSSS_OK && o.n_scales == 2, "parse scales");
    o.flip = 0;
    o.norm = WSSS_CAM_NORM_MINMAX;
    const int one[1] = {2};
    CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &img, 1, one, &got) == WSSS_OK, "compute 2: %s",
          wsss_error_msg());
    want = expected(&img, o.scales, 2, 0, 1, one, 1);
    double e2 = check_close("scales 1.25/0.7, no flip, minmax", got, want, 1e-5, 1e-5);
    wsss_tensor_free(got);
    wsss_tensor_free(want);

    /* no labelled class: an empty [0, H, W] tensor, no forward */
    calls = 0;
    CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &img, 0, NULL, &got) == WSSS_OK && got->ndim == 3 &&
              got->shape[0] == 0 && got->shape[1] == H && got->shape[2] == W && calls == 0,
          "no classes -> empty maps");
    wsss_tensor_free(got);

    /* a class beyond the model's outputs is an error */
    const int bad[1] = {4};
    CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &img, 1, bad, &got) == WSSS_ERR && got == NULL &&
              strstr(wsss_error_msg(), "class 4"),
          "class outside the model: '%s'", wsss_error_msg());
    CHECK(wsss_cam_parse_scales("1,0", &o) == WSSS_ERR && wsss_cam_parse_scales("1;2", &o) == WSSS_ERR &&
              wsss_cam_parse_scales("", &o) == WSSS_ERR,
          "bad scale lists rejected");

    /* a batch of three images (one without classes) equals image-by-image computation */
    {
        wsss_image imgs[3];
        for (int b = 0; b < 3; b++) {
            wsss_image_alloc(&imgs[b], W, H, 3);
            for (int i = 0; i < W * H * 3; i++) imgs[b].data[i] = (uint8_t)wsss_rng_below(&r, 256);
        }
        const int c0[2] = {1, 2}, c2[3] = {1, 2, 3};
        const int nn[3] = {2, 0, 3};
        const int *cc[3] = {c0, NULL, c2};
        wsss_tensor *outs[3] = {NULL, NULL, NULL};
        wsss_cam_opts_default(&o);
        calls = 0;
        CHECK(wsss_cam_compute_batch(&o, toy_model, &calls, ctx, 3, imgs, nn, cc, outs) == WSSS_OK, "batch: %s",
              wsss_error_msg());
        CHECK(calls == 4, "batch: one forward per scale (%d)", calls);
        for (int b = 0; b < 3; b++) {
            wsss_tensor *one = NULL;
            CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &imgs[b], nn[b], cc[b], &one) == WSSS_OK, "single %d",
                  b);
            CHECK(outs[b] && outs[b]->shape[0] == nn[b], "batch output %d has %d planes", b, nn[b]);
            if (outs[b] && one) check_close("batch vs single", outs[b], one, 1e-6, 1e-6);
            if (one) wsss_tensor_free(one);
            if (outs[b]) wsss_tensor_free(outs[b]);
            wsss_image_free(&imgs[b]);
        }
    }

    /* files: round trip and validation */
    wsss_cam_opts_default(&o);
    CHECK(wsss_cam_compute(&o, toy_model, &calls, ctx, &img, 2, cls, &got) == WSSS_OK, "compute 3");
    char path[1200];
    snprintf(path, sizeof path, "%s/a.safetensors", test_tmp_dir("test_cam"));
    CHECK(wsss_cam_save(path, "a", K + 1, got, cls, &o) == WSSS_OK, "save: %s", wsss_error_msg());
    wsss_tensor *m2 = NULL;
    int *c2 = NULL, n2 = 0;
    CHECK(wsss_cam_load(path, K + 1, &m2, &c2, &n2) == WSSS_OK && n2 == 2 && c2[0] == 1 && c2[1] == 3,
          "load: %s", wsss_error_msg());
    if (m2) check_close("file round trip", m2, got, 0, 0);
    if (m2) wsss_tensor_free(m2);
    free(c2);
    CHECK(wsss_cam_load(path, 3, &m2, &c2, &n2) == WSSS_ERR && strstr(wsss_error_msg(), "classes[1] = 3"),
          "class id beyond the dataset: '%s'", wsss_error_msg());
    const int desc[2] = {3, 1};
    CHECK(wsss_cam_save(path, "a", K + 1, got, desc, &o) == WSSS_OK, "save desc");
    CHECK(wsss_cam_load(path, K + 1, &m2, &c2, &n2) == WSSS_ERR && m2 == NULL && c2 == NULL,
          "descending class ids rejected");
    wsss_f32(got)[5] = NAN;
    CHECK(wsss_cam_save(path, "a", K + 1, got, cls, &o) == WSSS_OK, "save nan");
    CHECK(wsss_cam_load(path, K + 1, &m2, &c2, &n2) == WSSS_ERR && strstr(wsss_error_msg(), "non-finite"),
          "NaN rejected: '%s'", wsss_error_msg());
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "cams", got);
    wsss_st_writer_save(w, path);
    wsss_st_writer_free(w);
    CHECK(wsss_cam_load(path, K + 1, &m2, &c2, &n2) == WSSS_ERR && strstr(wsss_error_msg(), "not a CAM file"),
          "missing classes tensor: '%s'", wsss_error_msg());
    snprintf(path, sizeof path, "%s/missing.safetensors", test_tmp_dir("test_cam"));
    CHECK(wsss_cam_load(path, K + 1, &m2, &c2, &n2) == WSSS_ERR && strstr(wsss_error_msg(), "missing.safetensors"),
          "missing file named: '%s'", wsss_error_msg());
    wsss_error_clear();
    wsss_tensor_free(got);

    printf("max abs error vs hand-computed maps: %.3g (4 scales + flip, max), %.3g (2 scales, minmax)\n", e1, e2);
    wsss_ctx_free(ctx);
    wsss_image_free(&img);
    return test_summary("test_cam");
}
