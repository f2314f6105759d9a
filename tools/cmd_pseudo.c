/* `wsss pseudo`: pseudo labels from localisation maps (stage 4; pseudo.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsss/affinity_net.h"

#include "commands.h"
#include "wsss/cam.h"
#include "wsss/cam_threshold.h"
#include "wsss/clock.h"
#include "wsss/dataset.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/json.h"
#include "wsss/metrics.h"
#include "wsss/progress.h"
#include "wsss/pseudo.h"
#include "wsss/pseudo_rw.h"
#include "wsss/pseudo_saliency.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"
#include "wsss/trainer.h"

/* Read best_threshold from a cam_sweep metrics file. */
static int sweep_threshold(const char *path, double *t) {
    uint8_t *text;
    size_t len;
    if (wsss_file_read_all(path, &text, &len) != WSSS_OK) {
        if (access(path, F_OK) != 0) return wsss_error_set("%s: cannot open (run wsss eval-cam first)", path);
        return WSSS_ERR;
    }
    wsss_json *j = wsss_json_parse((const char *)text, len);
    free(text);
    if (!j) return wsss_error_prefix("%s", path);
    int rc = wsss_json_as_double(wsss_json_get(j, "best_threshold"), t);
    wsss_json_free(j);
    if (rc != WSSS_OK) return wsss_error_set("%s: no numeric \"best_threshold\" (not an eval-cam metrics file?)", path);
    return WSSS_OK;
}

/* --bg otsu: the threshold from the maps of the whole split (cam_threshold.h). */
static int labelfree_threshold(const wsss_dataset *ds, const char *cam_dir, int quiet, double *t) {
    wsss_cam_hist h;
    memset(&h, 0, sizeof h);
    if (wsss_cam_hist_from_files(&h, cam_dir, ds->ids, ds->n, ds->num_classes) != WSSS_OK) return WSSS_ERR;
    const int j = wsss_cam_hist_otsu(&h);
    if (j < 0)
        return wsss_error_set("%s: the maps of the images in %s have no spread of values to choose a background threshold from "
                              "(%lld images with maps); use --bg const --bg-threshold T",
                              cam_dir, ds->list_path, (long long)h.n_images);
    *t = (double)j / WSSS_CAM_HIST_BINS;
    if (!quiet)
        fprintf(stderr, "pseudo: background threshold %.2f (Otsu's threshold of the maps of %lld images)\n", *t,
                (long long)h.n_images);
    return WSSS_OK;
}

/* --refine: how the maps become labels */
enum { REFINE_CRF = 0, REFINE_RW };
static const wsss_choice refine_choices[] = {{"crf", REFINE_CRF}, {"rw", REFINE_RW}, {NULL, 0}};

/* The options of one labelling that the other ignores: given together with it, a usage error
 * rather than a silent no-op. */
static const char *const crf_only_opts[] = {
    "bg", "saliency", "alpha-low", "alpha-high", "alpha", "bg-threshold", "bg-threshold-from-sweep", "min-conf",
    "no-crf", "crf-iters", "crf-gauss-sxy", "crf-gauss-compat", "crf-bilat-sxy", "crf-bilat-srgb", "crf-bilat-compat"};
static const char *const rw_only_opts[] = {"aff-model", "rw-beta", "rw-steps", "rw-bg-power"};

