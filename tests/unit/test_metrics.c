/* Confusion matrix, IoU / nan-mean mIoU, the ignored column, and the CAM threshold sweep against a
 * brute-force evaluation per threshold. Expected numbers are derived by hand in the comments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/json.h"
#include "wsss/metrics.h"

static int close_to(double a, double b) { return fabs(a - b) < 1e-12; }

static void test_hand_computed(void) {
    /* 3 classes; the 255 pixel is skipped whatever is predicted there.
     * C = [[1,1,0],[0,2,0],[1,0,0]] (rows GT)
     * IoU0 = 1/(2+2-1) = 1/3, IoU1 = 2/(2+3-2) = 2/3, IoU2 = 0/(1+0-0) = 0, mIoU = 1/3
     * precision0 = 1/2, precision1 = 2/3, precision2 = NaN (never predicted); recall = 1/2, 1, 0
     * pixel accuracy 3/5 */
    const uint8_t gt[] = {0, 0, 1, 1, 2, 255};
    const uint8_t pr[] = {0, 1, 1, 1, 0, 2};
    wsss_confusion c;
    CHECK(wsss_confusion_init(&c, 3) == WSSS_OK, "init");
    CHECK(wsss_confusion_add(&c, gt, pr, 6, "img") == WSSS_OK, "%s", wsss_error_msg());
    const int64_t want[3][4] = {{1, 1, 0, 0}, {0, 2, 0, 0}, {1, 0, 0, 0}};
    int same = 1;
    for (int g = 0; g < 3; g++)
        for (int p = 0; p < 4; p++) same &= wsss_confusion_at(&c, g, p) == want[g][p];
    CHECK(same, "confusion matrix differs from the hand-computed one");
    wsss_seg_scores s;
    wsss_confusion_scores(&c, &s);
    CHECK(close_to(s.iou[0], 1.0 / 3) && close_to(s.iou[1], 2.0 / 3) && close_to(s.iou[2], 0), "iou %g %g %g",
          s.iou[0], s.iou[1], s.iou[2]);
    CHECK(close_to(s.miou, 1.0 / 3) && s.n_valid_classes == 3, "miou %g over %d", s.miou, s.n_valid_classes);
    CHECK(close_to(s.precision[0], 0.5) && close_to(s.precision[1], 2.0 / 3) && isnan(s.precision[2]),
          "precision %g %g %g", s.precision[0], s.precision[1], s.precision[2]);
    CHECK(close_to(s.recall[0], 0.5) && close_to(s.recall[1], 1) && close_to(s.recall[2], 0), "recall");
    CHECK(close_to(s.pixel_acc, 0.6) && s.valid_pixels == 5, "pixel acc %g valid %lld", s.pixel_acc,
          (long long)s.valid_pixels);
    CHECK(close_to(s.mean_acc, 0.5), "mean acc %g", s.mean_acc);
    CHECK(s.ignored_pixels == 0 && close_to(s.frac_ignored, 0), "no ignored pixels");

    /* dataset level, not a mean over images: a second image only of class 2, predicted right.
     * Now C2 row = [1,0,4]: IoU2 = 4/(5+4-4) = 0.8, mIoU = (1/3 + 2/3 + 0.8)/3 = 0.6 */
    const uint8_t g2[] = {2, 2, 2, 2}, p2[] = {2, 2, 2, 2};
    CHECK(wsss_confusion_add(&c, g2, p2, 4, NULL) == WSSS_OK, "second image");
    wsss_confusion_scores(&c, &s);
    CHECK(close_to(s.iou[2], 0.8) && close_to(s.miou, 0.6), "iou2 %g miou %g", s.iou[2], s.miou);
    CHECK(c.n_images == 2, "image count %lld", (long long)c.n_images);

    /* merge = adding the same images to one matrix */
    wsss_confusion d;
    wsss_confusion_init(&d, 3);
    wsss_confusion_add(&d, gt, pr, 6, NULL);
    wsss_confusion e;
    wsss_confusion_init(&e, 3);
    wsss_confusion_add(&e, g2, p2, 4, NULL);
    wsss_confusion_merge(&d, &e);
    CHECK(memcmp(d.m, c.m, sizeof(int64_t) * 12) == 0 && d.n_images == 2, "merge");
    wsss_confusion_reset(&d);
    wsss_confusion_scores(&d, &s);
    CHECK(isnan(s.miou) && s.n_valid_classes == 0 && d.n_images == 0, "empty matrix: mIoU NaN");
    wsss_confusion_free(&c);
    wsss_confusion_free(&d);
    wsss_confusion_free(&e);
}

