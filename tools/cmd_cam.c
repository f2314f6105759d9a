/* `wsss cam`: class activation maps for every image of a split (stage 2; cam.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "wsss/cam.h"
#include "wsss/classifier.h"
#include "wsss/clock.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/method.h"
#include "wsss/overlay.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"
#include "wsss/trainer.h"

/* the maps of the classifier's method (method.h) */
static wsss_tensor *classifier_cam(void *user, wsss_ctx *ctx, wsss_tensor *x) {
    return wsss_classifier_maps(ctx, (wsss_classifier *)user, x);
}

/* Heat map of the per-pixel max over the image's class maps (zeros without classes). */
static int write_overlay(const char *path, const wsss_image *img, const wsss_tensor *maps) {
    const int64_t n = maps->shape[0], hw = (int64_t)img->width * img->height;
    float *mx = wsss_xcalloc((size_t)hw + 1, sizeof *mx);
    for (int64_t k = 0; k < n; k++)
        for (int64_t i = 0; i < hw; i++) {
            float v = wsss_f32(maps)[k * hw + i];
            if (v > mx[i]) mx[i] = v;
        }
    wsss_image ov;
    int rc = wsss_overlay_heatmap(img, mx, img->width, img->height, 0.5f, &ov);
    if (rc == WSSS_OK) rc = wsss_image_write_png(path, &ov);
    if (rc == WSSS_OK) wsss_image_free(&ov);
    free(mx);
    return rc;
}

