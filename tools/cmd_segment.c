/* `wsss segment IMAGE... --out DIR`: palette masks and colour overlays for any images with a
 * trained segmentation model (stage 6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/overlay.h"
#include "wsss/run_layout.h"
#include "wsss/progress.h"
#include "wsss/segmenter.h"
#include "wsss/trainer.h"

/* File name without directory and extension ("a/b/x.jpg" -> "x"), malloc'd. */
static char *stem(const char *path) {
    const char *b = strrchr(path, '/');
    char *s = wsss_xstrdup(b ? b + 1 : path);
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

int cmd_segment(int argc, char **argv) {
    const char *run = "run", *model = NULL, *out = NULL;
    cli_seg_infer si = cli_seg_infer_default();
    int no_overlay = 0, quiet = 0;
    double alpha = 0.5;
    const cli_opt opts[] = {
        {"out", CLI_STRING, &out, "DIR", "output folder: <name>.png palette masks and <name>_overlay.png", .flags = CLI_REQUIRED},
        {"model", CLI_STRING, &model, "FILE", "segmentation model file or train-seg checkpoint dir (default RUN/seg/model.safetensors)", .flags = 0},
        CLI_OPT_RUN(&run),
        CLI_OPTS_SEG_INFER(si),
        {"alpha", CLI_DOUBLE, &alpha, "A", "overlay opacity of the class colours", .min = 0, .max = 1},
        {"no-overlay", CLI_FLAG, &no_overlay, NULL, "write only the masks", .flags = 0},
        CLI_OPT_QUIET(&quiet),
    };
    const cli_spec spec = {"segment", "IMAGE...",
                           "Segment JPEG/PNG images with a trained model: a VOC-palette mask (class ids) and a colour "
                           "overlay per image, named after the image file.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 1, -1, NULL};
    char **pos;
    int np;
    int rc = cli_parse(&spec, argc, argv, &pos, &np);
    if (rc) return cli_parse_exit(rc);
    wsss_seg_infer_opts io;
    if (cli_seg_infer_opts(spec.command, &si, &io) != 0) {
        free(pos);
        return CLI_EXIT_USAGE;
    }
    char *model_path = model ? wsss_xstrdup(model) : wsss_run_path(run, WSSS_RUN_SEG_MODEL);
    wsss_segmenter seg;
    if (wsss_segmenter_open_any(&seg, model_path) != WSSS_OK || wsss_mkdirs(out) != WSSS_OK) {
        wsss_segmenter_free(&seg);
        free(model_path);
        free(pos);
        return cli_fail(spec.command, CLI_EXIT_FAILURE);
    }
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_progress prog;
    if (!quiet) wsss_progress_start(&prog, "segment", np);
    wsss_trainer_signals_install();
    int failed = 0, done = 0;
    for (int i = 0; i < np && !wsss_trainer_interrupted(); i++) {
        wsss_image img = {0}, lab = {0}, ov = {0};
        char *name = stem(pos[i]);
        char *mask_path = wsss_run_file(out, name, ".png");
        size_t ol = strlen(name) + 16;
        char *oname = wsss_xmalloc(ol);
        snprintf(oname, ol, "%s_overlay", name);
        char *ov_path = wsss_run_file(out, oname, ".png");
        int r = wsss_image_read_rgb(pos[i], &img);
        if (r == WSSS_OK) r = wsss_image_alloc(&lab, img.width, img.height, 1);
        if (r == WSSS_OK) {
            r = wsss_segmenter_predict(&seg, ctx, &img, &io, NULL, lab.data);
            if (r != WSSS_OK) wsss_error_prefix("%s", pos[i]);
        }
        if (r == WSSS_OK) r = wsss_image_write_mask_png(mask_path, &lab);
        if (r == WSSS_OK && !no_overlay) {
            r = wsss_overlay_mask(&img, &lab, (float)alpha, 1, &ov);
            if (r == WSSS_OK) r = wsss_image_write_png(ov_path, &ov);
        }
        if (r != WSSS_OK) {
            cli_fail(spec.command, CLI_EXIT_FAILURE);
            failed++;
        } else {
            done++;
        }
        wsss_image_free(&img);
        wsss_image_free(&lab);
        wsss_image_free(&ov);
        free(name);
        free(oname);
        free(mask_path);
        free(ov_path);
        if (!quiet) wsss_progress_add(&prog, 1);
    }
    if (!quiet) wsss_progress_finish(&prog);
    int stopped = wsss_trainer_interrupted();
    wsss_trainer_signals_restore();
    if (!quiet) fprintf(stderr, "segment: %d of %d images written to %s\n", done, np, out);
    if (stopped) cli_error(spec.command, "interrupted after %d of %d images", done, np);
    if (failed) cli_error(spec.command, "%d image%s could not be segmented", failed, failed == 1 ? "" : "s");
    wsss_ctx_free(ctx);
    wsss_segmenter_free(&seg);
    free(model_path);
    free(pos);
    return stopped ? CLI_EXIT_INTERRUPTED : failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