static void test_absent_classes(void) {
    /* 5 classes; classes 3 and 4 appear nowhere (denominator 0 -> NaN, left out of the mean);
     * class 2 appears only as a wrong prediction (denominator 1 -> IoU 0, in the mean).
     * C = [[2,0,1],[0,1,0]]: IoU0 = 2/(3+2-2) = 2/3, IoU1 = 1, IoU2 = 0; mIoU = (2/3+1+0)/3 = 5/9 */
    const uint8_t gt[] = {0, 0, 0, 1};
    const uint8_t pr[] = {0, 0, 2, 1};
    wsss_confusion c;
    wsss_confusion_init(&c, 5);
    wsss_confusion_add(&c, gt, pr, 4, NULL);
    wsss_seg_scores s;
    wsss_confusion_scores(&c, &s);
    CHECK(isnan(s.iou[3]) && isnan(s.iou[4]) && close_to(s.iou[2], 0), "absent classes NaN, class 2 zero");
    CHECK(s.n_valid_classes == 3 && close_to(s.miou, 5.0 / 9), "nan-mean %g over %d", s.miou, s.n_valid_classes);

    /* JSON: NaN IoU written as null, the rest read back */
    wsss_jw w;
    wsss_jw_init(&w, 2);
    const char *names[] = {"background", "a", "b", "c", "d"};
    wsss_metrics_json_segmentation(&w, &c, names, "eval-seg", "val");
    wsss_json *j = wsss_json_parse(w.buf, w.len);
    CHECK(j != NULL, "metrics JSON parses: %s", wsss_error_msg());
    if (j) {
        CHECK(strcmp(wsss_json_get_string(j, "kind", ""), "segmentation") == 0, "kind");
        CHECK(strcmp(wsss_json_get_string(j, "stage", ""), "eval-seg") == 0, "stage");
        CHECK(close_to(wsss_json_get_double(j, "miou", -1), 5.0 / 9), "miou in JSON");
        CHECK(wsss_json_get_int64(j, "num_images", -1) == 1 && wsss_json_get_int64(j, "num_classes", -1) == 5, "counts");
        const wsss_json *cls = wsss_json_get(j, "classes");
        CHECK(wsss_json_len(cls) == 5, "5 classes");
        CHECK(wsss_json_is(wsss_json_get(wsss_json_at(cls, 3), "iou"), WSSS_JSON_NULL), "absent class iou null");
        CHECK(strcmp(wsss_json_get_string(wsss_json_at(cls, 4), "name", ""), "d") == 0, "class name");
        const wsss_json *conf = wsss_json_get(j, "confusion");
        CHECK(wsss_json_len(conf) == 5 && wsss_json_len(wsss_json_at(conf, 0)) == 6, "confusion 5x6");
        CHECK(wsss_json_get_int64(j, "valid_pixels", -1) == 4, "valid pixels");
        int64_t v = -1;
        wsss_json_as_int64(wsss_json_at(wsss_json_at(conf, 0), 2), &v);
        CHECK(v == 1, "C[0][2] = 1 in JSON, got %lld", (long long)v);
        wsss_json_free(j);
    }
    wsss_jw_free(&w);
    /* printing works (content checked by the CLI test) */
    FILE *f = tmpfile();
    wsss_seg_scores_print(f, &s, names);
    wsss_confusion_print(f, &c, NULL);
    fclose(f);
    wsss_confusion_free(&c);
}

