/* Data augmentation on 8-bit images and label masks, deterministic from a wsss_rng.
 *
 * Image and mask go through the same geometric transforms (image bilinear, mask nearest), so they
 * stay aligned. Resampling and colour jitter follow torchvision 0.14 on PIL images (Pillow 9.4):
 *  - wsss_image_resize_bilinear with antialias = 1 is PIL's Image.resize(BILINEAR): a triangle filter
 *    whose support widens when downscaling, 22-bit fixed-point weights, horizontal pass then
 *    vertical pass with 8-bit rounding in between (bit-exact with Pillow on the fixtures);
 *  - masks use PIL's NEAREST rule: source pixel floor((x + 0.5) * in / out);
 *  - colour jitter = torchvision ColorJitter with functional_pil: ImageEnhance blends with black /
 *    the grey mean / the greyscale image in float32, hue shift on PIL's 8-bit HSV.
 * The random draws come from a wsss_rng, not torch's generator, so the same seed does not give
 * the same draws as torchvision; given the same draws the pixels are the same. */
#ifndef WSSS_AUGMENT_H
#define WSSS_AUGMENT_H

#include <stdint.h>

#include "wsss/image.h"
#include "wsss/rng.h"
#include "wsss/tensor.h"

/* ---- geometric primitives (out is allocated; in is not modified) ---- */

/* Resize the box (x0, y0, w, h) of in to out_w x out_h. antialias = 1: PIL BILINEAR (widened
 * filter when downscaling); antialias = 0: plain 2x2 bilinear with half-pixel centres (OpenCV
 * INTER_LINEAR / align_corners=False). Works for 1 or 3 channels. */
void wsss_image_resize_bilinear(const wsss_image *in, int x0, int y0, int w, int h, int out_w, int out_h,
                                int antialias, wsss_image *out);
/* Nearest-neighbour resize of a box (for masks): source floor(x0 + (x + 0.5) * w / out_w). */
void wsss_image_resize_nearest(const wsss_image *in, int x0, int y0, int w, int h, int out_w, int out_h,
                               wsss_image *out);
/* Crop the box (x0, y0, w, h), which may extend past the image: outside pixels get fill[c]. */
void wsss_image_crop_pad(const wsss_image *in, int x0, int y0, int w, int h, const uint8_t *fill,
                         wsss_image *out);
void wsss_image_hflip(wsss_image *img); /* in place */

/* torchvision RandomResizedCrop.get_params: up to 10 draws of an area fraction in scale[] and a
 * log-uniform aspect ratio in ratio[], else the centre-crop fallback. Box returned in x,y,w,h. */
void wsss_rrc_params(int width, int height, const double scale[2], const double ratio[2], wsss_rng *r,
                     int *x, int *y, int *w, int *h);

/* ---- colour jitter (torchvision ColorJitter semantics, PIL path) ---- */
typedef struct wsss_jitter {
    double brightness, contrast, saturation; /* factor uniform in [max(0, 1-v), 1+v]; 0 = off */
    double hue;                              /* factor uniform in [-v, v], v <= 0.5; 0 = off */
} wsss_jitter;

typedef struct wsss_jitter_draw {
    int order[4];     /* a permutation of 0..3: 0 brightness, 1 contrast, 2 saturation, 3 hue */
    float factor[4];  /* float32 like torch's uniform_ */
    int active[4];
} wsss_jitter_draw;

void wsss_jitter_sample(const wsss_jitter *j, wsss_rng *r, wsss_jitter_draw *d);
void wsss_jitter_apply(wsss_image *img, const wsss_jitter_draw *d); /* RGB, in place */
/* The four PIL adjustments, in place on an RGB image. */
void wsss_adjust_brightness(wsss_image *img, float factor);
void wsss_adjust_contrast(wsss_image *img, float factor);
void wsss_adjust_saturation(wsss_image *img, float factor);
void wsss_adjust_hue(wsss_image *img, float factor); /* factor in [-0.5, 0.5] */

/* ---- the pipeline ---- */

