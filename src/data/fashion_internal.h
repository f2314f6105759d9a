/* Shared by the Fashion-Scenes and Fashion-Objects generators (fashion_scenes.c, fashion_objects.c;
 * specs/fashion-scenes.md); not a public header. fashion_render.c: the drawing pieces (textured
 * background, distractors, tints, upscaled items with hole-filled silhouettes, painting an item).
 * fashion_source.c: option checks and output helpers common to both generators. Both generators
 * draw with these same functions, so an object is "tinted and shaded exactly as in a scene". */
#ifndef WSSS_DATA_FASHION_INTERNAL_H
#define WSSS_DATA_FASHION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/fashion_scenes.h"
#include "wsss/rng.h"

/* The canvas being drawn: S x S RGB floats in [0,1] and, per pixel, which item covers it. */
typedef struct wsss_fashion_canvas {
    int S;
    float *rgb;     /* S*S*3 */
    uint8_t *idmap; /* S*S: 0 = background or distractor, k = the item drawn with id k */
} wsss_fashion_canvas;

void wsss_fashion_canvas_init(wsss_fashion_canvas *c, int S); /* idmap zeroed */
void wsss_fashion_canvas_free(wsss_fashion_canvas *c);
/* The canvas as an 8-bit RGB image (rounded, clamped). */
void wsss_fashion_canvas_to_image(const wsss_fashion_canvas *c, wsss_image *img);

/* Smooth texture: base colour + a linear gradient + 1-3 low-frequency sinusoidal gratings + mild
 * pixel noise. Overwrites the whole canvas colour. */
void wsss_fashion_draw_background(wsss_fashion_canvas *c, wsss_rng *r);
/* One distractor (belongs to no class): a soft-edged ellipse or a patch of stripes. */
void wsss_fashion_draw_distractor(wsss_fashion_canvas *c, wsss_rng *r);
/* A random saturated item tint. */
void wsss_fashion_item_tint(wsss_rng *r, float rgb[3]);

/* One upscaled item and its silhouette. Buffers grow as needed and are reused between items. */
typedef struct wsss_fashion_item {
    int h, w;       /* upscaled size */
    float *g;       /* h*w grey values in [0,1] */
    uint8_t *sil;   /* (h+2)*(w+2): the silhouette with a one-cell empty frame (1 = item) */
    int *stack;     /* flood-fill scratch */
    size_t cap;     /* cells available in each buffer */
} wsss_fashion_item;

/* Upscale a rows x cols window of a grey item (src points at its top-left pixel; rows are `stride`
 * bytes apart) bilinearly (half-pixel centres) to h x w, mirrored if asked, and compute its
 * silhouette: g >= thr with interior holes filled. */
void wsss_fashion_item_make(wsss_fashion_item *it, const uint8_t *src, int stride, int rows, int cols, int h, int w,
                            int mirror, float thr);
void wsss_fashion_item_free(wsss_fashion_item *it);
/* Inclusive bounding box of the silhouette in item coordinates (0..w-1, 0..h-1); 0 if it is empty. */
int wsss_fashion_item_bbox(const wsss_fashion_item *it, int *x0, int *y0, int *x1, int *y1);
/* Paint the item with its top-left corner at canvas (x0, y0) (it may cross the border): a one-pixel
 * soft edge just outside the silhouette, then the opaque silhouette shaded by g; idmap gets `id`
 * under the silhouette. */
void wsss_fashion_paint_item(wsss_fashion_canvas *c, const wsss_fashion_item *it, int x0, int y0,
                             const float tint[3], uint8_t id);

/* Checks of the options both generators have; messages name the option (the CLI adds its prefix). */
int wsss_fashion_check_common(int size, int max_distractors, int jpeg_quality, int n_classes,
                              const int *classes);
/* The state of a generator's parallel write loop over n images: the first error's message (later
 * ones are dropped and the loop winds down) and the progress lines "<what>: <split> d/n <unit>
 * (seconds since t0)" every step images. */
typedef struct wsss_fashion_loop {
    const char *what, *split, *unit;
    int64_t n, step, done;
    double t0;
    int progress;
    int failed;
    char err[1024];
} wsss_fashion_loop;
void wsss_fashion_loop_init(wsss_fashion_loop *l, const char *what, const char *split, const char *unit, int64_t n,
                            int progress, double t0);
/* Whether an image failed already (thread-safe): skip the rest. */
int wsss_fashion_loop_stopped(wsss_fashion_loop *l);
/* One image written (rc WSSS_OK: counted, progress printed) or failed (its message kept if first). */
void wsss_fashion_loop_done(wsss_fashion_loop *l, int rc);
/* Creates a directory (an existing one is fine); errors name the path. */
int wsss_fashion_make_dir(const char *path);

#endif
