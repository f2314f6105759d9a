/* The mask cache of a COCO annotation file (coco.h): one VOC-palette PNG per usable image and a
 * stamp, built beside the final folder and renamed into place. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/clock.h"
#include "wsss/coco.h"
#include "wsss/error.h"
#include "wsss/image.h"
#include "wsss/json.h"

#define STAMP_NAME "wsss_coco_masks.json"
#define STAMP_FORMAT "wsss-coco-masks"
/* The rasteriser's rules: a change of them must make every existing cache stale. */
#define RASTER_VERSION 1

char *wsss_coco_masks_default_dir(const char *annotations_path) {
    size_t n = strlen(annotations_path);
    if (n > 5 && strcmp(annotations_path + n - 5, ".json") == 0) n -= 5;
    return wsss_xasprintf("%.*s.masks", (int)n, annotations_path);
}

static char *stamp_text(const wsss_coco *c, int64_t masks) {
    wsss_jw w;
    wsss_jw_init(&w, 2);
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, "format", STAMP_FORMAT);
    wsss_jw_kv_int(&w, "version", RASTER_VERSION);
    wsss_jw_kv_string(&w, "annotations", c->path);
    wsss_jw_kv_int(&w, "size", c->file_size);
    wsss_jw_kv_int(&w, "mtime_ns", c->mtime_ns);
    wsss_jw_kv_int(&w, "images", c->n_images);
    wsss_jw_kv_int(&w, "categories", c->num_categories);
    wsss_jw_kv_int(&w, "masks", masks);
    wsss_jw_obj_end(&w);
    wsss_jw_append(&w, "\n", 1);
    char *text = wsss_jw_take(&w);
    wsss_jw_free(&w); /* take leaves a fresh empty buffer */
    return text;
}

int wsss_coco_masks_current(const wsss_coco *c, const char *dir) {
    char *path = wsss_path_join(dir, STAMP_NAME);
    uint8_t *text = NULL;
    size_t n = 0;
    int current = 0;
    if (wsss_path_is_file(path) && wsss_file_read_all(path, &text, &n) == WSSS_OK) {
        wsss_json *j = wsss_json_parse((const char *)text, n);
        current = j && strcmp(wsss_json_get_string(j, "format", ""), STAMP_FORMAT) == 0 &&
                  wsss_json_get_int64(j, "version", -1) == RASTER_VERSION &&
                  wsss_json_get_int64(j, "size", -1) == c->file_size &&
                  wsss_json_get_int64(j, "mtime_ns", -1) == c->mtime_ns &&
                  wsss_json_get_int64(j, "images", -1) == c->n_images &&
                  wsss_json_get_int64(j, "categories", -1) == c->num_categories;
        wsss_json_free(j);
    }
    wsss_error_clear();
    free(text);
    free(path);
    return current;
}

/* Remove a folder of files (a cache or its leftover): regular files and links only, never deeper. */
static int remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return wsss_error_set("%s: cannot read the folder: %s", dir, strerror(errno));
    int rc = WSSS_OK;
    for (struct dirent *e; rc == WSSS_OK && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *p = wsss_path_join(dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = wsss_error_set("%s: a folder inside a mask cache (remove %s by hand)", p, dir);
        else if (unlink(p) != 0 && errno != ENOENT) rc = wsss_error_set("%s: cannot remove: %s", p, strerror(errno));
        free(p);
    }
    closedir(d);
    if (rc == WSSS_OK && rmdir(dir) != 0) rc = wsss_error_set("%s: cannot remove: %s", dir, strerror(errno));
    return rc;
}

/* DIR.tmp-<pid> and DIR.old-<pid> of builds whose process is gone. */
static void remove_leftovers(const char *dir) {
    char *c1 = wsss_xstrdup(dir), *c2 = wsss_xstrdup(dir);
    const char *parent = dirname(c1), *base = basename(c2);
    DIR *d = opendir(parent);
    char **found = NULL;
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        long pid = wsss_tmp_name_pid(e->d_name, base, ".tmp-");
        if (!pid) pid = wsss_tmp_name_pid(e->d_name, base, ".old-");
        if (!pid || !wsss_pid_is_gone(pid)) continue;
        found = wsss_xrealloc(found, sizeof *found * (size_t)(n + 1));
        found[n++] = wsss_path_join(parent, e->d_name);
    }
    if (d) closedir(d);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (lstat(found[i], &sb) == 0 && S_ISDIR(sb.st_mode) && remove_flat_dir(found[i]) != WSSS_OK)
            fprintf(stderr, "wsss: warning: %s\n", wsss_error_msg());
        free(found[i]);
    }
    free(found);
    free(c1);
    free(c2);
}

