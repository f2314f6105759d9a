/* PSA's random-walk refinement of pseudo labels (refinement.md §b.5; `wsss pseudo --refine rw`).
 *
 * Per image: the AffinityNet (affinity_net.h) gives the affinities of the radius-5 pairs on the
 * image's stride-8 grid; the seeds [(1 - max_c A_c)^bg_power; A_c] of the image's labelled classes
 * walk over them and the upsampled argmax is the label (random_walk.h, wsss_rw_labels): dense, 0
 * (background) or a class id, never 255. In PSA the walk replaces the CRF labelling of pseudo.h
 * (the CRF's low/high-background pair only makes train-aff's training labels), so none of its
 * background modes or CRF settings apply. */
#ifndef WSSS_PSEUDO_RW_H
#define WSSS_PSEUDO_RW_H

#include "wsss/affinity_net.h"
#include "wsss/image.h"

typedef struct wsss_pseudo_rw_opts {
    double beta;     /* exponent of the affinities: 8 */
    int steps;       /* walk length t: 256 */
    double bg_power; /* background seed (1 - max_c A_c)^bg_power: 16 */
} wsss_pseudo_rw_opts;

/* PSA's values (above). */
void wsss_pseudo_rw_opts_default(wsss_pseudo_rw_opts *o);
/* beta and bg_power finite and > 0, steps >= 0 (message naming the setting). */
int wsss_pseudo_rw_check(const wsss_pseudo_rw_opts *o);

/* The affinities [1, 34, P] of rgb (random_walk.h pair order, plain, owned by ctx): the image
 * normalised as the loaders do (ImageNet mean/std on RGB / 255), zero-padded bottom/right to
 * multiples of 8 after the normalisation (as PSA pads its normalised tensor), the net in inference
 * mode without gradients. */
wsss_tensor *wsss_pseudo_rw_affinities(wsss_ctx *ctx, wsss_affnet *net, const wsss_image *rgb);

/* Label one image. rgb: H x W RGB; maps: n planes of H * W floats (CHW), classes[k] the id of plane
 * k; out: allocated 1-channel H x W labels. ctx: scratch, reset by the call. Without classes the
 * image is all background, and on a grid too small for any pair (under 5 x 9 cells) the walk is the
 * identity; neither runs the net. Errors: bad options or sizes (message). */
int wsss_pseudo_rw_label(wsss_affnet *net, wsss_ctx *ctx, const wsss_pseudo_rw_opts *o, const wsss_image *rgb,
                         const float *maps, int n, const int *classes, wsss_image *out);

#endif
