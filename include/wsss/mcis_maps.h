/* MCIS test-time co-attention maps (specs/mcis.md §6) for one image I with labelled classes L,
 * everything on I's feature grid (h x w at the input side r):
 *   cross pairs: for each c in L, K related images drawn with replacement from the images with c
 *     (I itself may be drawn; the draws of sample i, class c come from (seed, i, c)); the pairs
 *     (I@r, J@r) give co_map1 on I's side, averaged: M5[c];
 *   self pairs: (I, hflip I) gives M1 = co_map1 and M2 = co_map2 flipped back; (I, I@0.75r) and
 *     (I, I@2r) give M3, M4 = co_map2 resized to h x w (bicubic, a = -0.75, half-pixel centres,
 *     clamped borders, no antialiasing);
 *   per class: norm(m) = relu(m) / (max relu(m) + 1e-8) * 255; acc = norm(M1[c]) + the norm(Mk[c])
 *     (k = 2..5) with σ(mean Mk[c]) > 0.1; acc / 5 (always 5), truncated to 8 bits; resized to the
 *     image's W x H bicubically (the same kernel; OpenCV's INTER_CUBIC on float data), rounded and
 *     saturated to 0..255.
 * The stored map is that 8-bit map / 255 (F32 in [0,1]), so eval-cam, pseudo and the report read
 * it as any other map file. I's features are computed once for all its pairs. */
#ifndef WSSS_MCIS_MAPS_H
#define WSSS_MCIS_MAPS_H

#include <stdint.h>

#include "wsss/classifier.h"
#include "wsss/dataset.h"
#include "wsss/image.h"

/* Write img resized to side x side (PIL bilinear of the whole image, aspect not kept), mirrored if
 * flip, ImageNet-normalised, into row k of an F32 N,3,side,side tensor: the MCIS input (§2). */
void wsss_mcis_write_view(const wsss_image *img, int side, int flip, wsss_tensor *dst, int64_t k);

/* The pair outputs of §6 for n labelled classes (channel c-1 of a K-channel map is class c):
 * flip1, flip2: co_map1, co_map2 of (I, hflip I), 1,K,h,w (flip2 as the network gave it);
 * small2, large2: co_map2 of (I, I@0.75r) and (I, I@2r), 1,K at their grids;
 * cross: n,h,w, the mean co_map1 of each class's related pairs (row j: classes[j]). */
typedef struct wsss_mcis_pair_maps {
    const wsss_tensor *flip1, *flip2, *small2, *large2, *cross;
} wsss_mcis_pair_maps;

/* The aggregation and the final resize (above): *out = persistent F32 [n, out_h, out_w]. ctx is
 * scratch (reset by the call). */
void wsss_mcis_combine(wsss_ctx *ctx, const wsss_mcis_pair_maps *p, int n, const int *classes, int out_w, int out_h,
                       wsss_tensor **out);

typedef struct wsss_mcis_maps_opts {
    int size;      /* r: 256 */
    int related;   /* K related images per class: 3 */
    uint64_t seed; /* of the draws */
} wsss_mcis_maps_opts;

/* The maps of sample i of ds (its image img, already loaded, RGB) for classes[0..n-1] with an
 * MCIS classifier: *out = persistent F32 [n, H, W]. ctx is scratch (reset). WSSS_ERR (message
 * naming the file) if a related image cannot be loaded. */
int wsss_mcis_image_maps(wsss_ctx *ctx, wsss_classifier *cls, const wsss_dataset *ds, int64_t i,
                         const wsss_image *img, int n, const int *classes, const wsss_mcis_maps_opts *o,
                         wsss_tensor **out);

#endif
