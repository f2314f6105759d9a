/* Run log writer/reader, progress bar, overlays, base64 and the HTML report of a synthetic run
 * directory (tables, SVG curves, inlined images, "not run" pieces, balanced tags). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_util.h"
#include "wsss/fs.h"
#include "wsss/metrics.h"
#include "wsss/overlay.h"
#include "wsss/progress.h"
#include "wsss/report.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"

static int count(const char *hay, const char *needle) {
    int k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) k++;
    return k;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* ---------------------------------------------------------------- base64 */

static void test_base64(void) {
    /* RFC 4648 §10 test vectors */
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = wsss_base64((const uint8_t *)in[i], strlen(in[i]));
        CHECK(strcmp(b, want[i]) == 0, "base64(\"%s\") = %s, want %s", in[i], b, want[i]);
        free(b);
    }
    const uint8_t hi[3] = {0xff, 0xfe, 0x00};
    char *b = wsss_base64(hi, 3);
    CHECK(strcmp(b, "//4A") == 0, "base64 of ff fe 00 = %s", b);
    free(b);
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Independent decoder for checking inlined images. */
static uint8_t *b64decode(const char *s, size_t len, size_t *out_n) {
    uint8_t *o = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    for (size_t i = 0; i + 4 <= len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) v[k] = s[i + k] == '=' ? 0 : b64val(s[i + k]);
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        o[n++] = (uint8_t)(x >> 16);
        if (s[i + 2] != '=') o[n++] = (uint8_t)(x >> 8);
        if (s[i + 3] != '=') o[n++] = (uint8_t)x;
    }
    *out_n = n;
    return o;
}

/* ---------------------------------------------------------------- runlog */

