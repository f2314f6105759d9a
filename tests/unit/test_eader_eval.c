/* EADER's attention-map protocol (eader_eval.h, specs/eader.md §6) on hand-made maps: min-max
 * normalisation of each map (one whose minimum is not 0, a constant one that never wins), values
 * under 0.3 dropped and over it kept, the background constant, the larger map winning an overlap
 * and the first map a tie; the mIoU and foreground precision/recall of those labels against a
 * hand-made ground truth with an ignored pixel, worked out by hand; NaN refused. */
#include <math.h>
#include <string.h>

#include "test_util.h"
#include "wsss/eader_eval.h"

int main(void) {
    enum { N = 8 };
    /* class 1: min 0.5, max 2.5 (normalised (v - 0.5) / 2): 0, 0, 0.29, 0.375, 1, 0, 0.5, 0
     * class 2: constant (0 after normalisation)
     * class 3: min 0, max 1:                                 0, 0, 0,    0.375, 0.9, 1, 0.75, 0 */
    const float maps[3 * N] = {0.5f, 0.5f, 1.08f, 1.25f, 2.5f, 0.5f, 1.5f, 0.5f,
                               0.7f, 0.7f, 0.7f,  0.7f,  0.7f, 0.7f, 0.7f, 0.7f,
                               0.0f, 0.0f, 0.0f,  0.375f, 0.9f, 1.0f, 0.75f, 0.0f};
    const int classes[3] = {1, 2, 3};
    /* p0 p1: nothing; p2: 0.29 is dropped; p3: a tie, the first map; p4: 1 > 0.9; p5: class 3 alone;
     * p6: 0.75 > 0.5; p7: nothing */
    const uint8_t want[N] = {0, 0, 0, 1, 1, 3, 3, 0};
    uint8_t pred[N];
    CHECK(wsss_eader_eval_labels(maps, 3, classes, N, pred, "hand") == WSSS_OK, "%s", wsss_error_msg());
    CHECK(memcmp(pred, want, N) == 0, "labels %d %d %d %d %d %d %d %d", pred[0], pred[1], pred[2], pred[3], pred[4],
          pred[5], pred[6], pred[7]);

    /* ground truth with an ignored pixel: confusion rows gt 0: {2 at 0}, gt 1: {1 at 0, 2 at 1},
     * gt 3: {2 at 3}; IoU 2/3, 2/3, (class 2 absent), 1: mIoU 7/9; foreground: 4 predicted, all of
     * them labelled foreground, of 5 labelled: precision 1, recall 0.8 */
    const uint8_t gt[N] = {0, 1, 0, 1, 1, 3, 3, 255};
    wsss_confusion c;
    CHECK(wsss_confusion_init(&c, 4) == WSSS_OK, "confusion");
    CHECK(wsss_confusion_add(&c, gt, pred, N, "hand") == WSSS_OK, "%s", wsss_error_msg());
    wsss_seg_scores s;
    wsss_confusion_scores(&c, &s);
    CHECK(fabs(s.miou - 7.0 / 9.0) < 1e-12 && s.n_valid_classes == 3, "mIoU %.6f over %d classes, want 7/9 over 3",
          s.miou, s.n_valid_classes);
    double precision, recall;
    wsss_eader_eval_foreground(&c, &precision, &recall);
    CHECK(precision == 1.0 && fabs(recall - 0.8) < 1e-12, "foreground precision %g recall %g, want 1 and 0.8",
          precision, recall);
    wsss_confusion_free(&c);

    /* no maps: all background; a NaN: refused, named */
    CHECK(wsss_eader_eval_labels(NULL, 0, NULL, N, pred, "none") == WSSS_OK && pred[3] == 0 && pred[7] == 0,
          "no maps: background");
    float bad[N] = {0, 1, NAN, 0, 0, 0, 0, 0};
    CHECK(wsss_eader_eval_labels(bad, 1, classes, N, pred, "img7") == WSSS_ERR && strstr(wsss_error_msg(), "img7") &&
              strstr(wsss_error_msg(), "NaN"),
          "NaN: '%s'", wsss_error_msg());
    wsss_error_clear();
    return test_summary("test_eader_eval");
}
