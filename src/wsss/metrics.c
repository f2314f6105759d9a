/* Confusion matrices, IoU / mIoU, and the CAM background-threshold sweep (refinement.md §d). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/metrics.h"

/* ---------------------------------------------------------------- confusion matrix */

int wsss_confusion_init(wsss_confusion *c, int num_classes) {
    memset(c, 0, sizeof *c);
    if (num_classes < 1 || num_classes > 255)
        return wsss_error_set("number of classes %d out of range (expected 1..255, background included)", num_classes);
    c->num_classes = num_classes;
    c->m = wsss_xcalloc((size_t)num_classes * (size_t)(num_classes + 1), sizeof(int64_t));
    return WSSS_OK;
}

void wsss_confusion_free(wsss_confusion *c) {
    free(c->m);
    memset(c, 0, sizeof *c);
}

void wsss_confusion_reset(wsss_confusion *c) {
    memset(c->m, 0, (size_t)c->num_classes * (size_t)(c->num_classes + 1) * sizeof(int64_t));
    c->n_images = 0;
}

int wsss_confusion_add(wsss_confusion *c, const uint8_t *gt, const uint8_t *pred, int64_t n, const char *what) {
    const int k = c->num_classes;
    /* validate first so that a bad image adds nothing */
    for (int64_t i = 0; i < n; i++) {
        if (gt[i] >= k && gt[i] != 255)
            return wsss_error_set("%s%sground-truth value %d at pixel %lld is not a class (expected 0..%d or 255)",
                                  what ? what : "", what ? ": " : "", gt[i], (long long)i, k - 1);
        if (pred[i] >= k && pred[i] != 255)
            return wsss_error_set("%s%spredicted value %d at pixel %lld is not a class (expected 0..%d or 255)",
                                  what ? what : "", what ? ": " : "", pred[i], (long long)i, k - 1);
    }
    const int stride = k + 1;
    for (int64_t i = 0; i < n; i++) {
        if (gt[i] == 255) continue;
        int p = pred[i] == 255 ? k : pred[i];
        c->m[gt[i] * stride + p]++;
    }
    c->n_images++;
    return WSSS_OK;
}

int wsss_confusion_add_masks(wsss_confusion *c, const wsss_image *gt, const wsss_image *pred, const char *what) {
    if (gt->channels != 1 || pred->channels != 1)
        return wsss_error_set("%s%smasks must have one channel (got %d and %d)", what ? what : "", what ? ": " : "",
                              gt->channels, pred->channels);
    if (gt->width != pred->width || gt->height != pred->height)
        return wsss_error_set("%s%sprediction is %dx%d but the ground truth is %dx%d (expected the same size)",
                              what ? what : "", what ? ": " : "", pred->width, pred->height, gt->width, gt->height);
    return wsss_confusion_add(c, gt->data, pred->data, (int64_t)gt->width * gt->height, what);
}

int wsss_confusion_add_files(wsss_confusion *c, const char *gt_path, const char *pred_path) {
    wsss_image g = {0}, p = {0};
    int rc = wsss_image_read_mask(gt_path, &g);
    if (rc == WSSS_OK) rc = wsss_image_read_mask(pred_path, &p);
    if (rc == WSSS_OK) {
        if (g.width != p.width || g.height != p.height)
            rc = wsss_error_set("%s: prediction is %dx%d but the ground truth %s is %dx%d (expected the same size)",
                                pred_path, p.width, p.height, gt_path, g.width, g.height);
        else
            rc = wsss_confusion_add(c, g.data, p.data, (int64_t)g.width * g.height, NULL);
        if (rc != WSSS_OK && g.width == p.width && g.height == p.height)
            wsss_error_prefix("%s vs %s", pred_path, gt_path);
    }
    wsss_image_free(&g);
    wsss_image_free(&p);
    return rc;
}

void wsss_confusion_merge(wsss_confusion *dst, const wsss_confusion *src) {
    WSSS_ASSERT(dst->num_classes == src->num_classes, "confusion matrices of different class counts");
    size_t n = (size_t)dst->num_classes * (size_t)(dst->num_classes + 1);
    for (size_t i = 0; i < n; i++) dst->m[i] += src->m[i];
    dst->n_images += src->n_images;
}

/* ---------------------------------------------------------------- scores */

static double ratio(int64_t a, int64_t b) { return b > 0 ? (double)a / (double)b : NAN; }