static void test_runlog(const char *tmp) {
    char path[512];
    snprintf(path, sizeof path, "%s/rl/logs/train-x.jsonl", tmp);
    remove(path);
    wsss_runlog *log;
    CHECK(wsss_runlog_open(path, "train-x", &log) == WSSS_OK, "open (creates parents): %s", wsss_error_msg());
    CHECK(wsss_runlog_event(log, "start") == WSSS_OK, "event");
    for (int s = 1; s <= 3; s++) CHECK(wsss_runlog_step(log, s, 0, 1.0 / s, 0.01 * s, 100.0 + s) == WSSS_OK, "step");
    wsss_runlog_begin(log);
    wsss_runlog_kv_int(log, "step", 4);
    wsss_runlog_kv_double(log, "loss_aux", 0.5);
    wsss_runlog_kv_double(log, "loss", NAN); /* written as null */
    wsss_runlog_kv_string(log, "note", "x\"y");
    CHECK(wsss_runlog_end(log) == WSSS_OK, "end");
    wsss_runlog_close(log);
    /* the file is flushed per line: read while it is closed; appending a torn line simulates a crash */
    FILE *f = fopen(path, "a");
    fputs("{\"stage\":\"train-x\",\"step\":5,\"lo", f);
    fclose(f);
    CHECK(wsss_runlog_open(path, "train-x", &log) == WSSS_OK, "reopen appends");
    wsss_runlog_close(log);

    wsss_runlog_data d;
    CHECK(wsss_runlog_read(path, &d) == WSSS_OK, "read: %s", wsss_error_msg());
    CHECK(d.n_records == 5 && d.n_bad_lines == 1, "5 records and 1 torn line, got %lld and %lld",
          (long long)d.n_records, (long long)d.n_bad_lines);
    CHECK(d.stage && strcmp(d.stage, "train-x") == 0, "stage");
    int fs = wsss_runlog_field(&d, "step"), fl = wsss_runlog_field(&d, "loss"), fa = wsss_runlog_field(&d, "loss_aux");
    int flr = wsss_runlog_field(&d, "lr"), ft = wsss_runlog_field(&d, "time"), fu = wsss_runlog_field(&d, "unix");
    CHECK(fs >= 0 && fl >= 0 && fa >= 0 && flr >= 0 && ft >= 0 && fu >= 0, "fields present");
    CHECK(wsss_runlog_field(&d, "note") < 0 && wsss_runlog_field(&d, "event") < 0, "strings are not numeric fields");
    if (fs >= 0 && fl >= 0 && fa >= 0 && flr >= 0) {
        CHECK(isnan(wsss_runlog_value(&d, 0, fs)), "start event has no step");
        CHECK(wsss_runlog_value(&d, 2, fs) == 2 && wsss_runlog_value(&d, 2, fl) == 0.5 &&
                  fabs(wsss_runlog_value(&d, 2, flr) - 0.02) < 1e-15,
              "record 2: step 2, loss 0.5, lr 0.02");
        CHECK(isnan(wsss_runlog_value(&d, 4, fl)) && wsss_runlog_value(&d, 4, fa) == 0.5 &&
                  isnan(wsss_runlog_value(&d, 1, fa)),
              "null and missing values are NaN; a late column is NaN in earlier records");
        CHECK(wsss_runlog_value(&d, 3, wsss_runlog_field(&d, "images_per_s")) == 103, "images_per_s");
        CHECK(wsss_runlog_value(&d, 1, fu) > 1.6e9, "unix time");
    }
    wsss_runlog_data_free(&d);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/rl/none.jsonl", tmp);
    CHECK(wsss_runlog_read(missing, &d) == WSSS_ERR, "missing log is an error");

    /* many fields appearing one by one (column re-layout) */
    snprintf(path, sizeof path, "%s/rl/wide.jsonl", tmp);
    f = fopen(path, "w");
    for (int r = 0; r < 100; r++) {
        fprintf(f, "{\"f%d\": %d, \"step\": %d}\n", r % 37, r, r);
    }
    fclose(f);
    CHECK(wsss_runlog_read(path, &d) == WSSS_OK && d.n_records == 100 && d.n_fields == 38, "wide log: %lld x %d",
          (long long)d.n_records, d.n_fields);
    int ok = 1;
    for (int r = 0; r < 100; r++) {
        char nm[16];
        snprintf(nm, sizeof nm, "f%d", r % 37);
        int fi = wsss_runlog_field(&d, nm);
        ok &= wsss_runlog_value(&d, r, fi) == r && wsss_runlog_value(&d, r, wsss_runlog_field(&d, "step")) == r;
        for (int j = 0; j < d.n_fields; j++)
            if (j != fi && strcmp(d.fields[j], "step") != 0) ok &= isnan(wsss_runlog_value(&d, r, j));
    }
    CHECK(ok, "wide log values in place");
    wsss_runlog_data_free(&d);
}

static void test_progress(void) {
    FILE *f = tmpfile();
    wsss_progress p;
    wsss_progress_start_ex(&p, "stage-x", 3, f, 0, 0.0);
    int enabled = p.enabled;
    for (int i = 0; i < 3; i++) wsss_progress_add(&p, 1);
    wsss_progress_finish(&p);
    long n = ftell(f);
    rewind(f);
    char buf[2048] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (enabled) {
        CHECK(got == (size_t)n && count(buf, "\n") == 4, "3 updates + final line, got:\n%s", buf);
        CHECK(strstr(buf, "stage-x  33% 1/3") && strstr(buf, "eta") && strstr(buf, "3/3") && strstr(buf, "done"),
              "plain lines with counts, eta and done:\n%s", buf);
        CHECK(!strchr(buf, '\r'), "no carriage returns when not a terminal");
    }
    /* terminal mode: redraws in place, one newline at the end; long interval suppresses updates */
    f = tmpfile();
    wsss_progress_start_ex(&p, "tty", 100, f, 1, 1000.0);
    for (int i = 0; i < 100; i++) wsss_progress_add(&p, 1);
    wsss_progress_finish(&p);
    rewind(f);
    memset(buf, 0, sizeof buf);
    fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (enabled) {
        CHECK(count(buf, "\r") == 1 && count(buf, "\n") == 1 && strstr(buf, "[##############################] 100%"),
              "tty: one final redraw:\n%s", buf);
    }
    /* many threads adding at once: the total is exact */
    f = fopen("/dev/null", "w");
    wsss_progress_start_ex(&p, "mt", 10000, f, 1, 0.0);
#pragma omp parallel for
    for (int i = 0; i < 10000; i++) wsss_progress_add(&p, 1);
    wsss_progress_finish(&p);
    fclose(f);
    CHECK(atomic_load(&p.done) == 10000, "threaded count %lld", (long long)atomic_load(&p.done));
}