static void test_ignored_column(void) {
    /* pseudo labels with 255: GT [1,1,1,0,0,255], pred [1,255,255,0,255,255]
     * C = [[1,0,ign 1],[0,1,ign 2]]; row sums include ign: row0 = 2, row1 = 3
     * IoU0 = 1/(2+1-1) = 1/2, IoU1 = 1/(3+1-1) = 1/3, mIoU = 5/12
     * ignored fraction = 3 of 5 GT-valid pixels; recall1 = 1/3; precision1 = 1 */
    const uint8_t gt[] = {1, 1, 1, 0, 0, 255};
    const uint8_t pr[] = {1, 255, 255, 0, 255, 255};
    wsss_confusion c;
    wsss_confusion_init(&c, 2);
    CHECK(wsss_confusion_add(&c, gt, pr, 6, NULL) == WSSS_OK, "add");
    CHECK(wsss_confusion_at(&c, 0, 2) == 1 && wsss_confusion_at(&c, 1, 2) == 2, "ignored column");
    wsss_seg_scores s;
    wsss_confusion_scores(&c, &s);
    CHECK(close_to(s.iou[0], 0.5) && close_to(s.iou[1], 1.0 / 3) && close_to(s.miou, 5.0 / 12), "iou %g %g miou %g",
          s.iou[0], s.iou[1], s.miou);
    CHECK(s.ignored_pixels == 3 && close_to(s.frac_ignored, 0.6), "frac ignored %g", s.frac_ignored);
    CHECK(close_to(s.recall[1], 1.0 / 3) && close_to(s.precision[1], 1), "recall/precision with ignored");
    CHECK(close_to(s.pixel_acc, 0.4), "pixel acc %g", s.pixel_acc);
    wsss_confusion_free(&c);
}

static void test_bad_input(void) {
    wsss_confusion c;
    CHECK(wsss_confusion_init(&c, 0) == WSSS_ERR, "0 classes rejected");
    CHECK(wsss_confusion_init(&c, 256) == WSSS_ERR, "256 classes rejected");
    wsss_confusion_init(&c, 3);
    const uint8_t gt[] = {0, 1, 3}, pr[] = {0, 1, 1};
    CHECK(wsss_confusion_add(&c, gt, pr, 3, "x.png") == WSSS_ERR, "GT value 3 rejected");
    CHECK(strstr(wsss_error_msg(), "x.png") && strstr(wsss_error_msg(), "value 3"), "message: %s", wsss_error_msg());
    const uint8_t gt2[] = {0, 1, 2}, pr2[] = {0, 9, 1};
    CHECK(wsss_confusion_add(&c, gt2, pr2, 3, NULL) == WSSS_ERR, "prediction 9 rejected");
    wsss_seg_scores s;
    wsss_confusion_scores(&c, &s);
    CHECK(s.valid_pixels == 0 && c.n_images == 0, "nothing added by rejected images");
    wsss_image a, b;
    wsss_image_alloc(&a, 4, 3, 1);
    wsss_image_alloc(&b, 3, 4, 1);
    CHECK(wsss_confusion_add_masks(&c, &a, &b, "id7") == WSSS_ERR && strstr(wsss_error_msg(), "same size"),
          "size mismatch: %s", wsss_error_msg());
    wsss_image_free(&a);
    wsss_image_free(&b);
    wsss_confusion_free(&c);

    wsss_cam_sweep sw;
    CHECK(wsss_cam_sweep_init(&sw, 3, 0, 100) == WSSS_ERR, "0 thresholds rejected");
    wsss_cam_sweep_init(&sw, 3, 60, 100);
    float maps[2] = {0.5f, NAN};
    int cls[1] = {1}, bad_cls[1] = {3};
    uint8_t g[2] = {1, 0};
    CHECK(wsss_cam_sweep_add(&sw, maps, 1, cls, g, 2, "im") == WSSS_ERR && strstr(wsss_error_msg(), "NaN"),
          "NaN map rejected: %s", wsss_error_msg());
    maps[1] = 0.2f;
    CHECK(wsss_cam_sweep_add(&sw, maps, 1, bad_cls, g, 2, "im") == WSSS_ERR, "class 3 of 3 rejected");
    g[0] = 7;
    CHECK(wsss_cam_sweep_add(&sw, maps, 1, cls, g, 2, "im") == WSSS_ERR, "GT 7 rejected");
    CHECK(sw.n_images == 0, "nothing added");
    wsss_cam_sweep_free(&sw);
}

