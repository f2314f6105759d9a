/* `wsss eval-seg`: predict every image of a split with the segmentation network (multi-scale +
 * flip, optional CRF) and score the predictions against the ground truth (stage 6;
 * refinement.md §c testing, §d.1). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "wsss/clock.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/metrics.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"
#include "wsss/segmenter.h"
#include "wsss/trainer.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Predictions for the report samples: <id>_pred.png next to the first `limit` (by name)
 * RUN/samples/<id>_image.png. */
static int write_samples(wsss_segmenter *seg, wsss_ctx *ctx, const wsss_seg_infer_opts *io, const char *dir,
                         int limit, int *n_written) {
    *n_written = 0;
    DIR *d = opendir(dir);
    if (!d) return WSSS_OK; /* no samples: nothing to do */
    static const char suffix[] = "_image.png";
    const size_t sl = sizeof suffix - 1;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl || l - sl >= 1000 || strcmp(e->d_name + l - sl, suffix) != 0) continue;
        if (n == cap) ids = wsss_xrealloc(ids, sizeof *ids * (cap = cap ? 2 * cap : 16));
        ids[n] = wsss_xstrdup(e->d_name);
        ids[n++][l - sl] = 0;
    }
    closedir(d);
    if (n) qsort(ids, n, sizeof *ids, cmp_str);
    int rc = WSSS_OK;
    for (size_t k = 0; k < n && (int)k < limit && rc == WSSS_OK; k++) {
        char name[1024];
        snprintf(name, sizeof name, "%s_image", ids[k]);
        char *in = wsss_run_file(dir, name, ".png");
        snprintf(name, sizeof name, "%s_pred", ids[k]);
        char *out = wsss_run_file(dir, name, ".png");
        wsss_image img = {0}, lab = {0};
        rc = wsss_image_read_rgb(in, &img);
        if (rc == WSSS_OK) {
            wsss_image_alloc(&lab, img.width, img.height, 1);
            rc = wsss_segmenter_predict(seg, ctx, &img, io, NULL, lab.data);
            if (rc == WSSS_OK) rc = wsss_image_write_mask_png(out, &lab);
            if (rc == WSSS_OK) (*n_written)++;
        }
        wsss_image_free(&img);
        wsss_image_free(&lab);
        free(in);
        free(out);
    }
    for (size_t k = 0; k < n; k++) free(ids[k]);
    free(ids);
    return rc;
}

