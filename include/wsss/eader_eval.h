/* EADER's own check of attention maps (specs/eader.md §6): `wsss eval-cam --protocol eader`.
 *
 * Per image, for the maps of its labelled classes at the image's resolution: each map min-max
 * normalised (a constant map becomes 0: divided by 1), values below 0.3 set to 0, a constant
 * background channel 1e-5 in front, the label of a pixel the argmax (the first maximum:
 * background, then the maps in their order, so between overlapping classes the larger map wins).
 * No CRF, no sweep. The labels then go into the usual confusion matrix (metrics.h): mIoU over the
 * K+1 classes, ground truth 255 ignored, accumulated over the whole split. */
#ifndef WSSS_EADER_EVAL_H
#define WSSS_EADER_EVAL_H

#include <stdint.h>

#include "wsss/metrics.h"

#define WSSS_EADER_EVAL_THRESHOLD 0.3
#define WSSS_EADER_EVAL_BACKGROUND 1e-5

/* The labels pred[n] of one image from n_maps planes of n floats (CHW); classes[k]: the class id of
 * plane k (1..254). A NaN value is an error naming `what`. */
int wsss_eader_eval_labels(const float *maps, int n_maps, const int *classes, int64_t n, uint8_t *pred,
                           const char *what);

/* Class-agnostic foreground precision and recall of a confusion matrix: foreground = any class but
 * 0; precision = pixels predicted and labelled foreground / predicted foreground, recall = the
 * same / labelled foreground (NaN when the denominator is 0). Adversarial erasing should raise the
 * recall at a similar precision (§6). */
void wsss_eader_eval_foreground(const wsss_confusion *c, double *precision, double *recall);

#endif