void wsss_confusion_scores(const wsss_confusion *c, wsss_seg_scores *s) {
    const int k = c->num_classes, stride = k + 1;
    memset(s, 0, sizeof *s);
    s->num_classes = k;
    int64_t trace = 0;
    for (int g = 0; g < k; g++) {
        for (int p = 0; p <= k; p++) {
            int64_t v = c->m[g * stride + p];
            s->gt_pixels[g] += v;
            if (p < k) s->pred_pixels[p] += v;
            else s->ignored_pixels += v;
            s->valid_pixels += v;
        }
        trace += c->m[g * stride + g];
    }
    double iou_sum = 0, acc_sum = 0;
    int n_acc = 0;
    for (int i = 0; i < k; i++) {
        int64_t tp = c->m[i * stride + i];
        s->iou[i] = ratio(tp, s->gt_pixels[i] + s->pred_pixels[i] - tp);
        s->precision[i] = ratio(tp, s->pred_pixels[i]);
        s->recall[i] = ratio(tp, s->gt_pixels[i]);
        if (!isnan(s->iou[i])) {
            iou_sum += s->iou[i];
            s->n_valid_classes++;
        }
        if (!isnan(s->recall[i])) {
            acc_sum += s->recall[i];
            n_acc++;
        }
    }
    for (int i = k; i < 256; i++) s->iou[i] = s->precision[i] = s->recall[i] = NAN;
    s->miou = s->n_valid_classes ? iou_sum / s->n_valid_classes : NAN;
    s->mean_acc = n_acc ? acc_sum / n_acc : NAN;
    s->pixel_acc = ratio(trace, s->valid_pixels);
    s->frac_ignored = ratio(s->ignored_pixels, s->valid_pixels);
}

/* ---------------------------------------------------------------- CAM threshold sweep */

int wsss_cam_sweep_init(wsss_cam_sweep *s, int num_classes, int n_thresholds, int denom) {
    memset(s, 0, sizeof *s);
    if (num_classes < 1 || num_classes > 255)
        return wsss_error_set("number of classes %d out of range (expected 1..255, background included)", num_classes);
    if (n_thresholds < 1 || n_thresholds > 100000 || denom < 1)
        return wsss_error_set("threshold sweep of %d steps of 1/%d: expected at least one step and a positive divisor",
                              n_thresholds, denom);
    s->num_classes = num_classes;
    s->n_thresholds = n_thresholds;
    s->denom = denom;
    s->labelfree_j = -1;
    s->hist = wsss_xcalloc((size_t)num_classes * num_classes * (size_t)(n_thresholds + 1), sizeof(int64_t));
    return WSSS_OK;
}

void wsss_cam_sweep_free(wsss_cam_sweep *s) {
    free(s->hist);
    memset(s, 0, sizeof *s);
}

/* Number of thresholds j in [0, n) with j/denom < v, i.e. those at which the map beats background.
 * The estimate from v*denom is corrected with the exact comparisons the brute force makes. */
static int count_fg_thresholds(double v, int n, int denom) {
    if (!(v > 0)) return 0;
    if (v > (double)(n - 1) / denom) return n;
    int e = (int)ceil(v * denom);
    if (e > n) e = n;
    if (e < 0) e = 0;
    while (e > 0 && (double)(e - 1) / denom >= v) e--;
    while (e < n && (double)e / denom < v) e++;
    return e;
}

int wsss_cam_sweep_add(wsss_cam_sweep *s, const float *maps, int n_maps, const int *classes, const uint8_t *gt,
                       int64_t n, const char *what) {
    const int k = s->num_classes, nt = s->n_thresholds;
    const char *w = what ? what : "", *sep = what ? ": " : "";
    for (int m = 0; m < n_maps; m++)
        if (classes[m] < 1 || classes[m] >= k)
            return wsss_error_set("%s%smap %d has class %d (expected a foreground class 1..%d)", w, sep, m, classes[m],
                                  k - 1);
    for (int64_t i = 0; i < n; i++)
        if (gt[i] >= k && gt[i] != 255)
            return wsss_error_set("%s%sground-truth value %d at pixel %lld is not a class (expected 0..%d or 255)", w,
                                  sep, gt[i], (long long)i, k - 1);
    for (int64_t i = 0; i < (int64_t)n_maps * n; i++)
        if (isnan(maps[i]))
            return wsss_error_set("%s%smap %lld (class %d) is NaN at pixel %lld", w, sep, (long long)(i / n),
                                  classes[i / n], (long long)(i % n));
    const int64_t row = (int64_t)(nt + 1);
    for (int64_t i = 0; i < n; i++) {
        if (gt[i] == 255) continue;
        int best = 0, cnt = 0;
        if (n_maps > 0) {
            float bv = maps[i];
            int bm = 0;
            for (int m = 1; m < n_maps; m++) {
                float v = maps[(int64_t)m * n + i];
                if (v > bv) {
                    bv = v;
                    bm = m;
                }
            }
            best = classes[bm];
            cnt = count_fg_thresholds((double)bv, nt, s->denom);
        }
        s->hist[((int64_t)gt[i] * k + best) * row + cnt]++;
    }
    s->n_images++;
    return WSSS_OK;
}

