/* `wsss eval-cam`: CAM mIoU against the ground truth with the background-threshold sweep
 * (refinement.md §d.2; stage 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/cam.h"
#include "wsss/cam_threshold.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/json.h"
#include "wsss/metrics.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"

/* One image: its maps and GT mask into the sweep, its maps into the label-free histogram. */
static int add_image(wsss_cam_sweep *sw, wsss_cam_hist *hist, const wsss_dataset *ds, int64_t i,
                     const char *cam_dir) {
    wsss_cam_sample cs;
    int rc = wsss_cam_sample_load(ds, i, cam_dir, WSSS_LOAD_MASK, &cs);
    const int64_t hw = rc == WSSS_OK ? (int64_t)cs.smp.mask.width * cs.smp.mask.height : 0;
    if (rc == WSSS_OK) rc = wsss_cam_sweep_add(sw, wsss_f32(cs.maps), cs.n, cs.classes, cs.smp.mask.data, hw, cs.path);
    if (rc == WSSS_OK) wsss_cam_hist_add(hist, wsss_f32(cs.maps), cs.n, hw);
    wsss_cam_sample_free(&cs);
    return rc;
}

int cmd_eval_cam(int argc, char **argv) {
    cli_coco coco = {0};
    const char *data = NULL, *split = "train", *run = "run", *cams = NULL, *json = NULL;
    int n_thr = 100, quiet = 0, brief = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", CLI_DATA_HELP " with ground-truth masks", .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        CLI_OPT_RUN(&run),
        CLI_OPT_CAMS(&cams),
        {"json", CLI_STRING, &json, "FILE", "metrics output (default RUN/metrics/cam.json)", .flags = 0},
        {"thresholds", CLI_INT, &n_thr, "N", "sweep t = 0.00, 0.01, ..., (N-1)/100 (the default covers all of [0, 1))", .min = 1, .max = 101},
        CLI_OPT_BRIEF(&brief),
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"eval-cam", NULL,
                           "CAM mIoU against the ground truth: background = constant t, argmax over [t; maps of "
                           "the labelled classes], swept over t; prints the best threshold and mIoU (cam_miou), and "
                           "the mIoU at the threshold chosen without ground truth that `wsss pseudo` uses by default "
                           "(cam_miou_labelfree: Otsu's threshold of the max-map histogram). The sweep uses the "
                           "ground truth: it measures seed quality, do not tune the pipeline with it.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    char *cam_dir = cams ? wsss_xstrdup(cams) : wsss_run_path(run, WSSS_RUN_CAMS);
    char *json_path = json ? wsss_xstrdup(json) : wsss_run_metrics_path(run, "cam");
    wsss_dataset *ds = NULL;
    wsss_cam_sweep total;
    memset(&total, 0, sizeof total);
    wsss_cam_hist hist;
    memset(&hist, 0, sizeof hist);
    int code = CLI_EXIT_FAILURE;
    wsss_dataset_opts dso;
    cli_dataset_opts(&dso, split, WSSS_MASKS_REQUIRED, 0, &coco);
    if (wsss_dataset_open(data, &dso, &ds) != WSSS_OK) goto fail;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels for split %s", ds->root, split);
        goto fail;
    }
    if (wsss_cam_sweep_init(&total, ds->num_classes, n_thr, 100) != WSSS_OK) goto fail;
    /* images in parallel, one sweep per thread, merged; the first error (lowest index) wins */
    int64_t bad = -1;
    char msg[1024] = "";
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "eval-cam", ds->n);
#pragma omp parallel
    {
        wsss_cam_sweep mine;
        wsss_cam_sweep_init(&mine, ds->num_classes, n_thr, 100);
        wsss_cam_hist my_hist;
        memset(&my_hist, 0, sizeof my_hist);
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < ds->n; i++) {
            int64_t b;
#pragma omp atomic read
            b = bad;
            if (b >= 0 && b < i) continue;
            if (add_image(&mine, &my_hist, ds, i, cam_dir) != WSSS_OK) {
#pragma omp critical(eval_cam_err)
                if (bad < 0 || i < bad) {
                    bad = i;
                    snprintf(msg, sizeof msg, "%s", wsss_error_msg());
                }
            }
            if (!quiet) wsss_progress_add(&prog, 1);
        }
#pragma omp critical(eval_cam_merge)
        {
            wsss_cam_sweep_merge(&total, &mine);
            wsss_cam_hist_merge(&hist, &my_hist);
        }
        wsss_cam_sweep_free(&mine);
    }
    if (!quiet) wsss_progress_finish(&prog);
    if (bad >= 0) {
        wsss_error_set("%s", msg);
        goto fail;
    }
    double *miou = wsss_xmalloc(sizeof(double) * (size_t)n_thr);
    int best = wsss_cam_sweep_best(&total, miou);
    total.labelfree_j = wsss_cam_hist_otsu(&hist);
    if (!brief) wsss_cam_sweep_print(stdout, &total, (const char *const *)ds->class_names);
    wsss_jw w;
    wsss_jw_init(&w, 1);
    wsss_metrics_json_cam_sweep(&w, &total, (const char *const *)ds->class_names, "cam", split);
    int wr = wsss_mkdirs_parent(json_path) == WSSS_OK ? wsss_metrics_write_file(json_path, w.buf) : WSSS_ERR;
    wsss_jw_free(&w);
    printf("cam_miou %.4f thr %.2f\n", miou[best], wsss_cam_sweep_threshold(&total, best));
    if (total.labelfree_j >= 0 && total.labelfree_j < n_thr)
        printf("cam_miou_labelfree %.4f thr %.2f\n", miou[total.labelfree_j],
               wsss_cam_sweep_threshold(&total, total.labelfree_j));
    if (wsss_cam_sweep_best_at_edge(&total, best))
        fprintf(stderr,
                "wsss eval-cam: note: the best threshold %.2f is at the end of the sweep; the mIoU there is a "
                "lower bound (widen it with --thresholds)\n",
                wsss_cam_sweep_threshold(&total, best));
    free(miou);
    if (wr != WSSS_OK) goto fail;
    code = CLI_EXIT_OK;
    goto done;
fail:
    cli_fail(spec.command, CLI_EXIT_FAILURE);
done:
    wsss_cam_sweep_free(&total);
    wsss_dataset_free(ds);
    free(cam_dir);
    free(json_path);
    return code;
}
