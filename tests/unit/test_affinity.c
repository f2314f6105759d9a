/* AffinityNet's targets and loss (affinity.h): cell labels on hand-made stacks (each rule and the
 * tie), low-storage cell labels by block majority on hand-made blocks (plurality, ties, 255 as a
 * value), pair labels of every kind on the smallest grid with pairs and against the rule applied to
 * the walk's pairs on a random grid, the loss against its formula summed directly in double, and
 * its gradient against central differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "test_util.h"
#include "wsss/affinity.h"
#include "wsss/random_walk.h"
#include "wsss/rng.h"
#include "wsss/runtime.h"

static wsss_tensor *f_loss(wsss_ctx *ctx, wsss_tensor **in, const void *arg) {
    return wsss_aff_loss(ctx, in[0], arg);
}

int main(void) {
    wsss_runtime_init();
    /* ---- cell labels: 6 cells, 3 channels (planes of 6) ----
     * cell 0: la fg 2 wins, ha fg -> 2      cell 1: la bg wins, ha fg -> 255
     * cell 2: la fg 1, ha bg -> 0           cell 3: everything < 1e-5 (padding) -> 255
     * cell 4: la tie bg/fg (first: bg) and ha fg -> 255
     * cell 5: la fg 1 tied with fg 2 (first: 1), ha fg -> 1 */
    const float la[18] = {0.1f, 0.6f, 0.2f, 0, 0.5f, 0.1f, /* bg */
                          0.2f, 0.3f, 0.7f, 0, 0.5f, 0.6f, /* class channel 1 */
                          0.9f, 0.1f, 0.1f, 0, 0.2f, 0.6f /* class channel 2 */};
    const float ha[18] = {0.0f, 0.1f, 0.9f, 0, 0.1f, 0.0f, 0.3f, 0.8f, 0.05f, 0, 0.6f, 0.7f, 0.7f, 0.1f, 0.05f, 0, 0.3f, 0.3f};
    uint8_t cells[6];
    wsss_aff_cell_labels(la, ha, 3, 6, cells);
    const uint8_t want_cells[6] = {2, 255, 0, 255, 255, 1};
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= cells[i] == want_cells[i];
    CHECK(ok, "cell labels %d %d %d %d %d %d", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]);

    /* ---- cell labels from a label map: 16 x 24, stride 8 -> 2 x 3 cells; each block's 64 pixels
     * in raster order as runs of (count, value) ---- */
    {
        static const int runs[6][3][2] = {
            {{64, 3}, {0, 0}, {0, 0}},       /* one value -> 3 */
            {{24, 1}, {40, 255}, {0, 0}},    /* mostly uncertain -> 255 */
            {{32, 5}, {32, 2}, {0, 0}},      /* tie 5 / 2 -> the smaller, 2 */
            {{32, 255}, {32, 0}, {0, 0}},    /* tie 255 / 0 -> 0 */
            {{14, 255}, {20, 0}, {30, 1}},   /* plurality without majority -> 1 */
            {{21, 0}, {22, 255}, {21, 4}},   /* plurality of 255 -> 255 */
        };
        uint8_t map[16 * 24], blocks[6];
        for (int b = 0; b < 6; b++) {
            int p = 0;
            for (int r = 0; r < 3; r++)
                for (int k = 0; k < runs[b][r][0]; k++, p++)
                    map[((b / 3) * 8 + p / 8) * 24 + (b % 3) * 8 + p % 8] = (uint8_t)runs[b][r][1];
        }
        wsss_aff_cell_labels_from_map(map, 16, 24, 8, blocks);
        const uint8_t want_blocks[6] = {3, 255, 2, 0, 1, 255};
        int same = 1;
        for (int i = 0; i < 6; i++) same &= blocks[i] == want_blocks[i];
        CHECK(same, "block majority %d %d %d %d %d %d", blocks[0], blocks[1], blocks[2], blocks[3], blocks[4], blocks[5]);
        uint8_t ones[16 * 24];
        wsss_aff_cell_labels_from_map(map, 16, 24, 1, ones);
        CHECK(memcmp(ones, map, sizeof map) == 0, "stride 1: the map itself");
    }

    /* ---- pair labels on 5 x 9: one from cell (0, 4) and its 34 partners ---- */
    {
        uint8_t g[45] = {0};
        g[4] = 1;                 /* the from cell: class 1 */
        g[5] = 1;                 /* (0, 5): offset (0, 1) -> fg-positive */
        g[6] = 2;                 /* (0, 6): offset (0, 2) -> negative */
        g[7] = 255;               /* (0, 7): offset (0, 3) -> ignored */
        uint8_t pair[34];         /* (0, 8) and the rest: 0 -> negative (1 vs 0) */
        wsss_aff_pair_labels(g, 5, 9, pair);
        CHECK(wsss_rw_num_pairs(5, 9) == 34, "34 pairs on 5x9");
        CHECK(pair[0] == WSSS_AFF_FG && pair[1] == WSSS_AFF_NEG && pair[2] == WSSS_AFF_IGNORE &&
                  pair[3] == WSSS_AFF_NEG && pair[10] == WSSS_AFF_NEG,
              "pair labels %d %d %d %d %d", pair[0], pair[1], pair[2], pair[3], pair[10]);
        g[4] = 0; /* from cell background: background partners are bg-positive */
        wsss_aff_pair_labels(g, 5, 9, pair);
        CHECK(pair[0] == WSSS_AFF_NEG && pair[3] == WSSS_AFF_BG && pair[33] == WSSS_AFF_BG, "bg pairs %d %d %d",
              pair[0], pair[3], pair[33]);
    }
    /* ---- the rule over the walk's pairs on a random 10 x 13 grid ---- */
    wsss_rng rng;
    wsss_rng_seed(&rng, 5);
    const int h = 10, w = 13;
    const int64_t np = wsss_rw_num_pairs(h, w);
    uint8_t grid[130], *pl = malloc((size_t)np);
    const uint8_t vals[4] = {0, 1, 2, 255};
    for (int i = 0; i < h * w; i++) grid[i] = vals[wsss_rng_u32(&rng) % 4];
    wsss_aff_pair_labels(grid, h, w, pl);
    int64_t *from = malloc(sizeof(int64_t) * (size_t)np), *to = malloc(sizeof(int64_t) * (size_t)np);
    wsss_rw_pairs(h, w, from, to);
    int bad = 0, count[4] = {0};
    for (int64_t k = 0; k < np; k++) {
        const int a = grid[from[k]], b = grid[to[k]];
        const int want = (a == 255 || b == 255) ? WSSS_AFF_IGNORE : (a == b ? (a == 0 ? WSSS_AFF_BG : WSSS_AFF_FG) : WSSS_AFF_NEG);
        bad += pl[k] != want;
        count[pl[k]]++;
    }
    CHECK(bad == 0 && count[0] && count[1] && count[2] && count[3], "random grid: %d wrong; kinds %d %d %d %d", bad,
          count[0], count[1], count[2], count[3]);

    /* ---- the loss: two images' pairs, against the formula in double ---- */
    const int64_t shape[3] = {2, WSSS_RW_OFFSETS, np / WSSS_RW_OFFSETS};
    wsss_tensor *aff = rand_leaf(3, shape, 0.02, 0.98, 9);
    uint8_t *labels = malloc((size_t)(2 * np));
    for (int64_t k = 0; k < 2 * np; k++) labels[k] = pl[k % np];
    double s[4] = {0}, c[4] = {0};
    for (int64_t k = 0; k < 2 * np; k++) {
        const double a = wsss_tensor_get(aff, k);
        const int kind = labels[k];
        s[kind] += kind == WSSS_AFF_NEG ? -log(1 + 1e-5 - a) : -log(a + 1e-5);
        c[kind]++;
    }
    const double want = s[1] / (c[1] + 1e-5) / 4 + s[2] / (c[2] + 1e-5) / 4 + s[3] / (c[3] + 1e-5) / 2;
    wsss_ctx *ctx = wsss_ctx_new();
    wsss_tensor *loss = wsss_aff_loss(ctx, aff, labels);
    CHECK(loss->ndim == 0 && fabs(wsss_tensor_get(loss, 0) - want) <= 1e-12 * want, "loss %.15g, formula %.15g",
          wsss_tensor_get(loss, 0), want);
    printf("  loss %.6f (bg %d, fg %d, neg %d pairs, %d ignored)\n", want, (int)c[1], (int)c[2], (int)c[3], (int)c[0]);
    wsss_ctx_free(ctx);
    gradcheck("affinity loss", f_loss, 1, &aff, labels, 1e-7, 1e-6);
    gc_report("affinity loss");
    wsss_tensor_free(aff);
    free(labels);
    free(pl);
    free(from);
    free(to);
    return test_summary("test_affinity");
}