void wsss_cam_sweep_merge(wsss_cam_sweep *dst, const wsss_cam_sweep *src) {
    WSSS_ASSERT(dst->num_classes == src->num_classes && dst->n_thresholds == src->n_thresholds &&
                    dst->denom == src->denom,
                "merging different threshold sweeps");
    size_t n = (size_t)dst->num_classes * dst->num_classes * (size_t)(dst->n_thresholds + 1);
    for (size_t i = 0; i < n; i++) dst->hist[i] += src->hist[i];
    dst->n_images += src->n_images;
}

void wsss_cam_sweep_confusion(const wsss_cam_sweep *s, int j, wsss_confusion *out) {
    WSSS_ASSERT(j >= 0 && j < s->n_thresholds, "threshold index out of range");
    const int k = s->num_classes, nt = s->n_thresholds;
    wsss_confusion_init(out, k);
    const int64_t row = nt + 1;
    for (int g = 0; g < k; g++)
        for (int c = 0; c < k; c++) {
            const int64_t *h = s->hist + ((int64_t)g * k + c) * row;
            int64_t fg = 0, bg = 0;
            /* the best class wins at threshold j iff j < cnt */
            for (int cnt = 0; cnt <= nt; cnt++) {
                if (j < cnt) fg += h[cnt];
                else bg += h[cnt];
            }
            out->m[g * (k + 1) + c] += fg;
            out->m[g * (k + 1) + 0] += bg;
        }
    out->n_images = s->n_images;
}

int wsss_cam_sweep_best_at_edge(const wsss_cam_sweep *s, int j) {
    return s->n_thresholds > 1 && (j == 0 || j == s->n_thresholds - 1);
}