int cmd_cam(int argc, char **argv) {
    cli_coco coco = {0};
    const char *data = NULL, *split = "train", *run = "run", *model = NULL, *out = NULL, *overlay_dir = NULL;
    const char *scales = "1,0.5,1.5,2";
    static const wsss_choice norms[] = {{"max", WSSS_CAM_NORM_MAX}, {"minmax", WSSS_CAM_NORM_MINMAX}, {NULL, 0}};
    wsss_cam_norm norm = WSSS_CAM_NORM_MAX;
    int direct_conv = 0, no_flip = 0, overlay = 0, samples = 8, quiet = 0, skip_existing = 0, skip_bad = 0, batch = 8, os = 0;
    int size = 256, related = 3, seed = 0, basic_cam = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", CLI_DATA_HELP "; image-level labels pick the classes", .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        CLI_OPT_RUN(&run),
        {"model", CLI_STRING, &model, "FILE", "classifier file, or a train-cls checkpoint dir (default RUN/cls/model.safetensors)", .flags = 0},
        {"out", CLI_STRING, &out, "DIR", "output folder of <id>.safetensors maps (default RUN/cams)", .flags = 0},
        {"scales", CLI_STRING, &scales, "S,S", "input scales, summed", .flags = 0},
        {"output-stride", CLI_INT, &os, "S",
         "denser maps: run a resnet18/34 classifier at output stride 16 or 8 (a trous; 0 = as trained)", .min = 0, .max = 16},
        {"no-flip", CLI_FLAG, &no_flip, NULL, "do not add horizontally flipped inputs", .flags = 0},
        {"direct-conv", CLI_FLAG, &direct_conv, NULL, "direct convolutions only, as PyTorch computes them (no Winograd): slower", .flags = 0},
        {"norm", CLI_CHOICE, &norm, "N", "per-class normalisation: max (PSA) or minmax", .choices = norms},
        {"overlay", CLI_FLAG, &overlay, NULL, "also write heat-map overlays <id>.png of every image", .flags = 0},
        {"overlay-dir", CLI_STRING, &overlay_dir, "DIR", "overlay folder (default RUN/cams_overlay)", .flags = 0},
        {"size", CLI_INT, &size, "S", "mcis models: the square input side (as trained)", .min = 8, .max = 8192},
        {"related", CLI_INT, &related, "K", "mcis models: related images per labelled class, drawn with replacement",
         .min = 1, .max = 1000},
        {"seed", CLI_INT, &seed, "K", "mcis models: seed of the related images' draws (logged)", .min = 0, .max = INT_MAX},
        {"basic-cam", CLI_FLAG, &basic_cam, NULL,
         "mcis models: the basic CAM head's maps (as --scales) instead of the test-time co-attention", .flags = 0},
        {"batch", CLI_INT, &batch, "N", "images per forward pass (consecutive images of one size)", .min = 1, .max = 1024},
        {"samples", CLI_INT, &samples, "N", "report sample images (RUN/samples) of the first N images; 0 = none", .min = 0,
         .max = 1000000},
        {"skip-existing", CLI_FLAG, &skip_existing, NULL, "keep maps already written (continue a stopped run)", .flags = 0},
        CLI_OPT_SKIP_BAD(&skip_bad),
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"cam", NULL,
                           "Class activation maps of the labelled classes of every image of a split: multi-scale + "
                           "flip, ReLU, summed, normalised per class; one safetensors file per image.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    wsss_cam_opts co;
    wsss_cam_opts_default(&co);
    co.flip = !no_flip;
    co.direct_conv = direct_conv;
    co.norm = norm;
    if (os != 0 && os != 8 && os != 16) {
        cli_error(spec.command, "--output-stride %d: expected 0, 8 or 16", os);
        return CLI_EXIT_USAGE;
    }
    if (wsss_cam_parse_scales(scales, &co) != WSSS_OK) {
        cli_error(spec.command, "--%s", wsss_error_msg());
        return CLI_EXIT_USAGE;
    }
    char *model_path = model ? wsss_xstrdup(model) : wsss_run_path(run, WSSS_RUN_CLS_MODEL);
    char *out_dir = out ? wsss_xstrdup(out) : wsss_run_path(run, WSSS_RUN_CAMS);
    char *ov_dir = overlay_dir ? wsss_xstrdup(overlay_dir) : wsss_run_path(run, WSSS_RUN_CAMS_OVERLAY);
    char *sample_dir = wsss_run_path(run, WSSS_RUN_SAMPLES);
    wsss_dataset *ds = NULL;
    wsss_classifier cls;
    memset(&cls, 0, sizeof cls);
    wsss_runlog *log = NULL;
    wsss_ctx *ctx = NULL;
    int code = CLI_EXIT_FAILURE;
    int64_t done = 0, skipped = 0, failed = 0;

    wsss_dataset_opts dso;
    cli_dataset_opts(&dso, split, WSSS_MASKS_OPTIONAL, skip_bad, &coco);
    if (wsss_dataset_open(data, &dso, &ds) != WSSS_OK) goto fail;
    if (!ds->has_labels) {
        wsss_error_set("%s: no image-level labels (cls_labels.txt or masks) for split %s", ds->root, split);
        goto fail;
    }
    if (wsss_classifier_open_any(&cls, model_path, ds->num_classes - 1) != WSSS_OK) goto fail;
    if (os && wsss_classifier_set_output_stride(&cls, os) != WSSS_OK) goto fail;
    if (cls.num_classes != ds->num_classes - 1) {
        wsss_error_set("%s: the classifier has %d foreground classes, the dataset %s has %d", model_path,
                       cls.num_classes, ds->root, ds->num_classes - 1);
        goto fail;
    }
    const wsss_method_ops *method = wsss_method_get((wsss_method_kind)cls.method);
    const int per_image = method->image_maps && !basic_cam; /* the method pairs each image with others */
    if (wsss_mkdirs(out_dir) != WSSS_OK || (overlay && wsss_mkdirs(ov_dir) != WSSS_OK) ||
        (samples > 0 && wsss_mkdirs(sample_dir) != WSSS_OK))
        goto fail;
    if (wsss_runlog_open_stage(run, "cam", &log) != WSSS_OK) goto fail;
    wsss_runlog_begin(log);
    wsss_runlog_kv_string(log, "event", "start");
    wsss_runlog_kv_int(log, "images", ds->n);
    wsss_runlog_kv_string(log, "scales", scales);
    wsss_runlog_kv_int(log, "flip", co.flip);
    wsss_runlog_kv_int(log, "direct_conv", co.direct_conv);
    wsss_runlog_kv_string(log, "maps", per_image ? method->name : "cam");
    if (per_image) {
        wsss_runlog_kv_int(log, "size", size);
        wsss_runlog_kv_int(log, "related", related);
        wsss_runlog_kv_int(log, "seed", seed);
    }
    wsss_runlog_end(log);

    ctx = wsss_ctx_new();
    const wsss_method_maps mm = {ctx, &cls, ds, size, related, (uint64_t)seed};
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "cam", ds->n);
    wsss_trainer_signals_install();
    const double t0 = wsss_now_seconds();
    /* batches of up to `batch` consecutive images of one size (Fashion-Scenes: all) */
    wsss_sample *smp = wsss_xcalloc((size_t)batch, sizeof *smp);
    wsss_image *imgs = wsss_xcalloc((size_t)batch, sizeof *imgs);
    int64_t *which = wsss_xcalloc((size_t)batch, sizeof *which);
    int *nc = wsss_xcalloc((size_t)batch, sizeof *nc);
    int **clsv = wsss_xcalloc((size_t)batch, sizeof *clsv);
    int *cls_store = wsss_xmalloc(sizeof(int) * (size_t)batch * (size_t)ds->num_classes);
    wsss_tensor **maps = wsss_xcalloc((size_t)batch, sizeof *maps);
    int64_t next = 0, held = -1; /* held: an image already loaded that starts the next batch */
    wsss_sample held_smp;
    memset(&held_smp, 0, sizeof held_smp);
    int loop_rc = WSSS_OK;
    while (loop_rc == WSSS_OK && (next < ds->n || held >= 0) && !wsss_trainer_interrupted()) {
        int nb = 0;
        while (nb < batch && (held >= 0 || next < ds->n)) {
            int64_t i;
            wsss_sample s;
            if (held >= 0) {
                i = held;
                s = held_smp;
                held = -1;
            } else {
                i = next++;
                char *path = wsss_run_file(out_dir, ds->ids[i], ".safetensors");
                int exists = skip_existing && access(path, F_OK) == 0;
                free(path);
                if (exists) {
                    skipped++;
                    if (!quiet) wsss_progress_add(&prog, 1);
                    continue;
                }
                int what = WSSS_LOAD_IMAGE | (i < samples ? WSSS_LOAD_MASK : 0);
                if (wsss_dataset_load(ds, i, what, &s) != WSSS_OK) {
                    if (!skip_bad) {
                        loop_rc = WSSS_ERR;
                        break;
                    }
                    cli_error(spec.command, "warning: %s (skipped)", wsss_error_msg());
                    failed++;
                    if (!quiet) wsss_progress_add(&prog, 1);
                    continue;
                }
            }
            if (nb > 0 && (s.image.width != imgs[0].width || s.image.height != imgs[0].height)) {
                held = i; /* another size: it starts the next batch */
                held_smp = s;
                break;
            }
            smp[nb] = s;
            imgs[nb] = s.image;
            which[nb] = i;
            clsv[nb] = cls_store + (size_t)nb * ds->num_classes;
            nc[nb] = wsss_dataset_label_ids(ds, i, clsv[nb]);
            nb++;
        }
        int r = loop_rc;
        if (r == WSSS_OK && nb > 0 && per_image)
            for (int b = 0; b < nb && r == WSSS_OK; b++)
                r = method->image_maps(&mm, which[b], &imgs[b], nc[b], clsv[b], &maps[b]);
        else if (r == WSSS_OK && nb > 0)
            r = wsss_cam_compute_batch(&co, classifier_cam, &cls, ctx, nb, imgs, nc, (const int *const *)clsv, maps);
        for (int b = 0; b < nb && r == WSSS_OK; b++) {
            const int64_t i = which[b];
            char *path = wsss_run_file(out_dir, ds->ids[i], ".safetensors");
            r = wsss_cam_save(path, ds->ids[i], ds->num_classes, maps[b], clsv[b], per_image ? NULL : &co);
            free(path);
            if (r == WSSS_OK && overlay) {
                char *op = wsss_run_file(ov_dir, ds->ids[i], ".png");
                r = write_overlay(op, &imgs[b], maps[b]);
                free(op);
            }
            if (r == WSSS_OK && i < samples) {
                char name[1024];
                snprintf(name, sizeof name, "%s_cam", ds->ids[i]);
                char *sp = wsss_run_file(sample_dir, name, ".png");
                r = write_overlay(sp, &imgs[b], maps[b]);
                free(sp);
                snprintf(name, sizeof name, "%s_image", ds->ids[i]);
                sp = wsss_run_file(sample_dir, name, ".png");
                if (r == WSSS_OK) r = wsss_image_write_png(sp, &imgs[b]);
                free(sp);
                if (r == WSSS_OK && smp[b].mask.data) {
                    snprintf(name, sizeof name, "%s_gt", ds->ids[i]);
                    sp = wsss_run_file(sample_dir, name, ".png");
                    r = wsss_image_write_mask_png(sp, &smp[b].mask);
                    free(sp);
                }
            }
            if (r == WSSS_OK) {
                done++;
                if (!quiet) wsss_progress_add(&prog, 1);
            }
        }
        for (int b = 0; b < nb; b++) {
            if (maps[b]) wsss_tensor_free(maps[b]);
            maps[b] = NULL;
            wsss_sample_free(&smp[b]);
        }
        loop_rc = r;
    }
    if (held >= 0) wsss_sample_free(&held_smp);
    free(smp);
    free(imgs);
    free(which);
    free(nc);
    free(clsv);
    free(cls_store);
    free(maps);
    wsss_trainer_signals_restore();
    if (!quiet) wsss_progress_finish(&prog);
    if (loop_rc != WSSS_OK) goto fail;
    {
        const double dt = wsss_now_seconds() - t0;
        const int stopped = wsss_trainer_interrupted();
        wsss_runlog_begin(log);
        wsss_runlog_kv_string(log, "event", stopped ? "interrupted" : "end");
        wsss_runlog_kv_int(log, "written", done);
        wsss_runlog_kv_int(log, "skipped", skipped);
        wsss_runlog_kv_int(log, "failed", failed);
        wsss_runlog_kv_double(log, "seconds", dt);
        wsss_runlog_kv_double(log, "images_per_s", dt > 0 ? (double)done / dt : 0.0);
        wsss_runlog_end(log);
        if (stopped)
            cli_error(spec.command, "interrupted after %lld maps in %s; rerun with --skip-existing to continue",
                      (long long)done, out_dir);
        else if (!quiet)
            fprintf(stderr, "cam: %lld maps written to %s (%.1f images/s)\n", (long long)done, out_dir,
                    dt > 0 ? (double)done / dt : 0.0);
        code = stopped ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
    }
    goto done;
fail:
    code = cli_fail(spec.command, CLI_EXIT_FAILURE);
done:
    if (ctx) wsss_ctx_free(ctx);
    wsss_runlog_close(log);
    wsss_classifier_free(&cls);
    wsss_dataset_free(ds);
    free(model_path);
    free(out_dir);
    free(ov_dir);
    free(sample_dir);
    return code;
}