/* ---- threshold sweep vs brute force ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Brute force for one threshold: stack [t; maps] in double, argmax (first maximum wins). */
static void brute_add(int64_t *m, int k, double t, const float *maps, int n_maps, const int *classes,
                      const uint8_t *gt, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (gt[i] == 255) continue;
        double best = t;
        int arg = 0;
        for (int c = 0; c < n_maps; c++) {
            double v = (double)maps[(int64_t)c * n + i];
            if (v > best) {
                best = v;
                arg = classes[c];
            }
        }
        m[gt[i] * (k + 1) + arg]++;
    }
}

static void sweep_vs_brute(int k, int nt, int denom, int n_images) {
    wsss_cam_sweep sw;
    CHECK(wsss_cam_sweep_init(&sw, k, nt, denom) == WSSS_OK, "init");
    int64_t *brute = calloc((size_t)nt * k * (k + 1), sizeof(int64_t));
    for (int im = 0; im < n_images; im++) {
        int w = 3 + (int)(rnd() % 20), h = 2 + (int)(rnd() % 17);
        int64_t n = (int64_t)w * h;
        /* GT classes: a random subset (possibly empty) of 1..k-1, ascending */
        int classes[64], n_maps = 0;
        for (int c = 1; c < k; c++)
            if (rnd() % 3 == 0) classes[n_maps++] = c;
        uint8_t *gt = malloc((size_t)n);
        float *maps = malloc(sizeof(float) * (size_t)(n_maps ? n_maps : 1) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            uint32_t r = rnd() % 10;
            gt[i] = r == 0 ? 255 : r < 4 || n_maps == 0 ? 0 : (uint8_t)classes[rnd() % n_maps];
            if (rnd() % 15 == 0) gt[i] = (uint8_t)(rnd() % k); /* GT classes outside the image's labels too */
        }
        for (int64_t i = 0; i < (int64_t)n_maps * n; i++) {
            uint32_t r = rnd() % 8;
            float v;
            if (r == 0) v = (float)((double)(rnd() % (nt + 5)) / denom); /* at (the float nearest) a threshold */
            else if (r == 1) v = (float)(rnd() % 3) * 0.5f;              /* 0, 0.5, 1: ties between maps */
            else if (r == 2) v = -0.25f + (float)(rnd() % 2) * 2.0f;     /* outside [0,1] */
            else if (r == 3) v = nextafterf((float)((double)(rnd() % nt) / denom), (rnd() & 1) ? 2.0f : -1.0f);
            else v = (float)(rnd() % 1000000) / 1e6f;
            maps[i] = v;
        }
        CHECK(wsss_cam_sweep_add(&sw, maps, n_maps, classes, gt, n, NULL) == WSSS_OK, "%s", wsss_error_msg());
        for (int j = 0; j < nt; j++)
            brute_add(brute + (int64_t)j * k * (k + 1), k, (double)j / denom, maps, n_maps, classes, gt, n);
        free(gt);
        free(maps);
    }
    int bad = -1;
    double want_miou[200], got_miou[200];
    for (int j = 0; j < nt; j++) {
        wsss_confusion c;
        wsss_cam_sweep_confusion(&sw, j, &c);
        if (memcmp(c.m, brute + (int64_t)j * k * (k + 1), sizeof(int64_t) * k * (k + 1)) != 0 && bad < 0) bad = j;
        wsss_confusion b = {k, brute + (int64_t)j * k * (k + 1), 0};
        wsss_seg_scores s;
        wsss_confusion_scores(&b, &s);
        want_miou[j] = s.miou;
        wsss_confusion_free(&c);
    }
    CHECK(bad < 0, "k=%d nt=%d: the sweep's confusion matrix differs from brute force at threshold %d", k, nt, bad);
    int best = wsss_cam_sweep_best(&sw, got_miou);
    int want_best = 0;
    for (int j = 1; j < nt; j++)
        if (want_miou[j] > want_miou[want_best]) want_best = j;
    CHECK(best == want_best, "best threshold %d, brute force %d", best, want_best);
    int same = 1;
    for (int j = 0; j < nt; j++) same &= got_miou[j] == want_miou[j];
    CHECK(same, "mIoU per threshold equals brute force");
    printf("sweep k=%d thresholds=%d/%d images=%d: best t=%.2f mIoU %.4f, %d of %d confusion matrices equal brute force\n",
           k, nt, denom, n_images, wsss_cam_sweep_threshold(&sw, best), got_miou[best], bad < 0 ? nt : bad, nt);

    /* merging two halves = one accumulator */
    wsss_cam_sweep a;
    wsss_cam_sweep_init(&a, k, nt, denom);
    wsss_cam_sweep_merge(&a, &sw);
    wsss_cam_sweep_merge(&a, &sw);
    int dbl = 1;
    for (size_t i = 0; i < (size_t)k * k * (nt + 1); i++) dbl &= a.hist[i] == 2 * sw.hist[i];
    CHECK(dbl && a.n_images == 2 * sw.n_images, "merge adds histograms");
    wsss_cam_sweep_free(&a);

    if (nt == 60 && denom == 100) {
        wsss_jw w;
        wsss_jw_init(&w, 2);
        wsss_metrics_json_cam_sweep(&w, &sw, NULL, "cam", "train");
        wsss_json *j = wsss_json_parse(w.buf, w.len);
        CHECK(j != NULL, "sweep JSON parses: %s", wsss_error_msg());
        CHECK(strcmp(wsss_json_get_string(j, "kind", ""), "cam_sweep") == 0, "kind");
        CHECK(close_to(wsss_json_get_double(j, "best_threshold", -1), (double)best / 100), "best threshold");
        CHECK(wsss_json_get_double(j, "miou", -1) == got_miou[best], "miou = best");
        CHECK(wsss_json_len(wsss_json_get(j, "thresholds")) == 60 &&
                  wsss_json_len(wsss_json_get(j, "miou_per_threshold")) == 60,
              "60 thresholds");
        const wsss_json *fx = wsss_json_get(j, "fixed");
        CHECK(wsss_json_get_double(fx, "0.15", -1) == got_miou[15] && wsss_json_get_double(fx, "0.2", -1) == got_miou[20] &&
                  wsss_json_get_double(fx, "0.3", -1) == got_miou[30],
              "fixed thresholds");
        wsss_json_free(j);
        wsss_jw_free(&w);
        FILE *f = tmpfile();
        wsss_cam_sweep_print(f, &sw, NULL);
        fclose(f);
    }
    free(brute);
    wsss_cam_sweep_free(&sw);
}