int wsss_cam_sweep_best(const wsss_cam_sweep *s, double *miou) {
    int best = 0;
    double bv = -1;
    for (int j = 0; j < s->n_thresholds; j++) {
        wsss_confusion c;
        wsss_seg_scores sc;
        wsss_cam_sweep_confusion(s, j, &c);
        wsss_confusion_scores(&c, &sc);
        wsss_confusion_free(&c);
        if (miou) miou[j] = sc.miou;
        if (sc.miou > bv) {
            bv = sc.miou;
            best = j;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- printing */

static const char *cname(const char *const *names, int i, char *buf, size_t n) {
    if (names && names[i]) return names[i];
    snprintf(buf, n, "class %d", i);
    return buf;
}

static void pct(char *buf, size_t n, double v) {
    if (isnan(v)) snprintf(buf, n, "%s", "-");
    else snprintf(buf, n, "%.1f", 100.0 * v);
}

void wsss_seg_scores_print(FILE *out, const wsss_seg_scores *s, const char *const *class_names) {
    char b[32], a[16], p[16], r[16];
    fprintf(out, "%4s %-20s %7s %9s %7s %14s %14s\n", "id", "class", "IoU", "precision", "recall", "gt pixels",
            "pred pixels");
    for (int i = 0; i < s->num_classes; i++) {
        pct(a, sizeof a, s->iou[i]);
        pct(p, sizeof p, s->precision[i]);
        pct(r, sizeof r, s->recall[i]);
        fprintf(out, "%4d %-20s %7s %9s %7s %14lld %14lld\n", i, cname(class_names, i, b, sizeof b), a, p, r,
                (long long)s->gt_pixels[i], (long long)s->pred_pixels[i]);
    }
    pct(a, sizeof a, s->miou);
    fprintf(out, "mIoU %s (%d classes with pixels)\n", a, s->n_valid_classes);
    pct(a, sizeof a, s->pixel_acc);
    pct(p, sizeof p, s->mean_acc);
    fprintf(out, "pixel accuracy %s, mean class accuracy %s, %lld valid pixels\n", a, p, (long long)s->valid_pixels);
    if (s->ignored_pixels) {
        pct(a, sizeof a, s->frac_ignored);
        fprintf(out, "ignored (predicted 255) %s%% of valid pixels, counted as wrong\n", a);
    }
}

void wsss_confusion_print(FILE *out, const wsss_confusion *c, const char *const *class_names) {
    const int k = c->num_classes, stride = k + 1;
    int64_t ign = 0;
    for (int g = 0; g < k; g++) ign += c->m[g * stride + k];
    int cols = ign ? k + 1 : k;
    char b[32];
    fprintf(out, "confusion matrix, %% of each ground-truth row (rows: ground truth, columns: prediction)\n");
    fprintf(out, "%-14s", "");
    for (int p = 0; p < cols; p++) {
        if (p == k) fprintf(out, " %5s", "ign");
        else fprintf(out, " %5d", p);
    }
    fputc('\n', out);
    for (int g = 0; g < k; g++) {
        int64_t row = 0;
        for (int p = 0; p <= k; p++) row += c->m[g * stride + p];
        snprintf(b, sizeof b, "%2d ", g);
        char nm[32];
        fprintf(out, "%s%-11.11s", b, cname(class_names, g, nm, sizeof nm));
        for (int p = 0; p < cols; p++) {
            if (row == 0) fprintf(out, " %5s", "-");
            else fprintf(out, " %5.1f", 100.0 * (double)c->m[g * stride + p] / (double)row);
        }
        fputc('\n', out);
    }
}

void wsss_cam_sweep_print(FILE *out, const wsss_cam_sweep *s, const char *const *class_names) {
    double *miou = wsss_xmalloc(sizeof(double) * (size_t)s->n_thresholds);
    int best = wsss_cam_sweep_best(s, miou);
    char a[16];
    fprintf(out, "%9s %7s\n", "threshold", "mIoU");
    int step = s->denom / 20 > 0 ? s->denom / 20 : 1;
    for (int j = 0; j < s->n_thresholds; j++)
        if (j % step == 0 || j == best) {
            pct(a, sizeof a, miou[j]);
            fprintf(out, "%9.2f %7s%s\n", wsss_cam_sweep_threshold(s, j), a,
                    j != best                                ? ""
                    : wsss_cam_sweep_best_at_edge(s, best) ? "  <- best (at the end of the sweep: a lower bound)"
                                                             : "  <- best");
        }
    wsss_confusion c;
    wsss_seg_scores sc;
    wsss_cam_sweep_confusion(s, best, &c);
    wsss_confusion_scores(&c, &sc);
    fprintf(out, "per-class scores at the best threshold %.2f:\n", wsss_cam_sweep_threshold(s, best));
    wsss_seg_scores_print(out, &sc, class_names);
    wsss_confusion_free(&c);
    pct(a, sizeof a, miou[best]);
    fprintf(out, "best threshold %.2f mIoU %s (%lld images)\n", wsss_cam_sweep_threshold(s, best), a,
            (long long)s->n_images);
    free(miou);
}

/* ---------------------------------------------------------------- JSON */

static void kv_opt_string(wsss_jw *w, const char *key, const char *v) {
    wsss_jw_key(w, key);
    if (v) wsss_jw_string(w, v);
    else wsss_jw_null(w);
}

/* Everything but "kind" and the sweep-only keys. */
static void json_body(wsss_jw *w, const wsss_confusion *c, const char *const *names, const char *stage,
                      const char *split) {
    wsss_seg_scores s;
    wsss_confusion_scores(c, &s);
    const int k = c->num_classes;
    kv_opt_string(w, "stage", stage);
    kv_opt_string(w, "split", split);
    wsss_jw_kv_int(w, "num_images", c->n_images);
    wsss_jw_kv_int(w, "num_classes", k);
    wsss_jw_kv_double(w, "miou", s.miou);
    wsss_jw_kv_double(w, "pixel_acc", s.pixel_acc);
    wsss_jw_kv_double(w, "mean_acc", s.mean_acc);
    wsss_jw_kv_double(w, "frac_ignored", s.frac_ignored);
    wsss_jw_kv_int(w, "valid_pixels", s.valid_pixels);
    wsss_jw_key(w, "classes");
    wsss_jw_arr_begin(w);
    char b[32];
    for (int i = 0; i < k; i++) {
        wsss_jw_obj_begin(w);
        wsss_jw_kv_int(w, "index", i);
        wsss_jw_kv_string(w, "name", cname(names, i, b, sizeof b));
        wsss_jw_kv_double(w, "iou", s.iou[i]);
        wsss_jw_kv_double(w, "precision", s.precision[i]);
        wsss_jw_kv_double(w, "recall", s.recall[i]);
        wsss_jw_kv_int(w, "gt_pixels", s.gt_pixels[i]);
        wsss_jw_kv_int(w, "pred_pixels", s.pred_pixels[i]);
        wsss_jw_obj_end(w);
    }
    wsss_jw_arr_end(w);
    /* rows written compactly even in indented output: one matrix row per line */
    wsss_jw_key(w, "confusion");
    wsss_jw_arr_begin(w);
    for (int g = 0; g < k; g++) {
        int saved = w->indent;
        wsss_jw_arr_begin(w);
        w->indent = 0;
        for (int p = 0; p <= k; p++) wsss_jw_int(w, c->m[g * (k + 1) + p]);
        wsss_jw_arr_end(w);
        w->indent = saved;
    }
    wsss_jw_arr_end(w);
}

void wsss_metrics_json_segmentation(wsss_jw *w, const wsss_confusion *c, const char *const *class_names,
                                    const char *stage, const char *split) {
    wsss_jw_obj_begin(w);
    wsss_jw_kv_string(w, "kind", "segmentation");
    json_body(w, c, class_names, stage, split);
    wsss_jw_obj_end(w);
}

void wsss_metrics_json_cam_sweep(wsss_jw *w, const wsss_cam_sweep *s, const char *const *class_names,
                                 const char *stage, const char *split) {
    double *miou = wsss_xmalloc(sizeof(double) * (size_t)s->n_thresholds);
    int best = wsss_cam_sweep_best(s, miou);
    wsss_confusion c;
    wsss_cam_sweep_confusion(s, best, &c);
    wsss_jw_obj_begin(w);
    wsss_jw_kv_string(w, "kind", "cam_sweep");
    json_body(w, &c, class_names, stage, split);
    wsss_jw_kv_double(w, "best_threshold", wsss_cam_sweep_threshold(s, best));
    wsss_jw_kv_bool(w, "best_at_edge", wsss_cam_sweep_best_at_edge(s, best));
    int saved = w->indent;
    wsss_jw_key(w, "thresholds");
    wsss_jw_arr_begin(w);
    w->indent = 0;
    for (int j = 0; j < s->n_thresholds; j++) wsss_jw_double(w, wsss_cam_sweep_threshold(s, j));
    wsss_jw_arr_end(w);
    w->indent = saved;
    wsss_jw_key(w, "miou_per_threshold");
    wsss_jw_arr_begin(w);
    w->indent = 0;
    for (int j = 0; j < s->n_thresholds; j++) wsss_jw_double(w, miou[j]);
    wsss_jw_arr_end(w);
    w->indent = saved;
    /* fixed thresholds for cross-paper comparison (PSA 0.2, IRN 0.15, EADER 0.3), when in the sweep */
    static const struct {
        const char *key;
        int num, den;
    } fixed[] = {{"0.15", 15, 100}, {"0.2", 20, 100}, {"0.3", 30, 100}};
    wsss_jw_key(w, "fixed");
    wsss_jw_obj_begin(w);
    for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++) {
        /* j/denom == num/den exactly when j*den == num*denom */
        int64_t jn = (int64_t)fixed[f].num * s->denom;
        if (jn % fixed[f].den) continue;
        int64_t j = jn / fixed[f].den;
        if (j < s->n_thresholds) wsss_jw_kv_double(w, fixed[f].key, miou[j]);
    }
    wsss_jw_obj_end(w);
    wsss_jw_key(w, "labelfree");
    if (s->labelfree_j >= 0 && s->labelfree_j < s->n_thresholds) {
        wsss_jw_obj_begin(w);
        wsss_jw_kv_string(w, "rule", "otsu");
        wsss_jw_kv_double(w, "threshold", wsss_cam_sweep_threshold(s, s->labelfree_j));
        wsss_jw_kv_double(w, "miou", miou[s->labelfree_j]);
        wsss_jw_obj_end(w);
    } else {
        wsss_jw_null(w);
    }
    wsss_jw_obj_end(w);
    wsss_confusion_free(&c);
    free(miou);
}

int wsss_metrics_write_file(const char *path, const char *json_text) {
    size_t n = strlen(json_text);
    char *buf = wsss_xmalloc(n + 2);
    memcpy(buf, json_text, n);
    buf[n] = '\n';
    int rc = wsss_file_write_atomic(path, buf, n + 1);
    free(buf);
    return rc;
}