/* An existing folder that is not a cache must not be replaced (it may be the user's). */
static int replaceable(const char *dir) {
    if (!wsss_path_exists(dir)) return WSSS_OK;
    if (!wsss_path_is_dir(dir))
        return wsss_error_set("%s: exists and is not a folder (expected a COCO mask cache)", dir);
    char *stamp = wsss_path_join(dir, STAMP_NAME);
    const int is_cache = wsss_path_is_file(stamp);
    free(stamp);
    if (is_cache) return WSSS_OK;
    DIR *d = opendir(dir);
    int empty = 1;
    for (struct dirent *e; d && empty && (e = readdir(d)) != NULL;)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    if (d) closedir(d);
    if (empty) return rmdir(dir) == 0 ? WSSS_OK : wsss_error_set("%s: cannot replace: %s", dir, strerror(errno));
    return wsss_error_set("%s: exists and is not a COCO mask cache (no %s in it); choose another folder", dir,
                          STAMP_NAME);
}

static int unwritable(const char *dir, const char *why) {
    return wsss_error_set("%s: cannot create the COCO mask cache (%s): build it in a folder you can write with "
                          "`wsss data coco-masks --data ROOT --split SPLIT --out DIR` (or --coco-annotations FILE "
                          "--coco-images DIR), then pass --coco-masks DIR to each stage",
                          dir, why);
}

/* Every usable image's mask into folder tmp; *written counts them. */
static int write_masks(const wsss_coco *c, const char *tmp, int64_t *written) {
    int rc = WSSS_OK;
    int64_t n = 0;
    char *first_err = NULL;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : n)
    for (int64_t i = 0; i < c->n_images; i++) {
        const wsss_coco_image *im = &c->images[i];
        if (im->problem) continue;
        wsss_image m;
        wsss_image_alloc(&m, im->width, im->height, 1);
        char *p = wsss_xasprintf("%s/%s.png", tmp, im->stem);
        int r = wsss_coco_rasterise(c, i, m.data);
        if (r == WSSS_OK) r = wsss_image_write_mask_png(p, &m);
        if (r == WSSS_OK) n++;
        else {
#pragma omp critical(coco_masks_err)
            if (!first_err) first_err = wsss_xstrdup(wsss_error_msg());
        }
        free(p);
        wsss_image_free(&m);
    }
    if (first_err) rc = wsss_error_set("%s", first_err);
    free(first_err);
    *written = n;
    return rc;
}

/* tmp (complete) replaces dir; the replaced cache is removed. */
static int swap_in(const char *tmp, const char *dir) {
    char *old = wsss_xasprintf("%s.old-%ld", dir, (long)getpid());
    int had = wsss_path_exists(dir);
    int rc = WSSS_OK;
    if (had && rename(dir, old) != 0)
        rc = wsss_error_set("%s: cannot move the stale cache aside: %s", dir, strerror(errno));
    if (rc == WSSS_OK && rename(tmp, dir) != 0) {
        rc = wsss_error_set("%s: cannot rename the new cache into place: %s", dir, strerror(errno));
        if (had) (void)rename(old, dir);
    }
    if (rc == WSSS_OK && had && remove_flat_dir(old) != WSSS_OK)
        fprintf(stderr, "wsss: warning: %s\n", wsss_error_msg());
    free(old);
    return rc;
}

int wsss_coco_masks_ensure(const wsss_coco *c, const char *dir_arg, int quiet, int *built) {
    *built = 0;
    char *dir = wsss_xstrdup(dir_arg);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--) dir[n - 1] = 0; /* DIR/ would put DIR.tmp inside */
    if (wsss_coco_masks_current(c, dir)) {
        free(dir);
        return WSSS_OK;
    }
    int rc = replaceable(dir);
    char *tmp = wsss_xasprintf("%s.tmp-%ld", dir, (long)getpid());
    if (rc == WSSS_OK) {
        remove_leftovers(dir);
        if (wsss_mkdirs_parent(dir) != WSSS_OK || mkdir(tmp, 0755) != 0) rc = unwritable(dir, strerror(errno));
    }
    const double t0 = wsss_now_seconds();
    int64_t written = 0;
    if (rc == WSSS_OK) {
        if (!quiet)
            fprintf(stderr, "wsss: note: building the COCO mask cache %s (%lld images of %s)\n", dir,
                    (long long)c->n_images, c->path);
        rc = write_masks(c, tmp, &written);
        char *stamp = wsss_path_join(tmp, STAMP_NAME), *text = stamp_text(c, written);
        if (rc == WSSS_OK) rc = wsss_file_write_atomic(stamp, text, strlen(text));
        free(stamp);
        free(text);
        if (rc == WSSS_OK) rc = swap_in(tmp, dir);
        if (rc != WSSS_OK && wsss_path_exists(tmp)) {
            char *keep = wsss_xstrdup(wsss_error_msg());
            (void)remove_flat_dir(tmp);
            wsss_error_set("%s", keep);
            free(keep);
        }
    }
    if (rc == WSSS_OK) {
        *built = 1;
        if (!quiet)
            fprintf(stderr, "wsss: note: COCO mask cache %s: %lld masks in %.1f s\n", dir, (long long)written,
                    wsss_now_seconds() - t0);
    }
    free(tmp);
    free(dir);
    return rc;
}