static void test_sweep_hand(void) {
    /* one image: two class-1 pixels with map values 0.5 and 0.25, one background pixel at 0.375
     * (all exact in binary, so t = 0.25 and t = 0.50 are exact ties, which background wins).
     * j <= 24 (t < 0.25): all three predicted 1: C = [[0,1],[0,2]]: IoU0 0, IoU1 2/3 -> mIoU 1/3
     * 25 <= j <= 37: the 0.25 pixel -> bg: C = [[0,1],[1,1]]: IoU0 0, IoU1 1/3 -> 1/6
     * 38 <= j <= 49: the bg pixel -> bg: C = [[1,0],[1,1]]: IoU0 1/2, IoU1 1/2 -> 1/2
     * j >= 50: all bg: C = [[1,0],[2,0]]: IoU0 1/3, IoU1 0 -> 1/6. Best: j = 38 (first maximum). */
    wsss_cam_sweep sw;
    wsss_cam_sweep_init(&sw, 2, 60, 100);
    const float maps[3] = {0.5f, 0.25f, 0.375f};
    const int cls[1] = {1};
    const uint8_t gt[3] = {1, 1, 0};
    wsss_cam_sweep_add(&sw, maps, 1, cls, gt, 3, NULL);
    double miou[60];
    int best = wsss_cam_sweep_best(&sw, miou);
    CHECK(close_to(miou[0], 1.0 / 3) && close_to(miou[24], 1.0 / 3), "t < 0.25: %g %g", miou[0], miou[24]);
    CHECK(close_to(miou[25], 1.0 / 6) && close_to(miou[37], 1.0 / 6), "0.25 <= t < 0.38: %g %g", miou[25], miou[37]);
    CHECK(close_to(miou[38], 0.5) && close_to(miou[49], 0.5), "0.38 <= t < 0.5: %g %g", miou[38], miou[49]);
    CHECK(close_to(miou[50], 1.0 / 6) && close_to(miou[59], 1.0 / 6), "t >= 0.5: %g %g", miou[50], miou[59]);
    CHECK(best == 38, "best index %d", best);
    CHECK(!wsss_cam_sweep_best_at_edge(&sw, best), "j = 38 of 60 is inside the sweep");
    CHECK(wsss_cam_sweep_best_at_edge(&sw, 0) && wsss_cam_sweep_best_at_edge(&sw, 59), "j = 0 and 59 are its ends");
    wsss_cam_sweep_free(&sw);
    /* the same image swept only over t = 0.00..0.30: the best (t < 0.25, mIoU 1/3) is the first, an edge,
     * and the JSON says so */
    wsss_cam_sweep_init(&sw, 2, 31, 100);
    wsss_cam_sweep_add(&sw, maps, 1, cls, gt, 3, NULL);
    best = wsss_cam_sweep_best(&sw, NULL);
    CHECK(best == 0 && wsss_cam_sweep_best_at_edge(&sw, best), "best %d at the low end", best);
    wsss_jw jw;
    wsss_jw_init(&jw, 0);
    wsss_metrics_json_cam_sweep(&jw, &sw, NULL, "cam", "train");
    wsss_json *js = wsss_json_parse(jw.buf, jw.len);
    const wsss_json *edge = js ? wsss_json_get(js, "best_at_edge") : NULL;
    CHECK(edge && edge->type == WSSS_JSON_BOOL && edge->boolean, "JSON best_at_edge true: %s", jw.buf);
    wsss_json_free(js);
    wsss_jw_free(&jw);
    wsss_cam_sweep_free(&sw);

    /* float map values compare as their exact value: 0.3f = 0.30000001 > 0.3, so it still beats t = 0.30 */
    wsss_cam_sweep_init(&sw, 2, 60, 100);
    const float m3[1] = {0.3f};
    const uint8_t g3[1] = {1};
    wsss_cam_sweep_add(&sw, m3, 1, cls, g3, 1, NULL);
    wsss_confusion c30, c31;
    wsss_cam_sweep_confusion(&sw, 30, &c30);
    wsss_cam_sweep_confusion(&sw, 31, &c31);
    CHECK(wsss_confusion_at(&c30, 1, 1) == 1 && wsss_confusion_at(&c31, 1, 0) == 1, "0.3f vs t = 0.30 and 0.31");
    wsss_confusion_free(&c30);
    wsss_confusion_free(&c31);
    wsss_cam_sweep_free(&sw);

    /* no GT class maps: everything background for every t */
    wsss_cam_sweep_init(&sw, 3, 60, 100);
    const uint8_t g2[4] = {0, 0, 2, 255};
    CHECK(wsss_cam_sweep_add(&sw, NULL, 0, NULL, g2, 4, NULL) == WSSS_OK, "no maps");
    wsss_confusion c;
    wsss_cam_sweep_confusion(&sw, 0, &c);
    CHECK(wsss_confusion_at(&c, 0, 0) == 2 && wsss_confusion_at(&c, 2, 0) == 1, "all background");
    wsss_confusion_free(&c);
    wsss_cam_sweep_free(&sw);
}

int main(void) {
    test_hand_computed();
    test_absent_classes();
    test_ignored_column();
    test_bad_input();
    test_sweep_hand();
    sweep_vs_brute(3, 60, 100, 40);
    sweep_vs_brute(21, 60, 100, 60);
    sweep_vs_brute(5, 11, 10, 30);
    return test_summary("test_metrics");
}