static int check_refine_opts(const cli_spec *spec, const unsigned char *given, int refine) {
    const char *const *other = refine == REFINE_RW ? crf_only_opts : rw_only_opts;
    const size_t n = refine == REFINE_RW ? sizeof crf_only_opts / sizeof *crf_only_opts
                                         : sizeof rw_only_opts / sizeof *rw_only_opts;
    for (size_t k = 0; k < n; k++) {
        const int i = cli_find(spec, other[k]);
        WSSS_ASSERT(i >= 0, "pseudo: every option named in the lists is in the table");
        if (!given[i]) continue;
        if (refine == REFINE_RW)
            cli_error(spec->command,
                      "--%s: not used with --refine rw (the random walk replaces the CRF labelling; its background "
                      "is (1-max)^A of --rw-bg-power)",
                      other[k]);
        else
            cli_error(spec->command, "--%s: only used with --refine rw", other[k]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* --refine rw's AffinityNet: a missing file says how to make one. */
static int open_aff_model(const char *path, wsss_affnet *net) {
    if (access(path, F_OK) != 0)
        return wsss_error_set("%s: no affinity model (run wsss train-aff first, or pass --aff-model FILE)", path);
    return wsss_affnet_open(net, path);
}

typedef struct job {
    const wsss_dataset *ds;
    const wsss_pseudo_opts *po;
    const wsss_saliency_label_opts *sal; /* --saliency: the saliency-guided recipe instead of po */
    wsss_affnet *aff;                    /* --refine rw: the random walk instead of po, with rw and rw_ctx */
    const wsss_pseudo_rw_opts *rw;
    wsss_ctx *rw_ctx;
    const char *cam_dir, *out_dir, *sample_dir;
    const unsigned char *sample; /* sample[i]: add image i's label to the report samples */
} job;

/* The first `limit` images (in split order) that `wsss cam` wrote a report sample for. */
static unsigned char *pick_samples(const wsss_dataset *ds, const char *sample_dir, int limit) {
    unsigned char *pick = wsss_xcalloc((size_t)ds->n + 1, 1);
    int n = 0;
    for (int64_t i = 0; i < ds->n && n < limit; i++) {
        char name[1024];
        snprintf(name, sizeof name, "%s_image", ds->ids[i]);
        char *si = wsss_run_file(sample_dir, name, ".png");
        if (access(si, F_OK) == 0) {
            pick[i] = 1;
            n++;
        }
        free(si);
    }
    return pick;
}

/* One image: label, write, and add to the confusion matrix if it has a mask. *written = 0 when
 * skipped. */
static int do_image(const job *jb, int64_t i, int skip_existing, wsss_confusion *conf, int *written) {
    const wsss_dataset *ds = jb->ds;
    *written = 0;
    char *out = wsss_run_file(jb->out_dir, ds->ids[i], ".png");
    int have_mask = ds->mask_paths && ds->mask_paths[i];
    wsss_cam_sample cs;
    memset(&cs, 0, sizeof cs);
    wsss_image lab = {0};
    int rc = WSSS_OK;
    if (skip_existing && access(out, F_OK) == 0) {
        /* still count it in the metrics */
        rc = wsss_image_read_mask(out, &lab);
        if (rc == WSSS_OK && have_mask) rc = wsss_dataset_load(ds, i, WSSS_LOAD_MASK, &cs.smp);
    } else {
        const int what = WSSS_LOAD_IMAGE | (have_mask ? WSSS_LOAD_MASK : 0) | (jb->sal ? WSSS_LOAD_SALIENCY : 0);
        rc = wsss_cam_sample_load(ds, i, jb->cam_dir, what, &cs);
        if (rc == WSSS_OK && jb->sal) {
            const wsss_image *im = &cs.smp.image;
            wsss_image_alloc(&lab, im->width, im->height, 1);
            wsss_pseudo_saliency(jb->sal, wsss_f32(cs.maps), cs.n, cs.classes, cs.smp.saliency.data,
                                 (int64_t)im->width * im->height, lab.data);
        } else if (rc == WSSS_OK && jb->aff) {
            rc = wsss_pseudo_rw_label(jb->aff, jb->rw_ctx, jb->rw, &cs.smp.image, wsss_f32(cs.maps), cs.n, cs.classes,
                                      &lab);
            if (rc != WSSS_OK) wsss_error_prefix("%s", ds->ids[i]);
        } else if (rc == WSSS_OK) {
            rc = wsss_pseudo_label(jb->po, &cs.smp.image, wsss_f32(cs.maps), cs.n, cs.classes, &lab);
            if (rc != WSSS_OK) wsss_error_prefix("%s", ds->ids[i]);
        }
        if (rc == WSSS_OK) rc = wsss_image_write_mask_png(out, &lab);
        if (rc == WSSS_OK) *written = 1;
        if (rc == WSSS_OK && jb->sample[i]) {
            char name[1024];
            snprintf(name, sizeof name, "%s_pseudo", ds->ids[i]);
            char *sp = wsss_run_file(jb->sample_dir, name, ".png");
            rc = wsss_image_write_mask_png(sp, &lab);
            free(sp);
        }
    }
    if (rc == WSSS_OK && have_mask) rc = wsss_confusion_add_masks(conf, &cs.smp.mask, &lab, ds->ids[i]);
    wsss_image_free(&lab);
    wsss_cam_sample_free(&cs);
    free(out);
    return rc;
}

int cmd_pseudo(int argc, char **argv) {
    cli_coco coco = {0};
    const char *data = NULL, *split = "train", *run = "run", *cams = NULL, *out = NULL, *json = NULL, *saliency = NULL;
    const char *aff_model = NULL;
    int refine = REFINE_CRF;
    wsss_pseudo_rw_opts rwo;
    wsss_pseudo_rw_opts_default(&rwo);
    wsss_saliency_label_opts so;
    wsss_saliency_label_opts_default(&so);
    wsss_pseudo_opts po;
    wsss_pseudo_opts_default(&po);
    po.bg = WSSS_PSEUDO_BG_OTSU; /* the label-free threshold: a user has no masks to tune one on */
    int no_crf = 0, quiet = 0, brief = 0, skip_existing = 0, from_sweep = 0, iters = po.crf_params.iterations;
    int samples = 1000000;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "DIR", CLI_DATA_HELP "; masks, if present, are used for the mIoU", .flags = CLI_REQUIRED, .unless = "coco-annotations"},
        CLI_OPT_SPLIT(&split),
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        CLI_OPT_RUN(&run),
        CLI_OPT_CAMS(&cams),
        {"out", CLI_STRING, &out, "DIR", "output folder of <id>.png labels (default RUN/pseudo)", .flags = 0},
        {"json", CLI_STRING, &json, "FILE", "metrics when masks exist (default RUN/metrics/pseudo.json)", .flags = 0},
        {"refine", CLI_CHOICE, &refine, "HOW",
         "crf: a background score and the dense CRF (--bg and the options after it); rw: PSA's random walk over "
         "the affinities of wsss train-aff's net, dense labels without uncertain pixels (the --rw options)",
         .choices = refine_choices},
        {"aff-model", CLI_STRING, &aff_model, "FILE", "rw: the AffinityNet (default RUN/aff/model.safetensors)", .flags = 0},
        {"rw-beta", CLI_DOUBLE, &rwo.beta, "B", "rw: exponent of the affinities", .flags = CLI_MIN_OPEN, .min = 0,
         .max = 1000},
        {"rw-steps", CLI_INT, &rwo.steps, "T", "rw: walk length", .min = 0, .max = 100000},
        {"rw-bg-power", CLI_DOUBLE, &rwo.bg_power, "A", "rw: background seed (1-max)^A", .flags = CLI_MIN_OPEN,
         .min = 0, .max = 1000},
        {"bg", CLI_CHOICE, &po.bg, "MODE",
         "background: otsu (constant, Otsu's threshold of the split's max-map histogram: no ground truth needed), "
         "psa (low/high pair, 255 between), pow, const",
         .choices = wsss_pseudo_bg_choices},
        {"saliency", CLI_STRING, &saliency, "DIR",
         "folder of grey saliency maps <id>.png at the images' sizes, relative to --data unless absolute: label "
         "with OAA/MCIS's saliency-guided recipe (docs/mcis.md) instead of a background score and the CRF",
         .flags = 0},
        {"alpha-low", CLI_DOUBLE, &po.alpha_low, "A", "psa: exponent of the inflated background (1-max)^A",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 1000},
        {"alpha-high", CLI_DOUBLE, &po.alpha_high, "A", "psa: exponent of the shrunk background", .flags = CLI_MIN_OPEN,
         .min = 0, .max = 1000},
        {"alpha", CLI_DOUBLE, &po.alpha, "A", "pow: background (1-max)^A", .flags = CLI_MIN_OPEN, .min = 0, .max = 1000},
        {"bg-threshold", CLI_DOUBLE, &po.threshold, "T", "const: background score", .min = 0, .max = 1},
        {"bg-threshold-from-sweep", CLI_FLAG, &from_sweep, NULL,
         "const: take T from RUN/metrics/cam.json (tuned on ground truth: for analysis only)", .flags = 0},
        {"min-conf", CLI_DOUBLE, &po.min_conf, "P", "pow/const: 255 where the CRF probability is below P", .min = 0, .max = 1},
        {"no-crf", CLI_FLAG, &no_crf, NULL, "argmax of the score stack without the CRF", .flags = 0},
        {"crf-iters", CLI_INT, &iters, "N", "mean-field iterations", .min = 0, .max = 10000},
        {"crf-gauss-sxy", CLI_DOUBLE, &po.crf_params.gauss_sxy, "F", "smoothness kernel std (pixels)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 10000},
        {"crf-gauss-compat", CLI_DOUBLE, &po.crf_params.gauss_compat, "F", "smoothness kernel weight", .min = 0, .max = 10000},
        {"crf-bilat-sxy", CLI_DOUBLE, &po.crf_params.bilat_sxy, "F", "appearance kernel std (pixels)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 10000},
        {"crf-bilat-srgb", CLI_DOUBLE, &po.crf_params.bilat_srgb, "F", "appearance kernel std (intensity)",
         .flags = CLI_MIN_OPEN, .min = 0, .max = 10000},
        {"crf-bilat-compat", CLI_DOUBLE, &po.crf_params.bilat_compat, "F", "appearance kernel weight", .min = 0, .max = 10000},
        {"samples", CLI_INT, &samples, "N",
         "report sample images (RUN/samples): the label of the first N images wsss cam made samples of; 0 = none",
         .min = 0, .max = 1000000, .default_text = "all"},
        {"skip-existing", CLI_FLAG, &skip_existing, NULL, "keep labels already written (continue a stopped run)", .flags = 0},
        CLI_OPT_BRIEF(&brief),
        CLI_OPT_QUIET(&quiet),
    };
    enum { N_OPTS = sizeof opts / sizeof opts[0] };
    unsigned char given[N_OPTS];
    const cli_spec spec = {"pseudo", NULL,
                           "Pseudo labels from the maps: background score, dense CRF (PSA parameters), palette PNGs "
                           "with 255 for uncertain pixels; or, with --refine rw, PSA's random walk over the "
                           "affinities of the net wsss train-aff trained (dense labels). mIoU against the masks when "
                           "they exist.",
                           opts, N_OPTS, 0, 0, given};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    if ((rc = check_refine_opts(&spec, given, refine)) != CLI_EXIT_OK) return rc;
    const int rw = refine == REFINE_RW;
    po.crf = !no_crf;
    po.crf_params.iterations = iters;
    if (po.crf && wsss_crf_params_check(&po.crf_params) != WSSS_OK) return cli_fail(spec.command, CLI_EXIT_USAGE);
    char *cam_dir = cams ? wsss_xstrdup(cams) : wsss_run_path(run, WSSS_RUN_CAMS);
    char *out_dir = out ? wsss_xstrdup(out) : wsss_run_path(run, WSSS_RUN_PSEUDO);
    char *json_path = json ? wsss_xstrdup(json) : wsss_run_metrics_path(run, "pseudo");
    char *sample_dir = wsss_run_path(run, WSSS_RUN_SAMPLES);
    char *aff_path = aff_model ? wsss_xstrdup(aff_model) : wsss_run_path(run, WSSS_RUN_AFF_MODEL);
    wsss_affnet aff;
    memset(&aff, 0, sizeof aff);
    wsss_ctx *rw_ctx = NULL;
    unsigned char *sample = NULL;
    wsss_dataset *ds = NULL;
    wsss_runlog *log = NULL;
    wsss_confusion total;
    memset(&total, 0, sizeof total);
    int code = CLI_EXIT_FAILURE;
    if (from_sweep) {
        char *mp = wsss_run_metrics_path(run, "cam");
        int r = sweep_threshold(mp, &po.threshold);
        free(mp);
        if (r != WSSS_OK) goto fail;
        po.bg = WSSS_PSEUDO_BG_CONST;
    }
    wsss_dataset_opts dso;
    cli_dataset_opts(&dso, split, WSSS_MASKS_OPTIONAL, 0, &coco);
    dso.saliency_dir = saliency;
    if (wsss_dataset_open(data, &dso, &ds) != WSSS_OK) goto fail;
    if (rw && open_aff_model(aff_path, &aff) != WSSS_OK) goto fail;
    if (!rw && !saliency && po.bg == WSSS_PSEUDO_BG_OTSU && labelfree_threshold(ds, cam_dir, quiet, &po.threshold) != WSSS_OK)
        goto fail;
    if (wsss_mkdirs(out_dir) != WSSS_OK) goto fail;
    if (wsss_confusion_init(&total, ds->num_classes) != WSSS_OK) goto fail;
    if (wsss_runlog_open_stage(run, "pseudo", &log) != WSSS_OK) goto fail;
    wsss_runlog_begin(log);
    wsss_runlog_kv_string(log, "event", "start");
    wsss_runlog_kv_int(log, "images", ds->n);
    wsss_runlog_kv_string(log, "refine", wsss_choice_name(refine_choices, refine));
    if (rw) {
        wsss_runlog_kv_string(log, "aff_model", aff_path);
        wsss_runlog_kv_double(log, "rw_beta", rwo.beta);
        wsss_runlog_kv_int(log, "rw_steps", rwo.steps);
        wsss_runlog_kv_double(log, "rw_bg_power", rwo.bg_power);
    } else {
        wsss_runlog_kv_string(log, "bg", saliency ? "saliency" : wsss_pseudo_bg_name(po.bg));
        if (!saliency && (po.bg == WSSS_PSEUDO_BG_CONST || po.bg == WSSS_PSEUDO_BG_OTSU))
            wsss_runlog_kv_double(log, "bg_threshold", po.threshold);
        wsss_runlog_kv_int(log, "crf", saliency ? 0 : po.crf);
    }
    wsss_runlog_end(log);
    if (rw && !quiet)
        fprintf(stderr, "pseudo: random walk over the affinities of %s (%s; beta %g, %d steps, background power %g)\n",
                aff_path, aff.backbone, rwo.beta, rwo.steps, rwo.bg_power);

    sample = pick_samples(ds, sample_dir, samples);
    if (rw) rw_ctx = wsss_ctx_new();
    job jb = {ds, &po, saliency ? &so : NULL, rw ? &aff : NULL, &rwo, rw_ctx, cam_dir, out_dir, sample_dir, sample};
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "pseudo", ds->n);
    wsss_trainer_signals_install();
    const double t0 = wsss_now_seconds();
    int64_t bad = -1, written = 0;
    char msg[1024] = "";
    /* the CRF labels images in parallel; the walk runs one image at a time, its net and walk using
     * the threads (an inactive outer region leaves them free to) */
#pragma omp parallel if (!rw)
    {
        wsss_confusion mine;
        wsss_confusion_init(&mine, ds->num_classes);
#pragma omp for schedule(dynamic, 1) reduction(+ : written)
        for (int64_t i = 0; i < ds->n; i++) {
            int64_t b;
#pragma omp atomic read
            b = bad;
            if ((b >= 0 && b < i) || wsss_trainer_interrupted()) continue;
            int w = 0;
            if (do_image(&jb, i, skip_existing, &mine, &w) != WSSS_OK) {
#pragma omp critical(pseudo_err)
                if (bad < 0 || i < bad) {
                    bad = i;
                    snprintf(msg, sizeof msg, "%s", wsss_error_msg());
                }
            }
            written += w;
            if (!quiet) wsss_progress_add(&prog, 1);
        }
#pragma omp critical(pseudo_merge)
        wsss_confusion_merge(&total, &mine);
        wsss_confusion_free(&mine);
    }
    wsss_trainer_signals_restore();
    if (!quiet) wsss_progress_finish(&prog);
    const double dt = wsss_now_seconds() - t0;
    const int stopped = wsss_trainer_interrupted();
    if (bad >= 0) {
        wsss_error_set("%s", msg);
        goto fail;
    }
    wsss_seg_scores sc;
    wsss_confusion_scores(&total, &sc);
    wsss_runlog_begin(log);
    wsss_runlog_kv_string(log, "event", stopped ? "interrupted" : "end");
    wsss_runlog_kv_int(log, "written", written);
    wsss_runlog_kv_double(log, "seconds", dt);
    wsss_runlog_kv_double(log, "images_per_s", dt > 0 ? (double)written / dt : 0.0);
    if (total.n_images > 0 && !stopped) {
        wsss_runlog_kv_double(log, "miou", sc.miou);
        wsss_runlog_kv_double(log, "frac_ignored", sc.frac_ignored);
    }
    wsss_runlog_end(log);
    if (stopped) {
        cli_error(spec.command, "interrupted after %lld labels in %s; rerun with --skip-existing to continue",
                  (long long)written, out_dir);
        code = CLI_EXIT_INTERRUPTED;
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "pseudo: %lld labels written to %s (%.1f images/s)\n", (long long)written, out_dir,
                dt > 0 ? (double)written / dt : 0.0);
    if (total.n_images > 0) {
        if (!brief) {
            wsss_seg_scores_print(stdout, &sc, (const char *const *)ds->class_names);
            wsss_confusion_print(stdout, &total, (const char *const *)ds->class_names);
        }
        wsss_jw w;
        wsss_jw_init(&w, 1);
        wsss_metrics_json_segmentation(&w, &total, (const char *const *)ds->class_names, "pseudo", split);
        int wr = wsss_mkdirs_parent(json_path) == WSSS_OK ? wsss_metrics_write_file(json_path, w.buf) : WSSS_ERR;
        wsss_jw_free(&w);
        printf("pseudo_miou %.4f ignored %.4f\n", sc.miou, sc.frac_ignored);
        if (wr != WSSS_OK) goto fail;
    }
    code = CLI_EXIT_OK;
    goto done;
fail:
    code = cli_fail(spec.command, CLI_EXIT_FAILURE);
done:
    if (rw_ctx) wsss_ctx_free(rw_ctx);
    wsss_affnet_free(&aff);
    free(aff_path);
    free(sample);
    wsss_confusion_free(&total);
    wsss_runlog_close(log);
    wsss_dataset_free(ds);
    free(cam_dir);
    free(out_dir);
    free(json_path);
    free(sample_dir);
    return code;
}
