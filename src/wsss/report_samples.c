/* The report's sample grid: images inlined as base64 data URIs, with the class colour legend. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/image.h"
#include "wsss/report_internal.h"
#include "wsss/run_layout.h"

char *wsss_base64(const uint8_t *d, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = wsss_xmalloc(4 * ((n + 2) / 3) + 1), *p = o;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = tab[(v >> 6) & 63], *p++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)d[i] << 16;
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = '=', *p++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
        *p++ = tab[v >> 18], *p++ = tab[(v >> 12) & 63], *p++ = tab[(v >> 6) & 63], *p++ = '=';
    }
    *p = 0;
    return o;
}

static void wsss_report_section_legend(wsss_jw *h, char **names, int k) {
    if (!k) return;
    put(h, "<div class=\"legend\">");
    for (int c = 0; c < k; c++) {
        uint8_t rgb[3];
        wsss_voc_color(c, rgb);
        wsss_jw_printf(h, "<span class=\"item\"><span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>", rgb[0],
                       rgb[1], rgb[2]);
        esc(h, names[c]);
        put(h, "</span>");
    }
    uint8_t v[3];
    wsss_voc_color(255, v);
    wsss_jw_printf(h, "<span class=\"item\"><span class=\"sw\" style=\"background:#%02x%02x%02x\"></span>ignored (255)"
                      "</span></div>\n", v[0], v[1], v[2]);
}

static const char *const k_kinds[] = {"image", "cam", "pseudo", "pred", "gt"};
static const char *const k_kind_titles[] = {"image", "CAM overlay", "pseudo label", "prediction", "ground truth"};
#define N_KINDS 5

/* Splits "<id>_<kind>.<ext>" and returns the kind index, or -1. */
static int sample_kind(const char *file, char *id, size_t idn, const char **mime) {
    const char *dot = strrchr(file, '.');
    if (!dot) return -1;
    if (strcmp(dot, ".png") == 0) *mime = "image/png";
    else if (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0) *mime = "image/jpeg";
    else return -1;
    for (int k = 0; k < N_KINDS; k++) {
        size_t kl = strlen(k_kinds[k]), stem = (size_t)(dot - file);
        if (stem > kl + 1 && file[stem - kl - 1] == '_' && strncmp(file + stem - kl, k_kinds[k], kl) == 0) {
            size_t il = stem - kl - 1;
            if (il >= idn) return -1;
            memcpy(id, file, il);
            id[il] = 0;
            return k;
        }
    }
    return -1;
}

typedef struct sample_row {
    char *id;
    char *file[N_KINDS];
    const char *mime[N_KINDS];
} sample_row;

static int cmp_row(const void *a, const void *b) { return strcmp(((const sample_row *)a)->id, ((const sample_row *)b)->id); }

static void inline_image(wsss_jw *h, report_run *r, const char *dir, const char *file, const char *mime, const char *alt,
                         int64_t max_bytes) {
    char *p = wsss_path_join(dir, file);
    uint8_t *data;
    size_t n;
    if (wsss_file_read_all(p, &data, &n) != WSSS_OK) {
        wsss_report_problem(r, "%s: %s", p, wsss_error_msg());
        put(h, "<span class=\"nr\">unreadable</span>");
    } else if ((int64_t)n > max_bytes) {
        wsss_jw_printf(h, "<span class=\"nr\">not inlined: %zu bytes</span>", n);
        free(data);
    } else if (!(strcmp(mime, "image/png") == 0 ? wsss_is_png(data, n) : wsss_is_jpeg(data, n))) {
        wsss_report_problem(r, "%s: not a %s file", p, mime);
        put(h, "<span class=\"nr\">unreadable</span>");
        free(data);
    } else {
        char *b64 = wsss_base64(data, n);
        wsss_jw_printf(h, "<img src=\"data:%s;base64,", mime);
        put(h, b64);
        put(h, "\" alt=\"");
        esc(h, alt);
        put(h, "\">");
        free(b64);
        free(data);
    }
    free(p);
}

void wsss_report_section_samples(wsss_jw *h, report_run *r, char **names, int k, const wsss_report_opts *o) {
    put(h, "<h2>Samples</h2>\n");
    char *dir = wsss_run_path(r->dir, WSSS_RUN_SAMPLES);
    DIR *d = opendir(dir);
    sample_row *rows = NULL;
    int n = 0;
    if (d) {
        struct dirent *e;
        char id[256];
        const char *mime;
        while ((e = readdir(d))) {
            int kind = e->d_name[0] == '.' ? -1 : sample_kind(e->d_name, id, sizeof id, &mime);
            if (kind < 0) continue;
            int j = 0;
            while (j < n && strcmp(rows[j].id, id) != 0) j++;
            if (j == n) {
                rows = wsss_xrealloc(rows, sizeof(sample_row) * (size_t)(n + 1));
                memset(&rows[n], 0, sizeof(sample_row));
                rows[n++].id = wsss_xstrdup(id);
            }
            /* .png preferred when both exist */
            if (!rows[j].file[kind] || strcmp(mime, "image/png") == 0) {
                free(rows[j].file[kind]);
                rows[j].file[kind] = wsss_xstrdup(e->d_name);
                rows[j].mime[kind] = mime;
            }
        }
        closedir(d);
    }
    if (n == 0) {
        put(h, "<p><span class=\"nr\">not run: no samples</span></p>\n");
    } else {
        qsort(rows, (size_t)n, sizeof(sample_row), cmp_row);
        wsss_report_section_legend(h, names, k);
        put(h, "<table class=\"samples\"><thead><tr><th>id</th>");
        for (int c = 0; c < N_KINDS; c++) wsss_jw_printf(h, "<th>%s</th>", k_kind_titles[c]);
        put(h, "</tr></thead><tbody>\n");
        int shown = n < o->max_samples ? n : o->max_samples;
        for (int i = 0; i < shown; i++) {
            put(h, "<tr><td>");
            esc(h, rows[i].id);
            put(h, "</td>");
            for (int c = 0; c < N_KINDS; c++) {
                if (!rows[i].file[c]) {
                    put(h, "<td class=\"nr\">not run</td>");
                    continue;
                }
                put(h, "<td>");
                char alt[320];
                snprintf(alt, sizeof alt, "%s %s", rows[i].id, k_kind_titles[c]);
                inline_image(h, r, dir, rows[i].file[c], rows[i].mime[c], alt, o->max_image_bytes);
                put(h, "</td>");
            }
            put(h, "</tr>\n");
        }
        put(h, "</tbody></table>\n");
        if (shown < n) wsss_jw_printf(h, "<p class=\"meta\">%d of %d samples shown.</p>\n", shown, n);
    }
    for (int i = 0; i < n; i++) {
        free(rows[i].id);
        for (int c = 0; c < N_KINDS; c++) free(rows[i].file[c]);
    }
    free(rows);
    free(dir);
}
