/* `wsss eval-cam`: CAM mIoU against the ground truth with the background-threshold sweep
 * (refinement.md §d.2; stage 3), or EADER's fixed protocol (--protocol eader, eader_eval.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/cam.h"
#include "wsss/cam_threshold.h"
#include "wsss/dataset.h"
#include "wsss/eader_eval.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/json.h"
#include "wsss/metrics.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"

/* A pass over the split in parallel: each thread folds images (their maps and GT mask) into its own
 * state, the states are merged one at a time; the first error (lowest index) wins. */
typedef struct image_pass {
    void *(*begin)(void *user);
    int (*add)(void *state, const wsss_cam_sample *cs, int64_t hw);
    void (*end)(void *state, void *user); /* merge into user's total, free the state */
    void *user;
} image_pass;

static int each_image(const wsss_dataset *ds, const char *cam_dir, int quiet, const image_pass *p) {
    int64_t bad = -1;
    char msg[1024] = "";
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "eval-cam", ds->n);
#pragma omp parallel
    {
        void *mine = p->begin(p->user);
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < ds->n; i++) {
            int64_t b;
#pragma omp atomic read
            b = bad;
            if (b >= 0 && b < i) continue;
            wsss_cam_sample cs;
            int rc = wsss_cam_sample_load(ds, i, cam_dir, WSSS_LOAD_MASK, &cs);
            if (rc == WSSS_OK) rc = p->add(mine, &cs, (int64_t)cs.smp.mask.width * cs.smp.mask.height);
            wsss_cam_sample_free(&cs);
            if (rc != WSSS_OK) {
#pragma omp critical(eval_cam_err)
                if (bad < 0 || i < bad) {
                    bad = i;
                    snprintf(msg, sizeof msg, "%s", wsss_error_msg());
                }
            }
            if (!quiet) wsss_progress_add(&prog, 1);
        }
#pragma omp critical(eval_cam_merge)
        p->end(mine, p->user);
    }
    if (!quiet) wsss_progress_finish(&prog);
    return bad >= 0 ? wsss_error_set("%s", msg) : WSSS_OK;
}

/* ---- the threshold sweep: its maps and GT mask into the sweep, its maps into the label-free histogram ---- */
typedef struct sweep_state {
    wsss_cam_sweep sweep;
    wsss_cam_hist hist;
} sweep_state;

static void *sweep_begin(void *user) {
    const sweep_state *total = user;
    sweep_state *s = wsss_xcalloc(1, sizeof *s);
    wsss_cam_sweep_init(&s->sweep, total->sweep.num_classes, total->sweep.n_thresholds, total->sweep.denom);
    return s;
}

static int sweep_add(void *state, const wsss_cam_sample *cs, int64_t hw) {
    sweep_state *s = state;
    if (wsss_cam_sweep_add(&s->sweep, wsss_f32(cs->maps), cs->n, cs->classes, cs->smp.mask.data, hw, cs->path) !=
        WSSS_OK)
        return WSSS_ERR;
    wsss_cam_hist_add(&s->hist, wsss_f32(cs->maps), cs->n, hw);
    return WSSS_OK;
}

static void sweep_end(void *state, void *user) {
    sweep_state *s = state, *total = user;
    wsss_cam_sweep_merge(&total->sweep, &s->sweep);
    wsss_cam_hist_merge(&total->hist, &s->hist);
    wsss_cam_sweep_free(&s->sweep);
    free(s);
}

/* ---- --protocol eader: the labels of §6 into one confusion matrix ---- */
static void *eader_begin(void *user) {
    wsss_confusion *c = wsss_xcalloc(1, sizeof *c);
    wsss_confusion_init(c, ((const wsss_confusion *)user)->num_classes);
    return c;
}

static int eader_add(void *state, const wsss_cam_sample *cs, int64_t hw) {
    uint8_t *pred = wsss_xmalloc((size_t)(hw ? hw : 1));
    int rc = wsss_eader_eval_labels(wsss_f32(cs->maps), cs->n, cs->classes, hw, pred, cs->path);
    if (rc == WSSS_OK) rc = wsss_confusion_add(state, cs->smp.mask.data, pred, hw, cs->path);
    free(pred);
    return rc;
}

static void eader_end(void *state, void *user) {
    wsss_confusion_merge(user, state);
    wsss_confusion_free(state);
    free(state);
}

static int eval_eader(const wsss_dataset *ds, const char *cam_dir, const char *json_path, const char *split, int quiet,
                      int brief) {
    wsss_confusion total;
    if (wsss_confusion_init(&total, ds->num_classes) != WSSS_OK) return WSSS_ERR;
    const image_pass pass = {eader_begin, eader_add, eader_end, &total};
    int rc = each_image(ds, cam_dir, quiet, &pass);
    if (rc == WSSS_OK) {
        wsss_seg_scores sc;
        wsss_confusion_scores(&total, &sc);
        double precision, recall;
        wsss_eader_eval_foreground(&total, &precision, &recall);
        if (!brief) wsss_seg_scores_print(stdout, &sc, (const char *const *)ds->class_names);
        wsss_jw w;
        wsss_jw_init(&w, 1);
        wsss_metrics_json_segmentation(&w, &total, (const char *const *)ds->class_names, "cam-eader", split);
        rc = wsss_mkdirs_parent(json_path) == WSSS_OK ? wsss_metrics_write_file(json_path, w.buf) : WSSS_ERR;
        wsss_jw_free(&w);
        printf("cam_miou_eader %.4f (threshold %.1f, background %g)\n", sc.miou, WSSS_EADER_EVAL_THRESHOLD,
               WSSS_EADER_EVAL_BACKGROUND);
        printf("fg_precision %.4f fg_recall %.4f\n", precision, recall);
    }
    wsss_confusion_free(&total);
    return rc;
}