int cmd_eval_seg(int argc, char **argv) {
    cli_coco coco = {0};
    const char *data = NULL, *split = "val", *run = "run", *model = NULL, *pred = NULL, *json = NULL, *stage = NULL;
    cli_seg_infer si = cli_seg_infer_default();
    int gt = 0, no_pred = 0, samples = -1, limit = 0, quiet = 0, skip_bad = 0, brief = 0;
    int batch = 8;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", CLI_DATA_HELP "; masks, if present, give the mIoU", .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        CLI_OPT_RUN(&run),
        {"gt", CLI_FLAG, &gt, NULL, "evaluate the upper-bound model: defaults RUN/seg_gt/model.safetensors, RUN/pred_gt, stage eval-seg-gt", .flags = 0},
        {"model", CLI_STRING, &model, "FILE", "segmentation model file or train-seg checkpoint dir (default RUN/seg/model.safetensors)", .flags = 0},
        {"pred", CLI_STRING, &pred, "DIR", "output folder of <id>.png palette masks (default RUN/pred)", .flags = 0},
        {"no-pred", CLI_FLAG, &no_pred, NULL, "do not write the predicted masks", .flags = 0},
        {"json", CLI_STRING, &json, "FILE", "metrics output (default RUN/metrics/STAGE.json)", .flags = 0},
        {"stage", CLI_STRING, &stage, "NAME", "stage name of the log and metrics (default eval-seg)", .flags = 0},
        CLI_OPTS_SEG_INFER(si),
        {"samples", CLI_INT, &samples, "N",
         "report sample images (RUN/samples): the prediction of the first N images wsss cam made samples of; 0 = none",
         .min = 0, .max = 1000000, .default_text = "all, with --gt 0"},
        {"batch", CLI_INT, &batch, "N", "images of one size per forward pass", .min = 1, .max = 1024},
        {"limit", CLI_INT, &limit, "N", "evaluate only the first N images (0 = all)", .min = 0, .max = INT_MAX},
        CLI_OPT_SKIP_BAD(&skip_bad),
        CLI_OPT_BRIEF(&brief),
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"eval-seg", NULL,
                           "Segment every image of a split (multi-scale + flip, optional CRF), write palette masks and "
                           "score them against the ground truth: per-class IoU, confusion matrix, mIoU.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    wsss_seg_infer_opts io;
    if (cli_seg_infer_opts(spec.command, &si, &io) != 0) return CLI_EXIT_USAGE;
    if (samples < 0) samples = gt ? 0 : INT_MAX;
    if (!stage) stage = gt ? "eval-seg-gt" : "eval-seg";
    char *model_path = model ? wsss_xstrdup(model) : wsss_run_path(run, gt ? WSSS_RUN_SEG_GT_MODEL : WSSS_RUN_SEG_MODEL);
    char *pred_dir = pred ? wsss_xstrdup(pred) : wsss_run_path(run, gt ? "pred_gt" : WSSS_RUN_PRED);
    char *json_path = json ? wsss_xstrdup(json) : wsss_run_metrics_path(run, stage);
    char *sample_dir = wsss_run_path(run, WSSS_RUN_SAMPLES);
    wsss_dataset *ds = NULL;
    wsss_segmenter seg;
    memset(&seg, 0, sizeof seg);
    wsss_runlog *log = NULL;
    wsss_ctx *ctx = NULL;
    wsss_confusion conf;
    memset(&conf, 0, sizeof conf);
    int code = CLI_EXIT_FAILURE, signals = 0;
    int64_t done = 0, failed = 0, with_mask = 0;

    wsss_dataset_opts dso;
    cli_dataset_opts(&dso, split, WSSS_MASKS_OPTIONAL, skip_bad, &coco);
    if (wsss_dataset_open(data, &dso, &ds) != WSSS_OK) goto fail;
    if (wsss_segmenter_open_any(&seg, model_path) != WSSS_OK) goto fail;
    if (seg.num_classes != ds->num_classes) {
        wsss_error_set("%s: the model has %d classes, the dataset %s has %d (background included)", model_path,
                       seg.num_classes, ds->root, ds->num_classes);
        goto fail;
    }
    if (!no_pred && wsss_mkdirs(pred_dir) != WSSS_OK) goto fail;
    if (wsss_runlog_open_stage(run, stage, &log) != WSSS_OK) goto fail;
    const int64_t n_eval = limit > 0 && limit < ds->n ? limit : ds->n;
    wsss_runlog_begin(log);
    wsss_runlog_kv_string(log, "event", "start");
    wsss_runlog_kv_int(log, "images", n_eval);
    wsss_runlog_kv_string(log, "scales", si.scales);
    wsss_runlog_kv_int(log, "flip", io.flip);
    wsss_runlog_kv_int(log, "direct_conv", io.direct_conv);
    wsss_runlog_kv_int(log, "crf", io.crf);
    wsss_runlog_end(log);
    if (wsss_confusion_init(&conf, ds->num_classes) != WSSS_OK) goto fail;

    ctx = wsss_ctx_new();
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, stage, n_eval);
    wsss_trainer_signals_install();
    signals = 1;
    const double t0 = wsss_now_seconds();
    wsss_sample *smp = wsss_xcalloc((size_t)batch, sizeof *smp);
    wsss_image *imgs = wsss_xcalloc((size_t)batch, sizeof *imgs);
    uint8_t **labs = wsss_xcalloc((size_t)batch, sizeof *labs);
    int64_t *idx = wsss_xcalloc((size_t)batch, sizeof *idx);
    int64_t i = 0;
    int r = WSSS_OK;
    while (i < n_eval && !wsss_trainer_interrupted() && r == WSSS_OK) {
        /* consecutive images of one size share each forward pass */
        int nb = 0;
        while (nb < batch && i < n_eval) {
            const int has_mask = ds->mask_paths && ds->mask_paths[i];
            if (nb > 0) { /* stop the batch at a size change (header only) */
                int w, h;
                if (wsss_image_read_size(ds->image_paths[i], &w, &h) == WSSS_OK &&
                    (w != imgs[0].width || h != imgs[0].height))
                    break;
            }
            if (wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | (has_mask ? WSSS_LOAD_MASK : 0), &smp[nb]) != WSSS_OK) {
                if (!skip_bad) {
                    r = WSSS_ERR;
                    break;
                }
                cli_error(spec.command, "warning: %s (skipped)", wsss_error_msg());
                failed++;
                i++;
                continue;
            }
            if (nb > 0 && (smp[nb].image.width != imgs[0].width || smp[nb].image.height != imgs[0].height)) {
                wsss_sample_free(&smp[nb]); /* the header lied about the size: next batch */
                break;
            }
            imgs[nb] = smp[nb].image;
            labs[nb] = wsss_xmalloc((size_t)imgs[nb].width * (size_t)imgs[nb].height);
            idx[nb++] = i++;
        }
        if (r == WSSS_OK && nb > 0) {
            r = wsss_segmenter_predict_batch(&seg, ctx, nb, imgs, &io, NULL, labs);
            if (r != WSSS_OK) wsss_error_prefix("%s", ds->image_paths[idx[0]]);
        }
        for (int k = 0; k < nb; k++) {
            const int64_t j = idx[k];
            wsss_image lab = {imgs[k].width, imgs[k].height, 1, labs[k]};
            if (r == WSSS_OK && !no_pred) {
                char *p = wsss_run_file(pred_dir, ds->ids[j], ".png");
                r = wsss_image_write_mask_png(p, &lab);
                free(p);
            }
            if (r == WSSS_OK && smp[k].mask.data) {
                r = wsss_confusion_add_masks(&conf, &smp[k].mask, &lab, ds->mask_paths[j]);
                with_mask++;
            }
            if (r == WSSS_OK) done++;
            free(labs[k]);
            labs[k] = NULL;
            wsss_sample_free(&smp[k]);
        }
        if (!quiet && nb > 0) wsss_progress_add(&prog, nb);
    }
    free(smp);
    free(imgs);
    free(labs);
    free(idx);
    if (r != WSSS_OK) goto fail_loop;
    if (!quiet) wsss_progress_finish(&prog);
    const double dt = wsss_now_seconds() - t0;
    if (wsss_trainer_interrupted()) {
        wsss_runlog_event(log, "interrupted");
        cli_error(spec.command, "interrupted after %lld images; no score written", (long long)done);
        code = CLI_EXIT_INTERRUPTED;
        goto done;
    }
    if (samples) {
        int ns = 0;
        if (write_samples(&seg, ctx, &io, sample_dir, samples, &ns) != WSSS_OK) goto fail;
        if (!quiet && ns) fprintf(stderr, "eval-seg: %d report samples predicted in %s\n", ns, sample_dir);
    }
    const char *const *cn = (const char *const *)ds->class_names;
    wsss_seg_scores sc;
    wsss_confusion_scores(&conf, &sc);
    wsss_runlog_begin(log);
    wsss_runlog_kv_string(log, "event", "end");
    wsss_runlog_kv_int(log, "images", done);
    wsss_runlog_kv_int(log, "failed", failed);
    wsss_runlog_kv_double(log, "seconds", dt);
    wsss_runlog_kv_double(log, "images_per_s", dt > 0 ? (double)done / dt : 0.0);
    if (with_mask) wsss_runlog_kv_double(log, "miou", sc.miou);
    wsss_runlog_end(log);
    if (!quiet)
        fprintf(stderr, "%s: %lld images in %.1f s (%.1f images/s)%s%s\n", stage, (long long)done, dt,
                dt > 0 ? (double)done / dt : 0.0, no_pred ? "" : ", masks in ", no_pred ? "" : pred_dir);
    if (!with_mask) {
        cli_error(spec.command, "%s has no ground-truth masks for split %s: predictions only, no score", ds->root, split);
        code = CLI_EXIT_OK;
        goto done;
    }
    if (!brief) {
        printf("%s: %lld images of %s (%s), scales %s%s%s\n", stage, (long long)with_mask, ds->root, split, si.scales,
               io.flip ? " + flip" : "", io.crf ? " + CRF" : "");
        wsss_seg_scores_print(stdout, &sc, cn);
        wsss_confusion_print(stdout, &conf, cn);
    }
    {
        wsss_jw w;
        wsss_jw_init(&w, 2);
        wsss_metrics_json_segmentation(&w, &conf, cn, stage, split);
        int wr = wsss_mkdirs_parent(json_path) == WSSS_OK ? wsss_metrics_write_file(json_path, w.buf) : WSSS_ERR;
        wsss_jw_free(&w);
        if (wr != WSSS_OK) goto fail;
    }
    printf("%s %.4f\n", gt ? "supervised_miou" : "seg_miou", sc.miou);
    code = CLI_EXIT_OK;
    goto done;
fail_loop:
    if (!quiet) wsss_progress_finish(&prog);
fail:
    cli_fail(spec.command, CLI_EXIT_FAILURE);
    if (log) {
        wsss_runlog_begin(log);
        wsss_runlog_kv_string(log, "event", "error");
        wsss_runlog_kv_string(log, "error", wsss_error_msg());
        wsss_runlog_end(log);
    }
    code = CLI_EXIT_FAILURE;
done:
    if (signals) wsss_trainer_signals_restore();
    if (ctx) wsss_ctx_free(ctx);
    if (conf.m) wsss_confusion_free(&conf);
    wsss_runlog_close(log);
    wsss_segmenter_free(&seg);
    wsss_dataset_free(ds);
    free(model_path);
    free(pred_dir);
    free(json_path);
    free(sample_dir);
    return code;
}