/* Steps run in this order; each is off when its size/probability is 0:
 *   1. random rescale (image bilinear without antialias, mask nearest) by a factor uniform in
 *      [scale_min, scale_max], or drawn from scale_set when n_scale_set > 0;
 *   2. pad (image: pad_value, mask: 255) to at least crop_h x crop_w, then a random crop;
 *   3. RandomResizedCrop to rrc_h x rrc_w (PIL bilinear);
 *   4. resize to resize_h x resize_w (PIL bilinear; distorts the aspect ratio like Resize((h,w)));
 *   5. horizontal flip with probability hflip_p;
 *   6. colour jitter;
 *   7. normalisation (at copy-out): v = (x / div - mean[c]) / std[c] in float32, channel c in RGB order,
 *      or BGR order when bgr = 1 (then mean/std are given in BGR order, as Caffe lists them).
 * Padded pixels are normalised from pad_value exactly (they are tracked, not re-read as uint8). */
#define WSSS_AUG_MAX_SCALES 16
typedef struct wsss_aug_config {
    double scale_min, scale_max;
    double scale_set[WSSS_AUG_MAX_SCALES];
    int n_scale_set;
    int crop_h, crop_w;
    float pad_value[3]; /* RGB, 0..255 scale (e.g. the mean colour) */
    int rrc_h, rrc_w;
    double rrc_scale[2], rrc_ratio[2];
    int resize_h, resize_w;
    double hflip_p;
    wsss_jitter jitter;
    float div, mean[3], std[3]; /* ImageNet: div 255; Caffe: div 1 */
    int bgr;
} wsss_aug_config;

/* No augmentation, ImageNet normalisation (x/255 - mean) / std. */
void wsss_aug_config_default(wsss_aug_config *c);

/* A list of test-time input scales such as "1,0.5,1.5": 1 to max_n comma-separated factors in
 * (0, max] into v and their count into *n; WSSS_ERR with a message quoting the text otherwise. */
int wsss_parse_scales(const char *text, double max, int max_n, double *v, int *n);
/* MCIS classifier (mcis.md §5): resize size x size, ColorJitter(0.3, 0.3, 0.3, 0.1), ImageNet norm. */
void wsss_aug_config_mcis(wsss_aug_config *c, int size);
/* EADER (eader.md §5): RandomResizedCrop(size, (0.08, 1), (3/4, 4/3)), flip 0.5, ImageNet norm. */
void wsss_aug_config_eader(wsss_aug_config *c, int size);
/* DeepLab segmentation (mcis.md §8): scales {0.7..1.3}, pad with the mean, crop, flip, Caffe BGR
 * mean subtraction without std scaling. */
void wsss_aug_config_deeplab(wsss_aug_config *c, int crop);

/* Output size of the pipeline for an input of in_w x in_h (variable when no step fixes it). */
void wsss_aug_output_size(const wsss_aug_config *c, int in_w, int in_h, int *out_w, int *out_h);

/* What a pipeline run did (for tests and debugging). */
typedef struct wsss_aug_record {
    double scale;           /* rescale factor (1 if off) */
    int crop_x, crop_y;     /* crop box origin in the padded image */
    int rrc_x, rrc_y, rrc_w, rrc_h;
    int flipped;
    wsss_jitter_draw jitter;
    int valid[4];           /* x0, y0, x1, y1: the region holding real (not padded) pixels */
} wsss_aug_record;

/* Run the pipeline on img (RGB) and, if mask is not NULL and has data, on mask, in place (the
 * images are replaced). rec may be NULL. */
void wsss_aug_apply(const wsss_aug_config *c, wsss_rng *r, wsss_image *img, wsss_image *mask,
                    wsss_aug_record *rec);

/* Write img, normalised, into images[n] of an F32 N,3,H,W tensor (contiguous; H, W = the image's).
 * valid (may be NULL = all) marks real pixels; others get the normalised pad_value. */
void wsss_aug_write_image(const wsss_aug_config *c, const wsss_image *img, const int *valid,
                          wsss_tensor *images, int64_t n);
/* Write a mask into masks[n] of a U8 or I64 N,H,W tensor (contiguous). */
void wsss_aug_write_mask(const wsss_image *mask, wsss_tensor *masks, int64_t n);

#endif
