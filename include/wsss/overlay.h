/* Visualisations: heat maps of [0,1] localisation maps and VOC-palette colourings of label masks,
 * blended over RGB images (for `wsss cam --overlay`, `wsss segment` and the report's samples). */
#ifndef WSSS_OVERLAY_H
#define WSSS_OVERLAY_H

#include <stdint.h>

#include "wsss/image.h"

/* Jet colour map (blue 0 -> cyan -> yellow -> red 1): r = clamp(1.5 - |4v - 3|), g = clamp(1.5 -
 * |4v - 2|), b = clamp(1.5 - |4v - 1|), each x255 rounded. v is clamped to [0,1]; NaN -> 0. */
void wsss_heatmap_color(float v, uint8_t rgb[3]);

/* out = round((1 - alpha) * image + alpha * jet(map)) per pixel. image: RGB; map: width*height
 * floats (row-major) at the image's size; alpha in [0,1]. out is allocated (RGB). */
int wsss_overlay_heatmap(const wsss_image *image, const float *map, int map_width, int map_height, float alpha,
                         wsss_image *out);

/* VOC-palette colours of a one-channel mask (255 -> the VOC "void" colour). out is allocated (RGB). */
int wsss_mask_to_rgb(const wsss_image *mask, wsss_image *out);

/* out = round((1 - alpha) * image + alpha * voc_color(mask)); pixels with mask 0 (background) are
 * left as the image when skip_background is set. Sizes must match. out is allocated (RGB). */
int wsss_overlay_mask(const wsss_image *image, const wsss_image *mask, float alpha, int skip_background,
                      wsss_image *out);

#endif
