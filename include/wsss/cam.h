/* Class activation maps (stage 2 of the pipeline, `wsss cam`), PSA's recipe (refinement.md §b):
 * for every scale s (default 1, 0.5, 1.5, 2) and, with flip, the mirrored image too:
 *   resize the image to round(s*H) x round(s*W) (PIL bilinear), normalise, run the classifier,
 *   take the raw CAMs of the image's labelled classes, ReLU them, upsample bilinearly
 *   (align_corners = False) to H x W, flip back;
 * sum all of them, then normalise each class map: divide by its spatial max + 1e-5 ("max", PSA), or
 * (x - min) / (max - min + 1e-5) ("minmax", EADER). Only labelled classes get a map.
 * Files: see run_layout.h ("cams" F32 [n,H,W] + "classes" I32 [n]). */
#ifndef WSSS_CAM_H
#define WSSS_CAM_H

#include <stdint.h>

#include "wsss/augment.h"
#include "wsss/autograd.h"
#include "wsss/dataset.h"
#include "wsss/image.h"

#define WSSS_CAM_MAX_SCALES 8

typedef enum { WSSS_CAM_NORM_MAX = 0, WSSS_CAM_NORM_MINMAX } wsss_cam_norm;

typedef struct wsss_cam_opts {
    int n_scales;
    double scales[WSSS_CAM_MAX_SCALES];
    int flip;
    int direct_conv; /* direct convolutions only, as PyTorch computes them (default:
                        Winograd where oneDNN has it: ResNet-50-OS8 inference ~20% faster) */
    wsss_cam_norm norm;
    wsss_aug_config input; /* only the normalisation fields are used (div, mean, std, bgr) */
} wsss_cam_opts;

/* Scales 1, 0.5, 1.5, 2, flip, max normalisation, ImageNet normalisation. */
void wsss_cam_opts_default(wsss_cam_opts *o);
/* Parse "1,0.5,1.5,2" into o (1..WSSS_CAM_MAX_SCALES values in (0, 8]). */
int wsss_cam_parse_scales(const char *text, wsss_cam_opts *o);

/* The model as the CAM code sees it: normalised images N,3,h,w -> raw CAMs N,K,h',w' of all K
 * foreground classes (channel c-1 = class c), any resolution. Grad mode is off in ctx. */
typedef wsss_tensor *(*wsss_cam_forward_fn)(void *user, wsss_ctx *ctx, wsss_tensor *x);

/* Maps of classes[0..n-1] (1-based ids) for img: *out = persistent F32 [n, H, W]. ctx is a
 * scratch context (reset by the call). n may be 0 (an empty [0, H, W] tensor). */
int wsss_cam_compute(const wsss_cam_opts *o, wsss_cam_forward_fn fn, void *user, wsss_ctx *ctx,
                     const wsss_image *img, int n, const int *classes, wsss_tensor **out);

/* The same for n_img images of one size in one forward per scale (batch n_img x (flip ? 2 : 1)):
 * image b has n[b] classes cls[b][0..n[b]-1]; out[b] receives its maps. Results equal
 * wsss_cam_compute image by image up to float summation order. Images of different sizes are a
 * programmer error. */
int wsss_cam_compute_batch(const wsss_cam_opts *o, wsss_cam_forward_fn fn, void *user, wsss_ctx *ctx, int n_img,
                           const wsss_image *imgs, const int *n, const int *const *cls, wsss_tensor **out);

/* Normalise each plane of a F32 [n,H,W] tensor in place. */
void wsss_cam_normalize(wsss_tensor *maps, wsss_cam_norm norm);

/* CAM files (run_layout.h). save: atomic. scales_text may be NULL. */
int wsss_cam_save(const char *path, const char *id, int num_classes, const wsss_tensor *maps, const int *classes,
                  const wsss_cam_opts *o);
/* Load and validate (F32 [n,H,W], I32 [n] with ids in 1..num_classes-1 ascending, finite values).
 * num_classes <= 0 skips the id range check. *classes is malloc'd (n entries, may be NULL for n = 0). */
int wsss_cam_load(const char *path, int num_classes, wsss_tensor **maps, int **classes, int *n);

/* One image's maps file (cam_dir/<id>.safetensors) loaded with its sample (wsss_dataset_load with
 * `what`), the maps checked to have the size of the sample's image (what has WSSS_LOAD_IMAGE) or
 * else of its mask. Free with wsss_cam_sample_free, also after a failure. */
struct wsss_dataset;
typedef struct wsss_cam_sample {
    char *path;         /* the maps file */
    wsss_tensor *maps;  /* F32 [n, H, W] */
    int *classes, n;    /* the classes of the maps */
    wsss_sample smp;
} wsss_cam_sample;
int wsss_cam_sample_load(const struct wsss_dataset *ds, int64_t i, const char *cam_dir, int what,
                         wsss_cam_sample *cs);
void wsss_cam_sample_free(wsss_cam_sample *cs);

#endif