/* ---------------------------------------------------------------- overlays */

static void test_overlay(void) {
    uint8_t c[3];
    /* jet by hand: v=0 -> (0,0,0.5), v=0.5 -> (0.5,1,0.5), v=1 -> (0.5,0,0), v=0.25 -> (0,0.5,1) */
    wsss_heatmap_color(0, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 128, "jet(0) = %d %d %d", c[0], c[1], c[2]);
    wsss_heatmap_color(0.5f, c);
    CHECK(c[0] == 128 && c[1] == 255 && c[2] == 128, "jet(0.5) = %d %d %d", c[0], c[1], c[2]);
    wsss_heatmap_color(1, c);
    CHECK(c[0] == 128 && c[1] == 0 && c[2] == 0, "jet(1) = %d %d %d", c[0], c[1], c[2]);
    wsss_heatmap_color(0.25f, c);
    CHECK(c[0] == 0 && c[1] == 128 && c[2] == 255, "jet(0.25) = %d %d %d", c[0], c[1], c[2]);
    wsss_heatmap_color(NAN, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 128, "jet(NaN) = jet(0)");
    wsss_heatmap_color(7, c);
    CHECK(c[0] == 128 && c[1] == 0 && c[2] == 0, "jet clamps above 1");

    wsss_image img, out;
    wsss_image_alloc(&img, 2, 1, 3);
    memset(img.data, 100, 6);
    img.data[3] = 0, img.data[4] = 50, img.data[5] = 200;
    const float map[2] = {0.5f, 1.0f};
    CHECK(wsss_overlay_heatmap(&img, map, 2, 1, 0.5f, &out) == WSSS_OK, "heat overlay");
    /* pixel 0: 0.5*100 + 0.5*(128,255,128) = (114, 177.5 -> 178 (half to even), 114)
     * pixel 1: 0.5*(0,50,200) + 0.5*(128,0,0) = (64, 25, 100) */
    CHECK(out.data[0] == 114 && out.data[1] == 178 && out.data[2] == 114, "blend 0: %d %d %d", out.data[0], out.data[1],
          out.data[2]);
    CHECK(out.data[3] == 64 && out.data[4] == 25 && out.data[5] == 100, "blend 1: %d %d %d", out.data[3], out.data[4],
          out.data[5]);
    wsss_image_free(&out);
    CHECK(wsss_overlay_heatmap(&img, map, 1, 2, 0.5f, &out) == WSSS_ERR && strstr(wsss_error_msg(), "same size"),
          "map size mismatch: %s", wsss_error_msg());

    wsss_image m;
    wsss_image_alloc(&m, 2, 1, 1);
    m.data[0] = 0, m.data[1] = 1;
    CHECK(wsss_overlay_mask(&img, &m, 0.5f, 1, &out) == WSSS_OK, "mask overlay");
    /* background kept; class 1 (VOC 128,0,0): (0+128)/2, (50+0)/2, (200+0)/2 = 64, 25, 100 */
    CHECK(out.data[0] == 100 && out.data[1] == 100 && out.data[2] == 100, "background untouched");
    CHECK(out.data[3] == 64 && out.data[4] == 25 && out.data[5] == 100, "class 1 blended: %d %d %d", out.data[3],
          out.data[4], out.data[5]);
    wsss_image_free(&out);
    m.data[0] = 255;
    CHECK(wsss_mask_to_rgb(&m, &out) == WSSS_OK, "mask to rgb");
    uint8_t v[3];
    wsss_voc_color(255, v);
    CHECK(memcmp(out.data, v, 3) == 0 && out.data[3] == 128 && out.data[4] == 0 && out.data[5] == 0, "palette colours");
    wsss_image_free(&out);
    CHECK(wsss_overlay_mask(&m, &m, 0.5f, 0, &out) == WSSS_ERR, "mask overlay needs an RGB image");
    wsss_image_free(&m);
    wsss_image_free(&img);
}