static const wsss_choice k_protocols[] = {{"sweep", 0}, {"eader", 1}, {NULL, 0}};

int cmd_eval_cam(int argc, char **argv) {
    cli_coco coco = {0};
    const char *data = NULL, *split = "train", *run = "run", *cams = NULL, *json = NULL;
    int n_thr = 100, quiet = 0, brief = 0, protocol = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", CLI_DATA_HELP " with ground-truth masks", .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        CLI_OPT_RUN(&run),
        CLI_OPT_CAMS(&cams),
        {"json", CLI_STRING, &json, "FILE", "metrics output (default RUN/metrics/cam.json; with --protocol eader RUN/metrics/cam_eader.json)", .flags = 0},
        {"thresholds", CLI_INT, &n_thr, "N", "sweep t = 0.00, 0.01, ..., (N-1)/100 (the default covers all of [0, 1))", .min = 1, .max = 101},
        {"protocol", CLI_CHOICE, &protocol, "P",
         "sweep, or eader: EADER's check of its maps (each map min-max normalised, values under 0.3 dropped, "
         "background 1e-5, argmax; mIoU and foreground precision/recall; default JSON RUN/metrics/cam_eader.json)",
         .choices = k_protocols},
        CLI_OPT_BRIEF(&brief),
        CLI_OPT_QUIET(&quiet),
    };
    unsigned char given[sizeof opts / sizeof opts[0]];
    const cli_spec spec = {"eval-cam", NULL,
                           "CAM mIoU against the ground truth: background = constant t, argmax over [t; maps of "
                           "the labelled classes], swept over t; prints the best threshold and mIoU (cam_miou), and "
                           "the mIoU at the threshold chosen without ground truth that `wsss pseudo` uses by default "
                           "(cam_miou_labelfree: Otsu's threshold of the max-map histogram). The sweep uses the "
                           "ground truth: it measures seed quality, do not tune the pipeline with it.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, given};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    int thresholds_given = 0;
    for (int i = 0; i < spec.n_opts; i++) thresholds_given |= given[i] && !strcmp(opts[i].name, "thresholds");
    if (protocol == 1 && thresholds_given) {
        cli_error(spec.command, "--thresholds: --protocol eader has one fixed threshold (0.3), no sweep");
        return CLI_EXIT_USAGE;
    }
    char *cam_dir = cams ? wsss_xstrdup(cams) : wsss_run_path(run, WSSS_RUN_CAMS);
    char *json_path = json ? wsss_xstrdup(json) : wsss_run_metrics_path(run, protocol ? "cam_eader" : "cam");
    wsss_dataset *ds = NULL;
    sweep_state total;
    memset(&total, 0, sizeof total);
    int code = CLI_EXIT_FAILURE;
    wsss_dataset_opts dso;
    cli_dataset_opts(&dso, split, WSSS_MASKS_REQUIRED, 0, &coco);
    if (wsss_dataset_open(data, &dso, &ds) != WSSS_OK) goto fail;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels for split %s", ds->root, split);
        goto fail;
    }
    if (protocol == 1) {
        if (eval_eader(ds, cam_dir, json_path, split, quiet, brief) != WSSS_OK) goto fail;
        code = CLI_EXIT_OK;
        goto done;
    }
    if (wsss_cam_sweep_init(&total.sweep, ds->num_classes, n_thr, 100) != WSSS_OK) goto fail;
    const image_pass pass = {sweep_begin, sweep_add, sweep_end, &total};
    if (each_image(ds, cam_dir, quiet, &pass) != WSSS_OK) goto fail;
    double *miou = wsss_xmalloc(sizeof(double) * (size_t)n_thr);
    int best = wsss_cam_sweep_best(&total.sweep, miou);
    total.sweep.labelfree_j = wsss_cam_hist_otsu(&total.hist);
    if (!brief) wsss_cam_sweep_print(stdout, &total.sweep, (const char *const *)ds->class_names);
    wsss_jw w;
    wsss_jw_init(&w, 1);
    wsss_metrics_json_cam_sweep(&w, &total.sweep, (const char *const *)ds->class_names, "cam", split);
    int wr = wsss_mkdirs_parent(json_path) == WSSS_OK ? wsss_metrics_write_file(json_path, w.buf) : WSSS_ERR;
    wsss_jw_free(&w);
    printf("cam_miou %.4f thr %.2f\n", miou[best], wsss_cam_sweep_threshold(&total.sweep, best));
    if (total.sweep.labelfree_j >= 0 && total.sweep.labelfree_j < n_thr)
        printf("cam_miou_labelfree %.4f thr %.2f\n", miou[total.sweep.labelfree_j],
               wsss_cam_sweep_threshold(&total.sweep, total.sweep.labelfree_j));
    if (wsss_cam_sweep_best_at_edge(&total.sweep, best))
        fprintf(stderr,
                "wsss eval-cam: note: the best threshold %.2f is at the end of the sweep; the mIoU there is a "
                "lower bound (widen it with --thresholds)\n",
                wsss_cam_sweep_threshold(&total.sweep, best));
    free(miou);
    if (wr != WSSS_OK) goto fail;
    code = CLI_EXIT_OK;
    goto done;
fail:
    cli_fail(spec.command, CLI_EXIT_FAILURE);
done:
    wsss_cam_sweep_free(&total.sweep);
    wsss_dataset_free(ds);
    free(cam_dir);
    free(json_path);
    return code;
}