/* ---------------------------------------------------------------- HTML structure */

/* Tags must nest and close properly; void HTML elements and self-closed SVG elements excepted. */
static int tags_balanced(const char *html, char *why, size_t why_n) {
    static const char *const voids[] = {"meta", "img", "br", "hr", "link", "input"};
    char stack[256][16];
    int sp = 0;
    const char *p = html;
    while ((p = strchr(p, '<'))) {
        if (p[1] == '!') { /* doctype */
            p++;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        char name[16];
        int k = 0;
        while ((n[k] >= 'a' && n[k] <= 'z') || (n[k] >= '0' && n[k] <= '9')) {
            if (k < 15) name[k] = n[k];
            k++;
        }
        name[k < 15 ? k : 15] = 0;
        const char *gt = strchr(n, '>');
        if (!k || !gt) {
            snprintf(why, why_n, "bad tag near: %.40s", p);
            return 0;
        }
        if (strchr(n, '<') && strchr(n, '<') < gt) {
            snprintf(why, why_n, "'<' inside a tag near: %.40s", p);
            return 0;
        }
        int self = gt[-1] == '/';
        int is_void = 0;
        for (size_t i = 0; i < sizeof voids / sizeof voids[0]; i++) is_void |= strcmp(name, voids[i]) == 0;
        if (closing) {
            if (sp == 0 || strcmp(stack[sp - 1], name) != 0) {
                snprintf(why, why_n, "</%s> closes <%s>", name, sp ? stack[sp - 1] : "(nothing)");
                return 0;
            }
            sp--;
        } else if (!self && !is_void) {
            if (sp == 256) {
                snprintf(why, why_n, "nesting too deep");
                return 0;
            }
            snprintf(stack[sp++], 16, "%s", name);
        }
        p = gt;
    }
    if (sp) {
        snprintf(why, why_n, "<%s> never closed", stack[sp - 1]);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- synthetic run */

static const char *const k_names[4] = {"background", "cat", "dog", "bird"};

static void make_run(const char *run, double *miou_eval, double *miou_sweep, double *best_t) {
    char path[600];
    /* logs: a classifier run with two loss terms and a poly lr, a segmentation run */
    wsss_runlog *log;
    snprintf(path, sizeof path, "%s/logs/train-cls.jsonl", run);
    remove(path);
    wsss_runlog_open_stage(run, "train-cls", &log);
    wsss_runlog_event(log, "start");
    for (int s = 1; s <= 200; s++) {
        wsss_runlog_begin(log);
        wsss_runlog_kv_int(log, "step", s);
        wsss_runlog_kv_int(log, "epoch", (s - 1) / 50);
        wsss_runlog_kv_double(log, "loss", 0.7 * exp(-s / 60.0) + 0.05 + 0.02 * sin(s));
        wsss_runlog_kv_double(log, "loss_erase", 0.3 * exp(-s / 90.0));
        wsss_runlog_kv_double(log, "lr", 0.01 * pow(1 - (s - 1) / 200.0, 0.9));
        wsss_runlog_kv_double(log, "images_per_s", 40 + s % 3);
        wsss_runlog_end(log);
    }
    wsss_runlog_event(log, "end");
    wsss_runlog_close(log);
    snprintf(path, sizeof path, "%s/logs/train-seg.jsonl", run);
    remove(path);
    wsss_runlog_open_stage(run, "train-seg", &log);
    for (int s = 0; s < 40; s++) wsss_runlog_step(log, s * 10, s / 10, 2.0 / (1 + s), 2.5e-4 * (1 - s / 40.0), 12.5);
    wsss_runlog_close(log);
    /* a log of a stage outside the canonical list */
    snprintf(path, sizeof path, "%s/logs/zz-extra.jsonl", run);
    write_text(path, "{\"stage\":\"zz-extra\",\"event\":\"start\"}\n");

    /* images: 3 samples 40x30 with rectangles of classes 1..3 */
    char *mdir = wsss_run_path(run, WSSS_RUN_METRICS);
    wsss_mkdirs(mdir);
    char *sdir = wsss_run_path(run, WSSS_RUN_SAMPLES);
    wsss_mkdirs(sdir);
    wsss_cam_sweep sw;
    wsss_cam_sweep_init(&sw, 4, 60, 100);
    wsss_confusion pseudo, eval;
    wsss_confusion_init(&pseudo, 4);
    wsss_confusion_init(&eval, 4);
    const int W = 40, H = 30;
    for (int im = 0; im < 3; im++) {
        wsss_image rgb, gt, pl, pr, cam;
        wsss_image_alloc(&rgb, W, H, 3);
        wsss_image_alloc(&gt, W, H, 1);
        wsss_image_alloc(&pl, W, H, 1);
        wsss_image_alloc(&pr, W, H, 1);
        float *maps = calloc((size_t)W * H, sizeof(float));
        float *heat = calloc((size_t)W * H, sizeof(float));
        int cls = 1 + im;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int i = y * W + x;
                int in = x >= 8 + 4 * im && x < 30 && y >= 6 && y < 24;
                rgb.data[3 * i] = (uint8_t)(6 * x), rgb.data[3 * i + 1] = (uint8_t)(8 * y), rgb.data[3 * i + 2] = 90;
                if (in) rgb.data[3 * i] = 240, rgb.data[3 * i + 1] = (uint8_t)(60 * cls), rgb.data[3 * i + 2] = 40;
                gt.data[i] = in ? (uint8_t)cls : (x == 0 ? 255 : 0);
                /* map peaks at the object's centre */
                double dx = (x - 20.0) / 12, dy = (y - 15.0) / 9;
                maps[i] = heat[i] = (float)exp(-(dx * dx + dy * dy));
                pl.data[i] = maps[i] > 0.5f ? (uint8_t)cls : maps[i] < 0.2f ? 0 : 255;
                pr.data[i] = maps[i] > 0.35f ? (uint8_t)cls : 0;
            }
        wsss_cam_sweep_add(&sw, maps, 1, &cls, gt.data, (int64_t)W * H, "synthetic");
        wsss_confusion_add(&pseudo, gt.data, pl.data, (int64_t)W * H, NULL);
        wsss_confusion_add(&eval, gt.data, pr.data, (int64_t)W * H, NULL);
        wsss_overlay_heatmap(&rgb, heat, W, H, 0.5f, &cam);
        char id[32];
        snprintf(id, sizeof id, "2007_%06d", im);
        const struct {
            const char *kind;
            wsss_image *img;
            int mask;
        } files[] = {{"image", &rgb, 0}, {"cam", &cam, 0}, {"pseudo", &pl, 1}, {"pred", &pr, 1}, {"gt", &gt, 1}};
        for (int k = 0; k < 5; k++) {
            if (im == 2 && k == 3) continue; /* one missing prediction: "not run" cell */
            snprintf(path, sizeof path, "%s/%s_%s.png", sdir, id, files[k].kind);
            int rc = files[k].mask ? wsss_image_write_mask_png(path, files[k].img) : wsss_image_write_png(path, files[k].img);
            CHECK(rc == WSSS_OK, "%s", wsss_error_msg());
        }
        wsss_image_free(&rgb);
        wsss_image_free(&gt);
        wsss_image_free(&pl);
        wsss_image_free(&pr);
        wsss_image_free(&cam);
        free(maps);
        free(heat);
    }
    /* files that are not samples are ignored */
    snprintf(path, sizeof path, "%s/readme.txt", sdir);
    write_text(path, "not an image");

    wsss_jw w;
    const struct {
        const char *stage;
        wsss_confusion *c;
    } segs[] = {{"pseudo", &pseudo}, {"eval-seg", &eval}};
    for (int k = 0; k < 2; k++) {
        wsss_jw_init(&w, 2);
        wsss_metrics_json_segmentation(&w, segs[k].c, k_names, segs[k].stage, k ? "val" : "train");
        char *p = wsss_run_metrics_path(run, segs[k].stage);
        CHECK(wsss_metrics_write_file(p, w.buf) == WSSS_OK, "%s", wsss_error_msg());
        free(p);
        wsss_jw_free(&w);
    }
    wsss_jw_init(&w, 2);
    wsss_metrics_json_cam_sweep(&w, &sw, k_names, "cam", "train");
    char *p = wsss_run_metrics_path(run, "cam");
    CHECK(wsss_metrics_write_file(p, w.buf) == WSSS_OK, "%s", wsss_error_msg());
    free(p);
    wsss_jw_free(&w);

    wsss_seg_scores s;
    wsss_confusion_scores(&eval, &s);
    *miou_eval = s.miou;
    double mi[60];
    int best = wsss_cam_sweep_best(&sw, mi);
    *miou_sweep = mi[best];
    *best_t = wsss_cam_sweep_threshold(&sw, best);
    wsss_cam_sweep_free(&sw);
    wsss_confusion_free(&pseudo);
    wsss_confusion_free(&eval);
    free(mdir);
    free(sdir);
}

static void test_report_full(const char *tmp) {
    char run[512], path[700], why[200];
    snprintf(run, sizeof run, "%s/run", tmp);
    double miou_eval, miou_sweep, best_t;
    make_run(run, &miou_eval, &miou_sweep, &best_t);
    int problems = -1;
    CHECK(wsss_report_write(run, NULL, &problems) == WSSS_OK, "report: %s", wsss_error_msg());
    CHECK(problems == 0, "no problems, got %d", problems);
    snprintf(path, sizeof path, "%s/report.html", run);
    size_t n;
    char *html = test_read_file(path, &n);
    CHECK(html != NULL, "report.html exists");
    if (!html) return;
    printf("report.html: %zu bytes\n", n);
    CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0, "doctype");
    CHECK(tags_balanced(html, why, sizeof why), "balanced tags: %s", why);
    CHECK(!strstr(html, "src=\"http") && !strstr(html, "<script") && !strstr(html, "<link"), "self-contained");
    /* stage table: canonical stages first, in order, then the extra stage; affinity not run */
    const char *a = strstr(html, ">train-cls<"), *b = strstr(html, ">cam<"), *c = strstr(html, ">affinity<"),
               *d = strstr(html, ">pseudo<"), *e = strstr(html, ">train-seg<"), *f = strstr(html, ">eval-seg<"),
               *g = strstr(html, ">zz-extra<");
    CHECK(a && b && c && d && e && f && g && a < b && b < c && c < d && d < e && e < f && f < g, "stage order");
    CHECK(c && strstr(c, "not run") && strstr(c, "not run") < d, "affinity row says not run");
    CHECK(strstr(html, ">log only<") != NULL, "train-cls/train-seg have logs only");
    char want[64];
    snprintf(want, sizeof want, "<td class=\"num\">%.1f</td>", 100 * miou_eval);
    CHECK(strstr(html, want) != NULL, "eval mIoU %s in the stage table", want);
    snprintf(want, sizeof want, "<td class=\"num\">%.2f</td>", best_t);
    CHECK(strstr(html, want) != NULL, "best threshold %s in the stage table", want);
    snprintf(want, sizeof want, "best threshold %.2f, mIoU %.1f%%", best_t, 100 * miou_sweep);
    CHECK(strstr(html, want) != NULL, "sweep plot title '%s'", want);
    CHECK(strstr(html, "<td class=\"num\">201</td>") || strstr(html, "<td class=\"num\">202</td>"),
          "train-cls record count");
    /* per-class table: 4 classes with swatches, 3 metrics columns */
    CHECK(strstr(html, "Per-class IoU") && strstr(html, "bird") && strstr(html, "background:#800000"),
          "class table with VOC swatches");
    /* curves: train-cls loss (2 series) + lr, train-seg loss + lr, sweep = 5 SVGs, polylines 6 */
    CHECK(count(html, "<svg") == 5, "5 plots, got %d", count(html, "<svg"));
    CHECK(count(html, "<polyline") == 6, "6 polylines, got %d", count(html, "<polyline"));
    CHECK(strstr(html, ">loss_erase<") && strstr(html, ">train-cls: learning rate<"), "legend and titles");
    CHECK(count(html, "<details>") == 3, "3 confusion matrices");
    /* samples: 3 rows x 5 kinds minus one missing prediction = 14 images */
    CHECK(count(html, "data:image/png;base64,") == 14, "14 inlined images, got %d",
          count(html, "data:image/png;base64,"));
    CHECK(strstr(html, ">2007_000002<") && strstr(html, "<td class=\"nr\">not run</td>"), "missing prediction cell");
    CHECK(!strstr(html, "readme"), "non-sample files ignored");
    /* the first inlined image decodes back to the sample file's bytes (ids sorted: 2007_000000 image) */
    const char *s = strstr(html, "data:image/png;base64,");
    if (s) {
        s += strlen("data:image/png;base64,");
        const char *q = strchr(s, '"');
        size_t dn;
        uint8_t *dec = b64decode(s, (size_t)(q - s), &dn);
        snprintf(path, sizeof path, "%s/samples/2007_000000_image.png", run);
        size_t fn;
        char *file = test_read_file(path, &fn);
        CHECK(file && dn == fn && memcmp(dec, file, fn) == 0, "inlined bytes == file bytes (%zu vs %zu)", dn, fn);
        free(file);
        free(dec);
    }
    free(html);

    /* options: another output file, a title with markup, 1 sample */
    wsss_report_opts o;
    wsss_report_opts_default(&o);
    snprintf(path, sizeof path, "%s/other.html", tmp);
    o.out_path = path;
    o.title = "<b>run & \"x\"</b>";
    o.max_samples = 1;
    CHECK(wsss_report_write(run, &o, NULL) == WSSS_OK, "report with options: %s", wsss_error_msg());
    html = test_read_file(path, NULL);
    CHECK(html && strstr(html, "<h1>&lt;b&gt;run &amp; &quot;x&quot;&lt;/b&gt;</h1>"), "title escaped");
    CHECK(html && count(html, "data:image/png;base64,") == 5 && strstr(html, "1 of 3 samples shown"), "max samples");
    CHECK(html && tags_balanced(html, why, sizeof why), "balanced: %s", why);
    free(html);

    /* a broken metrics file and a non-image sample are listed as problems, not errors */
    snprintf(path, sizeof path, "%s/metrics/broken.json", run);
    write_text(path, "{\"miou\": 0.5,");
    snprintf(path, sizeof path, "%s/samples/bad_gt.png", run);
    write_text(path, "this is not a png");
    CHECK(wsss_report_write(run, NULL, &problems) == WSSS_OK, "report with broken pieces");
    CHECK(problems == 2, "2 problems, got %d", problems);
    snprintf(path, sizeof path, "%s/report.html", run);
    html = test_read_file(path, NULL);
    CHECK(html && strstr(html, "<h2>Problems</h2>") && strstr(html, "broken.json") && strstr(html, "bad_gt.png"),
          "problems listed");
    CHECK(html && strstr(html, ">broken<") && strstr(strstr(html, ">broken<"), "unreadable (see Problems)"),
          "the broken stage's row says unreadable");
    CHECK(html && tags_balanced(html, why, sizeof why), "balanced: %s", why);
    free(html);
    remove(path);
}

static void test_report_empty(const char *tmp) {
    char run[512], path[700], why[200];
    snprintf(run, sizeof run, "%s/empty", tmp);
    wsss_mkdirs(run);
    CHECK(wsss_report_write(run, NULL, NULL) == WSSS_OK, "empty run: %s", wsss_error_msg());
    snprintf(path, sizeof path, "%s/report.html", run);
    char *html = test_read_file(path, NULL);
    CHECK(html != NULL, "report exists");
    if (!html) return;
    CHECK(count(html, "colspan=\"14\">not run") == 6, "6 canonical stages not run, got %d",
          count(html, "colspan=\"14\">not run"));
    CHECK(strstr(html, "not run: no metrics yet") && strstr(html, "not run: no CAM sweep") &&
              strstr(html, "not run: no training logs") && strstr(html, "not run: no samples"),
          "every section says not run");
    CHECK(tags_balanced(html, why, sizeof why), "balanced: %s", why);
    free(html);
    snprintf(path, sizeof path, "%s/nope", tmp);
    CHECK(wsss_report_write(path, NULL, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "nope"), "missing run dir: %s",
          wsss_error_msg());
    snprintf(path, sizeof path, "%s/file", tmp);
    write_text(path, "x");
    CHECK(wsss_report_write(path, NULL, NULL) == WSSS_ERR && strstr(wsss_error_msg(), "not a directory"),
          "file as run dir: %s", wsss_error_msg());
}

/* Pathological logs must not hang the tick loops or write NaN coordinates. */
static void test_report_odd_logs(const char *tmp) {
    char run[512], path[700], why[200];
    snprintf(run, sizeof run, "%s/odd", tmp);
    snprintf(path, sizeof path, "%s/logs", run);
    wsss_mkdirs(path);
    snprintf(path, sizeof path, "%s/logs/train-cls.jsonl", run);
    /* steps 1e20 apart by less than a tick step's resolution; one NaN-free point; huge range */
    write_text(path, "{\"step\":1e20,\"loss\":1}\n{\"step\":1.0000000000000016e20,\"loss\":2}\n"
                     "{\"step\":1.0000000000000033e20,\"loss\":null}\n");
    snprintf(path, sizeof path, "%s/logs/train-seg.jsonl", run);
    write_text(path, "{\"step\":3,\"loss\":0.5,\"lr\":0.1}\n");
    snprintf(path, sizeof path, "%s/logs/cam.jsonl", run);
    write_text(path, "{\"step\":-1e308,\"loss\":1e308}\n{\"step\":1e308,\"loss\":-1e308}\n");
    CHECK(wsss_report_write(run, NULL, NULL) == WSSS_OK, "odd logs: %s", wsss_error_msg());
    snprintf(path, sizeof path, "%s/report.html", run);
    char *html = test_read_file(path, NULL);
    CHECK(html && tags_balanced(html, why, sizeof why), "balanced: %s", html ? why : "no file");
    CHECK(html && !strstr(html, "nan") && !strstr(html, "inf\""), "no NaN/inf coordinates");
    CHECK(html && strstr(html, "<circle"), "a single point is drawn as a dot");
    CHECK(html && strstr(html, "values out of plotting range"), "overflowing range reported");
    free(html);
}

int main(void) {
    const char *tmp = test_tmp_dir("test_report");
    test_base64();
    test_runlog(tmp);
    test_progress();
    test_overlay();
    test_report_full(tmp);
    test_report_empty(tmp);
    test_report_odd_logs(tmp);
    return test_summary("test_report");
}
